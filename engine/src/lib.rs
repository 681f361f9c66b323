//! # session-engine
//!
//! An exact, deterministic model of MQTT 3.1.1 and 5.0 sessions, broker side and client side.
//!
//! The contract:
//! - **No IO, no clock, no OS randomness.** Every call that can change state is given the
//!   simulated time ([`SimTime`], milliseconds); randomness comes from a seed stored in the
//!   scenario ([`rng::Rng`]). The same inputs and seed give the same outputs, natively and in
//!   wasm32.
//! - **Sans-IO.** The [`Broker`] and [`SimClient`] take inputs and queue outputs named by intent
//!   (packets to send, [`BrokerEvent`]s, [`ClientEvent`]s); timers are asked for with
//!   `poll_timeout` and run with `handle_timeout(now)`. The [`World`] wires them together over
//!   simulated links, and a [`Player`] runs a [`Scenario`] step by step with a snapshot per step.
//! - **Every rule cites its source**: a statement id of the specification (`[MQTT-3.1.2-4]`), a
//!   section, or the broker source / observation a profile follows (what was checked against a
//!   real mosquitto 2.0.11 is in `docs/CONFORMANCE.md`). Broker profiles ([`BrokerProfile`]) switch between the
//!   specification and what a named broker really does.

#![warn(missing_docs)]

pub mod behaviour;
pub mod broker;
pub mod budget;
pub mod claim;
pub mod client;
pub mod codec;
pub mod event;
pub mod fate;
pub mod library;
pub mod observed;
pub mod packet;
mod packet_ids;
pub mod player;
pub mod profile;
pub mod rng;
pub mod scenario;
pub mod statement;
pub mod topic;
pub mod trace;
pub mod types;
pub mod world;

pub use broker::{Broker, BrokerInput, BrokerOutput, Refusal, Session};
pub use claim::{Claim, ClaimCheck, Closer, StepClaim, WillFate};
pub use client::{ConnectOptions, SimClient};
pub use event::{BrokerEvent, ClientEvent, DropReason, TraceEntry, TraceItem};
pub use fate::{CopyOutcome, Fates, Recipient, Trouble};
pub use packet::Packet;
pub use player::Player;
pub use profile::BrokerProfile;
pub use scenario::{Scenario, ScenarioError};
pub use types::{ClientId, ConnId, MsgId, QoS, SimTime, Version, WireBytes};
pub use world::World;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
