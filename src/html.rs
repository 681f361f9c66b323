//! HTML for the data-heavy panels, built as escaped strings from the view-models.
//!
//! Rendering long tables this way keeps the wasm small and a step with 20 clients and a thousand
//! queued messages fast; interaction uses native elements (`<details>` for "Why?") or one delegated
//! click handler (`data-pkt` on packet rows). Every piece of scenario text goes through [`esc`].

use crate::view::{
    self, LifeState, Lifecycle, MessageFate, MsgRow, Overview, PacketRow, SessionPair,
};
use session_engine::Version;
use std::fmt::Write;

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

/// Message rows per session table (a session can hold thousands; the rest are counted).
pub const MAX_TABLE_ROWS: usize = 12;

/// Messages listed in the fates panel (the newest; the rest are counted).
pub const MAX_FATES: usize = 40;

/// Clients shown with both ends in full; the rest get a summary row.
pub const FULL_PAIRS: usize = 6;

/// Packets listed (the newest; the filters reach the rest).
pub const MAX_PACKETS: usize = 40;

fn msg_table(out: &mut String, rows: &[MsgRow], total: usize, empty: &str, max: usize) {
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"empty\">{}</p>", esc(empty));
        return;
    }
    out.push_str("<table class=\"msgs\"><thead><tr><th>msg</th><th>topic</th><th>QoS</th><th>id</th><th>state</th></tr></thead><tbody>");
    for r in rows.iter().take(max) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td title=\"{}\">{}</td><td><span class=\"qos q{}\">QoS {}</span></td><td>{}</td><td>{}{}</td></tr>",
            esc(&r.msg),
            esc(&r.payload),
            esc(&r.topic),
            r.qos,
            r.qos,
            esc(&r.packet_id),
            esc(&r.state),
            r.expiry.as_deref().map(|e| format!("<span class=\"exp\"> · expiry {}</span>", esc(e))).unwrap_or_default()
        );
    }
    if total > max.min(rows.len()) {
        let _ = write!(
            out,
            "<tr><td colspan=\"5\" class=\"more\">… and {} more</td></tr>",
            total - max.min(rows.len())
        );
    }
    out.push_str("</tbody></table>");
}

/// Both ends of every session.
pub fn sessions(pairs: &[SessionPair]) -> String {
    let mut out = String::new();
    // With many clients each table shows fewer rows, and clients past the first few get one
    // summary row each (the packet filter and the broker panel reach the rest), so a step stays
    // quick to draw.
    let max = if pairs.len() > FULL_PAIRS {
        4
    } else {
        MAX_TABLE_ROWS
    };
    for pair in pairs.iter().take(FULL_PAIRS) {
        let c = &pair.client;
        let b = &pair.broker;
        let _ = write!(
            out,
            "<article class=\"pair\" data-testid=\"pair-{}\"><div class=\"side client{}\"><h4>{} <small>client · id \"{}\" · MQTT {}</small></h4><p>{}{}</p><p>received {} message(s){}</p><h5>Own publishes awaiting ack</h5>",
            esc(&c.name),
            if c.online { " online" } else { "" },
            esc(&c.name),
            esc(&c.client_id),
            c.version,
            esc(&c.connection),
            if c.withholding { " · withholding acknowledgements" } else { "" },
            c.received,
            if c.duplicates > 0 { format!(", {} duplicate(s)", c.duplicates) } else { String::new() }
        );
        msg_table(&mut out, &c.outgoing, c.outgoing_total, "none", max);
        if !c.incoming_qos2.is_empty() {
            let _ = write!(
                out,
                "<p>QoS 2 received, waiting for PUBREL: ids {}</p>",
                esc(&c.incoming_qos2.join(", "))
            );
        }
        if let Some(cap) = c.buffer_capacity {
            let _ = write!(out, "<h5>Offline buffer ({} of {cap})</h5>", c.buffer_total);
            msg_table(&mut out, &c.buffer, c.buffer_total, "empty", max);
        }
        let _ = write!(
            out,
            "</div><div class=\"side broker{}\"><h4>Broker session <small>\"{}\"</small></h4><p data-testid=\"broker-state\">{}{}</p>",
            if b.present { "" } else { " absent" },
            esc(&b.client_id),
            esc(&b.state),
            if b.expiry.is_empty() { String::new() } else { format!(" · Session Expiry Interval {}", esc(&b.expiry)) }
        );
        if b.present {
            out.push_str("<h5>Subscriptions</h5>");
            if b.subscriptions.is_empty() {
                out.push_str("<p class=\"empty\">none</p>");
            } else {
                out.push_str("<ul class=\"subs\">");
                for (f, o) in &b.subscriptions {
                    let _ = write!(out, "<li><code>{}</code> {}</li>", esc(f), esc(o));
                }
                out.push_str("</ul>");
            }
            let _ = write!(out, "<h5>Queued ({})</h5>", b.queue_total);
            msg_table(&mut out, &b.queue, b.queue_total, "empty", max);
            let _ = write!(out, "<h5>In flight ({})</h5>", b.inflight_total);
            msg_table(&mut out, &b.inflight, b.inflight_total, "none", max);
            if !b.awaiting_pubrel.is_empty() {
                let _ = write!(
                    out,
                    "<p>Inbound QoS 2 waiting for PUBREL: ids {}</p>",
                    esc(&b.awaiting_pubrel.join(", "))
                );
            }
            let _ = write!(
                out,
                "<p>Will: {}</p><p class=\"bytes\">{} bytes held</p>",
                esc(b.will.as_deref().unwrap_or("none")),
                b.bytes
            );
        }
        out.push_str("</div></article>");
    }
    if pairs.len() > FULL_PAIRS {
        let _ = write!(out, "<h4>{} more clients</h4><table class=\"msgs\"><thead><tr><th>client</th><th>connection</th><th>broker session</th><th>queued</th><th>in flight</th><th>bytes</th></tr></thead><tbody>", pairs.len() - FULL_PAIRS);
        for pair in pairs.iter().skip(FULL_PAIRS).take(MAX_ROWS) {
            let (c, b) = (&pair.client, &pair.broker);
            let _ = write!(
                out,
                "<tr data-testid=\"pair-{}\"><td>{}</td><td>{}</td><td data-testid=\"broker-state\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&c.name),
                esc(&c.connection),
                esc(&b.state),
                b.queue_total,
                b.inflight_total,
                b.bytes
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}

/// The packet list; each row is a button carrying `data-pkt` (its trace index).
pub fn packets(rows: &[PacketRow], total: usize, selected: Option<usize>) -> String {
    // A sequence diagram in rows: time, the client's lifeline, an arrow, the broker's lifeline.
    let mut out = String::from("<li class=\"lanes\" aria-hidden=\"true\"><span class=\"t\">time</span><span class=\"who\">client</span><span class=\"arrow\">broker</span></li>");
    let skip = total.saturating_sub(rows.len());
    if skip > 0 {
        let _ = write!(
            out,
            "<li class=\"more\">{skip} earlier packets not shown (filter to see them)</li>"
        );
    }
    for r in rows {
        let _ = write!(
            out,
            "<li class=\"{}{}{}\"><button class=\"pkt\" data-pkt=\"{}\" aria-pressed=\"{}\"><span class=\"t\">{}</span><span class=\"who\">{}</span><span class=\"arrow\"><span class=\"sr\">{}</span><span class=\"sum\">{}{}</span></span></button></li>",
            if r.current { "current " } else { "" },
            if r.lost { "lost " } else { "" },
            if r.to_broker { "up" } else { "down" },
            r.id,
            selected == Some(r.id),
            esc(&r.time),
            esc(&r.client),
            if r.to_broker { "to the broker:" } else { "from the broker:" },
            esc(&r.summary),
            if r.lost { " ✗ lost" } else { "" }
        );
    }
    out
}

/// The files-and-sharing bar (its buttons act through `data-act`).
pub const TOOLS: &str = "<label class=\"file\"><span>Import scenario file</span><input type=\"file\" accept=\".json,application/json\" data-testid=\"import\"></label><button data-act=\"save\" data-testid=\"save\">Save scenario file</button><button data-act=\"svg\" data-testid=\"export-svg\">Sequence diagram (SVG)</button><button data-act=\"mermaid\" data-testid=\"export-mermaid\">Sequence diagram (Mermaid)</button><button data-act=\"link\" data-testid=\"copy-link\">Copy link</button><button data-act=\"embed\" data-testid=\"embed\">Embed…</button>";

/// The iframe a course page pastes to embed the current view.
pub fn embed_snippet(link: &str, title: &str) -> String {
    let sep = if link.contains('?') { "&" } else { "?" };
    format!("<iframe src=\"{}{sep}embed=1\" width=\"100%\" height=\"720\" style=\"border:0\" title=\"MQTT Session Lab: {}\" loading=\"lazy\"></iframe>", esc(link), esc(title))
}

/// The embed dialog around a snippet.
pub fn embed_dialog(code: &str) -> String {
    format!(
        "<p>Paste this into a course page. It opens at the current step with compact controls; the page can also send <code>{{type: 'mqtt-session-lab:goto', step: 3}}</code>, <code>mqtt-session-lab:play</code> and <code>mqtt-session-lab:pause</code> with postMessage, and hears <code>mqtt-session-lab:step</code> back.</p><textarea readonly rows=\"3\" data-testid=\"embed-code\" aria-label=\"Embed code\">{}</textarea><button data-act=\"copy-embed\">Copy embed code</button>",
        esc(code)
    )
}

/// `<option>`s for a filter: "all" (value "") then each value, `current` selected.
pub fn options(values: &[String], current: &str) -> String {
    let mut out = format!(
        "<option value=\"\"{}>all</option>",
        if current.is_empty() { " selected" } else { "" }
    );
    for v in values {
        let _ = write!(
            out,
            "<option value=\"{0}\"{1}>{0}</option>",
            esc(v),
            if v == current { " selected" } else { "" }
        );
    }
    out
}

/// The scenario picker's option groups.
pub fn scenario_options(groups: &[(String, Vec<view::ScenarioItem>)]) -> String {
    let mut out = String::from("<option value=\"\">(scenario from a file or link)</option>");
    for (topic, items) in groups {
        let _ = write!(out, "<optgroup label=\"{}\">", esc(topic));
        for s in items {
            let _ = write!(
                out,
                "<option value=\"{}\">{} (MQTT {})</option>",
                esc(&s.id),
                esc(&s.title),
                s.versions
            );
        }
        out.push_str("</optgroup>");
    }
    out
}

/// The MQTT version toggle: the scenario's version pressed; the other version's button goes to
/// `other` (the same lesson's file for that version), or is disabled when there is none.
pub fn version_toggle(current: Version, other: Option<&str>) -> String {
    let mut out = String::new();
    for v in [Version::V311, Version::V5] {
        let _ = if v == current {
            write!(
                out,
                "<button aria-pressed=\"true\" data-testid=\"version-{0}\">{0}</button>",
                v.label()
            )
        } else if let Some(id) = other {
            write!(out, "<button aria-pressed=\"false\" data-goto=\"{}\" data-testid=\"version-{1}\" title=\"The same lesson in MQTT {1}\">{1}</button>", esc(id), v.label())
        } else {
            write!(out, "<button aria-pressed=\"false\" disabled data-testid=\"version-{0}\" title=\"This scenario is written for MQTT {1} only\">{0}</button>", v.label(), current.label())
        };
    }
    out
}

/// The broker profiles.
pub fn profile_options() -> String {
    let mut out = String::new();
    for p in session_engine::BrokerProfile::all() {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(&p.id),
            esc(&p.name)
        );
    }
    out
}

/// What the panels show besides the step: filters, the selected packet, the opened message,
/// and which panels the link asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PanelState {
    pub filter_client: String,
    pub filter_kind: String,
    pub packet: Option<usize>,
    pub open_msg: Option<String>,
    /// `None`: every panel.
    pub panels: Option<Vec<String>>,
}

impl PanelState {
    fn shows(&self, panel: &str) -> bool {
        self.panels
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == panel))
    }
}

/// Every data panel of a step as one piece of HTML. Interaction goes through attributes the page
/// listens for: `data-pkt` (select a packet), `data-why` (open a message's cause chain),
/// `data-act="close-packet"`, and the filter selects named `filter-client` / `filter-kind`.
pub fn panels(p: &session_engine::Player, step: usize, st: &PanelState) -> String {
    let mut out = format!(
        "<section class=\"narration\" data-testid=\"narration\">{}</section>",
        narration(&view::narration(p, step))
    );
    if st.shows("lifecycle") {
        let _ = write!(
            out,
            "<section class=\"panel lifecycle\" aria-label=\"Session lifecycle\" data-testid=\"lifecycle\"><h3>Session lifecycle <small>(MQTT {})</small></h3>{}</section>",
            p.scenario.version.label(),
            lifecycle_for(p, step)
        );
    }
    if st.shows("sessions") {
        let _ = write!(
            out,
            "<section class=\"panel sessions\" aria-label=\"Both ends of every session\" data-testid=\"sessions\"><h3>Both ends of every session</h3>{}</section>",
            sessions(&view::session_pairs(p, step))
        );
    }
    if st.shows("packets") {
        let clients = p.client_names();
        let kinds: Vec<String> = session_engine::packet::PACKET_TYPES
            .iter()
            .map(|k| k.to_string())
            .collect();
        let (rows, total) =
            view::packet_rows_last(p, step, &st.filter_client, &st.filter_kind, MAX_PACKETS);
        let _ = write!(
            out,
            "<section class=\"panel packets\" aria-label=\"Packets\" data-testid=\"packets\"><h3>Packets</h3><div class=\"filters\"><label><span>Client</span><select name=\"filter-client\" aria-label=\"Filter packets by client\">{}</select></label><label><span>Type</span><select name=\"filter-kind\" aria-label=\"Filter packets by type\">{}</select></label></div><ol class=\"seq\" data-testid=\"packet-list\">{}</ol>",
            options(&clients, &st.filter_client),
            options(&kinds, &st.filter_kind),
            packets(&rows, total, st.packet)
        );
        if let Some((title, fields)) = st.packet.and_then(|id| view::packet_fields(p, id)) {
            let _ = write!(
                out,
                "<div class=\"inspector\" data-testid=\"inspector\" role=\"region\" aria-label=\"Packet fields\">{}{}<button data-act=\"close-packet\">Close</button></div>",
                inspector(&title, &fields),
                st.packet
                    .and_then(|id| view::packet_bytes(p, id))
                    .map(|r| match r {
                        Ok((b, f)) => hex(&b, &f),
                        Err(e) => format!(
                            "<p class=\"notice error\" data-testid=\"no-bytes\">No bytes: {}</p>",
                            esc(&e.to_string())
                        ),
                    })
                    .unwrap_or_default()
            );
        }
        out.push_str("</section>");
    }
    if st.shows("messages") {
        let _ = write!(
            out,
            "<section class=\"panel messages\" aria-label=\"Messages and their fate\" data-testid=\"messages\"><h3>Messages</h3>{}</section>",
            messages(&view::message_fates(p, step), st.open_msg.as_deref())
        );
    }
    if st.shows("broker") {
        let _ = write!(
            out,
            "<section class=\"panel broker\" aria-label=\"Broker overview\" data-testid=\"broker\">{}{}</section>",
            overview(&view::overview(p, step)),
            calculator_links(&view::calculator_links(p, step))
        );
    }
    out
}

/// Step buttons (each acts through `data-act`).
pub const NAV_BUTTONS: &str = "<button data-act=\"first\" data-testid=\"first\" title=\"Start (Home)\">|◀<span class=\"sr\"> Start</span></button><button data-act=\"prev\" data-testid=\"prev\" title=\"Step back (←)\">◀<span class=\"sr\"> Back</span></button><button data-act=\"next\" data-testid=\"next\" title=\"Step forward (→)\">▶<span class=\"sr\"> Forward</span></button><button data-act=\"last\" data-testid=\"last\" title=\"End (End)\">▶|<span class=\"sr\"> End</span></button>";

/// The playback speed choice (milliseconds per step).
pub const SPEED: &str = "<span>Speed</span><select aria-label=\"Playback speed\"><option value=\"2500\">slow</option><option value=\"1200\" selected>normal</option><option value=\"500\">fast</option></select>";

pub const HEADER: &str = "<h1>MQTT Session Lab</h1><p class=\"tagline\">Step through how MQTT brokers keep, resume, expire and hand over sessions - every rule cited. <a href=\"calc/\" data-testid=\"to-calculators\">Calculators →</a></p>";

pub const FOOTER: &str = "Every rule shown cites the MQTT 3.1.1 / 5.0 statement or the named broker behaviour it follows. Keys: space play/pause, ← → step, Home/End, ? help.";

/// Messages about a link or a file that could not be used as given (a click dismisses them).
pub fn notices(list: &[String]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from("<div class=\"notices\" data-testid=\"notices\"><ul>");
    for n in list {
        let _ = write!(out, "<li>{}</li>", esc(n));
    }
    out.push_str("</ul><button>Dismiss</button></div>");
    out
}

/// The keyboard help as a dialog (its Close button carries `data-act="close-help"`).
pub const HELP_DIALOG: &str = "<div class=\"overlay\" role=\"dialog\" aria-modal=\"true\" aria-label=\"Keyboard shortcuts\" data-testid=\"help-overlay\"><div class=\"dialog\"><h2>Keyboard shortcuts</h2><table><tbody><tr><th><kbd>space</kbd></th><td>play / pause</td></tr><tr><th><kbd>→</kbd></th><td>next step</td></tr><tr><th><kbd>←</kbd></th><td>previous step</td></tr><tr><th><kbd>Home</kbd> / <kbd>End</kbd></th><td>first / last step</td></tr><tr><th><kbd>?</kbd></th><td>this help</td></tr><tr><th><kbd>Esc</kbd></th><td>close the packet inspector and this help</td></tr></tbody></table><button data-act=\"close-help\" autofocus>Close</button></div></div>";

/// "What the cited statements say": the catalogue's one-line summary of each statement cited.
fn statements(out: &mut String, list: &[(String, String)]) {
    if list.is_empty() {
        return;
    }
    out.push_str("<div class=\"stmts\" data-testid=\"statements\"><p class=\"stmts-h\">What the cited statements require</p><dl>");
    for (id, summary) in list {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(id), esc(summary));
    }
    out.push_str("</dl></div>");
}

/// The narration of a step: what happened, why (rules), and where the broker departs from the
/// specification.
pub fn narration(n: &view::Narration) -> String {
    let mut out = format!(
        "<h2><span class=\"t\">{}</span> {}</h2>",
        esc(&n.time),
        esc(&n.label)
    );
    if !n.say.is_empty() {
        let _ = write!(out, "<p class=\"say\">{}</p>", esc(&n.say));
    }
    if !n.rules.is_empty() {
        out.push_str("<details class=\"rules\" open><summary>Why: the rules applied in this step</summary><ul>");
        for (t, c) in &n.rules {
            let _ = write!(
                out,
                "<li>{} <span class=\"cite\">{}</span></li>",
                esc(t),
                esc(c)
            );
        }
        out.push_str("</ul>");
        statements(&mut out, &n.statements);
        out.push_str("</details>");
    }
    for (rule, spec, broker) in &n.deviations {
        let _ = write!(
            out,
            "<p class=\"deviation\" data-testid=\"deviation\"><strong>Spec vs broker </strong><span class=\"cite\">{}</span>: the specification says {}; {}.</p>",
            esc(rule),
            esc(spec),
            esc(broker)
        );
    }
    if n.rules.is_empty() {
        statements(&mut out, &n.statements);
    }
    out
}

/// The fields of one packet.
pub fn inspector(title: &str, fields: &[(String, String)]) -> String {
    let mut out = format!("<h4>{}</h4><table><tbody>", esc(title));
    for (k, v) in fields {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table>");
    out
}

/// Bytes shown in the hex view (a long payload is cut).
const MAX_HEX: usize = 512;

/// The packet's bytes in hex, each byte tagged with its field, next to the list of fields;
/// hovering or focusing either lights both (src/lib.rs). The list is the accessible version.
pub fn hex(bytes: &[u8], fields: &[session_engine::codec::Field]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let field_of = |k: usize| {
        fields
            .iter()
            .position(|f| k >= f.start && k < f.start + f.len)
    };
    let mut out = format!(
        "<div class=\"hexview\" data-testid=\"hex\"><h5>Bytes on the wire ({} B)</h5><p class=\"hint\">Encoded by the lab's codec from what the model carries; a real broker may add properties the model leaves out. Point at a byte or a field.</p><div class=\"bytes\" aria-hidden=\"true\">",
        bytes.len()
    );
    for (k, b) in bytes.iter().enumerate().take(MAX_HEX) {
        let _ = write!(
            out,
            "<span data-f=\"{}\">{}{}</span>",
            field_of(k).map(|i| i as i64).unwrap_or(-1),
            DIGITS[usize::from(b >> 4)] as char,
            DIGITS[usize::from(b & 15)] as char
        );
    }
    if bytes.len() > MAX_HEX {
        let _ = write!(
            out,
            "<span class=\"more\">… {} more</span>",
            bytes.len() - MAX_HEX
        );
    }
    out.push_str("</div><ol class=\"hexfields\">");
    for (i, f) in fields.iter().enumerate() {
        let _ = write!(
            out,
            "<li data-f=\"{i}\" tabindex=\"0\"><span class=\"off\">{}+{}</span> <strong>{}</strong> {}</li>",
            f.start,
            f.len,
            esc(&f.name),
            esc(&f.value)
        );
    }
    out.push_str("</ol></div>");
    out
}

/// Every message with its fate; "Why?" is a native disclosure.
pub fn messages(fates: &[MessageFate], open: Option<&str>) -> String {
    if fates.is_empty() {
        return "<p class=\"empty\">No application messages yet.</p>".into();
    }
    let mut out = String::from("<ul class=\"fates\">");
    let skip = fates.len().saturating_sub(MAX_FATES);
    if skip > 0 {
        let _ = write!(
            out,
            "<li class=\"more\">{skip} earlier messages not shown</li>"
        );
    }
    for f in &fates[skip..] {
        let is_open = open == Some(f.msg.as_str());
        let _ = write!(
            out,
            "<li class=\"{}\" data-testid=\"fate-{}\"><span class=\"mid\">{}</span> <code>{}</code> \"{}\" from {}: <strong class=\"outcome\">{}</strong> <button class=\"why-btn\" data-why=\"{}\" data-testid=\"why-{}\" aria-expanded=\"{is_open}\">Why?</button>",
            if f.trouble { "trouble" } else { "" },
            esc(&f.msg),
            esc(&f.msg),
            esc(&f.topic),
            esc(&f.payload),
            esc(if f.from.is_empty() { "?" } else { &f.from }),
            esc(&f.outcome),
            esc(&f.msg),
            esc(&f.msg)
        );
        if is_open {
            out.push_str("<ol class=\"chain\">");
            for (t, text, cite) in &f.why {
                let _ = write!(out, "<li><span class=\"t\">{}</span> {}", esc(t), esc(text));
                if !cite.is_empty() {
                    let _ = write!(out, " <span class=\"cite\">{}</span>", esc(cite));
                }
                out.push_str("</li>");
            }
            out.push_str("</ol>");
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

/// The broker overview.
/// "Open in a calculator" with this run's numbers.
pub fn calculator_links((queue, storm): &(String, String)) -> String {
    format!(
        "<p class=\"calc-links\" data-testid=\"calc-links\">Open in a calculator: <a href=\"{}\">queue memory of these sessions</a> · <a href=\"{}\">reconnect storm of these clients</a></p>",
        esc(queue),
        esc(storm)
    )
}

pub fn overview(o: &Overview) -> String {
    let mut out = format!(
        "<h3>Broker: {}</h3><p class=\"source\">{}</p><table class=\"limits\"><tbody>",
        esc(&o.broker),
        esc(&o.source)
    );
    for (k, v) in &o.limits {
        let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    out.push_str("</tbody></table>");
    departures(&mut out, &o.departures);
    out.push_str("<table class=\"all-sessions\"><thead><tr><th>client id</th><th>state</th><th>queued</th><th>in flight</th><th>bytes</th></tr></thead><tbody>");
    for (id, st, q, i, b) in o.rows.iter().take(MAX_ROWS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{q}</td><td>{i}</td><td>{b}</td></tr>",
            esc(id),
            esc(st)
        );
    }
    if o.rows.len() > MAX_ROWS {
        let _ = write!(
            out,
            "<tr><td colspan=\"5\" class=\"more\">… and {} more sessions</td></tr>",
            o.rows.len() - MAX_ROWS
        );
    }
    let _ = write!(
        out,
        "</tbody><tfoot><tr><th colspan=\"4\">total</th><td>{}</td></tr></tfoot></table>",
        o.total_bytes
    );
    out
}

/// One line on how the profile differs from the specification, linking to the full list
/// (the `Departures` component beside the broker picker).
fn departures(out: &mut String, list: &[session_engine::behaviour::Departure]) {
    let (d, c) = departure_counts(list);
    if list.is_empty() {
        out.push_str(
            "<p class=\"departures-line\">Every behaviour as the specification states it.</p>",
        );
        return;
    }
    let _ = write!(
        out,
        "<p class=\"departures-line\"><a href=\"#departures\" data-act=\"departures\">{d} departure{} from the specification, {c} choice{} of its own</a></p>",
        if d == 1 { "" } else { "s" },
        if c == 1 { "" } else { "s" }
    );
}

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
    let mut out = String::new();
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
        let _ = write!(out, "<h4>{title}</h4><ul>");
        for d in items {
            let rules = d.entry.rules.join("; ");
            // The catalogue's sentences start with an ASCII verb ("closes ...").
            let mut broker = d.entry.broker.to_string();
            if let Some(f) = broker.get_mut(..1) {
                f.make_ascii_uppercase();
            }
            let _ = write!(
                out,
                "<li data-field=\"{}\">{}{}. <span class=\"spec\">Specification: {}.</span> <span class=\"src\">Source: {}.</span></li>",
                d.field,
                if rules.is_empty() {
                    String::new()
                } else {
                    format!("<span class=\"rule\">{}</span> ", esc(&rules))
                },
                esc(&broker),
                esc(d.entry.spec),
                esc(d.entry.source)
            );
        }
        out.push_str("</ul>");
    }
    out
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

fn short(name: &str) -> String {
    if name.chars().count() <= 12 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(11).collect::<String>())
    }
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
    let mut out = String::from(
        "<svg viewBox=\"0 0 800 310\" role=\"img\" aria-labelledby=\"life-text\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>",
    );
    for (a, b, l311, l5, off) in EDGES {
        let label = if version == Version::V5 { l5 } else { l311 };
        let is_hot = hot.contains(&(a, b));
        let class = if is_hot { "edge hot" } else { "edge" };
        let (ax, ay) = pos(a);
        let (bx, by) = pos(b);
        if a == LifeState::Connected && b == LifeState::Disconnected {
            let _ = write!(
                out,
                "<g class=\"{class}\"><path d=\"M {} {} Q {} 0 {} {}\" fill=\"none\" marker-end=\"url(#arrow)\"/><text x=\"{}\" y=\"24\" text-anchor=\"middle\">{label}</text></g>",
                i(ax),
                i(ay - NODE_H / 2.0 - 2.0),
                i((ax + bx) / 2.0),
                i(bx + 30.0),
                i(by - NODE_H / 2.0 - 4.0),
                i((ax + bx) / 2.0)
            );
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
        let _ = write!(
            out,
            "<g class=\"{class}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" marker-end=\"url(#arrow)\"/><text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{label}</text></g>",
            i(x1 + nx),
            i(y1 + ny),
            i(x2 + nx),
            i(y2 + ny),
            i(lx),
            i(ly)
        );
    }
    for (s, x, y) in NODE_POS {
        let here: Vec<&Lifecycle> = life.iter().filter(|l| l.state == s).collect();
        let _ = write!(
            out,
            "<g class=\"node {}{}\" data-state=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/><text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            s.key(),
            if here.is_empty() { "" } else { " lit" },
            s.key(),
            i(x - NODE_W / 2.0),
            i(y - NODE_H / 2.0),
            i(NODE_W),
            i(NODE_H),
            i(x),
            i(y - 20.0),
            s.short_label()
        );
        for (k, l) in here.iter().take(3).enumerate() {
            let _ = write!(
                out,
                "<text class=\"chip\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                i(x),
                i(y + 4.0 + k as f64 * 15.0),
                esc(&short(&l.client))
            );
        }
        if here.len() > 3 {
            let _ = write!(
                out,
                "<text class=\"chip more\" x=\"{}\" y=\"{}\" text-anchor=\"end\">+{}</text>",
                i(x + NODE_W / 2.0 - 6.0),
                i(y + 34.0),
                here.len() - 3
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg><ul id=\"life-text\" class=\"life-text\" data-testid=\"lifecycle-text\">");
    for l in life.iter().take(MAX_ROWS) {
        let changed = l.transition.is_some();
        let state = if changed && l.previous != l.state {
            format!("{} → {}", l.previous.label(version), l.state.label(version))
        } else {
            l.state.label(version).to_string()
        };
        let _ = write!(
            out,
            "<li{}><strong>{}</strong> ({}): {}{}</li>",
            if changed { " class=\"changed\"" } else { "" },
            esc(&l.client),
            esc(&l.client_id),
            esc(&state),
            l.transition
                .as_deref()
                .map(|t| format!("<span class=\"why\"> - {}</span>", esc(t)))
                .unwrap_or_default()
        );
    }
    if life.len() > MAX_ROWS {
        let _ = write!(
            out,
            "<li class=\"more\">… and {} more clients</li>",
            life.len() - MAX_ROWS
        );
    }
    out.push_str("</ul>");
    out
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
        let fate = MessageFate {
            msg: "m1".into(),
            topic: "<b>".into(),
            payload: "\"x\"".into(),
            from: "a&b".into(),
            outcome: "delivered".into(),
            trouble: false,
            why: vec![("0s".into(), "<script>".into(), "".into())],
            copies: Vec::new(),
        };
        let h = messages(std::slice::from_ref(&fate), None);
        assert!(
            !h.contains("&lt;script&gt;"),
            "the chain is only built when opened"
        );
        let h = messages(&[fate], Some("m1"));
        assert!(!h.contains("<b>") && !h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;"));
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

    #[test]
    fn long_lists_are_capped() {
        let rows: Vec<MsgRow> = (0..1000)
            .map(|i| MsgRow {
                msg: format!("m{i}"),
                topic: "t".into(),
                payload: "p".into(),
                qos: 1,
                packet_id: i.to_string(),
                state: "queued".into(),
                expiry: None,
            })
            .collect();
        let mut out = String::new();
        msg_table(&mut out, &rows, rows.len(), "", MAX_TABLE_ROWS);
        assert_eq!(out.matches("<tr><td>m").count(), MAX_TABLE_ROWS);
        assert!(out.contains("… and 988 more"));
    }
}
