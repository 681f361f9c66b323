//! Stopping and starting the broker process: what persistence keeps.

use super::*;

impl Broker {
    pub(super) fn stop(&mut self) {
        if !self.running {
            return;
        }
        // mosquitto publishes delayed wills at shutdown (mosquitto.c will_delay__send_all).
        if self.profile.send_delayed_wills_at_shutdown {
            let ids: Vec<ClientId> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.will_due.is_some())
                .map(|(k, _)| k.clone())
                .collect();
            for id in ids {
                let s = self.sessions.get_mut(&id).expect("session");
                s.will_due = None;
                if let Some(w) = s.will.take() {
                    self.publish_will(
                        id,
                        w,
                        "mosquitto: delayed wills are sent when the broker shuts down",
                    );
                }
            }
            let lingering = std::mem::take(&mut self.lingering_wills);
            for (id, w) in lingering {
                self.publish_will(
                    id,
                    w.will,
                    "mosquitto: delayed wills are sent when the broker shuts down",
                );
            }
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            if let Some(conn) = self.conns.swap_remove(&c) {
                self.out.close(c, CloseCause::BrokerStopped);
                if let Some(cid) = conn.client_id {
                    if let Some(s) = self.sessions.get_mut(&cid) {
                        s.conn = None;
                        s.disconnected_at = Some(self.now);
                        if s.will.take().is_some() {
                            self.event(BrokerEvent::WillDiscarded {
                                client_id: cid.clone(),
                                why: "the broker stopped; this model publishes no will for connections it closes itself (§3.1.2.5 lets a server defer them)".into(),
                                cite: "5.0 §3.1.2.5 (MAY defer until restart)",
                            });
                        }
                    }
                }
            }
        }
        let keep = |s: &Session| -> bool {
            s.expiry > 0
                && match self.profile.persistence {
                    Persistence::None => false,
                    Persistence::CleanStartZeroOnly => !s.clean_start,
                    Persistence::AllSessions => true,
                }
        };
        let (kept, lost): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sessions)
            .into_values()
            .partition(|s| keep(s));
        for s in &lost {
            self.event(BrokerEvent::SessionLostAtRestart {
                client_id: s.client_id.clone(),
                why: match self.profile.persistence {
                    Persistence::None => "the broker keeps sessions only in memory".into(),
                    Persistence::CleanStartZeroOnly if s.expiry > 0 => "only sessions whose last CONNECT had Clean Start = 0 are saved (persist_write.c)".into(),
                    _ => "the session ended with its connection".into(),
                },
            });
            self.drop_session_messages(s, DropReason::BrokerRestart);
        }
        let restored_expire = self.profile.restored_sessions_expire;
        for mut s in kept {
            if !restored_expire {
                s.expires_at = None;
            } else if s.expires_at.is_none() && s.expiry != NEVER_EXPIRE {
                s.expires_at = Some(self.deadline(self.now, s.expiry));
            }
            if let Some(t) = s.expires_at {
                self.timers
                    .push(Reverse((t, Timer::Session(s.client_id.clone()))));
            }
            self.sessions.insert(s.client_id.clone(), s);
        }
        if self.profile.persistence == Persistence::None {
            self.retained.clear();
        }
        self.running = false;
        self.event(BrokerEvent::BrokerStopped {
            sessions_kept: self.sessions.len(),
            sessions_lost: lost.len(),
        });
    }

    pub(super) fn start(&mut self) {
        if self.running {
            return;
        }
        self.running = true;
        self.started_at = self.now;
        if !self.profile.restored_sessions_expire {
            let has_timer = self.sessions.values().any(|s| s.expiry != NEVER_EXPIRE);
            if has_timer {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-4.1.0-2] 5.0",
                    spec: "a stored session is discarded when its Session Expiry Interval has passed".into(),
                    broker: format!("{} does not put sessions restored from persistence back on its expiry list (fixed in 2.0.15, #2546)", self.profile.name),
                });
            }
        }
        self.event(BrokerEvent::BrokerStarted {
            sessions: self.sessions.len(),
        });
        // Anything that fell due while the broker was down is handled at the next timeout.
    }
}
