//! The simulated world: one broker, named clients, and the network links between them.
//!
//! Packets travel instantly and in order (MQTT runs over an ordered stream); a link can lose
//! packets on request, break (both sides notice), or die silently (only timers notice). Time moves
//! only when the world is told to advance, and every timer of the broker and the clients fires at
//! its exact instant, in order.

use crate::broker::{Broker, BrokerInput, BrokerOutput, Refusal};
use crate::budget::Meter;
use crate::client::{ClientOutput, ConnectOptions, SimClient};
use crate::event::{BrokerEvent, ClientEvent, CloseCause, Endpoint, TraceEntry, TraceItem};
use crate::packet::{Packet, SubOptions};
use crate::profile::BrokerProfile;
use crate::rng::Rng;
use crate::types::{ClientId, ConnId, MsgId, QoS, SimTime, Version, WireBytes};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// What a client puts on the wire of its own choosing (a scenario's `send` step), outside its
/// session state: the client's own bookkeeping (packet identifiers, in-flight messages) does not
/// learn of it, while what the broker answers reaches the client as usual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A model packet, written on the wire by the codec.
    Packet(Packet),
    /// Bytes exactly as given: one whole packet by its fixed header, valid or not.
    Bytes(Vec<u8>),
}

/// Direction of a packet on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client to the broker.
    ToBroker,
    /// From the broker to the client.
    ToClient,
}

/// An open network connection between one client and the broker.
#[derive(Clone, Debug, Serialize)]
pub struct Link {
    /// The connection's id.
    pub conn: ConnId,
    /// Index of the client in [`World::clients`].
    pub client: usize,
    /// Packets still to lose on this link.
    pub lose: Vec<LoseRule>,
    /// The link carries nothing any more, and neither side has noticed.
    pub dead: bool,
}

#[derive(Clone, Debug)]
enum Transit {
    Packet {
        conn: ConnId,
        dir: Direction,
        packet: Packet,
    },
    /// Bytes the broker will refuse (see [`World::send`]).
    Refused { conn: ConnId, refusal: Refusal },
    /// The broker closed the connection.
    BrokerClose { conn: ConnId, cause: CloseCause },
    /// The client closed the connection.
    ClientClose { conn: ConnId },
}

/// Open links by connection id. Connection ids are handed out 1, 2, 3, ... and never reused,
/// so a vector indexed by id does the job of a map, with less code in the wasm page.
#[derive(Clone, Debug, Default)]
pub struct LinkTable(Vec<Option<Link>>);

impl LinkTable {
    /// Records `link` as the open link of connection `conn`.
    pub fn insert(&mut self, conn: ConnId, link: Link) {
        let i = conn.0 as usize;
        if self.0.len() <= i {
            self.0.resize_with(i + 1, || None);
        }
        self.0[i] = Some(link);
    }
    /// Removes and returns the link of `conn`, if it is open.
    pub fn remove(&mut self, conn: &ConnId) -> Option<Link> {
        self.0.get_mut(conn.0 as usize).and_then(Option::take)
    }
    /// The open link of `conn`, if any.
    pub fn get(&self, conn: &ConnId) -> Option<&Link> {
        self.0.get(conn.0 as usize).and_then(Option::as_ref)
    }
    /// The open link of `conn`, mutably, if any.
    pub fn get_mut(&mut self, conn: &ConnId) -> Option<&mut Link> {
        self.0.get_mut(conn.0 as usize).and_then(Option::as_mut)
    }
    /// Open links in connection order.
    pub fn values(&self) -> impl Iterator<Item = &Link> {
        self.0.iter().flatten()
    }
}

/// "Lose the next `remaining` packets going `dir` (only of type `packet`, if given)".
#[derive(Clone, Debug, Serialize)]
pub struct LoseRule {
    /// Which way the packets to lose travel.
    pub dir: Direction,
    /// Packet type name to lose (e.g. "PUBCOMP"); `None` loses packets of any type.
    pub packet: Option<String>,
    /// How many more packets this rule loses.
    pub remaining: u32,
}

/// A guard against a timer that never clears: more firings at one instant than this is a bug.
const MAX_FIRINGS_AT_ONE_INSTANT: u32 = 100_000;

/// One broker, named clients and the links between them, with the trace of everything that
/// happened; time moves only when the world is told to advance.
#[derive(Clone, Debug)]
pub struct World {
    /// Current simulated time.
    pub now: SimTime,
    /// The broker.
    pub broker: Broker,
    /// The clients, by index, in the order they were added.
    pub clients: Vec<SimClient>,
    /// Open links.
    pub links: LinkTable,
    /// What happened so far, in order.
    pub trace: Vec<TraceEntry>,
    /// Record every packet in the trace (large simulations may turn this off).
    pub record_packets: bool,
    /// Record anything at all (benchmarks and big fleets turn this off).
    pub record: bool,
    rng: Rng,
    next_conn: u32,
    wire: VecDeque<Transit>,
    dirty: Vec<usize>,
    /// Client timers: a min-heap of (due, client) with lazy deletion; `client_due` holds each
    /// client's live entry, and heap entries that disagree with it are stale.
    client_timers: BinaryHeap<Reverse<(SimTime, usize)>>,
    client_due: Vec<Option<SimTime>>,
    /// Set by a failure of the engine's own invariants (never by a scenario).
    pub internal_error: Option<String>,
    /// The work done so far against the run's limits ([`crate::budget`]; none unless a
    /// [`crate::Player`] sets them); once a limit is passed, time stops advancing.
    pub meter: Meter,
}

impl World {
    /// An empty world: a broker following `profile`, no clients, at time 0; `seed` drives the
    /// broker's and the clients' random choices.
    pub fn new(profile: BrokerProfile, seed: u64) -> World {
        World {
            now: SimTime::ZERO,
            broker: Broker::new(profile, seed),
            clients: Vec::new(),
            links: LinkTable::default(),
            trace: Vec::new(),
            record_packets: true,
            record: true,
            rng: Rng::new(seed ^ 0x5EED),
            next_conn: 1,
            wire: VecDeque::new(),
            dirty: Vec::new(),
            client_timers: BinaryHeap::new(),
            client_due: Vec::new(),
            internal_error: None,
            // A world used on its own (tests, benchmarks, the calculators) has no limits; a
            // `Player` gives its world the run's.
            meter: Meter::new(crate::budget::Limits::unlimited()),
        }
    }

    /// Adds a client and returns its index.
    pub fn add_client(&mut self, c: SimClient) -> usize {
        self.clients.push(c);
        self.client_due.push(None);
        let idx = self.clients.len() - 1;
        self.refresh_client_timer(idx);
        idx
    }

    /// Keeps the client timer index in step with the client's own `poll_timeout`.
    fn refresh_client_timer(&mut self, idx: usize) {
        let new = self.clients[idx].poll_timeout();
        if new != self.client_due[idx] {
            if let Some(t) = new {
                self.client_timers.push(Reverse((t, idx)));
            }
            self.client_due[idx] = new;
        }
    }

    /// Index of the client named `name`, if any.
    pub fn client_index(&self, name: &str) -> Option<usize> {
        self.clients.iter().position(|c| c.name == name)
    }

    /// The client named `name`, if any.
    pub fn client(&self, name: &str) -> Option<&SimClient> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// The protocol version client `idx` connects with unless told otherwise: the version of
    /// its last CONNECT, or the one it was created with.
    pub fn client_version(&self, idx: usize) -> Version {
        self.clients[idx].version
    }

    /// Gives client `idx` the client identifier its next CONNECT carries (a second device
    /// configured with the same id, or an empty id for the broker to assign one).
    pub fn set_client_id(&mut self, idx: usize, id: ClientId) {
        self.clients[idx].client_id = id;
    }

    fn push(&mut self, item: TraceItem) {
        self.meter.event(self.now);
        self.trace.push(TraceEntry {
            time: self.now,
            item,
        });
    }

    fn client_event(&mut self, idx: usize, event: ClientEvent) {
        if !self.record {
            return;
        }
        let client = self.clients[idx].name.clone();
        self.push(TraceItem::Client { client, event });
    }

    fn touched(&mut self, idx: usize) {
        self.dirty.push(idx);
    }

    // ----- actions -----

    /// Opens a connection for the client and sends CONNECT.
    pub fn connect(&mut self, idx: usize, opts: ConnectOptions) {
        if self.clients[idx].conn().is_some() {
            // Connecting again means a fresh network connection: the old one is dropped first
            // (a second CONNECT on one connection would be a protocol error, [MQTT-3.1.0-2]).
            self.drop_link(idx);
        }
        if !self.broker.is_running() {
            self.client_event(
                idx,
                ClientEvent::ConnectFailed {
                    why: "the broker is not running (connection refused)".into(),
                },
            );
            self.clients[idx].options = Some(opts);
            self.clients[idx].schedule_reconnect(self.now, &mut self.rng);
            self.touched(idx);
            self.pump();
            return;
        }
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.links.insert(
            conn,
            Link {
                conn,
                client: idx,
                lose: Vec::new(),
                dead: false,
            },
        );
        self.broker.handle_input(self.now, BrokerInput::Open(conn));
        self.clients[idx].connect(self.now, conn, opts);
        self.touched(idx);
        self.pump();
    }

    /// Client `idx` sends SUBSCRIBE for `filters`; if it is not connected, a
    /// `ClientEvent::ConnectFailed` says so instead.
    pub fn subscribe(
        &mut self,
        idx: usize,
        filters: Vec<(String, SubOptions)>,
        subscription_id: Option<u32>,
    ) {
        if !self.require_online(idx, "subscribe") {
            return;
        }
        self.clients[idx].subscribe(self.now, filters, subscription_id);
        self.touched(idx);
        self.pump();
    }

    /// Client `idx` sends UNSUBSCRIBE for `filters`; if it is not connected, a
    /// `ClientEvent::ConnectFailed` says so instead.
    pub fn unsubscribe(&mut self, idx: usize, filters: Vec<String>) {
        if !self.require_online(idx, "unsubscribe") {
            return;
        }
        self.clients[idx].unsubscribe(self.now, filters);
        self.touched(idx);
        self.pump();
    }

    /// The application publishes (online: sent; offline: buffered or lost by the client).
    pub fn publish(
        &mut self,
        idx: usize,
        topic: String,
        payload: String,
        qos: QoS,
        retain: bool,
        message_expiry: Option<u32>,
    ) -> MsgId {
        let msg = self.broker.alloc_msg_id();
        let m = crate::client::AppMessage {
            msg,
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain,
            message_expiry,
        };
        self.clients[idx].publish(self.now, m);
        self.touched(idx);
        self.pump();
        msg
    }

    /// Client `idx` sends DISCONNECT and closes its connection; if it is not connected, a
    /// `ClientEvent::ConnectFailed` says so instead.
    pub fn disconnect(&mut self, idx: usize, reason: u8, session_expiry: Option<u32>) {
        if !self.require_online(idx, "disconnect") {
            return;
        }
        self.clients[idx].disconnect(self.now, reason, session_expiry);
        self.touched(idx);
        self.pump();
    }

    /// The client writes a packet of its own choosing on its connection. Bytes are read as the
    /// broker reads them, by the connection's version: a packet it takes goes to it as that
    /// packet; anything else reaches it as a [`BrokerInput::Refused`].
    pub fn send(&mut self, idx: usize, out: Outgoing) {
        if !self.require_online(idx, "send a packet") {
            return;
        }
        let Some(conn) = self.clients[idx].conn() else {
            return;
        };
        match out {
            Outgoing::Packet(p) => self.put_sent(conn, p, None),
            Outgoing::Bytes(bytes) => {
                let v = self.clients[idx].version;
                let refused = match crate::codec::decode(&bytes, v) {
                    Ok((crate::codec::Frame::Packet(p), n)) if n == bytes.len() => {
                        self.put_sent(conn, p, Some(bytes.clone()));
                        None
                    }
                    Ok((crate::codec::Frame::Packet(_), n)) => Some(Refusal {
                        packet_type: bytes[0] >> 4,
                        what: format!(
                            "{} bytes after the packet's {n}: a send step carries one packet",
                            bytes.len() - n
                        ),
                        code: crate::packet::reason::MALFORMED_PACKET,
                        in_fixed_header: false,
                    }),
                    // 5.0 §4.12: AUTH belongs to an enhanced authentication that CONNECT started
                    // with an Authentication Method; the model's CONNECT never does.
                    Ok((crate::codec::Frame::Auth { .. }, _)) => Some(Refusal {
                        packet_type: 15,
                        what:
                            "an AUTH packet, but CONNECT named no Authentication Method (5.0 §4.12)"
                                .into(),
                        code: crate::packet::reason::PROTOCOL_ERROR,
                        in_fixed_header: false,
                    }),
                    Err(crate::codec::DecodeError::Incomplete) => {
                        self.client_event(
                            idx,
                            ClientEvent::ConnectFailed {
                                why: "it cannot send the bytes: they end before the packet their fixed header announces".into(),
                            },
                        );
                        return;
                    }
                    Err(e) => Some(Refusal::of(&bytes, &e, v)),
                };
                if let Some(r) = refused {
                    if self.record {
                        let client = self.clients[idx].name.clone();
                        self.push(TraceItem::Undecodable {
                            client,
                            conn,
                            raw: WireBytes(bytes),
                            error: r.what.clone(),
                        });
                    }
                    if !self.links.get(&conn).is_some_and(|l| l.dead) {
                        self.wire.push_back(Transit::Refused { conn, refusal: r });
                    }
                }
            }
        }
        self.touched(idx);
        self.pump();
    }

    /// Puts a packet of a send step on the wire; a PUBLISH is a new message in the world's
    /// accounting, so it gets a message id here.
    fn put_sent(&mut self, conn: ConnId, mut p: Packet, raw: Option<Vec<u8>>) {
        if let Packet::Publish(x) = &mut p {
            x.msg = self.broker.alloc_msg_id();
        }
        self.put_on_wire(conn, Direction::ToBroker, p, raw);
    }

    fn require_online(&mut self, idx: usize, what: &str) -> bool {
        if self.clients[idx].is_online() {
            return true;
        }
        self.client_event(
            idx,
            ClientEvent::ConnectFailed {
                why: format!("it cannot {what}: it is not connected"),
            },
        );
        false
    }

    /// The client stops or resumes acknowledging; resuming sends what it held back.
    pub fn set_withhold_acks(&mut self, idx: usize, on: bool) {
        self.clients[idx].set_withhold_acks(self.now, on);
        self.touched(idx);
        self.pump();
    }

    /// The client sends the acknowledgements it held back and goes on holding new ones.
    pub fn release_acks(&mut self, idx: usize) {
        self.clients[idx].release_withheld(self.now);
        self.touched(idx);
        self.pump();
    }

    /// Test helper: send the withheld acknowledgements and acknowledge normally from now on.
    pub fn ack_withheld(&mut self, idx: usize) {
        self.set_withhold_acks(idx, false);
    }

    /// The network fails under the client: both sides notice at once.
    pub fn drop_connection(&mut self, idx: usize) {
        if self.clients[idx].conn().is_none() {
            self.client_event(
                idx,
                ClientEvent::ConnectFailed {
                    why: "it has no connection to drop".into(),
                },
            );
            return;
        }
        self.drop_link(idx);
        self.pump();
    }

    fn drop_link(&mut self, idx: usize) {
        let Some(conn) = self.clients[idx].conn() else {
            return;
        };
        self.wire.retain(|t| match t {
            Transit::Packet { conn: c, .. }
            | Transit::Refused { conn: c, .. }
            | Transit::BrokerClose { conn: c, .. }
            | Transit::ClientClose { conn: c } => *c != conn,
        });
        if self.links.remove(&conn).is_some() {
            let name = self.clients[idx].name.clone();
            self.push(TraceItem::LinkClosed { client: name, conn });
        }
        self.broker
            .handle_input(self.now, BrokerInput::ConnectionLost(conn));
        self.clients[idx].connection_closed(
            self.now,
            "the network connection was lost".into(),
            false,
            None,
            &mut self.rng,
        );
        self.touched(idx);
    }

    /// The link dies silently: packets vanish, neither side is told (keep alive will notice).
    pub fn cut_link(&mut self, idx: usize) -> bool {
        let Some(conn) = self.clients[idx].conn() else {
            return false;
        };
        match self.links.get_mut(&conn) {
            Some(l) => {
                l.dead = true;
                true
            }
            None => false,
        }
    }

    /// Loses the next `count` packets going `dir` on the client's link (only packets of type
    /// `packet`, e.g. "PUBCOMP", if given). Returns false if the client has no link.
    pub fn lose_next(
        &mut self,
        idx: usize,
        dir: Direction,
        count: u32,
        packet: Option<String>,
    ) -> bool {
        let Some(conn) = self.clients[idx].conn() else {
            return false;
        };
        match self.links.get_mut(&conn) {
            Some(l) => {
                l.lose.push(LoseRule {
                    dir,
                    packet,
                    remaining: count,
                });
                true
            }
            None => false,
        }
    }

    /// Stops the broker process: every connection closes and sessions survive as the profile's
    /// persistence says.
    pub fn stop_broker(&mut self) {
        self.broker.handle_input(self.now, BrokerInput::Stop);
        self.pump();
    }

    /// Starts the broker again; timers that fell due while it was down fire at once.
    pub fn start_broker(&mut self) {
        self.broker.handle_input(self.now, BrokerInput::Start);
        self.pump();
        // Timers that fell due while the broker was down fire now.
        self.broker.handle_timeout(self.now);
        self.pump();
    }

    /// Whether time passing changes nothing but keep-alive pings: no broker timer apart from the
    /// keep-alive of live connections, and no silent (cut) link whose keep-alive will run out.
    pub fn idle_apart_from_pings(&self) -> bool {
        !self.broker.has_timers_besides_keep_alive() && !self.links.values().any(|l| l.dead)
    }

    /// Moves time forward to `until`, firing every timer on the way in order.
    pub fn advance_to(&mut self, until: SimTime) {
        let mut firings_here = 0u32;
        let mut last = self.now;
        while let Some(t) = self.next_timer().filter(|t| *t <= until) {
            if self.meter.is_over() {
                return;
            }
            let t = t.max(self.now);
            if t == last {
                firings_here += 1;
                if firings_here > MAX_FIRINGS_AT_ONE_INSTANT {
                    self.internal_error =
                        Some(format!("a timer keeps firing at {t} without clearing"));
                    break;
                }
            } else {
                firings_here = 0;
                last = t;
            }
            self.now = t;
            self.meter.timer(t);
            self.fire_timers();
        }
        self.now = self.now.max(until);
    }

    /// The earliest timer of the broker or any client.
    pub fn next_timer(&self) -> Option<SimTime> {
        let broker = self.broker.poll_timeout();
        let client = self.client_timers.peek().map(|Reverse((t, _))| *t);
        match (broker, client) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        if self.broker.poll_timeout().is_some_and(|t| t <= now) {
            self.broker.handle_timeout(now);
            self.pump();
        }
        while let Some(&Reverse((t, idx))) = self.client_timers.peek() {
            if t > now {
                break;
            }
            self.client_timers.pop();
            if self.client_due[idx] != Some(t) {
                continue; // stale: the client's timer moved since
            }
            self.client_due[idx] = None;
            let reconnect = self.clients[idx].handle_timeout(now, &mut self.rng);
            self.touched(idx);
            self.pump();
            if reconnect {
                if let Some(opts) = self.clients[idx].options.clone() {
                    self.connect(idx, opts);
                }
            }
            self.refresh_client_timer(idx);
        }
    }

    fn drain_client(&mut self, idx: usize) {
        self.refresh_client_timer(idx);
        while let Some(out) = self.clients[idx].poll_output() {
            match out {
                ClientOutput::Event(e) => self.client_event(idx, e),
                ClientOutput::Send(conn, packet) => {
                    self.put_on_wire(conn, Direction::ToBroker, packet, None)
                }
                ClientOutput::Close(conn) => self.wire.push_back(Transit::ClientClose { conn }),
            }
        }
    }

    /// Moves packets and closes until nothing is left to do at this instant.
    fn pump(&mut self) {
        loop {
            while let Some(o) = self.broker.poll_output() {
                match o {
                    BrokerOutput::Send(conn, packet) => {
                        self.put_on_wire(conn, Direction::ToClient, packet, None)
                    }
                    BrokerOutput::Close(conn, cause) => {
                        self.wire.push_back(Transit::BrokerClose { conn, cause })
                    }
                    BrokerOutput::Event(event) => self.push(TraceItem::Broker { event }),
                }
            }
            while let Some(idx) = self.dirty.pop() {
                self.drain_client(idx);
            }
            if self.meter.is_over() {
                break;
            }
            let Some(t) = self.wire.pop_front() else {
                break;
            };
            self.deliver(t);
        }
    }

    /// A packet leaves its sender: it is traced now, and lost now if the link loses it.
    fn put_on_wire(&mut self, conn: ConnId, dir: Direction, packet: Packet, raw: Option<Vec<u8>>) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        self.meter.packet(self.now);
        let idx = link.client;
        let lost = link.dead || {
            let kind = packet.kind();
            match link.lose.iter_mut().find(|r| {
                r.dir == dir && r.remaining > 0 && r.packet.as_deref().is_none_or(|k| k == kind)
            }) {
                Some(rule) => {
                    rule.remaining -= 1;
                    true
                }
                None => false,
            }
        };
        link.lose.retain(|r| r.remaining > 0);
        if self.record && (self.record_packets || lost) {
            let name = self.clients[idx].name.clone();
            let (from, to) = match dir {
                Direction::ToBroker => (Endpoint::Client(name), Endpoint::Broker),
                Direction::ToClient => (Endpoint::Broker, Endpoint::Client(name)),
            };
            self.push(TraceItem::Packet {
                from,
                to,
                conn,
                packet: packet.clone(),
                lost,
                raw: raw.map(WireBytes),
            });
        }
        if !lost {
            self.wire.push_back(Transit::Packet { conn, dir, packet });
        }
    }

    fn deliver(&mut self, t: Transit) {
        match t {
            Transit::Packet { conn, dir, packet } => {
                let Some(link) = self.links.get(&conn) else {
                    return;
                };
                let idx = link.client;
                match dir {
                    Direction::ToBroker => self
                        .broker
                        .handle_input(self.now, BrokerInput::Packet(conn, packet)),
                    Direction::ToClient => {
                        if self.clients[idx].conn() == Some(conn) {
                            self.clients[idx].handle_packet(self.now, packet, &mut self.rng);
                            self.touched(idx);
                        }
                    }
                }
            }
            Transit::Refused { conn, refusal } => {
                if self.links.get(&conn).is_some() {
                    self.broker
                        .handle_input(self.now, BrokerInput::Refused(conn, refusal));
                }
            }
            Transit::BrokerClose { conn, cause } => {
                let Some(link) = self.links.get(&conn) else {
                    return;
                };
                let idx = link.client;
                if link.dead {
                    // The FIN never reaches the client; it finds out by its own keep alive. If it
                    // already gave up on this connection, both ends are now closed.
                    if self.clients[idx].conn() != Some(conn) {
                        self.links.remove(&conn);
                        let name = self.clients[idx].name.clone();
                        self.push(TraceItem::LinkClosed { client: name, conn });
                    }
                    return;
                }
                self.links.remove(&conn);
                let name = self.clients[idx].name.clone();
                self.push(TraceItem::LinkClosed { client: name, conn });
                if self.clients[idx].conn() == Some(conn) {
                    let why = format!("the broker closed the connection ({})", cause.describe());
                    self.clients[idx].connection_closed(self.now, why, true, None, &mut self.rng);
                    self.touched(idx);
                }
            }
            Transit::ClientClose { conn } => {
                // What the broker already sent on this connection (its answer to the client's last
                // packets, e.g. DISCONNECT 0x82) still reaches the wire before the close is seen.
                if let Some(pos) = self.wire.iter().rposition(|t| matches!(t, Transit::Packet { conn: c, dir: Direction::ToClient, .. } | Transit::BrokerClose { conn: c, .. } if *c == conn)) {
                    self.wire.insert(pos + 1, Transit::ClientClose { conn });
                    return;
                }
                if self.links.get(&conn).is_some_and(|l| l.dead) {
                    // A silent link carries no FIN either: the broker keeps the connection until
                    // its keep-alive timer closes it.
                    return;
                }
                if let Some(link) = self.links.remove(&conn) {
                    let name = self.clients[link.client].name.clone();
                    self.push(TraceItem::LinkClosed { client: name, conn });
                }
                // If the broker still has the connection (no DISCONNECT reached it), it sees it drop.
                self.broker
                    .handle_input(self.now, BrokerInput::ConnectionLost(conn));
            }
        }
    }

    /// Broker events in the trace from `from` on (for tests and view-models).
    pub fn broker_events_since(&self, from: usize) -> impl Iterator<Item = &BrokerEvent> {
        self.trace[from..].iter().filter_map(|e| match &e.item {
            TraceItem::Broker { event } => Some(event),
            _ => None,
        })
    }

    /// Convenience for tests: the client named `name`'s index, panicking with a clear message.
    pub fn idx(&self, name: &str) -> usize {
        self.client_index(name)
            .unwrap_or_else(|| panic!("no client named {name}"))
    }

    /// Adds a client with default options.
    pub fn new_client(&mut self, name: &str, client_id: &str, version: Version) -> usize {
        self.add_client(SimClient::new(name, ClientId::new(client_id), version))
    }
}
