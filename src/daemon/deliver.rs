//! Delivery: pending outbox rows, grouped per route into one digest, sent,
//! and their outcome recorded in one transaction per route.
//!
//! Invariant: a row is marked sent only after the channel accepted it. A
//! crash between the two resends it at the next start, with the same message
//! id (e-mail Message-ID, webhook-id), so receivers can tell it is the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::route_name::RouteName;
use crate::config::{Config, Delivery};
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::Obligation;
use crate::notify::NoticeKind;
use crate::notify::route::{Route, Target};
use crate::notify::send::{Notifier, Outcome};
use crate::plan::{Alert, Severity, Stage};
use crate::store::{NewOutboxRow, OutboxRow, RowOutcome, Store, StoreError};

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

/// The alerts of some outbox rows as the register has them now.
struct Rebuilt {
    alerts: Vec<Alert>,
    /// The outbox row of each alert, by position.
    row_ids: Vec<i64>,
    /// Rows not sent now: cancelled (done, gone, snoozed) or kept for later
    /// (the licence could not be read).
    settled: Vec<(i64, RowOutcome)>,
}

fn rebuild_alerts(
    store: &Store,
    config: &Config,
    rows: &[&OutboxRow],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Rebuilt {
    let mut open: HashMap<String, Obligation> = HashMap::new();
    let mut unreadable: HashMap<String, String> = HashMap::new();
    let mut read = std::collections::HashSet::new();
    for row in rows {
        let Some(licence) = &row.licence else {
            continue;
        };
        if !read.insert(licence.clone()) {
            continue;
        }
        let obligations = licence
            .parse::<LicenceNo>()
            .map_err(anyhow::Error::from)
            .and_then(|number| Ok(store.open_obligations_of(&number, today, &config.policy)?));
        match obligations {
            Ok(obligations) => open.extend(obligations.into_iter().map(|o| (o.key.to_string(), o))),
            // A licence removed from the register has nothing open.
            Err(e) if matches!(e.downcast_ref(), Some(StoreError::NotFound { .. })) => {}
            // Anything else (a row edited by hand, a busy database) is not a
            // reason to drop the alert: keep it and try again.
            Err(e) => {
                tracing::error!(licence = %licence, "reading the licence to send its alerts: {e:#}");
                unreadable.insert(licence.clone(), format!("reading licence {licence}: {e:#}"));
            }
        }
    }
    let mut rebuilt = Rebuilt {
        alerts: Vec::new(),
        row_ids: Vec::new(),
        settled: Vec::new(),
    };
    for row in rows {
        if let Some(error) = row
            .licence
            .as_ref()
            .and_then(|licence| unreadable.get(licence))
        {
            // Set aside, out of its message: the other rows go now, and this
            // one goes in a message of its own once it can be read.
            let alone = Message::of([*row]).expect("one row");
            let outcome = match alone
                .retry_or_give_up(error, alone.next_attempt(None, &config.delivery, now))
            {
                RowOutcome::Retry {
                    error,
                    next_attempt_at,
                } => RowOutcome::SetAside {
                    error,
                    next_attempt_at,
                },
                outcome => outcome,
            };
            rebuilt.settled.push((row.id, outcome));
            continue;
        }
        let Some(obligation) = open.get(&row.obligation) else {
            rebuilt.settled.push((
                row.id,
                RowOutcome::Cancelled {
                    reason: "done or no longer open before it was sent".to_owned(),
                },
            ));
            continue;
        };
        if let Some(until) = obligation.snoozed_until.filter(|until| today < *until) {
            rebuilt.settled.push((
                row.id,
                RowOutcome::Cancelled {
                    reason: format!("snoozed until {until}"),
                },
            ));
            continue;
        }
        rebuilt.alerts.push(Alert {
            state: obligation.state(today),
            days_left: obligation.days_left(today),
            obligation: obligation.clone(),
            stage: Stage {
                offset: row.stage,
                nominal: row.nominal,
                send_on: row.send_on,
                skipped: Vec::new(),
                severity: row.severity,
            },
        });
        rebuilt.row_ids.push(row.id);
    }
    rebuilt
}

fn notice_text(row: &OutboxRow, route: &Route) -> String {
    let texts: serde_json::Value = row
        .notice
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let key = match route.lang {
        crate::domain::lang::Lang::Zh => "zh",
        crate::domain::lang::Lang::En => "en",
    };
    texts[key].as_str().unwrap_or(&row.obligation).to_owned()
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

async fn deliver_pass(store: &mut Store, ctx: &Deliver<'_>) -> anyhow::Result<DeliveryReport> {
    let mut by_route: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
    for row in store.due_for_delivery(ctx.now)? {
        by_route.entry(row.route.clone()).or_default().push(row);
    }
    let mut report = DeliveryReport::default();
    for (name, rows) in by_route {
        if ctx.stop.load(Ordering::SeqCst) {
            report.stopped = true;
            break;
        }
        (ctx.heartbeat)();
        let Some(route) = resolve_route(&name, ctx.routes, ctx.config, store)? else {
            let outcomes: Vec<(i64, RowOutcome)> = rows
                .iter()
                .map(|row| {
                    (
                        row.id,
                        RowOutcome::Failed {
                            error: format!("route \"{name}\" is no longer configured (or the company has no contact address)"),
                        },
                    )
                })
                .collect();
            settle(store, ctx, &name, &rows, &outcomes, &mut report)?;
            continue;
        };
        for message in messages_of(store, &route, &rows)? {
            if ctx.stop.load(Ordering::SeqCst) {
                report.stopped = true;
                break;
            }
            (ctx.heartbeat)();
            let rows = store.message_rows(&name, &message)?;
            let Some(outcomes) = send_message(store, ctx, &route, &rows).await else {
                report.stopped = true;
                break;
            };
            settle(store, ctx, &message, &rows, &outcomes, &mut report)?;
        }
    }
    Ok(report)
}

/// The ids of the messages to send now on `route`, oldest first: the
/// messages its due rows are already in, then one new message for the alert
/// rows in none yet, and one for each new notice. The new ids are written
/// on the rows before anything is sent.
fn messages_of(store: &mut Store, route: &Route, due: &[OutboxRow]) -> anyhow::Result<Vec<String>> {
    let mut messages: Vec<String> = Vec::new();
    for row in due {
        if let Some(id) = &row.message_id
            && !messages.contains(id)
        {
            messages.push(id.clone());
        }
    }
    let (notices, alerts): (Vec<&OutboxRow>, Vec<&OutboxRow>) = due
        .iter()
        .filter(|row| row.message_id.is_none())
        .partition(|row| row.notice.is_some());
    if !alerts.is_empty() {
        let id = crate::notify::keyed_id(
            &route.name,
            alerts
                .iter()
                .map(|row| (row.obligation.as_str(), row.stage)),
        );
        let ids: Vec<i64> = alerts.iter().map(|row| row.id).collect();
        if !store.assign_message(&ids, &id)?.is_empty() {
            messages.push(id);
        }
    }
    for row in notices {
        let id = crate::notify::notice_id(&route.name, &row.obligation);
        if !store.assign_message(&[row.id], &id)?.is_empty() {
            messages.push(id);
        }
    }
    Ok(messages)
}

/// Counts and records what became of a message's rows, with the fallback
/// notice of its failures, in one transaction.
fn settle(
    store: &mut Store,
    ctx: &Deliver<'_>,
    message: &str,
    rows: &[OutboxRow],
    outcomes: &[(i64, RowOutcome)],
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
        failure_notices(message, rows, outcomes, &told, ctx.today, ctx.now)
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
        && row.notice.is_some()
    {
        let (message_id, outcome) = unless_stopped(
            ctx,
            ctx.notifier
                .send_notice(route, &row.obligation, &notice_text(row, route), ctx.now),
        )
        .await?;
        log_outcome(route, &message_id, 1, &outcome);
        notice_outcome = outcome;
        match &notice_outcome {
            Outcome::Sent { .. } => outcomes.push((row.id, RowOutcome::Sent { message_id })),
            failed => failures.push((row.id, failed)),
        }
    } else {
        let all: Vec<&OutboxRow> = rows.iter().filter(|row| row.notice.is_none()).collect();
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
            let notice = NoticeKind::of_key(&row.obligation).map(|(kind, _)| kind);
            (notice != Some(NoticeKind::Failed)).then_some((row, error.as_str()))
        })
        .collect();
    let Some(&(first, error)) = failed.first() else {
        return Vec::new();
    };
    let told: Vec<String> = told
        .iter()
        .filter(|route| **route != first.route)
        .cloned()
        .collect();
    if told.is_empty() {
        return Vec::new();
    }
    let items: Vec<String> = failed
        .iter()
        .take(NOTICE_ITEMS)
        .map(|(row, _)| format!("#{} {} ({:+})", row.id, row.obligation, row.stage))
        .collect();
    let items = items.join("; ");
    let more = failed.len().saturating_sub(NOTICE_ITEMS);
    let (more_zh, more_en) = if more > 0 {
        (
            format!("；另有 {more} 项（licwatch outbox list --state failed）"),
            format!("; and {more} more (licwatch outbox list --state failed)"),
        )
    } else {
        (String::new(), String::new())
    };
    let count = failed.len();
    let route = &first.route;
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
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_a_spread_and_stops_at_the_maximum() {
        let delivery = Config::defaults().delivery;
        for id in 0..200 {
            let first = backoff(&delivery, id, 0).as_secs_f64();
            assert!((48.0..=72.0).contains(&first), "{first}");
            let third = backoff(&delivery, id, 2).as_secs_f64();
            assert!((192.0..=288.0).contains(&third), "{third}");
            let late = backoff(&delivery, id, 40).as_secs_f64();
            assert!((2880.0..=4320.0).contains(&late), "{late}");
        }
        let spread: std::collections::HashSet<u64> = (0..50)
            .map(|id| backoff(&delivery, id, 0).as_secs())
            .collect();
        assert!(
            spread.len() > 10,
            "retries of rows failing together spread out"
        );
    }
}
