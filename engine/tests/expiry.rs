//! Session expiry (5.0): timing, DISCONNECT changes, never. Checks [MQTT-4.1.0-2],
//! [MQTT-3.1.2-23], §3.14.2.2.2.
//! Also mosquitto's whole-second timers (`TimerGranularity::WholeSecondsStrict`).
mod common;
use common::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn spec_expiry_is_exact() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(2));
    s.drop_link(c);
    s.wait_ms(1999);
    assert!(s.has_session("c"));
    s.wait_ms(1);
    assert!(
        !s.has_session("c"),
        "the instant SEI seconds after close counts as expired"
    );
}

#[test]
fn mosquitto_expiry_uses_whole_seconds_strictly() {
    let mut s = Sim::mosquitto();
    let c = s.client("c", V5);
    s.wait_ms(300);
    s.connect(c, |o| o.session_expiry = Some(3));
    s.drop_link(c);
    s.wait_ms(3200 - 300);
    assert!(
        s.has_session("c"),
        "SEI 3 still present at 3.2 s (observed)"
    );
    s.wait_ms(800);
    assert!(!s.has_session("c"));
}

#[test]
fn disconnect_changes_the_expiry() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(1));
    s.disconnect_with(c, 0, Some(6));
    s.wait(3);
    s.connect(c, |o| {
        o.clean_start = false;
        o.session_expiry = Some(1);
    });
    assert!(s.session_present(c));
    s.disconnect_with(c, 0, Some(0));
    s.connect(c, |o| o.clean_start = false);
    assert!(!s.session_present(c));
}

#[test]
fn expiry_raised_to_never_in_disconnect() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(10));
    s.disconnect_with(c, 0, Some(NEVER_EXPIRE));
    s.wait(365 * 86_400);
    s.connect(c, |o| o.clean_start = false);
    assert!(s.session_present(c));
}

#[test]
fn brokers_cap_session_expiry_tbmq_announces_it() {
    let mut s = Sim::new(session_engine::BrokerProfile::tbmq());
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(NEVER_EXPIRE));
    let connack = s
        .packets_to(c)
        .into_iter()
        .find(|p| p.starts_with("CONNACK"))
        .unwrap();
    assert!(connack.contains("SEI=7d"), "{connack}");
    s.drop_link(c);
    s.wait(604_800);
    assert!(!s.has_session("c"));
}

#[test]
fn emqx_expires_311_persistent_sessions_after_2_hours() {
    let mut s = Sim::new(session_engine::BrokerProfile::emqx());
    let c = s.client("c", V3);
    s.connect_persistent(c, 0);
    s.disconnect(c);
    s.wait(7199);
    assert!(s.has_session("c"));
    s.wait(1);
    assert!(!s.has_session("c"));
}

#[test]
fn idle_world_has_no_timers_and_does_not_spin() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(NEVER_EXPIRE));
    s.disconnect(c);
    assert_eq!(s.w.next_timer(), None);
    let before = s.w.trace.len();
    s.wait(86_400);
    assert_eq!(s.w.trace.len(), before);
}

#[test]
fn a_311_subscriber_gets_no_message_expiry_on_the_wire() {
    // 3.1.1 has no properties: the copy keeps its expiry in the broker but the PUBLISH carries
    // none, live or queued (found by `mqtt-lab verify-random`, seed 38).
    for mut s in [Sim::spec(), Sim::mosquitto()] {
        let sub = s.client("sub", V3);
        let publ = s.client("pub", V5);
        s.connect(sub, |o| o.clean_start = false);
        s.sub(sub, "t", 1);
        s.connect(publ, |_| {});
        s.publish_full(publ, "t", "live0", 0, false, Some(60));
        s.publish_full(publ, "t", "live1", 1, false, Some(60));
        s.disconnect(sub);
        s.publish_full(publ, "t", "queued", 1, false, Some(60));
        s.connect(sub, |o| o.clean_start = false);
        let expiries: Vec<Option<u32>> =
            s.w.trace
                .iter()
                .filter_map(|e| match &e.item {
                    session_engine::TraceItem::Packet {
                        to: session_engine::event::Endpoint::Client(n),
                        packet: session_engine::Packet::Publish(x),
                        ..
                    } if n == "sub" => Some(x.message_expiry),
                    _ => None,
                })
                .collect();
        assert_eq!(expiries, vec![None, None, None]);
    }
}
