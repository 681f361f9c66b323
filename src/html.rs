//! Static, non-interactive markup built as escaped strings: the lifecycle diagram (SVG), the
//! list of a profile's departures, the scenario options, the header, footer and glossary, and
//! the iframe code a course page pastes. Nothing here can be focused or clicked; every control
//! is a `view!` node in [`crate::panels`] or the App. The markup is built with [`Markup`], which
//! takes literal markup only as `&'static str` (written in this source) and escapes every other
//! piece of text on the way in, so escaping does not depend on remembering to call [`esc`].

use crate::view::{self, LifeState, Lifecycle};
use session_engine::Version;

/// Markup being built: literal markup comes only from `&'static str` written in the source; text
/// and numbers are escaped or formatted on the way in. The only way out is [`Markup::finish`].
#[derive(Default)]
pub struct Markup(String);

impl Markup {
    /// Empty markup.
    pub fn new() -> Markup {
        Markup::default()
    }
    /// Appends markup written in the source (a literal).
    pub fn raw(&mut self, s: &'static str) -> &mut Markup {
        self.0.push_str(s);
        self
    }
    /// Appends text (element content or an attribute value), escaped.
    pub fn text(&mut self, s: &str) -> &mut Markup {
        self.0.push_str(&esc(s));
        self
    }
    /// Appends a whole number.
    pub fn num(&mut self, n: impl Into<i64>) -> &mut Markup {
        self.0.push_str(&n.into().to_string());
        self
    }
    /// Appends a count.
    pub fn count(&mut self, n: usize) -> &mut Markup {
        self.0.push_str(&n.to_string());
        self
    }
    /// The finished markup.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rows beyond this many are summarised, so one step never builds an unbounded table.
pub const MAX_ROWS: usize = 200;

/// The iframe a course page pastes to embed the current view.
pub fn embed_snippet(link: &str, title: &str) -> String {
    let sep = if link.contains('?') { "&" } else { "?" };
    Markup::new()
        .raw("<iframe src=\"")
        .text(link)
        .text(sep)
        .raw(
            "embed=1\" width=\"100%\" height=\"720\" style=\"border:0\" title=\"MQTT Session Lab: ",
        )
        .text(title)
        .raw("\" loading=\"lazy\"></iframe>")
        .finish()
}

/// The scenario picker's option groups.
pub fn scenario_options(groups: &[(String, Vec<view::ScenarioItem>)]) -> String {
    let mut out = Markup::new();
    out.raw("<option value=\"\">(scenario from a file or link)</option>");
    for (topic, items) in groups {
        out.raw("<optgroup label=\"").text(topic).raw("\">");
        for s in items {
            out.raw("<option value=\"")
                .text(&s.id)
                .raw("\">")
                .text(&s.title)
                .raw(" (MQTT ")
                .raw(s.versions)
                .raw(")</option>");
        }
        out.raw("</optgroup>");
    }
    out.finish()
}

/// The page header (static).
pub const HEADER: &str = "<h1>MQTT Session Lab</h1><p class=\"tagline\">Step through how MQTT brokers keep, resume, expire and hand over sessions - every rule cited. <a href=\"calc/\" data-testid=\"to-calculators\">Calculators →</a></p>";

pub const FOOTER: &str = "Every rule shown cites the MQTT 3.1.1 / 5.0 statement or the named broker behaviour it follows. Keys: space play/pause, ← → step, Home/End, ? help.";

/// What the page's shorthand means (in the help dialog): the packet list writes packets as the
/// engine's one-line summaries.
pub const GLOSSARY: &str = "<dt>#3</dt><dd>A network connection, numbered in the order the clients opened them; never reused within a run.</dd>\
<dt>m3</dt><dd>An application message, numbered in the order the broker first saw it; every copy of it keeps the number.</dd>\
<dt>q0 q1 q2, @q1</dt><dd>Quality of Service 0, 1 or 2 (in a will, <code>will=topic@q1</code> is the will's QoS).</dd>\
<dt>id=7</dt><dd>The Packet Identifier of a QoS 1 or 2 exchange.</dd>\
<dt>SP=1</dt><dd>Session Present in CONNACK: the broker resumed a stored session.</dd>\
<dt>rc=0x00</dt><dd>The reason code (5.0) or return code (3.1.1) of an acknowledgement.</dd>\
<dt>SEI=60s</dt><dd>Session Expiry Interval (MQTT 5.0): how long the broker keeps the session after the connection closes.</dd>\
<dt>MEI=30s</dt><dd>Message Expiry Interval (MQTT 5.0): how long a message may wait before the broker drops it.</dd>\
<dt>SubId=[1]</dt><dd>The Subscription Identifiers of the subscriptions that matched (MQTT 5.0).</dd>\
<dt>DUP, RETAIN</dt><dd>The PUBLISH flags: a resend of a packet sent before; a retained message.</dd>\
<dt>bytes held</dt><dd>What the broker stores for a session's messages: topic and payload bytes of each, as the broker profile counts them (the memory calculator uses the same count).</dd>\
<dt>0:05, 1:02:03</dt><dd>Simulated time since the scenario started (minutes:seconds, or hours:minutes:seconds).</dd>\
<dt>mosquitto's clock</dt><dd>mosquitto 2.0.11 counts time in whole seconds, so on its profile a session or will can expire up to a second later than the interval alone says.</dd>";

/// How many of a profile's differences are departures from the specification, and how many are
/// choices it leaves open.
pub fn departure_counts(list: &[session_engine::behaviour::Departure]) -> (usize, usize) {
    use session_engine::behaviour::Standing;
    let d = list
        .iter()
        .filter(|d| d.entry.standing == Standing::Departs)
        .count();
    (d, list.len() - d)
}

/// The full list of a profile's departures and choices (inside the `Departures` details).
pub fn departures_list(list: &[session_engine::behaviour::Departure]) -> String {
    use session_engine::behaviour::Standing;
    if list.is_empty() {
        return "<p>This profile is the specification's reading of every rule, with no server limits and every MAY taken the conservative way.</p>".into();
    }
    let mut out = Markup::new();
    for (standing, title) in [
        (Standing::Departs, "Where it departs from the specification"),
        (
            Standing::Choice,
            "Where the specification leaves the choice to it",
        ),
    ] {
        let items: Vec<_> = list
            .iter()
            .filter(|d| d.entry.standing == standing)
            .collect();
        if items.is_empty() {
            continue;
        }
        out.raw("<h4>").raw(title).raw("</h4><ul>");
        for d in items {
            let rules = d.entry.rules.join("; ");
            // The catalogue's sentences start with an ASCII verb ("closes ...").
            let mut broker = d.entry.broker.to_string();
            if let Some(f) = broker.get_mut(..1) {
                f.make_ascii_uppercase();
            }
            out.raw("<li data-field=\"").text(d.field).raw("\">");
            if !rules.is_empty() {
                out.raw("<span class=\"rule\">")
                    .text(&rules)
                    .raw("</span> ");
            }
            out.text(&broker)
                .raw(". <span class=\"spec\">Specification: ")
                .text(d.entry.spec)
                .raw(".</span> <span class=\"src\">Source: ")
                .text(d.entry.source)
                .raw(".</span></li>");
        }
        out.raw("</ul>");
    }
    out.finish()
}

const NODE_W: f64 = 160.0;
const NODE_H: f64 = 76.0;

const NODE_POS: [(LifeState, f64, f64); 5] = [
    (LifeState::Disconnected, 90.0, 90.0),
    (LifeState::Connecting, 360.0, 90.0),
    (LifeState::Connected, 630.0, 90.0),
    (LifeState::Stored, 630.0, 262.0),
    (LifeState::Ended, 90.0, 262.0),
];

/// (from, to, label in 3.1.1, label in 5.0, perpendicular offset for edges that share a pair of
/// nodes). The two versions differ in what decides whether a session outlives its connection:
/// Clean Session in 3.1.1 ([MQTT-3.1.2-4] 3.1.1, [MQTT-3.1.2-6] 3.1.1), the Session Expiry Interval in 5.0 (§3.1.2.11.2),
/// which also lets a stored session expire; and in how a takeover is told ([MQTT-3.1.4-2] 3.1.1 closes
/// the connection; 5.0 first sends DISCONNECT 0x8E).
pub const EDGES: [(LifeState, LifeState, &str, &str, f64); 9] = [
    (
        LifeState::Disconnected,
        LifeState::Connecting,
        "CONNECT",
        "CONNECT",
        -7.0,
    ),
    (
        LifeState::Connecting,
        LifeState::Disconnected,
        "refused (rc 1-5)",
        "refused (≥ 0x80)",
        -7.0,
    ),
    (
        LifeState::Connecting,
        LifeState::Connected,
        "CONNACK 0",
        "CONNACK 0x00",
        0.0,
    ),
    (
        LifeState::Connected,
        LifeState::Stored,
        "closed, Clean Session 0",
        "closed, expiry > 0",
        -9.0,
    ),
    (
        LifeState::Stored,
        LifeState::Connected,
        "resumed (SP 1)",
        "resumed (SP 1)",
        -9.0,
    ),
    (
        LifeState::Connected,
        LifeState::Ended,
        "closed, Clean Session 1",
        "closed, expiry 0",
        0.0,
    ),
    (
        LifeState::Stored,
        LifeState::Ended,
        "Clean Session 1 connect",
        "expired / Clean Start 1",
        0.0,
    ),
    (LifeState::Ended, LifeState::Disconnected, "", "", 0.0),
    (
        LifeState::Connected,
        LifeState::Disconnected,
        "taken over",
        "taken over (0x8E)",
        0.0,
    ),
];

/// SVG coordinates are written as whole numbers (float formatting would add code to the wasm).
fn i(v: f64) -> i32 {
    v.round() as i32
}

fn pos(s: LifeState) -> (f64, f64) {
    NODE_POS
        .iter()
        .find(|(n, _, _)| *n == s)
        .map(|(_, x, y)| (*x, *y))
        .unwrap_or((0.0, 0.0))
}

/// Where the segment from the centre of a node toward (dx, dy) leaves its rectangle.
fn border(cx: f64, cy: f64, dx: f64, dy: f64) -> (f64, f64) {
    let tx = if dx.abs() > 1e-9 {
        (NODE_W / 2.0 + 4.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > 1e-9 {
        (NODE_H / 2.0 + 4.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty);
    (cx + dx * t, cy + dy * t)
}

/// Which edges a set of (previous, current) moves lights: a move that is not an edge of its own
/// (CONNECT and CONNACK in one step) lights the path through "Connecting".
pub fn hot_edges(moved: &[(LifeState, LifeState)]) -> Vec<(LifeState, LifeState)> {
    let mut hot = Vec::new();
    for (f, t) in moved {
        if EDGES.iter().any(|(a, b, _, _, _)| a == f && b == t) {
            hot.push((*f, *t));
        } else if f != t {
            hot.push((*f, LifeState::Connecting));
            hot.push((LifeState::Connecting, *t));
        }
    }
    hot
}

/// The session state machine (SVG) with every client in its state and this step's moves lit,
/// followed by the same in text.
pub fn lifecycle(life: &[Lifecycle], version: Version) -> String {
    let moved: Vec<(LifeState, LifeState)> = life
        .iter()
        .filter(|l| l.transition.is_some())
        .map(|l| (l.previous, l.state))
        .collect();
    let hot = hot_edges(&moved);
    let mut out = Markup::new();
    out.raw("<svg viewBox=\"0 0 800 310\" role=\"img\" aria-labelledby=\"life-text\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>");
    for (a, b, l311, l5, off) in EDGES {
        let label = if version == Version::V5 { l5 } else { l311 };
        let class = if hot.contains(&(a, b)) {
            "edge hot"
        } else {
            "edge"
        };
        let (ax, ay) = pos(a);
        let (bx, by) = pos(b);
        out.raw("<g class=\"").raw(class).raw("\">");
        if a == LifeState::Connected && b == LifeState::Disconnected {
            out.raw("<path d=\"M ")
                .num(i(ax))
                .raw(" ")
                .num(i(ay - NODE_H / 2.0 - 2.0))
                .raw(" Q ")
                .num(i((ax + bx) / 2.0))
                .raw(" 0 ")
                .num(i(bx + 30.0))
                .raw(" ")
                .num(i(by - NODE_H / 2.0 - 4.0))
                .raw("\" fill=\"none\" marker-end=\"url(#arrow)\"/><text x=\"")
                .num(i((ax + bx) / 2.0))
                .raw("\" y=\"24\" text-anchor=\"middle\">")
                .raw(label)
                .raw("</text></g>");
            continue;
        }
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (nx, ny) = (-dy / len * off, dx / len * off);
        let (x1, y1) = border(ax, ay, dx, dy);
        let (x2, y2) = border(bx, by, -dx, -dy);
        let (mx, my) = ((x1 + x2) / 2.0 + nx * 2.2, (y1 + y2) / 2.0 + ny * 2.2);
        let anchor = if dx.abs() < 1.0 {
            if nx < 0.0 {
                "end"
            } else {
                "start"
            }
        } else {
            "middle"
        };
        let ly = if dy.abs() < 1.0 {
            my + if ny < 0.0 { -4.0 } else { 12.0 }
        } else {
            my
        };
        let lx = if dx.abs() < 1.0 {
            mx + if nx < 0.0 { -4.0 } else { 4.0 }
        } else {
            mx
        };
        out.raw("<line x1=\"")
            .num(i(x1 + nx))
            .raw("\" y1=\"")
            .num(i(y1 + ny))
            .raw("\" x2=\"")
            .num(i(x2 + nx))
            .raw("\" y2=\"")
            .num(i(y2 + ny))
            .raw("\" marker-end=\"url(#arrow)\"/><text x=\"")
            .num(i(lx))
            .raw("\" y=\"")
            .num(i(ly))
            .raw("\" text-anchor=\"")
            .raw(anchor)
            .raw("\">")
            .raw(label)
            .raw("</text></g>");
    }
    for (s, x, y) in NODE_POS {
        let here: Vec<&Lifecycle> = life.iter().filter(|l| l.state == s).collect();
        out.raw("<g class=\"node ")
            .raw(s.key())
            .raw(if here.is_empty() { "" } else { " lit" })
            .raw("\" data-state=\"")
            .raw(s.key())
            .raw("\"><rect x=\"")
            .num(i(x - NODE_W / 2.0))
            .raw("\" y=\"")
            .num(i(y - NODE_H / 2.0))
            .raw("\" width=\"")
            .num(i(NODE_W))
            .raw("\" height=\"")
            .num(i(NODE_H))
            .raw("\" rx=\"8\"/><text class=\"label\" x=\"")
            .num(i(x))
            .raw("\" y=\"")
            .num(i(y - 20.0))
            .raw("\" text-anchor=\"middle\">")
            .raw(s.short_label())
            .raw("</text>");
        for (k, l) in here.iter().take(3).enumerate() {
            out.raw("<text class=\"chip\" x=\"")
                .num(i(x))
                .raw("\" y=\"")
                .num(i(y + 4.0 + k as f64 * 15.0))
                .raw("\" text-anchor=\"middle\"");
            // A long name is squeezed to the node's width rather than cut.
            if l.client.chars().count() > 18 {
                out.raw(" textLength=\"")
                    .num(i(NODE_W - 12.0))
                    .raw("\" lengthAdjust=\"spacingAndGlyphs\"");
            }
            out.raw(">").text(&l.client).raw("</text>");
        }
        if here.len() > 3 {
            out.raw("<text class=\"chip more\" x=\"")
                .num(i(x + NODE_W / 2.0 - 6.0))
                .raw("\" y=\"")
                .num(i(y + 34.0))
                .raw("\" text-anchor=\"end\">+")
                .count(here.len() - 3)
                .raw("</text>");
        }
        out.raw("</g>");
    }
    out.raw("</svg><ul id=\"life-text\" class=\"life-text\" data-testid=\"lifecycle-text\">");
    for l in life.iter().take(MAX_ROWS) {
        let changed = l.transition.is_some();
        out.raw(if changed {
            "<li class=\"changed\"><strong>"
        } else {
            "<li><strong>"
        })
        .text(&l.client)
        .raw("</strong> (")
        .text(&l.client_id)
        .raw("): ");
        if changed && l.previous != l.state {
            out.raw(l.previous.label(version))
                .raw(" → ")
                .raw(l.state.label(version));
        } else {
            out.raw(l.state.label(version));
        }
        if let Some(t) = &l.transition {
            out.raw("<span class=\"why\"> - ").text(t).raw("</span>");
        }
        out.raw("</li>");
    }
    if life.len() > MAX_ROWS {
        out.raw("<li class=\"more\">… and ")
            .count(life.len() - MAX_ROWS)
            .raw(" more clients</li>");
    }
    out.raw("</ul>");
    out.finish()
}

/// The lifecycle diagram and text for a step.
pub fn lifecycle_for(p: &session_engine::Player, step: usize) -> String {
    lifecycle(&view::lifecycle(p, step), p.scenario.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_scenario_text() {
        assert_eq!(
            esc("<img src=x onerror=\"alert(1)\">&'"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
        let code = embed_snippet("http://h/?s=a\"><script>", "<b>");
        assert!(!code.contains("<script>") && !code.contains("<b>"));
        let life = [Lifecycle {
            client: "<img src=x onerror=alert(1)>".into(),
            client_id: "\"><b>".into(),
            state: LifeState::Connected,
            previous: LifeState::Connecting,
            transition: Some("<script>".into()),
        }];
        let svg = lifecycle(&life, Version::V5);
        assert!(!svg.contains("<img") && !svg.contains("<b>") && !svg.contains("<script>"));
        assert!(
            svg.contains("&lt;img src=x onerror=alert(1)&gt;") && svg.contains("&lt;script&gt;")
        );
    }

    #[test]
    fn a_combined_connect_lights_the_path_through_connecting() {
        let hot = hot_edges(&[(LifeState::Disconnected, LifeState::Connected)]);
        assert_eq!(
            hot,
            vec![
                (LifeState::Disconnected, LifeState::Connecting),
                (LifeState::Connecting, LifeState::Connected)
            ]
        );
        let hot = hot_edges(&[(LifeState::Stored, LifeState::Connected)]);
        assert_eq!(hot, vec![(LifeState::Stored, LifeState::Connected)]);
    }
}
