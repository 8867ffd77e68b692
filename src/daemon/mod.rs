//! `licwatch serve`: the long-running face. It ticks on the configured
//! schedule (and once at start-up, to catch up), plans alerts into the
//! outbox, delivers them with retries, and reports to systemd.
//!
//! Architecture invariants: the daemon owns no state that is not in the
//! database, so a kill at any point loses nothing; one process at a time
//! delivers (an exclusive lock next to the database); signals are turned
//! into `Control` messages by the caller, never read here.

mod deliver;
mod memory;
mod schedule;
mod tick;
mod wall;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sd_notify::NotifyState;
use tokio::sync::mpsc;

pub use deliver::{DeliveryReport, backoff};
pub use schedule::{due_window, lookahead_days, next_tick};
pub use tick::{TickReport, tick};

use crate::config::Config;
use crate::notify::route::{Environment, Route};
use crate::notify::send::Notifier;
use crate::store::Store;

/// What the caller tells a running daemon.
#[derive(Debug)]
pub enum Control {
    /// A new configuration (SIGHUP), already loaded and checked by the caller.
    Reload(Box<Config>),
    /// A new configuration was refused; keep the old one.
    ReloadFailed(String),
    /// SIGTERM or SIGINT: finish the send in flight, then return.
    Shutdown,
}

pub struct Settings {
    pub db: PathBuf,
    /// One tick and one delivery pass, then return.
    pub once: bool,
    /// Plan as if today were this day (with `once`).
    pub today: Option<NaiveDate>,
}

/// The longest the loop sleeps before it re-reads the wall clock, when the
/// kernel's wall-clock timer is not available (`wall.rs`): tokio's timer is
/// monotonic, so a clock step or a suspended machine would otherwise delay
/// a tick. With the timer, the loop sleeps until its next tick or retry.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// With the wall-clock timer and nothing scheduled: wake a day later.
const IDLE_SLEEP: Duration = Duration::from_secs(86_400);

struct Running {
    config: Config,
    routes: HashMap<String, Route>,
    notifier: Notifier,
}

impl Running {
    fn new(config: Config) -> anyhow::Result<Running> {
        let routes = config
            .routes(&Environment)?
            .into_iter()
            .map(|route| (route.name.clone(), route))
            .collect();
        let notifier = Notifier::new(config.delivery.send_timeout)?;
        Ok(Running {
            config,
            routes,
            notifier,
        })
    }
}

/// Takes the delivery lock, waiting for another `serve` to finish (without
/// blocking the runtime, so that a signal still stops the wait). The lock is
/// released by the kernel when the process ends, however it ends.
async fn lock(db: &Path, stop: &AtomicBool) -> anyhow::Result<File> {
    let mut path = db.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                if !told {
                    tracing::warn!(lock = %path.display(), "another licwatch serve is running on this database; waiting for it");
                    told = true;
                }
                if stop.load(Ordering::SeqCst) {
                    anyhow::bail!("stopped while waiting for the other licwatch serve to finish");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
}

fn notify_systemd(states: &[NotifyState]) {
    // Outside systemd there is no socket and nothing to tell.
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("sd_notify: {e}");
    }
}

/// Tells the systemd watchdog the daemon is alive: between routes of a long
/// delivery, not only between wake-ups.
fn ping_watchdog() {
    notify_systemd(&[NotifyState::Watchdog]);
}

fn today_in(config: &Config, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&config.schedule.time_zone).date_naive()
}

/// What one evaluation did: its tick and its delivery pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub tick: TickReport,
    pub delivery: DeliveryReport,
}

/// One tick and one delivery pass.
async fn evaluate(
    store: &mut Store,
    running: &Running,
    today: NaiveDate,
    stop: &AtomicBool,
) -> anyhow::Result<PassReport> {
    let now = Utc::now();
    let report = tick(store, &running.config, today, now).context("planning the tick")?;
    for problem in &report.problems {
        tracing::warn!("{problem}");
    }
    let delivered = deliver::deliver(
        store,
        &running.config,
        &running.routes,
        &running.notifier,
        today,
        now,
        stop,
        &ping_watchdog,
    )
    .await?;
    tracing::info!(
        %today,
        open = report.open,
        alerts = report.alerts,
        queued = report.queued,
        sent = delivered.sent,
        retrying = delivered.retrying,
        failed = delivered.failed,
        cancelled = delivered.cancelled,
        problems = report.problems.len(),
        "tick"
    );
    Ok(PassReport {
        tick: report,
        delivery: delivered,
    })
}

/// One pass as `serve --once` makes it: take the delivery lock (waiting for
/// another `serve`), open the register, tick as of `today` (the configured
/// zone's today when `None`), deliver what is due now, and return. The
/// binary's `serve --once` and the time-lapse soak (tests/it/soak/) both
/// come through here, so the soak proves the path the binary takes.
pub async fn once(
    db: &Path,
    config: Config,
    today: Option<NaiveDate>,
    stop: &AtomicBool,
) -> anyhow::Result<PassReport> {
    let _lock = lock(db, stop).await?;
    let mut store =
        Store::open(db).with_context(|| format!("opening the register {}", db.display()))?;
    let running = Running::new(config)?;
    let today = today.unwrap_or_else(|| today_in(&running.config, Utc::now()));
    evaluate(&mut store, &running, today, stop).await
}

/// Runs the daemon until `Control::Shutdown` (or one pass with `once`).
/// `stop` is set by the caller together with sending `Shutdown`: delivery
/// checks it between routes, so a shutdown waits for the send in flight only.
pub async fn run(
    settings: Settings,
    config: Config,
    mut controls: mpsc::UnboundedReceiver<Control>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    if settings.once {
        return once(&settings.db, config, settings.today, &stop)
            .await
            .map(drop);
    }
    let _lock = lock(&settings.db, &stop).await?;
    let mut store = Store::open(&settings.db)
        .with_context(|| format!("opening the register {}", settings.db.display()))?;
    let mut running = Running::new(config)?;

    // Ready before the catch-up: a long first delivery must not look like a
    // start-up that hangs.
    notify_systemd(&[NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|interval| interval / 2);
    let wall = wall::WallClock::new()
        .inspect_err(|e| {
            tracing::warn!("no wall-clock timer ({e}); re-reading the clock every minute")
        })
        .ok();

    // The catch-up tick at start, then the schedule. A tick that fails is
    // tried again a minute later, not at the next scheduled time.
    let mut next = Some(Utc::now());
    // After an error, nothing runs again before this: a fault that persists
    // (the disk full) is retried calmly, not in a loop.
    let mut calm_until: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        let pending = store.pending_count().unwrap_or(-1);
        let status = match next {
            Some(at) => format!(
                "next tick {}; {pending} alerts pending",
                at.with_timezone(&running.config.schedule.time_zone)
            ),
            None => format!("no next tick in the schedule; {pending} alerts pending"),
        };
        notify_systemd(&[NotifyState::Status(&status), NotifyState::Watchdog]);

        let retry = store.next_attempt().unwrap_or(None);
        let wake = [next, retry]
            .into_iter()
            .flatten()
            .min()
            .map(|at| calm_until.map_or(at, |calm| at.max(calm)));
        let longest = if wall.is_some() {
            IDLE_SLEEP
        } else {
            MAX_SLEEP
        };
        let mut sleep = wake.map_or(longest, |at| (at - now).to_std().unwrap_or_default());
        sleep = sleep.min(longest);
        if let Some(watchdog) = watchdog {
            sleep = sleep.min(watchdog);
        }
        let deadline = now + chrono::Duration::from_std(sleep).unwrap_or_default();
        tokio::select! {
            slept = async {
                match &wall {
                    Some(wall) => wall.until(deadline).await,
                    None => {
                        tokio::time::sleep(sleep).await;
                        Ok(())
                    }
                }
            } => if let Err(e) = slept {
                tracing::warn!("wall-clock timer: {e}");
                tokio::time::sleep(sleep.min(MAX_SLEEP)).await;
            },
            control = controls.recv() => match control {
                Some(Control::Reload(config)) => {
                    notify_systemd(&[NotifyState::Reloading]);
                    match Running::new(*config) {
                        Ok(new) => {
                            running = new;
                            next = next_tick(&running.config.schedule, Utc::now());
                            tracing::info!("configuration reloaded");
                        }
                        Err(e) => tracing::error!("new configuration refused, the old one stays in force: {e:#}"),
                    }
                    notify_systemd(&[NotifyState::Ready]);
                    continue;
                }
                Some(Control::ReloadFailed(reason)) => {
                    tracing::error!("new configuration refused, the old one stays in force: {reason}");
                    continue;
                }
                Some(Control::Shutdown) | None => break,
            },
        }

        let now = Utc::now();
        if calm_until.is_some_and(|calm| now < calm) {
            continue;
        }
        let result = if next.is_some_and(|at| at <= now) {
            let result = evaluate(&mut store, &running, today_in(&running.config, now), &stop)
                .await
                .map(drop);
            if result.is_ok() {
                next = next_tick(&running.config.schedule, now);
            }
            result
        } else if retry.is_some_and(|at| at <= now) {
            deliver::deliver(
                &mut store,
                &running.config,
                &running.routes,
                &running.notifier,
                today_in(&running.config, now),
                now,
                &stop,
                &ping_watchdog,
            )
            .await
            .map(|report| {
                tracing::info!(
                    sent = report.sent,
                    retrying = report.retrying,
                    failed = report.failed,
                    "retries"
                );
            })
        } else {
            Ok(())
        };
        // The pass's plans and messages are freed; hand the pages back so
        // the idle daemon does not keep the pass's peak.
        memory::give_back();
        // A failure (the disk full, the database locked too long) is logged
        // and tried again a minute later; the daemon stays up.
        calm_until = match result {
            Ok(()) => None,
            Err(e) => {
                tracing::error!("{e:#}; trying again in a minute");
                Some(now + chrono::Duration::seconds(60))
            }
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    notify_systemd(&[NotifyState::Stopping]);
    tracing::info!("stopped");
    Ok(())
}
