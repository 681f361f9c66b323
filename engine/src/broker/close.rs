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
        if self.profile.mosquitto_takeover_will && !new_clean {
            // handle_connect.c sends the old session's will *before* closing the old connection;
            // with Clean Start 0 the old session's subscriptions are still attached to it then,
            // so a client subscribed to its own will topic receives it on the old connection.
            // (With Clean Start 1 they are cleaned first: the later path below.)
            let s = self
                .sessions
                .get(client_id)
                .expect("session of a connected id");
            let send = (old_v5 && s.expiry == 0) || (!old_v5 && s.clean_start);
            if send && s.will.as_ref().is_some_and(|w| w.delay == 0) {
                let s = self.sessions.get_mut(client_id).expect("session");
                if let Some(will) = s.will.take() {
                    self.publish_will(
                        client_id.clone(),
                        will,
                        "mosquitto 2.0.11 handle_connect.c: the old session ends or was clean",
                    );
                }
            }
        }
        if old_v5 {
            if self.profile.takeover_sends_disconnect {
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
        let old_expiry = s.expiry;
        let old_clean = s.clean_start;
        let will = s.will.take();
        let Some(will) = will else {
            self.after_takeover_close(client_id, new_clean);
            return;
        };
        if self.profile.mosquitto_takeover_will {
            // handle_connect.c: send the will only if (old v5 and SEI 0) or (old v3 and clean) or
            // new Clean Start = 1; a will with a delay is then removed before it fires.
            let send = (old_v5 && old_expiry == 0) || (!old_v5 && old_clean) || new_clean;
            let spec_sends = !old_v5 || old_expiry == 0 || new_clean || will.delay == 0;
            if send && will.delay == 0 {
                self.publish_will(
                    client_id.clone(),
                    will,
                    "mosquitto 2.0.11 handle_connect.c: the old session ends or was clean",
                );
            } else {
                self.event(BrokerEvent::WillDiscarded {
                    client_id: client_id.clone(),
                    why: if send {
                        "the delayed will was removed during the takeover".into()
                    } else {
                        "both connections are persistent, so the will is cleared".into()
                    },
                    cite: "mosquitto 2.0.11 handle_connect.c (test 07-will-takeover.py)",
                });
                if spec_sends {
                    self.event(BrokerEvent::Deviation {
                        rule: if old_v5 {
                            "[MQTT-3.1.2-8] 5.0, §3.1.4"
                        } else {
                            "[MQTT-3.1.2-8] 3.1.1"
                        },
                        spec: "the existing connection's will is published on takeover".into(),
                        broker: format!("{} does not publish it", self.profile.name),
                    });
                }
            }
        } else if !old_v5 {
            // 3.1.1 [MQTT-3.1.2-8]: the connection closed without DISCONNECT, so the will goes out.
            self.publish_will(
                client_id.clone(),
                will,
                "[MQTT-3.1.2-8] 3.1.1: the connection was closed without DISCONNECT",
            );
        } else if old_expiry == 0 || new_clean {
            self.publish_will(
                client_id.clone(),
                will,
                "§3.1.4 / [MQTT-3.1.2-8] 5.0: the takeover ended the old session",
            );
        } else if will.delay == 0 {
            self.publish_will(
                client_id.clone(),
                will,
                "[MQTT-3.1.2-8] 5.0: the old connection closed and the Will Delay is 0",
            );
        } else {
            self.event(BrokerEvent::WillDiscarded {
                client_id: client_id.clone(),
                why: "a new connection resumed the session before the Will Delay passed".into(),
                cite: "[MQTT-3.1.3-9] 5.0",
            });
        }
        self.after_takeover_close(client_id, new_clean);
    }

    pub(super) fn after_takeover_close(&mut self, client_id: &ClientId, new_clean: bool) {
        // An old session with expiry 0 ends with its connection; the new CONNECT then finds none.
        let s = self.sessions.get(client_id).expect("session");
        if s.expiry == 0 && !new_clean {
            let s = self.sessions.swap_remove(client_id).expect("session");
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite: if s.version.is_v5() {
                    "5.0 §3.1.2.11.2: Session Expiry 0 ends the session with the connection"
                } else {
                    "[MQTT-3.1.2-6] 3.1.1: a Clean Session lasts as long as the connection"
                },
            });
            self.drop_session_messages(&s, DropReason::SessionEnded);
        }
    }

    /// The connection is gone; decide the will and the session's fate.
    pub(super) fn end_connection(&mut self, id: ConnId, cause: CloseCause, will_rule: WillOnClose) {
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
        let will = match will_rule {
            WillOnClose::Publish => s.will.take(),
            WillOnClose::Discard => {
                if s.will.take().is_some() {
                    self.event(BrokerEvent::WillDiscarded {
                        client_id: client_id.clone(),
                        why: "normal DISCONNECT".into(),
                        cite: "[MQTT-3.14.4-3]",
                    });
                }
                None
            }
        };
        self.event(BrokerEvent::ConnectionClosed {
            client_id: client_id.clone(),
            conn: id,
            cause,
        });
        if expiry == 0 {
            // The session ends with the connection (3.1.1 [MQTT-3.1.2-6]; 5.0 §3.1.2.11.2).
            if let Some(w) = will {
                if v5 && w.delay > 0 && self.profile.will_waits_delay_after_session_end {
                    let due = self.deadline(now, w.delay);
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-8] 5.0",
                        spec:
                            "the session ended (Session Expiry 0), so the will is published at once"
                                .into(),
                        broker: format!(
                            "{} still waits the Will Delay of {} s",
                            self.profile.name, w.delay
                        ),
                    });
                    self.event(BrokerEvent::WillScheduled {
                        client_id: client_id.clone(),
                        due,
                        cite: "mosquitto 2.0.11 context.c / test 07-will-delay.py",
                    });
                    self.take_lingering(&client_id);
                    self.will_seq += 1;
                    let seq = self.will_seq;
                    self.lingering_wills
                        .push((client_id.clone(), LingeringWill { will: w, due, seq }));
                    self.arm(due, Timer::Lingering(client_id.clone()));
                } else {
                    self.publish_will(
                        client_id.clone(),
                        w,
                        if v5 {
                            "[MQTT-3.1.2-8] 5.0: the connection closed and the session ended"
                        } else {
                            "[MQTT-3.1.2-8] 3.1.1: the connection closed without DISCONNECT"
                        },
                    );
                }
            }
            let s = self.sessions.swap_remove(&client_id).expect("session");
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite: if v5 {
                    "5.0 §3.1.2.11.2: Session Expiry 0 ends the session with the connection"
                } else {
                    "[MQTT-3.1.2-6] 3.1.1: a Clean Session lasts as long as the connection"
                },
            });
            self.drop_session_messages(&s, DropReason::SessionEnded);
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
        if let Some(w) = will {
            if !v5 || w.delay == 0 {
                self.publish_will(
                    client_id.clone(),
                    w,
                    if v5 {
                        "[MQTT-3.1.2-8] 5.0: the connection closed and the Will Delay is 0"
                    } else {
                        "[MQTT-3.1.2-8] 3.1.1: the connection closed without DISCONNECT"
                    },
                );
            } else {
                // §3.1.3.2.2: delayed until the Will Delay passes or the session ends.
                let secs = w.delay.min(expiry);
                let due = self.deadline(now, secs);
                self.will_seq += 1;
                let seq = self.will_seq;
                let s = self.sessions.get_mut(&client_id).expect("session");
                s.will = Some(w);
                s.will_due = Some(due);
                s.will_seq = seq;
                self.arm(due, Timer::Will(client_id.clone()));
                self.event(BrokerEvent::WillScheduled {
                    client_id,
                    due,
                    cite: "§3.1.3.2.2 Will Delay Interval",
                });
            }
        }
    }

    pub(super) fn handle_disconnect(&mut self, id: ConnId, cid: &ClientId, d: Disconnect) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        if v5 {
            if let Some(new_expiry) = d.session_expiry {
                let connect_expiry = self.conns.get(&id).map_or(0, |c| c.connect_expiry);
                if connect_expiry == 0 && new_expiry != 0 {
                    // §3.14.2.2.2: a protocol error; not a valid DISCONNECT, so the will stays.
                    if self.profile.invalid_disconnect_expiry_sends_0x82 {
                        self.protocol_error(
                            id,
                            cid,
                            "DISCONNECT raised the Session Expiry Interval from 0 (§3.14.2.2.2)",
                        );
                    } else {
                        self.event(BrokerEvent::Deviation {
                            rule: "5.0 §3.14.2.2.2",
                            spec: "DISCONNECT 0x82 (Protocol Error), and the will is not deleted"
                                .into(),
                            broker: format!(
                                "{} closes without 0x82 and without the will",
                                self.profile.name
                            ),
                        });
                        self.out.close(id, CloseCause::ProtocolError);
                        self.end_connection(id, CloseCause::ProtocolError, WillOnClose::Discard);
                    }
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
        let with_will = v5 && d.reason == reason::DISCONNECT_WITH_WILL;
        let rule = if with_will && self.profile.honour_disconnect_with_will {
            WillOnClose::Publish
        } else {
            if with_will {
                self.event(BrokerEvent::Deviation {
                    rule: "5.0 §3.14.2.1 reason 0x04",
                    spec: "DISCONNECT 0x04 keeps the will, which is then published".into(),
                    broker: format!("{} discards the will", self.profile.name),
                });
            }
            WillOnClose::Discard
        };
        self.end_connection(id, CloseCause::ClientDisconnect(d.reason), rule);
    }
}
