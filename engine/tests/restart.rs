//! Broker restart with and without persistence (broker-specific: `Persistence` in each profile) and the reconnect of
//! clients with backoff.
mod common;
use common::*;
use session_engine::profile::{BrokerProfile, Persistence};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn mosquitto_persists_only_clean_start_0_sessions_and_counts_downtime() {
    let mut p = BrokerProfile::mosquitto_2_0_11();
    p.persistence = Persistence::CleanStartZeroOnly;
    let mut s = Sim::new(p);
    let legacy = s.client("legacy", V3);
    let resumed = s.client("resumed", V5);
    let fresh = s.client("fresh", V5);
    let h = s.client("h", V5);
    s.connect_persistent(legacy, 0);
    s.sub(legacy, "t", 1);
    s.disconnect(legacy);
    s.connect_persistent(resumed, 600);
    s.sub(resumed, "t", 1);
    s.disconnect(resumed);
    s.connect(fresh, |o| o.session_expiry = Some(600));
    s.sub(fresh, "t", 1);
    s.disconnect(fresh);
    s.connect(h, |_| {});
    s.publish_full(h, "t", "before", 1, false, None);
    s.publish_full(h, "t", "mei3", 1, false, Some(3));
    s.publish_full(h, "t", "mei100", 1, false, Some(100));
    s.w.stop_broker();
    s.wait(6);
    s.w.start_broker();
    for c in [legacy, resumed, fresh] {
        s.connect(c, |o| o.clean_start = false);
    }
    assert!(s.session_present(legacy));
    assert!(s.session_present(resumed));
    assert!(!s.session_present(fresh));
    assert_eq!(s.payloads(legacy), vec!["before", "mei100"]);
    let last = s.w.clients[resumed]
        .received
        .last()
        .unwrap()
        .payload
        .clone();
    assert_eq!(last.as_text(), Some("mei100"));
}

#[test]
fn without_persistence_every_session_is_lost() {
    let mut s = Sim::mosquitto();
    let c = s.client("c", V3);
    s.connect_persistent(c, 0);
    s.disconnect(c);
    s.w.stop_broker();
    s.w.start_broker();
    s.connect(c, |o| o.clean_start = false);
    assert!(!s.session_present(c));
}

#[test]
fn auto_reconnect_retries_until_the_broker_is_back() {
    let mut s = Sim::spec();
    let c = s.client("c", V3);
    s.w.clients[c].auto_reconnect = Some(session_engine::client::Backoff {
        initial: 1.0,
        multiplier: 2.0,
        max: 8.0,
        jitter: session_engine::client::Jitter::None,
    });
    s.connect(c, |_| {});
    s.w.stop_broker();
    s.wait(10);
    assert!(!s.w.clients[c].is_online());
    s.w.start_broker();
    // Attempts at 1, 3, 7, 15 s (1 + 2 + 4 + 8): back at 15 s.
    s.wait(4);
    assert!(!s.w.clients[c].is_online());
    s.wait(1);
    assert!(s.w.clients[c].is_online());
}

/// [MQTT-3.1.2-8]: a broker that stops closes its connections without a DISCONNECT, so on the
/// specification's profile each connected client's will is published as for any such close,
/// before the connections close: a subscriber still connected receives it.
#[test]
fn spec_publishes_the_wills_of_the_connections_it_closes_as_it_stops() {
    for v in [V3, V5] {
        let mut s = Sim::spec();
        let watcher = s.client("watcher", v);
        let dev = s.client("dev", v);
        s.connect(watcher, |_| {});
        s.sub(watcher, "lwt", 1);
        s.connect(dev, |o| o.will = Some(will("lwt", 0)));
        s.w.stop_broker();
        assert_eq!(s.wills_published(), 1, "{v}");
        assert_eq!(s.payloads(watcher), vec!["gone"], "{v}");
    }
}

/// 5.0 with a Will Delay: the will waits as after any close; the session is kept across the
/// restart, and a reconnect before the delay passes removes the will ([MQTT-3.1.3-9]); without
/// a reconnect it is published when the delay has passed.
#[test]
fn spec_lets_a_delayed_will_wait_across_a_restart() {
    for reconnect in [true, false] {
        let mut s = Sim::spec();
        let watcher = s.client("watcher", V5);
        let dev = s.client("dev", V5);
        s.connect_persistent(watcher, 600);
        s.sub(watcher, "lwt", 1);
        s.connect(dev, |o| {
            o.session_expiry = Some(600);
            o.will = Some(will("lwt", 30));
        });
        s.w.stop_broker();
        assert_eq!(
            s.wills_published(),
            0,
            "the Will Delay of 30 s has not passed"
        );
        s.wait(5);
        s.w.start_broker();
        s.connect(watcher, |o| {
            o.clean_start = false;
            o.session_expiry = Some(600);
        });
        if reconnect {
            s.connect(dev, |o| {
                o.clean_start = false;
                o.session_expiry = Some(600);
            });
        }
        s.wait(40);
        assert_eq!(
            s.wills_published(),
            usize::from(!reconnect),
            "reconnect {reconnect}"
        );
    }
}
