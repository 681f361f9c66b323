//! MQTT control packets as the engine models them: every field that session behaviour depends on,
//! for both 3.1.1 and 5.0. (Wire encoding is a separate concern.)

use crate::types::{ClientId, MsgId, PacketId, Payload, QoS, Text, Version};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Reason codes used by the engine (MQTT 5.0 §2.4; 3.1.1 CONNACK return codes are separate).
pub mod reason {
    /// 0x00 Success (also Normal disconnection, and Granted QoS 0 in SUBACK).
    pub const SUCCESS: u8 = 0x00;
    /// 0x04 Disconnect with Will Message: a client's DISCONNECT that still wants its will
    /// published.
    pub const DISCONNECT_WITH_WILL: u8 = 0x04;
    /// 0x10 No matching subscribers, in PUBACK or PUBREC.
    pub const NO_MATCHING_SUBSCRIBERS: u8 = 0x10;
    /// 0x11 No subscription existed, in UNSUBACK.
    pub const NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
    /// 0x80 Unspecified error.
    pub const UNSPECIFIED_ERROR: u8 = 0x80;
    /// 0x81 Malformed Packet.
    pub const MALFORMED_PACKET: u8 = 0x81;
    /// 0x82 Protocol Error.
    pub const PROTOCOL_ERROR: u8 = 0x82;
    /// 0x85 Client Identifier not valid, in CONNACK.
    pub const CLIENT_ID_NOT_VALID: u8 = 0x85;
    /// 0x88 Server unavailable, in CONNACK.
    pub const SERVER_UNAVAILABLE: u8 = 0x88;
    /// 0x89 Server busy, in CONNACK or DISCONNECT.
    pub const SERVER_BUSY: u8 = 0x89;
    /// 0x8D Keep Alive timeout, in DISCONNECT.
    pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
    /// 0x8E Session taken over: DISCONNECT to the old connection when another takes its session.
    pub const SESSION_TAKEN_OVER: u8 = 0x8E;
    /// 0x8F Topic Filter invalid, in SUBACK, UNSUBACK or DISCONNECT.
    pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
    /// 0x92 Packet Identifier not found, in PUBREL or PUBCOMP.
    pub const PACKET_ID_NOT_FOUND: u8 = 0x92;
    /// 0x93 Receive Maximum exceeded, in DISCONNECT.
    pub const RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
    /// 0x97 Quota exceeded.
    pub const QUOTA_EXCEEDED: u8 = 0x97;
    /// 0x9B QoS not supported, in CONNACK or DISCONNECT.
    pub const QOS_NOT_SUPPORTED: u8 = 0x9B;
    /// 0x8B Server shutting down, in DISCONNECT.
    pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;

    /// 0x02 Identifier rejected (3.1.1 CONNACK return code, §3.2.2.3).
    pub const V311_IDENTIFIER_REJECTED: u8 = 0x02;
    /// 0x03 Server unavailable (3.1.1 CONNACK return code).
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
    /// Will Topic: the topic the will is published on.
    pub topic: Text,
    /// Will Message (3.1.1) / Will Payload (5.0): the bytes published as the will.
    pub payload: Payload,
    /// Will QoS from the CONNECT flags: the QoS the will is published with.
    pub qos: QoS,
    /// Will Retain from the CONNECT flags: the will is published with RETAIN = 1.
    pub retain: bool,
    /// Will Delay Interval in seconds (5.0 only; 0 when absent).
    pub delay: u32,
    /// Message Expiry Interval of the will (5.0 only).
    pub message_expiry: Option<u32>,
}

/// A CONNECT packet (§3.1): how a client asks for its connection and session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    /// Protocol version, from the Protocol Level byte (4 for 3.1.1, 5 for 5.0).
    pub version: Version,
    /// Client Identifier; empty asks the broker to assign one.
    pub client_id: ClientId,
    /// Clean Session (3.1.1) or Clean Start (5.0).
    pub clean_start: bool,
    /// Keep Alive, seconds; 0 turns the keep-alive mechanism off.
    pub keep_alive: u16,
    /// 5.0 Session Expiry Interval property; `None` when absent (which means 0).
    pub session_expiry: Option<u32>,
    /// 5.0 Receive Maximum property; `None` when absent (which means 65,535).
    pub receive_maximum: Option<u16>,
    /// The Will Message, present when the Will Flag is set.
    pub will: Option<Will>,
}

/// A CONNACK packet (§3.2): the broker's answer to CONNECT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connack {
    /// Session Present flag: the broker resumed a session it had stored for this Client Identifier.
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

/// A PUBLISH packet (§3.3): an application message, client to broker or broker to client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// DUP flag: this may be a resend of an earlier attempt (never set at QoS 0).
    pub dup: bool,
    /// QoS level of this PUBLISH.
    pub qos: QoS,
    /// RETAIN flag: client to broker, store as the topic's retained message; broker to client, a
    /// retained message (or one forwarded with Retain As Published).
    pub retain: bool,
    /// Topic Name.
    pub topic: Text,
    /// Present for QoS 1 and 2.
    pub packet_id: Option<PacketId>,
    /// Payload: the application message's bytes.
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
    /// Maximum QoS the client asks for (3.1.1 Requested QoS).
    pub qos: QoS,
    /// No Local (5.0): messages this client publishes are not forwarded to it on this subscription.
    pub no_local: bool,
    /// Retain As Published (5.0): forwarded messages keep the RETAIN flag they were published with.
    pub retain_as_published: bool,
    /// Retain Handling (5.0): 0 sends retained messages at subscribe, 1 only for a new
    /// subscription, 2 never.
    pub retain_handling: u8,
}

impl SubOptions {
    /// Options with QoS `qos` and the 5.0 options at 0 (No Local off, Retain As Published off,
    /// Retain Handling 0): all 3.1.1 has.
    pub fn qos(qos: QoS) -> SubOptions {
        SubOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }
}

/// A SUBSCRIBE packet (§3.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// Packet Identifier, echoed in the SUBACK.
    pub packet_id: PacketId,
    /// Topic filters with their subscription options, in packet order.
    pub filters: Vec<(String, SubOptions)>,
    /// 5.0 Subscription Identifier.
    pub subscription_id: Option<u32>,
}

/// A DISCONNECT packet (§3.14), from a client, or in 5.0 also from the broker.
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
    /// CONNECT, client to broker.
    Connect(Connect),
    /// CONNACK, broker to client.
    Connack(Connack),
    /// PUBLISH, in either direction.
    Publish(Publish),
    /// PUBACK: acknowledges a QoS 1 PUBLISH.
    Puback {
        /// Packet Identifier of the PUBLISH acknowledged.
        packet_id: PacketId,
        /// 5.0 Reason Code; 0 (Success) on 3.1.1, which has none.
        reason: u8,
    },
    /// PUBREC: the first acknowledgement of a QoS 2 PUBLISH.
    Pubrec {
        /// Packet Identifier of the PUBLISH received.
        packet_id: PacketId,
        /// 5.0 Reason Code (0x80 or above ends the exchange); 0 on 3.1.1, which has none.
        reason: u8,
    },
    /// PUBREL: the sender of a QoS 2 PUBLISH releases it after PUBREC.
    Pubrel {
        /// Packet Identifier of the QoS 2 exchange.
        packet_id: PacketId,
        /// 5.0 Reason Code; 0 on 3.1.1, which has none.
        reason: u8,
    },
    /// PUBCOMP: completes a QoS 2 exchange.
    Pubcomp {
        /// Packet Identifier of the QoS 2 exchange.
        packet_id: PacketId,
        /// 5.0 Reason Code; 0 on 3.1.1, which has none.
        reason: u8,
    },
    /// SUBSCRIBE, client to broker.
    Subscribe(Subscribe),
    /// SUBACK: the broker's answer to SUBSCRIBE.
    Suback {
        /// Packet Identifier of the SUBSCRIBE answered.
        packet_id: PacketId,
        /// One code per topic filter, in order: the granted QoS, or 0x80 and above for a refused
        /// filter (3.1.1 return codes, 5.0 reason codes).
        codes: Vec<u8>,
    },
    /// UNSUBSCRIBE, client to broker.
    Unsubscribe {
        /// Packet Identifier, echoed in the UNSUBACK.
        packet_id: PacketId,
        /// Topic filters to remove, exactly as they were subscribed.
        filters: Vec<String>,
    },
    /// UNSUBACK: the broker's answer to UNSUBSCRIBE.
    Unsuback {
        /// Packet Identifier of the UNSUBSCRIBE answered.
        packet_id: PacketId,
        /// 5.0: one reason code per topic filter (0x00 Success, 0x11 No subscription existed);
        /// empty on 3.1.1, whose UNSUBACK has no payload.
        codes: Vec<u8>,
    },
    /// PINGREQ: the client's keep-alive ping.
    Pingreq,
    /// PINGRESP: the broker's answer to PINGREQ.
    Pingresp,
    /// DISCONNECT, from a client, or in 5.0 also from the broker.
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
