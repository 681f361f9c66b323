//! The broker side: sessions keyed by client id, network connections, routing, timers.
//!
//! Sans-IO: feed it [`BrokerInput`]s with the current time, drain [`BrokerOutput`]s with
//! [`Broker::poll_output`], and call [`Broker::handle_timeout`] when [`Broker::poll_timeout`]'s
//! instant is reached. It never reads a clock and never blocks.

use crate::event::{BrokerEvent, CloseCause, DropReason, Notice};
use crate::packet::{reason, Connack, Connect, Disconnect, Packet, Publish, SubOptions, Will};
use crate::packet_ids::PacketIds;
use crate::profile::{
    BrokerProfile, DelayedWills, DisconnectWill, ExpiredInflight, ExpiredQueued, ExpiryRemainder,
    NoSubscribersReply, Overflow, Overlap, Persistence, Qos2Forward, QueueLimitCounts,
    ReceiveMaxExceeded, RestoredSessions, Resubscribe, SecondConnect, SuppressedCopyIds,
    TakeoverNotice, TakeoverWill, TimerGranularity, UnknownPubrel, WillAfterSessionEnd,
    WillsAtShutdown, WindowRefill,
};
use crate::topic;
use crate::types::{
    ClientId, ConnId, MsgId, PacketId, Payload, QoS, SimTime, Text, Version, NEVER_EXPIRE,
};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

mod close;
mod connect;
mod delivery;
mod persistence;
mod routing;
mod session;
mod subscribe;
mod timers;
mod will;

pub use session::{
    ConnMap, Connection, Fnv, IncomingQos2, LingeringWill, OutMsg, OutState, Retained, Session,
    SessionMap, Subscription,
};
use timers::Timer;
use will::Delayed;
pub use will::{decide_will, WillContext, WillDecision, WillFate, WillMoment};

/// What the world tells the broker.
#[derive(Clone, Debug)]
pub enum BrokerInput {
    /// A client opened a network connection.
    Open(ConnId),
    /// A packet arrived on a connection.
    Packet(ConnId, Packet),
    /// Bytes arrived on a connection that are not a packet the broker can take (they do not
    /// decode, or they are an AUTH packet, which the session model does not use).
    Refused(ConnId, Refusal),
    /// The network connection broke (the broker notices: TCP reset or close without DISCONNECT).
    ConnectionLost(ConnId),
    /// The broker process stops (all connections close).
    Stop,
    /// The broker process starts again.
    Start,
}

/// Bytes a broker refuses: what the decoder found wrong with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The packet type in the first byte's high nibble (0 to 15).
    pub packet_type: u8,
    /// What is wrong, with the statement it breaks.
    pub what: String,
    /// 0x81 (Malformed Packet) or 0x82 (Protocol Error), for a 5.0 DISCONNECT.
    pub code: u8,
    /// The fault is in the fixed header (a Remaining Length over four bytes), before the
    /// packet's type is handled.
    pub in_fixed_header: bool,
}

impl Refusal {
    /// The refusal of bytes that failed to decode on a connection of version `v`.
    pub fn of(bytes: &[u8], e: &crate::codec::DecodeError, v: Version) -> Refusal {
        Refusal {
            packet_type: bytes.first().map_or(0, |b| b >> 4),
            what: e.describe(v),
            code: e.reason_code().unwrap_or(reason::MALFORMED_PACKET),
            in_fixed_header: matches!(e, crate::codec::DecodeError::VarInt),
        }
    }
}

/// Where a Malformed Packet or Protocol Error was found, which decides whether a profile with
/// [`crate::profile::ErrorNotice::ByPacketType`] tells the client.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fault {
    packet_type: u8,
    code: u8,
    disconnect_expiry_rule: bool,
    in_fixed_header: bool,
}

impl Fault {
    /// A decoded packet of type `packet_type` that breaks a rule: a Protocol Error.
    fn rule(packet_type: u8) -> Fault {
        Fault {
            packet_type,
            code: reason::PROTOCOL_ERROR,
            disconnect_expiry_rule: false,
            in_fixed_header: false,
        }
    }
}

/// What the broker asks the world to do, or reports.
#[derive(Clone, Debug)]
pub enum BrokerOutput {
    /// Send this packet on that connection.
    Send(ConnId, Packet),
    /// The broker closes the network connection.
    Close(ConnId, CloseCause),
    /// What the broker decided, and the rule that decided it.
    Event(BrokerEvent),
}

/// The broker's output queue, in the order the outputs arose.
#[derive(Clone, Debug, Default)]
struct Outbox(VecDeque<BrokerOutput>);

impl Outbox {
    fn event(&mut self, e: BrokerEvent) {
        self.0.push_back(BrokerOutput::Event(e));
    }

    fn close(&mut self, conn: ConnId, cause: CloseCause) {
        self.0.push_back(BrokerOutput::Close(conn, cause));
    }
}

/// An MQTT broker's sessions, connections, retained messages and timers, as a state machine.
///
/// How to drive it (the world in `world.rs` does exactly this):
/// 1. Give it everything that happens with [`Broker::handle_input`]: a connection opened, a
///    packet arrived, a connection lost, the process stopped or started; each with the current
///    simulated time, which never goes back.
/// 2. After every input and every [`Broker::handle_timeout`], drain [`Broker::poll_output`]
///    until it returns `None`: packets to send on a connection, connections to close, and the
///    [`BrokerEvent`]s that explain each decision with the rule that made it. Outputs left in
///    the queue are not lost, but the packets they hold have not been sent.
/// 3. Ask [`Broker::poll_timeout`] for the next instant a timer may fire (keep alive, session
///    expiry, will delay, message expiry), and call [`Broker::handle_timeout`] when that time
///    comes, or earlier, which is harmless.
///
/// It reads no clock, does no IO and draws no OS randomness: the same inputs at the same times
/// with the same seed give the same outputs.
#[derive(Clone, Debug)]
pub struct Broker {
    pub(crate) profile: BrokerProfile,
    pub(crate) now: SimTime,
    pub(crate) running: bool,
    pub(crate) sessions: SessionMap,
    pub(crate) conns: ConnMap,
    pub(crate) retained: BTreeMap<Text, Retained>,
    pub(crate) lingering_wills: Vec<(ClientId, LingeringWill)>,
    /// Outputs not yet drained by [`Broker::poll_output`]. A field of its own, so an event can be
    /// emitted while a session is borrowed.
    out: Outbox,
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

impl Broker {
    /// A running broker with no sessions, behaving as `profile` says; `seed` drives its only
    /// random choice (client identifiers it assigns).
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
            out: Outbox::default(),
            next_msg: 1,
            seed,
            assigned: 0,
            shared_cursor: Vec::new(),
            accepts_this_second: (u64::MAX, 0),
            will_seq: 0,
            timers: BinaryHeap::new(),
        }
    }

    /// The profile the broker follows.
    pub fn profile(&self) -> &BrokerProfile {
        &self.profile
    }

    /// False between [`BrokerInput::Stop`] and [`BrokerInput::Start`].
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

    /// Retained messages by topic name.
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

    /// The oldest output not yet taken; call until `None` after every input and timeout.
    #[must_use = "outputs hold the packets to send and the events that explain them"]
    pub fn poll_output(&mut self) -> Option<BrokerOutput> {
        self.out.0.pop_front()
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
        self.out.0.push_back(BrokerOutput::Send(conn, p));
    }

    fn event(&mut self, e: BrokerEvent) {
        self.out.event(e);
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
            BrokerInput::Refused(id, r) => self.handle_refused(id, r),
            BrokerInput::ConnectionLost(id) => {
                if self.conns.contains_key(&id) {
                    self.end_connection(id, CloseCause::NetworkLost, WillMoment::Closed);
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
                if self.profile.second_connect == SecondConnect::ForgetsWillAndSession {
                    if let Some(s) = self.sessions.get_mut(&cid) {
                        let had_will = s.will.take().is_some();
                        let kept = s.expiry > 0;
                        s.expiry = 0;
                        if had_will || kept {
                            self.event(BrokerEvent::Deviation {
                                rule: "[MQTT-3.1.2-8]",
                                spec: "a Protocol Error closes the connection: the will is published and the session kept as its Session Expiry Interval says".into(),
                                broker: format!(
                                    "the second CONNECT clears {}: the connection closes with nothing published and the session ends with it",
                                    match (had_will, kept) {
                                        (true, true) => "the will and the session's expiry",
                                        (true, false) => "the will",
                                        _ => "the session's expiry",
                                    }
                                ),
                            });
                        }
                    }
                }
                self.protocol_error(
                    id,
                    &cid,
                    "a second CONNECT on one connection [MQTT-3.1.0-2]",
                    Fault::rule(1),
                );
            }
            (_, None) => {
                // [MQTT-3.1.0-1]: the first packet must be CONNECT.
                self.out.close(id, CloseCause::ProtocolError);
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
                self.protocol_error(id, &cid, &what, Fault::rule(other.type_code()));
            }
        }
    }
}
