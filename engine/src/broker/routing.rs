//! Inbound PUBLISH and routing: matching subscriptions, overlapping subscriptions, copies.

use super::*;

impl Broker {
    pub(super) fn handle_publish(&mut self, id: ConnId, cid: ClientId, p: Publish) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        match p.qos {
            QoS::AtMostOnce => {
                self.route(&cid, p);
            }
            QoS::AtLeastOnce => {
                let pid = p.packet_id.unwrap_or(0);
                // mosquitto (subs.c sub__search): 0x10 only when no subscription matches at
                // all; one skipped for No Local still counts as a subscriber.
                let subscribed = self.sessions.values().any(|s| {
                    s.subscriptions
                        .values()
                        .any(|sub| topic::matches(&sub.topic_filter, &p.topic))
                });
                self.route(&cid, p);
                let rc = if v5
                    && !subscribed
                    && (self.profile.no_subscribers_reply
                        == NoSubscribersReply::NoMatchingSubscribers)
                {
                    reason::NO_MATCHING_SUBSCRIBERS
                } else {
                    0
                };
                self.send(
                    id,
                    Packet::Puback {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
            QoS::ExactlyOnce => {
                let pid = p.packet_id.unwrap_or(0);
                let s = self.sessions.get(&cid).expect("connected session");
                if s.incoming_qos2.iter().any(|q| q.packet_id == pid) {
                    // [MQTT-4.3.3-2] 3.1.1 / [MQTT-4.3.3-10] 5.0: PUBREC again, no second delivery.
                    self.event(BrokerEvent::Note {
                        text: format!("Packet id {pid} is still waiting for PUBREL, so this PUBLISH is a duplicate: PUBREC again, nothing forwarded."),
                        cite: "[MQTT-4.3.3-2] 3.1.1 / [MQTT-4.3.3-10] 5.0",
                    });
                    self.send(
                        id,
                        Packet::Pubrec {
                            packet_id: pid,
                            reason: 0,
                        },
                    );
                    return;
                }
                let limit = self.profile.server_receive_maximum.unwrap_or(u16::MAX) as usize;
                if v5 && s.incoming_qos2.len() >= limit {
                    match self.profile.receive_max_exceeded {
                        ReceiveMaxExceeded::Disconnect93 => {
                            self.event(BrokerEvent::ProtocolError {
                                client_id: cid.clone(),
                                conn: id,
                                what: format!("more than Receive Maximum ({limit}) QoS 2 messages awaiting PUBREL"),
                                code: reason::RECEIVE_MAXIMUM_EXCEEDED,
                                notice: Notice::Disconnect,
                            });
                            self.send(
                                id,
                                Packet::Disconnect(Disconnect {
                                    reason: reason::RECEIVE_MAXIMUM_EXCEEDED,
                                    session_expiry: None,
                                }),
                            );
                            self.out.close(id, CloseCause::ProtocolError);
                            self.end_connection(id, CloseCause::ProtocolError, WillMoment::Closed);
                        }
                        ReceiveMaxExceeded::Pubrec97 => {
                            self.event(BrokerEvent::Deviation {
                                rule: "5.0 §3.3.4",
                                spec: "DISCONNECT 0x93 (Receive Maximum exceeded)".into(),
                                broker: format!(
                                    "{} answers PUBREC 0x97 (Quota exceeded) and stays connected",
                                    self.profile.name
                                ),
                            });
                            self.send(
                                id,
                                Packet::Pubrec {
                                    packet_id: pid,
                                    reason: reason::QUOTA_EXCEEDED,
                                },
                            );
                        }
                    }
                    return;
                }
                let forward_now = self.profile.qos2_forward == Qos2Forward::AtPublish;
                let n = if forward_now {
                    self.route(&cid, p.clone())
                } else {
                    self.count_matches(&cid, &p.topic)
                };
                let s = self.sessions.get_mut(&cid).expect("connected session");
                s.incoming_qos2.push(IncomingQos2 {
                    packet_id: pid,
                    pending: (!forward_now).then_some(p),
                });
                // A broker that routes at PUBREL has not looked for subscribers yet when it
                // answers PUBREC: mosquitto 2.0.11 sends PUBREC 0x00 (handle_publish.c), 0x10
                // only on PUBACK.
                let rc = if v5
                    && n == 0
                    && (self.profile.no_subscribers_reply
                        == NoSubscribersReply::NoMatchingSubscribers)
                    && forward_now
                {
                    reason::NO_MATCHING_SUBSCRIBERS
                } else {
                    0
                };
                self.send(
                    id,
                    Packet::Pubrec {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
        }
    }

    pub(super) fn handle_pubrel(&mut self, id: ConnId, cid: &ClientId, pid: PacketId) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let entry = self.sessions.get_mut(cid).and_then(|s| {
            let pos = s.incoming_qos2.iter().position(|q| q.packet_id == pid)?;
            Some(s.incoming_qos2.remove(pos))
        });
        match entry {
            Some(e) => {
                if let Some(p) = e.pending {
                    // Method A: forward on PUBREL (mosquitto).
                    self.route(cid, p);
                }
                self.send(
                    id,
                    Packet::Pubcomp {
                        packet_id: pid,
                        reason: 0,
                    },
                );
            }
            None => {
                // [MQTT-4.3.3-2] 3.1.1 / [MQTT-4.3.3-11] 5.0: every PUBREL gets a PUBCOMP with
                // its packet identifier; 5.0 §3.7.2.1 has a code for an identifier not held.
                let not_found =
                    v5 && self.profile.unknown_pubrel == UnknownPubrel::PacketIdNotFound;
                let rc = if not_found {
                    reason::PACKET_ID_NOT_FOUND
                } else {
                    0
                };
                let text = if not_found {
                    format!("PUBREL for packet id {pid}, but \"{cid}\" has no QoS 2 message waiting under that id: PUBCOMP 0x92 (Packet Identifier not found).")
                } else if v5 {
                    format!("PUBREL for packet id {pid}, but \"{cid}\" has no QoS 2 message waiting under that id: PUBCOMP 0x00 all the same, as for a known id (not 0x92, Packet Identifier not found).")
                } else {
                    format!("PUBREL for packet id {pid}, but \"{cid}\" has no QoS 2 message waiting under that id: a 3.1.1 PUBCOMP has no code to say so, so it is the same PUBCOMP as for a known id.")
                };
                self.event(BrokerEvent::Note {
                    text,
                    cite: if v5 {
                        "[MQTT-4.3.3-11] 5.0, §3.7.2.1"
                    } else {
                        "[MQTT-4.3.3-2] 3.1.1"
                    },
                });
                self.send(
                    id,
                    Packet::Pubcomp {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
        }
    }

    pub(super) fn count_matches(&self, origin: &ClientId, topic_name: &str) -> usize {
        self.sessions
            .values()
            .filter(|s| {
                s.subscriptions.values().any(|sub| {
                    topic::matches(&sub.topic_filter, topic_name)
                        && !(sub.options.no_local && &s.client_id == origin)
                })
            })
            .count()
    }

    /// The server takes ownership of a message and adds it to the session state of every matching
    /// subscription ([MQTT-4.5.0-1]). Returns how many sessions got a copy.
    pub(super) fn route(&mut self, origin: &ClientId, p: Publish) -> usize {
        // Retained store (§3.3.1.3): a zero-length retained payload deletes it.
        if p.retain {
            if p.payload.is_empty() {
                if self.retained.remove(&p.topic).is_some() {
                    self.event(BrokerEvent::RetainedCleared {
                        topic: p.topic.clone(),
                    });
                }
            } else {
                self.retained.insert(
                    p.topic.clone(),
                    Retained {
                        msg: p.msg,
                        topic: p.topic.clone(),
                        payload: p.payload.clone(),
                        qos: p.qos,
                        received_at: self.now,
                        message_expiry: p.message_expiry,
                    },
                );
                if let Some(d) = self.message_deadline(self.now, p.message_expiry) {
                    self.arm(d, Timer::Retained(p.topic.clone()));
                }
                self.event(BrokerEvent::RetainedStored {
                    topic: p.topic.clone(),
                    msg: p.msg,
                });
            }
        }
        // (session index, copy): delivered after the walk, in session order.
        let mut copies: Vec<(usize, OutMsg)> = Vec::new();
        // Packet identifiers that suppressed copies take, by session index, after its copy.
        let mut skipped_ids: Vec<(usize, u16)> = Vec::new();
        let mut deviations: Vec<BrokerEvent> = Vec::new();
        let mut shared: Vec<(String, Vec<(usize, Subscription)>)> = Vec::new();
        for (idx, s) in self.sessions.values().enumerate() {
            let v5 = s.version.is_v5();
            let mut hits = s
                .subscriptions
                .values()
                .filter(|sub| topic::matches(&sub.topic_filter, &p.topic));
            let Some(first) = hits.next() else {
                continue;
            };
            let second = hits.next();
            if second.is_none() && first.share.is_none() {
                // The common case: exactly one matching, non-shared subscription.
                if !(first.options.no_local && &s.client_id == origin) {
                    copies.push((idx, self.copy_for(&p, first.granted, &[first], v5)));
                }
                continue;
            }
            let mut matched: Vec<&Subscription> =
                std::iter::once(first).chain(second).chain(hits).collect();
            for sub in matched.iter().filter(|sub| sub.share.is_some()) {
                let key = format!(
                    "{}/{}",
                    sub.share.as_deref().unwrap_or(""),
                    sub.topic_filter
                );
                match shared.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push((idx, (*sub).clone())),
                    None => shared.push((key, vec![(idx, (*sub).clone())])),
                }
            }
            // [MQTT-3.8.3-3] 5.0 No Local: not to the publishing client id.
            matched.retain(|sub| {
                sub.share.is_none() && !(sub.options.no_local && &s.client_id == origin)
            });
            if matched.is_empty() {
                continue;
            }
            let mode = if s.version.is_v5() {
                self.profile.overlap_v5
            } else {
                self.profile.overlap_v311
            };
            let make = |subs: &[&Subscription], qos_from: QoS| -> OutMsg {
                self.copy_for(&p, qos_from, subs, v5)
            };
            // The order in which the broker's tree walk meets the matching subscriptions (one sort,
            // shared by the modes that need it).
            let tree_walk_order = |subs: &mut Vec<&Subscription>| {
                subs.sort_by_key(|x| topic::tree_walk_key(&x.topic_filter, &p.topic))
            };
            match mode {
                Overlap::OneCopyMaxQos => {
                    let max = matched
                        .iter()
                        .map(|x| x.granted)
                        .max()
                        .unwrap_or(QoS::AtMostOnce);
                    copies.push((idx, make(&matched, max)));
                }
                Overlap::CopyPerSubscription => {
                    // One copy per subscription, in the order the broker's tree walk meets them.
                    tree_walk_order(&mut matched);
                    for sub in &matched {
                        copies.push((idx, make(&[*sub], sub.granted)));
                    }
                }
                Overlap::OneCopyFirstMatched => {
                    tree_walk_order(&mut matched);
                    let first = matched[0];
                    let copy = make(&[first], first.granted);
                    let best = matched
                        .iter()
                        .map(|x| self.copy_qos(p.qos, x.granted))
                        .max()
                        .unwrap_or(copy.qos);
                    if best > copy.qos {
                        deviations.push(BrokerEvent::Deviation {
                            rule: if v5 {
                                "[MQTT-3.3.4-2] 5.0"
                            } else {
                                "[MQTT-3.3.5-1] 3.1.1"
                            },
                            spec: format!(
                                "{} gets {} at QoS {}, the highest of its {} matching subscriptions",
                                s.client_id,
                                p.msg,
                                best.as_u8(),
                                matched.len()
                            ),
                            broker: format!(
                                "{} sends one copy at the QoS of the subscription its topic tree meets first, {} (QoS {})",
                                self.profile.name,
                                first.topic_filter,
                                copy.qos.as_u8()
                            ),
                        });
                    }
                    if self.profile.suppressed_copy_ids == SuppressedCopyIds::TakeOne {
                        let n = matched[1..]
                            .iter()
                            .filter(|x| self.copy_qos(p.qos, x.granted) != QoS::AtMostOnce)
                            .count();
                        if n > 0 {
                            skipped_ids.push((idx, n as u16));
                        }
                    }
                    copies.push((idx, copy));
                }
            }
        }
        // Shared subscriptions (§4.8.2): one member per group, round robin, offline members
        // included (observed on mosquitto and on the Paho test broker).
        for (key, members) in shared {
            let pos = match self.shared_cursor.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    self.shared_cursor.push((key, 0));
                    self.shared_cursor.len() - 1
                }
            };
            let cursor = &mut self.shared_cursor[pos].1;
            let (idx, sub) = &members[*cursor % members.len()];
            *cursor += 1;
            let v5 = self.sessions[*idx].version.is_v5();
            copies.push((*idx, self.copy_for(&p, sub.granted, &[sub], v5)));
        }
        let n = {
            let mut ids: Vec<usize> = copies.iter().map(|(i, _)| *i).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        };
        // [MQTT-4.5.0-1]: a copy for every session with a matching subscription, none for
        // anyone else. The statement has the same words in both versions; the publisher's names
        // it when it still has a session (a will may outlive its own).
        let cite = match self.sessions.get(origin).map(|s| s.version) {
            Some(Version::V311) => "[MQTT-4.5.0-1] 3.1.1",
            Some(Version::V5) => "[MQTT-4.5.0-1] 5.0",
            None => "[MQTT-4.5.0-1]",
        };
        self.event(BrokerEvent::MessageRouted {
            from: origin.clone(),
            msg: p.msg,
            topic: p.topic.clone(),
            qos: p.qos,
            copies: copies.len(),
            cite,
        });
        for e in deviations {
            self.event(e);
        }
        for (idx, m) in copies {
            self.note_downgrade(idx, &m, p.qos);
            self.deliver_at(idx, m);
            if let Some(&(_, k)) = skipped_ids.iter().find(|(i, _)| *i == idx) {
                if let Some((_, s)) = self.sessions.get_index_mut(idx) {
                    s.skip_packet_ids(k);
                }
            }
        }
        n
    }

    /// Reports a copy for the session at `idx` that goes out below the published QoS.
    pub(super) fn note_downgrade(&mut self, idx: usize, m: &OutMsg, published: QoS) {
        if m.qos >= published {
            return;
        }
        let Some((cid, s)) = self.sessions.get_index(idx) else {
            return;
        };
        let event = BrokerEvent::CopyDowngraded {
            client_id: cid.clone(),
            msg: m.msg,
            published,
            qos: m.qos,
            cite: if s.version.is_v5() {
                "[MQTT-3.8.4-8] 5.0"
            } else {
                "[MQTT-3.8.4-6] 3.1.1"
            },
        };
        self.event(event);
    }

    /// The QoS of a copy: min(published QoS, granted QoS), or the granted QoS under mosquitto's
    /// non-standard upgrade_outgoing_qos.
    pub(super) fn copy_qos(&self, published: QoS, granted: QoS) -> QoS {
        if self.profile.upgrade_outgoing_qos {
            granted
        } else {
            published.min(granted)
        }
    }

    pub(super) fn copy_for(
        &self,
        p: &Publish,
        granted: QoS,
        subs: &[&Subscription],
        v5: bool,
    ) -> OutMsg {
        // [MQTT-3.8.4-6] 3.1.1 / [MQTT-3.8.4-8] 5.0: min(published QoS, granted QoS);
        // mosquitto's upgrade_outgoing_qos is non-standard.
        let qos = self.copy_qos(p.qos, granted);
        // [MQTT-3.3.1-9] 3.1.1: RETAIN = 0 to established subscriptions. 5.0: Retain As Published
        // ([MQTT-3.3.1-12] 5.0, [MQTT-3.3.1-13] 5.0).
        let retain = v5 && p.retain && subs.iter().any(|s| s.options.retain_as_published);
        OutMsg {
            msg: p.msg,
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            qos,
            retain,
            packet_id: None,
            state: OutState::Queued,
            sent: false,
            received_at: self.now,
            message_expiry: p.message_expiry,
            // [MQTT-3.3.4-3] 5.0, [MQTT-3.3.4-4] 5.0, [MQTT-3.3.4-5] 5.0: the copy carries the
            // matching subscriptions' identifiers.
            subscription_ids: if v5 {
                subs.iter().filter_map(|s| s.subscription_id).collect()
            } else {
                Vec::new()
            },
        }
    }
}
