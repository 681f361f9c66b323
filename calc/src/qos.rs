//! Effective QoS: the QoS of each hop of a publication and what a subscriber should expect.
//!
//! Hop 1 (publisher -> broker) uses the PUBLISH's QoS. The broker grants a subscription at most
//! its maximum QoS, and forwards at min(published QoS, granted QoS) ([MQTT-3.8.4-6] in 3.1.1,
//! [MQTT-3.8.4-8] in 5.0). mosquitto's `upgrade_outgoing_qos true` (non-standard, default off)
//! forwards at the granted QoS instead, even for a QoS 0 publish (`src/subs.c` v2.0.11).
//! A publish above the broker's maximum QoS is a protocol error: in 5.0 the client MUST NOT send
//! it ([MQTT-3.2.2-11]) and the server disconnects with 0x9B QoS not supported; mosquitto closes
//! a 3.1.1 connection without a reason (`src/handle_publish.c`, `src/read_handle.c` v2.0.11).

/// One cell of the 3 x 3 matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub publish: u8,
    pub subscribe: u8,
    /// QoS the broker granted in SUBACK.
    pub granted: u8,
    /// Hop 2 (broker -> subscriber); `None` when the publish is refused.
    pub forwarded: Option<u8>,
    /// "at most once", "at least once", "exactly once" or "refused".
    pub guarantee: &'static str,
    /// What the learner should expect, in a sentence.
    pub expect: String,
}

pub fn cell(publish: u8, subscribe: u8, max_qos: u8, upgrade: bool, v5: bool) -> Cell {
    let publish = publish.min(2);
    let subscribe = subscribe.min(2);
    let max_qos = max_qos.min(2);
    let granted = subscribe.min(max_qos);
    if publish > max_qos {
        return Cell {
            publish,
            subscribe,
            granted,
            forwarded: None,
            guarantee: "refused",
            expect: if v5 {
                format!("The broker's Maximum QoS is {max_qos} (sent in CONNACK): a 5.0 client MUST NOT publish at QoS {publish} ([MQTT-3.2.2-11]); the broker disconnects it with 0x9B QoS not supported.")
            } else {
                format!("3.1.1 has no Maximum QoS in CONNACK: mosquitto with max_qos {max_qos} closes the connection without a reason code, and the message is lost.")
            },
        };
    }
    let forwarded = if upgrade {
        granted
    } else {
        publish.min(granted)
    };
    let hops = [publish, forwarded];
    let low = publish.min(forwarded);
    let any_qos1 = hops.contains(&1);
    let guarantee = match (low, any_qos1) {
        (0, _) => "at most once",
        (_, true) => "at least once",
        _ => "exactly once",
    };
    let mut expect = String::new();
    if low == 0 {
        let hop = if publish == 0 && forwarded == 0 {
            "both hops"
        } else if publish == 0 {
            "the publisher's hop"
        } else {
            "the hop to the subscriber"
        };
        expect.push_str(&format!("A message can be lost on {hop} (QoS 0 is never resent) and is not queued for an offline subscriber unless the broker opts in."));
        if any_qos1 {
            expect.push_str(" A QoS 1 hop can also deliver it twice.");
        }
    } else if any_qos1 {
        expect.push_str("Nothing is lost while the sessions last, but a message can arrive twice: a QoS 1 hop resends a PUBLISH whose PUBACK was lost, and the receiver treats it as new. Make the handler idempotent.");
    } else {
        expect.push_str("Exactly once on both hops: the broker and the subscriber remember the packet id until PUBREL, so a resent PUBLISH is not delivered twice. It still needs both sessions to survive (persistent session, expiry long enough, no queue overflow).");
    }
    if upgrade && forwarded > publish {
        expect.push_str(&format!(" mosquitto's upgrade_outgoing_qos sends it on at QoS {forwarded}, but that cannot recover a loss on the QoS {publish} hop before it."));
    }
    if granted < subscribe {
        expect.push_str(&format!(
            " The subscription asked for QoS {subscribe} and was granted {granted}."
        ));
    }
    Cell {
        publish,
        subscribe,
        granted,
        forwarded: Some(forwarded),
        guarantee,
        expect,
    }
}

/// The whole matrix, rows = publish QoS, columns = subscription QoS.
pub fn matrix(max_qos: u8, upgrade: bool, v5: bool) -> Vec<Vec<Cell>> {
    (0..3)
        .map(|p| (0..3).map(|s| cell(p, s, max_qos, upgrade, v5)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_is_the_lower_of_publish_and_granted() {
        for p in 0..3 {
            for s in 0..3 {
                let c = cell(p, s, 2, false, true);
                assert_eq!(c.forwarded, Some(p.min(s)), "{p} x {s}");
            }
        }
        assert_eq!(cell(2, 2, 2, false, true).guarantee, "exactly once");
        assert_eq!(cell(2, 1, 2, false, true).guarantee, "at least once");
        assert_eq!(cell(1, 2, 2, false, true).guarantee, "at least once");
        assert_eq!(cell(2, 0, 2, false, true).guarantee, "at most once");
        assert!(!cell(2, 0, 2, false, true).expect.contains("twice"));
        assert!(cell(1, 0, 2, false, true).expect.contains("twice"));
    }

    #[test]
    fn broker_maximum_and_upgrade() {
        // Maximum QoS 1: a QoS 2 subscription is granted 1; a QoS 2 publish is refused.
        let c = cell(1, 2, 1, false, true);
        assert_eq!((c.granted, c.forwarded), (1, Some(1)));
        assert!(c.expect.contains("granted 1"));
        let r = cell(2, 2, 1, false, true);
        assert_eq!(r.forwarded, None);
        assert!(r.expect.contains("0x9B"));
        assert!(cell(2, 2, 1, false, false)
            .expect
            .contains("without a reason code"));
        // mosquitto upgrade: QoS 0 publish goes out at the granted QoS, still at most once.
        let u = cell(0, 2, 2, true, true);
        assert_eq!(u.forwarded, Some(2));
        assert_eq!(u.guarantee, "at most once");
        assert!(u.expect.contains("upgrade_outgoing_qos"));
        assert_eq!(matrix(2, false, true).len(), 3);
    }
}
