//! What a scenario file may not say (issue 14): a null character anywhere in a filter, strings
//! longer than MQTT can carry, a key given twice, an object written as a positional array, and
//! integers wider than both the native and the wasm32 reader take. Each refusal has a sentence
//! and, where serde knows it, a line and column.
use session_engine::{Scenario, ScenarioError};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn file(version: &str, clients: &str, steps: &str) -> String {
    format!(
        r#"{{"format": 1, "id": "v", "title": "v", "version": "{version}",
  "clients": [{clients}],
  "steps": [{{"connect": {{"client": "a"}}}}{steps}]}}"#
    )
}

fn refused(text: &str) -> ScenarioError {
    Scenario::from_json(text).expect_err("refused")
}

#[test]
fn a_null_character_in_a_shared_subscriptions_share_name_is_refused() {
    let e = refused(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"subscribe": {"client": "a", "filter": "$share/g\u0000/t"}}"#,
    ));
    assert!(e.message.contains("null character [MQTT-4.7.3-2]"), "{e}");
    let e = refused(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"unsubscribe": {"client": "a", "filter": "$share/g\u0000/t"}}"#,
    ));
    assert!(e.message.contains("null character"), "{e}");
}

#[test]
fn topic_names_filters_and_client_ids_over_65535_bytes_are_refused() {
    let long = "t".repeat(65_536);
    for (step, what) in [
        (
            format!(r#", {{"publish": {{"client": "a", "topic": "{long}"}}}}"#),
            "topic name",
        ),
        (
            format!(r#", {{"subscribe": {{"client": "a", "filter": "{long}"}}}}"#),
            "topic filter",
        ),
    ] {
        let e = refused(&file("3.1.1", r#"{"name": "a"}"#, &step));
        assert!(
            e.message
                .contains(&format!("a {what} must not be longer than 65,535 bytes")),
            "{e}"
        );
        assert!(e.message.contains("[MQTT-4.7.3-3]"), "{e}");
    }
    let fits = "t".repeat(65_535);
    Scenario::from_json(&file(
        "5.0",
        r#"{"name": "a"}"#,
        &format!(r#", {{"publish": {{"client": "a", "topic": "{fits}"}}}}"#),
    ))
    .unwrap();
    let e = refused(&file(
        "5.0",
        &format!(r#"{{"name": "a", "client_id": "{long}"}}"#),
        "",
    ));
    assert_eq!(e.path.as_deref(), Some("clients[0]"));
    assert!(e.message.contains("65,535 bytes"), "{e}");
    // A count group's ids grow by "-01": 65,533 bytes and a suffix is too long.
    let e = refused(&file(
        "5.0",
        &format!(
            r#"{{"name": "a", "client_id": "{}", "count": 2}}"#,
            &fits[..65_533]
        ),
        "",
    ));
    assert!(
        e.message.contains("65,536 bytes") || e.message.contains("65536 bytes"),
        "{e}"
    );
    let e = refused(&file(
        "3.1.1",
        r#"{"name": "a", "client_id": "x\u0000"}"#,
        "",
    ));
    assert!(e.message.contains("[MQTT-1.5.3-2] 3.1.1"), "{e}");
}

#[test]
fn a_key_given_twice_is_refused_with_its_position() {
    let say = refused(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"say": "x", "say": "y"}"#,
    ));
    assert!(say.message.contains("\"say\" is given twice"), "{say}");
    assert_eq!(say.line, Some(3));
    assert!(say.column.is_some());
    let broker = refused(&file("5.0", r#"{"name": "a"}"#, "").replace(
        r#""version": "5.0","#,
        r#""version": "5.0", "broker": {"profile": "spec", "max_qos": 1, "max_qos": 2},"#,
    ));
    assert!(
        broker.message.contains("\"max_qos\" is given twice"),
        "{broker}"
    );
    let field = refused(&file("5.0", r#"{"name": "a", "name": "b"}"#, ""));
    assert!(field.message.contains("duplicate field `name`"), "{field}");
    let claim = refused(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"say": "x", "claims": [{"claim": "session", "client": "a", "exists": true, "exists": false}]}"#,
    ));
    assert!(
        claim.message.contains("\"exists\" is given twice"),
        "{claim}"
    );
}

#[test]
fn an_object_written_as_a_positional_array_is_refused() {
    let top = refused(r#"[1, "v", "v", "", "", "5.0", null, "spec", 0, [{"name": "a"}], []]"#);
    assert!(
        top.message.contains("an array where an object is expected"),
        "{top}"
    );
    assert_eq!((top.line, top.column), (Some(1), Some(1)));
    let client = refused(&file("5.0", r#"["a"]"#, ""));
    assert!(
        client.message.contains("an element of \"clients\""),
        "{client}"
    );
    let action = refused(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"publish": ["a", "t"]}"#,
    ));
    assert!(
        action.message.contains("\"publish\" is an array here"),
        "{action}"
    );
    // The arrays the format has still read: a SUBSCRIBE packet's (filter, options) pairs.
    Scenario::from_json(&file(
        "5.0",
        r#"{"name": "a"}"#,
        r#", {"send": {"client": "a", "packet": {"type": "SUBSCRIBE", "packet_id": 1, "filters": [["t", {"qos": 1, "no_local": false, "retain_as_published": false, "retain_handling": 0}]], "subscription_id": null}}}"#,
    ))
    .unwrap();
}

#[test]
fn integers_are_as_wide_natively_as_in_wasm32() {
    let e = refused(&file(
        "5.0",
        r#"{"name": "a", "buffer": 18446744073709551615}"#,
        "",
    ));
    assert!(e.message.contains("expected u32"), "{e}");
    Scenario::from_json(&file("5.0", r#"{"name": "a", "buffer": 4294967295}"#, "")).unwrap();
}

#[test]
fn the_byte_reader_takes_a_byte_order_mark_and_refuses_other_encodings() {
    let text = file("5.0", r#"{"name": "a"}"#, "");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    Scenario::read_bytes(&bom).unwrap();
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    assert!(Scenario::read_bytes(&le)
        .unwrap_err()
        .message
        .contains("UTF-16 (little-endian"));
    let no_bom: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    assert!(Scenario::read_bytes(&no_bom)
        .unwrap_err()
        .message
        .contains("byte offset 0 is a NUL byte"));
    let latin1 = text.replace("\"title\": \"v\"", "\"title\": \"caf\u{e9}\"");
    let latin1: Vec<u8> = latin1.chars().map(|c| c as u32 as u8).collect();
    let e = Scenario::read_bytes(&latin1).unwrap_err();
    assert!(e.message.contains("the byte E9 at byte offset 38"), "{e}");
    assert_eq!((e.line, e.column), (Some(1), Some(39)));
    let cut = &text.as_bytes()[..10];
    let mut cut = cut.to_vec();
    cut.push(0xC3);
    assert!(Scenario::read_bytes(&cut)
        .unwrap_err()
        .message
        .contains("inside a UTF-8 character"));
}

#[test]
fn the_documented_jitter_name_add_up_to_50_percent_reads() {
    // Found by engine/tests/budget_fuzz.rs: serde derived "add_up_to50_percent" while the
    // format documentation and Jitter::key say "add_up_to_50_percent".
    for name in ["add_up_to_50_percent", "add_up_to50_percent"] {
        let text = file(
            "5.0",
            &format!(r#"{{"name": "a", "auto_reconnect": {{"initial": 1, "jitter": "{name}"}}}}"#),
            "",
        );
        Scenario::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
