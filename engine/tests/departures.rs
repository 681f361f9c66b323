//! The behaviour catalogue (`session_engine::behaviour`) against the profiles and the engine:
//! the specification's variant has no entry and every other variant has one; the
//! specification's profile departs from nothing; and every deviation the engine reports while
//! playing a built-in or conformance scenario on a profile is one of that profile's listed
//! departures, so the page's list of departures before anything runs is complete.

use session_engine::behaviour::{Behaviour, Standing};
use session_engine::event::TraceItem;
use session_engine::profile::*;
use session_engine::{library, BrokerEvent, BrokerProfile, Player, Scenario};

fn check<B: Behaviour>() {
    let mut seen = Vec::new();
    for &v in B::ALL {
        assert!(!seen.contains(&v), "{v:?} listed twice");
        assert_eq!(
            serde_json::to_value(v).expect("serializes"),
            serde_json::Value::String(session_engine::behaviour::snake(v.name())),
            "the listed name of {v:?} is the one profile JSON uses"
        );
        seen.push(v);
        match v.entry() {
            None => assert_eq!(
                v,
                B::SPEC,
                "{v:?} is not the specification's yet has no entry"
            ),
            Some(e) => {
                assert_ne!(v, B::SPEC, "the specification's {v:?} has an entry");
                assert!(!e.spec.is_empty() && !e.broker.is_empty() && !e.source.is_empty());
                if e.standing == Standing::Departs {
                    assert!(!e.rules.is_empty(), "{v:?} departs from no named rule");
                }
            }
        }
    }
    assert!(B::ALL.contains(&B::SPEC));
}

#[test]
fn every_variant_but_the_specifications_has_an_entry() {
    check::<Overflow>();
    check::<Overlap>();
    check::<Qos2Forward>();
    check::<ReceiveMaxExceeded>();
    check::<Persistence>();
    check::<TimerGranularity>();
    check::<ExpiryRemainder>();
    check::<DelayedWills>();
    check::<SuppressedCopyIds>();
    check::<TakeoverWill>();
    check::<WillAfterSessionEnd>();
    check::<WillsAtShutdown>();
    check::<TakeoverNotice>();
    check::<ExpiredInflight>();
    check::<ExpiredQueued>();
    check::<QueueLimitCounts>();
    check::<WindowRefill>();
    check::<Resubscribe>();
    check::<SessionExpiryCap>();
    check::<RestoredSessions>();
    check::<NoSubscribersReply>();
    check::<ErrorNotice>();
    check::<UnknownPubrel>();
    check::<SecondConnect>();
}

#[test]
fn the_specification_departs_from_nothing_and_mosquitto_lists_its_departures() {
    assert_eq!(BrokerProfile::spec().departures(), vec![]);
    let m = BrokerProfile::mosquitto_2_0_11().departures();
    let fields: Vec<&str> = m.iter().map(|d| d.field).collect();
    for f in [
        "takeover_notice",
        "takeover_will",
        "will_after_session_end",
        "delayed_wills",
        "overlap_v311",
        "expiry_remainder",
        "keep_alive_check_secs",
    ] {
        assert!(fields.contains(&f), "mosquitto's {f} is listed: {fields:?}");
    }
    // Departures come before choices.
    let first_choice = m.iter().position(|d| d.entry.standing == Standing::Choice);
    assert!(
        first_choice.is_some_and(|i| m[i..].iter().all(|d| d.entry.standing == Standing::Choice))
    );
}

fn scenarios() -> Vec<Scenario> {
    let mut all = library::all();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/conformance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        all.push(Scenario::from_json(&text).unwrap_or_else(|e| panic!("{f:?}: {e}")));
    }
    all
}

#[test]
fn every_deviation_the_engine_reports_is_a_listed_departure() {
    let mut reported = 0;
    for sc in scenarios() {
        for profile in BrokerProfile::all() {
            let mut sc = sc.clone();
            sc.broker.profile = profile.id.to_string();
            let Ok(p) = Player::new(sc.clone()) else {
                continue;
            };
            let listed: Vec<&str> = profile
                .departures()
                .iter()
                .filter(|d| d.entry.standing == Standing::Departs)
                .flat_map(|d| d.entry.rules.iter().copied())
                .collect();
            for e in p.trace() {
                if let TraceItem::Broker {
                    event: BrokerEvent::Deviation { rule, .. },
                } = &e.item
                {
                    reported += 1;
                    assert!(
                        listed.contains(rule),
                        "{} on {}: the engine reports a departure from {rule} that the profile does not list ({listed:?})",
                        sc.id,
                        profile.id
                    );
                }
            }
        }
    }
    assert!(
        reported > 20,
        "the scenarios exercise departures ({reported})"
    );
}
