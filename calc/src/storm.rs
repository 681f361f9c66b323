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

/// A device's pending attempt. It carries the device's state with it (each device has exactly
/// one), so the simulation reads memory in order instead of jumping into a table of 1,000,000.
#[derive(Clone)]
struct Pending {
    t_ms: u64,
    rng: Rng,
    prev_ms: u64,
    attempt: u32,
    /// Devices in this entry: without jitter every device waits the same, so they move as one
    /// group (exactly what one entry per device would do, without 1,000,000 entries).
    count: u32,
}

/// The simulation's state. The work is split into small functions called many times (one per
/// device, one per millisecond): browsers compile a wasm function with their optimising
/// compiler only for its later calls, so one long-running loop would stay in the baseline code
/// (about ten times slower than native here).
struct Sim<'a> {
    i: &'a StormInput,
    outage_ms: u64,
    /// Base delay of each attempt in ms, computed once (constant after the cap).
    bases: Vec<f64>,
    /// Pending attempts by second; within the second being played, by millisecond (a counting
    /// sort: time order, ties in the order they were scheduled, so the run is deterministic).
    pending: Vec<Vec<Pending>>,
    by_ms: Vec<Vec<Pending>>,
    attempts: Vec<u32>,
    accepted: Vec<u32>,
    connected: u64,
    total: u64,
    refused_busy: u64,
    last_ms: u64,
}

impl Sim<'_> {
    fn delay(&self, attempt: u32, prev: u64, rng: &mut Rng) -> u64 {
        let base = match self.bases.get(attempt as usize - 1) {
            Some(b) => *b,
            None => self.bases.last().copied().unwrap_or(0.0),
        };
        self.i.backoff.jitter_ms(base, attempt, prev, rng)
    }

    /// While the broker is down a device's attempts depend on nobody else: play them here and
    /// return its first attempt after the outage.
    #[inline(never)]
    fn through_the_outage(&mut self, dev: u64, count: u32) -> Pending {
        let mut rng = Rng::new(mix(self.i.seed ^ dev.wrapping_mul(0xA24B_AED4_963E_E407)));
        let (mut attempt, mut prev) = (1u32, self.delay(1, 0, &mut rng));
        let mut t = prev;
        while t < self.outage_ms {
            self.attempts[(t / 1000) as usize] += count;
            self.total += u64::from(count);
            attempt = attempt.saturating_add(1);
            prev = self.delay(attempt, prev, &mut rng);
            t += prev;
        }
        Pending {
            t_ms: t,
            rng,
            prev_ms: prev,
            attempt,
            count,
        }
    }

    /// Plays the attempts of millisecond `ms` of second `s`, first come first served.
    #[inline(never)]
    fn play_ms(&mut self, s: usize, ms: usize) {
        let mut list = std::mem::take(&mut self.by_ms[ms]);
        // Retries drawn with a delay too short to leave this millisecond join its end.
        let mut k = 0;
        while k < list.len() {
            let mut p = list[k].clone();
            k += 1;
            let t = p.t_ms;
            let c = u64::from(p.count);
            self.attempts[s] += p.count;
            self.total += c;
            if t >= self.outage_ms {
                let take = c.min(self.i.capacity.saturating_sub(u64::from(self.accepted[s])));
                if take > 0 {
                    self.accepted[s] += take as u32;
                    self.connected += take;
                    self.last_ms = self.last_ms.max(t);
                }
                if take == c {
                    continue;
                }
                self.refused_busy += c - take;
                p.count = (c - take) as u32;
            }
            p.attempt = p.attempt.saturating_add(1);
            p.prev_ms = self.delay(p.attempt, p.prev_ms, &mut p.rng);
            p.t_ms = t + p.prev_ms;
            let ns = (p.t_ms / 1000) as usize;
            if ns == s {
                let m = (p.t_ms % 1000) as usize;
                if m == ms {
                    list.push(p);
                } else {
                    self.by_ms[m].push(p);
                }
            } else if let Some(b) = self.pending.get_mut(ns) {
                b.push(p);
            }
        }
        list.clear();
        self.by_ms[ms] = list;
    }
}

pub fn simulate(i: &StormInput) -> StormResult {
    let n = i.devices.min(MAX_DEVICES) as usize;
    let outage_ms = (i.outage_s.max(0.0) * 1000.0).round() as u64;
    let horizon_s = (outage_ms + HORIZON_S * 1000).div_ceil(1000) as usize;
    let mut bases: Vec<f64> = Vec::new();
    for a in 1..=1024u32 {
        let b = i.backoff.base_secs(a) * 1000.0;
        bases.push(b);
        if b >= i.backoff.max * 1000.0 || (a > 1 && b == bases[a as usize - 2]) {
            break;
        }
    }
    let first_seconds = (outage_ms / 1000) as usize + 1;
    let mut sim = Sim {
        i,
        outage_ms,
        bases,
        pending: vec![Vec::new(); horizon_s],
        by_ms: vec![Vec::new(); 1000],
        attempts: vec![0; first_seconds],
        accepted: vec![0; first_seconds],
        connected: 0,
        total: 0,
        refused_busy: 0,
        last_ms: 0,
    };
    let lockstep = i.backoff.jitter == Jitter::None;
    let first: Vec<Pending> = if lockstep {
        vec![sim.through_the_outage(0, n as u32)]
    } else {
        (0..n as u64)
            .map(|dev| sim.through_the_outage(dev, 1))
            .collect()
    };
    // Into their seconds' buckets, each allocated once at its final size.
    let mut sizes = vec![0usize; horizon_s];
    for p in &first {
        if let Some(c) = sizes.get_mut((p.t_ms / 1000) as usize) {
            *c += 1;
        }
    }
    for (b, c) in sim.pending.iter_mut().zip(sizes) {
        b.reserve_exact(c);
    }
    for p in first {
        if let Some(b) = sim.pending.get_mut((p.t_ms / 1000) as usize) {
            b.push(p);
        }
    }
    for s in 0..horizon_s {
        if sim.connected == n as u64 {
            break;
        }
        if sim.pending[s].is_empty() {
            continue;
        }
        if sim.attempts.len() <= s {
            sim.attempts.resize(s + 1, 0);
            sim.accepted.resize(s + 1, 0);
        }
        for p in std::mem::take(&mut sim.pending[s]) {
            sim.by_ms[(p.t_ms % 1000) as usize].push(p);
        }
        for ms in 0..1000 {
            if !sim.by_ms[ms].is_empty() {
                sim.play_ms(s, ms);
            }
        }
    }
    let Sim {
        attempts,
        accepted,
        connected,
        total,
        refused_busy,
        last_ms,
        ..
    } = sim;
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
