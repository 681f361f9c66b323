//! What became of every application message, copy by copy, and why: the chain of events that
//! decided each copy's fate, with the rule each event cites.
//!
//! [`Fates::new`] reads a played scenario's trace once, oldest entry first; [`Fates::at`] then
//! answers for any step without reading the trace again (a message, copy or link belongs to a
//! step when its trace entry does). [`Player::fates`] builds it the first time it is asked for.
//!
//! A message has one copy per session the broker made one for (overlapping subscriptions can make
//! several), a copy on the publisher's own side when something happened to it there (lost before
//! sending, kept in the client's offline buffer, overwritten there, lost on the way to the
//! broker), and, when no subscription matched, one copy for nobody that says so. Each copy's
//! chain starts with the message's own links (published, routed) and goes on with its own.
//!
//! Citations are only those the trace's events carry ([`BrokerEvent::cite`]); a link whose event
//! carries none (a packet lost on the network, what a client does with its own buffer) has none,
//! and its sentence says why in plain words.

use crate::event::{BrokerEvent, ClientEvent, DropReason, Endpoint, TraceEntry, TraceItem};
use crate::packet::{Packet, Will};
use crate::player::Player;
use crate::types::{ClientId, ConnId, MsgId, PacketId, Payload, QoS, SimTime, Text};
use std::collections::BTreeMap;

/// One event in a copy's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Index of the trace entry the link comes from ([`Player::trace`]).
    pub entry: usize,
    /// When it happened, simulated time.
    pub time: SimTime,
    /// What happened, one plain sentence without a final full stop.
    pub text: String,
    /// The rule the event cites, exactly as the trace has it; `None` when no rule decides it.
    pub cite: Option<&'static str>,
}

/// Who a copy was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The session of this client id.
    Session {
        /// Client Identifier of the session.
        client_id: ClientId,
        /// The scenario client using that id, or the id when several clients used it.
        name: String,
    },
    /// The publisher's own side: its client, before the broker had the message.
    Publisher {
        /// The publishing client's scenario name.
        name: String,
    },
    /// No session: no subscription matched the message.
    Nobody,
}

impl Recipient {
    /// A short name for people: the client's name, "NAME (its own side)", or "nobody".
    pub fn label(&self) -> String {
        match self {
            Recipient::Session { name, .. } => name.clone(),
            Recipient::Publisher { name } => format!("{name} (publisher)"),
            Recipient::Nobody => "nobody".into(),
        }
    }
}

/// Where a copy is, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The subscriber's application received it, once.
    Delivered {
        /// QoS of the PUBLISH it received.
        qos: QoS,
        /// The PUBLISH it received carried DUP = 1 (a resend).
        dup: bool,
    },
    /// The subscriber's application received it again: it sees the message twice.
    Duplicate {
        /// QoS of the PUBLISH it received again.
        qos: QoS,
        /// That PUBLISH carried DUP = 1.
        dup: bool,
    },
    /// Waiting in the session's queue.
    Queued {
        /// QoS of the copy.
        qos: QoS,
        /// The subscriber is connected (the copy waits for room in the in-flight window).
        online: bool,
    },
    /// Sent and not received by the application yet (a QoS 1 or 2 copy the broker will send
    /// again when the session resumes, or a PUBLISH still on its way).
    InFlight {
        /// QoS of the copy.
        qos: QoS,
    },
    /// A QoS 0 PUBLISH the network lost: nobody sends it again.
    LostOnNetwork,
    /// The broker discarded the copy undelivered.
    Dropped {
        /// Why, as the broker's event gave it.
        reason: DropReason,
    },
    /// The copy's Message Expiry Interval passed before it was delivered.
    Expired {
        /// [`DropReason::MessageExpired`] or [`DropReason::ExpiredInFlight`].
        reason: DropReason,
    },
    /// No subscription matched: the broker made no copy (the message as a whole).
    NobodySubscribed {
        /// The broker keeps it as its topic's retained message, for future subscribers.
        retained: bool,
    },
    /// Publisher side: the client was offline with no buffer of its own.
    LostBeforeSending,
    /// Publisher side: waiting in the client's offline buffer.
    Buffered,
    /// Publisher side: a full offline buffer overwrote it.
    Overwritten,
    /// Publisher side: it reached the broker after all (sent from the buffer, or resent).
    ReachedBroker,
}

/// What went wrong for a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// Gone without a rule deciding it: lost on the network, or on the publisher's side.
    Lost,
    /// Discarded by the broker.
    Dropped,
    /// Seen twice by the application.
    Duplicate,
    /// Its Message Expiry Interval passed.
    Expired,
}

impl CopyOutcome {
    /// What went wrong, if anything.
    pub fn trouble(self) -> Option<Trouble> {
        match self {
            CopyOutcome::LostOnNetwork
            | CopyOutcome::LostBeforeSending
            | CopyOutcome::Overwritten => Some(Trouble::Lost),
            CopyOutcome::Dropped { .. } => Some(Trouble::Dropped),
            CopyOutcome::Duplicate { .. } => Some(Trouble::Duplicate),
            CopyOutcome::Expired { .. } => Some(Trouble::Expired),
            _ => None,
        }
    }

    /// One word or two for the kind of outcome: "delivered", "duplicate", "queued", "in
    /// flight", "lost", "dropped", "expired", "nobody subscribed", "buffered", "sent".
    pub fn kind(self) -> &'static str {
        match self {
            CopyOutcome::Delivered { .. } => "delivered",
            CopyOutcome::Duplicate { .. } => "duplicate",
            CopyOutcome::Queued { .. } => "queued",
            CopyOutcome::InFlight { .. } => "in flight",
            CopyOutcome::LostOnNetwork
            | CopyOutcome::LostBeforeSending
            | CopyOutcome::Overwritten => "lost",
            CopyOutcome::Dropped { .. } => "dropped",
            CopyOutcome::Expired { .. } => "expired",
            CopyOutcome::NobodySubscribed { .. } => "nobody subscribed",
            CopyOutcome::Buffered => "buffered",
            CopyOutcome::ReachedBroker => "sent",
        }
    }

    /// A short phrase for people: "delivered at QoS 1 with DUP = 1", "dropped: QoS 0 is not
    /// queued for an offline client by this broker", ...
    pub fn describe(self) -> String {
        let dup = |d: bool| if d { " with DUP = 1" } else { "" };
        match self {
            CopyOutcome::Delivered { qos, dup: d } => format!("delivered at {qos}{}", dup(d)),
            CopyOutcome::Duplicate { qos, dup: d } => {
                format!("delivered again at {qos}{}: a duplicate", dup(d))
            }
            CopyOutcome::Queued { qos, online } => format!(
                "queued at {qos}{}",
                if online {
                    " behind the in-flight window"
                } else {
                    " while offline"
                }
            ),
            CopyOutcome::InFlight { qos } => format!("in flight at {qos}"),
            CopyOutcome::LostOnNetwork => "lost on the network".into(),
            CopyOutcome::Dropped { reason } => format!("dropped: {}", reason.describe()),
            CopyOutcome::Expired { reason } => format!("expired: {}", reason.describe()),
            CopyOutcome::NobodySubscribed { retained: false } => "nobody subscribed".into(),
            CopyOutcome::NobodySubscribed { retained: true } => {
                "nobody subscribed; kept as the retained message".into()
            }
            CopyOutcome::LostBeforeSending => "lost before it was sent".into(),
            CopyOutcome::Buffered => "in the client's offline buffer".into(),
            CopyOutcome::Overwritten => "overwritten in the client's full buffer".into(),
            CopyOutcome::ReachedBroker => "sent to the broker".into(),
        }
    }
}

/// Where a link is: in the message's own links or in the copy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Message(usize),
    Own(usize),
}

/// A copy's outcome from one trace entry on, and the link that decided it.
#[derive(Clone, Copy, Debug)]
struct State {
    entry: usize,
    outcome: CopyOutcome,
    decides: Option<At>,
}

/// One copy of a message, over the whole run.
#[derive(Clone, Debug)]
pub struct CopyRecord {
    /// Who it was for.
    pub to: Recipient,
    /// Trace entry at which it was made.
    first: usize,
    /// The message's links that belong to this copy's chain: those before it was made.
    head: usize,
    links: Vec<Link>,
    states: Vec<State>,
    // While building.
    downgrade: Option<At>,
    queued: Option<At>,
    resent: Option<At>,
    made: Option<At>,
    packet_id: Option<PacketId>,
    awaiting_packet: bool,
    awaiting_delivery: bool,
    delivered: bool,
    done: bool,
}

/// One application message, over the whole run.
#[derive(Clone, Debug)]
pub struct Message {
    /// The engine's id of the message.
    pub msg: MsgId,
    /// Topic Name.
    pub topic: Text,
    /// Payload (empty when no event of the run carried it).
    pub payload: Payload,
    /// Who published it: a client's scenario name, or the client id whose will it is.
    pub from: String,
    /// The broker published it as a will.
    pub will: bool,
    /// QoS it was published with, once known.
    pub qos: Option<QoS>,
    first: usize,
    links: Vec<Link>,
    copies: Vec<CopyRecord>,
    routed: bool,
    retained: bool,
}

/// Every message's fate over a played scenario, built once, read at any step.
#[derive(Clone, Debug, Default)]
pub struct Fates {
    messages: Vec<Message>,
    /// Trace end (exclusive) of each step, the start first.
    ends: Vec<usize>,
}

/// A message as it stood at the end of one step.
#[derive(Clone, Copy, Debug)]
pub struct MessageAt<'a> {
    /// The message over the whole run (use the methods for what was known at the step).
    pub message: &'a Message,
    end: usize,
}

/// A copy as it stood at the end of one step.
#[derive(Clone, Copy, Debug)]
pub struct CopyAt<'a> {
    message: &'a Message,
    copy: &'a CopyRecord,
    end: usize,
}

impl Fates {
    /// Reads the trace of `p` once.
    pub fn new(p: &Player) -> Fates {
        let mut b = Builder::default();
        for (i, e) in p.trace().iter().enumerate() {
            b.entry(i, e);
        }
        Fates {
            messages: b.messages,
            ends: p.steps().iter().map(|s| s.end).collect(),
        }
    }

    /// Every application message up to the end of `step` (clamped to the last), in the order
    /// they first appeared.
    pub fn at(&self, step: usize) -> Vec<MessageAt<'_>> {
        let Some(&end) = self.ends.get(step.min(self.ends.len().saturating_sub(1))) else {
            return Vec::new();
        };
        let n = self.messages.partition_point(|m| m.first < end);
        self.messages[..n]
            .iter()
            .map(|message| MessageAt { message, end })
            .collect()
    }

    /// The message `msg` at the end of `step`, if it had appeared by then.
    pub fn message(&self, step: usize, msg: MsgId) -> Option<MessageAt<'_>> {
        self.at(step).into_iter().find(|m| m.message.msg == msg)
    }
}

impl<'a> MessageAt<'a> {
    /// Its copies made by the end of the step, in the order they were made.
    pub fn copies(&self) -> impl Iterator<Item = CopyAt<'a>> + 'a {
        let (message, end) = (self.message, self.end);
        let n = message.copies.partition_point(|c| c.first < end);
        message.copies[..n]
            .iter()
            .map(move |copy| CopyAt { message, copy, end })
    }

    /// The message's own links (published, routed) by the end of the step.
    pub fn links(&self) -> &'a [Link] {
        let n = self.message.links.partition_point(|l| l.entry < self.end);
        &self.message.links[..n]
    }

    /// The payload as text, when it is UTF-8.
    pub fn payload_text(&self) -> Option<&'a str> {
        self.message.payload.as_text()
    }

    /// Something went wrong for one of its copies.
    pub fn trouble(&self) -> bool {
        self.copies().any(|c| c.trouble().is_some())
    }

    /// The kinds of its copies' outcomes ([`CopyOutcome::kind`]), each once, in copy order; a
    /// publisher's copy that reached the broker adds nothing (its subscribers' copies say the
    /// rest).
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for c in self.copies() {
            let o = c.outcome();
            if o == CopyOutcome::ReachedBroker {
                continue;
            }
            if !out.contains(&o.kind()) {
                out.push(o.kind());
            }
        }
        out
    }
}

impl<'a> CopyAt<'a> {
    /// Who the copy was for.
    pub fn to(&self) -> &'a Recipient {
        &self.copy.to
    }

    fn state(&self) -> &'a State {
        let n = self.copy.states.partition_point(|s| s.entry < self.end);
        &self.copy.states[n.max(1) - 1]
    }

    /// Where the copy is, or how it ended.
    pub fn outcome(&self) -> CopyOutcome {
        self.state().outcome
    }

    /// What went wrong for it, if anything.
    pub fn trouble(&self) -> Option<Trouble> {
        self.outcome().trouble()
    }

    /// Its chain, oldest first: the message's links up to the copy, then the copy's own; each
    /// with whether it is the link that decided the outcome.
    pub fn chain(&self) -> impl Iterator<Item = (&'a Link, bool)> + 'a {
        let decides = self.state().decides;
        let head = &self.message.links[..self.copy.head];
        let n = self.copy.links.partition_point(|l| l.entry < self.end);
        let own = &self.copy.links[..n];
        head.iter()
            .enumerate()
            .map(move |(i, l)| (l, decides == Some(At::Message(i))))
            .chain(
                own.iter()
                    .enumerate()
                    .map(move |(i, l)| (l, decides == Some(At::Own(i)))),
            )
    }

    /// The link that decided the outcome.
    pub fn deciding(&self) -> Option<&'a Link> {
        match self.state().decides? {
            At::Message(i) => self.message.links.get(i),
            At::Own(i) => self.copy.links.get(i),
        }
    }
}

impl Player {
    /// What became of every message, copy by copy; built from the trace the first time it is
    /// asked for.
    pub fn fates(&self) -> &Fates {
        self.fates.get_or_init(|| Fates::new(self))
    }
}

/// The session-level event that last ended a client id's session.
#[derive(Clone)]
struct Ending {
    time: SimTime,
    text: String,
}

#[derive(Default)]
struct Builder {
    messages: Vec<Message>,
    /// Message index by message id.
    by_msg: Vec<Option<u32>>,
    /// Copies by (message id, session), indices into the message's copies.
    by_copy: BTreeMap<(MsgId, ClientId), Vec<u32>>,
    /// Copies in flight by (session, packet id): (message index, copy index).
    by_packet_id: BTreeMap<(ClientId, PacketId), (u32, u32)>,
    conn_name: BTreeMap<ConnId, String>,
    conn_id: BTreeMap<ConnId, ClientId>,
    name_id: BTreeMap<String, ClientId>,
    /// Scenario clients that used a client id.
    id_names: BTreeMap<ClientId, Vec<String>>,
    /// The will of the last accepted CONNECT of each client id, and of each connection.
    wills: BTreeMap<ClientId, Will>,
    conn_will: BTreeMap<ConnId, Will>,
    endings: BTreeMap<ClientId, Ending>,
    /// The message the broker is routing now (copies made now are its routing's).
    routing: Option<MsgId>,
    /// A copy about to be made below the published QoS: (message, session, link).
    downgrade: Option<(MsgId, ClientId, Link)>,
}

fn name_of(e: &Endpoint) -> Option<&str> {
    match e {
        Endpoint::Client(c) => Some(c),
        Endpoint::Broker => None,
    }
}

impl Builder {
    fn display(&self, id: &ClientId) -> String {
        match self.id_names.get(id).map(Vec::as_slice) {
            Some([one]) => one.clone(),
            _ => format!("\"{id}\""),
        }
    }

    fn message_index(&self, msg: MsgId) -> Option<usize> {
        self.by_msg
            .get(msg.0 as usize)
            .copied()
            .flatten()
            .map(|i| i as usize)
    }

    /// The message `msg`, made now if it is new.
    fn message(&mut self, i: usize, msg: MsgId, topic: &Text, from: &str) -> usize {
        if let Some(m) = self.message_index(msg) {
            return m;
        }
        let idx = self.messages.len();
        let slot = msg.0 as usize;
        if self.by_msg.len() <= slot {
            self.by_msg.resize(slot + 1, None);
        }
        self.by_msg[slot] = Some(idx as u32);
        self.messages.push(Message {
            msg,
            topic: topic.clone(),
            payload: Payload::default(),
            from: from.to_string(),
            will: false,
            qos: None,
            first: i,
            links: Vec::new(),
            copies: Vec::new(),
            routed: false,
            retained: false,
        });
        idx
    }

    fn link(i: usize, e: &TraceEntry, text: String, cite: Option<&'static str>) -> Link {
        Link {
            entry: i,
            time: e.time,
            text,
            cite,
        }
    }

    /// A new copy of message `m` for `to`, made at entry `i`.
    fn new_copy(&mut self, m: usize, i: usize, to: Recipient) -> usize {
        let msg = self.messages[m].msg;
        let head = self.messages[m].links.len();
        let made = head.checked_sub(1).map(At::Message);
        let c = self.messages[m].copies.len();
        if let Recipient::Session { client_id, .. } = &to {
            self.by_copy
                .entry((msg, client_id.clone()))
                .or_default()
                .push(c as u32);
        }
        let mut copy = CopyRecord {
            to,
            first: i,
            head,
            links: Vec::new(),
            states: Vec::new(),
            downgrade: None,
            queued: None,
            resent: None,
            made,
            packet_id: None,
            awaiting_packet: false,
            awaiting_delivery: false,
            delivered: false,
            done: false,
        };
        // The QoS decision comes first in the copy's own chain.
        if let (Some((dm, did, l)), Recipient::Session { client_id, .. }) =
            (&self.downgrade, &copy.to)
        {
            if *dm == msg && did == client_id {
                copy.links.push(l.clone());
                copy.downgrade = Some(At::Own(0));
                self.downgrade = None;
            }
        }
        self.messages[m].copies.push(copy);
        c
    }

    fn session_copy(
        &mut self,
        msg: MsgId,
        cid: &ClientId,
        pick: impl Fn(&CopyRecord) -> bool,
    ) -> Option<(usize, usize)> {
        let m = self.message_index(msg)?;
        let list = self.by_copy.get(&(msg, cid.clone()))?;
        let copies = &self.messages[m].copies;
        list.iter()
            .map(|&c| c as usize)
            .find(|&c| pick(&copies[c]))
            .or_else(|| list.last().map(|&c| c as usize))
            .map(|c| (m, c))
    }

    fn publisher_copy(&self, m: usize) -> Option<usize> {
        self.messages[m]
            .copies
            .iter()
            .position(|c| matches!(c.to, Recipient::Publisher { .. }))
    }

    fn push(&mut self, m: usize, c: usize, link: Link) -> At {
        let copy = &mut self.messages[m].copies[c];
        copy.links.push(link);
        At::Own(copy.links.len() - 1)
    }

    fn set(&mut self, m: usize, c: usize, entry: usize, outcome: CopyOutcome, decides: Option<At>) {
        self.messages[m].copies[c].states.push(State {
            entry,
            outcome,
            decides,
        });
    }

    fn outcome(&self, m: usize, c: usize) -> Option<CopyOutcome> {
        self.messages[m].copies[c].states.last().map(|s| s.outcome)
    }

    fn recipient(&self, cid: &ClientId) -> Recipient {
        Recipient::Session {
            client_id: cid.clone(),
            name: self.display(cid),
        }
    }

    fn entry(&mut self, i: usize, e: &TraceEntry) {
        match &e.item {
            TraceItem::Packet {
                from,
                to,
                conn,
                packet,
                lost,
                ..
            } => self.packet(i, e, from, to, *conn, packet, *lost),
            TraceItem::Broker { event } => self.broker(i, e, event),
            TraceItem::Client { client, event } => self.client(i, e, client, event),
            TraceItem::LinkClosed { client, .. } => {
                let Some(cid) = self.name_id.get(client).cloned() else {
                    return;
                };
                let open: Vec<(u32, u32)> = self
                    .by_packet_id
                    .range((cid.clone(), 0)..=(cid.clone(), u16::MAX))
                    .map(|(_, v)| *v)
                    .collect();
                for (m, c) in open {
                    let (m, c) = (m as usize, c as usize);
                    if self.messages[m].copies[c].done {
                        continue;
                    }
                    let text =
                        format!("{client}'s connection closed with the copy still unacknowledged");
                    let at = self.push(m, c, Self::link(i, e, text, None));
                    if let Some(CopyOutcome::InFlight { qos }) = self.outcome(m, c) {
                        self.set(m, c, i, CopyOutcome::InFlight { qos }, Some(at));
                    }
                }
            }
            TraceItem::Undecodable { client, conn, .. } => {
                self.conn_name.insert(*conn, client.clone());
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        i: usize,
        e: &TraceEntry,
        from: &Endpoint,
        to: &Endpoint,
        conn: ConnId,
        packet: &Packet,
        lost: bool,
    ) {
        let client = name_of(from)
            .or(name_of(to))
            .unwrap_or_default()
            .to_string();
        self.conn_name.entry(conn).or_insert_with(|| client.clone());
        if let Some(cid) = self.conn_id.get(&conn) {
            self.name_id.insert(client.clone(), cid.clone());
        }
        if matches!(from, Endpoint::Client(_)) {
            // A new input: copies made from now on are not the last routing's.
            self.routing = None;
        }
        match (packet, from) {
            (Packet::Connect(c), Endpoint::Client(_)) => match &c.will {
                Some(w) => {
                    self.conn_will.insert(conn, w.clone());
                }
                None => {
                    self.conn_will.remove(&conn);
                }
            },
            (Packet::Publish(p), Endpoint::Client(name)) => {
                let known = self.message_index(p.msg).is_some();
                let m = self.message(i, p.msg, &p.topic, name);
                {
                    let msg = &mut self.messages[m];
                    if msg.payload.is_empty() {
                        msg.payload = p.payload.clone();
                    }
                    msg.qos.get_or_insert(p.qos);
                }
                if !known {
                    let mut text = format!("{name} published it on {} at {}", p.topic, p.qos);
                    if p.retain {
                        text.push_str(", retained");
                    }
                    if let Some(x) = p.message_expiry {
                        text.push_str(&format!(", with a Message Expiry Interval of {x} s"));
                    }
                    self.messages[m].links.push(Self::link(i, e, text, None));
                }
                let mine = self.publisher_copy(m);
                if lost {
                    let c = match mine {
                        Some(c) => c,
                        None => self.new_copy(m, i, Recipient::Publisher { name: name.clone() }),
                    };
                    let text = format!(
                        "its PUBLISH to the broker was lost on the network (a network failure: no rule decides it){}",
                        if p.qos == QoS::AtMostOnce {
                            "; at QoS 0 nobody sends it again"
                        } else {
                            "; the client sends it again when it resumes its session"
                        }
                    );
                    let at = self.push(m, c, Self::link(i, e, text, None));
                    let outcome = if p.qos == QoS::AtMostOnce {
                        CopyOutcome::LostOnNetwork
                    } else {
                        CopyOutcome::InFlight { qos: p.qos }
                    };
                    self.set(m, c, i, outcome, Some(at));
                } else if let Some(c) = mine {
                    if self.outcome(m, c) == Some(CopyOutcome::ReachedBroker) {
                        return;
                    }
                    let text = if p.dup {
                        format!("{name} sent it again with DUP = 1, and it reached the broker")
                    } else {
                        format!("{name} was connected again and sent it from its buffer")
                    };
                    let at = self.push(m, c, Self::link(i, e, text, None));
                    self.set(m, c, i, CopyOutcome::ReachedBroker, Some(at));
                }
            }
            (Packet::Publish(p), Endpoint::Broker) => {
                let Some(cid) = self.conn_id.get(&conn).cloned() else {
                    return;
                };
                let Some((m, c)) = self.session_copy(p.msg, &cid, |c| {
                    c.awaiting_packet
                        || matches!(
                            c.states.last().map(|s| s.outcome),
                            Some(CopyOutcome::Queued { .. })
                        )
                }) else {
                    return;
                };
                let name = self.display(&cid);
                let was = self.outcome(m, c);
                let resend = {
                    let copy = &mut self.messages[m].copies[c];
                    let resend = copy.resent.is_some() && copy.awaiting_packet;
                    copy.awaiting_packet = false;
                    copy.awaiting_delivery = !lost;
                    copy.packet_id = p.packet_id;
                    resend
                };
                if let Some(pid) = p.packet_id {
                    self.by_packet_id
                        .insert((cid.clone(), pid), (m as u32, c as u32));
                }
                let from_queue = matches!(was, Some(CopyOutcome::Queued { .. }));
                if lost {
                    let text = format!(
                        "the PUBLISH to {name} was lost on the network (a network failure: no rule decides it){}",
                        if p.qos == QoS::AtMostOnce {
                            "; at QoS 0 nobody sends it again"
                        } else {
                            "; the broker still counts it as unacknowledged"
                        }
                    );
                    let at = self.push(m, c, Self::link(i, e, text, None));
                    if !self.messages[m].copies[c].delivered {
                        let outcome = if p.qos == QoS::AtMostOnce {
                            self.messages[m].copies[c].done = true;
                            CopyOutcome::LostOnNetwork
                        } else {
                            CopyOutcome::InFlight { qos: p.qos }
                        };
                        self.set(m, c, i, outcome, Some(at));
                    }
                    return;
                }
                if resend {
                    // The resend's own link says it all.
                    return;
                }
                let text = if from_queue {
                    format!("sent from the queue to {name} at {}", p.qos)
                } else {
                    format!("sent to {name} at once, at {}", p.qos)
                };
                let at = self.push(m, c, Self::link(i, e, text, None));
                if !self.messages[m].copies[c].delivered {
                    self.set(m, c, i, CopyOutcome::InFlight { qos: p.qos }, Some(at));
                }
            }
            (
                Packet::Puback { packet_id, .. }
                | Packet::Pubrec { packet_id, .. }
                | Packet::Pubcomp { packet_id, .. },
                Endpoint::Client(name),
            ) if lost => {
                let Some(cid) = self.conn_id.get(&conn).cloned() else {
                    return;
                };
                let Some(&(m, c)) = self.by_packet_id.get(&(cid, *packet_id)) else {
                    return;
                };
                let (m, c) = (m as usize, c as usize);
                if self.messages[m].copies[c].done {
                    return;
                }
                let text = format!(
                    "{name}'s {} (packet id {packet_id}) was lost on the network, so the broker still counts the copy as unacknowledged",
                    packet.kind()
                );
                self.push(m, c, Self::link(i, e, text, None));
            }
            _ => {}
        }
    }

    fn broker(&mut self, i: usize, e: &TraceEntry, event: &BrokerEvent) {
        match event {
            BrokerEvent::ConnectAccepted {
                client_id, conn, ..
            } => {
                self.conn_id.insert(*conn, client_id.clone());
                if let Some(name) = self.conn_name.get(conn).cloned() {
                    let names = self.id_names.entry(client_id.clone()).or_default();
                    if !names.contains(&name) {
                        names.push(name.clone());
                    }
                    self.name_id.insert(name, client_id.clone());
                }
                match self.conn_will.get(conn) {
                    Some(w) => {
                        self.wills.insert(client_id.clone(), w.clone());
                    }
                    None => {
                        self.wills.remove(client_id);
                    }
                }
            }
            BrokerEvent::WillPublished {
                client_id,
                topic,
                msg,
                cite,
            } => {
                let who = self.display(client_id);
                let m = self.message(i, *msg, topic, &who);
                let will = self.wills.get(client_id).cloned();
                let message = &mut self.messages[m];
                message.will = true;
                if let Some(w) = will {
                    message.payload = w.payload.clone();
                    message.qos = Some(w.qos);
                }
                message.links.push(Self::link(
                    i,
                    e,
                    format!("the broker published the will of {who} on {topic}"),
                    Some(cite),
                ));
            }
            BrokerEvent::RetainedStored { topic, msg } => {
                if let Some(m) = self.message_index(*msg) {
                    self.messages[m].retained = true;
                    self.messages[m].links.push(Self::link(
                        i,
                        e,
                        format!("the broker keeps it as the retained message of {topic}"),
                        None,
                    ));
                }
            }
            BrokerEvent::MessageRouted {
                from,
                msg,
                topic,
                qos,
                copies,
                cite,
            } => {
                let who = self.display(from);
                let m = self.message(i, *msg, topic, &who);
                self.routing = Some(*msg);
                let again = self.messages[m].routed;
                let message = &mut self.messages[m];
                message.routed = true;
                message.qos.get_or_insert(*qos);
                let received = if again {
                    "the broker received it again"
                } else {
                    "the broker received it"
                };
                let text = match copies {
                    0 => format!("{received} at {qos}; no subscription matched {topic}, so nobody gets a copy"),
                    1 => format!("{received} at {qos} and made a copy for the one matching subscription"),
                    n => format!("{received} at {qos} and made {n} copies for the matching subscriptions"),
                };
                message.links.push(Self::link(i, e, text, Some(cite)));
                if *copies == 0 {
                    let retained = message.retained;
                    let c = self.new_copy(m, i, Recipient::Nobody);
                    let head = self.messages[m].copies[c].head;
                    self.set(
                        m,
                        c,
                        i,
                        CopyOutcome::NobodySubscribed { retained },
                        Some(At::Message(head - 1)),
                    );
                }
            }
            BrokerEvent::CopyDowngraded {
                client_id,
                msg,
                published,
                qos,
                cite,
            } => {
                let text = format!(
                    "the copy for {} is {qos}, the QoS its subscription was granted, not {published} as published",
                    self.display(client_id)
                );
                self.downgrade =
                    Some((*msg, client_id.clone(), Self::link(i, e, text, Some(cite))));
            }
            BrokerEvent::MessageSent {
                client_id,
                msg,
                qos,
            } => {
                let Some(m) = self.message_index(*msg) else {
                    return;
                };
                let c = self.made(m, i, e, client_id, *msg);
                let copy = &mut self.messages[m].copies[c];
                copy.awaiting_packet = true;
                let decides = copy.downgrade.or(copy.made);
                self.set(m, c, i, CopyOutcome::InFlight { qos: *qos }, decides);
            }
            BrokerEvent::MessageQueued {
                client_id,
                msg,
                qos,
                online,
                cite,
                ..
            } => {
                let Some(m) = self.message_index(*msg) else {
                    return;
                };
                let c = self.made(m, i, e, client_id, *msg);
                let name = self.display(client_id);
                let text = if *online {
                    format!("queued for {name}, which is connected but has no room in its in-flight window")
                } else {
                    format!(
                        "queued for {name}, which is offline: its stored session keeps the copy"
                    )
                };
                let at = self.push(m, c, Self::link(i, e, text, Some(cite)));
                self.messages[m].copies[c].queued = Some(at);
                self.set(
                    m,
                    c,
                    i,
                    CopyOutcome::Queued {
                        qos: *qos,
                        online: *online,
                    },
                    Some(at),
                );
            }
            BrokerEvent::MessageResent {
                client_id,
                msg,
                packet_id,
                pubrel,
                cite,
            } => {
                let Some((m, c)) = self.session_copy(*msg, client_id, |c| {
                    c.packet_id == Some(*packet_id) && !c.done
                }) else {
                    return;
                };
                let name = self.display(client_id);
                let text = if *pubrel {
                    format!("{name}'s session resumed: the broker sends its PUBREL again (packet id {packet_id}), not the message")
                } else {
                    format!("{name}'s session resumed: the broker sends the copy again with DUP = 1 and the same packet id {packet_id}")
                };
                let at = self.push(m, c, Self::link(i, e, text, Some(cite)));
                let copy = &mut self.messages[m].copies[c];
                if !*pubrel {
                    copy.resent = Some(at);
                    copy.awaiting_packet = true;
                }
                if !copy.delivered {
                    if let Some(CopyOutcome::InFlight { qos }) = self.outcome(m, c) {
                        self.set(m, c, i, CopyOutcome::InFlight { qos }, Some(at));
                    }
                }
            }
            BrokerEvent::MessageAcknowledged {
                client_id,
                msg,
                packet_id,
            } => {
                let Some((m, c)) = self.session_copy(*msg, client_id, |c| {
                    c.packet_id == Some(*packet_id) && !c.done
                }) else {
                    return;
                };
                self.by_packet_id.remove(&(client_id.clone(), *packet_id));
                let text = format!(
                    "the broker got the acknowledgement from {}: its part of the delivery is complete",
                    self.display(client_id)
                );
                self.push(m, c, Self::link(i, e, text, None));
                self.messages[m].copies[c].done = true;
            }
            BrokerEvent::MessageDropped {
                client_id,
                msg,
                reason,
                cite,
                ..
            } => self.dropped(i, e, client_id, *msg, *reason, cite),
            BrokerEvent::SessionExpired {
                client_id, expiry, ..
            } => {
                self.endings.insert(
                    client_id.clone(),
                    Ending {
                        time: e.time,
                        text: format!(
                            "the session expired: its Session Expiry Interval ({}) passed while {} was offline, and the broker deleted it with the copy",
                            crate::types::format_expiry(*expiry),
                            self.display(client_id)
                        ),
                    },
                );
            }
            BrokerEvent::SessionEnded { client_id, .. } => {
                self.endings.insert(
                    client_id.clone(),
                    Ending {
                        time: e.time,
                        text: format!(
                            "the session ended with {}'s connection, and the copy with it",
                            self.display(client_id)
                        ),
                    },
                );
            }
            BrokerEvent::SessionDiscarded { client_id, .. } => {
                self.endings.insert(
                    client_id.clone(),
                    Ending {
                        time: e.time,
                        text: format!(
                            "{} connected with a clean start, which discarded its stored session and the copy with it",
                            self.display(client_id)
                        ),
                    },
                );
            }
            BrokerEvent::SessionLostAtRestart { client_id, why } => {
                self.endings.insert(
                    client_id.clone(),
                    Ending {
                        time: e.time,
                        text: format!(
                            "the broker restarted without {}'s session, and the copy with it: {why}",
                            self.display(client_id)
                        ),
                    },
                );
            }
            _ => {}
        }
    }

    /// The copy a MessageSent or MessageQueued just made, with its first link for a copy that
    /// is not its message's routing (a retained message sent on subscribe).
    fn made(&mut self, m: usize, i: usize, e: &TraceEntry, cid: &ClientId, msg: MsgId) -> usize {
        let to = self.recipient(cid);
        let c = self.new_copy(m, i, to);
        if self.routing != Some(msg) {
            let text = format!(
                "{} subscribed, and the broker sent the retained message of {} to the new subscription",
                self.display(cid),
                self.messages[m].topic
            );
            let at = self.push(m, c, Self::link(i, e, text, None));
            self.messages[m].copies[c].made = Some(at);
        }
        c
    }

    fn dropped(
        &mut self,
        i: usize,
        e: &TraceEntry,
        cid: &ClientId,
        msg: MsgId,
        reason: DropReason,
        cite: &'static str,
    ) {
        let Some(m) = self.message_index(msg) else {
            return;
        };
        let name = self.display(cid);
        let at_creation = matches!(
            reason,
            DropReason::Qos0NotQueued | DropReason::QueueFull { .. }
        );
        let c = if at_creation {
            self.made(m, i, e, cid, msg)
        } else {
            match self.session_copy(msg, cid, |c| !c.done) {
                Some((_, c)) => c,
                None => {
                    let to = self.recipient(cid);
                    self.new_copy(m, i, to)
                }
            }
        };
        let text = match reason {
            DropReason::SessionEnded | DropReason::CleanStart | DropReason::BrokerRestart => {
                // The session-level cause, said once, at its own time.
                let why = self
                    .endings
                    .get(cid)
                    .cloned()
                    .unwrap_or(Ending {
                        time: e.time,
                        text: reason.describe(),
                    });
                let link = Link {
                    entry: i,
                    time: why.time,
                    text: why.text,
                    cite: Some(cite),
                };
                self.finish(m, c, i, link, reason);
                return;
            }
            DropReason::Qos0NotQueued => {
                format!("{name} was offline and {}, so the copy was not kept", reason.describe())
            }
            DropReason::MessageExpired => format!(
                "its Message Expiry Interval had passed while it waited in {name}'s queue, so the broker deleted the copy"
            ),
            _ => format!("the broker dropped the copy for {name}: {}", reason.describe()),
        };
        let link = Self::link(i, e, text, Some(cite));
        self.finish(m, c, i, link, reason);
    }

    fn finish(&mut self, m: usize, c: usize, i: usize, link: Link, reason: DropReason) {
        let at = self.push(m, c, link);
        let copy = &mut self.messages[m].copies[c];
        copy.done = true;
        if copy.delivered {
            // The application has it; only the broker's unacknowledged state went.
            return;
        }
        let outcome = match reason {
            DropReason::MessageExpired | DropReason::ExpiredInFlight => {
                CopyOutcome::Expired { reason }
            }
            _ => CopyOutcome::Dropped { reason },
        };
        self.set(m, c, i, outcome, Some(at));
    }

    fn client(&mut self, i: usize, e: &TraceEntry, name: &str, event: &ClientEvent) {
        match event {
            ClientEvent::Delivered {
                msg,
                qos,
                dup,
                duplicate,
                ..
            } => {
                let Some(cid) = self.name_id.get(name).cloned() else {
                    return;
                };
                let Some((m, c)) = self.session_copy(*msg, &cid, |c| c.awaiting_delivery) else {
                    return;
                };
                let mut text = format!("{name}'s application received it at {qos}");
                if *dup {
                    text.push_str(" with DUP = 1");
                }
                if *duplicate {
                    text.push_str(", a second time: it had already received this message");
                }
                let at = self.push(m, c, Self::link(i, e, text, None));
                let copy = &mut self.messages[m].copies[c];
                copy.awaiting_delivery = false;
                copy.delivered = true;
                let outcome = if *duplicate {
                    CopyOutcome::Duplicate {
                        qos: *qos,
                        dup: *dup,
                    }
                } else {
                    CopyOutcome::Delivered {
                        qos: *qos,
                        dup: *dup,
                    }
                };
                let decides = if *duplicate {
                    copy.resent.or(copy.made)
                } else {
                    copy.downgrade
                        .or(copy.resent)
                        .or(copy.queued)
                        .or(copy.made)
                        .or(Some(at))
                };
                self.set(m, c, i, outcome, decides);
            }
            ClientEvent::PublishLost {
                msg,
                topic,
                payload,
                ..
            } => {
                let (m, c) = self.published_offline(i, e, name, *msg, topic, payload);
                let text = format!(
                    "{name} was offline and keeps no buffer of its own, so the message was lost before it was sent: a broker's session holds messages for a client, never the ones a client has not sent"
                );
                let at = self.push(m, c, Self::link(i, e, text, None));
                self.set(m, c, i, CopyOutcome::LostBeforeSending, Some(at));
            }
            ClientEvent::PublishBuffered {
                msg,
                topic,
                payload,
                buffered,
            } => {
                let (m, c) = self.published_offline(i, e, name, *msg, topic, payload);
                let text = format!(
                    "{name} was offline and kept it in its own buffer ({buffered} buffered) to send when connected again"
                );
                let at = self.push(m, c, Self::link(i, e, text, None));
                self.set(m, c, i, CopyOutcome::Buffered, Some(at));
            }
            ClientEvent::BufferDropped { msg, .. } => {
                let Some(m) = self.message_index(*msg) else {
                    return;
                };
                let Some(c) = self.publisher_copy(m) else {
                    return;
                };
                let text = format!(
                    "{name}'s buffer was full: a newer message overwrote this one, the oldest"
                );
                let at = self.push(m, c, Self::link(i, e, text, None));
                self.set(m, c, i, CopyOutcome::Overwritten, Some(at));
            }
            _ => {}
        }
    }

    /// A message the application of `name` published while offline, and its publisher's copy.
    fn published_offline(
        &mut self,
        i: usize,
        e: &TraceEntry,
        name: &str,
        msg: MsgId,
        topic: &Text,
        payload: &Payload,
    ) -> (usize, usize) {
        let m = self.message(i, msg, topic, name);
        if self.messages[m].links.is_empty() {
            self.messages[m].payload = payload.clone();
            self.messages[m].links.push(Self::link(
                i,
                e,
                format!("{name}'s application published it on {topic}"),
                None,
            ));
        }
        let c = match self.publisher_copy(m) {
            Some(c) => c,
            None => self.new_copy(
                m,
                i,
                Recipient::Publisher {
                    name: name.to_string(),
                },
            ),
        };
        (m, c)
    }
}
