//! The calculators page: a thin Leptos layer over `calc::tool` (inputs, evaluation, rows,
//! formulas, chart data, all tested natively). It renders the form and the results, keeps every
//! input in the link, and draws the chart on a canvas with plotters.

use calc::tool::{self, esc, Input, Outcome};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

mod canvas;

/// The link: `?c=TOOL&key=value...`; unknown tools and keys are reported, not fatal.
pub fn parse_query(q: &str) -> (String, Vec<(String, String)>, Vec<String>) {
    let tools = tool::tools();
    let mut id = tools[0].id.to_string();
    let mut pairs = Vec::new();
    let mut notes = Vec::new();
    for part in q
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k), decode(v));
        if k == "c" {
            if tools.iter().any(|t| t.id == v) {
                id = v;
            } else {
                notes.push(format!("The link names a calculator \"{v}\" that does not exist; showing the first one."));
            }
        } else {
            pairs.push((k, v));
        }
    }
    if let Some(t) = tools.iter().find(|t| t.id == id) {
        pairs.retain(|(k, _)| {
            let known = t.inputs.iter().any(|i| i.key() == k);
            if !known {
                notes.push(format!(
                    "Link parameter \"{k}\" is not an input of this calculator; ignored."
                ));
            }
            known
        });
    }
    (id, pairs, notes)
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The link for a tool and its inputs (only those that differ from the defaults).
pub fn format_query(id: &str, values: &[(String, String)]) -> String {
    let mut q = format!("?c={}", encode(id));
    if let Some(t) = tool::tools().into_iter().find(|t| t.id == id) {
        for i in &t.inputs {
            if let Some((_, v)) = values.iter().find(|(k, _)| k == i.key()) {
                if *v != i.default_text() {
                    q.push_str(&format!("&{}={}", i.key(), encode(v)));
                }
            }
        }
    }
    q
}

/// The form of a tool with the current texts.
pub fn form_html(t: &tool::Tool, values: &[(String, String)]) -> String {
    let get = |k: &str| values.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let mut out = String::new();
    for i in &t.inputs {
        let v = get(i.key()).unwrap_or_else(|| i.default_text());
        match i {
            Input::Num(f) => out.push_str(&format!(
                "<label class=\"field\"><span>{}{}</span><input name=\"{}\" inputmode=\"decimal\" value=\"{}\" aria-describedby=\"hint-{}\" data-testid=\"in-{}\"><small id=\"hint-{}\">{}</small></label>",
                esc(f.label),
                if f.unit.is_empty() { String::new() } else { format!(" ({})", esc(f.unit)) },
                f.key,
                esc(&v),
                f.key,
                f.key,
                f.key,
                esc(&f.range_text())
            )),
            Input::Choice(k, label, opts, _) => {
                out.push_str(&format!("<label class=\"field\"><span>{}</span><select name=\"{k}\" data-testid=\"in-{k}\">", esc(label)));
                for (o, text) in opts {
                    out.push_str(&format!(
                        "<option value=\"{}\"{}>{}</option>",
                        esc(o),
                        if *o == v { " selected" } else { "" },
                        esc(text)
                    ));
                }
                out.push_str("</select></label>");
            }
            Input::Check(k, label, _) => out.push_str(&format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"{k}\" data-testid=\"in-{k}\"{}><span>{}</span></label>",
                if v == "1" { " checked" } else { "" },
                esc(label)
            )),
        }
    }
    out
}

/// The results of a tool: rows, formula, notes and its own HTML.
pub fn results_html(o: &Outcome) -> String {
    let mut out = String::from("<dl class=\"rows\" data-testid=\"rows\">");
    for (k, v) in &o.rows {
        out.push_str(&format!(
            "<div><dt>{}</dt><dd>{}</dd></div>",
            esc(k),
            esc(v)
        ));
    }
    out.push_str("</dl><div class=\"formula\" data-testid=\"formula\"><h3>Formula</h3>");
    for f in &o.formula {
        out.push_str(&format!("<code>{}</code>", esc(f)));
    }
    out.push_str("</div>");
    out.push_str(&o.html);
    if !o.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for n in &o.notes {
            out.push_str(&format!("<li>{}</li>", esc(n)));
        }
        out.push_str("</ul>");
    }
    out
}

fn errors_html(errors: &[String]) -> String {
    let mut out = String::from("<div class=\"error\" role=\"alert\" data-testid=\"calc-errors\"><strong>Check these inputs:</strong><ul>");
    for e in errors {
        out.push_str(&format!("<li>{}</li>", esc(e)));
    }
    out.push_str("</ul></div>");
    out
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

#[component]
pub fn App() -> impl IntoView {
    let (first, initial, notes) = parse_query(&window().location().search().unwrap_or_default());
    let tool_id = RwSignal::new(first);
    let values = RwSignal::new(initial);
    let outcome = Memo::new(move |_| {
        let id = tool_id.get();
        values.with(|v| {
            tool::evaluate(&id, &|k: &str| {
                v.iter().find(|(a, _)| a == k).map(|(_, x)| x.clone())
            })
        })
    });
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let form_ref = NodeRef::<leptos::html::Form>::new();

    // The link follows the inputs.
    Effect::new(move |_| {
        let q = values.with(|v| format_query(&tool_id.get(), v));
        if let Ok(h) = window().history() {
            let path = window().location().pathname().unwrap_or_default();
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!("{path}{q}")),
            );
        }
    });
    // The chart follows the results.
    Effect::new(move |_| {
        let Some(c) = canvas_ref.get() else { return };
        outcome.with(|o| {
            if let Ok(o) = o {
                canvas::draw(&c, &o.chart);
            } else {
                canvas::clear(&c);
            }
        });
    });

    // What is typed is computed once typing pauses (a 1,000,000-device storm takes a second or
    // two in the browser; it should not run for every digit); choices count at once.
    let typed = StoredValue::new(values.get_untracked());
    let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    let set_now = move |k: String, v: String, now: bool| {
        typed.update_value(|vals| match vals.iter_mut().find(|(a, _)| *a == k) {
            Some(slot) => slot.1 = v,
            None => vals.push((k, v)),
        });
        timer.set_value(None);
        let commit = move || values.set(typed.get_value());
        if now {
            commit();
        } else {
            timer.set_value(Some(gloo_timers::callback::Timeout::new(250, commit)));
        }
    };
    let set = move |k: String, v: String| set_now(k, v, true);
    // Presets fill other fields: a broker's queue limits, a course use case's answers.
    let apply_preset = move |k: &str, v: &str| {
        let mut fill: Vec<(String, String)> = Vec::new();
        if k == "broker" {
            if let Some((limit, overflow, frees)) = tool::queue_preset(v) {
                fill = vec![
                    ("limit".into(), limit.to_string()),
                    ("overflow".into(), overflow.into()),
                    ("frees".into(), frees.into()),
                ];
            }
        } else if k == "preset" {
            if let Some((_, a, _)) = v
                .parse::<usize>()
                .ok()
                .and_then(|n| calc::advisor::presets().into_iter().nth(n))
            {
                let b = |x: bool| if x { "1" } else { "0" }.to_string();
                fill = vec![
                    ("must".into(), b(a.must_arrive)),
                    ("dups".into(), b(a.duplicates_harmful)),
                    ("receives".into(), b(a.receives)),
                    ("latest".into(), b(a.latest_only)),
                    ("battery".into(), b(a.battery)),
                    (
                        "hours".into(),
                        calc::input::format_plain(a.offline_s / 3600.0),
                    ),
                    (
                        "valid".into(),
                        calc::input::format_plain(a.command_valid_s / 60.0),
                    ),
                ];
            }
        }
        let Some(form) = form_ref.get() else { return };
        for (fk, fv) in fill {
            if let Ok(Some(el)) = form.query_selector(&format!("[name=\"{fk}\"]")) {
                if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
                    if i.type_() == "checkbox" {
                        i.set_checked(fv == "1");
                    } else {
                        i.set_value(&fv);
                    }
                } else if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
                    s.set_value(&fv);
                }
            }
            set(fk, fv);
        }
    };
    let on_input = move |e: leptos::ev::Event| {
        let Some(t) = e.target() else { return };
        let (k, v, typing) = if let Some(i) = t.dyn_ref::<web_sys::HtmlInputElement>() {
            if i.type_() == "checkbox" {
                let on = if i.checked() { "1" } else { "0" };
                (i.name(), on.to_string(), false)
            } else {
                (i.name(), i.value(), true)
            }
        } else if let Some(s) = t.dyn_ref::<web_sys::HtmlSelectElement>() {
            (s.name(), s.value(), false)
        } else {
            return;
        };
        if k.is_empty() {
            return;
        }
        apply_preset(&k, &v);
        set_now(k, v, !typing);
    };
    let tools = tool::tools();
    let tabs = tools.clone();
    let notes_html: String = notes.iter().map(|n| format!("<p>{}</p>", esc(n))).collect();
    view! {
        <div class="app calc">
            <header class="top">
                <h1>"MQTT Session Lab: calculators"</h1>
                <p class="tagline">"How big, how likely, how long: exact numbers with the formula beside them. "<a href="../" data-testid="to-scenarios">"← Scenarios"</a></p>
            </header>
            {(!notes.is_empty()).then(|| view! { <div class="notices" role="status" data-testid="calc-notices" inner_html=notes_html></div> })}
            <nav class="tabs" aria-label="Calculators" on:click=move |e| {
                let Some(el) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|el| el.closest("[data-tool]").ok().flatten()) else { return };
                if let Some(id) = el.get_attribute("data-tool") {
                    timer.set_value(None);
                    typed.set_value(Vec::new());
                    values.set(Vec::new());
                    tool_id.set(id);
                }
            }>
                {tabs.into_iter().map(|t| {
                    let id = t.id;
                    view! { <button data-tool=id data-testid=format!("tab-{id}") aria-pressed=move || (tool_id.get() == id).to_string()>{t.title}</button> }
                }).collect_view()}
            </nav>
            {move || {
                let id = tool_id.get();
                let t = tools.iter().find(|t| t.id == id).cloned().unwrap_or_else(|| tools[0].clone());
                let form = values.with_untracked(|v| form_html(&t, v));
                view! {
                    <section class="tool" aria-labelledby="tool-title" data-testid=format!("tool-{}", t.id)>
                        <h2 id="tool-title">{t.title}</h2>
                        <p class="question">{t.question}</p>
                        <div class="tool-grid">
                            <form class="inputs panel" node_ref=form_ref on:input=on_input on:change=on_input on:submit=|e| e.prevent_default() inner_html=form></form>
                            <div class="outputs">
                                <div class="panel results" aria-live="polite" data-testid="results" inner_html=move || match outcome.get() {
                                    Ok(o) => results_html(&o),
                                    Err(e) => errors_html(&e),
                                }></div>
                                <figure class="panel chart">
                                    <canvas node_ref=canvas_ref data-testid="chart" role="img" aria-label=move || outcome.with(|o| o.as_ref().map(|o| o.chart_text.clone()).unwrap_or_else(|_| "No chart: some inputs are out of range.".into()))></canvas>
                                    <figcaption data-testid="chart-text">{move || outcome.with(|o| o.as_ref().map(|o| o.chart_text.clone()).unwrap_or_else(|_| "No chart until the inputs are in range.".into()))}</figcaption>
                                </figure>
                            </div>
                        </div>
                    </section>
                }
            }}
            <footer class="foot"><p>"Every formula is a tested Rust function ("<code>"calc/"</code>"); broker numbers come from the same profiles the scenarios use, with their sources. "<a href="../">"Back to the scenarios"</a></p></footer>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_and_report_nonsense() {
        let (id, v, n) = parse_query("?c=queue&devices=10000&hours=24&zzz=1");
        assert_eq!(id, "queue");
        assert_eq!(
            v,
            vec![
                ("devices".to_string(), "10000".to_string()),
                ("hours".to_string(), "24".to_string())
            ]
        );
        assert_eq!(n.len(), 1);
        assert_eq!(format_query(&id, &v), "?c=queue&devices=10000&hours=24");
        let (id, _, n) = parse_query("?c=warp-drive");
        assert_eq!(id, "queue");
        assert!(n[0].contains("warp-drive"));
        assert_eq!(decode("a%20b+c%zz"), "a b c%zz");
    }

    #[test]
    fn forms_and_results_render_every_tool() {
        for t in tool::tools() {
            let f = form_html(&t, &[]);
            for i in &t.inputs {
                assert!(
                    f.contains(&format!("name=\"{}\"", i.key())),
                    "{}: {}",
                    t.id,
                    i.key()
                );
            }
            let o = tool::evaluate(t.id, &|_| None).unwrap();
            assert!(results_html(&o).contains("<dl class=\"rows\""));
        }
        assert!(errors_html(&["Devices: <b>".into()]).contains("&lt;b&gt;"));
    }
}
