//! QoS and session advisor: a few questions about a device and its messages, and the settings
//! that follow, each with its reason.
//!
//! It agrees with the course's decision table where the table is right (telemetry-only sensors:
//! clean session; command receivers: persistent session; online-only apps and debug clients:
//! clean) and departs where it is not: a dashboard wants the latest value, which retained
//! messages give, not a queue of stale updates; and "persistent" alone never guarantees
//! delivery (queue limits, session expiry and broker restarts still lose messages).

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    /// Must every message arrive (or is the next reading as good)?
    pub must_arrive: bool,
    /// Would a message handled twice do harm (a command that toggles, a payment)?
    pub duplicates_harmful: bool,
    /// Does the device receive commands or other messages it must not miss while offline?
    pub receives: bool,
    /// Longest time offline to ride out, seconds.
    pub offline_s: f64,
    /// How long a command stays useful, seconds (0: as long as the session).
    pub command_valid_s: f64,
    /// Runs on a battery.
    pub battery: bool,
    /// Only the latest value matters to whoever reads it (a status, a position).
    pub latest_only: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Advice {
    pub publish_qos: u8,
    pub subscribe_qos: Option<u8>,
    /// Clean Start (5.0) / Clean Session (3.1.1).
    pub clean_start: bool,
    /// Session Expiry Interval in seconds for 5.0 (0 = ends with the connection).
    pub session_expiry_s: u64,
    /// Message Expiry Interval for messages sent to the device, seconds.
    pub message_expiry_s: Option<u64>,
    pub retain: bool,
    /// One line per decision, with the rule behind it.
    pub reasons: Vec<String>,
    /// Things that still lose messages with these settings.
    pub caveats: Vec<String>,
}

/// A duration rounded up to a value people configure: whole minutes, hours or days.
fn round_up(secs: f64) -> u64 {
    let s = secs.max(0.0).ceil() as u64;
    for unit in [86_400, 3600, 60] {
        if s >= unit {
            return s.div_ceil(unit) * unit;
        }
    }
    s
}

pub fn advise(a: &Answers) -> Advice {
    let mut reasons = Vec::new();
    let mut caveats = Vec::new();
    let publish_qos = if !a.must_arrive {
        reasons.push("Publish at QoS 0: a lost reading is replaced by the next one, and QoS 0 costs one packet per message.".into());
        0
    } else if a.duplicates_harmful && !a.battery {
        reasons.push("Publish at QoS 2: every message must arrive and a duplicate would do harm; QoS 2's four-packet handshake delivers it exactly once (the receiver keeps the packet id until PUBREL, [MQTT-4.3.3-10]).".into());
        2
    } else if a.duplicates_harmful {
        reasons.push("Publish at QoS 1 and make the handler idempotent (a message id in the payload, checked by the receiver): on a battery QoS 2 costs four packets per message instead of two, and a duplicate is cheaper to detect than to prevent.".into());
        1
    } else {
        reasons.push("Publish at QoS 1: every message must arrive and a duplicate is harmless; a PUBLISH whose PUBACK was lost is resent with DUP = 1.".into());
        1
    };
    let subscribe_qos = a.receives.then(|| {
        let q = if a.duplicates_harmful && !a.battery { 2 } else { 1 };
        reasons.push(format!("Subscribe at QoS {q}: the broker forwards at the lower of the published and the granted QoS ([MQTT-3.8.4-6] / 5.0 [MQTT-3.8.4-8]), so the subscription must be at least the QoS the sender uses; QoS 0 subscriptions are not queued while offline."));
        q
    });
    let (clean_start, session_expiry_s) = if a.receives && !a.latest_only {
        let sei = round_up(a.offline_s * 1.5).max(60);
        reasons.push(format!(
            "Persistent session: Clean Start = 0 and a Session Expiry Interval of {} (1.5 x the longest offline time, rounded up), so the broker queues messages for the device while it is away ([MQTT-3.1.2-5] 3.1.1; 5.0 §4.1; in 5.0 an absent interval means 0, which ends the session with the connection). In 3.1.1: Clean Session = 0, with the same client id every time.",
            crate::units::duration(sei as f64)
        ));
        (false, sei)
    } else {
        reasons.push(if a.latest_only {
            "Clean session (Clean Start = 1, Session Expiry 0): only the latest value matters, and a retained message gives it to every new subscriber at once; a queue of stale updates would only delay it.".to_string()
        } else {
            "Clean session (Clean Start = 1, Session Expiry 0): the device only publishes, and the broker never queues a publisher's outgoing messages, so a persistent session would only keep its subscriptions and cost broker memory.".to_string()
        });
        (true, 0)
    };
    let retain = a.latest_only;
    if retain {
        reasons.push("Publish the status with RETAIN = 1: the broker keeps the last one per topic ([MQTT-3.3.1-5]), apart from any session ([MQTT-3.1.2-7] 3.1.1), and sends it to every new subscriber ([MQTT-3.3.1-6] 3.1.1).".into());
    }
    let message_expiry_s = (a.receives && !clean_start).then(|| {
        let v = if a.command_valid_s > 0.0 {
            round_up(a.command_valid_s)
        } else {
            session_expiry_s
        };
        reasons.push(format!(
            "Message Expiry Interval {} on commands (5.0): a command older than that is removed from the queue instead of being executed late ([MQTT-3.3.2-5]).",
            crate::units::duration(v as f64)
        ));
        v
    });
    if !a.receives && a.must_arrive {
        caveats.push("The broker does not buffer a publisher's messages while it is offline: readings taken during an outage need a buffer on the device (see the local buffer calculator).".into());
    }
    if !clean_start {
        caveats.push("Queue limits still drop messages: mosquitto 2.0.11 keeps 1,000 QoS 1/2 messages per session and refuses newer ones; EMQX and HiveMQ keep 1,000 by default too (see the queue memory calculator).".into());
        caveats.push("Brokers cap the expiry: AWS IoT Core keeps a session 1 hour by default, EMQX expires 3.1.1 persistent sessions after 2 hours; mosquitto keeps sessions across a restart only with persistence on.".into());
        caveats.push("Use a fixed client id per device: a random id at every start leaves orphaned sessions, and two devices with one id take over each other's session.".into());
    }
    if a.battery {
        caveats.push("On a battery, a persistent session also saves the SUBSCRIBE after every wake-up (Session Present = 1 says the subscriptions are still there).".into());
    }
    Advice {
        publish_qos,
        subscribe_qos,
        clean_start,
        session_expiry_s,
        message_expiry_s,
        retain,
        reasons,
        caveats,
    }
}

/// The course's decision table rows as presets: (use case, answers, what the course said).
pub fn presets() -> Vec<(&'static str, Answers, &'static str)> {
    let base = Answers {
        must_arrive: false,
        duplicates_harmful: false,
        receives: false,
        offline_s: 3600.0,
        command_valid_s: 0.0,
        battery: false,
        latest_only: false,
    };
    vec![
        (
            "Sensor publishing telemetry only",
            Answers {
                battery: true,
                ..base.clone()
            },
            "clean (right)",
        ),
        (
            "Command receiver (actuator)",
            Answers {
                must_arrive: true,
                receives: true,
                offline_s: 1800.0,
                command_valid_s: 300.0,
                ..base.clone()
            },
            "persistent (right)",
        ),
        (
            "Mobile app, online only",
            Answers {
                latest_only: true,
                ..base.clone()
            },
            "clean (right)",
        ),
        (
            "Fleet tracking dashboard",
            Answers {
                latest_only: true,
                receives: true,
                ..base.clone()
            },
            "persistent (we advise clean + retained: a queue of old positions is not useful)",
        ),
        ("Temporary debug client", base.clone(), "clean (right)"),
        (
            "Critical infrastructure controller",
            Answers {
                must_arrive: true,
                duplicates_harmful: true,
                receives: true,
                offline_s: 86_400.0,
                command_valid_s: 600.0,
                ..base
            },
            "persistent (right, but not enough alone: see the caveats)",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_table_where_it_is_right() {
        let p = presets();
        let by = |name: &str| advise(&p.iter().find(|(n, _, _)| *n == name).unwrap().1);
        let sensor = by("Sensor publishing telemetry only");
        assert!(sensor.clean_start && sensor.publish_qos == 0 && sensor.session_expiry_s == 0);
        let actuator = by("Command receiver (actuator)");
        assert!(!actuator.clean_start);
        assert_eq!(actuator.session_expiry_s, 2700); // 1.5 x 30 min = 45 min
        assert_eq!(actuator.message_expiry_s, Some(300));
        assert_eq!(actuator.subscribe_qos, Some(1));
        let critical = by("Critical infrastructure controller");
        assert_eq!((critical.publish_qos, critical.subscribe_qos), (2, Some(2)));
        assert_eq!(critical.session_expiry_s, 2 * 86_400); // 1.5 d rounded up to whole days
        assert!(!critical.caveats.is_empty());
        // Where the course is wrong: the dashboard gets a clean session and retained status.
        let dash = by("Fleet tracking dashboard");
        assert!(dash.clean_start && dash.retain);
    }

    #[test]
    fn battery_prefers_fewer_packets() {
        let a = Answers {
            must_arrive: true,
            duplicates_harmful: true,
            receives: false,
            offline_s: 60.0,
            command_valid_s: 0.0,
            battery: true,
            latest_only: false,
        };
        let adv = advise(&a);
        assert_eq!(adv.publish_qos, 1);
        assert!(adv.reasons[0].contains("idempotent"));
        assert_eq!(round_up(59.0), 59);
        assert_eq!(round_up(61.0), 120);
        assert_eq!(round_up(3601.0), 7200);
    }
}
