//! Claims: what a scenario's author says a step does, in a form the engine can check.
//!
//! A step's narration (`say`) must be true on every broker profile the page can play it on, so
//! an outcome that differs between profiles (a will published or not, Session Present 1 or 0, a
//! message delivered or dropped) is written as a [`Claim`] instead. [`Player::claims`] checks
//! each claim of a step against the engine's trace entries of that step and the world after it,
//! and gives the engine's own sentence of what happened on the profile being played, with the
//! rule of the deciding event. The page shows the author's sentence where the claim holds and the
//! engine's sentence where it does not.
//!
//! The same claim kinds answer "predict" questions: a question's right answer is the claim that
//! holds.

use crate::event::{BrokerEvent, ClientEvent, TraceEntry, TraceItem};
use crate::packet::{reason, Packet};
use crate::player::Player;
use crate::types::{ClientId, QoS, Version, NEVER_EXPIRE};
use crate::world::World;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// What a step does, as the author claims it; checked by [`Player::claims`].
///
/// In a scenario file it is an object with `"claim"` naming the kind (`"connack"`,
/// `"delivery"`, `"will"`, `"session"`, `"queued"`, `"closed"`, `"puback"`) and the kind's fields
/// (`docs/SCENARIO-FORMAT.md`, "Claims").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "claim", rename_all = "snake_case", deny_unknown_fields)]
pub enum Claim {
    /// The last CONNACK `client` receives in the step has this Session Present flag and / or
    /// this return code (3.1.1) or reason code (5.0).
    Connack {
        /// Name of the client.
        client: String,
        /// Session Present flag of the CONNACK.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_present: Option<bool>,
        /// CONNACK return code (3.1.1) or reason code (5.0); 0 is accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u8>,
    },
    /// The application message with this payload (and topic) reaches `client`'s application in
    /// the step, or does not; when it does, at this QoS, with these DUP and RETAIN flags.
    Delivery {
        /// Name of the receiving client.
        client: String,
        /// Payload of the message, as text.
        payload: String,
        /// Topic Name of the message (any topic when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        /// True: the message reaches the client in this step; false: it does not.
        reaches: bool,
        /// QoS of the PUBLISH the client receives.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qos: Option<QoS>,
        /// DUP flag of the PUBLISH the client receives.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dup: Option<bool>,
        /// RETAIN flag of the PUBLISH the client receives.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retain: Option<bool>,
    },
    /// What happens in the step to the will of the session with `client`'s client id.
    Will {
        /// Name of the client whose client id the will's session has.
        client: String,
        /// What happens to it.
        fate: WillFate,
    },
    /// After the step, the broker holds (or does not hold) a session for `client`'s client id.
    Session {
        /// Name of the client.
        client: String,
        /// True: a session exists after the step; false: none does.
        exists: bool,
    },
    /// After the step, this many messages wait in the queue of `client`'s session (not counting
    /// those sent and not yet acknowledged); 0 also when there is no session.
    Queued {
        /// Name of the client.
        client: String,
        /// Messages in the session's queue.
        count: u64,
    },
    /// `client`'s network connection is closed in the step; optionally by whom, and with which
    /// reason code of a DISCONNECT the broker sent it in the step (`null`: none was sent).
    Closed {
        /// Name of the client.
        client: String,
        /// Who ended the connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Closer>,
        /// Reason code of the broker's 5.0 DISCONNECT: absent means any, `null` none was sent.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "some_nullable"
        )]
        reason_code: Option<Option<u8>>,
    },
    /// The last PUBACK the broker sends `client` in the step has this reason code.
    Puback {
        /// Name of the publishing client.
        client: String,
        /// PUBACK reason code (5.0; always 0 on 3.1.1, which has none).
        code: u8,
    },
}

fn some_nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u8>>, D::Error> {
    Option::<u8>::deserialize(d).map(Some)
}

/// What happens to a will in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WillFate {
    /// The broker publishes it in this step.
    Published,
    /// The broker throws it away in this step without publishing it.
    Discarded,
    /// The broker holds it back for its Will Delay in this step (and does not publish it yet).
    Delayed,
    /// The broker does not publish it in this step (it may be discarded, delayed, or still with
    /// its connection).
    NotPublished,
}

/// Who ended a connection, as the trace says it (`disconnect.by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closer {
    /// The broker closed it or sent DISCONNECT.
    Broker,
    /// The client sent DISCONNECT or closed it.
    Client,
    /// The network failed.
    Network,
}

impl Closer {
    /// Who ended a connection that the client saw end (a [`ClientEvent::Disconnected`]).
    pub fn of(by_broker: bool, why: &str) -> Closer {
        if by_broker {
            Closer::Broker
        } else if why.contains("network") {
            Closer::Network
        } else {
            Closer::Client
        }
    }

    /// The trace's name: `broker`, `client` or `network`.
    pub fn name(self) -> &'static str {
        match self {
            Closer::Broker => "broker",
            Closer::Client => "client",
            Closer::Network => "network",
        }
    }
}

/// A claim on a step, with the author's sentence for where it holds and the profiles it is
/// written for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepClaim {
    /// What is claimed.
    pub claim: Claim,
    /// The author's sentence, shown only where the claim holds (`"so meter-A's will goes out"`).
    pub say: Option<String>,
    /// The broker profiles the claim is written for; `None`: every profile.
    pub profiles: Option<Vec<String>>,
}

impl Serialize for StepClaim {
    /// The claim's own fields, then `say` and `profiles`, in one object.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let v = serde_json::to_value(&self.claim).map_err(S::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let serde_json::Value::Object(o) = v {
            for (k, v) in o {
                m.serialize_entry(&k, &v)?;
            }
        }
        if let Some(say) = &self.say {
            m.serialize_entry("say", say)?;
        }
        if let Some(p) = &self.profiles {
            m.serialize_entry("profiles", p)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for StepClaim {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StepClaim, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StepClaim;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a claim object with \"claim\" (one of {}) and its fields",
                    KINDS.join(", ")
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StepClaim, A::Error> {
                let mut say = None;
                let mut profiles = None;
                let mut rest = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let twice = (key == "say" && say.is_some())
                        || (key == "profiles" && profiles.is_some())
                        || rest.contains_key(&key);
                    if twice {
                        return Err(de::Error::custom(format!(
                            "\"{key}\" is given twice in one claim; a key appears once in an object"
                        )));
                    }
                    match key.as_str() {
                        "say" => say = Some(map.next_value::<String>()?),
                        "profiles" => profiles = Some(map.next_value::<Vec<String>>()?),
                        _ => {
                            let v = map.next_value::<serde_json::Value>()?;
                            rest.insert(key, v);
                        }
                    }
                }
                let kind = match rest.get("claim") {
                    Some(serde_json::Value::String(k)) => k.clone(),
                    Some(_) => return Err(de::Error::custom("\"claim\" is a string")),
                    None => {
                        return Err(de::Error::custom(format!(
                            "a claim needs \"claim\": one of {}",
                            KINDS.join(", ")
                        )))
                    }
                };
                if !KINDS.contains(&kind.as_str()) {
                    return Err(de::Error::custom(format!(
                        "unknown claim \"{kind}\"; expected one of {}",
                        KINDS.join(", ")
                    )));
                }
                let claim = Claim::deserialize(serde_json::Value::Object(rest))
                    .map_err(|e| de::Error::custom(format!("claim \"{kind}\": {e}")))?;
                Ok(StepClaim {
                    claim,
                    say,
                    profiles,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// The kinds of claim, as the `"claim"` key names them.
pub const KINDS: &[&str] = &[
    "connack", "delivery", "will", "session", "queued", "closed", "puback",
];

/// 5.0 CONNACK reason codes (§3.2.2.2).
const V5_CONNACK: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
/// 5.0 PUBACK reason codes (§3.4.2.1).
const V5_PUBACK: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
/// 5.0 DISCONNECT reason codes a server may send (§3.14.2.1; 0x04 is the client's only).
const V5_SERVER_DISCONNECT: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

impl Claim {
    /// Name of the client the claim is about.
    pub fn client(&self) -> &str {
        match self {
            Claim::Connack { client, .. }
            | Claim::Delivery { client, .. }
            | Claim::Will { client, .. }
            | Claim::Session { client, .. }
            | Claim::Queued { client, .. }
            | Claim::Closed { client, .. }
            | Claim::Puback { client, .. } => client,
        }
    }

    /// The claim as a sentence ("meter-B's CONNACK has Session Present = 1."), `v5` saying
    /// which version's code names to use.
    pub fn describe(&self, v5: bool) -> String {
        let flag = |b: bool| u8::from(b);
        match self {
            Claim::Connack {
                client,
                session_present,
                code,
            } => {
                let mut parts = Vec::new();
                if let Some(sp) = session_present {
                    parts.push(format!("Session Present = {}", flag(*sp)));
                }
                if let Some(c) = code {
                    parts.push(format!(
                        "{} 0x{c:02X} ({})",
                        if v5 { "reason code" } else { "return code" },
                        reason::name(*c, v5)
                    ));
                }
                format!("{client}'s CONNACK has {}.", parts.join(" and "))
            }
            Claim::Delivery {
                client,
                payload,
                topic,
                reaches,
                qos,
                dup,
                retain,
            } => {
                let on = topic
                    .as_ref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default();
                if !reaches {
                    return format!("\"{payload}\"{on} does not reach {client}.");
                }
                let mut s = format!("\"{payload}\"{on} reaches {client}");
                if let Some(q) = qos {
                    s.push_str(&format!(" at {q}"));
                }
                let mut flags = Vec::new();
                if let Some(d) = dup {
                    flags.push(format!("DUP = {}", flag(*d)));
                }
                if let Some(r) = retain {
                    flags.push(format!("RETAIN = {}", flag(*r)));
                }
                if !flags.is_empty() {
                    s.push_str(&format!(" ({})", flags.join(", ")));
                }
                s.push('.');
                s
            }
            Claim::Will { client, fate } => format!(
                "{client}'s will is {}.",
                match fate {
                    WillFate::Published => "published",
                    WillFate::Discarded => "discarded",
                    WillFate::Delayed => "held back for its Will Delay",
                    WillFate::NotPublished => "not published",
                }
            ),
            Claim::Session { client, exists } => {
                if *exists {
                    format!("The broker holds a session for {client}.")
                } else {
                    format!("The broker holds no session for {client}.")
                }
            }
            Claim::Queued { client, count } => {
                format!("{count} message(s) wait in {client}'s session queue.")
            }
            Claim::Closed {
                client,
                by,
                reason_code,
            } => {
                let mut s = format!("{client}'s connection is closed");
                if let Some(b) = by {
                    s.push_str(&format!(" by the {}", b.name()));
                }
                match reason_code {
                    Some(Some(rc)) => s.push_str(&format!(
                        " with DISCONNECT 0x{rc:02X} ({})",
                        reason::name(*rc, true)
                    )),
                    Some(None) => s.push_str(" without a DISCONNECT"),
                    None => {}
                }
                s.push('.');
                s
            }
            Claim::Puback { client, code } => format!(
                "The broker's PUBACK to {client} has reason code 0x{code:02X} ({}).",
                reason::name(*code, v5)
            ),
        }
    }

    /// Checks the claim's values against each other and the client's protocol version `v` (at
    /// the step); `Err` says what is impossible.
    pub(crate) fn validate(&self, v: Version) -> Result<(), String> {
        match self {
            Claim::Connack {
                session_present,
                code,
                ..
            } => {
                if session_present.is_none() && code.is_none() {
                    return Err("a connack claim needs session_present, code or both".into());
                }
                if let Some(c) = *code {
                    if v.is_v5() && !V5_CONNACK.contains(&c) {
                        return Err(format!(
                            "0x{c:02X} is not a 5.0 CONNACK reason code (§3.2.2.2)"
                        ));
                    }
                    if !v.is_v5() && c > 5 {
                        return Err(format!(
                            "a 3.1.1 CONNACK return code is 0 to 5, not {c} (§3.2.2.3)"
                        ));
                    }
                    if c != 0 && *session_present == Some(true) {
                        return Err(format!(
                            "a CONNACK with a non-zero code has Session Present = 0 ({})",
                            if v.is_v5() {
                                "[MQTT-3.2.2-6] 5.0"
                            } else {
                                "[MQTT-3.2.2-4] 3.1.1"
                            }
                        ));
                    }
                }
            }
            Claim::Delivery {
                reaches,
                qos,
                dup,
                retain,
                ..
            } => {
                if !reaches && (qos.is_some() || dup.is_some() || retain.is_some()) {
                    return Err(
                        "qos, dup and retain describe a delivery: they need \"reaches\": true"
                            .into(),
                    );
                }
                if *qos == Some(QoS::AtMostOnce) && *dup == Some(true) {
                    return Err("a QoS 0 PUBLISH never has DUP = 1 ([MQTT-3.3.1-2])".into());
                }
            }
            Claim::Closed { reason_code, .. } => {
                if let Some(Some(rc)) = reason_code {
                    if !v.is_v5() {
                        return Err(
                            "a 3.1.1 broker sends no DISCONNECT: reason_code can only be null"
                                .into(),
                        );
                    }
                    if !V5_SERVER_DISCONNECT.contains(rc) {
                        return Err(format!(
                            "0x{rc:02X} is not a DISCONNECT reason code a server sends (§3.14.2.1)"
                        ));
                    }
                }
            }
            Claim::Puback { code, .. } => {
                if !v.is_v5() && *code != 0 {
                    return Err("a 3.1.1 PUBACK has no reason code: code can only be 0".into());
                }
                if v.is_v5() && !V5_PUBACK.contains(code) {
                    return Err(format!(
                        "0x{code:02X} is not a PUBACK reason code (§3.4.2.1)"
                    ));
                }
            }
            Claim::Will { .. } | Claim::Session { .. } | Claim::Queued { .. } => {}
        }
        Ok(())
    }
}

/// A claim checked against a played step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimCheck {
    /// What was claimed.
    pub claim: Claim,
    /// The claim is true of this step on the profile being played.
    pub holds: bool,
    /// The claim is written for the profile being played (it names no profiles, or names this
    /// one). A claim that does not apply is not expected to hold.
    pub applies: bool,
    /// The author's sentence, to show where the claim holds.
    pub author: Option<String>,
    /// The engine's own sentence of what happened, true on the profile being played; to show
    /// where the claim does not hold.
    pub outcome: String,
    /// The rule of the event that decided the outcome, as the trace cites it.
    pub cite: Option<String>,
    /// The profiles the claim is written for; `None`: every profile.
    pub profiles: Option<Vec<String>>,
}

impl ClaimCheck {
    /// The sentence to show: the author's where the claim holds and has one, else the engine's.
    pub fn sentence(&self) -> &str {
        match (&self.author, self.holds) {
            (Some(a), true) => a,
            _ => &self.outcome,
        }
    }
}

/// What a claim found: holds, the engine's sentence, the deciding rule.
struct Found {
    holds: bool,
    outcome: String,
    cite: Option<String>,
}

fn found(holds: bool, outcome: String, cite: Option<&str>) -> Found {
    Found {
        holds,
        outcome,
        cite: cite.map(str::to_string),
    }
}

/// The broker events of `entries`, in order.
fn broker_events(entries: &[TraceEntry]) -> impl Iterator<Item = &BrokerEvent> {
    entries.iter().filter_map(|e| match &e.item {
        TraceItem::Broker { event } => Some(event),
        _ => None,
    })
}

/// The events of client `name` in `entries`, in order.
fn client_events<'a>(
    entries: &'a [TraceEntry],
    name: &'a str,
) -> impl Iterator<Item = &'a ClientEvent> + 'a {
    entries.iter().filter_map(move |e| match &e.item {
        TraceItem::Client { client, event } if client == name => Some(event),
        _ => None,
    })
}

/// The client id the broker knows `name` by after the step (or its name if it is unknown).
fn id_of(world: &World, name: &str) -> ClientId {
    world
        .client(name)
        .map(|c| c.client_id.clone())
        .unwrap_or_else(|| ClientId::new(name))
}

/// Checks `claim` against one step: its trace `entries` and the `world` after it, whose
/// `earlier` trace entries (from the start up to and including the step) name the messages.
pub(crate) fn check(
    claim: &Claim,
    entries: &[TraceEntry],
    earlier: &[TraceEntry],
    world: &World,
) -> (bool, String, Option<String>) {
    let f = match claim {
        Claim::Connack {
            client,
            session_present,
            code,
        } => check_connack(client, *session_present, *code, entries, world),
        Claim::Delivery {
            client,
            payload,
            topic,
            reaches,
            qos,
            dup,
            retain,
        } => {
            let want = Want {
                payload,
                topic: topic.as_deref(),
                qos: *qos,
                dup: *dup,
                retain: *retain,
            };
            check_delivery(client, &want, *reaches, entries, earlier, world)
        }
        Claim::Will { client, fate } => check_will(client, *fate, entries, world),
        Claim::Session { client, exists } => check_session(client, *exists, entries, world),
        Claim::Queued { client, count } => {
            let id = id_of(world, client);
            let n = world
                .broker
                .sessions()
                .get(&id)
                .map_or(0, |s| s.queue.len());
            let outcome = match world.broker.sessions().get(&id) {
                Some(_) => format!("{n} message(s) wait in the queue of the session of \"{id}\"."),
                None => format!(
                    "The broker holds no session for \"{id}\", so nothing is queued for it."
                ),
            };
            found(n as u64 == *count, outcome, None)
        }
        Claim::Closed {
            client,
            by,
            reason_code,
        } => check_closed(client, *by, *reason_code, entries, world),
        Claim::Puback { client, code } => {
            let last = entries.iter().rev().find_map(|e| match &e.item {
                TraceItem::Packet {
                    to: crate::event::Endpoint::Client(c),
                    packet: p @ Packet::Puback { reason, .. },
                    ..
                } if c == client => Some((p, *reason)),
                _ => None,
            });
            match last {
                Some((p, rc)) => {
                    found(rc == *code, format!("The broker sends {client} {p}."), None)
                }
                None => found(
                    false,
                    format!("The broker sends {client} no PUBACK in this step."),
                    None,
                ),
            }
        }
    };
    (f.holds, f.outcome, f.cite)
}

fn check_connack(
    client: &str,
    sp: Option<bool>,
    code: Option<u8>,
    entries: &[TraceEntry],
    world: &World,
) -> Found {
    let id = id_of(world, client);
    let last = client_events(entries, client)
        .filter_map(|e| match e {
            ClientEvent::Connected {
                session_present,
                code,
                ..
            } => Some((e, *session_present, *code)),
            _ => None,
        })
        .last();
    // The broker's decision behind the CONNACK: the session resumed, created or discarded, or
    // the refusal.
    let decision = broker_events(entries)
        .filter(|e| match e {
            BrokerEvent::SessionResumed { client_id, .. }
            | BrokerEvent::SessionCreated { client_id, .. }
            | BrokerEvent::SessionDiscarded { client_id, .. }
            | BrokerEvent::ConnectRefused { client_id, .. } => client_id == &id,
            _ => false,
        })
        .last();
    let cite = decision.and_then(BrokerEvent::cite);
    match last {
        Some((e, got_sp, got_code)) => {
            let holds = sp.is_none_or(|w| w == got_sp) && code.is_none_or(|w| w == got_code);
            let mut outcome = e.describe(client);
            if let Some(d) = decision {
                outcome.push(' ');
                outcome.push_str(&d.describe());
            }
            found(holds, outcome, cite)
        }
        None => {
            let mut outcome = format!("{client} receives no CONNACK in this step.");
            if let Some(d) = decision {
                outcome.push(' ');
                outcome.push_str(&d.describe());
            }
            found(false, outcome, cite)
        }
    }
}

/// What a delivery claim looks for.
struct Want<'a> {
    payload: &'a str,
    topic: Option<&'a str>,
    qos: Option<QoS>,
    dup: Option<bool>,
    retain: Option<bool>,
}

fn check_delivery(
    client: &str,
    want: &Want,
    reaches: bool,
    entries: &[TraceEntry],
    earlier: &[TraceEntry],
    world: &World,
) -> Found {
    let matches = |p: &crate::types::Payload, t: &str| {
        p.as_text() == Some(want.payload) && want.topic.is_none_or(|w| w == t)
    };
    let got: Vec<(&ClientEvent, QoS, bool, bool)> = client_events(entries, client)
        .filter_map(|e| match e {
            ClientEvent::Delivered {
                topic,
                payload,
                qos,
                dup,
                retain,
                ..
            } if matches(payload, topic) => Some((e, *qos, *dup, *retain)),
            _ => None,
        })
        .collect();
    let what = match want.topic {
        Some(t) => format!("\"{}\" on {t}", want.payload),
        None => format!("\"{}\"", want.payload),
    };
    if !got.is_empty() {
        let fits = |&(_, q, d, r): &(&ClientEvent, QoS, bool, bool)| {
            want.qos.is_none_or(|w| w == q)
                && want.dup.is_none_or(|w| w == d)
                && want.retain.is_none_or(|w| w == r)
        };
        let shown = got.iter().find(|g| fits(g)).unwrap_or(&got[0]);
        let (_, q, d, r) = *shown;
        let outcome = format!(
            "{client} receives {what} at {q}, DUP = {}, RETAIN = {}{}.",
            u8::from(d),
            u8::from(r),
            if got.len() > 1 {
                format!(" ({} times in this step)", got.len())
            } else {
                String::new()
            }
        );
        let holds = reaches && got.iter().any(fits);
        return found(holds, outcome, None);
    }
    // Not delivered: say what became of the message's copy for this client, if the step says.
    let id = id_of(world, client);
    let msgs: Vec<crate::types::MsgId> = earlier
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Packet {
                to: crate::event::Endpoint::Broker,
                packet: Packet::Publish(p),
                ..
            } if matches(&p.payload, &p.topic) => Some(p.msg),
            TraceItem::Client {
                event:
                    ClientEvent::PublishLost {
                        msg,
                        topic,
                        payload,
                        ..
                    }
                    | ClientEvent::PublishBuffered {
                        msg,
                        topic,
                        payload,
                        ..
                    },
                ..
            } if matches(payload, topic) => Some(*msg),
            _ => None,
        })
        .collect();
    let mut outcome = format!("{what} does not reach {client} in this step.");
    let mut cite = None;
    for e in entries {
        let fate = match &e.item {
            TraceItem::Broker { event } => match event {
                BrokerEvent::MessageDropped { client_id, msg, .. }
                | BrokerEvent::MessageQueued { client_id, msg, .. }
                    if client_id == &id && msgs.contains(msg) =>
                {
                    Some(event)
                }
                BrokerEvent::MessageRouted { msg, copies: 0, .. } if msgs.contains(msg) => {
                    Some(event)
                }
                _ => None,
            },
            TraceItem::Client {
                client: c,
                event:
                    ev @ (ClientEvent::PublishLost { msg, .. }
                    | ClientEvent::PublishBuffered { msg, .. }),
            } if msgs.contains(msg) => {
                outcome.push(' ');
                outcome.push_str(&ev.describe(c));
                None
            }
            _ => None,
        };
        if let Some(ev) = fate {
            outcome.push(' ');
            outcome.push_str(&ev.describe());
            if cite.is_none() {
                cite = ev.cite().map(str::to_string);
            }
        }
    }
    Found {
        holds: !reaches,
        outcome,
        cite,
    }
}

fn check_will(client: &str, fate: WillFate, entries: &[TraceEntry], world: &World) -> Found {
    let id = id_of(world, client);
    let mut published = None;
    let mut discarded = None;
    let mut delayed = None;
    for e in broker_events(entries) {
        match e {
            BrokerEvent::WillPublished { client_id, .. } if client_id == &id => {
                published.get_or_insert(e);
            }
            BrokerEvent::WillDiscarded { client_id, .. } if client_id == &id => {
                discarded.get_or_insert(e);
            }
            BrokerEvent::WillScheduled { client_id, .. } if client_id == &id => {
                delayed.get_or_insert(e);
            }
            _ => {}
        }
    }
    let holds = match fate {
        WillFate::Published => published.is_some(),
        WillFate::Discarded => published.is_none() && discarded.is_some(),
        WillFate::Delayed => published.is_none() && delayed.is_some(),
        WillFate::NotPublished => published.is_none(),
    };
    match published.or(discarded).or(delayed) {
        Some(e) => found(holds, e.describe(), e.cite()),
        None => found(
            holds,
            format!("No will of \"{id}\" is published, discarded or held back in this step."),
            None,
        ),
    }
}

fn check_session(client: &str, exists: bool, entries: &[TraceEntry], world: &World) -> Found {
    let id = id_of(world, client);
    // The event of this step that decided the session's state, the last one counting.
    let decision = broker_events(entries)
        .filter(|e| match e {
            BrokerEvent::SessionCreated { client_id, .. }
            | BrokerEvent::SessionResumed { client_id, .. }
            | BrokerEvent::SessionDiscarded { client_id, .. }
            | BrokerEvent::SessionEnded { client_id, .. }
            | BrokerEvent::SessionStored { client_id, .. }
            | BrokerEvent::SessionExpired { client_id, .. }
            | BrokerEvent::SessionLostAtRestart { client_id, .. } => client_id == &id,
            _ => false,
        })
        .last();
    let state = match world.broker.sessions().get(&id) {
        Some(s) => {
            let mut t = format!(
                "The broker holds a session for \"{id}\" ({} subscription(s), {} queued message(s))",
                s.subscriptions.len(),
                s.queue.len()
            );
            match (s.conn, s.expires_at) {
                (Some(_), _) => t.push_str(", connected"),
                (None, Some(at)) => t.push_str(&format!(", kept until {at}")),
                (None, None) if s.expiry == NEVER_EXPIRE => t.push_str(", kept with no expiry"),
                (None, None) => {}
            }
            t.push('.');
            t
        }
        None => format!("The broker holds no session for \"{id}\"."),
    };
    let holds = world.broker.sessions().contains_key(&id) == exists;
    let outcome = match decision {
        Some(d) => format!("{} {state}", d.describe()),
        None => state,
    };
    found(holds, outcome, decision.and_then(BrokerEvent::cite))
}

fn check_closed(
    client: &str,
    by: Option<Closer>,
    reason_code: Option<Option<u8>>,
    entries: &[TraceEntry],
    world: &World,
) -> Found {
    let id = id_of(world, client);
    let closes: Vec<(&ClientEvent, Closer, Option<u8>)> = client_events(entries, client)
        .filter_map(|e| match e {
            ClientEvent::Disconnected {
                by_broker,
                reason_code,
                why,
            } => Some((e, Closer::of(*by_broker, why), *reason_code)),
            _ => None,
        })
        .collect();
    // The broker's reason for closing, where it gave one.
    let decision = broker_events(entries).find(|e| match e {
        BrokerEvent::SessionTakenOver { client_id, .. }
        | BrokerEvent::KeepAliveTimeout { client_id, .. }
        | BrokerEvent::ProtocolError { client_id, .. } => client_id == &id,
        _ => false,
    });
    let cite = decision.and_then(BrokerEvent::cite);
    let Some(&(first, who, _)) = closes.first() else {
        return found(
            false,
            format!("{client}'s connection is not closed in this step."),
            cite,
        );
    };
    // A broker's DISCONNECT and the close after it are two events of one close: the reason
    // code is the DISCONNECT's, if the broker sent one in the step (also when the client had
    // closed its end first, as after its own DISCONNECT).
    let sent = entries.iter().find_map(|e| match &e.item {
        TraceItem::Packet {
            from: crate::event::Endpoint::Broker,
            to: crate::event::Endpoint::Client(c),
            packet: Packet::Disconnect(d),
            ..
        } if c == client => Some(d.reason),
        _ => None,
    });
    let rc = closes.iter().find_map(|c| c.2).or(sent);
    let holds = by.is_none_or(|b| closes.iter().any(|c| c.1 == b))
        && reason_code.is_none_or(|want| want == rc);
    let e = closes.iter().find(|c| c.2.is_some()).map_or(first, |c| c.0);
    let mut outcome = e.describe(client);
    if who == Closer::Broker || rc.is_some() {
        match rc {
            Some(rc) if !outcome.contains(&format!("0x{rc:02X}")) => outcome.push_str(&format!(
                " The broker sent DISCONNECT 0x{rc:02X} ({}).",
                reason::name(rc, true)
            )),
            Some(_) => {}
            None => outcome.push_str(" The broker sent no DISCONNECT."),
        }
    }
    found(holds, outcome, cite)
}

impl Player {
    /// The claims of step `index` (1 = the first step; the start has none), each checked
    /// against what the step did on the profile being played.
    pub fn claims(&self, index: usize) -> Vec<ClaimCheck> {
        if index == 0 || index >= self.len() {
            return Vec::new();
        }
        let step = &self.scenario.steps[index - 1];
        let rec = self.at(index);
        let profile = rec.world.broker.profile().id.clone();
        let entries = self.entries(index);
        let earlier = &self.trace()[..rec.end];
        step.claims
            .iter()
            .map(|c| {
                let (holds, outcome, cite) = check(&c.claim, entries, earlier, &rec.world);
                ClaimCheck {
                    claim: c.claim.clone(),
                    holds,
                    applies: c
                        .profiles
                        .as_ref()
                        .is_none_or(|ps| ps.iter().any(|p| p == &profile)),
                    author: c.say.clone(),
                    outcome,
                    cite,
                    profiles: c.profiles.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Player;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Plays a scenario whose last step carries `claims` (a JSON array) and returns that step's
    /// checks as (holds, outcome).
    fn last_step(version: &str, broker: &str, steps: &str, claims: &str) -> Vec<(bool, String)> {
        let text = format!(
            r#"{{"format": 1, "id": "c", "title": "c", "version": "{version}", "broker": "{broker}",
               "clients": [{{"name": "a"}}, {{"name": "b"}}, {{"name": "app"}}],
               "steps": [{steps}, {{"say": "checked", "claims": {claims}}}]}}"#
        );
        let p = Player::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // The claims sit on a narration step after the last action, so the world claims
        // (session, queued) are checked; the event claims are checked on the action's own step
        // by `on_step` below.
        p.claims(p.len() - 1)
            .into_iter()
            .map(|c| (c.holds, c.outcome))
            .collect()
    }

    /// Plays `steps` with `claims` attached to the last of them (an object without its closing
    /// brace) and returns its checks.
    fn on_step(version: &str, broker: &str, steps: &str, claims: &str) -> Vec<(bool, String)> {
        let text = format!(
            r#"{{"format": 1, "id": "c", "title": "c", "version": "{version}", "broker": "{broker}",
               "clients": [{{"name": "a"}}, {{"name": "b", "client_id": "a"}}, {{"name": "app"}}],
               "steps": [{steps}, "claims": {claims}}}]}}"#
        );
        let p = Player::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        p.claims(p.len() - 1)
            .into_iter()
            .map(|c| (c.holds, c.outcome))
            .collect()
    }

    fn holds(v: &[(bool, String)]) -> Vec<bool> {
        v.iter().map(|(h, _)| *h).collect()
    }

    const PERSISTENT_A: &str = r#"{"connect": {"client": "a", "clean_start": false}},
        {"subscribe": {"client": "a", "filter": "t", "qos": 1}},
        {"disconnect": {"client": "a"}},
        {"connect": {"client": "app"}}"#;

    #[test]
    fn connack_claims_check_session_present_and_code() {
        let steps =
            format!(r#"{PERSISTENT_A}, {{"connect": {{"client": "a", "clean_start": false}}"#);
        let c = on_step(
            "3.1.1",
            "spec",
            &steps,
            r#"[{"claim": "connack", "client": "a", "session_present": true},
                {"claim": "connack", "client": "a", "session_present": false},
                {"claim": "connack", "client": "a", "session_present": true, "code": 0},
                {"claim": "connack", "client": "a", "code": 2},
                {"claim": "connack", "client": "app", "code": 0}]"#,
        );
        assert_eq!(holds(&c), [true, false, true, false, false]);
        assert!(c[1].1.contains("Session Present = 1"), "{}", c[1].1);
        assert!(c[4].1.contains("no CONNACK"), "{}", c[4].1);
    }

    #[test]
    fn delivery_claims_check_reach_qos_dup_and_retain() {
        let steps = format!(
            r#"{PERSISTENT_A}, {{"publish": {{"client": "app", "topic": "t", "payload": "m", "qos": 2, "retain": true}}}},
            {{"connect": {{"client": "a", "clean_start": false}}"#
        );
        let c = on_step(
            "3.1.1",
            "spec",
            &steps,
            r#"[{"claim": "delivery", "client": "a", "payload": "m", "reaches": true, "qos": 1, "dup": false, "retain": false},
                {"claim": "delivery", "client": "a", "payload": "m", "reaches": true, "qos": 2},
                {"claim": "delivery", "client": "a", "payload": "m", "reaches": true, "retain": true},
                {"claim": "delivery", "client": "a", "payload": "m", "reaches": false},
                {"claim": "delivery", "client": "a", "payload": "other", "reaches": false},
                {"claim": "delivery", "client": "a", "payload": "m", "topic": "u", "reaches": true}]"#,
        );
        // Queued for the session at QoS 1 (the granted QoS), sent on resume with RETAIN = 0.
        assert_eq!(holds(&c), [true, false, false, false, true, false]);
        assert!(c[1].1.contains("QoS 1"), "{}", c[1].1);
    }

    #[test]
    fn a_message_that_does_not_reach_says_why() {
        let steps = format!(
            r#"{PERSISTENT_A}, {{"publish": {{"client": "app", "topic": "t", "payload": "q0", "qos": 0}}"#
        );
        let c = on_step(
            "3.1.1",
            "spec",
            &steps,
            r#"[{"claim": "delivery", "client": "a", "payload": "q0", "reaches": false},
                {"claim": "delivery", "client": "a", "payload": "q0", "reaches": true}]"#,
        );
        assert_eq!(holds(&c), [true, false]);
        assert!(c[0].1.contains("QoS 0 is not queued"), "{}", c[0].1);
    }

    #[test]
    fn will_claims_tell_published_from_discarded_and_delayed() {
        let will = r#""will": {"topic": "w", "payload": "gone"}"#;
        // 3.1.1 takeover of a persistent session: the spec publishes the will, mosquitto 2.0.11
        // clears it.
        let steps = format!(
            r#"{{"connect": {{"client": "a", "clean_start": false, {will}}}}},
               {{"connect": {{"client": "b", "clean_start": false}}"#
        );
        let claims = r#"[{"claim": "will", "client": "a", "fate": "published"},
                         {"claim": "will", "client": "a", "fate": "discarded"},
                         {"claim": "will", "client": "a", "fate": "not_published"},
                         {"claim": "will", "client": "a", "fate": "delayed"}]"#;
        let spec = on_step("3.1.1", "spec", &steps, claims);
        assert_eq!(holds(&spec), [true, false, false, false]);
        let mosq = on_step("3.1.1", "mosquitto-2.0.11", &steps, claims);
        assert_eq!(holds(&mosq), [false, true, true, false]);
        assert!(mosq[0].1.contains("discarded"), "{}", mosq[0].1);
        // 5.0 with a Will Delay: held back at the drop.
        let steps = r#"{"connect": {"client": "a", "session_expiry": 60, "will": {"topic": "w", "delay": 5}}},
                       {"drop": {"client": "a"}"#;
        let v5 = on_step("5.0", "spec", steps, claims);
        assert_eq!(holds(&v5), [false, false, true, true]);
    }

    #[test]
    fn session_and_queue_claims_read_the_world_after_the_step() {
        let steps = format!(
            r#"{PERSISTENT_A}, {{"publish": {{"client": "app", "topic": "t", "payload": "x", "qos": 1, "count": 2}}}}"#
        );
        let c = last_step(
            "3.1.1",
            "spec",
            &steps,
            r#"[{"claim": "session", "client": "a", "exists": true},
                {"claim": "session", "client": "a", "exists": false},
                {"claim": "session", "client": "b", "exists": false},
                {"claim": "queued", "client": "a", "count": 2},
                {"claim": "queued", "client": "a", "count": 1},
                {"claim": "queued", "client": "b", "count": 0}]"#,
        );
        assert_eq!(holds(&c), [true, false, true, true, false, true]);
        assert!(c[1].1.contains("holds a session"), "{}", c[1].1);
    }

    #[test]
    fn closed_claims_check_who_closed_and_the_reason_code() {
        let steps = r#"{"connect": {"client": "a", "session_expiry": 60}},
                       {"connect": {"client": "b", "clean_start": false, "session_expiry": 60}"#;
        let claims = r#"[{"claim": "closed", "client": "a", "by": "broker", "reason_code": 142},
                         {"claim": "closed", "client": "a", "by": "broker", "reason_code": null},
                         {"claim": "closed", "client": "a", "by": "network"},
                         {"claim": "closed", "client": "b"}]"#;
        let spec = on_step("5.0", "spec", steps, claims);
        assert_eq!(holds(&spec), [true, false, false, false]);
        // mosquitto 2.0.11 closes the old connection without DISCONNECT 0x8E.
        let mosq = on_step("5.0", "mosquitto-2.0.11", steps, claims);
        assert_eq!(holds(&mosq), [false, true, false, false]);
        assert!(mosq[0].1.contains("no DISCONNECT"), "{}", mosq[0].1);
        assert!(spec[3].1.contains("not closed"), "{}", spec[3].1);
    }

    #[test]
    fn puback_claims_check_the_reason_code() {
        let steps = r#"{"connect": {"client": "app"}},
                       {"publish": {"client": "app", "topic": "nobody", "payload": "p", "qos": 1}"#;
        let claims = r#"[{"claim": "puback", "client": "app", "code": 0},
                         {"claim": "puback", "client": "app", "code": 16}]"#;
        assert_eq!(holds(&on_step("5.0", "spec", steps, claims)), [true, false]);
        assert_eq!(
            holds(&on_step("5.0", "mosquitto-2.0.11", steps, claims)),
            [false, true]
        );
    }

    fn check_error(version: &str, claims: &str) -> String {
        let text = format!(
            r#"{{"format": 1, "id": "c", "title": "c", "version": "{version}",
               "clients": [{{"name": "a"}}, {{"name": "g", "count": 2}}],
               "steps": [{{"connect": {{"client": "a"}}, "claims": {claims}}}]}}"#
        );
        crate::Scenario::from_json(&text).unwrap_err().to_string()
    }

    #[test]
    fn impossible_claims_are_refused_with_a_reason() {
        let cases = [
            (
                "5.0",
                r#"[{"claim": "connack", "client": "zz", "code": 0}]"#,
                "unknown client \"zz\"",
            ),
            (
                "5.0",
                r#"[{"claim": "connack", "client": "g", "code": 0}]"#,
                "a group of clients",
            ),
            (
                "5.0",
                r#"[{"claim": "connack", "client": "a"}]"#,
                "needs session_present, code",
            ),
            (
                "5.0",
                r#"[{"claim": "connack", "client": "a", "code": 3}]"#,
                "not a 5.0 CONNACK reason code",
            ),
            (
                "3.1.1",
                r#"[{"claim": "connack", "client": "a", "code": 9}]"#,
                "0 to 5",
            ),
            (
                "3.1.1",
                r#"[{"claim": "connack", "client": "a", "code": 2, "session_present": true}]"#,
                "[MQTT-3.2.2-4] 3.1.1",
            ),
            (
                "5.0",
                r#"[{"claim": "delivery", "client": "a", "payload": "x", "reaches": false, "qos": 1}]"#,
                "need \"reaches\": true",
            ),
            (
                "5.0",
                r#"[{"claim": "delivery", "client": "a", "payload": "x", "reaches": true, "qos": 0, "dup": true}]"#,
                "[MQTT-3.3.1-2]",
            ),
            (
                "3.1.1",
                r#"[{"claim": "closed", "client": "a", "reason_code": 142}]"#,
                "3.1.1 broker sends no DISCONNECT",
            ),
            (
                "5.0",
                r#"[{"claim": "closed", "client": "a", "reason_code": 4}]"#,
                "not a DISCONNECT reason code a server sends",
            ),
            (
                "5.0",
                r#"[{"claim": "puback", "client": "a", "code": 5}]"#,
                "not a PUBACK reason code",
            ),
            (
                "5.0",
                r#"[{"claim": "will", "client": "a", "fate": "published", "profiles": ["nope"]}]"#,
                "unknown broker profile \"nope\"",
            ),
            (
                "5.0",
                r#"[{"claim": "will", "client": "a", "fate": "published", "profiles": []}]"#,
                "at least one profile",
            ),
            (
                "5.0",
                r#"[{"claim": "will", "client": "a", "fate": "gone"}]"#,
                "unknown variant `gone`",
            ),
            (
                "5.0",
                r#"[{"claim": "wills", "client": "a"}]"#,
                "unknown claim \"wills\"",
            ),
            (
                "5.0",
                r#"[{"claim": "session", "client": "a", "exist": true}]"#,
                "unknown field `exist`",
            ),
        ];
        for (v, claims, want) in cases {
            let e = check_error(v, claims);
            assert!(e.contains(want), "{claims}: {e}");
            assert!(e.contains("line "), "{claims}: errors are located: {e}");
        }
    }

    #[test]
    fn claims_survive_a_save_and_load() {
        let text = r#"{"format": 1, "id": "c", "title": "c", "version": "5.0",
            "clients": [{"name": "a"}],
            "steps": [{"moment": "start", "connect": {"client": "a"}, "claims": [
                {"claim": "closed", "client": "a", "reason_code": null, "say": "s", "profiles": ["spec"]},
                {"claim": "delivery", "client": "a", "payload": "p", "reaches": true, "qos": 1}]}]}"#;
        let s = crate::Scenario::from_json(text).unwrap();
        let again = crate::Scenario::from_json(&s.to_json()).unwrap();
        assert_eq!(again.steps[0].claims, s.steps[0].claims);
        assert_eq!(again.steps[0].moment.as_deref(), Some("start"));
        assert_eq!(
            s.steps[0].claims[0].claim,
            Claim::Closed {
                client: "a".into(),
                by: None,
                reason_code: Some(None)
            }
        );
    }
}
