//! The MQTT Session Lab calculators: "how big, how likely, how long". Every calculator is a pure
//! function of validated inputs (tested natively against hand-computed values), and every chart
//! is a drawing function generic over the plotters backend (the page draws on a canvas, the
//! tests on SVG). Simulations take a seed and use the engine's SplitMix64, so the same inputs
//! give the same numbers natively and in wasm.
//!
//! Where a number depends on a broker, it comes from the engine's broker profiles
//! (`session_engine::BrokerProfile`), which cite their sources.

pub mod advisor;
pub mod backoff;
pub mod buffer;
pub mod chart;
pub mod collision;
pub mod input;
pub mod loss;
pub mod qos;
pub mod queue;
pub mod storm;
pub mod tool;
pub mod units;
