//! Wills: delayed wills, wills that outlive their session, publishing a will.

use super::*;

/// The moment at which a will's fate is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WillMoment {
    /// The connection closed without a DISCONNECT that discards the will: a lost link, a
    /// keep-alive timeout, a protocol error, or DISCONNECT 0x04 (Disconnect with Will Message).
    Closed,
    /// A 3.1.1 DISCONNECT, or a 5.0 DISCONNECT with Reason Code 0x00 ([MQTT-3.14.4-3]).
    NormalDisconnect,
    /// A 5.0 DISCONNECT with an error Reason Code (0x80 and up): not a normal disconnection,
    /// so the will is not deleted ([MQTT-3.1.2-8] 5.0).
    DisconnectWithError {
        /// The DISCONNECT's Reason Code.
        code: u8,
    },
    /// A new connection with the same client id takes over the connected session.
    TakenOver {
        /// Clean Start / Clean Session of the new connection.
        new_clean_start: bool,
    },
    /// A connection with the same client id arrives while the will waits (its own connection
    /// closed earlier).
    Reconnected {
        /// Clean Start of the new connection.
        clean_start: bool,
    },
    /// The Will Delay Interval has passed.
    DelayPassed,
    /// The session expired while the will waited.
    SessionExpired,
    /// The broker stops while the will waits.
    BrokerStopping,
    /// The broker stops while the will's connection is open.
    ClosedByBrokerStop,
}

/// What is known of the will and its session when its fate is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WillContext {
    /// The connection that set the will speaks MQTT 5.0.
    pub v5: bool,
    /// The session's Session Expiry Interval in seconds (0: it ends with the connection;
    /// [`NEVER_EXPIRE`]: never).
    pub session_expiry: u32,
    /// Clean Start / Clean Session of the connection that set the will.
    pub clean_start: bool,
    /// The Will Delay Interval in seconds (always 0 in 3.1.1).
    pub delay: u32,
    /// The session has already ended and the will waits on its own
    /// ([`WillAfterSessionEnd::AfterDelay`]).
    pub outlived_session: bool,
}

impl WillContext {
    /// A will kept in session `s`.
    pub(super) fn in_session(s: &Session, delay: u32) -> WillContext {
        WillContext {
            v5: s.version.is_v5(),
            session_expiry: s.expiry,
            clean_start: s.clean_start,
            delay,
            outlived_session: false,
        }
    }

    /// A 5.0 will that outlived its session ([`WillAfterSessionEnd::AfterDelay`]): the session
    /// ended with its connection, so what it was no longer matters.
    pub(super) fn outlived(delay: u32) -> WillContext {
        WillContext {
            v5: true,
            session_expiry: 0,
            clean_start: true,
            delay,
            outlived_session: true,
        }
    }
}

/// One will on mosquitto 2.0.11's delayed list ([`DelayedWills::OneListByInterval`]).
pub(super) struct Delayed {
    pub(super) interval: u32,
    /// When it joined the list (the broker's `will_seq` counter).
    pub(super) seq: u64,
    pub(super) due: SimTime,
    pub(super) id: ClientId,
    /// It outlived its session (a lingering will) rather than waiting in one.
    pub(super) lingering: bool,
}

impl Delayed {
    /// The list's order (`will_delay.c`): by Will Delay Interval, the newest first among equal
    /// ones.
    pub(super) fn list_order(a: &Delayed, b: &Delayed) -> std::cmp::Ordering {
        a.interval.cmp(&b.interval).then(b.seq.cmp(&a.seq))
    }
}

/// The fate of a will.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WillFate {
    /// Published now.
    Publish,
    /// Published now, before the taken-over connection is closed, so a subscription of the old
    /// connection still receives it (mosquitto 2.0.11 with Clean Start 0).
    PublishBeforeClose,
    /// Kept in the session and published after `secs` unless the session resumes first.
    Delay {
        /// Seconds to wait: the Will Delay Interval, at most the Session Expiry Interval.
        secs: u32,
    },
    /// Kept after its session ended and published after `secs` unless the client reconnects.
    Linger {
        /// Seconds to wait: the Will Delay Interval.
        secs: u32,
    },
    /// Left as it is: it goes on waiting.
    KeepWaiting,
    /// Thrown away unpublished.
    Discard {
        /// Why, for people.
        why: &'static str,
    },
}

/// A will decision: its fate, the rule that decided it, and where the broker departs from the
/// specification in deciding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WillDecision {
    /// What happens to the will.
    pub fate: WillFate,
    /// The statement, section or broker source that decides.
    pub cite: &'static str,
    /// `(rule, what the specification says, what this broker does)`.
    pub deviation: Option<(&'static str, &'static str, String)>,
}

impl WillDecision {
    fn new(fate: WillFate, cite: &'static str) -> WillDecision {
        WillDecision {
            fate,
            cite,
            deviation: None,
        }
    }

    fn departs(mut self, rule: &'static str, spec: &'static str, broker: String) -> WillDecision {
        self.deviation = Some((rule, spec, broker));
        self
    }
}

/// Decides a will's fate. Pure: the same profile, moment and context always give the same
/// decision; the broker carries it out ([`Broker::carry_out_will`]).
#[must_use]
pub fn decide_will(p: &BrokerProfile, moment: WillMoment, c: WillContext) -> WillDecision {
    use WillFate::*;
    let d = WillDecision::new;
    let mosquitto_takeover = p.takeover_will == TakeoverWill::OnlyIfSessionEnds;
    match moment {
        WillMoment::NormalDisconnect => d(
            Discard {
                why: "normal DISCONNECT",
            },
            "[MQTT-3.14.4-3]",
        ),
        WillMoment::DisconnectWithError { code } => match p.disconnect_will {
            DisconnectWill::OnlyNormalDeletes => decide_will(p, WillMoment::Closed, c),
            DisconnectWill::AllButWithWill => d(
                Discard {
                    why: "the client sent DISCONNECT",
                },
                "mosquitto 2.0.11 handle_disconnect.c",
            )
            .departs(
                "[MQTT-3.1.2-8] 5.0",
                "only a DISCONNECT with Reason Code 0x00 deletes the will, so it is published",
                format!(
                    "{} deletes it for DISCONNECT 0x{code:02X} as for 0x00",
                    p.name
                ),
            ),
        },
        WillMoment::Closed if !c.v5 => d(
            Publish,
            "[MQTT-3.1.2-8] 3.1.1: the connection closed without DISCONNECT",
        ),
        WillMoment::Closed if c.session_expiry == 0 => {
            if c.delay > 0 && p.will_after_session_end == WillAfterSessionEnd::AfterDelay {
                d(
                    Linger { secs: c.delay },
                    "mosquitto 2.0.11 context.c / test 07-will-delay.py",
                )
                .departs(
                    "[MQTT-3.1.2-8] 5.0",
                    "the session ended (Session Expiry 0), so the will is published at once",
                    format!("{} still waits the Will Delay of {} s", p.name, c.delay),
                )
            } else {
                d(
                    Publish,
                    "[MQTT-3.1.2-8] 5.0: the connection closed and the session ended",
                )
            }
        }
        WillMoment::Closed if c.delay == 0 => d(
            Publish,
            "[MQTT-3.1.2-8] 5.0: the connection closed and the Will Delay is 0",
        ),
        // §3.1.3.2.2: delayed until the Will Delay passes or the session ends.
        WillMoment::Closed => d(
            Delay {
                secs: c.delay.min(c.session_expiry),
            },
            "§3.1.3.2.2 Will Delay Interval",
        ),
        WillMoment::TakenOver { new_clean_start } if mosquitto_takeover => {
            let sent = (c.v5 && c.session_expiry == 0)
                || (!c.v5 && c.clean_start)
                || new_clean_start;
            let cite = "mosquitto 2.0.11 handle_connect.c: the old session ends or was clean";
            if sent && c.delay == 0 {
                return d(
                    if new_clean_start {
                        Publish
                    } else {
                        PublishBeforeClose
                    },
                    cite,
                );
            }
            let discard = d(
                Discard {
                    why: if sent {
                        "the delayed will was removed during the takeover"
                    } else {
                        "both connections are persistent, so the will is cleared"
                    },
                },
                "mosquitto 2.0.11 handle_connect.c (test 07-will-takeover.py)",
            );
            let spec = takeover_by_spec(new_clean_start, c);
            if spec.fate == Publish {
                discard.departs(
                    if c.v5 {
                        "[MQTT-3.1.2-8] 5.0, §3.1.4"
                    } else {
                        "[MQTT-3.1.2-8] 3.1.1"
                    },
                    "the existing connection's will is published on takeover",
                    format!("{} does not publish it", p.name),
                )
            } else {
                discard
            }
        }
        WillMoment::TakenOver { new_clean_start } => takeover_by_spec(new_clean_start, c),
        WillMoment::Reconnected { .. } if c.outlived_session => d(
            Discard {
                why: "the client reconnected before the will's delay passed",
            },
            "mosquitto 2.0.11 (test 07-will-delay-reconnect.py)",
        ),
        WillMoment::Reconnected { clean_start: false } => d(
            Discard {
                why: "the client reconnected before the Will Delay passed",
            },
            "[MQTT-3.1.3-9] 5.0",
        ),
        WillMoment::Reconnected { clean_start: true } if mosquitto_takeover => d(
            Discard {
                why: "a Clean Start connection discarded the session while the will waited",
            },
            "mosquitto 2.0.11 (handle_connect.c will_delay__remove)",
        )
        .departs(
            "[MQTT-3.1.2-8] 5.0",
            "the session ends, so the delayed will is published at once",
            format!("{} discards the delayed will", p.name),
        ),
        WillMoment::Reconnected { clean_start: true } => d(
            Publish,
            "[MQTT-3.1.2-8] 5.0: the session ended (Clean Start = 1) before the Will Delay passed",
        ),
        WillMoment::DelayPassed if c.outlived_session => d(
            Publish,
            "mosquitto 2.0.11: the will waited its Will Delay although the session had ended",
        ),
        WillMoment::DelayPassed => d(Publish, "[MQTT-3.1.2-8] the Will Delay Interval has passed"),
        WillMoment::SessionExpired => d(
            Publish,
            "[MQTT-3.1.2-8] the session ended before the Will Delay passed",
        ),
        WillMoment::BrokerStopping => match p.wills_at_shutdown {
            WillsAtShutdown::AllPublished => d(
                Publish,
                "mosquitto: delayed wills are sent when the broker shuts down",
            ),
            WillsAtShutdown::KeepWaiting => d(KeepWaiting, "§3.1.3.2.2 Will Delay Interval"),
        },
        WillMoment::ClosedByBrokerStop => match p.wills_at_shutdown {
            WillsAtShutdown::AllPublished => d(
                Publish,
                "mosquitto 2.0.11 mosquitto.c: every connected client's will is sent as the broker stops",
            ),
            // The broker closes the connection without a DISCONNECT: the same rule as any
            // such close ([MQTT-3.1.2-8]).
            WillsAtShutdown::KeepWaiting => decide_will(p, WillMoment::Closed, c),
        },
    }
}

/// The specification's will on takeover ([`TakeoverWill::AsClose`]).
fn takeover_by_spec(new_clean_start: bool, c: WillContext) -> WillDecision {
    use WillFate::*;
    let d = WillDecision::new;
    if !c.v5 {
        d(
            Publish,
            "[MQTT-3.1.2-8] 3.1.1: the connection was closed without DISCONNECT",
        )
    } else if c.session_expiry == 0 || new_clean_start {
        d(
            Publish,
            "§3.1.4 / [MQTT-3.1.2-8] 5.0: the takeover ended the old session",
        )
    } else if c.delay == 0 {
        d(
            Publish,
            "[MQTT-3.1.2-8] 5.0: the old connection closed and the Will Delay is 0",
        )
    } else {
        d(
            Discard {
                why: "a new connection resumed the session before the Will Delay passed",
            },
            "[MQTT-3.1.3-9] 5.0",
        )
    }
}

impl Broker {
    /// mosquitto 2.0.11's delayed wills (`will_delay.c`, [`DelayedWills::OneListByInterval`]):
    /// one list ordered by Will Delay Interval, the newest first among equal intervals, walked
    /// from the head; every will that is due goes out until the first one that is not. Called
    /// when `trigger`'s will comes due.
    pub(super) fn walk_delayed_wills(&mut self, trigger: &ClientId) {
        let mut blocking: Option<(ClientId, u32, SimTime)> = None;
        for Delayed {
            interval,
            due,
            id,
            lingering,
            ..
        } in self.delayed_list()
        {
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

    /// Carries out a will decision for `client_id`'s will `w`, decided at `self.now`. A
    /// deviation is reported before the will is scheduled, after it is discarded.
    pub(super) fn carry_out_will(&mut self, client_id: &ClientId, w: Will, d: WillDecision) {
        let deviation = d
            .deviation
            .map(|(rule, spec, broker)| BrokerEvent::Deviation {
                rule,
                spec: spec.into(),
                broker,
            });
        if let WillFate::Discard { why } = d.fate {
            self.event(BrokerEvent::WillDiscarded {
                client_id: client_id.clone(),
                why: why.into(),
                cite: d.cite,
            });
            if let Some(e) = deviation {
                self.event(e);
            }
            return;
        }
        if let Some(e) = deviation {
            self.event(e);
        }
        match d.fate {
            WillFate::Publish | WillFate::PublishBeforeClose => {
                self.publish_will(client_id.clone(), w, d.cite)
            }
            WillFate::Delay { secs } => {
                let due = self.deadline(self.now, secs);
                self.will_seq += 1;
                let seq = self.will_seq;
                let s = self.sessions.get_mut(client_id).expect("session");
                s.will = Some(w);
                s.will_due = Some(due);
                s.will_seq = seq;
                self.arm(due, Timer::Will(client_id.clone()));
                self.event(BrokerEvent::WillScheduled {
                    client_id: client_id.clone(),
                    due,
                    cite: d.cite,
                });
            }
            WillFate::Linger { secs } => {
                let due = self.deadline(self.now, secs);
                self.event(BrokerEvent::WillScheduled {
                    client_id: client_id.clone(),
                    due,
                    cite: d.cite,
                });
                self.take_lingering(client_id);
                self.will_seq += 1;
                let seq = self.will_seq;
                self.lingering_wills
                    .push((client_id.clone(), LingeringWill { will: w, due, seq }));
                self.arm(due, Timer::Lingering(client_id.clone()));
            }
            WillFate::KeepWaiting | WillFate::Discard { .. } => {}
        }
    }

    /// Every delayed will, waiting in a session or outliving one, in the list order of
    /// [`DelayedWills::OneListByInterval`].
    pub(super) fn delayed_list(&self) -> Vec<Delayed> {
        let mut list: Vec<Delayed> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                let (w, due) = (s.will.as_ref()?, s.will_due?);
                Some(Delayed {
                    interval: w.delay,
                    seq: s.will_seq,
                    due,
                    id: id.clone(),
                    lingering: false,
                })
            })
            .chain(self.lingering_wills.iter().map(|(id, l)| Delayed {
                interval: l.will.delay,
                seq: l.seq,
                due: l.due,
                id: id.clone(),
                lingering: true,
            }))
            .collect();
        list.sort_by(Delayed::list_order);
        list
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
            // Will Retain decides RETAIN ([MQTT-3.1.2-16] 3.1.1, [MQTT-3.1.2-17] 3.1.1 /
            // [MQTT-3.1.2-14] 5.0, [MQTT-3.1.2-15] 5.0).
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
