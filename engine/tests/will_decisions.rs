//! The will decision as truth tables: every takeover, close, reconnect and expiry case on the
//! specification and on mosquitto 2.0.11, written out by hand from the specification's
//! statements and mosquitto's `handle_connect.c` / `will_delay.c` (see the profile docs).

use session_engine::broker::{decide_will, WillContext, WillFate, WillMoment};
use session_engine::BrokerProfile;
use WillFate::*;

fn ctx(v5: bool, session_expiry: u32, clean_start: bool, delay: u32) -> WillContext {
    WillContext {
        v5,
        session_expiry,
        clean_start,
        delay,
        outlived_session: false,
    }
}

fn fate(p: &BrokerProfile, m: WillMoment, c: WillContext) -> WillFate {
    decide_will(p, m, c).fate
}

/// (old v5, old Session Expiry, old clean, Will Delay, new Clean Start) -> (spec, mosquitto).
/// The expected fates: (on the specification, on mosquitto 2.0.11).
type Fates = (WillFate, WillFate);

/// Old v5, old Session Expiry, old clean, Will Delay, new Clean Start.
type TakeoverCase = (bool, u32, bool, u32, bool);

const TAKEOVER: &[(TakeoverCase, Fates)] = &[
    // 3.1.1: the old connection closed without DISCONNECT, so the spec publishes every time.
    ((false, 0, true, 0, false), (Publish, PublishBeforeClose)),
    ((false, 0, true, 0, true), (Publish, Publish)),
    (
        (false, u32::MAX, false, 0, false),
        (
            Publish,
            Discard {
                why: "both connections are persistent, so the will is cleared",
            },
        ),
    ),
    ((false, u32::MAX, false, 0, true), (Publish, Publish)),
    // 5.0, Session Expiry 0: the takeover ends the old session.
    ((true, 0, true, 0, false), (Publish, PublishBeforeClose)),
    ((true, 0, true, 0, true), (Publish, Publish)),
    (
        (true, 0, true, 30, false),
        (
            Publish,
            Discard {
                why: "the delayed will was removed during the takeover",
            },
        ),
    ),
    // 5.0, the session goes on.
    (
        (true, 300, false, 0, false),
        (
            Publish,
            Discard {
                why: "both connections are persistent, so the will is cleared",
            },
        ),
    ),
    ((true, 300, false, 0, true), (Publish, Publish)),
    (
        (true, 300, false, 30, false),
        (
            Discard {
                why: "a new connection resumed the session before the Will Delay passed",
            },
            Discard {
                why: "both connections are persistent, so the will is cleared",
            },
        ),
    ),
    (
        (true, 300, false, 30, true),
        (
            Publish,
            Discard {
                why: "the delayed will was removed during the takeover",
            },
        ),
    ),
];

#[test]
fn takeover_truth_table() {
    let (spec, mosq) = (BrokerProfile::spec(), BrokerProfile::mosquitto_2_0_11());
    for &((v5, sei, clean, delay, new_clean), (want_spec, want_mosq)) in TAKEOVER {
        let m = WillMoment::TakenOver {
            new_clean_start: new_clean,
        };
        let c = ctx(v5, sei, clean, delay);
        let row = format!("v5={v5} SEI={sei} clean={clean} delay={delay} new_clean={new_clean}");
        assert_eq!(fate(&spec, m, c), want_spec, "spec, {row}");
        assert_eq!(fate(&mosq, m, c), want_mosq, "mosquitto, {row}");
    }
}

/// (v5, Session Expiry, Will Delay) -> (spec, mosquitto) for a close without DISCONNECT.
const CLOSED: &[((bool, u32, u32), Fates)] = &[
    ((false, 0, 0), (Publish, Publish)),
    ((false, u32::MAX, 0), (Publish, Publish)),
    ((true, 0, 0), (Publish, Publish)),
    ((true, 0, 30), (Publish, Linger { secs: 30 })),
    ((true, 300, 0), (Publish, Publish)),
    ((true, 300, 30), (Delay { secs: 30 }, Delay { secs: 30 })),
    // The will waits at most until the session ends ([MQTT-3.1.2-8] 5.0).
    ((true, 10, 30), (Delay { secs: 10 }, Delay { secs: 10 })),
];

#[test]
fn close_truth_table() {
    let (spec, mosq) = (BrokerProfile::spec(), BrokerProfile::mosquitto_2_0_11());
    for &((v5, sei, delay), (want_spec, want_mosq)) in CLOSED {
        let c = ctx(v5, sei, false, delay);
        let row = format!("v5={v5} SEI={sei} delay={delay}");
        assert_eq!(fate(&spec, WillMoment::Closed, c), want_spec, "spec, {row}");
        assert_eq!(
            fate(&mosq, WillMoment::Closed, c),
            want_mosq,
            "mosquitto, {row}"
        );
        for p in [&spec, &mosq] {
            assert!(
                matches!(fate(p, WillMoment::NormalDisconnect, c), Discard { .. }),
                "{row}: DISCONNECT 0x00 discards the will ([MQTT-3.14.4-3])"
            );
        }
    }
}

#[test]
fn waiting_will_truth_table() {
    let (spec, mosq) = (BrokerProfile::spec(), BrokerProfile::mosquitto_2_0_11());
    let waiting = ctx(true, 300, false, 30);
    let lingering = WillContext {
        outlived_session: true,
        ..ctx(true, 0, true, 30)
    };
    let resumed = WillMoment::Reconnected { clean_start: false };
    let clean = WillMoment::Reconnected { clean_start: true };
    // (moment, context, spec, mosquitto)
    let rows = [
        (resumed, waiting, "discard", "discard"),
        (clean, waiting, "publish", "discard"),
        (resumed, lingering, "discard", "discard"),
        (clean, lingering, "discard", "discard"),
        (WillMoment::DelayPassed, waiting, "publish", "publish"),
        (WillMoment::DelayPassed, lingering, "publish", "publish"),
        (WillMoment::SessionExpired, waiting, "publish", "publish"),
        (WillMoment::BrokerStopping, waiting, "keep", "publish"),
        // A stopping broker closes connections without DISCONNECT: the spec decides the will as
        // for any such close ([MQTT-3.1.2-8]): it waits its Will Delay, or goes out at once.
        // mosquitto 2.0.11 sends every connected client's will as it stops (conformance 51).
        (WillMoment::ClosedByBrokerStop, waiting, "wait", "publish"),
        (
            WillMoment::ClosedByBrokerStop,
            ctx(true, 300, false, 0),
            "publish",
            "publish",
        ),
        (
            WillMoment::ClosedByBrokerStop,
            ctx(false, 0, true, 0),
            "publish",
            "publish",
        ),
        // Only DISCONNECT 0x00 deletes a 5.0 will; mosquitto deletes it for all but 0x04
        // (conformance 56).
        (
            WillMoment::DisconnectWithError { code: 0x80 },
            ctx(true, 300, false, 0),
            "publish",
            "discard",
        ),
        (
            WillMoment::DisconnectWithError { code: 0x80 },
            waiting,
            "wait",
            "discard",
        ),
    ];
    let word = |f: WillFate| match f {
        Publish | PublishBeforeClose => "publish",
        Discard { .. } => "discard",
        KeepWaiting => "keep",
        Delay { .. } | Linger { .. } => "wait",
    };
    for (m, c, want_spec, want_mosq) in rows {
        assert_eq!(word(fate(&spec, m, c)), want_spec, "spec, {m:?} {c:?}");
        assert_eq!(word(fate(&mosq, m, c)), want_mosq, "mosquitto, {m:?} {c:?}");
    }
}

/// Wherever mosquitto's will differs from the specification's, the decision says so as a
/// deviation, and nowhere else. (A stopping broker is left out: the specification lets a
/// server defer those wills, and each profile's reading of that is a choice, not a rule.)
#[test]
fn deviations_exactly_where_mosquitto_departs() {
    let (spec, mosq) = (BrokerProfile::spec(), BrokerProfile::mosquitto_2_0_11());
    // Fates compared by kind: a discard is a discard whatever the reason given.
    let norm = |f: WillFate| match f {
        PublishBeforeClose => Publish,
        Discard { .. } => Discard { why: "" },
        other => other,
    };
    let mut moments = vec![
        WillMoment::Closed,
        WillMoment::NormalDisconnect,
        WillMoment::DisconnectWithError { code: 0x80 },
        WillMoment::DelayPassed,
        WillMoment::SessionExpired,
    ];
    for b in [false, true] {
        moments.push(WillMoment::TakenOver { new_clean_start: b });
        moments.push(WillMoment::Reconnected { clean_start: b });
    }
    let mut seen = 0;
    for m in moments {
        for v5 in [false, true] {
            for sei in [0, 300, u32::MAX] {
                for clean in [false, true] {
                    for delay in [0, 30] {
                        if !v5 && delay > 0 {
                            continue;
                        }
                        let c = ctx(v5, sei, clean, delay);
                        let (s, d) = (decide_will(&spec, m, c), decide_will(&mosq, m, c));
                        assert!(s.deviation.is_none(), "the spec never departs: {m:?} {c:?}");
                        assert_eq!(
                            d.deviation.is_some(),
                            norm(s.fate) != norm(d.fate),
                            "{m:?} {c:?}: spec {:?}, mosquitto {:?}",
                            s.fate,
                            d.fate
                        );
                        assert!(!d.cite.is_empty() && !s.cite.is_empty());
                        seen += usize::from(d.deviation.is_some());
                    }
                }
            }
        }
    }
    assert!(
        seen > 5,
        "the table exercises mosquitto's departures ({seen})"
    );
}
