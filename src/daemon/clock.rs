//! The daemon's one source of the time of day. `serve` reads the system
//! clock; tests give a clock that follows tokio's, so that pausing and
//! advancing tokio's time moves the daemon's day too, without sleeping.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Whether this is the system's wall clock, which the kernel's
    /// wall-clock timer (`daemon::wall`) can wait for. A test's clock is
    /// not: the daemon then waits on tokio's timer, which follows it.
    fn is_system_time(&self) -> bool {
        false
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn is_system_time(&self) -> bool {
        true
    }
}

/// `base` plus the time tokio's clock has advanced since this was made:
/// under `tokio::time::pause`, `advance` (or an idle runtime) moves it.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(base: DateTime<Utc>) -> TokioClock {
        TokioClock {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed =
            chrono::Duration::from_std(self.start.elapsed()).unwrap_or(chrono::Duration::MAX);
        self.base
            .checked_add_signed(elapsed)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}
