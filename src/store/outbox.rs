//! The outbox: every alert the daemon planned, one row per
//! (obligation, stage, route), and what became of it.
//!
//! Invariant: a row is inserted once (UNIQUE key, INSERT OR IGNORE), so
//! ticks that run twice, race, or repeat after a crash cannot plan an alert
//! twice. A row's outcome is written in one transaction after the attempt.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Refusal, Result, Stamp, Store};
use crate::domain::obligation::ObligationKind;
use crate::domain::obligation::keys::ObligationKey;
use crate::plan::Severity;

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so that they
/// compare correctly as strings in SQL.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_timestamp(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

impl OutboxState {
    pub fn code(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Sent,
            OutboxState::Failed,
            OutboxState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.code() == text)
    }
}

/// What a row reminds of: an obligation of a kind, or a notice to the
/// operator (a missing holiday calendar, a failed message, the all-clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Obligation(ObligationKind),
    Notice,
}

impl RowKind {
    /// As the `kind` column holds it: the obligation kind's code, or "notice".
    pub fn code(self) -> &'static str {
        match self {
            RowKind::Obligation(kind) => kind.code(),
            RowKind::Notice => "notice",
        }
    }

    pub fn parse(text: &str) -> Option<RowKind> {
        if text == RowKind::Notice.code() {
            return Some(RowKind::Notice);
        }
        ObligationKind::ALL
            .into_iter()
            .find(|kind| kind.code() == text)
            .map(RowKind::Obligation)
    }
}

/// A column value this build does not know: an error naming the column
/// and the value, never a guess.
fn unknown(column: usize, what: &str, value: &str, accepted: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("outbox {what} \"{value}\": not one this licwatch knows ({accepted})").into(),
    )
}

/// Which of a route's due rows [`Store::due_batch`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueRows {
    /// Alerts in no message yet.
    NewAlerts,
    /// Notices in no message yet.
    NewNotices,
    /// Every due row.
    All,
}

/// A row to plan; a row in the outbox is one of these with its delivery
/// state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxRow {
    pub obligation: String,
    pub stage: i64,
    pub route: String,
    pub kind: RowKind,
    pub licence: Option<String>,
    pub number: Option<String>,
    pub year: Option<i32>,
    pub due: Option<NaiveDate>,
    pub nominal: NaiveDate,
    pub send_on: NaiveDate,
    pub severity: Severity,
    /// A notice's text as JSON; alerts are rebuilt from the register.
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    /// What was planned: the obligation, stage, route and when to send.
    pub planned: NewOutboxRow,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The message the row goes out in, chosen and written before its first
    /// attempt (e-mail Message-ID, webhook-id): every row of a message is
    /// retried together under this id, and rows that come due later go in a
    /// new message. Once sent, the id the receiver saw (a part's, when a
    /// chat digest was split).
    pub message_id: Option<String>,
}

/// What became of one attempt at a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Sent {
        message_id: String,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    Failed {
        error: String,
    },
    /// Not sent with its message (its licence could not be read): taken out
    /// of the message and tried again at `next_attempt_at` in a new one, so
    /// that the message's other rows are not held back.
    SetAside {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// The obligation was done (or no longer exists) before it was sent.
    Cancelled {
        reason: String,
    },
}

const COLUMNS: &str = "id, obligation, stage, route, kind, licence, number, year, due, nominal, \
     send_on, severity, notice, state, attempts, next_attempt_at, last_error, created_at, sent_at, message_id";

fn outbox_row(row: &Row) -> rusqlite::Result<OutboxRow> {
    let kind: String = row.get(4)?;
    let severity: String = row.get(11)?;
    let state: String = row.get(13)?;
    let next: String = row.get(15)?;
    let created: String = row.get(17)?;
    let sent: Option<String> = row.get(18)?;
    Ok(OutboxRow {
        id: row.get(0)?,
        planned: NewOutboxRow {
            obligation: row.get(1)?,
            stage: row.get(2)?,
            route: row.get(3)?,
            kind: RowKind::parse(&kind).ok_or_else(|| {
                unknown(
                    4,
                    "kind",
                    &kind,
                    "notice, renewal, annual_report, change_filing, number_activation, number_outlives_licence",
                )
            })?,
            licence: row.get(5)?,
            number: row.get(6)?,
            year: row.get(7)?,
            due: row.get(8)?,
            nominal: row.get(9)?,
            send_on: row.get(10)?,
            severity: Severity::parse(&severity)
                .ok_or_else(|| unknown(11, "severity", &severity, "info, warning, critical"))?,
            notice: row.get(12)?,
        },
        state: OutboxState::parse(&state).ok_or_else(|| {
            unknown(13, "state", &state, "pending, sent, failed, cancelled")
        })?,
        attempts: row.get(14)?,
        next_attempt_at: parse_timestamp(&next)?,
        last_error: row.get(16)?,
        created_at: parse_timestamp(&created)?,
        sent_at: sent.as_deref().map(parse_timestamp).transpose()?,
        message_id: row.get(19)?,
    })
}

impl Store {
    /// The (obligation, stage) pairs already planned for any route, among
    /// these obligations.
    pub fn planned_stages(&self, obligations: &[&str]) -> Result<HashSet<(String, i64)>> {
        let keys = serde_json::to_string(obligations).expect("strings serialise");
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT o.obligation, o.stage FROM json_each(?1) j
                 JOIN outbox o ON o.obligation = j.value",
            )?
            .query_map([keys], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// What became of each planned stage of an obligation, over all routes:
    /// sent if any route got it, else the most hopeful other state.
    pub fn stage_states(
        &self,
        obligation: &str,
    ) -> Result<std::collections::HashMap<i64, OutboxState>> {
        let rows: Vec<(i64, String)> = self
            .conn()
            .prepare_cached("SELECT stage, state FROM outbox WHERE obligation = ?1")?
            .query_map([obligation], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let rank = |state: OutboxState| match state {
            OutboxState::Sent => 3,
            OutboxState::Pending => 2,
            OutboxState::Failed => 1,
            OutboxState::Cancelled => 0,
        };
        let mut states = std::collections::HashMap::new();
        for (stage, state) in rows {
            let Some(state) = OutboxState::parse(&state) else {
                continue;
            };
            let best = states.entry(stage).or_insert(state);
            if rank(state) > rank(*best) {
                *best = state;
            }
        }
        Ok(states)
    }

    /// Plans `rows` in one transaction; rows already planned are left as
    /// they are. Returns how many were new.
    pub fn enqueue(&mut self, rows: &[NewOutboxRow], now: DateTime<Utc>) -> Result<usize> {
        let now = timestamp(now);
        self.write(|tx| insert_rows(tx, rows, &now))
    }

    /// Frees the connection's page cache and other heap it can do without
    /// (SQLite's `sqlite3_db_release_memory`): the idle daemon need not keep
    /// the pages a big pass read.
    pub fn release_memory(&self) -> Result<()> {
        Ok(self.conn().release_memory()?)
    }

    /// The routes with rows due now.
    pub fn due_routes(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT route FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1
                 ORDER BY route",
            )?
            .query_map([timestamp(now)], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The messages that rows due now on `route` are already in (retries,
    /// or a message a stop interrupted), oldest first.
    pub fn due_messages(&self, route: &str, now: DateTime<Utc>) -> Result<Vec<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT message_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1
                     AND route = ?2 AND message_id IS NOT NULL
                 GROUP BY message_id ORDER BY min(id)",
            )?
            .query_map(params![timestamp(now), route], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` rows due now on `route` with ids above `after`, oldest
    /// first: the next batch of a backlog, read by id through the
    /// `outbox_state` index, so that each batch costs its own size.
    pub fn due_batch(
        &self,
        route: &str,
        now: DateTime<Utc>,
        which: DueRows,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        let sort = match which {
            DueRows::NewAlerts => "AND message_id IS NULL AND notice IS NULL",
            DueRows::NewNotices => "AND message_id IS NULL AND notice IS NOT NULL",
            DueRows::All => "",
        };
        // `+next_attempt_at`: not through `outbox_pending`, whose order is
        // not the ids'.
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox
                 WHERE state = 'pending' AND id > ?1 AND route = ?2 AND +next_attempt_at <= ?3 {sort}
                 ORDER BY id LIMIT ?4"
            ))?
            .query_map(
                params![
                    after,
                    route,
                    timestamp(now),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                outbox_row,
            )?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// How many rows are due now on `route`.
    pub fn due_count(&self, route: &str, now: DateTime<Utc>) -> Result<usize> {
        let count: i64 = self.conn().query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND route = ?1 AND next_attempt_at <= ?2",
            params![route, timestamp(now)],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Moves the next attempt of the alerts due now on `route` in no
    /// message yet to `until`: the route failed a message of its backlog,
    /// and the rest waits for it rather than fail message after message.
    pub fn postpone_new_alerts(
        &mut self,
        route: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET next_attempt_at = ?3
                 WHERE state = 'pending' AND route = ?1 AND next_attempt_at <= ?2
                     AND message_id IS NULL AND notice IS NULL",
                params![route, timestamp(now), timestamp(until)],
            )?)
        })
    }

    /// Writes `message_id` on rows that are in no message yet, before the
    /// message is first sent: a crash after that resends the same rows under
    /// the same id. Returns the rows that took it (others were settled or
    /// taken meanwhile).
    pub fn assign_message(&mut self, ids: &[i64], message_id: &str) -> Result<Vec<i64>> {
        let ids_json = serde_json::to_string(ids).expect("integers serialise");
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET message_id = ?2
                 WHERE id IN (SELECT value FROM json_each(?1)) AND state = 'pending'
                     AND message_id IS NULL",
                params![ids_json, message_id],
            )?;
            Ok(tx
                .prepare_cached(
                    "SELECT id FROM outbox WHERE id IN (SELECT value FROM json_each(?1))
                     AND message_id = ?2 ORDER BY id",
                )?
                .query_map(params![ids_json, message_id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The rows of one message on `route` still to send, oldest first.
    pub fn message_rows(&self, route: &str, message_id: &str) -> Result<Vec<OutboxRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE route = ?1 AND message_id = ?2
                 AND state = 'pending' ORDER BY id"
            ))?
            .query_map(params![route, message_id], outbox_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// When the earliest pending row is next due, if any is pending.
    pub fn next_attempt(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self.conn().query_row(
            "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?;
        Ok(next.as_deref().map(parse_timestamp).transpose()?)
    }

    pub fn pending_count(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?)
    }

    /// Records what became of an attempt at each row, and plans `follow_up`
    /// rows (fallback notices), in one transaction. A row marked done while
    /// it was being sent is still recorded as sent if it was: that is what
    /// happened. Otherwise only pending rows change.
    pub fn record_outcomes(
        &mut self,
        outcomes: &[(i64, RowOutcome)],
        follow_up: &[NewOutboxRow],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = timestamp(now);
        self.write(|tx| {
            insert_rows(tx, follow_up, &now)?;
            for (id, outcome) in outcomes {
                match outcome {
                    // The id the receiver saw: the message's own, or for a
                    // digest split in parts, the part's.
                    RowOutcome::Sent { message_id } => tx.execute(
                        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?2,
                             message_id = ?3, last_error = NULL
                         WHERE id = ?1 AND state IN ('pending', 'cancelled')",
                        params![id, now, message_id],
                    )?,
                    RowOutcome::Retry { error, next_attempt_at } => tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                         WHERE id = ?1 AND state = 'pending'",
                        params![id, error, timestamp(*next_attempt_at)],
                    )?,
                    RowOutcome::SetAside { error, next_attempt_at } => tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                             message_id = NULL
                         WHERE id = ?1 AND state = 'pending'",
                        params![id, error, timestamp(*next_attempt_at)],
                    )?,
                    RowOutcome::Failed { error } => tx.execute(
                        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
                         WHERE id = ?1 AND state = 'pending'",
                        params![id, error],
                    )?,
                    RowOutcome::Cancelled { reason } => tx.execute(
                        "UPDATE outbox SET state = 'cancelled', last_error = ?2
                         WHERE id = ?1 AND state = 'pending'",
                        params![id, reason],
                    )?,
                };
            }
            Ok(())
        })
    }

    pub fn outbox(&self, state: Option<OutboxState>) -> Result<Vec<OutboxRow>> {
        super::register::all_rows(|f| self.each_outbox_row(state, f))
    }

    /// Each row of [`Store::outbox`], in its order, given to `f` as it is
    /// read: a first tick over a large register plans hundreds of
    /// thousands. The first error stops.
    pub fn each_outbox_row<E: From<super::StoreError>>(
        &self,
        state: Option<OutboxState>,
        f: impl FnMut(OutboxRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        super::register::each_row(
            self.conn(),
            &format!("SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id"),
            [state.map(|s| s.code())],
            outbox_row,
            f,
        )
    }

    pub fn outbox_row(&self, id: i64) -> Result<OutboxRow> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                outbox_row,
            )
            .optional()?
            .ok_or_else(|| Refusal::NoOutboxRow { id }.into())
    }

    /// The alerts planned for one obligation, every route and stage.
    pub fn outbox_of(&self, obligation: &str) -> Result<Vec<OutboxRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE obligation = ?1 ORDER BY stage, route"
            ))?
            .query_map([obligation], outbox_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Puts failed rows back in the queue, to be tried at the next delivery:
    /// all of them or, when one is missing or not failed, none. They go in a
    /// new message: the one they failed in may have been seen by the
    /// receiver with other rows, and a message id is never reused for
    /// different contents.
    pub fn retry_outbox(&mut self, stamp: &Stamp, ids: &[i64]) -> Result<Vec<OutboxRow>> {
        let rows = ids
            .iter()
            .map(|id| self.outbox_row(*id))
            .collect::<Result<Vec<_>>>()?;
        if let Some(row) = rows.iter().find(|row| row.state != OutboxState::Failed) {
            return Err(Refusal::NotFailed {
                id: row.id,
                state: row.state,
            }
            .into());
        }
        self.requeue(stamp, &rows)
    }

    /// Puts every failed row back in the queue, or those of one route.
    pub fn retry_failed(&mut self, stamp: &Stamp, route: Option<&str>) -> Result<Vec<OutboxRow>> {
        let rows: Vec<OutboxRow> = self
            .outbox(Some(OutboxState::Failed))?
            .into_iter()
            .filter(|row| route.is_none_or(|route| row.planned.route == route))
            .collect();
        self.requeue(stamp, &rows)
    }

    /// Makes `rows` pending again in one transaction, each with a history
    /// line, and reads them back.
    fn requeue(&mut self, stamp: &Stamp, rows: &[OutboxRow]) -> Result<Vec<OutboxRow>> {
        let now = timestamp(stamp.at);
        self.write(|tx| {
            for row in rows {
                tx.execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2, created_at = ?2,
                         message_id = NULL
                     WHERE id = ?1",
                    params![row.id, now],
                )?;
                super::register::history_row(
                    tx,
                    stamp,
                    row.planned.licence.as_deref(),
                    "outbox retry",
                    &format!("#{} {} stage {} to {}", row.id, row.planned.obligation, row.planned.stage, row.planned.route),
                )?;
            }
            Ok(())
        })?;
        rows.iter().map(|row| self.outbox_row(row.id)).collect()
    }
}

/// Inserts new rows, ignoring ones already planned. A stage still pending
/// (its route failing) is not dropped when a newer one is planned: every
/// planned alert is delivered, late if a fault delayed it.
fn insert_rows(tx: &rusqlite::Transaction, rows: &[NewOutboxRow], now: &str) -> Result<usize> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (obligation, stage, route, kind, licence, number, year, due,
             nominal, send_on, severity, notice, state, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', ?13, ?13)",
    )?;
    let mut inserted = 0;
    for row in rows {
        let new = insert.execute(params![
            row.obligation,
            row.stage,
            row.route,
            row.kind.code(),
            row.licence,
            row.number,
            row.year,
            row.due,
            row.nominal,
            row.send_on,
            row.severity.code(),
            row.notice,
            now
        ])?;
        inserted += new;
    }
    Ok(inserted)
}

/// Cancels the pending rows of an obligation a person just marked done, in
/// the same transaction as the mark.
pub(super) fn cancel_obligation(
    tx: &rusqlite::Transaction,
    key: &ObligationKey,
    reason: &str,
) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE outbox SET state = 'cancelled', last_error = ?2 WHERE state = 'pending' AND obligation = ?1",
        params![key.as_str(), reason],
    )?)
}

/// Cancels the pending rows of every obligation whose key starts with
/// `prefix` (all the outlives-licence rows of a released number).
pub(super) fn cancel_prefix(
    tx: &rusqlite::Transaction,
    prefix: &str,
    reason: &str,
) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE outbox SET state = 'cancelled', last_error = ?2
         WHERE state = 'pending' AND substr(obligation, 1, length(?1)) = ?1",
        params![prefix, reason],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_kind_reads_back_and_an_unknown_kind_or_severity_is_an_error_naming_it() {
        for kind in ObligationKind::ALL
            .map(RowKind::Obligation)
            .into_iter()
            .chain([RowKind::Notice])
        {
            assert_eq!(RowKind::parse(kind.code()), Some(kind));
        }
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let row = NewOutboxRow {
            obligation: "notice/all_clear/2026-11-24".to_owned(),
            stage: 0,
            route: "ops".to_owned(),
            kind: RowKind::Notice,
            licence: None,
            number: None,
            year: None,
            due: None,
            nominal: day,
            send_on: day,
            severity: Severity::Warning,
            notice: None,
        };
        store.enqueue(&[row], Utc::now()).unwrap();
        let read = store.outbox(None).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(
            (read[0].planned.kind, read[0].planned.severity),
            (RowKind::Notice, Severity::Warning)
        );

        // Written by a newer licwatch, or by hand: read as nothing else.
        store
            .conn()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON; UPDATE outbox SET severity = 'urgent'",
            )
            .unwrap();
        let err = store.outbox(None).unwrap_err().to_string();
        assert!(
            err.contains(
                "outbox severity \"urgent\": not one this licwatch knows (info, warning, critical)"
            ),
            "{err}"
        );
        store
            .conn()
            .execute_batch("UPDATE outbox SET severity = 'info', kind = 'reminder'")
            .unwrap();
        let err = store.outbox(None).unwrap_err().to_string();
        assert!(
            err.contains("outbox kind \"reminder\": not one this licwatch knows (notice, renewal"),
            "{err}"
        );
    }
}
