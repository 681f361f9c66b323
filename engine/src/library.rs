//! The built-in scenario library (files in `engine/scenarios/`, compiled in).

use crate::scenario::Scenario;

/// (file name, JSON text) of every built-in scenario, in teaching order.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "01-clean-vs-persistent.json",
        include_str!("../scenarios/01-clean-vs-persistent.json"),
    ),
    (
        "02-session-present-resubscribe.json",
        include_str!("../scenarios/02-session-present-resubscribe.json"),
    ),
    (
        "03-qos0-lost-offline.json",
        include_str!("../scenarios/03-qos0-lost-offline.json"),
    ),
    (
        "04-qos-downgrade.json",
        include_str!("../scenarios/04-qos-downgrade.json"),
    ),
    (
        "05-takeover-311.json",
        include_str!("../scenarios/05-takeover-311.json"),
    ),
    (
        "06-takeover-v5.json",
        include_str!("../scenarios/06-takeover-v5.json"),
    ),
    (
        "07-random-client-ids.json",
        include_str!("../scenarios/07-random-client-ids.json"),
    ),
    (
        "08-session-expiry-v5.json",
        include_str!("../scenarios/08-session-expiry-v5.json"),
    ),
    (
        "09-expiry-changed-at-disconnect.json",
        include_str!("../scenarios/09-expiry-changed-at-disconnect.json"),
    ),
    (
        "10-message-expiry-queued.json",
        include_str!("../scenarios/10-message-expiry-queued.json"),
    ),
    (
        "11-queue-overflow.json",
        include_str!("../scenarios/11-queue-overflow.json"),
    ),
    (
        "12-will-delay-vs-expiry.json",
        include_str!("../scenarios/12-will-delay-vs-expiry.json"),
    ),
    (
        "13-keepalive-will.json",
        include_str!("../scenarios/13-keepalive-will.json"),
    ),
    (
        "14-qos1-redelivered-dup.json",
        include_str!("../scenarios/14-qos1-redelivered-dup.json"),
    ),
    (
        "15-qos2-interrupted.json",
        include_str!("../scenarios/15-qos2-interrupted.json"),
    ),
    (
        "16-publisher-buffer.json",
        include_str!("../scenarios/16-publisher-buffer.json"),
    ),
    (
        "17-reconnect-storm.json",
        include_str!("../scenarios/17-reconnect-storm.json"),
    ),
    (
        "18-sleepy-sensor.json",
        include_str!("../scenarios/18-sleepy-sensor.json"),
    ),
    (
        "19-broker-restart-persistence.json",
        include_str!("../scenarios/19-broker-restart-persistence.json"),
    ),
    (
        "20-clean-vs-persistent-v5.json",
        include_str!("../scenarios/20-clean-vs-persistent-v5.json"),
    ),
    (
        "21-keepalive-will-v5.json",
        include_str!("../scenarios/21-keepalive-will-v5.json"),
    ),
    (
        "22-qos1-redelivered-dup-311.json",
        include_str!("../scenarios/22-qos1-redelivered-dup-311.json"),
    ),
];

/// Built-in scenarios whose run on the mosquitto-2.0.11 profile matches a real mosquitto 2.0.11
/// (written by `mqtt-lab conformance report --write` from the recordings; a test fails when it is
/// out of date).
pub const VERIFIED: &str = include_str!("../scenarios/verified.txt");

/// True if built-in scenario `id` is listed in `VERIFIED`.
pub fn verified_against_mosquitto(id: &str) -> bool {
    VERIFIED.lines().any(|l| l.trim() == id)
}

/// Every built-in scenario, parsed. The files are tested to parse, so this does not fail.
pub fn all() -> Vec<Scenario> {
    BUILT_IN
        .iter()
        .filter_map(|(_, text)| Scenario::from_json(text).ok())
        .collect()
}

/// The built-in scenario with this id, parsed, if any.
pub fn by_id(id: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.id == id)
}

/// The file text of the built-in scenario with this id, if any.
pub fn text_by_id(id: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(_, t)| Scenario::from_json(t).is_ok_and(|s| s.id == id))
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Player;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_built_in_scenario_parses_and_plays() {
        let mut ids = std::collections::BTreeSet::new();
        for (file, text) in BUILT_IN {
            let s = Scenario::from_json(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(ids.insert(s.id.clone()), "{file}: duplicate id {}", s.id);
            assert!(!s.summary.is_empty(), "{file}: needs a summary");
            Player::new(s).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        assert!(BUILT_IN.len() >= 15);
    }

    #[test]
    fn verified_scenarios_are_built_in() {
        for id in VERIFIED.lines() {
            assert!(
                by_id(id.trim()).is_some(),
                "verified.txt names {id}, which is not built in"
            );
        }
        assert!(verified_against_mosquitto("takeover-v5"));
        assert!(!verified_against_mosquitto("takeover"));
    }

    #[test]
    fn version_pairs_point_at_each_other() {
        let all = all();
        let mut pairs = 0;
        for s in &all {
            let Some(other) = &s.other_version else {
                continue;
            };
            let o = all
                .iter()
                .find(|o| &o.id == other)
                .unwrap_or_else(|| panic!("{}: other_version {other} is not built in", s.id));
            assert_ne!(s.version, o.version, "{} and {other}: same version", s.id);
            assert_eq!(
                o.other_version.as_deref(),
                Some(s.id.as_str()),
                "{other} must point back to {}",
                s.id
            );
            assert_eq!(
                s.topic, o.topic,
                "{} and {other}: one lesson, one topic",
                s.id
            );
            pairs += 1;
        }
        assert!(pairs >= 8, "at least four lessons in both versions");
    }

    /// The scenario `s` as the page's broker picker plays it on `profile`: the profile changes,
    /// the scenario's overrides stay.
    fn on_profile(s: &Scenario, profile: &str) -> Player {
        let mut s = s.clone();
        s.broker.profile = profile.to_string();
        Player::new(s).unwrap_or_else(|e| panic!("on {profile}: {e}"))
    }

    #[test]
    fn every_claim_holds_on_every_profile_it_is_written_for() {
        let mut failures = Vec::new();
        let mut checked = 0;
        for s in all() {
            for profile in crate::BrokerProfile::all() {
                let p = on_profile(&s, &profile.id);
                for i in 1..p.len() {
                    for c in p.claims(i) {
                        if !c.applies {
                            continue;
                        }
                        checked += 1;
                        if !c.holds {
                            failures.push(format!(
                                "{} step {i} on {}: {:?} does not hold: {}",
                                s.id, profile.id, c.claim, c.outcome
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(
            checked > 100,
            "the built-ins carry claims ({checked} checked)"
        );
    }

    #[test]
    fn a_claim_written_for_some_profiles_is_needed_there() {
        // A claim marked with profiles must not also hold on every other profile: then it
        // should not be marked, and its author sentence belongs in the narration.
        let profiles = crate::BrokerProfile::all();
        for s in all() {
            let players: Vec<Player> = profiles.iter().map(|p| on_profile(&s, &p.id)).collect();
            for (n, step) in s.steps.iter().enumerate() {
                for (k, c) in step.claims.iter().enumerate() {
                    if c.profiles.is_none() {
                        continue;
                    }
                    let everywhere = players.iter().all(|p| p.claims(n + 1)[k].holds);
                    assert!(
                        !everywhere,
                        "{} step {}: {:?} holds on every profile; drop its \"profiles\"",
                        s.id,
                        n + 1,
                        c.claim
                    );
                }
            }
        }
    }

    #[test]
    fn both_files_of_a_pair_name_the_same_moments_in_the_same_order() {
        let all = all();
        for s in &all {
            let Some(other) = &s.other_version else {
                continue;
            };
            let o = all.iter().find(|o| &o.id == other).unwrap();
            let names = |x: &Scenario| -> Vec<String> {
                x.moments()
                    .into_iter()
                    .map(|(_, m)| m.to_string())
                    .collect()
            };
            assert!(
                names(s).len() >= 2,
                "{}: a paired lesson names its decisive moments",
                s.id
            );
            assert_eq!(names(s), names(o), "{} and {other}", s.id);
            // Every step of one file lands, through its moment, on the same moment of the other.
            for i in 1..=s.steps.len() {
                if let Some(j) = s.corresponding_step(i, o) {
                    assert_eq!(s.moment_at(i), o.moment_at(j), "{} step {i}", s.id);
                }
            }
        }
    }

    #[test]
    fn every_built_in_scenario_survives_a_save_and_load() {
        for (file, text) in BUILT_IN {
            let s = Scenario::from_json(text).unwrap();
            let saved = s.to_json();
            let again =
                Scenario::from_json(&saved).unwrap_or_else(|e| panic!("{file}: {e}\n{saved}"));
            assert_eq!(again.to_json(), saved, "{file}");
            let (a, b) = (Player::new(s).unwrap(), Player::new(again).unwrap());
            assert_eq!(
                crate::trace::json_lines(&a),
                crate::trace::json_lines(&b),
                "{file}: same trace after the round trip"
            );
        }
    }
}
