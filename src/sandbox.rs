//! The sandbox: branch a scenario at a step with a step of one's own, add clients, and save the
//! result as a scenario file. Pure functions over scenario text, tested natively.

use serde_json::{json, Map, Value};
use session_engine::scenario::Step;
use session_engine::Scenario;

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
    pub say: String,
}

/// The actions the sandbox offers, with labels.
pub const ACTIONS: [(&str, &str); 12] = [
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

fn expiry(name: &str, text: &str) -> Result<Option<Value>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t == "never" {
        return Ok(Some(json!("never")));
    }
    whole(name, t, u64::from(u32::MAX))
        .map(|v| v.map(|v| json!(v)))
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

/// The step a form describes, as the file format writes it.
pub fn step_json(f: &StepForm) -> Result<Value, String> {
    let mut body = Map::new();
    let client = || json!(f.client);
    let mut put = |k: &str, v: Value| {
        body.insert(k.to_string(), v);
    };
    let action = match f.action.as_str() {
        "connect" => {
            put("client", client());
            put("clean_start", json!(f.clean_start));
            if let Some(e) = expiry("Session Expiry Interval", &f.session_expiry)? {
                put("session_expiry", e);
            }
            if let Some(k) = whole("Keep alive", &f.keep_alive, 65_535)? {
                put("keep_alive", json!(k));
            }
            if !f.will_topic.trim().is_empty() {
                let mut w = json!({"topic": f.will_topic.trim(), "payload": "offline"});
                if let Some(d) = whole("Will Delay", &f.will_delay, u64::from(u32::MAX))? {
                    w["delay"] = json!(d);
                }
                put("will", w);
            }
            "connect"
        }
        "subscribe" => {
            put("client", client());
            put("filter", json!(f.filter.trim()));
            put("qos", json!(qos(&f.qos)?));
            "subscribe"
        }
        "unsubscribe" => {
            put("client", client());
            put("filter", json!(f.filter.trim()));
            "unsubscribe"
        }
        "publish" => {
            put("client", client());
            put("topic", json!(f.topic.trim()));
            put("payload", json!(f.payload));
            put("qos", json!(qos(&f.qos)?));
            put("retain", json!(f.retain));
            if let Some(m) = whole(
                "Message Expiry Interval",
                &f.message_expiry,
                u64::from(u32::MAX),
            )? {
                put("message_expiry", json!(m));
            }
            "publish"
        }
        "disconnect" => {
            put("client", client());
            if let Some(r) = whole("Reason code", &f.reason, 255)? {
                put("reason", json!(r));
            }
            if let Some(e) = expiry("Session Expiry Interval", &f.session_expiry)? {
                put("session_expiry", e);
            }
            "disconnect"
        }
        "drop" | "cut" => {
            put("client", client());
            f.action.as_str()
        }
        "wait" => {
            let d = f.duration.trim();
            if d.is_empty() {
                return Err("Say how long to wait: seconds (30), or 500ms, 1.5s, 2m, 1h".into());
            }
            let ms = session_engine::scenario::parse_duration_ms(d)?;
            let mut m = Map::new();
            m.insert("wait".into(), json!(format!("{ms}ms")));
            if !f.say.trim().is_empty() {
                m.insert("say".into(), json!(f.say.trim()));
            }
            return Ok(Value::Object(m));
        }
        "lose_next" => {
            put("client", client());
            put(
                "direction",
                json!(if f.direction == "to_client" {
                    "to_client"
                } else {
                    "to_broker"
                }),
            );
            if !f.packet.trim().is_empty() {
                put("packet", json!(f.packet.trim()));
            }
            "lose_next"
        }
        "withhold_acks" | "resume_acks" => {
            put("client", client());
            put("on", json!(f.action == "withhold_acks"));
            "withhold_acks"
        }
        "restart_broker" => {
            let d = f.duration.trim();
            if !d.is_empty() {
                let ms = session_engine::scenario::parse_duration_ms(d)?;
                put("downtime", json!(format!("{ms}ms")));
            }
            "restart_broker"
        }
        other => return Err(format!("unknown action \"{other}\"")),
    };
    let mut m = Map::new();
    if !f.say.trim().is_empty() {
        m.insert("say".into(), json!(f.say.trim()));
    }
    m.insert(action.into(), Value::Object(body));
    Ok(Value::Object(m))
}

/// The scenario `text` cut after `at` steps, with `step` added: the branched history, validated
/// like any scenario file (so a bad value gets the same located message).
pub fn branch(text: &str, at: usize, step: Value, profile: Option<&str>) -> Result<String, String> {
    let mut sc = Scenario::from_json(text).map_err(|e| e.to_string())?;
    let step: Step = serde_json::from_value(step).map_err(|e| e.to_string())?;
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
    let spec = json!({"name": name, "client_id": if client_id.trim().is_empty() { name } else { client_id.trim() }, "version": version});
    sc.clients
        .push(serde_json::from_value(spec).map_err(|e| e.to_string())?);
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
        let out = branch(text, 4, step_json(&f).unwrap(), Some("mosquitto-2.0.11")).unwrap();
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
            .any(|s| s.queue.iter().any(|m| &*m.payload == "extra")));
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
        let e = branch(text, 2, step_json(&f).unwrap(), None).unwrap_err();
        assert!(
            e.starts_with("The new step:") && e.contains("[MQTT-4.7.1-2]"),
            "{e}"
        );
        let mut f = form("publish");
        f.client = "nobody".into();
        f.topic = "t".into();
        let e = branch(text, 2, step_json(&f).unwrap(), None).unwrap_err();
        assert!(e.contains("unknown client \"nobody\""), "{e}");
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
            let out = branch(text, 3, step_json(&f).unwrap(), None)
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
}
