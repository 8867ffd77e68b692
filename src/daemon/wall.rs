//! Sleeping until a wall-clock time. tokio's timer is monotonic, so a clock
//! step or a suspended machine would move a tick; polling the clock every
//! minute woke the idle daemon 1,440 times a day for nothing. A timerfd on
//! CLOCK_REALTIME with an absolute deadline fires at the wall-clock time
//! itself, and TFD_TIMER_CANCEL_ON_SET wakes it when the clock is set, so
//! the loop recomputes its deadline then and only then.

use std::os::fd::OwnedFd;

use chrono::{DateTime, Utc};
use rustix::io::Errno;
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

pub(super) struct WallClock {
    timer: AsyncFd<OwnedFd>,
}

impl WallClock {
    /// Must be called inside the runtime (the timer registers with it).
    pub(super) fn new() -> std::io::Result<WallClock> {
        let fd = timerfd_create(
            TimerfdClockId::Realtime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // SAFETY: `fd` is a timerfd just created and owned by the AsyncFd for
        // its whole life; nothing else closes or replaces it.
        let timer = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(WallClock { timer })
    }

    /// Returns at `at` (at once if it has passed), or earlier when the wall
    /// clock is set: the caller then reads the clock and decides again.
    pub(super) async fn until(&self, at: DateTime<Utc>) -> std::io::Result<()> {
        let value = Timespec {
            tv_sec: at.timestamp(),
            tv_nsec: at.timestamp_subsec_nanos().into(),
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            // An all-zero value would disarm the timer instead of firing.
            it_value: if value.tv_sec == 0 && value.tv_nsec == 0 {
                Timespec {
                    tv_sec: 0,
                    tv_nsec: 1,
                }
            } else {
                value
            },
        };
        timerfd_settime(
            self.timer.get_ref(),
            TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET,
            &spec,
        )?;
        loop {
            let mut ready = self.timer.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(self.timer.get_ref(), &mut expirations) {
                Ok(_) | Err(Errno::CANCELED) => return Ok(()),
                Err(Errno::AGAIN) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_in_the_past_returns_at_once_and_a_near_one_when_reached() {
        let clock = WallClock::new().unwrap();
        clock
            .until(Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap();
        let at = Utc::now() + chrono::Duration::milliseconds(30);
        clock.until(at).await.unwrap();
        assert!(Utc::now() >= at, "woke before the wall-clock deadline");
    }
}
