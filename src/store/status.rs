//! What the daemon did last, kept in the register (`service_status`, one
//! row) so that `licwatch status` and `/metrics` can say it from any shell
//! and after a restart; and the outbox counted per route.
//!
//! Invariant: the daemon owns no state outside the database, this included:
//! a status read from a process's memory would be lost with the process.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::outbox::timestamp;
use super::{Result, Store};

/// One tick as the daemon records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickRecord {
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    /// The day it planned for, in the schedule's zone.
    pub today: NaiveDate,
    /// What it planned; zero when it failed before planning.
    pub open: i64,
    pub alerts: i64,
    pub queued: i64,
    /// Why the tick (or its delivery pass) failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// The daemon's own record, as the last `serve` left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceStatus {
    pub started_at: Option<DateTime<Utc>>,
    /// The config file the daemon read, or "embedded defaults".
    pub config: Option<String>,
    pub routes: Vec<String>,
    pub last_tick: Option<TickRecord>,
    pub last_ok_tick_at: Option<DateTime<Utc>>,
    pub next_tick_at: Option<DateTime<Utc>>,
    pub backup: Option<BackupRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRecord {
    pub at: DateTime<Utc>,
    pub path: String,
    pub bytes: i64,
}

/// The outbox rows of one route, by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteCounts {
    pub route: String,
    pub pending: i64,
    pub failed: i64,
    pub sent: i64,
    pub cancelled: i64,
    /// Rows sent at or after the `since` given (the start of today).
    pub sent_since: i64,
    /// Attempts that did not end in "sent": every attempt is counted in
    /// `attempts`, and a sent row had exactly one that succeeded.
    pub failed_attempts: i64,
    /// The newest error of a row still pending or failed.
    pub last_error: Option<String>,
}

/// The pending row planned first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldestPending {
    pub id: i64,
    pub obligation: String,
    pub route: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
}

fn parse(text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
    })
    .transpose()
}

impl Store {
    /// `serve` started: which config and routes it runs with, and its first
    /// tick (the catch-up, now).
    pub fn record_start(
        &mut self,
        at: DateTime<Utc>,
        config: &str,
        routes: &[String],
        next_tick: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let routes = serde_json::to_string(routes).expect("strings serialise");
        self.write(|tx| {
            tx.execute(
                "UPDATE service_status SET started_at = ?1, config = ?2, routes = ?3, next_tick_at = ?4
                 WHERE id = 1",
                params![timestamp(at), config, routes, next_tick.map(timestamp)],
            )?;
            Ok(())
        })
    }

    /// A tick ended, well or not, and when the next one is planned.
    pub fn record_tick(&mut self, tick: &TickRecord, next: Option<DateTime<Utc>>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE service_status SET tick_at = ?1, tick_ms = ?2, tick_today = ?3,
                     tick_open = ?4, tick_alerts = ?5, tick_queued = ?6, tick_error = ?7,
                     last_ok_tick_at = CASE WHEN ?7 IS NULL THEN ?1 ELSE last_ok_tick_at END,
                     next_tick_at = ?8
                 WHERE id = 1",
                params![
                    timestamp(tick.at),
                    tick.duration_ms,
                    tick.today,
                    tick.open,
                    tick.alerts,
                    tick.queued,
                    tick.error,
                    next.map(timestamp)
                ],
            )?;
            Ok(())
        })
    }

    /// The schedule moved (a reload): the next tick is now `next`.
    pub fn record_next_tick(&mut self, next: Option<DateTime<Utc>>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE service_status SET next_tick_at = ?1 WHERE id = 1",
                params![next.map(timestamp)],
            )?;
            Ok(())
        })
    }

    /// `db backup` copied this register to `path`.
    pub fn record_backup(&mut self, at: DateTime<Utc>, path: &str, bytes: u64) -> Result<()> {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.write(|tx| {
            tx.execute(
                "UPDATE service_status SET backup_at = ?1, backup_path = ?2, backup_bytes = ?3
                 WHERE id = 1",
                params![timestamp(at), path, bytes],
            )?;
            Ok(())
        })
    }

    pub fn service_status(&self) -> Result<ServiceStatus> {
        let status = self
            .conn()
            .query_row(
                "SELECT started_at, config, routes, tick_at, tick_ms, tick_today, tick_open,
                        tick_alerts, tick_queued, tick_error, last_ok_tick_at, next_tick_at,
                        backup_at, backup_path, backup_bytes
                 FROM service_status WHERE id = 1",
                [],
                |row| {
                    let routes: Option<String> = row.get(2)?;
                    let tick_at = parse(row.get(3)?)?;
                    let last_tick = match (tick_at, row.get::<_, Option<NaiveDate>>(5)?) {
                        (Some(at), Some(today)) => Some(TickRecord {
                            at,
                            duration_ms: row.get::<_, Option<i64>>(4)?.unwrap_or(0),
                            today,
                            open: row.get::<_, Option<i64>>(6)?.unwrap_or(0),
                            alerts: row.get::<_, Option<i64>>(7)?.unwrap_or(0),
                            queued: row.get::<_, Option<i64>>(8)?.unwrap_or(0),
                            error: row.get(9)?,
                        }),
                        _ => None,
                    };
                    let backup = match (parse(row.get(12)?)?, row.get::<_, Option<String>>(13)?) {
                        (Some(at), Some(path)) => Some(BackupRecord {
                            at,
                            path,
                            bytes: row.get::<_, Option<i64>>(14)?.unwrap_or(0),
                        }),
                        _ => None,
                    };
                    Ok(ServiceStatus {
                        started_at: parse(row.get(0)?)?,
                        config: row.get(1)?,
                        // Written by record_start only, always a JSON array.
                        routes: routes
                            .and_then(|text| serde_json::from_str(&text).ok())
                            .unwrap_or_default(),
                        last_tick,
                        last_ok_tick_at: parse(row.get(10)?)?,
                        next_tick_at: parse(row.get(11)?)?,
                        backup,
                    })
                },
            )
            .optional()?;
        Ok(status.unwrap_or_default())
    }

    /// The outbox per route, by state, with each route's newest error;
    /// `sent_since` counts rows sent at or after that moment.
    pub fn route_counts(&self, sent_since: DateTime<Utc>) -> Result<Vec<RouteCounts>> {
        let mut counts: Vec<RouteCounts> = Vec::new();
        let mut statement = self.conn().prepare_cached(
            "SELECT route,
                    sum(state = 'pending'), sum(state = 'failed'), sum(state = 'sent'),
                    sum(state = 'cancelled'), sum(state = 'sent' AND sent_at >= ?1),
                    sum(attempts) - sum(state = 'sent')
             FROM outbox GROUP BY route ORDER BY route",
        )?;
        let rows = statement.query_map([timestamp(sent_since)], |row| {
            Ok(RouteCounts {
                route: row.get(0)?,
                pending: row.get(1)?,
                failed: row.get(2)?,
                sent: row.get(3)?,
                cancelled: row.get(4)?,
                sent_since: row.get(5)?,
                failed_attempts: row.get(6)?,
                last_error: None,
            })
        })?;
        for row in rows {
            counts.push(row?);
        }
        // SQLite takes the bare columns from the row holding max(id): the
        // newest error per route.
        let mut statement = self.conn().prepare_cached(
            "SELECT route, last_error, max(id) FROM outbox
             WHERE last_error IS NOT NULL AND state IN ('pending', 'failed')
             GROUP BY route",
        )?;
        let errors = statement.query_map([], |row| <(String, String)>::try_from(row))?;
        for error in errors {
            let (route, error) = error?;
            if let Some(counts) = counts.iter_mut().find(|c| c.route == route) {
                counts.last_error = Some(error);
            }
        }
        Ok(counts)
    }

    pub fn oldest_pending(&self) -> Result<Option<OldestPending>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, obligation, route, created_at, attempts, next_attempt_at
                 FROM outbox WHERE state = 'pending' ORDER BY created_at, id LIMIT 1",
                [],
                |row| {
                    Ok(OldestPending {
                        id: row.get(0)?,
                        obligation: row.get(1)?,
                        route: row.get(2)?,
                        created_at: parse(row.get(3)?)?.unwrap_or_default(),
                        attempts: row.get(4)?,
                        next_attempt_at: parse(row.get(5)?)?.unwrap_or_default(),
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::plan::Severity;
    use crate::store::{NewOutboxRow, RowOutcome};

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, hour, 0, 0).unwrap()
    }

    fn row(obligation: &str, route: &str) -> NewOutboxRow {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        NewOutboxRow {
            obligation: obligation.to_owned(),
            stage: -30,
            route: route.to_owned(),
            kind: crate::store::RowKind::Obligation(
                crate::domain::obligation::ObligationKind::Renewal,
            ),
            licence: None,
            number: None,
            year: None,
            due: Some(day),
            nominal: day,
            send_on: day,
            severity: Severity::Info,
            notice: None,
        }
    }

    #[test]
    fn a_new_register_has_an_empty_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).unwrap();
        assert_eq!(store.service_status().unwrap(), ServiceStatus::default());
        assert_eq!(store.route_counts(at(0)).unwrap(), vec![]);
        assert_eq!(store.oldest_pending().unwrap(), None);
    }

    #[test]
    fn a_failed_tick_keeps_the_last_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let good = TickRecord {
            at: at(1),
            duration_ms: 12,
            today,
            open: 3,
            alerts: 2,
            queued: 4,
            error: None,
        };
        store.record_tick(&good, Some(at(23))).unwrap();
        let bad = TickRecord {
            at: at(2),
            error: Some("database or disk is full".into()),
            ..good.clone()
        };
        store.record_tick(&bad, Some(at(23))).unwrap();
        let status = store.service_status().unwrap();
        assert_eq!(status.last_tick, Some(bad));
        assert_eq!(status.last_ok_tick_at, Some(at(1)));
        assert_eq!(status.next_tick_at, Some(at(23)));
    }

    #[test]
    fn routes_are_counted_by_state_with_their_newest_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        store
            .enqueue(
                &[
                    row("a", "mail"),
                    row("b", "mail"),
                    row("a", "robot"),
                    row("c", "mail"),
                ],
                at(1),
            )
            .unwrap();
        let ids: Vec<i64> = store.outbox(None).unwrap().iter().map(|r| r.id).collect();
        store
            .record_outcomes(
                &[
                    (
                        ids[0],
                        RowOutcome::Sent {
                            message_id: "m1".into(),
                        },
                    ),
                    (
                        ids[1],
                        RowOutcome::Retry {
                            error: "timeout".into(),
                            next_attempt_at: at(3),
                        },
                    ),
                    (
                        ids[2],
                        RowOutcome::Failed {
                            error: "403 bad token".into(),
                        },
                    ),
                ],
                &[],
                at(2),
            )
            .unwrap();
        store
            .record_outcomes(
                &[(
                    ids[1],
                    RowOutcome::Retry {
                        error: "refused".into(),
                        next_attempt_at: at(4),
                    },
                )],
                &[],
                at(3),
            )
            .unwrap();
        let counts = store.route_counts(at(2)).unwrap();
        assert_eq!(
            counts,
            vec![
                RouteCounts {
                    route: "mail".into(),
                    pending: 2,
                    failed: 0,
                    sent: 1,
                    cancelled: 0,
                    sent_since: 1,
                    failed_attempts: 2,
                    last_error: Some("refused".into()),
                },
                RouteCounts {
                    route: "robot".into(),
                    pending: 0,
                    failed: 1,
                    sent: 0,
                    cancelled: 0,
                    sent_since: 0,
                    failed_attempts: 1,
                    last_error: Some("403 bad token".into()),
                },
            ]
        );
        assert_eq!(store.route_counts(at(3)).unwrap()[0].sent_since, 0);
        let oldest = store.oldest_pending().unwrap().unwrap();
        assert_eq!((oldest.obligation.as_str(), oldest.attempts), ("b", 2));
    }
}
