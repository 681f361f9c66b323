//! The decoder never panics: arbitrary bytes, and valid packets with bytes flipped, cut or
//! inserted. Round trips of random model packets. Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]
use proptest::prelude::*;
use session_engine::codec::{decode, encode, Frame};
use session_engine::packet::{
    Connack, Connect, Disconnect, Packet, Publish, SubOptions, Subscribe, Will,
};
use session_engine::{ClientId, MsgId, QoS, Version};

/// Inputs tried by `arbitrary_bytes_never_panic` and `mutated_packets_never_panic` (see the note
/// in the issue: 2 x 20,000 + 2 x 20,000 = 80,000 inputs per run).
const CASES: u32 = 20_000;

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9/+#é ]{0,12}"
}

fn packet(v5: bool) -> impl Strategy<Value = Packet> {
    let v = if v5 { Version::V5 } else { Version::V311 };
    let pid = 1u16..=u16::MAX;
    let opt32 =
        move || proptest::option::of(any::<u32>()).prop_map(move |x| if v5 { x } else { None });
    prop_oneof![
        (
            text(),
            any::<bool>(),
            any::<u16>(),
            opt32(),
            proptest::option::of(1u16..),
            proptest::option::of((text(), text(), qos(), any::<bool>(), any::<u32>(), opt32()))
        )
            .prop_map(
                move |(id, clean, ka, sei, rm, will)| Packet::Connect(Connect {
                    version: v,
                    client_id: ClientId::new(id),
                    clean_start: clean,
                    keep_alive: ka,
                    session_expiry: sei,
                    receive_maximum: if v5 { rm } else { None },
                    will: will.map(|(t, p, q, r, d, e)| Will {
                        topic: t.into(),
                        payload: p.into(),
                        qos: q,
                        retain: r,
                        delay: if v5 { d } else { 0 },
                        message_expiry: e
                    }),
                })
            ),
        (
            any::<bool>(),
            0u8..=5,
            proptest::option::of(text()),
            opt32(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(1u16..),
            proptest::option::of(0u8..2)
        )
            .prop_map(
                move |(sp, code, aid, sei, ska, rm, mq)| Packet::Connack(Connack {
                    session_present: sp,
                    code,
                    assigned_client_id: if v5 { aid.map(ClientId::new) } else { None },
                    session_expiry: sei,
                    server_keep_alive: if v5 { ska } else { None },
                    receive_maximum: if v5 { rm } else { None },
                    maximum_qos: if v5 { mq.and_then(QoS::from_u8) } else { None },
                })
            ),
        (
            qos(),
            any::<bool>(),
            any::<bool>(),
            text(),
            pid.clone(),
            text(),
            opt32(),
            proptest::collection::vec(1u32..=268_435_455, 0..3)
        )
            .prop_map(move |(q, dup, retain, topic, id, payload, mei, sids)| {
                let qos0 = q == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && !qos0,
                    qos: q,
                    retain,
                    topic: topic.into(),
                    packet_id: (!qos0).then_some(id),
                    payload: payload.into(),
                    message_expiry: mei,
                    subscription_ids: if v5 { sids } else { vec![] },
                    msg: MsgId(0),
                })
            }),
        (pid.clone(), any::<u8>(), 0u8..4).prop_map(move |(id, reason, k)| {
            let reason = if v5 { reason } else { 0 };
            match k {
                0 => Packet::Puback {
                    packet_id: id,
                    reason,
                },
                1 => Packet::Pubrec {
                    packet_id: id,
                    reason,
                },
                2 => Packet::Pubrel {
                    packet_id: id,
                    reason,
                },
                _ => Packet::Pubcomp {
                    packet_id: id,
                    reason,
                },
            }
        }),
        (
            pid.clone(),
            proptest::collection::vec((text(), qos(), any::<bool>(), any::<bool>(), 0u8..3), 1..4),
            proptest::option::of(1u32..=268_435_455)
        )
            .prop_map(move |(id, fs, sid)| Packet::Subscribe(Subscribe {
                packet_id: id,
                filters: fs
                    .into_iter()
                    .map(|(f, q, nl, rap, rh)| (
                        f,
                        if v5 {
                            SubOptions {
                                qos: q,
                                no_local: nl,
                                retain_as_published: rap,
                                retain_handling: rh,
                            }
                        } else {
                            SubOptions::qos(q)
                        }
                    ))
                    .collect(),
                subscription_id: if v5 { sid } else { None },
            })),
        (
            pid.clone(),
            proptest::collection::vec(any::<u8>(), 0..4),
            any::<bool>()
        )
            .prop_map(move |(id, codes, suback)| if suback {
                Packet::Suback {
                    packet_id: id,
                    codes,
                }
            } else {
                Packet::Unsuback {
                    packet_id: id,
                    codes: if v5 { codes } else { vec![] },
                }
            }),
        (pid, proptest::collection::vec(text(), 1..4)).prop_map(|(id, filters)| {
            Packet::Unsubscribe {
                packet_id: id,
                filters,
            }
        }),
        Just(Packet::Pingreq),
        Just(Packet::Pingresp),
        (any::<u8>(), opt32()).prop_map(move |(r, sei)| Packet::Disconnect(Disconnect {
            reason: if v5 { r } else { 0 },
            session_expiry: sei
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), v5 in any::<bool>()) {
        let v = if v5 { Version::V5 } else { Version::V311 };
        if let Ok((_, n)) = decode(&bytes, v) {
            prop_assert!(n <= bytes.len());
        }
    }

    #[test]
    fn mutated_packets_never_panic(p in packet(true), q in packet(false), at in any::<usize>(), byte in any::<u8>(), how in 0u8..3) {
        for (p, v) in [(p, Version::V5), (q, Version::V311)] {
            let Ok(mut b) = encode(&p, v) else { continue };
            let k = at % (b.len() + 1);
            match how {
                0 if k < b.len() => b[k] = byte,
                1 => b.truncate(k),
                _ => b.insert(k, byte),
            }
            let _ = decode(&b, v);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

    #[test]
    fn random_packets_round_trip(p in packet(true), q in packet(false)) {
        for (p, v) in [(p, Version::V5), (q, Version::V311)] {
            // What the encoder accepts, the decoder reads back as it was.
            if let Ok(b) = encode(&p, v) {
                let decoded = decode(&b, v);
                prop_assert_eq!(decoded, Ok((Frame::Packet(p.clone()), b.len())), "{} on {}", p, v);
            }
        }
    }
}
