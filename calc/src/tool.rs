//! The calculators as the page shows them (view-models, tested natively): each tool's inputs
//! with their ranges, and `evaluate`, which turns the inputs' text (from the form or the link)
//! into result rows, the formula, notes, extra HTML (tables, the QoS matrix, the packet flow)
//! and the data of its chart. The page only renders these and draws the chart.

use crate::input::Field;
use crate::units::{bytes, duration, group, num, percent};
use crate::{advisor, backoff, buffer, chart, collision, loss, qos, queue, storm};
use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend};
use session_engine::client::{Backoff, Jitter};
use session_engine::profile::Overflow;
use session_engine::BrokerProfile;

/// One input of a tool.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Num(Field),
    /// A choice: key, label, (value, text) options, default value.
    Choice(&'static str, &'static str, Vec<(String, String)>, String),
    /// A yes/no question: key, label, default.
    Check(&'static str, &'static str, bool),
}

impl Input {
    pub fn key(&self) -> &'static str {
        match self {
            Input::Num(f) => f.key,
            Input::Choice(k, ..) | Input::Check(k, ..) => k,
        }
    }
    pub fn default_text(&self) -> String {
        match self {
            Input::Num(f) => f.default_text(),
            Input::Choice(_, _, _, d) => d.clone(),
            Input::Check(_, _, d) => if *d { "1" } else { "0" }.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    pub id: &'static str,
    pub title: &'static str,
    pub question: &'static str,
    pub inputs: Vec<Input>,
}

/// What a tool shows for a set of inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub rows: Vec<(String, String)>,
    pub formula: Vec<String>,
    pub notes: Vec<String>,
    /// Escaped HTML (tables, the matrix, the packet flow).
    pub html: String,
    pub chart: Chart,
    /// The chart in words (its text alternative).
    pub chart_text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    Queue(chart::QueueChart),
    Backoff(Vec<backoff::Attempt>),
    Storm {
        a: (String, Vec<u32>),
        b: (String, Vec<u32>),
        width_s: usize,
        capacity: f64,
        outage_s: f64,
    },
    Collision(chart::CollisionChart),
    Buffer(buffer::BufferInput),
    Loss(Vec<loss::QosOutcome>),
    Matrix(chart::MatrixChart),
    Costs(chart::CostChart),
}

/// Draws `c` on `root`.
pub fn draw<DB: DrawingBackend>(
    c: &Chart,
    root: &DrawingArea<DB, Shift>,
    t: chart::Theme,
) -> chart::Result<DB> {
    match c {
        Chart::Queue(q) => chart::queue(root, t, q),
        Chart::Backoff(s) => chart::backoff(root, t, s),
        Chart::Storm {
            a,
            b,
            width_s,
            capacity,
            outage_s,
        } => chart::storm(
            root,
            t,
            &chart::StormChart {
                a: (&a.0, &a.1),
                b: (&b.0, &b.1),
                width_s: *width_s,
                capacity: *capacity,
                outage_s: *outage_s,
            },
        ),
        Chart::Collision(c) => chart::collision(root, t, c),
        Chart::Buffer(i) => chart::buffer(root, t, i),
        Chart::Loss(o) => chart::loss(root, t, o),
        Chart::Matrix(m) => chart::matrix(root, t, m),
        Chart::Costs(c) => chart::costs(root, t, c),
    }
}

const fn num_field(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    min: f64,
    max: f64,
    integer: bool,
    default: f64,
) -> Input {
    Input::Num(Field {
        key,
        label,
        unit,
        min,
        max,
        integer,
        default,
    })
}

fn choice(key: &'static str, label: &'static str, opts: &[(&str, &str)], default: &str) -> Input {
    Input::Choice(
        key,
        label,
        opts.iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect(),
        default.into(),
    )
}

/// A choice of jitter strategy.
fn jitter_choice(key: &'static str, label: &'static str, default: &str) -> Input {
    choice(
        key,
        label,
        &[
            ("none", "none: d"),
            ("full", "full: U(0, d)"),
            ("equal", "equal: d/2 + U(0, d/2)"),
            ("decorrelated", "decorrelated: U(initial, 3 x previous)"),
            ("add_up_to_50_percent", "add 0-50 % (course): d + U(0, d/2)"),
        ],
        default,
    )
}

/// Preset values a broker profile gives the queue calculator: (limit, overflow, expiry frees
/// memory at once).
pub fn queue_preset(profile_id: &str) -> Option<(u64, &'static str, &'static str)> {
    let p = BrokerProfile::by_id(profile_id)?;
    Some((
        u64::from(p.max_queued_messages.unwrap_or(0)),
        match p.overflow {
            Overflow::DropNewest => "drop_newest",
            Overflow::DropOldest => "drop_oldest",
        },
        // mosquitto 2.0.11 removes an expired queued message only when it tries to send it
        // after the reconnect (src/database.c, db__message_write_inflight_out_single).
        if p.id.starts_with("mosquitto") {
            "reconnect"
        } else {
            "at_once"
        },
    ))
}

fn advisor_presets() -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "(answer the questions below)".to_string())];
    v.extend(
        advisor::presets()
            .iter()
            .enumerate()
            .map(|(k, (n, _, _))| (k.to_string(), n.to_string())),
    );
    v
}

pub fn tools() -> Vec<Tool> {
    let profiles: Vec<(String, String)> = BrokerProfile::all()
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    vec![
        Tool {
            id: "queue",
            title: "Session queue memory",
            question: "How much memory does a broker hold for devices that are offline?",
            inputs: vec![
                num_field("devices", "Devices offline", "", 1.0, 1e8, true, 1000.0),
                num_field("hours", "Offline for", "h", 0.0, 8784.0, false, 1.0),
                num_field("rate", "Messages per device", "msg/min", 0.0, 60_000.0, false, 1.0),
                num_field("payload", "Payload", "B", 0.0, 268_435_455.0, true, 100.0),
                num_field("topic", "Topic name", "B", 0.0, 65_535.0, true, 0.0),
                num_field("overhead", "Broker overhead per message", "B", 0.0, 1e6, true, 40.0),
                num_field("session", "Broker bytes per session", "B", 0.0, 1e7, true, 0.0),
                num_field("subs", "Subscriptions per session", "", 0.0, 1e4, true, 1.0),
                num_field("per_sub", "Broker bytes per subscription", "B", 0.0, 1e6, true, 0.0),
                Input::Choice("broker", "Fill in a broker's limits", profiles, "spec".into()),
                num_field("limit", "Queue limit per session (0 = none)", "msg", 0.0, 1e9, true, 0.0),
                choice("overflow", "When the queue is full", &[("drop_newest", "refuse the new message"), ("drop_oldest", "drop the oldest")], "drop_newest"),
                num_field("expiry", "Message Expiry Interval (0 = none)", "s", 0.0, 4_294_967_295.0, true, 0.0),
                choice("frees", "Expired messages leave memory", &[("at_once", "at once"), ("reconnect", "when the client is back (mosquitto 2.0.11)")], "at_once"),
            ],
        },
        Tool {
            id: "qos",
            title: "Effective QoS",
            question: "At which QoS does a message reach the subscriber, and what can go wrong?",
            inputs: vec![
                choice("pub", "Publish QoS", &[("0", "0"), ("1", "1"), ("2", "2")], "2"),
                choice("sub", "Subscription QoS", &[("0", "0"), ("1", "1"), ("2", "2")], "1"),
                choice("max", "Broker maximum QoS", &[("2", "2"), ("1", "1"), ("0", "0")], "2"),
                choice("upgrade", "mosquitto upgrade_outgoing_qos", &[("0", "false (default, as the specification)"), ("1", "true (non-standard)")], "0"),
                choice("version", "MQTT version", &[("5.0", "5.0"), ("3.1.1", "3.1.1")], "5.0"),
            ],
        },
        Tool {
            id: "backoff",
            title: "Exponential backoff with jitter",
            question: "How long does a device wait before each reconnect attempt?",
            inputs: vec![
                num_field("initial", "First delay", "s", 0.001, 86_400.0, false, 1.0),
                num_field("multiplier", "Multiplier", "", 1.0, 10.0, false, 2.0),
                num_field("max", "Cap", "s", 0.001, 86_400.0, false, 120.0),
                num_field("attempts", "Attempts", "", 1.0, 50.0, true, 10.0),
                jitter_choice("jitter", "Jitter", "full"),
                num_field("seed", "Seed", "", 0.0, 9_007_199_254_740_991.0, true, 1.0),
            ],
        },
        Tool {
            id: "storm",
            title: "Reconnection storm",
            question: "When a broker comes back, how hard do the devices hit it, and how long until all are in?",
            inputs: vec![
                num_field("devices", "Devices", "", 1.0, storm::MAX_DEVICES as f64, true, 10_000.0),
                num_field("capacity", "Broker accepts", "conn/s", 1.0, 1e6, true, 500.0),
                num_field("outage", "Outage", "s", 0.0, 86_400.0, false, 30.0),
                num_field("initial", "First delay", "s", 0.001, 3600.0, false, 1.0),
                num_field("multiplier", "Multiplier", "", 1.0, 10.0, false, 2.0),
                num_field("max", "Cap", "s", 0.001, 3600.0, false, 60.0),
                jitter_choice("a", "Strategy A", "none"),
                jitter_choice("b", "Strategy B", "full"),
                num_field("queued", "Messages queued per device", "msg", 0.0, 1e6, true, 50.0),
                num_field("size", "Bytes per message", "B", 0.0, 1e8, true, 140.0),
                num_field("seed", "Seed", "", 0.0, 9_007_199_254_740_991.0, true, 1.0),
            ],
        },
        Tool {
            id: "ids",
            title: "Client-id collision risk",
            question: "If devices pick random client ids, how likely do two pick the same one?",
            inputs: vec![
                choice("form", "Id made of", &[("chars", "random characters"), ("bits", "random bits")], "chars"),
                num_field("alphabet", "Alphabet size (16 hex, 36, 62 alphanumeric)", "", 2.0, 1_114_112.0, true, 16.0),
                num_field("length", "Characters", "", 1.0, 65_535.0, true, 8.0),
                num_field("bits", "Bits", "", 1.0, collision::MAX_BITS, true, 32.0),
                num_field("fleet", "Devices", "", 1.0, 1e15, true, 10_000.0),
            ],
        },
        Tool {
            id: "buffer",
            title: "Local buffer sizing",
            question: "How much must a device store itself while it cannot reach the broker?",
            inputs: vec![
                num_field("interval", "One reading every", "s", 0.001, 86_400.0, false, 60.0),
                num_field("hours", "Outage", "h", 0.0, 8784.0, false, 2.0),
                num_field("reading", "Bytes per reading", "B", 1.0, 1e7, true, 257.0),
                num_field("framing", "Framing per reading (topic, length, timestamp)", "B", 0.0, 1e6, true, 64.0),
                num_field("capacity", "Buffer space on the device", "B", 1.0, 1e13, true, 32_100.0),
            ],
        },
        Tool {
            id: "loss",
            title: "QoS delivery under loss",
            question: "What do QoS 0, 1 and 2 deliver over a lossy link, and at what cost?",
            inputs: vec![
                num_field("messages", "Messages", "", 1.0, 100_000.0, true, 100.0),
                num_field("up", "Loss device to broker", "%", 0.0, 90.0, false, 20.0),
                num_field("down", "Loss broker to device", "%", 0.0, 90.0, false, 20.0),
                num_field("latency", "One-way latency", "ms", 0.0, 60_000.0, false, 50.0),
                num_field("retry", "Resend after", "ms", 1.0, 600_000.0, false, 1000.0),
                num_field("seed", "Seed", "", 0.0, 9_007_199_254_740_991.0, true, 1.0),
            ],
        },
        Tool {
            id: "advisor",
            title: "QoS and session advisor",
            question: "Which QoS, session and expiry settings fit this device?",
            inputs: vec![
                Input::Choice("preset", "Start from the course's use case", advisor_presets(), String::new()),
                Input::Check("must", "Every message must arrive", false),
                Input::Check("dups", "A message handled twice would do harm", false),
                Input::Check("receives", "The device receives commands it must not miss while offline", false),
                Input::Check("latest", "Only the latest value matters (a status, a position)", false),
                Input::Check("battery", "Runs on a battery", false),
                num_field("hours", "Longest time offline", "h", 0.0, 8784.0, false, 1.0),
                num_field("valid", "A command is useless after (0 = as long as the session)", "min", 0.0, 525_600.0, false, 0.0),
            ],
        },
    ]
}

/// HTML-escapes text for the page.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Reads a tool's inputs: numbers validated (every problem reported at once), choices checked
/// against their options, missing keys at their defaults.
pub struct Values {
    nums: Vec<(&'static str, f64)>,
    texts: Vec<(&'static str, String)>,
}

impl Values {
    pub fn read(tool: &Tool, get: &dyn Fn(&str) -> Option<String>) -> Result<Values, Vec<String>> {
        let mut nums = Vec::new();
        let mut texts = Vec::new();
        let mut errors = Vec::new();
        for i in &tool.inputs {
            let raw = get(i.key());
            match i {
                Input::Num(f) => match raw {
                    None => nums.push((f.key, f.default)),
                    Some(t) => match f.parse(&t) {
                        Ok(v) => nums.push((f.key, v)),
                        Err(e) => errors.push(e),
                    },
                },
                Input::Choice(k, label, opts, d) => {
                    let v = raw.unwrap_or_else(|| d.clone());
                    if opts.iter().any(|(o, _)| *o == v) {
                        texts.push((*k, v));
                    } else {
                        errors.push(format!(
                            "{label}: \"{v}\" is not one of the choices; using \"{d}\"."
                        ));
                        texts.push((*k, d.clone()));
                    }
                }
                Input::Check(k, label, d) => match raw.as_deref() {
                    None => texts.push((*k, if *d { "1" } else { "0" }.into())),
                    Some("1" | "true" | "on") => texts.push((*k, "1".into())),
                    Some("0" | "false" | "off" | "") => texts.push((*k, "0".into())),
                    Some(other) => {
                        errors.push(format!("{label}: \"{other}\" is not yes (1) or no (0)."))
                    }
                },
            }
        }
        if errors.is_empty() {
            Ok(Values { nums, texts })
        } else {
            Err(errors)
        }
    }
    pub fn n(&self, key: &str) -> f64 {
        self.nums
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or(0.0)
    }
    pub fn u(&self, key: &str) -> u64 {
        self.n(key) as u64
    }
    pub fn t(&self, key: &str) -> &str {
        self.texts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    pub fn yes(&self, key: &str) -> bool {
        self.t(key) == "1"
    }
}

fn row(label: &str, value: String) -> (String, String) {
    (label.to_string(), value)
}

/// The tool `id` for the inputs `get` gives. Errors are sentences naming the field and its range.
pub fn evaluate(id: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<Outcome, Vec<String>> {
    let tool = tools()
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| vec![format!("There is no calculator \"{id}\".")])?;
    let v = Values::read(&tool, get)?;
    Ok(match id {
        "queue" => eval_queue(&v),
        "qos" => eval_qos(&v),
        "backoff" => eval_backoff(&v),
        "storm" => eval_storm(&v)?,
        "ids" => eval_ids(&v)?,
        "buffer" => eval_buffer(&v),
        "loss" => eval_loss(&v),
        _ => eval_advisor(&v),
    })
}

fn queue_input(v: &Values, hours: f64) -> queue::QueueInput {
    queue::QueueInput {
        devices: v.u("devices"),
        offline_s: hours * 3600.0,
        rate_per_min: v.n("rate"),
        payload: v.u("payload"),
        topic: v.u("topic"),
        overhead: v.u("overhead"),
        per_session: v.u("session"),
        subscriptions: v.u("subs"),
        per_subscription: v.u("per_sub"),
        limit: (v.u("limit") > 0).then(|| v.u("limit")),
        overflow: if v.t("overflow") == "drop_oldest" {
            Overflow::DropOldest
        } else {
            Overflow::DropNewest
        },
        expiry_s: (v.n("expiry") > 0.0).then(|| v.n("expiry")),
        expiry_frees_offline: v.t("frees") != "reconnect",
    }
}

fn eval_queue(v: &Values) -> Outcome {
    let hours = v.n("hours");
    let i = queue_input(v, hours);
    let r = queue::compute(&i);
    let mut rows = vec![
        row("Messages arriving per device", group(r.arrived)),
        row("Held per device when it reconnects", group(r.held)),
        row(
            "Bytes per queued message",
            format!("{} B", group(r.bytes_per_message)),
        ),
        row("Memory per device", bytes(r.bytes_per_device)),
        row("Fleet total", bytes(r.fleet_bytes)),
        row(
            "Delivered on reconnect",
            format!("{} per device: {}", group(r.delivered), r.which),
        ),
    ];
    if r.dropped > 0 {
        rows.push(row(
            "Dropped by the queue limit",
            format!("{} per device", group(r.dropped)),
        ));
    }
    if r.expired > 0 {
        rows.push(row("Expired", format!("{} per device", group(r.expired))));
    }
    if r.saved_by_limit > 0.0 {
        rows.push(row(
            "Memory the limit saved (fleet)",
            bytes(r.saved_by_limit),
        ));
    }
    if r.saved_by_expiry > 0.0 {
        rows.push(row(
            "Memory the expiry saved (fleet)",
            bytes(r.saved_by_expiry),
        ));
    }
    let end = (hours * 1.5).max(1.0);
    let pts = 120;
    let mut capped = Vec::with_capacity(pts + 1);
    let mut uncapped = Vec::with_capacity(pts + 1);
    let msg = r.bytes_per_message as f64;
    let session = (i.per_session + i.subscriptions * i.per_subscription) as f64;
    for k in 0..=pts {
        let h = end * k as f64 / pts as f64;
        let q = queue::compute(&queue_input(v, h));
        capped.push((h, q.fleet_bytes));
        uncapped.push((h, i.devices as f64 * (session + q.arrived as f64 * msg)));
    }
    let limit_bytes = i
        .limit
        .map(|l| i.devices as f64 * (session + l as f64 * msg));
    let chart_text = format!(
        "Fleet memory rises to {} after {} offline{}.",
        bytes(r.fleet_bytes),
        duration(hours * 3600.0),
        match limit_bytes {
            Some(l) => format!(" and stops at the queue limit's {}", bytes(l)),
            None => String::new(),
        }
    );
    Outcome {
        rows,
        formula: vec![
            "arrived = rate x offline time".into(),
            "held = min(limit, arrived, or those younger than the expiry where the broker frees expired messages at once)".into(),
            "bytes per device = session + subscriptions x per subscription + held x (topic + payload + overhead)".into(),
            "fleet = devices x bytes per device".into(),
        ],
        notes: vec![
            "Only QoS 1 and 2 messages are queued for an offline client ([MQTT-3.1.2-5] 3.1.1; 5.0 §4.1); QoS 0 only where the broker opts in (mosquitto queue_qos0_messages).".into(),
            "40 B per message is the course's round figure. mosquitto 2.0.11 spends about 112 B (message store) + 56 B (per-client record) on x86-64, plus the sender's client id and malloc rounding (src/mosquitto_broker_internal.h).".into(),
            "mosquitto 2.0.11 keeps expired messages in memory, counted against max_queued_messages, until it tries to send them after the client reconnects (src/database.c); the specification only says they must not be delivered ([MQTT-3.3.2-5]).".into(),
        ],
        html: String::new(),
        chart: Chart::Queue(chart::QueueChart { capped, uncapped, limit_bytes, at_hours: hours, y_label: "fleet memory" }),
        chart_text,
    }
}

fn eval_qos(v: &Values) -> Outcome {
    // The choices are "0", "1", "2" (checked by Values::read).
    let q = |k: &str| v.t(k).parse::<u8>().unwrap_or(0);
    let (p, s, m) = (q("pub"), q("sub"), q("max"));
    let upgrade = v.t("upgrade") == "1";
    let v5 = v.t("version") == "5.0";
    let c = qos::cell(p, s, m, upgrade, v5);
    let rows = vec![
        row("Hop 1: publisher to broker", format!("QoS {p}")),
        row("Granted to the subscription", format!("QoS {}", c.granted)),
        row(
            "Hop 2: broker to subscriber",
            c.forwarded
                .map(|f| format!("QoS {f}"))
                .unwrap_or_else(|| "refused".into()),
        ),
        row("End to end", c.guarantee.into()),
    ];
    let matrix = qos::matrix(m, upgrade, v5);
    let mut html = String::from("<table class=\"matrix\" data-testid=\"qos-matrix\"><caption>Forwarded QoS and guarantee for every pair (rows: publish QoS, columns: subscription QoS)</caption><thead><tr><th scope=\"col\">publish \\ subscribe</th><th scope=\"col\">0</th><th scope=\"col\">1</th><th scope=\"col\">2</th></tr></thead><tbody>");
    for (pq, r) in matrix.iter().enumerate() {
        html.push_str(&format!("<tr><th scope=\"row\">{pq}</th>"));
        for (sq, cell) in r.iter().enumerate() {
            let here = pq as u8 == p && sq as u8 == s;
            html.push_str(&format!(
                "<td class=\"g-{}{}\"{}>{}<br><small>{}</small></td>",
                cell.guarantee.replace(' ', "-"),
                if here { " here" } else { "" },
                if here { " aria-current=\"true\"" } else { "" },
                cell.forwarded
                    .map(|f| format!("QoS {f}"))
                    .unwrap_or_else(|| "refused".into()),
                esc(cell.guarantee)
            ));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    Outcome {
        rows,
        formula: vec![
            "granted = min(subscription QoS, broker maximum)".into(),
            if upgrade { "forwarded = granted (mosquitto upgrade_outgoing_qos: not in the specification)".into() } else { "forwarded = min(publish QoS, granted)  [MQTT-3.8.4-6] 3.1.1 / [MQTT-3.8.4-8] 5.0".into() },
        ],
        notes: vec![c.expect.clone()],
        html,
        chart_text: format!("A 3 x 3 grid of publish QoS against subscription QoS; the cell for publish {p}, subscription {s} is {}.", c.guarantee),
        chart: Chart::Matrix(chart::MatrixChart { cells: matrix.iter().map(|r| r.iter().map(|c| (c.forwarded, c.guarantee)).collect()).collect(), here: (p, s) }),
    }
}

fn backoff_of(v: &Values, jitter_key: &str) -> Backoff {
    Backoff {
        initial: v.n("initial"),
        multiplier: v.n("multiplier"),
        max: v.n("max"),
        jitter: Jitter::from_key(v.t(jitter_key)).unwrap_or_default(),
    }
}

fn eval_backoff(v: &Values) -> Outcome {
    let b = backoff_of(v, "jitter");
    let s = backoff::schedule(&b, v.u("attempts") as u32, v.u("seed"));
    let mut html = String::from("<table class=\"nums\" data-testid=\"backoff-table\"><thead><tr><th scope=\"col\">attempt</th><th scope=\"col\">base d (s)</th><th scope=\"col\">delay range (s)</th><th scope=\"col\">mean (s)</th><th scope=\"col\">this run (s)</th><th scope=\"col\">time to it, mean (s)</th><th scope=\"col\">5-95 % (s)</th></tr></thead><tbody>");
    for a in &s {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} - {}</td><td>{}</td><td>{}</td><td>{}</td><td>{} - {}</td></tr>",
            a.n,
            num(a.base, 4),
            num(a.lo, 4),
            num(a.hi, 4),
            num(a.mean, 4),
            num(a.sample, 4),
            num(a.total_mean, 4),
            num(a.total_p5, 4),
            num(a.total_p95, 4)
        ));
    }
    html.push_str("</tbody></table>");
    let last = s.last().cloned();
    let rows = match &last {
        Some(a) => vec![
            row(
                &format!("Time to attempt {}", a.n),
                format!(
                    "{} on average ({} - {} in 90 % of runs)",
                    duration(a.total_mean),
                    duration(a.total_p5),
                    duration(a.total_p95)
                ),
            ),
            row("Longest single wait", format!("{} s", num(a.hi, 4))),
        ],
        None => Vec::new(),
    };
    let mut notes = vec!["Means are exact for none, full, equal and add 0-50 %; for decorrelated jitter, and for the 5-95 % bands, they come from 2,000 runs drawn with the seed.".to_string()];
    if b.jitter == Jitter::AddUpTo50Percent {
        notes.push("The course's code adds the jitter after the cap, so a \"2 minute cap\" waits up to 3 minutes; it also counts the attempt before computing 2^attempt, so its first wait is 2 s, not the 1 s its comment says.".into());
    }
    if b.jitter == Jitter::None {
        notes.push("Without jitter every device that lost its connection at the same moment retries at the same moments: see the reconnection storm.".into());
    }
    Outcome {
        rows,
        formula: vec![
            "d(n) = min(cap, first delay x multiplier^(n-1))".into(),
            "none: d  ·  full: U(0, d)  ·  equal: d/2 + U(0, d/2)  ·  decorrelated: min(cap, U(first delay, 3 x previous))  ·  add 0-50 %: d + U(0, d/2)".into(),
            "time to attempt n = sum of the delays before it".into(),
        ],
        notes,
        html,
        chart_text: match &last {
            Some(a) => format!("Delays for {} attempts: the range grows from {} s to {} s; attempt {} comes {} after the disconnect on average.", s.len(), num(s[0].lo, 3), num(a.hi, 4), a.n, duration(a.total_mean)),
            None => String::new(),
        },
        chart: Chart::Backoff(s),
    }
}

fn eval_storm(v: &Values) -> Result<Outcome, Vec<String>> {
    if v.n("max") < v.n("initial") {
        return Err(vec!["Cap: it must be at least the first delay.".into()]);
    }
    let run = |key: &str| {
        storm::simulate(&storm::StormInput {
            devices: v.u("devices"),
            capacity: v.u("capacity"),
            outage_s: v.n("outage"),
            backoff: backoff_of(v, key),
            seed: v.u("seed"),
            queued_per_device: v.u("queued"),
            bytes_per_message: v.u("size"),
        })
    };
    let (a, b) = (run("a"), run("b"));
    let name = |k: &str| {
        Jitter::from_key(v.t(k))
            .unwrap_or_default()
            .key()
            .replace('_', " ")
    };
    let (na, nb) = (
        format!("A: {} jitter", name("a")),
        format!("B: {} jitter", name("b")),
    );
    let done = |r: &storm::StormResult| match r.all_connected_s {
        Some(t) => duration(t),
        None => format!(
            "not within a day: {} of {} in",
            group(r.connected),
            group(v.u("devices"))
        ),
    };
    let mut rows = Vec::new();
    for (n, r) in [(&na, &a), (&nb, &b)] {
        rows.push(row(
            &format!("{n}: peak after the outage"),
            format!(
                "{} attempts in second {} (capacity {})",
                group(u64::from(r.peak)),
                group(u64::from(r.peak_second)),
                group(v.u("capacity"))
            ),
        ));
        rows.push(row(&format!("{n}: all connected after"), done(r)));
        rows.push(row(
            &format!("{n}: attempts"),
            format!(
                "{} ({} refused while the broker was full)",
                group(r.total_attempts),
                group(r.refused_busy)
            ),
        ));
    }
    rows.push(row(
        "Queued messages to deliver on reconnect",
        format!(
            "{} ({})",
            group(b.burst_messages as u64),
            bytes(b.burst_bytes)
        ),
    ));
    rows.push(row(
        "In the busiest second of connections",
        bytes(a.peak_second_bytes.max(b.peak_second_bytes)),
    ));
    let (da, w) = storm::downsample(&a.attempts, 300);
    let (db, _) = storm::downsample_width(&b.attempts, w);
    Ok(Outcome {
        rows,
        formula: vec![
            "each device: attempt n at the sum of its first n delays (backoff and jitter as in the backoff calculator)".into(),
            "attempts before the broker is back fail at once; afterwards the broker accepts at most its capacity per second, first come first served, and a refused device backs off again".into(),
            "reconnect burst = devices x queued messages x bytes per message".into(),
        ],
        notes: vec![
            "Deterministic: every device draws from its own stream of the seed (SplitMix64), natively and in the browser.".into(),
            "Queued messages exist only if the sessions survived: a broker without persistence (mosquitto's default) forgets them at a restart, and the devices get Session Present = 0.".into(),
        ],
        html: String::new(),
        chart_text: format!(
            "Connection attempts per second: strategy A peaks at {} and B at {} after the outage, against a capacity of {} per second.",
            group(u64::from(a.peak)),
            group(u64::from(b.peak)),
            group(v.u("capacity"))
        ),
        chart: Chart::Storm { a: (na, da), b: (nb, db), width_s: w, capacity: v.n("capacity"), outage_s: v.n("outage") },
    })
}

fn eval_ids(v: &Values) -> Result<Outcome, Vec<String>> {
    let space = if v.t("form") == "bits" {
        collision::Space::Bits(v.u("bits") as u32)
    } else {
        collision::Space::Chars {
            alphabet: v.u("alphabet") as u32,
            length: v.u("length") as u32,
        }
    };
    let bits = space.bits();
    if bits > collision::MAX_BITS {
        return Err(vec![format!("The id space is 2^{} ids; this calculator goes up to 2^{} (every fleet's risk is 0 there anyway).", num(bits, 4), collision::MAX_BITS)]);
    }
    let m = space.size();
    let n = v.n("fleet");
    let exact = collision::exact(n, m);
    let approx = collision::approx(n, m);
    let f1 = collision::fleet_for(0.01, m);
    let f50 = collision::fleet_for(0.5, m);
    let rows = vec![
        row(
            "Possible ids",
            format!(
                "2^{} = {}",
                num(bits, 4),
                if m < 1e15 {
                    group(m as u64)
                } else {
                    format!("{m:.3e}")
                }
            ),
        ),
        row("Risk that two devices share an id (exact)", percent(exact)),
        row("1 - e^(-n²/2m)", percent(approx)),
        row(
            "Devices for a 1 % risk",
            if f1 <= m {
                group(f1 as u64)
            } else {
                "more than there are ids".into()
            },
        ),
        row(
            "Devices for a 50 % risk",
            if f50 <= m {
                group(f50 as u64)
            } else {
                "more than there are ids".into()
            },
        ),
    ];
    let hi = (n * 10.0).max(f50 * 4.0).max(10.0).min(m * 2.0 + 2.0);
    let pts = 160;
    let mut ex = Vec::with_capacity(pts + 1);
    let mut ap = Vec::with_capacity(pts + 1);
    for k in 0..=pts {
        let x = hi.powf(k as f64 / pts as f64).max(1.0);
        ex.push((x, collision::exact(x, m)));
        ap.push((x, collision::approx(x, m)));
    }
    Ok(Outcome {
        rows,
        formula: vec![
            "m = alphabet^length = 2^bits".into(),
            "p = 1 - (1 - 1/m)(1 - 2/m)...(1 - (n-1)/m), summed as logarithms so it keeps its digits".into(),
            "p ≈ 1 - e^(-n²/2m)".into(),
        ],
        notes: vec![
            "Two devices with one client id take over each other's session: the broker closes the older connection ([MQTT-3.1.4-2] 3.1.1 / [MQTT-3.1.4-3] 5.0; 5.0 sends DISCONNECT 0x8E), both reconnect, and with persistent sessions each receives the other's queued messages. See the takeover scenario.".into(),
            "The formula assumes independent, uniform ids: a generator seeded with the same value on every device (a fixed srand, a clock before NTP) gives them all the same id.".into(),
            "Ids the broker assigns (an empty client id) are unique by rule ([MQTT-3.1.3-6] 3.1.1 / [MQTT-3.2.2-16] 5.0): mosquitto's are auto- followed by a random UUID.".into(),
        ],
        html: String::new(),
        chart_text: format!("Risk of a shared id against the number of devices on a log scale: 1 % at {} devices, 50 % at {}.", group(f1 as u64), group(f50 as u64)),
        chart: Chart::Collision(chart::CollisionChart { exact: ex, approx: ap, fleet: n }),
    })
}

fn eval_buffer(v: &Values) -> Outcome {
    let i = buffer::BufferInput {
        interval_s: v.n("interval"),
        outage_s: v.n("hours") * 3600.0,
        reading: v.u("reading"),
        framing: v.u("framing"),
        capacity: v.u("capacity"),
    };
    let r = buffer::compute(&i);
    Outcome {
        rows: vec![
            row("Readings to hold", group(r.readings)),
            row("Bytes needed", bytes(r.bytes_needed as f64)),
            row("Fits", if r.fits { "yes".into() } else { format!("no: the space holds {} readings ({})", group(r.slots), duration(r.covers_s)) }),
            row("Lost", r.what_is_lost.clone()),
        ],
        formula: vec![
            "readings = ceil(outage / interval)".into(),
            "bytes = readings x (reading + framing)".into(),
            "slots = floor(space / (reading + framing)); covers slots x interval".into(),
        ],
        notes: vec![
            "The broker queues messages to an offline client, never messages from it: a client's session state holds only its unacknowledged QoS 1/2 publishes (§4.1), so readings taken while disconnected must wait on the device.".into(),
            "The course's sample buffer (topic[64] + payload[256] + qos = 321 B, 100 entries = 32,100 B) drops new readings when full and resets without checking the publish result; a ring buffer keeps the newest instead.".into(),
        ],
        html: String::new(),
        chart_text: format!("Bytes buffered over a {} outage: {} needed against {} of space.", duration(i.outage_s), bytes(r.bytes_needed as f64), bytes(i.capacity as f64)),
        chart: Chart::Buffer(i),
    }
}

fn eval_loss(v: &Values) -> Outcome {
    let i = loss::LossInput {
        messages: v.u("messages"),
        loss_up: v.n("up") / 100.0,
        loss_down: v.n("down") / 100.0,
        latency_ms: v.n("latency"),
        retry_ms: v.n("retry"),
        seed: v.u("seed"),
    };
    let runs: Vec<(loss::QosOutcome, Vec<loss::Hop>)> = (0..3).map(|q| loss::run(&i, q)).collect();
    let mut html = String::from("<table class=\"nums\" data-testid=\"loss-table\"><thead><tr><th scope=\"col\"></th><th scope=\"col\">QoS 0</th><th scope=\"col\">QoS 1</th><th scope=\"col\">QoS 2</th></tr></thead><tbody>");
    let line = |label: &str, f: &dyn Fn(&loss::QosOutcome) -> String| {
        let mut s = format!("<tr><th scope=\"row\">{}</th>", esc(label));
        for (o, _) in &runs {
            s.push_str(&format!("<td>{}</td>", esc(&f(o))));
        }
        s.push_str("</tr>");
        s
    };
    html.push_str(&line("delivered", &|o| {
        format!("{} of {}", group(o.delivered), group(o.delivered + o.lost))
    }));
    html.push_str(&line("lost", &|o| group(o.lost)));
    html.push_str(&line("duplicates", &|o| group(o.duplicates)));
    html.push_str(&line("packets sent", &|o| group(o.packets)));
    html.push_str(&line("time", &|o| duration(o.time_s)));
    html.push_str(&line("radio energy (QoS 0 = 1)", &|o| num(o.energy, 3)));
    html.push_str("</tbody></table><div class=\"flows\" data-testid=\"flows\">");
    for (q, (_, hops)) in runs.iter().enumerate() {
        html.push_str(&format!(
            "<figure class=\"flow\"><figcaption>QoS {q}: one message{}</figcaption><ol>",
            if hops.iter().any(|h| h.lost) {
                " that met a loss"
            } else {
                ""
            }
        ));
        for (k, h) in hops.iter().enumerate().take(24) {
            html.push_str(&format!(
                "<li class=\"{}{}\" style=\"--k:{k}\">{}{}</li>",
                if h.up { "up" } else { "down" },
                if h.lost { " lost" } else { "" },
                esc(h.packet),
                if h.lost { " ✗ lost" } else { "" }
            ));
        }
        html.push_str("</ol></figure>");
    }
    html.push_str("</div>");
    let outs: Vec<loss::QosOutcome> = runs.into_iter().map(|(o, _)| o).collect();
    let p = i.loss_up;
    Outcome {
        rows: vec![
            row("QoS 0 delivered", format!("{} (expected 1 - loss = {})", percent(outs[0].delivered as f64 / i.messages as f64), percent(1.0 - p))),
            row("QoS 1 duplicates", format!("{} (expected d / (1 - d) = {} per message)", group(outs[1].duplicates), num(i.loss_down / (1.0 - i.loss_down), 3))),
            row("QoS 2 duplicates", group(outs[2].duplicates)),
        ],
        formula: vec![
            "QoS 0: 1 packet, delivered with probability 1 - loss".into(),
            "QoS 1: PUBLISH until PUBACK; each lost PUBACK (loss d, broker to device) makes one more delivery: expected duplicates per message = d / (1 - d)".into(),
            "QoS 2: PUBLISH until PUBREC, PUBREL until PUBCOMP; the broker keeps the packet id, so never a duplicate".into(),
        ],
        notes: vec![
            "Model: each packet is lost independently; a sender resends after the set time. Over TCP a loss shows up as a broken connection, and MQTT 5.0 resends only after reconnecting ([MQTT-4.4.0-1]): read \"resend after\" as that outage.".into(),
            "Radio energy counts each packet the device sends or receives as one unit, relative to QoS 0's single PUBLISH.".into(),
        ],
        html,
        chart_text: format!(
            "Bars per QoS: delivered {} / {} / {} %, duplicates {} / {} / {}, packets per message {} / {} / {}.",
            num(outs[0].delivered as f64 * 100.0 / i.messages as f64, 3),
            num(outs[1].delivered as f64 * 100.0 / i.messages as f64, 3),
            num(outs[2].delivered as f64 * 100.0 / i.messages as f64, 3),
            group(outs[0].duplicates),
            group(outs[1].duplicates),
            group(outs[2].duplicates),
            num(outs[0].packets as f64 / i.messages as f64, 3),
            num(outs[1].packets as f64 / i.messages as f64, 3),
            num(outs[2].packets as f64 / i.messages as f64, 3)
        ),
        chart: Chart::Loss(outs),
    }
}

fn eval_advisor(v: &Values) -> Outcome {
    let a = advisor::Answers {
        must_arrive: v.yes("must"),
        duplicates_harmful: v.yes("dups"),
        receives: v.yes("receives"),
        offline_s: v.n("hours") * 3600.0,
        command_valid_s: v.n("valid") * 60.0,
        battery: v.yes("battery"),
        latest_only: v.yes("latest"),
    };
    let adv = advisor::advise(&a);
    let mut rows = vec![
        row("Publish QoS", adv.publish_qos.to_string()),
        row(
            "Subscribe QoS",
            adv.subscribe_qos
                .map(|q| q.to_string())
                .unwrap_or_else(|| "- (receives nothing that matters offline)".into()),
        ),
        row(
            "Session",
            if adv.clean_start {
                "clean: Clean Start = 1 (3.1.1: Clean Session = 1), Session Expiry 0".into()
            } else {
                format!("persistent: Clean Start = 0 (3.1.1: Clean Session = 0), Session Expiry Interval {} s ({})", group(adv.session_expiry_s), duration(adv.session_expiry_s as f64))
            },
        ),
        row(
            "Message Expiry Interval on commands",
            adv.message_expiry_s
                .map(|s| format!("{} s ({})", group(s), duration(s as f64)))
                .unwrap_or_else(|| "-".into()),
        ),
        row(
            "Retain the status",
            if adv.retain {
                "yes".into()
            } else {
                "no".into()
            },
        ),
    ];
    if let Some((name, _, said)) = v
        .t("preset")
        .parse::<usize>()
        .ok()
        .and_then(|k| advisor::presets().into_iter().nth(k))
    {
        rows.push(row("The course's table said", format!("{name}: {said}")));
    }
    let mut html = String::from("<h4>Why</h4><ul class=\"reasons\">");
    for r in &adv.reasons {
        html.push_str(&format!("<li>{}</li>", esc(r)));
    }
    html.push_str("</ul>");
    if !adv.caveats.is_empty() {
        html.push_str("<h4>What can still lose messages</h4><ul class=\"caveats\">");
        for c in &adv.caveats {
            html.push_str(&format!("<li>{}</li>", esc(c)));
        }
        html.push_str("</ul>");
    }
    let pq = adv.publish_qos;
    Outcome {
        rows,
        formula: vec!["packets per message without loss: QoS 0 = 1, QoS 1 = 2, QoS 2 = 4; with loss p each way: QoS 1 = (2-p)/(1-p)², QoS 2 = 2(2-p)/(1-p)²".into()],
        notes: Vec::new(),
        html,
        chart_text: format!("Packets per message for QoS 0, 1 and 2 at 0 %, 5 % and 20 % loss; the advice is QoS {pq}."),
        chart: Chart::Costs(chart::CostChart { recommended: pq }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(id: &str, pairs: &[(&str, &str)]) -> Result<Outcome, Vec<String>> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        evaluate(id, &move |k: &str| {
            owned.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone())
        })
    }

    fn value(o: &Outcome, label: &str) -> String {
        o.rows
            .iter()
            .find(|(l, _)| l.starts_with(label))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    #[test]
    fn every_tool_evaluates_at_its_defaults_and_draws() {
        for t in tools() {
            let o = evaluate(t.id, &|_| None).unwrap_or_else(|e| panic!("{}: {e:?}", t.id));
            assert!(
                !o.rows.is_empty() && !o.formula.is_empty() && !o.chart_text.is_empty(),
                "{}",
                t.id
            );
            let mut svg = String::new();
            {
                use plotters::prelude::*;
                let root = SVGBackend::with_string(&mut svg, (640, 320)).into_drawing_area();
                draw(&o.chart, &root, chart::LIGHT).unwrap();
            }
            assert!(svg.contains("<text"), "{}", t.id);
            for i in &t.inputs {
                let _ = i.default_text();
            }
        }
    }

    #[test]
    fn queue_defaults_are_the_course_example() {
        let o = eval("queue", &[]).unwrap();
        assert_eq!(value(&o, "Memory per device"), "8.4 kB (8.2 KiB)");
        assert_eq!(value(&o, "Fleet total"), "8.4 MB (8.01 MiB)");
        let o = eval("queue", &[("devices", "10000"), ("hours", "24")]).unwrap();
        assert_eq!(value(&o, "Fleet total"), "2.02 GB (1.88 GiB)");
        assert_eq!(value(&o, "Memory per device"), "202 kB (197 KiB)");
        let o = eval(
            "queue",
            &[("devices", "10000"), ("hours", "24"), ("limit", "1000")],
        )
        .unwrap();
        assert_eq!(value(&o, "Dropped"), "440 per device");
    }

    #[test]
    fn absurd_inputs_are_sentences() {
        let e = eval(
            "queue",
            &[
                ("devices", "-5"),
                ("hours", "1e30"),
                ("rate", "NaN"),
                ("payload", ""),
            ],
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(
            e[0].contains("Devices offline") && e[0].contains("from 1 to 100,000,000"),
            "{e:?}"
        );
        assert!(eval("queue", &[("overflow", "sideways")]).unwrap_err()[0]
            .contains("not one of the choices"));
        assert!(eval("nope", &[]).is_err());
        assert!(
            eval("storm", &[("initial", "10"), ("max", "5")]).unwrap_err()[0].starts_with("Cap")
        );
        assert!(eval("ids", &[("form", "bits"), ("bits", "1001")]).is_err());
        assert!(eval("advisor", &[("must", "maybe")]).is_err());
    }

    #[test]
    fn qos_matrix_marks_the_chosen_cell() {
        let o = eval("qos", &[("pub", "2"), ("sub", "1")]).unwrap();
        assert_eq!(value(&o, "Hop 2"), "QoS 1");
        assert_eq!(value(&o, "End to end"), "at least once");
        assert_eq!(o.html.matches("aria-current").count(), 1);
        let o = eval("qos", &[("pub", "0"), ("sub", "2"), ("upgrade", "1")]).unwrap();
        assert_eq!(value(&o, "Hop 2"), "QoS 2");
    }

    #[test]
    fn ids_and_storm_and_loss_and_buffer_numbers() {
        let o = eval("ids", &[]).unwrap();
        assert_eq!(value(&o, "Risk that two"), "1.16 %");
        assert_eq!(value(&o, "Devices for a 50 %"), "77,164");
        let o = eval(
            "storm",
            &[
                ("devices", "1000"),
                ("capacity", "100"),
                ("outage", "10"),
                ("max", "60"),
            ],
        )
        .unwrap();
        assert!(
            value(&o, "A: none jitter: all connected").starts_with("8 min 3 s"),
            "{:?}",
            o.rows
        );
        let o = eval("loss", &[("up", "0"), ("down", "0")]).unwrap();
        assert!(o.html.contains("<td>100 of 100</td>"), "{}", o.html);
        let o = eval("loss", &[]).unwrap();
        assert!(
            value(&o, "QoS 1 duplicates").contains("d / (1 - d) = 0.25 per message"),
            "{:?}",
            o.rows
        );
        let o = eval("buffer", &[]).unwrap();
        assert_eq!(value(&o, "Readings to hold"), "120");
        let o = eval(
            "advisor",
            &[("receives", "1"), ("must", "1"), ("hours", "0.5")],
        )
        .unwrap();
        assert!(
            value(&o, "Session").starts_with("persistent"),
            "{:?}",
            o.rows
        );
    }
}
