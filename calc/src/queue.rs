//! Session queue memory: what a broker holds for devices that are offline while messages keep
//! arriving for them.
//!
//! Per device: messages arrive at `rate` for the offline time; the broker's queue limit drops
//! the newest or the oldest; a Message Expiry Interval removes messages older than it
//! ([MQTT-3.3.2-5]: the server MUST delete a copy whose expiry has passed before onward delivery
//! started). Bytes per queued message = topic + payload + per-message overhead; per device add
//! the session and its subscriptions. The course's formula is the special case without limit,
//! expiry or session overhead: messages x (payload + overhead).
//!
//! When expired messages leave memory depends on the broker. The specification says they must
//! not be delivered, not when they are freed. mosquitto 2.0.11 keeps them (and counts them
//! against `max_queued_messages`) until it tries to send them after the client reconnects
//! (`src/database.c` v2.0.11: expiry is checked only in `db__message_write_inflight_out_single`;
//! the limit counts `msg_count12`, which falls only in `db__message_remove`). Brokers that free
//! them at once are modelled with `expiry_frees_offline`.

use session_engine::profile::Overflow;

#[derive(Clone, Debug, PartialEq)]
pub struct QueueInput {
    pub devices: u64,
    /// Seconds offline.
    pub offline_s: f64,
    /// QoS 1/2 messages per minute matching each device's subscriptions.
    pub rate_per_min: f64,
    pub payload: u64,
    pub topic: u64,
    /// Broker bytes per queued message beyond topic and payload.
    pub overhead: u64,
    /// Broker bytes per session (client id, state) and per subscription.
    pub per_session: u64,
    pub subscriptions: u64,
    pub per_subscription: u64,
    /// Queue limit in messages per session (`None`: no limit).
    pub limit: Option<u64>,
    pub overflow: Overflow,
    /// Message Expiry Interval in seconds set by the publisher (`None`: messages do not expire).
    pub expiry_s: Option<f64>,
    /// Expired messages leave memory at once (`false`: only when the client is back, as in
    /// mosquitto 2.0.11).
    pub expiry_frees_offline: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueResult {
    /// Messages that arrived for one device while it was offline.
    pub arrived: u64,
    /// Held in memory per device at the moment it reconnects.
    pub held: u64,
    /// Refused or evicted by the queue limit.
    pub dropped: u64,
    /// Expired (removed at once, or at reconnect without being delivered).
    pub expired: u64,
    /// Delivered when the device comes back.
    pub delivered: u64,
    pub bytes_per_message: u64,
    pub bytes_per_device: f64,
    pub fleet_bytes: f64,
    /// Fleet bytes the queue limit and the expiry kept out of memory, compared with holding
    /// every message that arrived.
    pub saved_by_limit: f64,
    pub saved_by_expiry: f64,
    /// Which messages are delivered, in words.
    pub which: String,
}

/// Messages arrived in `t` seconds at `rate_per_min` (whole messages).
fn arrivals(rate_per_min: f64, t: f64) -> u64 {
    if t <= 0.0 || rate_per_min <= 0.0 {
        return 0;
    }
    // A tiny tolerance so that 1 msg/min for 3600 s is 60, not 59.999...
    (rate_per_min * t / 60.0 + 1e-9).floor() as u64
}

/// Messages held per device after `t` seconds offline (the chart's curve).
pub fn held_at(i: &QueueInput, t: f64) -> u64 {
    let mut q = i.clone();
    q.offline_s = t;
    compute(&q).held
}

pub fn compute(i: &QueueInput) -> QueueResult {
    let a = arrivals(i.rate_per_min, i.offline_s);
    let limit = i.limit.unwrap_or(u64::MAX);
    // Arrivals too old to be delivered: those before offline - expiry.
    let stale = match i.expiry_s {
        Some(e) => arrivals(i.rate_per_min, i.offline_s - e),
        None => 0,
    };
    let alive = a - stale;
    let (held, dropped, expired, delivered, which);
    if i.expiry_s.is_none() || i.expiry_frees_offline {
        // Memory holds the live messages, at most `limit` of them.
        held = alive.min(limit);
        delivered = held;
        match i.overflow {
            Overflow::DropOldest => {
                // Every message is accepted; a full queue evicts its oldest. A message expires
                // unless `limit` newer ones arrive before its expiry.
                let per_expiry = i
                    .expiry_s
                    .map(|e| arrivals(i.rate_per_min, e))
                    .unwrap_or(u64::MAX);
                if per_expiry > limit {
                    dropped = a - held;
                    expired = 0;
                } else {
                    dropped = 0;
                    expired = a - held;
                }
                which = if dropped > 0 {
                    format!("the newest {held}; the oldest {dropped} were pushed out")
                } else if expired > 0 {
                    format!("the {held} younger than the expiry; {expired} expired")
                } else {
                    "all of them".into()
                };
            }
            Overflow::DropNewest => {
                // A full queue refuses new messages; each expiry frees a slot for the next one.
                let accepted = match i.expiry_s {
                    Some(e) if arrivals(i.rate_per_min, e) > limit => {
                        let cycles = (i.offline_s / e).floor();
                        let rest = i.offline_s - cycles * e;
                        (cycles as u64)
                            .saturating_mul(limit)
                            .saturating_add(arrivals(i.rate_per_min, rest).min(limit))
                            .min(a)
                    }
                    _ => a.min(if i.expiry_s.is_some() {
                        u64::MAX
                    } else {
                        limit
                    }),
                };
                dropped = a - accepted;
                expired = accepted - held;
                which = if dropped > 0 && i.expiry_s.is_none() {
                    format!("the oldest {held}; the {dropped} that arrived after the queue was full were refused")
                } else if dropped > 0 {
                    format!("{held} accepted after earlier ones expired; {dropped} refused while the queue was full")
                } else if expired > 0 {
                    format!("the {held} younger than the expiry; {expired} expired")
                } else {
                    "all of them".into()
                };
            }
        }
    } else {
        // Expired messages stay in memory (and count against the limit) until the device is back.
        match i.overflow {
            Overflow::DropNewest => {
                held = a.min(limit);
                // The held ones are the oldest: indices 0..held; alive ones have index >= stale.
                delivered = held.saturating_sub(stale);
                dropped = a - held;
                expired = held - delivered;
            }
            Overflow::DropOldest => {
                held = a.min(limit);
                // The held ones are the newest: indices a-held..a.
                delivered = held.min(alive);
                dropped = a - held;
                expired = held - delivered;
            }
        }
        which = if delivered == 0 && held > 0 {
            format!("none: all {held} held messages had expired, yet they filled the queue")
        } else if expired > 0 {
            format!(
                "{delivered}; {expired} expired messages were held in memory until the reconnect"
            )
        } else {
            "all held messages".into()
        };
    }
    let msg = i.topic + i.payload + i.overhead;
    let session = (i.per_session + i.subscriptions * i.per_subscription) as f64;
    let per_device = session + held as f64 * msg as f64;
    let devices = i.devices as f64;
    // Without the limit, and without the expiry, for the "what it saved" lines.
    let no_limit = {
        let mut q = i.clone();
        q.limit = None;
        if q.expiry_s.is_none() || q.expiry_frees_offline {
            alive
        } else {
            held_without_limit(&q)
        }
    };
    let without_expiry = a.min(limit);
    QueueResult {
        arrived: a,
        held,
        dropped,
        expired,
        delivered,
        bytes_per_message: msg,
        bytes_per_device: per_device,
        fleet_bytes: devices * per_device,
        saved_by_limit: devices * no_limit.saturating_sub(held) as f64 * msg as f64,
        saved_by_expiry: devices * without_expiry.saturating_sub(held) as f64 * msg as f64,
        which,
    }
}

fn held_without_limit(q: &QueueInput) -> u64 {
    arrivals(q.rate_per_min, q.offline_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The course's example: 1 message per minute, 100 B payload, 40 B overhead, no limit, no
    /// expiry, no session overhead.
    fn course(devices: u64, offline_s: f64) -> QueueInput {
        QueueInput {
            devices,
            offline_s,
            rate_per_min: 1.0,
            payload: 100,
            topic: 0,
            overhead: 40,
            per_session: 0,
            subscriptions: 0,
            per_subscription: 0,
            limit: None,
            overflow: Overflow::DropNewest,
            expiry_s: None,
            expiry_frees_offline: true,
        }
    }

    #[test]
    fn the_course_numbers_come_out() {
        let r = compute(&course(1, 3600.0));
        assert_eq!(r.held, 60);
        assert_eq!(r.bytes_per_device, 8400.0); // 60 x (100 + 40)
        assert_eq!(compute(&course(1000, 3600.0)).fleet_bytes, 8_400_000.0); // 8.4 MB
        let day = compute(&course(1, 86_400.0));
        assert_eq!(day.held, 1440);
        assert_eq!(day.bytes_per_device, 201_600.0);
        let fleet = compute(&course(10_000, 86_400.0)).fleet_bytes;
        assert_eq!(fleet, 2_016_000_000.0);
        assert_eq!(crate::units::bytes(fleet), "2.02 GB (1.88 GiB)");
    }

    #[test]
    fn a_limit_drops_the_newest_or_the_oldest() {
        // mosquitto's default 1000: a day at 1/min is 1440, so 440 are dropped.
        let mut i = course(10_000, 86_400.0);
        i.limit = Some(1000);
        let r = compute(&i);
        assert_eq!((r.held, r.dropped, r.delivered), (1000, 440, 1000));
        assert_eq!(r.fleet_bytes, 1_400_000_000.0); // 10,000 x 1000 x 140 B
        assert_eq!(r.saved_by_limit, 10_000.0 * 440.0 * 140.0);
        assert!(r.which.starts_with("the oldest 1000"), "{}", r.which);
        i.overflow = Overflow::DropOldest;
        let r = compute(&i);
        assert_eq!((r.held, r.dropped), (1000, 440));
        assert!(r.which.starts_with("the newest 1000"), "{}", r.which);
    }

    #[test]
    fn expiry_caps_memory_where_the_broker_frees_it() {
        // The course's "MEI 3600": 1,000 devices offline a day keep an hour = 60 messages.
        let mut i = course(1000, 86_400.0);
        i.expiry_s = Some(3600.0);
        let r = compute(&i);
        assert_eq!((r.held, r.expired, r.delivered), (60, 1380, 60));
        assert_eq!(r.fleet_bytes, 8_400_000.0);
        assert_eq!(r.saved_by_expiry, 1000.0 * 1380.0 * 140.0);
    }

    #[test]
    fn mosquitto_holds_expired_messages_until_the_reconnect() {
        // 2.0.11: expired messages stay and fill the queue; with tail drop the queue keeps the
        // oldest 1000, all of which expired long ago: nothing is delivered.
        let mut i = course(1, 86_400.0);
        i.limit = Some(1000);
        i.expiry_s = Some(3600.0);
        i.expiry_frees_offline = false;
        let r = compute(&i);
        assert_eq!(
            (r.held, r.dropped, r.delivered, r.expired),
            (1000, 440, 0, 1000)
        );
        assert!(r.which.starts_with("none"), "{}", r.which);
        assert_eq!(r.bytes_per_device, 140_000.0);
        // Drop-oldest would keep the newest 1000, of which the last hour (60) is alive.
        i.overflow = Overflow::DropOldest;
        let r = compute(&i);
        assert_eq!((r.held, r.delivered, r.expired), (1000, 60, 940));
    }

    #[test]
    fn drop_newest_with_expiry_refills_as_messages_expire() {
        // 10 msg/min, limit 5, expiry 60 s: per minute 5 are taken, 5 refused.
        let mut i = course(1, 600.0);
        i.rate_per_min = 10.0;
        i.limit = Some(5);
        i.expiry_s = Some(60.0);
        let r = compute(&i);
        assert_eq!(r.arrived, 100);
        assert_eq!(r.held, 5);
        assert_eq!(r.dropped, 50);
        assert_eq!(r.expired, 45);
    }

    #[test]
    fn session_and_subscriptions_count_per_device() {
        let mut i = course(2, 0.0);
        i.per_session = 500;
        i.subscriptions = 5;
        i.per_subscription = 100;
        let r = compute(&i);
        assert_eq!(r.bytes_per_device, 1000.0);
        assert_eq!(r.fleet_bytes, 2000.0);
        assert_eq!(held_at(&course(1, 0.0), 120.0), 2);
    }
}
