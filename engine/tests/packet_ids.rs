//! Packet identifiers of the broker's outgoing QoS 1 and 2 PUBLISH are never reused while in use
//! ([MQTT-2.3.1-4] 3.1.1, [MQTT-2.2.1-4] 5.0): when a session has all 65,535 in use, further
//! copies wait in its queue and go out as acknowledgements free identifiers.
use session_engine::event::{BrokerEvent, Endpoint, TraceItem};
use session_engine::{Packet, Player};
use std::collections::BTreeSet;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// One offline persistent session gets `n` QoS 1 messages, then comes back.
fn offline_then_back(n: u32, version: &str) -> Player {
    let text = format!(
        r#"{{"format": 1, "id": "ids", "title": "ids", "version": "{version}",
        "clients": [{{"name": "sub"}}, {{"name": "pub"}}],
        "steps": [
          {{"connect": {{"client": "sub", "clean_start": false, "session_expiry": "never"}}}},
          {{"subscribe": {{"client": "sub", "filter": "t", "qos": 1}}}},
          {{"disconnect": {{"client": "sub"}}}},
          {{"connect": {{"client": "pub"}}}},
          {{"publish": {{"client": "pub", "topic": "t", "payload": "m{{n}}", "qos": 1, "count": {n}}}}},
          {{"connect": {{"client": "sub", "clean_start": false, "session_expiry": "never"}}}}
        ]}}"#
    );
    let text = if version == "3.1.1" {
        text.replace(r#", "session_expiry": "never""#, "")
    } else {
        text
    };
    Player::from_json(&text).expect("plays")
}

/// Every PUBLISH the broker sends `sub` with QoS > 0 carries an identifier not in use on that
/// connection; returns how many went out.
fn assert_ids_unique_while_in_use(p: &Player) -> usize {
    let mut in_use = BTreeSet::new();
    let mut sent = 0;
    for e in p.trace() {
        let TraceItem::Packet {
            from, to, packet, ..
        } = &e.item
        else {
            continue;
        };
        match (from, to, packet) {
            (Endpoint::Broker, Endpoint::Client(c), Packet::Publish(x)) if c == "sub" => {
                let id = x.packet_id.expect("QoS 1 has an identifier");
                assert!(in_use.insert(id), "identifier {id} sent while in use");
                sent += 1;
            }
            (Endpoint::Client(c), Endpoint::Broker, Packet::Puback { packet_id, .. })
                if c == "sub" =>
            {
                assert!(in_use.remove(packet_id), "PUBACK {packet_id} for nothing");
            }
            _ => {}
        }
    }
    sent
}

fn notes(p: &Player) -> Vec<(&str, &str)> {
    p.trace()
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Broker {
                event: BrokerEvent::Note { text, cite },
            } if text.contains("packet identifiers") => Some((text.as_str(), *cite)),
            _ => None,
        })
        .collect()
}

#[test]
fn seventy_thousand_queued_copies_never_share_an_identifier_in_use() {
    let p = offline_then_back(70_000, "5.0");
    assert_eq!(assert_ids_unique_while_in_use(&p), 70_000);
    let n = notes(&p);
    assert_eq!(n.len(), 1, "said once, when the first copy waits");
    assert!(
        n[0].0.contains("m65536") || n[0].0.contains("wait"),
        "{}",
        n[0].0
    );
    assert_eq!(n[0].1, "[MQTT-2.2.1-4] 5.0");
    let sub = p.at(p.len() - 1).world.client("sub").unwrap();
    assert_eq!(sub.received.len(), 70_000);
    assert!(sub.received.iter().all(|r| !r.duplicate));
}

#[test]
fn a_311_session_cites_the_311_statement_and_delivers_everything_in_order() {
    let p = offline_then_back(65_540, "3.1.1");
    assert_eq!(assert_ids_unique_while_in_use(&p), 65_540);
    assert_eq!(notes(&p)[0].1, "[MQTT-2.3.1-4] 3.1.1");
    let sub = p.at(p.len() - 1).world.client("sub").unwrap();
    let payloads: Vec<String> = sub.received.iter().map(|r| r.payload.to_string()).collect();
    let expected: Vec<String> = (1..=65_540).map(|n| format!("m{n}")).collect();
    assert_eq!(payloads, expected);
}

#[test]
fn exactly_65535_copies_fit_without_waiting() {
    let p = offline_then_back(65_535, "5.0");
    assert_eq!(assert_ids_unique_while_in_use(&p), 65_535);
    assert!(notes(&p).is_empty());
}
