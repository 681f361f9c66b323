//! The work one run may do, so that no scenario file can freeze or exhaust the page or the CLI.
//!
//! A [`Limits`] bounds a run as a whole (trace entries, packets, timer firings, messages kept in
//! the step snapshots) and each step (trace entries, messages held at its end). The player checks
//! in two ways, both ending the run with a [`ScenarioError`] that names the step and the cause,
//! never a panic:
//!
//! - **Before a step** ([`before_step`]), from the world and the step alone, an estimate of what
//!   it will cost where one can be made: the keep-alive pings of a `wait` (keep alive and duration
//!   give the count), the reconnect attempts of a client whose broker is down (its backoff gives
//!   them), the copies of a `publish` (its count, its publishers and the subscriptions that match).
//!   A step that would pass a limit is refused without being played.
//! - **While playing**, the [`World`] counts every trace entry, packet and timer firing in its
//!   [`Meter`]; once a count passes its limit the world stops advancing time and the scenario stops
//!   applying the step, and [`after_step`] reports it. This is the last line: it holds for whatever
//!   the estimates do not foresee.
//!
//! The defaults ([`Limits::default`]) let every built-in scenario, example, conformance and observed
//! file play with a wide margin (the largest uses under 0.3 % of any limit; `engine/tests/budget.rs` checks under 1 %), and keep a run well
//! inside a 4 GB wasm32 address space: 2 million trace entries of at most a few hundred bytes
//! each, and 10 million message records kept across the step snapshots at about 100 bytes each.
//! The page always uses the defaults; `mqtt-lab --limit NAME=N` and `--no-limits` change them
//! for one CLI run. They are documented in `docs/SCENARIO-FORMAT.md` ("Limits of a run").

use crate::client::Jitter;
use crate::scenario::{Action, Scenario, ScenarioError, Step};
use crate::types::{format_duration_ms, SimTime};
use crate::world::World;
use std::fmt;

/// What a run may do. Every count is a whole run's unless its name says "step".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Trace entries (packets and events) in the whole run.
    pub events: u64,
    /// Trace entries one step may add.
    pub step_events: u64,
    /// Packets put on a link, recorded or not, in the whole run.
    pub packets: u64,
    /// Timer firings (keep-alive pings and timeouts, reconnect attempts, expiries, wills).
    pub timers: u64,
    /// Messages the world holds at the end of a step: broker queues and in-flight windows,
    /// retained messages, clients' offline buffers, own unacknowledged publishes and received
    /// messages.
    pub held: u64,
    /// The messages held, summed over every step's snapshot (what a player keeps in memory).
    pub kept: u64,
}

/// The limits by name, as `--limit NAME=N` and the documentation name them, with what each
/// counts.
pub const NAMES: &[(&str, &str)] = &[
    (
        "events",
        "trace entries (packets and events) in the whole run",
    ),
    ("step_events", "trace entries one step may add"),
    (
        "packets",
        "packets put on a link, recorded or not, in the whole run",
    ),
    (
        "timers",
        "timer firings (pings, timeouts, reconnect attempts, expiries) in the whole run",
    ),
    ("held", "messages the world holds at the end of a step"),
    ("kept", "messages held, summed over every step's snapshot"),
];

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            events: 2_000_000,
            step_events: 2_000_000,
            packets: 2_000_000,
            timers: 2_000_000,
            held: 1_000_000,
            kept: 10_000_000,
        }
    }
}

impl Limits {
    /// No limit at all (`mqtt-lab --no-limits`): the run may take as long and as much memory as
    /// the scenario asks for.
    pub fn unlimited() -> Limits {
        Limits {
            events: u64::MAX,
            step_events: u64::MAX,
            packets: u64::MAX,
            timers: u64::MAX,
            held: u64::MAX,
            kept: u64::MAX,
        }
    }

    /// The limit named `name` (one of [`NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        Some(match name {
            "events" => self.events,
            "step_events" => self.step_events,
            "packets" => self.packets,
            "timers" => self.timers,
            "held" => self.held,
            "kept" => self.kept,
            _ => return None,
        })
    }

    /// Applies one `NAME=N` setting (`events=5000000`; `N` may use `_` or `,` between digits,
    /// or be `none` for no limit); an error names the known limits.
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        let known = || NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("\"{setting}\" is not NAME=N; the limits are {}", known()))?;
        let value = value.trim();
        let n = if value == "none" {
            u64::MAX
        } else {
            let digits: String = value.chars().filter(|c| *c != '_' && *c != ',').collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "limit {name}: \"{value}\" is not a whole number or \"none\""
                ));
            }
            digits
                .parse::<u64>()
                .map_err(|_| format!("limit {name}: {value} is too large (use \"none\")"))?
        };
        let slot = match name.trim() {
            "events" => &mut self.events,
            "step_events" => &mut self.step_events,
            "packets" => &mut self.packets,
            "timers" => &mut self.timers,
            "held" => &mut self.held,
            "kept" => &mut self.kept,
            other => {
                return Err(format!(
                    "unknown limit \"{other}\"; the limits are {}",
                    known()
                ))
            }
        };
        *slot = n;
        Ok(())
    }
}

/// Which count passed its limit while playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Trace entries of the run.
    Events,
    /// Trace entries of one step.
    StepEvents,
    /// Packets of the run.
    Packets,
    /// Timer firings of the run.
    Timers,
}

/// The work a world has done, counted as it plays, against its [`Limits`].
#[derive(Clone, Debug, Default)]
pub struct Meter {
    /// The limits in force (default: [`Limits::default`]).
    pub limits: Limits,
    /// Trace entries so far.
    pub events: u64,
    /// Packets put on a link so far.
    pub packets: u64,
    /// Timer firings so far.
    pub timers: u64,
    /// Messages held, summed over the step snapshots so far.
    pub kept: u64,
    /// `events` when the current step began.
    step_start: u64,
    /// The first count that passed its limit, and when.
    over: Option<(Counter, SimTime)>,
}

impl Meter {
    /// A meter at zero with `limits`.
    pub fn new(limits: Limits) -> Meter {
        Meter {
            limits,
            ..Meter::default()
        }
    }

    /// True once a count has passed its limit: the world stops advancing and the step stops.
    pub fn is_over(&self) -> bool {
        self.over.is_some()
    }

    fn mark(&mut self, c: Counter, now: SimTime) {
        if self.over.is_none() {
            self.over = Some((c, now));
        }
    }

    /// Counts one trace entry.
    pub(crate) fn event(&mut self, now: SimTime) {
        self.events += 1;
        if self.events > self.limits.events {
            self.mark(Counter::Events, now);
        } else if self.events - self.step_start > self.limits.step_events {
            self.mark(Counter::StepEvents, now);
        }
    }

    /// Counts one packet put on a link.
    pub(crate) fn packet(&mut self, now: SimTime) {
        self.packets += 1;
        if self.packets > self.limits.packets {
            self.mark(Counter::Packets, now);
        }
    }

    /// Counts one timer firing.
    pub(crate) fn timer(&mut self, now: SimTime) {
        self.timers += 1;
        if self.timers > self.limits.timers {
            self.mark(Counter::Timers, now);
        }
    }
}

/// An integer with thousands separators: 2016000000 -> "2,016,000,000" (the calculators use
/// it too).
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number as people read it: 2,000,000; 31.6 million; 1.2 billion.
pub fn big(n: u64) -> String {
    // Tenths in integers, rounded half up: float formatting would cost the page 8 KB.
    let tenths = |unit: u64| {
        let t = n / (unit / 10) + u64::from(n % (unit / 10) >= unit / 20);
        format!("{}.{}", t / 10, t % 10)
    };
    // 999,950,000 and up round to 1,000.0 million: say 1.0 billion.
    if n >= 999_950_000 {
        format!("{} billion", tenths(1_000_000_000))
    } else if n >= 10_000_000 {
        format!("{} million", tenths(1_000_000))
    } else {
        group(n)
    }
}

fn stop(step: usize, message: String) -> ScenarioError {
    ScenarioError {
        line: None,
        column: None,
        path: Some(format!("steps[{step}]")),
        message,
    }
}

fn over_limit(what: &str, n: u64, limit: u64, per: &str, name: &str) -> String {
    format!(
        "{what} would be {} {per}; the limit is {} {per} per run (mqtt-lab: --limit {name}=N)",
        big(n),
        big(limit)
    )
}

/// The reconnect attempts a client makes in `ms` of simulated time while every attempt fails,
/// starting with attempt `attempt + 1`: the backoff's delays (their mean under jitter) summed
/// until they pass `ms`. Saturates instead of counting past `cap`.
pub fn reconnect_attempts(b: &crate::client::Backoff, attempt: u32, ms: u64, cap: u64) -> u64 {
    // The mean delay a strategy draws, as a share of the base delay.
    let share = match b.jitter {
        Jitter::None => 1.0,
        Jitter::Full => 0.5,
        Jitter::Equal => 0.75,
        // Decorrelated draws between `initial` and three times the last delay, capped at max:
        // it averages about the base delay of plain doubling; the base is a fair guess.
        Jitter::Decorrelated => 1.0,
        Jitter::AddUpTo50Percent => 1.25,
    };
    let mut left = ms as f64;
    let mut n = 0u64;
    let mut a = attempt;
    // The ramp up to `max` is at most a few dozen attempts for any multiplier above 1; after it
    // every delay is `max` and the rest is one division.
    while n < 64 && left > 0.0 {
        a = a.saturating_add(1);
        let d = (b.base_secs(a) * 1000.0 * share).max(1.0);
        left -= d;
        n += 1;
    }
    if left > 0.0 {
        let d = (b.max * 1000.0 * share).max(1.0);
        n = n.saturating_add((left / d).ceil().min(cap as f64) as u64);
    }
    n.min(cap)
}

/// The estimate before step `i` plays (see the module documentation): an error when the step
/// would pass a limit.
pub fn before_step(
    scenario: &Scenario,
    world: &World,
    i: usize,
    step: &Step,
) -> Result<(), ScenarioError> {
    let m = &world.meter;
    let l = m.limits;
    let packets_left = l.packets.saturating_sub(m.packets);
    let events_left = l.events.saturating_sub(m.events).min(l.step_events);
    let timers_left = l.timers.saturating_sub(m.timers);
    match &step.action {
        Action::Wait(d) => time_passes(world, i, d.0, packets_left, timers_left),
        Action::RestartBroker(r) => match r.downtime {
            // While the broker is down no client is online: only reconnect attempts count.
            Some(d) => time_passes(world, i, d.0, packets_left, timers_left),
            None => Ok(()),
        },
        Action::Publish(p) => {
            let publishers = scenario.targets(world, &p.client).len() as u64;
            let messages = publishers.saturating_mul(u64::from(p.count));
            let copies = copies_per_message(world, &p.topic);
            // Each message is routed (one event) and each copy is at least sent, queued or
            // dropped (one event more): a lower bound on the trace entries.
            let entries = messages.saturating_mul(copies.saturating_add(1));
            if entries > events_left {
                let who = if publishers > 1 {
                    format!(
                        "{publishers} clients publishing {} messages each",
                        big(u64::from(p.count))
                    )
                } else {
                    format!("{} messages", big(messages))
                };
                return Err(stop(
                    i,
                    over_limit(
                        &format!(
                            "{who} to {} with {copies} matching subscription(s)",
                            p.topic
                        ),
                        entries,
                        if events_left == l.step_events {
                            l.step_events
                        } else {
                            l.events
                        },
                        "trace entries",
                        if events_left == l.step_events {
                            "step_events"
                        } else {
                            "events"
                        },
                    ),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// How many copies one message on `topic` makes: one per session with a matching ordinary
/// subscription, one per share group with a matching shared subscription.
fn copies_per_message(world: &World, topic: &str) -> u64 {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    let mut n = 0u64;
    for s in world.broker.sessions().values() {
        let mut ordinary = false;
        for sub in s.subscriptions.values() {
            if !crate::topic::matches(&sub.topic_filter, topic) {
                continue;
            }
            match &sub.share {
                Some(g) => {
                    if !groups.contains(&(g.as_str(), sub.topic_filter.as_str())) {
                        groups.push((g.as_str(), sub.topic_filter.as_str()));
                    }
                }
                None => ordinary = true,
            }
        }
        n += u64::from(ordinary);
    }
    n + groups.len() as u64
}

/// The pings and reconnect attempts `ms` of waiting would cost.
fn time_passes(
    world: &World,
    i: usize,
    ms: u64,
    packets_left: u64,
    timers_left: u64,
) -> Result<(), ScenarioError> {
    let l = world.meter.limits;
    let running = world.broker.is_running();
    let (mut pings, mut pinging, mut shortest) = (0u64, 0u64, u16::MAX);
    let (mut attempts, mut retrying) = (0u64, 0u64);
    for c in &world.clients {
        let k = c.keep_alive_in_force;
        let dead = c
            .conn()
            .and_then(|conn| world.links.get(&conn))
            .is_none_or(|link| link.dead);
        if running && c.is_online() && k > 0 && !dead {
            // An idle client sends PINGREQ every Keep Alive and the broker answers: two packets.
            pings = pings.saturating_add(ms / (u64::from(k) * 1000));
            pinging += 1;
            shortest = shortest.min(k);
        }
        if !running && c.reconnect_at.is_some() {
            if let Some(b) = &c.auto_reconnect {
                attempts = attempts.saturating_add(reconnect_attempts(b, c.attempt, ms, u64::MAX));
                retrying += 1;
            }
        }
    }
    let packets = pings.saturating_mul(2);
    if packets > packets_left {
        let who = if pinging == 1 {
            format!("every {shortest} s")
        } else {
            format!("of {pinging} clients (the most often every {shortest} s)")
        };
        return Err(stop(
            i,
            over_limit(
                &format!("keep-alive pings {who} for {}", format_duration_ms(ms)),
                packets,
                l.packets,
                "packets",
                "packets",
            ),
        ));
    }
    let timers = pings.saturating_add(attempts);
    if timers > timers_left {
        let what = if attempts > pings {
            let who = if retrying == 1 {
                "a client".to_string()
            } else {
                format!("{retrying} clients")
            };
            format!(
                "reconnect attempts of {who} while the broker is down for {}",
                format_duration_ms(ms)
            )
        } else {
            format!("keep-alive pings for {}", format_duration_ms(ms))
        };
        return Err(stop(
            i,
            over_limit(&what, timers, l.timers, "timer firings", "timers"),
        ));
    }
    Ok(())
}

/// The messages the world holds now (see [`Limits::held`]).
pub fn held(world: &World) -> u64 {
    let broker: usize = world
        .broker
        .sessions()
        .values()
        .map(|s| s.queue.len() + s.inflight.len())
        .sum::<usize>()
        + world.broker.retained().len();
    let clients: usize = world
        .clients
        .iter()
        .map(|c| c.buffer.len() + c.outgoing.len() + c.received.len())
        .sum();
    (broker + clients) as u64
}

/// The check after step `i` played: an error when a count passed its limit while playing, or
/// the messages held now (or kept over all snapshots) pass theirs. Also starts the next step's
/// count.
pub fn after_step(world: &mut World, i: usize) -> Result<(), ScenarioError> {
    let m = &world.meter;
    let l = m.limits;
    if let Some((c, t)) = m.over {
        let (what, n, limit, name) = match c {
            Counter::Events => ("trace entries", m.events, l.events, "events"),
            Counter::StepEvents => (
                "trace entries in one step",
                m.events - m.step_start,
                l.step_events,
                "step_events",
            ),
            Counter::Packets => ("packets", m.packets, l.packets, "packets"),
            Counter::Timers => ("timer firings", m.timers, l.timers, "timers"),
        };
        return Err(stop(
            i,
            format!(
                "the run stopped at {t} after more than {} {what}, its limit (mqtt-lab: --limit {name}=N); the step did not finish",
                big(limit.min(n))
            ),
        ));
    }
    let h = held(world);
    if h > l.held {
        return Err(stop(
            i,
            format!(
                "after this step the broker and the clients hold {} messages; the limit is {} (mqtt-lab: --limit held=N)",
                big(h),
                big(l.held)
            ),
        ));
    }
    let kept = m.kept.saturating_add(h);
    if kept > l.kept {
        return Err(stop(
            i,
            format!(
                "the step snapshots so far would keep {} message records; the limit is {} per run (mqtt-lab: --limit kept=N)",
                big(kept),
                big(l.kept)
            ),
        ));
    }
    let m = &mut world.meter;
    m.kept = kept;
    m.step_start = m.events;
    Ok(())
}

impl fmt::Display for Limits {
    /// `events=2,000,000 step_events=...`, as `--limit` takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, (name, _)) in NAMES.iter().enumerate() {
            if k > 0 {
                f.write_str(" ")?;
            }
            match self.get(name) {
                Some(u64::MAX) => write!(f, "{name}=none")?,
                Some(n) => write!(f, "{name}={n}")?,
                None => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn limits_are_set_by_name_and_unknown_names_are_listed() {
        let mut l = Limits::default();
        l.set("events=5_000_000").unwrap();
        assert_eq!(l.events, 5_000_000);
        l.set("packets=none").unwrap();
        assert_eq!(l.packets, u64::MAX);
        let e = l.set("evnts=1").unwrap_err();
        assert!(e.contains("step_events"), "{e}");
        assert!(l.set("events").is_err());
        assert!(l.set("events=-1").is_err());
        assert!(l.set("events=99999999999999999999999").is_err());
        assert_eq!(
            Limits::unlimited().to_string().matches("none").count(),
            NAMES.len()
        );
    }

    #[test]
    fn big_numbers_read_as_people_write_them() {
        assert_eq!(big(2_000_000), "2,000,000");
        assert_eq!(big(31_622_400), "31.6 million");
        assert_eq!(big(999), "999");
        assert_eq!(big(1_000_000_000_000), "1000.0 billion");
    }

    #[test]
    fn reconnect_attempts_follow_the_backoff() {
        let b = crate::client::Backoff {
            initial: 1.0,
            multiplier: 2.0,
            max: 30.0,
            jitter: Jitter::None,
        };
        // 1 + 2 + 4 + 8 + 16 = 31 s in five attempts, then one every 30 s.
        assert_eq!(reconnect_attempts(&b, 0, 31_000, u64::MAX), 5);
        assert_eq!(reconnect_attempts(&b, 0, 91_000, u64::MAX), 7);
        assert_eq!(
            reconnect_attempts(&b, 0, crate::scenario::MAX_WAIT_MS, 1000),
            1000
        );
    }
}

#[cfg(test)]
mod big_tests {
    use super::big;

    #[test]
    fn big_numbers_read_in_tenths_rounded_half_up() {
        assert_eq!(big(9_999_999), "9,999,999");
        assert_eq!(big(10_000_000), "10.0 million");
        assert_eq!(big(31_622_400), "31.6 million");
        assert_eq!(big(63_249_999), "63.2 million");
        assert_eq!(big(63_250_000), "63.3 million");
        assert_eq!(big(999_949_999), "999.9 million");
        assert_eq!(big(999_999_999), "1.0 billion");
        assert_eq!(big(1_000_000_000), "1.0 billion");
        assert_eq!(big(u64::MAX), "18446744073.7 billion");
    }
}
