//! `mqtt-lab verify`: plays a scenario against a real mosquitto and compares what its clients
//! receive with what the engine predicts for the mosquitto 2.0.11 profile.
//!
//! mosquitto is started by this command on a free 127.0.0.1 port with a generated configuration
//! matching the profile (never as a system service). Each scenario client gets a TCP connection
//! and speaks through the engine's codec. The packets a client *initiates* (CONNECT, SUBSCRIBE,
//! UNSUBSCRIBE, PUBLISH, DISCONNECT) are the ones the engine's simulated client sent in that
//! step; the acknowledgements are made here from what the real broker sends (unless the scenario
//! withholds them). Compared, per client and in order: CONNACK (Session Present, code), SUBACK
//! codes, PUBLISH (topic, payload, QoS, DUP, RETAIN) and DISCONNECT reason codes the broker
//! sends. Packet identifiers and timing are not compared (the broker chooses its own ids).
//!
//! Scenario time is real time here, so waits longer than `MAX_WAIT_MS`, silent links (`cut`),
//! lost packets and broker restarts are refused as "not expressible" for now.

use session_engine::codec::{decode, encode, DecodeError, Frame};
use session_engine::event::{Endpoint, TraceItem};
use session_engine::packet::Packet;
use session_engine::scenario::Action;
use session_engine::{Player, Scenario, Version};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait step played in real time.
pub const MAX_WAIT_MS: u64 = 10_000;
/// How long the broker gets to answer after each step.
const SETTLE: Duration = Duration::from_millis(250);

/// Why a scenario cannot be played against a real broker (yet).
pub fn expressible(s: &Scenario) -> Result<(), String> {
    for (k, st) in s.steps.iter().enumerate() {
        let why = match &st.action {
            Action::Cut(_) => {
                Some("a silent link (cut) cannot be made on a real TCP connection here".to_string())
            }
            Action::LoseNext(_) => {
                Some("losing a packet on a real TCP connection is not supported yet".into())
            }
            Action::StopBroker(_) | Action::StartBroker(_) | Action::RestartBroker(_) => {
                Some("broker restarts are not supported yet".into())
            }
            Action::Wait(d) if d.0 > MAX_WAIT_MS => Some(format!(
                "a wait of {} ms is longer than the {MAX_WAIT_MS} ms played in real time",
                d.0
            )),
            _ => None,
        };
        if let Some(w) = why {
            return Err(format!("step {}: {w}", k + 1));
        }
    }
    Ok(())
}

/// The packet, in words, as compared.
fn describe(p: &Packet) -> Option<String> {
    Some(match p {
        Packet::Connack(c) => format!(
            "CONNACK session_present={} code=0x{:02X}",
            u8::from(c.session_present),
            c.code
        ),
        Packet::Suback { codes, .. } => format!(
            "SUBACK codes={}",
            session_engine::packet::join(
                &codes
                    .iter()
                    .map(|c| format!("0x{c:02X}"))
                    .collect::<Vec<_>>()
            )
        ),
        Packet::Publish(x) => format!(
            "PUBLISH {} \"{}\" qos={} dup={} retain={}",
            x.topic,
            x.payload,
            x.qos.as_u8(),
            u8::from(x.dup),
            u8::from(x.retain)
        ),
        Packet::Disconnect(d) => format!("DISCONNECT reason=0x{:02X}", d.reason),
        _ => return None,
    })
}

/// What the engine predicts each client receives, per client name.
pub fn predicted(p: &Player) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in p.trace() {
        if let TraceItem::Packet {
            to: Endpoint::Client(c),
            packet,
            lost: false,
            ..
        } = &e.item
        {
            if let Some(d) = describe(packet) {
                out.push((c.clone(), d));
            }
        }
    }
    out
}

/// The mosquitto.conf for a profile (2.0.11 option names, `man mosquitto.conf`).
pub fn config(p: &session_engine::BrokerProfile, port: u16) -> String {
    format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages {}\nqueue_qos0_messages {}\nmax_inflight_messages {}\nupgrade_outgoing_qos {}\n",
        p.max_queued_messages.unwrap_or(0),
        p.queue_qos0_offline,
        p.max_inflight_v311,
        p.upgrade_outgoing_qos,
    )
}

struct Broker {
    child: Child,
    port: u16,
    _dir: std::path::PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn start_broker(profile: &session_engine::BrokerProfile) -> Result<Broker, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let dir = std::env::temp_dir().join(format!("mqtt-lab-verify-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, config(profile, port)).map_err(|e| e.to_string())?;
    let bin = ["/usr/sbin/mosquitto", "mosquitto"]
        .into_iter()
        .find(|b| std::path::Path::new(b).exists() || *b == "mosquitto")
        .unwrap_or("mosquitto");
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start mosquitto ({e}); install the Debian package mosquitto")
        })?;
    let b = Broker {
        child,
        port,
        _dir: dir,
    };
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(5) {
            return Err("mosquitto did not open its port within 5 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(b)
}

struct Conn {
    stream: TcpStream,
    version: Version,
    buf: Vec<u8>,
}

/// Plays `p`'s scenario against a fresh mosquitto; returns what each client received.
pub fn observe(p: &Player) -> Result<Vec<(String, String)>, String> {
    let sc = &p.scenario;
    expressible(sc)?;
    let broker = start_broker(p.at(0).world.broker.profile())?;
    let names: Vec<String> = p.client_names();
    let mut conns: Vec<Option<Conn>> = names.iter().map(|_| None).collect();
    let mut withhold = vec![false; names.len()];
    let mut seen = Vec::new();
    let index = |n: &str| names.iter().position(|x| x == n);
    for (k, step) in sc.steps.iter().enumerate() {
        // The packets the simulated clients initiated in this step, in order.
        for e in p.entries(k + 1) {
            let TraceItem::Packet {
                from: Endpoint::Client(c),
                to: Endpoint::Broker,
                packet,
                ..
            } = &e.item
            else {
                continue;
            };
            let Some(i) = index(c) else { continue };
            match packet {
                Packet::Connect(connect) => {
                    if let Some(old) = conns[i].take() {
                        let _ = old.stream.shutdown(Shutdown::Both);
                    }
                    let stream = TcpStream::connect(("127.0.0.1", broker.port))
                        .map_err(|e| format!("connect: {e}"))?;
                    stream.set_nodelay(true).ok();
                    conns[i] = Some(Conn {
                        stream,
                        version: connect.version,
                        buf: Vec::new(),
                    });
                    send(&mut conns[i], packet)?;
                }
                Packet::Subscribe(_) | Packet::Unsubscribe { .. } | Packet::Publish(_) => {
                    send(&mut conns[i], packet)?
                }
                Packet::Disconnect(_) => {
                    // Send, stop writing, and read what the broker still says (a DISCONNECT
                    // with a reason code) before closing.
                    send(&mut conns[i], packet)?;
                    if let Some(c) = &conns[i] {
                        let _ = c.stream.shutdown(Shutdown::Write);
                    }
                    pump(
                        &mut conns,
                        &names,
                        &withhold,
                        &mut seen,
                        Duration::from_millis(150),
                    )?;
                    if let Some(c) = conns[i].take() {
                        let _ = c.stream.shutdown(Shutdown::Both);
                    }
                }
                _ => {}
            }
            pump(
                &mut conns,
                &names,
                &withhold,
                &mut seen,
                Duration::from_millis(30),
            )?;
        }
        match &step.action {
            Action::Drop(c) => {
                if let Some(i) = index(&c.client) {
                    pump(
                        &mut conns,
                        &names,
                        &withhold,
                        &mut seen,
                        Duration::from_millis(50),
                    )?;
                    if let Some(conn) = conns[i].take() {
                        let _ = conn.stream.shutdown(Shutdown::Both);
                    }
                }
            }
            Action::WithholdAcks(w) => {
                if let Some(i) = index(&w.client) {
                    withhold[i] = w.on;
                }
            }
            Action::Wait(d) => pump(
                &mut conns,
                &names,
                &withhold,
                &mut seen,
                Duration::from_millis(d.0),
            )?,
            _ => {}
        }
        pump(&mut conns, &names, &withhold, &mut seen, SETTLE)?;
    }
    drop(broker);
    Ok(seen)
}

fn send(conn: &mut Option<Conn>, p: &Packet) -> Result<(), String> {
    let Some(c) = conn else { return Ok(()) };
    let bytes = encode(p, c.version);
    c.stream
        .write_all(&bytes)
        .map_err(|e| format!("send {}: {e}", p.kind()))
}

/// Reads what the broker sends for `d`, acknowledging publishes as a client does.
fn pump(
    conns: &mut [Option<Conn>],
    names: &[String],
    withhold: &[bool],
    seen: &mut Vec<(String, String)>,
    d: Duration,
) -> Result<(), String> {
    let end = Instant::now() + d;
    loop {
        for (i, slot) in conns.iter_mut().enumerate() {
            let Some(c) = slot else { continue };
            c.stream
                .set_read_timeout(Some(Duration::from_millis(5)))
                .ok();
            let mut chunk = [0u8; 4096];
            match c.stream.read(&mut chunk) {
                Ok(0) => {
                    *slot = None;
                    continue;
                }
                Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    *slot = None;
                    continue;
                }
            }
            loop {
                let (frame, used) = match decode(&c.buf, c.version) {
                    Ok(x) => x,
                    Err(DecodeError::Incomplete) => break,
                    Err(e) => {
                        return Err(format!(
                            "{}: the broker sent a malformed packet: {e}",
                            names[i]
                        ))
                    }
                };
                c.buf.drain(..used);
                let Frame::Packet(p) = frame else { continue };
                if let Some(d) = describe(&p) {
                    seen.push((names[i].clone(), d));
                }
                let reply = match &p {
                    Packet::Publish(x) if !withhold[i] => match (x.qos.as_u8(), x.packet_id) {
                        (1, Some(id)) => Some(Packet::Puback {
                            packet_id: id,
                            reason: 0,
                        }),
                        (2, Some(id)) => Some(Packet::Pubrec {
                            packet_id: id,
                            reason: 0,
                        }),
                        _ => None,
                    },
                    Packet::Pubrel { packet_id, .. } if !withhold[i] => Some(Packet::Pubcomp {
                        packet_id: *packet_id,
                        reason: 0,
                    }),
                    Packet::Pubrec { packet_id, .. } => Some(Packet::Pubrel {
                        packet_id: *packet_id,
                        reason: 0,
                    }),
                    _ => None,
                };
                if let Some(r) = reply {
                    let _ = c.stream.write_all(&encode(&r, c.version));
                }
            }
        }
        if Instant::now() >= end {
            return Ok(());
        }
    }
}

/// Both sides, client by client, with the first difference marked. `Ok` when they agree.
pub fn compare(
    predicted: &[(String, String)],
    observed: &[(String, String)],
    names: &[String],
) -> (bool, String) {
    let mut out = String::new();
    let mut same = true;
    for n in names {
        let a: Vec<&String> = predicted
            .iter()
            .filter(|(c, _)| c == n)
            .map(|(_, d)| d)
            .collect();
        let b: Vec<&String> = observed
            .iter()
            .filter(|(c, _)| c == n)
            .map(|(_, d)| d)
            .collect();
        out.push_str(&format!("{n}\n"));
        let mut marked = false;
        for k in 0..a.len().max(b.len()) {
            let (x, y) = (
                a.get(k).map(|s| s.as_str()).unwrap_or("-"),
                b.get(k).map(|s| s.as_str()).unwrap_or("-"),
            );
            let differ = x != y;
            let mark = if differ && !marked {
                marked = true;
                same = false;
                ">>"
            } else if differ {
                " ~"
            } else {
                "  "
            };
            out.push_str(&format!("{mark} engine: {x:<58} mosquitto: {y}\n"));
        }
    }
    (same, out)
}

/// The profile a scenario is verified on: mosquitto 2.0.11 with the scenario's overrides.
pub fn on_mosquitto(mut sc: Scenario) -> Scenario {
    sc.broker.profile = "mosquitto-2.0.11".into();
    sc
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_engine::library;

    #[test]
    fn config_follows_the_profile() {
        let p = session_engine::BrokerProfile::by_id("mosquitto-2.0.11").unwrap();
        let c = config(&p, 18830);
        assert!(c.starts_with("listener 18830 127.0.0.1\n"), "{c}");
        assert!(
            c.contains("max_queued_messages 1000\n") && c.contains("queue_qos0_messages false\n"),
            "{c}"
        );
    }

    #[test]
    fn scenarios_a_real_broker_cannot_play_are_refused_with_the_reason() {
        let s = Scenario::from_json(
            r#"{"format": 1, "id": "x", "title": "x", "version": "5.0", "clients": [{"name": "a"}],
            "steps": [{"connect": {"client": "a"}}, {"cut": {"client": "a"}}, {"wait": "2s"}]}"#,
        )
        .unwrap();
        assert!(expressible(&s)
            .unwrap_err()
            .starts_with("step 2: a silent link (cut)"));
        let s = library::by_id("clean-vs-persistent").unwrap();
        assert!(expressible(&s).unwrap_err().contains("wait of 300000 ms"));
        assert!(expressible(&library::by_id("takeover-v5").unwrap()).is_ok());
    }

    #[test]
    fn comparison_marks_the_first_difference() {
        let names = vec!["a".to_string()];
        let p = vec![(
            "a".to_string(),
            "CONNACK session_present=0 code=0x00".to_string(),
        )];
        let (same, text) = compare(&p, &p, &names);
        assert!(same, "{text}");
        let o = vec![(
            "a".to_string(),
            "CONNACK session_present=1 code=0x00".to_string(),
        )];
        let (same, text) = compare(&p, &o, &names);
        assert!(
            !same && text.contains(">> engine: CONNACK session_present=0"),
            "{text}"
        );
        let player = Player::new(on_mosquitto(library::by_id("takeover-v5").unwrap())).unwrap();
        assert!(predicted(&player)
            .iter()
            .any(|(_, d)| d.starts_with("CONNACK session_present=1")));
    }
}
