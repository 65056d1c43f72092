//! The instant by which a run must answer. It is made once, from the time limit, when a run
//! starts (reading and validating the document count against it), and passed down to every
//! stage: placement, sequencing, conflict search and fix search each take what is left.

use std::time::{Duration, Instant};

/// When the whole run must have answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// `limit_s` seconds after `start` (a limit that is not a positive finite number of seconds
    /// gives a deadline already passed, or one far away for an infinite limit).
    pub fn after(start: Instant, limit_s: f64) -> Deadline {
        let limit = if limit_s.is_nan() {
            0.0
        } else {
            limit_s.clamp(0.0, 1e7)
        };
        Deadline(start + Duration::from_secs_f64(limit))
    }

    /// `limit_s` seconds from now.
    pub fn in_seconds(limit_s: f64) -> Deadline {
        Deadline::after(Instant::now(), limit_s)
    }

    /// The instant itself.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// What is left (zero once passed).
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// What is left, in seconds.
    pub fn remaining_s(self) -> f64 {
        self.remaining().as_secs_f64()
    }

    /// Whether nothing is left.
    pub fn passed(self) -> bool {
        self.remaining().is_zero()
    }
}
