//! The sandbox: branch a scenario at a step with a step of one's own, add clients, and save the
//! result as a scenario file. Pure functions over scenario text, tested natively.

use session_engine::scenario::Step;
use session_engine::Scenario;
use std::fmt::Write;

/// A JSON string literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// What the sandbox form holds (all text, as typed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepForm {
    pub action: String,
    pub client: String,
    pub clean_start: bool,
    pub session_expiry: String,
    pub keep_alive: String,
    pub will_topic: String,
    pub will_delay: String,
    pub filter: String,
    pub topic: String,
    pub payload: String,
    pub qos: String,
    pub retain: bool,
    pub message_expiry: String,
    pub reason: String,
    pub duration: String,
    pub direction: String,
    pub packet: String,
    /// Bytes in hex for a `send` step.
    pub hex: String,
    pub say: String,
}

/// The actions the sandbox offers, with labels.
pub const ACTIONS: [(&str, &str); 14] = [
    ("connect", "connect"),
    ("subscribe", "subscribe"),
    ("unsubscribe", "unsubscribe"),
    ("publish", "publish"),
    ("disconnect", "disconnect cleanly"),
    ("drop", "cut the link (both sides notice)"),
    ("cut", "link goes silent (keep alive must notice)"),
    ("wait", "advance time"),
    ("lose_next", "lose the next packet"),
    ("withhold_acks", "stop acknowledging"),
    ("resume_acks", "resume acknowledging"),
    ("release_acks", "send held acknowledgements, keep holding"),
    ("send", "send bytes of its own choosing (hex)"),
    ("restart_broker", "restart the broker"),
];

fn whole(name: &str, text: &str, max: u64) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u64>() {
        Ok(v) if v <= max => Ok(Some(v)),
        _ => Err(format!(
            "{name} must be a whole number from 0 to {max}, not \"{t}\""
        )),
    }
}

fn expiry(name: &str, text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t == "never" {
        return Ok(Some("\"never\"".into()));
    }
    whole(name, t, u64::from(u32::MAX))
        .map(|v| v.map(|v| v.to_string()))
        .map_err(|_| {
            format!("{name} must be seconds from 0 to 4294967295 or \"never\", not \"{t}\"")
        })
}

fn qos(text: &str) -> Result<u64, String> {
    match text.trim() {
        "" | "0" => Ok(0),
        "1" => Ok(1),
        "2" => Ok(2),
        t => Err(format!("QoS must be 0, 1 or 2, not \"{t}\"")),
    }
}

fn duration(text: &str) -> Result<String, String> {
    let ms = session_engine::scenario::parse_duration_ms(text.trim())?;
    Ok(js(&format!("{ms}ms")))
}

/// The step a form describes, as JSON text in the file format.
pub fn step_json(f: &StepForm) -> Result<String, String> {
    let mut body: Vec<(&str, String)> = Vec::new();
    let client = js(&f.client);
    let action = match f.action.as_str() {
        "connect" => {
            body.push(("client", client));
            body.push(("clean_start", f.clean_start.to_string()));
            if let Some(e) = expiry("Session Expiry Interval", &f.session_expiry)? {
                body.push(("session_expiry", e));
            }
            if let Some(k) = whole("Keep alive", &f.keep_alive, 65_535)? {
                body.push(("keep_alive", k.to_string()));
            }
            if !f.will_topic.trim().is_empty() {
                let mut w = format!(
                    "{{\"topic\": {}, \"payload\": \"offline\"",
                    js(f.will_topic.trim())
                );
                if let Some(d) = whole("Will Delay", &f.will_delay, u64::from(u32::MAX))? {
                    let _ = write!(w, ", \"delay\": {d}");
                }
                w.push('}');
                body.push(("will", w));
            }
            "connect"
        }
        "subscribe" | "unsubscribe" => {
            body.push(("client", client));
            body.push(("filter", js(f.filter.trim())));
            if f.action == "subscribe" {
                body.push(("qos", qos(&f.qos)?.to_string()));
            }
            f.action.as_str()
        }
        "publish" => {
            body.push(("client", client));
            body.push(("topic", js(f.topic.trim())));
            body.push(("payload", js(&f.payload)));
            body.push(("qos", qos(&f.qos)?.to_string()));
            body.push(("retain", f.retain.to_string()));
            if let Some(m) = whole(
                "Message Expiry Interval",
                &f.message_expiry,
                u64::from(u32::MAX),
            )? {
                body.push(("message_expiry", m.to_string()));
            }
            "publish"
        }
        "disconnect" => {
            body.push(("client", client));
            if let Some(r) = whole("Reason code", &f.reason, 255)? {
                body.push(("reason", r.to_string()));
            }
            if let Some(e) = expiry("Session Expiry Interval", &f.session_expiry)? {
                body.push(("session_expiry", e));
            }
            "disconnect"
        }
        "drop" | "cut" | "release_acks" => {
            body.push(("client", client));
            f.action.as_str()
        }
        "wait" => {
            if f.duration.trim().is_empty() {
                return Err("Say how long to wait: seconds (30), or 500ms, 1.5s, 2m, 1h".into());
            }
            let mut out = String::from("{");
            if !f.say.trim().is_empty() {
                let _ = write!(out, "\"say\": {}, ", js(f.say.trim()));
            }
            let _ = write!(out, "\"wait\": {}}}", duration(&f.duration)?);
            return Ok(out);
        }
        "lose_next" => {
            body.push(("client", client));
            body.push((
                "direction",
                js(if f.direction == "to_client" {
                    "to_client"
                } else {
                    "to_broker"
                }),
            ));
            if !f.packet.trim().is_empty() {
                body.push(("packet", js(f.packet.trim())));
            }
            "lose_next"
        }
        "send" => {
            let t = f.hex.trim();
            if t.is_empty() {
                return Err(
                    "Give the bytes to send in hex, one whole packet (e.g. C0 00 for PINGREQ)"
                        .into(),
                );
            }
            if let Err(e) = session_engine::types::from_hex(t) {
                return Err(format!("The bytes to send: {e}"));
            }
            body.push(("client", client));
            body.push(("hex", js(t)));
            "send"
        }
        "withhold_acks" | "resume_acks" => {
            body.push(("client", client));
            body.push(("on", (f.action == "withhold_acks").to_string()));
            "withhold_acks"
        }
        "restart_broker" => {
            if !f.duration.trim().is_empty() {
                body.push(("downtime", duration(&f.duration)?));
            }
            "restart_broker"
        }
        other => return Err(format!("unknown action \"{other}\"")),
    };
    let mut out = String::from("{");
    if !f.say.trim().is_empty() {
        let _ = write!(out, "\"say\": {}, ", js(f.say.trim()));
    }
    let _ = write!(out, "\"{action}\": {{");
    for (i, (k, v)) in body.iter().enumerate() {
        let _ = write!(out, "{}\"{k}\": {v}", if i > 0 { ", " } else { "" });
    }
    out.push_str("}}");
    Ok(out)
}

/// The scenario `text` cut after `at` steps, with `step` added: the branched history, validated
/// like any scenario file (so a bad value gets the same located message).
pub fn branch(text: &str, at: usize, step: &str, profile: Option<&str>) -> Result<String, String> {
    let mut sc = Scenario::from_json(text).map_err(|e| e.to_string())?;
    let step: Step = serde_json::from_str(step).map_err(|e| format!("The new step: {e}"))?;
    sc.steps.truncate(at);
    sc.steps.push(step);
    if let Some(p) = profile {
        sc.broker.profile = p.to_string();
    }
    if !sc.id.ends_with("-sandbox") {
        sc.id = format!("{}-sandbox", sc.id);
        sc.title = format!("{} (sandbox)", sc.title);
    }
    let out = sc.to_json();
    let last = sc.steps.len();
    Scenario::from_json(&out).map_err(|e| match e.path.as_deref() {
        Some(p) if p == format!("steps[{}]", last - 1) => format!("The new step: {}", e.message),
        _ => e.to_string(),
    })?;
    Ok(out)
}

/// Adds a client to the scenario `text`.
pub fn add_client(
    text: &str,
    name: &str,
    client_id: &str,
    version: &str,
) -> Result<String, String> {
    let mut sc = Scenario::from_json(text).map_err(|e| e.to_string())?;
    let name = name.trim();
    if name.is_empty() {
        return Err("A new client needs a name".into());
    }
    let id = if client_id.trim().is_empty() {
        name
    } else {
        client_id.trim()
    };
    let spec = format!(
        "{{\"name\": {}, \"client_id\": {}, \"version\": {}}}",
        js(name),
        js(id),
        js(version)
    );
    sc.clients
        .push(serde_json::from_str(&spec).map_err(|e| e.to_string())?);
    let out = sc.to_json();
    Scenario::from_json(&out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The scenario as a file to save: its text with the broker actually shown.
pub fn export(text: &str, profile: Option<&str>) -> Result<String, String> {
    let mut sc = Scenario::from_json(text).map_err(|e| e.to_string())?;
    if let Some(p) = profile {
        sc.broker.profile = p.to_string();
    }
    Ok(sc.to_json())
}

/// A step form from the (name, value) pairs the browser's FormData gives.
pub fn form_from_pairs(pairs: &[(String, String)]) -> StepForm {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    StepForm {
        action: get("action"),
        client: get("client"),
        clean_start: pairs.iter().any(|(n, _)| n == "clean_start"),
        session_expiry: get("session_expiry"),
        keep_alive: get("keep_alive"),
        will_topic: get("will_topic"),
        will_delay: get("will_delay"),
        filter: get("filter"),
        topic: get("topic"),
        payload: get("payload"),
        qos: get("qos"),
        retain: pairs.iter().any(|(n, _)| n == "retain"),
        message_expiry: get("message_expiry"),
        reason: get("reason"),
        duration: get("duration"),
        direction: get("direction"),
        packet: get("packet"),
        hex: get("hex"),
        say: get("say"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_engine::{library, Player};

    fn form(action: &str) -> StepForm {
        StepForm {
            action: action.into(),
            client: "sensor".into(),
            qos: "1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn branching_keeps_the_prefix_and_adds_the_step() {
        let text = library::text_by_id("session-expiry-v5").unwrap();
        let mut f = form("publish");
        f.client = "controller".into();
        f.topic = "sensors/7/cmd".into();
        f.payload = "extra".into();
        let out = branch(text, 4, &step_json(&f).unwrap(), Some("mosquitto-2.0.11")).unwrap();
        let p = Player::from_json(&out).unwrap();
        assert_eq!(p.len(), 6, "4 kept + 1 new + the start");
        assert_eq!(p.scenario.broker.profile, "mosquitto-2.0.11");
        assert!(p.scenario.id.ends_with("-sandbox"));
        assert!(p
            .at(5)
            .world
            .broker
            .sessions()
            .values()
            .any(|s| s.queue.iter().any(|m| m.payload.as_text() == Some("extra"))));
    }

    #[test]
    fn bad_values_get_clear_messages() {
        let text = library::text_by_id("session-expiry-v5").unwrap();
        let mut f = form("connect");
        f.keep_alive = "-5".into();
        assert_eq!(
            step_json(&f).unwrap_err(),
            "Keep alive must be a whole number from 0 to 65535, not \"-5\""
        );
        f.keep_alive = "1e30".into();
        assert!(step_json(&f).is_err());
        let mut f = form("wait");
        f.duration = "NaN".into();
        assert!(step_json(&f).is_err());
        let mut f = form("subscribe");
        f.filter = "a/#/b".into();
        let e = branch(text, 2, &step_json(&f).unwrap(), None).unwrap_err();
        assert!(
            // A 5.0 scenario: the 5.0 statement (3.1.1 numbers it [MQTT-4.7.1-2]).
            e.starts_with("The new step:") && e.contains("[MQTT-4.7.1-1]"),
            "{e}"
        );
        let mut f = form("publish");
        f.client = "nobody".into();
        f.topic = "t".into();
        let e = branch(text, 2, &step_json(&f).unwrap(), None).unwrap_err();
        assert!(e.contains("unknown client \"nobody\""), "{e}");
    }

    /// Bytes the sandbox sends: a clear message for bad hex or a partial packet, and a trace
    /// entry with the bytes for bytes that are not a packet.
    #[test]
    fn send_steps_take_hex_and_say_what_is_wrong() {
        let text = library::text_by_id("session-expiry-v5").unwrap();
        let mut f = form("send");
        assert!(step_json(&f).unwrap_err().contains("in hex"));
        f.hex = "E0 0".into();
        assert!(step_json(&f).unwrap_err().contains("odd number"));
        f.hex = "62 02 00".into();
        let e = branch(text, 3, &step_json(&f).unwrap(), None).unwrap_err();
        assert!(e.starts_with("The new step: send.hex ends before"), "{e}");
        f.hex = "E0 05 00 03 23 00 01".into();
        let out = branch(text, 3, &step_json(&f).unwrap(), None).unwrap();
        let p = Player::from_json(&out).unwrap();
        assert!(p.entries(4).iter().any(|e| matches!(
            &e.item,
            session_engine::TraceItem::Undecodable { raw, .. } if raw.to_string() == "E0 05 00 03 23 00 01"
        )));
    }

    #[test]
    fn every_action_builds_a_valid_step() {
        let text = library::text_by_id("session-expiry-v5").unwrap();
        for (a, _) in ACTIONS {
            let mut f = form(a);
            f.filter = "x/#".into();
            f.topic = "x/y".into();
            f.duration = "5s".into();
            f.session_expiry = "60".into();
            f.hex = "C0 00".into();
            let out = branch(text, 3, &step_json(&f).unwrap(), None)
                .unwrap_or_else(|e| panic!("{a}: {e}"));
            Player::from_json(&out).unwrap_or_else(|e| panic!("{a}: {e}"));
        }
    }

    #[test]
    fn clients_can_be_added_and_files_exported() {
        let text = library::text_by_id("qos-downgrade").unwrap();
        let out = add_client(text, "late", "", "5.0").unwrap();
        assert!(Scenario::from_json(&out)
            .unwrap()
            .clients
            .iter()
            .any(|c| c.name == "late"));
        assert!(add_client(text, "sub", "", "5.0")
            .unwrap_err()
            .contains("two clients are named"));
        let saved = export(text, Some("emqx")).unwrap();
        assert_eq!(Scenario::from_json(&saved).unwrap().broker.profile, "emqx");
    }

    #[test]
    fn the_form_reads_checkboxes_by_presence() {
        let f = form_from_pairs(&[
            ("action".into(), "connect".into()),
            ("clean_start".into(), "on".into()),
            ("keep_alive".into(), "30".into()),
        ]);
        assert!(f.clean_start && !f.retain && f.keep_alive == "30");
    }
}
