//! The limits of a run (`session_engine::budget`): every reported case of issue 14 ends in a
//! result or a sentence naming the step and the cause, never a panic, an abort or unbounded time;
//! and every file the project ships plays well inside the default limits.
use session_engine::budget::{self, Limits};
use session_engine::{Player, Scenario};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn scenario(clients: &str, steps: &str) -> String {
    format!(
        r#"{{"format": 1, "id": "b", "title": "b", "version": "5.0",
        "clients": [{clients}], "steps": [{steps}]}}"#
    )
}

fn refused(text: &str) -> session_engine::ScenarioError {
    match Player::from_json(text) {
        Ok(p) => panic!("played {} steps, {} entries", p.len(), p.trace().len()),
        Err(e) => e,
    }
}

#[test]
fn a_year_of_one_second_keep_alive_is_refused_before_it_plays() {
    let text = scenario(
        r#"{"name": "a"}"#,
        r#"{"connect": {"client": "a", "keep_alive": 1}}, {"wait": "366d"}"#,
    );
    let e = refused(&text);
    assert_eq!(e.path.as_deref(), Some("steps[1]"));
    assert!(
        e.message.contains("keep-alive pings every 1 s for 366d")
            && e.message.contains("63.2 million packets")
            && e.message.contains("the limit is 2,000,000 packets per run"),
        "{e}"
    );
}

#[test]
fn a_year_of_sixty_second_keep_alive_still_plays() {
    let text = scenario(
        r#"{"name": "a"}"#,
        r#"{"connect": {"client": "a", "keep_alive": 60}}, {"wait": "366d"}"#,
    );
    let p = Player::from_json(&text).expect("plays");
    assert!(p.trace().len() > 1_000_000);
}

#[test]
fn zero_delay_reconnects_are_refused_by_the_validator() {
    for backoff in [
        r#"{"initial": 0, "multiplier": 1, "max": 0}"#,
        r#"{"initial": 0, "multiplier": 2, "max": 60}"#,
        r#"{"initial": 1, "multiplier": 2, "max": 0}"#,
        r#"{"initial": 0.0001, "max": 60}"#,
    ] {
        let text = scenario(
            &format!(r#"{{"name": "a", "auto_reconnect": {backoff}}}"#),
            r#"{"stop_broker": {}}, {"connect": {"client": "a"}}, {"wait": 1}"#,
        );
        let e = Scenario::from_json(&text).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("clients[0]"), "{backoff}");
        assert!(e.message.contains("no delay"), "{backoff}: {e}");
    }
}

#[test]
fn a_year_of_reconnect_attempts_against_a_stopped_broker_is_refused() {
    let text = scenario(
        r#"{"name": "a", "auto_reconnect": {"initial": 1, "multiplier": 1, "max": 1}}"#,
        r#"{"stop_broker": {}}, {"connect": {"client": "a"}}, {"wait": "366d"}"#,
    );
    let e = refused(&text);
    assert_eq!(e.path.as_deref(), Some("steps[2]"));
    assert!(
        e.message
            .contains("reconnect attempts of a client while the broker is down")
            && e.message.contains("31.6 million timer firings")
            && e.message.contains("limit is 2,000,000 timer firings"),
        "{e}"
    );
}

#[test]
fn a_day_of_reconnect_attempts_with_jitter_is_stopped_while_playing_if_the_estimate_misses() {
    // Raise the timers limit past the estimate so only the running count can stop it.
    let text = scenario(
        r#"{"name": "a", "auto_reconnect": {"initial": 0.01, "multiplier": 1, "max": 0.01, "jitter": "full"}}"#,
        r#"{"stop_broker": {}}, {"connect": {"client": "a"}}, {"wait": "1d"}"#,
    );
    let mut l = Limits::default();
    l.set("timers=none").unwrap();
    l.set("events=300000").unwrap();
    let e = Player::with_limits(Scenario::from_json(&text).unwrap(), l).unwrap_err();
    assert_eq!(e.path.as_deref(), Some("steps[2]"));
    assert!(
        e.message.contains("after more than 300,000 trace entries"),
        "{e}"
    );
}

#[test]
fn a_hundred_clients_pinging_every_second_for_a_day_are_refused() {
    let text = scenario(
        r#"{"name": "c", "count": 100}"#,
        r#"{"connect": {"client": "c", "keep_alive": 1}}, {"wait": "1d"}"#,
    );
    let e = refused(&text);
    assert!(e.message.contains("keep-alive pings of 100 clients"), "{e}");
}

#[test]
fn a_fan_out_of_a_billion_copies_is_refused_before_it_plays() {
    let text = scenario(
        r#"{"name": "c", "count": 9999}, {"name": "p"}"#,
        r#"{"connect": {"client": "c"}}, {"subscribe": {"client": "c", "filter": "t"}},
           {"connect": {"client": "p"}},
           {"publish": {"client": "p", "topic": "t", "count": 100000}}"#,
    );
    let e = refused(&text);
    assert_eq!(e.path.as_deref(), Some("steps[3]"));
    assert!(
        e.message
            .contains("100,000 messages to t with 9999 matching subscription(s)"),
        "{e}"
    );
}

#[test]
fn every_shipped_file_plays_far_inside_the_default_limits() {
    let mut files = Vec::new();
    for dir in [
        "scenarios",
        "../docs/examples",
        "../tests/conformance",
        "../tests/observed",
    ] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue; // wasm32 has no file system: the native run checks it.
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    let l = Limits::default();
    let mut worst = (0.0f64, String::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let p = Player::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let m = &p.at(p.len() - 1).world.meter;
        for (n, limit) in [
            (m.events, l.events),
            (m.packets, l.packets),
            (m.timers, l.timers),
            (m.kept, l.kept),
        ] {
            let share = n as f64 / limit as f64;
            if share > worst.0 {
                worst = (share, f.display().to_string());
            }
        }
        let held = p
            .steps()
            .iter()
            .map(|s| budget::held(&s.world))
            .max()
            .unwrap_or(0);
        assert!(held * 100 < l.held, "{}", f.display());
    }
    assert!(
        files.is_empty() || files.len() > 100,
        "{} files",
        files.len()
    );
    eprintln!(
        "largest share of a limit: {:.3} % ({})",
        worst.0 * 100.0,
        worst.1
    );
    assert!(
        worst.0 < 0.01,
        "{} uses {:.2} % of a limit",
        worst.1,
        worst.0 * 100.0
    );
}

#[test]
fn ten_thousand_clients_over_seven_hundred_steps_are_refused_before_they_fill_memory() {
    let steps: Vec<String> = (0..700)
        .map(|i| format!(r#"{{"say": "s{i}", "wait": "1s"}}"#))
        .collect();
    let text = scenario(
        r#"{"name": "c", "count": 10000}"#,
        &format!(r#"{{"connect": {{"client": "c"}}}}, {}"#, steps.join(", ")),
    );
    let e = Scenario::from_json(&text).unwrap_err();
    assert!(
        e.message
            .contains("10000 clients over 701 steps is 7,020,000 client-steps")
            && e.message.contains("at most 1,000,000 fit"),
        "{e}"
    );
    // 1,000 clients over 999 steps is the most that fits.
    let steps: Vec<String> = (0..999).map(|_| r#"{"wait": "1s"}"#.to_string()).collect();
    let text = scenario(r#"{"name": "c", "count": 1000}"#, &steps.join(", "));
    assert!(Scenario::from_json(&text).is_ok());
}
