//! The state a broker keeps: sessions, connections, retained messages, lingering wills.

use super::*;

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
    /// The engine's id of the message.
    pub msg: MsgId,
    /// Topic Name.
    pub topic: Text,
    /// Payload.
    pub payload: Payload,
    /// The QoS of this copy (after downgrade).
    pub qos: QoS,
    /// RETAIN flag this copy is sent with.
    pub retain: bool,
    /// Packet Identifier of this copy: given when it goes into flight, or (QoS 1/2) when it is
    /// queued; `None` for QoS 0.
    pub packet_id: Option<PacketId>,
    /// Where the copy is in its delivery.
    pub state: OutState,
    /// Sent at least once (a resend carries DUP = 1, [MQTT-3.3.1-1]).
    pub sent: bool,
    /// When the broker received the original PUBLISH.
    pub received_at: SimTime,
    /// The Message Expiry Interval the publisher gave (5.0).
    pub message_expiry: Option<u32>,
    /// Subscription Identifiers of the matching subscriptions this copy carries (5.0).
    pub subscription_ids: Vec<u32>,
}

/// A subscription held in a session.
#[derive(Clone, Debug, Serialize)]
pub struct Subscription {
    /// The filter as subscribed, including any `$share/name/` prefix.
    pub filter: String,
    /// Share name of a shared subscription (`$share/name/...`); `None` for an ordinary one.
    pub share: Option<String>,
    /// The filter without the share prefix.
    pub topic_filter: String,
    /// Subscription options in force (on a profile with `Resubscribe::KeepsFlags`, No Local and
    /// Retain As Published stay as first subscribed).
    pub options: SubOptions,
    /// Requested QoS was capped to this.
    pub granted: QoS,
    /// Subscription Identifier given with the SUBSCRIBE (5.0).
    pub subscription_id: Option<u32>,
}

/// An inbound QoS 2 message waiting for PUBREL.
#[derive(Clone, Debug, Serialize)]
pub struct IncomingQos2 {
    /// Packet Identifier the client used for the PUBLISH.
    pub packet_id: PacketId,
    /// The message still to be forwarded at PUBREL (Method A); `None` once forwarded.
    pub pending: Option<Publish>,
}

/// Server-side session state (3.1.1 §3.1.2.4 list; 5.0 §4.1 list).
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    /// Client Identifier the session belongs to.
    pub client_id: ClientId,
    /// Protocol version of the last connection.
    pub version: Version,
    /// The connection currently attached to the session; `None` while no client is connected.
    pub conn: Option<ConnId>,
    /// Clean Start / Clean Session of the last CONNECT.
    pub clean_start: bool,
    /// Effective Session Expiry Interval in seconds (`NEVER_EXPIRE` = never).
    pub expiry: u32,
    /// Subscriptions by topic filter as subscribed (share prefix included).
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Sent and not yet completely acknowledged, in send order.
    pub inflight: VecDeque<OutMsg>,
    /// Waiting to be sent, in arrival order.
    pub queue: VecDeque<OutMsg>,
    /// Inbound QoS 2 messages received and waiting for the client's PUBREL.
    pub incoming_qos2: Vec<IncomingQos2>,
    /// The will of the last CONNECT, while it has not been published or discarded.
    pub will: Option<Will>,
    /// When the stored will is due (after a close, while the Will Delay runs).
    pub will_due: Option<SimTime>,
    /// When the delayed will joined the broker's delayed wills (a counter, for the order of
    /// [`DelayedWills::OneListByInterval`]).
    #[serde(skip)]
    pub(crate) will_seq: u64,
    /// When the broker created the session, simulated time.
    pub created_at: SimTime,
    /// When its last connection closed, simulated time; `None` while connected.
    pub disconnected_at: Option<SimTime>,
    /// When the stored session expires, simulated time; `None` while connected, or when no expiry
    /// timer runs for it.
    pub expires_at: Option<SimTime>,
    /// The in-flight window of the current connection (copied from it for speed).
    pub(crate) window: u16,
    pub(crate) next_packet_id: PacketId,
    #[serde(skip)]
    pub(crate) used_ids: PacketIds,
}

impl Session {
    pub(crate) fn new(client_id: ClientId, version: Version, now: SimTime) -> Session {
        Session {
            client_id,
            version,
            conn: None,
            clean_start: true,
            expiry: 0,
            subscriptions: BTreeMap::new(),
            inflight: VecDeque::new(),
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
            used_ids: PacketIds::default(),
        }
    }

    /// An unused packet identifier for a new QoS 1 or 2 PUBLISH, now in use; `None` when all
    /// 65,535 are in use (the message then waits in the queue, see [`super::packet_ids`]).
    pub(crate) fn alloc_packet_id(&mut self) -> Option<PacketId> {
        // Packet ids are 1..=65535 and must not be in use: a server's new QoS 1 or 2 PUBLISH gets
        // an unused one ([MQTT-4.3.2-1] 3.1.1, [MQTT-4.3.3-1] 3.1.1 / [MQTT-2.2.1-4] 5.0),
        // counting on from the last one given and wrapping from 65535 to 1.
        let id = self.used_ids.first_free_from(self.next_packet_id)?;
        self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
        self.used_ids.insert(id);
        Some(id)
    }

    /// True while a queued QoS 1 or 2 copy waits for a packet identifier: later copies wait
    /// behind it, so identifiers go out in queue order.
    pub(crate) fn waiting_for_packet_id(&self) -> bool {
        // Copies get identifiers in queue order, so the waiting ones are the newest: the
        // newest QoS 1 or 2 copy tells.
        self.queue
            .iter()
            .rev()
            .find(|m| m.qos != QoS::AtMostOnce)
            .is_some_and(|m| m.packet_id.is_none())
    }

    /// Moves the packet identifier counter on by `n` without using the identifiers
    /// ([`SuppressedCopyIds::TakeOne`]).
    pub(crate) fn skip_packet_ids(&mut self, n: u16) {
        for _ in 0..n {
            self.next_packet_id = if self.next_packet_id == u16::MAX {
                1
            } else {
                self.next_packet_id + 1
            };
        }
    }

    pub(crate) fn release_packet_id(&mut self, id: Option<PacketId>) {
        if let Some(id) = id {
            self.used_ids.remove(id);
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
    /// The connection's id.
    pub id: ConnId,
    /// Set once CONNECT has been accepted.
    pub client_id: Option<ClientId>,
    /// Protocol version of the CONNECT (3.1.1 until one arrives).
    pub version: Version,
    /// Keep alive in force, in seconds (0 = off).
    pub keep_alive: u16,
    /// When the broker last received a packet on it, simulated time (the keep-alive counts from
    /// here).
    pub last_rx: SimTime,
    /// The outgoing in-flight window (client Receive Maximum or the v3 window).
    pub window: u16,
    /// Session Expiry Interval given in CONNECT (for the DISCONNECT 0 -> non-zero rule).
    pub connect_expiry: u32,
}

/// The retained message of one topic.
#[derive(Clone, Debug, Serialize)]
pub struct Retained {
    /// The engine's id of the message.
    pub msg: MsgId,
    /// Topic Name.
    pub topic: Text,
    /// Payload (never empty: an empty retained payload deletes the message instead).
    pub payload: Payload,
    /// QoS it was published with (a copy gets at most the subscription's granted QoS).
    pub qos: QoS,
    /// When the broker received it, simulated time.
    pub received_at: SimTime,
    /// Message Expiry Interval it was published with, seconds (5.0); the message is deleted when it
    /// passes.
    pub message_expiry: Option<u32>,
}

/// A will that outlives its session (mosquitto: Session Expiry 0 with a Will Delay).
#[derive(Clone, Debug, Serialize)]
pub struct LingeringWill {
    /// The will, waiting to be published.
    pub will: Will,
    /// When it is to be published, simulated time, unless the client reconnects first.
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
