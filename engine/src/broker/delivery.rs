//! Delivery to subscribers: the in-flight window, queues, acknowledgements, resends.

use super::*;

impl Broker {
    /// The PUBLISH of a waiting copy `m` for `client_id`, with the Message Expiry left.
    pub(super) fn publish_packet(&mut self, client_id: &ClientId, m: &OutMsg, dup: bool) -> Packet {
        let left = self.remaining_expiry(m.received_at, m.message_expiry);
        if left.is_none() && m.message_expiry.is_some() {
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.2-6]",
                spec: format!(
                    "the copy of {} for {client_id} carries the Message Expiry Interval less the time it waited",
                    m.msg
                ),
                broker: format!(
                    "{} counts whole seconds; with 0 s left it sends the copy without a Message Expiry Interval, so the receiver sees a message that never expires",
                    self.profile.name
                ),
            });
        }
        publish_packet(m, dup, left)
    }

    /// Sends queued messages while the in-flight window allows ([MQTT-3.3.4-9], [MQTT-4.9.0-2]).
    pub(super) fn pump_queue(&mut self, client_id: &ClientId) {
        if self.sessions.get(client_id).is_none_or(|s| {
            s.queue.is_empty()
                || (s.conn.is_none()
                    && (self.profile.expired_queued == ExpiredQueued::KeptUntilSend))
        }) {
            return;
        }
        self.expire_queued(client_id);
        loop {
            let Some(s) = self.sessions.get(client_id) else {
                return;
            };
            let Some(conn) = s.conn else { return };
            let window = s.window as usize;
            let Some(front) = s.queue.front() else { return };
            if front.qos != QoS::AtMostOnce && s.inflight.len() >= window {
                return;
            }
            if !self.send_next_queued(client_id, conn) {
                return;
            }
        }
    }

    /// Sends the session's oldest queued message (QoS 1 and 2 go into flight); false if the
    /// queue is empty, or its oldest message waits for a packet identifier and none is free.
    pub(super) fn send_next_queued(&mut self, client_id: &ClientId, conn: ConnId) -> bool {
        let s = self.sessions.get_mut(client_id).expect("session");
        let Some(front) = s.queue.front() else {
            return false;
        };
        if front.qos != QoS::AtMostOnce && front.packet_id.is_none() {
            // It was queued while all 65,535 identifiers were in use; it gets one now, if one
            // has been released ([MQTT-2.3.1-4] 3.1.1 / [MQTT-2.2.1-4] 5.0).
            let Some(id) = s.alloc_packet_id() else {
                return false;
            };
            if let Some(front) = s.queue.front_mut() {
                front.packet_id = Some(id);
            }
        }
        let Some(mut m) = s.queue.pop_front() else {
            return false;
        };
        // A first send carries DUP = 0: only a retransmission sets it ([MQTT-3.3.1-3]).
        let p = self.publish_packet(client_id, &m, false);
        m.sent = true;
        m.state = match m.qos {
            QoS::AtMostOnce => OutState::Queued,
            QoS::AtLeastOnce => OutState::AwaitPuback,
            QoS::ExactlyOnce => OutState::AwaitPubrec,
        };
        if m.qos != QoS::AtMostOnce {
            let s = self.sessions.get_mut(client_id).expect("session");
            s.inflight.push_back(m);
        }
        self.send(conn, p);
        true
    }

    /// mosquitto 2.0 `db__message_delete_outgoing`: after an acknowledgement it moves queued
    /// messages into flight while a counter that starts at the acknowledged message's position
    /// (the messages in flight *before* it) is below the window, so acknowledging the oldest of a
    /// full window sends a whole window more: more unacknowledged PUBLISH than the Receive Maximum
    /// ([MQTT-3.3.4-9]) or max_inflight_messages allow.
    pub(super) fn refill_after_ack(&mut self, client_id: &ClientId, acked_pos: usize) {
        self.expire_queued(client_id);
        let Some(s) = self.sessions.get(client_id) else {
            return;
        };
        let Some(conn) = s.conn else { return };
        let window = s.window as usize;
        let mut index = acked_pos;
        let mut moved = 0;
        while index < window && self.send_next_queued(client_id, conn) {
            index += 1;
            moved += 1;
        }
        let s = self.sessions.get(client_id).expect("session");
        if moved > 0 && s.inflight.len() > window {
            let n = s.inflight.len();
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.4-9] 5.0 / [MQTT-4.9.0-2]",
                spec: format!(
                    "at most {window} unacknowledged QoS 1 and 2 PUBLISH packets (the window)"
                ),
                broker: format!(
                    "{} refills from the acknowledged message's position, so {n} are now unacknowledged",
                    self.profile.name
                ),
            });
        }
    }

    pub(super) fn handle_pubrec(&mut self, id: ConnId, cid: &ClientId, pid: PacketId, rc: u8) {
        let s = self.sessions.get_mut(cid).expect("session");
        let Some(pos) = s
            .inflight
            .iter()
            .position(|m| m.packet_id == Some(pid) && m.state == OutState::AwaitPubrec)
        else {
            return;
        };
        if rc >= 0x80 {
            // [MQTT-4.4.0-2] 5.0: a PUBREC with an error Reason Code acknowledges the message:
            // no PUBREL, no retransmission. The copy is done like an acknowledged one, and the
            // window refills the profile's way (mosquitto 2.0.11 handle_pubrec.c:
            // db__message_delete_outgoing, as for PUBACK).
            self.complete_outgoing(cid, pid, OutState::AwaitPubrec);
            return;
        }
        s.inflight[pos].state = OutState::AwaitPubcomp;
        // [MQTT-4.3.3-1] 3.1.1 / [MQTT-4.3.3-4] 5.0.
        self.send(
            id,
            Packet::Pubrel {
                packet_id: pid,
                reason: 0,
            },
        );
    }

    pub(super) fn complete_outgoing(&mut self, cid: &ClientId, pid: PacketId, expect: OutState) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        if let Some(pos) = s
            .inflight
            .iter()
            .position(|m| m.packet_id == Some(pid) && m.state == expect)
        {
            let Some(m) = s.inflight.remove(pos) else {
                return;
            };
            s.release_packet_id(m.packet_id);
            let has_queue = !s.queue.is_empty();
            self.event(BrokerEvent::MessageAcknowledged {
                client_id: cid.clone(),
                msg: m.msg,
                packet_id: pid,
            });
            if has_queue && self.profile.window_refill == WindowRefill::FromAckedPosition {
                self.refill_after_ack(cid, pos);
            } else if has_queue {
                self.pump_queue(cid);
            }
        }
    }

    /// Adds a copy to a session: sent now if online and the window allows, else queued.
    pub(super) fn deliver(&mut self, cid: &ClientId, m: OutMsg) {
        if let Some(idx) = self.sessions.get_index_of(cid) {
            self.deliver_at(idx, m);
        }
    }

    /// Adds a copy to the session at `idx` (its index in `sessions`).
    pub(super) fn deliver_at(&mut self, idx: usize, mut m: OutMsg) {
        let expiry = self.remaining_expiry(m.received_at, m.message_expiry);
        let Some((cid, s)) = self.sessions.get_index_mut(idx) else {
            return;
        };
        let cid = cid.clone();
        let cid = &cid;
        let online = s.conn;
        let qos0 = m.qos == QoS::AtMostOnce;
        if let Some(conn) = online {
            let window = s.window as usize;
            // (With the queue empty, the identifiers in use are the in-flight window's, fewer
            // than 65,535, so one is free; the check keeps that an invariant, not a hope.)
            if qos0 || (s.queue.is_empty() && s.inflight.len() < window && !s.used_ids.is_full()) {
                // QoS 0 to an online client goes straight out; QoS 1/2 too while the in-flight
                // window has room ([MQTT-3.3.4-9]).
                if !qos0 {
                    m.sent = true;
                    m.state = if m.qos == QoS::AtLeastOnce {
                        OutState::AwaitPuback
                    } else {
                        OutState::AwaitPubrec
                    };
                    m.packet_id = s.alloc_packet_id();
                }
                let p = publish_packet(&m, false, expiry);
                let (msg, qos) = (m.msg, m.qos);
                if !qos0 {
                    s.inflight.push_back(m);
                }
                self.event(BrokerEvent::MessageSent {
                    client_id: cid.clone(),
                    msg,
                    qos,
                });
                self.send(conn, p);
                return;
            }
        } else if qos0 && !self.profile.queue_qos0_offline {
            // [MQTT-3.1.2-5] 3.1.1: QoS 0 MAY be stored; this broker does not.
            self.event(BrokerEvent::MessageDropped {
                client_id: cid.clone(),
                msg: m.msg,
                topic: m.topic,
                qos: m.qos,
                reason: DropReason::Qos0NotQueued,
                cite: "[MQTT-3.1.2-5] 3.1.1 / 5.0 §4.1: storing QoS 0 for an offline client is optional",
            });
            return;
        }
        self.enqueue(cid, m, online.is_some());
    }

    pub(super) fn enqueue(&mut self, cid: &ClientId, mut m: OutMsg, online: bool) {
        let expiry = self
            .message_deadline(m.received_at, m.message_expiry)
            .filter(|_| self.profile.expired_queued == ExpiredQueued::DroppedAtExpiry);
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let held = if self.profile.queue_limit_counts == QueueLimitCounts::Qos12BeyondWindow {
            // mosquitto 2.0 db__ready_for_queue: QoS 1/2 copies queued or in flight
            // (msg_count12), less the in-flight window while the client is online; QoS 0
            // copies never count.
            let n = s.queue.iter().filter(|m| m.qos != QoS::AtMostOnce).count() + s.inflight.len();
            let window = if online { s.window as usize } else { 0 };
            n.saturating_sub(window)
        } else {
            s.queue.len()
        };
        if let Some(limit) = self.profile.max_queued_messages {
            if held as u32 >= limit {
                let cite =
                    "administrative discard (3.1.1 §4.1 / 5.0 §4.1.1): the broker's queue limit";
                match self.profile.overflow {
                    Overflow::DropNewest => {
                        self.out.event(BrokerEvent::MessageDropped {
                            client_id: cid.clone(),
                            msg: m.msg,
                            topic: m.topic,
                            qos: m.qos,
                            reason: DropReason::QueueFull { limit },
                            cite,
                        });
                        return;
                    }
                    Overflow::DropOldest => {
                        if let Some(old) = s.queue.pop_front() {
                            s.release_packet_id(old.packet_id);
                            self.out.event(BrokerEvent::MessageDropped {
                                client_id: cid.clone(),
                                msg: old.msg,
                                topic: old.topic,
                                qos: old.qos,
                                reason: DropReason::QueueFullOldest { limit },
                                cite,
                            });
                        }
                    }
                }
            }
        }
        let mut ids_ran_out = false;
        if m.qos != QoS::AtMostOnce && !s.waiting_for_packet_id() {
            // mosquitto gives a queued message its packet id when it is queued (subs.c).
            m.packet_id = s.alloc_packet_id();
            ids_ran_out = m.packet_id.is_none();
        }
        let (msg, topic, qos) = (m.msg, m.topic.clone(), m.qos);
        let cite = queued_cite(s.version, qos, online);
        let v5 = s.version.is_v5();
        s.queue.push_back(m);
        if ids_ran_out {
            // All 65,535 identifiers are in use (queued and in flight): this copy and the ones
            // after it wait without one, and get one in queue order as acknowledgements free
            // them. Said once, when the first copy has to wait.
            self.out.event(BrokerEvent::Note {
                text: format!(
                    "All 65,535 packet identifiers of the session of \"{cid}\" are in use: message {msg} and the ones after it wait in the queue until acknowledgements free identifiers."
                ),
                cite: if v5 {
                    "[MQTT-2.2.1-4] 5.0"
                } else {
                    "[MQTT-2.3.1-4] 3.1.1"
                },
            });
        }
        if let Some(d) = expiry {
            self.timers.push(Reverse((d, Timer::Queue(cid.clone()))));
        }
        self.out.event(BrokerEvent::MessageQueued {
            client_id: cid.clone(),
            msg,
            topic,
            qos,
            queue_len: s.queue.len(),
            online,
            cite,
        });
    }
}

/// Why a copy waits in the queue of a session on version `v`.
fn queued_cite(v: Version, qos: QoS, online: bool) -> &'static str {
    match (v, online, qos) {
        // The in-flight window is the client's Receive Maximum in 5.0; 3.1.1 sets no limit.
        (Version::V5, true, _) => "[MQTT-3.3.4-9] 5.0",
        (Version::V311, true, _) => {
            "3.1.1 sets no in-flight limit: this is the broker's own window"
        }
        // Offline: the stored session keeps what matches its subscriptions.
        (Version::V311, false, QoS::AtMostOnce) => {
            "[MQTT-3.1.2-5] 3.1.1: QoS 0 MAY be stored too, and this broker does"
        }
        (Version::V311, false, _) => "[MQTT-3.1.2-5] 3.1.1",
        (Version::V5, false, QoS::AtMostOnce) => {
            "5.0 §4.1: QoS 0 messages pending transmission MAY be part of the Session State, and this broker keeps them"
        }
        (Version::V5, false, _) => "[MQTT-4.5.0-1] 5.0, [MQTT-3.1.2-23] 5.0",
    }
}

/// The PUBLISH packet for one message copy; `message_expiry` is the remaining interval.
fn publish_packet(m: &OutMsg, dup: bool, message_expiry: Option<u32>) -> Packet {
    Packet::Publish(Publish {
        // [MQTT-3.3.1-2]: DUP is 0 for QoS 0.
        dup: dup && m.qos != QoS::AtMostOnce,
        qos: m.qos,
        retain: m.retain,
        topic: m.topic.clone(),
        packet_id: m.packet_id,
        payload: m.payload.clone(),
        message_expiry,
        subscription_ids: m.subscription_ids.clone(),
        msg: m.msg,
    })
}
