//! `mqtt-lab codec`: the engine's codec as two JSON-lines filters, for cross-checks against
//! other MQTT implementations (tests/mqtt-packet/crosscheck.mjs runs npm `mqtt-packet` on them).
//!
//! - `samples`: seeded random model packets of every type, for both protocol versions, each
//!   valid by the specification's rules and written by the engine's encoder.
//! - `decode`: bytes in, the engine decoder's verdict out (the packet, or the error with its
//!   statement id and reason code).

use serde_json::{json, Value};
use session_engine::codec::{code_allowed, decode, encode, DecodeError, Frame};
use session_engine::packet::{
    Connack, Connect, Disconnect, Packet, Publish, SubOptions, Subscribe, Will,
};
use session_engine::rng::Rng;
use session_engine::types::WireBytes;
use session_engine::{ClientId, QoS, Version};

fn chance(rng: &mut Rng, percent: u64) -> bool {
    rng.range_u64(0, 99) < percent
}

fn pick<T: Copy>(rng: &mut Rng, xs: &[T]) -> T {
    xs[rng.range_u64(0, xs.len() as u64 - 1) as usize]
}

fn qos(rng: &mut Rng) -> QoS {
    pick(rng, &[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

/// A u32 that is 0, small, or anywhere up to the maximum, so edges come up often.
fn u32_any(rng: &mut Rng) -> u32 {
    match rng.range_u64(0, 3) {
        0 => pick(rng, &[0, 1, u32::MAX, u32::MAX - 1, 65_535, 65_536]),
        1 => rng.range_u64(0, 1_000) as u32,
        _ => rng.range_u64(0, u64::from(u32::MAX)) as u32,
    }
}

fn u16_nonzero(rng: &mut Rng) -> u16 {
    if chance(rng, 20) {
        pick(rng, &[1, 2, 255, 256, 65_534, 65_535])
    } else {
        rng.range_u64(1, 65_535) as u16
    }
}

/// A Subscription Identifier: 1 to 268,435,455 (5.0 §3.8.2.1.2), with the 1- to 4-byte edges.
fn sub_id(rng: &mut Rng) -> u32 {
    if chance(rng, 30) {
        pick(
            rng,
            &[
                1,
                127,
                128,
                16_383,
                16_384,
                2_097_151,
                2_097_152,
                268_435_455,
            ],
        )
    } else {
        rng.range_u64(1, 268_435_455) as u32
    }
}

/// Characters a topic level may hold: ASCII, two-, three- and four-byte UTF-8, a space.
const CHARS: [&str; 12] = ["a", "b", "z", "0", "9", "-", "_", " ", "é", "€", "😀", "$"];

fn level(rng: &mut Rng) -> String {
    let n = rng.range_u64(0, 6);
    (0..n).map(|_| pick(rng, &CHARS)).collect()
}

/// A topic name (§4.7): at least one character, no wildcards.
fn topic_name(rng: &mut Rng) -> String {
    loop {
        let levels = rng.range_u64(1, 4);
        let t: Vec<String> = (0..levels).map(|_| level(rng)).collect();
        let t = t.join("/");
        if !t.is_empty() {
            return t;
        }
    }
}

/// A topic filter (§4.7): levels, `+` as a whole level, `#` only as the last level.
fn topic_filter(rng: &mut Rng) -> String {
    loop {
        let levels = rng.range_u64(1, 4);
        let mut t: Vec<String> = (0..levels)
            .map(|_| {
                if chance(rng, 20) {
                    "+".to_string()
                } else {
                    level(rng)
                }
            })
            .collect();
        if chance(rng, 20) {
            t.push("#".into());
        }
        let t = t.join("/");
        if !t.is_empty() {
            return t;
        }
    }
}

/// Payload bytes: empty, text, or any bytes (a payload need not be UTF-8).
fn payload(rng: &mut Rng) -> Vec<u8> {
    match rng.range_u64(0, 3) {
        0 => Vec::new(),
        1 => level(rng).into_bytes(),
        _ => {
            let n = rng.range_u64(1, 40);
            (0..n).map(|_| rng.range_u64(0, 255) as u8).collect()
        }
    }
}

/// A client identifier (§3.1.3.1): empty or characters.
fn client_id(rng: &mut Rng) -> String {
    if chance(rng, 10) {
        return String::new();
    }
    let n = rng.range_u64(1, 23);
    (0..n)
        .map(|_| pick(rng, &["a", "Z", "0", "-", "é", "😀"]))
        .collect()
}

/// A code from the packet's table for this version.
fn code(rng: &mut Rng, kind: &str, v5: bool) -> u8 {
    let codes: Vec<u8> = (0..=255u8).filter(|c| code_allowed(kind, *c, v5)).collect();
    if chance(rng, 50) {
        0
    } else {
        pick(rng, &codes)
    }
}

fn opt<T>(rng: &mut Rng, v5: bool, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    (v5 && chance(rng, 50)).then(|| f(rng))
}

/// One random model packet of type `t` (1 CONNECT ... 14 DISCONNECT).
fn packet(rng: &mut Rng, t: u8, v: Version) -> Packet {
    let v5 = v == Version::V5;
    let pid = u16_nonzero;
    match t {
        1 => {
            let id = client_id(rng);
            // 3.1.1 refuses an empty client id unless Clean Session is 1 ([MQTT-3.1.3-8] 3.1.1): at
            // the server, not in the codec, but a well-behaved client never sends it.
            let clean = id.is_empty() || chance(rng, 50);
            let will = chance(rng, 40).then(|| Will {
                topic: topic_name(rng).into(),
                payload: payload(rng).into(),
                qos: qos(rng),
                retain: chance(rng, 50),
                delay: if v5 && chance(rng, 50) {
                    u32_any(rng)
                } else {
                    0
                },
                message_expiry: opt(rng, v5, u32_any),
            });
            Packet::Connect(Connect {
                version: v,
                client_id: ClientId::new(id),
                clean_start: clean,
                keep_alive: rng.range_u64(0, 65_535) as u16,
                session_expiry: opt(rng, v5, u32_any),
                receive_maximum: opt(rng, v5, u16_nonzero),
                will,
            })
        }
        2 => {
            let code = code(rng, "CONNACK", v5);
            Packet::Connack(Connack {
                // Session Present is 0 when the return code is not 0 ([MQTT-3.2.2-4] 3.1.1,
                // [MQTT-3.2.2-6] 5.0).
                session_present: code == 0 && chance(rng, 50),
                code,
                assigned_client_id: opt(rng, v5, |r| ClientId::new(client_id(r) + "x")),
                session_expiry: opt(rng, v5, u32_any),
                server_keep_alive: opt(rng, v5, |r| r.range_u64(0, 65_535) as u16),
                receive_maximum: opt(rng, v5, u16_nonzero),
                maximum_qos: opt(rng, v5, |r| pick(r, &[QoS::AtMostOnce, QoS::AtLeastOnce])),
            })
        }
        3 => {
            let q = qos(rng);
            Packet::Publish(Publish {
                dup: q != QoS::AtMostOnce && chance(rng, 30),
                qos: q,
                retain: chance(rng, 30),
                topic: topic_name(rng).into(),
                packet_id: (q != QoS::AtMostOnce).then(|| pid(rng)),
                payload: payload(rng).into(),
                message_expiry: opt(rng, v5, u32_any),
                subscription_ids: if v5 && chance(rng, 40) {
                    let n = rng.range_u64(1, 3);
                    (0..n).map(|_| sub_id(rng)).collect()
                } else {
                    Vec::new()
                },
                msg: Default::default(),
            })
        }
        4..=7 => {
            let kind = ["PUBACK", "PUBREC", "PUBREL", "PUBCOMP"][usize::from(t - 4)];
            let packet_id = pid(rng);
            let reason = if v5 { code(rng, kind, true) } else { 0 };
            match t {
                4 => Packet::Puback { packet_id, reason },
                5 => Packet::Pubrec { packet_id, reason },
                6 => Packet::Pubrel { packet_id, reason },
                _ => Packet::Pubcomp { packet_id, reason },
            }
        }
        8 => {
            let n = rng.range_u64(1, 4);
            let filters = (0..n)
                .map(|_| {
                    let mut o = SubOptions::qos(qos(rng));
                    if v5 {
                        o.no_local = chance(rng, 30);
                        o.retain_as_published = chance(rng, 30);
                        o.retain_handling = rng.range_u64(0, 2) as u8;
                    }
                    (topic_filter(rng), o)
                })
                .collect();
            Packet::Subscribe(Subscribe {
                packet_id: pid(rng),
                filters,
                subscription_id: opt(rng, v5, sub_id),
            })
        }
        9 | 11 => {
            let kind = if t == 9 { "SUBACK" } else { "UNSUBACK" };
            let packet_id = pid(rng);
            // A 3.1.1 UNSUBACK carries no codes (§3.11.3).
            let n = if t == 11 && !v5 {
                0
            } else {
                rng.range_u64(1, 4)
            };
            let codes = (0..n).map(|_| code(rng, kind, v5)).collect();
            if t == 9 {
                Packet::Suback { packet_id, codes }
            } else {
                Packet::Unsuback { packet_id, codes }
            }
        }
        10 => {
            let n = rng.range_u64(1, 4);
            Packet::Unsubscribe {
                packet_id: pid(rng),
                filters: (0..n).map(|_| topic_filter(rng)).collect(),
            }
        }
        12 => Packet::Pingreq,
        13 => Packet::Pingresp,
        _ => Packet::Disconnect(Disconnect {
            reason: if v5 { code(rng, "DISCONNECT", true) } else { 0 },
            session_expiry: opt(rng, v5, u32_any),
        }),
    }
}

/// `count` samples from `seed`, packet types and versions in turn, as JSON lines
/// `{"version", "hex", "packet"}`. A packet the encoder refuses is an error: the generator
/// keeps to the specification's rules, so the encoder must write every one.
pub fn samples(seed: u64, count: u64) -> Result<Vec<String>, String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for i in 0..count {
        let v = if i % 2 == 0 {
            Version::V311
        } else {
            Version::V5
        };
        let t = (i / 2 % 14) as u8 + 1;
        let p = packet(&mut rng, t, v);
        let bytes = encode(&p, v).map_err(|e| format!("sample {i}: {p} ({v}): {e}"))?;
        let packet = serde_json::to_value(&p).map_err(|e| e.to_string())?;
        out.push(
            json!({"version": v.label(), "hex": WireBytes(bytes).to_string().replace(' ', ""), "packet": packet})
                .to_string(),
        );
    }
    Ok(out)
}

/// The decoder's verdict on one line `{"version": "3.1.1"|"5.0", "hex": "..."}`.
pub fn decode_line(line: &str) -> Value {
    let parsed: Result<(Version, Vec<u8>), String> = (|| {
        let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let version = match v["version"].as_str() {
            Some("3.1.1") => Version::V311,
            Some("5.0") => Version::V5,
            _ => return Err("\"version\" must be \"3.1.1\" or \"5.0\"".into()),
        };
        let h = v["hex"].as_str().ok_or("\"hex\" must be a string")?;
        Ok((version, session_engine::types::from_hex(h)?))
    })();
    let (v, bytes) = match parsed {
        Ok(x) => x,
        Err(e) => return json!({"input_error": e}),
    };
    match decode(&bytes, v) {
        Ok((Frame::Packet(p), used)) => json!({
            "packet": serde_json::to_value(&p).unwrap_or(Value::Null),
            "used": used,
        }),
        Ok((Frame::Auth { reason, method }, used)) => {
            json!({"auth": {"reason": reason, "method": method}, "used": used})
        }
        Err(DecodeError::Incomplete) => json!({"incomplete": true}),
        Err(e) => {
            let debug = format!("{e:?}");
            let kind = debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or("")
                .to_string();
            json!({
                "error": e.describe(v),
                "kind": kind,
                "statement": e.statement(v),
                "code": e.reason_code(),
            })
        }
    }
}
