//! The MQTT Session Lab page: renders the session engine's scenarios in the browser.
//!
//! A thin layer: view-models in [`view`] turn engine state into rows (tested natively), [`url`]
//! keeps the page state in the link; the components here only render and send commands.

pub mod export;
pub mod html;
pub mod sandbox;
pub mod url;
pub mod view;

use leptos::ev;
use leptos::prelude::*;
use session_engine::{library, BrokerProfile, Player, Scenario};
use std::sync::Arc;

/// A played scenario shared between components; equal only to itself (so memos notice a new one).
#[derive(Clone)]
pub struct Shared(pub Arc<Player>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Shared {
    type Target = Player;
    fn deref(&self) -> &Player {
        &self.0
    }
}

/// Where the scenario being shown comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    BuiltIn(String),
    /// A scenario file (imported, or carried in the link).
    File(String),
}

/// Plays `source` on the scenario's broker, or on `profile` if given (keeping the scenario's
/// overrides such as a lowered queue limit), with the scenario's seed or `seed`.
pub fn play(source: &Source, profile: Option<&str>, seed: Option<u64>) -> Result<Shared, String> {
    let text = match source {
        Source::BuiltIn(id) => library::text_by_id(id)
            .ok_or_else(|| format!("no built-in scenario \"{id}\""))?
            .to_string(),
        Source::File(t) => t.clone(),
    };
    let mut sc = Scenario::from_json(&text)
        .map_err(|e| format!("This scenario file cannot be used: {e}"))?;
    if let Some(p) = profile {
        if BrokerProfile::by_id(p).is_none() {
            return Err(format!("unknown broker profile \"{p}\""));
        }
        sc.broker.profile = p.to_string();
    }
    if let Some(n) = seed {
        sc.seed = n;
    }
    Player::new(sc)
        .map(|p| Shared(Arc::new(p)))
        .map_err(|e| format!("This scenario cannot be played: {e}"))
}

fn search() -> String {
    window().location().search().unwrap_or_default()
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let (initial, warnings) = url::parse(&search());
    let first = view::scenario_groups()
        .first()
        .and_then(|(_, v)| v.first())
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let source = RwSignal::new(match (&initial.src, &initial.scenario) {
        (Some(t), _) => Source::File(t.clone()),
        (None, Some(id)) => Source::BuiltIn(id.clone()),
        (None, None) => Source::BuiltIn(first),
    });
    let profile = RwSignal::new(initial.broker.clone());
    let seed = RwSignal::new(initial.seed);
    let step = RwSignal::new(initial.step.unwrap_or(0));
    let embed = initial.embed;
    let panels = initial.panels.clone();
    let panels_for_url = panels.clone();
    let notices = RwSignal::new(warnings);
    let playing = RwSignal::new(false);
    let speed_ms = RwSignal::new(1200u32);
    let help = RwSignal::new(false);
    let filter_client = RwSignal::new(String::new());
    let filter_kind = RwSignal::new(String::new());
    let selected_packet = RwSignal::new(None::<usize>);
    let open_msg = RwSignal::new(None::<String>);

    let player = Memo::new(move |_| play(&source.get(), profile.get().as_deref(), seed.get()));
    let last = Memo::new(move |_| player.with(|p| p.as_ref().map(|p| p.len() - 1).unwrap_or(0)));
    // Clamp the step when the scenario changes; only the first scenario is the link's.
    let asked = StoredValue::new(initial.step);
    Effect::new(move |_| {
        let l = last.get();
        if let Some(s) = asked.get_value().filter(|s| *s > l) {
            notices.update(|n| n.push(format!("The link asks for step {s} but this scenario has {l} steps; showing the last one.")));
        }
        asked.set_value(None);
        if step.get_untracked() > l {
            step.set(l);
        }
    });
    let go = move |i: usize| {
        step.set(i.min(last.get_untracked()));
        selected_packet.set(None);
    };

    // Keep the link in step with the page: `query` at once (Copy link and Embed read it), the
    // address bar shortly after.
    let query = StoredValue::new(String::new());
    let url_timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    Effect::new(move |_| {
        let st = url::UrlState {
            scenario: match source.get() {
                Source::BuiltIn(id) => Some(id),
                Source::File(_) => None,
            },
            src: match source.get() {
                Source::File(t) => Some(t),
                Source::BuiltIn(_) => None,
            },
            step: Some(step.get()),
            broker: profile.get(),
            seed: seed.get(),
            embed,
            panels: panels_for_url.clone(),
        };
        let q = url::format(&st);
        query.set_value(q.clone());
        // Writing the address bar makes Chromium recompute style and layout at once, which
        // doubled the cost of a step; it is written when stepping pauses for a moment.
        url_timer.set_value(None);
        url_timer.set_value(Some(gloo_timers::callback::Timeout::new(300, move || {
            if let Ok(h) = window().history() {
                let path = window().location().pathname().unwrap_or_default();
                let _ = h.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("{path}{q}")),
                );
            }
        })));
        // Tell an embedding page where we are.
        if embed {
            if let Ok(Some(parent)) = window().parent() {
                let msg = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&msg, &"type".into(), &"mqtt-session-lab:step".into());
                let _ = js_sys::Reflect::set(&msg, &"step".into(), &(step.get() as f64).into());
                let _ = js_sys::Reflect::set(&msg, &"last".into(), &(last.get() as f64).into());
                let _ = parent.post_message(&msg, "*");
            }
        }
    });

    // Playback: one step per tick while playing (gloo-timers).
    let ticker = StoredValue::new_local(None::<gloo_timers::callback::Interval>);
    Effect::new(move |_| {
        let on = playing.get();
        let ms = speed_ms.get();
        ticker.set_value(None);
        if on {
            let iv = gloo_timers::callback::Interval::new(ms, move || {
                let s = step.get_untracked();
                if s >= last.get_untracked() {
                    playing.set(false);
                } else {
                    step.set(s + 1);
                }
            });
            ticker.set_value(Some(iv));
        }
    });

    // Keyboard.
    let _keys = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
        if let Some(t) = e.target() {
            use wasm_bindgen::JsCast;
            if let Some(el) = t.dyn_ref::<web_sys::Element>() {
                let tag = el.tag_name().to_ascii_lowercase();
                if matches!(tag.as_str(), "input" | "select" | "textarea") {
                    return;
                }
            }
        }
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        match e.key().as_str() {
            " " => {
                e.prevent_default();
                playing.update(|p| *p = !*p);
            }
            "ArrowRight" => {
                e.prevent_default();
                go(step.get_untracked() + 1);
            }
            "ArrowLeft" => {
                e.prevent_default();
                go(step.get_untracked().saturating_sub(1));
            }
            "Home" => {
                e.prevent_default();
                go(0);
            }
            "End" => {
                e.prevent_default();
                go(last.get_untracked());
            }
            "?" => help.update(|h| *h = !*h),
            "Escape" => {
                help.set(false);
                selected_packet.set(None);
            }
            _ => {}
        }
    });

    // postMessage commands from an embedding course page.
    let _messages = window_event_listener(ev::message, move |e: web_sys::MessageEvent| {
        let data = e.data();
        let get = |k: &str| js_sys::Reflect::get(&data, &k.into()).ok();
        let Some(kind) = get("type").and_then(|v| v.as_string()) else {
            return;
        };
        match kind.as_str() {
            "mqtt-session-lab:goto" => {
                if let Some(n) = get("step")
                    .and_then(|v| v.as_f64())
                    .filter(|n| n.is_finite() && *n >= 0.0)
                {
                    go(n as usize);
                }
            }
            "mqtt-session-lab:play" => playing.set(true),
            "mqtt-session-lab:pause" => playing.set(false),
            _ => {}
        }
    });

    // The data panels are one piece of HTML (src/html.rs); these handlers serve its controls.
    let panel_html = move || {
        player.with(|p| match p {
            Ok(p) => {
                let st = html::PanelState {
                    filter_client: filter_client.get(),
                    filter_kind: filter_kind.get(),
                    packet: selected_packet.get(),
                    open_msg: open_msg.get(),
                    panels: panels.clone(),
                };
                html::panels(p, step.get().min(p.len() - 1), &st)
            }
            Err(e) => format!(
                "<p class=\"error\" role=\"alert\" data-testid=\"error\">{}</p>",
                html::esc(e)
            ),
        })
    };
    let on_panel_click = move |e: ev::MouseEvent| {
        if let Some(id) =
            target_attr(&e, "[data-pkt]", "data-pkt").and_then(|v| v.parse::<usize>().ok())
        {
            selected_packet.set(Some(id));
        } else if let Some(id) = target_attr(&e, "[data-why]", "data-why") {
            open_msg.update(|o| {
                *o = if o.as_deref() == Some(id.as_str()) {
                    None
                } else {
                    Some(id)
                }
            });
        } else if target_attr(&e, "[data-act]", "data-act").as_deref() == Some("close-packet") {
            selected_packet.set(None);
        } else if target_attr(&e, "[data-act]", "data-act").as_deref() == Some("departures") {
            // The overview's count of departures opens the list in the picker.
            if let Some(d) = document().get_element_by_id("departures") {
                let _ = d.set_attribute("open", "");
            }
        }
    };
    // The packet inspector: a byte and its field light up together.
    let light_field = move |e: &web_sys::Event| {
        let Some(el) = target_as::<web_sys::Element>(e) else {
            return;
        };
        let Some(view) = el.closest(".hexview").ok().flatten() else {
            return;
        };
        let f = el
            .closest("[data-f]")
            .ok()
            .flatten()
            .and_then(|x| x.get_attribute("data-f"));
        if let Ok(lit) = view.query_selector_all(".hl") {
            for k in 0..lit.length() {
                if let Some(x) = lit
                    .item(k)
                    .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                {
                    let _ = x.class_list().remove_1("hl");
                }
            }
        }
        if let Some(f) = f.filter(|f| f != "-1") {
            if let Ok(all) = view.query_selector_all(&format!("[data-f=\"{f}\"]")) {
                for k in 0..all.length() {
                    if let Some(x) = all
                        .item(k)
                        .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                    {
                        let _ = x.class_list().add_1("hl");
                    }
                }
            }
        }
    };
    let on_panel_change = move |e: ev::Event| {
        let Some(sel) = target_as::<web_sys::HtmlSelectElement>(&e) else {
            return;
        };
        match sel.name().as_str() {
            "filter-client" => filter_client.set(sel.value()),
            "filter-kind" => filter_kind.set(sel.value()),
            _ => {}
        }
    };

    view! {
        <div class="app" class:embed=embed>
            {(!embed).then(|| view! { <header class="top" inner_html=html::HEADER></header> })}
            <Notices notices=notices />
            {(!embed).then(|| view! { <Picker source=source profile=profile seed=seed step=step player=player notices=notices /> })}
            {(!embed).then(|| view! { <Tools source=source profile=profile seed=seed step=step player=player notices=notices query=query /> })}
            <Controls step=step last=last playing=playing speed_ms=speed_ms help=help go=go />
            <main>
            // A persistent live region: screen readers hear each step's narration.
            <p class="sr" aria-live="polite" data-testid="live">{move || player.with(|p| p.as_ref().map(|p| {
                let rec = p.at(step.get());
                format!("Step {}: {}. {}", rec.index, rec.label, rec.say)
            }).unwrap_or_default())}</p>
            <div class="grid">
                <div class="panels" on:click=on_panel_click on:change=on_panel_change on:mouseover=move |e| light_field(&e) on:focusin=move |e| light_field(&e) inner_html=panel_html></div>
                {move || (!embed).then(|| player.get().ok().map(|p| {
                    let s = step.get().min(p.len() - 1);
                    view! { <SandboxPanel p=p.clone() step=s source=source profile=profile cursor=step /> }
                }))}
            </div>
            </main>
            <div on:click=move |e: ev::MouseEvent| {
                if target_attr(&e, "[data-act=close-help]", "data-act").is_some() {
                    help.set(false);
                }
            } inner_html=move || if help.get() { html::HELP_DIALOG } else { "" }></div>
            {(!embed).then(|| view! { <footer inner_html=html::FOOTER></footer> })}
        </div>
    }
}

/// Messages about the link or a file that could not be used as given.
#[component]
fn Notices(notices: RwSignal<Vec<String>>) -> impl IntoView {
    let body = move || html::notices(&notices.get());
    view! { <div class="notices-box" role="status" on:click=move |_| notices.set(Vec::new()) inner_html=body></div> }
}

/// Scenario and broker choice. The option lists are plain HTML; effects keep the selected
/// values in step with the page state.
#[component]
fn Picker(
    source: RwSignal<Source>,
    profile: RwSignal<Option<String>>,
    seed: RwSignal<Option<u64>>,
    step: RwSignal<usize>,
    player: Memo<Result<Shared, String>>,
    notices: RwSignal<Vec<String>>,
) -> impl IntoView {
    let scenario_sel = NodeRef::<leptos::html::Select>::new();
    let scenario_seed = move || {
        player.with(|p| {
            p.as_ref()
                .map(|p| p.scenario.seed.to_string())
                .unwrap_or_default()
        })
    };
    let broker_sel = NodeRef::<leptos::html::Select>::new();
    let scenario_profile = move || {
        player.with(|p| {
            p.as_ref()
                .map(|p| p.scenario.broker.profile.clone())
                .unwrap_or_default()
        })
    };
    Effect::new(move |_| {
        let v = match source.get() {
            Source::BuiltIn(id) => view::picker_value(&id),
            Source::File(_) => String::new(),
        };
        if let Some(el) = scenario_sel.get() {
            el.set_value(&v);
        }
    });
    Effect::new(move |_| {
        let v = profile.get().unwrap_or_else(scenario_profile);
        if let Some(el) = broker_sel.get() {
            el.set_value(&v);
        }
    });
    view! {
        <section class="picker" aria-label="Scenario and broker">
            <label>
                <span>"Scenario"</span>
                <select node_ref=scenario_sel data-testid="scenario-select" inner_html=html::scenario_options(&view::scenario_groups()) on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if !v.is_empty() {
                        source.set(Source::BuiltIn(v));
                        profile.set(None);
                        seed.set(None);
                        step.set(0);
                    }
                }></select>
            </label>
            <span class="versions" role="group" aria-label="MQTT version" data-testid="version-toggle"
                on:click=move |e| {
                    if let Some(id) = target_attr(&e, "[data-goto]", "data-goto") {
                        source.set(Source::BuiltIn(id));
                    }
                }
                inner_html=move || player.with(|p| p.as_ref().ok().map(|p| {
                    html::version_toggle(p.scenario.version, view::other_version(&p.scenario).as_deref())
                }).unwrap_or_default())
            ></span>
            <label>
                <span>"Broker"</span>
                <select node_ref=broker_sel data-testid="broker-select" inner_html=html::profile_options() on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let own = scenario_profile();
                    profile.set(if v == own { None } else { Some(v) });
                }></select>
            </label>
            <label>
                <span>"Seed"</span>
                <input type="number" min="0" step="1" class="seed" data-testid="seed"
                    title="Seed of every random choice: backoff jitter, broker-assigned client ids"
                    prop:value=scenario_seed
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        match v.trim().parse::<u64>() {
                            Ok(n) => seed.set(Some(n)),
                            Err(_) => {
                                notices.update(|n| n.push(format!("Seed \"{v}\" is not a whole number from 0 to {}; the seed stays {}.", u64::MAX, scenario_seed())));
                                if let Some(el) = target_as::<web_sys::HtmlInputElement>(&ev) {
                                    el.set_value(&scenario_seed());
                                }
                            }
                        }
                    } />
            </label>
            {move || player.with(|p| p.as_ref().ok().map(|p| {
                let s = &p.scenario;
                let verified = matches!(source.get(), Source::BuiltIn(ref id) if library::verified_against_mosquitto(id));
                view! { <p class="summary" data-testid="summary"><strong>{s.title.clone()}</strong>" - "{s.summary.clone()}
                    {verified.then(|| view! { " " <a class="verified" href="CONFORMANCE.md" data-testid="verified" title="Its run on the mosquitto 2.0.11 profile matches a real mosquitto 2.0.11, packet for packet (tests/verify.sh)">"✓ verified against mosquitto 2.0.11"</a> })}
                </p> }
            }))}
            <Departures player=player />
        </section>
    }
}

/// The broker profile's departures from the specification and the choices it makes where the
/// specification leaves one, listed before anything runs (the engine's behaviour catalogue,
/// `session_engine::behaviour`). The `<details>` is not rebuilt by steps or broker switches, so
/// it stays open or closed as the learner left it.
#[component]
fn Departures(player: Memo<Result<Shared, String>>) -> impl IntoView {
    let info = Memo::new(move |_| {
        player.with(|p| {
            p.as_ref()
                .ok()
                .map(|p| {
                    let pr = p.at(0).world.broker.profile();
                    (pr.name.clone(), pr.departures())
                })
                .unwrap_or_default()
        })
    });
    let summary = move || {
        info.with(|(name, l)| {
            if l.is_empty() {
                format!("{name}: every behaviour as the specification states it")
            } else {
                let (d, c) = html::departure_counts(l);
                let plural = |n: usize, one: &str, many: &str| {
                    format!("{n} {}", if n == 1 { one } else { many })
                };
                format!(
                    "How {name} differs from the specification: {}, {}",
                    plural(d, "departure", "departures"),
                    plural(c, "choice of its own", "choices of its own")
                )
            }
        })
    };
    // The list is static text, so one HTML leaf; it is set again only when the profile changes.
    let list = move || info.with(|(_, l)| html::departures_list(l));
    view! {
        <details class="departures" id="departures" data-testid="departures">
            <summary>{summary}</summary>
            <div inner_html=list></div>
        </details>
    }
}

/// Timeline controls.
#[component]
fn Controls(
    step: RwSignal<usize>,
    last: Memo<usize>,
    playing: RwSignal<bool>,
    speed_ms: RwSignal<u32>,
    help: RwSignal<bool>,
    go: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    // One handler for the buttons (they carry data-act), one for the scrubber and speed.
    let on_click =
        move |e: ev::MouseEvent| match target_attr(&e, "[data-act]", "data-act").as_deref() {
            Some("first") => go(0),
            Some("prev") => go(step.get_untracked().saturating_sub(1)),
            Some("next") => go(step.get_untracked() + 1),
            Some("last") => go(last.get_untracked()),
            Some("play") => playing.update(|p| *p = !*p),
            Some("help") => help.update(|h| *h = !*h),
            _ => {}
        };
    let on_input = move |e: ev::Event| {
        if let Some(el) = target_as::<web_sys::HtmlInputElement>(&e) {
            if let Ok(v) = el.value().parse::<usize>() {
                go(v);
            }
        } else if let Some(el) = target_as::<web_sys::HtmlSelectElement>(&e) {
            if let Ok(v) = el.value().parse::<u32>() {
                speed_ms.set(v);
            }
        }
    };
    view! {
        <nav class="controls" aria-label="Steps" on:click=on_click on:input=on_input>
            <span class="buttons" inner_html=html::NAV_BUTTONS></span>
            <button data-act="play" data-testid="play" title="Play / pause (space)" aria-pressed=move || playing.get().to_string()>
                {move || if playing.get() { "❚❚ Pause" } else { "▶ Play" }}
            </button>
            <input type="range" class="scrubber" data-testid="scrubber" aria-label="Step" min="0" max=move || last.get().to_string() prop:value=move || step.get().to_string() />
            <span class="stepno" data-testid="step-no">{move || format!("Step {} of {}", step.get(), last.get())}</span>
            <label class="speed" inner_html=html::SPEED></label>
            <button data-act="help" data-testid="help" title="Keyboard shortcuts (?)">"?"</button>
        </nav>
    }
}

/// The event's target as an element of type `T` (an input, a select, a form, ...).
fn target_as<T: wasm_bindgen::JsCast>(e: &web_sys::Event) -> Option<T> {
    use wasm_bindgen::JsCast;
    e.target().and_then(|t| t.dyn_into::<T>().ok())
}

/// The value of attribute `name` on the closest element to the event's target that matches
/// `selector`: how the delegated handlers of the HTML panels find what was clicked.
fn target_attr(e: &web_sys::Event, selector: &str, name: &str) -> Option<String> {
    target_as::<web_sys::Element>(e)?
        .closest(selector)
        .ok()
        .flatten()?
        .get_attribute(name)
}

/// The text of the scenario being shown.
fn source_text(source: &Source) -> String {
    match source {
        Source::BuiltIn(id) => library::text_by_id(id).unwrap_or_default().to_string(),
        Source::File(t) => t.clone(),
    }
}

/// Offers `text` as a file download.
fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .map_err(|_| "the browser refused to build the file".to_string())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser refused to offer the file".to_string())?;
    let doc = document();
    let a = doc
        .create_element("a")
        .map_err(|_| "no document".to_string())?
        .unchecked_into::<web_sys::HtmlAnchorElement>();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

fn copy_text(text: String) {
    let clip = window().navigator().clipboard();
    let _ = clip.write_text(&text);
}

/// Import, save, export, share and embed. The buttons are plain HTML with `data-act`; one
/// click handler and one change handler serve them.
#[component]
fn Tools(
    source: RwSignal<Source>,
    profile: RwSignal<Option<String>>,
    seed: RwSignal<Option<u64>>,
    step: RwSignal<usize>,
    player: Memo<Result<Shared, String>>,
    notices: RwSignal<Vec<String>>,
    query: StoredValue<String>,
) -> impl IntoView {
    let embed_code = RwSignal::new(None::<String>);
    let status = RwSignal::new(String::new());
    let file_stem = move || {
        player.with_untracked(|p| {
            p.as_ref()
                .map(|p| p.scenario.id.clone())
                .unwrap_or_else(|_| "scenario".into())
        })
    };
    let link = move || {
        let loc = window().location();
        format!(
            "{}{}{}",
            loc.origin().unwrap_or_default(),
            loc.pathname().unwrap_or_default(),
            query.get_value()
        )
    };
    let on_change = move |ev: ev::Event| {
        let Some(input) = target_as::<web_sys::HtmlInputElement>(&ev) else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|v| v.as_string())
            {
                None => notices
                    .update(|n| n.push(format!("{name}: the file could not be read as text."))),
                Some(text) => match Scenario::from_json(&text) {
                    Err(e) => notices.update(|n| n.push(format!("{name} was not imported: {e}"))),
                    Ok(_) => {
                        source.set(Source::File(text));
                        profile.set(None);
                        seed.set(None);
                        step.set(0);
                        status.set(format!("Imported {name}."));
                    }
                },
            }
        });
    };
    let on_click = move |e: ev::MouseEvent| {
        let Some(act) = target_attr(&e, "[data-act]", "data-act") else {
            return;
        };
        let p = player.get_untracked();
        let at = step.get_untracked();
        let result = match act.as_str() {
            "save" => sandbox::export(
                &source_text(&source.get_untracked()),
                profile.get_untracked().as_deref(),
            )
            .and_then(|t| download(&format!("{}.json", file_stem()), "application/json", &t))
            .map(|_| "Scenario file saved.".to_string()),
            "svg" | "mermaid" => p.and_then(|p| {
                let (ext, mime, text, what) = if act == "svg" {
                    ("svg", "image/svg+xml", export::svg(&p, at), "SVG")
                } else {
                    ("mmd", "text/plain", export::mermaid(&p, at), "Mermaid text")
                };
                download(&format!("{}-sequence.{ext}", file_stem()), mime, &text)
                    .map(|_| format!("Sequence diagram saved as {what}."))
            }),
            "link" => {
                copy_text(link());
                Ok("Link copied: it opens this scenario at this step.".to_string())
            }
            "embed" => {
                let title = player.with_untracked(|p| {
                    p.as_ref()
                        .map(|p| p.scenario.title.clone())
                        .unwrap_or_default()
                });
                embed_code.update(|c| {
                    *c = if c.is_some() {
                        None
                    } else {
                        Some(html::embed_snippet(&link(), &title))
                    }
                });
                Ok(String::new())
            }
            "copy-embed" => {
                copy_text(embed_code.get_untracked().unwrap_or_default());
                Ok("Embed code copied.".to_string())
            }
            _ => Ok(String::new()),
        };
        match result {
            Ok(m) => status.set(m),
            Err(m) => notices.update(|n| n.push(format!("That did not work: {m}"))),
        }
    };
    view! {
        <section class="tools" aria-label="Files and sharing" on:click=on_click on:change=on_change>
            <div class="tools-row" inner_html=html::TOOLS></div>
            <span class="status" role="status">{move || status.get()}</span>
            {move || embed_code.get().map(|code| view! { <div class="embed-dialog" data-testid="embed-dialog" inner_html=html::embed_dialog(&code)></div> })}
        </section>
    }
}

/// Take over from the current step: add a step (or a client) and the history branches there.
/// The forms are plain HTML ([`sandbox::form_html`]); one submit handler reads them back.
#[component]
fn SandboxPanel(
    p: Shared,
    step: usize,
    source: RwSignal<Source>,
    profile: RwSignal<Option<String>>,
    cursor: RwSignal<usize>,
) -> impl IntoView {
    let clients = p.client_names();
    let played = p.clone();
    let error = RwSignal::new(String::new());
    let later = p.len() - 1 - step;
    let on_change = move |e: ev::Event| {
        let Some(sel) = target_as::<web_sys::HtmlSelectElement>(&e) else {
            return;
        };
        if sel.name() == "action" {
            if let Some(form) = sel.form() {
                let _ = form.set_attribute("data-action", &sel.value());
            }
        }
    };
    let on_submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let Some(form) = target_as::<web_sys::HtmlFormElement>(&e) else {
            return;
        };
        let Ok(data) = web_sys::FormData::new_with_form(&form) else {
            return;
        };
        let mut pairs = Vec::new();
        if let Ok(iter) = js_sys::try_iter(&data) {
            for entry in iter.into_iter().flatten().flatten() {
                let arr = js_sys::Array::from(&entry);
                pairs.push((
                    arr.get(0).as_string().unwrap_or_default(),
                    arr.get(1).as_string().unwrap_or_default(),
                ));
            }
        }
        // The scenario as played: the broker and seed chosen in the page are written into it.
        let text = played.scenario.to_json();
        let res = if form.get_attribute("data-kind").as_deref() == Some("client") {
            let name = pairs
                .iter()
                .find(|(k, _)| k == "new_client")
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
            let say = format!(
                "{{\"say\": {}}}",
                serde_json::to_string(&format!("{name} joins the sandbox.")).unwrap_or_default()
            );
            sandbox::add_client(&text, &name, "", "5.0")
                .and_then(|t| sandbox::branch(&t, step, &say, None))
        } else {
            sandbox::step_json(&sandbox::form_from_pairs(&pairs))
                .and_then(|s| sandbox::branch(&text, step, &s, None))
        };
        match res {
            Ok(t) => {
                error.set(String::new());
                source.set(Source::File(t));
                profile.set(None);
                cursor.set(step + 1);
            }
            Err(m) => error.set(m),
        }
    };
    view! {
        <section class="panel sandbox" aria-label="Sandbox" data-testid="sandbox">
            <h3>"Sandbox: take over from step "{step}</h3>
            <p class="hint">{if later > 0 { format!("Adding a step here branches the history: the {later} later step(s) of this scenario are replaced by yours.") } else { "Adding a step continues the scenario from here.".to_string() }}</p>
            <div on:change=on_change on:submit=on_submit inner_html=sandbox::form_html(&clients)></div>
            <div inner_html=move || error.with(|e| if e.is_empty() { String::new() } else { format!("<p class=\"error\" role=\"alert\" data-testid=\"sb-error\">{}</p>", html::esc(e)) })></div>
        </section>
    }
}
