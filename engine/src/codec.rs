//! The MQTT 3.1.1 / 5.0 wire format of the packets the session model exchanges (pure, no IO).
//!
//! `encode` turns a model [`Packet`] into bytes, `decode` reads one packet from the front of a
//! byte slice. Both also produce [`Field`]s: which bytes are which field (fixed header, remaining
//! length, flags, packet id, each property), for the page's packet inspector. Malformed input of
//! any kind gives a typed [`DecodeError`], never a panic (fuzzed in `tests/codec.rs`).
//!
//! Sources: MQTT 3.1.1 §2-3 and MQTT 5.0 §1.5, §2, §3 (statement ids cited where a rule is checked).
//! The model carries the properties session behaviour depends on; other properties are decoded,
//! validated and shown in the fields, but not kept in the model packet. AUTH is decoded only.

use crate::packet::{Connack, Connect, Disconnect, Packet, Publish, SubOptions, Subscribe, Will};
use crate::types::{ClientId, MsgId, QoS, Version};
use std::fmt;

/// One field of an encoded packet: bytes `start..start + len`, its name and its value in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Offset of the field's first byte from the start of the packet.
    pub start: usize,
    /// Length of the field, in bytes.
    pub len: usize,
    /// The field's name, as the specification names it (e.g. "Remaining Length").
    pub name: String,
    /// The field's value, in words.
    pub value: String,
}

/// Why bytes are not a valid packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// More bytes are needed: the packet is not complete yet.
    Incomplete,
    /// A Variable Byte Integer longer than four bytes (§1.5.5 5.0, §2.2.3 3.1.1).
    VarInt,
    /// Packet type 0 (reserved), or 15 (AUTH) on a 3.1.1 connection.
    PacketType(u8),
    /// Fixed-header flags that are reserved for this packet type ([MQTT-2.2.2-1] 3.1.1,
    /// [MQTT-2.2.2-2] 3.1.1 / [MQTT-2.1.3-1] 5.0).
    Flags {
        /// The packet type's name (e.g. "PUBREL").
        kind: &'static str,
        /// The flags nibble as received.
        flags: u8,
    },
    /// PUBLISH with QoS 3 ([MQTT-3.3.1-4]), or a Will QoS of 3 (DUP = 1 with QoS 0 is
    /// [`DecodeError::DupWithQos0`]).
    Qos(u8),
    /// PUBLISH with DUP = 1 at QoS 0 ([MQTT-3.3.1-2]).
    DupWithQos0,
    /// A field runs past the end of the packet.
    Truncated {
        /// The packet type's name.
        kind: &'static str,
        /// The field that runs past the end.
        field: &'static str,
    },
    /// Bytes left over after the last field.
    Trailing {
        /// The packet type's name.
        kind: &'static str,
        /// How many bytes are left over.
        bytes: usize,
    },
    /// A UTF-8 string that is not well-formed UTF-8 or contains U+0000 ([MQTT-1.5.3-1] 3.1.1,
    /// [MQTT-1.5.3-2] 3.1.1 / [MQTT-1.5.4-1] 5.0, [MQTT-1.5.4-2] 5.0).
    Utf8 {
        /// The field holding the bad string.
        field: &'static str,
    },
    /// CONNECT with a protocol name other than "MQTT" ([MQTT-3.1.2-1]).
    ProtocolName,
    /// CONNECT with a protocol level other than the connection's (4 for 3.1.1, 5 for 5.0).
    ProtocolLevel(u8),
    /// CONNECT flags with the reserved bit set ([MQTT-3.1.2-3]) or will fields without a will
    /// ([MQTT-3.1.2-11] 3.1.1, [MQTT-3.1.2-13] 3.1.1, [MQTT-3.1.2-15] 3.1.1 / [MQTT-3.1.2-11] 5.0,
    /// [MQTT-3.1.2-13] 5.0).
    ConnectFlags(u8),
    /// A property identifier that does not exist or is not allowed in this packet (5.0 §2.2.2.2).
    Property {
        /// The packet type's name ("WILL" for the will properties of CONNECT).
        kind: &'static str,
        /// The property identifier as read.
        id: u32,
    },
    /// A property that may appear once, twice (5.0 §2.2.2.2: a Protocol Error).
    DuplicateProperty(u8),
    /// A property value out of range (e.g. Maximum QoS 2, a Subscription Identifier of 0).
    PropertyValue(u8),
    /// Packet identifier 0 ([MQTT-2.3.1-1] 3.1.1 / [MQTT-2.2.1-3] 5.0).
    PacketIdZero,
    /// SUBSCRIBE or UNSUBSCRIBE without a topic filter.
    NoTopicFilter {
        /// "SUBSCRIBE" or "UNSUBSCRIBE".
        kind: &'static str,
    },
    /// SUBACK, or 5.0 UNSUBACK, without a code: it owes one for each topic filter of the
    /// SUBSCRIBE or UNSUBSCRIBE it answers, which has at least one.
    NoReasonCodes {
        /// "SUBACK" or "UNSUBACK".
        kind: &'static str,
    },
    /// Subscription options with reserved bits set or Retain Handling 3 ([MQTT-3.8.3-5]).
    SubOptions(u8),
    /// CONNACK acknowledge flags with reserved bits set ([MQTT-3.2.2-1] 5.0; 3.1.1 §3.2.2.1).
    ConnackFlags(u8),
    /// A 5.0 Variable Byte Integer (or a property identifier) in more bytes than it needs
    /// ([MQTT-1.5.5-1]).
    VarIntNotMinimal,
    /// A reason or return code that is not in the packet's table.
    ReasonCode {
        /// The packet type's name.
        kind: &'static str,
        /// The code as read.
        code: u8,
    },
    /// Authentication Data without an Authentication Method (5.0 §3.1.2.11.10, a Protocol Error).
    AuthDataWithoutMethod,
    /// A topic name or topic filter the specification does not allow (§4.7, §4.8.2).
    Topic {
        /// The field holding the topic ("Topic Name", "Topic Filter" or "Will Topic").
        field: &'static str,
        /// The rule the topic breaks.
        error: crate::topic::TopicError,
    },
}

impl fmt::Display for DecodeError {
    /// What is wrong, without the statement id (it depends on the version: see
    /// [`DecodeError::describe`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Incomplete => write!(f, "the packet is not complete"),
            DecodeError::VarInt => write!(f, "a Variable Byte Integer is longer than 4 bytes"),
            DecodeError::PacketType(t) => write!(
                f,
                "packet type {t} is reserved or not valid for this version"
            ),
            DecodeError::Flags { kind, flags } => {
                write!(f, "{kind} with reserved fixed-header flags 0x{flags:X}")
            }
            DecodeError::Qos(q) => write!(f, "QoS {q} does not exist"),
            DecodeError::DupWithQos0 => write!(f, "DUP = 1 on a QoS 0 PUBLISH"),
            DecodeError::Truncated { kind, field } => {
                write!(f, "{kind}: {field} runs past the end of the packet")
            }
            DecodeError::Trailing { kind, bytes } => {
                write!(f, "{kind}: {bytes} byte(s) after the last field")
            }
            DecodeError::Utf8 { field } => {
                write!(f, "{field} is not well-formed UTF-8 without U+0000")
            }
            DecodeError::ProtocolName => write!(f, "protocol name is not \"MQTT\""),
            DecodeError::ProtocolLevel(l) => {
                write!(f, "protocol level {l} does not match this connection")
            }
            DecodeError::ConnectFlags(b) => write!(f, "CONNECT flags 0x{b:02X} are not valid"),
            DecodeError::Property { kind, id } => {
                write!(f, "property 0x{id:02X} is not allowed in {kind}")
            }
            DecodeError::DuplicateProperty(id) => write!(
                f,
                "property 0x{id:02X} appears more than once (a Protocol Error)"
            ),
            DecodeError::PropertyValue(id) => {
                write!(f, "property 0x{id:02X} has a value out of range")
            }
            DecodeError::PacketIdZero => write!(f, "packet identifier 0"),
            DecodeError::NoTopicFilter { kind } => write!(f, "{kind} without a topic filter"),
            DecodeError::NoReasonCodes { kind } => write!(
                f,
                "{kind} without a code: it owes one for each topic filter of the request"
            ),
            DecodeError::SubOptions(b) => {
                write!(f, "subscription options 0x{b:02X} are not valid")
            }
            DecodeError::ConnackFlags(b) => write!(
                f,
                "CONNACK acknowledge flags 0x{b:02X} have reserved bits set"
            ),
            DecodeError::VarIntNotMinimal => write!(
                f,
                "a Variable Byte Integer uses more bytes than its value needs"
            ),
            DecodeError::ReasonCode { kind, code } => {
                write!(
                    f,
                    "{kind}: code 0x{code:02X} is not one of the packet's codes"
                )
            }
            DecodeError::AuthDataWithoutMethod => write!(
                f,
                "Authentication Data without an Authentication Method (a Protocol Error)"
            ),
            DecodeError::Topic { field, error } => write!(f, "{field}: {}", error.rule()),
        }
    }
}

impl DecodeError {
    /// The statement id (or, where the specification gives the rule none, the section) that
    /// the bytes break, in the connection's version: 3.1.1 and 5.0 number the same rules
    /// differently. `None` for [`DecodeError::Incomplete`].
    pub fn statement(&self, v: Version) -> Option<&'static str> {
        let v5 = v.is_v5();
        Some(match self {
            DecodeError::Incomplete => return None,
            DecodeError::VarInt if v5 => "5.0 §1.5.5",
            DecodeError::VarInt => "3.1.1 §2.2.3",
            // 3.1.1 does not ask for the shortest encoding: the decoder never raises this there.
            DecodeError::VarIntNotMinimal if v5 => "[MQTT-1.5.5-1]",
            DecodeError::VarIntNotMinimal => "3.1.1 §2.2.3",
            DecodeError::PacketType(_) if v5 => "5.0 §2.1.2",
            DecodeError::PacketType(_) => "3.1.1 §2.2.1",
            DecodeError::Flags { .. } if v5 => "[MQTT-2.1.3-1]",
            DecodeError::Flags { .. } => "[MQTT-2.2.2-1]",
            DecodeError::Qos(_) => "[MQTT-3.3.1-4]",
            DecodeError::DupWithQos0 => "[MQTT-3.3.1-2]",
            DecodeError::Truncated { .. } | DecodeError::Trailing { .. } if v5 => "5.0 §2.1.4",
            DecodeError::Truncated { .. } | DecodeError::Trailing { .. } => "3.1.1 §2.2.3",
            DecodeError::Utf8 { .. } if v5 => "[MQTT-1.5.4-1] / [MQTT-1.5.4-2]",
            DecodeError::Utf8 { .. } => "[MQTT-1.5.3-1] / [MQTT-1.5.3-2]",
            DecodeError::ProtocolName => "[MQTT-3.1.2-1]",
            DecodeError::ProtocolLevel(_) => "[MQTT-3.1.2-2]",
            DecodeError::ConnectFlags(_) if v5 => {
                "[MQTT-3.1.2-3] / [MQTT-3.1.2-11] / [MQTT-3.1.2-12] / [MQTT-3.1.2-13]"
            }
            DecodeError::ConnectFlags(_) => {
                "[MQTT-3.1.2-3] / [MQTT-3.1.2-11] / [MQTT-3.1.2-14] / [MQTT-3.1.2-15] / [MQTT-3.1.2-22]"
            }
            DecodeError::Property { .. } | DecodeError::DuplicateProperty(_) => "5.0 §2.2.2.2",
            DecodeError::PropertyValue(0x27) => "5.0 §3.1.2.11.4",
            DecodeError::PropertyValue(0x21) => "5.0 §3.1.2.11.3",
            DecodeError::PropertyValue(0x0B) => "5.0 §3.3.2.3.8",
            DecodeError::PropertyValue(0x23) => "[MQTT-3.3.2-8]",
            DecodeError::PropertyValue(0x19) => "5.0 §3.1.2.11.6",
            DecodeError::PropertyValue(0x17) => "5.0 §3.1.2.11.7",
            DecodeError::PropertyValue(0x24) => "5.0 §3.2.2.3.4",
            DecodeError::PropertyValue(0x25) => "5.0 §3.2.2.3.5",
            DecodeError::PropertyValue(0x28) => "5.0 §3.2.2.3.11",
            DecodeError::PropertyValue(0x29) => "5.0 §3.2.2.3.12",
            DecodeError::PropertyValue(0x2A) => "5.0 §3.2.2.3.13",
            DecodeError::PropertyValue(_) => "5.0 §2.2.2.2",
            DecodeError::AuthDataWithoutMethod => "5.0 §3.1.2.11.10",
            DecodeError::PacketIdZero if v5 => "[MQTT-2.2.1-3] / [MQTT-2.2.1-4]",
            DecodeError::PacketIdZero => "[MQTT-2.3.1-1]",
            DecodeError::NoTopicFilter { kind: "SUBSCRIBE" } if v5 => "[MQTT-3.8.3-2]",
            DecodeError::NoTopicFilter { kind: "SUBSCRIBE" } => "[MQTT-3.8.3-3]",
            DecodeError::NoTopicFilter { .. } => "[MQTT-3.10.3-2]",
            DecodeError::NoReasonCodes { kind: "SUBACK" } if v5 => "[MQTT-3.8.4-6]",
            DecodeError::NoReasonCodes { kind: "SUBACK" } => "[MQTT-3.8.4-5]",
            DecodeError::NoReasonCodes { .. } => "5.0 §3.11.3",
            DecodeError::SubOptions(b) if v5 && (b >> 4) & 3 == 3 => "5.0 §3.8.3.1",
            DecodeError::SubOptions(_) if v5 => "[MQTT-3.8.3-5]",
            // The 3.1.1 text prints this id as "MQTT-3-8.3-4".
            DecodeError::SubOptions(_) => "[MQTT-3.8.3-4]",
            DecodeError::ConnackFlags(_) if v5 => "[MQTT-3.2.2-1]",
            DecodeError::ConnackFlags(_) => "3.1.1 §3.2.2.1",
            DecodeError::ReasonCode { kind, .. } => match (*kind, v5) {
                ("SUBACK", _) => "[MQTT-3.9.3-2]",
                ("CONNACK", false) => "3.1.1 §3.2.2.3",
                ("CONNACK", true) => "[MQTT-3.2.2-8]",
                // 3.1.1 acknowledgements, UNSUBACK and DISCONNECT carry no code at all: their
                // variable header is the packet identifier, or nothing.
                ("PUBACK", false) => "3.1.1 §3.4.2",
                ("PUBREC", false) => "3.1.1 §3.5.2",
                ("PUBREL", false) => "3.1.1 §3.6.2",
                ("PUBCOMP", false) => "3.1.1 §3.7.2",
                ("UNSUBACK", false) => "3.1.1 §3.11.2",
                ("DISCONNECT", false) => "3.1.1 §3.14.2",
                // AUTH does not exist in 3.1.1: packet type 15 is reserved.
                (_, false) => "3.1.1 §2.2.1",
                ("PUBACK", true) => "[MQTT-3.4.2-1]",
                ("PUBREC", true) => "[MQTT-3.5.2-1]",
                ("PUBREL", true) => "[MQTT-3.6.2-1]",
                ("PUBCOMP", true) => "[MQTT-3.7.2-1]",
                ("UNSUBACK", true) => "[MQTT-3.11.3-2]",
                ("DISCONNECT", true) => "[MQTT-3.14.2-1]",
                _ => "[MQTT-3.15.2-1]",
            },
            DecodeError::Topic { error, .. } => error.statement(v5),
        })
    }

    /// The 5.0 reason code a server gives these bytes (§4.13.1, §2.4): 0x82 (Protocol Error)
    /// where the specification calls the fault a Protocol Error, 0x81 (Malformed Packet)
    /// otherwise. `None` for [`DecodeError::Incomplete`].
    pub fn reason_code(&self) -> Option<u8> {
        use crate::packet::reason;
        Some(match self {
            DecodeError::Incomplete => return None,
            // 5.0 §2.2.2.2; §3.1.2.11.10; "It is a Protocol Error" for a Receive Maximum, Maximum
            // Packet Size, Topic Alias or Subscription Identifier of 0 (§3.1.2.11.3, §3.1.2.11.4,
            // §3.3.2.3.4, §3.8.2.1.2); Retain Handling 3 (§3.8.3.1).
            DecodeError::DuplicateProperty(_)
            | DecodeError::AuthDataWithoutMethod
            | DecodeError::PropertyValue(0x21 | 0x27 | 0x23 | 0x0B) => reason::PROTOCOL_ERROR,
            // "It is a Protocol Error to ... have a value other than 0 or 1" (§3.1.2.11.6,
            // §3.1.2.11.7, §3.2.2.3.5, §3.2.2.3.11-13), and a Maximum QoS other than 0 or 1
            // (§3.2.2.3.4).
            DecodeError::PropertyValue(0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A) => {
                reason::PROTOCOL_ERROR
            }
            DecodeError::SubOptions(b) if (b >> 4) & 3 == 3 => reason::PROTOCOL_ERROR,
            _ => reason::MALFORMED_PACKET,
        })
    }

    /// What is wrong, with the statement it breaks on a connection of version `v`.
    pub fn describe(&self, v: Version) -> String {
        match self.statement(v) {
            Some(st) => format!("{self} {st}"),
            None => self.to_string(),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a model packet cannot be written on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A string or binary field longer than a Two Byte Integer length can say (65,535 bytes,
    /// §1.5.4 5.0 / §1.5.3 3.1.1).
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its length, in bytes.
        len: usize,
    },
    /// A Variable Byte Integer above 268,435,455 (5.0 §1.5.5): a Subscription Identifier, or
    /// the Remaining Length of a packet that large.
    TooLarge {
        /// The field's name.
        field: &'static str,
        /// The value that does not fit.
        value: u64,
    },
    /// The bytes would not be a valid packet: the rule the decoder applies.
    Invalid(DecodeError),
    /// A field this version cannot carry (e.g. Message Expiry on a 3.1.1 PUBLISH).
    NotInVersion {
        /// The field's name.
        field: &'static str,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { field, len } => write!(
                f,
                "{field} is {len} bytes long; a string or binary field holds at most 65,535"
            ),
            EncodeError::TooLarge { field, value } => write!(
                f,
                "{field} is {value}; a Variable Byte Integer holds at most 268,435,455"
            ),
            EncodeError::Invalid(e) => write!(f, "not a valid packet: {e}"),
            EncodeError::NotInVersion { field } => {
                write!(f, "{field} does not exist in this MQTT version")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// What `decode` reads: a model packet, or an AUTH packet (5.0 enhanced authentication, which
/// the session model does not use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A packet of the session model.
    Packet(Packet),
    /// An AUTH packet (5.0 §3.15).
    Auth {
        /// Authenticate Reason Code (0 when the packet has none).
        reason: u8,
        /// Authentication Method property, if present.
        method: Option<String>,
    },
}

/// The property identifiers (5.0 §2.2.2.2) and their names.
fn property_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0x01 => "Payload Format Indicator",
        0x02 => "Message Expiry Interval",
        0x03 => "Content Type",
        0x08 => "Response Topic",
        0x09 => "Correlation Data",
        0x0B => "Subscription Identifier",
        0x11 => "Session Expiry Interval",
        0x12 => "Assigned Client Identifier",
        0x13 => "Server Keep Alive",
        0x15 => "Authentication Method",
        0x16 => "Authentication Data",
        0x17 => "Request Problem Information",
        0x18 => "Will Delay Interval",
        0x19 => "Request Response Information",
        0x1A => "Response Information",
        0x1C => "Server Reference",
        0x1F => "Reason String",
        0x21 => "Receive Maximum",
        0x22 => "Topic Alias Maximum",
        0x23 => "Topic Alias",
        0x24 => "Maximum QoS",
        0x25 => "Retain Available",
        0x26 => "User Property",
        0x27 => "Maximum Packet Size",
        0x28 => "Wildcard Subscription Available",
        0x29 => "Subscription Identifier Available",
        0x2A => "Shared Subscription Available",
        _ => return None,
    })
}

/// The reason (5.0) or return (3.1.1) codes each packet may carry: 5.0 §3.2.2.2, §3.4.2.1,
/// §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.9.3, §3.11.3, §3.14.2.1, §3.15.2.1; 3.1.1 §3.2.2.3
/// (return codes 6-255 are reserved) and §3.9.3 (SUBACK: 0x00, 0x01, 0x02, 0x80).
pub fn code_allowed(kind: &str, code: u8, v5: bool) -> bool {
    let codes: &[u8] = match (kind, v5) {
        ("CONNACK", false) => &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05],
        ("SUBACK", false) => &[0x00, 0x01, 0x02, 0x80],
        ("CONNACK", true) => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
        ("PUBACK" | "PUBREC", true) => &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        ("PUBREL" | "PUBCOMP", true) => &[0x00, 0x92],
        ("SUBACK", true) => &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ],
        ("UNSUBACK", true) => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        ("DISCONNECT", true) => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
            0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
            0xA2,
        ],
        ("AUTH", true) => &[0x00, 0x18, 0x19],
        // 3.1.1 acknowledgements and DISCONNECT carry no code: only the model's 0.
        _ => &[0x00],
    };
    codes.contains(&code)
}

/// Properties allowed in each packet (5.0 §2.2.2.2 table), "WILL" for the will properties.
fn allowed(kind: &str, id: u8) -> bool {
    let ids: &[u8] = match kind {
        "CONNECT" => &[0x11, 0x21, 0x27, 0x22, 0x19, 0x17, 0x26, 0x15, 0x16],
        "WILL" => &[0x18, 0x01, 0x02, 0x03, 0x08, 0x09, 0x26],
        "CONNACK" => &[
            0x11, 0x21, 0x24, 0x25, 0x27, 0x12, 0x22, 0x1F, 0x26, 0x28, 0x29, 0x2A, 0x13, 0x1A,
            0x1C, 0x15, 0x16,
        ],
        "PUBLISH" => &[0x01, 0x02, 0x23, 0x08, 0x09, 0x26, 0x0B, 0x03],
        "PUBACK" | "PUBREC" | "PUBREL" | "PUBCOMP" | "SUBACK" | "UNSUBACK" => &[0x1F, 0x26],
        "SUBSCRIBE" => &[0x0B, 0x26],
        "UNSUBSCRIBE" => &[0x26],
        "DISCONNECT" => &[0x11, 0x1F, 0x26, 0x1C],
        "AUTH" => &[0x15, 0x16, 0x1F, 0x26],
        _ => &[],
    };
    ids.contains(&id)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Bytes with their fields.
#[derive(Default)]
struct W {
    buf: Vec<u8>,
    fields: Vec<Field>,
    /// The first reason the packet cannot be written.
    err: Option<EncodeError>,
}

impl W {
    fn fail(&mut self, e: EncodeError) {
        self.err.get_or_insert(e);
    }
    /// The length prefix of a string or binary field; refuses more than 65,535 bytes.
    fn len16(&mut self, field: &'static str, len: usize) {
        match u16::try_from(len) {
            Ok(n) => self.buf.extend_from_slice(&n.to_be_bytes()),
            Err(_) => {
                self.fail(EncodeError::TooLong { field, len });
                self.buf.extend_from_slice(&[0xFF, 0xFF]);
            }
        }
    }
    fn field(&mut self, start: usize, name: &str, value: String) {
        self.fields.push(Field {
            start,
            len: self.buf.len() - start,
            name: name.to_string(),
            value,
        });
    }
    fn u8(&mut self, name: &str, v: u8, value: String) {
        let s = self.buf.len();
        self.buf.push(v);
        self.field(s, name, value);
    }
    fn u16(&mut self, name: &str, v: u16) {
        let s = self.buf.len();
        self.buf.extend_from_slice(&v.to_be_bytes());
        self.field(s, name, v.to_string());
    }
    fn varint(&mut self, name: &'static str, v: u32) {
        let s = self.buf.len();
        if v > MAX_VARINT {
            self.fail(EncodeError::TooLarge {
                field: name,
                value: u64::from(v),
            });
        }
        put_varint(&mut self.buf, v);
        self.field(s, name, v.to_string());
    }
    fn str(&mut self, name: &'static str, v: &str) {
        let s = self.buf.len();
        self.len16(name, v.len());
        self.buf.extend_from_slice(v.as_bytes());
        self.field(s, name, format!("\"{v}\""));
    }
    fn bin(&mut self, name: &'static str, v: &[u8]) {
        let s = self.buf.len();
        self.len16(name, v.len());
        self.buf.extend_from_slice(v);
        self.field(s, name, format!("{} byte(s)", v.len()));
    }
    /// Appends `other` (its fields shifted to where it lands).
    fn append(&mut self, other: W) {
        if let Some(e) = other.err {
            self.fail(e);
        }
        let off = self.buf.len();
        self.buf.extend_from_slice(&other.buf);
        self.fields.extend(other.fields.into_iter().map(|mut f| {
            f.start += off;
            f
        }));
    }
    /// Appends a property list: its length, then the properties.
    fn properties(&mut self, props: W) {
        self.varint("Property Length", props.buf.len() as u32);
        self.append(props);
    }
}

/// The largest Variable Byte Integer (5.0 §1.5.5, 3.1.1 §2.2.3).
pub const MAX_VARINT: u32 = 268_435_455;

/// Writes a Variable Byte Integer (5.0 §1.5.5: at most 268,435,455; larger values are written
/// as that maximum, and the encoder refuses them before).
pub fn put_varint(buf: &mut Vec<u8>, v: u32) {
    let mut v = v.min(MAX_VARINT);
    loop {
        let mut b = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            b |= 0x80;
        }
        buf.push(b);
        if v == 0 {
            break;
        }
    }
}

fn prop_u8(p: &mut W, id: u8, v: u8) {
    let s = p.buf.len();
    p.buf.extend_from_slice(&[id, v]);
    p.field(s, property_name(id).unwrap_or("property"), v.to_string());
}
fn prop_u16(p: &mut W, id: u8, v: u16) {
    let s = p.buf.len();
    p.buf.push(id);
    p.buf.extend_from_slice(&v.to_be_bytes());
    p.field(s, property_name(id).unwrap_or("property"), v.to_string());
}
fn prop_u32(p: &mut W, id: u8, v: u32) {
    let s = p.buf.len();
    p.buf.push(id);
    p.buf.extend_from_slice(&v.to_be_bytes());
    p.field(s, property_name(id).unwrap_or("property"), v.to_string());
}
fn prop_varint(p: &mut W, id: u8, v: u32) {
    let s = p.buf.len();
    if v > MAX_VARINT {
        p.fail(EncodeError::TooLarge {
            field: property_name(id).unwrap_or("property"),
            value: u64::from(v),
        });
    }
    p.buf.push(id);
    put_varint(&mut p.buf, v);
    p.field(s, property_name(id).unwrap_or("property"), v.to_string());
}
fn prop_str(p: &mut W, id: u8, v: &str) {
    let s = p.buf.len();
    p.buf.push(id);
    p.len16(property_name(id).unwrap_or("property"), v.len());
    p.buf.extend_from_slice(v.as_bytes());
    p.field(
        s,
        property_name(id).unwrap_or("property"),
        format!("\"{v}\""),
    );
}

/// A payload in the inspector: its text in quotes when the bytes are UTF-8, else its hex.
fn payload_words(p: &crate::types::Payload) -> String {
    match p.as_text() {
        Some(t) => format!("\"{t}\" ({} byte(s))", p.len()),
        None => format!("{} byte(s), not UTF-8: {}", p.len(), p.hex()),
    }
}

fn type_byte(p: &Packet) -> u8 {
    match p {
        Packet::Connect(_) => 0x10,
        Packet::Connack(_) => 0x20,
        Packet::Publish(x) => {
            0x30 | (u8::from(x.dup) << 3) | (x.qos.as_u8() << 1) | u8::from(x.retain)
        }
        Packet::Puback { .. } => 0x40,
        Packet::Pubrec { .. } => 0x50,
        Packet::Pubrel { .. } => 0x62,
        Packet::Pubcomp { .. } => 0x70,
        Packet::Subscribe(_) => 0x82,
        Packet::Suback { .. } => 0x90,
        Packet::Unsubscribe { .. } => 0xA2,
        Packet::Unsuback { .. } => 0xB0,
        Packet::Pingreq => 0xC0,
        Packet::Pingresp => 0xD0,
        Packet::Disconnect(_) => 0xE0,
    }
}

/// The bytes of `p` on a connection of version `v`, or why it cannot be written.
pub fn encode(p: &Packet, v: Version) -> Result<Vec<u8>, EncodeError> {
    encode_fields(p, v).map(|(b, _)| b)
}

/// The bytes of `p` and which bytes are which field, or why it cannot be written: a field too
/// long or too large for its encoding, a field the version does not have, or bytes the decoder
/// would refuse (an invalid topic, a reason code outside the packet's table, packet id 0, ...).
/// What this returns, [`decode`] reads back as `p` (checked by the property tests; the page
/// links only the encoder).
pub fn encode_fields(p: &Packet, v: Version) -> Result<(Vec<u8>, Vec<Field>), EncodeError> {
    if let Some(field) = not_in_version(p, v) {
        return Err(EncodeError::NotInVersion { field });
    }
    wire_rules(p, v).map_err(EncodeError::Invalid)?;
    write_fields(p, v)
}

/// The rules [`decode`] applies to what a packet's fields say, checked on the model packet (the
/// property tests in `tests/codec_fuzz.rs` check that what passes decodes back as it was).
fn wire_rules(p: &Packet, v: Version) -> Res<()> {
    let v5 = v.is_v5();
    let text = |field: &'static str, s: &str| {
        if s.contains('\0') {
            Err(DecodeError::Utf8 { field })
        } else {
            Ok(())
        }
    };
    let code = |kind: &'static str, code: u8| {
        if code_allowed(kind, code, v5) {
            Ok(())
        } else {
            Err(DecodeError::ReasonCode { kind, code })
        }
    };
    let id = |id: u16| {
        if id == 0 {
            Err(DecodeError::PacketIdZero)
        } else {
            Ok(())
        }
    };
    let nonzero = |prop: u8, value: Option<u32>| {
        if value == Some(0) {
            Err(DecodeError::PropertyValue(prop))
        } else {
            Ok(())
        }
    };
    match p {
        Packet::Connect(c) => {
            text("Client Identifier", c.client_id.as_str())?;
            nonzero(0x21, c.receive_maximum.map(u32::from))?;
            if let Some(w) = &c.will {
                check_topic("Will Topic", crate::topic::check_topic_name(&w.topic))?;
            }
        }
        Packet::Connack(c) => {
            code("CONNACK", c.code)?;
            nonzero(0x21, c.receive_maximum.map(u32::from))?;
            if c.maximum_qos == Some(QoS::ExactlyOnce) {
                return Err(DecodeError::PropertyValue(0x24));
            }
            if let Some(a) = &c.assigned_client_id {
                text("property", a.as_str())?;
            }
        }
        Packet::Publish(x) => {
            if x.dup && x.qos == QoS::AtMostOnce {
                return Err(DecodeError::DupWithQos0);
            }
            // A packet identifier exactly when QoS > 0 (§2.2.1).
            match (x.qos, x.packet_id) {
                (QoS::AtMostOnce, None) => {}
                (QoS::AtMostOnce, Some(_)) => {
                    return Err(DecodeError::Trailing {
                        kind: "PUBLISH",
                        bytes: 2,
                    })
                }
                (_, Some(i)) => id(i)?,
                (_, None) => return Err(DecodeError::PacketIdZero),
            }
            check_topic("Topic Name", crate::topic::check_topic_name(&x.topic))?;
            for s in &x.subscription_ids {
                nonzero(0x0B, Some(*s))?;
            }
        }
        Packet::Puback { packet_id, reason }
        | Packet::Pubrec { packet_id, reason }
        | Packet::Pubrel { packet_id, reason }
        | Packet::Pubcomp { packet_id, reason } => {
            id(*packet_id)?;
            code(p.kind(), *reason)?;
        }
        Packet::Subscribe(s) => {
            id(s.packet_id)?;
            if s.filters.is_empty() {
                return Err(DecodeError::NoTopicFilter { kind: "SUBSCRIBE" });
            }
            for (f, o) in &s.filters {
                check_topic("Topic Filter", crate::topic::check_filter(f, v5))?;
                if o.retain_handling > 2 {
                    return Err(DecodeError::SubOptions(o.retain_handling << 4));
                }
            }
            nonzero(0x0B, s.subscription_id)?;
        }
        Packet::Suback { packet_id, codes } | Packet::Unsuback { packet_id, codes } => {
            id(*packet_id)?;
            if codes.is_empty() && (v5 || matches!(p, Packet::Suback { .. })) {
                return Err(DecodeError::NoReasonCodes { kind: p.kind() });
            }
            for c in codes {
                code(p.kind(), *c)?;
            }
        }
        Packet::Unsubscribe { packet_id, filters } => {
            id(*packet_id)?;
            if filters.is_empty() {
                return Err(DecodeError::NoTopicFilter {
                    kind: "UNSUBSCRIBE",
                });
            }
            for f in filters {
                check_topic("Topic Filter", crate::topic::check_filter(f, v5))?;
            }
        }
        Packet::Disconnect(d) => code("DISCONNECT", d.reason)?,
        Packet::Pingreq | Packet::Pingresp => {}
    }
    Ok(())
}

/// A 5.0-only field set on a 3.1.1 packet (the model packet can hold it; the wire cannot).
fn not_in_version(p: &Packet, v: Version) -> Option<&'static str> {
    if v.is_v5() {
        return None;
    }
    match p {
        Packet::Connect(c) if c.session_expiry.is_some() => Some("Session Expiry Interval"),
        Packet::Connect(c) if c.receive_maximum.is_some() => Some("Receive Maximum"),
        Packet::Connect(c)
            if c.will
                .as_ref()
                .is_some_and(|w| w.delay != 0 || w.message_expiry.is_some()) =>
        {
            Some("Will Properties")
        }
        Packet::Connack(c)
            if c.assigned_client_id.is_some()
                || c.session_expiry.is_some()
                || c.server_keep_alive.is_some()
                || c.receive_maximum.is_some()
                || c.maximum_qos.is_some() =>
        {
            Some("CONNACK Properties")
        }
        Packet::Publish(x) if x.message_expiry.is_some() => Some("Message Expiry Interval"),
        Packet::Publish(x) if !x.subscription_ids.is_empty() => Some("Subscription Identifier"),
        Packet::Subscribe(s) if s.subscription_id.is_some() => Some("Subscription Identifier"),
        Packet::Subscribe(s)
            if s.filters
                .iter()
                .any(|(_, o)| o.no_local || o.retain_as_published || o.retain_handling != 0) =>
        {
            Some("Subscription Options")
        }
        Packet::Puback { reason, .. }
        | Packet::Pubrec { reason, .. }
        | Packet::Pubrel { reason, .. }
        | Packet::Pubcomp { reason, .. }
            if *reason != 0 =>
        {
            Some("Reason Code")
        }
        Packet::Unsuback { codes, .. } if !codes.is_empty() => Some("UNSUBACK Reason Codes"),
        Packet::Disconnect(d) if d.reason != 0 || d.session_expiry.is_some() => {
            Some("DISCONNECT Reason Code")
        }
        _ => None,
    }
}

fn write_fields(p: &Packet, v: Version) -> Result<(Vec<u8>, Vec<Field>), EncodeError> {
    let v5 = v.is_v5();
    let mut body = W::default();
    match p {
        Packet::Connect(c) => connect_body(&mut body, c, v),
        Packet::Connack(c) => {
            body.u8(
                "Acknowledge Flags",
                u8::from(c.session_present),
                format!("Session Present = {}", u8::from(c.session_present)),
            );
            body.u8(
                if v5 { "Reason Code" } else { "Return Code" },
                c.code,
                format!(
                    "0x{:02X} {}",
                    c.code,
                    crate::packet::reason::name(c.code, v5)
                ),
            );
            if v5 {
                let mut pr = W::default();
                if let Some(x) = c.session_expiry {
                    prop_u32(&mut pr, 0x11, x);
                }
                if let Some(x) = c.receive_maximum {
                    prop_u16(&mut pr, 0x21, x);
                }
                if let Some(q) = c.maximum_qos {
                    prop_u8(&mut pr, 0x24, q.as_u8());
                }
                if let Some(id) = &c.assigned_client_id {
                    prop_str(&mut pr, 0x12, id.as_str());
                }
                if let Some(k) = c.server_keep_alive {
                    prop_u16(&mut pr, 0x13, k);
                }
                body.properties(pr);
            }
        }
        Packet::Publish(x) => {
            body.str("Topic Name", &x.topic);
            if let Some(id) = x.packet_id {
                body.u16("Packet Identifier", id);
            }
            if v5 {
                let mut pr = W::default();
                if let Some(e) = x.message_expiry {
                    prop_u32(&mut pr, 0x02, e);
                }
                for id in &x.subscription_ids {
                    prop_varint(&mut pr, 0x0B, *id);
                }
                body.properties(pr);
            }
            let s = body.buf.len();
            body.buf.extend_from_slice(x.payload.as_bytes());
            body.field(s, "Payload", payload_words(&x.payload));
        }
        Packet::Puback { packet_id, reason }
        | Packet::Pubrec { packet_id, reason }
        | Packet::Pubrel { packet_id, reason }
        | Packet::Pubcomp { packet_id, reason } => {
            body.u16("Packet Identifier", *packet_id);
            // 5.0 §3.4.2.1: the Reason Code and Property Length can be omitted for 0x00.
            if v5 && *reason != 0 {
                body.u8(
                    "Reason Code",
                    *reason,
                    format!(
                        "0x{:02X} {}",
                        reason,
                        crate::packet::reason::name(*reason, true)
                    ),
                );
            }
        }
        Packet::Subscribe(s) => {
            body.u16("Packet Identifier", s.packet_id);
            if v5 {
                let mut pr = W::default();
                if let Some(id) = s.subscription_id {
                    prop_varint(&mut pr, 0x0B, id);
                }
                body.properties(pr);
            }
            for (f, o) in &s.filters {
                body.str("Topic Filter", f);
                let b = if v5 {
                    o.qos.as_u8()
                        | (u8::from(o.no_local) << 2)
                        | (u8::from(o.retain_as_published) << 3)
                        | ((o.retain_handling & 3) << 4)
                } else {
                    o.qos.as_u8()
                };
                let words = if v5 {
                    format!(
                        "QoS {}, No Local {}, Retain As Published {}, Retain Handling {}",
                        o.qos.as_u8(),
                        u8::from(o.no_local),
                        u8::from(o.retain_as_published),
                        o.retain_handling
                    )
                } else {
                    format!("QoS {}", o.qos.as_u8())
                };
                body.u8(
                    if v5 {
                        "Subscription Options"
                    } else {
                        "Requested QoS"
                    },
                    b,
                    words,
                );
            }
        }
        Packet::Suback { packet_id, codes } | Packet::Unsuback { packet_id, codes } => {
            body.u16("Packet Identifier", *packet_id);
            if v5 {
                body.properties(W::default());
            }
            // 3.1.1 UNSUBACK has no payload (§3.11).
            if v5 || matches!(p, Packet::Suback { .. }) {
                for c in codes {
                    body.u8(
                        if v5 { "Reason Code" } else { "Return Code" },
                        *c,
                        format!("0x{c:02X}"),
                    );
                }
            }
        }
        Packet::Unsubscribe { packet_id, filters } => {
            body.u16("Packet Identifier", *packet_id);
            if v5 {
                body.properties(W::default());
            }
            for f in filters {
                body.str("Topic Filter", f);
            }
        }
        Packet::Pingreq | Packet::Pingresp => {}
        Packet::Disconnect(d) => {
            // 5.0 §3.14.2.1: Reason Code 0x00 without properties can be left out entirely.
            if v5 && (d.reason != 0 || d.session_expiry.is_some()) {
                body.u8(
                    "Reason Code",
                    d.reason,
                    format!(
                        "0x{:02X} {}",
                        d.reason,
                        crate::packet::reason::name(d.reason, true)
                    ),
                );
                let mut pr = W::default();
                if let Some(e) = d.session_expiry {
                    prop_u32(&mut pr, 0x11, e);
                }
                body.properties(pr);
            }
        }
    }
    let mut out = W::default();
    let t = type_byte(p);
    out.u8(
        "Fixed header",
        t,
        format!("{} (type {}), flags {:04b}", p.kind(), t >> 4, t & 15),
    );
    match u32::try_from(body.buf.len()) {
        Ok(n) if n <= MAX_VARINT => out.varint("Remaining Length", n),
        _ => out.fail(EncodeError::TooLarge {
            field: "Remaining Length",
            value: body.buf.len() as u64,
        }),
    }
    out.append(body);
    match out.err {
        Some(e) => Err(e),
        None => Ok((out.buf, out.fields)),
    }
}

fn connect_body(body: &mut W, c: &Connect, v: Version) {
    let v5 = v.is_v5();
    body.str("Protocol Name", "MQTT");
    body.u8(
        "Protocol Level",
        if v5 { 5 } else { 4 },
        if v5 {
            "5 (MQTT 5.0)".into()
        } else {
            "4 (MQTT 3.1.1)".into()
        },
    );
    let mut flags = u8::from(c.clean_start) << 1;
    if let Some(w) = &c.will {
        flags |= 0x04 | (w.qos.as_u8() << 3) | (u8::from(w.retain) << 5);
    }
    body.u8(
        "Connect Flags",
        flags,
        format!(
            "{} = {}, Will Flag = {}, Will QoS = {}, Will Retain = {}",
            if v5 { "Clean Start" } else { "Clean Session" },
            u8::from(c.clean_start),
            u8::from(c.will.is_some()),
            c.will.as_ref().map(|w| w.qos.as_u8()).unwrap_or(0),
            u8::from(c.will.as_ref().is_some_and(|w| w.retain))
        ),
    );
    body.u16("Keep Alive", c.keep_alive);
    if v5 {
        let mut pr = W::default();
        if let Some(x) = c.session_expiry {
            prop_u32(&mut pr, 0x11, x);
        }
        if let Some(x) = c.receive_maximum {
            prop_u16(&mut pr, 0x21, x);
        }
        body.properties(pr);
    }
    body.str("Client Identifier", c.client_id.as_str());
    if let Some(w) = &c.will {
        if v5 {
            let mut pr = W::default();
            if w.delay != 0 {
                prop_u32(&mut pr, 0x18, w.delay);
            }
            if let Some(e) = w.message_expiry {
                prop_u32(&mut pr, 0x02, e);
            }
            body.properties(pr);
        }
        body.str("Will Topic", &w.topic);
        body.bin(
            if v5 { "Will Payload" } else { "Will Message" },
            w.payload.as_bytes(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

struct R<'a> {
    b: &'a [u8],
    pos: usize,
    /// Offset of `b` in the whole packet (for the fields).
    base: usize,
    kind: &'static str,
    fields: Vec<Field>,
}

type Res<T> = Result<T, DecodeError>;

impl<'a> R<'a> {
    /// A reason or return code from the packet's table ([`code_allowed`]).
    fn code(&mut self, field: &'static str, v5: bool) -> Res<u8> {
        let code = self.u8(field)?;
        if !code_allowed(self.kind, code, v5) {
            return Err(DecodeError::ReasonCode {
                kind: self.kind,
                code,
            });
        }
        Ok(code)
    }
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    fn take(&mut self, n: usize, field: &'static str) -> Res<&'a [u8]> {
        if self.left() < n {
            return Err(DecodeError::Truncated {
                kind: self.kind,
                field,
            });
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn note(&mut self, start: usize, name: &str, value: String) {
        self.fields.push(Field {
            start: self.base + start,
            len: self.pos - start,
            name: name.to_string(),
            value,
        });
    }
    fn u8(&mut self, field: &'static str) -> Res<u8> {
        let s = self.pos;
        let v = self.take(1, field)?[0];
        self.note(s, field, v.to_string());
        Ok(v)
    }
    fn u16(&mut self, field: &'static str) -> Res<u16> {
        let s = self.pos;
        let b = self.take(2, field)?;
        let v = u16::from_be_bytes([b[0], b[1]]);
        self.note(s, field, v.to_string());
        Ok(v)
    }
    fn u32(&mut self, field: &'static str) -> Res<u32> {
        let s = self.pos;
        let b = self.take(4, field)?;
        let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        self.note(s, field, v.to_string());
        Ok(v)
    }
    /// A Variable Byte Integer inside a packet (only 5.0 packets have them: minimal encoding).
    fn varint(&mut self, field: &'static str) -> Res<u32> {
        let s = self.pos;
        let (v, n) = match get_varint_minimal(&self.b[self.pos..]) {
            Ok(x) => x,
            Err(DecodeError::Incomplete) => {
                return Err(DecodeError::Truncated {
                    kind: self.kind,
                    field,
                })
            }
            Err(e) => return Err(e),
        };
        self.pos += n;
        self.note(s, field, v.to_string());
        Ok(v)
    }
    fn bin(&mut self, field: &'static str) -> Res<&'a [u8]> {
        let s = self.pos;
        let n = self.take(2, field)?;
        let n = usize::from(u16::from_be_bytes([n[0], n[1]]));
        let v = self.take(n, field)?;
        self.note(s, field, format!("{n} byte(s)"));
        Ok(v)
    }
    /// A UTF-8 Encoded String: well-formed and without U+0000 ([MQTT-1.5.3-1] 3.1.1,
    /// [MQTT-1.5.3-2] 3.1.1 / [MQTT-1.5.4-1] 5.0, [MQTT-1.5.4-2] 5.0).
    fn str(&mut self, field: &'static str) -> Res<String> {
        let s = self.pos;
        let n = self.take(2, field)?;
        let n = usize::from(u16::from_be_bytes([n[0], n[1]]));
        let raw = self.take(n, field)?;
        let text = std::str::from_utf8(raw).map_err(|_| DecodeError::Utf8 { field })?;
        if text.contains('\0') {
            return Err(DecodeError::Utf8 { field });
        }
        self.note(s, field, format!("\"{text}\""));
        Ok(text.to_string())
    }
    fn packet_id(&mut self) -> Res<u16> {
        let id = self.u16("Packet Identifier")?;
        if id == 0 {
            return Err(DecodeError::PacketIdZero);
        }
        Ok(id)
    }
    fn done(&self) -> Res<()> {
        if self.left() > 0 {
            return Err(DecodeError::Trailing {
                kind: self.kind,
                bytes: self.left(),
            });
        }
        Ok(())
    }
    /// A property list; calls `f(id, reader)` for each property the model keeps (the reader is
    /// positioned at the value), validates and skips the others.
    fn properties(
        &mut self,
        kind: &'static str,
        mut f: impl FnMut(u8, &mut Self) -> Res<bool>,
    ) -> Res<()> {
        let len = self.varint("Property Length")? as usize;
        if self.left() < len {
            return Err(DecodeError::Truncated {
                kind: self.kind,
                field: "Properties",
            });
        }
        let end = self.pos + len;
        let mut seen: Vec<u8> = Vec::new();
        while self.pos < end {
            let s = self.pos;
            let id = match get_varint_minimal(&self.b[self.pos..end]) {
                Ok((id, n)) => {
                    self.pos += n;
                    id
                }
                Err(DecodeError::VarIntNotMinimal) => return Err(DecodeError::VarIntNotMinimal),
                Err(_) => {
                    return Err(DecodeError::Truncated {
                        kind: self.kind,
                        field: "Property Identifier",
                    })
                }
            };
            let Some(name) = u8::try_from(id).ok().and_then(property_name) else {
                return Err(DecodeError::Property { kind, id });
            };
            let id = id as u8;
            if !allowed(kind, id) {
                return Err(DecodeError::Property {
                    kind,
                    id: u32::from(id),
                });
            }
            // User Property, and Subscription Identifier in PUBLISH, may repeat (§2.2.2.2).
            if id != 0x26 && !(id == 0x0B && kind == "PUBLISH") {
                if seen.contains(&id) {
                    return Err(DecodeError::DuplicateProperty(id));
                }
                seen.push(id);
            }
            // Properties are read within their own length.
            let inner: &'a [u8] = &self.b[..end];
            let outer = std::mem::replace(&mut self.b, inner);
            let kept = f(id, self);
            let r = match kept {
                Ok(true) => Ok(()),
                Ok(false) => skip_property(self, id),
                Err(e) => Err(e),
            };
            self.b = outer;
            r?;
            // Replace the value's own field by one naming the property.
            let value = self.fields.pop().map(|f| f.value).unwrap_or_default();
            self.note(s, name, value);
        }
        if seen.contains(&0x16) && !seen.contains(&0x15) {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(())
    }
}

/// A Two Byte Integer property that must not be 0 (Receive Maximum, Topic Alias).
fn nonzero_u16(r: &mut R, id: u8) -> Res<u16> {
    match r.u16("property")? {
        0 => Err(DecodeError::PropertyValue(id)),
        x => Ok(x),
    }
}

/// A Subscription Identifier: 1 to 268,435,455 (0 is a Protocol Error, §3.3.2.3.8).
fn nonzero_varint(r: &mut R, id: u8) -> Res<u32> {
    match r.varint("property")? {
        0 => Err(DecodeError::PropertyValue(id)),
        x => Ok(x),
    }
}

fn skip_property(r: &mut R, id: u8) -> Res<()> {
    match id {
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => {
            let v = r.u8("property")?;
            if v > 1 && id != 0x24 {
                return Err(DecodeError::PropertyValue(id));
            }
        }
        0x21 | 0x23 => {
            nonzero_u16(r, id)?;
        }
        0x13 | 0x22 => {
            r.u16("property")?;
        }
        0x02 | 0x11 | 0x18 => {
            r.u32("property")?;
        }
        // Maximum Packet Size 0 is a Protocol Error (5.0 §3.1.2.11.4, §3.2.2.3.6).
        0x27 => {
            if r.u32("property")? == 0 {
                return Err(DecodeError::PropertyValue(id));
            }
        }
        0x0B => {
            nonzero_varint(r, id)?;
        }
        0x09 | 0x16 => {
            r.bin("property")?;
        }
        0x26 => {
            let s = r.pos;
            let k = r.str("property")?;
            let v = r.str("property")?;
            r.fields.truncate(r.fields.len() - 2);
            r.note(s, "property", format!("\"{k}\" = \"{v}\""));
        }
        _ => {
            r.str("property")?;
        }
    }
    Ok(())
}

/// Reads a 5.0 Variable Byte Integer, which must use as few bytes as its value needs
/// ([MQTT-1.5.5-1]): (value, bytes used).
pub fn get_varint_minimal(b: &[u8]) -> Result<(u32, usize), DecodeError> {
    let (v, n) = get_varint(b)?;
    // A last byte of 0 after a first one is a longer-than-minimal encoding (`80 00` for 0).
    if n > 1 && b[n - 1] == 0 {
        return Err(DecodeError::VarIntNotMinimal);
    }
    Ok((v, n))
}

/// Reads a Variable Byte Integer: (value, bytes used). 3.1.1 (§2.2.3) does not ask for the
/// shortest encoding; 5.0 does: see [`get_varint_minimal`].
pub fn get_varint(b: &[u8]) -> Result<(u32, usize), DecodeError> {
    let mut v: u32 = 0;
    for i in 0..4 {
        let Some(&x) = b.get(i) else {
            return Err(DecodeError::Incomplete);
        };
        v |= u32::from(x & 0x7F) << (7 * i);
        if x & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(DecodeError::VarInt)
}

/// The packet type's name (5.0 §2.1.2): the model's names, and AUTH.
fn kind_name(t: u8) -> &'static str {
    match t {
        1..=14 => crate::packet::PACKET_TYPES[usize::from(t) - 1],
        15 => "AUTH",
        _ => "reserved",
    }
}

/// How many bytes the packet at the front of `bytes` takes, from its fixed header alone (the same
/// in 3.1.1 and 5.0, whatever the rest holds): `Err(Incomplete)` when `bytes` end first,
/// `Err(VarInt)` when the Remaining Length runs past four bytes (a receiver refuses the packet
/// there).
pub fn frame_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Incomplete);
    }
    let (len, n) = get_varint(&bytes[1..])?;
    let total = 1 + n + len as usize;
    if bytes.len() < total {
        return Err(DecodeError::Incomplete);
    }
    Ok(total)
}

/// Reads one packet from the front of `bytes` on a connection of version `v`: the frame and the
/// number of bytes it used. `Err(Incomplete)` means: wait for more bytes.
pub fn decode(bytes: &[u8], v: Version) -> Result<(Frame, usize), DecodeError> {
    decode_fields(bytes, v).map(|(f, n, _)| (f, n))
}

/// `decode`, with which bytes are which field.
pub fn decode_fields(bytes: &[u8], v: Version) -> Result<(Frame, usize, Vec<Field>), DecodeError> {
    let v5 = v.is_v5();
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::Incomplete);
    };
    let (t, flags) = (first >> 4, first & 15);
    let kind = kind_name(t);
    if t == 0 || (t == 15 && !v5) {
        return Err(DecodeError::PacketType(t));
    }
    let (len, n) = if v5 {
        get_varint_minimal(&bytes[1..])?
    } else {
        get_varint(&bytes[1..])?
    };
    let total = 1 + n + len as usize;
    if bytes.len() < total {
        return Err(DecodeError::Incomplete);
    }
    // Fixed flags for every packet but PUBLISH ([MQTT-2.2.2-1] 3.1.1 / [MQTT-2.1.3-1] 5.0).
    let want = match t {
        3 => None,
        6 | 8 | 10 => Some(2),
        _ => Some(0),
    };
    if want.is_some_and(|w| w != flags) {
        return Err(DecodeError::Flags { kind, flags });
    }
    let mut fields = vec![
        Field {
            start: 0,
            len: 1,
            name: "Fixed header".into(),
            value: format!("{kind} (type {t}), flags {flags:04b}"),
        },
        Field {
            start: 1,
            len: n,
            name: "Remaining Length".into(),
            value: len.to_string(),
        },
    ];
    let mut r = R {
        b: &bytes[1 + n..total],
        pos: 0,
        base: 1 + n,
        kind,
        fields: Vec::new(),
    };
    let frame = match t {
        1 => Frame::Packet(Packet::Connect(read_connect(&mut r, v)?)),
        2 => {
            let s = r.pos;
            let ack = r.take(1, "Acknowledge Flags")?[0];
            if ack & 0xFE != 0 {
                return Err(DecodeError::ConnackFlags(ack));
            }
            r.note(
                s,
                "Acknowledge Flags",
                format!("Session Present = {}", ack & 1),
            );
            let code = r.code(if v5 { "Reason Code" } else { "Return Code" }, v5)?;
            let mut c = Connack {
                session_present: ack & 1 == 1,
                code,
                assigned_client_id: None,
                session_expiry: None,
                server_keep_alive: None,
                receive_maximum: None,
                maximum_qos: None,
            };
            if v5 {
                r.properties("CONNACK", |id, r| {
                    match id {
                        0x11 => c.session_expiry = Some(r.u32("property")?),
                        0x21 => c.receive_maximum = Some(nonzero_u16(r, id)?),
                        0x24 => {
                            let q = r.u8("property")?;
                            c.maximum_qos = Some(
                                QoS::from_u8(q)
                                    .filter(|q| q.as_u8() < 2)
                                    .ok_or(DecodeError::PropertyValue(id))?,
                            );
                        }
                        0x12 => c.assigned_client_id = Some(ClientId::new(r.str("property")?)),
                        0x13 => c.server_keep_alive = Some(r.u16("property")?),
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
            }
            Frame::Packet(Packet::Connack(c))
        }
        3 => {
            let qos = (flags >> 1) & 3;
            let qos = QoS::from_u8(qos).ok_or(DecodeError::Qos(qos))?;
            let dup = flags & 8 != 0;
            if dup && qos == QoS::AtMostOnce {
                return Err(DecodeError::DupWithQos0);
            }
            let topic = r.str("Topic Name")?;
            let packet_id = if qos != QoS::AtMostOnce {
                Some(r.packet_id()?)
            } else {
                None
            };
            let (mut message_expiry, mut subscription_ids) = (None, Vec::new());
            let mut topic_alias = false;
            if v5 {
                r.properties("PUBLISH", |id, r| {
                    match id {
                        0x02 => message_expiry = Some(r.u32("property")?),
                        0x0B => subscription_ids.push(nonzero_varint(r, id)?),
                        0x23 => {
                            topic_alias = true;
                            return Ok(false);
                        }
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
            }
            // 5.0 §3.3.2.1: a zero-length Topic Name is allowed with a Topic Alias.
            if !(v5 && topic_alias && topic.is_empty()) {
                check_topic("Topic Name", crate::topic::check_topic_name(&topic))?;
            }
            let s = r.pos;
            let raw = r.take(r.left(), "Payload")?;
            let payload = crate::types::Payload::from(raw);
            r.note(s, "Payload", payload_words(&payload));
            Frame::Packet(Packet::Publish(Publish {
                dup,
                qos,
                retain: flags & 1 == 1,
                topic: topic.into(),
                packet_id,
                payload,
                message_expiry,
                subscription_ids,
                msg: MsgId(0),
            }))
        }
        4..=7 => {
            let packet_id = r.packet_id()?;
            let mut reason = 0;
            if v5 && r.left() > 0 {
                reason = r.code("Reason Code", v5)?;
                if r.left() > 0 {
                    r.properties(kind, |_, _| Ok(false))?;
                }
            }
            Frame::Packet(match t {
                4 => Packet::Puback { packet_id, reason },
                5 => Packet::Pubrec { packet_id, reason },
                6 => Packet::Pubrel { packet_id, reason },
                _ => Packet::Pubcomp { packet_id, reason },
            })
        }
        8 => {
            let packet_id = r.packet_id()?;
            let mut subscription_id = None;
            if v5 {
                r.properties("SUBSCRIBE", |id, r| {
                    if id == 0x0B {
                        subscription_id = Some(nonzero_varint(r, id)?);
                        return Ok(true);
                    }
                    Ok(false)
                })?;
            }
            let mut filters = Vec::new();
            while r.left() > 0 {
                let f = r.str("Topic Filter")?;
                check_topic("Topic Filter", crate::topic::check_filter(&f, v5))?;
                let s = r.pos;
                let o = r.take(1, "Subscription Options")?[0];
                let reserved = if v5 { 0xC0 } else { 0xFC };
                if o & reserved != 0 || (o >> 4) & 3 == 3 {
                    return Err(DecodeError::SubOptions(o));
                }
                let qos = QoS::from_u8(o & 3).ok_or(DecodeError::SubOptions(o))?;
                r.note(
                    s,
                    if v5 {
                        "Subscription Options"
                    } else {
                        "Requested QoS"
                    },
                    format!("QoS {}", o & 3),
                );
                filters.push((
                    f,
                    SubOptions {
                        qos,
                        no_local: o & 4 != 0,
                        retain_as_published: o & 8 != 0,
                        retain_handling: (o >> 4) & 3,
                    },
                ));
            }
            if filters.is_empty() {
                return Err(DecodeError::NoTopicFilter { kind: "SUBSCRIBE" });
            }
            Frame::Packet(Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                subscription_id,
            }))
        }
        9 | 11 => {
            let packet_id = r.packet_id()?;
            if v5 {
                r.properties(kind, |_, _| Ok(false))?;
            }
            let mut codes = Vec::new();
            // A 3.1.1 UNSUBACK is the packet identifier alone (§3.11.2: no payload).
            while r.left() > 0 && (v5 || t == 9) {
                codes.push(r.code(if v5 { "Reason Code" } else { "Return Code" }, v5)?);
            }
            if codes.is_empty() && (v5 || t == 9) {
                return Err(DecodeError::NoReasonCodes { kind });
            }
            Frame::Packet(if t == 9 {
                Packet::Suback { packet_id, codes }
            } else {
                Packet::Unsuback { packet_id, codes }
            })
        }
        10 => {
            let packet_id = r.packet_id()?;
            if v5 {
                r.properties("UNSUBSCRIBE", |_, _| Ok(false))?;
            }
            let mut filters = Vec::new();
            while r.left() > 0 {
                let f = r.str("Topic Filter")?;
                check_topic("Topic Filter", crate::topic::check_filter(&f, v5))?;
                filters.push(f);
            }
            if filters.is_empty() {
                return Err(DecodeError::NoTopicFilter {
                    kind: "UNSUBSCRIBE",
                });
            }
            Frame::Packet(Packet::Unsubscribe { packet_id, filters })
        }
        12 => Frame::Packet(Packet::Pingreq),
        13 => Frame::Packet(Packet::Pingresp),
        14 => {
            let mut d = Disconnect {
                reason: 0,
                session_expiry: None,
            };
            if v5 && r.left() > 0 {
                d.reason = r.code("Reason Code", v5)?;
                if r.left() > 0 {
                    r.properties("DISCONNECT", |id, r| {
                        if id == 0x11 {
                            d.session_expiry = Some(r.u32("property")?);
                            return Ok(true);
                        }
                        Ok(false)
                    })?;
                }
            }
            Frame::Packet(Packet::Disconnect(d))
        }
        _ => {
            let mut reason = 0;
            let mut method = None;
            if r.left() > 0 {
                reason = r.code("Reason Code", v5)?;
                if r.left() > 0 {
                    r.properties("AUTH", |id, r| {
                        if id == 0x15 {
                            method = Some(r.str("property")?);
                            return Ok(true);
                        }
                        Ok(false)
                    })?;
                }
            }
            Frame::Auth { reason, method }
        }
    };
    r.done()?;
    fields.append(&mut r.fields);
    Ok((frame, total, fields))
}

/// A topic name or filter checked ([`crate::topic`]).
fn check_topic(field: &'static str, checked: Result<(), crate::topic::TopicError>) -> Res<()> {
    checked.map_err(|error| DecodeError::Topic { field, error })
}

fn read_connect(r: &mut R, v: Version) -> Res<Connect> {
    let v5 = v.is_v5();
    if r.str("Protocol Name")? != "MQTT" {
        return Err(DecodeError::ProtocolName);
    }
    let level = r.u8("Protocol Level")?;
    if level != if v5 { 5 } else { 4 } {
        return Err(DecodeError::ProtocolLevel(level));
    }
    let flags = r.u8("Connect Flags")?;
    let will_flag = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 3;
    let will_retain = flags & 0x20 != 0;
    // [MQTT-3.1.2-3] reserved bit; will QoS and retain only with a will ([MQTT-3.1.2-11] 3.1.1,
    // [MQTT-3.1.2-13] 3.1.1, [MQTT-3.1.2-15] 3.1.1 / [MQTT-3.1.2-11] 5.0, [MQTT-3.1.2-13] 5.0);
    // will QoS 3 ([MQTT-3.1.2-14] 3.1.1 / [MQTT-3.1.2-12] 5.0); a password needs a user name
    // ([MQTT-3.1.2-22] 3.1.1).
    if flags & 1 != 0
        || (!will_flag && (will_qos != 0 || will_retain))
        || will_qos == 3
        || (!v5 && flags & 0x40 != 0 && flags & 0x80 == 0)
    {
        return Err(DecodeError::ConnectFlags(flags));
    }
    let keep_alive = r.u16("Keep Alive")?;
    let (mut session_expiry, mut receive_maximum) = (None, None);
    if v5 {
        r.properties("CONNECT", |id, r| {
            match id {
                0x11 => session_expiry = Some(r.u32("property")?),
                0x21 => receive_maximum = Some(nonzero_u16(r, id)?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
    }
    let client_id = r.str("Client Identifier")?;
    let mut will = None;
    if will_flag {
        let (mut delay, mut message_expiry) = (0, None);
        if v5 {
            r.properties("WILL", |id, r| {
                match id {
                    0x18 => delay = r.u32("property")?,
                    0x02 => message_expiry = Some(r.u32("property")?),
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
        }
        let topic = r.str("Will Topic")?;
        check_topic("Will Topic", crate::topic::check_topic_name(&topic))?;
        let payload =
            crate::types::Payload::from(r.bin(if v5 { "Will Payload" } else { "Will Message" })?);
        will = Some(Will {
            topic: topic.into(),
            payload,
            qos: QoS::from_u8(will_qos).ok_or(DecodeError::Qos(will_qos))?,
            retain: will_retain,
            delay,
            message_expiry,
        });
    }
    if flags & 0x80 != 0 {
        r.str("User Name")?;
    }
    if flags & 0x40 != 0 {
        r.bin("Password")?;
    }
    Ok(Connect {
        version: v,
        client_id: ClientId::new(client_id),
        clean_start: flags & 2 != 0,
        keep_alive,
        session_expiry,
        receive_maximum,
        will,
    })
}
