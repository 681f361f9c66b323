//! Scenario files: a documented, versioned JSON format a course author can write by hand
//! (see `docs/SCENARIO-FORMAT.md`), parsed with errors that give line, column and what was
//! expected.

use crate::claim::StepClaim;
use crate::client::{Backoff, ConnectOptions, SimClient};
use crate::packet::{Packet, SubOptions, Will};
use crate::profile::{BrokerProfile, ProfileOverrides};
use crate::topic;
use crate::types::{format_duration_ms, ClientId, QoS, Version, WireBytes, NEVER_EXPIRE};
use crate::world::{Direction, Outgoing, World};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

mod play;
mod validate;

/// The format version this engine reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A parsed scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be 1.
    pub format: u32,
    /// Short id used in URLs and the CLI (letters, digits, '-').
    pub id: String,
    /// Title shown in the scenario picker.
    pub title: String,
    /// Group shown in the scenario picker.
    #[serde(default)]
    pub topic: String,
    /// One or two sentences on what the scenario teaches.
    #[serde(default)]
    pub summary: String,
    /// Default MQTT version of the clients.
    pub version: Version,
    /// The id of the same lesson written for the other MQTT version (the page's 3.1.1 / 5.0
    /// toggle). Built-in pairs point at each other; checked by the library's tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_version: Option<String>,
    /// Broker profile id, or an object with `profile` and overrides.
    #[serde(default)]
    pub broker: BrokerChoice,
    /// Seed of every random choice in the run (reconnect jitter, assigned client identifiers);
    /// default 0.
    #[serde(default)]
    pub seed: u64,
    /// The simulated clients, in the order they are created.
    pub clients: Vec<ClientSpec>,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// The broker a scenario runs on: a profile id (`"mosquitto-2.0.11"`), or an object
/// `{"profile": "mosquitto-2.0.11", "max_queued_messages": 2}` with overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerChoice {
    /// Id of the broker profile (e.g. `"mosquitto-2.0.11"`; default `"spec"`).
    pub profile: String,
    /// Settings that replace the profile's own.
    pub overrides: ProfileOverrides,
}

impl Default for BrokerChoice {
    fn default() -> Self {
        BrokerChoice {
            profile: "spec".into(),
            overrides: ProfileOverrides::default(),
        }
    }
}

/// Calls `$m!(field, Type)` for every override a scenario may set.
macro_rules! overrides {
    ($m:ident) => {
        $m!(max_queued_messages, u32);
        $m!(overflow, crate::profile::Overflow);
        $m!(queue_qos0_offline, bool);
        $m!(max_inflight_v311, u16);
        $m!(server_receive_maximum, u16);
        $m!(v311_session_expiry, u32);
        $m!(max_session_expiry, u32);
        $m!(max_qos, u8);
        $m!(upgrade_outgoing_qos, bool);
        $m!(persistence, crate::profile::Persistence);
        $m!(allow_zero_length_client_id, bool);
        $m!(max_connections_per_second, u32);
        $m!(per_message_overhead, u32);
        $m!(per_subscription_bytes, u32);
        $m!(per_session_bytes, u32);
    };
}

impl Serialize for BrokerChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.overrides.is_empty() {
            return s.serialize_str(&self.profile);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("profile", &self.profile)?;
        let o = &self.overrides;
        macro_rules! put {
            ($f:ident, $t:ty) => {
                if let Some(v) = &o.$f {
                    m.serialize_entry(stringify!($f), v)?;
                }
            };
        }
        overrides!(put);
        m.end()
    }
}

impl<'de> Deserialize<'de> for BrokerChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BrokerChoice, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BrokerChoice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a broker profile id such as \"mosquitto-2.0.11\", or an object with \"profile\" and overrides")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BrokerChoice, E> {
                Ok(BrokerChoice {
                    profile: v.to_string(),
                    overrides: ProfileOverrides::default(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BrokerChoice, A::Error> {
                let mut profile = None;
                let mut o = ProfileOverrides::default();
                let mut seen: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if seen.contains(&key) {
                        return Err(de::Error::custom(format!(
                            "broker: \"{key}\" is given twice; a setting appears once"
                        )));
                    }
                    seen.push(key.clone());
                    if key == "profile" {
                        profile = Some(map.next_value::<String>()?);
                        continue;
                    }
                    macro_rules! take {
                        ($f:ident, $t:ty) => {
                            if key == stringify!($f) {
                                o.$f = Some(map.next_value::<$t>()?);
                                continue;
                            }
                        };
                    }
                    overrides!(take);
                    let mut known = vec!["profile"];
                    macro_rules! name {
                        ($f:ident, $t:ty) => {
                            known.push(stringify!($f));
                        };
                    }
                    overrides!(name);
                    return Err(de::Error::custom(format!(
                        "broker: unknown setting \"{key}\"; expected one of {}",
                        known.join(", ")
                    )));
                }
                let profile = profile.ok_or_else(|| de::Error::custom("broker: an object needs \"profile\": \"<profile id>\" next to its overrides"))?;
                Ok(BrokerChoice {
                    profile,
                    overrides: o,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl BrokerChoice {
    /// Id of the chosen broker profile.
    pub fn profile_id(&self) -> &str {
        &self.profile
    }

    /// The named profile with the overrides applied; an error names an unknown profile id or an
    /// override out of range.
    pub fn resolve(&self) -> Result<BrokerProfile, String> {
        let id = self.profile_id();
        let mut p = BrokerProfile::by_id(id).ok_or_else(|| {
            let known: Vec<String> = BrokerProfile::all().into_iter().map(|p| p.id).collect();
            format!(
                "unknown broker profile \"{id}\"; known profiles: {}",
                known.join(", ")
            )
        })?;
        self.overrides.validate()?;
        self.overrides.apply(&mut p);
        Ok(p)
    }
}

/// One simulated client of a scenario (or, with `count`, a group of them).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Name in the scenario (and the page).
    pub name: String,
    /// MQTT client id; defaults to the name. May be "" (the broker assigns one, where allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Protocol version of this client (defaults to the scenario's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Offline buffer of the client's own publishes (0 or absent = none). A fixed-width integer,
    /// as every integer of the format is: the same files are read natively and in wasm32, where
    /// `usize` has 32 bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<u32>,
    /// Reconnect automatically after a lost connection, waiting as this backoff says; absent:
    /// never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reconnect: Option<Backoff>,
    /// Create this many clients named `name-01`, `name-02`, ... (a step naming `name` acts on all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// A 5.0 client without session state that gets Session Present = 1 closes the connection,
    /// as [MQTT-3.2.2-4] 5.0 requires (default false: it carries on, so a takeover can be followed).
    #[serde(default)]
    pub strict_session_present: bool,
}

/// A Session Expiry value: seconds, or "never" (0xFFFFFFFF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Expiry(pub u32);

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Expiry, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Expiry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds from 0 to 4294967295, or \"never\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Expiry, E> {
                u32::try_from(v).map(Expiry).map_err(|_| E::custom(format!("{v} is larger than the largest Session Expiry Interval, 4294967295 (\"never\")")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expiry, E> {
                if v < 0 {
                    return Err(E::custom(format!("an expiry cannot be negative ({v})")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expiry, E> {
                if v == "never" {
                    Ok(Expiry(NEVER_EXPIRE))
                } else {
                    parse_duration_ms(v).map_err(E::custom).and_then(|ms| {
                        if ms % 1000 != 0 {
                            Err(E::custom("an expiry is a whole number of seconds"))
                        } else {
                            self.visit_u64(ms / 1000)
                        }
                    })
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in milliseconds, written as seconds (number) or "500ms", "1.5s", "2m", "1h", "1d".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationMs(pub u64);

impl Serialize for DurationMs {
    /// Written back the way an author would: "30s", "1500ms", "2m", "1h".
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ms = self.0;
        let text = if ms.is_multiple_of(3_600_000) && ms > 0 {
            format!("{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) && ms > 0 {
            format!("{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            format!("{}s", ms / 1000)
        } else {
            format!("{ms}ms")
        };
        s.serialize_str(&text)
    }
}

/// Longest duration a scenario may wait in one step (one year).
pub const MAX_WAIT_MS: u64 = 366 * 86_400_000;

/// Milliseconds from a duration written as seconds (`"30"`, `"1.5"`) or with a unit (`"500ms"`,
/// `"1.5s"`, `"2m"`, `"1h"`, `"1d"`); at most `MAX_WAIT_MS`.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86_400_000.0)
    } else {
        (t, 1000.0)
    };
    let v = decimal(num.trim()).ok_or_else(|| {
        format!("\"{s}\" is not a duration; write seconds (30), or 500ms, 1.5s, 2m, 1h, 1d")
    })?;
    seconds_to_ms(v * mult / 1000.0).map_err(|e| format!("\"{s}\": {e}"))
}

/// A plain decimal number ("30", "1.5", ".25"): no sign, no exponent. Written out instead of
/// `str::parse::<f64>`, whose general algorithm costs the page about 2 KB of its size budget.
fn decimal(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v = int.bytes().fold(0.0, |v, b| v * 10.0 + f64::from(b - b'0'));
    let mut scale = 1.0;
    for b in frac.bytes() {
        scale /= 10.0;
        v += f64::from(b - b'0') * scale;
    }
    Some(v)
}

fn seconds_to_ms(secs: f64) -> Result<u64, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err("a duration must be a finite number of seconds, 0 or more".into());
    }
    let ms = (secs * 1000.0).round();
    if ms > MAX_WAIT_MS as f64 {
        return Err(format!(
            "a duration may be at most {} in one step",
            format_duration_ms(MAX_WAIT_MS)
        ));
    }
    Ok(ms as u64)
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationMs, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationMs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration: seconds as a number, or a string like \"500ms\", \"1.5s\", \"2m\", \"1h\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationMs, E> {
                seconds_to_ms(v as f64).map(DurationMs).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationMs, E> {
                seconds_to_ms(v as f64).map(DurationMs).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationMs, E> {
                seconds_to_ms(v).map(DurationMs).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationMs, E> {
                parse_duration_ms(v).map(DurationMs).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A will as a scenario's `connect` step writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WillSpec {
    /// Will Topic.
    pub topic: String,
    /// Will payload, as text (default empty).
    #[serde(default)]
    pub payload: String,
    /// Will QoS (default 0).
    #[serde(default = "qos0")]
    pub qos: QoS,
    /// Will Retain (default false).
    #[serde(default)]
    pub retain: bool,
    /// Will Delay Interval (5.0), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
    /// Message Expiry Interval of the will (5.0), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
}

fn qos0() -> QoS {
    QoS::AtMostOnce
}
fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

/// The `connect` step: open a new network connection (dropping the client's old one, if any) and
/// send CONNECT.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// Clean Session (3.1.1) / Clean Start (5.0); MQTT libraries default to 1.
    #[serde(default = "yes")]
    pub clean_start: bool,
    /// 5.0 Session Expiry Interval (absent = 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<Expiry>,
    /// Keep Alive, seconds (default 60; 0 turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<u16>,
    /// 5.0 Receive Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<u16>,
    /// The Will Message to put in CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub will: Option<WillSpec>,
    /// Connect with another protocol version than the client's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Connect with this client id (e.g. "" or another client's id); it becomes the client's id
    /// from this step on, for later connects and automatic reconnects too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The `subscribe` step: SUBSCRIBE with one topic filter.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// Topic filter (`$share/name/filter` for a shared subscription).
    pub filter: String,
    /// Requested QoS (default 0).
    #[serde(default = "qos0")]
    pub qos: QoS,
    /// No Local (5.0; default false).
    #[serde(default)]
    pub no_local: bool,
    /// Retain As Published (5.0; default false).
    #[serde(default)]
    pub retain_as_published: bool,
    /// Retain Handling (5.0): 0, 1 or 2 (default 0).
    #[serde(default)]
    pub retain_handling: u8,
    /// Subscription Identifier (5.0), 1 to 268,435,455.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u32>,
}

/// The `unsubscribe` step: UNSUBSCRIBE with one topic filter.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// The topic filter to remove, as it was subscribed.
    pub filter: String,
}

/// The `publish` step: the application publishes; an offline client buffers the message or loses
/// it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// Topic Name.
    pub topic: String,
    /// Payload, as text (default empty).
    #[serde(default)]
    pub payload: String,
    /// QoS (default 0).
    #[serde(default = "qos0")]
    pub qos: QoS,
    /// RETAIN flag (default false).
    #[serde(default)]
    pub retain: bool,
    /// 5.0 Message Expiry Interval, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
    /// Publish this many messages; `{n}` in the payload becomes 1, 2, ...
    #[serde(default = "one")]
    pub count: u32,
}

/// The `disconnect` step: the client sends DISCONNECT, then closes the connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// 5.0 reason code (0x00 normal, 0x04 with will).
    #[serde(default)]
    pub reason: u8,
    /// 5.0 Session Expiry Interval sent in DISCONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<Expiry>,
}

/// A step that names only its client (`drop`, `cut`, `release_acks`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientOnly {
    /// Name of the client, or of a `count` group.
    pub client: String,
}

/// The `lose_next` step: the client's link loses the next matching packets.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoseNextStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// Which way the packets to lose travel.
    pub direction: Direction,
    /// How many packets to lose (default 1, at most 1000).
    #[serde(default = "one")]
    pub count: u32,
    /// Only packets of this type (e.g. "PUBCOMP").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<String>,
}

/// The `withhold_acks` step: the client stops or resumes sending PUBACK, PUBREC and PUBCOMP.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithholdStep {
    /// Name of the client, or of a `count` group.
    pub client: String,
    /// True (default) stops acknowledging; false resumes and sends what was held back.
    #[serde(default = "yes")]
    pub on: bool,
}

/// A packet of the client's own choosing: a model packet, or bytes exactly as they go on the
/// wire (one whole packet by its fixed header, valid or not). The client's own session does not
/// learn of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendStep {
    /// Name of the client, or of a `count` group; it must be connected.
    pub client: String,
    /// A model packet in the form traces write it (`{"type": "PUBREL", "packet_id": 7,
    /// "reason": 0}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<Packet>,
    /// Bytes in hex, spaces allowed (`"E0 00"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<WireBytes>,
}

/// The `stop_broker`, `start_broker` and `restart_broker` steps.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartStep {
    /// How long the broker is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime: Option<DurationMs>,
}

/// What one step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Open a connection and send CONNECT.
    Connect(ConnectStep),
    /// Send SUBSCRIBE.
    Subscribe(SubscribeStep),
    /// Send UNSUBSCRIBE.
    Unsubscribe(UnsubscribeStep),
    /// The application publishes.
    Publish(PublishStep),
    /// Send DISCONNECT and close the connection.
    Disconnect(DisconnectStep),
    /// The network fails; both sides notice.
    Drop(ClientOnly),
    /// The link dies silently; keep alive has to notice.
    Cut(ClientOnly),
    /// Let this much simulated time pass, firing every timer on the way.
    Wait(DurationMs),
    /// Lose the next matching packets on a link.
    LoseNext(LoseNextStep),
    /// Stop or resume acknowledging.
    WithholdAcks(WithholdStep),
    /// The client sends the acknowledgements it held back and keeps holding new ones.
    ReleaseAcks(ClientOnly),
    /// The client sends a packet of its own choosing.
    Send(SendStep),
    /// Stop the broker: its connections close, and sessions survive only as its persistence says.
    StopBroker(RestartStep),
    /// Start the stopped broker again.
    StartBroker(RestartStep),
    /// Stop the broker, wait `downtime`, and start it again.
    RestartBroker(RestartStep),
    /// Narration only.
    Say,
}

const ACTIONS: &[&str] = &[
    "connect",
    "subscribe",
    "unsubscribe",
    "publish",
    "disconnect",
    "drop",
    "cut",
    "wait",
    "lose_next",
    "withhold_acks",
    "release_acks",
    "send",
    "stop_broker",
    "start_broker",
    "restart_broker",
];

/// One step: an action, the sentence that narrates it, and what the author claims it does.
#[derive(Clone, Debug)]
pub struct Step {
    /// Narration shown with the step (empty for none). It must be true on every broker profile;
    /// an outcome that differs between profiles belongs in `claims`.
    pub say: String,
    /// What the step does.
    pub action: Action,
    /// What the author claims the step does, checked by [`crate::Player::claims`].
    pub claims: Vec<StepClaim>,
    /// Name of the moment of the lesson this step is (`"takeover"`), unique in the file; the
    /// two files of a 3.1.1 / 5.0 pair name the same moments, so the page's version toggle can
    /// land on the same one ([`Scenario::corresponding_step`]).
    pub moment: Option<String>,
}

impl Serialize for Step {
    /// `{"say": "...", "<action>": {...}}`, the form the file format documents.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(name) = &self.moment {
            m.serialize_entry("moment", name)?;
        }
        if !self.say.is_empty() {
            m.serialize_entry("say", &self.say)?;
        }
        match &self.action {
            Action::Connect(x) => m.serialize_entry("connect", x)?,
            Action::Subscribe(x) => m.serialize_entry("subscribe", x)?,
            Action::Unsubscribe(x) => m.serialize_entry("unsubscribe", x)?,
            Action::Publish(x) => m.serialize_entry("publish", x)?,
            Action::Disconnect(x) => m.serialize_entry("disconnect", x)?,
            Action::Drop(x) => m.serialize_entry("drop", x)?,
            Action::Cut(x) => m.serialize_entry("cut", x)?,
            Action::Wait(x) => m.serialize_entry("wait", x)?,
            Action::LoseNext(x) => m.serialize_entry("lose_next", x)?,
            Action::WithholdAcks(x) => m.serialize_entry("withhold_acks", x)?,
            Action::ReleaseAcks(x) => m.serialize_entry("release_acks", x)?,
            Action::Send(x) => m.serialize_entry("send", x)?,
            Action::StopBroker(x) => m.serialize_entry("stop_broker", x)?,
            Action::StartBroker(x) => m.serialize_entry("start_broker", x)?,
            Action::RestartBroker(x) => m.serialize_entry("restart_broker", x)?,
            Action::Say => {}
        }
        if !self.claims.is_empty() {
            m.serialize_entry("claims", &self.claims)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a step object with \"say\" and one action ({})",
                    ACTIONS.join(", ")
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let mut say: Option<String> = None;
                let mut action: Option<Action> = None;
                let mut claims: Vec<StepClaim> = Vec::new();
                let mut moment: Option<String> = None;
                let mut had_claims = false;
                while let Some(key) = map.next_key::<String>()? {
                    let twice = || {
                        de::Error::custom(format!(
                            "\"{key}\" is given twice in one step; a key appears once in an object"
                        ))
                    };
                    if key == "say" {
                        if say.is_some() {
                            return Err(twice());
                        }
                        say = Some(map.next_value()?);
                        continue;
                    }
                    if key == "claims" {
                        if had_claims {
                            return Err(twice());
                        }
                        had_claims = true;
                        claims = map.next_value()?;
                        continue;
                    }
                    if key == "moment" {
                        if moment.is_some() {
                            return Err(twice());
                        }
                        moment = Some(map.next_value()?);
                        continue;
                    }
                    if action.is_some() && ACTIONS.contains(&key.as_str()) {
                        return Err(de::Error::custom(format!("a step has one action; \"{key}\" is a second one (make it its own step)")));
                    }
                    let a = match key.as_str() {
                        "connect" => Action::Connect(map.next_value()?),
                        "subscribe" => Action::Subscribe(map.next_value()?),
                        "unsubscribe" => Action::Unsubscribe(map.next_value()?),
                        "publish" => Action::Publish(map.next_value()?),
                        "disconnect" => Action::Disconnect(map.next_value()?),
                        "drop" => Action::Drop(map.next_value()?),
                        "cut" => Action::Cut(map.next_value()?),
                        "wait" => Action::Wait(map.next_value()?),
                        "lose_next" => Action::LoseNext(map.next_value()?),
                        "withhold_acks" => Action::WithholdAcks(map.next_value()?),
                        "release_acks" => Action::ReleaseAcks(map.next_value()?),
                        "send" => Action::Send(map.next_value()?),
                        "stop_broker" => Action::StopBroker(map.next_value()?),
                        "start_broker" => Action::StartBroker(map.next_value()?),
                        "restart_broker" => Action::RestartBroker(map.next_value()?),
                        other => {
                            return Err(de::Error::custom(format!(
                            "unknown key \"{other}\" in a step; expected \"say\", \"claims\", \"moment\" or one action: {}",
                            ACTIONS.join(", ")
                        )))
                        }
                    };
                    action = Some(a);
                }
                let say = say.unwrap_or_default();
                let action = match action {
                    Some(a) => a,
                    None if !say.is_empty() => Action::Say,
                    None => {
                        return Err(de::Error::custom(format!(
                            "a step needs an action ({}) or at least \"say\"",
                            ACTIONS.join(", ")
                        )))
                    }
                };
                Ok(Step {
                    say,
                    action,
                    claims,
                    moment,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A scenario error, located in the file where possible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioError {
    /// Line of the error in the file, counting from 1, where known.
    pub line: Option<usize>,
    /// Column of the error on that line, counting from 1, where known.
    pub column: Option<usize>,
    /// Where in the document (e.g. `steps[3]`), for errors found after parsing.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// The keys whose value is an array in the format: scenario `clients` and `steps`, a step's
/// `claims`, a claim's `profiles`, and in a `send` step's packet `filters`, `codes` and
/// `subscription_ids`.
const ARRAY_KEYS: &[&str] = &[
    "clients",
    "steps",
    "claims",
    "profiles",
    "filters",
    "codes",
    "subscription_ids",
];

/// The first array (line, column, key) that stands where the format has an object. serde reads
/// a struct from an array of its fields in order too (`{"clients": [["a"]]}`), which a person
/// writing a file never means; only the keys of [`ARRAY_KEYS`] hold arrays, and only a
/// SUBSCRIBE packet's `filters` hold arrays in turn (its (filter, options) pairs). Run on text
/// that already parsed as JSON.
fn positional_array(text: &str) -> Option<(usize, usize, (Option<String>, bool))> {
    // Per open container: is it an array, and the key it is the value of (for an object's
    // member) or that the enclosing array holds (for an element).
    let mut stack: Vec<(bool, Option<String>)> = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let mut last_key: Option<String> = None;
    let mut last_string: Option<String> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_string = Some(text[start..i.min(bytes.len())].to_string());
            }
            b':' => last_key = last_string.take(),
            b',' => last_key = None,
            b'{' | b'[' => {
                let parent = stack.last();
                let key = match parent {
                    Some((false, _)) => last_key.take(),
                    Some((true, k)) => k.clone(),
                    None => None,
                };
                if b == b'[' {
                    let allowed = match parent {
                        Some((false, _)) => key.as_deref().is_some_and(|k| ARRAY_KEYS.contains(&k)),
                        // Only `filters` hold arrays (the pairs of a SUBSCRIBE packet).
                        Some((true, k)) => k.as_deref() == Some("filters"),
                        None => false,
                    };
                    if !allowed {
                        let column = text[line_start..i].chars().count() + 1;
                        let in_array = matches!(parent, Some((true, _)));
                        return Some((line, column, (key, in_array)));
                    }
                }
                stack.push((b == b'[', if b == b'[' { key } else { None }));
            }
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Line numbers (1-based) where each element of the top-level array `key` starts.
fn element_lines(text: &str, key: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut line = 1usize;
    let mut i = 0;
    let mut last_string: Option<(usize, usize)> = None;
    let mut in_target = false;
    let mut pending_key = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => line += 1,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    } else if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                last_string = Some((start, i.min(bytes.len())));
            }
            b':' => {
                pending_key = depth == 1 && last_string.is_some_and(|(s, e)| &text[s..e] == key);
            }
            b'[' | b'{' => {
                if depth == 1 && b == b'[' && pending_key {
                    in_target = true;
                } else if depth == 2 && in_target && b == b'{' {
                    lines.push(line);
                }
                depth += 1;
                pending_key = false;
            }
            b']' | b'}' => {
                depth -= 1;
                if depth == 1 {
                    in_target = false;
                }
            }
            b',' => pending_key = false,
            _ => {}
        }
        i += 1;
    }
    lines
}

/// Line and column (1-based, columns in characters) of byte `offset` of `valid`, the text before
/// it.
fn line_column(valid: &str) -> (usize, usize) {
    let line = valid.matches('\n').count() + 1;
    let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Scenario {
    /// Reads a scenario file from its bytes, exactly as they are on disk or in an upload: the one
    /// reader the CLI and the page share, so both accept and refuse the same files.
    ///
    /// - The text must be UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8). A
    ///   leading UTF-8 byte-order mark (EF BB BF), which some editors write, is skipped.
    /// - UTF-16 (with a byte-order mark FF FE / FE FF, or without one, recognised by its NUL
    ///   bytes) is refused with a sentence that says so and how to fix it.
    /// - Any other bytes that are not UTF-8 (Latin-1, Windows-1252, a truncated character) are
    ///   refused with the byte offset, the line and column where they start and the byte's value.
    /// - Then the text is parsed and validated as [`Scenario::from_json`] does.
    ///
    /// Every error is a [`ScenarioError`] with a sentence naming the problem (and the line and
    /// column where known), never a panic.
    pub fn read_bytes(bytes: &[u8]) -> Result<Scenario, ScenarioError> {
        let err = |line: Option<usize>, column: Option<usize>, message: String| ScenarioError {
            line,
            column,
            path: None,
            message,
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            let order = if bytes[0] == 0xFF { "little" } else { "big" };
            return Err(err(None, None, format!(
                "the file is UTF-16 ({order}-endian: it starts with the byte-order mark {:02X} {:02X}); a scenario file is UTF-8: save it as UTF-8",
                bytes[0], bytes[1]
            )));
        }
        if let Some(at) = bytes.iter().take(64).position(|b| *b == 0) {
            return Err(err(None, None, format!(
                "byte offset {at} is a NUL byte (00): the file looks like UTF-16 without a byte-order mark, or is not text; a scenario file is UTF-8: save it as UTF-8"
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            // `valid_up_to` is a character boundary of valid UTF-8, so this cannot fail.
            let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            let (line, column) = line_column(before);
            let what = match e.error_len() {
                Some(_) => format!(
                    "the byte {:02X} at byte offset {at} is not UTF-8 (text saved as Latin-1 or Windows-1252 looks like this)",
                    bytes[at]
                ),
                None => format!("the file ends at byte offset {} inside a UTF-8 character", bytes.len()),
            };
            err(Some(line), Some(column), format!("{what}; a scenario file is UTF-8: save it as UTF-8"))
        })?;
        Scenario::from_json(text)
    }

    /// Parses and validates a scenario file.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            // serde_json appends " at line L column C"; we show the location first.
            let msg = match msg.rfind(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            ScenarioError {
                line: (e.line() > 0).then_some(e.line()),
                column: (e.column() > 0).then_some(e.column()),
                path: None,
                message: msg,
            }
        })?;
        if let Some((line, column, key)) = positional_array(text) {
            return Err(ScenarioError {
                line: Some(line),
                column: Some(column),
                path: None,
                message: match key {
                    (Some(k), false) => format!("\"{k}\" is an array here, but it is an object: write its fields by name, not by position"),
                    (Some(k), true) => format!("an element of \"{k}\" is an array, but it is an object: write its fields by name, not by position"),
                    (None, _) => "an array where an object is expected: write the fields by name, not by position".into(),
                },
            });
        }
        let step_lines = element_lines(text, "steps");
        let client_lines = element_lines(text, "clients");
        s.validate().map_err(|(path, idx, message)| {
            let line = match path {
                "steps" => step_lines.get(idx).copied(),
                "clients" => client_lines.get(idx).copied(),
                _ => None,
            };
            ScenarioError {
                line,
                column: None,
                path: Some(if path.is_empty() {
                    "scenario".into()
                } else {
                    format!("{path}[{idx}]")
                }),
                message,
            }
        })?;
        Ok(s)
    }

    /// The scenario as pretty-printed JSON, in the file format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The clients the scenario creates, with `count` expanded.
    pub fn expanded_clients(&self) -> Vec<(String, &ClientSpec)> {
        let mut out = Vec::new();
        for c in &self.clients {
            match c.count {
                Some(n) if n > 1 => {
                    let width = n.to_string().len().max(2);
                    for i in 1..=n {
                        out.push((format!("{}-{:0width$}", c.name, i), c));
                    }
                }
                _ => out.push((c.name.clone(), c)),
            }
        }
        out
    }

    /// The protocol versions the scenario's clients speak, each once, 3.1.1 first.
    pub fn versions_spoken(&self) -> Vec<Version> {
        [Version::V311, Version::V5]
            .into_iter()
            .filter(|v| {
                self.clients
                    .iter()
                    .any(|c| c.version.unwrap_or(self.version) == *v)
            })
            .collect()
    }

    /// The named moments of the lesson, in step order, each with its step's index as the
    /// [`crate::Player`] counts them (1 is the first step).
    pub fn moments(&self) -> Vec<(usize, &str)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.moment.as_deref().map(|m| (i + 1, m)))
            .collect()
    }

    /// The index (as the player counts, 1 is the first step) of the step named `moment`.
    pub fn moment_step(&self, moment: &str) -> Option<usize> {
        self.moments()
            .into_iter()
            .find(|(_, m)| *m == moment)
            .map(|(i, _)| i)
    }

    /// The last moment named at or before step `index` (player index; 0, the start, has none).
    pub fn moment_at(&self, index: usize) -> Option<&str> {
        self.moments()
            .into_iter()
            .take_while(|(i, _)| *i <= index)
            .last()
            .map(|(_, m)| m)
    }

    /// The step of `other` (the same lesson in the other MQTT version) at the moment of step
    /// `index` of this one: the step `other` names with the last moment named at or before
    /// `index`. `None` when no moment is named by then, or `other` does not name it.
    pub fn corresponding_step(&self, index: usize, other: &Scenario) -> Option<usize> {
        other.moment_step(self.moment_at(index)?)
    }

    fn client_version(&self, name: &str) -> Option<Version> {
        self.clients
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.version.unwrap_or(self.version))
    }
}

impl Step {
    /// A short label of what the step does, for step lists; `version` is the protocol version
    /// the step's client speaks (3.1.1 calls the connect flag Clean Session, 5.0 Clean Start).
    pub fn label(&self, version: Version) -> String {
        match &self.action {
            Action::Connect(c) => {
                let mut s = format!(
                    "{} connects ({} {}",
                    c.client,
                    if c.version.unwrap_or(version).is_v5() {
                        "clean start"
                    } else {
                        "clean session"
                    },
                    u8::from(c.clean_start)
                );
                if let Some(e) = c.session_expiry {
                    s.push_str(&format!(", expiry {}", crate::types::format_expiry(e.0)));
                }
                if c.will.is_some() {
                    s.push_str(", with will");
                }
                s.push(')');
                s
            }
            Action::Subscribe(s) => format!(
                "{} subscribes to {} at QoS {}",
                s.client,
                s.filter,
                s.qos.as_u8()
            ),
            Action::Unsubscribe(u) => format!("{} unsubscribes from {}", u.client, u.filter),
            Action::Publish(p) => {
                if p.count > 1 {
                    format!(
                        "{} publishes {} messages to {} at QoS {}",
                        p.client,
                        p.count,
                        p.topic,
                        p.qos.as_u8()
                    )
                } else {
                    format!(
                        "{} publishes to {} at QoS {}",
                        p.client,
                        p.topic,
                        p.qos.as_u8()
                    )
                }
            }
            Action::Disconnect(d) => format!("{} disconnects", d.client),
            Action::Drop(c) => format!("{}'s network connection drops", c.client),
            Action::Cut(c) => format!("{}'s link goes silent", c.client),
            Action::Wait(d) => format!("{} pass", format_duration_ms(d.0)),
            Action::LoseNext(l) => format!(
                "the next {}{} {} {} will be lost",
                if l.count > 1 {
                    format!("{} ", l.count)
                } else {
                    String::new()
                },
                l.packet
                    .as_deref()
                    .unwrap_or(if l.count > 1 { "packets" } else { "packet" }),
                match l.direction {
                    Direction::ToBroker => "from",
                    Direction::ToClient => "to",
                },
                l.client
            ),
            Action::WithholdAcks(w) => format!(
                "{} {} acknowledging",
                w.client,
                if w.on { "stops" } else { "resumes" }
            ),
            Action::ReleaseAcks(c) => format!(
                "{} sends the acknowledgements it held back and keeps holding new ones",
                c.client
            ),
            Action::Send(x) => match (&x.packet, &x.hex) {
                (Some(p), _) => format!("{} sends {p}", x.client),
                (None, Some(h)) => format!("{} sends the bytes {h}", x.client),
                (None, None) => format!("{} sends nothing", x.client),
            },
            Action::StopBroker(_) => "the broker stops".into(),
            Action::StartBroker(_) => "the broker starts".into(),
            Action::RestartBroker(_) => "the broker restarts".into(),
            Action::Say => "note".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MINIMAL: &str = r#"{
  "format": 1,
  "id": "t",
  "title": "T",
  "version": "5.0",
  "clients": [{"name": "a"}],
  "steps": [
    {"say": "hello", "connect": {"client": "a"}},
    {"wait": "1.5s"}
  ]
}"#;

    #[test]
    fn parses_a_minimal_scenario() {
        let s = Scenario::from_json(MINIMAL).unwrap();
        assert_eq!(s.steps.len(), 2);
        assert!(matches!(s.steps[1].action, Action::Wait(DurationMs(1500))));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let bad = MINIMAL.replace("\"wait\": \"1.5s\"", "\"wait\": \"1.5s\",");
        let e = Scenario::from_json(&bad).unwrap_err();
        assert_eq!(e.line, Some(9));
        assert!(e.column.is_some());
    }

    #[test]
    fn unknown_fields_are_named_with_a_position() {
        let bad = MINIMAL.replace("{\"client\": \"a\"}", "{\"client\": \"a\", \"qso\": 1}");
        let e = Scenario::from_json(&bad).unwrap_err();
        assert!(e.message.contains("qso"), "{e}");
        assert_eq!(e.line, Some(8));
    }

    #[test]
    fn topic_errors_cite_the_statement_of_the_scenarios_version() {
        let sub = |v: &str| {
            MINIMAL.replace("\"5.0\"", v).replace(
                "{\"wait\": \"1.5s\"}",
                "{\"subscribe\": {\"client\": \"a\", \"filter\": \"a/#/b\"}}",
            )
        };
        let e5 = Scenario::from_json(&sub("\"5.0\"")).unwrap_err();
        assert!(e5.message.contains("[MQTT-4.7.1-1]"), "{e5}");
        let e3 = Scenario::from_json(&sub("\"3.1.1\"")).unwrap_err();
        assert!(e3.message.contains("[MQTT-4.7.1-2]"), "{e3}");
    }

    #[test]
    fn semantic_errors_name_the_step_and_its_line() {
        let bad = MINIMAL.replace("{\"client\": \"a\"}", "{\"client\": \"b\"}");
        let e = Scenario::from_json(&bad).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("steps[0]"));
        assert_eq!(e.line, Some(8));
        assert!(e.message.contains("unknown client \"b\""), "{e}");
    }

    #[test]
    fn v5_properties_on_a_311_client_are_refused() {
        let bad = MINIMAL.replace("\"5.0\"", "\"3.1.1\"").replace(
            "{\"client\": \"a\"}",
            "{\"client\": \"a\", \"session_expiry\": 60}",
        );
        let e = Scenario::from_json(&bad).unwrap_err();
        assert!(e.message.contains("only in MQTT 5.0"), "{e}");
        // A connect's version stays in force for the client's later connects.
        let sticky = r#"{"format": 1, "id": "s", "title": "x", "version": "5.0", "clients": [{"name": "a"}],
            "steps": [{"connect": {"client": "a", "version": "3.1.1"}}, {"disconnect": {"client": "a"}},
            {"connect": {"client": "a", "session_expiry": 30}}]}"#;
        let e = Scenario::from_json(sticky).unwrap_err();
        assert!(e.message.contains("speaks 3.1.1 here"), "{e}");
        assert!(Scenario::from_json(&sticky.replace(
            "{\"client\": \"a\", \"session_expiry\": 30}",
            "{\"client\": \"a\", \"version\": \"5.0\", \"session_expiry\": 30}"
        ))
        .is_ok());
    }

    #[test]
    fn durations_and_expiries_parse_and_reject_nonsense() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("1.5"), Ok(1500));
        assert!(parse_duration_ms("-5").is_err());
        assert!(parse_duration_ms("1e30").is_err());
        assert!(parse_duration_ms("NaN").is_err());
        assert_eq!(parse_duration_ms(".25s"), Ok(250));
        assert_eq!(parse_duration_ms("0.001"), Ok(1));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("366d"), Ok(MAX_WAIT_MS));
        for bad in ["", ".", "1.2.3", "+5", "s", "1,5", "367d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
        let e: Result<Expiry, _> = serde_json::from_str("\"never\"");
        assert_eq!(e.unwrap(), Expiry(NEVER_EXPIRE));
        let e: Result<Expiry, _> = serde_json::from_str("5000000000");
        assert!(e.is_err());
    }

    #[test]
    fn moments_are_found_by_name_and_at_or_before_a_step() {
        let text = r#"{"format": 1, "id": "m", "title": "m", "version": "5.0",
            "clients": [{"name": "a"}],
            "steps": [{"connect": {"client": "a"}}, {"moment": "drop", "drop": {"client": "a"}},
                      {"wait": 1}, {"moment": "back", "connect": {"client": "a"}}]}"#;
        let s = Scenario::from_json(text).unwrap();
        assert_eq!(s.moments(), vec![(2, "drop"), (4, "back")]);
        assert_eq!(s.moment_step("back"), Some(4));
        assert_eq!(s.moment_step("nope"), None);
        assert_eq!(s.moment_at(0), None);
        assert_eq!(s.moment_at(1), None);
        assert_eq!(s.moment_at(2), Some("drop"));
        assert_eq!(s.moment_at(3), Some("drop"));
        assert_eq!(s.moment_at(9), Some("back"));
        let other = Scenario::from_json(&text.replace("{\"wait\": 1}, ", "")).unwrap();
        assert_eq!(s.corresponding_step(3, &other), Some(2));
        assert_eq!(s.corresponding_step(4, &other), Some(3));
        assert_eq!(s.corresponding_step(1, &other), None);
        let twice = text.replace("\"back\"", "\"drop\"");
        let e = Scenario::from_json(&twice).unwrap_err();
        assert!(e.message.contains("names an earlier step already"), "{e}");
        assert_eq!(e.path.as_deref(), Some("steps[3]"));
        let e = Scenario::from_json(&text.replace("\"back\"", "\"Back up\"")).unwrap_err();
        assert!(e.message.contains("a-z, 0-9"), "{e}");
    }

    #[test]
    fn element_lines_track_steps() {
        assert_eq!(element_lines(MINIMAL, "steps"), vec![8, 9]);
        assert_eq!(element_lines(MINIMAL, "clients"), vec![6]);
    }
}
