//! Offline queueing and its limits. Checks [MQTT-3.1.2-5] (3.1.1), 5.0 §4.1 (QoS 0 optional),
//! [MQTT-3.3.2-5], [MQTT-3.3.2-6], administrative discard.
mod common;
use common::*;
use session_engine::profile::{BrokerProfile, ProfileOverrides};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn offline_publish(p: BrokerProfile, version: session_engine::Version, qoss: &[u8]) -> Sim {
    let mut s = Sim::new(p);
    let sub = s.client("s", version);
    let h = s.client("h", version);
    s.connect_persistent(sub, 60);
    s.sub(sub, "s03/#", 2);
    s.disconnect(sub);
    s.connect(h, |_| {});
    for (i, q) in qoss.iter().enumerate() {
        s.publish(h, "s03/t", &format!("m{}", i + 1), *q);
    }
    s.connect(sub, |o| {
        o.clean_start = false;
        if version.is_v5() {
            o.session_expiry = Some(60);
        }
    });
    s
}

#[test]
fn mosquitto_queues_qos1_and_2_not_qos0_with_dup_0() {
    let s = offline_publish(BrokerProfile::mosquitto_2_0_11(), V3, &[0, 1, 2]);
    assert!(s.session_present(0));
    assert_eq!(
        s.got_all(0),
        vec![("m2".into(), 1, false), ("m3".into(), 2, false)]
    );
}

#[test]
fn queue_qos0_option_and_emqx_default_keep_qos0() {
    let mut p = BrokerProfile::mosquitto_2_0_11();
    ProfileOverrides {
        queue_qos0_offline: Some(true),
        ..Default::default()
    }
    .apply(&mut p);
    let s = offline_publish(p, V3, &[0, 1, 2]);
    assert_eq!(s.payloads(0), vec!["m1", "m2", "m3"]);
    let s = offline_publish(BrokerProfile::emqx(), V3, &[0, 1, 2]);
    assert_eq!(s.payloads(0), vec!["m1", "m2", "m3"]);
}

#[test]
fn overflow_drops_newest_on_mosquitto_and_oldest_on_emqx() {
    for (p, expect) in [
        (BrokerProfile::mosquitto_2_0_11(), vec!["m1", "m2"]),
        (BrokerProfile::hivemq_ce(), vec!["m1", "m2"]),
        (BrokerProfile::emqx(), vec!["m4", "m5"]),
        (BrokerProfile::tbmq(), vec!["m4", "m5"]),
    ] {
        let mut p = p;
        let name = p.id.clone();
        p.max_queued_messages = Some(2);
        let s = offline_publish(p, V3, &[1, 1, 1, 1, 1]);
        assert_eq!(s.payloads(0), expect, "{name}");
    }
}

#[test]
fn default_limits_keep_all_five() {
    let s = offline_publish(BrokerProfile::mosquitto_2_0_11(), V3, &[1, 1, 1, 1, 1]);
    assert_eq!(s.payloads(0).len(), 5);
}

#[test]
fn message_expiry_while_queued() {
    let mut s = Sim::spec();
    let sub = s.client("s", V5);
    let h = s.client("h", V5);
    s.connect_persistent(sub, 60);
    s.sub(sub, "t", 1);
    s.disconnect(sub);
    s.connect(h, |_| {});
    s.publish_full(h, "t", "mei2", 1, false, Some(2));
    s.publish_full(h, "t", "mei60", 1, false, Some(60));
    s.publish_full(h, "t", "no-mei", 1, false, None);
    s.wait(4);
    s.connect(sub, |o| o.clean_start = false);
    assert_eq!(s.payloads(sub), vec!["mei60", "no-mei"]);
    let meis: Vec<String> = s
        .packets_to(sub)
        .into_iter()
        .filter(|p| p.starts_with("PUBLISH"))
        .collect();
    assert!(meis[0].contains("MEI=56s"), "{meis:?}");
    assert!(!meis[1].contains("MEI"), "{meis:?}");
}

#[test]
fn memory_accounting_counts_payload_topic_and_overheads() {
    let mut s = Sim::spec();
    let sub = s.client("s", V5);
    let h = s.client("h", V5);
    s.connect_persistent(sub, 600);
    s.sub(sub, "ab", 1);
    s.disconnect(sub);
    s.connect(h, |_| {});
    s.publish(h, "ab", "0123456789", 1);
    let p = s.w.broker.profile().clone();
    let session = &s.w.broker.sessions()[&session_engine::ClientId::new("s")];
    let expect = u64::from(p.per_session_bytes)
        + (2 + u64::from(p.per_subscription_bytes))
        + (2 + 10 + u64::from(p.per_message_overhead));
    assert_eq!(session.bytes(&p), expect);
}

#[test]
fn mosquitto_2_0_11_keeps_expired_queued_messages_until_it_sends_and_counts_them() {
    // Observed on mosquitto 2.0.11 with `mqtt-lab verify` (tests/conformance): two queued messages
    // with Message Expiry 1 s still fill a queue of 2 three seconds later, so the next two are
    // refused; at the reconnect the expired two are discarded and nothing arrives.
    let run = |mut p: BrokerProfile| -> Vec<String> {
        p.max_queued_messages = Some(2);
        let mut s = Sim::new(p);
        let sub = s.client("sub", V5);
        let publ = s.client("pub", V5);
        s.connect_persistent(sub, 300);
        s.sub(sub, "t", 1);
        s.disconnect(sub);
        s.connect(publ, |_| {});
        s.publish_full(publ, "t", "e1", 1, false, Some(1));
        s.publish_full(publ, "t", "e2", 1, false, Some(1));
        s.wait(3);
        s.publish(publ, "t", "n3", 1);
        s.publish(publ, "t", "n4", 1);
        s.connect_persistent(sub, 300);
        s.payloads(sub)
    };
    let got = run(BrokerProfile::by_id("mosquitto-2.0.11").unwrap());
    assert!(got.is_empty(), "{got:?}");
    // The specification (and mosquitto 2.0.15+) discard them at their expiry: n3 and n4 arrive.
    assert_eq!(run(BrokerProfile::spec()), vec!["n3", "n4"]);
}

#[test]
fn mosquitto_counts_only_qos_1_and_2_against_its_queue_limit() {
    // mosquitto 2.0 db__ready_for_queue counts msg_count12; observed in
    // tests/conformance/19-queue-limit-qos0-uncounted.json.
    let mut p = BrokerProfile::by_id("mosquitto-2.0.11").unwrap();
    p.max_queued_messages = Some(2);
    p.queue_qos0_offline = true;
    let mut s = Sim::new(p);
    let sub = s.client("sub", V3);
    let publ = s.client("pub", V3);
    s.connect(sub, |o| o.clean_start = false);
    s.sub(sub, "t", 1);
    s.disconnect(sub);
    s.connect(publ, |_| {});
    for (payload, q) in [
        ("a0", 0),
        ("b0", 0),
        ("c0", 0),
        ("d1", 1),
        ("e1", 1),
        ("f1", 1),
        ("g0", 0),
    ] {
        s.publish(publ, "t", payload, q);
    }
    s.connect(sub, |o| o.clean_start = false);
    assert_eq!(s.payloads(sub), vec!["a0", "b0", "c0", "d1", "e1"]);
}

#[test]
fn mosquitto_refills_from_the_acknowledged_position_and_overfills_the_window() {
    // mosquitto 2.0 db__message_delete_outgoing; observed in
    // tests/conformance/28-receive-maximum-refill.json.
    let mut p = BrokerProfile::by_id("mosquitto-2.0.11").unwrap();
    p.max_inflight_v311 = 2;
    let mut s = Sim::new(p);
    let sub = s.client("sub", V3);
    let publ = s.client("pub", V3);
    s.connect(sub, |_| {});
    s.sub(sub, "t", 1);
    s.connect(publ, |_| {});
    s.w.set_withhold_acks(sub, true);
    for n in 1..=5 {
        s.publish(publ, "t", &format!("m{n}"), 1);
    }
    assert_eq!(s.payloads(sub), vec!["m1", "m2"], "a window of 2");
    // Acknowledge only m1 (the oldest; m2's acknowledgement stays held): mosquitto moves two
    // more into flight (m3, m4), so three are unacknowledged at once.
    let held = std::mem::take(&mut s.w.clients[sub].withheld);
    s.w.clients[sub].withheld = held[..1].to_vec();
    let mark = s.w.trace.len();
    s.w.set_withhold_acks(sub, false);
    let overfilled = s.w.trace[mark..]
        .iter()
        .map(|e| e.describe())
        .find(|d| d.contains("refills from the acknowledged message's position"));
    assert!(
        overfilled
            .as_deref()
            .is_some_and(|d| d.contains("so 3 are now unacknowledged")),
        "{overfilled:?}"
    );
    assert_eq!(s.payloads(sub), vec!["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(
        BrokerProfile::spec().window_refill,
        session_engine::profile::WindowRefill::UpToWindow
    );
}
