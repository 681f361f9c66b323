//! The engine against what a real mosquitto 2.0.11's clients observed: every recording made by
//! `mqtt-lab conformance live --write` (tests/conformance/*.observed.jsonl, tests/observed/) is
//! compared with the engine's prediction for the mosquitto-2.0.11 profile, as packet structures,
//! with the tolerances of `session_engine::observed`. No broker, no clock: milliseconds, natively
//! and on wasm32.
use session_engine::observed::{self, Verdict};
use session_engine::{library, Player, Scenario as Sc};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Where a recorded scenario comes from.
pub enum Scenario {
    /// A built-in scenario, by id.
    Builtin(&'static str),
    /// A scenario file's text.
    File(&'static str),
}

/// One recording and its scenario.
pub struct Fixture {
    pub name: &'static str,
    pub scenario: Scenario,
    pub observed: &'static str,
}

#[rustfmt::skip]
#[path = "observed/index.rs"]
mod index;
use index::FIXTURES;

fn player(f: &Fixture) -> Player {
    let text = match f.scenario {
        Scenario::Builtin(id) => library::text_by_id(id).expect("a built-in scenario"),
        Scenario::File(t) => t,
    };
    let mut sc = Sc::from_json(text).expect("the scenario parses");
    sc.broker.profile = "mosquitto-2.0.11".into();
    Player::new(sc).expect("the scenario plays")
}

#[test]
fn the_engine_predicts_what_mosquitto_s_clients_observed() {
    assert!(FIXTURES.len() >= 100, "only {} recordings", FIXTURES.len());
    let mut failures = Vec::new();
    for f in FIXTURES {
        let p = player(f);
        let rec = observed::parse(f.observed, &p).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert!(
            rec.broker.contains("2.0.11"),
            "{}: recorded with {}",
            f.name,
            rec.broker
        );
        let c = observed::compare(&observed::predicted(&p), &rec.seen, &p.client_names());
        if c.verdict != Verdict::Same {
            failures.push(format!("{} ({:?}):\n{}", f.name, c.verdict, c.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every recording on disk is in the index, and every conformance scenario has one.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_recording_is_in_the_index() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut on_disk = Vec::new();
    for dir in ["tests/conformance", "tests/observed"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".observed.jsonl") {
                on_disk.push(format!("{dir}/{name}"));
            }
            if dir == "tests/conformance" && name.ends_with(".json") {
                let rec = name.replace(".json", ".observed.jsonl");
                assert!(
                    root.join(dir).join(&rec).exists(),
                    "{dir}/{name} has no recording: run bash tests/verify.sh --write"
                );
            }
        }
    }
    let index = std::fs::read_to_string(root.join("engine/tests/observed/index.rs")).unwrap();
    for f in on_disk {
        assert!(
            index.contains(&format!("\"../../../{f}\"")),
            "{f} is not in engine/tests/observed/index.rs: run `cargo run -p mqtt-lab -- conformance report --write`"
        );
    }
}
