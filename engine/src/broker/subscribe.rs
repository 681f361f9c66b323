//! SUBSCRIBE and UNSUBSCRIBE, with retained messages sent on subscribe.

use super::*;

impl Broker {
    pub(super) fn handle_subscribe(
        &mut self,
        id: ConnId,
        cid: &ClientId,
        sub: crate::packet::Subscribe,
    ) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let mut codes = Vec::new();
        let mut retained_to_send = Vec::new();
        for (filter, opts) in &sub.filters {
            let parsed = match topic::parse_filter(filter, v5) {
                Ok(p) => p,
                Err(_) => {
                    codes.push(if v5 {
                        reason::TOPIC_FILTER_INVALID
                    } else {
                        0x80
                    });
                    continue;
                }
            };
            let granted =
                QoS::from_u8(opts.qos.as_u8().min(self.profile.max_qos)).unwrap_or(QoS::AtMostOnce);
            codes.push(granted.as_u8());
            let s = self.sessions.get_mut(cid).expect("connected session");
            let existed = s.subscriptions.contains_key(filter);
            let share = parsed.share.map(str::to_string);
            let inner = parsed.filter.to_string();
            // [MQTT-3.8.4-3]: an identical filter replaces the existing subscription.
            let mut options = *opts;
            let mut kept_flags = false;
            if let (Some(old), true) = (
                s.subscriptions.get(filter),
                self.profile.resubscribe == Resubscribe::KeepsFlags && share.is_none(),
            ) {
                kept_flags = (old.options.no_local, old.options.retain_as_published)
                    != (opts.no_local, opts.retain_as_published);
                options.no_local = old.options.no_local;
                options.retain_as_published = old.options.retain_as_published;
            }
            s.subscriptions.insert(
                filter.clone(),
                Subscription {
                    filter: filter.clone(),
                    share: share.clone(),
                    topic_filter: inner.clone(),
                    options,
                    granted,
                    subscription_id: sub.subscription_id,
                },
            );
            if kept_flags {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-3.8.4-3]",
                    spec: "a SUBSCRIBE with an identical filter replaces the subscription, options included".into(),
                    broker: format!(
                        "{} updates only the QoS and Subscription Identifier of {filter}; No Local and Retain As Published stay as first subscribed",
                        self.profile.name
                    ),
                });
            }
            self.event(BrokerEvent::Subscribed {
                client_id: cid.clone(),
                filter: filter.clone(),
                granted,
                replaced: existed,
            });
            // Retained messages: 3.1.1 on every new or identical subscription ([MQTT-3.3.1-6] 3.1.1,
            // [MQTT-3.8.4-3] 3.1.1); 5.0 by Retain Handling ([MQTT-3.3.1-9] 5.0, [MQTT-3.3.1-10]
            // 5.0, [MQTT-3.3.1-11] 5.0); never for shared subscriptions (5.0 §4.8.2).
            let send_retained = share.is_none()
                && (!v5 || opts.retain_handling == 0 || (opts.retain_handling == 1 && !existed));
            if send_retained {
                for r in self.retained.values() {
                    if topic::matches(&inner, &r.topic)
                        && !self.is_expired(r.received_at, r.message_expiry)
                    {
                        retained_to_send.push((r.clone(), granted, sub.subscription_id));
                    }
                }
            }
        }
        self.send(
            id,
            Packet::Suback {
                packet_id: sub.packet_id,
                codes,
            },
        );
        for (r, granted, sid) in retained_to_send {
            let m = OutMsg {
                msg: r.msg,
                topic: r.topic.clone(),
                payload: r.payload.clone(),
                qos: r.qos.min(granted),
                // [MQTT-3.3.1-8] 3.1.1 / §3.3.1.3 5.0: RETAIN = 1 for messages sent because of a
                // new subscription.
                retain: true,
                packet_id: None,
                state: OutState::Queued,
                sent: false,
                received_at: r.received_at,
                message_expiry: r.message_expiry,
                subscription_ids: sid.into_iter().collect(),
            };
            if let Some(idx) = self.sessions.get_index_of(cid) {
                self.note_downgrade(idx, &m, r.qos);
            }
            self.deliver(cid, m);
        }
    }

    pub(super) fn handle_unsubscribe(
        &mut self,
        id: ConnId,
        cid: &ClientId,
        pid: PacketId,
        filters: Vec<String>,
    ) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let mut codes = Vec::new();
        for f in filters {
            let s = self.sessions.get_mut(cid).expect("connected session");
            let existed = s.subscriptions.remove(&f).is_some();
            codes.push(if existed {
                0
            } else {
                reason::NO_SUBSCRIPTION_EXISTED
            });
            self.event(BrokerEvent::Unsubscribed {
                client_id: cid.clone(),
                filter: f,
                existed,
            });
        }
        // 3.1.1 UNSUBACK has no payload.
        self.send(
            id,
            Packet::Unsuback {
                packet_id: pid,
                codes: if v5 { codes } else { Vec::new() },
            },
        );
    }
}
