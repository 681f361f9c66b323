//! The statement catalogue (`session_engine::statement`): every statement id the code, the
//! traces, the behaviour catalogue and the codec's errors cite is catalogued in the version it is
//! cited for, with a one-line summary.
use session_engine::codec::DecodeError;
use session_engine::event::{TraceEntry, TraceItem};
use session_engine::statement::{self, cited};
use session_engine::topic::TopicError;
use session_engine::{library, BrokerProfile, Player, Version};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const BOTH: [Version; 2] = [Version::V311, Version::V5];

/// `MQTT-3.1.2-10` as numbers, for the specification's order.
fn order(id: &str) -> Vec<u32> {
    id.trim_start_matches("MQTT-")
        .split(['.', '-'])
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("{id}: not a statement id"))
        })
        .collect()
}

#[test]
fn the_catalogue_is_one_line_per_statement_in_the_specification_s_order() {
    for v in BOTH {
        let all = statement::all(v);
        assert!(all.len() >= 50, "{v}: only {} statements", all.len());
        for w in all.windows(2) {
            assert!(
                order(w[0].id) < order(w[1].id),
                "{v}: {} then {}: out of order or twice",
                w[0].id,
                w[1].id
            );
        }
        for s in all {
            assert_eq!(order(s.id).len(), 4, "{v}: {}", s.id);
            let t = s.summary;
            assert!(!t.is_empty() && !t.contains('\n'), "{v} {}: one line", s.id);
            assert!(t.len() <= 200, "{v} {}: {} characters", s.id, t.len());
            assert_eq!(t.trim(), t, "{v} {}", s.id);
            assert!(t.ends_with('.'), "{v} {}: a sentence", s.id);
            assert_eq!(statement::find(&s.bracketed(), v), Some(s));
        }
    }
}

#[test]
fn citations_resolve_in_the_version_they_name() {
    let c = cited("[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0", None);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].tag, Some(Version::V311));
    assert_eq!(
        c[0].resolved.map(|(v, s)| (v, s.id)),
        Some((Version::V311, "MQTT-3.1.2-24"))
    );
    assert_eq!(c[1].resolved.map(|(v, _)| v), Some(Version::V5));
    // Untagged: the context's version decides; 3.1.2-8 is a will rule in both versions, with
    // different words.
    let a = cited("[MQTT-3.1.2-8]", Some(Version::V311))[0]
        .resolved
        .unwrap()
        .1;
    let b = cited("[MQTT-3.1.2-8]", Some(Version::V5))[0]
        .resolved
        .unwrap()
        .1;
    assert_ne!(a.summary, b.summary);
    assert_eq!(cited("[MQTT-3.1.2-8]", None)[0].resolved, None, "ambiguous");
    assert!(cited("no statement here, 5.0 §3.1.2.11.2", None).is_empty());
    assert_eq!(cited("[MQTT-9.9.9-9] 5.0", None)[0].resolved, None);
}

/// Every way the decoder can refuse bytes, in both versions.
fn decode_errors() -> Vec<DecodeError> {
    use DecodeError::*;
    let mut v = vec![
        VarInt,
        PacketType(0),
        Flags {
            kind: "PUBREL",
            flags: 0,
        },
        Qos(3),
        DupWithQos0,
        Truncated {
            kind: "PUBLISH",
            field: "Topic Name",
        },
        Trailing {
            kind: "PUBACK",
            bytes: 1,
        },
        Utf8 {
            field: "Topic Name",
        },
        ProtocolName,
        ProtocolLevel(3),
        ConnectFlags(1),
        PacketIdZero,
        NoTopicFilter { kind: "SUBSCRIBE" },
        NoTopicFilter {
            kind: "UNSUBSCRIBE",
        },
        NoReasonCodes { kind: "SUBACK" },
        NoReasonCodes { kind: "UNSUBACK" },
        SubOptions(0xC0),
        SubOptions(0x30),
        ConnackFlags(2),
    ];
    for kind in [
        "CONNACK",
        "PUBACK",
        "PUBREC",
        "PUBREL",
        "PUBCOMP",
        "SUBACK",
        "UNSUBACK",
        "DISCONNECT",
        "AUTH",
    ] {
        v.push(ReasonCode { kind, code: 0x55 });
    }
    for error in [
        TopicError::Empty,
        TopicError::Wildcard,
        TopicError::Null,
        TopicError::HashPlacement,
        TopicError::PlusPlacement,
    ] {
        v.push(Topic {
            field: "Topic Name",
            error,
        });
    }
    v
}

/// Errors that happen only on 5.0 connections: shared subscriptions and properties.
fn decode_errors_v5_only() -> Vec<DecodeError> {
    use DecodeError::*;
    let mut v: Vec<DecodeError> = [
        TopicError::ShareName,
        TopicError::ShareNameWildcard,
        TopicError::ShareForm,
    ]
    .into_iter()
    .map(|error| Topic {
        field: "Topic Filter",
        error,
    })
    .collect();
    // Properties, and the minimal-length rule, exist only in 5.0.
    v.extend([
        Property {
            kind: "PUBLISH",
            id: 0x11,
        },
        DuplicateProperty(0x11),
        VarIntNotMinimal,
        AuthDataWithoutMethod,
    ]);
    for id in [
        0x01, 0x0B, 0x17, 0x19, 0x21, 0x23, 0x24, 0x25, 0x27, 0x28, 0x29, 0x2A,
    ] {
        v.push(PropertyValue(id));
    }
    v
}

#[test]
fn every_decoder_error_cites_statements_of_the_connection_s_version() {
    let both = decode_errors().into_iter().map(|e| (e, &BOTH[..]));
    let v5 = decode_errors_v5_only().into_iter().map(|e| (e, &BOTH[1..]));
    for (e, versions) in both.chain(v5) {
        for &v in versions {
            let Some(text) = e.statement(v) else {
                panic!("{e:?}: no statement on {v}")
            };
            for c in cited(text, Some(v)) {
                assert!(
                    c.resolved.is_some_and(|(rv, _)| rv == v),
                    "{e:?} on a {v} connection cites [{}], which {v} does not have",
                    c.id
                );
            }
        }
    }
}

fn cites(e: &TraceEntry) -> Vec<&'static str> {
    match &e.item {
        TraceItem::Broker { event } => event.cite().into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A tagged id is catalogued in its version; an untagged one in a version the scenario's clients
/// speak.
fn check_text(text: &str, speak: &[Version], where_: &str, failures: &mut Vec<String>) {
    for c in cited(text, None) {
        let ok = match c.tag {
            Some(v) => statement::find(&c.id, v).is_some(),
            None => speak.iter().any(|v| statement::find(&c.id, *v).is_some()),
        };
        if !ok {
            failures.push(format!(
                "{where_}: \"{text}\" cites [{}] ({:?})",
                c.id, c.tag
            ));
        }
    }
}

#[test]
fn every_citation_in_the_built_in_traces_is_catalogued() {
    let mut failures = Vec::new();
    let mut seen = 0;
    for base in library::all() {
        for profile in BrokerProfile::all() {
            let mut sc = base.clone();
            sc.broker.profile = profile.id.to_string();
            let speak = sc.versions_spoken();
            let p = Player::new(sc).expect("plays");
            for step in 0..p.len() {
                for e in p.entries(step) {
                    for text in cites(e) {
                        seen += 1;
                        let at = format!("{} on {}, step {step}", p.scenario.id, profile.id);
                        check_text(text, &speak, &at, &mut failures);
                    }
                }
            }
        }
    }
    assert!(seen > 1000, "only {seen} citations");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_of_the_behaviour_catalogue_is_catalogued() {
    let mut failures = Vec::new();
    for p in BrokerProfile::all() {
        for d in p.departures() {
            for rule in d.entry.rules {
                check_text(rule, &BOTH, d.field, &mut failures);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every statement id in the source code (engine, page, calculators, CLI), tagged or not.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_statement_id_the_source_cites_is_catalogued() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for d in ["engine/src", "src", "cli/src", "calc/src", "calc-page/src"] {
        walk(&root.join(d), &mut files);
    }
    let mut failures = Vec::new();
    let mut seen = 0;
    for f in &files {
        // The catalogue itself quotes ids in its docs.
        if f.components().any(|c| c.as_os_str() == "statement") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("[MQTT-") {
                seen += 1;
                let at = format!("{}:{}", f.strip_prefix(&root).unwrap().display(), n + 1);
                check_text(line, &BOTH, &at, &mut failures);
            }
        }
    }
    assert!(seen > 100, "only {seen} lines cite statements");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
