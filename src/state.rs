//! The page's state: one struct of signals, provided by [`crate::App`] as context so every
//! component reads what it needs with [`page`] instead of receiving the same signals as props.
//!
//! What the user set up around a step (open "Why?" items, the open inspector, filters, the
//! pings switch) lives here, not in the components that show it, so stepping, playing or
//! scrubbing never resets it.

use crate::Shared;
use leptos::prelude::*;

/// Where the scenario being shown comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A built-in lesson, by id.
    BuiltIn(String),
    /// A scenario file (imported, or carried in the link).
    File(String),
}

/// Every signal the page's components share. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct Page {
    /// The scenario shown.
    pub source: RwSignal<Source>,
    /// The broker profile chosen in the page (`None`: the scenario's own).
    pub profile: RwSignal<Option<String>>,
    /// The seed chosen in the page (`None`: the scenario's own).
    pub seed: RwSignal<Option<u64>>,
    /// The step asked for (may exceed the last step until it is clamped; read [`Page::at`]).
    pub step: RwSignal<usize>,
    /// The played scenario, or why it cannot be played.
    pub player: Memo<Result<Shared, String>>,
    /// The index of the last step (0 when nothing plays).
    pub last: Memo<usize>,
    /// The step shown: `step` clamped to the scenario.
    pub at: Memo<usize>,
    /// The narration of the step shown (its claims checked on the broker played).
    pub narration: Memo<Option<crate::view::Narration>>,
    /// Messages about the link, a file or an action that did not work.
    pub notices: RwSignal<Vec<String>>,
    /// Playback is running.
    pub playing: RwSignal<bool>,
    /// Playback speed, milliseconds per step.
    pub speed_ms: RwSignal<u32>,
    /// The keyboard help dialog is open.
    pub help: RwSignal<bool>,
    /// Packet list filter by client name ("" for all).
    pub filter_client: RwSignal<String>,
    /// Packet list filter by packet type ("" for all).
    pub filter_kind: RwSignal<String>,
    /// Keep-alive pings (PINGREQ / PINGRESP) are listed.
    pub show_pings: RwSignal<bool>,
    /// The packet open in the inspector: its index in the whole trace.
    pub packet: RwSignal<Option<usize>>,
    /// Messages whose "Why?" is open (message ids such as "m3").
    pub open_why: RwSignal<Vec<String>>,
    /// Embed mode: compact chrome for a course page's iframe.
    pub embed: bool,
    /// The panels the link asked for (`None`: every panel).
    pub panels: StoredValue<Option<Vec<String>>>,
    /// The next change of the link is a new history entry (a scenario, version or broker
    /// change), so the browser's Back undoes it; steps only replace the entry.
    pub push_history: StoredValue<bool>,
}

impl Page {
    /// Whether the link asked for panel `name` (or for every panel).
    pub fn shows(&self, name: &str) -> bool {
        self.panels
            .with_value(|p| p.as_ref().is_none_or(|p| p.iter().any(|x| x == name)))
    }

    /// Runs `change` as one navigation: the link it leads to becomes a new history entry.
    pub fn navigate(&self, change: impl FnOnce()) {
        self.push_history.set_value(true);
        change();
    }

    /// Goes to step `i` (clamped to the scenario).
    pub fn go(&self, i: usize) {
        self.step.set(i.min(self.last.get_untracked()));
    }

    /// Runs `f` on the played scenario and the step shown, tracking both; `None` when the
    /// scenario cannot be played.
    pub fn with_step<T>(&self, f: impl FnOnce(&Shared, usize) -> T) -> Option<T> {
        let at = self.at.get();
        self.player.with(|p| p.as_ref().ok().map(|p| f(p, at)))
    }
}

/// The page state provided by [`crate::App`].
///
/// # Panics
/// Outside the App (a component mounted on its own has no page).
pub fn page() -> Page {
    expect_context::<Page>()
}
