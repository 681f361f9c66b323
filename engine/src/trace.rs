//! The trace as JSON lines: one object per line, schema `mqtt-session-lab/trace@1`
//! (documented in `docs/TRACE-SCHEMA.md`). Every object has `type`, `step` and `t_ms`.

use crate::event::{BrokerEvent, ClientEvent, Endpoint, TraceItem};
use crate::player::Player;
use crate::types::{ClientId, QoS};
use crate::world::World;
use serde_json::{json, Value};

/// Schema name written in every trace's header line.
pub const SCHEMA: &str = "mqtt-session-lab/trace@1";

/// The scenario client name that currently uses `id`, or the id itself.
fn client_name(world: &World, id: &ClientId) -> String {
    let mut named = world.clients.iter().filter(|c| &c.client_id == id);
    match (named.next(), named.next()) {
        (Some(c), None) => c.name.clone(),
        _ => id.to_string(),
    }
}

fn q(q: QoS) -> u8 {
    q.as_u8()
}

/// Every record of a played scenario, in order.
pub fn records(player: &Player) -> Vec<Value> {
    let mut out = Vec::new();
    each_record(player, |v| {
        out.push(v);
        Ok(())
    })
    .map(|()| out)
    .unwrap_or_default()
}

/// Writes the trace as JSON lines to `w` as each record is made, so the text is never held whole
/// (`mqtt-lab run --json` writes to a buffered stdout this way).
pub fn write_json_lines(player: &Player, w: &mut impl std::io::Write) -> std::io::Result<()> {
    each_record(player, |v| writeln!(w, "{v}"))
}

/// Calls `f` with every record in order; stops at `f`'s first error.
fn each_record(
    player: &Player,
    mut f: impl FnMut(Value) -> std::io::Result<()>,
) -> std::io::Result<()> {
    f(json!({
        "type": "header",
        "schema": SCHEMA,
        "step": 0,
        "t_ms": 0,
        "scenario": player.scenario.id,
        "broker": player.at(0).world.broker.profile().id,
        "seed": player.scenario.seed,
    }))?;
    for rec in player.steps().iter().skip(1) {
        let step = rec.index;
        f(
            json!({"type": "step", "step": step, "t_ms": rec.time.0, "label": rec.label, "say": rec.say}),
        )?;
        let world = &rec.world;
        for e in player.entries(step) {
            let t = e.time.0;
            let base = |ty: &str| json!({"type": ty, "step": step, "t_ms": t});
            let v = match &e.item {
                TraceItem::Packet {
                    from,
                    to,
                    conn,
                    packet,
                    lost,
                    raw,
                } => {
                    let name = |p: &Endpoint| match p {
                        Endpoint::Broker => "broker".to_string(),
                        Endpoint::Client(c) => c.clone(),
                    };
                    let mut v = base("packet");
                    v["from"] = json!(name(from));
                    v["to"] = json!(name(to));
                    v["conn"] = json!(conn.0);
                    v["packet"] = json!(packet.kind());
                    v["summary"] = json!(packet.to_string());
                    v["fields"] = serde_json::to_value(packet).unwrap_or(Value::Null);
                    v["lost"] = json!(lost);
                    if let Some(raw) = raw {
                        v["raw"] = json!(raw.to_string());
                    }
                    v
                }
                TraceItem::Undecodable {
                    client,
                    conn,
                    raw,
                    error,
                } => {
                    let mut v = base("undecodable");
                    v["from"] = json!(client);
                    v["to"] = json!("broker");
                    v["conn"] = json!(conn.0);
                    v["raw"] = json!(raw.to_string());
                    v["error"] = json!(error);
                    v
                }
                TraceItem::Client { client, event } => match event {
                    ClientEvent::Connected {
                        session_present,
                        code,
                        assigned_client_id,
                    } => {
                        let mut v = base("connack");
                        v["client"] = json!(client);
                        v["session_present"] = json!(session_present);
                        v["reason_code"] = json!(code);
                        v["assigned_client_id"] =
                            json!(assigned_client_id.as_ref().map(|a| a.0.clone()));
                        v
                    }
                    ClientEvent::Delivered {
                        msg,
                        topic,
                        payload,
                        qos,
                        retain,
                        dup,
                        duplicate,
                        message_expiry,
                        subscription_ids,
                    } => {
                        let mut v = base("deliver");
                        v["client"] = json!(client);
                        v["msg"] = json!(msg.to_string());
                        v["topic"] = json!(topic);
                        v["payload"] = json!(payload);
                        v["qos"] = json!(q(*qos));
                        v["retain"] = json!(retain);
                        v["dup"] = json!(dup);
                        v["duplicate"] = json!(duplicate);
                        v["message_expiry"] = json!(message_expiry);
                        v["subscription_ids"] = json!(subscription_ids);
                        v
                    }
                    ClientEvent::Disconnected {
                        by_broker,
                        reason_code,
                        why,
                    } => {
                        let mut v = base("disconnect");
                        v["client"] = json!(client);
                        v["reason_code"] = json!(reason_code);
                        v["by"] = json!(crate::claim::Closer::of(*by_broker, why).name());
                        v["why"] = json!(why);
                        v
                    }
                    other => {
                        let mut v = base("client_event");
                        v["client"] = json!(client);
                        v["event"] = serde_json::to_value(other).unwrap_or(Value::Null);
                        v["text"] = json!(e.describe());
                        v
                    }
                },
                TraceItem::Broker { event } => match event {
                    BrokerEvent::WillPublished {
                        client_id,
                        topic,
                        msg,
                        cite,
                    } => {
                        let mut v = base("will_published");
                        v["client"] = json!(client_name(world, client_id));
                        v["client_id"] = json!(client_id.0);
                        v["topic"] = json!(topic);
                        v["msg"] = json!(msg.to_string());
                        v["cite"] = json!(cite);
                        v
                    }
                    BrokerEvent::SessionExpired {
                        client_id, cite, ..
                    } => {
                        let mut v = base("session_expired");
                        v["client"] = json!(client_name(world, client_id));
                        v["client_id"] = json!(client_id.0);
                        v["cite"] = json!(cite);
                        v
                    }
                    BrokerEvent::MessageDropped {
                        client_id,
                        msg,
                        topic,
                        qos,
                        reason,
                        cite,
                    } => {
                        let mut v = base("message_dropped");
                        v["client"] = json!(client_name(world, client_id));
                        v["client_id"] = json!(client_id.0);
                        v["msg"] = json!(msg.to_string());
                        v["topic"] = json!(topic);
                        v["qos"] = json!(q(*qos));
                        v["reason"] = json!(reason.code());
                        v["why"] = json!(reason.describe());
                        v["cite"] = json!(cite);
                        v
                    }
                    other => {
                        let mut v = base("broker_event");
                        v["event"] = serde_json::to_value(other).unwrap_or(Value::Null);
                        v["text"] = json!(e.describe());
                        if let Some(c) = other.cite() {
                            v["cite"] = json!(c);
                        }
                        v
                    }
                },
                TraceItem::LinkClosed { client, conn } => {
                    let mut v = base("link_closed");
                    v["client"] = json!(client);
                    v["conn"] = json!(conn.0);
                    v
                }
            };
            f(v)?;
        }
    }
    Ok(())
}

/// The trace as JSON lines text.
pub fn json_lines(player: &Player) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and serde_json writes UTF-8.
    let _ = write_json_lines(player, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The trace as readable text, step by step.
pub fn text(player: &Player) -> String {
    let mut s = String::new();
    let sc = &player.scenario;
    s.push_str(&format!(
        "{} ({}), broker: {}, seed {}\n",
        sc.title,
        sc.id,
        player.at(0).world.broker.profile().name,
        sc.seed
    ));
    if !sc.summary.is_empty() {
        s.push_str(&format!("{}\n", sc.summary));
    }
    for rec in player.steps().iter().skip(1) {
        s.push_str(&format!(
            "\n[{}] t={}  {}\n",
            rec.index, rec.time, rec.label
        ));
        if !rec.say.is_empty() {
            s.push_str(&format!("    \"{}\"\n", rec.say));
        }
        for e in player.entries(rec.index) {
            let cite = match &e.item {
                TraceItem::Broker { event } => {
                    event.cite().map(|c| format!("  ({c})")).unwrap_or_default()
                }
                _ => String::new(),
            };
            s.push_str(&format!(
                "  {:>8}  {}{}\n",
                e.time_label(),
                e.describe(),
                cite
            ));
        }
        for c in player.claims(rec.index) {
            let v5 = rec
                .world
                .client(c.claim.client())
                .map_or(sc.version.is_v5(), |cl| cl.version.is_v5());
            let mark = if c.holds { "✓" } else { "✗" };
            let only = match (&c.profiles, c.applies) {
                (Some(ps), true) => format!("  [written for {}]", ps.join(", ")),
                (Some(ps), false) => {
                    format!("  [not for this profile: written for {}]", ps.join(", "))
                }
                (None, _) => String::new(),
            };
            s.push_str(&format!("  claim {mark} {}{only}\n", c.claim.describe(v5)));
            match (&c.author, c.holds) {
                (Some(a), true) => s.push_str(&format!("            \"{a}\"\n")),
                _ => {
                    let cite = c
                        .cite
                        .as_ref()
                        .map(|c| format!("  ({c})"))
                        .unwrap_or_default();
                    s.push_str(&format!("            engine: {}{cite}\n", c.outcome));
                }
            }
        }
    }
    s
}
