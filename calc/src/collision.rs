//! Client-id collision risk: n devices each draw a random id from m possible ids. The chance
//! that at least two draw the same one is the birthday problem:
//! p = 1 - prod_{k=0}^{n-1} (1 - k/m), approximated by 1 - e^(-n^2 / 2m).
//!
//! The product underflows or loses every digit when computed as written (for m = 2^128 each
//! factor rounds to 1), so it is computed as a sum of logarithms: ln(1 - p) = sum ln(1 - k/m),
//! with `ln_1p` term by term for n up to a million, and for larger n by the power series
//! -sum_j S_j(n-1) / (j m^j), S_j(N) = sum_{k=1}^{N} k^j, when n/m is small, or by Stirling's
//! series for ln Gamma otherwise. p = -expm1(ln(1 - p)) keeps the digits of tiny risks.
//!
//! Two devices with the same id take over each other's session ([MQTT-3.1.4-2] 3.1.1 / [MQTT-3.1.4-3] 5.0).

/// How the id space is given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Space {
    /// `length` characters from an alphabet of `alphabet` symbols.
    Chars { alphabet: u32, length: u32 },
    /// Random bits.
    Bits(u32),
}

impl Space {
    /// log2 of the number of ids.
    pub fn bits(self) -> f64 {
        match self {
            Space::Chars { alphabet, length } => f64::from(length) * f64::from(alphabet).log2(),
            Space::Bits(b) => f64::from(b),
        }
    }
    /// The number of ids (may be huge; up to 2^1000 fits an f64).
    pub fn size(self) -> f64 {
        self.bits().exp2()
    }
}

/// Largest id space in bits the calculator accepts (f64 holds up to 2^1023).
pub const MAX_BITS: f64 = 1000.0;

/// ln(1 - p): the log of the chance that `n` draws from `m` are all different.
pub fn ln_no_collision(n: f64, m: f64) -> f64 {
    if n <= 1.0 {
        return 0.0;
    }
    if n > m {
        return f64::NEG_INFINITY;
    }
    if n <= 1e6 {
        let mut s = 0.0;
        let mut k = 1.0;
        while k < n {
            s += (-k / m).ln_1p();
            k += 1.0;
        }
        return s;
    }
    let x = (n - 1.0) / m;
    if x < 1e-3 {
        // -sum_j S_j(N)/(j m^j) with Faulhaber sums for N = n - 1, j = 1..4.
        let nn = n - 1.0;
        let s1 = nn * (nn + 1.0) / 2.0;
        let s2 = nn * (nn + 1.0) * (2.0 * nn + 1.0) / 6.0;
        let s3 = s1 * s1;
        let s4 = nn * (nn + 1.0) * (2.0 * nn + 1.0) * (3.0 * nn * nn + 3.0 * nn - 1.0) / 30.0;
        return -(s1 / m + s2 / (2.0 * m * m) + s3 / (3.0 * m.powi(3)) + s4 / (4.0 * m.powi(4)));
    }
    // ln(m! / ((m-n)! m^n)) with Stirling's series; m and m - n are large here.
    ln_gamma(m + 1.0) - ln_gamma(m - n + 1.0) - n * m.ln()
}

/// ln Gamma(x) for x >= 1 by Stirling's series (after shifting x up to at least 10).
fn ln_gamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    shift + (x - 0.5) * x.ln() - x
        + 0.5 * (2.0 * std::f64::consts::PI).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
}

/// The exact risk of at least one collision.
pub fn exact(n: f64, m: f64) -> f64 {
    -ln_no_collision(n, m).exp_m1()
}

/// The usual approximation 1 - e^(-n^2 / 2m).
pub fn approx(n: f64, m: f64) -> f64 {
    -(-(n * n) / (2.0 * m)).exp_m1()
}

/// The smallest fleet whose exact risk reaches `p` (by bisection on whole devices).
pub fn fleet_for(p: f64, m: f64) -> f64 {
    let (mut lo, mut hi) = (
        1.0f64,
        (2.0 * m * (-(-p).ln_1p())).sqrt().max(2.0) * 2.0 + 2.0,
    );
    if hi > m + 1.0 {
        hi = m + 1.0;
    }
    while hi - lo > 1.0 {
        let mid = ((lo + hi) / 2.0).floor();
        if exact(mid, m) >= p {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn birthday_paradox_by_hand() {
        // 23 people, 365 days: 50.73 %.
        assert!(
            close(exact(23.0, 365.0), 0.507_297_2, 1e-6),
            "{}",
            exact(23.0, 365.0)
        );
        assert_eq!(exact(366.0, 365.0), 1.0);
        assert_eq!(exact(1.0, 365.0), 0.0);
        assert_eq!(fleet_for(0.5, 365.0), 23.0);
    }

    #[test]
    fn eight_hex_characters() {
        let m = Space::Chars {
            alphabet: 16,
            length: 8,
        }
        .size();
        assert_eq!(m, 4_294_967_296.0);
        // 10,000 devices: 1.157289 % exact, 1.157403 % by the approximation (both "1.16 %");
        // 1 % at 9,292 devices, 50 % at 77,164 (hand-checked with a direct sum in Python).
        assert!(
            close(exact(10_000.0, m), 0.011_572_889_986, 1e-9),
            "{}",
            exact(10_000.0, m)
        );
        assert!(close(approx(10_000.0, m), 0.011_574_031_737, 1e-9));
        assert_eq!(fleet_for(0.01, m), 9_292.0);
        assert_eq!(fleet_for(0.5, m), 77_164.0);
        // The exact sum and the series agree where both apply.
        let direct = exact(999_999.0, m);
        let series = exact(1_000_001.0, m);
        assert!(close(direct, series, 1e-3), "{direct} {series}");
    }

    #[test]
    fn huge_spaces_keep_their_digits() {
        // 23 random alphanumeric characters (62^23, about 2^136.9) and 10,000 devices: about
        // n^2 / 2m = 5e7 / 1.7e41 = 2.9e-34; the naive product would give exactly 0.
        let m = Space::Chars {
            alphabet: 62,
            length: 23,
        }
        .size();
        let p = exact(10_000.0, m);
        assert!(close(p, 49_995_000.0 / m, 1e-9), "{p}");
        assert!(p > 0.0 && p < 1e-33);
        // 128 bits (UUID-like) and a billion devices.
        let m = Space::Bits(128).size();
        assert!(close(exact(1e9, m), approx(1e9, m), 1e-6));
    }

    #[test]
    fn stirling_matches_the_sum_in_the_middle() {
        // n/m = 0.5: compare Stirling against the direct sum at n = 1e6 - 1 (direct) and n = 1e6 + 1
        // (Stirling) for m = 2e6.
        let a = ln_no_collision(999_999.0, 2e6);
        let b = ln_no_collision(1_000_001.0, 2e6);
        assert!(close(a, b, 1e-5), "{a} {b}");
        assert!((ln_gamma(11.0) - 3_628_800f64.ln()).abs() < 1e-12);
    }
}
