//! The client's own side: its offline buffer (the broker never queues a client's outgoing
//! messages), discarding its state when Session Present = 0 ([MQTT-3.2.2-5] 5.0), a 3.1.1 session
//! resumed over 5.0 (mosquitto), and a client that exceeds the server's Receive Maximum.
mod common;
use common::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn offline_publishes_are_lost_without_a_client_buffer_and_kept_with_one() {
    let mut s = Sim::spec();
    let naive = s.client("naive", V3);
    let buffered = s.client("buffered", V3);
    let sub = s.client("sub", V3);
    s.w.clients[buffered].buffer_capacity = Some(2);
    s.connect(sub, |_| {});
    s.sub(sub, "t/#", 1);
    for c in [naive, buffered] {
        s.connect_persistent(c, 0);
        s.drop_link(c);
        for i in 1..=3 {
            s.publish(c, &format!("t/{c}"), &format!("r{i}"), 1);
        }
        s.connect(c, |o| o.clean_start = false);
    }
    assert_eq!(
        s.payloads(sub),
        vec!["r2", "r3"],
        "the ring buffer of 2 kept the newest two"
    );
}

#[test]
fn client_discards_unacked_state_when_the_broker_has_no_session() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    s.connect(c, |o| o.session_expiry = Some(5));
    s.w.lose_next(
        c,
        session_engine::world::Direction::ToClient,
        1,
        Some("PUBACK".into()),
    );
    s.publish(c, "t", "x", 1);
    assert_eq!(s.w.clients[c].outgoing.len(), 1);
    s.drop_link(c);
    s.wait(10);
    s.connect(c, |o| o.clean_start = false);
    assert!(!s.session_present(c));
    assert!(s.w.clients[c].outgoing.is_empty());
}

#[test]
fn client_resends_unacked_publish_with_dup_when_session_present() {
    let mut s = Sim::spec();
    let c = s.client("c", V5);
    let sub = s.client("sub", V5);
    s.connect(sub, |_| {});
    s.sub(sub, "t", 1);
    s.connect(c, |o| o.session_expiry = Some(60));
    s.w.lose_next(
        c,
        session_engine::world::Direction::ToClient,
        1,
        Some("PUBACK".into()),
    );
    s.publish(c, "t", "x", 1);
    s.drop_link(c);
    s.connect(c, |o| {
        o.clean_start = false;
        o.session_expiry = Some(60);
    });
    let got = s.got_all(sub);
    assert_eq!(
        got,
        vec![("x".into(), 1, false), ("x".into(), 1, false)],
        "QoS 1: at least once, the subscriber sees it twice"
    );
}

#[test]
fn v311_session_resumed_by_a_v5_client_on_mosquitto() {
    let mut s = Sim::mosquitto();
    let c = s.client("c", V3);
    let h = s.client("h", V3);
    s.connect_persistent(c, 0);
    s.sub(c, "x", 1);
    s.disconnect(c);
    s.connect(h, |_| {});
    s.publish(h, "x", "queued", 1);
    s.connect(c, |o| {
        o.version = V5;
        o.clean_start = false;
    });
    assert!(s.session_present(c));
    assert_eq!(s.payloads(c), vec!["queued"]);
    s.disconnect(c);
    s.connect(c, |o| {
        o.version = V5;
        o.clean_start = false;
    });
    assert!(
        !s.session_present(c),
        "the v5 connection's Session Expiry 0 applied at the close"
    );
}

#[test]
fn exceeding_the_server_receive_maximum_spec_0x93_mosquitto_0x97() {
    for (mosq, expect) in [
        (false, "DISCONNECT rc=0x93"),
        (true, "PUBREC id=21 rc=0x97"),
    ] {
        let mut s = if mosq { Sim::mosquitto() } else { Sim::spec() };
        s.w.broker = session_engine::Broker::new(
            {
                let mut p = s.w.broker.profile().clone();
                p.server_receive_maximum = Some(20);
                p
            },
            1,
        );
        let c = s.client("c", V5);
        s.connect(c, |_| {});
        s.w.lose_next(
            c,
            session_engine::world::Direction::ToBroker,
            21,
            Some("PUBREL".into()),
        );
        let mut seen = Vec::new();
        for i in 0..21 {
            s.publish(c, "t", &format!("{i}"), 2);
            seen.extend(s.packets_to(c));
        }
        assert!(
            seen.iter().any(|p| p == expect),
            "mosquitto={mosq}: {:?}",
            &seen[seen.len().saturating_sub(3)..]
        );
    }
}

#[test]
fn strict_v5_client_without_state_closes_on_session_present_1() {
    let mut s = Sim::spec();
    let a = s.client_with_id("a", "X", V5);
    let b = s.client_with_id("b", "X", V5);
    s.w.clients[b].strict_session_present = true;
    s.connect(a, |o| o.session_expiry = Some(60));
    s.disconnect(a);
    s.connect(b, |o| {
        o.clean_start = false;
        o.session_expiry = Some(60);
    });
    assert!(s.session_present(b));
    assert!(
        !s.w.clients[b].is_online(),
        "[MQTT-3.2.2-4]: it closed the connection"
    );
    assert!(
        s.has_session("X"),
        "closed with Session Expiry 60: the broker stores the session again"
    );
    // The same client with its own state resumes normally.
    s.connect(a, |o| o.clean_start = false);
    assert!(s.w.clients[a].is_online());
}

/// `release_acks`: the acknowledgements held so far go out, and the client goes on holding
/// new ones (switching `withhold_acks` off and on would also acknowledge m2 at once).
#[test]
fn releasing_held_acks_sends_them_and_keeps_holding_new_ones() {
    let mut s = Sim::spec();
    let (sub, publ) = (s.client("sub", V5), s.client("pub", V5));
    s.connect(sub, |o| o.receive_maximum = Some(1));
    s.sub(sub, "w/#", 1);
    s.w.set_withhold_acks(sub, true);
    s.connect(publ, |_| {});
    s.publish(publ, "w/1", "m1", 1);
    s.publish(publ, "w/2", "m2", 1);
    assert_eq!(s.payloads(sub), vec!["m1"], "the window of one is full");
    s.mark_now();
    s.w.release_acks(sub);
    let sent: Vec<String> = s
        .last()
        .iter()
        .filter_map(|e| match &e.item {
            session_engine::TraceItem::Packet {
                from: session_engine::event::Endpoint::Client(c),
                packet,
                ..
            } if c == "sub" => Some(packet.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec!["PUBACK id=1"], "m1's PUBACK only; m2's is held");
    assert_eq!(s.payloads(sub), vec!["m1", "m2"]);
    s.publish(publ, "w/3", "m3", 1);
    assert_eq!(s.payloads(sub), vec!["m1", "m2"], "m3 waits behind m2");
}

/// The reconnect after closing on an unexpected Session Present draws its jitter from the
/// world's seeded generator, like every other reconnect: another seed, another delay.
#[test]
fn the_reconnect_after_an_unexpected_session_present_follows_the_seed() {
    use session_engine::client::{Backoff, Jitter};
    use session_engine::{BrokerProfile, ClientEvent, TraceItem, World};
    let delay = |seed: u64| {
        let mut s = Sim::spec();
        s.w = World::new(BrokerProfile::spec(), seed);
        let a = s.client_with_id("a", "X", V5);
        let b = s.client_with_id("b", "X", V5);
        s.w.clients[b].strict_session_present = true;
        s.w.clients[b].auto_reconnect = Some(Backoff {
            initial: 10.0,
            multiplier: 2.0,
            max: 60.0,
            jitter: Jitter::Full,
        });
        s.connect(a, |o| o.session_expiry = Some(60));
        s.disconnect(a);
        s.connect(b, |o| {
            o.clean_start = false;
            o.session_expiry = Some(60);
        });
        s.w.trace
            .iter()
            .find_map(|e| match &e.item {
                TraceItem::Client {
                    event: ClientEvent::ReconnectScheduled { at, .. },
                    ..
                } => Some(*at),
                _ => None,
            })
            .expect("a reconnect is scheduled")
    };
    let delays: std::collections::BTreeSet<_> = (1..=6).map(delay).collect();
    assert!(
        delays.len() > 1,
        "every seed drew the same delay: {delays:?}"
    );
    assert_eq!(delay(3), delay(3), "the same seed, the same delay");
}
