//! A structured scenario generator (issue 14, item 7): valid and near-valid scenario files with
//! extreme values (every duration, count and limit at 0, 1, its maximum and just beyond; keep
//! alive 1 s with year-long waits; reconnects without delay; tens of thousands of messages).
//! Every file either plays within the limits or ends in a sentence, never a panic; a run that
//! plays adds no more trace entries than its limit. Fixed seed and case count; small limits keep
//! each case short in a debug build. Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use session_engine::budget::Limits;
use session_engine::{Player, Scenario};

/// Cases per run of `generated_scenarios_end_in_a_result_or_a_sentence`.
const CASES: u32 = 400;

/// Limits small enough that the largest case stops in a fraction of a second in debug.
fn limits() -> Limits {
    let mut l = Limits::default();
    for s in [
        "events=20000",
        "step_events=20000",
        "packets=20000",
        "timers=20000",
        "held=20000",
        "kept=200000",
    ] {
        l.set(s).expect("a known limit");
    }
    l
}

fn pick<T: Clone + std::fmt::Debug + 'static>(values: &[T]) -> impl Strategy<Value = T> {
    proptest::sample::select(values.to_vec())
}

/// Mostly values at the edges of the valid range, sometimes one just beyond it (a near-valid
/// file, which must be refused with a sentence).
fn edge<T: Clone + std::fmt::Debug + 'static>(
    valid: &[T],
    beyond: &[T],
) -> impl Strategy<Value = T> {
    prop_oneof![12 => pick(valid), 1 => pick(beyond)]
}

fn duration() -> impl Strategy<Value = &'static str> {
    edge(
        &[
            "0", "\"0ms\"", "\"1ms\"", "1", "60", "\"1h\"", "\"1d\"", "\"366d\"",
        ],
        &["\"367d\"", "-1", "1e30"],
    )
}

fn seconds() -> impl Strategy<Value = &'static str> {
    edge(&["0.001", "1", "60", "86400"], &["0", "0.0001", "86401"])
}

fn client() -> impl Strategy<Value = String> {
    (
        edge(&[None, Some(1u32), Some(2), Some(50)], &[Some(0)]),
        edge(&[None, Some("0"), Some("1"), Some("4294967295")], &[Some("4294967296")]),
        proptest::option::of((seconds(), edge(&["1", "2", "100"], &["101"]), seconds(), pick(&["none", "full", "equal", "decorrelated", "add_up_to_50_percent"]))),
    )
        .prop_map(|(count, buffer, reconnect)| {
            let mut s = String::new();
            if let Some(n) = count {
                s.push_str(&format!(", \"count\": {n}"));
            }
            if let Some(b) = buffer {
                s.push_str(&format!(", \"buffer\": {b}"));
            }
            if let Some((i, m, x, j)) = reconnect {
                s.push_str(&format!(
                    ", \"auto_reconnect\": {{\"initial\": {i}, \"multiplier\": {m}, \"max\": {x}, \"jitter\": \"{j}\"}}"
                ));
            }
            s
        })
}

fn step(clients: usize) -> impl Strategy<Value = String> {
    let who = (0..clients).prop_map(|i| format!("c{i}"));
    prop_oneof![
        (who.clone(), edge(&[0u32, 1, 60, 65535], &[65536]), any::<bool>(), edge(&["0", "1", "\"never\""], &["4294967296"]))
            .prop_map(|(c, ka, clean, e)| format!(r#"{{"connect": {{"client": "{c}", "keep_alive": {ka}, "clean_start": {clean}, "session_expiry": {e}}}}}"#)),
        (who.clone(), edge(&[0u8, 1, 2], &[3])).prop_map(|(c, q)| format!(r#"{{"subscribe": {{"client": "{c}", "filter": "t/#", "qos": {q}}}}}"#)),
        (who.clone(), edge(&[1u32, 2, 1000, 65535, 65536, 100000], &[0, 100001]), 0u8..=2)
            .prop_map(|(c, n, q)| format!(r#"{{"publish": {{"client": "{c}", "topic": "t/x", "payload": "m{{n}}", "qos": {q}, "count": {n}}}}}"#)),
        who.clone().prop_map(|c| format!(r#"{{"disconnect": {{"client": "{c}"}}}}"#)),
        who.clone().prop_map(|c| format!(r#"{{"drop": {{"client": "{c}"}}}}"#)),
        who.clone().prop_map(|c| format!(r#"{{"cut": {{"client": "{c}"}}}}"#)),
        (who.clone(), edge(&[1u32, 1000], &[0, 1001])).prop_map(|(c, n)| format!(r#"{{"lose_next": {{"client": "{c}", "direction": "to_client", "count": {n}}}}}"#)),
        (who, any::<bool>()).prop_map(|(c, on)| format!(r#"{{"withhold_acks": {{"client": "{c}", "on": {on}}}}}"#)),
        duration().prop_map(|d| format!(r#"{{"wait": {d}}}"#)),
        Just(r#"{"stop_broker": {}}"#.to_string()),
        Just(r#"{"start_broker": {}}"#.to_string()),
        duration().prop_map(|d| format!(r#"{{"restart_broker": {{"downtime": {d}}}}}"#)),
    ]
}

fn scenario() -> impl Strategy<Value = String> {
    (1usize..=3)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(client(), n),
                proptest::collection::vec(step(n), 1..10),
                pick(&[
                    "\"spec\"",
                    "\"mosquitto-2.0.11\"",
                    "\"emqx\"",
                    "{\"profile\": \"spec\", \"max_queued_messages\": 1}",
                    "{\"profile\": \"mosquitto-2.0.11\", \"max_queued_messages\": 0}",
                ]),
                pick(&["3.1.1", "5.0"]),
            )
        })
        .prop_map(|(clients, steps, broker, version)| {
            let clients: Vec<String> = clients
                .iter()
                .enumerate()
                .map(|(i, extra)| format!(r#"{{"name": "c{i}"{extra}}}"#))
                .collect();
            let mut steps = steps.join(",\n    ");
            if version == "3.1.1" {
                // Session Expiry exists only in 5.0: leave it out of 3.1.1 connects.
                while let Some(at) = steps.find(", \"session_expiry\": ") {
                    let end = at + steps[at..].find('}').unwrap_or(0);
                    steps.replace_range(at..end, "");
                }
            }
            format!(
                r#"{{"format": 1, "id": "fuzz", "title": "fuzz", "version": "{version}", "broker": {broker},
  "clients": [{}],
  "steps": [{}]}}"#,
                clients.join(", "),
                steps
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        rng_seed: RngSeed::Fixed(14),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_scenarios_end_in_a_result_or_a_sentence(text in scenario()) {
        let l = limits();
        match Scenario::read_bytes(text.as_bytes()) {
            Err(e) => prop_assert!(!e.message.is_empty(), "an empty refusal of {text}"),
            Ok(sc) => match Player::with_limits(sc, l) {
                Ok(p) => {
                    prop_assert!(p.trace().len() as u64 <= l.events, "{} entries: {text}", p.trace().len());
                    let m = &p.at(p.len() - 1).world.meter;
                    prop_assert!(m.packets <= l.packets && m.timers <= l.timers && m.kept <= l.kept);
                }
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    // A stop while playing names its step.
                    if e.message.contains("--limit") {
                        prop_assert!(e.path.as_deref().is_some_and(|p| p.starts_with("steps[")), "{e}");
                    }
                }
            },
        }
    }
}
