//! Rate budgets per destination: a robot that is sent more than its service
//! allows blocks it (DingTalk for 10 minutes past 20 messages a minute), so
//! licwatch waits instead. Every message to the same URL counts against one
//! budget: parts of a split digest, notices, fallback messages.
//!
//! Time is tokio's, so tests pause and advance it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// At most `count` messages in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: usize,
    pub per: Duration,
}

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

/// The limits each service publishes in its robot documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    /// DingTalk custom robots: 20 a minute, then blocked for 10 minutes.
    pub dingtalk: Vec<Rate>,
    /// WeCom group robots: 20 a minute (45009 past it).
    pub wecom: Vec<Rate>,
    /// Feishu and Lark custom bots: 5 a second and 100 a minute (11232).
    pub feishu: Vec<Rate>,
    /// Slack incoming webhooks: 1 a second (429 past short bursts).
    pub slack: Vec<Rate>,
}

impl Rates {
    pub fn published() -> Rates {
        Rates {
            dingtalk: vec![Rate {
                count: 20,
                per: MINUTE,
            }],
            wecom: vec![Rate {
                count: 20,
                per: MINUTE,
            }],
            feishu: vec![
                Rate {
                    count: 5,
                    per: SECOND,
                },
                Rate {
                    count: 100,
                    per: MINUTE,
                },
            ],
            slack: vec![Rate {
                count: 1,
                per: SECOND,
            }],
        }
    }

    /// No budget at all: for tests of how a service's own rate-limit
    /// answers are handled, which the budget would otherwise never reach.
    pub fn unmetered() -> Rates {
        Rates {
            dingtalk: Vec::new(),
            wecom: Vec::new(),
            feishu: Vec::new(),
            slack: Vec::new(),
        }
    }
}

/// When recent messages went to each destination. Shared by the clones of
/// one `Notifier`.
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    sent: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl Budgets {
    /// Waits until one more message to `destination` is within every rate,
    /// and counts it as sent now.
    pub async fn take(&self, destination: &str, rates: &[Rate]) {
        let Some(longest) = rates.iter().map(|rate| rate.per).max() else {
            return;
        };
        loop {
            let now = Instant::now();
            let wait = {
                // Never held across an await; a panic elsewhere cannot leave
                // the map half-written, so a poisoned lock is still usable.
                let mut sent = self
                    .sent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let times = sent.entry(destination.to_owned()).or_default();
                while times.front().is_some_and(|at| now - *at >= longest) {
                    times.pop_front();
                }
                let wait = rates
                    .iter()
                    .filter_map(|rate| {
                        let within: Vec<&Instant> =
                            times.iter().filter(|at| now - **at < rate.per).collect();
                        // The oldest message that keeps the window full must
                        // leave it first.
                        let oldest = within.len().checked_sub(rate.count)?;
                        Some(*within[oldest] + rate.per - now)
                    })
                    .max();
                if wait.is_none() {
                    times.push_back(now);
                }
                wait
            };
            match wait {
                None => return,
                Some(wait) => {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "waiting for the destination's rate budget"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The virtual seconds (from the start) at which each of `n` messages
    /// to one destination goes.
    async fn times(rates: &[Rate], n: usize) -> Vec<u64> {
        let budgets = Budgets::default();
        let start = Instant::now();
        let mut out = Vec::new();
        for _ in 0..n {
            budgets.take("https://robot.example/hook", rates).await;
            out.push((Instant::now() - start).as_secs());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn dingtalk_sends_20_a_minute_and_the_rest_wait() {
        let at = times(&Rates::published().dingtalk, 45).await;
        assert!(at[..20].iter().all(|s| *s == 0), "{at:?}");
        assert!(at[20..40].iter().all(|s| *s == 60), "{at:?}");
        assert!(at[40..].iter().all(|s| *s == 120), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn feishu_keeps_5_a_second_and_100_a_minute() {
        let at = times(&Rates::published().feishu, 105).await;
        for window in 0..60 {
            let in_second = at.iter().filter(|s| **s == window).count();
            assert!(in_second <= 5, "second {window}: {in_second}");
        }
        assert!(at[..100].iter().all(|s| *s < 60), "{at:?}");
        assert!(at[100..].iter().all(|s| *s >= 60), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn slack_sends_one_a_second_and_destinations_do_not_share() {
        let at = times(&Rates::published().slack, 3).await;
        assert_eq!(at, [0, 1, 2]);
        let budgets = Budgets::default();
        let start = Instant::now();
        let slack = Rates::published().slack;
        budgets.take("https://hooks.slack.com/a", &slack).await;
        budgets.take("https://hooks.slack.com/b", &slack).await;
        assert_eq!(Instant::now(), start);
    }
}
