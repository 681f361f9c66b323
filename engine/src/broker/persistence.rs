//! Stopping and starting the broker process: what persistence keeps.

use super::*;

impl Broker {
    pub(super) fn stop(&mut self) {
        if !self.running {
            return;
        }
        // Delayed wills first: mosquitto publishes them all at shutdown (mosquitto.c
        // will_delay__send_all), before it closes any connection.
        let ids: Vec<ClientId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.will_due.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for id in ids {
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            let Some(delay) = s.will.as_ref().map(|w| w.delay) else {
                continue;
            };
            let ctx = WillContext {
                v5: s.version.is_v5(),
                session_expiry: s.expiry,
                clean_start: s.clean_start,
                delay,
                outlived_session: false,
            };
            let d = decide_will(&self.profile, WillMoment::BrokerStopping, ctx);
            if d.fate == WillFate::KeepWaiting {
                continue;
            }
            s.will_due = None;
            if let Some(w) = s.will.take() {
                self.carry_out_will(&id, w, d);
            }
        }
        for (id, l) in std::mem::take(&mut self.lingering_wills) {
            let ctx = WillContext {
                v5: true,
                session_expiry: 0,
                clean_start: true,
                delay: l.will.delay,
                outlived_session: true,
            };
            let d = decide_will(&self.profile, WillMoment::BrokerStopping, ctx);
            if d.fate == WillFate::KeepWaiting {
                self.lingering_wills.push((id, l));
            } else {
                self.carry_out_will(&id, l.will, d);
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
                        if let Some(w) = s.will.take() {
                            let ctx = WillContext {
                                v5: s.version.is_v5(),
                                session_expiry: s.expiry,
                                clean_start: s.clean_start,
                                delay: w.delay,
                                outlived_session: false,
                            };
                            let d = decide_will(&self.profile, WillMoment::ClosedByBrokerStop, ctx);
                            self.carry_out_will(&cid, w, d);
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
        let restored_expire = self.profile.restored_sessions == RestoredSessions::Expire;
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
        if self.profile.restored_sessions == RestoredSessions::NeverExpire {
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
