//! Closing connections: takeover by a second connection, DISCONNECT, lost links.

use super::*;

impl Broker {
    pub(super) fn takeover(
        &mut self,
        client_id: &ClientId,
        old: ConnId,
        new: ConnId,
        new_clean: bool,
        new_v5: bool,
    ) {
        let old_v5 = self.conns.get(&old).is_some_and(|c| c.version.is_v5());
        self.event(BrokerEvent::SessionTakenOver {
            client_id: client_id.clone(),
            old_conn: old,
            new_conn: new,
            cite: if new_v5 || old_v5 {
                "[MQTT-3.1.4-3] 5.0"
            } else {
                "[MQTT-3.1.4-2] 3.1.1"
            },
        });
        // The will is decided before the old connection closes: mosquitto sends it then
        // (handle_connect.c), while the old session's subscriptions are still attached.
        let decision = self.sessions.get(client_id).and_then(|s| {
            let w = s.will.as_ref()?;
            // The old connection's version is the session's until the new CONNECT is taken.
            let ctx = WillContext::in_session(s, w.delay);
            let moment = WillMoment::TakenOver {
                new_clean_start: new_clean,
            };
            Some(decide_will(&self.profile, moment, ctx))
        });
        if let Some(d) = decision
            .as_ref()
            .filter(|d| d.fate == WillFate::PublishBeforeClose)
        {
            if let Some(will) = self.sessions.get_mut(client_id).and_then(|s| s.will.take()) {
                self.carry_out_will(client_id, will, d.clone());
            }
        }
        if old_v5 {
            if self.profile.takeover_notice == TakeoverNotice::Disconnect0x8E {
                self.send(
                    old,
                    Packet::Disconnect(Disconnect {
                        reason: reason::SESSION_TAKEN_OVER,
                        session_expiry: None,
                    }),
                );
            } else {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-3.1.4-3] 5.0",
                    spec: "the server sends DISCONNECT 0x8E (Session taken over) to the existing client".into(),
                    broker: format!("{} closes the old connection without a DISCONNECT (0x8E came in 2.0.15)", self.profile.name),
                });
            }
        }
        self.out.close(old, CloseCause::TakenOver);
        self.conns.swap_remove(&old);

        let s = self
            .sessions
            .get_mut(client_id)
            .expect("session of a connected id");
        s.conn = None;
        if let (Some(will), Some(d)) = (s.will.take(), decision) {
            self.carry_out_will(client_id, will, d);
        }
        self.after_takeover_close(client_id, new_clean);
    }

    pub(super) fn after_takeover_close(&mut self, client_id: &ClientId, new_clean: bool) {
        // An old session with expiry 0 ends with its connection; the new CONNECT then finds none.
        let s = self.sessions.get(client_id).expect("session");
        if s.expiry == 0 && !new_clean {
            let s = self.sessions.swap_remove(client_id).expect("session");
            let cite = ended_cite(s.version.is_v5());
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite,
            });
            self.drop_session_messages(&s, DropReason::SessionEnded, cite);
        }
    }

    /// The connection is gone; decide the will and the session's fate. `moment` is
    /// [`WillMoment::Closed`] or [`WillMoment::NormalDisconnect`].
    pub(super) fn end_connection(&mut self, id: ConnId, cause: CloseCause, moment: WillMoment) {
        let Some(conn) = self.conns.swap_remove(&id) else {
            return;
        };
        let Some(client_id) = conn.client_id else {
            return;
        };
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&client_id) else {
            return;
        };
        if s.conn != Some(id) {
            return;
        }
        s.conn = None;
        s.disconnected_at = Some(now);
        let v5 = s.version.is_v5();
        let expiry = s.expiry;
        let will = s.will.take().map(|w| {
            let ctx = WillContext::in_session(s, w.delay);
            (w, decide_will(&self.profile, moment, ctx))
        });
        // A discarded will is reported with the DISCONNECT that discarded it.
        let will = match will {
            Some((w, d)) if matches!(d.fate, WillFate::Discard { .. }) => {
                self.carry_out_will(&client_id, w, d);
                None
            }
            other => other,
        };
        self.event(BrokerEvent::ConnectionClosed {
            client_id: client_id.clone(),
            conn: id,
            cause,
        });
        if expiry == 0 {
            // The session ends with the connection ([MQTT-3.1.2-6] 3.1.1; 5.0 §3.1.2.11.2).
            if let Some((w, d)) = will {
                self.carry_out_will(&client_id, w, d);
            }
            let s = self.sessions.swap_remove(&client_id).expect("session");
            let cite = ended_cite(v5);
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite,
            });
            self.drop_session_messages(&s, DropReason::SessionEnded, cite);
            return;
        }
        // The session is stored ([MQTT-3.1.2-4] 3.1.1 / [MQTT-3.1.2-23] 5.0).
        let expires_at = (expiry != NEVER_EXPIRE).then(|| self.deadline(now, expiry));
        let s = self.sessions.get_mut(&client_id).expect("session");
        s.expires_at = expires_at;
        if let Some(t) = expires_at {
            self.arm(t, Timer::Session(client_id.clone()));
        }
        self.event(BrokerEvent::SessionStored {
            client_id: client_id.clone(),
            expires_at,
            cite: if v5 {
                "[MQTT-3.1.2-23] 5.0"
            } else {
                "[MQTT-3.1.2-4] 3.1.1"
            },
        });
        if let Some((w, d)) = will {
            self.carry_out_will(&client_id, w, d);
        }
    }

    pub(super) fn handle_disconnect(&mut self, id: ConnId, cid: &ClientId, d: Disconnect) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        if v5 {
            if let Some(new_expiry) = d.session_expiry {
                let connect_expiry = self.conns.get(&id).map_or(0, |c| c.connect_expiry);
                if connect_expiry == 0 && new_expiry != 0 {
                    // §3.14.2.2.2: a protocol error; not a valid DISCONNECT, so the will stays.
                    self.protocol_error(
                        id,
                        cid,
                        "DISCONNECT raised the Session Expiry Interval from 0 (§3.14.2.2.2)",
                        Fault {
                            disconnect_expiry_rule: true,
                            ..Fault::rule(14)
                        },
                    );
                    return;
                }
                let (eff, _) = self
                    .profile
                    .effective_session_expiry(true, false, Some(new_expiry));
                if let Some(s) = self.sessions.get_mut(cid) {
                    s.expiry = eff;
                }
                self.event(BrokerEvent::Note {
                    text: format!(
                        "DISCONNECT sets the Session Expiry Interval to {}.",
                        crate::types::format_expiry(eff)
                    ),
                    cite: "5.0 §3.14.2.2.2",
                });
            }
        }
        // 5.0 §3.14.2.1: reason 0x04 closes normally but keeps the will, which then goes out;
        // only 0x00 deletes it ([MQTT-3.1.2-8] 5.0), so any other code leaves it to be decided.
        let rule = match d.reason {
            _ if !v5 => WillMoment::NormalDisconnect,
            reason::SUCCESS => WillMoment::NormalDisconnect,
            reason::DISCONNECT_WITH_WILL => WillMoment::Closed,
            code => WillMoment::DisconnectWithError { code },
        };
        self.end_connection(id, CloseCause::ClientDisconnect(d.reason), rule);
    }
}

/// Why a session with Session Expiry 0 (a 3.1.1 Clean Session) ends with its connection.
fn ended_cite(v5: bool) -> &'static str {
    if v5 {
        "5.0 §3.1.2.11.2: Session Expiry 0 ends the session with the connection"
    } else {
        "[MQTT-3.1.2-6] 3.1.1: a Clean Session lasts as long as the connection"
    }
}
