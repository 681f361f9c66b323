//! Numbers as people read them: thousands separators, and byte sizes in both decimal (kB, MB,
//! GB: powers of 1000) and binary (KiB, MiB, GiB: powers of 1024) units, never mixed up.

/// An integer with thousands separators: 2016000000 -> "2,016,000,000" (the engine's, which
/// writes its limits the same way).
pub use session_engine::budget::group;

/// A non-negative number rounded to `digits` significant digits, without exponent for the range
/// a page shows (1e-3 .. 1e15), grouped when it is a whole number of 4+ digits.
pub fn num(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let neg = v < 0.0;
    let a = v.abs();
    let mag = a.log10().floor() as i32;
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    let body = if decimals == 0 {
        group(a.round() as u64)
    } else {
        let s = format!("{a:.decimals$}");
        let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        match s.split_once('.') {
            Some((i, f)) => format!("{}.{f}", group(i.parse().unwrap_or(0))),
            None => group(s.parse().unwrap_or(0)),
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// A probability as a percentage people can read, however small: "1.16 %", "3.0e-34 %".
pub fn percent(p: f64) -> String {
    let v = p * 100.0;
    if !v.is_finite() {
        "–".into()
    } else if v == 0.0 {
        "0 %".into()
    } else if v >= 0.001 {
        format!("{} %", num(v, 3))
    } else {
        format!("{v:.1e} %")
    }
}

/// Bytes in the decimal unit that fits, with the binary unit next to it:
/// 8400 -> "8,400 B", 8_400_000 -> "8.4 MB (8.01 MiB)".
pub fn bytes(b: f64) -> String {
    if !b.is_finite() || b < 0.0 {
        return "–".into();
    }
    if b < 1000.0 {
        return format!("{} B", num(b.round(), 3));
    }
    const DEC: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    const BIN: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut d = b;
    let mut i = 0;
    while d >= 1000.0 && i < DEC.len() {
        d /= 1000.0;
        i += 1;
    }
    let (mut m, mut j) = (b, 0);
    while m >= 1024.0 && j < BIN.len() {
        m /= 1024.0;
        j += 1;
    }
    format!(
        "{} {} ({} {})",
        num(d, 3),
        DEC[i - 1],
        num(m, 3),
        BIN[j.max(1) - 1]
    )
}

/// A duration in seconds as "1 h 30 min", "45 s", "2.5 s", "3 d 4 h".
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    if secs < 60.0 {
        return format!("{} s", num(secs, 3));
    }
    let s = secs.round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{} d", group(d)));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 && d == 0 {
        parts.push(format!("{m} min"));
    }
    if sec > 0 && d == 0 && h == 0 {
        parts.push(format!("{sec} s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(8400), "8,400");
        assert_eq!(group(2_016_000_000), "2,016,000,000");
    }

    #[test]
    fn bytes_say_both_units() {
        assert_eq!(bytes(8400.0), "8.4 kB (8.2 KiB)");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(8_400_000.0), "8.4 MB (8.01 MiB)");
        // The course's worked number: 10,000 devices x 201,600 B.
        assert_eq!(bytes(2_016_000_000.0), "2.02 GB (1.88 GiB)");
    }

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(num(1.5, 3), "1.5");
        assert_eq!(num(77_163.4, 3), "77,163");
        assert_eq!(num(0.012_34, 3), "0.0123");
        assert_eq!(percent(0.0116), "1.16 %");
        assert_eq!(percent(3e-36), "3.0e-34 %");
        assert_eq!(duration(90.0), "1 min 30 s");
        assert_eq!(duration(86_400.0 + 4.0 * 3600.0), "1 d 4 h");
        assert_eq!(duration(2.5), "2.5 s");
    }
}
