//! Timers and expiry: keep alive, session expiry, message expiry, the timer index.

use super::*;

/// A timer in the broker's index. The variant order is the order of firing at one instant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    KeepAlive(ConnId),
    Retained(Text),
    Queue(ClientId),
    Session(ClientId),
    Will(ClientId),
    Lingering(ClientId),
}

impl Broker {
    /// The instant of the first time a timer counts `secs` after `start`, under this broker's
    /// timer granularity.
    pub(super) fn deadline(&self, start: SimTime, secs: u32) -> SimTime {
        match self.profile.timers {
            TimerGranularity::Exact => start.plus_secs(u64::from(secs)),
            // mosquitto: expiry_time = now_s + N; fires when expiry_time < now_s.
            TimerGranularity::WholeSecondsStrict => {
                SimTime::from_secs(start.whole_secs() + u64::from(secs) + 1)
            }
        }
    }

    pub(super) fn message_deadline(
        &self,
        received_at: SimTime,
        mei: Option<u32>,
    ) -> Option<SimTime> {
        mei.map(|m| self.deadline(received_at, m))
    }

    /// The Message Expiry Interval to forward: the received value minus the time waited
    /// ([MQTT-3.3.2-6]). Under a second left: 1 s, or no property at all where the profile
    /// says so ([`ExpiryRemainder`]).
    pub(super) fn remaining_expiry(&self, received_at: SimTime, mei: Option<u32>) -> Option<u32> {
        let mei = mei?;
        let left = match self.profile.timers {
            TimerGranularity::Exact => {
                let end = received_at.plus_secs(u64::from(mei));
                end.since(self.now).div_ceil(1000) as u32
            }
            TimerGranularity::WholeSecondsStrict => {
                let end = received_at.whole_secs() + u64::from(mei);
                end.saturating_sub(self.now.whole_secs()) as u32
            }
        };
        match (left, self.profile.expiry_remainder) {
            (0, ExpiryRemainder::OmitProperty) => None,
            (left, _) => Some(left.max(1)),
        }
    }

    pub(super) fn is_expired(&self, received_at: SimTime, mei: Option<u32>) -> bool {
        self.message_deadline(received_at, mei)
            .is_some_and(|d| d <= self.now)
    }

    /// The next instant at which [`Broker::handle_timeout`] may have work to do.
    ///
    /// Timers live in an ordered index; an entry can be stale (the connection closed, the client
    /// came back), in which case `handle_timeout` drops it, so a waiting world never spins.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<SimTime> {
        if !self.running {
            return None;
        }
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Whether anything the broker will do depends on how much time passes, keep-alive of
    /// connections aside: a session, will or retained-message timer, or a message with a Message
    /// Expiry in a session (whose remaining interval, and whether it is still sent, depend on
    /// time even where no timer is armed for it).
    pub fn has_timers_besides_keep_alive(&self) -> bool {
        let timer = self.timers.iter().any(|Reverse((_, t))| {
            !matches!(t, Timer::KeepAlive(_)) && self.true_deadline(t).is_some()
        });
        let expiring = self.sessions.values().any(|s| {
            s.queue
                .iter()
                .chain(s.inflight.iter())
                .any(|m| m.message_expiry.is_some())
        });
        let retained = self.retained.values().any(|r| r.message_expiry.is_some());
        timer || expiring || retained || !self.lingering_wills.is_empty()
    }

    pub(super) fn arm(&mut self, at: SimTime, t: Timer) {
        self.timers.push(Reverse((at, t)));
    }

    pub(super) fn keep_alive_deadline(&self, c: &Connection) -> Option<SimTime> {
        // [MQTT-3.1.2-24] (3.1.1) / [MQTT-3.1.2-22] (5.0): close after 1.5 x Keep Alive of silence.
        if c.client_id.is_none() || c.keep_alive == 0 {
            return None;
        }
        let ka = u64::from(c.keep_alive);
        match u64::from(self.profile.keep_alive_check_secs) {
            0 => Some(c.last_rx.plus_millis(ka * 1500)),
            period => {
                // mosquitto keepalive.c: a check every `period` s from the start closes the
                // connection once `now_s - last_msg_in > keepalive * 3 / 2` (whole seconds).
                let due = c.last_rx.whole_secs() + ka * 3 / 2 + 1;
                let start = self.started_at.whole_secs();
                let k = due.saturating_sub(start).div_ceil(period);
                Some(SimTime::from_secs(start + k * period))
            }
        }
    }

    /// When a timer is really due now, from the current state (None: nothing to do any more).
    pub(super) fn true_deadline(&self, t: &Timer) -> Option<SimTime> {
        match t {
            Timer::KeepAlive(id) => self.conns.get(id).and_then(|c| self.keep_alive_deadline(c)),
            Timer::Retained(topic) => self
                .retained
                .get(topic)
                .and_then(|r| self.message_deadline(r.received_at, r.message_expiry)),
            Timer::Queue(_) if self.profile.expired_queued == ExpiredQueued::KeptUntilSend => None,
            Timer::Queue(id) => self.sessions.get(id).and_then(|s| {
                s.queue
                    .iter()
                    .filter_map(|m| self.message_deadline(m.received_at, m.message_expiry))
                    .min()
            }),
            Timer::Session(id) => self
                .sessions
                .get(id)
                .filter(|s| s.conn.is_none())
                .and_then(|s| s.expires_at),
            Timer::Will(id) => self.sessions.get(id).and_then(|s| s.will_due),
            Timer::Lingering(id) => self
                .lingering_wills
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, w)| w.due),
        }
    }

    /// Runs every timer due at or before `now`, in time order. At one instant: keep alive,
    /// retained expiry, queued message expiry, session expiry, then wills (so a will due when its
    /// session ends goes out because the session ends).
    pub fn handle_timeout(&mut self, now: SimTime) {
        self.now = self.now.max(now);
        if !self.running {
            return;
        }
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > self.now {
                break;
            }
            let Some(Reverse((_, t))) = self.timers.pop() else {
                break;
            };
            match self.true_deadline(&t) {
                None => {}
                Some(d) if d > self.now => self.arm(d, t),
                Some(_) => self.fire(t),
            }
        }
    }

    pub(super) fn fire(&mut self, t: Timer) {
        match t {
            Timer::KeepAlive(id) => {
                let client_id = self.conns[&id].client_id.clone();
                let ka = self.conns[&id].keep_alive;
                let silent_ms = self.now.0.saturating_sub(self.conns[&id].last_rx.0);
                if silent_ms > u64::from(ka) * 1500 + 999 {
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0",
                        spec: format!("close the connection once {} s (1.5 x Keep Alive) pass without a packet", u64::from(ka) * 3 / 2),
                        broker: format!(
                            "{} looks for keep-alive timeouts only every {} s, so it closes {} s after the last packet",
                            self.profile.name,
                            self.profile.keep_alive_check_secs,
                            silent_ms / 1000
                        ),
                    });
                }
                self.event(BrokerEvent::KeepAliveTimeout {
                    client_id: client_id.unwrap_or_default(),
                    conn: id,
                    keep_alive: ka,
                    cite: "[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0",
                });
                self.out.close(id, CloseCause::KeepAliveTimeout);
                self.end_connection(id, CloseCause::KeepAliveTimeout, WillMoment::Closed);
            }
            Timer::Retained(topic) => {
                // §3.3.2.3.3: an expired retained message is discarded.
                self.retained.remove(&topic);
                self.event(BrokerEvent::RetainedExpired { topic });
            }
            Timer::Queue(id) => {
                // [MQTT-3.3.2-5].
                self.expire_queued(&id);
                if let Some(d) = self.true_deadline(&Timer::Queue(id.clone())) {
                    self.arm(d, Timer::Queue(id));
                }
            }
            // [MQTT-4.1.0-2] 5.0.
            Timer::Session(id) => self.expire_session(&id),
            Timer::Will(id) | Timer::Lingering(id)
                if self.profile.delayed_wills == DelayedWills::OneListByInterval =>
            {
                self.walk_delayed_wills(&id);
            }
            Timer::Will(id) => {
                // [MQTT-3.1.2-8] 5.0.
                let Some(s) = self.sessions.get_mut(&id) else {
                    return;
                };
                s.will_due = None;
                if let Some(w) = s.will.take() {
                    let ctx = WillContext::in_session(s, w.delay);
                    let d = decide_will(&self.profile, WillMoment::DelayPassed, ctx);
                    self.carry_out_will(&id, w, d);
                }
            }
            Timer::Lingering(id) => {
                let Some(l) = self.take_lingering(&id) else {
                    return;
                };
                let ctx = WillContext::outlived(l.will.delay);
                let d = decide_will(&self.profile, WillMoment::DelayPassed, ctx);
                self.carry_out_will(&id, l.will, d);
            }
        }
    }

    pub(super) fn expire_queued(&mut self, id: &ClientId) {
        let now = self.now;
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let dead: Vec<MsgId> = s
            .queue
            .iter()
            .filter(|m| {
                self.message_deadline(m.received_at, m.message_expiry)
                    .is_some_and(|d| d <= now)
            })
            .map(|m| m.msg)
            .collect();
        if dead.is_empty() {
            return;
        }
        let s = self.sessions.get_mut(id).expect("session exists");
        let mut dropped = Vec::new();
        s.queue.retain(|m| {
            if dead.contains(&m.msg) {
                dropped.push(m.clone());
                false
            } else {
                true
            }
        });
        for m in &dropped {
            s.release_packet_id(m.packet_id);
        }
        let late = self.profile.expired_queued == ExpiredQueued::KeptUntilSend;
        if late {
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.2-5]",
                spec: "a queued copy is deleted when its Message Expiry passes".into(),
                broker: format!(
                    "{} kept the expired copies queued (counting against the queue limit) until it tried to send them now",
                    self.profile.name
                ),
            });
        }
        for m in dropped {
            self.event(BrokerEvent::MessageDropped {
                client_id: id.clone(),
                msg: m.msg,
                topic: m.topic,
                qos: m.qos,
                reason: DropReason::MessageExpired,
                cite: if late {
                    "mosquitto 2.0.11 db__message_write_inflight_out_single"
                } else {
                    "[MQTT-3.3.2-5]"
                },
            });
        }
    }

    pub(super) fn expire_session(&mut self, id: &ClientId) {
        let Some(mut s) = self.sessions.swap_remove(id) else {
            return;
        };
        // The will goes out when the session ends if its delay has not yet passed
        // ([MQTT-3.1.2-8] 5.0: "the Will Delay Interval has elapsed or the Session ends").
        if s.will_due.take().is_some() {
            if let Some(w) = s.will.take() {
                let ctx = WillContext::in_session(&s, w.delay);
                let d = decide_will(&self.profile, WillMoment::SessionExpired, ctx);
                self.carry_out_will(id, w, d);
            }
        }
        let cite = if s.version.is_v5() {
            "[MQTT-4.1.0-2] 5.0"
        } else {
            "3.1.1 §4.1: the server discarded the session administratively"
        };
        self.event(BrokerEvent::SessionExpired {
            client_id: id.clone(),
            expiry: s.expiry,
            cite,
        });
        self.drop_session_messages(&s, DropReason::SessionEnded, cite);
    }

    /// Drops every copy session `s` held, which ended by the rule `cite` (the citation of the
    /// session-level event just emitted: the copies go because the session goes).
    pub(super) fn drop_session_messages(
        &mut self,
        s: &Session,
        reason: DropReason,
        cite: &'static str,
    ) {
        for m in s.inflight.iter().chain(s.queue.iter()) {
            self.event(BrokerEvent::MessageDropped {
                client_id: s.client_id.clone(),
                msg: m.msg,
                topic: m.topic.clone(),
                qos: m.qos,
                reason,
                cite,
            });
        }
    }
}
