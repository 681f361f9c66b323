//! Wills: delayed wills, wills that outlive their session, publishing a will.

use super::*;

/// Will handling decided at a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WillOnClose {
    /// Close without a valid DISCONNECT 0x00: the will goes out ([MQTT-3.1.2-8]).
    Publish,
    /// Normal DISCONNECT: discard the will ([MQTT-3.14.4-3]).
    Discard,
}

impl Broker {
    /// mosquitto 2.0.11's delayed wills (`will_delay.c`, [`DelayedWills::OneListByInterval`]):
    /// one list ordered by Will Delay Interval, the newest first among equal intervals, walked
    /// from the head; every will that is due goes out until the first one that is not. Called
    /// when `trigger`'s will comes due.
    pub(super) fn walk_delayed_wills(&mut self, trigger: &ClientId) {
        // (interval, order added, due, client id, outlived its session)
        let mut list: Vec<(u32, u64, SimTime, ClientId, bool)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                let (w, due) = (s.will.as_ref()?, s.will_due?);
                Some((w.delay, s.will_seq, due, id.clone(), false))
            })
            .chain(
                self.lingering_wills
                    .iter()
                    .map(|(id, l)| (l.will.delay, l.seq, l.due, id.clone(), true)),
            )
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut blocking: Option<(ClientId, u32, SimTime)> = None;
        for (interval, _, due, id, lingering) in list {
            if let Some((head, head_interval, head_due)) = &blocking {
                if &id == trigger && due <= self.now {
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-8] 5.0",
                        spec: format!(
                            "{id}'s will is published now: its Will Delay Interval of {interval} s has passed"
                        ),
                        broker: format!(
                            "{} keeps delayed wills in one list ordered by their delay and stops at the first not yet due: {id}'s will waits behind {head}'s ({head_interval} s, due at {})",
                            self.profile.name,
                            crate::types::format_duration_ms(head_due.0)
                        ),
                    });
                    // Looked at again when the head comes due (or leaves the list earlier: then
                    // at the head's due time, where mosquitto would look within a second).
                    let again = *head_due;
                    self.arm(
                        again,
                        if lingering {
                            Timer::Lingering(id)
                        } else {
                            Timer::Will(id)
                        },
                    );
                }
                continue;
            }
            if due > self.now {
                blocking = Some((id, interval, due));
                continue;
            }
            let cite = if due < self.now {
                "mosquitto 2.0.11 will_delay.c: due earlier, held back behind a will with a shorter Will Delay"
            } else if lingering {
                "mosquitto 2.0.11: the will waited its Will Delay although the session had ended"
            } else {
                "[MQTT-3.1.2-8] the Will Delay Interval has passed"
            };
            let will = if lingering {
                self.take_lingering(&id).map(|l| l.will)
            } else {
                self.sessions.get_mut(&id).and_then(|s| {
                    s.will_due = None;
                    s.will.take()
                })
            };
            if let Some(w) = will {
                self.publish_will(id, w, cite);
            }
        }
    }

    pub(super) fn take_lingering(&mut self, id: &ClientId) -> Option<LingeringWill> {
        let pos = self.lingering_wills.iter().position(|(c, _)| c == id)?;
        Some(self.lingering_wills.swap_remove(pos).1)
    }

    pub(super) fn publish_will(&mut self, client_id: ClientId, w: Will, cite: &'static str) {
        let msg = self.alloc_msg_id();
        self.event(BrokerEvent::WillPublished {
            client_id: client_id.clone(),
            topic: w.topic.clone(),
            msg,
            cite,
        });
        // §3.1.3.2.4: the will's Message Expiry Interval is the Publication Expiry Interval.
        let p = Publish {
            dup: false,
            qos: w.qos,
            // [MQTT-3.1.2-16,17] 3.1.1: Will Retain decides RETAIN.
            retain: w.retain,
            topic: w.topic,
            packet_id: None,
            payload: w.payload,
            message_expiry: w.message_expiry,
            subscription_ids: Vec::new(),
            msg,
        };
        self.route(&client_id, p);
    }
}
