//! Retained messages live outside sessions. Checks [MQTT-3.1.2.7] (3.1.1), 5.0 §4.1,
//! [MQTT-3.8.4-3], [MQTT-3.3.1-9..11] (5.0 Retain Handling), §4.8.2 (none for shared).
mod common;
use common::*;
use session_engine::packet::SubOptions;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn retained_message_survives_the_session_that_published_it() {
    let mut s = Sim::spec();
    let p = s.client("p", V3);
    let sub = s.client("s", V3);
    s.connect_persistent(p, 0);
    s.publish_full(p, "s15/x", "retained-1", 1, true, None);
    s.disconnect(p);
    s.connect(p, |o| o.clean_start = true);
    s.disconnect(p);
    s.connect(sub, |_| {});
    s.sub(sub, "s15/#", 1);
    let r = &s.w.clients[sub].received;
    assert_eq!(r.len(), 1);
    assert!(r[0].retain && r[0].payload.as_text() == Some("retained-1"));
}

#[test]
fn no_retained_on_resume_but_resent_on_identical_resubscribe() {
    let mut s = Sim::spec();
    let p = s.client("p", V3);
    let sub = s.client("s", V3);
    s.connect(p, |_| {});
    s.publish_full(p, "s16/r", "ret", 0, true, None);
    s.connect_persistent(sub, 0);
    s.sub(sub, "s16/r", 1);
    assert_eq!(s.payloads(sub).len(), 1);
    s.disconnect(sub);
    s.connect(sub, |o| o.clean_start = false);
    assert!(s.session_present(sub));
    assert_eq!(
        s.payloads(sub).len(),
        1,
        "nothing retained is sent on resume"
    );
    s.sub(sub, "s16/r", 1);
    assert_eq!(
        s.payloads(sub).len(),
        2,
        "[MQTT-3.8.4-3]: re-sent on an identical SUBSCRIBE"
    );
}

#[test]
fn retain_handling_0_1_2() {
    for (rh, first, second) in [(0u8, 1usize, 1usize), (1, 1, 0), (2, 0, 0)] {
        let mut s = Sim::spec();
        let p = s.client("p", V5);
        let sub = s.client("s", V5);
        s.connect(p, |_| {});
        s.publish_full(p, "r", "ret", 0, true, None);
        s.connect(sub, |_| {});
        let o = SubOptions {
            retain_handling: rh,
            ..SubOptions::qos(qos(0))
        };
        s.sub_opts(sub, "r", o, None);
        let n1 = s.payloads(sub).len();
        s.sub_opts(sub, "r", o, None);
        let n2 = s.payloads(sub).len() - n1;
        assert_eq!((n1, n2), (first, second), "RH {rh}");
    }
}

#[test]
fn empty_retained_payload_clears_it_and_expired_retained_is_gone() {
    let mut s = Sim::spec();
    let p = s.client("p", V5);
    let sub = s.client("s", V5);
    s.connect(p, |_| {});
    s.publish_full(p, "a", "x", 0, true, None);
    s.publish_full(p, "a", "", 0, true, None);
    s.publish_full(p, "b", "y", 0, true, Some(5));
    s.wait(6);
    s.connect(sub, |_| {});
    s.sub(sub, "#", 0);
    assert!(s.payloads(sub).is_empty());
}

#[test]
fn shared_subscriptions_get_no_retained_messages() {
    let mut s = Sim::spec();
    let p = s.client("p", V5);
    let sub = s.client("s", V5);
    s.connect(p, |_| {});
    s.publish_full(p, "a", "x", 0, true, None);
    s.connect(sub, |_| {});
    s.sub(sub, "$share/g/a", 0);
    assert!(s.payloads(sub).is_empty());
}
