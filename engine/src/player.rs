//! Runs a scenario step by step, keeping the state after every step so the page can go forward,
//! back, or to any step at once.

use crate::budget::{self, Limits};
use crate::event::TraceEntry;
use crate::fate::Fates;
use crate::scenario::{Action, Scenario, ScenarioError};
use crate::types::SimTime;
use crate::world::World;

/// The state after one step.
#[derive(Clone, Debug)]
pub struct StepRecord {
    /// 0 is the start, before any step.
    pub index: usize,
    /// Short label of the step (`"start"` for index 0).
    pub label: String,
    /// The step's narration (the scenario's summary for index 0).
    pub say: String,
    /// Simulated time after the step.
    pub time: SimTime,
    /// This step's entries are `trace[start..end]` of the full trace.
    pub start: usize,
    /// End (exclusive) of this step's entries in the full trace.
    pub end: usize,
    /// The world after the step (its own trace left empty; see [`Player::trace`]).
    pub world: World,
}

/// A scenario played to the end, with every step's state kept.
#[derive(Clone, Debug)]
pub struct Player {
    /// The scenario being played.
    pub scenario: Scenario,
    steps: Vec<StepRecord>,
    trace: Vec<TraceEntry>,
    /// Every message's fate, built from the trace when first asked for ([`Player::fates`]).
    pub(crate) fates: std::sync::OnceLock<Fates>,
}

impl Player {
    /// Plays `scenario` to the end, keeping the world after every step; an error names the broker
    /// setting or the step that failed, or the limit of the run a step would pass
    /// ([`Limits::default`], see [`crate::budget`]).
    pub fn new(scenario: Scenario) -> Result<Player, ScenarioError> {
        Player::with_limits(scenario, Limits::default())
    }

    /// [`Player::new`] with other limits (`mqtt-lab --limit`, `--no-limits`).
    pub fn with_limits(scenario: Scenario, limits: Limits) -> Result<Player, ScenarioError> {
        let mut world = scenario.build_world().map_err(|m| ScenarioError {
            line: None,
            column: None,
            path: Some("broker".into()),
            message: m,
        })?;
        world.meter = budget::Meter::new(limits);
        let mut steps = Vec::with_capacity(scenario.steps.len() + 1);
        steps.push(StepRecord {
            index: 0,
            label: "start".into(),
            say: scenario.summary.clone(),
            time: world.now,
            start: 0,
            end: 0,
            world: snapshot(&mut world),
        });
        for (i, step) in scenario.steps.iter().enumerate() {
            let start = world.trace.len();
            let version = match &step.action {
                Action::Connect(c) => scenario.targets(&world, &c.client).first().copied(),
                _ => None,
            }
            .map_or(scenario.version, |i| world.client_version(i));
            budget::before_step(&scenario, &world, i, step)?;
            scenario.apply(&mut world, step);
            if let Some(e) = world.internal_error.take() {
                return Err(ScenarioError {
                    line: None,
                    column: None,
                    path: Some(format!("steps[{i}]")),
                    message: format!("internal engine error: {e}"),
                });
            }
            budget::after_step(&mut world, i)?;
            let end = world.trace.len();
            steps.push(StepRecord {
                index: i + 1,
                label: step.label(version),
                say: step.say.clone(),
                time: world.now,
                start,
                end,
                world: snapshot(&mut world),
            });
        }
        let trace = std::mem::take(&mut world.trace);
        Ok(Player {
            scenario,
            steps,
            trace,
            fates: std::sync::OnceLock::new(),
        })
    }

    /// Parses, validates and plays a scenario file.
    pub fn from_json(text: &str) -> Result<Player, ScenarioError> {
        Player::new(Scenario::from_json(text)?)
    }

    /// Number of steps including the start (so the last index is `len() - 1`).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Always false: a player holds at least the start.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The record at `index` (clamped to the last step).
    pub fn at(&self, index: usize) -> &StepRecord {
        &self.steps[index.min(self.steps.len() - 1)]
    }

    /// Every step's record, the start first.
    pub fn steps(&self) -> &[StepRecord] {
        &self.steps
    }

    /// The names of the scenario's clients, in scenario order.
    pub fn client_names(&self) -> Vec<String> {
        self.at(0)
            .world
            .clients
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// What happened in one step.
    pub fn entries(&self, index: usize) -> &[TraceEntry] {
        let s = self.at(index);
        &self.trace[s.start..s.end]
    }

    /// The whole trace.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }
}

/// A copy of the world without its (growing) trace.
fn snapshot(world: &mut World) -> World {
    let trace = std::mem::take(&mut world.trace);
    let copy = world.clone();
    world.trace = trace;
    copy
}
