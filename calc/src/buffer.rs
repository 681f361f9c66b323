//! Local buffer sizing: the broker queues messages *to* an offline client, never messages *from*
//! it (a client's own session state holds its QoS 1 and 2 messages not yet completely
//! acknowledged, and the QoS 2 messages it received but has not completed, §4.1; readings taken
//! while disconnected are the device's problem). This
//! sizes the device-side buffer for an outage.
//!
//! readings = ceil(outage / interval); bytes = readings x (reading + framing). A ring buffer of
//! `capacity` bytes holds floor(capacity / (reading + framing)) readings and overwrites the
//! oldest when full; a "drop new" buffer (as in the course's sample code) keeps the oldest and
//! loses the newest.

#[derive(Clone, Debug, PartialEq)]
pub struct BufferInput {
    pub interval_s: f64,
    pub outage_s: f64,
    pub reading: u64,
    pub framing: u64,
    /// Bytes the device can spend on the buffer (RAM or flash).
    pub capacity: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BufferResult {
    pub readings: u64,
    pub bytes_needed: u64,
    pub fits: bool,
    /// Readings the capacity holds, and how long that covers.
    pub slots: u64,
    pub covers_s: f64,
    /// Readings lost when it does not fit.
    pub lost: u64,
    pub what_is_lost: String,
}

pub fn compute(i: &BufferInput) -> BufferResult {
    let readings = (i.outage_s / i.interval_s - 1e-9).ceil().max(0.0) as u64;
    let per = i.reading + i.framing;
    let bytes_needed = readings.saturating_mul(per);
    let slots = i.capacity.checked_div(per).unwrap_or(u64::MAX);
    let fits = readings <= slots;
    let lost = readings.saturating_sub(slots);
    let covers_s = slots as f64 * i.interval_s;
    let what_is_lost = if fits {
        "nothing: every reading of the outage fits".to_string()
    } else {
        format!(
            "{lost} readings: a ring buffer overwrites the oldest (the first {} of the outage); a drop-new buffer keeps those and loses the last {}",
            crate::units::duration(lost as f64 * i.interval_s),
            crate::units::duration(lost as f64 * i.interval_s)
        )
    };
    BufferResult {
        readings,
        bytes_needed,
        fits,
        slots,
        covers_s,
        lost,
        what_is_lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_buffer_by_hand() {
        // The course's struct: topic[64] + payload[256] + qos (1 B) = 321 B; 100 of them is
        // 32,100 B and covers 100 minutes at one reading a minute.
        let r = compute(&BufferInput {
            interval_s: 60.0,
            outage_s: 6000.0,
            reading: 257,
            framing: 64,
            capacity: 32_100,
        });
        assert_eq!(
            (r.readings, r.bytes_needed, r.slots, r.fits),
            (100, 32_100, 100, true)
        );
        assert_eq!(r.covers_s, 6000.0);
        // Two hours do not fit: 120 readings, 20 lost.
        let r = compute(&BufferInput {
            interval_s: 60.0,
            outage_s: 7200.0,
            reading: 257,
            framing: 64,
            capacity: 32_100,
        });
        assert_eq!((r.readings, r.lost, r.fits), (120, 20, false));
        assert!(
            r.what_is_lost.contains("first 20 min"),
            "{}",
            r.what_is_lost
        );
    }

    #[test]
    fn partial_intervals_round_up() {
        let r = compute(&BufferInput {
            interval_s: 10.0,
            outage_s: 25.0,
            reading: 10,
            framing: 0,
            capacity: 1000,
        });
        assert_eq!(r.readings, 3);
        let r = compute(&BufferInput {
            interval_s: 10.0,
            outage_s: 30.0,
            reading: 10,
            framing: 0,
            capacity: 1000,
        });
        assert_eq!(r.readings, 3);
    }
}
