//! Resending after a resume: unacknowledged PUBLISH with DUP = 1 and PUBREL, original ids and
//! order, then queued messages with DUP = 0. Checks [MQTT-4.4.0-1], [MQTT-3.3.1-1],
//! [MQTT-3.3.1-3], [MQTT-4.3.3-1], [MQTT-4.6.0-1], [MQTT-4.3.3-7].
mod common;
use common::*;
use session_engine::world::Direction;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A persistent subscriber `s` (QoS `q` on `topic`) receives one message from `h` (with Message
/// Expiry `mei`), does not acknowledge it, and its link drops.
fn unacked_then_dropped(
    mut s: Sim,
    version: session_engine::Version,
    topic: &str,
    payload: &str,
    q: u8,
    mei: Option<u32>,
) -> (Sim, usize, usize) {
    let sub = s.client("s", version);
    let h = s.client("h", version);
    s.connect_persistent(sub, 60);
    s.sub(sub, topic, q);
    s.connect(h, |_| {});
    s.w.clients[sub].withhold_acks = true;
    s.publish_full(h, topic, payload, q, false, mei);
    s.drop_link(sub);
    s.w.clients[sub].withhold_acks = false;
    (s, sub, h)
}

#[test]
fn unacked_qos1_is_resent_with_dup_and_same_id() {
    let (mut s, sub, _) = unacked_then_dropped(Sim::spec(), V3, "s06/t", "hello", 1, None);
    s.connect(sub, |o| o.clean_start = false);
    let p = s.packets_to(sub);
    assert!(
        p.iter().any(|x| x == "PUBLISH s06/t q1 id=1 DUP \"hello\""),
        "{p:?}"
    );
    s.disconnect(sub);
    s.connect(sub, |o| o.clean_start = false);
    assert!(
        !s.packets_to(sub).iter().any(|x| x.starts_with("PUBLISH")),
        "acknowledged now: nothing more"
    );
}

/// A mosquitto 3.1.1 subscriber `s` (persistent, QoS 2 on `topic`) that receives one QoS 2
/// message from `h` and loses its PUBCOMP: the broker holds the message at the PUBREL stage.
fn stuck_after_pubrel(topic: &str, payload: &str) -> (Sim, usize, usize) {
    let mut s = Sim::mosquitto();
    let sub = s.client("s", V3);
    let h = s.client("h", V3);
    s.connect_persistent(sub, 0);
    s.sub(sub, topic, 2);
    s.connect(h, |_| {});
    s.w.lose_next(sub, Direction::ToBroker, 1, Some("PUBCOMP".into()));
    s.publish(h, topic, payload, 2);
    (s, sub, h)
}

#[test]
fn qos2_past_pubrec_resends_pubrel_only() {
    let (mut s, sub, _) = stuck_after_pubrel("t", "x");
    s.drop_link(sub);
    s.connect(sub, |o| o.clean_start = false);
    let p = s.packets_to(sub);
    assert_eq!(p[1..], ["PUBREL id=1".to_string()], "{p:?}");
}

#[test]
fn resend_order_inflight_first_then_queued() {
    let (mut s, sub, h) = stuck_after_pubrel("s08/t", "A");
    s.w.clients[sub].withhold_acks = true;
    s.publish(h, "s08/t", "B", 1);
    s.drop_link(sub);
    s.w.clients[sub].withhold_acks = false;
    s.publish(h, "s08/t", "C", 1);
    s.publish(h, "s08/t", "D", 2);
    s.connect(sub, |o| o.clean_start = false);
    let p: Vec<String> = s.packets_to(sub).into_iter().skip(1).take(4).collect();
    assert_eq!(
        p,
        vec![
            "PUBREL id=1",
            "PUBLISH s08/t q1 id=2 DUP \"B\"",
            "PUBLISH s08/t q1 id=3 \"C\"",
            "PUBLISH s08/t q2 id=4 \"D\""
        ]
    );
}

#[test]
fn v5_inflight_plus_queue_order_and_dup() {
    let (mut s, sub, h) = unacked_then_dropped(Sim::spec(), V5, "t", "m1", 1, None);
    s.publish(h, "t", "m2", 1);
    s.publish(h, "t", "m3", 1);
    s.connect(sub, |o| o.clean_start = false);
    let p: Vec<String> = s
        .packets_to(sub)
        .into_iter()
        .filter(|x| x.starts_with("PUBLISH"))
        .collect();
    assert_eq!(
        p,
        vec![
            "PUBLISH t q1 id=1 DUP \"m1\"",
            "PUBLISH t q1 id=2 \"m2\"",
            "PUBLISH t q1 id=3 \"m3\""
        ]
    );
}

#[test]
fn expired_inflight_message_spec_resends_mosquitto_drops() {
    for (mosq, resent) in [(false, true), (true, false)] {
        for q in [1u8, 2] {
            let sim = if mosq { Sim::mosquitto() } else { Sim::spec() };
            let (mut s, sub, _) = unacked_then_dropped(sim, V5, "t", "x", q, Some(2));
            s.wait(4);
            s.connect(sub, |o| o.clean_start = false);
            assert!(s.session_present(sub));
            let again = s.packets_to(sub).iter().any(|p| p.starts_with("PUBLISH"));
            assert_eq!(again, resent, "mosquitto={mosq} qos={q}");
        }
    }
}

#[test]
fn client_resends_its_own_unacked_publish_and_broker_dedups_qos2() {
    let mut s = Sim::mosquitto();
    let sub = s.client("sub", V3);
    let p = s.client("p", V3);
    s.connect(sub, |_| {});
    s.sub(sub, "t", 2);
    s.connect_persistent(p, 0);
    s.w.lose_next(p, Direction::ToClient, 1, Some("PUBREC".into()));
    s.publish(p, "t", "once", 2);
    assert!(
        s.payloads(sub).is_empty(),
        "mosquitto forwards at PUBREL (Method A)"
    );
    s.drop_link(p);
    s.connect(p, |o| o.clean_start = false);
    assert_eq!(
        s.payloads(sub),
        vec!["once"],
        "exactly once after the resend"
    );
}

#[test]
fn emqx_forwards_inbound_qos2_at_publish_still_once() {
    let mut s = Sim::new(session_engine::BrokerProfile::emqx());
    let sub = s.client("sub", V3);
    let p = s.client("p", V3);
    s.connect(sub, |_| {});
    s.sub(sub, "t", 2);
    s.connect_persistent(p, 0);
    s.w.lose_next(p, Direction::ToClient, 1, Some("PUBREC".into()));
    s.publish(p, "t", "once", 2);
    assert_eq!(
        s.payloads(sub),
        vec!["once"],
        "Method B: forwarded at PUBLISH"
    );
    s.drop_link(p);
    s.connect(p, |o| o.clean_start = false);
    assert_eq!(s.payloads(sub), vec!["once"]);
}
