//! Will messages: close without DISCONNECT, DISCONNECT 0x00 / 0x04, Will Delay vs Session
//! Expiry. Checks [MQTT-3.1.2-8], [MQTT-3.14.4-3], [MQTT-3.1.3-9], §3.1.3.2.2, §3.14.2.2.2.
//! mosquitto's departures: `WillAfterSessionEnd`, `DelayedWills` (docs/DIVERGENCES.md).
mod common;
use common::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn setup(mosq: bool) -> (Sim, usize, usize) {
    let mut s = if mosq { Sim::mosquitto() } else { Sim::spec() };
    let a = s.client("a", V5);
    let w = s.client("w", V5);
    s.connect(w, |_| {});
    s.sub(w, "lwt", 0);
    (s, a, w)
}

#[test]
fn will_on_network_loss_but_not_on_disconnect() {
    let mut s = Sim::spec();
    let a = s.client("a", V3);
    let b = s.client("b", V3);
    let w = s.client("w", V3);
    s.connect(w, |_| {});
    s.sub(w, "lwt", 1);
    s.connect(a, |o| o.will = Some(will("lwt", 0)));
    s.connect(b, |o| o.will = Some(will("lwt", 0)));
    s.drop_link(a);
    assert_eq!(s.payloads(w).len(), 1);
    s.disconnect(b);
    assert_eq!(
        s.payloads(w).len(),
        1,
        "[MQTT-3.14.4-3]: DISCONNECT deletes the will"
    );
}

#[test]
fn will_delay_shorter_than_expiry_and_reconnect_cancels_it() {
    let (mut s, a, w) = setup(false);
    s.connect(a, |o| {
        o.session_expiry = Some(10);
        o.will = Some(will("lwt", 2));
    });
    s.drop_link(a);
    s.wait_ms(1999);
    assert_eq!(s.payloads(w).len(), 0);
    s.wait_ms(1);
    assert_eq!(
        s.payloads(w).len(),
        1,
        "the will goes out when the delay passes"
    );
    s.connect(a, |o| {
        o.clean_start = false;
        o.session_expiry = Some(10);
        o.will = Some(will("lwt", 3));
    });
    s.drop_link(a);
    s.wait(1);
    s.connect(a, |o| o.clean_start = false);
    assert!(s.session_present(a));
    s.wait(5);
    assert_eq!(
        s.payloads(w).len(),
        1,
        "[MQTT-3.1.3-9]: reconnecting within the delay suppresses the will"
    );
}

#[test]
fn will_delay_longer_than_expiry_fires_at_session_end() {
    let (mut s, a, w) = setup(false);
    s.connect(a, |o| {
        o.session_expiry = Some(2);
        o.will = Some(will("lwt", 10));
    });
    s.drop_link(a);
    s.wait_ms(1999);
    assert!(s.payloads(w).is_empty());
    s.wait_ms(1);
    assert_eq!(
        s.payloads(w).len(),
        1,
        "whichever comes first: session end at 2 s"
    );
}

#[test]
fn will_delay_with_session_expiry_0_spec_at_once_mosquitto_waits() {
    for (mosq, at_once) in [(false, true), (true, false)] {
        let (mut s, a, w) = setup(mosq);
        s.connect(a, |o| o.will = Some(will("lwt", 3)));
        s.drop_link(a);
        assert_eq!(
            s.payloads(w).len(),
            usize::from(at_once),
            "mosquitto={mosq}"
        );
        s.wait(5);
        assert_eq!(
            s.payloads(w).len(),
            1,
            "mosquitto publishes it after the delay"
        );
    }
}

#[test]
fn mosquitto_will_delay_timing_is_whole_seconds() {
    let (mut s, a, w) = setup(true);
    s.wait_ms(400);
    s.connect(a, |o| {
        o.session_expiry = Some(60);
        o.will = Some(will("lwt", 2));
    });
    s.drop_link(a);
    // Closed at 0.4 s: due = (0 + 2 + 1) s = 3.0 s, i.e. 2.6 s after the close.
    s.wait_ms(2599);
    assert!(s.payloads(w).is_empty());
    s.wait_ms(1);
    assert_eq!(s.payloads(w).len(), 1);
}

#[test]
fn disconnect_0x04_publishes_the_will() {
    let (mut s, a, w) = setup(false);
    s.connect(a, |o| o.will = Some(will("lwt", 0)));
    s.disconnect_with(a, 0x04, None);
    assert_eq!(s.payloads(w).len(), 1);
    let b = s.client("b", V5);
    s.connect(b, |o| o.will = Some(will("lwt", 0)));
    s.disconnect_with(b, 0x00, None);
    assert_eq!(s.payloads(w).len(), 1);
}

#[test]
fn disconnect_raising_expiry_from_0_is_a_protocol_error_and_the_will_goes_out() {
    let (mut s, a, w) = setup(true);
    s.connect(a, |o| o.will = Some(will("lwt", 0)));
    s.disconnect_with(a, 0, Some(10));
    let to_a = s.packets_to(a);
    assert!(
        to_a.iter().any(|p| p.starts_with("DISCONNECT rc=0x82")),
        "{to_a:?}"
    );
    assert_eq!(s.payloads(w).len(), 1);
    s.connect(a, |o| o.clean_start = false);
    assert!(!s.session_present(a), "the session was not extended");
}

#[test]
fn will_is_published_once_and_removed_3_1_2_10() {
    let (mut s, a, w) = setup(false);
    s.connect(a, |o| {
        o.session_expiry = Some(60);
        o.will = Some(will("lwt", 0));
    });
    s.drop_link(a);
    s.connect(a, |o| o.clean_start = false);
    s.drop_link(a);
    assert_eq!(s.payloads(w).len(), 1, "the second connection had no will");
}

/// [MQTT-3.1.2-8] 5.0: only DISCONNECT 0x00 deletes the will. After a DISCONNECT with an error
/// code (0x80 Unspecified error) the specification's broker publishes it; mosquitto 2.0.11
/// deletes it for every code but 0x04 and reports the departure (conformance 56).
#[test]
fn disconnect_with_an_error_code_keeps_the_will_except_on_mosquitto() {
    for mosquitto in [false, true] {
        let (mut s, a, w) = setup(mosquitto);
        s.connect(a, |o| o.will = Some(will("lwt", 0)));
        s.disconnect_with(a, 0x80, None);
        assert_eq!(
            s.payloads(w).len(),
            usize::from(!mosquitto),
            "mosquitto {mosquitto}"
        );
        assert_eq!(
            s.deviations(),
            usize::from(mosquitto),
            "mosquitto {mosquitto}"
        );
    }
}
