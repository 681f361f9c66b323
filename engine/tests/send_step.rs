//! The `send` step: a client writes a packet of its own choosing, as a model packet or as bytes.
//! What the broker answers on each profile (a PUBREL for an identifier it does not hold, bytes
//! that do not decode), what the trace records, and what `check` refuses.

use session_engine::event::{Notice, TraceItem};
use session_engine::{BrokerEvent, Packet, Player, Scenario};

fn scenario(version: &str, profile: &str, steps: &str) -> String {
    format!(
        r#"{{"format": 1, "id": "t", "title": "T", "version": "{version}",
  "broker": {{"profile": "{profile}"}},
  "clients": [{{"name": "dev", "client_id": "dev-1"}}, {{"name": "mon"}}],
  "steps": [
    {{"connect": {{"client": "mon"}}}},
    {{"subscribe": {{"client": "mon", "filter": "will/#", "qos": 1}}}},
    {{"connect": {{"client": "dev", "will": {{"topic": "will/dev", "payload": "gone", "qos": 1}}}}}},
    {steps}
  ]}}"#
    )
}

fn play(version: &str, profile: &str, steps: &str) -> Player {
    let sc = Scenario::from_json(&scenario(version, profile, steps)).expect("valid scenario");
    Player::new(sc).expect("plays")
}

/// Packets the broker sent to `dev` in the last step.
fn to_dev(p: &Player) -> Vec<Packet> {
    p.entries(p.len() - 1)
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Packet {
                to: session_engine::event::Endpoint::Client(c),
                packet,
                ..
            } if c == "dev" => Some(packet.clone()),
            _ => None,
        })
        .collect()
}

fn last_events(p: &Player) -> Vec<BrokerEvent> {
    p.entries(p.len() - 1)
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Broker { event } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn will_published(p: &Player) -> bool {
    last_events(p)
        .iter()
        .any(|e| matches!(e, BrokerEvent::WillPublished { .. }))
}

const PUBREL_7: &str =
    r#"{"send": {"client": "dev", "packet": {"type": "PUBREL", "packet_id": 7, "reason": 0}}}"#;

#[test]
fn a_pubrel_for_an_unknown_id_gets_pubcomp_0x92_on_the_spec_and_0x00_on_mosquitto() {
    for (profile, code) in [("spec", 0x92), ("mosquitto-2.0.11", 0x00)] {
        let p = play("5.0", profile, PUBREL_7);
        assert_eq!(
            to_dev(&p),
            vec![Packet::Pubcomp {
                packet_id: 7,
                reason: code
            }],
            "{profile}"
        );
        let note = last_events(&p)
            .into_iter()
            .find_map(|e| match e {
                BrokerEvent::Note { text, cite } => Some((text, cite)),
                _ => None,
            })
            .expect("the broker explains the PUBCOMP");
        assert!(
            note.0.contains(&format!("PUBCOMP 0x{code:02X}")),
            "{note:?}"
        );
        assert!(note.1.contains("[MQTT-4.3.3-11]"), "{note:?}");
        assert!(p.at(p.len() - 1).world.clients[0].is_online());
    }
    let p = play("3.1.1", "spec", PUBREL_7);
    assert_eq!(
        to_dev(&p),
        vec![Packet::Pubcomp {
            packet_id: 7,
            reason: 0
        }]
    );
}

/// DISCONNECT (reason 0) carrying a Topic Alias, a property DISCONNECT may not carry.
const DISCONNECT_WITH_TOPIC_ALIAS: &str =
    r#"{"send": {"client": "dev", "hex": "E0 05 00 03 23 00 01"}}"#;

fn protocol_error(p: &Player) -> (u8, Notice) {
    last_events(p)
        .into_iter()
        .find_map(|e| match e {
            BrokerEvent::ProtocolError { code, notice, .. } => Some((code, notice)),
            _ => None,
        })
        .expect("a protocol error")
}

#[test]
fn bytes_that_do_not_decode_close_the_connection_and_publish_the_will() {
    let spec = play("5.0", "spec", DISCONNECT_WITH_TOPIC_ALIAS);
    let undecodable = spec
        .entries(spec.len() - 1)
        .iter()
        .find_map(|e| match &e.item {
            TraceItem::Undecodable { raw, error, .. } => Some((raw.to_string(), error.clone())),
            _ => None,
        })
        .expect("the bytes are in the trace as they were sent");
    assert_eq!(undecodable.0, "E0 05 00 03 23 00 01");
    assert!(
        undecodable.1.contains("0x23") && undecodable.1.contains("DISCONNECT"),
        "{undecodable:?}"
    );
    assert_eq!(protocol_error(&spec), (0x81, Notice::Disconnect));
    assert!(matches!(
        to_dev(&spec).as_slice(),
        [Packet::Disconnect(d)] if d.reason == 0x81
    ));
    assert!(
        will_published(&spec),
        "not a valid DISCONNECT: the will goes"
    );
    assert!(!spec.at(spec.len() - 1).world.clients[0].is_online());
    // The close names the fault class as 5.0 does: a Malformed Packet is not a Protocol Error.
    let closed = last_events(&spec)
        .iter()
        .find(|e| matches!(e, BrokerEvent::ConnectionClosed { .. }))
        .map(|e| e.describe())
        .unwrap_or_default();
    assert!(
        closed.contains("Malformed Packet or Protocol Error"),
        "{closed}"
    );

    // mosquitto 2.0.11 refuses the property too (property__read_all) but returns from
    // handle__disconnect before any DISCONNECT is sent.
    let m = play("5.0", "mosquitto-2.0.11", DISCONNECT_WITH_TOPIC_ALIAS);
    assert_eq!(protocol_error(&m), (0x81, Notice::CloseOnly));
    assert!(to_dev(&m).is_empty());
    assert!(will_published(&m));
    let text = last_events(&m)
        .iter()
        .find(|e| matches!(e, BrokerEvent::ProtocolError { .. }))
        .map(|e| e.describe())
        .unwrap_or_default();
    assert!(text.contains("without first sending"), "{text}");
}

#[test]
fn a_publish_with_qos_3_gets_disconnect_0x81_on_both_profiles() {
    // PUBLISH, QoS bits 11, topic "a/b", packet id 1, no properties, payload "x".
    let step = r#"{"send": {"client": "dev", "hex": "36 09 00 03 61 2F 62 00 01 00 78"}}"#;
    for profile in ["spec", "mosquitto-2.0.11"] {
        let p = play("5.0", profile, step);
        assert_eq!(protocol_error(&p), (0x81, Notice::Disconnect), "{profile}");
        assert!(will_published(&p), "{profile}");
    }
    let p = play(
        "3.1.1",
        "mosquitto-2.0.11",
        step.replace(
            "09 00 03 61 2F 62 00 01 00 78",
            "08 00 03 61 2F 62 00 01 78",
        )
        .as_str(),
    );
    assert_eq!(protocol_error(&p).1, Notice::V311);
    assert!(
        to_dev(&p).is_empty(),
        "3.1.1 has no DISCONNECT from the server"
    );
}

#[test]
fn bytes_that_decode_reach_the_broker_as_that_packet_and_keep_their_bytes() {
    let p = play(
        "5.0",
        "spec",
        r#"{"send": {"client": "dev", "hex": "c0 00"}}"#,
    );
    let sent = p
        .entries(p.len() - 1)
        .iter()
        .find_map(|e| match &e.item {
            TraceItem::Packet {
                packet: Packet::Pingreq,
                raw,
                ..
            } => Some(raw.clone()),
            _ => None,
        })
        .expect("the PINGREQ is in the trace");
    assert_eq!(sent.map(|r| r.to_string()).as_deref(), Some("C0 00"));
    assert_eq!(to_dev(&p), vec![Packet::Pingresp]);
}

#[test]
fn a_send_step_round_trips_through_the_file_format() {
    let sc = Scenario::from_json(&scenario("5.0", "spec", DISCONNECT_WITH_TOPIC_ALIAS)).unwrap();
    let again = Scenario::from_json(&sc.to_json()).expect("its own output parses");
    assert_eq!(
        Player::new(again).unwrap().trace().len(),
        Player::new(sc).unwrap().trace().len()
    );
}

#[test]
fn check_refuses_a_send_step_that_cannot_go_on_the_wire() {
    let cases = [
        (r#"{"send": {"client": "dev"}}"#, "exactly one of"),
        (
            r#"{"send": {"client": "dev", "hex": "C0 00", "packet": {"type": "PINGREQ"}}}"#,
            "exactly one of",
        ),
        (r#"{"send": {"client": "dev", "hex": ""}}"#, "no bytes"),
        (
            r#"{"send": {"client": "dev", "hex": "62 02 00"}}"#,
            "ends before",
        ),
        (
            r#"{"send": {"client": "dev", "hex": "C0 00 C0 00"}}"#,
            "its own send step",
        ),
        (
            r#"{"send": {"client": "dev", "hex": "C0 0"}}"#,
            "odd number",
        ),
        (
            r#"{"send": {"client": "dev", "hex": "C0 zz"}}"#,
            "not a hex digit",
        ),
        (
            r#"{"send": {"client": "dev", "packet": {"type": "PUBREL", "packet_id": 0, "reason": 0}}}"#,
            "as \"hex\"",
        ),
        (
            r#"{"send": {"client": "nobody", "hex": "C0 00"}}"#,
            "nobody",
        ),
    ];
    for (step, want) in cases {
        let err = Scenario::from_json(&scenario("5.0", "spec", step))
            .err()
            .unwrap_or_else(|| panic!("{step} is refused"));
        assert!(err.to_string().contains(want), "{step}: {err}");
    }
}

#[test]
fn a_second_connect_publishes_the_will_on_the_spec_and_forgets_it_on_mosquitto() {
    let step = r#"{"send": {"client": "dev", "packet": {"type": "CONNECT", "version": "5.0", "client_id": "dev-1", "clean_start": true, "keep_alive": 60, "session_expiry": null, "receive_maximum": null, "will": null}}}"#;
    let spec = play("5.0", "spec", step);
    assert_eq!(protocol_error(&spec), (0x82, Notice::Disconnect));
    assert!(will_published(&spec));
    let m = play("5.0", "mosquitto-2.0.11", step);
    assert_eq!(protocol_error(&m), (0x82, Notice::CloseOnly));
    assert!(
        !will_published(&m),
        "handle_connect.c's error path clears the will"
    );
    assert!(last_events(&m).iter().any(|e| matches!(
        e,
        BrokerEvent::Deviation { rule, .. } if *rule == "[MQTT-3.1.2-8]"
    )));
}

/// [MQTT-4.4.0-2] 5.0: a PUBREC with an error Reason Code acknowledges the message. The copy is
/// done (no PUBREL), and the window it held opens for the next queued message, on both profiles
/// (mosquitto 2.0.11 handle_pubrec.c deletes it as for a PUBACK).
#[test]
fn an_error_pubrec_completes_the_copy_and_frees_the_window() {
    for profile in ["spec", "mosquitto-2.0.11"] {
        let p = play(
            "5.0",
            profile,
            r#"{"subscribe": {"client": "dev", "filter": "t", "qos": 2}},
    {"withhold_acks": {"client": "dev"}},
    {"publish": {"client": "mon", "topic": "t", "payload": "a", "qos": 2}},
    {"publish": {"client": "mon", "topic": "t", "payload": "b", "qos": 2}},
    {"send": {"client": "dev", "packet": {"type": "PUBREC", "packet_id": 1, "reason": 128}}}"#,
        );
        let last = p.entries(p.len() - 1);
        assert!(
            last.iter().any(|e| matches!(
                &e.item,
                TraceItem::Broker {
                    event: BrokerEvent::MessageAcknowledged { packet_id: 1, .. }
                }
            )),
            "{profile}: the copy with packet id 1 is done"
        );
        let sent = to_dev(&p);
        assert!(
            !sent.iter().any(|x| matches!(x, Packet::Pubrel { .. })),
            "{profile}: no PUBREL after an error PUBREC: {sent:?}"
        );
    }
}
