//! View-models: plain functions from a played scenario to what the page shows (tested natively).
//! Components only render these.

use session_engine::broker::{OutState, Session};
use session_engine::client::{ClientOutStage, LinkState, SimClient};
use session_engine::codec::EncodeError;
use session_engine::event::{BrokerEvent, ClientEvent, Endpoint, TraceEntry, TraceItem};
use session_engine::types::{format_duration_ms, format_expiry, NEVER_EXPIRE};
use session_engine::{library, ClientId, Packet, Player, SimTime, Version, World};

/// A built-in scenario in the picker.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioItem {
    pub id: String,
    pub title: String,
    pub topic: String,
    pub summary: String,
    /// "3.1.1", "5.0", or "3.1.1 / 5.0" for a lesson written in both (one entry; the version
    /// toggle switches between the two files).
    pub versions: &'static str,
}

/// The built-in scenarios grouped by topic, groups in order of first appearance. A lesson in
/// both versions appears once, under its first file in the library.
pub fn scenario_groups() -> Vec<(String, Vec<ScenarioItem>)> {
    let all = library::all();
    let mut groups: Vec<(String, Vec<ScenarioItem>)> = Vec::new();
    for s in &all {
        if s.other_version.is_some() && picker_id(&all, s) != s.id {
            continue;
        }
        let item = ScenarioItem {
            id: s.id.clone(),
            title: s.title.clone(),
            topic: s.topic.clone(),
            summary: s.summary.clone(),
            versions: if s.other_version.is_some() {
                "3.1.1 / 5.0"
            } else {
                s.version.label()
            },
        };
        match groups.iter_mut().find(|(t, _)| *t == s.topic) {
            Some((_, v)) => v.push(item),
            None => groups.push((s.topic.clone(), vec![item])),
        }
    }
    groups
}

/// The picker entry that stands for a scenario: itself, or the first file of its version pair.
fn picker_id(all: &[session_engine::Scenario], s: &session_engine::Scenario) -> String {
    let other = s.other_version.as_deref().unwrap_or_default();
    all.iter()
        .find(|o| o.id == s.id || o.id == other)
        .map(|o| o.id.clone())
        .unwrap_or_else(|| s.id.clone())
}

/// The picker's value for a built-in scenario id ("" when it is not built in).
pub fn picker_value(id: &str) -> String {
    let all = library::all();
    all.iter()
        .find(|s| s.id == id)
        .map(|s| picker_id(&all, s))
        .unwrap_or_default()
}

/// The built-in file of the same lesson in the other MQTT version, if there is one.
pub fn other_version(s: &session_engine::Scenario) -> Option<String> {
    let other = s.other_version.as_deref()?;
    library::all()
        .iter()
        .any(|o| o.id == other)
        .then(|| other.to_string())
}

/// Where the version toggle lands: the step of the other file at the same named moment as step
/// `step` of `current` (or before the other file's first moment, at most at `step`, when no
/// moment is named yet), and a sentence for the page when the moment could not be matched.
pub fn toggle_target(
    current: &session_engine::Scenario,
    step: usize,
    other: &session_engine::Scenario,
) -> (usize, Option<String>) {
    if let Some(s) = current.corresponding_step(step, other) {
        return (s, None);
    }
    match current.moment_at(step) {
        // A moment the other file does not name: its start, and the page says why.
        Some(m) => (
            0,
            Some(format!(
                "The MQTT {} lesson has no moment \"{m}\"; it opens at its start.",
                other.version.label()
            )),
        ),
        None => {
            let first = other.moments().first().map(|(i, _)| *i).unwrap_or(1);
            (step.min(first.saturating_sub(1)), None)
        }
    }
}

/// Where a client's session is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LifeState {
    /// No connection and no session on the broker.
    Disconnected,
    /// CONNECT sent, no CONNACK yet.
    Connecting,
    /// Connected with a session.
    Connected,
    /// Offline, and the broker keeps the session.
    Stored,
    /// The session ended in this step (expired, discarded, or closed with expiry 0).
    Ended,
}

impl LifeState {
    pub const ALL: [LifeState; 5] = [
        LifeState::Disconnected,
        LifeState::Connecting,
        LifeState::Connected,
        LifeState::Stored,
        LifeState::Ended,
    ];

    pub fn label(self, version: Version) -> &'static str {
        match (self, version) {
            (LifeState::Disconnected, _) => "Disconnected, no session",
            (LifeState::Connecting, _) => "Connecting",
            (LifeState::Connected, _) => "Connected",
            (LifeState::Stored, Version::V311) => "Session stored (Clean Session 0)",
            (LifeState::Stored, Version::V5) => "Session stored (expiry running)",
            (LifeState::Ended, _) => "Session ended / expired",
        }
    }

    /// The node label in the diagram.
    pub fn short_label(self) -> &'static str {
        match self {
            LifeState::Disconnected => "Disconnected",
            LifeState::Connecting => "Connecting",
            LifeState::Connected => "Connected",
            LifeState::Stored => "Session stored",
            LifeState::Ended => "Session ended",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            LifeState::Disconnected => "disconnected",
            LifeState::Connecting => "connecting",
            LifeState::Connected => "connected",
            LifeState::Stored => "stored",
            LifeState::Ended => "ended",
        }
    }
}

/// One client's place in the lifecycle diagram at a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Lifecycle {
    pub client: String,
    pub client_id: String,
    pub state: LifeState,
    pub previous: LifeState,
    /// Why it moved, if it did.
    pub transition: Option<String>,
}

fn session_of<'a>(w: &'a World, c: &SimClient) -> Option<&'a Session> {
    w.broker.sessions().get(&c.client_id)
}

fn base_state(w: &World, c: &SimClient) -> LifeState {
    match c.link {
        LinkState::Connecting { .. } => LifeState::Connecting,
        LinkState::Online { .. } => LifeState::Connected,
        LinkState::Offline => match session_of(w, c) {
            Some(s) if s.conn.is_none() => LifeState::Stored,
            _ => LifeState::Disconnected,
        },
    }
}

/// How each session that ended in a step ended, in trace order: (client id, why). One pass over
/// the step, so a step of 100,000 entries stays cheap for every client.
fn step_ended_sessions(entries: &[TraceEntry]) -> Vec<(&ClientId, String)> {
    entries
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Broker { event } => match event {
                BrokerEvent::SessionExpired {
                    client_id, cite, ..
                } => Some((client_id, format!("the session expired ({cite})"))),
                BrokerEvent::SessionEnded { client_id, cite } => Some((
                    client_id,
                    format!("the session ended with the connection ({cite})"),
                )),
                BrokerEvent::SessionDiscarded { client_id, cite } => Some((
                    client_id,
                    format!("Clean Start discarded the stored session ({cite})"),
                )),
                BrokerEvent::SessionLostAtRestart { client_id, why } => {
                    Some((client_id, format!("lost in the broker restart: {why}")))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Every client's lifecycle state at `step`, and the transition the step made.
pub fn lifecycle(p: &Player, step: usize) -> Vec<Lifecycle> {
    let now = &p.at(step).world;
    let before = &p.at(step.saturating_sub(1)).world;
    let entries = p.entries(step);
    let ends = step_ended_sessions(entries);
    let taken: Vec<&ClientId> = entries
        .iter()
        .filter_map(|e| match &e.item {
            TraceItem::Broker {
                event: BrokerEvent::SessionTakenOver { client_id, .. },
            } => Some(client_id),
            _ => None,
        })
        .collect();
    now.clients
        .iter()
        .zip(before.clients.iter())
        .map(|(c, b)| {
            let previous = if step == 0 { LifeState::Disconnected } else { base_state(before, b) };
            let mut state = base_state(now, c);
            let ended = ends.iter().rev().find(|(id, _)| **id == c.client_id).map(|(_, why)| why.clone());
            if state == LifeState::Disconnected && ended.is_some() {
                state = LifeState::Ended;
            }
            let transition = if state == previous && ended.is_none() {
                None
            } else {
                Some(match state {
                    LifeState::Connected => {
                        if let Some(LinkState::Online { session_present, .. }) = Some(&c.link) {
                            if *session_present {
                                "connected, and the broker resumed its session (Session Present = 1)".to_string()
                            } else {
                                "connected with a new session (Session Present = 0)".to_string()
                            }
                        } else {
                            "connected".to_string()
                        }
                    }
                    LifeState::Stored => match session_of(now, c).and_then(|s| s.expires_at) {
                        Some(t) => format!("offline; the broker keeps the session until {t}"),
                        None => "offline; the broker keeps the session with no expiry".to_string(),
                    },
                    LifeState::Ended => ended.clone().unwrap_or_default(),
                    LifeState::Connecting => "sent CONNECT".to_string(),
                    LifeState::Disconnected => ended.clone().unwrap_or_else(|| {
                        let taken = taken.contains(&&c.client_id);
                        if taken && previous == LifeState::Connected {
                            "another connection took over its client id; the session now belongs to that connection".to_string()
                        } else {
                            "offline, nothing kept".to_string()
                        }
                    }),
                })
            };
            Lifecycle { client: c.name.clone(), client_id: c.client_id.to_string(), state, previous, transition }
        })
        .collect()
}

/// Text for the step's narration.
#[derive(Clone, Debug, PartialEq)]
pub struct Narration {
    pub index: usize,
    pub last: usize,
    pub time: String,
    pub label: String,
    /// The author's sentence (written to be true on every broker profile).
    pub say: String,
    /// What the step's claims say on the profile being played, each true there.
    pub claims: Vec<ClaimLine>,
    /// Where the broker departs from the specification here: (rule, spec, broker).
    pub deviations: Vec<(String, String, String)>,
    /// What each statement the step cites requires, once each: ("[MQTT-3.1.2-4] 5.0", summary),
    /// from the engine's statement catalogue.
    pub statements: Vec<(String, String)>,
}

/// One claim of a step as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimLine {
    /// The sentence: the author's where the claim holds on this profile, else the engine's own
    /// account of what happened (true on this profile).
    pub text: String,
    /// The author's sentence was replaced by the engine's: the claim does not hold here.
    pub engine: bool,
    /// The rule of the deciding event, as the trace cites it ("" for none).
    pub cite: String,
}

/// The claims of step `step` to show on the profile being played: each claim written for this
/// profile, as [`session_engine::ClaimCheck::sentence`] says it; a claim written for
/// other profiles only where no claim for this profile speaks of the same thing (then the
/// engine's outcome, which is true here).
pub fn claim_lines(p: &Player, step: usize) -> Vec<ClaimLine> {
    let checks = p.claims(step);
    let same = |a: &session_engine::Claim, b: &session_engine::Claim| {
        std::mem::discriminant(a) == std::mem::discriminant(b) && a.client() == b.client()
    };
    let mut out: Vec<ClaimLine> = Vec::new();
    for c in &checks {
        if !c.applies && checks.iter().any(|o| o.applies && same(&o.claim, &c.claim)) {
            continue;
        }
        let engine = !c.applies || !c.holds || c.author.is_none();
        let line = ClaimLine {
            text: if c.applies { c.sentence() } else { &c.outcome }.to_string(),
            engine: engine && c.author.is_some(),
            cite: c.cite.clone().unwrap_or_default(),
        };
        if !out.iter().any(|l| l.text == line.text) {
            out.push(line);
        }
    }
    out
}

/// The protocol version all of a scenario's clients speak, if they speak one.
pub fn only_version(sc: &session_engine::Scenario) -> Option<session_engine::Version> {
    match sc.versions_spoken()[..] {
        [v] => Some(v),
        [] => Some(sc.version),
        _ => None,
    }
}

/// The catalogue's summaries of the statements cited in `texts`, once each, in order; untagged
/// ids are read in `context` (the scenario's one version, when it has one).
pub fn statement_lines<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    context: Option<session_engine::Version>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in texts {
        for c in session_engine::statement::cited(t, context) {
            if let Some((v, st)) = c.resolved {
                let line = (
                    format!("{} {}", st.bracketed(), v.label()),
                    st.summary.to_string(),
                );
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    }
    out
}

pub fn narration(p: &Player, step: usize) -> Narration {
    let rec = p.at(step);
    let mut cites: Vec<&str> = Vec::new();
    let mut deviations = Vec::new();
    for e in p.entries(step) {
        if let TraceItem::Broker { event } = &e.item {
            match event {
                BrokerEvent::Deviation { rule, spec, broker } => {
                    deviations.push((rule.to_string(), spec.clone(), broker.clone()))
                }
                other => {
                    if let Some(c) = other.cite() {
                        // A step can route 20,000 copies under one rule: a few distinct cites.
                        if !cites.contains(&c) {
                            cites.push(c);
                        }
                    }
                }
            }
        }
    }
    let claims = claim_lines(p, step);
    let statements = statement_lines(
        cites
            .iter()
            .copied()
            .chain(claims.iter().map(|c| c.cite.as_str()))
            .chain(deviations.iter().map(|(r, _, _)| r.as_str())),
        only_version(&p.scenario),
    );
    Narration {
        statements,
        index: step,
        last: p.len() - 1,
        time: clock(rec.time.0),
        label: if step == 0 {
            p.scenario.title.clone()
        } else {
            rec.label.clone()
        },
        say: rec.say.clone(),
        claims,
        deviations,
    }
}

/// What a change of a step is about (the page marks each kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A session was created, resumed, stored, discarded, ended, expired or taken over.
    Session,
    /// An application message was routed, queued, dropped, delivered, buffered or lost.
    Message,
    /// A will was scheduled, published or discarded.
    Will,
    /// A connection was accepted, refused or closed, or a client lost or retried one.
    Connection,
    /// A subscription was added or removed.
    Subscription,
    /// The broker stopped or started, or noted something.
    Broker,
}

impl ChangeKind {
    /// A word for the kind, shown beside each change.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Session => "session",
            ChangeKind::Message => "message",
            ChangeKind::Will => "will",
            ChangeKind::Connection => "connection",
            ChangeKind::Subscription => "subscription",
            ChangeKind::Broker => "broker",
        }
    }
}

/// One thing a step changed, in the engine's words, with the rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// What it is about.
    pub kind: ChangeKind,
    /// The engine's sentence.
    pub text: String,
    /// The rule or source the engine cites ("" where nothing but the network decided).
    pub cite: String,
}

/// Changes listed for one step at most; the rest are counted.
pub const MAX_CHANGES: usize = 24;

/// What step `step` changed, in trace order, once each: sessions, messages, wills,
/// connections, subscriptions, the broker. Packets are listed apart ([`step_packets`]); the
/// events a packet already shows (a message sent or acknowledged) are left out. At most
/// `MAX_CHANGES`, and how many there were in all.
pub fn step_changes(p: &Player, step: usize) -> (Vec<Change>, usize) {
    let mut out: Vec<Change> = Vec::new();
    let mut total = 0;
    for e in p.entries(step.min(p.len() - 1)) {
        let Some(kind) = change_kind(&e.item) else {
            continue;
        };
        if out.len() == MAX_CHANGES {
            // Full: the rest are counted, not written out (a step can make 20,000 changes).
            total += 1;
            continue;
        }
        let (text, cite) = match &e.item {
            TraceItem::Broker { event } => (event.describe(), event.cite().unwrap_or_default()),
            TraceItem::Client { client, event } => (event.describe(client), ""),
            _ => (e.describe(), ""),
        };
        if !out.iter().any(|c| c.text == text) {
            total += 1;
            out.push(Change {
                kind,
                text,
                cite: cite.to_string(),
            });
        }
    }
    (out, total)
}

/// What a trace entry changes, or `None` for the entries a step's change list leaves out: packets
/// (listed apart) and the events a packet already shows.
fn change_kind(item: &TraceItem) -> Option<ChangeKind> {
    Some(match item {
        TraceItem::Broker { event } => match event {
            BrokerEvent::MessageSent { .. }
            | BrokerEvent::MessageAcknowledged { .. }
            | BrokerEvent::Deviation { .. } => return None,
            BrokerEvent::ConnectAccepted { .. }
            | BrokerEvent::ConnectRefused { .. }
            | BrokerEvent::ConnectionClosed { .. }
            | BrokerEvent::KeepAliveTimeout { .. }
            | BrokerEvent::ProtocolError { .. } => ChangeKind::Connection,
            BrokerEvent::SessionCreated { .. }
            | BrokerEvent::SessionResumed { .. }
            | BrokerEvent::SessionDiscarded { .. }
            | BrokerEvent::SessionEnded { .. }
            | BrokerEvent::SessionStored { .. }
            | BrokerEvent::SessionExpired { .. }
            | BrokerEvent::SessionTakenOver { .. }
            | BrokerEvent::SessionLostAtRestart { .. } => ChangeKind::Session,
            BrokerEvent::Subscribed { .. } | BrokerEvent::Unsubscribed { .. } => {
                ChangeKind::Subscription
            }
            BrokerEvent::MessageRouted { .. }
            | BrokerEvent::MessageQueued { .. }
            | BrokerEvent::MessageDropped { .. }
            | BrokerEvent::CopyDowngraded { .. }
            | BrokerEvent::MessageResent { .. }
            | BrokerEvent::RetainedStored { .. }
            | BrokerEvent::RetainedCleared { .. }
            | BrokerEvent::RetainedExpired { .. } => ChangeKind::Message,
            BrokerEvent::WillScheduled { .. }
            | BrokerEvent::WillPublished { .. }
            | BrokerEvent::WillDiscarded { .. } => ChangeKind::Will,
            BrokerEvent::BrokerStopped { .. }
            | BrokerEvent::BrokerStarted { .. }
            | BrokerEvent::Note { .. } => ChangeKind::Broker,
        },
        TraceItem::Client { event, .. } => match event {
            ClientEvent::Connected { .. } | ClientEvent::PublishCompleted { .. } => return None,
            ClientEvent::Delivered { .. }
            | ClientEvent::Resending { .. }
            | ClientEvent::PublishBuffered { .. }
            | ClientEvent::PublishLost { .. }
            | ClientEvent::BufferDropped { .. } => ChangeKind::Message,
            ClientEvent::ClientStateDiscarded { .. } | ClientEvent::UnexpectedSessionPresent => {
                ChangeKind::Session
            }
            ClientEvent::Disconnected { .. }
            | ClientEvent::ReconnectScheduled { .. }
            | ClientEvent::ConnectFailed { .. }
            | ClientEvent::PingTimeout => ChangeKind::Connection,
        },
        TraceItem::LinkClosed { .. } => ChangeKind::Connection,
        TraceItem::Packet { .. } | TraceItem::Undecodable { .. } => return None,
    })
}

/// One row of a table in a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct MsgRow {
    pub msg: String,
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub packet_id: String,
    pub state: String,
    /// Remaining Message Expiry, if any.
    pub expiry: Option<String>,
}

/// The client side of a session.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientSide {
    pub name: String,
    pub client_id: String,
    pub version: &'static str,
    pub connection: String,
    pub online: bool,
    /// The first [`ROW_LIMIT`] rows; `outgoing_total` counts them all.
    pub outgoing: Vec<MsgRow>,
    pub outgoing_total: usize,
    pub incoming_qos2: Vec<String>,
    pub buffer: Vec<MsgRow>,
    pub buffer_total: usize,
    pub buffer_capacity: Option<usize>,
    pub received: usize,
    pub duplicates: usize,
    pub withholding: bool,
}

/// The broker side of a session.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerSide {
    pub client_id: String,
    pub present: bool,
    pub state: String,
    pub expiry: String,
    pub subscriptions: Vec<(String, String)>,
    /// The first [`ROW_LIMIT`] rows; the totals count them all.
    pub queue: Vec<MsgRow>,
    pub queue_total: usize,
    pub inflight: Vec<MsgRow>,
    pub inflight_total: usize,
    pub awaiting_pubrel: Vec<String>,
    pub will: Option<String>,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionPair {
    pub client: ClientSide,
    pub broker: BrokerSide,
}

/// One broker session and every device that uses its client id: usually one; two or more when
/// devices share a client id and take the session from each other.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionGroup {
    /// The client id the session belongs to.
    pub client_id: String,
    /// Each device with this client id, in the scenario's order, each with its own connection.
    pub devices: Vec<ClientSide>,
    /// The broker's end of the session (shown once).
    pub broker: BrokerSide,
}

/// Every connection each client opened, and how each ended as the client saw it: built once
/// per played scenario so a step can say why a device is offline without walking the trace.
#[derive(Clone, Debug, Default)]
pub struct Connections {
    /// (client name, [(trace index, connection opened, or `None` for an end: (time, why))]).
    events: Vec<(String, Vec<(usize, ConnEvent)>)>,
}

#[derive(Clone, Debug)]
enum ConnEvent {
    Opened(session_engine::ConnId),
    Ended(SimTime, String),
}

impl Connections {
    /// Reads every CONNECT and every end of a connection the clients saw.
    pub fn new(p: &Player) -> Connections {
        let mut c = Connections::default();
        for (i, e) in p.trace().iter().enumerate() {
            let (name, ev) = match &e.item {
                TraceItem::Packet {
                    packet: Packet::Connect(_),
                    from: Endpoint::Client(name),
                    conn,
                    ..
                } => (name, ConnEvent::Opened(*conn)),
                TraceItem::Client {
                    client,
                    event: ClientEvent::Disconnected { why, .. },
                } => (client, ConnEvent::Ended(e.time, why.clone())),
                _ => continue,
            };
            match c.events.iter_mut().find(|(n, _)| n == name) {
                Some((_, l)) => l.push((i, ev)),
                None => c.events.push((name.clone(), vec![(i, ev)])),
            }
        }
        c
    }

    /// How client `name`'s last connection before trace index `end` ended, if it had ended by
    /// then: "connection #3 ended at 0:05: the broker closed the connection (...)".
    pub fn last_close(&self, name: &str, end: usize) -> Option<String> {
        let (_, list) = self.events.iter().find(|(n, _)| n == name)?;
        let before: Vec<&(usize, ConnEvent)> = list.iter().filter(|(i, _)| *i < end).collect();
        let (t, why) = match before.last()? {
            (_, ConnEvent::Ended(t, why)) => (t, why),
            _ => return None,
        };
        let conn = before.iter().rev().find_map(|(_, e)| match e {
            ConnEvent::Opened(c) => Some(*c),
            ConnEvent::Ended(..) => None,
        });
        Some(match conn {
            Some(c) => format!("connection {c} ended at {}: {why}", clock(t.0)),
            None => format!("its connection ended at {}: {why}", clock(t.0)),
        })
    }
}

/// Every broker session at `step` with the devices that use its client id, in the order the
/// scenario lists the clients. A device's connection is its own: an offline device says how its
/// last connection ended, even when another device's connection now holds the session.
pub fn session_groups(p: &Player, step: usize, conns: &Connections) -> Vec<SessionGroup> {
    let end = p.at(step).end;
    let mut out: Vec<SessionGroup> = Vec::new();
    for mut pair in session_pairs(p, step) {
        if !pair.client.online {
            if let Some(c) = conns.last_close(&pair.client.name, end) {
                pair.client.connection = format!("offline; {c}");
            }
        }
        match out
            .iter_mut()
            .find(|g| g.client_id == pair.client.client_id)
        {
            Some(g) => g.devices.push(pair.client),
            None => out.push(SessionGroup {
                client_id: pair.client.client_id.clone(),
                devices: vec![pair.client],
                broker: pair.broker,
            }),
        }
    }
    out
}

fn remaining(now: SimTime, received: SimTime, mei: Option<u32>) -> Option<String> {
    let mei = mei?;
    let end = received.plus_secs(u64::from(mei));
    Some(if end <= now {
        "expired".to_string()
    } else {
        format!("{} left", format_duration_ms(end.since(now)))
    })
}

/// Message rows a panel table gets at most (the totals count the rest).
pub const ROW_LIMIT: usize = 12;

/// Both ends of every client's session at `step`, client by client.
pub fn session_pairs(p: &Player, step: usize) -> Vec<SessionPair> {
    let w = &p.at(step).world;
    let now = w.now;
    let profile = w.broker.profile();
    // A broker that counts whole seconds moves these instants: say so where they are shown.
    let whole = if profile.timers == session_engine::profile::TimerGranularity::WholeSecondsStrict {
        format!(
            " ({} counts whole seconds: up to 1 s later than the close plus the interval)",
            profile.name
        )
    } else {
        String::new()
    };
    w.clients
        .iter()
        .map(|c| {
            let connection = match &c.link {
                LinkState::Offline => "offline".to_string(),
                LinkState::Connecting { conn } => format!("connecting on connection {conn}"),
                LinkState::Online {
                    conn,
                    session_present,
                } => format!(
                    "online on connection {conn} (Session Present = {})",
                    u8::from(*session_present)
                ),
            };
            let client = ClientSide {
                name: c.name.clone(),
                client_id: c.client_id.to_string(),
                version: c.version.label(),
                connection,
                online: c.is_online(),
                outgoing_total: c.outgoing.len(),
                buffer_total: c.buffer.len(),
                outgoing: c
                    .outgoing
                    .iter()
                    .take(ROW_LIMIT)
                    .map(|o| MsgRow {
                        msg: o.publish.msg.to_string(),
                        topic: o.publish.topic.to_string(),
                        payload: o.publish.payload.to_string(),
                        qos: o.publish.qos.as_u8(),
                        packet_id: o
                            .publish
                            .packet_id
                            .map(|i| i.to_string())
                            .unwrap_or_default(),
                        state: match o.stage {
                            ClientOutStage::AwaitPuback => "waiting for PUBACK",
                            ClientOutStage::AwaitPubrec => "waiting for PUBREC",
                            ClientOutStage::AwaitPubcomp => "PUBREL sent, waiting for PUBCOMP",
                        }
                        .to_string(),
                        expiry: None,
                    })
                    .collect(),
                incoming_qos2: c.incoming_qos2.iter().map(|i| i.to_string()).collect(),
                buffer: c
                    .buffer
                    .iter()
                    .take(ROW_LIMIT)
                    .map(|b| MsgRow {
                        msg: b.message.msg.to_string(),
                        topic: b.message.topic.to_string(),
                        payload: b.message.payload.to_string(),
                        qos: b.message.qos.as_u8(),
                        packet_id: String::new(),
                        state: format!("buffered at {}", b.at),
                        expiry: None,
                    })
                    .collect(),
                buffer_capacity: c.buffer_capacity,
                received: c.received.len(),
                duplicates: c.received.iter().filter(|r| r.duplicate).count(),
                withholding: c.withhold_acks,
            };
            let broker = match session_of(w, c) {
                None => BrokerSide {
                    client_id: c.client_id.to_string(),
                    present: false,
                    state: "no session".to_string(),
                    expiry: String::new(),
                    subscriptions: Vec::new(),
                    queue: Vec::new(),
                    queue_total: 0,
                    inflight: Vec::new(),
                    inflight_total: 0,
                    awaiting_pubrel: Vec::new(),
                    will: None,
                    bytes: 0,
                },
                Some(s) => {
                    let row = |m: &session_engine::broker::OutMsg| MsgRow {
                        msg: m.msg.to_string(),
                        topic: m.topic.to_string(),
                        payload: m.payload.to_string(),
                        qos: m.qos.as_u8(),
                        packet_id: m.packet_id.map(|i| i.to_string()).unwrap_or_default(),
                        state: match m.state {
                            OutState::Queued => "queued",
                            OutState::AwaitPuback => "sent, waiting for PUBACK",
                            OutState::AwaitPubrec => "sent, waiting for PUBREC",
                            OutState::AwaitPubcomp => "PUBREL sent, waiting for PUBCOMP",
                        }
                        .to_string(),
                        expiry: remaining(now, m.received_at, m.message_expiry),
                    };
                    let will = s.will.as_ref().map(|wl| {
                        let mut t =
                            format!("{} \"{}\" at QoS {}", wl.topic, wl.payload, wl.qos.as_u8());
                        if wl.delay > 0 {
                            t.push_str(&format!(", delay {} s", wl.delay));
                        }
                        if let Some(d) = s.will_due {
                            t.push_str(&format!(", due at {d}{whole}"));
                        }
                        t
                    });
                    BrokerSide {
                        client_id: s.client_id.to_string(),
                        present: true,
                        state: match (s.conn, s.expires_at) {
                            (Some(c), _) => format!("in use by connection {c}"),
                            (None, Some(t)) => format!(
                                "stored, expires at {t} ({} left){whole}",
                                format_duration_ms(t.since(now))
                            ),
                            (None, None) => "stored, no expiry".to_string(),
                        },
                        expiry: if !s.version.is_v5() {
                            // 3.1.1 has no Session Expiry Interval: Clean Session decides.
                            if s.expiry == 0 {
                                "Clean Session 1: ends with its connection".to_string()
                            } else if s.expiry == NEVER_EXPIRE {
                                "Clean Session 0: kept after a disconnect".to_string()
                            } else {
                                format!(
                                    "Clean Session 0: kept {} after a disconnect (a broker limit)",
                                    format_expiry(s.expiry)
                                )
                            }
                        } else if s.expiry == NEVER_EXPIRE {
                            "Session Expiry Interval: never expires".to_string()
                        } else {
                            format!("Session Expiry Interval {}", format_expiry(s.expiry))
                        },
                        subscriptions: s
                            .subscriptions
                            .values()
                            .map(|sub| {
                                let mut o = format!("QoS {}", sub.granted.as_u8());
                                if sub.options.no_local {
                                    o.push_str(", No Local");
                                }
                                if sub.options.retain_as_published {
                                    o.push_str(", Retain As Published");
                                }
                                if sub.options.retain_handling != 0 {
                                    o.push_str(&format!(
                                        ", Retain Handling {}",
                                        sub.options.retain_handling
                                    ));
                                }
                                if let Some(id) = sub.subscription_id {
                                    o.push_str(&format!(", SubId {id}"));
                                }
                                (sub.filter.clone(), o)
                            })
                            .collect(),
                        queue: s.queue.iter().take(ROW_LIMIT).map(row).collect(),
                        queue_total: s.queue.len(),
                        inflight: s.inflight.iter().take(ROW_LIMIT).map(row).collect(),
                        inflight_total: s.inflight.len(),
                        awaiting_pubrel: s
                            .incoming_qos2
                            .iter()
                            .map(|q| q.packet_id.to_string())
                            .collect(),
                        will,
                        bytes: s.bytes(profile),
                    }
                }
            };
            SessionPair { client, broker }
        })
        .collect()
}

/// A time as a clock that never wraps: `0:05`, `0:05.250`, `12:00`, `1:02:03`, `2d 01:02:03`.
pub fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    let frac = ms % 1000;
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    let mut out = if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    };
    if frac != 0 {
        out.push_str(&format!(".{frac:03}"));
    }
    out
}

/// A packet in the sequence diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketRow {
    /// Position in the whole trace (stable id for selection).
    pub id: usize,
    pub step: usize,
    pub time: String,
    pub client: String,
    /// true: client to broker.
    pub to_broker: bool,
    pub kind: &'static str,
    pub summary: String,
    pub lost: bool,
    /// Sent in the step shown.
    pub current: bool,
    /// A keep-alive ping (PINGREQ or PINGRESP).
    pub ping: bool,
}

/// Which packets a list shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PacketFilter {
    /// Only this client's packets ("" for all).
    pub client: String,
    /// Only this packet type ("" for all).
    pub kind: String,
    /// Keep-alive pings too.
    pub pings: bool,
}

impl PacketFilter {
    /// Every packet, pings included.
    pub fn all() -> PacketFilter {
        PacketFilter {
            pings: true,
            ..PacketFilter::default()
        }
    }
}

/// Every packet up to and including `step`, filtered by client name and packet type (empty
/// filter = all).
pub fn packet_rows(p: &Player, step: usize, client: &str, kind: &str) -> Vec<PacketRow> {
    let f = PacketFilter {
        client: client.into(),
        kind: kind.into(),
        pings: true,
    };
    packet_rows_last(p, step, &f, usize::MAX).0
}

/// The last `limit` packets up to `step` that pass `filter` (oldest first), and how many pass
/// in all. Only the rows shown are formatted, so long runs stay cheap.
pub fn packet_rows_last(
    p: &Player,
    step: usize,
    filter: &PacketFilter,
    limit: usize,
) -> (Vec<PacketRow>, usize) {
    packet_rows_in(p, 1..=step.min(p.len() - 1), step, filter, limit, false)
}

/// The packets of step `step` alone that pass `filter` (at most `limit`), and how many pass.
pub fn step_packets(
    p: &Player,
    step: usize,
    filter: &PacketFilter,
    limit: usize,
) -> (Vec<PacketRow>, usize) {
    let s = step.min(p.len() - 1);
    if s == 0 {
        return (Vec::new(), 0);
    }
    packet_rows_in(p, s..=s, step, filter, limit, true)
}

fn packet_rows_in(
    p: &Player,
    steps: std::ops::RangeInclusive<usize>,
    step: usize,
    filter: &PacketFilter,
    limit: usize,
    oldest: bool,
) -> (Vec<PacketRow>, usize) {
    let (client, kind) = (filter.client.as_str(), filter.kind.as_str());
    let mut rows = Vec::new();
    let mut total = 0;
    // The newest `limit` rows, or with `oldest`, the first `limit`; only those are written out.
    let order: Box<dyn Iterator<Item = usize>> = if oldest {
        Box::new(steps)
    } else {
        Box::new(steps.rev())
    };
    for s in order {
        let rec = p.at(s);
        let entries = p.entries(s).iter().enumerate();
        let entries: Box<dyn Iterator<Item = (usize, &TraceEntry)>> = if oldest {
            Box::new(entries)
        } else {
            Box::new(entries.rev())
        };
        for (k, e) in entries {
            let (name, to_broker, kind_of, lost) = match &e.item {
                TraceItem::Packet {
                    from,
                    to,
                    packet,
                    lost,
                    ..
                } => match (from, to) {
                    (Endpoint::Client(c), _) => (c, true, packet.kind(), *lost),
                    (_, Endpoint::Client(c)) => (c, false, packet.kind(), *lost),
                    _ => continue,
                },
                TraceItem::Undecodable { client, .. } => (client, true, UNDECODABLE, false),
                _ => continue,
            };
            let ping = matches!(kind_of, "PINGREQ" | "PINGRESP");
            if (!client.is_empty() && name != client)
                || (!kind.is_empty() && kind_of != kind)
                || (ping && !filter.pings && kind != kind_of)
            {
                continue;
            }
            total += 1;
            if rows.len() < limit {
                let summary = match &e.item {
                    TraceItem::Packet { packet, raw, .. } => match raw {
                        Some(_) => format!("{packet} (bytes as given)"),
                        None => packet.to_string(),
                    },
                    TraceItem::Undecodable { raw, .. } => format!("bytes {raw}"),
                    _ => String::new(),
                };
                rows.push(PacketRow {
                    id: rec.start + k,
                    step: s,
                    time: clock(e.time.0),
                    client: name.clone(),
                    to_broker,
                    kind: kind_of,
                    summary,
                    lost,
                    current: s == step,
                    ping,
                });
            }
        }
    }
    if !oldest {
        rows.reverse();
    }
    (rows, total)
}

/// The packet-list kind of bytes a client wrote that are not a packet the broker takes.
pub const UNDECODABLE: &str = "not a packet";

/// A packet's bytes and which bytes are which field.
pub type PacketBytes = (Vec<u8>, Vec<session_engine::codec::Field>);

/// The real bytes of trace entry `id`'s packet, as its connection's MQTT version encodes them,
/// and which bytes are which field (`session_engine::codec`), or why the wire cannot carry it.
pub fn packet_bytes(p: &Player, id: usize) -> Option<Result<PacketBytes, EncodeError>> {
    let trace = p.trace();
    let (packet, conn) = match &trace.get(id)?.item {
        TraceItem::Packet {
            raw: Some(raw),
            conn,
            ..
        } => {
            // Bytes a scenario gave as hex: shown exactly, read as the broker read them.
            let v = connection_version(p, id, *conn);
            let fields = session_engine::codec::decode_fields(&raw.0, v)
                .map(|(_, _, f)| f)
                .unwrap_or_default();
            return Some(Ok((raw.0.clone(), fields)));
        }
        TraceItem::Undecodable { raw, error, .. } => {
            return Some(Ok((
                raw.0.clone(),
                vec![session_engine::codec::Field {
                    start: 0,
                    len: raw.0.len(),
                    name: "Not a packet".into(),
                    value: error.clone(),
                }],
            )));
        }
        TraceItem::Packet { packet, conn, .. } => (packet, conn),
        _ => return None,
    };
    Some(session_engine::codec::encode_fields(
        packet,
        connection_version(p, id, *conn),
    ))
}

/// The MQTT version of connection `conn` at trace entry `id`: that of its CONNECT, which comes
/// before every other packet on it.
fn connection_version(p: &Player, id: usize, conn: session_engine::ConnId) -> Version {
    let trace = p.trace();
    // The version of the connection: from its CONNECT, which comes before every other packet.
    trace[..=id]
        .iter()
        .rev()
        .find_map(|e| match &e.item {
            TraceItem::Packet {
                packet: Packet::Connect(c),
                conn: k,
                ..
            } if *k == conn => Some(c.version),
            _ => None,
        })
        .unwrap_or(p.scenario.version)
}

pub fn packet_fields(p: &Player, id: usize) -> Option<(String, Vec<(String, String)>)> {
    let e = p.trace().get(id)?;
    if let TraceItem::Undecodable {
        client,
        conn,
        raw,
        error,
    } = &e.item
    {
        let f = vec![
            ("from".into(), client.clone()),
            ("to".into(), "broker".into()),
            ("connection".into(), conn.to_string()),
            ("time".into(), e.time.to_string()),
            ("bytes".into(), raw.to_string()),
            ("why the broker refuses them".into(), error.clone()),
        ];
        return Some(("Bytes that are not a packet".into(), f));
    }
    let TraceItem::Packet {
        packet,
        from,
        to,
        conn,
        lost,
        raw,
    } = &e.item
    else {
        return None;
    };
    let who = |x: &Endpoint| match x {
        Endpoint::Broker => "broker".to_string(),
        Endpoint::Client(c) => c.clone(),
    };
    let mut f: Vec<(String, String)> = vec![
        ("from".into(), who(from)),
        ("to".into(), who(to)),
        ("connection".into(), conn.to_string()),
        ("time".into(), e.time.to_string()),
    ];
    if *lost {
        f.push(("network".into(), "lost before it arrived".into()));
    }
    if raw.is_some() {
        f.push((
            "bytes".into(),
            "exactly as the scenario gave them (a send step)".into(),
        ));
    }
    let yes = |b: bool| if b { "1".to_string() } else { "0".to_string() };
    match packet {
        Packet::Connect(c) => {
            f.push(("protocol".into(), c.version.to_string()));
            f.push(("client id".into(), format!("\"{}\"", c.client_id)));
            f.push((
                if c.version.is_v5() {
                    "Clean Start"
                } else {
                    "Clean Session"
                }
                .into(),
                yes(c.clean_start),
            ));
            f.push(("Keep Alive".into(), format!("{} s", c.keep_alive)));
            if c.version.is_v5() {
                f.push((
                    "Session Expiry Interval".into(),
                    c.session_expiry
                        .map(format_expiry)
                        .unwrap_or_else(|| "absent (0)".into()),
                ));
                f.push((
                    "Receive Maximum".into(),
                    c.receive_maximum
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "absent (65,535)".into()),
                ));
            }
            match &c.will {
                Some(w) => {
                    f.push(("Will Flag".into(), "1".into()));
                    f.push(("Will Topic".into(), w.topic.to_string()));
                    f.push(("Will Payload".into(), format!("\"{}\"", w.payload)));
                    f.push(("Will QoS".into(), w.qos.as_u8().to_string()));
                    f.push(("Will Retain".into(), yes(w.retain)));
                    if c.version.is_v5() {
                        f.push(("Will Delay Interval".into(), format!("{} s", w.delay)));
                    }
                }
                None => f.push(("Will Flag".into(), "0".into())),
            }
        }
        Packet::Connack(c) => {
            f.push(("Session Present".into(), yes(c.session_present)));
            f.push(("reason code".into(), format!("0x{:02X}", c.code)));
            if let Some(a) = &c.assigned_client_id {
                f.push(("Assigned Client Identifier".into(), format!("\"{a}\"")));
            }
            if let Some(s) = c.session_expiry {
                f.push(("Session Expiry Interval".into(), format_expiry(s)));
            }
            if let Some(k) = c.server_keep_alive {
                f.push(("Server Keep Alive".into(), format!("{k} s")));
            }
            if let Some(r) = c.receive_maximum {
                f.push(("Receive Maximum".into(), r.to_string()));
            }
            if let Some(q) = c.maximum_qos {
                f.push(("Maximum QoS".into(), q.as_u8().to_string()));
            }
        }
        Packet::Publish(pb) => {
            f.push(("DUP".into(), yes(pb.dup)));
            f.push(("QoS".into(), pb.qos.as_u8().to_string()));
            f.push(("RETAIN".into(), yes(pb.retain)));
            f.push(("Topic Name".into(), pb.topic.to_string()));
            f.push((
                "Packet Identifier".into(),
                pb.packet_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "none (QoS 0)".into()),
            ));
            if let Some(m) = pb.message_expiry {
                f.push(("Message Expiry Interval".into(), format!("{m} s")));
            }
            if !pb.subscription_ids.is_empty() {
                f.push((
                    "Subscription Identifier".into(),
                    session_engine::packet::join(&pb.subscription_ids),
                ));
            }
            f.push(("payload".into(), format!("\"{}\"", pb.payload)));
            f.push(("message".into(), pb.msg.to_string()));
        }
        Packet::Puback { packet_id, reason }
        | Packet::Pubrec { packet_id, reason }
        | Packet::Pubrel { packet_id, reason }
        | Packet::Pubcomp { packet_id, reason } => {
            f.push(("Packet Identifier".into(), packet_id.to_string()));
            f.push(("reason code".into(), format!("0x{reason:02X}")));
        }
        Packet::Subscribe(s) => {
            f.push(("Packet Identifier".into(), s.packet_id.to_string()));
            for (filter, o) in &s.filters {
                f.push(("Topic Filter".into(), format!("{filter} (QoS {}, No Local {}, Retain As Published {}, Retain Handling {})", o.qos.as_u8(), yes(o.no_local), yes(o.retain_as_published), o.retain_handling)));
            }
            if let Some(i) = s.subscription_id {
                f.push(("Subscription Identifier".into(), i.to_string()));
            }
        }
        Packet::Suback { packet_id, codes } | Packet::Unsuback { packet_id, codes } => {
            f.push(("Packet Identifier".into(), packet_id.to_string()));
            f.push((
                "codes".into(),
                codes
                    .iter()
                    .map(|c| format!("0x{c:02X}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        Packet::Unsubscribe { packet_id, filters } => {
            f.push(("Packet Identifier".into(), packet_id.to_string()));
            f.push(("Topic Filters".into(), filters.join(", ")));
        }
        Packet::Pingreq | Packet::Pingresp => {}
        Packet::Disconnect(d) => {
            f.push(("reason code".into(), format!("0x{:02X}", d.reason)));
            if let Some(s) = d.session_expiry {
                f.push(("Session Expiry Interval".into(), format_expiry(s)));
            }
        }
    }
    Some((packet.to_string(), f))
}

/// What became of one application message. Built from the engine's [`session_engine::Fates`]
/// (`Player::fates`): the outcomes, sentences and citations are the engine's, tested there.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageFate {
    /// The engine's name of the message (`m1`).
    pub msg: String,
    pub topic: String,
    /// The payload as text, or "bytes" and its hex when it is not UTF-8.
    pub payload: String,
    /// The publisher's scenario name, or the client id whose will it is.
    pub from: String,
    /// The kinds of its copies' outcomes, each once: "delivered", "duplicate", "dropped",
    /// "lost", "queued", "in flight", "expired", "nobody subscribed", "buffered"; "on its way"
    /// before the broker made any copy.
    pub outcome: String,
    /// true when something went wrong for one of its copies (lost, dropped, duplicate, expired).
    pub trouble: bool,
    /// Every copy's chain merged, oldest first, each event once: (time, sentence, citation or
    /// "").
    pub why: Vec<(String, String, String)>,
    /// Each copy: one per subscriber session, the publisher's own side, or "nobody" (the first
    /// [`MAX_COPIES`]).
    pub copies: Vec<CopyFate>,
    /// Copies of the message in all.
    pub copies_total: usize,
}

/// What became of one copy of a message.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyFate {
    /// Who it was for: a client's name, "NAME (publisher)" or "nobody".
    pub to: String,
    /// Where it is or how it ended, for people ("delivered at QoS 1 with DUP = 1").
    pub outcome: String,
    /// Lost, dropped, duplicate or expired.
    pub trouble: bool,
    /// Its chain, oldest first.
    pub chain: Vec<WhyLine>,
}

/// One link of a copy's chain.
#[derive(Clone, Debug, PartialEq)]
pub struct WhyLine {
    /// When, as the trace writes times.
    pub time: String,
    /// What happened, one sentence.
    pub text: String,
    /// The rule the engine's event cites; "" when no rule decided it.
    pub cite: String,
    /// This is the link that decided the copy's outcome.
    pub decides: bool,
}

/// Copies of one message listed with their chains at most (a message can fan out to 10,000
/// sessions); `MessageFate::copies_total` counts them all.
pub const MAX_COPIES: usize = 50;

/// Every application message up to `step`, with its fate and the chain of causes of each copy.
pub fn message_fates(p: &Player, step: usize) -> Vec<MessageFate> {
    message_fates_last(p, step, usize::MAX, None).0
}

/// The last `limit` messages up to `step` (oldest first), each with its fate, and how many
/// earlier ones were left out. The chains of causes are written out only for the messages in
/// `open` (those whose "Why?" is open; `None`: every message), so a run with 20,000 copies
/// stays cheap to show.
pub fn message_fates_last(
    p: &Player,
    step: usize,
    limit: usize,
    open: Option<&[String]>,
) -> (Vec<MessageFate>, usize) {
    let all = p.fates().at(step);
    let skip = all.len().saturating_sub(limit);
    let fates = all
        .into_iter()
        .skip(skip)
        .map(|m| {
            let chains = open.is_none_or(|o| o.iter().any(|x| *x == m.message.msg.to_string()));
            fate_of(m, chains)
        })
        .collect();
    (fates, skip)
}

fn fate_of(m: session_engine::fate::MessageAt<'_>, chains: bool) -> MessageFate {
    let kinds = m.kinds();
    let summary = MessageFate {
        msg: m.message.msg.to_string(),
        topic: m.message.topic.to_string(),
        payload: m.message.payload.to_string(),
        from: m.message.from.clone(),
        outcome: if kinds.is_empty() {
            "on its way".to_string()
        } else {
            kinds.join(", ")
        },
        trouble: m.trouble(),
        why: Vec::new(),
        copies_total: m.copies().count(),
        copies: Vec::new(),
    };
    if !chains {
        return summary;
    }
    let line = |l: &session_engine::fate::Link, decides: bool| WhyLine {
        time: l.time.to_string(),
        text: l.text.clone(),
        cite: l.cite.unwrap_or_default().to_string(),
        decides,
    };
    let copies: Vec<CopyFate> = m
        .copies()
        .take(MAX_COPIES)
        .map(|c| CopyFate {
            to: c.to().label(),
            outcome: c.outcome().describe(),
            trouble: c.trouble().is_some(),
            chain: c.chain().map(|(l, d)| line(l, d)).collect(),
        })
        .collect();
    // The message's own links once, then each copy's, in the order they happened.
    let mut links: Vec<&session_engine::fate::Link> = m.links().iter().collect();
    for c in m.copies().take(MAX_COPIES) {
        links.extend(
            c.chain()
                .map(|(l, _)| l)
                .filter(|l| !m.links().iter().any(|x| std::ptr::eq(x, *l))),
        );
    }
    links.sort_by_key(|l| l.entry);
    MessageFate {
        why: links
            .into_iter()
            .map(|l| {
                (
                    l.time.to_string(),
                    l.text.clone(),
                    l.cite.unwrap_or_default().to_string(),
                )
            })
            .collect(),
        copies,
        ..summary
    }
}

/// The broker overview: every session with its memory, against the profile's limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Overview {
    pub broker: String,
    pub source: String,
    pub limits: Vec<(String, String)>,
    /// How this profile differs from the specification's in behaviour, departures first (the
    /// engine's catalogue, `session_engine::behaviour`).
    pub departures: Vec<session_engine::behaviour::Departure>,
    pub rows: Vec<(String, String, usize, usize, u64)>,
    pub total_bytes: u64,
}

pub fn overview(p: &Player, step: usize) -> Overview {
    let w = &p.at(step).world;
    let pr = w.broker.profile();
    let limits = vec![
        (
            "queued messages per session".into(),
            match pr.max_queued_messages {
                None => "unlimited".into(),
                Some(n) => format!(
                    "{n} ({})",
                    match pr.overflow {
                        session_engine::profile::Overflow::DropNewest =>
                            "the newest is dropped when full",
                        session_engine::profile::Overflow::DropOldest =>
                            "the oldest is dropped when full",
                    }
                ),
            },
        ),
        (
            "QoS 0 queued while offline".into(),
            if pr.queue_qos0_offline {
                "yes".into()
            } else {
                "no".into()
            },
        ),
        (
            "in-flight window (3.1.1 clients)".into(),
            pr.max_inflight_v311.to_string(),
        ),
        (
            "3.1.1 persistent session lifetime".into(),
            pr.v311_session_expiry
                .map(format_expiry)
                .unwrap_or_else(|| "forever".into()),
        ),
        (
            "5.0 Session Expiry cap".into(),
            pr.max_session_expiry
                .map(format_expiry)
                .unwrap_or_else(|| "none".into()),
        ),
        ("maximum QoS".into(), pr.max_qos.to_string()),
        (
            "sessions kept across a restart".into(),
            match pr.persistence {
                session_engine::profile::Persistence::None => "none",
                session_engine::profile::Persistence::CleanStartZeroOnly => {
                    "those last connected with Clean Start 0"
                }
                session_engine::profile::Persistence::AllSessions => "all",
            }
            .into(),
        ),
    ];
    let rows: Vec<(String, String, usize, usize, u64)> = w
        .broker
        .sessions()
        .values()
        .map(|s| {
            (
                s.client_id.to_string(),
                if s.conn.is_some() {
                    "online".to_string()
                } else {
                    "offline".to_string()
                },
                s.queue.len(),
                s.inflight.len(),
                s.bytes(pr),
            )
        })
        .collect();
    let total_bytes = rows.iter().map(|r| r.4).sum();
    Overview {
        broker: pr.name.clone(),
        source: pr.source.clone(),
        limits,
        departures: pr.departures(),
        rows,
        total_bytes,
    }
}

/// A non-negative number with up to `decimals` decimals, without f64 formatting (which would add
/// kilobytes of float-printing code to the page): 0.25 -> "0.25", 2.0 -> "2".
fn plain(v: f64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let n = (v.max(0.0) * scale as f64).round() as u64;
    let (int, frac) = (n / scale, n % scale);
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = decimals as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// This run's numbers carried into the calculators (links relative to the page): the queue
/// memory calculator gets the offline sessions, their time offline, the message rate, sizes and
/// the broker's limits; the storm calculator the clients, the broker's accept rate and the
/// first auto-reconnect backoff of the scenario.
pub fn calculator_links(p: &Player, step: usize) -> (String, String) {
    let w = &p.at(step).world;
    let pr = w.broker.profile();
    let now = w.now.millis();
    let sessions = w.broker.sessions();
    let offline: Vec<&Session> = sessions.values().filter(|s| s.conn.is_none()).collect();
    let devices = offline.len().max(1);
    let longest_ms = offline
        .iter()
        .filter_map(|s| s.disconnected_at)
        .map(|t| now.saturating_sub(t.millis()))
        .max()
        .unwrap_or(now);
    // Application messages routed so far: count, mean topic and payload size.
    let (mut n, mut topic, mut payload) = (0u64, 0u64, 0u64);
    for s in 0..=step {
        for e in p.entries(s) {
            if let TraceItem::Broker {
                event: BrokerEvent::MessageRouted { topic: t, .. },
            } = &e.item
            {
                n += 1;
                topic += t.len() as u64;
            }
        }
    }
    let queued: Vec<_> = sessions.values().flat_map(|s| s.queue.iter()).collect();
    if !queued.is_empty() {
        payload = queued.iter().map(|m| m.payload.len() as u64).sum::<u64>() / queued.len() as u64;
    }
    let minutes = (now as f64 / 60_000.0).max(1.0 / 60.0);
    let rate = plain(n as f64 / minutes, 3);
    let hours = plain(
        (longest_ms as f64 / 3_600_000.0 * 10_000.0).ceil() / 10_000.0,
        4,
    );
    let subs = sessions
        .values()
        .map(|s| s.subscriptions.len())
        .max()
        .unwrap_or(1);
    let queue = format!(
        "calc/?c=queue&devices={devices}&hours={hours}&rate={rate}&payload={payload}&topic={}&overhead={}&session={}&subs={subs}&per_sub={}&broker={}&limit={}&overflow={}",
        topic.checked_div(n).unwrap_or(0),
        pr.per_message_overhead,
        pr.per_session_bytes,
        pr.per_subscription_bytes,
        pr.id,
        pr.max_queued_messages.unwrap_or(0),
        match pr.overflow {
            session_engine::profile::Overflow::DropNewest => "drop_newest",
            session_engine::profile::Overflow::DropOldest => "drop_oldest",
        }
    );
    let clients = w.clients.len().max(1);
    let mut storm = format!("calc/?c=storm&devices={clients}");
    if let Some(c) = pr.max_connections_per_second {
        storm.push_str(&format!("&capacity={c}"));
    }
    // The scenario's backoff, and its first two jitter strategies as A and B.
    let backoffs: Vec<&session_engine::client::Backoff> = w
        .clients
        .iter()
        .filter_map(|c| c.auto_reconnect.as_ref())
        .collect();
    if let Some(b) = backoffs.first() {
        storm.push_str(&format!(
            "&initial={}&multiplier={}&max={}&a={}",
            plain(b.initial, 3),
            plain(b.multiplier, 3),
            plain(b.max, 3),
            b.jitter.key()
        ));
        if let Some(other) = backoffs.iter().find(|o| o.jitter != b.jitter) {
            storm.push_str(&format!("&b={}", other.jitter.key()));
        }
    }
    (queue, storm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_bytes_use_the_connections_version() {
        let connack = |p: &Player, sp: bool| {
            p.trace().iter().position(|e| {
                matches!(&e.item, TraceItem::Packet { packet: Packet::Connack(c), .. } if c.session_present == sp)
            })
        };
        // The takeover's CONNACK on 5.0 with mosquitto: SP = 1, reason 0, Receive Maximum 20.
        let p = play("takeover-v5");
        let (bytes, fields) = packet_bytes(&p, connack(&p, true).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(bytes, [0x20, 0x06, 0x01, 0x00, 0x03, 0x21, 0x00, 0x14]);
        assert!(fields
            .iter()
            .any(|f| f.name == "Receive Maximum" && f.value == "20"));
        // A 3.1.1 connection: CONNACK has no properties, CONNECT says level 4.
        let p = play("takeover-311");
        let id = connack(&p, false).unwrap();
        assert_eq!(
            packet_bytes(&p, id).unwrap().unwrap().0,
            [0x20, 0x02, 0x00, 0x00]
        );
        let connect = p
            .trace()
            .iter()
            .position(|e| {
                matches!(
                    &e.item,
                    TraceItem::Packet {
                        packet: Packet::Connect(_),
                        ..
                    }
                )
            })
            .unwrap();
        assert_eq!(packet_bytes(&p, connect).unwrap().unwrap().0[8], 4);
        assert!(packet_bytes(&p, usize::MAX).is_none());
    }

    #[test]
    fn plain_numbers_without_float_formatting() {
        assert_eq!(plain(0.25, 4), "0.25");
        assert_eq!(plain(2.0, 3), "2");
        assert_eq!(plain(1.0 / 3.0, 3), "0.333");
        assert_eq!(plain(-1.0, 2), "0");
    }

    #[test]
    fn calculator_links_carry_this_runs_numbers() {
        let p = play("queue-overflow");
        let (q, s) = calculator_links(&p, p.len() - 1);
        assert!(q.starts_with("calc/?c=queue&devices=1&"), "{q}");
        assert!(
            q.contains("&broker=mosquitto-2.0.11&limit=3&overflow=drop_newest"),
            "{q}"
        );
        assert!(s.starts_with("calc/?c=storm&devices="), "{s}");
        let p = play("reconnect-storm");
        let (_, s) = calculator_links(&p, p.len() - 1);
        assert_eq!(
            s,
            "calc/?c=storm&devices=20&capacity=5&initial=1&multiplier=2&max=30&a=none&b=full"
        );
    }

    fn play(id: &str) -> Player {
        Player::from_json(library::text_by_id(id).unwrap()).unwrap()
    }

    #[test]
    fn groups_cover_every_built_in_lesson_once() {
        let groups = scenario_groups();
        let shown: Vec<&ScenarioItem> = groups.iter().flat_map(|(_, v)| v).collect();
        for s in library::all() {
            // Every file is reachable: listed itself, or through its version pair's entry.
            let value = picker_value(&s.id);
            let n = shown.iter().filter(|i| i.id == value).count();
            assert_eq!(n, 1, "{} is reached through {value}", s.id);
            if s.other_version.is_some() {
                let item = shown.iter().find(|i| i.id == value).unwrap();
                assert_eq!(item.versions, "3.1.1 / 5.0");
                assert_eq!(other_version(&s).as_deref(), s.other_version.as_deref());
            }
        }
        let pairs = library::all()
            .iter()
            .filter(|s| s.other_version.is_some())
            .count();
        assert_eq!(shown.len(), library::all().len() - pairs / 2);
        assert_eq!(picker_value("takeover-v5"), "takeover-311");
        assert_eq!(picker_value("no-such"), "");
    }

    #[test]
    fn every_view_model_renders_every_step_of_every_scenario() {
        for s in library::all() {
            let p = Player::new(s).unwrap();
            for i in 0..p.len() {
                assert_eq!(lifecycle(&p, i).len(), p.at(i).world.clients.len());
                let n = narration(&p, i);
                assert_eq!(n.index, i);
                let _ = session_pairs(&p, i);
                let _ = packet_rows(&p, i, "", "");
                let _ = message_fates(&p, i);
                let _ = overview(&p, i);
            }
        }
    }

    #[test]
    fn lifecycle_shows_stored_then_resumed_in_clean_vs_persistent() {
        let p = play("clean-vs-persistent");
        // Step 6: valve-persistent's link drops -> its session is stored.
        let l = lifecycle(&p, 6);
        let persistent = l.iter().find(|c| c.client == "valve-persistent").unwrap();
        assert_eq!(
            (persistent.previous, persistent.state),
            (LifeState::Connected, LifeState::Stored)
        );
        // Step 5: valve-clean's session ended with the connection.
        let l = lifecycle(&p, 5);
        let clean = l.iter().find(|c| c.client == "valve-clean").unwrap();
        assert_eq!(clean.state, LifeState::Ended);
        assert!(clean
            .transition
            .as_deref()
            .unwrap()
            .contains("[MQTT-3.1.2-6]"));
        // Last step: resumed.
        let last = p.len() - 1;
        let l = lifecycle(&p, last);
        let persistent = l.iter().find(|c| c.client == "valve-persistent").unwrap();
        assert_eq!(persistent.state, LifeState::Connected);
        assert!(persistent
            .transition
            .as_deref()
            .unwrap()
            .contains("Session Present = 1"));
    }

    #[test]
    fn panels_match_the_engine_at_the_session_expiry_step() {
        let p = play("session-expiry-v5");
        let last = p.len() - 1;
        // Before the long wait the queued command sits in the stored session.
        let before = session_pairs(&p, last - 2);
        let sensor = before.iter().find(|x| x.client.name == "sensor").unwrap();
        assert_eq!(sensor.broker.queue.len(), 1);
        assert!(sensor.broker.state.starts_with("stored, expires at"));
        // After it, the session is gone, and the command's fate says why.
        let after = session_pairs(&p, last - 1);
        assert!(
            !after
                .iter()
                .find(|x| x.client.name == "sensor")
                .unwrap()
                .broker
                .present
        );
        let fates = message_fates(&p, last);
        let report = fates.iter().find(|f| f.payload == "report").unwrap();
        assert!(report.trouble);
        assert_eq!(report.outcome, "dropped");
        assert!(
            report
                .why
                .iter()
                .any(|(_, t, c)| t.contains("session expired") && c == "[MQTT-4.1.0-2] 5.0"),
            "{:?}",
            report.why
        );
        // One copy, for the sensor; its deciding line is the expiry, said once.
        let [copy] = &report.copies[..] else {
            panic!("{:?}", report.copies)
        };
        assert_eq!(copy.to, "sensor");
        assert!(copy.trouble);
        let deciding: Vec<&WhyLine> = copy.chain.iter().filter(|l| l.decides).collect();
        assert_eq!(deciding.len(), 1);
        assert_eq!(deciding[0].cite, "[MQTT-4.1.0-2] 5.0");
        assert_eq!(
            copy.chain
                .iter()
                .filter(|l| l.text.contains("session"))
                .count(),
            2,
            "queued in the stored session, then its expiry: {:?}",
            copy.chain
        );
    }

    #[test]
    fn takeover_narration_names_the_mosquitto_deviation() {
        let p = play("takeover-v5");
        let n = narration(&p, 5);
        assert!(n
            .deviations
            .iter()
            .any(|(rule, _, broker)| rule.contains("MQTT-3.1.4-3") && broker.contains("2.0.15")));
        // Each statement cited once, with what it requires, in the version it is cited for.
        let (id, summary) = n
            .statements
            .iter()
            .find(|(id, _)| id == "[MQTT-3.1.4-3] 5.0")
            .unwrap_or_else(|| panic!("the takeover statement is explained: {:?}", n.statements));
        assert_eq!(
            summary,
            session_engine::statement::find("MQTT-3.1.4-3", session_engine::Version::V5)
                .unwrap()
                .summary
        );
        let ids: Vec<&String> = n.statements.iter().map(|(i, _)| i).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique, "{id}");
    }

    #[test]
    fn why_explains_a_lost_qos0_message_and_a_duplicate() {
        let p = play("qos0-lost-offline");
        let fates = message_fates(&p, p.len() - 1);
        let m1 = fates.iter().find(|f| f.payload == "m1").unwrap();
        assert_eq!(m1.outcome, "dropped");
        assert!(m1
            .why
            .iter()
            .any(|(_, t, c)| t.contains("QoS 0 is not queued") && c.contains("[MQTT-3.1.2-5]")));
        let m2 = fates.iter().find(|f| f.payload == "m2").unwrap();
        assert_eq!((m2.outcome.as_str(), m2.trouble), ("delivered", false));
        assert_eq!(m2.copies[0].outcome, "delivered at QoS 1");
        let p = play("qos1-redelivered-dup");
        let fates = message_fates(&p, p.len() - 1);
        let m1 = fates.iter().find(|f| f.payload.starts_with("m1")).unwrap();
        assert!(m1.outcome.contains("duplicate"));
        assert!(
            m1.why
                .iter()
                .any(|(_, t, _)| t.contains("PUBACK (packet id 1) was lost")),
            "{:?}",
            m1.why
        );
        let copy = &m1.copies[0];
        assert_eq!(copy.to, "billing");
        let deciding = copy.chain.iter().find(|l| l.decides).unwrap();
        assert!(deciding.text.contains("again with DUP = 1"), "{deciding:?}");
        assert_eq!(deciding.cite, "[MQTT-4.4.0-1] 5.0, [MQTT-3.3.1-1] 5.0");
        // Lines the engine gives no rule carry none.
        assert!(copy
            .chain
            .iter()
            .any(|l| l.text.contains("lost on the network") && l.cite.is_empty()));
    }

    #[test]
    fn the_why_lines_are_the_engine_s_and_every_cite_is_one_it_emits() {
        for s in library::all() {
            let p = Player::new(s).unwrap();
            let last = p.len() - 1;
            let fates = message_fates(&p, last);
            assert_eq!(fates.len(), p.fates().at(last).len());
            // Every citation shown is one an event of the trace carries.
            let emitted: Vec<&str> = p
                .trace()
                .iter()
                .filter_map(|e| match &e.item {
                    TraceItem::Broker { event } => event.cite(),
                    _ => None,
                })
                .collect();
            for f in &fates {
                for c in &f.copies {
                    assert!(
                        c.chain.iter().filter(|l| l.decides).count() == 1,
                        "{}",
                        f.msg
                    );
                    for l in &c.chain {
                        assert!(
                            l.cite.is_empty() || emitted.contains(&l.cite.as_str()),
                            "{}: {} cites {}, which no event emits",
                            p.scenario.id,
                            f.msg,
                            l.cite
                        );
                    }
                }
                for (_, _, cite) in &f.why {
                    assert!(cite.is_empty() || emitted.contains(&cite.as_str()));
                }
            }
        }
    }

    #[test]
    fn packet_filters_and_inspector() {
        let p = play("qos2-interrupted");
        let last = p.len() - 1;
        let all = packet_rows(&p, last, "", "");
        let pubrel = packet_rows(&p, last, "actuator", "PUBREL");
        assert!(!pubrel.is_empty() && pubrel.len() < all.len());
        assert!(pubrel
            .iter()
            .all(|r| r.kind == "PUBREL" && r.client == "actuator"));
        let lost = all.iter().find(|r| r.lost).unwrap();
        let (_, fields) = packet_fields(&p, lost.id).unwrap();
        assert!(fields.iter().any(|(k, _)| k == "network"));
        let publish = all.iter().find(|r| r.kind == "PUBLISH").unwrap();
        let (_, fields) = packet_fields(&p, publish.id).unwrap();
        for k in ["DUP", "QoS", "RETAIN", "Packet Identifier"] {
            assert!(fields.iter().any(|(f, _)| f == k), "{k}");
        }
    }

    #[test]
    fn clock_times_never_need_to_wrap() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(5_250), "0:05.250");
        assert_eq!(clock(600_000), "10:00");
        assert_eq!(clock(3_723_000), "1:02:03");
        assert_eq!(clock(2 * 86_400_000 + 3_723_000), "2d 01:02:03");
    }

    #[test]
    fn a_taken_over_session_is_shown_once_with_each_device_s_own_connection() {
        let p = play("takeover-311");
        let conns = Connections::new(&p);
        // Step 6: meter-B takes meter-A's session.
        let groups = session_groups(&p, 6, &conns);
        let g = groups.iter().find(|g| g.client_id == "meter-0001").unwrap();
        assert_eq!(
            groups
                .iter()
                .filter(|g| g.client_id == "meter-0001")
                .count(),
            1
        );
        let names: Vec<&str> = g.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["meter-A", "meter-B"]);
        let (a, b) = (&g.devices[0], &g.devices[1]);
        assert!(!a.online && b.online);
        assert!(
            a.connection.starts_with("offline; connection #") && a.connection.contains("took over"),
            "{}",
            a.connection
        );
        assert!(
            b.connection.contains("Session Present = 1"),
            "{}",
            b.connection
        );
        assert!(g.broker.state.starts_with("in use by connection #"));
        // 3.1.1 has no Session Expiry Interval: Clean Session is what keeps it.
        assert!(
            g.broker.expiry.starts_with("Clean Session 0"),
            "{}",
            g.broker.expiry
        );
    }

    #[test]
    fn a_step_lists_its_changes_with_their_rules_and_its_own_packets() {
        let p = play("takeover-311");
        let (changes, total) = step_changes(&p, 6);
        assert_eq!(total, changes.len());
        let took = changes
            .iter()
            .find(|c| c.kind == ChangeKind::Session && c.text.contains("old connection is closed"))
            .expect("the takeover is listed");
        assert_eq!(took.cite, "[MQTT-3.1.4-2] 3.1.1");
        assert!(changes.iter().any(|c| c.kind == ChangeKind::Will));
        // Packets a packet row already shows are not repeated as changes.
        assert!(!changes
            .iter()
            .any(|c| c.text.starts_with("Message m1 goes to")));
        let (rows, n) = step_packets(&p, 6, &PacketFilter::all(), 100);
        assert_eq!(rows.len(), n);
        assert!(rows.iter().all(|r| r.step == 6 && r.current));
        assert!(rows.iter().any(|r| r.summary.starts_with("CONNACK SP=1")));
        assert_eq!(step_packets(&p, 0, &PacketFilter::all(), 100).1, 0);
    }

    #[test]
    fn keep_alive_pings_are_listed_only_when_asked_for() {
        let p = play("sleepy-sensor");
        let last = p.len() - 1;
        let with = packet_rows(&p, last, "", "");
        assert!(with.iter().any(|r| r.ping), "the lesson has pings");
        let (without, _) = packet_rows_last(&p, last, &PacketFilter::default(), usize::MAX);
        assert!(!without.iter().any(|r| r.ping));
        assert_eq!(without.len(), with.iter().filter(|r| !r.ping).count());
        // Asking for PINGREQ by type shows them even with the switch off.
        let only = PacketFilter {
            kind: "PINGREQ".into(),
            ..PacketFilter::default()
        };
        assert!(!packet_rows_last(&p, last, &only, usize::MAX).0.is_empty());
    }

    #[test]
    fn narration_on_each_broker_says_only_what_holds_there() {
        let on = |profile: &str| {
            let p = crate::play(
                &crate::Source::BuiltIn("takeover-311".into()),
                Some(profile),
                None,
            )
            .unwrap();
            narration(&p, 10)
        };
        let spec = on("spec");
        let mosq = on("mosquitto-2.0.11");
        assert!(!spec.say.contains("will goes out") && !mosq.say.contains("switch the broker"));
        let text = |n: &Narration| {
            n.claims
                .iter()
                .map(|c| c.text.clone())
                .collect::<Vec<_>>()
                .join(" | ")
        };
        assert!(text(&spec).contains("will goes out"), "{}", text(&spec));
        assert!(!text(&spec).contains("clears the will"), "{}", text(&spec));
        assert!(text(&mosq).contains("clears the will"), "{}", text(&mosq));
        assert!(!text(&mosq).contains("will goes out"), "{}", text(&mosq));
        assert!(spec.claims.iter().chain(&mosq.claims).all(|c| !c.engine));
        // A claim that does not hold where it is written for gives way to the engine's outcome.
        let file = library::text_by_id("takeover-311")
            .unwrap()
            .replace("\"fate\": \"discarded\"", "\"fate\": \"published\"");
        let p = crate::play(&crate::Source::File(file), Some("mosquitto-2.0.11"), None).unwrap();
        let n = narration(&p, 10);
        assert!(n.claims.iter().any(|c| c.engine), "{:?}", n.claims);
        assert!(!n.claims.iter().any(|c| c.text.contains("clears the will")));
    }

    #[test]
    fn the_version_toggle_lands_on_the_same_moment() {
        let sc = |id: &str| {
            session_engine::Scenario::from_json(library::text_by_id(id).unwrap()).unwrap()
        };
        let (a, b) = (sc("takeover-311"), sc("takeover-v5"));
        let takeover = |s: &session_engine::Scenario| s.moment_step("takeover").unwrap();
        // On the takeover (and on the steps after it, before the next moment).
        assert_eq!(toggle_target(&a, takeover(&a), &b), (takeover(&b), None));
        assert_eq!(toggle_target(&b, takeover(&b), &a), (takeover(&a), None));
        // Before any moment: the same step, never past the other file's first moment.
        let first = b.moments()[0].0;
        assert_eq!(toggle_target(&a, 0, &b), (0, None));
        assert!(toggle_target(&a, 1, &b).0 < first.max(1));
    }

    #[test]
    fn a_whole_second_clock_is_named_where_it_moves_an_instant() {
        let on = |profile: &str| {
            let p = crate::play(
                &crate::Source::BuiltIn("session-expiry-v5".into()),
                Some(profile),
                None,
            )
            .unwrap();
            let conns = Connections::new(&p);
            (1..p.len())
                .flat_map(|s| session_groups(&p, s, &conns))
                .map(|g| g.broker.state)
                .find(|st| st.starts_with("stored, expires at"))
                .unwrap()
        };
        let m = on("mosquitto-2.0.11");
        assert!(m.contains("counts whole seconds"), "{m}");
        let s = on("spec");
        assert!(!s.contains("whole seconds"), "{s}");
    }
}
