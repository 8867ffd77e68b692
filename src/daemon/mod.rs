//! `licwatch serve`: the long-running face. It ticks on the configured
//! schedule (and once at start-up, to catch up), plans alerts into the
//! outbox, delivers them with retries, and reports to systemd.
//!
//! Architecture invariants: the daemon owns no state that is not in the
//! database, so a kill at any point loses nothing; one process at a time
//! delivers (an exclusive lock next to the database); signals are turned
//! into `Control` messages by the caller, never read here.

pub mod clock;
pub mod deliver;
mod memory;
pub mod route_name;
pub(crate) mod schedule;
pub mod tick;
mod wall;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sd_notify::NotifyState;
use tokio::sync::mpsc;

use self::clock::Clock;
use self::deliver::DeliveryReport;
use self::schedule::next_tick;
use self::tick::{TickReport, tick};
use crate::config::Config;
use crate::notify::route::Route;
use crate::notify::route::secrets::Environment;
use crate::notify::send::Notifier;
use crate::store::{DeliveryLock, Store};

/// What the caller tells a running daemon.
#[derive(Debug)]
pub enum Control {
    /// A new configuration (SIGHUP), already loaded and checked by the caller.
    Reload(Box<Config>),
    /// A new configuration was refused; keep the old one.
    ReloadFailed(String),
    /// SIGTERM or SIGINT: give the send in flight up to `STOP_GRACE`, then
    /// return.
    Shutdown,
}

pub struct Settings {
    pub db: PathBuf,
    /// One tick and one delivery pass, then return.
    pub once: bool,
    /// Plan as if today were this day (with `once`).
    pub today: Option<NaiveDate>,
    /// The config file in force, or "embedded defaults": logged at start
    /// and recorded for `licwatch status`.
    pub config_source: String,
    /// The time of day, read from here only.
    pub clock: Arc<dyn Clock>,
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
        let routes = crate::notify::route::resolve_all(&config, &Environment)?
            .into_iter()
            .map(|route| (route.name.clone(), route))
            .collect();
        let notifier =
            Notifier::new(config.delivery.send_timeout)?.linking(config.http.public_url.clone());
        Ok(Running {
            config,
            routes,
            notifier,
        })
    }

    fn deliver<'a>(
        &'a self,
        today: NaiveDate,
        now: DateTime<Utc>,
        stop: &'a AtomicBool,
    ) -> deliver::Deliver<'a> {
        deliver::Deliver {
            config: &self.config,
            routes: &self.routes,
            notifier: &self.notifier,
            today,
            now,
            stop,
            heartbeat: &ping_watchdog,
        }
    }
}

/// Takes the delivery lock, waiting for another `serve` to finish (without
/// blocking the runtime, so that a signal still stops the wait). The lock is
/// released by the kernel when the process ends, however it ends.
async fn lock(db: &Path, stop: &AtomicBool) -> anyhow::Result<DeliveryLock> {
    let lock = DeliveryLock::open(db)
        .with_context(|| format!("opening {} for its delivery lock", db.display()))?;
    let mut told = false;
    loop {
        match lock.try_acquire() {
            Ok(true) => return Ok(lock),
            Ok(false) => {
                if !told {
                    tracing::warn!(db = %db.display(), "another licwatch serve is running on this database (under this name or another); waiting for it");
                    told = true;
                }
                if stop.load(Ordering::SeqCst) {
                    anyhow::bail!("stopped while waiting for the other licwatch serve to finish");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("locking {} for delivery", db.display()));
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

/// What one evaluation did: its tick and its delivery pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub tick: TickReport,
    pub delivery: DeliveryReport,
}

/// One tick and one delivery pass as of `pass.today` and `pass.now`,
/// recorded in the register (when, how long, what it planned, its error)
/// for `licwatch status` and /metrics.
async fn evaluate(store: &mut Store, pass: &deliver::Deliver<'_>) -> anyhow::Result<PassReport> {
    let (today, now) = (pass.today, pass.now);
    let took = std::time::Instant::now();
    let result = evaluate_pass(store, pass).await;
    let tick = crate::store::TickRecord {
        at: now,
        duration_ms: i64::try_from(took.elapsed().as_millis()).unwrap_or(i64::MAX),
        today,
        open: result.as_ref().map_or(0, |r| r.tick.open as i64),
        alerts: result.as_ref().map_or(0, |r| r.tick.alerts as i64),
        queued: result.as_ref().map_or(0, |r| r.tick.queued as i64),
        error: result.as_ref().err().map(|e| format!("{e:#}")),
    };
    // The status is a report, not the work: failing to write it (the disk
    // full) must not turn a good pass into a failed one.
    if let Err(e) = store.record_tick(&tick, next_tick(&pass.config.schedule, now)) {
        tracing::warn!("recording the tick for licwatch status: {e}");
    }
    // Said after the record: once the log says "tick", `status` and
    // /healthz know it too.
    if let Ok(PassReport {
        tick: report,
        delivery: delivered,
    }) = &result
    {
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
    }
    result
}

async fn evaluate_pass(
    store: &mut Store,
    pass: &deliver::Deliver<'_>,
) -> anyhow::Result<PassReport> {
    let report = tick(store, pass.config, pass.today, pass.now).context("planning the tick")?;
    for problem in &report.problems {
        tracing::warn!("{problem}");
    }
    let delivered = deliver::deliver(store, pass).await?;
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
    clock: &dyn Clock,
    stop: &AtomicBool,
) -> anyhow::Result<PassReport> {
    let _lock = lock(db, stop).await?;
    let mut store =
        Store::open(db).with_context(|| format!("opening the register {}", db.display()))?;
    let running = Running::new(config)?;
    let now = clock.now();
    let today = today.unwrap_or_else(|| running.config.schedule.today(now));
    evaluate(&mut store, &running.deliver(today, now, stop)).await
}

/// Runs the daemon until `Control::Shutdown` (or one pass with `once`).
/// `stop` is set by the caller together with sending `Shutdown`: delivery
/// checks it between messages and gives a send in flight `STOP_GRACE` to
/// finish, leaving its rows pending (same message id next time) if it does not.
pub async fn run(
    settings: Settings,
    config: Config,
    mut controls: mpsc::UnboundedReceiver<Control>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    if settings.once {
        let report = once(
            &settings.db,
            config,
            settings.today,
            settings.clock.as_ref(),
            &stop,
        )
        .await?;
        // A cron job running `serve --once` learns of a failure from the
        // exit code, not only from the log.
        let failed = &report.delivery.failed_rows;
        if !failed.is_empty() {
            const SHOWN: usize = 20;
            let mut rows: Vec<String> = failed
                .iter()
                .take(SHOWN)
                .map(|id| format!("#{id}"))
                .collect();
            if failed.len() > SHOWN {
                rows.push(format!("and {} more", failed.len() - SHOWN));
            }
            anyhow::bail!(
                "{} alert(s) or notice(s) could not be delivered and will not be retried: outbox rows {} (see licwatch outbox list --state failed; fix the route, then licwatch outbox retry --failed)",
                failed.len(),
                rows.join(", ")
            );
        }
        return Ok(());
    }
    let _lock = lock(&settings.db, &stop).await?;
    let mut store = Store::open(&settings.db)
        .with_context(|| format!("opening the register {}", settings.db.display()))?;
    let mut running = Running::new(config)?;
    let started = settings.clock.now();
    let first_scheduled = next_tick(&running.config.schedule, started);
    let mut route_names: Vec<String> = running.routes.keys().cloned().collect();
    route_names.sort();
    tracing::info!(
        register = %std::path::absolute(&settings.db).unwrap_or_else(|_| settings.db.clone()).display(),
        config = %settings.config_source,
        routes = %route_names.join(","),
        next_tick = %first_scheduled.map_or("none".to_owned(), |at| at.with_timezone(&running.config.schedule.time_zone).to_rfc3339()),
        "licwatch serve started; catching up with a tick now"
    );
    if let Err(e) = store.record_start(
        started,
        &settings.config_source,
        &route_names,
        Some(started),
    ) {
        tracing::warn!("recording the start for licwatch status: {e}");
    }

    // Ready before the catch-up: a long first delivery must not look like a
    // start-up that hangs.
    notify_systemd(&[NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|interval| interval / 2);
    // The catch-up tick at start, then the schedule. A tick that fails is
    // tried again a minute later, not at the next scheduled time.
    let clock = settings.clock.as_ref();
    let wall = clock
        .is_system_time()
        .then(|| {
            wall::WallClock::new()
                .inspect_err(|e| {
                    tracing::warn!("no wall-clock timer ({e}); re-reading the clock every minute")
                })
                .ok()
        })
        .flatten();
    let mut next = Some(clock.now());
    // After an error, nothing runs again before this: a fault that persists
    // (the disk full) is retried calmly, not in a loop.
    let mut calm_until: Option<DateTime<Utc>> = None;
    loop {
        let now = clock.now();
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
                            next = next_tick(&running.config.schedule, clock.now());
                            if let Err(e) = store.record_next_tick(next) {
                                tracing::warn!("recording the next tick for licwatch status: {e}");
                            }
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

        let now = clock.now();
        if calm_until.is_some_and(|calm| now < calm) {
            continue;
        }
        let result = if next.is_some_and(|at| at <= now) {
            let today = running.config.schedule.today(now);
            let result = evaluate(&mut store, &running.deliver(today, now, &stop))
                .await
                .map(drop);
            if result.is_ok() {
                next = next_tick(&running.config.schedule, now);
            }
            result
        } else if retry.is_some_and(|at| at <= now) {
            deliver::deliver(
                &mut store,
                &running.deliver(running.config.schedule.today(now), now, &stop),
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
        // the idle daemon does not keep the pass's peak (SQLite's page
        // cache first, then the allocator's free lists).
        if let Err(e) = store.release_memory() {
            tracing::debug!("releasing SQLite's cache: {e}");
        }
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
