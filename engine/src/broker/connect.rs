//! CONNECT: admission, client identifiers, clean start and resume, CONNACK.

use super::*;

impl Broker {
    /// Closes a connection over a Malformed Packet or Protocol Error ([MQTT-4.8.0-1] 3.1.1 /
    /// [MQTT-4.13.1-1] 5.0), telling
    /// a 5.0 client why first where the profile does (5.0 §4.13.1), and ends it as a close that
    /// was not a normal DISCONNECT, so its will is published ([MQTT-3.1.2-8]).
    pub(super) fn protocol_error(&mut self, id: ConnId, cid: &ClientId, what: &str, f: Fault) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let notice = v5
            && self.profile.error_notice.sends_disconnect(
                f.packet_type,
                f.disconnect_expiry_rule,
                f.in_fixed_header,
            );
        self.event(BrokerEvent::ProtocolError {
            client_id: cid.clone(),
            conn: id,
            what: what.to_string(),
            code: f.code,
            notice: if !v5 {
                Notice::V311
            } else if notice {
                Notice::Disconnect
            } else {
                Notice::CloseOnly
            },
        });
        if notice {
            self.send(
                id,
                Packet::Disconnect(Disconnect {
                    reason: f.code,
                    session_expiry: None,
                }),
            );
        }
        self.out.close(id, CloseCause::ProtocolError);
        self.end_connection(id, CloseCause::ProtocolError, WillMoment::Closed);
    }

    /// Bytes that are not a packet the broker takes: a close over a Malformed Packet or a
    /// Protocol Error, as for a rule a decoded packet breaks.
    pub(super) fn handle_refused(&mut self, id: ConnId, r: Refusal) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.last_rx = self.now;
        let Some(cid) = c.client_id.clone() else {
            // [MQTT-3.1.0-1]: the first packet must be CONNECT.
            self.out.close(id, CloseCause::ProtocolError);
            self.conns.swap_remove(&id);
            return;
        };
        let f = Fault {
            packet_type: r.packet_type,
            code: r.code,
            disconnect_expiry_rule: false,
            in_fixed_header: r.in_fixed_header,
        };
        self.protocol_error(id, &cid, &r.what, f);
    }

    pub(super) fn refuse(
        &mut self,
        id: ConnId,
        client_id: ClientId,
        code: u8,
        why: String,
        cite: &'static str,
    ) {
        // [MQTT-3.2.2-4] 3.1.1 / [MQTT-3.2.2-6] 5.0: Session Present is 0 on an error CONNACK;
        // then the server closes ([MQTT-3.2.2-5] 3.1.1 / [MQTT-3.2.2-7] 5.0).
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        self.send(
            id,
            Packet::Connack(Connack {
                session_present: false,
                code,
                assigned_client_id: None,
                session_expiry: None,
                server_keep_alive: None,
                receive_maximum: None,
                maximum_qos: (v5 && self.profile.max_qos < 2)
                    .then(|| QoS::from_u8(self.profile.max_qos).unwrap_or(QoS::AtMostOnce)),
            }),
        );
        self.event(BrokerEvent::ConnectRefused {
            client_id,
            conn: id,
            code,
            why,
            cite,
        });
        self.out.close(id, CloseCause::ConnectRefused);
        self.conns.swap_remove(&id);
    }

    pub(super) fn assign_client_id(&mut self) -> ClientId {
        // Must not be used by any other session ([MQTT-3.2.2-16] 5.0). Deterministic from the seed.
        loop {
            self.assigned += 1;
            let mut x = self.seed ^ self.assigned.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            x = crate::rng::mix(x);
            let id = ClientId::new(format!(
                "{}{:08X}-{:04X}",
                self.profile.assigned_id_prefix,
                (x >> 32) as u32,
                (x & 0xFFFF) as u16
            ));
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    pub(super) fn handle_connect(&mut self, id: ConnId, c: Connect) {
        let v5 = c.version.is_v5();
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.version = c.version;
        }
        // Listener rate limit (a broker setting, not the specification).
        if let Some(limit) = self.profile.max_connections_per_second {
            let sec = self.now.whole_secs();
            if self.accepts_this_second.0 != sec {
                self.accepts_this_second = (sec, 0);
            }
            if self.accepts_this_second.1 >= limit {
                let code = if v5 {
                    reason::SERVER_BUSY
                } else {
                    reason::V311_SERVER_UNAVAILABLE
                };
                self.refuse(
                    id,
                    c.client_id.clone(),
                    code,
                    format!("the broker accepts at most {limit} connections per second"),
                    "broker setting: connection rate limit",
                );
                return;
            }
            self.accepts_this_second.1 += 1;
        }
        // Client identifier rules.
        let mut assigned = None;
        let client_id = if c.client_id.is_empty() {
            if !v5 && !c.clean_start {
                // [MQTT-3.1.3-8] 3.1.1: zero-byte id with CleanSession 0 -> 0x02 and close.
                self.refuse(
                    id,
                    c.client_id.clone(),
                    reason::V311_IDENTIFIER_REJECTED,
                    "an empty client id needs Clean Session = 1 in MQTT 3.1.1".into(),
                    "[MQTT-3.1.3-8] 3.1.1",
                );
                return;
            }
            if !self.profile.allow_zero_length_client_id {
                let code = if v5 {
                    self.profile.empty_id_v5_reject_code
                } else {
                    reason::V311_IDENTIFIER_REJECTED
                };
                self.refuse(
                    id,
                    c.client_id.clone(),
                    code,
                    "this broker does not accept empty client ids".into(),
                    "[MQTT-3.1.3-6] the server MAY accept an empty id; this one does not",
                );
                return;
            }
            // [MQTT-3.1.3-6] 3.1.1 / [MQTT-3.1.3-7] 5.0: assign a unique id.
            let a = self.assign_client_id();
            if v5 {
                assigned = Some(a.clone());
            }
            a
        } else {
            c.client_id.clone()
        };
        // Maximum QoS for the will ([MQTT-3.2.2-12] 5.0).
        if let Some(w) = &c.will {
            if w.qos.as_u8() > self.profile.max_qos {
                if v5 {
                    self.refuse(
                        id,
                        client_id,
                        reason::QOS_NOT_SUPPORTED,
                        format!(
                            "the will asks for QoS {} but this broker supports at most QoS {}",
                            w.qos.as_u8(),
                            self.profile.max_qos
                        ),
                        "[MQTT-3.2.2-12] 5.0",
                    );
                } else {
                    // mosquitto closes a 3.1.1 client without a CONNACK here (observed with max_qos 1).
                    self.event(BrokerEvent::ConnectRefused {
                        client_id,
                        conn: id,
                        code: 0,
                        why: format!(
                            "will QoS {} above the broker's maximum {}: closed without CONNACK",
                            w.qos.as_u8(),
                            self.profile.max_qos
                        ),
                        cite: "mosquitto observed: a 3.1.1 will QoS above max_qos closes the connection without CONNACK",
                    });
                    self.out.close(id, CloseCause::ConnectRefused);
                    self.conns.swap_remove(&id);
                }
                return;
            }
        }

        // Takeover: the id is connected on another connection.
        if let Some(old_conn) = self.sessions.get(&client_id).and_then(|s| s.conn) {
            self.takeover(&client_id, old_conn, id, c.clean_start, v5);
        }

        // A will outliving its session (mosquitto SEI 0 + Will Delay) is dropped on reconnect
        // (mosquitto test 07-will-delay-reconnect.py).
        if let Some(l) = self.take_lingering(&client_id) {
            let ctx = WillContext::outlived(l.will.delay);
            let moment = WillMoment::Reconnected {
                clean_start: c.clean_start,
            };
            let d = decide_will(&self.profile, moment, ctx);
            self.carry_out_will(&client_id, l.will, d);
        }

        let (expiry, announced) =
            self.profile
                .effective_session_expiry(v5, c.clean_start, c.session_expiry);
        if v5 && announced.is_some() {
            self.event(BrokerEvent::Note {
                text: format!(
                    "The client asked for a Session Expiry Interval of {}; {} caps it at {} and says so in CONNACK.",
                    crate::types::format_expiry(c.session_expiry.unwrap_or(0)),
                    self.profile.name,
                    crate::types::format_expiry(expiry)
                ),
                cite: "5.0 §3.2.2.3.2",
            });
        } else if v5 && c.session_expiry.unwrap_or(0) != expiry {
            self.event(BrokerEvent::Deviation {
                rule: "5.0 §3.2.2.3.2",
                spec: "a server that uses another Session Expiry Interval announces it in CONNACK"
                    .into(),
                broker: format!(
                    "{} caps it at {} without saying so",
                    self.profile.name,
                    crate::types::format_expiry(expiry)
                ),
            });
        }

        // Clean Start processing on an existing (offline) session.
        let existed = self.sessions.contains_key(&client_id);
        let mut session_present = false;
        if existed {
            if c.clean_start {
                let mut old = self.sessions.swap_remove(&client_id).expect("exists");
                // The stored session ends now: a pending delayed will goes out (spec) or is
                // discarded ([`TakeoverWill::OnlyIfSessionEnds`]).
                if old.will_due.take().is_some() {
                    if let Some(w) = old.will.take() {
                        let ctx = WillContext::in_session(&old, w.delay);
                        let moment = WillMoment::Reconnected { clean_start: true };
                        let d = decide_will(&self.profile, moment, ctx);
                        self.carry_out_will(&client_id, w, d);
                    }
                }
                let cite = if v5 {
                    "[MQTT-3.1.2-4] 5.0"
                } else {
                    "[MQTT-3.1.2-6] 3.1.1"
                };
                self.event(BrokerEvent::SessionDiscarded {
                    client_id: client_id.clone(),
                    cite,
                });
                self.drop_session_messages(&old, DropReason::CleanStart, cite);
            } else {
                session_present = true;
            }
        }

        // Keep alive in force.
        let mut server_keep_alive = None;
        let mut keep_alive = c.keep_alive;
        if v5 && c.keep_alive == 0 {
            if let Some(ka) = self.profile.keep_alive_zero_override {
                server_keep_alive = Some(ka);
                keep_alive = ka;
            }
        }

        let window = self.profile.outgoing_window(v5, c.receive_maximum);
        let now = self.now;
        {
            let conn = self.conns.get_mut(&id).expect("connection open");
            conn.client_id = Some(client_id.clone());
            conn.keep_alive = keep_alive;
            conn.window = window;
            conn.connect_expiry = expiry;
        }
        let ka = self
            .conns
            .get(&id)
            .and_then(|c| self.keep_alive_deadline(c));
        if let Some(d) = ka {
            self.arm(d, Timer::KeepAlive(id));
        }
        let s = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(client_id.clone(), c.version, now));
        let resumed_queue = s.queue.len();
        let resumed_inflight = s.inflight.len();
        // A resumed session's delayed will is cancelled ([MQTT-3.1.3-9] 5.0).
        let cancelled = if session_present && s.will_due.is_some() {
            s.will.take().map(|w| {
                let ctx = WillContext::in_session(s, w.delay);
                (w, ctx)
            })
        } else {
            None
        };
        s.version = c.version;
        s.conn = Some(id);
        s.window = window;
        s.clean_start = c.clean_start;
        s.expiry = expiry;
        s.disconnected_at = None;
        s.expires_at = None;
        s.will_due = None;
        s.will = c.will.clone();
        if let Some((w, ctx)) = cancelled {
            let moment = WillMoment::Reconnected { clean_start: false };
            let d = decide_will(&self.profile, moment, ctx);
            self.carry_out_will(&client_id, w, d);
        }
        if session_present {
            self.event(BrokerEvent::SessionResumed {
                client_id: client_id.clone(),
                queued: resumed_queue,
                inflight: resumed_inflight,
                cite: if v5 {
                    "[MQTT-3.1.2-5] 5.0"
                } else {
                    "[MQTT-3.1.2-4] 3.1.1"
                },
            });
        } else {
            self.event(BrokerEvent::SessionCreated {
                client_id: client_id.clone(),
                expiry,
                cite: if c.clean_start {
                    if v5 {
                        "[MQTT-3.1.2-4] 5.0"
                    } else {
                        "[MQTT-3.1.2-6] 3.1.1"
                    }
                } else if v5 {
                    "[MQTT-3.1.2-6] 5.0"
                } else {
                    "[MQTT-3.1.2-4] 3.1.1"
                },
            });
        }
        let connack = Connack {
            // [MQTT-3.2.2-1] 3.1.1, [MQTT-3.2.2-2] 3.1.1, [MQTT-3.2.2-3] 3.1.1 / [MQTT-3.2.2-2] 5.0,
            // [MQTT-3.2.2-3] 5.0.
            session_present,
            code: 0,
            assigned_client_id: assigned,
            session_expiry: if v5 { announced } else { None },
            server_keep_alive,
            receive_maximum: if v5 {
                self.profile.server_receive_maximum
            } else {
                None
            },
            maximum_qos: (v5 && self.profile.max_qos < 2)
                .then(|| QoS::from_u8(self.profile.max_qos).unwrap_or(QoS::AtMostOnce)),
        };
        self.event(BrokerEvent::ConnectAccepted {
            client_id: client_id.clone(),
            conn: id,
            session_present,
            clean_start: c.clean_start,
            version: c.version,
            expiry,
        });
        self.send(id, Packet::Connack(connack));
        if session_present {
            self.resend_after_resume(&client_id, id);
        }
    }

    /// [MQTT-4.4.0-1]: on resume, resend unacknowledged PUBLISH (DUP = 1) and PUBREL with their
    /// original packet ids, in the original order (the order a client must keep,
    /// [MQTT-4.6.0-1]; no statement orders a server's resends, §4.6 Ordered Topics aside); then
    /// send what was queued.
    pub(super) fn resend_after_resume(&mut self, client_id: &ClientId, conn: ConnId) {
        let Some(s) = self.sessions.get(client_id) else {
            return;
        };
        let inflight = s.inflight.clone();
        let v5 = s.version.is_v5();
        let mut keep = VecDeque::new();
        for mut m in inflight {
            match m.state {
                OutState::AwaitPubcomp => {
                    self.event(BrokerEvent::MessageResent {
                        client_id: client_id.clone(),
                        msg: m.msg,
                        packet_id: m.packet_id.unwrap_or(0),
                        pubrel: true,
                        cite: if v5 {
                            "[MQTT-4.4.0-1] 5.0"
                        } else {
                            "[MQTT-4.4.0-1] 3.1.1"
                        },
                    });
                    // [MQTT-4.3.3-1] 3.1.1 / [MQTT-4.3.3-6] 5.0: after PUBREL, never PUBLISH again;
                    // the PUBREL is resent, unacknowledged until PUBCOMP ([MQTT-4.3.3-5] 5.0).
                    self.send(
                        conn,
                        Packet::Pubrel {
                            packet_id: m.packet_id.unwrap_or(0),
                            reason: 0,
                        },
                    );
                    keep.push_back(m);
                }
                _ => {
                    if self.is_expired(m.received_at, m.message_expiry)
                        && self.profile.expired_inflight == ExpiredInflight::Dropped
                    {
                        {
                            self.event(BrokerEvent::Deviation {
                                rule: "[MQTT-4.3.3-7] 5.0 / [MQTT-4.4.0-1]",
                                spec: "a PUBLISH already sent is resent even if its Message Expiry has passed".into(),
                                broker: format!("{} drops the expired message instead", self.profile.name),
                            });
                            self.event(BrokerEvent::MessageDropped {
                                client_id: client_id.clone(),
                                msg: m.msg,
                                topic: m.topic.clone(),
                                qos: m.qos,
                                reason: DropReason::ExpiredInFlight,
                                cite: "mosquitto db__message_write_inflight_out_single",
                            });
                            let s = self.sessions.get_mut(client_id).expect("session");
                            s.release_packet_id(m.packet_id);
                            continue;
                        }
                    }
                    m.sent = true;
                    self.event(BrokerEvent::MessageResent {
                        client_id: client_id.clone(),
                        msg: m.msg,
                        packet_id: m.packet_id.unwrap_or(0),
                        pubrel: false,
                        cite: if v5 {
                            "[MQTT-4.4.0-1] 5.0, [MQTT-3.3.1-1] 5.0"
                        } else {
                            "[MQTT-4.4.0-1] 3.1.1, [MQTT-3.3.1-1] 3.1.1"
                        },
                    });
                    let p = self.publish_packet(client_id, &m, true);
                    self.send(conn, p);
                    keep.push_back(m);
                }
            }
        }
        let s = self.sessions.get_mut(client_id).expect("session");
        s.inflight = keep;
        self.pump_queue(client_id);
    }
}
