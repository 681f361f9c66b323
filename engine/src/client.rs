//! The client side of a session: what a simulated MQTT client stores and how it reacts.
//!
//! Sans-IO like the broker: it is handed packets and the time, and it queues packets to send and
//! events to report, drained with [`SimClient::poll_output`].

use crate::event::ClientEvent;
use crate::packet::{Connack, Connect, Disconnect, Packet, Publish, SubOptions, Subscribe, Will};
use crate::packet_ids::PacketIds;
use crate::rng::Rng;
use crate::types::{ClientId, ConnId, MsgId, PacketId, Payload, QoS, SimTime, Text, Version};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How a client waits between reconnect attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// First delay in seconds.
    pub initial: f64,
    /// Factor each delay is multiplied by for the next attempt (default 2).
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// Longest delay in seconds.
    #[serde(default = "default_max_delay")]
    pub max: f64,
    /// How the delay is randomised (default none).
    #[serde(default)]
    pub jitter: Jitter,
}

fn default_multiplier() -> f64 {
    2.0
}
fn default_max_delay() -> f64 {
    60.0
}

/// Jitter strategies (as named in the AWS Architecture Blog's backoff article and its simulator,
/// plus the course's "add 0-50 %").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// No jitter: the delay is exactly min(max, initial x multiplier^(attempt - 1)).
    #[default]
    None,
    /// Uniform in [0, delay].
    Full,
    /// delay/2 + uniform in [0, delay/2].
    Equal,
    /// min(max, uniform in [initial, 3 x the previous delay]); the first delay is `initial`.
    Decorrelated,
    /// delay + uniform in [0, delay/2]: the course text's code, where the cap is applied before
    /// the jitter, so a wait can reach 1.5 x `max`. Written `add_up_to_50_percent`, as
    /// [`Jitter::key`] and the format documentation name it (`add_up_to50_percent`, the name
    /// serde would derive, is read too).
    #[serde(rename = "add_up_to_50_percent", alias = "add_up_to50_percent")]
    AddUpTo50Percent,
}

impl Jitter {
    /// Every strategy.
    pub const ALL: [Jitter; 5] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
        Jitter::AddUpTo50Percent,
    ];

    /// The name used in scenario files and links.
    pub fn key(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
            Jitter::AddUpTo50Percent => "add_up_to_50_percent",
        }
    }

    /// The strategy with this scenario-file name, if any.
    pub fn from_key(k: &str) -> Option<Jitter> {
        Jitter::ALL.into_iter().find(|j| j.key() == k)
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (1-based) without jitter, in seconds:
    /// min(max, initial x multiplier^(attempt - 1)).
    pub fn base_secs(&self, attempt: u32) -> f64 {
        let exp = self
            .multiplier
            .powi(attempt.saturating_sub(1).min(1024) as i32);
        (self.initial * exp).min(self.max).max(0.0)
    }

    /// Delay before attempt `attempt` (1-based), in milliseconds. `prev_ms` is the delay drawn
    /// before the previous attempt (only decorrelated jitter uses it; 0 before the first).
    pub fn delay_ms(&self, attempt: u32, prev_ms: u64, rng: &mut Rng) -> u64 {
        self.jitter_ms(self.base_secs(attempt) * 1000.0, attempt, prev_ms, rng)
    }

    /// Applies the jitter to the base delay `base_ms` of attempt `attempt` (callers that draw
    /// millions of delays compute the bases once).
    pub fn jitter_ms(&self, base_ms: f64, attempt: u32, prev_ms: u64, rng: &mut Rng) -> u64 {
        let d = match self.jitter {
            Jitter::None => base_ms,
            Jitter::Full => base_ms * rng.next_f64(),
            Jitter::Equal => base_ms / 2.0 + base_ms / 2.0 * rng.next_f64(),
            Jitter::Decorrelated => {
                let lo = self.initial.max(0.0) * 1000.0;
                if attempt <= 1 || prev_ms == 0 {
                    lo.min(self.max * 1000.0)
                } else {
                    let hi = (prev_ms as f64 * 3.0).max(lo);
                    (lo + (hi - lo) * rng.next_f64()).min(self.max * 1000.0)
                }
            }
            Jitter::AddUpTo50Percent => base_ms + base_ms * 0.5 * rng.next_f64(),
        };
        // d >= 0: adding one half and truncating rounds like f64::round, without its libm call.
        (d.max(0.0) + 0.5) as u64
    }
}

/// Connection options a client uses for CONNECT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectOptions {
    /// Protocol version of the CONNECT.
    pub version: Version,
    /// Clean Start (5.0) / Clean Session (3.1.1).
    pub clean_start: bool,
    /// Keep Alive, seconds (0 turns it off).
    pub keep_alive: u16,
    /// Session Expiry Interval, seconds (5.0; `None` leaves the property out, which means 0).
    pub session_expiry: Option<u32>,
    /// Receive Maximum (5.0; `None` leaves the property out, which means 65,535).
    pub receive_maximum: Option<u16>,
    /// The Will Message, if any.
    pub will: Option<Will>,
}

/// The client's view of its network connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LinkState {
    /// No network connection.
    Offline,
    /// CONNECT sent, waiting for CONNACK.
    Connecting {
        /// The connection the CONNECT went out on.
        conn: ConnId,
    },
    /// CONNACK with code 0 arrived: the connection is up.
    Online {
        /// The connection.
        conn: ConnId,
        /// Session Present flag of the CONNACK.
        session_present: bool,
    },
}

/// Where one of the client's own QoS 1/2 publishes is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientOutStage {
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    AwaitPuback,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubrec,
    /// PUBREL sent, waiting for PUBCOMP.
    AwaitPubcomp,
}

/// One of the client's own QoS 1/2 publishes, kept until it is completely acknowledged.
#[derive(Clone, Debug, Serialize)]
pub struct ClientOut {
    /// The PUBLISH as first sent (resent with DUP = 1 after a resume).
    pub publish: Publish,
    /// How far its acknowledgement has got.
    pub stage: ClientOutStage,
}

/// A message the application asks its client to publish.
#[derive(Clone, Debug, Serialize)]
pub struct AppMessage {
    /// The engine's id of the message.
    pub msg: MsgId,
    /// Topic Name.
    pub topic: Text,
    /// Payload.
    pub payload: Payload,
    /// QoS to publish at.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// 5.0 Message Expiry Interval, seconds.
    pub message_expiry: Option<u32>,
}

/// A publish the application made while offline, held in the client's own buffer.
#[derive(Clone, Debug, Serialize)]
pub struct Buffered {
    /// The message to publish when the client is online again.
    pub message: AppMessage,
    /// When the application published it, simulated time.
    pub at: SimTime,
}

/// A message the application received.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    /// When it arrived, simulated time.
    pub at: SimTime,
    /// The engine's id of the message.
    pub msg: MsgId,
    /// Topic Name of the PUBLISH.
    pub topic: Text,
    /// Payload of the PUBLISH.
    pub payload: Payload,
    /// QoS of the PUBLISH.
    pub qos: QoS,
    /// DUP flag of the PUBLISH.
    pub dup: bool,
    /// RETAIN flag of the PUBLISH.
    pub retain: bool,
    /// The application had already seen this message.
    pub duplicate: bool,
}

/// What a client asks the world to do, or reports, in the order it arose.
#[derive(Clone, Debug)]
pub enum ClientOutput {
    /// Send this packet on that connection.
    Send(ConnId, Packet),
    /// The client closes its network connection (after DISCONNECT, or on a ping timeout).
    Close(ConnId),
    /// What the client did or saw.
    Event(ClientEvent),
}

/// A simulated MQTT client: its connection, the session state it keeps, and the application on top,
/// as a sans-IO state machine.
#[derive(Clone, Debug, Serialize)]
pub struct SimClient {
    /// Name in the scenario and the trace.
    pub name: String,
    /// The id this client connects with (the assigned one after an empty-id CONNECT in 5.0).
    pub client_id: ClientId,
    /// Protocol version of the last CONNECT (or the one it was created with).
    pub version: Version,
    /// State of its network connection.
    pub link: LinkState,
    /// Options of the last CONNECT (reused by automatic reconnects).
    pub options: Option<ConnectOptions>,
    /// Own QoS 1/2 publishes not yet completely acknowledged, in send order.
    pub outgoing: Vec<ClientOut>,
    /// Incoming QoS 2 packet ids waiting for PUBREL.
    pub incoming_qos2: Vec<PacketId>,
    /// Offline buffer; `None` capacity = the client has no buffer and loses offline publishes.
    pub buffer: VecDeque<Buffered>,
    /// How many publishes the offline buffer holds; `None` or 0: no buffer.
    pub buffer_capacity: Option<usize>,
    /// Acknowledgements (PUBACK, PUBREC, PUBCOMP) are held back instead of sent.
    pub withhold_acks: bool,
    /// Acknowledgements held back while `withhold_acks` is on (sent when it is turned off, lost
    /// with the connection).
    pub withheld: Vec<Packet>,
    /// Every message the application received, in order.
    pub received: Vec<Received>,
    /// Reconnect automatically after the connection is lost, with this backoff; `None`: never.
    pub auto_reconnect: Option<Backoff>,
    /// When the next automatic reconnect attempt is due, simulated time.
    pub reconnect_at: Option<SimTime>,
    /// Reconnect attempts scheduled since the last accepted CONNACK.
    pub attempt: u32,
    /// The reconnect delay drawn last (decorrelated jitter grows from it).
    pub last_delay_ms: u64,
    /// The Keep Alive in force on the current connection, seconds: the one the client sent, or
    /// the CONNACK's Server Keep Alive (5.0 [MQTT-3.2.2-21]); 0 turns the keep-alive off.
    pub keep_alive_in_force: u16,
    /// When the client last sent a packet, simulated time (its keep-alive counts from here).
    pub last_tx: SimTime,
    /// When the unanswered PINGREQ went out, simulated time; `None` when none is outstanding.
    pub ping_sent_at: Option<SimTime>,
    /// The last CONNECT of this client asked the broker to keep the session.
    pub wants_session: bool,
    /// The client holds session state of its own (it has had a session that outlives connections).
    pub has_session_state: bool,
    /// Follow [MQTT-3.2.2-4] 5.0: a 5.0 client without session state that receives Session Present
    /// = 1 closes the network connection. Off by default so a takeover can be followed.
    pub strict_session_present: bool,
    #[serde(skip)]
    /// Messages the application has received (a bit per message id; ids are dense).
    seen: Vec<u64>,
    #[serde(skip)]
    next_packet_id: PacketId,
    /// The identifiers `outgoing` holds.
    #[serde(skip)]
    used_ids: PacketIds,
    #[serde(skip)]
    outputs: VecDeque<ClientOutput>,
}

impl SimClient {
    /// An offline client named `name` that connects as `client_id` with `version`.
    pub fn new(name: impl Into<String>, client_id: ClientId, version: Version) -> SimClient {
        SimClient {
            name: name.into(),
            client_id,
            version,
            link: LinkState::Offline,
            options: None,
            outgoing: Vec::new(),
            incoming_qos2: Vec::new(),
            buffer: VecDeque::new(),
            buffer_capacity: None,
            withhold_acks: false,
            withheld: Vec::new(),
            received: Vec::new(),
            auto_reconnect: None,
            reconnect_at: None,
            attempt: 0,
            last_delay_ms: 0,
            keep_alive_in_force: 0,
            last_tx: SimTime::ZERO,
            ping_sent_at: None,
            wants_session: false,
            has_session_state: false,
            strict_session_present: false,
            seen: Vec::new(),
            next_packet_id: 1,
            used_ids: PacketIds::default(),
            outputs: VecDeque::new(),
        }
    }

    /// Records that the application received `m`; true if it had already.
    fn mark_seen(&mut self, m: MsgId) -> bool {
        let (word, bit) = (m.0 as usize / 64, m.0 % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let before = self.seen[word] & (1 << bit) != 0;
        self.seen[word] |= 1 << bit;
        before
    }

    /// The oldest output not yet taken; call until `None` after every input and timeout.
    pub fn poll_output(&mut self) -> Option<ClientOutput> {
        self.outputs.pop_front()
    }

    /// The connection being opened or open, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match self.link {
            LinkState::Offline => None,
            LinkState::Connecting { conn } | LinkState::Online { conn, .. } => Some(conn),
        }
    }

    /// True once CONNACK with code 0 has arrived on the current connection.
    pub fn is_online(&self) -> bool {
        matches!(self.link, LinkState::Online { .. })
    }

    fn send(&mut self, now: SimTime, p: Packet) {
        self.last_tx = now;
        if let Some(conn) = self.conn() {
            self.outputs.push_back(ClientOutput::Send(conn, p));
        }
    }

    /// Sends an acknowledgement, or holds it back while acknowledgements are withheld.
    fn ack(&mut self, now: SimTime, p: Packet) {
        if self.withhold_acks {
            self.withheld.push(p);
        } else {
            self.send(now, p);
        }
    }

    /// Turns withholding of acknowledgements on or off; turning it off sends what was held back.
    pub fn set_withhold_acks(&mut self, now: SimTime, on: bool) {
        self.withhold_acks = on;
        if !on {
            self.release_withheld(now);
        }
    }

    /// Sends the acknowledgements held back so far; whether new ones are held stays as it is.
    pub fn release_withheld(&mut self, now: SimTime) {
        for p in std::mem::take(&mut self.withheld) {
            if let Packet::Pubcomp { packet_id, .. } = p {
                self.incoming_qos2.retain(|i| *i != packet_id);
            }
            self.send(now, p);
        }
    }

    fn event(&mut self, e: ClientEvent) {
        self.outputs.push_back(ClientOutput::Event(e));
    }

    /// The next packet identifier not held by one of the client's own unacknowledged publishes
    /// ([MQTT-2.3.1-2] 3.1.1 / [MQTT-2.2.1-3] 5.0), counting on and wrapping from 65535 to 1;
    /// `None` when all 65,535 are held.
    fn alloc_packet_id(&mut self) -> Option<PacketId> {
        let id = self.used_ids.first_free_from(self.next_packet_id)?;
        self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
        Some(id)
    }

    /// The identifiers of `outgoing` again, after it changed.
    fn outgoing_changed(&mut self) {
        self.used_ids = PacketIds::default();
        for o in &self.outgoing {
            if let Some(id) = o.publish.packet_id {
                self.used_ids.insert(id);
            }
        }
    }

    /// Starts a connection attempt on `conn` with `opts`.
    pub fn connect(&mut self, now: SimTime, conn: ConnId, opts: ConnectOptions) {
        self.version = opts.version;
        if opts.clean_start {
            // [MQTT-3.1.2-6] 3.1.1 / [MQTT-3.1.2-4] 5.0: the client discards its session too.
            self.outgoing.clear();
            self.used_ids = PacketIds::default();
            self.incoming_qos2.clear();
            self.has_session_state = false;
        }
        self.wants_session =
            !opts.clean_start && (!opts.version.is_v5() || opts.session_expiry.unwrap_or(0) > 0);
        self.link = LinkState::Connecting { conn };
        self.ping_sent_at = None;
        self.reconnect_at = None;
        let connect = Connect {
            version: opts.version,
            client_id: self.client_id.clone(),
            clean_start: opts.clean_start,
            keep_alive: opts.keep_alive,
            session_expiry: opts.session_expiry,
            receive_maximum: opts.receive_maximum,
            will: opts.will.clone(),
        };
        self.keep_alive_in_force = opts.keep_alive;
        self.options = Some(opts);
        self.send(now, Packet::Connect(connect));
    }

    /// The application publishes: sent when online; buffered or lost when offline.
    pub fn publish(&mut self, now: SimTime, m: AppMessage) {
        if self.is_online() {
            self.send_publish(now, m);
            return;
        }
        match self.buffer_capacity {
            Some(cap) if cap > 0 => {
                if self.buffer.len() >= cap {
                    if let Some(old) = self.buffer.pop_front() {
                        self.event(ClientEvent::BufferDropped {
                            msg: old.message.msg,
                            topic: old.message.topic,
                        });
                    }
                }
                let (msg, topic, payload) = (m.msg, m.topic.clone(), m.payload.clone());
                self.buffer.push_back(Buffered {
                    message: m,
                    at: now,
                });
                let n = self.buffer.len();
                self.event(ClientEvent::PublishBuffered {
                    msg,
                    topic,
                    payload,
                    buffered: n,
                });
            }
            _ => {
                self.event(ClientEvent::PublishLost {
                    msg: m.msg,
                    topic: m.topic,
                    payload: m.payload,
                    why: "it is offline and keeps no buffer of its own; the broker's session queues only messages *to* a client, never a client's outgoing ones".into(),
                });
            }
        }
    }

    fn send_publish(&mut self, now: SimTime, m: AppMessage) {
        let packet_id = match m.qos {
            QoS::AtMostOnce => None,
            _ => match self.alloc_packet_id() {
                Some(id) => Some(id),
                None => {
                    self.event(ClientEvent::PublishLost {
                        msg: m.msg,
                        topic: m.topic,
                        payload: m.payload,
                        why: format!(
                            "all 65,535 packet identifiers are held by its own unacknowledged publishes, and a new one needs an unused one ({})",
                            if self.version.is_v5() { "[MQTT-2.2.1-3] 5.0" } else { "[MQTT-2.3.1-2] 3.1.1" }
                        ),
                    });
                    return;
                }
            },
        };
        if let Some(id) = packet_id {
            self.used_ids.insert(id);
        }
        let p = Publish {
            dup: false,
            qos: m.qos,
            retain: m.retain,
            topic: m.topic,
            packet_id,
            payload: m.payload,
            message_expiry: if self.version.is_v5() {
                m.message_expiry
            } else {
                None
            },
            subscription_ids: Vec::new(),
            msg: m.msg,
        };
        let stage = match m.qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(ClientOutStage::AwaitPuback),
            QoS::ExactlyOnce => Some(ClientOutStage::AwaitPubrec),
        };
        if let Some(stage) = stage {
            self.outgoing.push(ClientOut {
                publish: p.clone(),
                stage,
            });
        }
        self.send(now, Packet::Publish(p));
    }

    /// Sends SUBSCRIBE for `filters`, with a fresh packet identifier and an optional 5.0
    /// Subscription Identifier.
    pub fn subscribe(
        &mut self,
        now: SimTime,
        filters: Vec<(String, SubOptions)>,
        subscription_id: Option<u32>,
    ) {
        // SUBSCRIBE's identifier is free again as soon as SUBACK comes (the model does not hold
        // it); only when publishes hold all 65,535 is none left.
        let Some(packet_id) = self.alloc_packet_id() else {
            self.event(ClientEvent::ConnectFailed {
                why: "it cannot subscribe: all 65,535 packet identifiers are held by its unacknowledged publishes".into(),
            });
            return;
        };
        self.send(
            now,
            Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                subscription_id,
            }),
        );
    }

    /// Sends UNSUBSCRIBE for `filters`, with a fresh packet identifier.
    pub fn unsubscribe(&mut self, now: SimTime, filters: Vec<String>) {
        let Some(packet_id) = self.alloc_packet_id() else {
            self.event(ClientEvent::ConnectFailed {
                why: "it cannot unsubscribe: all 65,535 packet identifiers are held by its unacknowledged publishes".into(),
            });
            return;
        };
        self.send(now, Packet::Unsubscribe { packet_id, filters });
    }

    /// Sends DISCONNECT (its reason code and Session Expiry Interval only in 5.0), closes the
    /// connection and reports it.
    pub fn disconnect(&mut self, now: SimTime, reason: u8, session_expiry: Option<u32>) {
        let reason = if self.version.is_v5() { reason } else { 0 };
        let session_expiry = if self.version.is_v5() {
            session_expiry
        } else {
            None
        };
        self.send(
            now,
            Packet::Disconnect(Disconnect {
                reason,
                session_expiry,
            }),
        );
        if let Some(conn) = self.conn() {
            self.outputs.push_back(ClientOutput::Close(conn));
        }
        self.link = LinkState::Offline;
        self.ping_sent_at = None;
        self.withheld.clear();
        self.event(ClientEvent::Disconnected {
            by_broker: false,
            reason_code: None,
            why: "it sent DISCONNECT and closed the connection".into(),
        });
    }

    /// The connection ended under the client (broker close, network loss).
    pub fn connection_closed(
        &mut self,
        now: SimTime,
        why: String,
        by_broker: bool,
        reason_code: Option<u8>,
        rng: &mut Rng,
    ) {
        if self.link == LinkState::Offline {
            return;
        }
        self.link = LinkState::Offline;
        self.ping_sent_at = None;
        self.event(ClientEvent::Disconnected {
            by_broker,
            reason_code,
            why,
        });
        self.schedule_reconnect(now, rng);
    }

    /// With automatic reconnect on, counts the next attempt, draws its delay and sets
    /// `reconnect_at`; otherwise does nothing.
    pub fn schedule_reconnect(&mut self, now: SimTime, rng: &mut Rng) {
        if let Some(b) = self.auto_reconnect.clone() {
            self.attempt += 1;
            self.last_delay_ms = b.delay_ms(self.attempt, self.last_delay_ms, rng);
            let at = now.plus_millis(self.last_delay_ms);
            self.reconnect_at = Some(at);
            self.event(ClientEvent::ReconnectScheduled {
                attempt: self.attempt,
                at,
            });
        }
    }

    /// A packet from the broker. `rng` is the world's seeded generator: a CONNACK that makes
    /// the client close again draws its reconnect delay from it.
    pub fn handle_packet(&mut self, now: SimTime, p: Packet, rng: &mut Rng) {
        match p {
            Packet::Connack(c) => self.on_connack(now, c, rng),
            Packet::Publish(p) => self.on_publish(now, p),
            Packet::Puback { packet_id, .. } => {
                self.complete(packet_id, ClientOutStage::AwaitPuback)
            }
            Packet::Pubrec { packet_id, reason } => {
                if let Some(o) = self.outgoing.iter_mut().find(|o| {
                    o.publish.packet_id == Some(packet_id) && o.stage == ClientOutStage::AwaitPubrec
                }) {
                    if reason >= 0x80 {
                        // [MQTT-4.4.0-2] 5.0: acknowledged with an error; nothing more to send.
                        self.outgoing
                            .retain(|o| o.publish.packet_id != Some(packet_id));
                        self.outgoing_changed();
                    } else {
                        o.stage = ClientOutStage::AwaitPubcomp;
                        self.send(
                            now,
                            Packet::Pubrel {
                                packet_id,
                                reason: 0,
                            },
                        );
                    }
                }
            }
            Packet::Pubcomp { packet_id, .. } => {
                self.complete(packet_id, ClientOutStage::AwaitPubcomp)
            }
            Packet::Pubrel { packet_id, .. } => {
                if !self.withhold_acks {
                    self.incoming_qos2.retain(|i| *i != packet_id);
                }
                self.ack(
                    now,
                    Packet::Pubcomp {
                        packet_id,
                        reason: 0,
                    },
                );
            }
            Packet::Pingresp => self.ping_sent_at = None,
            Packet::Disconnect(d) => {
                self.event(ClientEvent::Disconnected {
                    by_broker: true,
                    reason_code: Some(d.reason),
                    why: format!(
                        "the broker sent DISCONNECT 0x{:02X} ({})",
                        d.reason,
                        crate::packet::reason::name(d.reason, true)
                    ),
                });
            }
            Packet::Suback { .. } | Packet::Unsuback { .. } => {}
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe { .. }
            | Packet::Pingreq => {}
        }
    }

    fn complete(&mut self, packet_id: PacketId, stage: ClientOutStage) {
        if let Some(pos) = self
            .outgoing
            .iter()
            .position(|o| o.publish.packet_id == Some(packet_id) && o.stage == stage)
        {
            let o = self.outgoing.remove(pos);
            if let Some(id) = o.publish.packet_id {
                self.used_ids.remove(id);
            }
            self.event(ClientEvent::PublishCompleted {
                msg: o.publish.msg,
                packet_id,
            });
        }
    }

    fn on_connack(&mut self, now: SimTime, c: Connack, rng: &mut Rng) {
        self.event(ClientEvent::Connected {
            session_present: c.session_present,
            code: c.code,
            assigned_client_id: c.assigned_client_id.clone(),
        });
        let conn = match self.link {
            LinkState::Connecting { conn } => conn,
            _ => return,
        };
        if c.code != 0 {
            // The broker closes the connection after an error CONNACK.
            return;
        }
        if let Some(a) = c.assigned_client_id {
            self.client_id = a;
        }
        if let Some(ka) = c.server_keep_alive {
            // [MQTT-3.2.2-21] 5.0: use the Server Keep Alive.
            self.keep_alive_in_force = ka;
        }
        if c.session_present
            && !self.has_session_state
            && self.strict_session_present
            && self.version.is_v5()
        {
            // [MQTT-3.2.2-4] 5.0: no session state here, yet the broker resumed one: close.
            self.event(ClientEvent::UnexpectedSessionPresent);
            self.outputs.push_back(ClientOutput::Close(conn));
            self.link = LinkState::Online {
                conn,
                session_present: true,
            };
            self.connection_closed(
                now,
                "it has no session state but got Session Present = 1, so it closes the connection [MQTT-3.2.2-4] 5.0".into(),
                false,
                None,
                rng,
            );
            return;
        }
        self.link = LinkState::Online {
            conn,
            session_present: c.session_present,
        };
        self.attempt = 0;
        self.last_delay_ms = 0;
        self.has_session_state = self.wants_session;
        if !c.session_present {
            // [MQTT-3.2.2-5] 5.0: the broker has no session, so the client's own session state
            // is discarded. (3.1.1 §3.2.2.2 leaves the choice to the client; this model discards
            // it on both versions.)
            let unacked = self.outgoing.len() + self.incoming_qos2.len();
            if unacked > 0 {
                self.event(ClientEvent::ClientStateDiscarded { unacked });
            }
            self.outgoing.clear();
            self.used_ids = PacketIds::default();
            self.incoming_qos2.clear();
        } else if !self.outgoing.is_empty() {
            // [MQTT-4.4.0-1]: resend unacknowledged PUBLISH (DUP = 1) and PUBREL, same ids, same order.
            let n = self.outgoing.len();
            self.event(ClientEvent::Resending { count: n });
            let resend: Vec<ClientOut> = self.outgoing.clone();
            for o in resend {
                match o.stage {
                    ClientOutStage::AwaitPubcomp => self.send(
                        now,
                        Packet::Pubrel {
                            packet_id: o.publish.packet_id.unwrap_or(0),
                            reason: 0,
                        },
                    ),
                    _ => {
                        let mut p = o.publish.clone();
                        p.dup = true;
                        self.send(now, Packet::Publish(p));
                    }
                }
            }
        }
        // Flush the offline buffer in order.
        while let Some(b) = self.buffer.pop_front() {
            self.send_publish(now, b.message);
        }
    }

    fn on_publish(&mut self, now: SimTime, p: Publish) {
        let pid = p.packet_id.unwrap_or(0);
        if p.qos == QoS::ExactlyOnce && self.incoming_qos2.contains(&pid) {
            // Already have it: acknowledge again, do not deliver twice ([MQTT-4.3.3-2] 3.1.1).
            self.ack(
                now,
                Packet::Pubrec {
                    packet_id: pid,
                    reason: 0,
                },
            );
            return;
        }
        let duplicate = self.mark_seen(p.msg);
        self.received.push(Received {
            at: now,
            msg: p.msg,
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            qos: p.qos,
            dup: p.dup,
            retain: p.retain,
            duplicate,
        });
        self.event(ClientEvent::Delivered {
            msg: p.msg,
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            qos: p.qos,
            retain: p.retain,
            dup: p.dup,
            duplicate,
            message_expiry: p.message_expiry,
            subscription_ids: p.subscription_ids.clone(),
        });
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                self.ack(
                    now,
                    Packet::Puback {
                        packet_id: pid,
                        reason: 0,
                    },
                );
            }
            QoS::ExactlyOnce => {
                if !self.incoming_qos2.contains(&pid) {
                    self.incoming_qos2.push(pid);
                }
                self.ack(
                    now,
                    Packet::Pubrec {
                        packet_id: pid,
                        reason: 0,
                    },
                );
            }
        }
    }

    /// The next instant this client has something to do on its own (ping, ping timeout,
    /// reconnect).
    pub fn poll_timeout(&self) -> Option<SimTime> {
        let mut next = self.reconnect_at;
        if self.is_online() && self.keep_alive_in_force > 0 {
            let ka = u64::from(self.keep_alive_in_force) * 1000;
            let t = match self.ping_sent_at {
                Some(sent) => sent.plus_millis(ka),
                None => self.last_tx.plus_millis(ka),
            };
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        next
    }

    /// Does what is due at `now`. Returns true when a reconnect attempt is due (the world opens
    /// the connection).
    pub fn handle_timeout(&mut self, now: SimTime, rng: &mut Rng) -> bool {
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            return true;
        }
        if self.is_online() && self.keep_alive_in_force > 0 {
            let ka = u64::from(self.keep_alive_in_force) * 1000;
            match self.ping_sent_at {
                Some(sent) if sent.plus_millis(ka) <= now => {
                    self.event(ClientEvent::PingTimeout);
                    if let Some(conn) = self.conn() {
                        self.outputs.push_back(ClientOutput::Close(conn));
                    }
                    self.connection_closed(
                        now,
                        "no PINGRESP within the keep alive".into(),
                        false,
                        None,
                        rng,
                    );
                }
                None if self.last_tx.plus_millis(ka) <= now => {
                    // [MQTT-3.1.2-23] 3.1.1: send a packet within the keep alive; PINGREQ if idle.
                    self.ping_sent_at = Some(now);
                    self.send(now, Packet::Pingreq);
                }
                _ => {}
            }
        }
        false
    }
}
