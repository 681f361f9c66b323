//! The MQTT Session Lab page: renders the session engine's scenarios in the browser.
//!
//! A thin layer: view-models in [`view`] turn engine state into rows (tested natively), [`url`]
//! keeps the page state in the link; the components here only render and send commands.

pub mod url;
pub mod view;

use leptos::ev;
use leptos::prelude::*;
use session_engine::{library, BrokerProfile, Player, Scenario};
use std::sync::Arc;
use view::LifeState;

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
/// overrides such as a lowered queue limit).
pub fn play(source: &Source, profile: Option<&str>) -> Result<Shared, String> {
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
    let selected_msg = RwSignal::new(None::<String>);

    let player = Memo::new(move |_| play(&source.get(), profile.get().as_deref()));
    let last = Memo::new(move |_| player.with(|p| p.as_ref().map(|p| p.len() - 1).unwrap_or(0)));
    // Clamp the step when the scenario changes.
    Effect::new(move |_| {
        let l = last.get();
        if step.get_untracked() > l {
            if initial.step.is_some_and(|s| s > l) {
                notices.update(|n| n.push(format!("The link asks for step {} but this scenario has {l} steps; showing the last one.", initial.step.unwrap_or(0))));
            }
            step.set(l);
        }
    });
    let go = move |i: usize| {
        step.set(i.min(last.get_untracked()));
        selected_packet.set(None);
    };

    // Keep the link in step with the page.
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
            embed,
            panels: panels_for_url.clone(),
        };
        let q = url::format(&st);
        if let Ok(h) = window().history() {
            let _ = h.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&format!(
                    "{}{}",
                    window().location().pathname().unwrap_or_default(),
                    q
                )),
            );
        }
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
                selected_msg.set(None);
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

    let show = move |panel: &str| panels.as_ref().is_none_or(|p| p.iter().any(|x| x == panel));
    let (show_life, show_sessions, show_packets, show_messages, show_broker) = (
        show("lifecycle"),
        show("sessions"),
        show("packets"),
        show("messages"),
        show("broker"),
    );

    view! {
        <div class="app" class:embed=embed>
            {(!embed).then(|| view! {
                <header class="top">
                    <h1>"MQTT Session Lab"</h1>
                    <p class="tagline">"Step through how MQTT brokers keep, resume, expire and hand over sessions - every rule cited."</p>
                </header>
            })}
            <Notices notices=notices />
            {(!embed).then(|| view! { <Picker source=source profile=profile step=step player=player /> })}
            <Controls step=step last=last playing=playing speed_ms=speed_ms help=help go=go />
            {move || match player.get() {
                Err(e) => view! { <p class="error" role="alert" data-testid="error">{e}</p> }.into_any(),
                Ok(p) => {
                    let s = step.get().min(p.len() - 1);
                    view! {
                        <Narration p=p.clone() step=s />
                        <div class="grid">
                            {show_life.then(|| view! { <LifecyclePanel p=p.clone() step=s /> })}
                            {show_sessions.then(|| view! { <SessionsPanel p=p.clone() step=s /> })}
                            {show_packets.then(|| view! { <PacketsPanel p=p.clone() step=s filter_client=filter_client filter_kind=filter_kind selected=selected_packet /> })}
                            {show_messages.then(|| view! { <MessagesPanel p=p.clone() step=s selected=selected_msg /> })}
                            {show_broker.then(|| view! { <BrokerPanel p=p.clone() step=s /> })}
                        </div>
                    }.into_any()
                }
            }}
            <Show when=move || help.get()>
                <HelpOverlay help=help />
            </Show>
            {(!embed).then(|| view! {
                <footer>"Every rule shown cites the MQTT 3.1.1 / 5.0 statement or the named broker behaviour it follows. Keys: space play/pause, ← → step, Home/End, ? help."</footer>
            })}
        </div>
    }
}

/// Messages about the link or a file that could not be used as given.
#[component]
fn Notices(notices: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <Show when=move || !notices.with(|n| n.is_empty())>
            <div class="notices" role="status" data-testid="notices">
                <ul>{move || notices.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                <button on:click=move |_| notices.set(Vec::new())>"Dismiss"</button>
            </div>
        </Show>
    }
}

/// Scenario and broker choice.
#[component]
fn Picker(
    source: RwSignal<Source>,
    profile: RwSignal<Option<String>>,
    step: RwSignal<usize>,
    player: Memo<Result<Shared, String>>,
) -> impl IntoView {
    let groups = view::scenario_groups();
    let selected_id = move || match source.get() {
        Source::BuiltIn(id) => id,
        Source::File(_) => String::new(),
    };
    let options = groups
        .into_iter()
        .map(|(topic, items)| {
            view! {
                <optgroup label=topic>
                    {items.into_iter().map(|s| {
                        let id = s.id.clone();
                        let label = format!("{} (MQTT {})", s.title, s.version);
                        view! { <option value=id.clone() selected=move || selected_id() == id>{label}</option> }
                    }).collect_view()}
                </optgroup>
            }
        })
        .collect_view();
    let profiles = BrokerProfile::all();
    let scenario_profile = move || {
        player.with(|p| {
            p.as_ref()
                .map(|p| p.scenario.broker.profile.clone())
                .unwrap_or_default()
        })
    };
    let profile_options = profiles
        .into_iter()
        .map(|p| {
            let id = p.id.clone();
            let id2 = p.id.clone();
            view! { <option value=id selected=move || profile.get().unwrap_or_else(scenario_profile) == id2>{p.name.clone()}</option> }
        })
        .collect_view();
    view! {
        <section class="picker" aria-label="Scenario and broker">
            <label>
                <span>"Scenario"</span>
                <select data-testid="scenario-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if !v.is_empty() {
                        source.set(Source::BuiltIn(v));
                        profile.set(None);
                        step.set(0);
                    }
                }>
                    {move || matches!(source.get(), Source::File(_)).then(|| view! { <option value="" selected=true>"(scenario from a file or link)"</option> })}
                    {options}
                </select>
            </label>
            <label>
                <span>"Broker"</span>
                <select data-testid="broker-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let own = scenario_profile();
                    profile.set(if v == own { None } else { Some(v) });
                }>
                    {profile_options}
                </select>
            </label>
            {move || player.with(|p| p.as_ref().ok().map(|p| {
                let s = &p.scenario;
                view! { <p class="summary" data-testid="summary"><strong>{s.title.clone()}</strong>" - "{s.summary.clone()}</p> }
            }))}
        </section>
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
    view! {
        <nav class="controls" aria-label="Steps">
            <button data-testid="first" title="Start (Home)" on:click=move |_| go(0)>"|◀"<span class="sr">" Start"</span></button>
            <button data-testid="prev" title="Step back (←)" on:click=move |_| go(step.get().saturating_sub(1))>"◀"<span class="sr">" Back"</span></button>
            <button data-testid="play" title="Play / pause (space)" aria-pressed=move || playing.get().to_string() on:click=move |_| playing.update(|p| *p = !*p)>
                {move || if playing.get() { "❚❚ Pause" } else { "▶ Play" }}
            </button>
            <button data-testid="next" title="Step forward (→)" on:click=move |_| go(step.get() + 1)>"▶"<span class="sr">" Forward"</span></button>
            <button data-testid="last" title="End (End)" on:click=move |_| go(last.get())>"▶|"<span class="sr">" End"</span></button>
            <input type="range" class="scrubber" data-testid="scrubber" aria-label="Step" min="0" max=move || last.get().to_string() prop:value=move || step.get().to_string()
                on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() { go(v) } } />
            <span class="stepno" data-testid="step-no">{move || format!("Step {} of {}", step.get(), last.get())}</span>
            <label class="speed">
                <span>"Speed"</span>
                <select aria-label="Playback speed" on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u32>() { speed_ms.set(v) } }>
                    <option value="2500">"slow"</option>
                    <option value="1200" selected=true>"normal"</option>
                    <option value="500">"fast"</option>
                </select>
            </label>
            <button data-testid="help" title="Keyboard shortcuts (?)" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
        </nav>
    }
}

/// The step's narration and the rules behind it (an ARIA live region).
#[component]
fn Narration(p: Shared, step: usize) -> impl IntoView {
    let n = view::narration(&p, step);
    view! {
        <section class="narration" aria-live="polite" data-testid="narration">
            <h2><span class="t">{n.time.clone()}</span>" "{n.label.clone()}</h2>
            {(!n.say.is_empty()).then(|| view! { <p class="say">{n.say.clone()}</p> })}
            {(!n.rules.is_empty()).then(|| view! {
                <details class="rules" open=true>
                    <summary>"Why: the rules applied in this step"</summary>
                    <ul>{n.rules.iter().map(|(t, c)| view! { <li>{t.clone()}" "<span class="cite">{c.clone()}</span></li> }).collect_view()}</ul>
                </details>
            })}
            {n.deviations.iter().map(|(rule, spec, broker)| view! {
                <p class="deviation" data-testid="deviation"><strong>"Spec vs broker "</strong><span class="cite">{rule.clone()}</span>": the specification says "{spec.clone()}"; "{broker.clone()}"."</p>
            }).collect_view()}
        </section>
    }
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

/// (from, to, label, perpendicular offset for edges that share a pair of nodes)
const EDGES: [(LifeState, LifeState, &str, f64); 9] = [
    (
        LifeState::Disconnected,
        LifeState::Connecting,
        "CONNECT",
        -7.0,
    ),
    (
        LifeState::Connecting,
        LifeState::Disconnected,
        "refused",
        -7.0,
    ),
    (
        LifeState::Connecting,
        LifeState::Connected,
        "CONNACK 0x00",
        0.0,
    ),
    (
        LifeState::Connected,
        LifeState::Stored,
        "closed, expiry > 0",
        -9.0,
    ),
    (
        LifeState::Stored,
        LifeState::Connected,
        "resumed (SP 1)",
        -9.0,
    ),
    (
        LifeState::Connected,
        LifeState::Ended,
        "closed, expiry 0",
        0.0,
    ),
    (
        LifeState::Stored,
        LifeState::Ended,
        "expired / Clean Start",
        0.0,
    ),
    (LifeState::Ended, LifeState::Disconnected, "", 0.0),
    (
        LifeState::Connected,
        LifeState::Disconnected,
        "taken over",
        0.0,
    ),
];

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

/// The session state machine with each client's place, and the transitions of this step.
#[component]
fn LifecyclePanel(p: Shared, step: usize) -> impl IntoView {
    let life = view::lifecycle(&p, step);
    let version = p.scenario.version;
    let moved: Vec<(LifeState, LifeState)> = life
        .iter()
        .filter(|l| l.transition.is_some())
        .map(|l| (l.previous, l.state))
        .collect();
    let edges = EDGES
        .iter()
        .map(|(a, b, label, off)| {
            let (ax, ay) = pos(*a);
            let (bx, by) = pos(*b);
            let (dx, dy) = (bx - ax, by - ay);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (nx, ny) = (-dy / len * off, dx / len * off);
            let (x1, y1) = border(ax, ay, dx, dy);
            let (x2, y2) = border(bx, by, -dx, -dy);
            let (x1, y1, x2, y2) = (x1 + nx, y1 + ny, x2 + nx, y2 + ny);
            // A step can cross two edges (CONNECT and CONNACK in one step): light the path.
            let hot = moved.iter().any(|(f, t)| {
                let direct = EDGES.iter().any(|(x, y, _, _)| x == f && y == t);
                (f == a && t == b)
                    || (!direct
                        && ((f == a && *b == LifeState::Connecting)
                            || (*a == LifeState::Connecting && t == b)))
            });
            if *a == LifeState::Connected && *b == LifeState::Disconnected {
                // Takeover: an arc over the top row.
                let d = format!(
                    "M {} {} Q {} {} {} {}",
                    ax,
                    ay - NODE_H / 2.0 - 2.0,
                    (ax + bx) / 2.0,
                    0.0,
                    bx + 30.0,
                    by - NODE_H / 2.0 - 4.0
                );
                return view! {
                    <g class="edge" class:hot=hot>
                        <path d=d fill="none" marker-end="url(#arrow)" />
                        <text x=(ax + bx) / 2.0 y="24" text-anchor="middle">{*label}</text>
                    </g>
                }
                .into_any();
            }
            let (mx, my) = ((x1 + x2) / 2.0 + nx * 1.2, (y1 + y2) / 2.0 + ny * 1.2);
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
            view! {
                <g class="edge" class:hot=hot>
                    <line x1=x1 y1=y1 x2=x2 y2=y2 marker-end="url(#arrow)" />
                    <text x=lx y=ly text-anchor=anchor>{*label}</text>
                </g>
            }
            .into_any()
        })
        .collect_view();
    let nodes = NODE_POS
        .iter()
        .map(|(s, x, y)| {
            let here: Vec<&view::Lifecycle> = life.iter().filter(|l| l.state == *s).collect();
            let lit = !here.is_empty();
            let more = here.len().saturating_sub(3);
            let chips = here
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, l)| {
                    let cy = y + 4.0 + i as f64 * 15.0;
                    view! { <text class="chip" x=*x y=cy text-anchor="middle">{short(&l.client)}</text> }
                })
                .collect_view();
            view! {
                <g class=format!("node {}", s.key()) class:lit=lit>
                    <rect x=x - NODE_W / 2.0 y=y - NODE_H / 2.0 width=NODE_W height=NODE_H rx="8" />
                    <text class="label" x=*x y=y - 20.0 text-anchor="middle">{s.short_label()}</text>
                    {chips}
                    {(more > 0).then(|| view! { <text class="chip more" x=x + NODE_W / 2.0 - 6.0 y=y + 34.0 text-anchor="end">{format!("+{more}")}</text> })}
                </g>
            }
        })
        .collect_view();
    view! {
        <section class="panel lifecycle" aria-label="Session lifecycle" data-testid="lifecycle">
            <h3>"Session lifecycle " <small>{format!("(MQTT {})", version.label())}</small></h3>
            <svg viewBox="0 0 800 310" role="img" aria-labelledby="life-text">
                <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" /></marker></defs>
                {edges}
                {nodes}
            </svg>
            <ul id="life-text" class="life-text" data-testid="lifecycle-text">
                {life.into_iter().map(|l| {
                    let changed = l.transition.is_some();
                    view! {
                        <li class:changed=changed>
                            <strong>{l.client.clone()}</strong>" ("{l.client_id.clone()}"): "
                            {if changed && l.previous != l.state { format!("{} → {}", l.previous.label(version), l.state.label(version)) } else { l.state.label(version).to_string() }}
                            {l.transition.map(|t| view! { <span class="why">" - "{t}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

fn short(name: &str) -> String {
    if name.chars().count() <= 12 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(11).collect::<String>())
    }
}

fn msg_table(rows: Vec<view::MsgRow>, empty: &'static str) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty">{empty}</p> }.into_any();
    }
    view! {
        <table class="msgs">
            <thead><tr><th>"msg"</th><th>"topic"</th><th>"QoS"</th><th>"id"</th><th>"state"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <td>{r.msg}</td>
                        <td title=r.payload.clone()>{r.topic}</td>
                        <td><span class=format!("qos q{}", r.qos)>{format!("QoS {}", r.qos)}</span></td>
                        <td>{r.packet_id}</td>
                        <td>{r.state}{r.expiry.map(|e| view! { <span class="exp">" · expiry "{e}</span> })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Both ends of every session, side by side.
#[component]
fn SessionsPanel(p: Shared, step: usize) -> impl IntoView {
    let pairs = view::session_pairs(&p, step);
    view! {
        <section class="panel sessions" aria-label="Both ends of every session" data-testid="sessions">
            <h3>"Both ends of every session"</h3>
            {pairs.into_iter().map(|pair| {
                let c = pair.client;
                let b = pair.broker;
                view! {
                    <article class="pair" data-testid=format!("pair-{}", c.name)>
                        <div class="side client" class:online=c.online>
                            <h4>{c.name.clone()}" "<small>{format!("client · id \"{}\" · MQTT {}", c.client_id, c.version)}</small></h4>
                            <p>{c.connection.clone()}{c.withholding.then_some(" · withholding acknowledgements")}</p>
                            <p>{format!("received {} message(s){}", c.received, if c.duplicates > 0 { format!(", {} duplicate(s)", c.duplicates) } else { String::new() })}</p>
                            <h5>"Own publishes awaiting ack"</h5>
                            {msg_table(c.outgoing, "none")}
                            {(!c.incoming_qos2.is_empty()).then(|| view! { <p>"QoS 2 received, waiting for PUBREL: ids "{c.incoming_qos2.join(", ")}</p> })}
                            {c.buffer_capacity.map(|cap| view! { <h5>{format!("Offline buffer ({} of {cap})", c.buffer.len())}</h5> })}
                            {(c.buffer_capacity.is_some()).then(|| msg_table(c.buffer, "empty"))}
                        </div>
                        <div class="side broker" class:absent=!b.present>
                            <h4>"Broker session "<small>{format!("\"{}\"", b.client_id)}</small></h4>
                            <p data-testid="broker-state">{b.state.clone()}{(!b.expiry.is_empty()).then(|| format!(" · Session Expiry Interval {}", b.expiry))}</p>
                            {b.present.then(|| view! {
                                <h5>"Subscriptions"</h5>
                                {if b.subscriptions.is_empty() { view! { <p class="empty">"none"</p> }.into_any() } else {
                                    view! { <ul class="subs">{b.subscriptions.into_iter().map(|(f, o)| view! { <li><code>{f}</code>" "{o}</li> }).collect_view()}</ul> }.into_any()
                                }}
                                <h5>{format!("Queued ({})", b.queue.len())}</h5>
                                {msg_table(b.queue, "empty")}
                                <h5>{format!("In flight ({})", b.inflight.len())}</h5>
                                {msg_table(b.inflight, "none")}
                                {(!b.awaiting_pubrel.is_empty()).then(|| view! { <p>"Inbound QoS 2 waiting for PUBREL: ids "{b.awaiting_pubrel.join(", ")}</p> })}
                                <p>"Will: "{b.will.unwrap_or_else(|| "none".into())}</p>
                                <p class="bytes">{format!("{} bytes held", b.bytes)}</p>
                            })}
                        </div>
                    </article>
                }
            }).collect_view()}
        </section>
    }
}

const PACKET_KINDS: [&str; 14] = [
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
];

/// The packet sequence with filters and an inspector.
#[component]
fn PacketsPanel(
    p: Shared,
    step: usize,
    filter_client: RwSignal<String>,
    filter_kind: RwSignal<String>,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let clients: Vec<String> = p
        .at(0)
        .world
        .clients
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let p2 = p.clone();
    let rows = move || view::packet_rows(&p2, step, &filter_client.get(), &filter_kind.get());
    let p3 = p.clone();
    view! {
        <section class="panel packets" aria-label="Packets" data-testid="packets">
            <h3>"Packets"</h3>
            <div class="filters">
                <label><span>"Client"</span>
                    <select on:change=move |ev| filter_client.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        {clients.into_iter().map(|c| view! { <option value=c.clone() selected=move || filter_client.get() == c>{c.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label><span>"Type"</span>
                    <select on:change=move |ev| filter_kind.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        {PACKET_KINDS.iter().map(|k| view! { <option value=*k selected=move || filter_kind.get() == *k>{*k}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <ol class="seq" data-testid="packet-list">
                {move || {
                    let rows = rows();
                    let n = rows.len();
                    // Long runs stay fast: only the newest 300 rows are drawn.
                    rows.into_iter().skip(n.saturating_sub(300)).map(|r| {
                        let id = r.id;
                        view! {
                            <li class:current=r.current class:lost=r.lost class:up=r.to_broker>
                                <button class="pkt" aria-pressed=move || (selected.get() == Some(id)).to_string() on:click=move |_| selected.set(Some(id))>
                                    <span class="t">{r.time}</span>
                                    <span class="who">{if r.to_broker { format!("{} → broker", r.client) } else { format!("broker → {}", r.client) }}</span>
                                    <span class="sum">{r.summary}</span>
                                    {r.lost.then_some(" ✗ lost")}
                                </button>
                            </li>
                        }
                    }).collect_view()
                }}
            </ol>
            {move || selected.get().and_then(|id| view::packet_fields(&p3, id)).map(|(title, fields)| view! {
                <div class="inspector" data-testid="inspector" role="region" aria-label="Packet fields">
                    <h4>{title}</h4>
                    <table><tbody>{fields.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view()}</tbody></table>
                    <button on:click=move |_| selected.set(None)>"Close"</button>
                </div>
            })}
        </section>
    }
}

/// Every message with its fate, and "why?".
#[component]
fn MessagesPanel(p: Shared, step: usize, selected: RwSignal<Option<String>>) -> impl IntoView {
    let fates = view::message_fates(&p, step);
    view! {
        <section class="panel messages" aria-label="Messages and their fate" data-testid="messages">
            <h3>"Messages"</h3>
            {if fates.is_empty() { view! { <p class="empty">"No application messages yet."</p> }.into_any() } else {
                view! {
                    <ul class="fates">
                        {fates.into_iter().map(|f| {
                            let id = f.msg.clone();
                            let id2 = f.msg.clone();
                            let id3 = f.msg.clone();
                            let open = move || selected.get().as_deref() == Some(id.as_str());
                            let expanded = move || (selected.get().as_deref() == Some(id3.as_str())).to_string();
                            let why = f.why.clone();
                            view! {
                                <li class:trouble=f.trouble>
                                    <span class="mid">{f.msg.clone()}</span>" "<code>{f.topic.clone()}</code>" \""{f.payload.clone()}"\" from "{f.from.clone()}": "
                                    <strong class="outcome">{f.outcome.clone()}</strong>" "
                                    <button class="why-btn" data-testid=format!("why-{}", f.msg) aria-expanded=expanded
                                        on:click=move |_| selected.update(|s| *s = if s.as_deref() == Some(id2.as_str()) { None } else { Some(id2.clone()) })>"Why?"</button>
                                    <Show when=open>
                                        <ol class="chain">
                                            {why.iter().map(|(t, text, cite)| view! { <li><span class="t">{t.clone()}</span>" "{text.clone()}{(!cite.is_empty()).then(|| view! { <span class="cite">{cite.clone()}</span> })}</li> }).collect_view()}
                                        </ol>
                                    </Show>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// Every session on the broker against the profile's limits.
#[component]
fn BrokerPanel(p: Shared, step: usize) -> impl IntoView {
    let o = view::overview(&p, step);
    view! {
        <section class="panel broker" aria-label="Broker overview" data-testid="broker">
            <h3>"Broker: "{o.broker.clone()}</h3>
            <p class="source">{o.source.clone()}</p>
            <table class="limits"><tbody>{o.limits.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view()}</tbody></table>
            <table class="all-sessions">
                <thead><tr><th>"client id"</th><th>"state"</th><th>"queued"</th><th>"in flight"</th><th>"bytes"</th></tr></thead>
                <tbody>{o.rows.into_iter().map(|(id, st, q, i, b)| view! { <tr><td>{id}</td><td>{st}</td><td>{q}</td><td>{i}</td><td>{b}</td></tr> }).collect_view()}</tbody>
                <tfoot><tr><th colspan="4">"total"</th><td>{o.total_bytes}</td></tr></tfoot>
            </table>
        </section>
    }
}

#[component]
fn HelpOverlay(help: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" data-testid="help-overlay">
            <div class="dialog">
                <h2>"Keyboard shortcuts"</h2>
                <table><tbody>
                    <tr><th><kbd>"space"</kbd></th><td>"play / pause"</td></tr>
                    <tr><th><kbd>"→"</kbd></th><td>"next step"</td></tr>
                    <tr><th><kbd>"←"</kbd></th><td>"previous step"</td></tr>
                    <tr><th><kbd>"Home"</kbd>" / "<kbd>"End"</kbd></th><td>"first / last step"</td></tr>
                    <tr><th><kbd>"?"</kbd></th><td>"this help"</td></tr>
                    <tr><th><kbd>"Esc"</kbd></th><td>"close panels and this help"</td></tr>
                </tbody></table>
                <button autofocus=true on:click=move |_| help.set(false)>"Close"</button>
            </div>
        </div>
    }
}
