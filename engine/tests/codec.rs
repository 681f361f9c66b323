//! The wire codec against the specification's own byte layouts, every prefix of a packet, and
//! the fields the packet inspector shows. Runs natively and on wasm32.
use session_engine::codec::{
    decode, decode_fields, encode, encode_fields, get_varint, put_varint, DecodeError, Frame,
};
use session_engine::packet::{
    Connack, Connect, Disconnect, Packet, Publish, SubOptions, Subscribe, Will,
};
use session_engine::{ClientId, MsgId, QoS, Version};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn publish(qos: QoS, topic: &str, id: Option<u16>, payload: &str) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: id,
        payload: payload.into(),
        message_expiry: None,
        subscription_ids: vec![],
        msg: MsgId(0),
    })
}

#[test]
fn variable_byte_integers_match_the_spec_table() {
    // 5.0 §1.5.5 / 3.1.1 §2.2.3 Table 2.4: the boundaries of 1 to 4 bytes.
    let table: [(u32, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (v, bytes) in table {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        assert_eq!(b, bytes, "{v}");
        assert_eq!(get_varint(bytes), Ok((v, bytes.len())));
    }
    assert_eq!(
        get_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        Err(DecodeError::VarInt)
    );
    assert_eq!(get_varint(&[0x80]), Err(DecodeError::Incomplete));
}

#[test]
fn utf8_string_example() {
    // 5.0 §1.5.4 / 3.1.1 §1.5.3 Figure 1.1: "A\u{2A6D4}" is 00 05 41 F0 AA 9B 94.
    let b = encode(
        &publish(QoS::AtMostOnce, "A\u{2A6D4}", None, ""),
        Version::V311,
    )
    .unwrap();
    assert_eq!(b, [0x30, 0x07, 0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94]);
}

#[test]
fn publish_variable_header_example() {
    // 3.1.1 §3.3.2.3 Figure 3.11: topic "a/b", packet identifier 10.
    let b = encode(
        &publish(QoS::AtLeastOnce, "a/b", Some(10), ""),
        Version::V311,
    )
    .unwrap();
    assert_eq!(b, [0x32, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A]);
    // 5.0 adds the property length (0) after the packet identifier.
    let b = encode(&publish(QoS::AtLeastOnce, "a/b", Some(10), ""), Version::V5).unwrap();
    assert_eq!(
        b,
        [0x32, 0x08, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A, 0x00]
    );
}

#[test]
fn connect_variable_header_examples() {
    // 3.1.1 §3.1.2.10 Figure 3.6: 00 04 'MQTT' 04 CE 00 0A (user name, password, will QoS 1,
    // will flag, clean session; keep alive 10). The payload here: client id "c", will topic "w",
    // will message "m", user name "u", password "p".
    let mut v311 = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xCE, 0x00, 0x0A];
    for f in [&b"c"[..], b"w", b"m", b"u", b"p"] {
        v311.extend_from_slice(&[0x00, f.len() as u8]);
        v311.extend_from_slice(f);
    }
    let mut bytes = vec![0x10, v311.len() as u8];
    bytes.extend_from_slice(&v311);
    let (frame, n, fields) = decode_fields(&bytes, Version::V311).unwrap();
    assert_eq!(n, bytes.len());
    let Frame::Packet(Packet::Connect(c)) = frame else {
        panic!("not a CONNECT")
    };
    assert!(c.clean_start);
    assert_eq!(c.keep_alive, 10);
    assert_eq!(
        c.will
            .as_ref()
            .map(|w| (w.qos, w.retain, &*w.topic, w.payload.as_bytes())),
        Some((QoS::AtLeastOnce, false, "w", &b"m"[..]))
    );
    assert!(fields
        .iter()
        .any(|f| f.name == "User Name" && f.value == "\"u\""));
    // 5.0 §3.1.2.11 Figure 3-6: ... 05 CE 00 0A, properties length 5, Session Expiry Interval
    // (0x11) = 10.
    let mut v5 = vec![
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xCE, 0x00, 0x0A, 0x05, 0x11, 0x00, 0x00, 0x00,
        0x0A,
    ];
    v5.extend_from_slice(&[0x00, 0x01, b'c', 0x00]); // client id, will properties length 0
    for f in [&b"w"[..], b"m", b"u", b"p"] {
        v5.extend_from_slice(&[0x00, f.len() as u8]);
        v5.extend_from_slice(f);
    }
    let mut bytes = vec![0x10, v5.len() as u8];
    bytes.extend_from_slice(&v5);
    let (frame, _, fields) = decode_fields(&bytes, Version::V5).unwrap();
    let Frame::Packet(Packet::Connect(c)) = frame else {
        panic!("not a CONNECT")
    };
    assert_eq!(c.session_expiry, Some(10));
    assert!(
        fields.iter().any(|f| f.name == "Session Expiry Interval"
            && f.start == 13
            && f.len == 5
            && f.value == "10"),
        "{fields:?}"
    );
    // The level must match the connection.
    assert_eq!(
        decode(&bytes, Version::V311),
        Err(DecodeError::ProtocolLevel(5))
    );
}

fn samples(v: Version) -> Vec<Packet> {
    let v5 = v.is_v5();
    let mut out = vec![
        Packet::Connect(Connect {
            version: v,
            client_id: ClientId::new("meter-0001"),
            clean_start: false,
            keep_alive: 30,
            session_expiry: v5.then_some(3600),
            receive_maximum: v5.then_some(20),
            will: Some(Will {
                topic: "meters/0001/status".into(),
                payload: "offline".into(),
                qos: QoS::AtLeastOnce,
                retain: true,
                delay: if v5 { 30 } else { 0 },
                message_expiry: v5.then_some(60),
            }),
        }),
        Packet::Connack(Connack {
            session_present: true,
            code: 0,
            assigned_client_id: v5.then(|| ClientId::new("auto-1")),
            session_expiry: v5.then_some(7200),
            server_keep_alive: v5.then_some(60),
            receive_maximum: v5.then_some(10),
            maximum_qos: v5.then_some(QoS::AtLeastOnce),
        }),
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: "a/b".into(),
            packet_id: Some(7),
            payload: "héllo".into(),
            message_expiry: v5.then_some(90),
            subscription_ids: if v5 { vec![1, 268_435_455] } else { vec![] },
            msg: MsgId(0),
        }),
        Packet::Puback {
            packet_id: 1,
            reason: 0,
        },
        Packet::Pubrec {
            packet_id: 2,
            reason: if v5 { 0x10 } else { 0 },
        },
        Packet::Pubrel {
            packet_id: 3,
            reason: 0,
        },
        Packet::Pubcomp {
            packet_id: 4,
            reason: if v5 { 0x92 } else { 0 },
        },
        Packet::Subscribe(Subscribe {
            packet_id: 5,
            filters: vec![
                (
                    "sensors/#".into(),
                    SubOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: v5,
                        retain_as_published: v5,
                        retain_handling: if v5 { 2 } else { 0 },
                    },
                ),
                ("$share/g/t".into(), SubOptions::qos(QoS::ExactlyOnce)),
            ],
            subscription_id: v5.then_some(42),
        }),
        Packet::Suback {
            packet_id: 5,
            codes: vec![1, 0x80],
        },
        Packet::Unsubscribe {
            packet_id: 6,
            filters: vec!["sensors/#".into()],
        },
        Packet::Unsuback {
            packet_id: 6,
            codes: if v5 { vec![0x11] } else { vec![] },
        },
        Packet::Pingreq,
        Packet::Pingresp,
        Packet::Disconnect(Disconnect {
            reason: 0,
            session_expiry: None,
        }),
    ];
    if v5 {
        out.push(Packet::Disconnect(Disconnect {
            reason: 0x8E,
            session_expiry: None,
        }));
        out.push(Packet::Disconnect(Disconnect {
            reason: 0x04,
            session_expiry: Some(0),
        }));
    }
    out
}

#[test]
fn every_packet_round_trips_and_every_prefix_is_incomplete() {
    for v in [Version::V311, Version::V5] {
        for p in samples(v) {
            let (bytes, fields) = encode_fields(&p, v).unwrap_or_else(|e| panic!("{p} ({v}): {e}"));
            let (frame, n, dfields) =
                decode_fields(&bytes, v).unwrap_or_else(|e| panic!("{p} ({v}): {e}"));
            assert_eq!(n, bytes.len());
            assert_eq!(frame, Frame::Packet(p.clone()), "{v}");
            assert_eq!(bytes[0] >> 4, p.type_code(), "{p} ({v}): fixed header type");
            for k in 0..bytes.len() {
                assert_eq!(
                    decode(&bytes[..k], v),
                    Err(DecodeError::Incomplete),
                    "{p} ({v}) prefix {k}"
                );
            }
            // Two packets back to back: the first is read, the rest left for the next call.
            let mut two = bytes.clone();
            two.extend_from_slice(&bytes);
            assert_eq!(decode(&two, v).map(|(_, n)| n), Ok(bytes.len()));
            // The inspector's fields cover every byte once, the same way when encoding and decoding.
            let spans = |f: &[session_engine::codec::Field]| {
                let mut s: Vec<(usize, usize)> = f.iter().map(|f| (f.start, f.len)).collect();
                s.sort();
                s
            };
            assert_eq!(spans(&fields), spans(&dfields), "{p} ({v})");
            let mut next = 0;
            for (start, len) in spans(&fields) {
                assert_eq!(start, next, "{p} ({v}): gap or overlap at byte {start}");
                next = start + len;
            }
            assert_eq!(next, bytes.len(), "{p} ({v})");
        }
    }
}

#[test]
fn malformed_packets_get_typed_errors() {
    let v5 = Version::V5;
    // Reserved type 0, AUTH on 3.1.1, reserved flags, QoS 3, DUP on QoS 0, packet id 0.
    assert_eq!(decode(&[0x00, 0x00], v5), Err(DecodeError::PacketType(0)));
    assert_eq!(
        decode(&[0xF0, 0x00], Version::V311),
        Err(DecodeError::PacketType(15))
    );
    assert_eq!(
        decode(&[0x80, 0x00], v5),
        Err(DecodeError::Flags {
            kind: "SUBSCRIBE",
            flags: 0
        })
    );
    assert_eq!(
        decode(&[0xC1, 0x00], v5),
        Err(DecodeError::Flags {
            kind: "PINGREQ",
            flags: 1
        })
    );
    assert_eq!(
        decode(&[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01], v5),
        Err(DecodeError::Qos(3))
    );
    assert_eq!(
        decode(&[0x38, 0x03, 0x00, 0x01, b'a'], Version::V311),
        Err(DecodeError::DupWithQos0)
    );
    assert_eq!(
        decode(&[0x40, 0x02, 0x00, 0x00], v5),
        Err(DecodeError::PacketIdZero)
    );
    // A topic with invalid UTF-8, and one with U+0000.
    assert_eq!(
        decode(&[0x30, 0x03, 0x00, 0x01, 0xFF], Version::V311),
        Err(DecodeError::Utf8 {
            field: "Topic Name"
        })
    );
    assert_eq!(
        decode(&[0x30, 0x03, 0x00, 0x01, 0x00], Version::V311),
        Err(DecodeError::Utf8 {
            field: "Topic Name"
        })
    );
    // SUBSCRIBE without filters; options with reserved bits.
    assert_eq!(
        decode(&[0x82, 0x03, 0x00, 0x01, 0x00], v5),
        Err(DecodeError::NoTopicFilter { kind: "SUBSCRIBE" })
    );
    assert_eq!(
        decode(
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04],
            Version::V311
        ),
        Err(DecodeError::SubOptions(4))
    );
    // A property twice, a property not allowed here, Receive Maximum 0.
    assert_eq!(
        decode(
            &[0xE0, 0x0C, 0x00, 0x0A, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2],
            v5
        ),
        Err(DecodeError::DuplicateProperty(0x11))
    );
    assert_eq!(
        decode(&[0xE0, 0x04, 0x00, 0x02, 0x24, 0x01], v5),
        Err(DecodeError::Property {
            kind: "DISCONNECT",
            id: 0x24
        })
    );
    assert!(matches!(
        decode(&[0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00], v5),
        Err(DecodeError::PropertyValue(0x21))
    ));
    // Trailing bytes after PINGREQ's empty body; a length that runs past the end.
    assert_eq!(
        decode(&[0xC0, 0x01, 0x00], v5),
        Err(DecodeError::Trailing {
            kind: "PINGREQ",
            bytes: 1
        })
    );
    assert_eq!(
        decode(&[0x30, 0x02, 0x00, 0x05], v5),
        Err(DecodeError::Truncated {
            kind: "PUBLISH",
            field: "Topic Name"
        })
    );
    // Errors read as sentences.
    assert!(DecodeError::Qos(3)
        .describe(Version::V311)
        .contains("[MQTT-3.3.1-4]"));
    // The same rule, numbered per version.
    let zero = DecodeError::PacketIdZero;
    assert!(zero.describe(Version::V311).ends_with("[MQTT-2.3.1-1]"));
    assert!(zero.describe(Version::V5).contains("[MQTT-2.2.1-3]"));
    let utf8 = DecodeError::Utf8 {
        field: "Topic Name",
    };
    assert!(utf8.describe(Version::V5).contains("[MQTT-1.5.4-1]"));
    assert!(utf8.describe(Version::V311).contains("[MQTT-1.5.3-1]"));
    let hash = DecodeError::Topic {
        field: "Topic Filter",
        error: session_engine::topic::TopicError::HashPlacement,
    };
    assert!(hash.describe(Version::V5).ends_with("[MQTT-4.7.1-1]"));
    assert!(hash.describe(Version::V311).ends_with("[MQTT-4.7.1-2]"));
}

#[test]
fn auth_is_decoded_on_5_0() {
    let bytes = [
        0xF0, 0x0A, 0x18, 0x07, 0x15, 0x00, 0x04, b'S', b'C', b'R', b'A', 0x00,
    ];
    // 0x18 Continue authentication; Authentication Method "SCRA" (then a stray byte: trailing).
    assert!(matches!(
        decode(&bytes, Version::V5),
        Err(DecodeError::Trailing { .. })
    ));
    let bytes = [
        0xF0, 0x09, 0x18, 0x07, 0x15, 0x00, 0x04, b'S', b'C', b'R', b'A',
    ];
    assert_eq!(
        decode(&bytes, Version::V5),
        Ok((
            Frame::Auth {
                reason: 0x18,
                method: Some("SCRA".into())
            },
            11
        ))
    );
}

/// Every packet the engine puts on a link, in every built-in scenario on every broker profile,
/// is one the wire format can carry on its connection's version: the model never sends a 3.1.1
/// client a 5.0-only field, a reason code outside the packet's table, or an invalid topic.
#[test]
fn every_packet_the_engine_sends_can_be_written_on_the_wire() {
    use session_engine::event::TraceItem;
    use session_engine::{library, BrokerProfile, Player};
    for sc in library::all() {
        for profile in BrokerProfile::all() {
            let mut sc = sc.clone();
            sc.broker.profile = profile.id.to_string();
            let Ok(p) = Player::new(sc.clone()) else {
                continue;
            };
            let mut versions = std::collections::HashMap::new();
            for e in p.trace() {
                let TraceItem::Packet { packet, conn, .. } = &e.item else {
                    continue;
                };
                if let Packet::Connect(c) = packet {
                    versions.insert(*conn, c.version);
                }
                let v = versions.get(conn).copied().unwrap_or(sc.version);
                if let Err(err) = encode(packet, v) {
                    panic!("{} on {}: {packet} ({v}): {err}", sc.id, profile.id);
                }
            }
        }
    }
}

#[test]
fn the_encoder_refuses_what_it_cannot_write() {
    use session_engine::codec::EncodeError;
    let long = "a".repeat(65_536);
    assert!(matches!(
        encode(&publish(QoS::AtMostOnce, &long, None, ""), Version::V5),
        Err(EncodeError::TooLong {
            field: "Topic Name",
            len: 65_536
        })
    ));
    assert!(matches!(
        encode(&publish(QoS::AtMostOnce, "a/+", None, ""), Version::V5),
        Err(EncodeError::Invalid(DecodeError::Topic { .. }))
    ));
    let mut p = publish(QoS::AtMostOnce, "a", None, "");
    if let Packet::Publish(x) = &mut p {
        x.message_expiry = Some(5);
    }
    assert_eq!(
        encode(&p, Version::V311),
        Err(EncodeError::NotInVersion {
            field: "Message Expiry Interval"
        })
    );
    assert!(encode(&p, Version::V5).is_ok());
    if let Packet::Publish(x) = &mut p {
        x.subscription_ids = vec![268_435_456];
    }
    assert!(matches!(
        encode(&p, Version::V5),
        Err(EncodeError::TooLarge { .. })
    ));
    let puback = |reason| Packet::Puback {
        packet_id: 1,
        reason,
    };
    assert!(encode(&puback(0x10), Version::V5).is_ok());
    assert_eq!(
        encode(&puback(0x11), Version::V5),
        Err(EncodeError::Invalid(DecodeError::ReasonCode {
            kind: "PUBACK",
            code: 0x11
        }))
    );
}

#[test]
fn the_decoder_is_as_strict_as_the_specification() {
    let (v3, v5) = (Version::V311, Version::V5);
    // A 3.1.1 UNSUBACK is exactly the packet identifier (§3.11.2).
    assert_eq!(
        decode(&[0xB0, 0x03, 0x00, 0x01, 0x00], v3),
        Err(DecodeError::Trailing {
            kind: "UNSUBACK",
            bytes: 1
        })
    );
    // [MQTT-1.5.5-1]: 5.0 Variable Byte Integers in as few bytes as needed: the remaining
    // length (`82 00` for 2) and a property identifier (`81 00` for Payload Format Indicator).
    assert_eq!(
        decode(&[0xB0, 0x82, 0x00, 0x00, 0x01], v5),
        Err(DecodeError::VarIntNotMinimal)
    );
    assert!(
        decode(&[0xB0, 0x82, 0x00, 0x00, 0x01], v3).is_ok(),
        "3.1.1 does not ask"
    );
    assert_eq!(
        decode(
            &[0x30, 0x08, 0x00, 0x01, b'a', 0x03, 0x81, 0x00, 0x00, b'x'],
            v5
        ),
        Err(DecodeError::VarIntNotMinimal)
    );
    // Codes outside each packet's table.
    assert_eq!(
        decode(&[0x40, 0x03, 0x00, 0x01, 0x11], v5),
        Err(DecodeError::ReasonCode {
            kind: "PUBACK",
            code: 0x11
        })
    );
    assert_eq!(
        decode(&[0x20, 0x02, 0x00, 0x06], v3),
        Err(DecodeError::ReasonCode {
            kind: "CONNACK",
            code: 0x06
        })
    );
    assert_eq!(
        decode(&[0x90, 0x03, 0x00, 0x01, 0x03], v3),
        Err(DecodeError::ReasonCode {
            kind: "SUBACK",
            code: 0x03
        })
    );
    assert!(decode(&[0x90, 0x03, 0x00, 0x01, 0x80], v3).is_ok());
    // Maximum Packet Size 0 (CONNACK property 0x27).
    assert_eq!(
        decode(
            &[0x20, 0x08, 0x00, 0x00, 0x05, 0x27, 0x00, 0x00, 0x00, 0x00],
            v5
        ),
        Err(DecodeError::PropertyValue(0x27))
    );
    // Authentication Data (0x16) without an Authentication Method (0x15).
    assert_eq!(
        decode(&[0x20, 0x06, 0x00, 0x00, 0x03, 0x16, 0x00, 0x00], v5),
        Err(DecodeError::AuthDataWithoutMethod)
    );
    // Topic names and filters: wildcards in a PUBLISH topic, a '#' that is not last.
    assert!(matches!(
        decode(&[0x30, 0x04, 0x00, 0x02, b'a', b'#'], v3),
        Err(DecodeError::Topic {
            field: "Topic Name",
            ..
        })
    ));
    assert!(matches!(
        decode(
            &[0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'#', b'/', b'a', 0x00],
            v3
        ),
        Err(DecodeError::Topic {
            field: "Topic Filter",
            ..
        })
    ));
    // A zero-length topic name: refused in 3.1.1; in 5.0 only with a Topic Alias (0x23).
    assert!(decode(&[0x30, 0x02, 0x00, 0x00], v3).is_err());
    assert!(decode(&[0x30, 0x03, 0x00, 0x00, 0x00], v5).is_err());
    assert!(decode(&[0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], v5).is_ok());
    // 3.1.1 has no shared subscriptions: "$share/a" is an ordinary filter there.
    let sub = [
        0x82, 0x0D, 0x00, 0x01, 0x00, 0x08, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'a', 0x00,
    ];
    assert!(decode(&sub, v3).is_ok());
}

/// Found by the mqtt-packet cross-check (tests/mqtt-packet/crosscheck.mjs): a SUBACK owes a code
/// for each filter of its SUBSCRIBE, which has at least one ([MQTT-3.8.4-5] 3.1.1,
/// [MQTT-3.8.4-6] 5.0), and so does a 5.0 UNSUBACK (§3.11.3); a 3.1.1 UNSUBACK has none.
#[test]
fn acknowledgements_without_their_codes_are_refused() {
    let (v3, v5) = (Version::V311, Version::V5);
    let suback = DecodeError::NoReasonCodes { kind: "SUBACK" };
    assert_eq!(decode(&[0x90, 0x02, 0x00, 0x01], v3), Err(suback.clone()));
    assert_eq!(
        decode(&[0x90, 0x03, 0x00, 0x01, 0x00], v5),
        Err(suback.clone())
    );
    assert_eq!(suback.statement(v3), Some("[MQTT-3.8.4-5]"));
    assert_eq!(suback.statement(v5), Some("[MQTT-3.8.4-6]"));
    assert_eq!(
        decode(&[0xB0, 0x03, 0x00, 0x01, 0x00], v5),
        Err(DecodeError::NoReasonCodes { kind: "UNSUBACK" })
    );
    assert!(decode(&[0xB0, 0x02, 0x00, 0x01], v3).is_ok());
    // The encoder refuses to write them too.
    let empty = Packet::Suback {
        packet_id: 1,
        codes: vec![],
    };
    assert!(encode(&empty, v3).is_err());
    assert!(encode(&empty, v5).is_err());
}

/// "It is a Protocol Error to include [a 0-or-1 property] ... with a value other than 0 or 1"
/// (5.0 §3.1.2.11.6-7, §3.2.2.3.4-5, §3.2.2.3.11-13): such bytes earn 0x82, not 0x81.
#[test]
fn boolean_properties_out_of_range_are_protocol_errors() {
    // CONNACK, properties: Maximum QoS (0x24) = 2, then Retain Available (0x25) = 2.
    for (id, section) in [(0x24, "5.0 §3.2.2.3.4"), (0x25, "5.0 §3.2.2.3.5")] {
        let e = decode(&[0x20, 0x05, 0x00, 0x00, 0x02, id, 0x02], Version::V5).unwrap_err();
        assert_eq!(e, DecodeError::PropertyValue(id));
        assert_eq!(e.reason_code(), Some(0x82));
        assert_eq!(e.statement(Version::V5), Some(section));
    }
}

/// Payloads are bytes: a PUBLISH payload that is not UTF-8 is kept exactly, shown in hex, and
/// written in traces as `{"hex": ...}`, which reads back as the same bytes.
#[test]
fn payloads_that_are_not_utf8_stay_bytes() {
    let bytes = [0x30, 0x05, 0x00, 0x01, b'a', 0xFF, 0x00];
    let (Frame::Packet(Packet::Publish(p)), _, fields) =
        decode_fields(&bytes, Version::V311).unwrap()
    else {
        panic!("not a PUBLISH")
    };
    assert_eq!(p.payload.as_bytes(), [0xFF, 0x00]);
    assert_eq!(p.payload.as_text(), None);
    assert_eq!(p.payload.to_string(), "bytes FF 00");
    assert!(fields
        .iter()
        .any(|f| f.name == "Payload" && f.value.contains("not UTF-8: FF 00")));
    let json = serde_json::to_string(&p.payload).unwrap();
    assert_eq!(json, r#"{"hex":"FF00"}"#);
    let back: session_engine::types::Payload = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p.payload);
    let text: session_engine::types::Payload = serde_json::from_str("\"on\"").unwrap();
    assert_eq!(text.as_bytes(), b"on");
    assert!(serde_json::from_str::<session_engine::types::Payload>(r#"{"hex":"F"}"#).is_err());
    assert_eq!(encode(&Packet::Publish(p), Version::V311).unwrap(), bytes);
}
