//! The page state in the URL, so a link reproduces exactly what its author saw. Pure functions,
//! tested natively.
//!
//! Parameters: `s` (built-in scenario id), `src` (a whole scenario file, base64url), `step`,
//! `broker` (profile id), `seed` (overrides the scenario's seed), `embed` (`1`: compact chrome
//! for iframes), `panels` (comma list).

use session_engine::{library, BrokerProfile};

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
    for pair in query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode_component(v);
        match k {
            "s" => {
                if library::text_by_id(&v).is_some() {
                    st.scenario = Some(v);
                } else {
                    warnings.push(format!("The link names a scenario \"{v}\" that is not in the library; showing the first scenario instead."));
                }
            }
            "src" => match base64url_decode(&v).and_then(|b| String::from_utf8(b).ok()) {
                Some(text) => st.src = Some(text),
                None => warnings.push("The scenario carried in the link (src=...) is not valid base64url text; it was ignored.".into()),
            },
            "step" => match v.parse::<usize>() {
                Ok(n) => st.step = Some(n),
                Err(_) => warnings.push(format!("step=\"{v}\" is not a step number; starting at step 0.")),
            },
            "broker" => {
                if BrokerProfile::by_id(&v).is_some() {
                    st.broker = Some(v);
                } else {
                    let known: Vec<String> = BrokerProfile::all().into_iter().map(|p| p.id).collect();
                    warnings.push(format!("broker=\"{v}\" is not a broker profile (known: {}); using the scenario's own.", known.join(", ")));
                }
            }
            "seed" => match v.parse::<u64>() {
                Ok(n) => st.seed = Some(n),
                Err(_) => warnings.push(format!("seed=\"{v}\" is not a whole number from 0 to {}; using the scenario's own.", u64::MAX)),
            },
            "embed" => st.embed = matches!(v.as_str(), "1" | "true" | ""),
            "panels" => {
                let mut ok = Vec::new();
                for p in v.split(',').filter(|p| !p.is_empty()) {
                    if PANELS.contains(&p) {
                        ok.push(p.to_string());
                    } else {
                        warnings.push(format!("panels: \"{p}\" is not a panel ({}); ignored.", PANELS.join(", ")));
                    }
                }
                st.panels = Some(ok);
            }
            other => warnings.push(format!("Unknown link parameter \"{other}\" ignored.")),
        }
    }
    (st, warnings)
}

/// The query string for a state (with the leading `?`, or empty).
pub fn format(st: &UrlState) -> String {
    let mut parts = Vec::new();
    if let Some(src) = &st.src {
        parts.push(format!("src={}", base64url_encode(src.as_bytes())));
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
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
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
