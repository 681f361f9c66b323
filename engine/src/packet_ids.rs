//! The packet identifiers a session (broker side) or a client has in use, and the choice of the
//! next one.
//!
//! A server gives each new QoS 1 or 2 PUBLISH a non-zero identifier that is not in use
//! ([MQTT-2.3.1-4] 3.1.1, [MQTT-2.2.1-4] 5.0); an identifier is in use from then until the
//! message's last acknowledgement (PUBACK, or PUBCOMP). So a session has at most 65,535 in use,
//! and a message that finds none free waits in the session's queue until one is released.
//!
//! The next identifier is the first free one counting on from the last one given, wrapping from
//! 65,535 to 1. The set is a bitmap (one bit per identifier, grown only as far as the highest
//! identifier used) with a count, so asking for an identifier costs a word or two in the usual
//! case and at most one pass over 1,024 words when the set is nearly full, and "none free" is
//! known at once.
//!
//! mosquitto 2.0.11 does not check: `mosquitto__mid_generate` (lib/util_mosq.c) increments a
//! counter and skips 0, and `subs.c` gives a queued message its identifier that way. With its
//! defaults (`max_queued_messages` 1000, `max_inflight_messages` 20) a session holds at most
//! about 1,020 identifiers, so on the mosquitto profile the 65,535 limit never binds; only a
//! profile or override with an unlimited queue reaches it.

use crate::types::PacketId;

/// The identifiers `1..=65535` of one session, each free or in use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PacketIds {
    /// Bit `id % 64` of word `id / 64` is set while `id` is in use; words past the end are free.
    words: Vec<u64>,
    /// How many identifiers are in use.
    in_use: u32,
}

/// Identifiers a session can have in use at once (0 is not an identifier).
pub(crate) const MAX_IN_USE: u32 = u16::MAX as u32;

const WORDS: usize = (u16::MAX as usize + 1) / 64;

impl PacketIds {
    /// Whether `id` is in use.
    pub(crate) fn contains(&self, id: PacketId) -> bool {
        let (w, b) = (usize::from(id) / 64, id % 64);
        self.words.get(w).is_some_and(|x| x & (1 << b) != 0)
    }

    /// How many identifiers are in use.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u32 {
        self.in_use
    }

    /// True when all 65,535 identifiers are in use.
    pub(crate) fn is_full(&self) -> bool {
        self.in_use >= MAX_IN_USE
    }

    /// Marks `id` as in use (no effect on 0 or an identifier already in use).
    pub(crate) fn insert(&mut self, id: PacketId) {
        if id == 0 || self.contains(id) {
            return;
        }
        let (w, b) = (usize::from(id) / 64, id % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
        self.in_use += 1;
    }

    /// Frees `id` (no effect if it is not in use).
    pub(crate) fn remove(&mut self, id: PacketId) {
        if !self.contains(id) {
            return;
        }
        let (w, b) = (usize::from(id) / 64, id % 64);
        self.words[w] &= !(1 << b);
        self.in_use -= 1;
    }

    /// The first free identifier at or after `from` (1 to 65,535), wrapping from 65,535 to 1;
    /// `None` when all are in use.
    pub(crate) fn first_free_from(&self, from: PacketId) -> Option<PacketId> {
        if self.is_full() {
            return None;
        }
        let from = from.max(1);
        let start = usize::from(from) / 64;
        // The start word, from `from`'s bit on; then every other word in turn, wrapping; then
        // the start word's bits below `from`. Bit 0 of word 0 (identifier 0) never counts.
        let word = |w: usize| -> u64 {
            let used = self.words.get(w).copied().unwrap_or(0);
            if w == 0 {
                used | 1
            } else {
                used
            }
        };
        let first = !word(start) & (u64::MAX << (from % 64));
        if first != 0 {
            return Some((start * 64) as PacketId + first.trailing_zeros() as PacketId);
        }
        for k in 1..=WORDS {
            let w = (start + k) % WORDS;
            let free = !word(w);
            let free = if w == start {
                free & !(u64::MAX << (from % 64))
            } else {
                free
            };
            if free != 0 {
                return Some((w * 64) as PacketId + free.trailing_zeros() as PacketId);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_first_free_identifier_is_found_from_the_counter_and_wraps_to_1() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.first_free_from(1), Some(1));
        assert_eq!(ids.first_free_from(0), Some(1));
        for id in 1..=10 {
            ids.insert(id);
        }
        assert_eq!(ids.first_free_from(1), Some(11));
        assert_eq!(ids.first_free_from(65_535), Some(65_535));
        ids.insert(65_535);
        assert_eq!(ids.first_free_from(65_535), Some(11), "wraps past 0 to 1");
        ids.remove(5);
        assert_eq!(ids.first_free_from(65_000), Some(65_000));
        assert_eq!(ids.first_free_from(2), Some(5));
        assert_eq!(ids.len(), 10);
    }

    #[test]
    fn a_full_set_has_no_free_identifier_and_one_release_makes_one() {
        let mut ids = PacketIds::default();
        for id in 1..=u16::MAX {
            assert_eq!(ids.first_free_from(id), Some(id));
            ids.insert(id);
        }
        assert!(ids.is_full());
        assert_eq!(ids.first_free_from(1), None);
        ids.remove(40_000);
        assert_eq!(ids.first_free_from(1), Some(40_000));
        assert_eq!(ids.first_free_from(40_001), Some(40_000));
        ids.insert(40_000);
        ids.insert(40_000);
        assert_eq!(ids.len(), MAX_IN_USE);
        ids.remove(0);
        ids.insert(0);
        assert_eq!(ids.len(), MAX_IN_USE);
    }
}
