//! The run as a sequence diagram for slides: Mermaid text and a standalone SVG. Pure functions.

use crate::html::esc;
use crate::view;
use session_engine::Player;
use std::fmt::Write;

/// Packets up to and including `step`, at most this many (a diagram for slides, not an archive).
pub const MAX_MESSAGES: usize = 400;

fn mermaid_id(i: usize) -> String {
    format!("c{i}")
}

/// Text as a Mermaid label takes it: a line break would end the statement, so line breaks
/// become spaces; the characters Mermaid reads as syntax in a label (';' ends a statement, '#'
/// starts an entity code, '"', '<', '>' and '&' are markup) become its entity codes `#59;`,
/// `#35;`, `#quot;`, `#lt;`, `#gt;`, `#amp;`, which it shows as the characters. Participants are
/// named by aliases (`c0`), so a client's name is only ever a label.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid `sequenceDiagram` of the packets up to `step`, with step labels as notes.
pub fn mermaid(p: &Player, step: usize) -> String {
    let names = p.client_names();
    let mut out = String::from("sequenceDiagram\n");
    let _ = writeln!(
        out,
        "    %% {} - broker: {}",
        mermaid_text(&p.scenario.title),
        mermaid_text(&p.at(0).world.broker.profile().name)
    );
    out.push_str("    participant broker as Broker\n");
    for (i, n) in names.iter().enumerate() {
        let _ = writeln!(
            out,
            "    participant {} as {}",
            mermaid_id(i),
            mermaid_text(n)
        );
    }
    let rows = view::packet_rows(p, step, "", "");
    let mut last_step = 0;
    for r in rows.iter().take(MAX_MESSAGES) {
        if r.step != last_step {
            last_step = r.step;
            let _ = writeln!(
                out,
                "    Note over broker: {} ({})",
                mermaid_text(&p.at(r.step).label),
                r.time
            );
        }
        let c = names
            .iter()
            .position(|n| *n == r.client)
            .map(mermaid_id)
            .unwrap_or_else(|| "broker".into());
        let (from, to) = if r.to_broker {
            (c, "broker".to_string())
        } else {
            ("broker".to_string(), c)
        };
        let arrow = if r.lost { "-x" } else { "->>" };
        let _ = writeln!(
            out,
            "    {from}{arrow}{to}: {}{}",
            mermaid_text(&r.summary),
            if r.lost { " (lost)" } else { "" }
        );
    }
    if rows.len() > MAX_MESSAGES {
        let _ = writeln!(
            out,
            "    Note over broker: {} more packets not shown",
            rows.len() - MAX_MESSAGES
        );
    }
    out
}

/// A standalone SVG sequence diagram of the packets up to `step`.
pub fn svg(p: &Player, step: usize) -> String {
    let names = p.client_names();
    let rows = view::packet_rows(p, step, "", "");
    let rows = &rows[..rows.len().min(MAX_MESSAGES)];
    let lane = 190i64;
    let broker_x = 110i64;
    let x_of = |name: &str| {
        broker_x + lane * (1 + names.iter().position(|n| n == name).unwrap_or(0) as i64)
    };
    let width = broker_x + lane * names.len() as i64 + 120;
    let mut y = 70i64;
    let mut body = String::new();
    let mut last_step = 0;
    for r in rows {
        if r.step != last_step {
            last_step = r.step;
            y += 8;
            let _ = write!(
                body,
                "<text x=\"8\" y=\"{y}\" class=\"step\">{} · {}</text>",
                esc(&r.time),
                esc(&p.at(r.step).label)
            );
            y += 16;
        }
        let cx = x_of(&r.client);
        let (x1, x2) = if r.to_broker {
            (cx, broker_x)
        } else {
            (broker_x, cx)
        };
        let _ = write!(
            body,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" class=\"{}\" marker-end=\"url(#a)\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"msg\">{}{}</text>",
            if r.lost { "lost" } else { "pkt" },
            (x1 + x2) / 2,
            y - 4,
            esc(&r.summary),
            if r.lost { " ✗" } else { "" }
        );
        y += 26;
    }
    let height = y + 20;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\"><style>.pkt{{stroke:#36429a;stroke-width:1.4}}.lost{{stroke:#b3261e;stroke-dasharray:4 3;stroke-width:1.4}}.life{{stroke:#999;stroke-dasharray:2 3}}.head{{font-weight:bold;font-size:13px}}.step{{fill:#555;font-style:italic}}.msg{{fill:#111}}</style><defs><marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#36429a\"/></marker></defs><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"8\" y=\"18\" class=\"head\">{} - {}</text>",
        esc(&p.scenario.title),
        esc(&p.at(0).world.broker.profile().name)
    );
    let _ = write!(out, "<text x=\"{broker_x}\" y=\"46\" text-anchor=\"middle\" class=\"head\">broker</text><line x1=\"{broker_x}\" y1=\"52\" x2=\"{broker_x}\" y2=\"{height}\" class=\"life\"/>");
    for n in &names {
        let x = x_of(n);
        let _ = write!(out, "<text x=\"{x}\" y=\"46\" text-anchor=\"middle\" class=\"head\">{}</text><line x1=\"{x}\" y1=\"52\" x2=\"{x}\" y2=\"{height}\" class=\"life\"/>", esc(n));
    }
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_engine::library;

    #[test]
    fn mermaid_lists_participants_and_every_packet() {
        let p = Player::from_json(library::text_by_id("qos2-interrupted").unwrap()).unwrap();
        let last = p.len() - 1;
        let m = mermaid(&p, last);
        assert!(m.starts_with("sequenceDiagram\n"));
        assert!(m.contains("participant c0 as actuator"));
        assert_eq!(
            m.lines()
                .filter(|l| l.contains("->>") || l.contains("-x"))
                .count(),
            view::packet_rows(&p, last, "", "").len()
        );
        assert!(m.contains("-xbroker: PUBCOMP id=1 (lost)"));
    }

    #[test]
    fn mermaid_escapes_names_and_titles_so_they_stay_labels() {
        let text = r##"{"format": 1, "id": "m", "title": "A \"quoted\" #1; <b>bold</b> & more\nsecond line", "version": "5.0",
            "clients": [{"name": "x; participant evil\nas #2 <i>"}],
            "steps": [{"connect": {"client": "x; participant evil\nas #2 <i>"}}]}"##;
        let p = Player::from_json(text).unwrap();
        let m = mermaid(&p, p.len() - 1);
        assert!(
            m.contains("    participant c0 as x#59; participant evil as #35;2 #lt;i#gt;\n"),
            "{m}"
        );
        assert!(
            m.contains(
                "A #quot;quoted#quot; #35;1#59; #lt;b#gt;bold#lt;/b#gt; #amp; more second line"
            ),
            "{m}"
        );
        // One statement a line: nothing a name holds starts a line of its own.
        assert_eq!(
            m.lines()
                .filter(|l| l.trim_start().starts_with("participant"))
                .count(),
            2
        );
        let bare = ["#59;", "#35;", "#quot;", "#lt;", "#gt;", "#amp;"]
            .iter()
            .fold(m.replace("->>", " "), |t, e| t.replace(e, ""));
        assert!(
            bare.lines()
                .filter(|l| l.contains("evil") || l.contains("quoted"))
                .all(|l| !l.contains([';', '"', '<', '>', '&'])),
            "{m}"
        );
        assert!(
            m.lines()
                .filter(|l| l.contains("evil"))
                .all(|l| l.contains("x#59; participant evil as #35;2")),
            "{m}"
        );
        assert_eq!(mermaid_text("a\r\nb"), "a  b");
    }

    #[test]
    fn svg_is_well_formed_and_escaped() {
        let p = Player::from_json(library::text_by_id("takeover-v5").unwrap()).unwrap();
        let s = svg(&p, p.len() - 1);
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.ends_with("</svg>"));
        assert!(!s.contains("\"gw-17\"") || s.contains("&quot;gw-17&quot;"));
        assert_eq!(s.matches("<svg").count(), 1);
    }
}
