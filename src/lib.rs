//! The MQTT Session Lab page: renders the session engine's scenarios in the browser.
//!
//! A thin layer: view-models in [`view`] turn engine state into rows (tested natively), [`url`]
//! keeps the page state in the link, [`state`] holds the page's signals (provided as context);
//! the components here and in [`panels`] only render and send commands.

pub mod export;
pub mod html;
pub mod inflate;
pub mod panels;
pub mod sandbox;
pub mod state;
pub mod url;
pub mod view;

pub use state::Source;
use state::{page, Page};

use leptos::ev;
use leptos::prelude::*;
use session_engine::{library, BrokerProfile, Player, Scenario, Version};
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
    let player = Memo::new(move |_| play(&source.get(), profile.get().as_deref(), seed.get()));
    let last = Memo::new(move |_| player.with(|p| p.as_ref().map(|p| p.len() - 1).unwrap_or(0)));
    let at = Memo::new(move |_| step.get().min(last.get()));
    let narration = Memo::new(move |_| {
        let s = at.get();
        player.with(|p| p.as_ref().ok().map(|p| view::narration(p, s)))
    });
    let pg = Page {
        source,
        profile,
        seed,
        step,
        player,
        last,
        at,
        narration,
        notices: RwSignal::new(warnings),
        playing: RwSignal::new(false),
        speed_ms: RwSignal::new(1200u32),
        help: RwSignal::new(false),
        filter_client: RwSignal::new(String::new()),
        filter_kind: RwSignal::new(String::new()),
        show_pings: RwSignal::new(false),
        packet: RwSignal::new(None),
        open_why: RwSignal::new(Vec::new()),
        embed: initial.embed,
        panels: StoredValue::new(initial.panels.clone()),
        push_history: StoredValue::new(false),
    };
    provide_context(pg);
    let embed = pg.embed;

    // Clamp the step when the scenario changes; only the first scenario is the link's.
    let asked = StoredValue::new(initial.step);
    Effect::new(move |_| {
        let l = last.get();
        if let Some(s) = asked.get_value().filter(|s| *s > l) {
            pg.notices.update(|n| n.push(format!("The link asks for step {s} but this scenario has {l} steps; showing the last one.")));
        }
        asked.set_value(None);
        if step.get_untracked() > l {
            step.set(l);
        }
    });
    // A packet belongs to one played scenario: a new one closes the inspector.
    Effect::new(move |prev: Option<()>| {
        player.track();
        if prev.is_some() {
            pg.packet.set(None);
        }
    });

    // Keep the link in step with the page: `query` at once (Copy link and Embed read it), the
    // address bar shortly after.
    let query = StoredValue::new(String::new());
    // The link parameter of a scenario file, packed once per file.
    // The browser's own DEFLATE (CompressionStream) packs it: a compressor compiled into the
    // page would cost 18 KB gzip. Until it is done the link carries no file.
    let packed = RwSignal::new(None::<Result<String, usize>>);
    let packing = StoredValue::new(0u64);
    Effect::new(move |_| match source.get() {
        Source::BuiltIn(_) => packed.set(None),
        Source::File(t) if t.len() > url::MAX_LINK_SCENARIO => packed.set(Some(Err(t.len()))),
        Source::File(t) => {
            let n = packing.get_value() + 1;
            packing.set_value(n);
            leptos::task::spawn_local(async move {
                let p = match deflate_raw(&t).await {
                    Some(bytes) => url::base64url_encode(&bytes),
                    // No CompressionStream: the file goes as plain base64url (`src`).
                    None => format!("!{}", url::base64url_encode(t.as_bytes())),
                };
                // A newer file may have been packed meanwhile.
                if packing.get_value() == n {
                    packed.set(Some(Ok(p)));
                }
            });
        }
    });
    // The packed file the page last said was too big for a link.
    let warned_big = StoredValue::new(None::<Result<String, usize>>);
    // How long a link to this view would be, when too long to offer (Copy link, Embed).
    let link_bytes = StoredValue::new(None::<usize>);
    let url_timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    Effect::new(move |_| {
        let st = url::UrlState {
            scenario: match source.get() {
                Source::BuiltIn(id) => Some(id),
                Source::File(_) => None,
            },
            src: None,
            step: Some(at.get()),
            broker: profile.get(),
            seed: seed.get(),
            embed,
            panels: pg.panels.get_value(),
        };
        // A scenario too big for a link stays out of the address bar (servers refuse such
        // requests); Copy link and Embed then say so instead of offering it.
        let packed = packed.get();
        let (full, too_big) = match &packed {
            Some(Err(n)) => (url::format_packed(&st, None), Some(*n)),
            Some(Ok(p)) => {
                let full = url::format_packed(&st, Some(p));
                let n = full.len();
                (full, (n > url::MAX_LINK).then_some(n))
            }
            None => (url::format_packed(&st, None), None),
        };
        let q = match too_big {
            Some(n) => {
                if warned_big.with_value(|w| w.as_ref() != packed.as_ref()) {
                    warned_big.set_value(packed);
                    pg.notices.update(|l| l.push(format!("This scenario needs a link of at least {}, more than the {} a link can safely carry, so the address bar does not hold it and a reload will not bring it back: save it as a file to keep it.", url::kb(n), url::kb(url::MAX_LINK))));
                }
                url::format_packed(
                    &url::UrlState {
                        scenario: None,
                        ..st
                    },
                    None,
                )
            }
            None => full.clone(),
        };
        link_bytes.set_value(too_big);
        query.set_value(q.clone());
        if pg.push_history.get_value() {
            // A new scenario, version or broker: its own history entry, at once.
            pg.push_history.set_value(false);
            url_timer.set_value(None);
            if let Ok(h) = window().history() {
                let path = window().location().pathname().unwrap_or_default();
                let _ = h.push_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("{path}{q}")),
                );
            }
            return;
        }
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
                let _ = js_sys::Reflect::set(&msg, &"step".into(), &(at.get() as f64).into());
                let _ = js_sys::Reflect::set(&msg, &"last".into(), &(last.get() as f64).into());
                let _ = parent.post_message(&msg, "*");
            }
        }
    });

    // Playback: one step per tick while playing (gloo-timers).
    let ticker = StoredValue::new_local(None::<gloo_timers::callback::Interval>);
    Effect::new(move |_| {
        let on = pg.playing.get();
        let ms = pg.speed_ms.get();
        ticker.set_value(None);
        if on {
            let iv = gloo_timers::callback::Interval::new(ms, move || {
                let s = at.get_untracked();
                if s >= last.get_untracked() {
                    pg.playing.set(false);
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
        let s = at.get_untracked();
        match e.key().as_str() {
            " " => {
                e.prevent_default();
                pg.playing.update(|p| *p = !*p);
            }
            "ArrowRight" => {
                e.prevent_default();
                pg.go(s + 1);
            }
            "ArrowLeft" => {
                e.prevent_default();
                pg.go(s.saturating_sub(1));
            }
            "Home" => {
                e.prevent_default();
                pg.go(0);
            }
            "End" => {
                e.prevent_default();
                pg.go(last.get_untracked());
            }
            "?" => pg.help.update(|h| *h = !*h),
            "Escape" => {
                pg.help.set(false);
                pg.packet.set(None);
            }
            _ => {}
        }
    });

    // Back and Forward: the page becomes what the history entry's link says.
    let _history = window_event_listener(ev::popstate, move |_| {
        let (st, _) = url::parse(&search());
        let src = match (st.src, st.scenario) {
            (Some(t), _) => Some(Source::File(t)),
            (None, Some(id)) => Some(Source::BuiltIn(id)),
            (None, None) => None,
        };
        url_timer.set_value(None);
        if let Some(src) = src {
            if source.get_untracked() != src {
                source.set(src);
            }
        }
        profile.set(st.broker);
        seed.set(st.seed);
        step.set(st.step.unwrap_or(0));
    });

    // postMessage commands from an embedding course page. A burst is coalesced: the commands
    // only update what is pending, and one task a moment later applies the last of each kind
    // and reports what was refused, so 10,000 messages cost one render, not 10,000.
    let pending = StoredValue::new(Pending::default());
    let _messages = window_event_listener(ev::message, move |e: web_sys::MessageEvent| {
        let data = e.data();
        let get = |k: &str| js_sys::Reflect::get(&data, &k.into()).ok();
        let Some(kind) = get("type").and_then(|v| v.as_string()) else {
            return;
        };
        // Messages of other senders (extensions, the host's own) are not ours to judge.
        let Some(command) = kind.strip_prefix("mqtt-session-lab:") else {
            return;
        };
        let refuse = |why: String| {
            pending.update_value(|p| {
                p.refused += 1;
                p.first_refused.get_or_insert(why);
            })
        };
        match command {
            "goto" => match get("step").and_then(|v| v.as_f64()) {
                Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => {
                    pending.update_value(|p| p.goto = Some(n as usize))
                }
                _ => refuse(
                    "mqtt-session-lab:goto needs a step that is a whole number from 0".into(),
                ),
            },
            "play" => pending.update_value(|p| p.play = Some(true)),
            "pause" => pending.update_value(|p| p.play = Some(false)),
            // What the page itself sends: an echo, not a command.
            "step" | "answer" | "error" => return,
            other => refuse(format!(
                "\"mqtt-session-lab:{}\" is not a command (goto, play, pause)",
                other.chars().take(40).collect::<String>()
            )),
        }
        if pending.with_value(|p| p.scheduled) {
            return;
        }
        pending.update_value(|p| p.scheduled = true);
        gloo_timers::callback::Timeout::new(0, move || {
            let p = pending.try_update_value(std::mem::take).unwrap_or_default();
            if let Some(n) = p.goto {
                pg.go(n);
            }
            if let Some(on) = p.play {
                pg.playing.set(on);
            }
            if let Some(first) = p.first_refused {
                let text = if p.refused == 1 {
                    format!("A message from the embedding page was refused: {first}.")
                } else {
                    format!(
                        "{} messages from the embedding page were refused; the first: {first}.",
                        p.refused
                    )
                };
                pg.notices.update(|n| n.push(text.clone()));
                if let Ok(Some(parent)) = window().parent() {
                    let msg = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(
                        &msg,
                        &"type".into(),
                        &"mqtt-session-lab:error".into(),
                    );
                    let _ = js_sys::Reflect::set(&msg, &"message".into(), &text.into());
                    let _ = parent.post_message(&msg, "*");
                }
            }
        })
        .forget();
    });

    let error = move || {
        player.with(|p| {
            p.as_ref().err().map(
                |e| view! { <p class="error" role="alert" data-testid="error">{e.clone()}</p> },
            )
        })
    };
    let playable = move || player.with(|p| p.is_ok());
    view! {
        <div class="app" class:embed=embed>
            {(!embed).then(|| view! { <header class="top" inner_html=html::HEADER></header> })}
            <Notices />
            {(!embed).then(|| view! { <Picker /> })}
            <Controls />
            <main>
            // A persistent live region: screen readers hear each step's narration.
            <p class="sr" aria-live="polite" data-testid="live">{move || pg.with_step(|p, s| {
                let rec = p.at(s);
                format!("Step {}: {}. {}", rec.index, rec.label, rec.say)
            })}</p>
            {error}
            <div class="grid" hidden=move || !playable()>
                <div class="stage">
                    <div class="stage-main">
                        <panels::NarrationPanel />
                        <panels::StepPackets />
                    </div>
                    <panels::StepChanges />
                </div>
                {pg.shows("lifecycle").then(|| view! { <panels::LifecyclePanel /> })}
                {pg.shows("sessions").then(|| view! { <panels::SessionsPanel /> })}
                {pg.shows("packets").then(|| view! { <panels::PacketsPanel /> })}
                {pg.shows("messages").then(|| view! { <panels::MessagesPanel /> })}
                {pg.shows("broker").then(|| view! { <panels::BrokerPanel /> })}
                {(!embed).then(|| view! { <SandboxPanel /> })}
            </div>
            {(!embed).then(|| view! { <Tools query=query link_bytes=link_bytes /> })}
            </main>
            <HelpDialog />
            {(!embed).then(|| view! { <footer inner_html=html::FOOTER></footer> })}
        </div>
    }
}

/// The keyboard help, as a modal dialog.
#[component]
fn HelpDialog() -> impl IntoView {
    let pg = page();
    let keys: [(&str, &str); 6] = [
        ("space", "play / pause"),
        ("→", "next step"),
        ("←", "previous step"),
        ("Home / End", "first / last step"),
        ("?", "this help"),
        ("Esc", "close the packet inspector and this help"),
    ];
    move || {
        pg.help.get().then(|| {
            view! {
                <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts and words" data-testid="help-overlay">
                    <div class="dialog">
                        <h2>"Keyboard shortcuts"</h2>
                        <table><tbody>
                            {keys.iter().map(|(k, what)| view! { <tr><th><kbd>{*k}</kbd></th><td>{*what}</td></tr> }).collect_view()}
                        </tbody></table>
                        <h2>"Words and signs on this page"</h2>
                        <dl class="glossary" inner_html=html::GLOSSARY></dl>
                        <button autofocus on:click=move |_| pg.help.set(false)>"Close"</button>
                    </div>
                </div>
            }
        })
    }
}

/// Messages about the link, a file or an action that could not be used as given.
#[component]
fn Notices() -> impl IntoView {
    let pg = page();
    move || {
        pg.notices.with(|l| {
            (!l.is_empty()).then(|| {
                view! {
                    <div class="notices" role="status" data-testid="notices">
                        <ul>{l.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                        <button on:click=move |_| pg.notices.set(Vec::new())>"Dismiss"</button>
                    </div>
                }
            })
        })
    }
}

/// Scenario and broker choice. The scenario list is static option markup; effects keep the
/// selected values in step with the page state.
#[component]
fn Picker() -> impl IntoView {
    let pg = page();
    let (source, profile, seed, player) = (pg.source, pg.profile, pg.seed, pg.player);
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
    let profiles = session_engine::BrokerProfile::all();
    view! {
        <section class="picker" aria-label="Scenario and broker">
            <label>
                <span>"Scenario"</span>
                <select node_ref=scenario_sel data-testid="scenario-select" inner_html=html::scenario_options(&view::scenario_groups()) on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if !v.is_empty() {
                        pg.navigate(|| {
                            source.set(Source::BuiltIn(v));
                            profile.set(None);
                            seed.set(None);
                            pg.step.set(0);
                        });
                    }
                }></select>
            </label>
            <VersionToggle />
            <label>
                <span>"Broker"</span>
                <select node_ref=broker_sel data-testid="broker-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let own = scenario_profile();
                    pg.navigate(|| profile.set(if v == own { None } else { Some(v) }));
                }>
                    {profiles.iter().map(|p| view! { <option value=p.id.clone()>{p.name.clone()}</option> }).collect_view()}
                </select>
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
                                pg.notices.update(|n| n.push(format!("Seed \"{v}\" is not a whole number from 0 to {}; the seed stays {}.", u64::MAX, scenario_seed())));
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
            <Departures />
        </section>
    }
}

/// The MQTT version toggle: the scenario's version pressed; the other version's button goes to
/// the same lesson's file for that version, or is disabled when there is none.
#[component]
fn VersionToggle() -> impl IntoView {
    let pg = page();
    let info = Memo::new(move |_| {
        pg.player.with(|p| {
            p.as_ref()
                .ok()
                .map(|p| (p.scenario.version, view::other_version(&p.scenario)))
        })
    });
    let button = move |v: Version| {
        let current = move || info.with(|i| i.as_ref().map(|(c, _)| *c));
        let other = move || info.with(|i| i.as_ref().and_then(|(_, o)| o.clone()));
        view! {
            <button data-testid=format!("version-{}", v.label())
                aria-pressed=move || (current() == Some(v)).to_string()
                disabled=move || current() != Some(v) && other().is_none()
                data-goto=move || (current() != Some(v)).then(other).flatten()
                title=move || match (current() == Some(v), other()) {
                    (true, _) => format!("This lesson in MQTT {}", v.label()),
                    (false, Some(_)) => format!("The same lesson in MQTT {}", v.label()),
                    (false, None) => format!("This scenario is written for MQTT {} only", current().map(|c| c.label()).unwrap_or("")),
                }
                on:click=move |_| {
                    if current() != Some(v) {
                        if let Some(id) = other() {
                            switch_version(id);
                        }
                    }
                }>{v.label()}</button>
        }
    };
    view! {
        <span class="versions" role="group" aria-label="MQTT version" data-testid="version-toggle">
            {button(Version::V311)}
            {button(Version::V5)}
        </span>
    }
}

/// Opens the same lesson in the other MQTT version (built-in `id`) at the same named moment,
/// on the broker being played; a new history entry.
fn switch_version(id: String) {
    let pg = page();
    let Some(other) = library::text_by_id(&id).and_then(|t| Scenario::from_json(t).ok()) else {
        pg.notices
            .update(|n| n.push(format!("The lesson \"{id}\" could not be opened.")));
        return;
    };
    let Some((target, note, broker)) = pg.player.with_untracked(|p| {
        p.as_ref().ok().map(|p| {
            let (t, note) = view::toggle_target(&p.scenario, pg.at.get_untracked(), &other);
            (t, note, p.scenario.broker.profile.clone())
        })
    }) else {
        return;
    };
    pg.navigate(|| {
        pg.source.set(Source::BuiltIn(id));
        // The broker stays: the other file's own broker only when it is the same one.
        pg.profile
            .set((broker != other.broker.profile).then_some(broker));
        pg.seed.set(None);
        pg.step.set(target);
    });
    if let Some(n) = note {
        pg.notices.update(|l| l.push(n));
    }
}

/// The broker profile's departures from the specification and the choices it makes where the
/// specification leaves one, listed before anything runs (the engine's behaviour catalogue,
/// `session_engine::behaviour`). The `<details>` is not rebuilt by steps or broker switches, so
/// it stays open or closed as the learner left it.
#[component]
fn Departures() -> impl IntoView {
    let player = page().player;
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
fn Controls() -> impl IntoView {
    let pg = page();
    let (at, last, playing) = (pg.at, pg.last, pg.playing);
    view! {
        <nav class="controls" aria-label="Steps">
            <button data-testid="first" title="Start (Home)" on:click=move |_| pg.go(0)>"|◀"<span class="sr">" Start"</span></button>
            <button data-testid="prev" title="Step back (←)" on:click=move |_| pg.go(at.get_untracked().saturating_sub(1))>"◀"<span class="sr">" Back"</span></button>
            <button data-testid="next" title="Step forward (→)" on:click=move |_| pg.go(at.get_untracked() + 1)>"▶"<span class="sr">" Forward"</span></button>
            <button data-testid="last" title="End (End)" on:click=move |_| pg.go(last.get_untracked())>"▶|"<span class="sr">" End"</span></button>
            <button data-testid="play" title="Play / pause (space)" aria-pressed=move || playing.get().to_string() on:click=move |_| playing.update(|p| *p = !*p)>
                {move || if playing.get() { "❚❚ Pause" } else { "▶ Play" }}
            </button>
            <input type="range" class="scrubber" data-testid="scrubber" aria-label="Step" min="0" max=move || last.get().to_string() prop:value=move || at.get().to_string()
                on:input=move |e| {
                    if let Ok(v) = event_target_value(&e).parse::<usize>() {
                        pg.go(v);
                    }
                } />
            <span class="stepno" data-testid="step-no">{move || format!("Step {} of {}", at.get(), last.get())}</span>
            <label class="speed"><span>"Speed"</span>
                <select aria-label="Playback speed" on:change=move |e| {
                    if let Ok(v) = event_target_value(&e).parse::<u32>() {
                        pg.speed_ms.set(v);
                    }
                }>
                    <option value="2500">"slow"</option>
                    <option value="1200" selected>"normal"</option>
                    <option value="500">"fast"</option>
                </select>
            </label>
            <button data-testid="help" title="Keyboard shortcuts and words (?)" on:click=move |_| pg.help.update(|h| *h = !*h)>"?"</button>
        </nav>
    }
}

/// The event's target as an element of type `T` (an input, a select, a form, ...).
fn target_as<T: wasm_bindgen::JsCast>(e: &web_sys::Event) -> Option<T> {
    use wasm_bindgen::JsCast;
    e.target().and_then(|t| t.dyn_into::<T>().ok())
}

/// The text of the scenario being shown.
fn source_text(source: &Source) -> String {
    match source {
        Source::BuiltIn(id) => library::text_by_id(id).unwrap_or_default().to_string(),
        Source::File(t) => t.clone(),
    }
}

/// Commands from the embedding page not yet applied (see the message listener in [`App`]).
#[derive(Default)]
struct Pending {
    goto: Option<usize>,
    play: Option<bool>,
    /// How many were refused, and why the first was.
    refused: usize,
    first_refused: Option<String>,
    scheduled: bool,
}

/// `text` compressed as raw DEFLATE (RFC 1951) by the browser's CompressionStream, or `None`
/// where the browser has none.
async fn deflate_raw(text: &str) -> Option<Vec<u8>> {
    use js_sys::{Array, Function, Reflect};
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let get = |o: &wasm_bindgen::JsValue, k: &str| Reflect::get(o, &k.into()).ok();
    let ctor = get(&global, "CompressionStream")?
        .dyn_into::<Function>()
        .ok()?;
    let response = get(&global, "Response")?.dyn_into::<Function>().ok()?;
    let cs = Reflect::construct(&ctor, &Array::of1(&"deflate-raw".into())).ok()?;
    let blob = web_sys::Blob::new_with_str_sequence(&Array::of1(&text.into())).ok()?;
    let call = |o: &wasm_bindgen::JsValue, k: &str, args: &Array| {
        get(o, k)?.dyn_into::<Function>().ok()?.apply(o, args).ok()
    };
    let stream = call(&blob, "stream", &Array::new())?;
    let piped = call(&stream, "pipeThrough", &Array::of1(&cs))?;
    let resp = Reflect::construct(&response, &Array::of1(&piped)).ok()?;
    let buf = call(&resp, "arrayBuffer", &Array::new())?;
    let buf = wasm_bindgen_futures::JsFuture::from(buf.dyn_into::<js_sys::Promise>().ok()?)
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buf).to_vec())
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

/// Writes `text` to the clipboard and calls `then` with the outcome once the browser has
/// answered: an error where the page has no clipboard (plain http) or the browser refused.
fn copy_text(text: String, then: impl FnOnce(Result<(), &'static str>) + 'static) {
    let nav = window().navigator();
    let has = js_sys::Reflect::get(&nav, &"clipboard".into())
        .map(|c| !c.is_undefined() && !c.is_null())
        .unwrap_or(false);
    if !has {
        then(Err("this browser offers no clipboard to a page served this way (plain http); select the text and copy it by hand"));
        return;
    }
    let promise = nav.clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        then(
            wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map(|_| ())
                .map_err(|_| "the browser refused to write to the clipboard"),
        )
    });
}

/// Import, save, export, share and embed.
#[component]
fn Tools(
    /// The link's query for the page as shown (kept by the App).
    query: StoredValue<String>,
    /// The length a link would need when it is too long to offer ([`url::MAX_LINK`]).
    link_bytes: StoredValue<Option<usize>>,
) -> impl IntoView {
    let pg = page();
    let (source, profile, seed, player) = (pg.source, pg.profile, pg.seed, pg.player);
    let embed_code = RwSignal::new(None::<String>);
    let status = RwSignal::new(String::new());
    let file_stem = move || {
        player.with_untracked(|p| {
            p.as_ref()
                .map(|p| p.scenario.id.clone())
                .unwrap_or_else(|_| "scenario".into())
        })
    };
    // The link to this view, or why there is none to offer.
    let link = move || {
        if let Some(n) = link_bytes.get_value() {
            return Err(format!("this scenario would need a link of at least {}, more than the {} that servers reliably accept; use \"Save scenario file\" and share the file instead", url::kb(n), url::kb(url::MAX_LINK)));
        }
        let q = query.get_value();
        let loc = window().location();
        Ok(format!(
            "{}{}{}",
            loc.origin().unwrap_or_default(),
            loc.pathname().unwrap_or_default(),
            q
        ))
    };
    let on_import = move |ev: ev::Event| {
        let Some(input) = target_as::<web_sys::HtmlInputElement>(&ev) else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        leptos::task::spawn_local(async move {
            status.set(String::new());
            // The bytes, not the browser's text(), which would quietly replace bad bytes: the
            // page reads files exactly as `mqtt-lab check` does (Scenario::read_bytes).
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer())
                .await
                .ok()
                .map(|b| js_sys::Uint8Array::new(&b).to_vec())
            {
                None => pg
                    .notices
                    .update(|n| n.push(format!("{name}: the file could not be read."))),
                Some(bytes) => match Scenario::read_bytes(&bytes) {
                    Err(e) => pg
                        .notices
                        .update(|n| n.push(format!("{name} was not imported: {e}"))),
                    Ok(_) => {
                        let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                        // read_bytes accepted it, so it is UTF-8.
                        let text = String::from_utf8_lossy(b).into_owned();
                        source.set(Source::File(text));
                        profile.set(None);
                        seed.set(None);
                        pg.step.set(0);
                        status.set(format!("Imported {name}."));
                    }
                },
            }
        });
    };
    let report = move |r: Result<String, String>| match r {
        Ok(m) => status.set(m),
        Err(m) => {
            status.set(String::new());
            pg.notices
                .update(|n| n.push(format!("That did not work: {m}")))
        }
    };
    let save = move |_| {
        report(
            sandbox::export(
                &source_text(&source.get_untracked()),
                profile.get_untracked().as_deref(),
            )
            .and_then(|t| download(&format!("{}.json", file_stem()), "application/json", &t))
            .map(|_| "Scenario file saved.".to_string()),
        )
    };
    let export = move |svg: bool| {
        let at = pg.at.get_untracked();
        report(player.get_untracked().and_then(|p| {
            let (ext, mime, text, what) = if svg {
                ("svg", "image/svg+xml", export::svg(&p, at), "SVG")
            } else {
                ("mmd", "text/plain", export::mermaid(&p, at), "Mermaid text")
            };
            download(&format!("{}-sequence.{ext}", file_stem()), mime, &text)
                .map(|_| format!("Sequence diagram up to step {at} saved as {what}."))
        }))
    };
    let copy = move |text: String, done: &'static str| {
        status.set(String::new());
        copy_text(text, move |r| match r {
            Ok(()) => status.set(done.to_string()),
            Err(why) => pg.notices.update(|n| n.push(format!("Not copied: {why}."))),
        });
    };
    let toggle_embed = move |_| {
        let title = player.with_untracked(|p| {
            p.as_ref()
                .map(|p| p.scenario.title.clone())
                .unwrap_or_default()
        });
        if embed_code.with_untracked(|c| c.is_some()) {
            embed_code.set(None);
            return;
        }
        match link() {
            Ok(l) => embed_code.set(Some(html::embed_snippet(&l, &title))),
            Err(why) => {
                status.set(String::new());
                pg.notices
                    .update(|n| n.push(format!("No embed code: {why}.")));
            }
        }
    };
    view! {
        <section class="tools" aria-label="Files and sharing">
            <div class="tools-row">
                <label class="file"><span>"Import scenario file"</span><input type="file" accept=".json,application/json" data-testid="import" on:change=on_import /></label>
                <button data-testid="save" on:click=save>"Save scenario file"</button>
                <button data-testid="export-svg" on:click=move |_| export(true)>"Sequence diagram (SVG)"</button>
                <button data-testid="export-mermaid" on:click=move |_| export(false)>"Sequence diagram (Mermaid)"</button>
                <button data-testid="copy-link" on:click=move |_| match link() {
                    Ok(l) => copy(l, "Link copied: it opens this scenario at this step."),
                    Err(why) => {
                        status.set(String::new());
                        pg.notices.update(|n| n.push(format!("No link copied: {why}.")));
                    }
                }>"Copy link"</button>
                <button data-testid="embed" aria-expanded=move || embed_code.with(|c| c.is_some()).to_string() on:click=toggle_embed>"Embed…"</button>
            </div>
            <span class="status" role="status">{move || status.get()}</span>
            {move || embed_code.get().map(|code| {
                let c = code.clone();
                view! {
                    <div class="embed-dialog" data-testid="embed-dialog">
                        <p>"Paste this into a course page. It opens at the current step with compact controls; the page can also send "<code>"{type: 'mqtt-session-lab:goto', step: 3}"</code>", "<code>"mqtt-session-lab:play"</code>" and "<code>"mqtt-session-lab:pause"</code>" with postMessage, and hears "<code>"mqtt-session-lab:step"</code>" back."</p>
                        <textarea readonly rows="3" data-testid="embed-code" aria-label="Embed code" prop:value=code></textarea>
                        <button on:click=move |_| copy(c.clone(), "Embed code copied.")>"Copy embed code"</button>
                    </div>
                }
            })}
        </section>
    }
}

/// Take over from the current step: add a step (or a client) and the history branches there.
/// The form stays mounted while the learner steps, so what they typed stays; the browser's
/// FormData reads it back on submit ([`sandbox::form_from_pairs`]).
#[component]
fn SandboxPanel() -> impl IntoView {
    let pg = page();
    let error = RwSignal::new(String::new());
    let action = RwSignal::new("publish".to_string());
    let clients = Memo::new(move |_| {
        pg.player
            .with(|p| p.as_ref().map(|p| p.client_names()).unwrap_or_default())
    });
    let later = move || pg.with_step(|p, s| p.len() - 1 - s).unwrap_or(0);
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
        let step = pg.at.get_untracked();
        // The scenario as played: the broker and seed chosen in the page are written into it.
        let Some(text) = pg
            .player
            .with_untracked(|p| p.as_ref().ok().map(|p| p.scenario.to_json()))
        else {
            return;
        };
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
                pg.source.set(Source::File(t));
                pg.profile.set(None);
                pg.step.set(step + 1);
            }
            Err(m) => error.set(m),
        }
    };
    let text_field = |class: &'static str,
                      name: &'static str,
                      label: &'static str,
                      value: &'static str| {
        view! { <label class=format!("f {class}")>{label}<input type="text" name=name value=value /></label> }
    };
    view! {
        <section class="panel sandbox" aria-label="Sandbox" data-testid="sandbox">
            <h3>"Sandbox: take over from step "{move || pg.at.get()}</h3>
            <p class="hint">{move || match later() {
                0 => "Adding a step continues the scenario from here.".to_string(),
                n => format!("Adding a step here branches the history: the {n} later step(s) of this scenario are replaced by yours."),
            }}</p>
            <form class="sb-form" data-kind="step" data-action=move || action.get() data-testid="sb-form" on:submit=on_submit>
                <label>"Action"
                    <select name="action" data-testid="sb-action" on:change=move |e| action.set(event_target_value(&e))>
                        {sandbox::ACTIONS.iter().map(|(k, l)| view! { <option value=*k selected=*k == "publish">{*l}</option> }).collect_view()}
                    </select>
                </label>
                <label class="f f-client">"Client"
                    <select name="client" data-testid="sb-client">
                        <For each=move || clients.get() key=|c: &String| c.clone() children=move |c: String| view! { <option value=c.clone()>{c.clone()}</option> } />
                    </select>
                </label>
                <label class="f f-connect check"><input type="checkbox" name="clean_start" checked />" Clean Start / Clean Session"</label>
                <label class="f f-publish check"><input type="checkbox" name="retain" />" Retain"</label>
                <label class="f f-lose">"Direction"
                    <select name="direction"><option value="to_broker">"client → broker"</option><option value="to_client">"broker → client"</option></select>
                </label>
                {text_field("f-connect", "keep_alive", "Keep alive (s)", "")}
                {text_field("f-connect", "will_topic", "Will topic (optional)", "")}
                {text_field("f-connect", "will_delay", "Will Delay (s, 5.0)", "")}
                {text_field("f-expiry", "session_expiry", "Session Expiry (s or never, 5.0)", "")}
                {text_field("f-disconnect", "reason", "Reason code (5.0: 0 or 4)", "")}
                {text_field("f-filter", "filter", "Topic filter", "lab/#")}
                {text_field("f-publish", "topic", "Topic", "lab/test")}
                {text_field("f-publish", "payload", "Payload", "hello")}
                {text_field("f-publish", "message_expiry", "Message Expiry (s, 5.0)", "")}
                {text_field("f-qos", "qos", "QoS", "1")}
                {text_field("f-duration", "duration", "Duration (30, 1.5s, 2m)", "30s")}
                {text_field("f-lose", "packet", "Only this packet type (e.g. PUBACK)", "")}
                {text_field("f-hex", "hex", "Bytes in hex, one packet (e.g. E0 00)", "")}
                {text_field("f-all", "say", "Narration (optional)", "")}
                <button type="submit" class="primary" data-testid="sb-add">"Add step"</button>
            </form>
            <form class="sb-form" data-kind="client" on:submit=on_submit>
                <label>"New client"<input type="text" name="new_client" placeholder="name" data-testid="sb-new-client" /></label>
                <button type="submit" data-testid="sb-add-client">"Add client (MQTT 5.0)"</button>
            </form>
            {move || error.with(|e| (!e.is_empty()).then(|| view! { <p class="error" role="alert" data-testid="sb-error">{e.clone()}</p> }))}
        </section>
    }
}
