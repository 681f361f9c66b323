//! Property tests: random connect / subscribe / publish / disconnect / drop / wait sequences,
//! with invariants checked after every step.
#![cfg(not(target_arch = "wasm32"))]
mod common;
use common::*;
use proptest::prelude::*;
use session_engine::event::{BrokerEvent, ClientEvent, TraceItem};
use session_engine::profile::BrokerProfile;
use session_engine::world::Direction;
use session_engine::{ClientId, Version};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    Connect {
        c: usize,
        clean: bool,
        expiry: u32,
        v5: bool,
    },
    Subscribe {
        c: usize,
        f: usize,
        q: u8,
    },
    Unsubscribe {
        c: usize,
        f: usize,
    },
    Publish {
        c: usize,
        t: usize,
        q: u8,
    },
    Disconnect {
        c: usize,
    },
    Drop {
        c: usize,
    },
    Wait {
        ms: u64,
    },
    LoseNext {
        c: usize,
        to_broker: bool,
    },
}

const FILTERS: [&str; 5] = ["a", "a/#", "+/b", "#", "a/b"];
const TOPICS: [&str; 3] = ["a", "a/b", "c/b"];
// Clients 0..3 have their own ids; client 3 shares client 0's id (takeovers).
const IDS: [&str; 4] = ["c0", "c1", "c2", "c0"];

fn op() -> impl Strategy<Value = Op> {
    let c = 0usize..4;
    prop_oneof![
        (
            c.clone(),
            any::<bool>(),
            prop_oneof![Just(0u32), Just(5), Just(60), Just(u32::MAX)],
            any::<bool>()
        )
            .prop_map(|(c, clean, expiry, v5)| Op::Connect {
                c,
                clean,
                expiry,
                v5
            }),
        (c.clone(), 0usize..FILTERS.len(), 0u8..3).prop_map(|(c, f, q)| Op::Subscribe { c, f, q }),
        (c.clone(), 0usize..FILTERS.len()).prop_map(|(c, f)| Op::Unsubscribe { c, f }),
        (c.clone(), 0usize..TOPICS.len(), 0u8..3).prop_map(|(c, t, q)| Op::Publish { c, t, q }),
        c.clone().prop_map(|c| Op::Disconnect { c }),
        c.clone().prop_map(|c| Op::Drop { c }),
        prop_oneof![Just(500u64), Just(3000), Just(10_000), Just(120_000)]
            .prop_map(|ms| Op::Wait { ms }),
        (c, any::<bool>()).prop_map(|(c, to_broker)| Op::LoseNext { c, to_broker }),
    ]
}

fn profile() -> impl Strategy<Value = BrokerProfile> {
    prop_oneof![
        Just(BrokerProfile::spec()),
        Just(BrokerProfile::mosquitto_2_0_11()),
        Just(BrokerProfile::emqx())
    ]
}

fn apply(s: &mut Sim, op: &Op) {
    match *op {
        Op::Connect {
            c,
            clean,
            expiry,
            v5,
        } => {
            let version = if v5 { Version::V5 } else { Version::V311 };
            s.connect(c, |o| {
                o.version = version;
                o.clean_start = clean;
                o.session_expiry = v5.then_some(expiry);
                o.keep_alive = 0;
            });
        }
        Op::Subscribe { c, f, q } => {
            if s.w.clients[c].is_online() {
                s.sub(c, FILTERS[f], q);
            }
        }
        Op::Unsubscribe { c, f } => {
            if s.w.clients[c].is_online() {
                s.mark_unsub(c, FILTERS[f]);
            }
        }
        Op::Publish { c, t, q } => s.publish(c, TOPICS[t], "p", q),
        Op::Disconnect { c } => {
            if s.w.clients[c].is_online() {
                s.disconnect(c);
            }
        }
        Op::Drop { c } => {
            if s.w.clients[c].conn().is_some() {
                s.drop_link(c);
            }
        }
        Op::Wait { ms } => s.wait_ms(ms),
        Op::LoseNext { c, to_broker } => {
            s.w.lose_next(
                c,
                if to_broker {
                    Direction::ToBroker
                } else {
                    Direction::ToClient
                },
                1,
                None,
            );
        }
    }
}

fn new_world(p: BrokerProfile) -> Sim {
    let mut s = Sim::new(p);
    for (i, id) in IDS.iter().enumerate() {
        s.client_with_id(&format!("k{i}"), id, Version::V311);
    }
    s
}

/// Invariants that hold after every step.
fn check(
    s: &Sim,
    from: usize,
    ever_subscribed: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<(), TestCaseError> {
    let now = s.now();
    // An expired session is gone.
    for sess in s.w.broker.sessions().values() {
        if let Some(t) = sess.expires_at {
            prop_assert!(
                t > now,
                "session {} should have expired at {t} (now {now})",
                sess.client_id
            );
        }
        prop_assert!(
            sess.conn.is_some() || sess.expiry > 0,
            "an offline session with expiry 0 exists: {}",
            sess.client_id
        );
    }
    // At most one live connection per client id, at the broker and among the clients.
    let mut per_id: BTreeMap<&ClientId, usize> = BTreeMap::new();
    for c in s.w.broker.connections().values() {
        if let Some(id) = &c.client_id {
            *per_id.entry(id).or_default() += 1;
        }
    }
    prop_assert!(
        per_id.values().all(|n| *n <= 1),
        "two live connections for one client id: {per_id:?}"
    );
    let online: Vec<&str> =
        s.w.clients
            .iter()
            .filter(|c| c.is_online())
            .map(|c| c.client_id.as_str())
            .collect();
    let unique: BTreeSet<&str> = online.iter().copied().collect();
    prop_assert_eq!(online.len(), unique.len(), "two clients online with one id");
    for e in &s.w.trace[from..] {
        match &e.item {
            TraceItem::Broker {
                event:
                    BrokerEvent::Subscribed {
                        client_id, filter, ..
                    },
            } => {
                ever_subscribed
                    .entry(client_id.to_string())
                    .or_default()
                    .insert(filter.clone());
            }
            // Clean start leaves nothing behind: a session created by Clean Start = 1 is empty.
            TraceItem::Broker {
                event:
                    BrokerEvent::ConnectAccepted {
                        client_id,
                        clean_start: true,
                        session_present,
                        ..
                    },
            } => {
                prop_assert!(!session_present);
                if let Some(sess) = s.w.broker.sessions().get(client_id) {
                    if sess.conn.is_some() && sess.created_at == e.time {
                        prop_assert!(
                            sess.queue.is_empty()
                                && sess.inflight.is_empty()
                                && sess.incoming_qos2.is_empty(),
                            "clean session {client_id} carries state"
                        );
                    }
                }
            }
            // Never delivered without a matching subscription of that client id.
            TraceItem::Client {
                client,
                event: ClientEvent::Delivered { topic, .. },
            } => {
                let id = IDS[client[1..].parse::<usize>().unwrap()];
                let filters = ever_subscribed.get(id).cloned().unwrap_or_default();
                prop_assert!(
                    filters
                        .iter()
                        .any(|f| session_engine::topic::matches(f, topic)),
                    "{client} got {topic} without a matching subscription ({filters:?})"
                );
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(p in profile(), ops in proptest::collection::vec(op(), 1..40)) {
        let mut s = new_world(p);
        let mut subs = BTreeMap::new();
        for op in &ops {
            let from = s.w.trace.len();
            apply(&mut s, op);
            check(&s, from, &mut subs)?;
        }
        prop_assert!(s.w.internal_error.is_none());
    }

    #[test]
    fn same_ops_same_trace(p in profile(), ops in proptest::collection::vec(op(), 1..30)) {
        let run = || {
            let mut s = new_world(p.clone());
            for op in &ops { apply(&mut s, op); }
            s.w.trace.iter().map(|e| e.describe()).collect::<Vec<_>>()
        };
        prop_assert_eq!(run(), run());
    }
}

#[derive(Clone, Debug)]
enum Trouble {
    Publish,
    DropSubscriber,
    ReconnectSubscriber,
    DropPublisher,
    ReconnectPublisher,
    LoseToSubscriber,
    LoseFromSubscriber,
    LoseToPublisher,
    Wait,
}

fn trouble() -> impl Strategy<Value = Trouble> {
    prop_oneof![
        3 => Just(Trouble::Publish),
        1 => Just(Trouble::DropSubscriber),
        1 => Just(Trouble::ReconnectSubscriber),
        1 => Just(Trouble::DropPublisher),
        1 => Just(Trouble::ReconnectPublisher),
        1 => Just(Trouble::LoseToSubscriber),
        1 => Just(Trouble::LoseFromSubscriber),
        1 => Just(Trouble::LoseToPublisher),
        1 => Just(Trouble::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A persistent QoS 1/2 subscriber that comes back before its session expires, on a broker
    /// without a queue limit, loses nothing; at QoS 2 nothing arrives twice.
    #[test]
    fn persistent_subscriber_loses_nothing_and_qos2_never_duplicates(q in 1u8..3, v5 in any::<bool>(), steps in proptest::collection::vec(trouble(), 1..40)) {
        let version = if v5 { Version::V5 } else { Version::V311 };
        let mut s = Sim::spec();
        let sub = s.client("sub", version);
        let publ = s.client("pub", version);
        let persistent = |s: &mut Sim, c: usize| s.connect(c, |o| { o.clean_start = false; o.session_expiry = v5.then_some(3600); o.keep_alive = 0; });
        persistent(&mut s, sub);
        s.sub(sub, "t", q);
        persistent(&mut s, publ);
        let mut sent = 0;
        for st in &steps {
            match st {
                Trouble::Publish => {
                    if s.w.clients[publ].is_online() {
                        sent += 1;
                        s.publish(publ, "t", &format!("{sent}"), q);
                    }
                }
                Trouble::DropSubscriber => if s.w.clients[sub].conn().is_some() { s.drop_link(sub) },
                Trouble::ReconnectSubscriber => persistent(&mut s, sub),
                Trouble::DropPublisher => if s.w.clients[publ].conn().is_some() { s.drop_link(publ) },
                Trouble::ReconnectPublisher => persistent(&mut s, publ),
                Trouble::LoseToSubscriber => { s.w.lose_next(sub, Direction::ToClient, 1, None); }
                Trouble::LoseFromSubscriber => { s.w.lose_next(sub, Direction::ToBroker, 1, None); }
                Trouble::LoseToPublisher => { s.w.lose_next(publ, Direction::ToClient, 1, None); }
                Trouble::Wait => s.wait(30),
            }
        }
        // Both come back once more over healthy links, and everything settles.
        if s.w.clients[publ].conn().is_some() { s.drop_link(publ); }
        persistent(&mut s, publ);
        if s.w.clients[sub].conn().is_some() { s.drop_link(sub); }
        persistent(&mut s, sub);
        s.wait(1);
        let got: Vec<String> = s.payloads(sub);
        let distinct: BTreeSet<&String> = got.iter().collect();
        prop_assert_eq!(distinct.len(), sent, "published {}, received {:?}", sent, got);
        if q == 2 {
            prop_assert_eq!(got.len(), sent, "QoS 2 delivered something twice: {:?}", got);
        }
    }
}
