//! What a real broker's clients observed, and how it compares with the engine's prediction.
//!
//! `mqtt-lab verify` plays a scenario against a real mosquitto and records, per client, every
//! packet the broker sent and every time the broker closed the connection ([`Seen`]). Those
//! recordings are kept as fixtures (`trace@1` records, docs/TRACE-SCHEMA.md, "What a real
//! broker's clients observed") beside the scenarios, so that the engine's prediction is checked
//! against them in milliseconds by an ordinary test, natively and on wasm32, with no broker.
//!
//! Comparison ([`compare`]), per client and in order:
//! - **content**: the packet type and every field the broker decides (Session Present and the
//!   reason code of CONNACK, whether a client id was assigned, SUBACK / UNSUBACK codes, PUBLISH
//!   topic, payload, QoS, DUP, RETAIN, Message Expiry within 1 s, Subscription Identifiers, the
//!   acknowledgements' reason codes, DISCONNECT reason codes) and the packet identifier (the
//!   mosquitto-2.0.11 profile hands them out as mosquitto does), or "the broker closed the
//!   connection". The order between different clients is not compared.
//! - **timing**: the scenario step the packet arrived in, and in a step where time passes, its
//!   arrival within [`TIME_TOLERANCE_MS`] of the predicted time.
//!
//! A recording whose content agrees but whose timing does not is [`Verdict::TimingOnly`]: on a
//! busy machine a packet can arrive a step late, which says nothing about the broker's rules.

use crate::event::{ClientEvent, Endpoint, TraceItem};
use crate::packet::Packet;
use crate::player::Player;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// How far from the predicted time a packet may arrive in a step where time passes. Scenario
/// time 0 is put on a whole second of mosquitto's clock, so its whole-second timers (keep-alive,
/// session expiry, will delay) fall where the engine puts them, a few ms late. But a step where no
/// scenario time passes still takes some real milliseconds; a timer armed then can land on the
/// next whole second for mosquitto: one second, plus 200 ms for scheduling on a busy machine.
pub const TIME_TOLERANCE_MS: u64 = 1_200;

/// One thing a client saw the broker do.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// The scenario step in which it arrived (1 = the first step).
    pub step: usize,
    /// The scenario time it arrived at, in ms.
    pub t_ms: u64,
    /// True when time passes in this step (then the arrival time is compared).
    pub timed: bool,
    /// The scenario's name of the client that saw it.
    pub client: String,
    /// `None`: the broker closed the connection without sending DISCONNECT.
    pub packet: Option<Packet>,
}

impl Seen {
    /// The packet in words, without what is not compared (packet ids).
    pub fn describe(&self) -> String {
        let Some(p) = &self.packet else {
            return "connection closed by the broker".into();
        };
        let codes = |c: &[u8]| {
            c.iter()
                .map(|c| format!("0x{c:02X}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        match p {
            Packet::Connack(c) => format!(
                "CONNACK session_present={} code=0x{:02X}{}",
                u8::from(c.session_present),
                c.code,
                if c.assigned_client_id.is_some() {
                    " assigned_id"
                } else {
                    ""
                }
            ),
            Packet::Suback { codes: c, .. } => format!("SUBACK {}", codes(c)),
            Packet::Unsuback { codes: c, .. } => format!("UNSUBACK {}", codes(c)),
            Packet::Publish(x) => {
                let mut s = format!(
                    "PUBLISH {} \"{}\" qos={} dup={} retain={}",
                    x.topic,
                    x.payload,
                    x.qos.as_u8(),
                    u8::from(x.dup),
                    u8::from(x.retain)
                );
                if let Some(e) = x.message_expiry {
                    let _ = write!(s, " expiry={e}");
                }
                if !x.subscription_ids.is_empty() {
                    let _ = write!(s, " sub_ids={}", joined(&x.subscription_ids, ","));
                }
                s
            }
            Packet::Puback { reason, .. } => format!("PUBACK 0x{reason:02X}"),
            Packet::Pubrec { reason, .. } => format!("PUBREC 0x{reason:02X}"),
            Packet::Pubrel { reason, .. } => format!("PUBREL 0x{reason:02X}"),
            Packet::Pubcomp { reason, .. } => format!("PUBCOMP 0x{reason:02X}"),
            Packet::Disconnect(d) => format!("DISCONNECT 0x{:02X}", d.reason),
            other => other.kind().to_string(),
        }
    }

    /// A few characters for the conformance report's digest; `None` for what is routine there
    /// (acknowledgements with reason 0).
    pub fn short(&self) -> Option<String> {
        let Some(p) = &self.packet else {
            return Some("closed".into());
        };
        let hex = |c: &[u8]| {
            c.iter()
                .map(|c| format!("{c:02X}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        Some(match p {
            Packet::Connack(c) => {
                let mut s = format!("SP{}", u8::from(c.session_present));
                if c.code != 0 {
                    let _ = write!(s, " rc={:02X}", c.code);
                }
                if c.assigned_client_id.is_some() {
                    s.push_str(" id assigned");
                }
                s
            }
            Packet::Suback { codes, .. } => format!("SUBACK {}", hex(codes)),
            Packet::Unsuback { codes, .. } => format!("UNSUBACK {}", hex(codes)),
            Packet::Publish(x) => {
                let mut s = format!("\"{}\" q{}", x.payload, x.qos.as_u8());
                if x.dup {
                    s.push_str(" dup");
                }
                if x.retain {
                    s.push_str(" retain");
                }
                if let Some(e) = x.message_expiry {
                    let _ = write!(s, " exp={e}");
                }
                if !x.subscription_ids.is_empty() {
                    let _ = write!(s, " ids={}", joined(&x.subscription_ids, "+"));
                }
                s
            }
            Packet::Puback { reason, .. }
            | Packet::Pubrec { reason, .. }
            | Packet::Pubcomp { reason, .. }
                if *reason == 0 =>
            {
                return None
            }
            Packet::Pubrel { .. } => "PUBREL".into(),
            Packet::Disconnect(d) => format!("DISCONNECT {:02X}", d.reason),
            _ => self.describe(),
        })
    }

    /// Whether `other` is the same packet (or the same close), as structures: every compared
    /// field equal, Message Expiry within 1 s, the engine's message names ignored.
    pub fn same_content(&self, other: &Seen) -> bool {
        match (&self.packet, &other.packet) {
            (None, None) => true,
            (Some(a), Some(b)) => comparable(a) == comparable(b) && expiry_close(a, b),
            _ => false,
        }
    }

    /// Whether `other` arrived when this one did: the same step and, in a timed step, within
    /// [`TIME_TOLERANCE_MS`].
    pub fn same_time(&self, other: &Seen) -> bool {
        self.step == other.step
            && (!self.timed || self.t_ms.abs_diff(other.t_ms) <= TIME_TOLERANCE_MS)
    }

    /// Whether `other` is the same observation within the tolerances.
    pub fn agrees(&self, other: &Seen) -> bool {
        self.same_content(other) && self.same_time(other)
    }

    /// This observation as `trace@1` records (docs/TRACE-SCHEMA.md): the packet, and the
    /// `connack` / `deliver` / `disconnect` record a client derives from it.
    pub fn records(&self) -> Vec<Value> {
        let base = |ty: &str| json!({"type": ty, "step": self.step, "t_ms": self.t_ms});
        let Some(p) = &self.packet else {
            let mut v = base("disconnect");
            v["client"] = json!(self.client);
            v["reason_code"] = Value::Null;
            v["by"] = json!("broker");
            v["why"] = json!("the broker closed the connection");
            return vec![v];
        };
        let mut v = base("packet");
        v["from"] = json!("broker");
        v["to"] = json!(self.client);
        v["conn"] = Value::Null;
        v["packet"] = json!(p.kind());
        v["summary"] = json!(p.to_string());
        v["fields"] = serde_json::to_value(p).unwrap_or(Value::Null);
        v["lost"] = json!(false);
        let mut out = vec![v];
        match p {
            Packet::Connack(c) => {
                let mut v = base("connack");
                v["client"] = json!(self.client);
                v["session_present"] = json!(c.session_present);
                v["reason_code"] = json!(c.code);
                v["assigned_client_id"] = json!(c.assigned_client_id.as_ref().map(|a| a.0.clone()));
                out.push(v);
            }
            Packet::Publish(x) => {
                let mut v = base("deliver");
                v["client"] = json!(self.client);
                v["msg"] = Value::Null;
                v["topic"] = json!(x.topic);
                v["payload"] = json!(x.payload);
                v["qos"] = json!(x.qos.as_u8());
                v["retain"] = json!(x.retain);
                v["dup"] = json!(x.dup);
                v["message_expiry"] = json!(x.message_expiry);
                v["subscription_ids"] = json!(x.subscription_ids);
                out.push(v);
            }
            Packet::Disconnect(d) => {
                let mut v = base("disconnect");
                v["client"] = json!(self.client);
                v["reason_code"] = json!(d.reason);
                v["by"] = json!("broker");
                v["why"] = json!(format!("the broker sent DISCONNECT 0x{:02X}", d.reason));
                out.push(v);
            }
            _ => {}
        }
        out
    }
}

/// Subscription Identifiers joined by `sep`.
fn joined(ids: &[u32], sep: &str) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(sep)
}

/// The packet with what is not compared cleared: the engine's message names, Message Expiry (compared apart, within 1 s), and the CONNACK's assigned client id
/// (only whether one was assigned is compared: the broker makes up its own).
fn comparable(p: &Packet) -> Packet {
    let mut p = p.clone();
    match &mut p {
        Packet::Publish(x) => {
            x.msg = crate::types::MsgId(0);
            x.message_expiry = x.message_expiry.map(|_| 0);
        }
        Packet::Connack(c) => {
            c.assigned_client_id = c
                .assigned_client_id
                .as_ref()
                .map(|_| crate::types::ClientId::new(""));
        }
        _ => {}
    }
    p
}

/// The broker counts a message's time in whole seconds: its Message Expiry may be 1 s apart.
fn expiry_close(a: &Packet, b: &Packet) -> bool {
    match (a, b) {
        (Packet::Publish(a), Packet::Publish(b)) => match (a.message_expiry, b.message_expiry) {
            (Some(x), Some(y)) => x.abs_diff(y) <= 1,
            (x, y) => x == y,
        },
        _ => true,
    }
}

/// What the verifier compares: every packet the broker sends but pings.
pub fn compared(p: &Packet) -> bool {
    !matches!(
        p,
        Packet::Pingresp
            | Packet::Pingreq
            | Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe { .. }
    )
}

/// What the engine predicts each client sees.
pub fn predicted(p: &Player) -> Vec<Seen> {
    let mut out = Vec::new();
    // Clients the broker sent DISCONNECT: the close that follows is not news (a real client
    // that reads a DISCONNECT expects the close, as `mqtt-lab verify`'s clients do).
    let mut told: Vec<&str> = Vec::new();
    for w in p.steps().windows(2) {
        let (before, rec) = (&w[0], &w[1]);
        let timed = rec.time > before.time;
        for e in p.entries(rec.index) {
            let (client, packet) = match &e.item {
                TraceItem::Packet {
                    to: Endpoint::Client(c),
                    packet,
                    lost: false,
                    ..
                } if compared(packet) => {
                    match packet {
                        Packet::Disconnect(_) => told.push(c),
                        Packet::Connack(_) => told.retain(|x| x != c),
                        _ => {}
                    }
                    (c, Some(packet.clone()))
                }
                TraceItem::Client {
                    client,
                    event:
                        ClientEvent::Disconnected {
                            by_broker: true,
                            reason_code: None,
                            ..
                        },
                } => {
                    if told.contains(&client.as_str()) {
                        told.retain(|x| x != client);
                        continue;
                    }
                    (client, None)
                }
                _ => continue,
            };
            out.push(Seen {
                step: rec.index,
                t_ms: e.time.0,
                timed,
                client: client.clone(),
                packet,
            });
        }
    }
    out
}

/// The header record of a recording (first line of a `.observed.jsonl` fixture).
pub fn header(broker: &str) -> Value {
    json!({"type": "observation", "broker": broker})
}

/// A recording read back: the broker it was made with and what the clients saw.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The broker and build it was recorded with (its header), e.g. "mosquitto version 2.0.11".
    pub broker: String,
    /// What the clients saw, in the order it was recorded.
    pub seen: Vec<Seen>,
}

/// Reads a recording (`trace@1` records, one per line) made of `p`'s scenario. Only the
/// `packet` records and the broker's closes are read; the derived `connack` / `deliver` /
/// `disconnect` records are left (they repeat the packet). Whether a step is timed is taken
/// from the scenario.
pub fn parse(text: &str, p: &Player) -> Result<Recording, String> {
    let mut broker = String::new();
    let mut seen = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| format!("{}: {e}", at()))?;
        let field = |k: &str| v.get(k).and_then(Value::as_u64);
        let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let step_time = || -> Result<(usize, u64), String> {
            let step = field("step").ok_or_else(|| format!("{}: no step", at()))? as usize;
            let t = field("t_ms").ok_or_else(|| format!("{}: no t_ms", at()))?;
            if step == 0 || step >= p.len() {
                return Err(format!(
                    "{}: step {step} is not a step of the scenario",
                    at()
                ));
            }
            Ok((step, t))
        };
        let timed = |step: usize| p.at(step).time > p.at(step - 1).time;
        match ty {
            "observation" => {
                broker = v["broker"].as_str().unwrap_or_default().to_string();
            }
            "packet" => {
                let (step, t_ms) = step_time()?;
                let packet: Packet = serde_json::from_value(v["fields"].clone())
                    .map_err(|e| format!("{}: {e}", at()))?;
                let client = v["to"].as_str().unwrap_or_default().to_string();
                seen.push(Seen {
                    step,
                    t_ms,
                    timed: timed(step),
                    client,
                    packet: Some(packet),
                });
            }
            "disconnect" if v["reason_code"].is_null() => {
                let (step, t_ms) = step_time()?;
                let client = v["client"].as_str().unwrap_or_default().to_string();
                seen.push(Seen {
                    step,
                    t_ms,
                    timed: timed(step),
                    client,
                    packet: None,
                });
            }
            "connack" | "deliver" | "disconnect" => {}
            other => return Err(format!("{}: unknown record type \"{other}\"", at())),
        }
    }
    Ok(Recording { broker, seen })
}

/// A recording as fixture text: the header, then every observation's records.
pub fn to_jsonl(broker: &str, seen: &[Seen]) -> String {
    let mut out = header(broker).to_string();
    out.push('\n');
    for s in seen {
        for r in s.records() {
            out.push_str(&r.to_string());
            out.push('\n');
        }
    }
    out
}

/// How a recording compares with the prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every client saw what the engine predicts, when it predicts it.
    Same,
    /// Every client saw the predicted packets in the predicted order, but some arrived in
    /// another step or outside the time tolerance (a busy machine, not a different rule).
    TimingOnly,
    /// Some client saw other packets, or more or fewer of them.
    Differs,
}

/// The outcome of [`compare`].
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The verdict.
    pub verdict: Verdict,
    /// The largest distance between predicted and observed arrival in timed steps, in ms.
    pub worst_ms: u64,
    /// Both sides, client by client, with the first difference marked `>>`.
    pub text: String,
}

impl Comparison {
    /// True when the verdict is [`Verdict::Same`].
    pub fn same(&self) -> bool {
        self.verdict == Verdict::Same
    }
}

/// Compares a recording with the prediction, client by client (in the order of `names`).
pub fn compare(predicted: &[Seen], observed: &[Seen], names: &[String]) -> Comparison {
    let mut out = String::new();
    let mut content = true;
    let mut timing = true;
    let mut worst = 0u64;
    for n in names {
        let a: Vec<&Seen> = predicted.iter().filter(|s| &s.client == n).collect();
        let b: Vec<&Seen> = observed.iter().filter(|s| &s.client == n).collect();
        if a.is_empty() && b.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{n}");
        let mut marked = false;
        for k in 0..a.len().max(b.len()) {
            let side = |s: Option<&&Seen>| match s {
                Some(s) => format!("[{}] {:>6}ms {}", s.step, s.t_ms, s.describe()),
                None => "-".to_string(),
            };
            let agree = match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => {
                    if x.timed {
                        worst = worst.max(x.t_ms.abs_diff(y.t_ms));
                    }
                    if !x.same_content(y) {
                        content = false;
                    } else if !x.same_time(y) {
                        timing = false;
                    }
                    x.agrees(y)
                }
                _ => {
                    content = false;
                    false
                }
            };
            let mark = if !agree && !marked {
                marked = true;
                ">>"
            } else if !agree {
                " ~"
            } else {
                "  "
            };
            let _ = writeln!(
                out,
                "{mark} engine: {:<66} mosquitto: {}",
                side(a.get(k)),
                side(b.get(k))
            );
        }
    }
    let _ = writeln!(
        out,
        "(per client in order; same step; in timed steps within {TIME_TOLERANCE_MS} ms, here at most {worst} ms apart; Message Expiry within 1 s)"
    );
    let verdict = match (content, timing) {
        (true, true) => Verdict::Same,
        (true, false) => Verdict::TimingOnly,
        _ => Verdict::Differs,
    };
    Comparison {
        verdict,
        worst_ms: worst,
        text: out,
    }
}

/// What the clients saw, in one line, for the conformance report.
pub fn digest(seen: &[Seen], names: &[String]) -> String {
    let mut parts = Vec::new();
    for n in names {
        let items: Vec<String> = seen
            .iter()
            .filter(|s| &s.client == n)
            .filter_map(Seen::short)
            .collect();
        if !items.is_empty() {
            parts.push(format!("{n}: {}", items.join(", ")));
        }
    }
    let all = parts.join("; ");
    if all.chars().count() > 240 {
        let cut: String = all.chars().take(240).collect();
        format!("{cut} …")
    } else {
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Connack, Publish};
    use crate::types::{MsgId, QoS};

    fn seen(step: usize, t_ms: u64, timed: bool, packet: Option<Packet>) -> Seen {
        Seen {
            step,
            t_ms,
            timed,
            client: "a".into(),
            packet,
        }
    }

    fn connack(sp: bool) -> Option<Packet> {
        Some(Packet::Connack(Connack {
            session_present: sp,
            code: 0,
            assigned_client_id: None,
            session_expiry: None,
            server_keep_alive: None,
            receive_maximum: None,
            maximum_qos: None,
        }))
    }

    fn publish(expiry: u32, id: u16) -> Option<Packet> {
        Some(Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a/b".into(),
            packet_id: Some(id),
            payload: "x".into(),
            message_expiry: Some(expiry),
            subscription_ids: vec![],
            msg: MsgId(1),
        }))
    }

    #[test]
    fn comparison_marks_the_first_difference_and_keeps_its_tolerances() {
        let names = vec!["a".to_string()];
        let p = vec![seen(1, 0, false, connack(false))];
        assert_eq!(compare(&p, &p, &names).verdict, Verdict::Same);
        let o = vec![seen(1, 0, false, connack(true))];
        let c = compare(&p, &o, &names);
        assert_eq!(c.verdict, Verdict::Differs);
        assert!(
            c.text
                .contains(">> engine: [1]      0ms CONNACK session_present=0"),
            "{}",
            c.text
        );
        // Another step is a timing difference; in a timed step, so is more than the tolerance.
        let late = vec![seen(2, 0, false, connack(false))];
        assert_eq!(compare(&p, &late, &names).verdict, Verdict::TimingOnly);
        assert!(seen(3, 5_000, true, None).agrees(&seen(3, 5_000 + TIME_TOLERANCE_MS, true, None)));
        assert!(!seen(3, 5_000, true, None).agrees(&seen(
            3,
            5_001 + TIME_TOLERANCE_MS,
            true,
            None
        )));
        // A missing packet is a content difference, not timing.
        assert_eq!(compare(&p, &[], &names).verdict, Verdict::Differs);
        // A Message Expiry one second apart agrees; two do not. Packet ids are compared.
        assert!(seen(1, 0, false, publish(10, 1)).agrees(&seen(1, 0, false, publish(9, 1))));
        assert!(!seen(1, 0, false, publish(10, 1)).agrees(&seen(1, 0, false, publish(10, 2))));
        assert!(!seen(1, 0, false, publish(10, 1)).agrees(&seen(1, 0, false, publish(8, 1))));
    }

    #[test]
    fn recordings_read_back_as_they_were_written() {
        let player = Player::new(crate::library::by_id("takeover-v5").unwrap()).unwrap();
        let mut seen = predicted(&player);
        assert!(seen
            .iter()
            .any(|s| s.describe().starts_with("CONNACK session_present=1")));
        seen.push(Seen {
            packet: None,
            ..seen[0].clone()
        });
        let text = to_jsonl("mosquitto version 2.0.11", &seen);
        let back = parse(&text, &player).unwrap();
        assert_eq!(back.broker, "mosquitto version 2.0.11");
        assert_eq!(back.seen, seen);
        assert!(parse("{\"type\":\"packet\",\"step\":9999,\"t_ms\":0}", &player).is_err());
        assert!(parse("{\"type\":\"surprise\"}", &player).is_err());
    }
}
