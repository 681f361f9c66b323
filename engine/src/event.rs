//! Outputs named by intent. A trace is the ordered log of these.

use crate::packet::{reason, Packet};
use crate::types::{
    format_duration_ms, format_expiry, ClientId, ConnId, MsgId, PacketId, QoS, SimTime,
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
    /// The broker closed the connection for a protocol error.
    ProtocolError,
    /// The broker refused the CONNECT.
    ConnectRefused,
    /// The broker stopped.
    BrokerStopped,
}

impl CloseCause {
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
            CloseCause::ProtocolError => "a protocol error".into(),
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
    QueueFull { limit: u32 },
    /// The queue was full and this, the oldest message, made room for a new one.
    QueueFullOldest { limit: u32 },
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
    pub fn describe(self) -> String {
        match self {
            DropReason::Qos0NotQueued => "QoS 0 is not queued for an offline client by this broker".into(),
            DropReason::QueueFull { limit } => format!("the session queue was full ({limit} messages): the newest message is dropped"),
            DropReason::QueueFullOldest { limit } => format!("the session queue was full ({limit} messages): the oldest message is dropped to make room"),
            DropReason::MessageExpired => "its Message Expiry Interval passed while it was queued".into(),
            DropReason::ExpiredInFlight => "it expired while unacknowledged, and this broker drops it instead of resending".into(),
            DropReason::SessionEnded => "the session that held it ended".into(),
            DropReason::CleanStart => "a Clean Start connection discarded the session that held it".into(),
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
    ConnectAccepted {
        client_id: ClientId,
        conn: ConnId,
        session_present: bool,
        clean_start: bool,
        expiry: u32,
    },
    ConnectRefused {
        client_id: ClientId,
        conn: ConnId,
        code: u8,
        why: String,
        cite: &'static str,
    },
    SessionCreated {
        client_id: ClientId,
        expiry: u32,
        cite: &'static str,
    },
    SessionResumed {
        client_id: ClientId,
        queued: usize,
        inflight: usize,
        cite: &'static str,
    },
    SessionDiscarded {
        client_id: ClientId,
        cite: &'static str,
    },
    SessionEnded {
        client_id: ClientId,
        cite: &'static str,
    },
    SessionStored {
        client_id: ClientId,
        expires_at: Option<SimTime>,
        cite: &'static str,
    },
    SessionExpired {
        client_id: ClientId,
        expiry: u32,
        cite: &'static str,
    },
    SessionTakenOver {
        client_id: ClientId,
        old_conn: ConnId,
        new_conn: ConnId,
        cite: &'static str,
    },
    SessionLostAtRestart {
        client_id: ClientId,
        why: String,
    },
    ConnectionClosed {
        client_id: ClientId,
        conn: ConnId,
        cause: CloseCause,
    },
    KeepAliveTimeout {
        client_id: ClientId,
        conn: ConnId,
        keep_alive: u16,
        cite: &'static str,
    },
    ProtocolError {
        client_id: ClientId,
        conn: ConnId,
        what: String,
        /// The 5.0 reason code of the fault (0x81, 0x82, 0x93).
        code: u8,
        /// What the client is told before the close.
        notice: Notice,
    },
    Subscribed {
        client_id: ClientId,
        filter: String,
        granted: QoS,
        replaced: bool,
    },
    Unsubscribed {
        client_id: ClientId,
        filter: String,
        existed: bool,
    },
    MessageRouted {
        from: ClientId,
        msg: MsgId,
        topic: Text,
        qos: QoS,
        copies: usize,
    },
    MessageSent {
        client_id: ClientId,
        msg: MsgId,
        qos: QoS,
    },
    MessageQueued {
        client_id: ClientId,
        msg: MsgId,
        topic: Text,
        qos: QoS,
        queue_len: usize,
        online: bool,
    },
    MessageAcknowledged {
        client_id: ClientId,
        msg: MsgId,
        packet_id: PacketId,
    },
    MessageDropped {
        client_id: ClientId,
        msg: MsgId,
        topic: Text,
        qos: QoS,
        reason: DropReason,
        cite: &'static str,
    },
    RetainedStored {
        topic: Text,
        msg: MsgId,
    },
    RetainedCleared {
        topic: Text,
    },
    RetainedExpired {
        topic: Text,
    },
    WillScheduled {
        client_id: ClientId,
        due: SimTime,
        cite: &'static str,
    },
    WillPublished {
        client_id: ClientId,
        topic: Text,
        msg: MsgId,
        cite: &'static str,
    },
    WillDiscarded {
        client_id: ClientId,
        why: String,
        cite: &'static str,
    },
    BrokerStopped {
        sessions_kept: usize,
        sessions_lost: usize,
    },
    BrokerStarted {
        sessions: usize,
    },
    /// The chosen broker profile departs from the specification here.
    Deviation {
        rule: &'static str,
        spec: String,
        broker: String,
    },
    /// An explanation that is not a state change.
    Note {
        text: String,
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
            BrokerEvent::ConnectAccepted { client_id, session_present, clean_start, expiry, .. } => format!(
                "Broker accepts \"{client_id}\" (clean start {}, session expiry {}): Session Present = {}.",
                u8::from(*clean_start),
                format_expiry(*expiry),
                u8::from(*session_present)
            ),
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
                format!("Clean start: the stored session of \"{client_id}\" is discarded.")
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
            BrokerEvent::MessageRouted { from, msg, topic, qos, copies } => match copies {
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
        msg: MsgId,
        topic: Text,
        payload: Payload,
        qos: QoS,
        retain: bool,
        dup: bool,
        duplicate: bool,
        message_expiry: Option<u32>,
        subscription_ids: Vec<u32>,
    },
    /// CONNACK arrived.
    Connected {
        session_present: bool,
        code: u8,
        assigned_client_id: Option<ClientId>,
    },
    /// The client discarded its own session state because the broker had none ([MQTT-3.2.2-5] 5.0).
    ClientStateDiscarded {
        unacked: usize,
    },
    /// The client resends its unacknowledged messages after resuming ([MQTT-4.4.0-1]).
    Resending {
        count: usize,
    },
    /// The connection ended, seen from the client.
    Disconnected {
        by_broker: bool,
        reason_code: Option<u8>,
        why: String,
    },
    /// The application published while offline.
    PublishBuffered {
        msg: MsgId,
        topic: Text,
        payload: Payload,
        buffered: usize,
    },
    PublishLost {
        msg: MsgId,
        topic: Text,
        payload: Payload,
        why: String,
    },
    BufferDropped {
        msg: MsgId,
        topic: Text,
    },
    /// The broker accepted our QoS 1/2 message (PUBACK / PUBCOMP).
    PublishCompleted {
        msg: MsgId,
        packet_id: PacketId,
    },
    ReconnectScheduled {
        attempt: u32,
        at: SimTime,
    },
    ConnectFailed {
        why: String,
    },
    /// No PINGRESP: the client gives up on the connection.
    PingTimeout,
    /// A 5.0 client without session state got Session Present = 1 ([MQTT-3.2.2-4]).
    UnexpectedSessionPresent,
}

impl ClientEvent {
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
                "{client} has no session state of its own but the broker says Session Present = 1: a 5.0 client MUST close the connection [MQTT-3.2.2-4]."
            ),
        }
    }
}

/// Who sent a packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Broker,
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
    Packet {
        from: Endpoint,
        to: Endpoint,
        conn: ConnId,
        packet: Packet,
        lost: bool,
        /// The bytes exactly as the client wrote them, for a packet a scenario's `send` step
        /// gave as hex (other packets are written by the codec from the model packet).
        #[serde(skip_serializing_if = "Option::is_none")]
        raw: Option<WireBytes>,
    },
    /// Bytes a client wrote (a `send` step's hex) that are not a packet the broker can take:
    /// they do not decode on the connection's version, or they are an AUTH packet.
    Undecodable {
        client: String,
        conn: ConnId,
        raw: WireBytes,
        /// What is wrong with them, with the statement it breaks.
        error: String,
    },
    Broker {
        event: BrokerEvent,
    },
    Client {
        client: String,
        event: ClientEvent,
    },
    /// The network connection of a client closed (seen by both sides).
    LinkClosed {
        client: String,
        conn: ConnId,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct TraceEntry {
    pub time: SimTime,
    #[serde(flatten)]
    pub item: TraceItem,
}

impl TraceEntry {
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

    pub fn time_label(&self) -> String {
        format_duration_ms(self.time.0)
    }
}
