//! Reconnection storm: a broker goes away for `outage` seconds and every device reconnects with
//! the same backoff. Each device draws its delays from its own seeded stream (the engine's
//! `Backoff` and SplitMix64), attempts during the outage fail at once, and afterwards the broker
//! accepts at most `capacity` connections per second (first come, first served); a refused device
//! backs off again (like the CONNACK 0x03 Server unavailable of the `reconnect-storm` scenario).
//!
//! Deterministic: the same inputs and seed give the same histogram natively and in wasm.
//! Cost: one sort per simulated second over the attempts in it, so about
//! (attempts) x log(attempts per second); 1,000,000 devices are benchmarked in
//! `calc/benches/calc.rs`.

use session_engine::client::{Backoff, Jitter};
use session_engine::rng::{mix, Rng};

pub const MAX_DEVICES: u64 = 1_000_000;
/// Simulated time after the outage before giving up on the devices still out.
pub const HORIZON_S: u64 = 86_400;
const DEV_BITS: u32 = 20;

#[derive(Clone, Debug, PartialEq)]
pub struct StormInput {
    pub devices: u64,
    /// Connections the broker accepts per second.
    pub capacity: u64,
    pub outage_s: f64,
    pub backoff: Backoff,
    pub seed: u64,
    /// Messages queued per device during the outage, and their size, for the reconnect burst.
    pub queued_per_device: u64,
    pub bytes_per_message: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StormResult {
    /// Connection attempts in each second from the outage's start.
    pub attempts: Vec<u32>,
    /// Accepted connections in each second.
    pub accepted: Vec<u32>,
    /// The most attempts in one second once the broker is back (attempts during the outage hit
    /// no broker), and that second.
    pub peak: u32,
    pub peak_second: u32,
    /// When the last device got in (seconds from the outage's start), if all did.
    pub all_connected_s: Option<f64>,
    pub connected: u64,
    pub total_attempts: u64,
    /// Attempts refused after the outage because the broker was at capacity.
    pub refused_busy: u64,
    /// Messages and bytes the broker delivers to the reconnected devices, in all, and in the
    /// busiest second of accepted connections.
    pub burst_messages: f64,
    pub burst_bytes: f64,
    pub peak_second_bytes: f64,
}

pub fn simulate(i: &StormInput) -> StormResult {
    let n = i.devices.min(MAX_DEVICES) as usize;
    let outage_ms = (i.outage_s.max(0.0) * 1000.0).round() as u64;
    let horizon_ms = outage_ms + HORIZON_S * 1000;
    // A device's pending attempt carries the device's state with it (each device has exactly
    // one), so the loop reads memory in order instead of jumping into a table of 1,000,000.
    // `key` = (time ms << 20) | device: sorting by it is time order, ties by device.
    #[derive(Clone)]
    struct Pending {
        key: u64,
        rng: Rng,
        prev_ms: u64,
        attempt: u32,
        /// Devices in this entry: without jitter every device waits the same, so they move as
        /// one group (exactly what one entry per device would do, without 1,000,000 entries).
        count: u32,
    }
    let horizon_s = horizon_ms.div_ceil(1000) as usize;
    let mut pending: Vec<Vec<Pending>> = vec![Vec::new(); horizon_s];
    let lockstep = i.backoff.jitter == Jitter::None;
    let entries = if lockstep { n.min(1) as u64 } else { n as u64 };
    for dev in 0..entries {
        let mut rng = Rng::new(mix(i.seed ^ dev.wrapping_mul(0xA24B_AED4_963E_E407)));
        let d = i.backoff.delay_ms(1, 0, &mut rng);
        if let Some(b) = pending.get_mut((d / 1000) as usize) {
            b.push(Pending {
                key: (d << DEV_BITS) | dev,
                rng,
                prev_ms: d,
                attempt: 1,
                count: if lockstep { n as u32 } else { 1 },
            });
        }
    }
    let mut attempts: Vec<u32> = Vec::new();
    let mut accepted: Vec<u32> = Vec::new();
    let (mut connected, mut total, mut refused_busy) = (0u64, 0u64, 0u64);
    let mut last_ms = 0u64;
    let mask = (1u64 << DEV_BITS) - 1;
    let mut waiting = n as u64;
    for s in 0..horizon_s {
        if waiting == 0 {
            break;
        }
        let mut batch = std::mem::take(&mut pending[s]);
        if batch.is_empty() {
            continue;
        }
        if attempts.len() <= s {
            attempts.resize(s + 1, 0);
            accepted.resize(s + 1, 0);
        }
        // Attempts drawn with a delay too short to leave this second are handled in the
        // same second, in time order.
        while !batch.is_empty() {
            batch.sort_unstable_by_key(|p| p.key);
            let mut again = Vec::new();
            for mut p in batch {
                let t = p.key >> DEV_BITS;
                let c = u64::from(p.count);
                attempts[s] += p.count;
                total += c;
                if t >= outage_ms {
                    let take = c.min(i.capacity.saturating_sub(u64::from(accepted[s])));
                    if take > 0 {
                        accepted[s] += take as u32;
                        connected += take;
                        waiting -= take;
                        last_ms = last_ms.max(t);
                    }
                    if take == c {
                        continue;
                    }
                    refused_busy += c - take;
                    p.count = (c - take) as u32;
                }
                p.attempt = p.attempt.saturating_add(1);
                p.prev_ms = i.backoff.delay_ms(p.attempt, p.prev_ms, &mut p.rng);
                let next = t + p.prev_ms;
                p.key = (next << DEV_BITS) | (p.key & mask);
                let ns = (next / 1000) as usize;
                if ns == s {
                    again.push(p);
                } else if let Some(b) = pending.get_mut(ns) {
                    b.push(p);
                }
            }
            batch = again;
        }
    }
    let back = (outage_ms / 1000) as usize;
    let (peak_second, peak) = attempts
        .iter()
        .enumerate()
        .skip(back)
        .max_by_key(|(k, a)| (**a, std::cmp::Reverse(*k)))
        .map(|(k, a)| (k as u32, *a))
        .unwrap_or((0, 0));
    let busiest = accepted.iter().copied().max().unwrap_or(0);
    let per_device = i.queued_per_device as f64 * i.bytes_per_message as f64;
    StormResult {
        all_connected_s: (connected == n as u64).then_some(last_ms as f64 / 1000.0),
        attempts,
        accepted,
        peak,
        peak_second,
        connected,
        total_attempts: total,
        refused_busy,
        burst_messages: connected as f64 * i.queued_per_device as f64,
        burst_bytes: connected as f64 * per_device,
        peak_second_bytes: f64::from(busiest) * per_device,
    }
}

/// The highest second in each group of `width` seconds.
pub fn downsample_width(per_second: &[u32], width: usize) -> (Vec<u32>, usize) {
    let w = width.max(1);
    (
        per_second
            .chunks(w)
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect(),
        w,
    )
}

/// At most `bars` values for a chart: the highest second in each group of seconds, and the
/// group width in seconds.
pub fn downsample(per_second: &[u32], bars: usize) -> (Vec<u32>, usize) {
    downsample_width(per_second, per_second.len().div_ceil(bars.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(devices: u64, capacity: u64, jitter: Jitter) -> StormInput {
        StormInput {
            devices,
            capacity,
            outage_s: 10.0,
            backoff: Backoff {
                initial: 1.0,
                multiplier: 2.0,
                max: 60.0,
                jitter,
            },
            seed: 1,
            queued_per_device: 50,
            bytes_per_message: 140,
        }
    }

    #[test]
    fn without_jitter_everyone_retries_in_the_same_second() {
        // Attempts at 1, 3, 7, 15 s (delays 1, 2, 4, 8): all 1,000 fail during the 10 s outage,
        // then 100 get in at 15 s and the rest come back at 31 s (delay 16), and so on.
        let r = simulate(&input(1000, 100, Jitter::None));
        assert_eq!(r.attempts[1], 1000);
        assert_eq!(r.attempts[3], 1000);
        assert_eq!(r.attempts[7], 1000);
        assert_eq!(r.attempts[15], 1000);
        assert_eq!(r.accepted[15], 100);
        assert_eq!(r.attempts[31], 900);
        assert_eq!(r.peak, 1000);
        assert_eq!(r.peak_second, 15);
        // 100 per retry round; rounds at 15, 31, 63, 123 (cap 60), 183, ... : the tenth round.
        assert_eq!(r.connected, 1000);
        let rounds: Vec<usize> = r
            .accepted
            .iter()
            .enumerate()
            .filter(|(_, a)| **a > 0)
            .map(|(s, _)| s)
            .collect();
        assert_eq!(rounds, [15, 31, 63, 123, 183, 243, 303, 363, 423, 483]);
        assert_eq!(r.all_connected_s, Some(483.0));
        assert_eq!(r.burst_messages, 50_000.0); // 1,000 devices x 50 queued (the course's example)
        assert_eq!(r.burst_bytes, 7_000_000.0);
        assert_eq!(r.peak_second_bytes, 100.0 * 50.0 * 140.0);
    }

    #[test]
    fn full_jitter_spreads_the_load_and_finishes_sooner() {
        let fixed = simulate(&input(1000, 100, Jitter::None));
        let full = simulate(&input(1000, 100, Jitter::Full));
        assert_eq!(full.connected, 1000);
        assert!(
            full.peak < fixed.peak / 2,
            "{} vs {}",
            full.peak,
            fixed.peak
        );
        assert!(full.all_connected_s.unwrap() < fixed.all_connected_s.unwrap());
        // Capacity is never exceeded, and every attempt is counted once.
        assert!(full.accepted.iter().all(|a| *a <= 100));
        assert_eq!(
            full.attempts.iter().map(|a| u64::from(*a)).sum::<u64>(),
            full.total_attempts
        );
        assert_eq!(
            full.accepted.iter().map(|a| u64::from(*a)).sum::<u64>(),
            1000
        );
    }

    #[test]
    fn deterministic_per_seed() {
        let a = simulate(&input(500, 50, Jitter::Equal));
        assert_eq!(a, simulate(&input(500, 50, Jitter::Equal)));
        let mut other = input(500, 50, Jitter::Equal);
        other.seed = 2;
        assert_ne!(a.attempts, simulate(&other).attempts);
    }

    #[test]
    fn downsampling_keeps_the_peaks() {
        let (v, w) = downsample(&[1, 9, 2, 3, 8, 1, 1], 3);
        assert_eq!((v, w), (vec![9, 8, 1], 3));
    }
}
