//! What became of each message copy, and why (`session_engine::fate`): outcomes, the deciding
//! link and its rule, over the built-in scenarios and small hand-written ones.
use session_engine::fate::{CopyAt, CopyOutcome, Fates, Recipient, Trouble};
use session_engine::statement::{self, cited};
use session_engine::{library, BrokerProfile, DropReason, Player, QoS};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn play(id: &str) -> Player {
    Player::from_json(library::text_by_id(id).unwrap()).unwrap()
}

fn scenario(version: &str, broker: &str, clients: &str, steps: &str) -> Player {
    let text = format!(
        r#"{{"format": 1, "id": "t", "title": "t", "version": "{version}", "broker": "{broker}",
            "seed": 1, "clients": {clients}, "steps": {steps}}}"#
    );
    Player::from_json(&text).unwrap_or_else(|e| panic!("{e:?}"))
}

/// The copy of the message with `payload` for `to` ("nobody", "NAME (publisher)" or a client
/// name) at the end of `step`.
fn copy<'a>(f: &'a Fates, step: usize, payload: &str, to: &str) -> CopyAt<'a> {
    let m = f
        .at(step)
        .into_iter()
        .find(|m| m.payload_text() == Some(payload))
        .unwrap_or_else(|| panic!("no message {payload} at step {step}"));
    let found = m.copies().find(|c| c.to().label() == to);
    found.unwrap_or_else(|| {
        panic!(
            "{payload}: no copy for {to}: {:?}",
            m.copies().map(|c| c.to().label()).collect::<Vec<_>>()
        )
    })
}

fn deciding_cite(c: &CopyAt) -> Option<&'static str> {
    c.deciding().expect("a deciding link").cite
}

fn last(p: &Player) -> usize {
    p.len() - 1
}

#[test]
fn qos0_for_an_offline_client_is_dropped_by_mosquitto() {
    let p = play("qos0-lost-offline");
    let c = copy(p.fates(), last(&p), "m1", "display");
    assert_eq!(
        c.outcome(),
        CopyOutcome::Dropped {
            reason: DropReason::Qos0NotQueued
        }
    );
    assert_eq!(c.trouble(), Some(Trouble::Dropped));
    assert!(deciding_cite(&c)
        .unwrap()
        .starts_with("[MQTT-3.1.2-5] 3.1.1"));
}

#[test]
fn a_copy_queued_for_an_offline_persistent_session_is_delivered_at_reconnect() {
    let p = play("qos0-lost-offline");
    let f = p.fates();
    let before = copy(f, last(&p) - 1, "m2", "display");
    assert_eq!(
        before.outcome(),
        CopyOutcome::Queued {
            qos: QoS::AtLeastOnce,
            online: false
        }
    );
    assert_eq!(deciding_cite(&before), Some("[MQTT-3.1.2-5] 3.1.1"));
    let after = copy(f, last(&p), "m2", "display");
    assert_eq!(
        after.outcome(),
        CopyOutcome::Delivered {
            qos: QoS::AtLeastOnce,
            dup: false
        }
    );
    // Kept because the stored session keeps it: that is what decided it reached the display.
    assert_eq!(deciding_cite(&after), Some("[MQTT-3.1.2-5] 3.1.1"));
    assert!(after.trouble().is_none());
    let texts: Vec<&str> = after.chain().map(|(l, _)| l.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("sent from the queue")),
        "{texts:?}"
    );
    // The chain at the earlier step is a prefix of the later one.
    assert!(before.chain().count() < after.chain().count());
    // On 5.0 the stored session keeps it by the 5.0 rules.
    let p = play("session-expiry-v5");
    let c = copy(p.fates(), last(&p), "calibrate", "sensor");
    assert!(matches!(c.outcome(), CopyOutcome::Delivered { .. }));
    assert_eq!(
        deciding_cite(&c),
        Some("[MQTT-4.5.0-1] 5.0, [MQTT-3.1.2-23] 5.0")
    );
}

#[test]
fn a_session_expiry_drops_its_queued_copies_citing_the_expiry_once_with_its_time() {
    for (id, payload) in [
        ("session-expiry-v5", "report"),
        ("sleepy-sensor", "set-interval 5m"),
    ] {
        let p = play(id);
        let expired_at = p
            .trace()
            .iter()
            .find(|e| {
                matches!(
                    &e.item,
                    session_engine::TraceItem::Broker {
                        event: session_engine::BrokerEvent::SessionExpired { .. }
                    }
                )
            })
            .expect("the session expires")
            .time;
        let c = copy(p.fates(), last(&p), payload, "sensor");
        assert_eq!(
            c.outcome(),
            CopyOutcome::Dropped {
                reason: DropReason::SessionEnded
            },
            "{id}"
        );
        let d = c.deciding().unwrap();
        assert_eq!(d.cite, Some("[MQTT-4.1.0-2] 5.0"), "{id}");
        assert_eq!(d.time, expired_at, "{id}");
        let citing: Vec<_> = c
            .chain()
            .filter(|(l, _)| l.cite == Some("[MQTT-4.1.0-2] 5.0"))
            .collect();
        assert_eq!(citing.len(), 1, "{id}: the expiry rule once");
        assert!(d.text.contains("session expired"), "{}", d.text);
        assert!(
            !d.text.contains("the session that held it"),
            "{id}: no second telling: {}",
            d.text
        );
    }
}

#[test]
fn an_unacknowledged_qos1_copy_is_resent_with_dup_and_seen_twice() {
    for (id, cite) in [
        (
            "qos1-redelivered-dup",
            "[MQTT-4.4.0-1] 5.0, [MQTT-3.3.1-1] 5.0",
        ),
        (
            "qos1-redelivered-dup-311",
            "[MQTT-4.4.0-1] 3.1.1, [MQTT-3.3.1-1] 3.1.1",
        ),
    ] {
        let p = play(id);
        let f = p.fates();
        let m = f
            .at(last(&p))
            .into_iter()
            .find(|m| m.payload_text().is_some_and(|t| t.starts_with("m1")))
            .unwrap();
        let c = m.copies().next().unwrap();
        assert_eq!(
            c.outcome(),
            CopyOutcome::Duplicate {
                qos: QoS::AtLeastOnce,
                dup: true
            },
            "{id}"
        );
        assert_eq!(c.trouble(), Some(Trouble::Duplicate));
        assert_eq!(deciding_cite(&c), Some(cite), "{id}");
        let texts: Vec<&str> = c.chain().map(|(l, _)| l.text.as_str()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("PUBACK (packet id 1) was lost")),
            "{id}: {texts:?}"
        );
        // Before the resume it was delivered once, and the broker still holds it.
        let resume = (1..p.len())
            .find(|&s| {
                p.entries(s)
                    .iter()
                    .any(|e| e.describe().contains("resumed"))
            })
            .unwrap();
        let earlier = f.message(resume - 1, m.message.msg).unwrap();
        let c = earlier.copies().next().unwrap();
        assert!(matches!(
            c.outcome(),
            CopyOutcome::Delivered { dup: false, .. }
        ));
    }
}

#[test]
fn a_message_nobody_subscribed_to_is_gone_by_the_routing_rule() {
    let p = scenario(
        "3.1.1",
        "mosquitto-2.0.11",
        r#"[{"name": "pub"}, {"name": "late"}]"#,
        r#"[{"connect": {"client": "pub"}},
            {"publish": {"client": "pub", "topic": "a/b", "payload": "x", "qos": 1}},
            {"publish": {"client": "pub", "topic": "a/r", "payload": "kept", "qos": 0, "retain": true}},
            {"connect": {"client": "late"}},
            {"subscribe": {"client": "late", "filter": "a/#", "qos": 1}}]"#,
    );
    let f = p.fates();
    let c = copy(f, last(&p), "x", "nobody");
    assert_eq!(c.to(), &Recipient::Nobody);
    assert_eq!(
        c.outcome(),
        CopyOutcome::NobodySubscribed { retained: false }
    );
    assert_eq!(c.trouble(), None);
    assert_eq!(deciding_cite(&c), Some("[MQTT-4.5.0-1] 3.1.1"));
    let r = copy(f, last(&p), "kept", "nobody");
    assert_eq!(
        r.outcome(),
        CopyOutcome::NobodySubscribed { retained: true }
    );
    // The retained message reaches a later subscriber: a copy of its own, made at the SUBSCRIBE.
    let late = copy(f, last(&p), "kept", "late");
    assert!(matches!(
        late.outcome(),
        CopyOutcome::Delivered {
            qos: QoS::AtMostOnce,
            ..
        }
    ));
    assert!(late
        .deciding()
        .unwrap()
        .text
        .contains("sent the retained message of a/r"));
    let m = f.at(last(&p));
    assert_eq!(m[0].kinds(), vec!["nobody subscribed"]);
    assert_eq!(m[1].kinds(), vec!["nobody subscribed", "delivered"]);
    // Before the publish step the message does not exist yet.
    assert!(f.at(1).is_empty());
}

#[test]
fn a_will_is_a_message_with_its_own_copies() {
    let p = play("keepalive-will-v5");
    let f = p.fates();
    let m = f
        .at(last(&p))
        .into_iter()
        .find(|m| m.message.will)
        .expect("the will is listed");
    assert_eq!(m.message.from, "tracker");
    assert_eq!(m.payload_text(), Some("false"));
    let c = m.copies().find(|c| c.to().label() == "dispatch").unwrap();
    assert!(matches!(c.outcome(), CopyOutcome::Delivered { .. }));
    let (first, _) = c.chain().next().unwrap();
    assert!(first.text.contains("published the will of tracker"));
    assert!(first.cite.unwrap().starts_with("[MQTT-3.1.2-8] 5.0"));
    assert_eq!(deciding_cite(&c), Some("[MQTT-4.5.0-1] 5.0"));
}

#[test]
fn the_publisher_side_lost_buffered_and_sent_from_its_buffer() {
    let p = play("publisher-buffer");
    let f = p.fates();
    let lost = copy(f, last(&p), "21.2", "sensor-naive (publisher)");
    assert_eq!(lost.outcome(), CopyOutcome::LostBeforeSending);
    assert_eq!(lost.trouble(), Some(Trouble::Lost));
    let d = lost.deciding().unwrap();
    assert_eq!(d.cite, None, "a client's own buffer is no rule of MQTT");
    assert!(d.text.contains("no buffer"), "{}", d.text);
    // Buffered while offline, then sent from the buffer, then delivered.
    let seen: Vec<CopyOutcome> = (0..p.len())
        .filter_map(|s| {
            let m = f
                .at(s)
                .into_iter()
                .find(|m| m.payload_text() == Some("21.6"))?;
            let c = m
                .copies()
                .find(|c| c.to().label() == "sensor-buffered (publisher)")?;
            Some(c.outcome())
        })
        .collect();
    assert_eq!(seen.first(), Some(&CopyOutcome::Buffered), "{seen:?}");
    assert_eq!(seen.last(), Some(&CopyOutcome::ReachedBroker), "{seen:?}");
    let to = copy(f, last(&p), "21.6", "historian");
    assert!(matches!(to.outcome(), CopyOutcome::Delivered { .. }));
}

#[test]
fn a_full_offline_buffer_overwrites_and_a_lost_qos0_publish_is_lost() {
    let p = scenario(
        "3.1.1",
        "mosquitto-2.0.11",
        r#"[{"name": "dev", "buffer": 1}, {"name": "app"}]"#,
        r#"[{"connect": {"client": "app"}},
            {"subscribe": {"client": "app", "filter": "t/#", "qos": 1}},
            {"publish": {"client": "dev", "topic": "t/1", "payload": "old", "qos": 1}},
            {"publish": {"client": "dev", "topic": "t/1", "payload": "new", "qos": 1}},
            {"connect": {"client": "dev"}},
            {"lose_next": {"client": "dev", "direction": "to_broker", "packet": "PUBLISH"}},
            {"publish": {"client": "dev", "topic": "t/2", "payload": "gone", "qos": 0}},
            {"lose_next": {"client": "app", "direction": "to_client", "packet": "PUBLISH"}},
            {"publish": {"client": "dev", "topic": "t/3", "payload": "wire", "qos": 0}}]"#,
    );
    let f = p.fates();
    let s = last(&p);
    let old = copy(f, s, "old", "dev (publisher)");
    assert_eq!(old.outcome(), CopyOutcome::Overwritten);
    assert_eq!(old.trouble(), Some(Trouble::Lost));
    assert_eq!(
        copy(f, s, "new", "dev (publisher)").outcome(),
        CopyOutcome::ReachedBroker
    );
    assert!(matches!(
        copy(f, s, "new", "app").outcome(),
        CopyOutcome::Delivered { .. }
    ));
    for (payload, to) in [("gone", "dev (publisher)"), ("wire", "app")] {
        let c = copy(f, s, payload, to);
        assert_eq!(c.outcome(), CopyOutcome::LostOnNetwork, "{payload}");
        let d = c.deciding().unwrap();
        assert_eq!(d.cite, None, "{payload}: a network loss has no rule");
        assert!(d.text.contains("no rule decides it"), "{}", d.text);
    }
}

#[test]
fn a_copy_whose_message_expiry_passes_in_the_queue_expires() {
    let p = play("message-expiry-queued");
    let c = copy(p.fates(), last(&p), "mei2", "screen");
    assert_eq!(
        c.outcome(),
        CopyOutcome::Expired {
            reason: DropReason::MessageExpired
        }
    );
    assert_eq!(c.trouble(), Some(Trouble::Expired));
    assert_eq!(deciding_cite(&c), Some("[MQTT-3.3.2-5]"));
    let kept = copy(p.fates(), last(&p), "mei60", "screen");
    assert!(matches!(kept.outcome(), CopyOutcome::Delivered { .. }));
}

#[test]
fn a_copy_goes_at_the_lower_of_the_published_and_granted_qos() {
    let p = play("qos-downgrade");
    let c = copy(p.fates(), last(&p), "important", "sub");
    assert_eq!(
        c.outcome(),
        CopyOutcome::Delivered {
            qos: QoS::AtLeastOnce,
            dup: false
        }
    );
    assert_eq!(deciding_cite(&c), Some("[MQTT-3.8.4-6] 3.1.1"));
    // Published at QoS 1 to a QoS 2 subscription: no downgrade, nothing to say about QoS.
    let c = copy(p.fates(), last(&p), "also important", "sub");
    assert!(c
        .chain()
        .all(|(l, _)| l.cite != Some("[MQTT-3.8.4-6] 3.1.1")));
    // 5.0 names its own statement.
    let p = scenario(
        "5.0",
        "spec",
        r#"[{"name": "sub"}, {"name": "pub"}]"#,
        r#"[{"connect": {"client": "sub"}},
            {"subscribe": {"client": "sub", "filter": "a", "qos": 0}},
            {"connect": {"client": "pub"}},
            {"publish": {"client": "pub", "topic": "a", "payload": "q2", "qos": 2}}]"#,
    );
    let c = copy(p.fates(), last(&p), "q2", "sub");
    assert_eq!(
        c.outcome(),
        CopyOutcome::Delivered {
            qos: QoS::AtMostOnce,
            dup: false
        }
    );
    assert_eq!(deciding_cite(&c), Some("[MQTT-3.8.4-8] 5.0"));
}

/// Four or more words in a row that come back in the same sentence.
fn repeats(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    for n in [4usize] {
        for i in 0..words.len().saturating_sub(n) {
            let w = &words[i..i + n];
            if words[i + 1..].windows(n).any(|x| x == w) {
                return Some(w.join(" "));
            }
        }
    }
    None
}

#[test]
fn every_chain_of_every_built_in_on_every_profile_cites_catalogued_statements() {
    let mut failures = Vec::new();
    let (mut copies, mut cites) = (0, 0);
    for base in library::all() {
        for profile in BrokerProfile::all() {
            let mut sc = base.clone();
            sc.broker.profile = profile.id.to_string();
            let speak = sc.versions_spoken();
            let p = Player::new(sc).expect("plays");
            let f = p.fates();
            for step in 0..p.len() {
                for m in f.at(step) {
                    for c in m.copies() {
                        let chain: Vec<_> = c.chain().collect();
                        assert!(!chain.is_empty());
                        let deciding = chain.iter().filter(|(_, d)| *d).count();
                        assert!(
                            deciding <= 1,
                            "{} {}: {deciding} deciding links",
                            p.scenario.id,
                            m.message.msg
                        );
                        if step < last(&p) {
                            continue;
                        }
                        copies += 1;
                        assert_eq!(
                            deciding,
                            1,
                            "{} on {}: {} for {}",
                            p.scenario.id,
                            profile.id,
                            m.message.msg,
                            c.to().label()
                        );
                        for w in chain.windows(2) {
                            assert!(w[0].0.entry <= w[1].0.entry || w[1].0.time >= w[0].0.time);
                        }
                        for (l, _) in &chain {
                            if let Some(r) = repeats(&l.text) {
                                failures.push(format!(
                                    "{}: \"{}\" repeats \"{r}\"",
                                    p.scenario.id, l.text
                                ));
                            }
                            let Some(text) = l.cite else { continue };
                            cites += 1;
                            for c in cited(text, None) {
                                let ok = match c.tag {
                                    Some(v) => statement::find(&c.id, v).is_some(),
                                    None => {
                                        speak.iter().any(|v| statement::find(&c.id, *v).is_some())
                                    }
                                };
                                if !ok {
                                    failures.push(format!(
                                        "{} on {}: \"{text}\" cites [{}] ({:?})",
                                        p.scenario.id, profile.id, c.id, c.tag
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        copies > 400 && cites > 800,
        "{copies} copies, {cites} cites"
    );
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The page's reconnect burst: 20 offline subscribers with 1,007 queued messages each.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn twenty_thousand_queued_deliveries_are_indexed_once_and_read_cheaply() {
    let p = scenario(
        "3.1.1",
        "spec",
        r#"[{"name": "sub", "count": 20}, {"name": "pub"}]"#,
        r#"[{"connect": {"client": "sub", "clean_start": false}},
            {"subscribe": {"client": "sub", "filter": "f/#", "qos": 1}},
            {"disconnect": {"client": "sub"}},
            {"connect": {"client": "pub"}},
            {"publish": {"client": "pub", "topic": "f/x", "payload": "r{n}", "qos": 1, "count": 1007}},
            {"connect": {"client": "sub", "clean_start": false}}]"#,
    );
    let start = std::time::Instant::now();
    let f = p.fates();
    let build = start.elapsed();
    let start = std::time::Instant::now();
    let mut delivered = 0;
    for step in 0..p.len() {
        for m in f.at(step) {
            for c in m.copies() {
                if step == last(&p) && matches!(c.outcome(), CopyOutcome::Delivered { .. }) {
                    delivered += 1;
                }
                let _ = c.deciding();
            }
        }
    }
    let read = start.elapsed();
    assert_eq!(delivered, 20 * 1007);
    println!("fates: built in {build:?}; every step read in {read:?}");
}
