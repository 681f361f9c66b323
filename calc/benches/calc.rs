//! Calculator benchmarks (a measurement, not a test): `cargo bench -p mqtt-calc`.
//! The reconnect storm must stay interactive at 1,000,000 devices.

use calc::storm::{simulate, StormInput};
use session_engine::client::{Backoff, Jitter};
use std::time::Instant;

fn main() {
    for jitter in [Jitter::None, Jitter::Full, Jitter::Decorrelated] {
        let input = StormInput {
            devices: 1_000_000,
            capacity: 10_000,
            outage_s: 60.0,
            backoff: Backoff {
                initial: 1.0,
                multiplier: 2.0,
                max: 120.0,
                jitter,
            },
            seed: 1,
            queued_per_device: 50,
            bytes_per_message: 140,
        };
        let mut best = f64::MAX;
        let mut r = None;
        for _ in 0..3 {
            let t = Instant::now();
            r = Some(simulate(&input));
            best = best.min(t.elapsed().as_secs_f64());
        }
        let r = r.expect("ran");
        println!(
            "storm 1,000,000 devices, {:?} jitter: {:.3} s (best of 3), {} attempts, all in after {:?} s",
            jitter, best, r.total_attempts, r.all_connected_s
        );
    }
}
