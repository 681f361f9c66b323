//! The catalogue of behaviours: for every behaviour a [`BrokerProfile`] fixes, where each of its
//! variants stands against the specification, the rules concerned and the source that shows
//! the broker doing it. The page's broker overview, `mqtt-lab profiles` and
//! `docs/DIVERGENCES.md` list a profile's departures from it before anything runs; every
//! [`BrokerEvent::Deviation`](crate::BrokerEvent::Deviation) the engine emits names one of the
//! rules of a departure of the profile being played (checked by `engine/tests/departures.rs`).

use crate::profile::*;
use serde::Serialize;

/// How a variant stands against the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It does what a statement of the specification says a server must not, or leaves out
    /// what it must do.
    Departs,
    /// The specification allows it or says nothing, and the broker chooses its own way.
    Choice,
}

/// What one variant of a behaviour means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// How this variant stands against the specification.
    pub standing: Standing,
    /// The statements or sections concerned, spelled as the engine's events spell them.
    pub rules: &'static [&'static str],
    /// What the specification says (or that it says nothing).
    pub spec: &'static str,
    /// What a broker with this variant does.
    pub broker: &'static str,
    /// Where that is known from: the broker's source, documentation or the recordings behind
    /// `docs/CONFORMANCE.md`.
    pub source: &'static str,
}

/// A behaviour with named variants, one of them the specification's.
pub trait Behaviour: Copy + PartialEq + std::fmt::Debug + Serialize + 'static {
    /// Every variant.
    const ALL: &'static [Self];
    /// The variant of the specification's own profile ([`BrokerProfile::spec`]).
    const SPEC: Self;
    /// What this variant means; `None` for [`Behaviour::SPEC`].
    fn entry(self) -> Option<Entry>;
    /// The variant's name in Rust (`OnlyIfSessionEnds`).
    fn name(self) -> &'static str;
}

/// One way a profile differs from the specification's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Departure {
    /// The profile field.
    pub field: &'static str,
    /// Its value, as a scenario file or profile JSON spells it.
    pub value: String,
    /// The variant's meaning: its standing, rules, what the specification says and what the broker
    /// does.
    #[serde(flatten)]
    pub entry: Entry,
}

const fn departs(
    rules: &'static [&'static str],
    spec: &'static str,
    broker: &'static str,
    source: &'static str,
) -> Option<Entry> {
    Some(Entry {
        standing: Standing::Departs,
        rules,
        spec,
        broker,
        source,
    })
}

const fn choice(
    rules: &'static [&'static str],
    spec: &'static str,
    broker: &'static str,
    source: &'static str,
) -> Option<Entry> {
    Some(Entry {
        standing: Standing::Choice,
        rules,
        spec,
        broker,
        source,
    })
}

macro_rules! behaviour {
    ($t:ident, spec = $spec:ident, [$($v:ident),+], |$x:ident| $body:expr) => {
        impl Behaviour for $t {
            const ALL: &'static [Self] = &[$($t::$v),+];
            const SPEC: Self = $t::$spec;
            fn entry(self) -> Option<Entry> {
                let $x = self;
                $body
            }
            fn name(self) -> &'static str {
                // Every variant is in ALL: this match stops compiling when one is added.
                match self {
                    $($t::$v => stringify!($v)),+
                }
            }
        }
    };
}

behaviour!(
    Overflow,
    spec = DropNewest,
    [DropNewest, DropOldest],
    |v| match v {
        Overflow::DropNewest => None,
        Overflow::DropOldest => choice(
            &[],
            "leaves a full queue to the server (administrative discard, 3.1.1 §4.1 / 5.0 §4.1.1)",
            "drops the oldest queued message to make room for the newest",
            "EMQX emqx_mqueue.erl; TBMQ thingsboard-mqtt-broker.yml",
        ),
    }
);

behaviour!(
    Overlap,
    spec = OneCopyMaxQos,
    [OneCopyMaxQos, CopyPerSubscription, OneCopyFirstMatched],
    |v| {
        match v {
        Overlap::OneCopyMaxQos => None,
        Overlap::CopyPerSubscription => choice(
            &["[MQTT-3.3.5-1] 3.1.1 / [MQTT-3.3.4-2] 5.0"],
            "one copy at the highest QoS of the matching subscriptions, or one copy per subscription",
            "sends one copy per matching subscription",
            "mosquitto 2.0.11 subs.c; conformance recordings",
        ),
        Overlap::OneCopyFirstMatched => departs(
            &["[MQTT-3.3.5-1] 3.1.1", "[MQTT-3.3.4-2] 5.0"],
            "one copy at the highest QoS of the matching subscriptions",
            "sends one copy at the QoS of the subscription its topic tree meets first",
            "mosquitto 2.0.11 subs.c sub__search; conformance 31-32",
        ),
    }
    }
);

behaviour!(
    Qos2Forward,
    spec = AtPubrel,
    [AtPubrel, AtPublish],
    |v| match v {
        Qos2Forward::AtPubrel => None,
        Qos2Forward::AtPublish => choice(
            &["3.1.1 §4.3.3 Figure 4.3"],
            "either method: pass an inbound QoS 2 message on at PUBREL, or at PUBLISH",
            "passes an inbound QoS 2 message on when its PUBLISH arrives",
            "EMQX, as the emqx profile models it",
        ),
    }
);

behaviour!(
    ReceiveMaxExceeded,
    spec = Disconnect93,
    [Disconnect93, Pubrec97],
    |v| match v {
        ReceiveMaxExceeded::Disconnect93 => None,
        ReceiveMaxExceeded::Pubrec97 => departs(
            &["5.0 §3.3.4"],
            "a client that exceeds the server's Receive Maximum gets DISCONNECT 0x93",
            "answers PUBREC 0x97 (Quota exceeded) and keeps the connection",
            "mosquitto 2.0.11 handle_publish.c; conformance recordings",
        ),
    }
);

behaviour!(
    Persistence,
    spec = AllSessions,
    [AllSessions, CleanStartZeroOnly, None],
    |v| match v {
        Persistence::AllSessions => None,
        Persistence::CleanStartZeroOnly => choice(
            &[],
            "says nothing of restarts; a session that has not ended is still owed to its client",
            "saves only sessions whose last CONNECT had Clean Start = 0",
            "mosquitto persist_write.c",
        ),
        Persistence::None => choice(
            &[],
            "says nothing of restarts; a session that has not ended is still owed to its client",
            "keeps sessions and retained messages only in memory: a restart loses them",
            "mosquitto default persistence false; EMQX emqx_mqueue.erl",
        ),
    }
);

behaviour!(
    TimerGranularity,
    spec = Exact,
    [Exact, WholeSecondsStrict],
    |v| {
        match v {
        TimerGranularity::Exact => None,
        TimerGranularity::WholeSecondsStrict => choice(
            &[],
            "counts Session Expiry and Will Delay in seconds, without saying how finely a server measures them",
            "counts whole seconds: a timer of N s fires between N and N+1 s after it starts",
            "mosquitto session_expiry.c, will_delay.c",
        ),
    }
    }
);

behaviour!(
    ExpiryRemainder,
    spec = RoundUp,
    [RoundUp, OmitProperty],
    |v| {
        match v {
        ExpiryRemainder::RoundUp => None,
        ExpiryRemainder::OmitProperty => departs(
            &["[MQTT-3.3.2-6]"],
            "a forwarded copy carries the Message Expiry Interval less the time it waited",
            "counts whole seconds and sends a copy with 0 s left without the property, so it never expires at the receiver",
            "mosquitto 2.0.11 db__message_write_inflight_out_single, send__real_publish; conformance 49",
        ),
    }
    }
);

behaviour!(
    DelayedWills,
    spec = AtDueTime,
    [AtDueTime, OneListByInterval],
    |v| {
        match v {
        DelayedWills::AtDueTime => None,
        DelayedWills::OneListByInterval => departs(
            &["[MQTT-3.1.2-8] 5.0"],
            "each delayed will is published when its own Will Delay Interval has passed",
            "keeps delayed wills in one list ordered by their delay and stops at the first not yet due, so a will can wait behind one added later with a shorter delay",
            "mosquitto 2.0.11 will_delay.c; conformance 47",
        ),
    }
    }
);

behaviour!(SuppressedCopyIds, spec = None, [None, TakeOne], |v| {
    match v {
    SuppressedCopyIds::None => None,
    SuppressedCopyIds::TakeOne => choice(
        &[],
        "says nothing of packet identifiers for copies never sent",
        "gives a 3.1.1 copy suppressed by an overlapping subscription a packet identifier, so the next one skips",
        "mosquitto 2.0.11 subs.c subs__send; conformance 48",
    ),
}
});

behaviour!(
    TakeoverWill,
    spec = AsClose,
    [AsClose, OnlyIfSessionEnds],
    |v| {
        match v {
        TakeoverWill::AsClose => None,
        TakeoverWill::OnlyIfSessionEnds => departs(
            &[
                "[MQTT-3.1.2-8] 3.1.1",
                "[MQTT-3.1.2-8] 5.0, §3.1.4",
                "[MQTT-3.1.2-8] 5.0",
            ],
            "a taken-over connection's will is published (a delayed one when the session ends), and a session a Clean Start connection discards publishes its delayed will",
            "publishes a taken-over connection's will only if the old session ends, was clean, or the new connection starts clean, and never a delayed one; a Clean Start connection to a stored session discards its delayed will",
            "mosquitto 2.0.11 handle_connect.c, will_delay__remove; test 07-will-takeover.py",
        ),
    }
    }
);

behaviour!(
    WillAfterSessionEnd,
    spec = AtOnce,
    [AtOnce, AfterDelay],
    |v| {
        match v {
        WillAfterSessionEnd::AtOnce => None,
        WillAfterSessionEnd::AfterDelay => departs(
            &["[MQTT-3.1.2-8] 5.0"],
            "a will whose session ends with its connection (Session Expiry 0) is published at once, Will Delay or not",
            "waits the whole Will Delay after the session has ended; a reconnect removes the will",
            "mosquitto 2.0.11 context.c; tests 07-will-delay.py, 07-will-delay-reconnect.py",
        ),
    }
    }
);

behaviour!(
    WillsAtShutdown,
    spec = KeepWaiting,
    [KeepWaiting, AllPublished],
    |v| {
        match v {
        WillsAtShutdown::KeepWaiting => None,
        WillsAtShutdown::AllPublished => choice(
            &["5.0 §3.1.2.5"],
            "a server that stops may defer the wills of the connections it closes until it restarts",
            "publishes every connected client's will as it stops, delayed or not, and then every delayed will, before it closes any connection",
            "mosquitto 2.0.11 mosquitto.c (context__send_will, will_delay__send_all); conformance 51",
        ),
    }
    }
);

behaviour!(
    TakeoverNotice,
    spec = Disconnect0x8E,
    [Disconnect0x8E, CloseOnly],
    |v| match v {
        TakeoverNotice::Disconnect0x8E => None,
        TakeoverNotice::CloseOnly => departs(
            &["[MQTT-3.1.4-3] 5.0"],
            "the server sends DISCONNECT 0x8E (Session taken over) to the existing client",
            "closes the existing connection without a DISCONNECT",
            "mosquitto 2.0.11 handle_connect.c (0x8E came in 2.0.15); conformance recordings",
        ),
    }
);

behaviour!(
    ExpiredInflight,
    spec = Resent,
    [Resent, Dropped],
    |v| match v {
        ExpiredInflight::Resent => None,
        ExpiredInflight::Dropped => departs(
            &["[MQTT-4.3.3-7] 5.0 / [MQTT-4.4.0-1]"],
            "a PUBLISH already sent and not acknowledged is resent at reconnect, expired or not",
            "drops an expired message instead of resending it",
            "mosquitto 2.0.11 db__message_write_inflight_out_single",
        ),
    }
);

behaviour!(
    ExpiredQueued,
    spec = DroppedAtExpiry,
    [DroppedAtExpiry, KeptUntilSend],
    |v| {
        match v {
        ExpiredQueued::DroppedAtExpiry => None,
        ExpiredQueued::KeptUntilSend => departs(
            &["[MQTT-3.3.2-5]"],
            "a queued copy is deleted when its Message Expiry passes",
            "keeps expired copies queued, counting against the queue limit, until it next tries to send them",
            "mosquitto before 2.0.15 database.c (#2609)",
        ),
    }
    }
);

behaviour!(
    QueueLimitCounts,
    spec = Queued,
    [Queued, Qos12BeyondWindow],
    |v| {
        match v {
        QueueLimitCounts::Queued => None,
        QueueLimitCounts::Qos12BeyondWindow => choice(
            &[],
            "leaves queue limits to the server (administrative discard, 3.1.1 §4.1 / 5.0 §4.1.1)",
            "counts QoS 1 and 2 copies queued or in flight less the in-flight window; QoS 0 copies never count",
            "mosquitto 2.0 db__ready_for_queue",
        ),
    }
    }
);

behaviour!(
    WindowRefill,
    spec = UpToWindow,
    [UpToWindow, FromAckedPosition],
    |v| {
        match v {
        WindowRefill::UpToWindow => None,
        WindowRefill::FromAckedPosition => departs(
            &["[MQTT-3.3.4-9] 5.0 / [MQTT-4.9.0-2]"],
            "at most the window (Receive Maximum) of QoS 1 and 2 PUBLISH packets are unacknowledged",
            "refills from the acknowledged message's position, which can send more than the window",
            "mosquitto 2.0 db__message_delete_outgoing",
        ),
    }
    }
);

behaviour!(Resubscribe, spec = Replaces, [Replaces, KeepsFlags], |v| {
    match v {
    Resubscribe::Replaces => None,
    Resubscribe::KeepsFlags => departs(
        &["[MQTT-3.8.4-3]"],
        "a SUBSCRIBE with an identical filter replaces the subscription, options included",
        "updates only the QoS and Subscription Identifier; No Local and Retain As Published stay as first subscribed",
        "mosquitto 2.0 subs.c sub__add_leaf",
    ),
}
});

behaviour!(
    SessionExpiryCap,
    spec = Announced,
    [Announced, Silent],
    |v| {
        match v {
        SessionExpiryCap::Announced => None,
        SessionExpiryCap::Silent => departs(
            &["5.0 §3.2.2.3.2"],
            "a server that uses another Session Expiry Interval than asked announces it in CONNACK",
            "applies a configured cap on the Session Expiry Interval without announcing it",
            "mosquitto max_session_expiry_interval (handle_connect.c)",
        ),
    }
    }
);

behaviour!(
    RestoredSessions,
    spec = Expire,
    [Expire, NeverExpire],
    |v| match v {
        RestoredSessions::Expire => None,
        RestoredSessions::NeverExpire => departs(
            &["[MQTT-4.1.0-2] 5.0"],
            "a stored session is discarded when its Session Expiry Interval has passed",
            "does not put sessions restored from persistence back on its expiry list",
            "mosquitto before 2.0.15 (#2546)",
        ),
    }
);

behaviour!(
    NoSubscribersReply,
    spec = Success,
    [Success, NoMatchingSubscribers],
    |v| match v {
        NoSubscribersReply::Success => None,
        NoSubscribersReply::NoMatchingSubscribers => choice(
            &["5.0 §3.4.2.1"],
            "the server may acknowledge a message no subscription matched with 0x10",
            "acknowledges a 5.0 QoS 1 or 2 message that no subscription matched with 0x10",
            "mosquitto 2.0.11 handle_publish.c; conformance recordings",
        ),
    }
);

behaviour!(
    ErrorNotice,
    spec = Disconnect,
    [Disconnect, ByPacketType],
    |v| {
        match v {
        ErrorNotice::Disconnect => None,
        ErrorNotice::ByPacketType => choice(
            &["5.0 §4.13.1"],
            "before closing over a Malformed Packet or Protocol Error, the server should send DISCONNECT with the reason code",
            "sends that DISCONNECT only for a faulty PUBLISH, SUBSCRIBE or UNSUBSCRIBE (and a DISCONNECT raising Session Expiry from 0); other faults close the connection without one",
            "mosquitto 2.0.11 read_handle.c, handle_disconnect.c; conformance 53-54",
        ),
    }
    }
);

behaviour!(
    SecondConnect,
    spec = ProtocolError,
    [ProtocolError, ForgetsWillAndSession],
    |v| {
        match v {
        SecondConnect::ProtocolError => None,
        SecondConnect::ForgetsWillAndSession => departs(
            &["[MQTT-3.1.2-8]", "[MQTT-3.1.2-4] 3.1.1 / [MQTT-3.1.2-23] 5.0"],
            "a second CONNECT is a Protocol Error: the connection closes, the will is published and the session is kept as its Session Expiry Interval says",
            "closes the connection without publishing the will, and ends the session with it",
            "mosquitto 2.0.11 handle_connect.c (handle_connect_error clears the will and the session expiry); conformance 55",
        ),
    }
    }
);

behaviour!(
    UnknownPubrel,
    spec = PacketIdNotFound,
    [PacketIdNotFound, Success],
    |v| {
        match v {
        UnknownPubrel::PacketIdNotFound => None,
        UnknownPubrel::Success => choice(
            &["5.0 §3.7.2.1"],
            "a PUBCOMP for a packet identifier the session does not hold can say 0x92 (Packet Identifier not found)",
            "answers every PUBREL with PUBCOMP 0x00, known identifier or not",
            "mosquitto 2.0.11 handle_pubrel.c; conformance 52",
        ),
    }
    }
);

behaviour!(
    DisconnectWill,
    spec = OnlyNormalDeletes,
    [OnlyNormalDeletes, AllButWithWill],
    |v| {
        match v {
        DisconnectWill::OnlyNormalDeletes => None,
        DisconnectWill::AllButWithWill => departs(
            &["[MQTT-3.1.2-8] 5.0", "[MQTT-3.14.4-3] 5.0"],
            "only a DISCONNECT with Reason Code 0x00 deletes the will; after one with an error code the will is published",
            "deletes the will for every DISCONNECT reason code but 0x04 (Disconnect with Will Message)",
            "mosquitto 2.0.11 handle_disconnect.c (will__clear); conformance 56",
        ),
    }
    }
);

/// A variant's name as serde's `rename_all = "snake_case"` spells it in profile JSON
/// (`OnlyIfSessionEnds` -> `only_if_session_ends`).
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

impl BrokerProfile {
    /// Every way this profile differs from the specification's in behaviour (not in its limits,
    /// which [`BrokerProfile`]'s numeric fields hold), departures first.
    pub fn departures(&self) -> Vec<Departure> {
        let mut out = Vec::new();
        fn add<B: Behaviour>(out: &mut Vec<Departure>, field: &'static str, v: B) {
            if let Some(entry) = v.entry() {
                out.push(Departure {
                    field,
                    value: snake(v.name()),
                    entry,
                });
            }
        }
        add(&mut out, "takeover_notice", self.takeover_notice);
        add(&mut out, "takeover_will", self.takeover_will);
        add(&mut out, "second_connect", self.second_connect);
        add(
            &mut out,
            "will_after_session_end",
            self.will_after_session_end,
        );
        add(&mut out, "delayed_wills", self.delayed_wills);
        add(&mut out, "wills_at_shutdown", self.wills_at_shutdown);
        add(&mut out, "session_expiry_cap", self.session_expiry_cap);
        add(&mut out, "restored_sessions", self.restored_sessions);
        add(&mut out, "overlap_v311", self.overlap_v311);
        add(&mut out, "overlap_v5", self.overlap_v5);
        add(&mut out, "suppressed_copy_ids", self.suppressed_copy_ids);
        add(&mut out, "resubscribe", self.resubscribe);
        add(&mut out, "qos2_forward", self.qos2_forward);
        add(&mut out, "receive_max_exceeded", self.receive_max_exceeded);
        add(&mut out, "no_subscribers_reply", self.no_subscribers_reply);
        add(&mut out, "unknown_pubrel", self.unknown_pubrel);
        add(&mut out, "disconnect_will", self.disconnect_will);
        add(&mut out, "error_notice", self.error_notice);
        add(&mut out, "window_refill", self.window_refill);
        add(&mut out, "queue_limit_counts", self.queue_limit_counts);
        add(&mut out, "overflow", self.overflow);
        add(&mut out, "expired_queued", self.expired_queued);
        add(&mut out, "expired_inflight", self.expired_inflight);
        add(&mut out, "expiry_remainder", self.expiry_remainder);
        add(&mut out, "timers", self.timers);
        add(&mut out, "persistence", self.persistence);
        if self.keep_alive_check_secs > 0 {
            out.push(Departure {
                field: "keep_alive_check_secs",
                value: self.keep_alive_check_secs.to_string(),
                entry: Entry {
                    standing: Standing::Departs,
                    rules: &["[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0"],
                    spec: "a connection silent for 1.5 x Keep Alive is closed",
                    broker: "looks for silent connections only every few seconds and counts whole seconds, so it closes them up to that much later",
                    source: "mosquitto 2.0 keepalive.c keepalive__check",
                },
            });
        }
        if self.upgrade_outgoing_qos {
            out.push(Departure {
                field: "upgrade_outgoing_qos",
                value: "true".into(),
                entry: Entry {
                    standing: Standing::Departs,
                    rules: &["[MQTT-3.8.4-6] 3.1.1 / [MQTT-3.8.4-8] 5.0"],
                    spec: "a copy goes out at the lower of the published QoS and the granted QoS",
                    broker:
                        "sends every copy at the granted QoS, raising it above the published QoS",
                    source: "mosquitto upgrade_outgoing_qos (mosquitto.conf.5)",
                },
            });
        }
        if self.empty_id_v5_reject_code != 0x85 {
            out.push(Departure {
                field: "empty_id_v5_reject_code",
                value: format!("0x{:02X}", self.empty_id_v5_reject_code),
                entry: Entry {
                    standing: Standing::Choice,
                    rules: &["5.0 §3.1.3.1"],
                    spec: "a refused client identifier may be answered with CONNACK 0x85 (Client Identifier not valid)",
                    broker: "refuses an empty client identifier it does not accept with another reason code",
                    source: "mosquitto 2.0.11 handle_connect.c",
                },
            });
        }
        if let Some(ka) = self.keep_alive_zero_override {
            out.push(Departure {
                field: "keep_alive_zero_override",
                value: ka.to_string(),
                entry: Entry {
                    standing: Standing::Choice,
                    rules: &["5.0 §3.2.2.3.14"],
                    spec: "a server may answer with a Server Keep Alive the client must use",
                    broker:
                        "answers a 5.0 client that asks for Keep Alive 0 with a Server Keep Alive",
                    source: "mosquitto 2.0.11 handle_connect.c (max_keepalive)",
                },
            });
        }
        // Departures first, then choices, each in the order above.
        let (mut departures, choices): (Vec<Departure>, Vec<Departure>) = out
            .into_iter()
            .partition(|d| d.entry.standing == Standing::Departs);
        departures.extend(choices);
        departures
    }
}
