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

use super::tick::CONTACTS_PREFIX;
use crate::config::{Config, Delivery};
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::Obligation;
use crate::domain::uscc::Uscc;
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
}

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
    let spread = (row_id.wrapping_mul(2_654_435_761).wrapping_add(attempts)).rem_euclid(41) - 20;
    let factor = 1.0 + spread as f64 / 100.0;
    base.mul_f64(factor)
}

fn severity(text: &str) -> Severity {
    match text {
        "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        _ => Severity::Info,
    }
}

/// A row to try again after the backoff (or the service's Retry-After, up to
/// retry_max), or failed for good once that would pass the retry horizon.
fn retry_or_give_up(
    row: &OutboxRow,
    error: &str,
    retry_after: Option<Duration>,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> RowOutcome {
    // A huge or hostile Retry-After must not park a row for years.
    let wait = backoff(delivery, row.id, row.attempts)
        .max(retry_after.unwrap_or_default())
        .min(delivery.retry_max);
    let horizon = chrono::Duration::from_std(delivery.retry_for)
        .ok()
        .and_then(|retry_for| row.created_at.checked_add_signed(retry_for));
    let next = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait));
    match (next, horizon) {
        (Some(next), Some(horizon)) if next <= horizon => RowOutcome::Retry {
            error: error.to_owned(),
            next_attempt_at: next,
        },
        _ => RowOutcome::Failed {
            error: format!("gave up after {} attempts: {error}", row.attempts + 1),
        },
    }
}

/// What to record for a row after an attempt that ended in `outcome`.
fn row_outcome(
    row: &OutboxRow,
    outcome: &Outcome,
    message_id: &str,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> RowOutcome {
    match outcome {
        Outcome::Sent { .. } => RowOutcome::Sent {
            message_id: message_id.to_owned(),
        },
        Outcome::Retry { error, retry_after } => {
            retry_or_give_up(row, &error.to_string(), *retry_after, delivery, now)
        }
        Outcome::Permanent { error } => RowOutcome::Failed {
            error: error.to_string(),
        },
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
    let Some(uscc) = name.strip_prefix(CONTACTS_PREFIX) else {
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
    let Ok(uscc) = uscc.parse::<Uscc>() else {
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
            Ok(obligations) => open.extend(obligations.into_iter().map(|o| (o.key.clone(), o))),
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
            let outcome = retry_or_give_up(row, error, None, &config.delivery, now);
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
                severity: severity(&row.severity),
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
        crate::notify::Lang::Zh => "zh",
        crate::notify::Lang::En => "en",
    };
    texts[key].as_str().unwrap_or(&row.obligation).to_owned()
}

/// Sends the rows due now. A second pass sends the fallback notices of rows
/// that failed in the first; rows to retry are due later, so two passes end
/// it. Stops between routes once `stop` is set, after the route in flight;
/// calls `heartbeat` before each route (the systemd watchdog).
#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    store: &mut Store,
    config: &Config,
    routes: &HashMap<String, Route>,
    notifier: &Notifier,
    today: NaiveDate,
    now: DateTime<Utc>,
    stop: &AtomicBool,
    heartbeat: &dyn Fn(),
) -> anyhow::Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for _ in 0..2 {
        let pass =
            deliver_pass(store, config, routes, notifier, today, now, stop, heartbeat).await?;
        let failed = pass.failed;
        report.sent += pass.sent;
        report.retrying += pass.retrying;
        report.failed += pass.failed;
        report.cancelled += pass.cancelled;
        if failed == 0 || config.routing.fallback.is_none() {
            break;
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn deliver_pass(
    store: &mut Store,
    config: &Config,
    routes: &HashMap<String, Route>,
    notifier: &Notifier,
    today: NaiveDate,
    now: DateTime<Utc>,
    stop: &AtomicBool,
    heartbeat: &dyn Fn(),
) -> anyhow::Result<DeliveryReport> {
    let mut by_route: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
    for row in store.due_for_delivery(now)? {
        by_route.entry(row.route.clone()).or_default().push(row);
    }
    let mut report = DeliveryReport::default();
    for (name, rows) in by_route {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        heartbeat();
        let mut outcomes: Vec<(i64, RowOutcome)> = Vec::new();
        match resolve_route(&name, routes, config, store)? {
            None => outcomes.extend(rows.iter().map(|row| {
                (
                    row.id,
                    RowOutcome::Failed {
                        error: format!("route \"{name}\" is no longer configured (or the company has no contact address)"),
                    },
                )
            })),
            Some(route) => {
                let (notices, alert_rows): (Vec<&OutboxRow>, Vec<&OutboxRow>) =
                    rows.iter().partition(|row| row.notice.is_some());
                let rebuilt = rebuild_alerts(store, config, &alert_rows, today, now);
                outcomes.extend(rebuilt.settled);
                let by_id: HashMap<i64, &OutboxRow> = rows.iter().map(|row| (row.id, row)).collect();
                if !rebuilt.alerts.is_empty() {
                    let delivery = notifier.send(&route, &rebuilt.alerts, now).await;
                    for message in &delivery.messages {
                        log_outcome(&route, &message.id, message.alerts.len(), &message.outcome);
                        for index in &message.alerts {
                            let Some(row) = rebuilt.row_ids.get(*index).and_then(|id| by_id.get(id)) else {
                                continue;
                            };
                            outcomes.push((row.id, row_outcome(row, &message.outcome, &message.id, &config.delivery, now)));
                        }
                    }
                }
                for row in notices {
                    let (message_id, outcome) = notifier
                        .send_notice(&route, &row.obligation, &notice_text(row, &route), now)
                        .await;
                    log_outcome(&route, &message_id, 1, &outcome);
                    outcomes.push((row.id, row_outcome(row, &outcome, &message_id, &config.delivery, now)));
                }
            }
        }
        for (_, outcome) in &outcomes {
            match outcome {
                RowOutcome::Sent { .. } => report.sent += 1,
                RowOutcome::Retry { .. } => report.retrying += 1,
                RowOutcome::Failed { .. } => report.failed += 1,
                RowOutcome::Cancelled { .. } => report.cancelled += 1,
            }
        }
        let fallback = fallback_notices(&rows, &outcomes, config, today, now);
        store.record_outcomes(&outcomes, &fallback, now)?;
    }
    Ok(report)
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

/// Notices for the fallback route of every row that failed for good (unless
/// it was on that route). They are written in the same transaction as the
/// failures, so a crash cannot lose one.
fn fallback_notices(
    rows: &[OutboxRow],
    outcomes: &[(i64, RowOutcome)],
    config: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<NewOutboxRow> {
    let Some(fallback) = &config.routing.fallback else {
        return Vec::new();
    };
    outcomes
        .iter()
        .filter_map(|(id, outcome)| {
            let RowOutcome::Failed { error } = outcome else { return None };
            let row = rows.iter().find(|row| row.id == *id)?;
            if &row.route == fallback || row.obligation.starts_with("notice/failed/") {
                return None;
            }
            let what = format!("{} (stage {:+}) to route {}", row.obligation, row.stage, row.route);
            // In Chinese without English words: the obligation and route are
            // names people type back (explain, outbox retry).
            let what_zh = format!("{}（第 {:+} 天阶段），路由 {}", row.obligation, row.stage, row.route);
            let notice = serde_json::json!({
                "zh": format!("licwatch：提醒未能送达：{what_zh}。原因：{error}。请检查该路由后执行 licwatch outbox retry {id}。"),
                "en": format!("licwatch could not deliver {what}: {error}. Fix the route, then run licwatch outbox retry {id}."),
            });
            Some(NewOutboxRow {
                // Keyed by the failure's time: a row retried by hand that
                // fails again is reported again.
                obligation: format!("notice/failed/{id}/{}", crate::store::timestamp(now)),
                stage: 0,
                route: fallback.clone(),
                kind: "notice".to_owned(),
                licence: row.licence.clone(),
                number: row.number.clone(),
                year: row.year,
                due: row.due,
                nominal: today,
                send_on: today,
                severity: Severity::Critical,
                notice: Some(notice.to_string()),
            })
        })
        .collect()
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
