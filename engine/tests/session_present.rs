//! Session Present and Clean Session / Clean Start.
//! Checks [MQTT-3.1.2-4], [MQTT-3.1.2-6], [MQTT-3.2.2-1..3] (3.1.1); [MQTT-3.1.2-4..6],
//! [MQTT-3.2.2-2,3], §3.1.2.11.2 absent expiry = 0 (5.0).
mod common;
use common::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn v311_session_present_lifecycle() {
    let mut s = Sim::spec();
    let c = s.client("c", V3);
    let mut sps = Vec::new();
    for clean in [true, false, false, true, false] {
        s.connect(c, |o| o.clean_start = clean);
        sps.push(s.session_present(c));
        s.disconnect(c);
    }
    assert_eq!(sps, vec![false, false, true, false, false]);
}

#[test]
fn v5_clean_start_0_without_expiry_keeps_nothing() {
    let mut s = Sim::mosquitto();
    let c = s.client("c", V5);
    s.connect(c, |o| o.clean_start = false);
    s.sub(c, "a/#", 1);
    s.disconnect(c);
    assert!(
        !s.has_session("c"),
        "absent Session Expiry Interval means 0: the session ends at close"
    );
    s.connect(c, |o| o.clean_start = false);
    assert!(!s.session_present(c));
}

#[test]
fn v5_clean_start_1_discards_the_stored_session_and_queue() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    let h = s.client("h", V5);
    s.connect(c, |o| o.session_expiry = Some(60));
    s.sub(c, "s22/t", 1);
    s.disconnect(c);
    s.connect(h, |_| {});
    s.publish(h, "s22/t", "queued", 1);
    s.connect(c, |o| o.session_expiry = Some(60));
    assert!(!s.session_present(c));
    s.publish(h, "s22/t", "after-clean", 1);
    assert!(
        s.payloads(c).is_empty(),
        "neither message is delivered: the subscription is gone"
    );
    assert!(s.drops().contains(&session_engine::DropReason::CleanStart));
}

#[test]
fn v5_session_present_when_the_session_exists() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(30));
    s.disconnect(c);
    s.connect(c, |o| o.clean_start = false);
    assert!(s.session_present(c));
}

#[test]
fn v311_empty_client_id_rules() {
    let mut s = Sim::mosquitto();
    let c = s.client_with_id("c", "", V3);
    s.connect(c, |o| o.clean_start = false);
    assert_eq!(s.connacks(c).last(), Some(&(false, 0x02)), "[MQTT-3.1.3-8]");
    s.connect(c, |o| o.clean_start = true);
    assert_eq!(
        s.connacks(c).last(),
        Some(&(false, 0x00)),
        "[MQTT-3.1.3-6]: MAY accept"
    );
}

#[test]
fn v5_empty_id_gets_an_assigned_id_and_can_resume() {
    let mut s = Sim::mosquitto();
    let c = s.client_with_id("c", "", V5);
    s.connect(c, |o| {
        o.clean_start = false;
        o.session_expiry = Some(30);
    });
    let id = s.w.clients[c].client_id.clone();
    assert!(id.as_str().starts_with("auto-"), "assigned {id}");
    s.disconnect(c);
    s.connect(c, |o| o.clean_start = false);
    assert!(s.session_present(c), "resume with the assigned id");
}

#[test]
fn error_connack_has_sp_0_and_keeps_the_session() {
    let mut p = session_engine::BrokerProfile::mosquitto_2_0_11();
    p.max_qos = 1;
    let mut s = Sim::new(p);
    let c = s.client("c", V5);
    s.connect_persistent(c, 60);
    s.disconnect(c);
    s.connect(c, |o| {
        o.clean_start = false;
        let mut w = will("w", 0);
        w.qos = qos(2);
        o.will = Some(w);
    });
    assert_eq!(s.connacks(c).last(), Some(&(false, 0x9B)));
    s.connect(c, |o| o.clean_start = false);
    assert!(
        s.session_present(c),
        "a refused CONNECT does not discard the session"
    );
}
