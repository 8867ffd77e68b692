//! Delivery: pending outbox rows, grouped per route into one digest, sent,
//! and their outcome recorded in one transaction per route.
//!
//! Invariant: a row is marked sent only after the channel accepted it. A
//! crash between the two resends it at the next start, with the same message
//! id (e-mail Message-ID, webhook-id), so receivers can tell it is the same.

mod rebuild;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use self::rebuild::{notice_text, rebuild_alerts};
use super::route_name::RouteName;
use crate::config::{Config, Delivery};
use crate::notify::NoticeKind;
use crate::notify::route::{Route, Target};
use crate::notify::send::{Notifier, Outcome};
use crate::plan::Severity;
use crate::store::{DueRows, NewOutboxRow, OutboxRow, RowOutcome, Store};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// SIGTERM came before everything due was sent.
    pub stopped: bool,
    /// The outbox rows that failed for good, in the order they failed.
    pub failed_rows: Vec<i64>,
}

/// How far a retry's wait is spread around its doubling, in percent.
const SPREAD_PERCENT: i64 = 20;
/// Knuth's multiplicative hash constant (2^32 divided by the golden ratio):
/// consecutive row ids land far apart in the spread.
const SPREAD_MULTIPLIER: i64 = 2_654_435_761;

/// The wait before attempt `attempts + 1`: doubling from `retry_first` up to
/// `retry_max`, spread by ±20% so that many rows failing together do not
/// retry together. The spread comes from the row id, not a random source,
/// which keeps tests repeatable.
pub fn backoff(delivery: &Delivery, row_id: i64, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    let base = delivery
        .retry_first
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(delivery.retry_max);
    let spread = (row_id
        .wrapping_mul(SPREAD_MULTIPLIER)
        .wrapping_add(attempts))
    .rem_euclid(2 * SPREAD_PERCENT + 1)
        - SPREAD_PERCENT;
    let factor = 1.0 + spread as f64 / 100.0;
    base.mul_f64(factor)
}

/// The message a row goes out in, as its retries see it: the rows of a
/// message share one retry time, computed from these.
#[derive(Debug, Clone, Copy)]
struct Message {
    /// Attempts made at it so far.
    attempts: i64,
    /// When its oldest row was planned: the retry horizon counts from here.
    created_at: DateTime<Utc>,
    /// Spreads the retries of different messages (its first row's id).
    spread: i64,
}

impl Message {
    fn of<'a>(rows: impl IntoIterator<Item = &'a OutboxRow>) -> Option<Message> {
        rows.into_iter().fold(None, |message, row| {
            Some(match message {
                None => Message {
                    attempts: row.attempts,
                    created_at: row.created_at,
                    spread: row.id,
                },
                Some(m) => Message {
                    attempts: m.attempts.max(row.attempts),
                    created_at: m.created_at.min(row.created_at),
                    spread: m.spread.min(row.id),
                },
            })
        })
    }

    /// When to try again after the backoff (or the service's Retry-After, up
    /// to retry_max); `None` once that would pass the retry horizon.
    fn next_attempt(
        &self,
        retry_after: Option<Duration>,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        // A huge or hostile Retry-After must not park a row for years.
        let wait = backoff(delivery, self.spread, self.attempts)
            .max(retry_after.unwrap_or_default())
            .min(delivery.retry_max);
        let horizon = chrono::Duration::from_std(delivery.retry_for)
            .ok()
            .and_then(|retry_for| self.created_at.checked_add_signed(retry_for))?;
        chrono::Duration::from_std(wait)
            .ok()
            .and_then(|wait| now.checked_add_signed(wait))
            .filter(|next| *next <= horizon)
    }

    /// A row of this message after a failure worth retrying: pending until
    /// `next`, or failed for good when there is no next time.
    fn retry_or_give_up(&self, error: &str, next: Option<DateTime<Utc>>) -> RowOutcome {
        match next {
            Some(next_attempt_at) => RowOutcome::Retry {
                error: error.to_owned(),
                next_attempt_at,
            },
            None => RowOutcome::Failed {
                error: format!("gave up after {} attempts: {error}", self.attempts + 1),
            },
        }
    }
}

/// The route an outbox row names: a configured one, or a company's contacts
/// mailed through `routing.contacts_via`. `None` when it no longer exists.
fn resolve_route(
    name: &str,
    routes: &HashMap<String, Route>,
    config: &Config,
    store: &Store,
) -> anyhow::Result<Option<Route>> {
    if let Some(route) = routes.get(name) {
        return Ok(Some(route.clone()));
    }
    let RouteName::Contacts(uscc) = RouteName::of(name) else {
        return Ok(None);
    };
    let Some(template) = config
        .routing
        .contacts_via
        .as_ref()
        .and_then(|via| routes.get(via))
    else {
        return Ok(None);
    };
    let company = store.company(&uscc)?;
    let mut route = template.clone();
    route.name = name.to_owned();
    if let Target::Email(email) = &mut route.target {
        email.to = company
            .emails
            .iter()
            .filter_map(|address| address.parse().ok())
            .collect();
        if email.to.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(route))
}

/// What a delivery needs besides the register.
pub struct Deliver<'a> {
    pub config: &'a Config,
    pub routes: &'a HashMap<String, Route>,
    pub notifier: &'a Notifier,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// Set on SIGTERM: no new message is started, and the one in flight
    /// has [`STOP_GRACE`] to finish.
    pub stop: &'a AtomicBool,
    /// Called before each message (the systemd watchdog).
    pub heartbeat: &'a dyn Fn(),
}

/// How long a send in flight may go on after SIGTERM. Past it the send is
/// dropped and its rows stay pending: the next start sends the same message
/// under the same id. Well inside systemd's stop timeout (60 s in the unit).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Sends the rows due now, one message at a time. A second pass sends the
/// fallback notices of messages that failed in the first; messages to retry
/// are due later, so two passes end it. Stops between messages once `stop`
/// is set.
pub async fn deliver(store: &mut Store, ctx: &Deliver<'_>) -> anyhow::Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for _ in 0..2 {
        let pass = deliver_pass(store, ctx).await?;
        let failed = pass.failed;
        report.sent += pass.sent;
        report.retrying += pass.retrying;
        report.failed += pass.failed;
        report.cancelled += pass.cancelled;
        report.stopped |= pass.stopped;
        report.failed_rows.extend(pass.failed_rows);
        if failed == 0 || report.stopped {
            break;
        }
    }
    Ok(report)
}

/// The most alerts one message carries. A backlog (the first tick over a
/// large register) goes out in messages of this many, each read, rebuilt,
/// sent and recorded before the next is read, so that memory follows a
/// message (some 10 MB), not the backlog. An agency's day fits in one, as
/// before; chat routes split a message further, to their services' limits.
pub const MESSAGE_ITEMS: usize = 5_000;

async fn deliver_pass(store: &mut Store, ctx: &Deliver<'_>) -> anyhow::Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for name in store.due_routes(ctx.now)? {
        if ctx.stop.load(Ordering::SeqCst) {
            report.stopped = true;
            break;
        }
        (ctx.heartbeat)();
        let Some(route) = resolve_route(&name, ctx.routes, ctx.config, store)? else {
            fail_route(store, ctx, &name, &mut report)?;
            continue;
        };
        if !deliver_route(store, ctx, &route, &mut report).await? {
            report.stopped = true;
            break;
        }
    }
    Ok(report)
}

/// Fails every row due on a route that no longer exists, a batch at a
/// time, with one notice naming the first items and counting them all.
fn fail_route(
    store: &mut Store,
    ctx: &Deliver<'_>,
    name: &str,
    report: &mut DeliveryReport,
) -> anyhow::Result<()> {
    let error =
        format!("route \"{name}\" is no longer configured (or the company has no contact address)");
    let total = store.due_count(name, ctx.now)?;
    let mut after = 0;
    loop {
        let rows = store.due_batch(name, ctx.now, DueRows::All, after, MESSAGE_ITEMS)?;
        let Some(last) = rows.last() else {
            break;
        };
        let first_batch = after == 0;
        after = last.id;
        let outcomes: Vec<(i64, RowOutcome)> = rows
            .iter()
            .map(|row| {
                (
                    row.id,
                    RowOutcome::Failed {
                        error: error.clone(),
                    },
                )
            })
            .collect();
        // The later batches' rows are counted in the first batch's notice.
        let count = first_batch.then_some(total);
        settle(store, ctx, name, &rows, &outcomes, count, report)?;
    }
    Ok(())
}

/// How a message went, as far as the route's next messages care.
enum Sent {
    /// Stopped in the middle: nothing recorded.
    Stopped,
    Done,
    /// Its rows are to be tried again then.
    Retry(DateTime<Utc>),
}

/// Sends the rows due on `route`, one message at a time, oldest first: the
/// messages they are already in, then the new alerts in messages of at
/// most [`MESSAGE_ITEMS`], then each new notice. A message's id is written
/// on its rows before it is first sent, so a crash resends the same rows
/// under the same id. Returns false when stopped.
async fn deliver_route(
    store: &mut Store,
    ctx: &Deliver<'_>,
    route: &Route,
    report: &mut DeliveryReport,
) -> anyhow::Result<bool> {
    for message in store.due_messages(&route.name, ctx.now)? {
        let rows = store.message_rows(&route.name, &message)?;
        if let Sent::Stopped = send_one(store, ctx, route, &message, &rows, report).await? {
            return Ok(false);
        }
    }
    for which in [DueRows::NewAlerts, DueRows::NewNotices] {
        let mut after = 0;
        loop {
            let limit = match which {
                DueRows::NewNotices => 1,
                _ => MESSAGE_ITEMS,
            };
            let batch = store.due_batch(&route.name, ctx.now, which, after, limit)?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.id;
            let id = match which {
                DueRows::NewNotices => {
                    crate::notify::notice_id(&route.name, &last.planned.obligation)
                }
                _ => crate::notify::keyed_id(
                    &route.name,
                    batch
                        .iter()
                        .map(|row| (row.planned.obligation.as_str(), row.planned.stage)),
                ),
            };
            let ids: Vec<i64> = batch.iter().map(|row| row.id).collect();
            let taken: std::collections::HashSet<i64> =
                store.assign_message(&ids, &id)?.into_iter().collect();
            let rows: Vec<OutboxRow> = batch
                .into_iter()
                .filter(|row| taken.contains(&row.id))
                .map(|row| OutboxRow {
                    message_id: Some(id.clone()),
                    ..row
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            match send_one(store, ctx, route, &id, &rows, report).await? {
                Sent::Stopped => return Ok(false),
                Sent::Done => {}
                // The rest of the backlog waits with the failed message
                // rather than fail message after message.
                Sent::Retry(until) if which == DueRows::NewAlerts => {
                    store.postpone_new_alerts(&route.name, ctx.now, until)?;
                    break;
                }
                Sent::Retry(_) => {}
            }
        }
    }
    Ok(true)
}

/// Sends one message (its pending `rows`) and records what became of them.
async fn send_one(
    store: &mut Store,
    ctx: &Deliver<'_>,
    route: &Route,
    message: &str,
    rows: &[OutboxRow],
    report: &mut DeliveryReport,
) -> anyhow::Result<Sent> {
    if ctx.stop.load(Ordering::SeqCst) {
        return Ok(Sent::Stopped);
    }
    (ctx.heartbeat)();
    let Some(outcomes) = send_message(store, ctx, route, rows).await else {
        return Ok(Sent::Stopped);
    };
    settle(store, ctx, message, rows, &outcomes, None, report)?;
    Ok(outcomes
        .iter()
        .find_map(|(_, outcome)| match outcome {
            RowOutcome::Retry {
                next_attempt_at, ..
            } => Some(Sent::Retry(*next_attempt_at)),
            _ => None,
        })
        .unwrap_or(Sent::Done))
}

/// Counts and records what became of a message's rows, with the fallback
/// notice of its failures, in one transaction. `failed_in_all`: how many
/// rows the notice counts, when more failed than these.
fn settle(
    store: &mut Store,
    ctx: &Deliver<'_>,
    message: &str,
    rows: &[OutboxRow],
    outcomes: &[(i64, RowOutcome)],
    failed_in_all: Option<usize>,
    report: &mut DeliveryReport,
) -> anyhow::Result<()> {
    for (id, outcome) in outcomes {
        match outcome {
            RowOutcome::Sent { .. } => report.sent += 1,
            RowOutcome::Retry { .. } | RowOutcome::SetAside { .. } => report.retrying += 1,
            RowOutcome::Failed { .. } => {
                report.failed += 1;
                report.failed_rows.push(*id);
            }
            RowOutcome::Cancelled { .. } => report.cancelled += 1,
        }
    }
    let failed = outcomes
        .iter()
        .any(|(_, outcome)| matches!(outcome, RowOutcome::Failed { .. }));
    let notices = if failed {
        // The fallback route when there is one, else the operator routes.
        let told = match &ctx.config.routing.fallback {
            Some(fallback) => vec![fallback.clone()],
            None => super::tick::operator_routes(store, ctx.config)?,
        };
        failure_notices(
            message,
            rows,
            outcomes,
            failed_in_all,
            &told,
            ctx.today,
            ctx.now,
        )
    } else {
        Vec::new()
    };
    store.record_outcomes(outcomes, &notices, ctx.now)?;
    Ok(())
}

/// How often the watchdog hears from a send in flight: a digest waiting for
/// a robot's rate budget may take minutes.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);

/// Polls `stop`, calling `heartbeat` meanwhile; returns once it is set.
async fn stopped(stop: &AtomicBool, heartbeat: &dyn Fn()) {
    const POLL: Duration = Duration::from_millis(50);
    let mut since_heartbeat = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(POLL).await;
        since_heartbeat += POLL;
        if since_heartbeat >= HEARTBEAT_EVERY {
            heartbeat();
            since_heartbeat = Duration::ZERO;
        }
    }
}

/// Runs a send; once `stop` is set, gives it [`STOP_GRACE`] more, then drops
/// it (`None`): dropping closes the connection, and nothing is recorded.
async fn unless_stopped<T>(ctx: &Deliver<'_>, send: impl Future<Output = T>) -> Option<T> {
    let mut send = std::pin::pin!(send);
    tokio::select! {
        value = &mut send => return Some(value),
        () = stopped(ctx.stop, ctx.heartbeat) => {}
    }
    match tokio::time::timeout(STOP_GRACE, send).await {
        Ok(value) => Some(value),
        Err(_) => {
            tracing::warn!(
                "stopping: the send in flight did not finish within {} s; its alerts stay pending and go out under the same message id at the next start",
                STOP_GRACE.as_secs()
            );
            None
        }
    }
}

/// Sends one message (`rows`: its pending rows) and says what became of each
/// row; `None` when stopped in the middle, with nothing to record. The rows
/// are laid out as when first tried, so the parts and their ids are the
/// same unless some rows were settled meanwhile (done, set aside) or an
/// earlier part went through.
async fn send_message(
    store: &Store,
    ctx: &Deliver<'_>,
    route: &Route,
    rows: &[OutboxRow],
) -> Option<Vec<(i64, RowOutcome)>> {
    let message = Message::of(rows)?;
    let mut outcomes: Vec<(i64, RowOutcome)> = Vec::new();
    let mut failures: Vec<(i64, &Outcome)> = Vec::new();
    let notice_outcome;
    let delivery;
    if let [row] = rows
        && row.planned.notice.is_some()
    {
        let (message_id, outcome) = unless_stopped(
            ctx,
            ctx.notifier.send_notice(
                route,
                &row.planned.obligation,
                &notice_text(row, route),
                ctx.now,
            ),
        )
        .await?;
        log_outcome(route, &message_id, 1, &outcome);
        notice_outcome = outcome;
        match &notice_outcome {
            Outcome::Sent { .. } => outcomes.push((row.id, RowOutcome::Sent { message_id })),
            failed => failures.push((row.id, failed)),
        }
    } else {
        let all: Vec<&OutboxRow> = rows
            .iter()
            .filter(|row| row.planned.notice.is_none())
            .collect();
        let rebuilt = rebuild_alerts(store, ctx.config, &all, ctx.today, ctx.now);
        let by_id: HashMap<i64, &OutboxRow> = rows.iter().map(|row| (row.id, row)).collect();
        outcomes.extend(rebuilt.settled);
        if rebuilt.alerts.is_empty() {
            return Some(outcomes);
        }
        delivery = unless_stopped(ctx, ctx.notifier.send(route, &rebuilt.alerts, ctx.now)).await?;
        for sent in &delivery.messages {
            log_outcome(route, &sent.id, sent.alerts.len(), &sent.outcome);
            for index in &sent.alerts {
                let Some(row) = rebuilt.row_ids.get(*index).and_then(|id| by_id.get(id)) else {
                    continue;
                };
                match &sent.outcome {
                    Outcome::Sent { .. } => outcomes.push((
                        row.id,
                        RowOutcome::Sent {
                            message_id: sent.id.clone(),
                        },
                    )),
                    failed => failures.push((row.id, failed)),
                }
            }
        }
    }
    // One retry time for the whole message, from its first failure: its
    // rows go out again together.
    let next = failures.iter().find_map(|(_, outcome)| match outcome {
        Outcome::Retry { retry_after, .. } => {
            Some(message.next_attempt(*retry_after, &ctx.config.delivery, ctx.now))
        }
        _ => None,
    });
    for (id, outcome) in failures {
        let row_outcome = match outcome {
            Outcome::Retry { error, .. } => {
                message.retry_or_give_up(&error.to_string(), next.flatten())
            }
            Outcome::Permanent { error } => RowOutcome::Failed {
                error: error.to_string(),
            },
            Outcome::Sent { .. } => continue,
        };
        outcomes.push((id, row_outcome));
    }
    Some(outcomes)
}

fn log_outcome(route: &Route, message_id: &str, items: usize, outcome: &Outcome) {
    match outcome {
        Outcome::Sent { .. } => tracing::info!(route = %route.name, message_id, items, "sent"),
        Outcome::Retry { .. } => {
            tracing::warn!(route = %route.name, message_id, items, "{outcome}")
        }
        Outcome::Permanent { error } => tracing::error!(
            route = %route.name,
            message_id,
            items,
            code = error.code().unwrap_or_default(),
            "{outcome}"
        ),
    }
}

/// How many items a failure notice names; the rest are counted (and listed
/// by `licwatch outbox list --state failed`). Ten keep the notice well
/// inside the smallest chat limit (WeCom's 4,096 bytes).
const NOTICE_ITEMS: usize = 10;

/// The notice to the routes `told` (the fallback, or the operator routes)
/// of a message whose rows failed for good: one notice a message, naming
/// its items, however many there are, to every route told but the one that
/// failed; none for a failed notice of this kind. It is written in the same
/// transaction as the failures, so a crash cannot lose it.
fn failure_notices(
    message: &str,
    rows: &[OutboxRow],
    outcomes: &[(i64, RowOutcome)],
    failed_in_all: Option<usize>,
    told: &[String],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<NewOutboxRow> {
    let failed: Vec<(&OutboxRow, &str)> = outcomes
        .iter()
        .filter_map(|(id, outcome)| {
            let RowOutcome::Failed { error } = outcome else {
                return None;
            };
            let row = rows.iter().find(|row| row.id == *id)?;
            let notice = NoticeKind::of_key(&row.planned.obligation).map(|(kind, _)| kind);
            (notice != Some(NoticeKind::Failed)).then_some((row, error.as_str()))
        })
        .collect();
    let Some(&(first, error)) = failed.first() else {
        return Vec::new();
    };
    let told: Vec<String> = told
        .iter()
        .filter(|route| **route != first.planned.route)
        .cloned()
        .collect();
    if told.is_empty() {
        return Vec::new();
    }
    let items: Vec<String> = failed
        .iter()
        .take(NOTICE_ITEMS)
        .map(|(row, _)| {
            format!(
                "#{} {} ({:+})",
                row.id, row.planned.obligation, row.planned.stage
            )
        })
        .collect();
    let items = items.join("; ");
    let count = failed_in_all.unwrap_or(failed.len()).max(failed.len());
    let more = count.saturating_sub(NOTICE_ITEMS.min(failed.len()));
    let (more_zh, more_en) = if more > 0 {
        (
            format!("；另有 {more} 项（licwatch outbox list --state failed）"),
            format!("; and {more} more (licwatch outbox list --state failed)"),
        )
    } else {
        (String::new(), String::new())
    };
    let route = &first.planned.route;
    let zh = format!(
        "licwatch：路由 {route} 的一条消息（{count} 项）未能送达。原因：{error}。未送达：{items}{more_zh}。请检查该路由后执行 licwatch outbox retry --failed --route {route}。"
    );
    let en = format!(
        "licwatch could not deliver a message of {count} items to route {route}: {error}. Not delivered: {items}{more_en}. Fix the route, then run licwatch outbox retry --failed --route {route}."
    );
    // Keyed by the message and the failure's time: rows retried by hand
    // that fail again are reported again.
    super::tick::notice_rows(
        &NoticeKind::Failed.key(format_args!("{message}/{}", crate::store::timestamp(now))),
        &told,
        today,
        Severity::Critical,
        &zh,
        &en,
    )
}

#[cfg(test)]
mod tests;
