//! The MQTT Session Lab page: renders the session engine's scenarios in the browser.
//!
//! A thin layer: view-models in [`view`] turn engine state into rows (tested natively); the
//! components here only render them and send commands.

pub mod view;

use leptos::prelude::*;
use session_engine::{library, Player};
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

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let scenarios = view::scenario_list();
    let first = scenarios.first().map(|s| s.id.clone()).unwrap_or_default();
    let (selected, set_selected) = signal(first);
    let (step, set_step) = signal(0usize);
    let player = Memo::new(move |_| {
        let id = selected.get();
        library::text_by_id(&id)
            .ok_or_else(|| format!("no built-in scenario \"{id}\""))
            .and_then(|t| {
                Player::from_json(t)
                    .map(|p| Shared(Arc::new(p)))
                    .map_err(|e| e.to_string())
            })
    });
    let last_step = move || player.with(|p| p.as_ref().map(|p| p.len() - 1).unwrap_or(0));
    let go = move |i: usize| set_step.set(i.min(last_step()));

    let options = scenarios
        .iter()
        .map(|s| {
            let label = format!("{} — {} (MQTT {})", s.topic, s.title, s.version);
            view! { <option value=s.id.clone()>{label}</option> }
        })
        .collect_view();

    view! {
        <header class="top">
            <h1>"MQTT Session Lab"</h1>
            <p class="tagline">"Step through how MQTT brokers keep, resume, expire and hand over sessions."</p>
        </header>
        <main>
            <section class="picker" aria-label="Scenario">
                <label for="scenario">"Scenario"</label>
                <select id="scenario" data-testid="scenario-select"
                    on:change=move |ev| { set_selected.set(event_target_value(&ev)); set_step.set(0); }>
                    {options}
                </select>
            </section>
            {move || match player.get() {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(p) => {
                    let summary = view::summary(&p);
                    view! {
                        <section class="scenario" data-testid="scenario">
                            <h2>{summary.title.clone()}</h2>
                            <p class="summary">{summary.summary.clone()}</p>
                            <p class="meta">{format!("Broker: {} · seed {} · {} steps", summary.broker, summary.seed, summary.steps)}</p>
                        </section>
                    }.into_any()
                }
            }}
            <nav class="controls" aria-label="Steps">
                <button data-testid="first" on:click=move |_| go(0)>"|◀ Start"</button>
                <button data-testid="prev" on:click=move |_| go(step.get().saturating_sub(1))>"◀ Back"</button>
                <span class="stepno" data-testid="step-no" aria-live="polite">{move || format!("Step {} of {}", step.get(), last_step())}</span>
                <button data-testid="next" on:click=move |_| go(step.get() + 1)>"Forward ▶"</button>
                <button data-testid="last" on:click=move |_| go(last_step())>"End ▶|"</button>
            </nav>
            {move || player.with(|p| match p {
                Err(_) => ().into_any(),
                Ok(p) => {
                    let rows = view::step_rows(p, step.get());
                    let state = view::session_rows(p, step.get());
                    view! {
                        <div class="panes">
                            <section class="steps" aria-label="Trace">
                                <ol data-testid="trace">
                                    {rows.into_iter().map(|r| view! {
                                        <li class:current=r.current class:future=r.future>
                                            <div class="step-head"><span class="t">{r.time}</span>" "<strong>{r.label}</strong></div>
                                            {(!r.say.is_empty()).then(|| view! { <p class="say">{r.say.clone()}</p> })}
                                            <ul class="entries">
                                                {r.entries.into_iter().map(|e| view! {
                                                    <li class=e.class>
                                                        <span class="t">{e.time}</span>" "{e.text}
                                                        {e.cite.map(|c| view! { <span class="cite">{c}</span> })}
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                        </li>
                                    }).collect_view()}
                                </ol>
                            </section>
                            <section class="state" aria-label="Broker sessions">
                                <h3>"Broker sessions after this step"</h3>
                                <table data-testid="sessions">
                                    <thead><tr><th>"Client id"</th><th>"State"</th><th>"Subscriptions"</th><th>"Queued"</th><th>"In flight"</th><th>"Bytes"</th></tr></thead>
                                    <tbody>
                                        {state.into_iter().map(|s| view! {
                                            <tr><td>{s.client_id}</td><td>{s.state}</td><td>{s.subscriptions}</td><td>{s.queued}</td><td>{s.inflight}</td><td>{s.bytes}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </section>
                        </div>
                    }.into_any()
                }
            })}
        </main>
        <footer>"Every rule shown cites the MQTT 3.1.1 / 5.0 statement or the broker behaviour it follows."</footer>
    }
}
