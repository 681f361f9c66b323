//! The command-line tool as a course author uses it.

use std::process::Command;

fn lab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mqtt-lab"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn list_shows_the_built_in_library() {
    let (code, out, _) = lab(&["list"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() >= 15);
    assert!(out.contains("takeover-v5"));
}

#[test]
fn check_reports_line_and_column_of_a_bad_file() {
    let dir = std::env::temp_dir().join(format!("mqtt-lab-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\n  \"format\": 1,\n  \"id\": \"x\",\n  \"title\": \"x\",\n  \"version\": \"5.0\",\n  \"clients\": [{\"name\": \"a\"}],\n  \"steps\": [\n    {\"publish\": {\"client\": \"a\", \"topic\": \"t\", \"qos\": 3}}\n  ]\n}\n").unwrap();
    let (code, _, err) = lab(&["check", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 8"), "{err}");
    assert!(err.contains("QoS must be 0, 1 or 2"), "{err}");
    let (code, _, err) = lab(&["check", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not a built-in scenario id and not a readable file"),
        "{err}"
    );
}

#[test]
fn run_json_follows_the_trace_schema() {
    let (code, out, _) = lab(&["run", "--json", "takeover-v5"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["schema"], "mqtt-session-lab/trace@1");
    for l in &lines {
        assert!(
            l["type"].is_string() && l["step"].is_u64() && l["t_ms"].is_u64(),
            "{l}"
        );
    }
    let connacks: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["type"] == "connack" && l["client"] == "gateway-new")
        .collect();
    assert_eq!(connacks[0]["session_present"], true);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "disconnect" && l["client"] == "gateway-old" && l["by"] == "broker"));
}

#[test]
fn run_text_is_readable_and_cites_rules() {
    let (code, out, _) = lab(&["run", "session-expiry-v5"]);
    assert_eq!(code, 0);
    assert!(out.contains("[MQTT-4.1.0-2] 5.0"));
    assert!(out.contains("Session Present = 0"));
}

#[test]
fn run_plays_a_file_on_another_broker_and_checks_its_claims() {
    let (code, spec, _) = lab(&["run", "takeover-311"]);
    assert_eq!(code, 0);
    assert!(spec.contains("broker: MQTT specification"), "{spec}");
    let (code, mosq, _) = lab(&["run", "--broker", "mosquitto-2.0.11", "takeover-311"]);
    assert_eq!(code, 0);
    assert!(mosq.contains("broker: mosquitto 2.0.11"), "{mosq}");
    assert_ne!(spec, mosq);
    let (code, _, err) = lab(&["run", "--broker", "nope", "takeover-311"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown broker profile \"nope\""), "{err}");
    let (code, _, err) = lab(&["run", "takeover-311", "--broker"]);
    assert_eq!(code, 2);
    assert!(err.contains("--broker needs a value"), "{err}");
}

#[test]
fn unknown_commands_print_usage() {
    let (code, _, err) = lab(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("USAGE"));
}

#[test]
fn profiles_list_each_brokers_departures_before_anything_runs() {
    let (code, out, _) = lab(&["profiles"]);
    assert_eq!(code, 0);
    let mosquitto = out
        .split("\n\n")
        .find(|b| b.starts_with("mosquitto 2.0.11"))
        .expect("a mosquitto block");
    for line in [
        "Departs from the specification:",
        "takeover_will = only_if_session_ends",
        "delayed_wills = one_list_by_interval",
        "overlap_v311 = one_copy_first_matched  ([MQTT-3.3.5-1] 3.1.1; [MQTT-3.3.4-2] 5.0)",
        "Chooses where the specification leaves it open:",
    ] {
        assert!(mosquitto.contains(line), "{line} in:\n{mosquitto}");
    }
    let spec = out.split("\n\n").next().expect("a spec block");
    assert!(spec.starts_with("MQTT specification (strict)  (spec)"));
    assert!(!spec.contains("Departs"), "{spec}");
}

#[test]
fn docs_divergences_is_generated_from_the_catalogue_and_current() {
    let (code, out, _) = lab(&["profiles", "--markdown"]);
    assert_eq!(code, 0);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DIVERGENCES.md");
    let committed = std::fs::read_to_string(path).expect("docs/DIVERGENCES.md");
    assert!(
        committed == out,
        "docs/DIVERGENCES.md is stale: run `cargo run -p mqtt-lab -- profiles --markdown > docs/DIVERGENCES.md`"
    );
    let (code, _, err) = lab(&["profiles", "--html"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option --html"), "{err}");
}

#[test]
fn codec_filters_sample_and_judge_bytes() {
    use std::io::Write;
    let (code, out, _) = lab(&["codec", "samples", "3", "28"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 28, "two of each of the 14 packet types");
    let types: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["packet"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 14);
    // The same seed, the same packets.
    assert_eq!(lab(&["codec", "samples", "3", "28"]).1, out);

    let mut child = Command::new(env!("CARGO_BIN_EXE_mqtt-lab"))
        .args(["codec", "decode"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"version\":\"5.0\",\"hex\":\"E000\"}\n\
              {\"version\":\"3.1.1\",\"hex\":\"9002 0001\"}\n\
              {\"version\":\"5.0\",\"hex\":\"30\"}\n\
              not json\n\
              {\"version\":\"5.0\",\"hex\":\"zz\"}\n",
        )
        .unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let v: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v[0]["packet"]["type"], "DISCONNECT");
    assert_eq!(v[1]["kind"], "NoReasonCodes");
    assert_eq!(v[1]["statement"], "[MQTT-3.8.4-5]");
    assert_eq!(v[2]["incomplete"], true);
    assert!(v[3]["input_error"].is_string());
    assert!(v[4]["input_error"].is_string());
}

#[test]
fn docs_statements_is_generated_from_the_catalogue_and_current() {
    let (code, out, _) = lab(&["statements", "--markdown"]);
    assert_eq!(code, 0);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/STATEMENTS.md");
    let committed = std::fs::read_to_string(path).expect("docs/STATEMENTS.md");
    assert!(
        committed == out,
        "docs/STATEMENTS.md is stale: run `cargo run -p mqtt-lab -- statements --markdown > docs/STATEMENTS.md`"
    );
    let (code, text, _) = lab(&["statements"]);
    assert_eq!(code, 0);
    assert!(text.contains("MQTT 3.1.1\n") && text.contains("MQTT 5.0\n"));
}

/// A scratch file in a directory of this test process.
fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mqtt-lab-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const YEAR_OF_PINGS: &str = r#"{"format": 1, "id": "ka", "title": "ka", "version": "5.0",
  "clients": [{"name": "a"}],
  "steps": [{"connect": {"client": "a", "keep_alive": 1}}, {"wait": "366d"}]}"#;

#[test]
fn a_run_past_a_limit_names_the_step_and_exits_3_and_the_limit_can_be_raised() {
    let f = scratch("ka.json", YEAR_OF_PINGS.as_bytes());
    let f = f.to_str().unwrap();
    for cmd in ["check", "run"] {
        let (code, out, err) = lab(&[cmd, f]);
        assert_eq!(code, 3, "{cmd}: {err}");
        assert!(out.is_empty(), "{cmd}: {out}");
        assert!(
            err.contains("steps[1]: keep-alive pings every 1 s")
                && err.contains("--limit packets=N"),
            "{err}"
        );
    }
    let (code, _, err) = lab(&["run", "--json", f]);
    assert_eq!(code, 3, "{err}");
    // Raising the estimated limit leaves the running count: it stops at the next limit.
    let (code, _, err) = lab(&["check", "--limit", "packets=none", f]);
    assert_eq!(code, 3);
    assert!(err.contains("timers"), "{err}");
    let (code, _, err) = lab(&["check", "--limit", "packts=1", f]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown limit \"packts\""), "{err}");
    let short = scratch("short.json", YEAR_OF_PINGS.replace("366d", "1h").as_bytes());
    let (code, out, _) = lab(&["check", "--limit", "packets=100", short.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    let (code, out, _) = lab(&["check", "--no-limits", short.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("ok (2 steps)"), "{out}");
}

#[test]
fn the_help_lists_every_limit_with_its_default() {
    let (_, out, _) = lab(&["--help"]);
    let d = session_engine::budget::Limits::default();
    for (name, _) in session_engine::budget::NAMES {
        let line = format!("{name}={}", d.get(name).unwrap());
        assert!(out.contains(&line), "help lacks {line}");
    }
}

#[test]
fn files_are_read_as_utf8_with_an_optional_byte_order_mark() {
    let ok = YEAR_OF_PINGS.replace("366d", "10s");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(ok.as_bytes());
    let (code, out, err) = lab(&["check", scratch("bom.json", &bom).to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (2 steps)"));
    let mut utf16 = vec![0xFF, 0xFE];
    for u in ok.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let (code, _, err) = lab(&["check", scratch("u16.json", &utf16).to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("UTF-16"), "{err}");
    let (code, _, err) = lab(&[
        "run",
        "--json",
        scratch("u16b.json", &utf16[2..]).to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("NUL byte") && err.contains("UTF-16"), "{err}");
    let latin1 = ok.replace("\"ka\", \"version\"", "\"caf\u{e9}\", \"version\"");
    let latin1: Vec<u8> = latin1.chars().map(|c| c as u32 as u8).collect();
    let (code, _, err) = lab(&["check", scratch("latin1.json", &latin1).to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the byte E9 at byte offset") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn run_json_streams_into_a_closed_pipe_without_an_error() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqtt-lab"))
        .args(["run", "--json", "takeover-v5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is closed now; the rest of the trace meets a broken pipe.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.code().is_some(), "no abort: {status:?}");
    assert!(!err.contains("panicked"), "{err}");
}
