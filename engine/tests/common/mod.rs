//! Shared harness for the scenario tests: a world with named clients, driven step by step,
//! and readers over the output log.
#![allow(dead_code)]

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use session_engine::client::ConnectOptions;
use session_engine::event::{BrokerEvent, ClientEvent, DropReason, TraceItem};
use session_engine::packet::{SubOptions, Will};
use session_engine::profile::BrokerProfile;
use session_engine::{QoS, SimTime, Version, World};

#[allow(unused_imports)]
pub use session_engine::types::NEVER_EXPIRE;
pub const V5: Version = Version::V5;
pub const V3: Version = Version::V311;

pub struct Sim {
    pub w: World,
    mark: usize,
}

pub fn qos(n: u8) -> QoS {
    QoS::from_u8(n).unwrap()
}

pub fn opts(version: Version) -> ConnectOptions {
    ConnectOptions {
        version,
        clean_start: true,
        keep_alive: 0,
        session_expiry: None,
        receive_maximum: None,
        will: None,
    }
}

pub fn will(topic: &str, delay: u32) -> Will {
    Will {
        topic: topic.into(),
        payload: "gone".into(),
        qos: QoS::AtMostOnce,
        retain: false,
        delay,
        message_expiry: None,
    }
}

impl Sim {
    pub fn new(profile: BrokerProfile) -> Sim {
        Sim {
            w: World::new(profile, 1),
            mark: 0,
        }
    }
    pub fn spec() -> Sim {
        Sim::new(BrokerProfile::spec())
    }
    pub fn mosquitto() -> Sim {
        Sim::new(BrokerProfile::mosquitto_2_0_11())
    }

    pub fn client(&mut self, name: &str, version: Version) -> usize {
        self.w.new_client(name, name, version)
    }
    pub fn client_with_id(&mut self, name: &str, id: &str, version: Version) -> usize {
        self.w.new_client(name, id, version)
    }

    /// Connects with clean start 1, no expiry, keep alive off; `f` changes the options.
    pub fn connect(&mut self, c: usize, f: impl FnOnce(&mut ConnectOptions)) {
        let mut o = opts(self.w.clients[c].version);
        f(&mut o);
        self.mark = self.w.trace.len();
        self.w.connect(c, o);
    }
    /// Persistent session: clean start 0 and (5.0) the given expiry.
    pub fn connect_persistent(&mut self, c: usize, expiry: u32) {
        let v5 = self.w.clients[c].version.is_v5();
        self.connect(c, |o| {
            o.clean_start = false;
            if v5 {
                o.session_expiry = Some(expiry);
            }
        });
    }
    pub fn sub(&mut self, c: usize, filter: &str, q: u8) {
        self.mark = self.w.trace.len();
        self.w
            .subscribe(c, vec![(filter.into(), SubOptions::qos(qos(q)))], None);
    }
    pub fn sub_opts(&mut self, c: usize, filter: &str, o: SubOptions, id: Option<u32>) {
        self.mark = self.w.trace.len();
        self.w.subscribe(c, vec![(filter.into(), o)], id);
    }
    pub fn publish(&mut self, c: usize, topic: &str, payload: &str, q: u8) {
        self.mark = self.w.trace.len();
        self.w
            .publish(c, topic.into(), payload.into(), qos(q), false, None);
    }
    pub fn publish_full(
        &mut self,
        c: usize,
        topic: &str,
        payload: &str,
        q: u8,
        retain: bool,
        mei: Option<u32>,
    ) {
        self.mark = self.w.trace.len();
        self.w
            .publish(c, topic.into(), payload.into(), qos(q), retain, mei);
    }
    pub fn disconnect(&mut self, c: usize) {
        self.mark = self.w.trace.len();
        self.w.disconnect(c, 0, None);
    }
    pub fn disconnect_with(&mut self, c: usize, reason: u8, expiry: Option<u32>) {
        self.mark = self.w.trace.len();
        self.w.disconnect(c, reason, expiry);
    }
    pub fn drop_link(&mut self, c: usize) {
        self.mark = self.w.trace.len();
        self.w.drop_connection(c);
    }
    pub fn wait_ms(&mut self, ms: u64) {
        self.mark = self.w.trace.len();
        let t = self.w.now.plus_millis(ms);
        self.w.advance_to(t);
    }
    pub fn wait(&mut self, secs: u64) {
        self.wait_ms(secs * 1000);
    }
    pub fn now(&self) -> SimTime {
        self.w.now
    }

    /// Entries since the last action.
    /// Starts "since the last action" here (for world calls made directly).
    pub fn mark_now(&mut self) {
        self.mark = self.w.trace.len();
    }
    pub fn last(&self) -> &[session_engine::TraceEntry] {
        &self.w.trace[self.mark..]
    }

    /// Session Present of the latest CONNACK the client received (panics if none).
    pub fn session_present(&self, c: usize) -> bool {
        self.connacks(c).last().expect("a CONNACK").0
    }
    /// (Session Present, code) of every CONNACK the client received.
    pub fn connacks(&self, c: usize) -> Vec<(bool, u8)> {
        let name = &self.w.clients[c].name;
        self.w
            .trace
            .iter()
            .filter_map(|e| match &e.item {
                TraceItem::Client {
                    client,
                    event:
                        ClientEvent::Connected {
                            session_present,
                            code,
                            ..
                        },
                } if client == name => Some((*session_present, *code)),
                _ => None,
            })
            .collect()
    }
    /// Payloads the client received, with QoS and DUP, since the last action.
    pub fn got_since(&self, c: usize) -> Vec<(String, u8, bool)> {
        Self::deliveries(&self.w.trace[self.mark..], &self.w.clients[c].name)
    }
    pub fn got_all(&self, c: usize) -> Vec<(String, u8, bool)> {
        Self::deliveries(&self.w.trace, &self.w.clients[c].name)
    }
    fn deliveries(trace: &[session_engine::TraceEntry], name: &str) -> Vec<(String, u8, bool)> {
        trace
            .iter()
            .filter_map(|e| match &e.item {
                TraceItem::Client {
                    client,
                    event:
                        ClientEvent::Delivered {
                            payload, qos, dup, ..
                        },
                } if client == name => Some((payload.to_string(), qos.as_u8(), *dup)),
                _ => None,
            })
            .collect()
    }
    pub fn payloads(&self, c: usize) -> Vec<String> {
        self.got_all(c).into_iter().map(|(p, _, _)| p).collect()
    }
    pub fn broker_events(&self) -> Vec<&BrokerEvent> {
        self.w.broker_events_since(0).collect()
    }
    pub fn wills_published(&self) -> usize {
        self.broker_events()
            .iter()
            .filter(|e| matches!(e, BrokerEvent::WillPublished { .. }))
            .count()
    }
    pub fn drops(&self) -> Vec<DropReason> {
        self.broker_events()
            .iter()
            .filter_map(|e| match e {
                BrokerEvent::MessageDropped { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }
    pub fn deviations(&self) -> usize {
        self.broker_events()
            .iter()
            .filter(|e| matches!(e, BrokerEvent::Deviation { .. }))
            .count()
    }
    /// Packets (summary lines) sent by the broker to the client since the last action.
    pub fn packets_to(&self, c: usize) -> Vec<String> {
        let name = &self.w.clients[c].name;
        self.last()
            .iter()
            .filter_map(|e| match &e.item {
                TraceItem::Packet {
                    to: session_engine::event::Endpoint::Client(n),
                    packet,
                    lost: false,
                    ..
                } if n == name => Some(packet.to_string()),
                _ => None,
            })
            .collect()
    }
    pub fn has_session(&self, id: &str) -> bool {
        self.w
            .broker
            .sessions()
            .contains_key(&session_engine::ClientId::new(id))
    }
}

impl Sim {
    pub fn mark_unsub(&mut self, c: usize, filter: &str) {
        self.mark = self.w.trace.len();
        self.w.unsubscribe(c, vec![filter.into()]);
    }

    /// Sends the acknowledgements a client withheld for its in-flight incoming QoS 1 messages
    /// (by resending them as the client would after turning acking back on).
    pub fn ack_all(&mut self, c: usize) {
        self.mark = self.w.trace.len();
        self.w.ack_withheld(c);
    }
}
