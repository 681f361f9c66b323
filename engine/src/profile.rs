//! Broker profiles: the strict specification, and named brokers with the numbers and behaviours
//! their own documentation, source or observed traffic shows. Each field's doc names its source:
//! a statement of the specification, a broker's source file or documentation, or what the
//! broker was seen doing (for mosquitto 2.0.11: the recordings behind `docs/CONFORMANCE.md`).

use crate::types::NEVER_EXPIRE;
use serde::{Deserialize, Serialize};

/// What happens to the newest message when a session's queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// The incoming message is dropped (mosquitto `max_queued_messages`, HiveMQ `discard`).
    DropNewest,
    /// The oldest queued message is dropped to make room (EMQX, TBMQ, HiveMQ `discard-oldest`).
    DropOldest,
}

/// How a 3.1.1 client with several matching subscriptions is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// One copy at the maximum granted QoS ([MQTT-3.3.5-1] / [MQTT-3.3.4-2]).
    OneCopyMaxQos,
    /// One copy per matching subscription (allowed in addition by the same rule).
    CopyPerSubscription,
    /// One copy at the QoS of the subscription met first in the topic tree: mosquitto 2.0.11 with
    /// 3.1.1 clients (violates [MQTT-3.3.5-1]; subs.c `sub__search` tree order, conformance 31-32).
    OneCopyFirstMatched,
}

/// When an inbound QoS 2 message is passed on to subscribers (3.1.1 Figure 4.3, Method A or B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qos2Forward {
    /// Passed on when the PUBLISH arrives, before PUBREC (Method B).
    AtPublish,
    /// Held until PUBREL arrives, then passed on (Method A; mosquitto).
    AtPubrel,
}

/// What the broker does when a client sends more unacknowledged QoS 2 PUBLISH packets than the
/// server's Receive Maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveMaxExceeded {
    /// §3.3.4: DISCONNECT 0x93 Receive Maximum exceeded.
    Disconnect93,
    /// mosquitto 2.0.11: PUBREC with 0x97 Quota exceeded, the connection stays up.
    Pubrec97,
}

/// Which sessions survive a broker restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    /// Nothing is saved: every session and retained message is lost.
    None,
    /// Sessions whose last CONNECT had Clean Start / Clean Session = 0 (mosquitto
    /// `persist_write.c`), with retained messages.
    CleanStartZeroOnly,
    /// Every session that has not ended, with retained messages.
    AllSessions,
}

/// How a broker's timers for session expiry and will delay count seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerGranularity {
    /// Exactly N seconds after the close (the instant N s after close counts as expired).
    Exact,
    /// mosquitto: deadline = whole seconds at close + N, fired at the first whole second strictly
    /// after it (`session_expiry.c`, `will_delay.c`): between N and N+1 s after the close.
    WholeSecondsStrict,
}

/// What a forwarded PUBLISH carries when the Message Expiry left of a waiting message is
/// under one second but it has not expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryRemainder {
    /// Rounded up to 1 s: the copy still says it expires ([MQTT-3.3.2-6] asks for the received
    /// value minus the time waited; a Message Expiry Interval of 0 is not a value the receiver
    /// can tell from "no expiry").
    RoundUp,
    /// The copy is sent without a Message Expiry Interval: mosquitto 2.0.11 computes the
    /// remainder in whole seconds (`db__message_write_inflight_out_single`: expiry time minus
    /// now) and writes the property only when it is above 0 (`send__real_publish`), so the
    /// receiver sees a message that never expires.
    OmitProperty,
}

/// In which order delayed wills (a Will Delay Interval running after a close) go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayedWills {
    /// Each at its own due time ([MQTT-3.1.2-8] 5.0).
    AtDueTime,
    /// mosquitto 2.0.11 (`will_delay.c`): one list ordered by the Will Delay Interval (the newest
    /// first among equal intervals), walked once a second from its head, stopping at the first
    /// will not yet due; a will added later with a shorter delay holds back one already due.
    OneListByInterval,
}

/// What a 3.1.1 subscriber's copies suppressed by overlapping subscriptions cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressedCopyIds {
    /// Nothing: only delivered copies take packet identifiers.
    None,
    /// Each suppressed QoS 1 or 2 copy takes a packet identifier first (mosquitto 2.0.11 subs.c
    /// `subs__send` calls `mosquitto__mid_generate` before `db__message_insert` drops the
    /// duplicate), so the client's next packet identifier skips one per suppressed copy.
    TakeOne,
}

/// What becomes of a will when a new connection arrives for its session: a takeover of a
/// connected session, or a Clean Start connection to a stored session whose will is delayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TakeoverWill {
    /// As at any other close: the taken-over connection closed without DISCONNECT, so its will
    /// goes out ([MQTT-3.1.2-8]), unless in 5.0 a Will Delay runs and the new connection resumes
    /// the session ([MQTT-3.1.3-9] 5.0). A session that ends (Session Expiry 0, or Clean Start 1 on
    /// the new connection) publishes even a delayed will at once (§3.1.4, [MQTT-3.1.2-8] 5.0).
    AsClose,
    /// mosquitto 2.0.11 `handle_connect.c`: the will goes out only if the old session ends
    /// (5.0 Session Expiry 0), the old connection was clean (3.1.1) or the new one has Clean
    /// Start 1, and only without a Will Delay; a delayed will is removed unpublished
    /// (`will_delay__remove`), also when a Clean Start connection replaces a stored session.
    /// With Clean Start 0 the will is sent before the old connection closes (test
    /// `07-will-takeover.py`).
    OnlyIfSessionEnds,
}

/// A 5.0 will with a Will Delay whose session ends with its connection (Session Expiry 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WillAfterSessionEnd {
    /// Published at once: the Will Delay runs only until the session ends ([MQTT-3.1.2-8] 5.0).
    AtOnce,
    /// mosquitto 2.0.11 (`context.c`, test `07-will-delay.py`): the will outlives its session
    /// and waits the whole Will Delay; a reconnect of the same client id removes it
    /// (test `07-will-delay-reconnect.py`).
    AfterDelay,
}

/// Wills when the broker process stops: the delayed ones, and those of the connections it closes
/// as it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WillsAtShutdown {
    /// The broker closes every connection without a DISCONNECT, so each connected client's will
    /// is decided as for any such close ([MQTT-3.1.2-8]), before the connections close: published
    /// at once, or (5.0, a Will Delay and a session that outlives the connection) left waiting.
    /// Delayed wills keep waiting in the sessions that persistence keeps; a session that is lost
    /// takes its will with it. (5.0 §3.1.2.5 also lets a server defer publication until it
    /// restarts; this model publishes them as it stops.)
    KeepWaiting,
    /// Every connected client's will is published on the way out, a delayed one too, and then
    /// every delayed will, before any connection closes: mosquitto 2.0.11 `mosquitto.c` calls
    /// `context__send_will` for each client and then `will_delay__send_all` (conformance 51).
    AllPublished,
}

/// What the client of a taken-over 5.0 connection is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TakeoverNotice {
    /// DISCONNECT 0x8E (Session taken over), then the connection closes ([MQTT-3.1.4-3] 5.0).
    Disconnect0x8E,
    /// The connection closes without a DISCONNECT (mosquitto 2.0.11; 0x8E came in 2.0.15).
    CloseOnly,
}

/// A message already sent and not yet acknowledged whose Message Expiry has passed, at the
/// reconnect that would resend it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiredInflight {
    /// Resent like any unacknowledged PUBLISH ([MQTT-4.3.3-7] 5.0 / [MQTT-4.4.0-1]).
    Resent,
    /// Dropped (mosquitto `db__message_write_inflight_out_single` checks expiry first).
    Dropped,
}

/// A queued message whose Message Expiry has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiredQueued {
    /// Discarded at its expiry instant, as [MQTT-3.3.2-5] reads.
    DroppedAtExpiry,
    /// Kept in the session (still counting against `max_queued_messages`) until the broker next
    /// tries to send it, and discarded then: mosquitto before 2.0.15 (database.c checks expiry
    /// only in `db__message_write_inflight_out_single`; 2.0.15 added `db__expire_all_messages`,
    /// #2609).
    KeptUntilSend,
}

/// What `max_queued_messages` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueLimitCounts {
    /// The messages waiting in the queue, every QoS.
    Queued,
    /// The QoS 1 and 2 copies queued or in flight, less the in-flight window while the client is
    /// online; QoS 0 copies never count (mosquitto 2.0 `db__ready_for_queue`, `msg_count12`).
    Qos12BeyondWindow,
}

/// How queued messages move into the in-flight window after an acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowRefill {
    /// Up to the window ([MQTT-3.3.4-9] 5.0 / [MQTT-4.9.0-2]).
    UpToWindow,
    /// While a counter that starts at the acknowledged message's position is below the window,
    /// which can overfill it (mosquitto 2.0 `db__message_delete_outgoing`).
    FromAckedPosition,
}

/// A SUBSCRIBE with a filter the session already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resubscribe {
    /// The subscription is replaced whole, options included ([MQTT-3.8.4-3]).
    Replaces,
    /// Only its QoS and Subscription Identifier change; No Local and Retain As Published stay as
    /// first subscribed (mosquitto 2.0 subs.c `sub__add_leaf`, unchanged through 2.0.18).
    KeepsFlags,
}

/// Whether a capped 5.0 Session Expiry Interval is announced in CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionExpiryCap {
    /// CONNACK carries the Session Expiry Interval the server uses (5.0 §3.2.2.3.2).
    Announced,
    /// The cap is applied silently (mosquitto `max_session_expiry_interval`).
    Silent,
}

/// Sessions restored from persistence after a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoredSessions {
    /// Their Session Expiry Interval runs on ([MQTT-4.1.0-2] 5.0).
    Expire,
    /// They are not put back on the expiry list and never expire (mosquitto before 2.0.15, "Add
    /// clients to session expiry check list when restarting", #2546).
    NeverExpire,
}

/// The reason code acknowledging a 5.0 QoS 1 or 2 PUBLISH that no subscription matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoSubscribersReply {
    /// 0x00 Success.
    Success,
    /// 0x10 No matching subscribers, which the server MAY send (5.0 §3.4.2.1; mosquitto).
    NoMatchingSubscribers,
}

/// What a 5.0 client is told before the broker closes its connection over a Malformed Packet or a
/// Protocol Error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorNotice {
    /// DISCONNECT with the reason code, then the close (5.0 §4.13.1: the server SHOULD send it).
    Disconnect,
    /// mosquitto 2.0.11 `read_handle.c`: DISCONNECT only when the faulty packet is a PUBLISH,
    /// SUBSCRIBE or UNSUBSCRIBE, or of the reserved type 0, and for a DISCONNECT that raises the
    /// Session Expiry Interval from 0 (`handle_disconnect.c` sends 0x82 itself); every other
    /// fault (a second CONNECT, a PUBREL, PUBACK, PINGREQ, DISCONNECT or AUTH that does not
    /// parse, a Remaining Length over four bytes) closes the connection without a word.
    ByPacketType,
}

impl ErrorNotice {
    /// Whether a 5.0 client gets a DISCONNECT before the close. `packet_type` is the faulty
    /// packet's type (the high nibble of its first byte); `disconnect_expiry_rule` marks the
    /// DISCONNECT that raises the Session Expiry Interval from 0 (§3.14.2.2.2);
    /// `in_fixed_header` marks a fault found before the packet's type is handled (a Remaining
    /// Length of more than four bytes).
    pub fn sends_disconnect(
        self,
        packet_type: u8,
        disconnect_expiry_rule: bool,
        in_fixed_header: bool,
    ) -> bool {
        match self {
            ErrorNotice::Disconnect => true,
            ErrorNotice::ByPacketType => {
                !in_fixed_header
                    && (matches!(packet_type, 0 | 3 | 8 | 10) || disconnect_expiry_rule)
            }
        }
    }
}

/// A second CONNECT on a connection that already has one ([MQTT-3.1.0-2]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondConnect {
    /// A Protocol Error like any other: the connection closes, the will is published
    /// ([MQTT-3.1.2-8]) and the session stays as its Session Expiry Interval says.
    ProtocolError,
    /// The connection closes with no will and the session ends with it, whatever its Session
    /// Expiry Interval or Clean Session: mosquitto 2.0.11 `handle_connect.c` leaves through its
    /// error path, which clears `context->will` and sets `session_expiry_interval` to 0
    /// (conformance 55).
    ForgetsWillAndSession,
}

/// Which 5.0 DISCONNECT reason codes delete the connection's will.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectWill {
    /// Only 0x00 (Normal disconnection) deletes it ([MQTT-3.1.2-8], [MQTT-3.14.4-3] 5.0); after
    /// a DISCONNECT with any other code the will is published as after any close without a
    /// normal DISCONNECT (after its Will Delay, if any).
    OnlyNormalDeletes,
    /// Every code but 0x04 (Disconnect with Will Message) deletes it: mosquitto 2.0.11
    /// `handle_disconnect.c` calls `will__clear` unless the reason code is 0x04 (conformance 56).
    AllButWithWill,
}

/// The PUBCOMP that answers a 5.0 PUBREL for a packet identifier the session does not hold (a
/// PUBREL sent again after the exchange completed, or after a clean start dropped the session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownPubrel {
    /// PUBCOMP 0x92 (Packet Identifier not found), the code 5.0 §3.7.2.1 has for it.
    PacketIdNotFound,
    /// PUBCOMP 0x00 (Success): mosquitto 2.0.11 `handle_pubrel.c` ("Still send a PUBCOMP anyway")
    /// sends the same PUBCOMP as for a known identifier.
    Success,
}

/// A broker's session behaviour. Field docs name the source of each default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerProfile {
    /// Stable id used in scenario files and URLs.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// One sentence on where the numbers come from.
    pub source: String,

    // --- limits ---
    /// Messages queued per session beyond those in flight; `None` = unlimited.
    pub max_queued_messages: Option<u32>,
    /// What a full queue drops (only matters with `max_queued_messages`).
    pub overflow: Overflow,
    /// Queue QoS 0 messages for offline sessions (a MAY: 3.1.1 §3.1.2.4 beside [MQTT-3.1.2-5]
    /// 3.1.1; 5.0 §4.1).
    pub queue_qos0_offline: bool,
    /// Outgoing in-flight window for 3.1.1 clients (5.0 clients set it with Receive Maximum).
    pub max_inflight_v311: u16,
    /// Receive Maximum the server announces in CONNACK (its inbound QoS 2 limit); `None` = 65,535.
    pub server_receive_maximum: Option<u16>,
    /// What the broker does when a 5.0 client exceeds `server_receive_maximum`.
    pub receive_max_exceeded: ReceiveMaxExceeded,
    /// Lifetime of a 3.1.1 Clean Session = 0 session after disconnect; `None` = forever.
    /// (Administrative discard, MQTT 3.1.1 §4.1 non-normative; EMQX `session_expiry_interval`.)
    pub v311_session_expiry: Option<u32>,
    /// Cap on a 5.0 Session Expiry Interval; `None` = no cap.
    pub max_session_expiry: Option<u32>,
    /// Whether a capped value is announced in CONNACK (§3.2.2.3.2).
    pub session_expiry_cap: SessionExpiryCap,
    /// Highest QoS the server supports (CONNACK Maximum QoS).
    pub max_qos: u8,
    /// Server Keep Alive announced when a 5.0 client asks for keep alive 0 (mosquitto: 65535).
    pub keep_alive_zero_override: Option<u16>,
    /// Accept a zero-length client id (and assign one).
    pub allow_zero_length_client_id: bool,
    /// Reason code for a refused empty client id from a 5.0 client (spec suggests 0x85; mosquitto 0x80).
    pub empty_id_v5_reject_code: u8,
    /// Prefix of generated client ids (mosquitto `auto_id_prefix`).
    pub assigned_id_prefix: String,
    /// Connections accepted per second (listener rate limit); `None` = unlimited.
    pub max_connections_per_second: Option<u32>,

    // --- behaviours (each enum's docs name the specification's variant and the broker's) ---
    /// What a taken-over 5.0 client is told.
    pub takeover_notice: TakeoverNotice,
    /// The will of a session a new connection replaces.
    pub takeover_will: TakeoverWill,
    /// A delayed will whose session ends with its connection.
    pub will_after_session_end: WillAfterSessionEnd,
    /// An expired message already sent, at the reconnect that would resend it.
    pub expired_inflight: ExpiredInflight,
    /// A queued message whose Message Expiry has passed.
    pub expired_queued: ExpiredQueued,
    /// What the queue limit counts.
    pub queue_limit_counts: QueueLimitCounts,
    /// How the in-flight window refills after an acknowledgement.
    pub window_refill: WindowRefill,
    /// A SUBSCRIBE repeating a filter the session has.
    pub resubscribe: Resubscribe,
    /// Overlapping subscriptions for 3.1.1 clients.
    pub overlap_v311: Overlap,
    /// Overlapping subscriptions for 5.0 clients.
    pub overlap_v5: Overlap,
    /// Inbound QoS 2 onward delivery.
    pub qos2_forward: Qos2Forward,
    /// Non-standard mosquitto `upgrade_outgoing_qos`.
    pub upgrade_outgoing_qos: bool,
    /// PUBACK/PUBREC reason code when a 5.0 QoS 1/2 message has no subscribers.
    pub no_subscribers_reply: NoSubscribersReply,
    /// What a 5.0 client is told before a close over a Malformed Packet or Protocol Error.
    pub error_notice: ErrorNotice,
    /// The PUBCOMP for a 5.0 PUBREL of an identifier the session does not hold.
    pub unknown_pubrel: UnknownPubrel,
    /// Which 5.0 DISCONNECT reason codes delete the will.
    pub disconnect_will: DisconnectWill,
    /// A second CONNECT on one connection.
    pub second_connect: SecondConnect,
    /// How session, will and message expiry timers count seconds.
    pub timers: TimerGranularity,
    /// A waiting message's Message Expiry left under one second.
    pub expiry_remainder: ExpiryRemainder,
    /// The order of delayed wills.
    pub delayed_wills: DelayedWills,
    /// Packet identifiers taken by 3.1.1 copies that overlapping subscriptions suppress.
    pub suppressed_copy_ids: SuppressedCopyIds,
    /// The broker looks for keep-alive timeouts only every this many seconds, counted from its
    /// start, and closes a connection when whole seconds since its last packet exceed
    /// Keep Alive x 3 / 2 (integer division). mosquitto 2.0 (keepalive.c `keepalive__check`:
    /// `last_keepalive_check + 5 < db.now_s`): every 6 s. 0: at the instant 1.5 x Keep Alive passes.
    pub keep_alive_check_secs: u32,
    /// Which sessions (and whether retained messages) survive a broker restart.
    pub persistence: Persistence,
    /// Whether sessions restored from persistence expire.
    pub restored_sessions: RestoredSessions,
    /// Wills when the broker stops.
    pub wills_at_shutdown: WillsAtShutdown,

    // --- memory model used for accounting (not a broker number) ---
    /// Bytes a broker spends per queued or in-flight message beyond topic and payload.
    pub per_message_overhead: u32,
    /// Bytes a broker spends per subscription beyond its filter's length.
    pub per_subscription_bytes: u32,
    /// Bytes a broker spends per session beyond its messages and subscriptions.
    pub per_session_bytes: u32,
}

impl BrokerProfile {
    /// The specification with no limits and every MAY taken the conservative way.
    pub fn spec() -> BrokerProfile {
        BrokerProfile {
            id: "spec".into(),
            name: "MQTT specification (strict)".into(),
            source: "MQTT 3.1.1 and 5.0 OASIS standards; no server limits, MAY options off".into(),
            max_queued_messages: None,
            overflow: Overflow::DropNewest,
            queue_qos0_offline: false,
            max_inflight_v311: u16::MAX,
            server_receive_maximum: None,
            receive_max_exceeded: ReceiveMaxExceeded::Disconnect93,
            v311_session_expiry: None,
            max_session_expiry: None,
            session_expiry_cap: SessionExpiryCap::Announced,
            max_qos: 2,
            keep_alive_zero_override: None,
            allow_zero_length_client_id: true,
            empty_id_v5_reject_code: 0x85,
            assigned_id_prefix: "auto-".into(),
            max_connections_per_second: None,
            takeover_notice: TakeoverNotice::Disconnect0x8E,
            takeover_will: TakeoverWill::AsClose,
            will_after_session_end: WillAfterSessionEnd::AtOnce,
            expired_inflight: ExpiredInflight::Resent,
            expired_queued: ExpiredQueued::DroppedAtExpiry,
            queue_limit_counts: QueueLimitCounts::Queued,
            window_refill: WindowRefill::UpToWindow,
            resubscribe: Resubscribe::Replaces,
            overlap_v311: Overlap::OneCopyMaxQos,
            overlap_v5: Overlap::OneCopyMaxQos,
            qos2_forward: Qos2Forward::AtPubrel,
            upgrade_outgoing_qos: false,
            no_subscribers_reply: NoSubscribersReply::Success,
            error_notice: ErrorNotice::Disconnect,
            unknown_pubrel: UnknownPubrel::PacketIdNotFound,
            disconnect_will: DisconnectWill::OnlyNormalDeletes,
            second_connect: SecondConnect::ProtocolError,
            timers: TimerGranularity::Exact,
            expiry_remainder: ExpiryRemainder::RoundUp,
            delayed_wills: DelayedWills::AtDueTime,
            suppressed_copy_ids: SuppressedCopyIds::None,
            keep_alive_check_secs: 0,
            persistence: Persistence::AllSessions,
            restored_sessions: RestoredSessions::Expire,
            wills_at_shutdown: WillsAtShutdown::KeepWaiting,
            per_message_overhead: 40,
            per_subscription_bytes: 64,
            per_session_bytes: 256,
        }
    }

    /// mosquitto 2.0.11 (Debian bookworm) with its default configuration
    /// (`src/conf.c`, `man/mosquitto.conf.5`), behaviours as observed (docs/CONFORMANCE.md).
    pub fn mosquitto_2_0_11() -> BrokerProfile {
        BrokerProfile {
            id: "mosquitto-2.0.11".into(),
            name: "mosquitto 2.0.11".into(),
            source: "mosquitto 2.0.11 defaults (conf.c, mosquitto.conf.5) and behaviour observed on the wire".into(),
            max_queued_messages: Some(1000),
            overflow: Overflow::DropNewest,
            queue_qos0_offline: false,
            max_inflight_v311: 20,
            server_receive_maximum: Some(20),
            receive_max_exceeded: ReceiveMaxExceeded::Pubrec97,
            v311_session_expiry: None,
            max_session_expiry: None,
            session_expiry_cap: SessionExpiryCap::Silent,
            max_qos: 2,
            keep_alive_zero_override: Some(65535),
            allow_zero_length_client_id: true,
            empty_id_v5_reject_code: 0x80,
            assigned_id_prefix: "auto-".into(),
            max_connections_per_second: None,
            takeover_notice: TakeoverNotice::CloseOnly,
            takeover_will: TakeoverWill::OnlyIfSessionEnds,
            will_after_session_end: WillAfterSessionEnd::AfterDelay,
            expired_inflight: ExpiredInflight::Dropped,
            expired_queued: ExpiredQueued::KeptUntilSend,
            queue_limit_counts: QueueLimitCounts::Qos12BeyondWindow,
            window_refill: WindowRefill::FromAckedPosition,
            resubscribe: Resubscribe::KeepsFlags,
            overlap_v311: Overlap::OneCopyFirstMatched,
            overlap_v5: Overlap::CopyPerSubscription,
            qos2_forward: Qos2Forward::AtPubrel,
            upgrade_outgoing_qos: false,
            no_subscribers_reply: NoSubscribersReply::NoMatchingSubscribers,
            error_notice: ErrorNotice::ByPacketType,
            unknown_pubrel: UnknownPubrel::Success,
            disconnect_will: DisconnectWill::AllButWithWill,
            second_connect: SecondConnect::ForgetsWillAndSession,
            timers: TimerGranularity::WholeSecondsStrict,
            expiry_remainder: ExpiryRemainder::OmitProperty,
            delayed_wills: DelayedWills::OneListByInterval,
            suppressed_copy_ids: SuppressedCopyIds::TakeOne,
            keep_alive_check_secs: 6,
            persistence: Persistence::None,
            restored_sessions: RestoredSessions::NeverExpire,
            wills_at_shutdown: WillsAtShutdown::AllPublished,
            ..BrokerProfile::spec()
        }
    }

    /// EMQX defaults (`apps/emqx/src/emqx_schema.erl`, `emqx_mqueue.erl`).
    pub fn emqx() -> BrokerProfile {
        BrokerProfile {
            id: "emqx".into(),
            name: "EMQX (defaults)".into(),
            source: "EMQX emqx_schema.erl defaults: max_mqueue_len 1000 drop-oldest, mqueue_store_qos0 true, max_inflight 32, 3.1.1 sessions 2 h".into(),
            max_queued_messages: Some(1000),
            overflow: Overflow::DropOldest,
            queue_qos0_offline: true,
            max_inflight_v311: 32,
            v311_session_expiry: Some(2 * 3600),
            session_expiry_cap: SessionExpiryCap::Announced,
            qos2_forward: Qos2Forward::AtPublish,
            // EMQX has been in-memory by default: "If the broker restarts or crashes, all queued
            // messages will be lost" (emqx_mqueue.erl).
            persistence: Persistence::None,
            ..BrokerProfile::spec()
        }
    }

    /// HiveMQ Community Edition defaults (`MqttConfigurationDefaults.java`; §2.3).
    pub fn hivemq_ce() -> BrokerProfile {
        BrokerProfile {
            id: "hivemq-ce".into(),
            name: "HiveMQ CE (defaults)".into(),
            source: "HiveMQ CE MqttConfigurationDefaults: 1000 queued, strategy discard (newest), server Receive Maximum 10, QoS 0 queued offline".into(),
            max_queued_messages: Some(1000),
            overflow: Overflow::DropNewest,
            // QoS 0 is queued for offline clients in a memory-limited list (5 MiB per client).
            queue_qos0_offline: true,
            server_receive_maximum: Some(10),
            ..BrokerProfile::spec()
        }
    }

    /// AWS IoT Core (developer guide, "MQTT persistent sessions"; §2.5).
    pub fn aws_iot_core() -> BrokerProfile {
        BrokerProfile {
            id: "aws-iot-core".into(),
            name: "AWS IoT Core".into(),
            source: "AWS IoT Core developer guide: persistent sessions expire after 1 h by default, QoS 0 not stored, no QoS 2, 100 in flight".into(),
            v311_session_expiry: Some(3600),
            max_session_expiry: Some(3600),
            queue_qos0_offline: false,
            max_qos: 1,
            max_inflight_v311: 100,
            server_receive_maximum: Some(100),
            ..BrokerProfile::spec()
        }
    }

    /// TBMQ defaults (`thingsboard-mqtt-broker.yml`; §2.4 and seed 003).
    pub fn tbmq() -> BrokerProfile {
        BrokerProfile {
            id: "tbmq".into(),
            name: "TBMQ (defaults, device clients)".into(),
            source: "TBMQ thingsboard-mqtt-broker.yml: 10,000 persisted messages per device, oldest dropped, 1 week max session expiry and admin TTL".into(),
            max_queued_messages: Some(10_000),
            overflow: Overflow::DropOldest,
            v311_session_expiry: Some(604_800),
            max_session_expiry: Some(604_800),
            max_inflight_v311: 1000,
            ..BrokerProfile::spec()
        }
    }

    /// Tencent Cloud TDMQ for MQTT: a 3-day cap on session retention (seed 004, "Session State
    /// Management", 2026-01-30). Other numbers are not published there; they follow the spec.
    pub fn tencent() -> BrokerProfile {
        BrokerProfile {
            id: "tencent".into(),
            name: "Tencent Cloud MQTT".into(),
            source: "Tencent Cloud docs (Session State Management): sessions kept at most 3 days (259,200 s) after disconnect".into(),
            v311_session_expiry: Some(259_200),
            max_session_expiry: Some(259_200),
            ..BrokerProfile::spec()
        }
    }

    /// Every named profile, in the order the page lists them.
    pub fn all() -> Vec<BrokerProfile> {
        vec![
            BrokerProfile::spec(),
            BrokerProfile::mosquitto_2_0_11(),
            BrokerProfile::emqx(),
            BrokerProfile::hivemq_ce(),
            BrokerProfile::aws_iot_core(),
            BrokerProfile::tbmq(),
            BrokerProfile::tencent(),
        ]
    }

    /// The named profile with this `id` (as in [`BrokerProfile::all`]), if any.
    pub fn by_id(id: &str) -> Option<BrokerProfile> {
        BrokerProfile::all().into_iter().find(|p| p.id == id)
    }

    /// The session lifetime a session gets from its CONNECT, after this broker's caps.
    /// Returns (effective seconds, value to announce in CONNACK if any).
    pub fn effective_session_expiry(
        &self,
        v5: bool,
        clean_start: bool,
        requested: Option<u32>,
    ) -> (u32, Option<u32>) {
        if !v5 {
            // 3.1.1: Clean Session 1 lasts as long as the connection ([MQTT-3.1.2-6] 3.1.1); Clean
            // Session 0 has no expiry ([MQTT-3.1.2-4] 3.1.1) unless the broker discards it
            // administratively (3.1.1 §4.1 non-normative).
            return if clean_start {
                (0, None)
            } else {
                (self.v311_session_expiry.unwrap_or(NEVER_EXPIRE), None)
            };
        }
        // 5.0 §3.1.2.11.2: absent means 0.
        let asked = requested.unwrap_or(0);
        match self.max_session_expiry {
            Some(cap) if asked > cap => {
                let announce =
                    (self.session_expiry_cap == SessionExpiryCap::Announced).then_some(cap);
                (cap, announce)
            }
            _ => (asked, None),
        }
    }

    /// Receive Maximum the server uses toward a client: the client's own (5.0) or the v3 window.
    pub fn outgoing_window(&self, v5: bool, client_receive_max: Option<u16>) -> u16 {
        if v5 {
            client_receive_max.unwrap_or(u16::MAX)
        } else {
            self.max_inflight_v311
        }
    }
}

/// Optional changes to a named profile, as a scenario file writes them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOverrides {
    /// Replaces `max_queued_messages`; 0 means unlimited.
    pub max_queued_messages: Option<u32>,
    /// Replaces `overflow`.
    pub overflow: Option<Overflow>,
    /// Replaces `queue_qos0_offline`.
    pub queue_qos0_offline: Option<bool>,
    /// Replaces `max_inflight_v311` (at least 1).
    pub max_inflight_v311: Option<u16>,
    /// Replaces `server_receive_maximum` (1 to 65,535).
    pub server_receive_maximum: Option<u16>,
    /// Replaces `v311_session_expiry`, seconds; 0 means sessions are kept forever.
    pub v311_session_expiry: Option<u32>,
    /// Replaces `max_session_expiry`, seconds; 0 means no cap.
    pub max_session_expiry: Option<u32>,
    /// Replaces `max_qos` (0, 1 or 2).
    pub max_qos: Option<u8>,
    /// Replaces `upgrade_outgoing_qos`.
    pub upgrade_outgoing_qos: Option<bool>,
    /// Replaces `persistence`.
    pub persistence: Option<Persistence>,
    /// Replaces `allow_zero_length_client_id`.
    pub allow_zero_length_client_id: Option<bool>,
    /// Replaces `max_connections_per_second`; 0 means unlimited.
    pub max_connections_per_second: Option<u32>,
    /// Replaces `per_message_overhead`, bytes.
    pub per_message_overhead: Option<u32>,
    /// Replaces `per_subscription_bytes`, bytes.
    pub per_subscription_bytes: Option<u32>,
    /// Replaces `per_session_bytes`, bytes.
    pub per_session_bytes: Option<u32>,
}

impl ProfileOverrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self == &ProfileOverrides::default()
    }

    /// Writes every override that is set into `p` (0 clears the limits that take it as unlimited).
    pub fn apply(&self, p: &mut BrokerProfile) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { p.$f = v; } )* };
        }
        macro_rules! set_opt {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { p.$f = if v == 0 { None } else { Some(v) }; } )* };
        }
        set!(
            overflow,
            queue_qos0_offline,
            max_inflight_v311,
            max_qos,
            upgrade_outgoing_qos,
            persistence,
            allow_zero_length_client_id,
            per_message_overhead,
            per_subscription_bytes,
            per_session_bytes
        );
        // 0 means "unlimited" for these, as in mosquitto's configuration.
        set_opt!(
            max_queued_messages,
            v311_session_expiry,
            max_session_expiry,
            max_connections_per_second
        );
        if let Some(v) = self.server_receive_maximum {
            p.server_receive_maximum = Some(v);
        }
    }

    /// Refuses values no broker can have: `max_qos` above 2, `server_receive_maximum` 0,
    /// `max_inflight_v311` 0.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(q) = self.max_qos {
            if q > 2 {
                return Err(format!("max_qos must be 0, 1 or 2, not {q}"));
            }
        }
        if self.server_receive_maximum == Some(0) {
            return Err(
                "server_receive_maximum must be 1..65535 (0 is a protocol error, §3.2.2.3.3)"
                    .into(),
            );
        }
        if self.max_inflight_v311 == Some(0) {
            return Err("max_inflight_v311 must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn profile_ids_are_unique_and_found() {
        let all = BrokerProfile::all();
        for p in &all {
            assert_eq!(BrokerProfile::by_id(&p.id).as_ref(), Some(p));
        }
        let mut ids: Vec<_> = all.iter().map(|p| p.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn absent_session_expiry_is_zero_in_v5() {
        let p = BrokerProfile::spec();
        assert_eq!(p.effective_session_expiry(true, false, None), (0, None));
        assert_eq!(
            p.effective_session_expiry(false, false, None),
            (NEVER_EXPIRE, None)
        );
        assert_eq!(p.effective_session_expiry(false, true, None), (0, None));
    }

    #[test]
    fn caps_are_announced_only_where_the_broker_does() {
        let tb = BrokerProfile::tbmq();
        assert_eq!(
            tb.effective_session_expiry(true, false, Some(NEVER_EXPIRE)),
            (604_800, Some(604_800))
        );
        let mut m = BrokerProfile::mosquitto_2_0_11();
        m.max_session_expiry = Some(3600);
        assert_eq!(
            m.effective_session_expiry(true, false, Some(7200)),
            (3600, None)
        );
    }

    #[test]
    fn overrides_use_zero_for_unlimited() {
        let mut p = BrokerProfile::mosquitto_2_0_11();
        ProfileOverrides {
            max_queued_messages: Some(0),
            ..Default::default()
        }
        .apply(&mut p);
        assert_eq!(p.max_queued_messages, None);
        ProfileOverrides {
            max_queued_messages: Some(2),
            ..Default::default()
        }
        .apply(&mut p);
        assert_eq!(p.max_queued_messages, Some(2));
    }
}
