//! The page state in the URL, so a link reproduces exactly what its author saw. Pure functions,
//! tested natively.
//!
//! Parameters: `s` (built-in scenario id), `srcz` (a whole scenario file, raw DEFLATE of RFC 1951
//! then base64url; `src`, the file as plain base64url, is still read from older links), `step`,
//! `broker` (profile id), `seed` (overrides the scenario's seed), `embed` (`1`: compact chrome
//! for iframes), `panels` (comma list).
//!
//! A link stays small enough to share: [`MAX_LINK`] bounds what the page offers to copy, and a
//! link's scenario may unpack to at most [`MAX_LINK_SCENARIO`] bytes, so a crafted link cannot
//! exhaust memory.

use session_engine::{library, BrokerProfile};

/// The longest query (in bytes) the page puts in a link it offers to copy or embed, or in the
/// address bar. Servers commonly refuse longer request lines (HTTP 414); 8 KB is the limit that
/// common servers share.
pub const MAX_LINK: usize = 8_000;

/// The most a scenario carried in a link may unpack to (bytes).
pub const MAX_LINK_SCENARIO: usize = 1 << 20;

/// The longest query the page reads at all: about what browsers keep in the address bar.
pub const MAX_QUERY: usize = 2_000_000;

/// Panels a link can show or hide.
pub const PANELS: [&str; 5] = ["lifecycle", "sessions", "packets", "messages", "broker"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UrlState {
    pub scenario: Option<String>,
    /// A scenario file carried in the link (an edited or imported scenario).
    pub src: Option<String>,
    pub step: Option<usize>,
    pub broker: Option<String>,
    /// Overrides the scenario's seed (jitter, assigned client ids).
    pub seed: Option<u64>,
    pub embed: bool,
    /// `None`: all panels.
    pub panels: Option<Vec<String>>,
}

/// Parses a query string (with or without the leading `?`). Returns the state and one message per
/// parameter that was ignored, saying why.
pub fn parse(query: &str) -> (UrlState, Vec<String>) {
    let mut st = UrlState::default();
    let mut warnings = Vec::new();
    if query.len() > MAX_QUERY {
        warnings.push(format!(
            "The link is {} long, more than the {} the page reads; it was ignored.",
            kb(query.len()),
            kb(MAX_QUERY)
        ));
        return (st, warnings);
    }
    let mut seen: Vec<&str> = Vec::new();
    for pair in query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode_component(raw);
        // `src` and `srcz` are two spellings of one parameter.
        let key = if k == "src" { "srcz" } else { k };
        if seen.contains(&key) {
            warnings.push(format!(
                "The link gives \"{k}\" more than once; the first is used and {k}=\"{}\" is ignored.",
                short(&v)
            ));
            continue;
        }
        seen.push(key);
        match k {
            "s" => {
                if library::text_by_id(&v).is_some() {
                    st.scenario = Some(v);
                } else {
                    warnings.push(format!("The link names a scenario \"{}\" that is not in the library; showing the first scenario instead.", short(&v)));
                }
            }
            "src" => match base64url_decode(&v).filter(|b| b.len() <= MAX_LINK_SCENARIO).and_then(|b| String::from_utf8(b).ok()) {
                Some(text) => st.src = Some(text),
                None => warnings.push("The scenario carried in the link (src=...) is not valid base64url text of at most 1 MB; it was ignored.".into()),
            },
            "srcz" => match unpack(&v) {
                Ok(text) => st.src = Some(text),
                Err(why) => warnings.push(format!("The scenario carried in the link (srcz=...) {why}; it was ignored.")),
            },
            "step" => match whole::<usize>(&v) {
                Some(n) => st.step = Some(n),
                None => warnings.push(format!("step=\"{}\" is not a step number; starting at step 0.", short(raw))),
            },
            "broker" => {
                if BrokerProfile::by_id(&v).is_some() {
                    st.broker = Some(v);
                } else {
                    let known: Vec<String> = BrokerProfile::all().into_iter().map(|p| p.id).collect();
                    warnings.push(format!("broker=\"{}\" is not a broker profile (known: {}); using the scenario's own.", short(&v), known.join(", ")));
                }
            }
            "seed" => match whole::<u64>(&v) {
                Some(n) => st.seed = Some(n),
                None => warnings.push(format!("seed=\"{}\" is not a whole number from 0 to {}; using the scenario's own.", short(raw), u64::MAX)),
            },
            "embed" => match v.as_str() {
                "1" | "true" | "" => st.embed = true,
                "0" | "false" => st.embed = false,
                _ => warnings.push(format!("embed=\"{}\" is neither 1 nor 0; showing the whole page.", short(raw))),
            },
            "panels" => {
                let mut ok = Vec::new();
                for p in v.split(',').filter(|p| !p.is_empty()) {
                    if PANELS.contains(&p) {
                        ok.push(p.to_string());
                    } else {
                        warnings.push(format!("panels: \"{}\" is not a panel ({}); ignored.", short(p), PANELS.join(", ")));
                    }
                }
                if ok.is_empty() {
                    warnings.push(format!("panels= names no panel ({}); showing them all.", PANELS.join(", ")));
                } else {
                    st.panels = Some(ok);
                }
            }
            other => warnings.push(format!("Unknown link parameter \"{}\" ignored.", short(other))),
        }
    }
    (st, warnings)
}

/// A whole number written with digits only: no sign, no spaces, no exponent.
fn whole<T: std::str::FromStr>(v: &str) -> Option<T> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A value as quoted in a message: at most 40 characters.
fn short(v: &str) -> String {
    match v.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_string(),
    }
}

/// A size for a sentence: "812 bytes", "8.0 KB", "1.9 MB" (KB = 1,000 bytes; rounded down, in
/// integers: float formatting would add 10 KB to the page).
pub fn kb(n: usize) -> String {
    if n < 1_000 {
        format!("{n} bytes")
    } else if n < 1_000_000 {
        format!("{}.{} KB", n / 1_000, n % 1_000 / 100)
    } else {
        format!("{}.{} MB", n / 1_000_000, n % 1_000_000 / 100_000)
    }
}

/// A scenario file packed for a link as the page packs it: raw DEFLATE, then base64url; `Err`
/// with the file's size when it is bigger than a link may carry at all ([`MAX_LINK_SCENARIO`]).
#[cfg(test)]
pub fn pack(text: &str) -> Result<String, usize> {
    if text.len() > MAX_LINK_SCENARIO {
        return Err(text.len());
    }
    Ok(base64url_encode(&miniz_oxide::deflate::compress_to_vec(
        text.as_bytes(),
        9,
    )))
}

/// The scenario file of a `srcz` value, or what is wrong with it (a phrase).
pub fn unpack(v: &str) -> Result<String, String> {
    let packed = base64url_decode(v).ok_or("is not base64url text")?;
    let bytes = crate::inflate::inflate(&packed, MAX_LINK_SCENARIO).map_err(|e| match e {
        crate::inflate::InflateError::TooBig => {
            format!("would unpack to more than {}", kb(MAX_LINK_SCENARIO))
        }
        crate::inflate::InflateError::Invalid => {
            "is not DEFLATE data (the link may have been cut short)".to_string()
        }
    })?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "is not UTF-8 text (byte {} is not valid)",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The query string for a state (with the leading `?`, or empty), its file packed by [`pack`]
/// (the page packs with the browser's compressor and calls [`format_packed`]). A file too big for
/// any link is left out.
#[cfg(test)]
pub fn format(st: &UrlState) -> String {
    let packed = st.src.as_deref().and_then(|t| pack(t).ok());
    format_packed(
        &UrlState {
            src: None,
            ..st.clone()
        },
        packed.as_deref(),
    )
}

/// The query string for a state (with the leading `?`, or empty), with the scenario file
/// already packed (raw DEFLATE, then base64url), which the page does once per file rather than
/// once per step: `st.src` is not read. A packed value starting with `!` is the file as plain
/// base64url, written as `src`.
pub fn format_packed(st: &UrlState, packed: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(p) = packed {
        // `!` marks a file that could not be compressed, carried as plain base64url.
        match p.strip_prefix('!') {
            Some(plain) => parts.push(format!("src={plain}")),
            None => parts.push(format!("srcz={p}")),
        }
    } else if let Some(s) = &st.scenario {
        parts.push(format!("s={}", encode_component(s)));
    }
    if let Some(n) = st.step {
        parts.push(format!("step={n}"));
    }
    if let Some(b) = &st.broker {
        parts.push(format!("broker={}", encode_component(b)));
    }
    if let Some(n) = st.seed {
        parts.push(format!("seed={n}"));
    }
    if st.embed {
        parts.push("embed=1".into());
    }
    if let Some(p) = &st.panels {
        parts.push(format!("panels={}", p.join(",")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode_component(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5).
pub fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_full_state() {
        let st = UrlState {
            scenario: Some("takeover-v5".into()),
            src: None,
            step: Some(4),
            broker: Some("spec".into()),
            seed: Some(18446744073709551615),
            embed: true,
            panels: Some(vec!["lifecycle".into(), "packets".into()]),
        };
        let q = format(&st);
        assert_eq!(
            q,
            "?s=takeover-v5&step=4&broker=spec&seed=18446744073709551615&embed=1&panels=lifecycle,packets"
        );
        assert_eq!(parse(&q), (st, vec![]));
    }

    #[test]
    fn carries_a_scenario_file() {
        let text = "{\"format\": 1, \"id\": \"é\"}\n";
        let st = UrlState {
            src: Some(text.into()),
            ..Default::default()
        };
        let (back, w) = parse(&format(&st));
        assert!(w.is_empty());
        assert_eq!(back.src.as_deref(), Some(text));
    }

    #[test]
    fn a_packed_scenario_is_smaller_and_old_src_links_still_read() {
        let text = library::text_by_id("takeover-v5").unwrap();
        let packed = pack(text).unwrap();
        assert_eq!(
            pack(&" ".repeat(MAX_LINK_SCENARIO + 1)),
            Err(MAX_LINK_SCENARIO + 1)
        );
        assert!(
            packed.len() * 2 < text.len(),
            "{} of {}",
            packed.len(),
            text.len()
        );
        assert_eq!(unpack(&packed).as_deref(), Ok(text));
        let old = format!("?src={}", base64url_encode(text.as_bytes()));
        assert_eq!(parse(&old).0.src.as_deref(), Some(text));
        // Every built-in scenario fits in a shareable link.
        for (file, text) in library::BUILT_IN {
            let st = UrlState {
                src: Some(text.to_string()),
                ..Default::default()
            };
            assert!(format(&st).len() <= MAX_LINK, "{file}");
        }
    }

    #[test]
    fn a_link_cannot_unpack_to_more_than_the_limit() {
        let bomb = base64url_encode(&miniz_oxide::deflate::compress_to_vec(
            " ".repeat(MAX_LINK_SCENARIO + 1).as_bytes(),
            9,
        ));
        assert!(bomb.len() < 3_000, "{}", bomb.len());
        let (st, w) = parse(&format!("?srcz={bomb}"));
        assert_eq!(st.src, None);
        assert!(w[0].contains("more than 1.0 MB"), "{w:?}");
        let (_, w) = parse(&format!("?srcz={}", &pack("{\"format\": 1}").unwrap()[..6]));
        assert!(w[0].contains("not DEFLATE data"), "{w:?}");
        let (_, w) = parse("?srcz=@@");
        assert!(w[0].contains("not base64url"), "{w:?}");
        let not_utf8 = base64url_encode(&miniz_oxide::deflate::compress_to_vec(b"ab\xff", 9));
        let (_, w) = parse(&format!("?srcz={not_utf8}"));
        assert!(w[0].contains("byte 2"), "{w:?}");
        let (st, w) = parse(&"a".repeat(MAX_QUERY + 1));
        assert_eq!(st, UrlState::default());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn values_the_page_cannot_use_are_named() {
        for q in [
            "?embed=yes",
            "?embed=2",
            "?step=+1",
            "?seed=+1",
            "?panels=",
            "?panels=,,",
            "?step= 1",
            "?s=%",
        ] {
            let (_, w) = parse(q);
            assert_eq!(w.len(), 1, "{q}: {w:?}");
        }
        assert!(!parse("?embed=0").0.embed);
        assert!(parse("?embed").0.embed);
        assert_eq!(parse("?panels=").0.panels, None);
        let (st, w) = parse("?broker=spec&broker=emqx&step=2&step=3");
        assert_eq!(st.broker.as_deref(), Some("spec"));
        assert_eq!(st.step, Some(2));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("more than once") && w[0].contains("emqx"),
            "{w:?}"
        );
        // `src` and `srcz` are one parameter.
        let (_, w) = parse(&format!("?srcz={}&src=e30", pack("{}").unwrap()));
        assert_eq!(w.len(), 1, "{w:?}");
        // Percent signs next to multi-byte characters, and a cut-off escape.
        for q in ["?s=%a\u{e9}", "?s=%\u{e9}", "?s=ab%4", "?s=%%%"] {
            let (_, w) = parse(q);
            assert_eq!(w.len(), 1, "{q}: {w:?}");
        }
        assert_eq!(kb(999), "999 bytes");
        assert_eq!(kb(8_000), "8.0 KB");
        assert_eq!(kb(23_456), "23.4 KB");
        assert_eq!(kb(1_999_999), "1.9 MB");
        let long = "x".repeat(500);
        let (_, w) = parse(&format!("?s={long}"));
        assert!(w[0].len() < 200, "{}", w[0]);
    }

    #[test]
    fn nonsense_parameters_get_messages_not_panics() {
        let (st, w) =
            parse("?s=nope&step=-5&broker=acme&src=%%%&panels=lifecycle,bogus&zzz=1&step");
        assert_eq!(st.scenario, None);
        assert_eq!(st.step, None);
        assert_eq!(st.broker, None);
        assert_eq!(st.panels, Some(vec!["lifecycle".to_string()]));
        assert_eq!(w.len(), 7, "{w:?}");
        let (_, w) = parse("?step=1e30");
        assert_eq!(w.len(), 1);
        for bad in ["-5", "1e30", "18446744073709551616", "NaN", ""] {
            let (st, w) = parse(&format!("?seed={bad}"));
            assert_eq!(st.seed, None);
            assert!(w[0].contains("whole number"), "{w:?}");
        }
    }

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url_encode(plain.as_bytes()), enc);
            assert_eq!(base64url_decode(enc).unwrap(), plain.as_bytes());
        }
        assert_eq!(base64url_decode("a b"), None);
    }
}
