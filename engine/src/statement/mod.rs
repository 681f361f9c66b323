//! The normative statements of MQTT 3.1.1 and 5.0 that the engine, the page and the codec cite,
//! each with a one-line summary in our own words.
//!
//! The two specifications number their statements independently: `[MQTT-3.1.2-8]` is "publish
//! the Will Message when the connection closes without DISCONNECT" in 3.1.1 and "publish it after
//! the connection closes and the Will Delay Interval has passed or the session ended" in 5.0, and
//! many ids exist in only one of them. So every entry belongs to one version, and a citation is
//! resolved in the version it names (`[MQTT-3.1.2-8] 5.0`) or, when it names none, in the version
//! of the connection it is about.

mod v311;
mod v5;

use crate::Version;

/// One normative statement of one version of the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement id without brackets, as the specification prints it: `MQTT-3.1.2-8`.
    pub id: &'static str,
    /// What the statement requires, in one line.
    pub summary: &'static str,
}

impl Statement {
    /// The id as the specification prints it, in brackets: `[MQTT-3.1.2-8]`.
    pub fn bracketed(&self) -> String {
        format!("[{}]", self.id)
    }
}

/// Every catalogued statement of version `v`, in the specification's order.
pub fn all(v: Version) -> &'static [Statement] {
    match v {
        Version::V311 => v311::STATEMENTS,
        Version::V5 => v5::STATEMENTS,
    }
}

/// The statement `id` (with or without brackets) of version `v`.
pub fn find(id: &str, v: Version) -> Option<&'static Statement> {
    let id = id.trim_start_matches('[').trim_end_matches(']');
    all(v).iter().find(|s| s.id == id)
}

/// One statement id found in a citation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cited {
    /// The id without brackets, as written: `MQTT-3.1.2-8`.
    pub id: String,
    /// The version written right after the id (`[MQTT-3.1.2-8] 5.0`), if any.
    pub tag: Option<Version>,
    /// The version the id was resolved in and its statement: the tagged version, else the
    /// context's version, else (no context) the only version that has the id. `None` when that
    /// version has no such statement (a wrong citation), or when the id is untagged, there is
    /// no context and both versions have it.
    pub resolved: Option<(Version, &'static Statement)>,
}

/// The statement ids in a citation or any text (`[MQTT-3.1.2-24] 3.1.1 / [MQTT-3.1.2-22] 5.0`),
/// in order, each resolved in the catalogue. `context` is the protocol version the text is
/// about, when known (an event about a 5.0 connection).
pub fn cited(text: &str, context: Option<Version>) -> Vec<Cited> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[MQTT-") {
        let after = &rest[start + 1..];
        let Some(end) = after.find(']') else { break };
        let id = &after[..end];
        let tail = &after[end + 1..];
        let tag = if tail.starts_with(" 3.1.1") {
            Some(Version::V311)
        } else if tail.starts_with(" 5.0") {
            Some(Version::V5)
        } else {
            None
        };
        let resolved = match tag.or(context) {
            Some(v) => find(id, v).map(|s| (v, s)),
            None => match (find(id, Version::V311), find(id, Version::V5)) {
                (Some(s), None) => Some((Version::V311, s)),
                (None, Some(s)) => Some((Version::V5, s)),
                _ => None,
            },
        };
        out.push(Cited {
            id: id.to_string(),
            tag,
            resolved,
        });
        rest = tail;
    }
    out
}
