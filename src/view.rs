//! View-models: plain functions from engine state to rows the page renders (tested natively).

use session_engine::event::TraceItem;
use session_engine::types::format_expiry;
use session_engine::{library, Player};

pub struct ScenarioItem {
    pub id: String,
    pub title: String,
    pub topic: String,
    pub version: &'static str,
}

pub fn scenario_list() -> Vec<ScenarioItem> {
    library::all()
        .into_iter()
        .map(|s| ScenarioItem {
            id: s.id.clone(),
            title: s.title.clone(),
            topic: s.topic.clone(),
            version: s.version.label(),
        })
        .collect()
}

pub struct Summary {
    pub title: String,
    pub summary: String,
    pub broker: String,
    pub seed: u64,
    pub steps: usize,
}

pub fn summary(p: &Player) -> Summary {
    Summary {
        title: p.scenario.title.clone(),
        summary: p.scenario.summary.clone(),
        broker: p.at(0).world.broker.profile().name.clone(),
        seed: p.scenario.seed,
        steps: p.len() - 1,
    }
}

pub struct EntryRow {
    pub time: String,
    pub text: String,
    pub cite: Option<String>,
    pub class: &'static str,
}

pub struct StepRow {
    pub index: usize,
    pub time: String,
    pub label: String,
    pub say: String,
    pub current: bool,
    pub future: bool,
    pub entries: Vec<EntryRow>,
}

/// One row per step; entries only for steps up to the current one.
pub fn step_rows(p: &Player, current: usize) -> Vec<StepRow> {
    p.steps()
        .iter()
        .skip(1)
        .map(|rec| {
            let future = rec.index > current;
            let entries = if future {
                Vec::new()
            } else {
                p.entries(rec.index)
                    .iter()
                    .map(|e| {
                        let (class, cite) = match &e.item {
                            TraceItem::Packet { lost: true, .. } => ("packet lost", None),
                            TraceItem::Packet { .. } => ("packet", None),
                            TraceItem::Broker { event } => (
                                if matches!(event, session_engine::BrokerEvent::Deviation { .. }) {
                                    "broker deviation"
                                } else {
                                    "broker"
                                },
                                event.cite().map(str::to_string),
                            ),
                            TraceItem::Client { .. } => ("client", None),
                            TraceItem::LinkClosed { .. } => ("link", None),
                        };
                        EntryRow {
                            time: e.time_label(),
                            text: e.describe(),
                            cite,
                            class,
                        }
                    })
                    .collect()
            };
            StepRow {
                index: rec.index,
                time: rec.time.to_string(),
                label: rec.label.clone(),
                say: rec.say.clone(),
                current: rec.index == current,
                future,
                entries,
            }
        })
        .collect()
}

pub struct SessionRow {
    pub client_id: String,
    pub state: String,
    pub subscriptions: String,
    pub queued: usize,
    pub inflight: usize,
    pub bytes: u64,
}

/// The broker's sessions after step `index`.
pub fn session_rows(p: &Player, index: usize) -> Vec<SessionRow> {
    let w = &p.at(index).world;
    let profile = w.broker.profile();
    w.broker
        .sessions()
        .values()
        .map(|s| SessionRow {
            client_id: s.client_id.to_string(),
            state: match (s.conn, s.expires_at) {
                (Some(c), _) => format!("online ({c}), expiry {}", format_expiry(s.expiry)),
                (None, Some(t)) => format!("offline, expires at {t}"),
                (None, None) => "offline, no expiry".to_string(),
            },
            subscriptions: s
                .subscriptions
                .values()
                .map(|x| format!("{} (QoS {})", x.filter, x.granted.as_u8()))
                .collect::<Vec<_>>()
                .join(", "),
            queued: s.queue.len(),
            inflight: s.inflight.len(),
            bytes: s.bytes(profile),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_has_rows_at_every_step() {
        let list = scenario_list();
        assert!(!list.is_empty());
        for s in list {
            let p = Player::from_json(library::text_by_id(&s.id).unwrap()).unwrap();
            for i in 0..p.len() {
                let rows = step_rows(&p, i);
                assert_eq!(rows.len(), p.len() - 1);
                assert_eq!(
                    rows.iter().filter(|r| r.current).count(),
                    usize::from(i > 0)
                );
                let _ = session_rows(&p, i);
            }
        }
    }
}
