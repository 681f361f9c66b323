//! Takeover by a second connection with the same client id.
//! Checks [MQTT-3.1.4-2] (3.1.1), [MQTT-3.1.4-3] (5.0), the will rules of §3.1.4 and
//! [MQTT-3.1.3-9], and mosquitto 2.0.11's departures (`TakeoverNotice`, `TakeoverWill`;
//! docs/DIVERGENCES.md).
mod common;
use common::*;
use session_engine::event::{ClientEvent, TraceItem};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn got_disconnect_0x8e(s: &Sim, c: usize) -> bool {
    let name = &s.w.clients[c].name;
    s.w.trace.iter().any(|e| matches!(&e.item, TraceItem::Client { client, event: ClientEvent::Disconnected { reason_code: Some(0x8E), .. } } if client == name))
}

#[test]
fn v311_takeover_closes_the_old_connection() {
    let mut s = Sim::spec();
    let a = s.client_with_id("a", "X", V3);
    let b = s.client_with_id("b", "X", V3);
    s.connect(a, |_| {});
    s.connect(b, |_| {});
    assert!(!s.session_present(b));
    assert!(!s.w.clients[a].is_online());
    assert!(s.w.clients[b].is_online());
}

#[test]
fn v311_takeover_of_a_persistent_session_keeps_subscriptions() {
    let mut s = Sim::spec();
    let a = s.client_with_id("a", "X", V3);
    let b = s.client_with_id("b", "X", V3);
    let h = s.client("h", V3);
    s.connect_persistent(a, 0);
    s.sub(a, "s11/t", 1);
    s.connect_persistent(b, 0);
    assert!(s.session_present(b));
    s.connect(h, |_| {});
    s.publish(h, "s11/t", "hi", 1);
    assert_eq!(s.payloads(b), vec!["hi"]);
}

#[test]
fn v5_takeover_sends_0x8e_in_the_spec_but_not_in_mosquitto_2_0_11() {
    for (mosq, expect) in [(false, true), (true, false)] {
        let mut s = if mosq { Sim::mosquitto() } else { Sim::spec() };
        let a = s.client_with_id("a", "X", V5);
        let b = s.client_with_id("b", "X", V5);
        s.connect(a, |o| o.session_expiry = Some(30));
        s.sub(a, "t", 1);
        s.connect(b, |o| {
            o.clean_start = false;
            o.session_expiry = Some(30);
        });
        assert!(s.session_present(b));
        assert_eq!(got_disconnect_0x8e(&s, a), expect, "mosquitto={mosq}");
        assert_eq!(s.deviations() > 0, mosq);
    }
}

/// The 5.0 will on takeover, played end to end: (old SEI, will delay, new clean start) ->
/// (spec will, mosquitto will, SP). `will_decisions.rs` has the same table for the pure decision.
#[test]
fn v5_will_on_takeover_table() {
    let rows = [
        (0, 0, false, true, true, false),
        (30, 0, false, true, false, true),
        (30, 5, false, false, false, true),
        (30, 0, true, true, true, false),
        (30, 5, true, true, false, false),
    ];
    for (sei, wd, new_clean, spec_will, mosq_will, sp) in rows {
        for mosq in [false, true] {
            let mut s = if mosq { Sim::mosquitto() } else { Sim::spec() };
            let a = s.client_with_id("a", "X", V5);
            let b = s.client_with_id("b", "X", V5);
            let watcher = s.client("w", V5);
            s.connect(watcher, |_| {});
            s.sub(watcher, "lwt", 0);
            s.connect(a, |o| {
                o.session_expiry = Some(sei);
                o.will = Some(will("lwt", wd));
            });
            s.connect(b, |o| {
                o.clean_start = new_clean;
                o.session_expiry = Some(30);
            });
            s.wait(8);
            let expect = if mosq { mosq_will } else { spec_will };
            assert_eq!(
                s.payloads(watcher).len(),
                usize::from(expect),
                "SEI {sei} WD {wd} new CS {new_clean} mosquitto={mosq}"
            );
            assert_eq!(
                s.session_present(b),
                sp,
                "SP for SEI {sei} WD {wd} new CS {new_clean}"
            );
        }
    }
}

/// The 3.1.1 will on takeover, for each Clean Session of the old (A) and new (B) connection.
#[test]
fn v311_will_on_takeover() {
    for (a_clean, b_clean, mosq_will) in [
        (true, true, true),
        (true, false, true),
        (false, true, true),
        (false, false, false),
    ] {
        for mosq in [false, true] {
            let mut s = if mosq { Sim::mosquitto() } else { Sim::spec() };
            let a = s.client_with_id("a", "X", V3);
            let b = s.client_with_id("b", "X", V3);
            let watcher = s.client("w", V3);
            s.connect(watcher, |_| {});
            s.sub(watcher, "lwt", 0);
            s.connect(a, |o| {
                o.clean_start = a_clean;
                o.will = Some(will("lwt", 0));
            });
            s.connect(b, |o| o.clean_start = b_clean);
            let expect = if mosq { mosq_will } else { true };
            assert_eq!(
                s.payloads(watcher).len(),
                usize::from(expect),
                "A CS {a_clean} B CS {b_clean} mosquitto={mosq}"
            );
        }
    }
}

#[test]
fn mosquitto_sends_the_old_sessions_will_before_closing_it_so_it_may_get_its_own_will() {
    // handle_connect.c: context__send_will(found_context) comes before do_disconnect, and with
    // Clean Start 0 the old session's subscriptions are still attached to the old connection.
    // Found by verify-random (seeds 773, 793).
    let mut s = Sim::mosquitto();
    let old = s.client_with_id("old", "dev", V5);
    let new = s.client_with_id("new", "dev", V5);
    s.connect(old, |o| o.will = Some(will("t/a", 0)));
    s.sub(old, "t/a", 0);
    s.connect(new, |o| o.clean_start = false);
    assert_eq!(
        s.payloads(old),
        vec!["gone"],
        "the will reached the old connection"
    );
    assert!(s.payloads(new).is_empty());
}
