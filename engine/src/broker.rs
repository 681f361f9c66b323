//! The broker side: sessions keyed by client id, network connections, routing, timers.
//!
//! Sans-IO: feed it [`BrokerInput`]s with the current time, drain [`BrokerOutput`]s with
//! [`Broker::poll_output`], and call [`Broker::handle_timeout`] when [`Broker::poll_timeout`]'s
//! instant is reached. It never reads a clock and never blocks.

use crate::event::{BrokerEvent, CloseCause, DropReason};
use crate::packet::{reason, Connack, Connect, Disconnect, Packet, Publish, SubOptions, Will};
use crate::profile::{
    BrokerProfile, DelayedWills, ExpiryRemainder, Overflow, Overlap, Persistence, Qos2Forward,
    ReceiveMaxExceeded, SuppressedCopyIds, TimerGranularity,
};
use crate::topic;
use crate::types::{
    ClientId, ConnId, MsgId, PacketId, Payload, QoS, SimTime, Text, Version, NEVER_EXPIRE,
};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

/// What the world tells the broker.
#[derive(Clone, Debug)]
pub enum BrokerInput {
    /// A client opened a network connection.
    Open(ConnId),
    /// A packet arrived on a connection.
    Packet(ConnId, Packet),
    /// The network connection broke (the broker notices: TCP reset or close without DISCONNECT).
    ConnectionLost(ConnId),
    /// The broker process stops (all connections close).
    Stop,
    /// The broker process starts again.
    Start,
}

/// What the broker asks the world to do, or reports.
#[derive(Clone, Debug)]
pub enum BrokerOutput {
    Send(ConnId, Packet),
    /// The broker closes the network connection.
    Close(ConnId, CloseCause),
    Event(BrokerEvent),
}

/// Where a message copy is in its delivery to one subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutState {
    /// Waiting in the session's queue; not sent yet.
    Queued,
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    AwaitPuback,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubrec,
    /// PUBREL sent, waiting for PUBCOMP.
    AwaitPubcomp,
}

/// One copy of an application message on its way to one session.
#[derive(Clone, Debug, Serialize)]
pub struct OutMsg {
    pub msg: MsgId,
    pub topic: Text,
    pub payload: Payload,
    /// The QoS of this copy (after downgrade).
    pub qos: QoS,
    pub retain: bool,
    pub packet_id: Option<PacketId>,
    pub state: OutState,
    /// Sent at least once (a resend carries DUP = 1, [MQTT-3.3.1-1]).
    pub sent: bool,
    /// When the broker received the original PUBLISH.
    pub received_at: SimTime,
    /// The Message Expiry Interval the publisher gave (5.0).
    pub message_expiry: Option<u32>,
    pub subscription_ids: Vec<u32>,
}

/// A subscription held in a session.
#[derive(Clone, Debug, Serialize)]
pub struct Subscription {
    /// The filter as subscribed, including any `$share/name/` prefix.
    pub filter: String,
    pub share: Option<String>,
    /// The filter without the share prefix.
    pub topic_filter: String,
    pub options: SubOptions,
    /// Requested QoS was capped to this.
    pub granted: QoS,
    pub subscription_id: Option<u32>,
}

/// An inbound QoS 2 message waiting for PUBREL.
#[derive(Clone, Debug, Serialize)]
pub struct IncomingQos2 {
    pub packet_id: PacketId,
    /// The message still to be forwarded at PUBREL (Method A); `None` once forwarded.
    pub pending: Option<Publish>,
}

/// Server-side session state (3.1.1 §3.1.2.4 list; 5.0 §4.1 list).
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    pub client_id: ClientId,
    /// Protocol version of the last connection.
    pub version: Version,
    pub conn: Option<ConnId>,
    /// Clean Start / Clean Session of the last CONNECT.
    pub clean_start: bool,
    /// Effective Session Expiry Interval in seconds (`NEVER_EXPIRE` = never).
    pub expiry: u32,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Sent and not yet completely acknowledged, in send order.
    pub inflight: Vec<OutMsg>,
    /// Waiting to be sent, in arrival order.
    pub queue: VecDeque<OutMsg>,
    pub incoming_qos2: Vec<IncomingQos2>,
    pub will: Option<Will>,
    /// When the stored will is due (after a close, while the Will Delay runs).
    pub will_due: Option<SimTime>,
    /// When the delayed will joined the broker's delayed wills (a counter, for the order of
    /// [`DelayedWills::OneListByInterval`]).
    #[serde(skip)]
    will_seq: u64,
    pub created_at: SimTime,
    pub disconnected_at: Option<SimTime>,
    pub expires_at: Option<SimTime>,
    /// The in-flight window of the current connection (copied from it for speed).
    window: u16,
    next_packet_id: PacketId,
    #[serde(skip)]
    used_ids: BTreeSet<PacketId>,
}

impl Session {
    fn new(client_id: ClientId, version: Version, now: SimTime) -> Session {
        Session {
            client_id,
            version,
            conn: None,
            clean_start: true,
            expiry: 0,
            subscriptions: BTreeMap::new(),
            inflight: Vec::new(),
            queue: VecDeque::new(),
            incoming_qos2: Vec::new(),
            will: None,
            will_due: None,
            will_seq: 0,
            created_at: now,
            disconnected_at: None,
            expires_at: None,
            window: u16::MAX,
            next_packet_id: 1,
            used_ids: BTreeSet::new(),
        }
    }

    fn alloc_packet_id(&mut self) -> PacketId {
        // Packet ids are 1..=65535 and must not be in use ([MQTT-2.2.1-3] / [MQTT-2.3.1-2]).
        for _ in 0..=u16::MAX as u32 {
            let id = self.next_packet_id;
            self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
            if !self.used_ids.contains(&id) {
                self.used_ids.insert(id);
                return id;
            }
        }
        // All 65,535 ids in use: the queue limit of every named profile keeps us far from here.
        1
    }

    /// Moves the packet identifier counter on by `n` without using the identifiers
    /// ([`SuppressedCopyIds::TakeOne`]).
    fn skip_packet_ids(&mut self, n: u16) {
        for _ in 0..n {
            self.next_packet_id = if self.next_packet_id == u16::MAX {
                1
            } else {
                self.next_packet_id + 1
            };
        }
    }

    fn release_packet_id(&mut self, id: Option<PacketId>) {
        if let Some(id) = id {
            self.used_ids.remove(&id);
        }
    }

    /// Bytes this session holds under the profile's memory model.
    pub fn bytes(&self, p: &BrokerProfile) -> u64 {
        let msg = |m: &OutMsg| {
            (m.topic.len() + m.payload.len()) as u64 + u64::from(p.per_message_overhead)
        };
        let msgs: u64 = self.queue.iter().chain(self.inflight.iter()).map(msg).sum();
        let subs: u64 = self
            .subscriptions
            .keys()
            .map(|f| f.len() as u64 + u64::from(p.per_subscription_bytes))
            .sum();
        u64::from(p.per_session_bytes) + msgs + subs
    }
}

/// An open network connection.
#[derive(Clone, Debug, Serialize)]
pub struct Connection {
    pub id: ConnId,
    /// Set once CONNECT has been accepted.
    pub client_id: Option<ClientId>,
    pub version: Version,
    /// Keep alive in force, in seconds (0 = off).
    pub keep_alive: u16,
    pub last_rx: SimTime,
    /// The outgoing in-flight window (client Receive Maximum or the v3 window).
    pub window: u16,
    /// Session Expiry Interval given in CONNECT (for the DISCONNECT 0 -> non-zero rule).
    pub connect_expiry: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Retained {
    pub msg: MsgId,
    pub topic: Text,
    pub payload: Payload,
    pub qos: QoS,
    pub received_at: SimTime,
    pub message_expiry: Option<u32>,
}

/// A will that outlives its session (mosquitto: Session Expiry 0 with a Will Delay).
#[derive(Clone, Debug, Serialize)]
pub struct LingeringWill {
    pub will: Will,
    pub due: SimTime,
    /// When it joined the delayed wills (see [`Session`]'s `will_seq`).
    #[serde(skip)]
    pub seq: u64,
}

/// A small deterministic hasher (FNV-1a) for session lookups by client id: no per-process random
/// keys, so nothing about the engine depends on the platform.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Sessions by client id, iterated in creation order.
pub type SessionMap = indexmap::IndexMap<ClientId, Session, std::hash::BuildHasherDefault<Fnv>>;

/// Open network connections by id, in opening order.
pub type ConnMap = indexmap::IndexMap<ConnId, Connection, std::hash::BuildHasherDefault<Fnv>>;

/// A timer in the broker's index. The variant order is the order of firing at one instant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    KeepAlive(ConnId),
    Retained(Text),
    Queue(ClientId),
    Session(ClientId),
    Will(ClientId),
    Lingering(ClientId),
}

#[derive(Clone, Debug)]
pub struct Broker {
    pub(crate) profile: BrokerProfile,
    pub(crate) now: SimTime,
    pub(crate) running: bool,
    pub(crate) sessions: SessionMap,
    pub(crate) conns: ConnMap,
    pub(crate) retained: BTreeMap<Text, Retained>,
    pub(crate) lingering_wills: Vec<(ClientId, LingeringWill)>,
    outputs: VecDeque<BrokerOutput>,
    next_msg: u32,
    seed: u64,
    assigned: u64,
    /// Round-robin position of each shared subscription group ("share/filter").
    shared_cursor: Vec<(String, usize)>,
    accepts_this_second: (u64, u32),
    /// Delayed wills added so far (their order for [`DelayedWills::OneListByInterval`]).
    will_seq: u64,
    /// When the broker (process) last started: the phase of periodic checks.
    started_at: SimTime,
    /// Timers as a min-heap; entries may be stale and are re-validated when they come due.
    timers: BinaryHeap<Reverse<(SimTime, Timer)>>,
}

/// Will handling decided at a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WillOnClose {
    /// Close without a valid DISCONNECT 0x00: the will goes out ([MQTT-3.1.2-8]).
    Publish,
    /// Normal DISCONNECT: discard the will ([MQTT-3.14.4-3]).
    Discard,
}

impl Broker {
    pub fn new(profile: BrokerProfile, seed: u64) -> Broker {
        Broker {
            profile,
            now: SimTime::ZERO,
            started_at: SimTime::ZERO,
            running: true,
            sessions: SessionMap::default(),
            conns: ConnMap::default(),
            retained: BTreeMap::new(),
            lingering_wills: Vec::new(),
            outputs: VecDeque::new(),
            next_msg: 1,
            seed,
            assigned: 0,
            shared_cursor: Vec::new(),
            accepts_this_second: (u64::MAX, 0),
            will_seq: 0,
            timers: BinaryHeap::new(),
        }
    }

    pub fn profile(&self) -> &BrokerProfile {
        &self.profile
    }
    pub fn is_running(&self) -> bool {
        self.running
    }
    /// Sessions in the order they were created (deterministic; removal swaps the last one in).
    pub fn sessions(&self) -> &SessionMap {
        &self.sessions
    }
    /// Open connections in the order they were opened.
    pub fn connections(&self) -> &ConnMap {
        &self.conns
    }
    pub fn retained(&self) -> &BTreeMap<Text, Retained> {
        &self.retained
    }
    /// Wills that outlive their session (mosquitto with Session Expiry 0 and a Will Delay).
    pub fn lingering_wills(&self) -> &[(ClientId, LingeringWill)] {
        &self.lingering_wills
    }

    /// A fresh id for a new application message (the world uses it for client publishes too, so
    /// ids are unique per run).
    pub fn alloc_msg_id(&mut self) -> MsgId {
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        id
    }

    pub fn poll_output(&mut self) -> Option<BrokerOutput> {
        self.outputs.pop_front()
    }

    fn send(&mut self, conn: ConnId, mut p: Packet) {
        // 3.1.1 has no properties: a copy for a 3.1.1 subscriber keeps its expiry in the
        // broker (the copy still expires, [MQTT-3.3.2-5]) but carries none on the wire.
        if let Packet::Publish(x) = &mut p {
            if self.conns.get(&conn).is_some_and(|c| !c.version.is_v5()) {
                x.message_expiry = None;
                x.subscription_ids.clear();
            }
        }
        self.outputs.push_back(BrokerOutput::Send(conn, p));
    }

    fn event(&mut self, e: BrokerEvent) {
        self.outputs.push_back(BrokerOutput::Event(e));
    }

    /// The instant of the first time a timer counts `secs` after `start`, under this broker's
    /// timer granularity.
    fn deadline(&self, start: SimTime, secs: u32) -> SimTime {
        match self.profile.timers {
            TimerGranularity::Exact => start.plus_secs(u64::from(secs)),
            // mosquitto: expiry_time = now_s + N; fires when expiry_time < now_s.
            TimerGranularity::WholeSecondsStrict => {
                SimTime::from_secs(start.whole_secs() + u64::from(secs) + 1)
            }
        }
    }

    fn message_deadline(&self, received_at: SimTime, mei: Option<u32>) -> Option<SimTime> {
        mei.map(|m| self.deadline(received_at, m))
    }

    /// The Message Expiry Interval to forward: the received value minus the time waited
    /// ([MQTT-3.3.2-6]). Under a second left: 1 s, or no property at all where the profile
    /// says so ([`ExpiryRemainder`]).
    fn remaining_expiry(&self, received_at: SimTime, mei: Option<u32>) -> Option<u32> {
        let mei = mei?;
        let left = match self.profile.timers {
            TimerGranularity::Exact => {
                let end = received_at.plus_secs(u64::from(mei));
                end.since(self.now).div_ceil(1000) as u32
            }
            TimerGranularity::WholeSecondsStrict => {
                let end = received_at.whole_secs() + u64::from(mei);
                end.saturating_sub(self.now.whole_secs()) as u32
            }
        };
        match (left, self.profile.expiry_remainder) {
            (0, ExpiryRemainder::OmitProperty) => None,
            (left, _) => Some(left.max(1)),
        }
    }

    fn is_expired(&self, received_at: SimTime, mei: Option<u32>) -> bool {
        self.message_deadline(received_at, mei)
            .is_some_and(|d| d <= self.now)
    }

    /// The next instant at which [`Broker::handle_timeout`] may have work to do.
    ///
    /// Timers live in an ordered index; an entry can be stale (the connection closed, the client
    /// came back), in which case `handle_timeout` drops it, so a waiting world never spins.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        if !self.running {
            return None;
        }
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Whether anything the broker will do depends on how much time passes, keep-alive of
    /// connections aside: a session, will or retained-message timer, or a message with a Message
    /// Expiry in a session (whose remaining interval, and whether it is still sent, depend on
    /// time even where no timer is armed for it).
    pub fn has_timers_besides_keep_alive(&self) -> bool {
        let timer = self.timers.iter().any(|Reverse((_, t))| {
            !matches!(t, Timer::KeepAlive(_)) && self.true_deadline(t).is_some()
        });
        let expiring = self.sessions.values().any(|s| {
            s.queue
                .iter()
                .chain(s.inflight.iter())
                .any(|m| m.message_expiry.is_some())
        });
        let retained = self.retained.values().any(|r| r.message_expiry.is_some());
        timer || expiring || retained || !self.lingering_wills.is_empty()
    }

    fn arm(&mut self, at: SimTime, t: Timer) {
        self.timers.push(Reverse((at, t)));
    }

    fn keep_alive_deadline(&self, c: &Connection) -> Option<SimTime> {
        // [MQTT-3.1.2-24] (3.1.1) / [MQTT-3.1.2-22] (5.0): close after 1.5 x Keep Alive of silence.
        if c.client_id.is_none() || c.keep_alive == 0 {
            return None;
        }
        let ka = u64::from(c.keep_alive);
        match u64::from(self.profile.keep_alive_check_secs) {
            0 => Some(c.last_rx.plus_millis(ka * 1500)),
            period => {
                // mosquitto keepalive.c: a check every `period` s from the start closes the
                // connection once `now_s - last_msg_in > keepalive * 3 / 2` (whole seconds).
                let due = c.last_rx.whole_secs() + ka * 3 / 2 + 1;
                let start = self.started_at.whole_secs();
                let k = due.saturating_sub(start).div_ceil(period);
                Some(SimTime::from_secs(start + k * period))
            }
        }
    }

    /// When a timer is really due now, from the current state (None: nothing to do any more).
    fn true_deadline(&self, t: &Timer) -> Option<SimTime> {
        match t {
            Timer::KeepAlive(id) => self.conns.get(id).and_then(|c| self.keep_alive_deadline(c)),
            Timer::Retained(topic) => self
                .retained
                .get(topic)
                .and_then(|r| self.message_deadline(r.received_at, r.message_expiry)),
            Timer::Queue(_) if self.profile.expired_queued_kept_until_send => None,
            Timer::Queue(id) => self.sessions.get(id).and_then(|s| {
                s.queue
                    .iter()
                    .filter_map(|m| self.message_deadline(m.received_at, m.message_expiry))
                    .min()
            }),
            Timer::Session(id) => self
                .sessions
                .get(id)
                .filter(|s| s.conn.is_none())
                .and_then(|s| s.expires_at),
            Timer::Will(id) => self.sessions.get(id).and_then(|s| s.will_due),
            Timer::Lingering(id) => self
                .lingering_wills
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, w)| w.due),
        }
    }

    /// Runs every timer due at or before `now`, in time order. At one instant: keep alive,
    /// retained expiry, queued message expiry, session expiry, then wills (so a will due when its
    /// session ends goes out because the session ends).
    pub fn handle_timeout(&mut self, now: SimTime) {
        self.now = self.now.max(now);
        if !self.running {
            return;
        }
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > self.now {
                break;
            }
            let Some(Reverse((_, t))) = self.timers.pop() else {
                break;
            };
            match self.true_deadline(&t) {
                None => {}
                Some(d) if d > self.now => self.arm(d, t),
                Some(_) => self.fire(t),
            }
        }
    }

    fn fire(&mut self, t: Timer) {
        match t {
            Timer::KeepAlive(id) => {
                let client_id = self.conns[&id].client_id.clone();
                let ka = self.conns[&id].keep_alive;
                let silent_ms = self.now.0.saturating_sub(self.conns[&id].last_rx.0);
                if silent_ms > u64::from(ka) * 1500 + 999 {
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0",
                        spec: format!("close the connection once {} s (1.5 x Keep Alive) pass without a packet", u64::from(ka) * 3 / 2),
                        broker: format!(
                            "{} looks for keep-alive timeouts only every {} s, so it closes {} s after the last packet",
                            self.profile.name,
                            self.profile.keep_alive_check_secs,
                            silent_ms / 1000
                        ),
                    });
                }
                self.event(BrokerEvent::KeepAliveTimeout {
                    client_id: client_id.unwrap_or_default(),
                    conn: id,
                    keep_alive: ka,
                    cite: "[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0",
                });
                self.outputs
                    .push_back(BrokerOutput::Close(id, CloseCause::KeepAliveTimeout));
                self.end_connection(id, CloseCause::KeepAliveTimeout, WillOnClose::Publish);
            }
            Timer::Retained(topic) => {
                // §3.3.2.3.3: an expired retained message is discarded.
                self.retained.remove(&topic);
                self.event(BrokerEvent::RetainedExpired { topic });
            }
            Timer::Queue(id) => {
                // [MQTT-3.3.2-5].
                self.expire_queued(&id);
                if let Some(d) = self.true_deadline(&Timer::Queue(id.clone())) {
                    self.arm(d, Timer::Queue(id));
                }
            }
            // [MQTT-4.1.0-2] 5.0.
            Timer::Session(id) => self.expire_session(&id),
            Timer::Will(id) | Timer::Lingering(id)
                if self.profile.delayed_wills == DelayedWills::OneListByInterval =>
            {
                self.walk_delayed_wills(&id);
            }
            Timer::Will(id) => {
                // [MQTT-3.1.2-8] 5.0.
                let s = self.sessions.get_mut(&id).expect("session exists");
                s.will_due = None;
                if let Some(w) = s.will.take() {
                    self.publish_will(id, w, "[MQTT-3.1.2-8] the Will Delay Interval has passed");
                }
            }
            Timer::Lingering(id) => {
                let w = self.take_lingering(&id).expect("present");
                self.publish_will(
                    id,
                    w.will,
                    "mosquitto 2.0.11: the will waited its Will Delay although the session had ended",
                );
            }
        }
    }

    /// mosquitto 2.0.11's delayed wills (`will_delay.c`, [`DelayedWills::OneListByInterval`]):
    /// one list ordered by Will Delay Interval, the newest first among equal intervals, walked
    /// from the head; every will that is due goes out until the first one that is not. Called
    /// when `trigger`'s will comes due.
    fn walk_delayed_wills(&mut self, trigger: &ClientId) {
        // (interval, order added, due, client id, outlived its session)
        let mut list: Vec<(u32, u64, SimTime, ClientId, bool)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                let (w, due) = (s.will.as_ref()?, s.will_due?);
                Some((w.delay, s.will_seq, due, id.clone(), false))
            })
            .chain(
                self.lingering_wills
                    .iter()
                    .map(|(id, l)| (l.will.delay, l.seq, l.due, id.clone(), true)),
            )
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut blocking: Option<(ClientId, u32, SimTime)> = None;
        for (interval, _, due, id, lingering) in list {
            if let Some((head, head_interval, head_due)) = &blocking {
                if &id == trigger && due <= self.now {
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-8] 5.0",
                        spec: format!(
                            "{id}'s will is published now: its Will Delay Interval of {interval} s has passed"
                        ),
                        broker: format!(
                            "{} keeps delayed wills in one list ordered by their delay and stops at the first not yet due: {id}'s will waits behind {head}'s ({head_interval} s, due at {})",
                            self.profile.name,
                            crate::types::format_duration_ms(head_due.0)
                        ),
                    });
                    // Looked at again when the head comes due (or leaves the list earlier: then
                    // at the head's due time, where mosquitto would look within a second).
                    let again = *head_due;
                    self.arm(
                        again,
                        if lingering {
                            Timer::Lingering(id)
                        } else {
                            Timer::Will(id)
                        },
                    );
                }
                continue;
            }
            if due > self.now {
                blocking = Some((id, interval, due));
                continue;
            }
            let cite = if due < self.now {
                "mosquitto 2.0.11 will_delay.c: due earlier, held back behind a will with a shorter Will Delay"
            } else if lingering {
                "mosquitto 2.0.11: the will waited its Will Delay although the session had ended"
            } else {
                "[MQTT-3.1.2-8] the Will Delay Interval has passed"
            };
            let will = if lingering {
                self.take_lingering(&id).map(|l| l.will)
            } else {
                self.sessions.get_mut(&id).and_then(|s| {
                    s.will_due = None;
                    s.will.take()
                })
            };
            if let Some(w) = will {
                self.publish_will(id, w, cite);
            }
        }
    }

    fn take_lingering(&mut self, id: &ClientId) -> Option<LingeringWill> {
        let pos = self.lingering_wills.iter().position(|(c, _)| c == id)?;
        Some(self.lingering_wills.swap_remove(pos).1)
    }

    fn expire_queued(&mut self, id: &ClientId) {
        let now = self.now;
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        let dead: Vec<MsgId> = s
            .queue
            .iter()
            .filter(|m| {
                self.message_deadline(m.received_at, m.message_expiry)
                    .is_some_and(|d| d <= now)
            })
            .map(|m| m.msg)
            .collect();
        if dead.is_empty() {
            return;
        }
        let s = self.sessions.get_mut(id).expect("session exists");
        let mut dropped = Vec::new();
        s.queue.retain(|m| {
            if dead.contains(&m.msg) {
                dropped.push(m.clone());
                false
            } else {
                true
            }
        });
        for m in &dropped {
            s.release_packet_id(m.packet_id);
        }
        let late = self.profile.expired_queued_kept_until_send;
        if late {
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.2-5]",
                spec: "a queued copy is deleted when its Message Expiry passes".into(),
                broker: format!(
                    "{} kept the expired copies queued (counting against the queue limit) until it tried to send them now",
                    self.profile.name
                ),
            });
        }
        for m in dropped {
            self.event(BrokerEvent::MessageDropped {
                client_id: id.clone(),
                msg: m.msg,
                topic: m.topic,
                qos: m.qos,
                reason: DropReason::MessageExpired,
                cite: if late {
                    "mosquitto 2.0.11 db__message_write_inflight_out_single"
                } else {
                    "[MQTT-3.3.2-5]"
                },
            });
        }
    }

    fn expire_session(&mut self, id: &ClientId) {
        let Some(mut s) = self.sessions.swap_remove(id) else {
            return;
        };
        // The will goes out when the session ends if its delay has not yet passed
        // ([MQTT-3.1.2-8] 5.0: "the Will Delay Interval has elapsed or the Session ends").
        if s.will_due.take().is_some() {
            if let Some(w) = s.will.take() {
                self.publish_will(
                    id.clone(),
                    w,
                    "[MQTT-3.1.2-8] the session ended before the Will Delay passed",
                );
            }
        }
        self.event(BrokerEvent::SessionExpired {
            client_id: id.clone(),
            expiry: s.expiry,
            cite: if s.version.is_v5() {
                "[MQTT-4.1.0-2] 5.0"
            } else {
                "3.1.1 §4.1: the server discarded the session administratively"
            },
        });
        self.drop_session_messages(&s, DropReason::SessionEnded);
    }

    fn drop_session_messages(&mut self, s: &Session, reason: DropReason) {
        for m in s.inflight.iter().chain(s.queue.iter()) {
            self.event(BrokerEvent::MessageDropped {
                client_id: s.client_id.clone(),
                msg: m.msg,
                topic: m.topic.clone(),
                qos: m.qos,
                reason,
                cite: "the session state that held it was discarded",
            });
        }
    }

    /// Feed one input.
    pub fn handle_input(&mut self, now: SimTime, input: BrokerInput) {
        self.now = self.now.max(now);
        match input {
            BrokerInput::Open(id) => {
                self.conns.insert(
                    id,
                    Connection {
                        id,
                        client_id: None,
                        version: Version::V311,
                        keep_alive: 0,
                        last_rx: self.now,
                        window: u16::MAX,
                        connect_expiry: 0,
                    },
                );
            }
            BrokerInput::Packet(id, p) => self.handle_packet(id, p),
            BrokerInput::ConnectionLost(id) => {
                if self.conns.contains_key(&id) {
                    self.end_connection(id, CloseCause::NetworkLost, WillOnClose::Publish);
                }
            }
            BrokerInput::Stop => self.stop(),
            BrokerInput::Start => self.start(),
        }
    }

    fn handle_packet(&mut self, id: ConnId, p: Packet) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.last_rx = self.now;
        let bound = c.client_id.clone();
        match (p, bound) {
            (Packet::Connect(c), None) => self.handle_connect(id, c),
            (Packet::Connect(_), Some(cid)) => {
                // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation; close.
                self.protocol_error(
                    id,
                    &cid,
                    "a second CONNECT on one connection [MQTT-3.1.0-2]",
                );
            }
            (_, None) => {
                // [MQTT-3.1.0-1]: the first packet must be CONNECT.
                self.outputs
                    .push_back(BrokerOutput::Close(id, CloseCause::ProtocolError));
                self.conns.swap_remove(&id);
            }
            (Packet::Publish(p), Some(cid)) => self.handle_publish(id, cid, p),
            (Packet::Puback { packet_id, .. }, Some(cid)) => {
                self.complete_outgoing(&cid, packet_id, OutState::AwaitPuback)
            }
            (
                Packet::Pubrec {
                    packet_id,
                    reason: rc,
                },
                Some(cid),
            ) => self.handle_pubrec(id, &cid, packet_id, rc),
            (Packet::Pubcomp { packet_id, .. }, Some(cid)) => {
                self.complete_outgoing(&cid, packet_id, OutState::AwaitPubcomp)
            }
            (Packet::Pubrel { packet_id, .. }, Some(cid)) => {
                self.handle_pubrel(id, &cid, packet_id)
            }
            (Packet::Subscribe(s), Some(cid)) => self.handle_subscribe(id, &cid, s),
            (Packet::Unsubscribe { packet_id, filters }, Some(cid)) => {
                self.handle_unsubscribe(id, &cid, packet_id, filters)
            }
            (Packet::Pingreq, Some(_)) => self.send(id, Packet::Pingresp),
            (Packet::Disconnect(d), Some(cid)) => self.handle_disconnect(id, &cid, d),
            (other, Some(cid)) => {
                let what = format!("a {} packet from a client", other.kind());
                self.protocol_error(id, &cid, &what);
            }
        }
    }

    fn protocol_error(&mut self, id: ConnId, cid: &ClientId, what: &str) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        self.event(BrokerEvent::ProtocolError {
            client_id: cid.clone(),
            conn: id,
            what: what.to_string(),
        });
        if v5 {
            // 5.0 §4.13: the server sends DISCONNECT 0x82 before closing.
            self.send(
                id,
                Packet::Disconnect(Disconnect {
                    reason: reason::PROTOCOL_ERROR,
                    session_expiry: None,
                }),
            );
        }
        self.outputs
            .push_back(BrokerOutput::Close(id, CloseCause::ProtocolError));
        self.end_connection(id, CloseCause::ProtocolError, WillOnClose::Publish);
    }

    fn refuse(
        &mut self,
        id: ConnId,
        client_id: ClientId,
        code: u8,
        why: String,
        cite: &'static str,
    ) {
        // [MQTT-3.2.2-4] 3.1.1 / [MQTT-3.2.2-6] 5.0: Session Present is 0 on an error CONNACK;
        // then the server closes ([MQTT-3.2.2-5] / [MQTT-3.2.2-7]).
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        self.send(
            id,
            Packet::Connack(Connack {
                session_present: false,
                code,
                assigned_client_id: None,
                session_expiry: None,
                server_keep_alive: None,
                receive_maximum: None,
                maximum_qos: (v5 && self.profile.max_qos < 2)
                    .then(|| QoS::from_u8(self.profile.max_qos).unwrap_or(QoS::AtMostOnce)),
            }),
        );
        self.event(BrokerEvent::ConnectRefused {
            client_id,
            conn: id,
            code,
            why,
            cite,
        });
        self.outputs
            .push_back(BrokerOutput::Close(id, CloseCause::ConnectRefused));
        self.conns.swap_remove(&id);
    }

    fn assign_client_id(&mut self) -> ClientId {
        // Must not be used by any other session ([MQTT-3.2.2-16] 5.0). Deterministic from the seed.
        loop {
            self.assigned += 1;
            let mut x = self.seed ^ self.assigned.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            x = crate::rng::mix(x);
            let id = ClientId::new(format!(
                "{}{:08X}-{:04X}",
                self.profile.assigned_id_prefix,
                (x >> 32) as u32,
                (x & 0xFFFF) as u16
            ));
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    fn handle_connect(&mut self, id: ConnId, c: Connect) {
        let v5 = c.version.is_v5();
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.version = c.version;
        }
        // Listener rate limit (a broker setting, not the specification).
        if let Some(limit) = self.profile.max_connections_per_second {
            let sec = self.now.whole_secs();
            if self.accepts_this_second.0 != sec {
                self.accepts_this_second = (sec, 0);
            }
            if self.accepts_this_second.1 >= limit {
                let code = if v5 {
                    reason::SERVER_BUSY
                } else {
                    reason::V311_SERVER_UNAVAILABLE
                };
                self.refuse(
                    id,
                    c.client_id.clone(),
                    code,
                    format!("the broker accepts at most {limit} connections per second"),
                    "broker setting: connection rate limit",
                );
                return;
            }
            self.accepts_this_second.1 += 1;
        }
        // Client identifier rules.
        let mut assigned = None;
        let client_id = if c.client_id.is_empty() {
            if !v5 && !c.clean_start {
                // [MQTT-3.1.3-8] 3.1.1: zero-byte id with CleanSession 0 -> 0x02 and close.
                self.refuse(
                    id,
                    c.client_id.clone(),
                    reason::V311_IDENTIFIER_REJECTED,
                    "an empty client id needs Clean Session = 1 in MQTT 3.1.1".into(),
                    "[MQTT-3.1.3-8] 3.1.1",
                );
                return;
            }
            if !self.profile.allow_zero_length_client_id {
                let code = if v5 {
                    self.profile.empty_id_v5_reject_code
                } else {
                    reason::V311_IDENTIFIER_REJECTED
                };
                self.refuse(
                    id,
                    c.client_id.clone(),
                    code,
                    "this broker does not accept empty client ids".into(),
                    "[MQTT-3.1.3-6] the server MAY accept an empty id; this one does not",
                );
                return;
            }
            // [MQTT-3.1.3-6] 3.1.1 / [MQTT-3.1.3-7] 5.0: assign a unique id.
            let a = self.assign_client_id();
            if v5 {
                assigned = Some(a.clone());
            }
            a
        } else {
            c.client_id.clone()
        };
        // Maximum QoS for the will ([MQTT-3.2.2-12] 5.0).
        if let Some(w) = &c.will {
            if w.qos.as_u8() > self.profile.max_qos {
                if v5 {
                    self.refuse(
                        id,
                        client_id,
                        reason::QOS_NOT_SUPPORTED,
                        format!(
                            "the will asks for QoS {} but this broker supports at most QoS {}",
                            w.qos.as_u8(),
                            self.profile.max_qos
                        ),
                        "[MQTT-3.2.2-12] 5.0",
                    );
                } else {
                    // mosquitto closes a 3.1.1 client without a CONNACK here (observed with max_qos 1).
                    self.event(BrokerEvent::ConnectRefused {
                        client_id,
                        conn: id,
                        code: 0,
                        why: format!(
                            "will QoS {} above the broker's maximum {}: closed without CONNACK",
                            w.qos.as_u8(),
                            self.profile.max_qos
                        ),
                        cite: "mosquitto observed: a 3.1.1 will QoS above max_qos closes the connection without CONNACK",
                    });
                    self.outputs
                        .push_back(BrokerOutput::Close(id, CloseCause::ConnectRefused));
                    self.conns.swap_remove(&id);
                }
                return;
            }
        }

        // Takeover: the id is connected on another connection.
        if let Some(old_conn) = self.sessions.get(&client_id).and_then(|s| s.conn) {
            self.takeover(&client_id, old_conn, id, c.clean_start, v5);
        }

        // A will outliving its session (mosquitto SEI 0 + Will Delay) is dropped on reconnect
        // (mosquitto test 07-will-delay-reconnect.py).
        if self.take_lingering(&client_id).is_some() {
            self.event(BrokerEvent::WillDiscarded {
                client_id: client_id.clone(),
                why: "the client reconnected before the will's delay passed".into(),
                cite: "mosquitto 2.0.11 (test 07-will-delay-reconnect.py)",
            });
        }

        let (expiry, announced) =
            self.profile
                .effective_session_expiry(v5, c.clean_start, c.session_expiry);
        if v5 && announced.is_some() {
            self.event(BrokerEvent::Note {
                text: format!(
                    "The client asked for a Session Expiry Interval of {}; {} caps it at {} and says so in CONNACK.",
                    crate::types::format_expiry(c.session_expiry.unwrap_or(0)),
                    self.profile.name,
                    crate::types::format_expiry(expiry)
                ),
                cite: "5.0 §3.2.2.3.2",
            });
        } else if v5 && c.session_expiry.unwrap_or(0) != expiry {
            self.event(BrokerEvent::Deviation {
                rule: "5.0 §3.2.2.3.2",
                spec: "a server that uses another Session Expiry Interval announces it in CONNACK"
                    .into(),
                broker: format!(
                    "{} caps it at {} without saying so",
                    self.profile.name,
                    crate::types::format_expiry(expiry)
                ),
            });
        }

        // Clean Start processing on an existing (offline) session.
        let existed = self.sessions.contains_key(&client_id);
        let mut session_present = false;
        if existed {
            if c.clean_start {
                let mut old = self.sessions.swap_remove(&client_id).expect("exists");
                // The stored session ends now: a pending delayed will goes out (spec) or is
                // lost (mosquitto, matrix row 3).
                if old.will_due.take().is_some() {
                    if let Some(w) = old.will.take() {
                        if self.profile.mosquitto_takeover_will {
                            self.event(BrokerEvent::WillDiscarded {
                                client_id: client_id.clone(),
                                why: "a Clean Start connection discarded the session while the will waited".into(),
                                cite: "mosquitto 2.0.11 (handle_connect.c will_delay__remove)",
                            });
                            self.event(BrokerEvent::Deviation {
                                rule: "[MQTT-3.1.2-8] 5.0",
                                spec: "the session ends, so the delayed will is published at once"
                                    .into(),
                                broker: "mosquitto 2.0.11 discards the delayed will".into(),
                            });
                        } else {
                            self.publish_will(client_id.clone(), w, "[MQTT-3.1.2-8] 5.0: the session ended (Clean Start = 1) before the Will Delay passed");
                        }
                    }
                }
                self.event(BrokerEvent::SessionDiscarded {
                    client_id: client_id.clone(),
                    cite: if v5 {
                        "[MQTT-3.1.2-4] 5.0"
                    } else {
                        "[MQTT-3.1.2-6] 3.1.1"
                    },
                });
                self.drop_session_messages(&old, DropReason::CleanStart);
            } else {
                session_present = true;
            }
        }

        // Keep alive in force.
        let mut server_keep_alive = None;
        let mut keep_alive = c.keep_alive;
        if v5 && c.keep_alive == 0 {
            if let Some(ka) = self.profile.keep_alive_zero_override {
                server_keep_alive = Some(ka);
                keep_alive = ka;
            }
        }

        let window = self.profile.outgoing_window(v5, c.receive_maximum);
        let now = self.now;
        {
            let conn = self.conns.get_mut(&id).expect("connection open");
            conn.client_id = Some(client_id.clone());
            conn.keep_alive = keep_alive;
            conn.window = window;
            conn.connect_expiry = expiry;
        }
        let ka = self
            .conns
            .get(&id)
            .and_then(|c| self.keep_alive_deadline(c));
        if let Some(d) = ka {
            self.arm(d, Timer::KeepAlive(id));
        }
        let s = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(client_id.clone(), c.version, now));
        let resumed_queue = s.queue.len();
        let resumed_inflight = s.inflight.len();
        let will_cancelled = session_present && s.will_due.is_some();
        s.version = c.version;
        s.conn = Some(id);
        s.window = window;
        s.clean_start = c.clean_start;
        s.expiry = expiry;
        s.disconnected_at = None;
        s.expires_at = None;
        s.will_due = None;
        s.will = c.will.clone();
        if will_cancelled {
            self.event(BrokerEvent::WillDiscarded {
                client_id: client_id.clone(),
                why: "the client reconnected before the Will Delay passed".into(),
                cite: "[MQTT-3.1.3-9] 5.0",
            });
        }
        if session_present {
            self.event(BrokerEvent::SessionResumed {
                client_id: client_id.clone(),
                queued: resumed_queue,
                inflight: resumed_inflight,
                cite: if v5 {
                    "[MQTT-3.1.2-5] 5.0"
                } else {
                    "[MQTT-3.1.2-4] 3.1.1"
                },
            });
        } else {
            self.event(BrokerEvent::SessionCreated {
                client_id: client_id.clone(),
                expiry,
                cite: if c.clean_start {
                    if v5 {
                        "[MQTT-3.1.2-4] 5.0"
                    } else {
                        "[MQTT-3.1.2-6] 3.1.1"
                    }
                } else if v5 {
                    "[MQTT-3.1.2-6] 5.0"
                } else {
                    "[MQTT-3.1.2-4] 3.1.1"
                },
            });
        }
        let connack = Connack {
            // [MQTT-3.2.2-1..3] 3.1.1 / [MQTT-3.2.2-2,3] 5.0.
            session_present,
            code: 0,
            assigned_client_id: assigned,
            session_expiry: if v5 { announced } else { None },
            server_keep_alive,
            receive_maximum: if v5 {
                self.profile.server_receive_maximum
            } else {
                None
            },
            maximum_qos: (v5 && self.profile.max_qos < 2)
                .then(|| QoS::from_u8(self.profile.max_qos).unwrap_or(QoS::AtMostOnce)),
        };
        self.event(BrokerEvent::ConnectAccepted {
            client_id: client_id.clone(),
            conn: id,
            session_present,
            clean_start: c.clean_start,
            expiry,
        });
        self.send(id, Packet::Connack(connack));
        if session_present {
            self.resend_after_resume(&client_id, id);
        }
    }

    /// [MQTT-4.4.0-1]: on resume, resend unacknowledged PUBLISH (DUP = 1) and PUBREL with their
    /// original packet ids, in the original order ([MQTT-4.6.0-1]); then send what was queued.
    fn resend_after_resume(&mut self, client_id: &ClientId, conn: ConnId) {
        let Some(s) = self.sessions.get(client_id) else {
            return;
        };
        let inflight = s.inflight.clone();
        let mut keep = Vec::new();
        for mut m in inflight {
            match m.state {
                OutState::AwaitPubcomp => {
                    // [MQTT-4.3.3-1] 3.1.1 / [MQTT-4.3.3-5] 5.0: after PUBREL, never PUBLISH again.
                    self.send(
                        conn,
                        Packet::Pubrel {
                            packet_id: m.packet_id.unwrap_or(0),
                            reason: 0,
                        },
                    );
                    keep.push(m);
                }
                _ => {
                    if self.is_expired(m.received_at, m.message_expiry)
                        && self.profile.drop_expired_inflight
                    {
                        {
                            self.event(BrokerEvent::Deviation {
                                rule: "[MQTT-4.3.3-7] / [MQTT-4.4.0-1]",
                                spec: "a PUBLISH already sent is resent even if its Message Expiry has passed".into(),
                                broker: format!("{} drops the expired message instead", self.profile.name),
                            });
                            self.event(BrokerEvent::MessageDropped {
                                client_id: client_id.clone(),
                                msg: m.msg,
                                topic: m.topic.clone(),
                                qos: m.qos,
                                reason: DropReason::ExpiredInFlight,
                                cite: "mosquitto db__message_write_inflight_out_single",
                            });
                            let s = self.sessions.get_mut(client_id).expect("session");
                            s.release_packet_id(m.packet_id);
                            continue;
                        }
                    }
                    m.sent = true;
                    let p = self.publish_packet(client_id, &m, true);
                    self.send(conn, p);
                    keep.push(m);
                }
            }
        }
        let s = self.sessions.get_mut(client_id).expect("session");
        s.inflight = keep;
        let dup_first = self.profile.dup_on_first_send_after_resume_v311 && !s.version.is_v5();
        self.pump_queue(client_id, dup_first);
    }

    /// The PUBLISH of a waiting copy `m` for `client_id`, with the Message Expiry left.
    fn publish_packet(&mut self, client_id: &ClientId, m: &OutMsg, dup: bool) -> Packet {
        let left = self.remaining_expiry(m.received_at, m.message_expiry);
        if left.is_none() && m.message_expiry.is_some() {
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.2-6]",
                spec: format!(
                    "the copy of {} for {client_id} carries the Message Expiry Interval less the time it waited",
                    m.msg
                ),
                broker: format!(
                    "{} counts whole seconds; with 0 s left it sends the copy without a Message Expiry Interval, so the receiver sees a message that never expires",
                    self.profile.name
                ),
            });
        }
        publish_packet(m, dup, left)
    }

    /// Sends queued messages while the in-flight window allows ([MQTT-3.3.4-9], [MQTT-4.9.0-2]).
    fn pump_queue(&mut self, client_id: &ClientId, dup: bool) {
        if self.sessions.get(client_id).is_none_or(|s| {
            s.queue.is_empty() || (s.conn.is_none() && self.profile.expired_queued_kept_until_send)
        }) {
            return;
        }
        self.expire_queued(client_id);
        loop {
            let Some(s) = self.sessions.get(client_id) else {
                return;
            };
            let Some(conn) = s.conn else { return };
            let window = s.window as usize;
            let Some(front) = s.queue.front() else { return };
            if front.qos != QoS::AtMostOnce && s.inflight.len() >= window {
                return;
            }
            self.send_next_queued(client_id, conn, dup);
        }
    }

    /// Sends the session's oldest queued message (QoS 1 and 2 go into flight); false if the
    /// queue is empty.
    fn send_next_queued(&mut self, client_id: &ClientId, conn: ConnId, dup: bool) -> bool {
        let s = self.sessions.get_mut(client_id).expect("session");
        let Some(mut m) = s.queue.pop_front() else {
            return false;
        };
        let p = self.publish_packet(client_id, &m, dup);
        m.sent = true;
        m.state = match m.qos {
            QoS::AtMostOnce => OutState::Queued,
            QoS::AtLeastOnce => OutState::AwaitPuback,
            QoS::ExactlyOnce => OutState::AwaitPubrec,
        };
        if m.qos != QoS::AtMostOnce {
            let s = self.sessions.get_mut(client_id).expect("session");
            s.inflight.push(m);
        }
        self.send(conn, p);
        true
    }

    /// mosquitto 2.0 `db__message_delete_outgoing`: after an acknowledgement it moves queued
    /// messages into flight while a counter that starts at the acknowledged message's position
    /// (the messages in flight *before* it) is below the window, so acknowledging the oldest of a
    /// full window sends a whole window more: more unacknowledged PUBLISH than the Receive Maximum
    /// ([MQTT-3.3.4-9]) or max_inflight_messages allow.
    fn refill_after_ack(&mut self, client_id: &ClientId, acked_pos: usize) {
        self.expire_queued(client_id);
        let Some(s) = self.sessions.get(client_id) else {
            return;
        };
        let Some(conn) = s.conn else { return };
        let window = s.window as usize;
        let mut index = acked_pos;
        let mut moved = 0;
        while index < window && self.send_next_queued(client_id, conn, false) {
            index += 1;
            moved += 1;
        }
        let s = self.sessions.get(client_id).expect("session");
        if moved > 0 && s.inflight.len() > window {
            let n = s.inflight.len();
            self.event(BrokerEvent::Deviation {
                rule: "[MQTT-3.3.4-9] 5.0 / [MQTT-4.9.0-2]",
                spec: format!(
                    "at most {window} unacknowledged QoS 1 and 2 PUBLISH packets (the window)"
                ),
                broker: format!(
                    "{} refills from the acknowledged message's position, so {n} are now unacknowledged",
                    self.profile.name
                ),
            });
        }
    }

    fn takeover(
        &mut self,
        client_id: &ClientId,
        old: ConnId,
        new: ConnId,
        new_clean: bool,
        new_v5: bool,
    ) {
        let old_v5 = self.conns.get(&old).is_some_and(|c| c.version.is_v5());
        self.event(BrokerEvent::SessionTakenOver {
            client_id: client_id.clone(),
            old_conn: old,
            new_conn: new,
            cite: if new_v5 || old_v5 {
                "[MQTT-3.1.4-3] 5.0"
            } else {
                "[MQTT-3.1.4-2] 3.1.1"
            },
        });
        if self.profile.mosquitto_takeover_will && !new_clean {
            // handle_connect.c sends the old session's will *before* closing the old connection;
            // with Clean Start 0 the old session's subscriptions are still attached to it then,
            // so a client subscribed to its own will topic receives it on the old connection.
            // (With Clean Start 1 they are cleaned first: the later path below.)
            let s = self
                .sessions
                .get(client_id)
                .expect("session of a connected id");
            let send = (old_v5 && s.expiry == 0) || (!old_v5 && s.clean_start);
            if send && s.will.as_ref().is_some_and(|w| w.delay == 0) {
                let s = self.sessions.get_mut(client_id).expect("session");
                if let Some(will) = s.will.take() {
                    self.publish_will(
                        client_id.clone(),
                        will,
                        "mosquitto 2.0.11 handle_connect.c: the old session ends or was clean",
                    );
                }
            }
        }
        if old_v5 {
            if self.profile.takeover_sends_disconnect {
                self.send(
                    old,
                    Packet::Disconnect(Disconnect {
                        reason: reason::SESSION_TAKEN_OVER,
                        session_expiry: None,
                    }),
                );
            } else {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-3.1.4-3] 5.0",
                    spec: "the server sends DISCONNECT 0x8E (Session taken over) to the existing client".into(),
                    broker: format!("{} closes the old connection without a DISCONNECT (0x8E came in 2.0.15)", self.profile.name),
                });
            }
        }
        self.outputs
            .push_back(BrokerOutput::Close(old, CloseCause::TakenOver));
        self.conns.swap_remove(&old);

        let s = self
            .sessions
            .get_mut(client_id)
            .expect("session of a connected id");
        s.conn = None;
        let old_expiry = s.expiry;
        let old_clean = s.clean_start;
        let will = s.will.take();
        let Some(will) = will else {
            self.after_takeover_close(client_id, new_clean);
            return;
        };
        if self.profile.mosquitto_takeover_will {
            // handle_connect.c: send the will only if (old v5 and SEI 0) or (old v3 and clean) or
            // new Clean Start = 1; a will with a delay is then removed before it fires.
            let send = (old_v5 && old_expiry == 0) || (!old_v5 && old_clean) || new_clean;
            let spec_sends = !old_v5 || old_expiry == 0 || new_clean || will.delay == 0;
            if send && will.delay == 0 {
                self.publish_will(
                    client_id.clone(),
                    will,
                    "mosquitto 2.0.11 handle_connect.c: the old session ends or was clean",
                );
            } else {
                self.event(BrokerEvent::WillDiscarded {
                    client_id: client_id.clone(),
                    why: if send {
                        "the delayed will was removed during the takeover".into()
                    } else {
                        "both connections are persistent, so the will is cleared".into()
                    },
                    cite: "mosquitto 2.0.11 handle_connect.c (test 07-will-takeover.py)",
                });
                if spec_sends {
                    self.event(BrokerEvent::Deviation {
                        rule: if old_v5 {
                            "[MQTT-3.1.2-8] 5.0, §3.1.4"
                        } else {
                            "[MQTT-3.1.2-8] 3.1.1"
                        },
                        spec: "the existing connection's will is published on takeover".into(),
                        broker: format!("{} does not publish it", self.profile.name),
                    });
                }
            }
        } else if !old_v5 {
            // 3.1.1 [MQTT-3.1.2-8]: the connection closed without DISCONNECT, so the will goes out.
            self.publish_will(
                client_id.clone(),
                will,
                "[MQTT-3.1.2-8] 3.1.1: the connection was closed without DISCONNECT",
            );
        } else if old_expiry == 0 || new_clean {
            self.publish_will(
                client_id.clone(),
                will,
                "§3.1.4 / [MQTT-3.1.2-8] 5.0: the takeover ended the old session",
            );
        } else if will.delay == 0 {
            self.publish_will(
                client_id.clone(),
                will,
                "[MQTT-3.1.2-8] 5.0: the old connection closed and the Will Delay is 0",
            );
        } else {
            self.event(BrokerEvent::WillDiscarded {
                client_id: client_id.clone(),
                why: "a new connection resumed the session before the Will Delay passed".into(),
                cite: "[MQTT-3.1.3-9] 5.0",
            });
        }
        self.after_takeover_close(client_id, new_clean);
    }

    fn after_takeover_close(&mut self, client_id: &ClientId, new_clean: bool) {
        // An old session with expiry 0 ends with its connection; the new CONNECT then finds none.
        let s = self.sessions.get(client_id).expect("session");
        if s.expiry == 0 && !new_clean {
            let s = self.sessions.swap_remove(client_id).expect("session");
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite: if s.version.is_v5() {
                    "5.0 §3.1.2.11.2: Session Expiry 0 ends the session with the connection"
                } else {
                    "[MQTT-3.1.2-6] 3.1.1: a Clean Session lasts as long as the connection"
                },
            });
            self.drop_session_messages(&s, DropReason::SessionEnded);
        }
    }

    /// The connection is gone; decide the will and the session's fate.
    fn end_connection(&mut self, id: ConnId, cause: CloseCause, will_rule: WillOnClose) {
        let Some(conn) = self.conns.swap_remove(&id) else {
            return;
        };
        let Some(client_id) = conn.client_id else {
            return;
        };
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&client_id) else {
            return;
        };
        if s.conn != Some(id) {
            return;
        }
        s.conn = None;
        s.disconnected_at = Some(now);
        let v5 = s.version.is_v5();
        let expiry = s.expiry;
        let will = match will_rule {
            WillOnClose::Publish => s.will.take(),
            WillOnClose::Discard => {
                if s.will.take().is_some() {
                    self.event(BrokerEvent::WillDiscarded {
                        client_id: client_id.clone(),
                        why: "normal DISCONNECT".into(),
                        cite: "[MQTT-3.14.4-3]",
                    });
                }
                None
            }
        };
        self.event(BrokerEvent::ConnectionClosed {
            client_id: client_id.clone(),
            conn: id,
            cause,
        });
        if expiry == 0 {
            // The session ends with the connection (3.1.1 [MQTT-3.1.2-6]; 5.0 §3.1.2.11.2).
            if let Some(w) = will {
                if v5 && w.delay > 0 && self.profile.will_waits_delay_after_session_end {
                    let due = self.deadline(now, w.delay);
                    self.event(BrokerEvent::Deviation {
                        rule: "[MQTT-3.1.2-8] 5.0",
                        spec:
                            "the session ended (Session Expiry 0), so the will is published at once"
                                .into(),
                        broker: format!(
                            "{} still waits the Will Delay of {} s",
                            self.profile.name, w.delay
                        ),
                    });
                    self.event(BrokerEvent::WillScheduled {
                        client_id: client_id.clone(),
                        due,
                        cite: "mosquitto 2.0.11 context.c / test 07-will-delay.py",
                    });
                    self.take_lingering(&client_id);
                    self.will_seq += 1;
                    let seq = self.will_seq;
                    self.lingering_wills
                        .push((client_id.clone(), LingeringWill { will: w, due, seq }));
                    self.arm(due, Timer::Lingering(client_id.clone()));
                } else {
                    self.publish_will(
                        client_id.clone(),
                        w,
                        if v5 {
                            "[MQTT-3.1.2-8] 5.0: the connection closed and the session ended"
                        } else {
                            "[MQTT-3.1.2-8] 3.1.1: the connection closed without DISCONNECT"
                        },
                    );
                }
            }
            let s = self.sessions.swap_remove(&client_id).expect("session");
            self.event(BrokerEvent::SessionEnded {
                client_id: client_id.clone(),
                cite: if v5 {
                    "5.0 §3.1.2.11.2: Session Expiry 0 ends the session with the connection"
                } else {
                    "[MQTT-3.1.2-6] 3.1.1: a Clean Session lasts as long as the connection"
                },
            });
            self.drop_session_messages(&s, DropReason::SessionEnded);
            return;
        }
        // The session is stored ([MQTT-3.1.2-4] 3.1.1 / [MQTT-3.1.2-23] 5.0).
        let expires_at = (expiry != NEVER_EXPIRE).then(|| self.deadline(now, expiry));
        let s = self.sessions.get_mut(&client_id).expect("session");
        s.expires_at = expires_at;
        if let Some(t) = expires_at {
            self.arm(t, Timer::Session(client_id.clone()));
        }
        self.event(BrokerEvent::SessionStored {
            client_id: client_id.clone(),
            expires_at,
            cite: if v5 {
                "[MQTT-3.1.2-23] 5.0"
            } else {
                "[MQTT-3.1.2-4] 3.1.1"
            },
        });
        if let Some(w) = will {
            if !v5 || w.delay == 0 {
                self.publish_will(
                    client_id.clone(),
                    w,
                    if v5 {
                        "[MQTT-3.1.2-8] 5.0: the connection closed and the Will Delay is 0"
                    } else {
                        "[MQTT-3.1.2-8] 3.1.1: the connection closed without DISCONNECT"
                    },
                );
            } else {
                // §3.1.3.2.2: delayed until the Will Delay passes or the session ends.
                let secs = w.delay.min(expiry);
                let due = self.deadline(now, secs);
                self.will_seq += 1;
                let seq = self.will_seq;
                let s = self.sessions.get_mut(&client_id).expect("session");
                s.will = Some(w);
                s.will_due = Some(due);
                s.will_seq = seq;
                self.arm(due, Timer::Will(client_id.clone()));
                self.event(BrokerEvent::WillScheduled {
                    client_id,
                    due,
                    cite: "§3.1.3.2.2 Will Delay Interval",
                });
            }
        }
    }

    fn handle_disconnect(&mut self, id: ConnId, cid: &ClientId, d: Disconnect) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        if v5 {
            if let Some(new_expiry) = d.session_expiry {
                let connect_expiry = self.conns.get(&id).map_or(0, |c| c.connect_expiry);
                if connect_expiry == 0 && new_expiry != 0 {
                    // §3.14.2.2.2: a protocol error; not a valid DISCONNECT, so the will stays.
                    if self.profile.invalid_disconnect_expiry_sends_0x82 {
                        self.protocol_error(
                            id,
                            cid,
                            "DISCONNECT raised the Session Expiry Interval from 0 (§3.14.2.2.2)",
                        );
                    } else {
                        self.event(BrokerEvent::Deviation {
                            rule: "5.0 §3.14.2.2.2",
                            spec: "DISCONNECT 0x82 (Protocol Error), and the will is not deleted"
                                .into(),
                            broker: format!(
                                "{} closes without 0x82 and without the will",
                                self.profile.name
                            ),
                        });
                        self.outputs
                            .push_back(BrokerOutput::Close(id, CloseCause::ProtocolError));
                        self.end_connection(id, CloseCause::ProtocolError, WillOnClose::Discard);
                    }
                    return;
                }
                let (eff, _) = self
                    .profile
                    .effective_session_expiry(true, false, Some(new_expiry));
                if let Some(s) = self.sessions.get_mut(cid) {
                    s.expiry = eff;
                }
                self.event(BrokerEvent::Note {
                    text: format!(
                        "DISCONNECT sets the Session Expiry Interval to {}.",
                        crate::types::format_expiry(eff)
                    ),
                    cite: "5.0 §3.14.2.2.2",
                });
            }
        }
        let with_will = v5 && d.reason == reason::DISCONNECT_WITH_WILL;
        let rule = if with_will && self.profile.honour_disconnect_with_will {
            WillOnClose::Publish
        } else {
            if with_will {
                self.event(BrokerEvent::Deviation {
                    rule: "5.0 §3.14.2.1 reason 0x04",
                    spec: "DISCONNECT 0x04 keeps the will, which is then published".into(),
                    broker: format!("{} discards the will", self.profile.name),
                });
            }
            WillOnClose::Discard
        };
        self.end_connection(id, CloseCause::ClientDisconnect(d.reason), rule);
    }

    fn handle_publish(&mut self, id: ConnId, cid: ClientId, p: Publish) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        match p.qos {
            QoS::AtMostOnce => {
                self.route(&cid, p);
            }
            QoS::AtLeastOnce => {
                let pid = p.packet_id.unwrap_or(0);
                // mosquitto (subs.c sub__search): 0x10 only when no subscription matches at
                // all; one skipped for No Local still counts as a subscriber.
                let subscribed = self.sessions.values().any(|s| {
                    s.subscriptions
                        .values()
                        .any(|sub| topic::matches(&sub.topic_filter, &p.topic))
                });
                self.route(&cid, p);
                let rc = if v5 && !subscribed && self.profile.no_subscribers_reason {
                    reason::NO_MATCHING_SUBSCRIBERS
                } else {
                    0
                };
                self.send(
                    id,
                    Packet::Puback {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
            QoS::ExactlyOnce => {
                let pid = p.packet_id.unwrap_or(0);
                let s = self.sessions.get(&cid).expect("connected session");
                if s.incoming_qos2.iter().any(|q| q.packet_id == pid) {
                    // [MQTT-4.3.3-2] 3.1.1 / [MQTT-4.3.3-10] 5.0: PUBREC again, no second delivery.
                    self.event(BrokerEvent::Note {
                        text: format!("Packet id {pid} is still waiting for PUBREL, so this PUBLISH is a duplicate: PUBREC again, nothing forwarded."),
                        cite: "[MQTT-4.3.3-2] 3.1.1 / [MQTT-4.3.3-10] 5.0",
                    });
                    self.send(
                        id,
                        Packet::Pubrec {
                            packet_id: pid,
                            reason: 0,
                        },
                    );
                    return;
                }
                let limit = self.profile.server_receive_maximum.unwrap_or(u16::MAX) as usize;
                if v5 && s.incoming_qos2.len() >= limit {
                    match self.profile.receive_max_exceeded {
                        ReceiveMaxExceeded::Disconnect93 => {
                            self.event(BrokerEvent::ProtocolError {
                                client_id: cid.clone(),
                                conn: id,
                                what: format!("more than Receive Maximum ({limit}) QoS 2 messages awaiting PUBREL"),
                            });
                            self.send(
                                id,
                                Packet::Disconnect(Disconnect {
                                    reason: reason::RECEIVE_MAXIMUM_EXCEEDED,
                                    session_expiry: None,
                                }),
                            );
                            self.outputs
                                .push_back(BrokerOutput::Close(id, CloseCause::ProtocolError));
                            self.end_connection(
                                id,
                                CloseCause::ProtocolError,
                                WillOnClose::Publish,
                            );
                        }
                        ReceiveMaxExceeded::Pubrec97 => {
                            self.event(BrokerEvent::Deviation {
                                rule: "5.0 §3.3.4",
                                spec: "DISCONNECT 0x93 (Receive Maximum exceeded)".into(),
                                broker: format!(
                                    "{} answers PUBREC 0x97 (Quota exceeded) and stays connected",
                                    self.profile.name
                                ),
                            });
                            self.send(
                                id,
                                Packet::Pubrec {
                                    packet_id: pid,
                                    reason: reason::QUOTA_EXCEEDED,
                                },
                            );
                        }
                    }
                    return;
                }
                let forward_now = self.profile.qos2_forward == Qos2Forward::AtPublish;
                let n = if forward_now {
                    self.route(&cid, p.clone())
                } else {
                    self.count_matches(&cid, &p.topic)
                };
                let s = self.sessions.get_mut(&cid).expect("connected session");
                s.incoming_qos2.push(IncomingQos2 {
                    packet_id: pid,
                    pending: (!forward_now).then_some(p),
                });
                // A broker that routes at PUBREL has not looked for subscribers yet when it
                // answers PUBREC: mosquitto 2.0.11 sends PUBREC 0x00 (handle_publish.c), 0x10
                // only on PUBACK.
                let rc = if v5 && n == 0 && self.profile.no_subscribers_reason && forward_now {
                    reason::NO_MATCHING_SUBSCRIBERS
                } else {
                    0
                };
                self.send(
                    id,
                    Packet::Pubrec {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
        }
    }

    fn handle_pubrel(&mut self, id: ConnId, cid: &ClientId, pid: PacketId) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let entry = self.sessions.get_mut(cid).and_then(|s| {
            let pos = s.incoming_qos2.iter().position(|q| q.packet_id == pid)?;
            Some(s.incoming_qos2.remove(pos))
        });
        match entry {
            Some(e) => {
                if let Some(p) = e.pending {
                    // Method A: forward on PUBREL (mosquitto).
                    self.route(cid, p);
                }
                self.send(
                    id,
                    Packet::Pubcomp {
                        packet_id: pid,
                        reason: 0,
                    },
                );
            }
            None => {
                let rc = if v5 { reason::PACKET_ID_NOT_FOUND } else { 0 };
                self.send(
                    id,
                    Packet::Pubcomp {
                        packet_id: pid,
                        reason: rc,
                    },
                );
            }
        }
    }

    fn handle_pubrec(&mut self, id: ConnId, cid: &ClientId, pid: PacketId, rc: u8) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        let Some(pos) = s
            .inflight
            .iter()
            .position(|m| m.packet_id == Some(pid) && m.state == OutState::AwaitPubrec)
        else {
            return;
        };
        if rc >= 0x80 {
            // [MQTT-4.4.0-2] 5.0: an error PUBREC acknowledges the message; no PUBREL.
            let m = s.inflight.remove(pos);
            s.release_packet_id(m.packet_id);
            self.pump_queue(cid, false);
            return;
        }
        s.inflight[pos].state = OutState::AwaitPubcomp;
        // [MQTT-4.3.3-1] 3.1.1 / [MQTT-4.3.3-4] 5.0.
        self.send(
            id,
            Packet::Pubrel {
                packet_id: pid,
                reason: 0,
            },
        );
    }

    fn complete_outgoing(&mut self, cid: &ClientId, pid: PacketId, expect: OutState) {
        let Some(s) = self.sessions.get_mut(cid) else {
            return;
        };
        if let Some(pos) = s
            .inflight
            .iter()
            .position(|m| m.packet_id == Some(pid) && m.state == expect)
        {
            let m = s.inflight.remove(pos);
            s.release_packet_id(m.packet_id);
            let has_queue = !s.queue.is_empty();
            self.event(BrokerEvent::MessageAcknowledged {
                client_id: cid.clone(),
                msg: m.msg,
                packet_id: pid,
            });
            if has_queue && self.profile.refill_counts_before_acked {
                self.refill_after_ack(cid, pos);
            } else if has_queue {
                self.pump_queue(cid, false);
            }
        }
    }

    fn handle_subscribe(&mut self, id: ConnId, cid: &ClientId, sub: crate::packet::Subscribe) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let mut codes = Vec::new();
        let mut retained_to_send = Vec::new();
        for (filter, opts) in &sub.filters {
            let parsed = match topic::parse_filter(filter) {
                Ok(p) => p,
                Err(_) => {
                    codes.push(if v5 {
                        reason::TOPIC_FILTER_INVALID
                    } else {
                        0x80
                    });
                    continue;
                }
            };
            let granted =
                QoS::from_u8(opts.qos.as_u8().min(self.profile.max_qos)).unwrap_or(QoS::AtMostOnce);
            codes.push(granted.as_u8());
            let s = self.sessions.get_mut(cid).expect("connected session");
            let existed = s.subscriptions.contains_key(filter);
            let share = parsed.share.map(str::to_string);
            let inner = parsed.filter.to_string();
            // [MQTT-3.8.4-3]: an identical filter replaces the existing subscription.
            let mut options = *opts;
            let mut kept_flags = false;
            if let (Some(old), true) = (
                s.subscriptions.get(filter),
                self.profile.resubscribe_keeps_flags && share.is_none(),
            ) {
                kept_flags = (old.options.no_local, old.options.retain_as_published)
                    != (opts.no_local, opts.retain_as_published);
                options.no_local = old.options.no_local;
                options.retain_as_published = old.options.retain_as_published;
            }
            s.subscriptions.insert(
                filter.clone(),
                Subscription {
                    filter: filter.clone(),
                    share: share.clone(),
                    topic_filter: inner.clone(),
                    options,
                    granted,
                    subscription_id: sub.subscription_id,
                },
            );
            if kept_flags {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-3.8.4-3]",
                    spec: "a SUBSCRIBE with an identical filter replaces the subscription, options included".into(),
                    broker: format!(
                        "{} updates only the QoS and Subscription Identifier of {filter}; No Local and Retain As Published stay as first subscribed",
                        self.profile.name
                    ),
                });
            }
            self.event(BrokerEvent::Subscribed {
                client_id: cid.clone(),
                filter: filter.clone(),
                granted,
                replaced: existed,
            });
            // Retained messages: 3.1.1 always ([MQTT-3.8.4-3]); 5.0 by Retain Handling
            // ([MQTT-3.3.1-9..11]); never for shared subscriptions (§4.8.2).
            let send_retained = share.is_none()
                && (!v5 || opts.retain_handling == 0 || (opts.retain_handling == 1 && !existed));
            if send_retained {
                for r in self.retained.values() {
                    if topic::matches(&inner, &r.topic)
                        && !self.is_expired(r.received_at, r.message_expiry)
                    {
                        retained_to_send.push((r.clone(), granted, sub.subscription_id));
                    }
                }
            }
        }
        self.send(
            id,
            Packet::Suback {
                packet_id: sub.packet_id,
                codes,
            },
        );
        for (r, granted, sid) in retained_to_send {
            let m = OutMsg {
                msg: r.msg,
                topic: r.topic.clone(),
                payload: r.payload.clone(),
                qos: r.qos.min(granted),
                // [MQTT-3.3.1-8] 3.1.1 / §3.3.1.3 5.0: RETAIN = 1 for messages sent because of a
                // new subscription.
                retain: true,
                packet_id: None,
                state: OutState::Queued,
                sent: false,
                received_at: r.received_at,
                message_expiry: r.message_expiry,
                subscription_ids: sid.into_iter().collect(),
            };
            self.deliver(cid, m);
        }
    }

    fn handle_unsubscribe(
        &mut self,
        id: ConnId,
        cid: &ClientId,
        pid: PacketId,
        filters: Vec<String>,
    ) {
        let v5 = self.conns.get(&id).is_some_and(|c| c.version.is_v5());
        let mut codes = Vec::new();
        for f in filters {
            let s = self.sessions.get_mut(cid).expect("connected session");
            let existed = s.subscriptions.remove(&f).is_some();
            codes.push(if existed {
                0
            } else {
                reason::NO_SUBSCRIPTION_EXISTED
            });
            self.event(BrokerEvent::Unsubscribed {
                client_id: cid.clone(),
                filter: f,
                existed,
            });
        }
        // 3.1.1 UNSUBACK has no payload.
        self.send(
            id,
            Packet::Unsuback {
                packet_id: pid,
                codes: if v5 { codes } else { Vec::new() },
            },
        );
    }

    fn count_matches(&self, origin: &ClientId, topic_name: &str) -> usize {
        self.sessions
            .values()
            .filter(|s| {
                s.subscriptions.values().any(|sub| {
                    topic::matches(&sub.topic_filter, topic_name)
                        && !(sub.options.no_local && &s.client_id == origin)
                })
            })
            .count()
    }

    /// The server takes ownership of a message and adds it to the session state of every matching
    /// subscription ([MQTT-4.5.0-1]). Returns how many sessions got a copy.
    fn route(&mut self, origin: &ClientId, p: Publish) -> usize {
        // Retained store (§3.3.1.3): a zero-length retained payload deletes it.
        if p.retain {
            if p.payload.is_empty() {
                if self.retained.remove(&p.topic).is_some() {
                    self.event(BrokerEvent::RetainedCleared {
                        topic: p.topic.clone(),
                    });
                }
            } else {
                self.retained.insert(
                    p.topic.clone(),
                    Retained {
                        msg: p.msg,
                        topic: p.topic.clone(),
                        payload: p.payload.clone(),
                        qos: p.qos,
                        received_at: self.now,
                        message_expiry: p.message_expiry,
                    },
                );
                if let Some(d) = self.message_deadline(self.now, p.message_expiry) {
                    self.arm(d, Timer::Retained(p.topic.clone()));
                }
                self.event(BrokerEvent::RetainedStored {
                    topic: p.topic.clone(),
                    msg: p.msg,
                });
            }
        }
        // (session index, copy): delivered after the walk, in session order.
        let mut copies: Vec<(usize, OutMsg)> = Vec::new();
        // Packet identifiers that suppressed copies take, by session index, after its copy.
        let mut skipped_ids: Vec<(usize, u16)> = Vec::new();
        let mut deviations: Vec<BrokerEvent> = Vec::new();
        let mut shared: Vec<(String, Vec<(usize, Subscription)>)> = Vec::new();
        for (idx, s) in self.sessions.values().enumerate() {
            let v5 = s.version.is_v5();
            let mut hits = s
                .subscriptions
                .values()
                .filter(|sub| topic::matches(&sub.topic_filter, &p.topic));
            let Some(first) = hits.next() else {
                continue;
            };
            let second = hits.next();
            if second.is_none() && first.share.is_none() {
                // The common case: exactly one matching, non-shared subscription.
                if !(first.options.no_local && &s.client_id == origin) {
                    copies.push((idx, self.copy_for(&p, first.granted, &[first], v5)));
                }
                continue;
            }
            let mut matched: Vec<&Subscription> =
                std::iter::once(first).chain(second).chain(hits).collect();
            for sub in matched.iter().filter(|sub| sub.share.is_some()) {
                let key = format!(
                    "{}/{}",
                    sub.share.as_deref().unwrap_or(""),
                    sub.topic_filter
                );
                match shared.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push((idx, (*sub).clone())),
                    None => shared.push((key, vec![(idx, (*sub).clone())])),
                }
            }
            // [MQTT-3.8.3-3] No Local: not to the publishing client id.
            matched.retain(|sub| {
                sub.share.is_none() && !(sub.options.no_local && &s.client_id == origin)
            });
            if matched.is_empty() {
                continue;
            }
            let mode = if s.version.is_v5() {
                self.profile.overlap_v5
            } else {
                self.profile.overlap_v311
            };
            let make = |subs: &[&Subscription], qos_from: QoS| -> OutMsg {
                self.copy_for(&p, qos_from, subs, v5)
            };
            match mode {
                Overlap::OneCopyMaxQos => {
                    let max = matched
                        .iter()
                        .map(|x| x.granted)
                        .max()
                        .unwrap_or(QoS::AtMostOnce);
                    copies.push((idx, make(&matched, max)));
                }
                Overlap::CopyPerSubscription => {
                    // One copy per subscription, in the order the broker's tree walk meets them.
                    matched.sort_by_key(|x| topic::tree_walk_key(&x.topic_filter, &p.topic));
                    for sub in &matched {
                        copies.push((idx, make(&[*sub], sub.granted)));
                    }
                }
                Overlap::OneCopyFirstMatched => {
                    matched.sort_by_key(|x| topic::tree_walk_key(&x.topic_filter, &p.topic));
                    let first = matched[0];
                    let copy = make(&[first], first.granted);
                    let best = matched
                        .iter()
                        .map(|x| self.copy_qos(p.qos, x.granted))
                        .max()
                        .unwrap_or(copy.qos);
                    if best > copy.qos {
                        deviations.push(BrokerEvent::Deviation {
                            rule: "[MQTT-3.3.5-1]",
                            spec: format!(
                                "{} gets {} at QoS {}, the highest of its {} matching subscriptions",
                                s.client_id,
                                p.msg,
                                best.as_u8(),
                                matched.len()
                            ),
                            broker: format!(
                                "{} sends one copy at the QoS of the subscription its topic tree meets first, {} (QoS {})",
                                self.profile.name,
                                first.topic_filter,
                                copy.qos.as_u8()
                            ),
                        });
                    }
                    if self.profile.suppressed_copy_ids == SuppressedCopyIds::TakeOne {
                        let n = matched[1..]
                            .iter()
                            .filter(|x| self.copy_qos(p.qos, x.granted) != QoS::AtMostOnce)
                            .count();
                        if n > 0 {
                            skipped_ids.push((idx, n as u16));
                        }
                    }
                    copies.push((idx, copy));
                }
            }
        }
        // Shared subscriptions (§4.8.2): one member per group, round robin, offline members
        // included (observed on mosquitto and on the Paho test broker).
        for (key, members) in shared {
            let pos = match self.shared_cursor.iter().position(|(k, _)| *k == key) {
                Some(p) => p,
                None => {
                    self.shared_cursor.push((key, 0));
                    self.shared_cursor.len() - 1
                }
            };
            let cursor = &mut self.shared_cursor[pos].1;
            let (idx, sub) = &members[*cursor % members.len()];
            *cursor += 1;
            let v5 = self.sessions[*idx].version.is_v5();
            copies.push((*idx, self.copy_for(&p, sub.granted, &[sub], v5)));
        }
        let n = {
            let mut ids: Vec<usize> = copies.iter().map(|(i, _)| *i).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        };
        self.event(BrokerEvent::MessageRouted {
            from: origin.clone(),
            msg: p.msg,
            topic: p.topic.clone(),
            qos: p.qos,
            copies: copies.len(),
        });
        for e in deviations {
            self.event(e);
        }
        for (idx, m) in copies {
            self.deliver_at(idx, m);
            if let Some(&(_, k)) = skipped_ids.iter().find(|(i, _)| *i == idx) {
                if let Some((_, s)) = self.sessions.get_index_mut(idx) {
                    s.skip_packet_ids(k);
                }
            }
        }
        n
    }

    /// The QoS of a copy: min(published QoS, granted QoS), or the granted QoS under mosquitto's
    /// non-standard upgrade_outgoing_qos.
    fn copy_qos(&self, published: QoS, granted: QoS) -> QoS {
        if self.profile.upgrade_outgoing_qos {
            granted
        } else {
            published.min(granted)
        }
    }

    fn copy_for(&self, p: &Publish, granted: QoS, subs: &[&Subscription], v5: bool) -> OutMsg {
        // [MQTT-3.8.4-6] 3.1.1 / [MQTT-3.8.4-8] 5.0: min(published QoS, granted QoS);
        // mosquitto's upgrade_outgoing_qos is non-standard.
        let qos = self.copy_qos(p.qos, granted);
        // 3.1.1 [MQTT-3.3.1-9]: RETAIN = 0 to established subscriptions. 5.0: Retain As Published
        // ([MQTT-3.3.1-12], [MQTT-3.3.1-13]).
        let retain = v5 && p.retain && subs.iter().any(|s| s.options.retain_as_published);
        OutMsg {
            msg: p.msg,
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            qos,
            retain,
            packet_id: None,
            state: OutState::Queued,
            sent: false,
            received_at: self.now,
            message_expiry: p.message_expiry,
            // [MQTT-3.3.4-3..5] 5.0: the copy carries the matching subscriptions' identifiers.
            subscription_ids: if v5 {
                subs.iter().filter_map(|s| s.subscription_id).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Adds a copy to a session: sent now if online and the window allows, else queued.
    fn deliver(&mut self, cid: &ClientId, m: OutMsg) {
        if let Some(idx) = self.sessions.get_index_of(cid) {
            self.deliver_at(idx, m);
        }
    }

    /// Adds a copy to the session at `idx` (its index in `sessions`).
    fn deliver_at(&mut self, idx: usize, mut m: OutMsg) {
        let expiry = self.remaining_expiry(m.received_at, m.message_expiry);
        let Some((cid, s)) = self.sessions.get_index_mut(idx) else {
            return;
        };
        let cid = cid.clone();
        let cid = &cid;
        let online = s.conn;
        let qos0 = m.qos == QoS::AtMostOnce;
        if let Some(conn) = online {
            let window = s.window as usize;
            if qos0 || (s.queue.is_empty() && s.inflight.len() < window) {
                // QoS 0 to an online client goes straight out; QoS 1/2 too while the in-flight
                // window has room ([MQTT-3.3.4-9]).
                if !qos0 {
                    m.sent = true;
                    m.state = if m.qos == QoS::AtLeastOnce {
                        OutState::AwaitPuback
                    } else {
                        OutState::AwaitPubrec
                    };
                    m.packet_id = Some(s.alloc_packet_id());
                }
                let p = publish_packet(&m, false, expiry);
                let (msg, qos) = (m.msg, m.qos);
                if !qos0 {
                    s.inflight.push(m);
                }
                self.event(BrokerEvent::MessageSent {
                    client_id: cid.clone(),
                    msg,
                    qos,
                });
                self.send(conn, p);
                return;
            }
        } else if qos0 && !self.profile.queue_qos0_offline {
            // [MQTT-3.1.2-5] 3.1.1: QoS 0 MAY be stored; this broker does not.
            self.event(BrokerEvent::MessageDropped {
                client_id: cid.clone(),
                msg: m.msg,
                topic: m.topic,
                qos: m.qos,
                reason: DropReason::Qos0NotQueued,
                cite: "[MQTT-3.1.2-5] 3.1.1 / 5.0 §4.1: storing QoS 0 for an offline client is optional",
            });
            return;
        }
        self.enqueue(cid, m, online.is_some());
    }

    fn enqueue(&mut self, cid: &ClientId, mut m: OutMsg, online: bool) {
        let limit = self.profile.max_queued_messages;
        let overflow = self.profile.overflow;
        let mosquitto_count = self.profile.queue_limit_counts_qos12_with_inflight;
        let s = self.sessions.get_mut(cid).expect("session");
        let held = if mosquitto_count {
            // mosquitto 2.0 db__ready_for_queue: QoS 1/2 copies queued or in flight
            // (msg_count12), less the in-flight window while the client is online; QoS 0
            // copies never count.
            let n = s.queue.iter().filter(|m| m.qos != QoS::AtMostOnce).count() + s.inflight.len();
            let window = if online { s.window as usize } else { 0 };
            n.saturating_sub(window)
        } else {
            s.queue.len()
        };
        if let Some(limit) = limit {
            if held as u32 >= limit {
                match overflow {
                    Overflow::DropNewest => {
                        self.event(BrokerEvent::MessageDropped {
                            client_id: cid.clone(),
                            msg: m.msg,
                            topic: m.topic,
                            qos: m.qos,
                            reason: DropReason::QueueFull { limit },
                            cite: "administrative discard (3.1.1 §4.1 / 5.0 §4.1.1): the broker's queue limit",
                        });
                        return;
                    }
                    Overflow::DropOldest => {
                        if let Some(old) = s.queue.pop_front() {
                            s.release_packet_id(old.packet_id);
                            self.event(BrokerEvent::MessageDropped {
                                client_id: cid.clone(),
                                msg: old.msg,
                                topic: old.topic,
                                qos: old.qos,
                                reason: DropReason::QueueFullOldest { limit },
                                cite: "administrative discard (3.1.1 §4.1 / 5.0 §4.1.1): the broker's queue limit",
                            });
                        }
                    }
                }
            }
        }
        let s = self.sessions.get_mut(cid).expect("session");
        if m.qos != QoS::AtMostOnce {
            // mosquitto gives a queued message its packet id when it is queued (subs.c).
            m.packet_id = Some(s.alloc_packet_id());
        }
        let (msg, topic, qos) = (m.msg, m.topic.clone(), m.qos);
        let expiry = self.message_deadline(m.received_at, m.message_expiry);
        let s = self.sessions.get_mut(cid).expect("session");
        s.queue.push_back(m);
        if let Some(d) = expiry.filter(|_| !self.profile.expired_queued_kept_until_send) {
            self.timers.push(Reverse((d, Timer::Queue(cid.clone()))));
        }
        let s = self.sessions.get_mut(cid).expect("session");
        let len = s.queue.len();
        self.event(BrokerEvent::MessageQueued {
            client_id: cid.clone(),
            msg,
            topic,
            qos,
            queue_len: len,
            online,
        });
    }

    fn publish_will(&mut self, client_id: ClientId, w: Will, cite: &'static str) {
        let msg = self.alloc_msg_id();
        self.event(BrokerEvent::WillPublished {
            client_id: client_id.clone(),
            topic: w.topic.clone(),
            msg,
            cite,
        });
        // §3.1.3.2.4: the will's Message Expiry Interval is the Publication Expiry Interval.
        let p = Publish {
            dup: false,
            qos: w.qos,
            // [MQTT-3.1.2-16,17] 3.1.1: Will Retain decides RETAIN.
            retain: w.retain,
            topic: w.topic,
            packet_id: None,
            payload: w.payload,
            message_expiry: w.message_expiry,
            subscription_ids: Vec::new(),
            msg,
        };
        self.route(&client_id, p);
    }

    fn stop(&mut self) {
        if !self.running {
            return;
        }
        // mosquitto publishes delayed wills at shutdown (mosquitto.c will_delay__send_all).
        if self.profile.send_delayed_wills_at_shutdown {
            let ids: Vec<ClientId> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.will_due.is_some())
                .map(|(k, _)| k.clone())
                .collect();
            for id in ids {
                let s = self.sessions.get_mut(&id).expect("session");
                s.will_due = None;
                if let Some(w) = s.will.take() {
                    self.publish_will(
                        id,
                        w,
                        "mosquitto: delayed wills are sent when the broker shuts down",
                    );
                }
            }
            let lingering = std::mem::take(&mut self.lingering_wills);
            for (id, w) in lingering {
                self.publish_will(
                    id,
                    w.will,
                    "mosquitto: delayed wills are sent when the broker shuts down",
                );
            }
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            if let Some(conn) = self.conns.swap_remove(&c) {
                self.outputs
                    .push_back(BrokerOutput::Close(c, CloseCause::BrokerStopped));
                if let Some(cid) = conn.client_id {
                    if let Some(s) = self.sessions.get_mut(&cid) {
                        s.conn = None;
                        s.disconnected_at = Some(self.now);
                        if s.will.take().is_some() {
                            self.event(BrokerEvent::WillDiscarded {
                                client_id: cid.clone(),
                                why: "the broker stopped; this model publishes no will for connections it closes itself (§3.1.2.5 lets a server defer them)".into(),
                                cite: "5.0 §3.1.2.5 (MAY defer until restart)",
                            });
                        }
                    }
                }
            }
        }
        let keep = |s: &Session| -> bool {
            s.expiry > 0
                && match self.profile.persistence {
                    Persistence::None => false,
                    Persistence::CleanStartZeroOnly => !s.clean_start,
                    Persistence::AllSessions => true,
                }
        };
        let (kept, lost): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sessions)
            .into_values()
            .partition(|s| keep(s));
        for s in &lost {
            self.event(BrokerEvent::SessionLostAtRestart {
                client_id: s.client_id.clone(),
                why: match self.profile.persistence {
                    Persistence::None => "the broker keeps sessions only in memory".into(),
                    Persistence::CleanStartZeroOnly if s.expiry > 0 => "only sessions whose last CONNECT had Clean Start = 0 are saved (persist_write.c)".into(),
                    _ => "the session ended with its connection".into(),
                },
            });
            self.drop_session_messages(s, DropReason::BrokerRestart);
        }
        let restored_expire = self.profile.restored_sessions_expire;
        for mut s in kept {
            if !restored_expire {
                s.expires_at = None;
            } else if s.expires_at.is_none() && s.expiry != NEVER_EXPIRE {
                s.expires_at = Some(self.deadline(self.now, s.expiry));
            }
            if let Some(t) = s.expires_at {
                self.timers
                    .push(Reverse((t, Timer::Session(s.client_id.clone()))));
            }
            self.sessions.insert(s.client_id.clone(), s);
        }
        if self.profile.persistence == Persistence::None {
            self.retained.clear();
        }
        self.running = false;
        self.event(BrokerEvent::BrokerStopped {
            sessions_kept: self.sessions.len(),
            sessions_lost: lost.len(),
        });
    }

    fn start(&mut self) {
        if self.running {
            return;
        }
        self.running = true;
        self.started_at = self.now;
        if !self.profile.restored_sessions_expire {
            let has_timer = self.sessions.values().any(|s| s.expiry != NEVER_EXPIRE);
            if has_timer {
                self.event(BrokerEvent::Deviation {
                    rule: "[MQTT-4.1.0-2] 5.0",
                    spec: "a stored session is discarded when its Session Expiry Interval has passed".into(),
                    broker: format!("{} does not put sessions restored from persistence back on its expiry list (fixed in 2.0.15, #2546)", self.profile.name),
                });
            }
        }
        self.event(BrokerEvent::BrokerStarted {
            sessions: self.sessions.len(),
        });
        // Anything that fell due while the broker was down is handled at the next timeout.
    }
}

/// The PUBLISH packet for one message copy; `message_expiry` is the remaining interval.
fn publish_packet(m: &OutMsg, dup: bool, message_expiry: Option<u32>) -> Packet {
    Packet::Publish(Publish {
        // [MQTT-3.3.1-2]: DUP is 0 for QoS 0.
        dup: dup && m.qos != QoS::AtMostOnce,
        qos: m.qos,
        retain: m.retain,
        topic: m.topic.clone(),
        packet_id: m.packet_id,
        payload: m.payload.clone(),
        message_expiry,
        subscription_ids: m.subscription_ids.clone(),
        msg: m.msg,
    })
}
