//! Exponential backoff with jitter: the delay before each reconnect attempt and the time until
//! the n-th attempt. The delays come from the engine's `Backoff` (the same code the simulated
//! clients use): base d(n) = min(cap, initial x multiplier^(n-1)), then
//! none: d; full: U(0, d); equal: d/2 + U(0, d/2); decorrelated: min(cap, U(initial, 3 x previous));
//! "add 0-50 %" (the course's code): d + U(0, d/2), which can exceed the cap by half.
//!
//! The course's code increments the attempt counter before computing 2^attempt, so its first
//! wait is 2 x base (2, 4, 8, ... s, not the 1, 2, 4 s its comment says); here attempt 1 waits
//! `initial`.

use session_engine::client::{Backoff, Jitter};
use session_engine::rng::{mix, Rng};

/// Runs drawn for the percentile bands and the decorrelated means.
pub const RUNS: u32 = 2000;

#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub n: u32,
    /// Base delay before this attempt (no jitter), seconds.
    pub base: f64,
    /// The range the jitter can give, and its mean (exact, or over `RUNS` runs for
    /// decorrelated jitter), seconds.
    pub lo: f64,
    pub hi: f64,
    pub mean: f64,
    /// One run drawn with the seed.
    pub sample: f64,
    /// Time from the disconnect to this attempt: mean, 5th and 95th percentile over `RUNS` runs,
    /// and the drawn run.
    pub total_mean: f64,
    pub total_p5: f64,
    pub total_p95: f64,
    pub total_sample: f64,
}

/// The mean of one delay with jitter, when it has a closed form.
pub fn exact_mean(b: &Backoff, n: u32) -> Option<f64> {
    let d = b.base_secs(n);
    match b.jitter {
        Jitter::None => Some(d),
        Jitter::Full => Some(d / 2.0),
        Jitter::Equal => Some(0.75 * d),
        Jitter::AddUpTo50Percent => Some(1.25 * d),
        Jitter::Decorrelated => None,
    }
}

/// The bounds a delay can take.
pub fn bounds(b: &Backoff, n: u32) -> (f64, f64) {
    let d = b.base_secs(n);
    match b.jitter {
        Jitter::None => (d, d),
        Jitter::Full => (0.0, d),
        Jitter::Equal => (d / 2.0, d),
        Jitter::AddUpTo50Percent => (d, 1.5 * d),
        Jitter::Decorrelated => {
            let lo = b.initial.min(b.max);
            let hi = (b.initial * 3f64.powi(n.saturating_sub(1).min(1024) as i32)).min(b.max);
            (lo, if n <= 1 { lo } else { hi.max(lo) })
        }
    }
}

/// Draws the delays (seconds) of one run of `attempts` attempts.
pub fn draw(b: &Backoff, attempts: u32, rng: &mut Rng) -> Vec<f64> {
    let mut prev = 0;
    (1..=attempts)
        .map(|n| {
            prev = b.delay_ms(n, prev, rng);
            prev as f64 / 1000.0
        })
        .collect()
}

pub fn schedule(b: &Backoff, attempts: u32, seed: u64) -> Vec<Attempt> {
    let n = attempts as usize;
    let mut totals: Vec<Vec<f64>> = vec![Vec::with_capacity(RUNS as usize); n];
    let mut sums = vec![0.0; n];
    for run in 0..RUNS {
        let mut rng = Rng::new(mix(seed ^ u64::from(run).wrapping_mul(0x9E37_79B9)));
        let mut t = 0.0;
        for (k, d) in draw(b, attempts, &mut rng).into_iter().enumerate() {
            t += d;
            sums[k] += d;
            totals[k].push(t);
        }
    }
    let sample = draw(b, attempts, &mut Rng::new(seed));
    let mut total_sample = 0.0;
    let mut total_mean = 0.0;
    (0..n)
        .map(|k| {
            let a = k as u32 + 1;
            let (lo, hi) = bounds(b, a);
            let mean = exact_mean(b, a).unwrap_or(sums[k] / f64::from(RUNS));
            total_mean += mean;
            total_sample += sample[k];
            let t = &mut totals[k];
            t.sort_by(f64::total_cmp);
            let pct = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize];
            Attempt {
                n: a,
                base: b.base_secs(a),
                lo,
                hi,
                mean,
                sample: sample[k],
                total_mean,
                total_p5: pct(0.05),
                total_p95: pct(0.95),
                total_sample,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course(jitter: Jitter) -> Backoff {
        Backoff {
            initial: 1.0,
            multiplier: 2.0,
            max: 120.0,
            jitter,
        }
    }

    #[test]
    fn base_delays_double_up_to_the_cap() {
        let b = course(Jitter::None);
        let s = schedule(&b, 9, 1);
        let bases: Vec<f64> = s.iter().map(|a| a.base).collect();
        assert_eq!(bases, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 120.0, 120.0]);
        // No jitter: every run is the same, time to attempt 6 = 1+2+4+8+16+32 = 63 s.
        assert_eq!(s[5].total_mean, 63.0);
        assert_eq!((s[5].total_p5, s[5].total_p95), (63.0, 63.0));
    }

    #[test]
    fn jitter_ranges_and_means_by_hand() {
        let f = schedule(&course(Jitter::Full), 4, 7);
        assert_eq!((f[3].lo, f[3].hi, f[3].mean), (0.0, 8.0, 4.0));
        let e = schedule(&course(Jitter::Equal), 4, 7);
        assert_eq!((e[3].lo, e[3].hi, e[3].mean), (4.0, 8.0, 6.0));
        let a = schedule(&course(Jitter::AddUpTo50Percent), 8, 7);
        // At the cap the course's "2 minute cap" waits up to 180 s.
        assert_eq!((a[7].lo, a[7].hi, a[7].mean), (120.0, 180.0, 150.0));
        // Drawn runs stay inside the bounds, and the band brackets the mean.
        for s in [f, e, a] {
            for x in &s {
                assert!(x.lo <= x.sample && x.sample <= x.hi, "{x:?}");
                assert!(
                    x.total_p5 <= x.total_mean + 1e-9 && x.total_mean <= x.total_p95 + 1e-9,
                    "{x:?}"
                );
            }
        }
    }

    #[test]
    fn decorrelated_grows_from_the_previous_delay() {
        let d = schedule(&course(Jitter::Decorrelated), 10, 3);
        assert_eq!((d[0].lo, d[0].hi, d[0].sample), (1.0, 1.0, 1.0));
        assert_eq!((d[1].lo, d[1].hi), (1.0, 3.0));
        assert_eq!(d[9].hi, 120.0);
        for x in &d {
            assert!(x.lo <= x.sample && x.sample <= x.hi, "{x:?}");
            assert!(x.lo <= x.mean && x.mean <= x.hi, "{x:?}");
        }
        // Second delay: U(1, 3), mean 2 (over 2000 runs within 0.1).
        assert!((d[1].mean - 2.0).abs() < 0.1, "{}", d[1].mean);
    }

    #[test]
    fn same_seed_same_schedule() {
        let b = course(Jitter::Full);
        assert_eq!(schedule(&b, 6, 42), schedule(&b, 6, 42));
        assert_ne!(schedule(&b, 6, 42)[3].sample, schedule(&b, 6, 43)[3].sample);
    }
}
