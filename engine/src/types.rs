//! Small value types shared by the whole engine: time, ids, QoS, protocol version.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Shared immutable text (topics, payloads, ids): cloning it is a reference-count increment,
/// which keeps fan-out to thousands of sessions cheap.
pub type Text = Arc<str>;

/// An application message's payload: bytes, whose content and format are the application's
/// (3.1.1 §3.3.3, 5.0 §3.3.3). Shown, and written in traces, as text when the bytes are UTF-8
/// and as `{"hex": "..."}` otherwise; cloning it is a reference-count increment.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Payload(Arc<[u8]>);

impl Payload {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The bytes as text, when they are UTF-8.
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True for a zero-length payload (which deletes a retained message, §3.3.1.3).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The bytes in hex, two digits a byte, separated by spaces.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(self.0.len() * 3);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = fmt::Write::write_fmt(&mut s, format_args!("{b:02X}"));
        }
        s
    }
}

impl From<&str> for Payload {
    fn from(s: &str) -> Payload {
        Payload(Arc::from(s.as_bytes()))
    }
}
impl From<String> for Payload {
    fn from(s: String) -> Payload {
        Payload(Arc::from(s.into_bytes()))
    }
}
impl From<&[u8]> for Payload {
    fn from(b: &[u8]) -> Payload {
        Payload(Arc::from(b))
    }
}
impl From<Vec<u8>> for Payload {
    fn from(b: Vec<u8>) -> Payload {
        Payload(Arc::from(b))
    }
}

impl fmt::Display for Payload {
    /// The text, or for bytes that are not UTF-8, "bytes" and the hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_text() {
            Some(t) => f.write_str(t),
            None => write!(f, "bytes {}", self.hex()),
        }
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.as_text() {
            Some(t) => s.serialize_str(t),
            None => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("hex", &self.hex().replace(' ', ""))?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    /// A string (its UTF-8 bytes) or `{"hex": "FF00"}`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Payload;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a payload: a string, or {\"hex\": \"...\"}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Payload, E> {
                Ok(v.into())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Payload, A::Error> {
                use serde::de::Error;
                let mut bytes = None;
                while let Some(k) = m.next_key::<String>()? {
                    if k != "hex" {
                        return Err(A::Error::unknown_field(&k, &["hex"]));
                    }
                    let hex: String = m.next_value()?;
                    bytes = Some(
                        from_hex(&hex)
                            .map_err(|e| A::Error::custom(format!("hex payload: {e}")))?,
                    );
                }
                bytes
                    .map(Payload::from)
                    .ok_or_else(|| A::Error::missing_field("hex"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Bytes from hex digits (whitespace ignored).
pub fn from_hex(hex: &str) -> Result<Vec<u8>, &'static str> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("an odd number of hex digits");
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|n| n as u8);
    digits
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or("a character that is not a hex digit")
}

/// Bytes as a client put them on the wire, exactly (a scenario's `send` step with `hex`).
/// Written in traces and shown as upper-case hex pairs separated by spaces (`E0 00`).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct WireBytes(pub Vec<u8>);

impl fmt::Display for WireBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WireBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireBytes({self})")
    }
}

impl Serialize for WireBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WireBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WireBytes, D::Error> {
        let s = String::deserialize(d)?;
        from_hex(&s)
            .map(WireBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// Simulated time in milliseconds since the start of a run.
///
/// The engine never reads a clock: every call that can change state is given a `SimTime`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of a run.
    pub const ZERO: SimTime = SimTime(0);

    /// `s` whole seconds, as milliseconds (saturating).
    pub fn from_secs(s: u64) -> SimTime {
        SimTime(s.saturating_mul(1000))
    }

    /// The time in milliseconds since the start of the run.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// Whole seconds elapsed (rounded down), as a broker with a one-second clock sees it.
    pub fn whole_secs(self) -> u64 {
        self.0 / 1000
    }

    /// This time plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: u64) -> SimTime {
        SimTime(self.0.saturating_add(ms))
    }

    /// This time plus `s` seconds (saturating).
    pub fn plus_secs(self, s: u64) -> SimTime {
        self.plus_millis(s.saturating_mul(1000))
    }

    /// Milliseconds from `earlier` to this time; zero when `earlier` is later.
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration_ms(self.0))
    }
}

/// Formats a duration in milliseconds the way the trace shows it: `0s`, `1.5s`, `2m 05s`, `3h 00m`.
pub fn format_duration_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let frac = ms % 1000;
    if secs < 60 {
        if frac == 0 {
            format!("{secs}s")
        } else {
            let s = format!("{secs}.{frac:03}");
            format!("{}s", s.trim_end_matches('0'))
        }
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else if secs < 86_400 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}d {:02}h", secs / 86_400, (secs % 86_400) / 3600)
    }
}

/// An MQTT Client Identifier, as carried in CONNECT.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub Text);

impl ClientId {
    /// A Client Identifier from any string.
    pub fn new(s: impl AsRef<str>) -> ClientId {
        ClientId(Arc::from(s.as_ref()))
    }
    /// The Client Identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True for a zero-length Client Identifier (one the client asks the broker to assign).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One network connection between a simulated client and the broker. Never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnId(pub u32);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A packet identifier (1..=65535).
pub type PacketId = u16;

/// The engine's own identity for one application message as published, so every copy of it can be
/// traced (it is not on the wire).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MsgId(pub u32);

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// Quality of service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum QoS {
    /// QoS 0: delivered at most once, with no acknowledgement.
    AtMostOnce = 0,
    /// QoS 1: delivered at least once, acknowledged with PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: delivered exactly once, with the PUBREC / PUBREL / PUBCOMP exchange.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a wire value 0, 1 or 2; `None` for any other value.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
    /// The wire value: 0, 1 or 2.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for QoS {
    type Error = String;
    fn try_from(v: u8) -> Result<QoS, String> {
        QoS::from_u8(v).ok_or_else(|| format!("QoS must be 0, 1 or 2, not {v}"))
    }
}

impl From<QoS> for u8 {
    fn from(q: QoS) -> u8 {
        q as u8
    }
}

impl fmt::Display for QoS {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QoS {}", *self as u8)
    }
}

/// The protocol level of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4); written `"3.1.1"` in scenarios and traces.
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.0 (protocol level 5); written `"5.0"` in scenarios and traces.
    #[serde(rename = "5.0")]
    V5,
}

impl Version {
    /// The version as written in scenarios and traces: `"3.1.1"` or `"5.0"`.
    pub fn label(self) -> &'static str {
        match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
        }
    }
    /// True for MQTT 5.0.
    pub fn is_v5(self) -> bool {
        self == Version::V5
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MQTT {}", self.label())
    }
}

/// Session Expiry Interval in seconds; `u32::MAX` means the session never expires
/// (MQTT 5.0 §3.1.2.11.2). A 3.1.1 Clean Session = 0 session is modelled as `u32::MAX` too,
/// because 3.1.1 has no expiry ([MQTT-3.1.2-4] 3.1.1).
pub const NEVER_EXPIRE: u32 = u32::MAX;

/// Formats a Session Expiry Interval for people.
pub fn format_expiry(secs: u32) -> String {
    if secs == NEVER_EXPIRE {
        "never".to_string()
    } else {
        format_duration_ms(u64::from(secs) * 1000)
    }
}
