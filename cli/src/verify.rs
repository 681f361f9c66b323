//! `mqtt-lab verify`: plays a scenario against a real mosquitto and compares what its clients
//! receive with what the engine predicts for the mosquitto 2.0.11 profile.
//!
//! mosquitto is started by this command on a free 127.0.0.1 port with a generated configuration
//! matching the profile (never as a system service). Each scenario client gets a TCP connection
//! and speaks through the engine's codec. The packets a client *initiates* (CONNECT, SUBSCRIBE,
//! UNSUBSCRIBE, PUBLISH, PINGREQ, DISCONNECT) are the ones the engine's simulated client sent, at
//! the scenario time it sent them; acknowledgements are made here from what the real broker sends
//! (unless the scenario withholds them or loses them).
//!
//! How scenario actions are played on real TCP:
//! - `drop`: the socket is closed (the broker sees the close at once, as in the model);
//! - `cut`: the socket is abandoned, open: nothing more is written or read, so only the broker's
//!   keep-alive timer can notice, as in the model;
//! - `lose_next`: the matching packets are not written (towards the broker) or are read and thrown
//!   away unacknowledged (towards the client); the connection stays up, as in the model;
//! - `stop_broker` / `start_broker` / `restart_broker`: mosquitto is stopped with SIGTERM (so it
//!   writes its persistence file when the profile persists sessions) and started again with the
//!   same configuration and port.
//!
//! Time: scenario time is real time, from one origin. Steps where no time passes still take a few
//! milliseconds of real time to settle; the next wait is shortened by that much, so real and
//! scenario time meet again at the end of every wait. Scenarios whose waits add up to more than
//! [`MAX_REAL_MS`] are refused as "not expressible" (the conformance scenarios in
//! `tests/conformance/` use timers of a few seconds).
//!
//! What is compared, per client, in order: every CONNACK, SUBACK, UNSUBACK, PUBLISH, PUBACK,
//! PUBREC, PUBREL, PUBCOMP and DISCONNECT the broker sends, and the broker closing the
//! connection without a DISCONNECT, as packet structures, packet identifiers included
//! (`session_engine::observed` has the comparison and its tolerances: the same scenario step;
//! in a step where time passes, within `TIME_TOLERANCE_MS` of the predicted time; a Message
//! Expiry Interval within 1 s of the predicted one, the broker counting whole seconds). The
//! order between different clients is not compared.

use serde_json::Value;
use session_engine::codec::{decode, encode, DecodeError, Frame};
use session_engine::event::{ClientEvent, Endpoint, TraceItem};
use session_engine::observed::{self, Comparison, Seen};
use session_engine::packet::Packet;
use session_engine::profile::Persistence;
use session_engine::scenario::Action;
use session_engine::world::Direction;
use session_engine::{Player, Scenario, Version};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mosquitto binary: the Debian package's, else whatever `mosquitto` is on PATH.
pub fn mosquitto_bin() -> &'static str {
    if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

/// The longest a scenario may take in real time (the sum of its waits).
pub const MAX_REAL_MS: u64 = 150_000;
/// After each step, the broker is done when it has been quiet this long.
const QUIET: Duration = Duration::from_millis(40);
/// ... but a step settles for at most this long.
const SETTLE_MAX: Duration = Duration::from_millis(300);

/// The profile settings a scenario changes that mosquitto.conf cannot set (memory accounting
/// aside, which changes no behaviour).
pub fn unconfigurable(p: &session_engine::BrokerProfile) -> Vec<String> {
    let Some(mut base) = session_engine::BrokerProfile::by_id("mosquitto-2.0.11") else {
        return vec!["the mosquitto-2.0.11 profile".into()];
    };
    base.max_queued_messages = p.max_queued_messages;
    base.queue_qos0_offline = p.queue_qos0_offline;
    base.max_inflight_v311 = p.max_inflight_v311;
    base.upgrade_outgoing_qos = p.upgrade_outgoing_qos;
    if matches!(
        p.persistence,
        Persistence::None | Persistence::CleanStartZeroOnly
    ) {
        base.persistence = p.persistence;
    }
    let (a, b) = (
        serde_json::to_value(&base).unwrap_or(Value::Null),
        serde_json::to_value(p).unwrap_or(Value::Null),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["the profile".into()];
    };
    a.iter()
        .filter(|(k, v)| {
            !matches!(
                k.as_str(),
                "id" | "name"
                    | "source"
                    | "per_message_overhead"
                    | "per_subscription_bytes"
                    | "per_session_bytes"
            ) && b.get(k.as_str()) != Some(v)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Why a scenario cannot be played against a real broker (yet).
pub fn expressible(p: &Player) -> Result<(), String> {
    let odd = unconfigurable(p.at(0).world.broker.profile());
    if !odd.is_empty() {
        return Err(format!(
            "its broker settings {} have no mosquitto.conf equivalent",
            odd.join(", ")
        ));
    }
    let total = p.at(p.len() - 1).time.0 - (1..p.len()).map(|k| skipped_ms(p, k)).sum::<u64>();
    if total > MAX_REAL_MS {
        let (k, longest) = p
            .steps()
            .windows(2)
            .map(|w| {
                (
                    w[1].index,
                    w[1].time.0 - w[0].time.0 - skipped_ms(p, w[1].index),
                )
            })
            .max_by_key(|(_, d)| *d)
            .unwrap_or((0, 0));
        return Err(format!(
            "its timed waits add up to {} s of real time (longest: {} s at step {k}), more than the {} s played per scenario",
            total / 1000,
            longest / 1000,
            MAX_REAL_MS / 1000
        ));
    }
    Ok(())
}

/// How much of step `k` (a wait) is skipped in real time: a whole number of 6 s periods when
/// nothing in the broker depends on time during it (no session, will, retained or message
/// expiry pending, no silent link; [`World::idle_apart_from_pings`]) and the engine's clients
/// only exchange PINGREQ / PINGRESP in it. Skipping a multiple of 6 s keeps mosquitto's whole
/// seconds and its 6 s keep-alive checks where the engine puts them.
///
/// [`World::idle_apart_from_pings`]: session_engine::World::idle_apart_from_pings
pub fn skipped_ms(p: &Player, k: usize) -> u64 {
    let Some(step) = k.checked_sub(1).and_then(|i| p.scenario.steps.get(i)) else {
        return 0;
    };
    if !matches!(step.action, Action::Wait(_)) || !p.at(k - 1).world.idle_apart_from_pings() {
        return 0;
    }
    let pings_only = p.entries(k).iter().all(|e| {
        matches!(
            &e.item,
            TraceItem::Packet {
                packet: Packet::Pingreq | Packet::Pingresp,
                ..
            }
        )
    });
    if !pings_only {
        return 0;
    }
    let d = p.at(k).time.0 - p.at(k - 1).time.0;
    d - d % 6_000
}

/// The mosquitto.conf for a profile (2.0.11 option names, `man mosquitto.conf`).
/// `set_tcp_nodelay true` changes no session behaviour, only latency: with Nagle's algorithm
/// (mosquitto's default) a second small packet waits for the first one's delayed TCP ACK
/// (~40 ms), and would arrive a step late here (seen with PUBREC then PUBCOMP).
pub fn config(p: &session_engine::BrokerProfile, port: u16, dir: &std::path::Path) -> String {
    let mut c = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages {}\nqueue_qos0_messages {}\nmax_inflight_messages {}\nupgrade_outgoing_qos {}\n",
        p.max_queued_messages.unwrap_or(0),
        p.queue_qos0_offline,
        p.max_inflight_v311,
        p.upgrade_outgoing_qos,
    );
    if p.persistence == Persistence::None {
        c.push_str("persistence false\n");
    } else {
        c.push_str(&format!(
            "persistence true\npersistence_location {}/\n",
            dir.display()
        ));
    }
    c
}

/// A mosquitto child process on its own port and directory.
struct Broker {
    child: Option<Child>,
    port: u16,
    dir: std::path::PathBuf,
    conf: std::path::PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Broker {
    fn new(profile: &session_engine::BrokerProfile) -> Result<Broker, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir =
            std::env::temp_dir().join(format!("mqtt-lab-verify-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // Started as root, mosquitto drops to the user "mosquitto", which must be able to write
        // its persistence file here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
        }
        let conf = dir.join("mosquitto.conf");
        std::fs::write(&conf, config(profile, port, &dir)).map_err(|e| e.to_string())?;
        let mut b = Broker {
            child: None,
            port,
            dir,
            conf,
        };
        b.start()?;
        Ok(b)
    }

    fn start(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let bin = mosquitto_bin();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start mosquitto ({e}); install the Debian package mosquitto")
            })?;
        self.child = Some(child);
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if t0.elapsed() > Duration::from_secs(5) {
                return Err("mosquitto did not open its port within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// SIGTERM, as a service manager stops it: mosquitto saves its persistence file and exits.
    fn stop(&mut self) -> Result<(), String> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let t0 = Instant::now();
        loop {
            if let Ok(Some(_)) = c.try_wait() {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(5) {
                let _ = c.kill();
                let _ = c.wait();
                return Err("mosquitto did not stop within 5 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A rule of `lose_next`: the next `remaining` packets of type `packet` (or any) going `dir`.
struct Lose {
    dir: Direction,
    packet: Option<String>,
    remaining: u32,
}

struct Conn {
    stream: TcpStream,
    version: Version,
    buf: Vec<u8>,
    lose: Vec<Lose>,
    /// This client sent DISCONNECT or the broker did: a close that follows is not news.
    closing: bool,
}

impl Conn {
    /// Whether a lose rule takes this packet (and counts it).
    fn loses(&mut self, dir: Direction, p: &Packet) -> bool {
        for r in &mut self.lose {
            if r.dir == dir && r.remaining > 0 && r.packet.as_deref().is_none_or(|k| k == p.kind())
            {
                r.remaining -= 1;
                return true;
            }
        }
        false
    }

    /// Writes bytes exactly as a scenario's `send` step gave them; `decoded` is the packet they
    /// are, when they are one (a lose rule may take it).
    fn send_raw(&mut self, bytes: &[u8], decoded: Option<&Packet>) {
        if decoded.is_some_and(|p| self.loses(Direction::ToBroker, p)) {
            return;
        }
        let _ = self.stream.write_all(bytes);
    }

    fn send(&mut self, p: &Packet) {
        if self.loses(Direction::ToBroker, p) {
            return;
        }
        // A write error means the broker closed the connection; the reader notices.
        match encode(p, self.version) {
            Ok(bytes) => {
                let _ = self.stream.write_all(&bytes);
            }
            // The engine's client made a packet the wire cannot carry: not sent, so the
            // comparison shows what follows from that.
            Err(e) => eprintln!("not sent: {p}: {e}"),
        }
    }
}

/// The clients' side of a run: their connections and what they saw.
struct Clients {
    names: Vec<String>,
    conns: Vec<Option<Conn>>,
    /// Cut links: open, never read or written again.
    abandoned: Vec<TcpStream>,
    withhold: Vec<bool>,
    /// Acknowledgements held back while acks are withheld, sent when they resume (as the
    /// engine's client does; kept across a lost connection, dropped at DISCONNECT).
    held: Vec<Vec<Packet>>,
    seen: Vec<Seen>,
    origin: Instant,
    /// The step being played and its scenario time span.
    step: usize,
    span: (u64, u64),
    /// Scenario time skipped so far in idle waits ([`skipped_ms`]).
    skip: u64,
}

impl Clients {
    fn close(&mut self, i: usize) {
        if let Some(c) = self.conns[i].take() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
    }

    fn abandon(&mut self, i: usize) {
        if let Some(c) = self.conns[i].take() {
            self.abandoned.push(c.stream);
        }
    }

    /// Scenario time now: real time since the origin, inside the step's span.
    fn now_ms(&self) -> u64 {
        (self.origin.elapsed().as_millis() as u64 + self.skip).clamp(self.span.0, self.span.1)
    }

    /// Reads and answers what the broker sends until `until`.
    fn pump_until(&mut self, until: Instant) -> Result<(), String> {
        loop {
            self.read_all()?;
            if Instant::now() >= until {
                return Ok(());
            }
        }
    }

    /// Reads until the broker has been quiet for [`QUIET`] (at most [`SETTLE_MAX`]).
    fn settle(&mut self) -> Result<(), String> {
        let end = Instant::now() + SETTLE_MAX;
        let mut quiet_since = Instant::now();
        while Instant::now() < end {
            if self.read_all()? {
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= QUIET {
                break;
            }
        }
        Ok(())
    }

    /// One read round over every connection; true if anything arrived.
    fn read_all(&mut self) -> Result<bool, String> {
        let mut any = false;
        let live = self.conns.iter().filter(|c| c.is_some()).count().max(1);
        let wait = Duration::from_millis((4 / live as u64).max(1));
        for i in 0..self.conns.len() {
            let Some(c) = &mut self.conns[i] else {
                continue;
            };
            c.stream.set_read_timeout(Some(wait)).ok();
            let mut chunk = [0u8; 8192];
            let eof = match c.stream.read(&mut chunk) {
                Ok(0) => true,
                Ok(n) => {
                    any = true;
                    c.buf.extend_from_slice(&chunk[..n]);
                    false
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    false
                }
                Err(_) => true,
            };
            self.decode_buffered(i)?;
            if eof {
                let closing = self.conns[i].as_ref().is_none_or(|c| c.closing);
                if !closing {
                    let t = self.now_ms();
                    self.record(i, t, None);
                }
                self.conns[i] = None;
            }
        }
        Ok(any)
    }

    fn record(&mut self, i: usize, t_ms: u64, packet: Option<Packet>) {
        self.seen.push(Seen {
            step: self.step,
            t_ms,
            timed: self.span.1 > self.span.0,
            client: self.names[i].clone(),
            packet,
        });
    }

    fn decode_buffered(&mut self, i: usize) -> Result<(), String> {
        loop {
            let Some(c) = &mut self.conns[i] else {
                return Ok(());
            };
            let (frame, used) = match decode(&c.buf, c.version) {
                Ok(x) => x,
                Err(DecodeError::Incomplete) => return Ok(()),
                Err(e) => {
                    return Err(format!(
                        "{}: the broker sent a malformed packet: {}",
                        self.names[i],
                        e.describe(c.version)
                    ))
                }
            };
            c.buf.drain(..used);
            let Frame::Packet(p) = frame else { continue };
            if c.loses(Direction::ToClient, &p) {
                continue;
            }
            if matches!(p, Packet::Disconnect(_)) {
                c.closing = true;
            }
            // PUBREL for the client's own QoS 2 publishes is replayed from the engine's trace
            // (also when resent after a reconnect), not made here.
            let ack = match &p {
                Packet::Publish(x) => match (x.qos.as_u8(), x.packet_id) {
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
                Packet::Pubrel { packet_id, .. } => Some(Packet::Pubcomp {
                    packet_id: *packet_id,
                    reason: 0,
                }),
                _ => None,
            };
            if let Some(r) = ack {
                if self.withhold[i] {
                    self.held[i].push(r);
                } else {
                    c.send(&r);
                }
            }
            if observed::compared(&p) {
                let t = self.now_ms();
                self.record(i, t, Some(p));
            }
        }
    }
}

/// Nanoseconds past the whole second of the monotonic clock, which mosquitto's timers count in
/// (`mosquitto_time()`: CLOCK_MONOTONIC seconds). Read from `Instant`'s Debug form on Linux;
/// `None` where that form differs.
fn monotonic_fraction(t: Instant) -> Option<u64> {
    let d = format!("{t:?}");
    let n = d.split("tv_nsec: ").nth(1)?;
    n.trim_end_matches([' ', '}']).parse().ok()
}

/// The nanoseconds past the whole second of the wall clock (`time(NULL)`).
fn wall_fraction() -> Option<u64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(u64::from(d.subsec_nanos()))
}

/// Which of mosquitto's clocks scenario time 0 is put on a whole second of. mosquitto 2.0.11
/// times keep-alive on the monotonic clock (`db.now_s`, keepalive.c) but session expiry, will
/// delay and message expiry on the wall clock (`db.now_real_s` = `time(NULL)`: session_expiry.c,
/// will_delay.c, database.c); the two have an unknown offset below a second. A scenario in
/// which the engine closes a connection for keep-alive is put on the monotonic clock; every
/// other one on the wall clock, so its expiry seconds fall where the engine puts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Monotonic,
    Wall,
}

/// The clock a scenario's timing depends on (see [`Clock`]).
pub fn clock_for(p: &Player) -> Clock {
    let keep_alive = p.trace().iter().any(|e| {
        matches!(
            e.item,
            TraceItem::Broker {
                event: session_engine::BrokerEvent::KeepAliveTimeout { .. }
            }
        )
    });
    if keep_alive {
        Clock::Monotonic
    } else {
        Clock::Wall
    }
}

/// Waits for the next whole second of `clock`, so that scenario time 0 is a whole second for
/// mosquitto too: its whole-second timers then fall where the engine puts them.
fn at_whole_second(clock: Clock) -> Instant {
    let now = Instant::now();
    let fraction = match clock {
        Clock::Monotonic => monotonic_fraction(now),
        Clock::Wall => wall_fraction(),
    };
    match fraction {
        Some(ns) if ns < 1_000_000_000 => {
            let next = now + Duration::from_nanos(1_000_000_000 - ns);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            next
        }
        _ => now,
    }
}

/// Plays `p`'s scenario against a fresh mosquitto; returns what each client saw.
pub fn observe(p: &Player) -> Result<Vec<Seen>, String> {
    let sc = &p.scenario;
    expressible(p)?;
    // mosquitto starts within scenario second 0 (its keep-alive checks count from its start).
    let origin = at_whole_second(clock_for(p));
    let mut broker = Broker::new(p.at(0).world.broker.profile())?;
    let names = p.client_names();
    let mut cl = Clients {
        conns: names.iter().map(|_| None).collect(),
        withhold: vec![false; names.len()],
        held: vec![Vec::new(); names.len()],
        names: names.clone(),
        abandoned: Vec::new(),
        seen: Vec::new(),
        origin,
        step: 0,
        span: (0, 0),
        skip: 0,
    };
    // Real time of scenario time `t`, less the time skipped in idle waits so far.
    let at = |origin: Instant, skip: u64, t: u64| origin + Duration::from_millis(t - skip);
    for (k, step) in sc.steps.iter().enumerate() {
        let (before, rec) = (p.at(k), p.at(k + 1));
        cl.step = rec.index;
        cl.span = (before.time.0, rec.time.0);
        let skip = skipped_ms(p, k + 1);
        if skip > 0 {
            // Only pings in the engine: the skipped periods pass at once, and the rest of the
            // wait is played with a PINGREQ a second from every connected client (so no keep
            // alive runs out in the shortened wait).
            cl.skip += skip;
            let end = at(cl.origin, cl.skip, rec.time.0);
            while Instant::now() < end {
                for c in cl.conns.iter_mut().flatten() {
                    c.send(&Packet::Pingreq);
                }
                cl.pump_until(end.min(Instant::now() + Duration::from_secs(1)))?;
            }
            cl.settle()?;
            continue;
        }
        let index = |n: &str| names.iter().position(|x| x == n);
        // The clients a step names (a `count` group by its name), as the engine picks them; its
        // client indices are the order of `names`.
        let targets = |n: &str| sc.targets(&p.at(0).world, n);
        // The step's own action, at its start.
        let mut start_at = None;
        // The clients whose packet of a `send` step went out at the step's start.
        let mut sent: Vec<usize> = Vec::new();
        match &step.action {
            Action::Drop(c) => {
                for i in targets(&c.client) {
                    cl.close(i);
                }
            }
            Action::Cut(c) => {
                for i in targets(&c.client) {
                    cl.abandon(i);
                }
            }
            Action::LoseNext(l) => {
                for i in targets(&l.client) {
                    if let Some(c) = &mut cl.conns[i] {
                        c.lose.push(Lose {
                            dir: l.direction,
                            packet: l.packet.clone(),
                            remaining: l.count,
                        });
                    }
                }
            }
            Action::WithholdAcks(w) => {
                for i in targets(&w.client) {
                    cl.withhold[i] = w.on;
                    if !w.on {
                        let held = std::mem::take(&mut cl.held[i]);
                        if let Some(c) = &mut cl.conns[i] {
                            for a in &held {
                                c.send(a);
                            }
                        }
                    }
                }
            }
            Action::ReleaseAcks(c) => {
                for i in targets(&c.client) {
                    let held = std::mem::take(&mut cl.held[i]);
                    if let Some(conn) = &mut cl.conns[i] {
                        for a in &held {
                            conn.send(a);
                        }
                    }
                }
            }
            Action::Send(x) => {
                // Written on the connection as it stands, whatever the packet (a CONNECT too).
                for i in targets(&x.client) {
                    let Some(conn) = &mut cl.conns[i] else {
                        continue;
                    };
                    match (&x.packet, &x.hex) {
                        (Some(p), _) => {
                            conn.send(p);
                            sent.push(i);
                        }
                        (None, Some(h)) => {
                            // Bytes go out exactly as given; those that decode are the step's
                            // packet in the trace.
                            let decoded = session_engine::codec::decode(&h.0, conn.version)
                                .ok()
                                .and_then(|(f, _)| match f {
                                    session_engine::codec::Frame::Packet(p) => Some(p),
                                    _ => None,
                                });
                            conn.send_raw(&h.0, decoded.as_ref());
                            if decoded.is_some() {
                                sent.push(i);
                            }
                        }
                        (None, None) => {}
                    }
                }
            }
            Action::StopBroker(_) => broker.stop()?,
            Action::StartBroker(_) => broker.start()?,
            Action::RestartBroker(r) => {
                broker.stop()?;
                start_at = Some(before.time.0 + r.downtime.map_or(0, |d| d.0));
            }
            _ => {}
        }
        // What the simulated clients did in this step, at the time they did it.
        for e in p.entries(k + 1) {
            if let Some(t) = start_at.filter(|t| *t <= e.time.0) {
                cl.pump_until(at(cl.origin, cl.skip, t))?;
                broker.start()?;
                start_at = None;
            }
            let (c, packet) = match &e.item {
                TraceItem::Packet {
                    from: Endpoint::Client(c),
                    to: Endpoint::Broker,
                    ..
                } if index(c).is_some_and(|i| sent.contains(&i)) => {
                    // The packet of the step's `send`, already written at the step's start.
                    let i = index(c).unwrap_or(usize::MAX);
                    sent.retain(|x| *x != i);
                    continue;
                }
                TraceItem::Packet {
                    from: Endpoint::Client(c),
                    to: Endpoint::Broker,
                    packet,
                    ..
                } => (c, packet),
                TraceItem::Client {
                    client,
                    event: ClientEvent::PingTimeout | ClientEvent::UnexpectedSessionPresent,
                } => {
                    // The client gives up on the connection: close it (a cut link stays cut).
                    cl.pump_until(at(cl.origin, cl.skip, e.time.0))?;
                    if let Some(i) = index(client) {
                        cl.close(i);
                    }
                    continue;
                }
                _ => continue,
            };
            let Some(i) = index(c) else { continue };
            cl.pump_until(at(cl.origin, cl.skip, e.time.0))?;
            match packet {
                Packet::Connect(connect) => {
                    if cl.conns[i].is_some() {
                        cl.close(i);
                    }
                    // The broker may be down: then there is no connection, as in the model.
                    if let Ok(stream) = TcpStream::connect(("127.0.0.1", broker.port)) {
                        stream.set_nodelay(true).ok();
                        let mut conn = Conn {
                            stream,
                            version: connect.version,
                            buf: Vec::new(),
                            lose: Vec::new(),
                            closing: false,
                        };
                        conn.send(packet);
                        cl.conns[i] = Some(conn);
                    }
                }
                Packet::Subscribe(_)
                | Packet::Unsubscribe { .. }
                | Packet::Publish(_)
                | Packet::Pubrel { .. }
                | Packet::Pingreq => {
                    if let Some(conn) = &mut cl.conns[i] {
                        conn.send(packet);
                    }
                }
                Packet::Disconnect(_) => {
                    // Send, stop writing, and read what the broker still says (a DISCONNECT
                    // with a reason code) before the close.
                    cl.held[i].clear();
                    if let Some(conn) = &mut cl.conns[i] {
                        conn.send(packet);
                        conn.closing = true;
                        let _ = conn.stream.shutdown(Shutdown::Write);
                    }
                    cl.settle()?;
                    cl.close(i);
                }
                _ => {}
            }
        }
        if let Some(t) = start_at {
            cl.pump_until(at(cl.origin, cl.skip, t))?;
            broker.start()?;
        }
        // Waits: until real time meets the step's end in scenario time.
        cl.pump_until(at(cl.origin, cl.skip, rec.time.0))?;
        cl.settle()?;
    }
    drop(broker);
    Ok(cl.seen)
}

/// Plays `p` against mosquitto and compares: the comparison (both sides side by side with the
/// first difference marked, and a digest of each) and what the real clients saw.
pub fn check(p: &Player) -> Result<(Comparison, Vec<Seen>), String> {
    let observed = observe(p)?;
    let names = p.client_names();
    let predicted = observed::predicted(p);
    let mut c = observed::compare(&predicted, &observed, &names);
    c.text.push_str(&format!(
        "digest engine:    {}\ndigest mosquitto: {}\n",
        observed::digest(&predicted, &names),
        observed::digest(&observed, &names)
    ));
    Ok((c, observed))
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
        let dir = std::path::Path::new("/tmp/x");
        let c = config(&p, 18830, dir);
        assert!(c.starts_with("listener 18830 127.0.0.1\n"), "{c}");
        assert!(
            c.contains("max_queued_messages 1000\n") && c.contains("queue_qos0_messages false\n"),
            "{c}"
        );
        assert!(c.contains("persistence false\n"), "{c}");
        let mut p = p;
        p.persistence = Persistence::AllSessions;
        let c = config(&p, 18830, dir);
        assert!(
            c.contains("persistence true\npersistence_location /tmp/x/\n"),
            "{c}"
        );
    }

    #[test]
    fn scenarios_longer_than_the_real_time_budget_are_refused_with_the_reason() {
        // Its waits run while a 5.0 session's expiry is pending: played in full, too long.
        let p = Player::new(on_mosquitto(library::by_id("sleepy-sensor").unwrap())).unwrap();
        let e = expressible(&p).unwrap_err();
        assert!(e.contains("longest: 900 s"), "{e}");
        let p = Player::new(library::by_id("takeover-v5").unwrap()).unwrap();
        assert!(expressible(&p).is_ok());
        // Its 300 s wait has nothing pending but pings: 300 s (50 periods of 6 s) are skipped.
        let p = Player::new(on_mosquitto(library::by_id("clean-vs-persistent").unwrap())).unwrap();
        assert!(expressible(&p).is_ok());
        assert_eq!(skipped_ms(&p, 10), 300_000);
        assert_eq!(skipped_ms(&p, 1), 0, "not a wait");
    }

    #[test]
    fn settings_mosquitto_cannot_take_are_named() {
        let mut p = session_engine::BrokerProfile::by_id("mosquitto-2.0.11").unwrap();
        p.max_queued_messages = Some(3);
        p.persistence = Persistence::CleanStartZeroOnly;
        assert!(unconfigurable(&p).is_empty());
        p.max_connections_per_second = Some(100);
        p.persistence = Persistence::AllSessions;
        assert_eq!(
            unconfigurable(&p),
            vec!["max_connections_per_second", "persistence"]
        );
    }
}
