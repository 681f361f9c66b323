//! MQTT control packets as the engine models them: every field that session behaviour depends on,
//! for both 3.1.1 and 5.0. (Wire encoding is a separate concern.)

use crate::types::{ClientId, MsgId, PacketId, Payload, QoS, Text, Version};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Reason codes used by the engine (MQTT 5.0 §2.4; 3.1.1 CONNACK return codes are separate).
pub mod reason {
    pub const SUCCESS: u8 = 0x00;
    pub const DISCONNECT_WITH_WILL: u8 = 0x04;
    pub const NO_MATCHING_SUBSCRIBERS: u8 = 0x10;
    pub const NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
    pub const UNSPECIFIED_ERROR: u8 = 0x80;
    pub const MALFORMED_PACKET: u8 = 0x81;
    pub const PROTOCOL_ERROR: u8 = 0x82;
    pub const CLIENT_ID_NOT_VALID: u8 = 0x85;
    pub const SERVER_UNAVAILABLE: u8 = 0x88;
    pub const SERVER_BUSY: u8 = 0x89;
    pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
    pub const SESSION_TAKEN_OVER: u8 = 0x8E;
    pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
    pub const PACKET_ID_NOT_FOUND: u8 = 0x92;
    pub const RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
    pub const QUOTA_EXCEEDED: u8 = 0x97;
    pub const QOS_NOT_SUPPORTED: u8 = 0x9B;
    pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;

    /// 3.1.1 CONNACK return codes (§3.2.2.3).
    pub const V311_IDENTIFIER_REJECTED: u8 = 0x02;
    pub const V311_SERVER_UNAVAILABLE: u8 = 0x03;

    /// A short name for a reason code, for traces and the page.
    pub fn name(code: u8, v5: bool) -> &'static str {
        if !v5 {
            return match code {
                0x00 => "Connection accepted",
                0x01 => "Unacceptable protocol version",
                0x02 => "Identifier rejected",
                0x03 => "Server unavailable",
                0x04 => "Bad user name or password",
                0x05 => "Not authorized",
                0x80 => "Failure",
                _ => "Unknown",
            };
        }
        match code {
            0x00 => "Success",
            0x01 => "Granted QoS 1",
            0x02 => "Granted QoS 2",
            0x04 => "Disconnect with Will Message",
            0x10 => "No matching subscribers",
            0x11 => "No subscription existed",
            0x80 => "Unspecified error",
            0x81 => "Malformed Packet",
            0x82 => "Protocol Error",
            0x85 => "Client Identifier not valid",
            0x88 => "Server unavailable",
            0x89 => "Server busy",
            0x8B => "Server shutting down",
            0x8D => "Keep Alive timeout",
            0x8E => "Session taken over",
            0x8F => "Topic Filter invalid",
            0x92 => "Packet Identifier not found",
            0x93 => "Receive Maximum exceeded",
            0x97 => "Quota exceeded",
            0x9B => "QoS not supported",
            _ => "Unknown",
        }
    }
}

/// Every control packet type the session model exchanges, in the specification's order.
pub const PACKET_TYPES: [&str; 14] = [
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
];

/// A Will Message as given in CONNECT (§3.1.2.5 / §3.1.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Will {
    pub topic: Text,
    pub payload: Payload,
    pub qos: QoS,
    pub retain: bool,
    /// Will Delay Interval in seconds (5.0 only; 0 when absent).
    pub delay: u32,
    /// Message Expiry Interval of the will (5.0 only).
    pub message_expiry: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    pub version: Version,
    pub client_id: ClientId,
    /// Clean Session (3.1.1) or Clean Start (5.0).
    pub clean_start: bool,
    pub keep_alive: u16,
    /// 5.0 Session Expiry Interval property; `None` when absent (which means 0).
    pub session_expiry: Option<u32>,
    /// 5.0 Receive Maximum property; `None` when absent (which means 65,535).
    pub receive_maximum: Option<u16>,
    pub will: Option<Will>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connack {
    pub session_present: bool,
    /// 3.1.1 return code or 5.0 reason code.
    pub code: u8,
    /// 5.0 Assigned Client Identifier.
    pub assigned_client_id: Option<ClientId>,
    /// 5.0 Session Expiry Interval the server imposes.
    pub session_expiry: Option<u32>,
    /// 5.0 Server Keep Alive.
    pub server_keep_alive: Option<u16>,
    /// 5.0 Receive Maximum of the server.
    pub receive_maximum: Option<u16>,
    /// 5.0 Maximum QoS, sent when the server supports less than QoS 2.
    pub maximum_qos: Option<QoS>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: Text,
    /// Present for QoS 1 and 2.
    pub packet_id: Option<PacketId>,
    pub payload: Payload,
    /// 5.0 Message Expiry Interval in seconds.
    pub message_expiry: Option<u32>,
    /// 5.0 Subscription Identifiers (server to client only).
    pub subscription_ids: Vec<u32>,
    /// The engine's trace id of the application message (not on the wire; a scenario's `send`
    /// step may leave it out: the world gives the message a fresh one).
    #[serde(default)]
    pub msg: MsgId,
}

/// Subscription options of one topic filter (§3.8.3.1; 3.1.1 has only the QoS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOptions {
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
}

impl SubOptions {
    pub fn qos(qos: QoS) -> SubOptions {
        SubOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    pub packet_id: PacketId,
    pub filters: Vec<(String, SubOptions)>,
    /// 5.0 Subscription Identifier.
    pub subscription_id: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disconnect {
    /// 5.0 reason code (3.1.1 DISCONNECT has none: always 0 here).
    pub reason: u8,
    /// 5.0 Session Expiry Interval in DISCONNECT (§3.14.2.2.2).
    pub session_expiry: Option<u32>,
}

/// Every control packet the session model exchanges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum Packet {
    Connect(Connect),
    Connack(Connack),
    Publish(Publish),
    Puback {
        packet_id: PacketId,
        reason: u8,
    },
    Pubrec {
        packet_id: PacketId,
        reason: u8,
    },
    Pubrel {
        packet_id: PacketId,
        reason: u8,
    },
    Pubcomp {
        packet_id: PacketId,
        reason: u8,
    },
    Subscribe(Subscribe),
    Suback {
        packet_id: PacketId,
        codes: Vec<u8>,
    },
    Unsubscribe {
        packet_id: PacketId,
        filters: Vec<String>,
    },
    Unsuback {
        packet_id: PacketId,
        codes: Vec<u8>,
    },
    Pingreq,
    Pingresp,
    Disconnect(Disconnect),
}

impl Packet {
    /// The control packet type number of the fixed header (§2.1.2): 1 for CONNECT to 14 for
    /// DISCONNECT.
    pub fn type_code(&self) -> u8 {
        match self {
            Packet::Connect(_) => 1,
            Packet::Connack(_) => 2,
            Packet::Publish(_) => 3,
            Packet::Puback { .. } => 4,
            Packet::Pubrec { .. } => 5,
            Packet::Pubrel { .. } => 6,
            Packet::Pubcomp { .. } => 7,
            Packet::Subscribe(_) => 8,
            Packet::Suback { .. } => 9,
            Packet::Unsubscribe { .. } => 10,
            Packet::Unsuback { .. } => 11,
            Packet::Pingreq => 12,
            Packet::Pingresp => 13,
            Packet::Disconnect(_) => 14,
        }
    }

    /// The packet type name as the specification writes it.
    pub fn kind(&self) -> &'static str {
        PACKET_TYPES[usize::from(self.type_code()) - 1]
    }
}

/// "1, 2, 3" (Debug formatting would pull a lot of code into the wasm page).
pub fn join<T: fmt::Display>(items: &[T]) -> String {
    let mut s = String::new();
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&x.to_string());
    }
    s
}

fn opt_reason(f: &mut fmt::Formatter<'_>, reason: u8) -> fmt::Result {
    if reason != 0 {
        write!(f, " rc=0x{reason:02X}")?;
    }
    Ok(())
}

impl fmt::Display for Packet {
    /// A one-line summary with the fields that matter for sessions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::Connect(c) => {
                let cs = if c.version.is_v5() {
                    "CleanStart"
                } else {
                    "CleanSession"
                };
                write!(
                    f,
                    "CONNECT v{} id=\"{}\" {}={} keepalive={}",
                    c.version.label(),
                    c.client_id,
                    cs,
                    u8::from(c.clean_start),
                    c.keep_alive
                )?;
                if let Some(sei) = c.session_expiry {
                    write!(f, " SEI={}", crate::types::format_expiry(sei))?;
                }
                if let Some(rm) = c.receive_maximum {
                    write!(f, " ReceiveMax={rm}")?;
                }
                if let Some(w) = &c.will {
                    write!(f, " will={}@q{}", w.topic, w.qos.as_u8())?;
                    if w.delay > 0 {
                        write!(f, " WillDelay={}s", w.delay)?;
                    }
                }
                Ok(())
            }
            Packet::Connack(c) => {
                write!(
                    f,
                    "CONNACK SP={} rc=0x{:02X}",
                    u8::from(c.session_present),
                    c.code
                )?;
                if let Some(id) = &c.assigned_client_id {
                    write!(f, " AssignedClientId=\"{id}\"")?;
                }
                if let Some(sei) = c.session_expiry {
                    write!(f, " SEI={}", crate::types::format_expiry(sei))?;
                }
                if let Some(ka) = c.server_keep_alive {
                    write!(f, " ServerKeepAlive={ka}")?;
                }
                Ok(())
            }
            Packet::Publish(p) => {
                write!(f, "PUBLISH {} q{}", p.topic, p.qos.as_u8())?;
                if let Some(id) = p.packet_id {
                    write!(f, " id={id}")?;
                }
                if p.dup {
                    write!(f, " DUP")?;
                }
                if p.retain {
                    write!(f, " RETAIN")?;
                }
                if let Some(mei) = p.message_expiry {
                    write!(f, " MEI={mei}s")?;
                }
                if !p.subscription_ids.is_empty() {
                    write!(f, " SubId=[{}]", join(&p.subscription_ids))?;
                }
                write!(f, " \"{}\"", p.payload)
            }
            Packet::Puback { packet_id, reason }
            | Packet::Pubrec { packet_id, reason }
            | Packet::Pubrel { packet_id, reason }
            | Packet::Pubcomp { packet_id, reason } => {
                write!(f, "{} id={packet_id}", self.kind())?;
                opt_reason(f, *reason)
            }
            Packet::Subscribe(s) => {
                write!(f, "SUBSCRIBE id={}", s.packet_id)?;
                for (filter, o) in &s.filters {
                    write!(f, " {filter}@q{}", o.qos.as_u8())?;
                    if o.no_local {
                        write!(f, " NL")?;
                    }
                    if o.retain_as_published {
                        write!(f, " RAP")?;
                    }
                    if o.retain_handling != 0 {
                        write!(f, " RH={}", o.retain_handling)?;
                    }
                }
                if let Some(id) = s.subscription_id {
                    write!(f, " SubId={id}")?;
                }
                Ok(())
            }
            Packet::Suback { packet_id, codes } => {
                write!(f, "SUBACK id={packet_id} [{}]", join(codes))
            }
            Packet::Unsubscribe { packet_id, filters } => {
                write!(f, "UNSUBSCRIBE id={packet_id} {}", filters.join(" "))
            }
            Packet::Unsuback { packet_id, codes } => {
                write!(f, "UNSUBACK id={packet_id}")?;
                if !codes.is_empty() {
                    write!(f, " [{}]", join(codes))?;
                }
                Ok(())
            }
            Packet::Pingreq => f.write_str("PINGREQ"),
            Packet::Pingresp => f.write_str("PINGRESP"),
            Packet::Disconnect(d) => {
                write!(f, "DISCONNECT")?;
                opt_reason(f, d.reason)?;
                if let Some(sei) = d.session_expiry {
                    write!(f, " SEI={}", crate::types::format_expiry(sei))?;
                }
                Ok(())
            }
        }
    }
}
