//! Engine benchmarks (a bench binary, not a timed test): `cargo bench -p session-engine`.
//!
//! Measures: broker inputs per second on a 10,000-client fan-out; bytes of engine memory per
//! queued message; the cost of building a scenario's step records and of jumping to a step; a
//! 100,000-client reconnect storm after a broker restart; and the message-fate index of 20
//! offline subscribers that get 1,007 queued messages each at reconnect; and 100,000 messages
//! queued for one offline session (more than its 65,535 packet identifiers) delivered at
//! reconnect.

use session_engine::client::{Backoff, ConnectOptions, Jitter};
use session_engine::packet::{Connect, Publish, SubOptions, Subscribe};
use session_engine::profile::BrokerProfile;
use session_engine::{
    library, Broker, BrokerInput, BrokerOutput, ClientId, ConnId, MsgId, Packet, Player, QoS,
    SimTime, Version, World,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

struct Counting;
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE_BYTES.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn connect(id: &str, clean: bool) -> Packet {
    Packet::Connect(Connect {
        version: Version::V5,
        client_id: ClientId::new(id),
        clean_start: clean,
        keep_alive: 0,
        session_expiry: (!clean).then_some(3600),
        receive_maximum: None,
        will: None,
    })
}

fn drain(b: &mut Broker) -> usize {
    let mut n = 0;
    while b.poll_output().is_some() {
        n += 1;
    }
    n
}

fn publish(pid: u16, payload: &str, qos: QoS) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: "fleet/cmd".into(),
        packet_id: Some(pid),
        payload: payload.into(),
        message_expiry: None,
        subscription_ids: vec![],
        msg: MsgId(pid.into()),
    })
}

fn fan_out() {
    const SUBS: u32 = 10_000;
    let mut b = Broker::new(BrokerProfile::spec(), 1);
    let t = SimTime::ZERO;
    for i in 0..SUBS {
        let c = ConnId(i + 1);
        b.handle_input(t, BrokerInput::Open(c));
        b.handle_input(
            t,
            BrokerInput::Packet(c, connect(&format!("dev-{i:05}"), true)),
        );
        b.handle_input(
            t,
            BrokerInput::Packet(
                c,
                Packet::Subscribe(Subscribe {
                    packet_id: 1,
                    filters: vec![("fleet/cmd".into(), SubOptions::qos(QoS::AtLeastOnce))],
                    subscription_id: None,
                }),
            ),
        );
        drain(&mut b);
    }
    let publisher = ConnId(SUBS + 1);
    b.handle_input(t, BrokerInput::Open(publisher));
    b.handle_input(t, BrokerInput::Packet(publisher, connect("backend", true)));
    drain(&mut b);
    let rounds = 30u16;
    let mut inputs = 0u64;
    let (mut in_publish, mut in_acks) = (0.0, 0.0);
    let start = Instant::now();
    for r in 1..=rounds {
        let t0 = Instant::now();
        b.handle_input(
            t,
            BrokerInput::Packet(publisher, publish(r, "reboot", QoS::AtLeastOnce)),
        );
        inputs += 1;
        let mut acks = Vec::with_capacity(SUBS as usize);
        while let Some(o) = b.poll_output() {
            if let BrokerOutput::Send(c, Packet::Publish(p)) = o {
                acks.push((c, p.packet_id.unwrap_or(0)));
            }
        }
        let t1 = Instant::now();
        for (c, id) in acks {
            b.handle_input(
                t,
                BrokerInput::Packet(
                    c,
                    Packet::Puback {
                        packet_id: id,
                        reason: 0,
                    },
                ),
            );
            inputs += 1;
        }
        drain(&mut b);
        in_publish += (t1 - t0).as_secs_f64();
        in_acks += t1.elapsed().as_secs_f64();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fan-out to {SUBS} QoS 1 subscribers: {inputs} broker inputs in {:.3} s = {:.2} million inputs/s ({:.1} ms per fan-out PUBLISH, {:.0} ns per PUBACK)",
        secs,
        inputs as f64 / secs / 1e6,
        in_publish * 1000.0 / f64::from(rounds),
        in_acks * 1e9 / (f64::from(rounds) * f64::from(SUBS))
    );
}

fn memory_per_queued_message() {
    const N: u32 = 20_000;
    let mut b = Broker::new(BrokerProfile::spec(), 1);
    let t = SimTime::ZERO;
    b.handle_input(t, BrokerInput::Open(ConnId(1)));
    b.handle_input(t, BrokerInput::Packet(ConnId(1), connect("sleeper", false)));
    b.handle_input(
        t,
        BrokerInput::Packet(
            ConnId(1),
            Packet::Subscribe(Subscribe {
                packet_id: 1,
                filters: vec![("fleet/cmd".into(), SubOptions::qos(QoS::AtLeastOnce))],
                subscription_id: None,
            }),
        ),
    );
    b.handle_input(t, BrokerInput::ConnectionLost(ConnId(1)));
    b.handle_input(t, BrokerInput::Open(ConnId(2)));
    b.handle_input(t, BrokerInput::Packet(ConnId(2), connect("backend", true)));
    drain(&mut b);
    let payload = "x".repeat(100);
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for i in 0..N {
        b.handle_input(
            t,
            BrokerInput::Packet(
                ConnId(2),
                publish((i % 60_000 + 1) as u16, &payload, QoS::AtLeastOnce),
            ),
        );
        drain(&mut b);
    }
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    let per = (after - before) as f64 / f64::from(N);
    let queued = b.sessions()[&ClientId::new("sleeper")].queue.len();
    println!("memory: {queued} queued messages (100-byte payload, 9-byte topic) hold {:.0} bytes each in the engine ({:.0} beyond topic and payload)", per, per - 109.0);
}

fn player_and_jump() {
    let mut worst = (String::new(), 0.0f64, 0usize);
    for s in library::all() {
        let id = s.id.clone();
        let start = Instant::now();
        let p = Player::new(s).expect("built-in scenarios play");
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if ms > worst.1 {
            worst = (id, ms, p.len());
        }
    }
    println!(
        "player: slowest built-in scenario to precompute is \"{}\" ({} steps) in {:.2} ms",
        worst.0, worst.2, worst.1
    );
    let p = Player::new(library::by_id(&worst.0).unwrap()).unwrap();
    let jumps = 1_000_000u64;
    let start = Instant::now();
    let mut acc = 0usize;
    let mut i = 7usize;
    for _ in 0..jumps {
        i = (i * 31 + 17) % p.len();
        let rec = p.at(i);
        acc += rec.world.broker.sessions().len() + p.entries(i).len();
    }
    let ns = start.elapsed().as_secs_f64() * 1e9 / jumps as f64;
    println!(
        "jump to a step (state + its entries): {:.0} ns per jump (checksum {acc})",
        ns
    );
}

fn storm() {
    const N: usize = 100_000;
    let mut p = BrokerProfile::spec();
    p.max_connections_per_second = Some(20_000);
    let mut w = World::new(p, 42);
    w.record = false;
    for i in 0..N {
        let idx = w.new_client(&format!("d{i}"), &format!("d{i}"), Version::V311);
        w.clients[idx].auto_reconnect = Some(Backoff {
            initial: 1.0,
            multiplier: 2.0,
            max: 30.0,
            jitter: Jitter::Full,
        });
    }
    let opts = ConnectOptions {
        version: Version::V311,
        clean_start: false,
        keep_alive: 0,
        session_expiry: None,
        receive_maximum: None,
        will: None,
    };
    let setup = Instant::now();
    for i in 0..N {
        w.connect(i, opts.clone());
        if i % 20_000 == 19_999 {
            let t = w.now.plus_millis(1000);
            w.advance_to(t);
        }
    }
    let t = w.now.plus_millis(60_000);
    w.advance_to(t);
    let online_before = w.clients.iter().filter(|c| c.is_online()).count();
    let setup_s = setup.elapsed().as_secs_f64();
    let start = Instant::now();
    w.stop_broker();
    let t = w.now.plus_millis(5_000);
    w.advance_to(t);
    w.start_broker();
    let mut sim_s = 0;
    while w.clients.iter().any(|c| !c.is_online()) && sim_s < 600 {
        let t = w.now.plus_millis(1000);
        w.advance_to(t);
        sim_s += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let online = w.clients.iter().filter(|c| c.is_online()).count();
    println!(
        "reconnect storm: {N} clients ({online_before} online before; setup {setup_s:.2} s), broker down 5 s, admits 20,000/s, full jitter: all {online} back after {sim_s} simulated s, computed in {secs:.3} s"
    );
}

/// 20 offline 3.1.1 subscribers, 1,007 QoS 1 messages queued for each, all reconnect: the cost of
/// `Player::fates` (built once) and of reading it at a step, as the page does on every repaint.
fn fates() {
    let text = r#"{"format": 1, "id": "fates-bench", "title": "t", "version": "3.1.1",
        "broker": "spec", "seed": 1,
        "clients": [{"name": "sub", "count": 20}, {"name": "pub"}],
        "steps": [
            {"connect": {"client": "sub", "clean_start": false}},
            {"subscribe": {"client": "sub", "filter": "f/#", "qos": 1}},
            {"disconnect": {"client": "sub"}},
            {"connect": {"client": "pub"}},
            {"publish": {"client": "pub", "topic": "f/x", "payload": "r{n}", "qos": 1, "count": 1007}},
            {"connect": {"client": "sub", "clean_start": false}}]}"#;
    let start = Instant::now();
    let p = Player::from_json(text).expect("plays");
    let play_ms = start.elapsed().as_secs_f64() * 1000.0;
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let start = Instant::now();
    let f = p.fates();
    let build_ms = start.elapsed().as_secs_f64() * 1000.0;
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let last = p.len() - 1;
    let reads = 20;
    let start = Instant::now();
    let mut copies = 0usize;
    for _ in 0..reads {
        for m in f.at(last) {
            for c in m.copies() {
                copies += usize::from(c.deciding().is_some() && c.trouble().is_none());
            }
        }
    }
    let read_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(reads);
    let start = Instant::now();
    let mut lines = 0usize;
    for m in f.at(last) {
        for c in m.copies() {
            lines += c.chain().count();
        }
    }
    let chains_ms = start.elapsed().as_secs_f64() * 1000.0;
    println!(
        "fates: {} trace entries, {} copies ({lines} links): play {play_ms:.1} ms, index built once in {build_ms:.1} ms ({:.1} MB, {:.0} B a copy), read at the last step {read_ms:.2} ms (outcome and deciding link of every copy), every chain walked {chains_ms:.2} ms",
        p.trace().len(),
        copies / reads as usize,
        bytes as f64 / 1e6,
        bytes as f64 / (copies / reads as usize) as f64
    );
}

/// One offline persistent session gets 100,000 QoS 1 messages (more than its 65,535 packet
/// identifiers: 34,465 wait for one) and comes back; every message is delivered at reconnect.
fn identifiers() {
    let text = r#"{"format": 1, "id": "ids-bench", "title": "t", "version": "5.0",
        "clients": [{"name": "sub"}, {"name": "pub"}],
        "steps": [
            {"connect": {"client": "sub", "clean_start": false, "session_expiry": "never"}},
            {"subscribe": {"client": "sub", "filter": "t", "qos": 1}},
            {"disconnect": {"client": "sub"}},
            {"connect": {"client": "pub"}},
            {"publish": {"client": "pub", "topic": "t", "payload": "m{n}", "qos": 1, "count": 100000}},
            {"connect": {"client": "sub", "clean_start": false, "session_expiry": "never"}}]}"#;
    let start = Instant::now();
    let p = Player::from_json(text).expect("plays");
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let got = p
        .at(p.len() - 1)
        .world
        .client("sub")
        .map_or(0, |c| c.received.len());
    println!(
        "identifiers: 100,000 QoS 1 messages queued for one offline session, delivered at reconnect: {ms:.0} ms ({} trace entries, {got} delivered)",
        p.trace().len()
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with --bench-less args; only run when asked.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench -p session-engine -- NAME` runs only the benchmarks whose name contains NAME.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if run("fanout") {
        fan_out();
    }
    if run("identifiers") {
        identifiers();
    }
    if run("memory") {
        memory_per_queued_message();
    }
    if run("player") {
        player_and_jump();
    }
    if run("storm") {
        storm();
    }
    if run("fates") {
        fates();
    }
}
