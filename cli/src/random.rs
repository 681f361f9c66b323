//! Random scenarios for differential testing against a real mosquitto (`mqtt-lab verify-random`).
//!
//! Each scenario is small (three clients, up to 14 steps) and mixes what sessions are made of:
//! 3.1.1 and 5.0 clients, a shared client id (takeovers), Clean Start / Clean Session, Session
//! Expiry, wills (also with DISCONNECT 0x04), overlapping filters, Subscription Identifiers, No
//! Local, Retain Handling, Retain As Published, retained messages, QoS 0-2, Message Expiry,
//! Receive Maximum, withheld acknowledgements, drops and short waits. It keeps away from timer
//! boundaries on purpose (expiries of 60 s or never, waits of 300 ms), so a difference is about
//! the rules, not about timing.

use session_engine::rng::Rng;

const FILTERS: [&str; 7] = ["t/a", "t/+", "t/#", "#", "t/a/b", "+/a", "t/a/#"];
const TOPICS: [&str; 4] = ["t/a", "t/b", "t/a/b", "x/a"];

fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.range_u64(0, xs.len() as u64 - 1) as usize]
}

fn chance(rng: &mut Rng, percent: u64) -> bool {
    rng.range_u64(0, 99) < percent
}

/// One random scenario (scenario JSON text) for `seed`.
pub fn scenario(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let names = ["c1", "c2", "c3"];
    let v5: Vec<bool> = names.iter().map(|_| chance(&mut rng, 60)).collect();
    // c3 shares c1's client id one time in three: connecting it takes c1's session over.
    let shared = chance(&mut rng, 33);
    let clients: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let id = if shared && i == 2 {
                ", \"client_id\": \"c1\"".to_string()
            } else {
                String::new()
            };
            let version = if v5[i] { "5.0" } else { "3.1.1" };
            format!("{{\"name\": \"{n}\", \"version\": \"{version}\"{id}}}")
        })
        .collect();
    let mut steps = Vec::new();
    let mut n = 0;
    // Everyone starts connected and subscribed, so most steps have an effect.
    let mut plan: Vec<u64> = vec![0, 1, 0, 1];
    let len = rng.range_u64(6, 10);
    for _ in 0..len {
        plan.push(rng.range_u64(0, 9));
    }
    for (k, kind) in plan.into_iter().enumerate() {
        let c = if k < 4 {
            k / 2
        } else {
            rng.range_u64(0, 2) as usize
        };
        let name = names[c];
        let q = rng.range_u64(0, 2);
        let step = match kind {
            0 => {
                let mut s = format!(
                    "{{\"connect\": {{\"client\": \"{name}\", \"clean_start\": {}",
                    chance(&mut rng, 40)
                );
                if v5[c] {
                    match rng.range_u64(0, 3) {
                        0 => {}
                        1 => s.push_str(", \"session_expiry\": 0"),
                        2 => s.push_str(", \"session_expiry\": 60"),
                        _ => s.push_str(", \"session_expiry\": \"never\""),
                    }
                    if chance(&mut rng, 20) {
                        s.push_str(&format!(", \"receive_maximum\": {}", rng.range_u64(1, 3)));
                    }
                }
                if chance(&mut rng, 30) {
                    s.push_str(&format!(
                        ", \"will\": {{\"topic\": \"t/a\", \"payload\": \"will-{name}\", \"qos\": {q}, \"retain\": {}}}",
                        chance(&mut rng, 30)
                    ));
                }
                s.push_str("}}");
                s
            }
            1 | 2 => {
                let f = pick(&mut rng, &FILTERS);
                let mut s = format!(
                    "{{\"subscribe\": {{\"client\": \"{name}\", \"filter\": \"{f}\", \"qos\": {q}"
                );
                if v5[c] {
                    if chance(&mut rng, 20) {
                        s.push_str(", \"no_local\": true");
                    }
                    if chance(&mut rng, 20) {
                        s.push_str(", \"retain_as_published\": true");
                    }
                    if chance(&mut rng, 25) {
                        s.push_str(&format!(", \"retain_handling\": {}", rng.range_u64(1, 2)));
                    }
                    if chance(&mut rng, 30) {
                        s.push_str(&format!(", \"subscription_id\": {}", rng.range_u64(1, 5)));
                    }
                }
                s.push_str("}}");
                s
            }
            3 => format!(
                "{{\"unsubscribe\": {{\"client\": \"{name}\", \"filter\": \"{}\"}}}}",
                pick(&mut rng, &FILTERS)
            ),
            4..=6 => {
                n += 1;
                let t = pick(&mut rng, &TOPICS);
                let mut s = format!(
                    "{{\"publish\": {{\"client\": \"{name}\", \"topic\": \"{t}\", \"payload\": \"p{n}\", \"qos\": {q}, \"retain\": {}",
                    chance(&mut rng, 20)
                );
                if v5[c] && chance(&mut rng, 20) {
                    s.push_str(", \"message_expiry\": 60");
                }
                s.push_str("}}");
                s
            }
            7 => {
                if v5[c] && chance(&mut rng, 25) {
                    format!("{{\"disconnect\": {{\"client\": \"{name}\", \"reason\": 4}}}}")
                } else {
                    format!("{{\"disconnect\": {{\"client\": \"{name}\"}}}}")
                }
            }
            8 => format!("{{\"drop\": {{\"client\": \"{name}\"}}}}"),
            _ => {
                if chance(&mut rng, 50) {
                    "{\"wait\": \"300ms\"}".to_string()
                } else {
                    format!(
                        "{{\"withhold_acks\": {{\"client\": \"{name}\", \"on\": {}}}}}",
                        chance(&mut rng, 50)
                    )
                }
            }
        };
        steps.push(step);
    }
    format!(
        "{{\n  \"format\": 1,\n  \"id\": \"random-{seed}\",\n  \"title\": \"Random scenario {seed}\",\n  \"version\": \"5.0\",\n  \"broker\": \"mosquitto-2.0.11\",\n  \"seed\": {seed},\n  \"clients\": [{}],\n  \"steps\": [\n    {}\n  ]\n}}\n",
        clients.join(", "),
        steps.join(",\n    ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_engine::Player;

    #[test]
    fn random_scenarios_are_valid_and_deterministic() {
        for seed in 0..300 {
            let text = scenario(seed);
            assert_eq!(text, scenario(seed));
            if let Err(e) = Player::from_json(&text) {
                panic!("seed {seed}: {e}\n{text}");
            }
        }
    }
}
