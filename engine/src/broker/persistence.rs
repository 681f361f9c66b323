//! Stopping and starting the broker process: what persistence keeps.

use super::*;

impl Broker {
    pub(super) fn stop(&mut self) {
        if !self.running {
            return;
        }
        // Every connected client's will is decided before any connection closes, so the
        // subscribers still connected receive the wills published now.
        match self.profile.wills_at_shutdown {
            WillsAtShutdown::AllPublished => self.send_all_wills_at_shutdown(),
            WillsAtShutdown::KeepWaiting => self.decide_wills_of_closing_connections(),
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            if let Some(conn) = self.conns.swap_remove(&c) {
                self.out.close(c, CloseCause::BrokerStopped);
                if let Some(s) = conn.client_id.and_then(|cid| self.sessions.get_mut(&cid)) {
                    s.conn = None;
                    s.disconnected_at = Some(self.now);
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
                    Persistence::CleanStartZeroOnly if s.expiry > 0 => "only sessions whose last CONNECT had Clean Start / Clean Session = 0 are saved (persist_write.c)".into(),
                    _ => "the session ended with its connection".into(),
                },
            });
            // No rule: what a broker keeps across a restart is its own persistence.
            self.drop_session_messages(
                s,
                DropReason::BrokerRestart,
                "the broker's persistence: this session was not saved for the restart",
            );
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

    /// The client ids of the connected sessions that hold a will, in session order.
    fn connected_with_will(&self) -> Vec<ClientId> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.conn.is_some() && s.will.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The specification's way: the broker closes each connection without a DISCONNECT, so each
    /// will is decided as for any such close ([MQTT-3.1.2-8]): published now, or on 5.0 with a
    /// Will Delay left waiting in its session (which keeps waiting if persistence keeps the
    /// session, and goes with it otherwise).
    fn decide_wills_of_closing_connections(&mut self) {
        for id in self.connected_with_will() {
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            let Some(w) = s.will.take() else {
                continue;
            };
            let ctx = WillContext::in_session(s, w.delay);
            let d = decide_will(&self.profile, WillMoment::ClosedByBrokerStop, ctx);
            self.carry_out_will(&id, w, d);
        }
    }

    /// mosquitto 2.0.11 on its way out (`mosquitto.c`): `context__send_will` for every client,
    /// which publishes a will without a Will Delay at once and puts a delayed one on the
    /// delayed list, then `will_delay__send_all`, which publishes that list in its order (by Will
    /// Delay, the newest first among equal ones). All before any connection closes, so connected
    /// subscribers still receive them.
    fn send_all_wills_at_shutdown(&mut self) {
        // context__send_will: a connected client's will without a delay goes out now, a delayed
        // one joins the list.
        let mut joining = Vec::new();
        for id in self.connected_with_will() {
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            let Some(delay) = s.will.as_ref().map(|w| w.delay) else {
                continue;
            };
            if delay > 0 {
                self.will_seq += 1;
                s.will_seq = self.will_seq;
                joining.push(Delayed {
                    interval: delay,
                    seq: s.will_seq,
                    due: self.now,
                    id,
                    lingering: false,
                });
                continue;
            }
            let c = WillContext::in_session(s, delay);
            if let Some(w) = s.will.take() {
                let d = decide_will(&self.profile, WillMoment::ClosedByBrokerStop, c);
                self.carry_out_will(&id, w, d);
            }
        }
        // will_delay__send_all: the whole list, in its order; a will that joined it now was
        // decided at its connection's close, the others while they waited.
        let mut list: Vec<(Delayed, WillMoment)> = self
            .delayed_list()
            .into_iter()
            .map(|d| (d, WillMoment::BrokerStopping))
            .chain(
                joining
                    .into_iter()
                    .map(|d| (d, WillMoment::ClosedByBrokerStop)),
            )
            .collect();
        list.sort_by(|a, b| Delayed::list_order(&a.0, &b.0));
        for (entry, moment) in list {
            if entry.lingering {
                if let Some(l) = self.take_lingering(&entry.id) {
                    let d =
                        decide_will(&self.profile, moment, WillContext::outlived(entry.interval));
                    self.carry_out_will(&entry.id, l.will, d);
                }
                continue;
            }
            let Some(s) = self.sessions.get_mut(&entry.id) else {
                continue;
            };
            let c = WillContext::in_session(s, entry.interval);
            s.will_due = None;
            if let Some(w) = s.will.take() {
                let d = decide_will(&self.profile, moment, c);
                self.carry_out_will(&entry.id, w, d);
            }
        }
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
