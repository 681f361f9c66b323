//! Outputs named by intent. A trace is the ordered log of these.

use crate::packet::{reason, Packet};
use crate::types::{
    format_duration_ms, format_expiry, ClientId, ConnId, MsgId, PacketId, QoS, SimTime, Version,
};
use crate::types::{Payload, Text, WireBytes};
use serde::Serialize;

/// Why a network connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason_code")]
pub enum CloseCause {
    /// The client sent DISCONNECT with this reason code.
    ClientDisconnect(u8),
    /// The network failed (the broker saw the TCP connection drop).
    NetworkLost,
    /// 1.5 x Keep Alive passed without a packet.
    KeepAliveTimeout,
    /// Another connection took over the client id.
    TakenOver,
    /// The broker closed the connection over a Malformed Packet or a Protocol Error (5.0 §4.13;
    /// 3.1.1 calls both a protocol violation, §4.8).
    ProtocolError,
    /// The broker refused the CONNECT.
    ConnectRefused,
    /// The broker stopped.
    BrokerStopped,
}

impl CloseCause {
    /// A phrase for people saying why the connection ended (it follows "closed:" in the trace).
    pub fn describe(self) -> String {
        match self {
            CloseCause::ClientDisconnect(0) => "the client sent DISCONNECT".into(),
            CloseCause::ClientDisconnect(rc) => {
                format!(
                    "the client sent DISCONNECT 0x{rc:02X} ({})",
                    reason::name(rc, true)
                )
            }
            CloseCause::NetworkLost => "the network connection was lost".into(),
            CloseCause::KeepAliveTimeout => "the keep-alive timer ran out".into(),
            CloseCause::TakenOver => "another connection took over the client id".into(),
            CloseCause::ProtocolError => "a Malformed Packet or Protocol Error".into(),
            CloseCause::ConnectRefused => "the CONNECT was refused".into(),
            CloseCause::BrokerStopped => "the broker stopped".into(),
        }
    }
}

/// Why a message copy did not reach a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DropReason {
    /// QoS 0 for an offline session, and the broker does not queue QoS 0.
    Qos0NotQueued,
    /// The queue was full and the new message was dropped.
    QueueFull {
        /// The queue limit, in messages (`max_queued_messages` of the profile).
        limit: u32,
    },
    /// The queue was full and this, the oldest message, made room for a new one.
    QueueFullOldest {
        /// The queue limit, in messages (`max_queued_messages` of the profile).
        limit: u32,
    },
    /// The Message Expiry Interval passed while it waited.
    MessageExpired,
    /// It had been sent, was unacknowledged, and expired before the resend (broker deviation).
    ExpiredInFlight,
    /// Its session ended (expiry, or a connection with Session Expiry 0 closed).
    SessionEnded,
    /// Its session was discarded by a Clean Start connection.
    CleanStart,
    /// The broker restarted without keeping the session.
    BrokerRestart,
}

impl DropReason {
    /// A phrase for people saying why the copy was dropped.
    pub fn describe(self) -> String {
        match self {
            DropReason::Qos0NotQueued => "QoS 0 is not queued for an offline client by this broker".into(),
            DropReason::QueueFull { limit } => format!("the session queue was full ({limit} messages): the newest message is dropped"),
            DropReason::QueueFullOldest { limit } => format!("the session queue was full ({limit} messages): the oldest message is dropped to make room"),
            DropReason::MessageExpired => "its Message Expiry Interval passed while it was queued".into(),
            DropReason::ExpiredInFlight => "it expired while unacknowledged, and this broker drops it instead of resending".into(),
            DropReason::SessionEnded => "the session that held it ended".into(),
            DropReason::CleanStart => "a connection with Clean Start (5.0) / Clean Session (3.1.1) = 1 discarded the session that held it".into(),
            DropReason::BrokerRestart => "the broker restarted and did not keep the session".into(),
        }
    }

    /// A stable machine name for the JSON trace.
    pub fn code(self) -> &'static str {
        match self {
            DropReason::Qos0NotQueued => "qos0_not_queued",
            DropReason::QueueFull { .. } => "queue_full",
            DropReason::QueueFullOldest { .. } => "queue_full_oldest_dropped",
            DropReason::MessageExpired => "message_expired",
            DropReason::ExpiredInFlight => "expired_in_flight",
            DropReason::SessionEnded => "session_ended",
            DropReason::CleanStart => "clean_start",
            DropReason::BrokerRestart => "broker_restart",
        }
    }
}

/// Things the broker did, each with the rule that made it do so.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BrokerEvent {
    /// The broker accepted a CONNECT; emitted just before the CONNACK with code 0 is sent.
    ConnectAccepted {
        /// Client Identifier of the session: the one in CONNECT, or the one the broker assigned for
        /// an empty one.
        client_id: ClientId,
        /// The connection the CONNECT arrived on.
        conn: ConnId,
        /// Session Present flag of the CONNACK: a stored session was resumed.
        session_present: bool,
        /// Clean Start (5.0) / Clean Session (3.1.1) flag of the CONNECT.
        clean_start: bool,
        /// Protocol version of the accepted connection.
        version: Version,
        /// Session Expiry Interval in force, seconds, after the profile's cap (0: the session ends
        /// with the connection; `NEVER_EXPIRE`: it never expires).
        expiry: u32,
    },
    /// The broker refused a CONNECT; emitted after the error CONNACK is queued (if any) and before
    /// the connection is closed.
    ConnectRefused {
        /// Client Identifier of the refused CONNECT (empty if it carried none and none was assigned
        /// yet).
        client_id: ClientId,
        /// The connection the CONNECT arrived on.
        conn: ConnId,
        /// CONNACK return code (3.1.1) or reason code (5.0) that was sent; 0 when the broker closed
        /// the connection without sending a CONNACK.
        code: u8,
        /// Why the CONNECT was refused, for people.
        why: String,
        /// The statement, section or broker behaviour that decides the refusal.
        cite: &'static str,
    },
    /// An accepted CONNECT starts a new session: none was stored, or Clean Start discarded it.
    SessionCreated {
        /// Client Identifier of the new session.
        client_id: ClientId,
        /// Session Expiry Interval in force, seconds (0: the session ends with the connection;
        /// `NEVER_EXPIRE`: it never expires).
        expiry: u32,
        /// The statement that makes the session new.
        cite: &'static str,
    },
    /// A CONNECT with Clean Start = 0 resumes a stored session (CONNACK Session Present = 1).
    SessionResumed {
        /// Client Identifier of the resumed session.
        client_id: ClientId,
        /// Messages waiting in the session's queue when it resumed.
        queued: usize,
        /// Messages sent and not yet completely acknowledged when it resumed; they are sent again.
        inflight: usize,
        /// The statement that makes the broker resume the session.
        cite: &'static str,
    },
    /// A CONNECT with Clean Start = 1 found a stored session and discarded it, with every message
    /// it held.
    SessionDiscarded {
        /// Client Identifier of the discarded session.
        client_id: ClientId,
        /// The statement that makes Clean Start discard the session.
        cite: &'static str,
    },
    /// A session whose Session Expiry Interval is 0 (a 3.1.1 Clean Session) ended with its
    /// connection, or with the old connection a takeover closed.
    SessionEnded {
        /// Client Identifier of the ended session.
        client_id: ClientId,
        /// The statement that ends the session with the connection.
        cite: &'static str,
    },
    /// A connection closed and the broker stores its session (Session Expiry Interval above 0).
    SessionStored {
        /// Client Identifier of the stored session.
        client_id: ClientId,
        /// When the stored session expires, simulated time; `None` if it never does.
        expires_at: Option<SimTime>,
        /// The statement that makes the broker keep the session.
        cite: &'static str,
    },
    /// A stored session's Session Expiry Interval passed while no client was connected to it: the
    /// broker deletes it, with the messages it held.
    SessionExpired {
        /// Client Identifier of the expired session.
        client_id: ClientId,
        /// The Session Expiry Interval that ran out, seconds.
        expiry: u32,
        /// The statement or section that ends the session.
        cite: &'static str,
    },
    /// A CONNECT arrived on a new connection with the Client Identifier of a connected session: the
    /// broker closes the old connection.
    SessionTakenOver {
        /// Client Identifier both connections use.
        client_id: ClientId,
        /// The existing connection, which the broker closes.
        old_conn: ConnId,
        /// The new connection, whose CONNECT takes the session over.
        new_conn: ConnId,
        /// The statement that makes the broker close the existing connection.
        cite: &'static str,
    },
    /// The broker stopped and did not keep this session for its restart.
    SessionLostAtRestart {
        /// Client Identifier of the lost session.
        client_id: ClientId,
        /// Why the session was not kept, for people.
        why: String,
    },
    /// The broker's end of a session's connection closed: a DISCONNECT, a lost link, a keep-alive
    /// timeout or a protocol error. Not emitted for a takeover or a broker stop.
    ConnectionClosed {
        /// Client Identifier of the connection's session.
        client_id: ClientId,
        /// The connection that closed.
        conn: ConnId,
        /// Why it closed.
        cause: CloseCause,
    },
    /// No packet arrived within 1.5 x Keep Alive (as the profile checks it): the broker closes the
    /// connection.
    KeepAliveTimeout {
        /// Client Identifier of the silent connection.
        client_id: ClientId,
        /// The silent connection.
        conn: ConnId,
        /// Keep Alive in force on the connection, seconds.
        keep_alive: u16,
        /// The statement that makes the broker close a silent connection.
        cite: &'static str,
    },
    /// The broker closes a connection over a Malformed Packet or Protocol Error (or a 5.0 Receive
    /// Maximum exceeded) from the client.
    ProtocolError {
        /// Client Identifier of the offending connection's session.
        client_id: ClientId,
        /// The connection being closed.
        conn: ConnId,
        /// What the client did wrong, for people, with the statement it breaks where known.
        what: String,
        /// The 5.0 reason code of the fault (0x81, 0x82, 0x93).
        code: u8,
        /// What the client is told before the close.
        notice: Notice,
    },
    /// The broker added or replaced a subscription; one event per accepted topic filter of a
    /// SUBSCRIBE.
    Subscribed {
        /// Client Identifier of the subscribing session.
        client_id: ClientId,
        /// The topic filter as subscribed, including any `$share/name/` prefix.
        filter: String,
        /// The QoS granted: the requested one, capped at the broker's maximum QoS.
        granted: QoS,
        /// The session already had a subscription with this exact filter, which this one replaces.
        replaced: bool,
    },
    /// The broker handled one topic filter of an UNSUBSCRIBE.
    Unsubscribed {
        /// Client Identifier of the unsubscribing session.
        client_id: ClientId,
        /// The topic filter as the UNSUBSCRIBE gave it.
        filter: String,
        /// The session had a subscription with this filter, now removed.
        existed: bool,
    },
    /// An application message (a client's PUBLISH or a will) was matched against every session's
    /// subscriptions; emitted before its copies are sent or queued.
    MessageRouted {
        /// Client Identifier of the publisher, or of the client whose will it is.
        from: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// Topic Name of the message.
        topic: Text,
        /// QoS the message was published with.
        qos: QoS,
        /// Copies made for subscribers (overlapping subscriptions can give one session several).
        copies: usize,
        /// The statement that decides who gets a copy: every session with a matching
        /// subscription, and nobody else.
        cite: &'static str,
    },
    /// A copy went out at once to an online subscriber, without waiting in its queue. Copies sent
    /// later from the queue have no event of their own (their PUBLISH is in the trace); resends
    /// after a resume are [`BrokerEvent::MessageResent`].
    MessageSent {
        /// Client Identifier of the subscriber.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// QoS of this copy (the published QoS, downgraded to the granted QoS).
        qos: QoS,
    },
    /// A copy was put in a subscriber session's queue: the client is offline, or its in-flight
    /// window is full.
    MessageQueued {
        /// Client Identifier of the subscriber.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// Topic Name of the message.
        topic: Text,
        /// QoS of this copy.
        qos: QoS,
        /// Copies in the queue, this one included.
        queue_len: usize,
        /// The subscriber is connected: the copy waits behind earlier queued copies or for room in
        /// the in-flight window.
        online: bool,
        /// The statement (or, where the specification sets no rule, the broker setting) that makes
        /// the copy wait: the stored session of an offline client, or the in-flight window.
        cite: &'static str,
    },
    /// A copy goes out at a lower QoS than the message was published with: the QoS granted to the
    /// matching subscription. Emitted before the copy is sent, queued or dropped.
    CopyDowngraded {
        /// Client Identifier of the subscriber.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// QoS the message was published with.
        published: QoS,
        /// QoS of this copy: the lower of the published and the granted QoS.
        qos: QoS,
        /// The statement that sets the copy's QoS.
        cite: &'static str,
    },
    /// A resumed session gets again a copy that was sent and not completely acknowledged before:
    /// its PUBLISH with DUP = 1, or (QoS 2, after PUBREC) its PUBREL. Emitted before the packet is
    /// sent.
    MessageResent {
        /// Client Identifier of the subscriber.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// Packet Identifier of the first send, used again.
        packet_id: PacketId,
        /// The PUBREL is resent (the subscriber had sent PUBREC), not the PUBLISH: the
        /// application does not receive the message again.
        pubrel: bool,
        /// The statement that makes the broker resend.
        cite: &'static str,
    },
    /// A subscriber completed a QoS 1 (PUBACK) or QoS 2 (PUBCOMP) delivery: the copy leaves its
    /// session.
    MessageAcknowledged {
        /// Client Identifier of the subscriber.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// Packet Identifier the delivery used, now free again.
        packet_id: PacketId,
    },
    /// A copy for a session was discarded without being delivered.
    MessageDropped {
        /// Client Identifier of the session that held or would have held the copy.
        client_id: ClientId,
        /// The engine's id of the message.
        msg: MsgId,
        /// Topic Name of the message.
        topic: Text,
        /// QoS of the copy.
        qos: QoS,
        /// Why the copy was dropped.
        reason: DropReason,
        /// The statement, section or broker source behind the drop.
        cite: &'static str,
    },
    /// A PUBLISH with RETAIN = 1 and a non-empty payload became the retained message of its topic.
    RetainedStored {
        /// Topic Name the message is retained for.
        topic: Text,
        /// The engine's id of the retained message.
        msg: MsgId,
    },
    /// A PUBLISH with RETAIN = 1 and an empty payload deleted the retained message of its topic
    /// (emitted only if there was one).
    RetainedCleared {
        /// Topic Name whose retained message was deleted.
        topic: Text,
    },
    /// The retained message of a topic reached its Message Expiry Interval and was deleted.
    RetainedExpired {
        /// Topic Name whose retained message expired.
        topic: Text,
    },
    /// A will is held back for its Will Delay Interval (5.0 §3.1.3.2.2), in its session or, on a
    /// profile that keeps wills past their session, on its own.
    WillScheduled {
        /// Client Identifier whose will it is.
        client_id: ClientId,
        /// When the will is to be published, simulated time, unless the client reconnects first.
        due: SimTime,
        /// The statement, section or broker source that delays the will.
        cite: &'static str,
    },
    /// The broker published a will; emitted before the will message is routed like a PUBLISH.
    WillPublished {
        /// Client Identifier whose will it is.
        client_id: ClientId,
        /// Will Topic, the topic the will is published on.
        topic: Text,
        /// The engine's id of the will message.
        msg: MsgId,
        /// The statement, section or broker source that makes the will go out now.
        cite: &'static str,
    },
    /// A will was thrown away without being published.
    WillDiscarded {
        /// Client Identifier whose will it is.
        client_id: ClientId,
        /// Why the will was discarded, for people.
        why: String,
        /// The statement, section or broker source that discards the will.
        cite: &'static str,
    },
    /// The broker process stopped: every connection closed, and each session was kept or lost as
    /// the profile's persistence says.
    BrokerStopped {
        /// Sessions kept for the restart.
        sessions_kept: usize,
        /// Sessions lost in the stop.
        sessions_lost: usize,
    },
    /// The broker process started again.
    BrokerStarted {
        /// Stored sessions the broker starts with.
        sessions: usize,
    },
    /// The chosen broker profile departs from the specification here.
    Deviation {
        /// The statement or section the broker departs from.
        rule: &'static str,
        /// What the specification says should happen.
        spec: String,
        /// What this broker does instead.
        broker: String,
    },
    /// An explanation that is not a state change.
    Note {
        /// The explanation, for people.
        text: String,
        /// The statement or section the explanation rests on.
        cite: &'static str,
    },
}

impl BrokerEvent {
    /// The rule or source that decided this, if any.
    pub fn cite(&self) -> Option<&'static str> {
        match self {
            BrokerEvent::ConnectRefused { cite, .. }
            | BrokerEvent::SessionCreated { cite, .. }
            | BrokerEvent::SessionResumed { cite, .. }
            | BrokerEvent::SessionDiscarded { cite, .. }
            | BrokerEvent::SessionEnded { cite, .. }
            | BrokerEvent::SessionStored { cite, .. }
            | BrokerEvent::SessionExpired { cite, .. }
            | BrokerEvent::SessionTakenOver { cite, .. }
            | BrokerEvent::KeepAliveTimeout { cite, .. }
            | BrokerEvent::MessageDropped { cite, .. }
            | BrokerEvent::MessageRouted { cite, .. }
            | BrokerEvent::MessageQueued { cite, .. }
            | BrokerEvent::CopyDowngraded { cite, .. }
            | BrokerEvent::MessageResent { cite, .. }
            | BrokerEvent::WillScheduled { cite, .. }
            | BrokerEvent::WillPublished { cite, .. }
            | BrokerEvent::WillDiscarded { cite, .. }
            | BrokerEvent::Note { cite, .. } => Some(cite),
            BrokerEvent::Deviation { rule, .. } => Some(rule),
            BrokerEvent::ProtocolError { notice, .. } => Some(match notice {
                Notice::V311 => "[MQTT-4.8.0-1] 3.1.1",
                Notice::Disconnect => "[MQTT-4.13.1-1] 5.0, §4.13.1",
                Notice::CloseOnly => "[MQTT-4.13.1-1] 5.0",
            }),
            _ => None,
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            // 3.1.1 has no Session Expiry Interval: Clean Session alone says what is kept.
            BrokerEvent::ConnectAccepted { client_id, session_present, clean_start, version, expiry, .. } => if version.is_v5() {
                format!(
                    "Broker accepts \"{client_id}\" (clean start {}, session expiry {}): Session Present = {}.",
                    u8::from(*clean_start),
                    format_expiry(*expiry),
                    u8::from(*session_present)
                )
            } else {
                format!(
                    "Broker accepts \"{client_id}\" (clean session {}): Session Present = {}.",
                    u8::from(*clean_start),
                    u8::from(*session_present)
                )
            },
            BrokerEvent::ConnectRefused { client_id, code, why, .. } => {
                format!("Broker refuses \"{client_id}\" (code 0x{code:02X}): {why}.")
            }
            BrokerEvent::SessionCreated { client_id, expiry, .. } => match *expiry {
                0 => format!("New session for \"{client_id}\"; it ends when this connection closes."),
                crate::types::NEVER_EXPIRE => format!("New session for \"{client_id}\"; the broker keeps it after a disconnect, with no expiry."),
                e => format!("New session for \"{client_id}\"; the broker keeps it for {} after a disconnect.", format_expiry(e)),
            },
            BrokerEvent::SessionResumed { client_id, queued, inflight, .. } => format!(
                "Existing session of \"{client_id}\" resumed with {queued} queued and {inflight} unacknowledged message(s)."
            ),
            BrokerEvent::SessionDiscarded { client_id, .. } => {
                format!("Clean Start (5.0) / Clean Session (3.1.1) = 1: the stored session of \"{client_id}\" is discarded.")
            }
            BrokerEvent::SessionEnded { client_id, .. } => {
                format!("The session of \"{client_id}\" ends with its connection.")
            }
            BrokerEvent::SessionStored { client_id, expires_at, .. } => match expires_at {
                Some(t) => format!("The session of \"{client_id}\" is stored until {t}."),
                None => format!("The session of \"{client_id}\" is stored with no expiry."),
            },
            BrokerEvent::SessionExpired { client_id, expiry, .. } => format!(
                "The session of \"{client_id}\" expired ({} after the disconnect) and is deleted.",
                format_expiry(*expiry)
            ),
            BrokerEvent::SessionTakenOver { client_id, old_conn, new_conn, .. } => format!(
                "Connection {new_conn} uses the client id \"{client_id}\" of connection {old_conn}: the old connection is closed."
            ),
            BrokerEvent::SessionLostAtRestart { client_id, why } => {
                format!("The session of \"{client_id}\" is lost in the restart: {why}.")
            }
            BrokerEvent::ConnectionClosed { client_id, conn, cause } => {
                format!("Connection {conn} of \"{client_id}\" closed: {}.", cause.describe())
            }
            BrokerEvent::KeepAliveTimeout { client_id, keep_alive, .. } => format!(
                "No packet from \"{client_id}\" for 1.5 x {keep_alive} s: the broker closes the connection."
            ),
            BrokerEvent::ProtocolError { client_id, what, code, notice, .. } => {
                let head = if *code == reason::MALFORMED_PACKET {
                    format!("Malformed packet from \"{client_id}\": {what}.")
                } else {
                    format!("Protocol error by \"{client_id}\": {what}.")
                };
                let code = format!("0x{code:02X} ({})", reason::name(*code, true));
                match notice {
                    Notice::V311 => format!("{head} The broker closes the connection (a 3.1.1 server has no DISCONNECT to say why)."),
                    Notice::Disconnect => format!("{head} The broker sends DISCONNECT {code} and closes the connection."),
                    Notice::CloseOnly => format!("{head} The broker closes the connection without first sending the DISCONNECT {code} that 5.0 §4.13.1 says it should."),
                }
            }
            BrokerEvent::Subscribed { client_id, filter, granted, replaced } => format!(
                "\"{client_id}\" {} {filter} (granted {granted}).",
                if *replaced { "re-subscribes to" } else { "subscribes to" }
            ),
            BrokerEvent::Unsubscribed { client_id, filter, existed } => {
                if *existed {
                    format!("\"{client_id}\" unsubscribes from {filter}.")
                } else {
                    format!("\"{client_id}\" unsubscribes from {filter}, which it did not have.")
                }
            }
            BrokerEvent::MessageRouted { from, msg, topic, qos, copies, .. } => match copies {
                0 => format!("Message {msg} from \"{from}\" on {topic} at {qos} matches no subscription: nobody gets it."),
                1 => format!("Message {msg} from \"{from}\" on {topic} at {qos} matches one subscription."),
                n => format!("Message {msg} from \"{from}\" on {topic} at {qos} goes out as {n} copies."),
            },
            BrokerEvent::MessageSent { client_id, msg, qos } => {
                format!("Message {msg} goes to \"{client_id}\" at {qos}.")
            }
            BrokerEvent::MessageQueued { client_id, msg, qos, queue_len, online, .. } => format!(
                "Message {msg} ({qos}) is queued for \"{client_id}\"{} ({queue_len} waiting).",
                if *online { " behind the in-flight window" } else { ", which is offline" }
            ),
            BrokerEvent::CopyDowngraded { client_id, msg, published, qos, .. } => format!(
                "The copy of {msg} for \"{client_id}\" is {qos}, the QoS its subscription was granted, not {published} as published."
            ),
            BrokerEvent::MessageResent { client_id, msg, packet_id, pubrel, .. } => {
                if *pubrel {
                    format!("The session of \"{client_id}\" resumed: the PUBREL of {msg} (packet id {packet_id}) is sent again.")
                } else {
                    format!("The session of \"{client_id}\" resumed: {msg} is sent again with DUP = 1 (packet id {packet_id}).")
                }
            }
            BrokerEvent::MessageAcknowledged { client_id, msg, packet_id } => {
                format!("\"{client_id}\" completed message {msg} (packet id {packet_id}).")
            }
            BrokerEvent::MessageDropped { client_id, msg, reason, .. } => {
                format!("Message {msg} for \"{client_id}\" is dropped: {}.", reason.describe())
            }
            BrokerEvent::RetainedStored { topic, msg } => {
                format!("Message {msg} is now the retained message of {topic}.")
            }
            BrokerEvent::RetainedCleared { topic } => format!("The retained message of {topic} is cleared."),
            BrokerEvent::RetainedExpired { topic } => format!("The retained message of {topic} expired."),
            BrokerEvent::WillScheduled { client_id, due, .. } => {
                format!("The will of \"{client_id}\" will be published at {due} unless the client reconnects.")
            }
            BrokerEvent::WillPublished { client_id, topic, msg, .. } => {
                format!("The will of \"{client_id}\" is published on {topic} as message {msg}.")
            }
            BrokerEvent::WillDiscarded { client_id, why, .. } => {
                format!("The will of \"{client_id}\" is discarded: {why}.")
            }
            BrokerEvent::BrokerStopped { sessions_kept, sessions_lost } => format!(
                "The broker stops: {sessions_kept} session(s) saved, {sessions_lost} lost."
            ),
            BrokerEvent::BrokerStarted { sessions } => {
                format!("The broker starts with {sessions} stored session(s).")
            }
            BrokerEvent::Deviation { spec, broker, .. } => {
                format!("Specification: {spec}. This broker: {broker}.")
            }
            BrokerEvent::Note { text, .. } => text.clone(),
        }
    }
}

/// Things a simulated client did or saw.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClientEvent {
    /// The application received a message.
    Delivered {
        /// The engine's id of the message.
        msg: MsgId,
        /// Topic Name of the PUBLISH.
        topic: Text,
        /// Payload of the PUBLISH.
        payload: Payload,
        /// QoS of the PUBLISH as received.
        qos: QoS,
        /// RETAIN flag of the PUBLISH.
        retain: bool,
        /// DUP flag of the PUBLISH: the broker marked it as a resend.
        dup: bool,
        /// The application had already received this message (same `msg`), so it sees it twice.
        duplicate: bool,
        /// Message Expiry Interval the PUBLISH carried, seconds (5.0 only).
        message_expiry: Option<u32>,
        /// Subscription Identifiers the PUBLISH carried (5.0 only).
        subscription_ids: Vec<u32>,
    },
    /// CONNACK arrived.
    Connected {
        /// Session Present flag of the CONNACK.
        session_present: bool,
        /// CONNACK return code (3.1.1) or reason code (5.0); 0 means accepted.
        code: u8,
        /// Assigned Client Identifier of a 5.0 CONNACK, when the broker chose the id.
        assigned_client_id: Option<ClientId>,
    },
    /// The client discarded its own session state because the broker had none ([MQTT-3.2.2-5] 5.0).
    ClientStateDiscarded {
        /// Entries dropped: the client's own unacknowledged publishes plus incoming QoS 2 packet
        /// identifiers still waiting for PUBREL.
        unacked: usize,
    },
    /// The client resends its unacknowledged messages after resuming ([MQTT-4.4.0-1]).
    Resending {
        /// How many of its own unacknowledged messages it resends (PUBLISH with DUP = 1, or
        /// PUBREL).
        count: usize,
    },
    /// The connection ended, seen from the client.
    Disconnected {
        /// The broker ended the connection (it closed it or sent DISCONNECT); false when the client
        /// closed it or the network failed.
        by_broker: bool,
        /// Reason code of a DISCONNECT the broker sent (5.0); `None` otherwise.
        reason_code: Option<u8>,
        /// How the connection ended, for people.
        why: String,
    },
    /// The application published while offline.
    PublishBuffered {
        /// The engine's id of the message.
        msg: MsgId,
        /// Topic Name of the message.
        topic: Text,
        /// Payload of the message.
        payload: Payload,
        /// Messages in the buffer, this one included.
        buffered: usize,
    },
    /// The application published while offline and the client keeps no buffer: the message is lost.
    PublishLost {
        /// The engine's id of the lost message.
        msg: MsgId,
        /// Topic Name of the lost message.
        topic: Text,
        /// Payload of the lost message.
        payload: Payload,
        /// Why the message is lost, for people.
        why: String,
    },
    /// The offline buffer was full: its oldest message was overwritten to make room for a new one.
    BufferDropped {
        /// The engine's id of the message overwritten.
        msg: MsgId,
        /// Topic Name of the message overwritten.
        topic: Text,
    },
    /// The broker accepted our QoS 1/2 message (PUBACK / PUBCOMP).
    PublishCompleted {
        /// The engine's id of the message.
        msg: MsgId,
        /// Packet Identifier the client used for it.
        packet_id: PacketId,
    },
    /// With automatic reconnect on, the client waits its backoff delay before connecting again.
    ReconnectScheduled {
        /// Attempt number, counting from 1 since the last accepted CONNACK.
        attempt: u32,
        /// When the attempt is due, simulated time.
        at: SimTime,
    },
    /// Something the scenario asked of the client could not be done: the broker is not running, the
    /// client is not connected, or the bytes to send end early.
    ConnectFailed {
        /// What could not be done and why, for people.
        why: String,
    },
    /// No PINGRESP: the client gives up on the connection.
    PingTimeout,
    /// A 5.0 client without session state got Session Present = 1 ([MQTT-3.2.2-4] 5.0).
    UnexpectedSessionPresent,
}

impl ClientEvent {
    /// One sentence for people, naming the client `client`.
    pub fn describe(&self, client: &str) -> String {
        match self {
            ClientEvent::Delivered { msg, topic, payload, qos, dup, duplicate, .. } => format!(
                "{client} receives {msg} on {topic} at {qos}: \"{payload}\"{}{}.",
                if *dup { " (DUP = 1)" } else { "" },
                if *duplicate { " - a duplicate the application sees twice" } else { "" }
            ),
            ClientEvent::Connected { session_present, code, assigned_client_id } => {
                if *code != 0 {
                    format!("{client} is refused (code 0x{code:02X}).")
                } else {
                    let mut s = format!("{client} is connected, Session Present = {}", u8::from(*session_present));
                    if let Some(a) = assigned_client_id {
                        s.push_str(&format!(", assigned id \"{a}\""));
                    }
                    s.push('.');
                    s
                }
            }
            ClientEvent::ClientStateDiscarded { unacked } => format!(
                "{client} had {unacked} unacknowledged message(s) but the broker has no session: it discards them."
            ),
            ClientEvent::Resending { count } => format!("{client} resends {count} unacknowledged packet(s)."),
            ClientEvent::Disconnected { why, .. } => format!("{client} is disconnected: {why}."),
            ClientEvent::PublishBuffered { msg, topic, buffered, .. } => format!(
                "{client} is offline: {msg} for {topic} waits in its own buffer ({buffered} buffered)."
            ),
            ClientEvent::PublishLost { msg, topic, why, .. } => format!("{client} loses {msg} for {topic}: {why}."),
            ClientEvent::BufferDropped { msg, topic } => {
                format!("{client}'s buffer is full: the oldest reading {msg} ({topic}) is overwritten.")
            }
            ClientEvent::PublishCompleted { msg, packet_id } => {
                format!("{client}'s message {msg} is acknowledged (packet id {packet_id}).")
            }
            ClientEvent::ReconnectScheduled { attempt, at } => {
                format!("{client} will try to reconnect (attempt {attempt}) at {at}.")
            }
            ClientEvent::ConnectFailed { why } => format!("{client} cannot connect: {why}."),
            ClientEvent::PingTimeout => format!("{client} got no PINGRESP and closes the connection."),
            ClientEvent::UnexpectedSessionPresent => format!(
                "{client} has no session state of its own but the broker says Session Present = 1: a 5.0 client MUST close the connection [MQTT-3.2.2-4] 5.0."
            ),
        }
    }
}

/// Who sent a packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The broker.
    Broker,
    /// The client with this name.
    Client(String),
}

/// What a client is told before the broker closes its connection over a protocol error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A 3.1.1 connection: 3.1.1 has no DISCONNECT from the server, the close is all
    /// ([MQTT-4.8.0-1]).
    V311,
    /// DISCONNECT with the reason code, then the close (5.0 §4.13.1).
    Disconnect,
    /// The close alone, though 5.0 §4.13.1 says the server should send DISCONNECT first.
    CloseOnly,
}

/// One entry of the trace.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceItem {
    /// A control packet leaving its sender on a link (traced even when the link then loses it).
    Packet {
        /// The sender.
        from: Endpoint,
        /// The receiver.
        to: Endpoint,
        /// The connection the packet travels on.
        conn: ConnId,
        /// The packet as modelled.
        packet: Packet,
        /// The link lost the packet: the receiver never gets it.
        lost: bool,
        /// The bytes exactly as the client wrote them, for a packet a scenario's `send` step
        /// gave as hex (other packets are written by the codec from the model packet).
        #[serde(skip_serializing_if = "Option::is_none")]
        raw: Option<WireBytes>,
    },
    /// Bytes a client wrote (a `send` step's hex) that are not a packet the broker can take:
    /// they do not decode on the connection's version, or they are an AUTH packet.
    Undecodable {
        /// Name of the client that wrote the bytes.
        client: String,
        /// The connection they were written on.
        conn: ConnId,
        /// The bytes as the client wrote them.
        raw: WireBytes,
        /// What is wrong with them, with the statement it breaks.
        error: String,
    },
    /// Something the broker decided.
    Broker {
        /// The broker's event.
        event: BrokerEvent,
    },
    /// Something a client did or saw.
    Client {
        /// Name of the client.
        client: String,
        /// The client's event.
        event: ClientEvent,
    },
    /// The network connection of a client closed (seen by both sides).
    LinkClosed {
        /// Name of the client whose connection closed.
        client: String,
        /// The connection that closed.
        conn: ConnId,
    },
}

/// One entry of the trace: what happened, and when.
#[derive(Clone, Debug, Serialize)]
pub struct TraceEntry {
    /// When it happened, simulated time.
    pub time: SimTime,
    /// What happened (its fields are flattened into the entry when serialized).
    #[serde(flatten)]
    pub item: TraceItem,
}

impl TraceEntry {
    /// One line for people, without the time.
    pub fn describe(&self) -> String {
        match &self.item {
            TraceItem::Packet {
                from,
                to,
                packet,
                lost,
                ..
            } => {
                let name = |e: &Endpoint| match e {
                    Endpoint::Broker => "broker".to_string(),
                    Endpoint::Client(c) => c.clone(),
                };
                format!(
                    "{} -> {}: {packet}{}",
                    name(from),
                    name(to),
                    if *lost { "  [LOST on the network]" } else { "" }
                )
            }
            TraceItem::Undecodable {
                client, raw, error, ..
            } => {
                format!("{client} -> broker: bytes {raw}, which are not a packet: {error}")
            }
            TraceItem::Broker { event } => event.describe(),
            TraceItem::Client { client, event } => event.describe(client),
            TraceItem::LinkClosed { client, conn } => {
                format!("The network connection {conn} of {client} is closed.")
            }
        }
    }

    /// The entry's time as the trace shows it (`0s`, `1.5s`, `2m 05s`).
    pub fn time_label(&self) -> String {
        format_duration_ms(self.time.0)
    }
}
