//! The marks that close obligations: company changes filed, renewals
//! applied for, annual reports filed, and snoozes.

use chrono::{Datelike, NaiveDate};
use rusqlite::{OptionalExtension, Transaction, params};

use super::history::history;
use super::rows::change_row;
use super::{ChangeRow, SnoozeRow, Stamp};
use crate::domain::change::ChangeKind;
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::{
    ReportFiled, annual_report_may_be_filed, annual_report_owed, keys, last_day,
};
use crate::domain::rules;
use crate::store::outbox::cancel_obligation;
use crate::store::renewal_mark::{renewal_mark_none, renewal_mark_not_continuing};
use crate::store::{Refusal, Result, Store};

/// Every annual report up to the returned business year is filed or not
/// owed; 9999 once no report is owed any more.
pub(in crate::store) fn reported_through(
    issued: NaiveDate,
    last_day: NaiveDate,
    filed: &[i32],
) -> i64 {
    let mut year = issued.year();
    while annual_report_owed(issued, last_day, year) && filed.contains(&year) {
        year += 1;
    }
    if !annual_report_owed(issued, last_day, year) {
        9999
    } else {
        i64::from(year) - 1
    }
}

pub(in crate::store) fn refresh_reported_through(tx: &Transaction, licence_id: i64) -> Result<()> {
    let (issued, expires, ended_on): (NaiveDate, NaiveDate, Option<NaiveDate>) = tx.query_row(
        "SELECT issued, expires, ended_on FROM licence WHERE id = ?1",
        [licence_id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let last_day = last_day(expires, ended_on);
    let filed: Vec<i32> = tx
        .prepare("SELECT year FROM annual_report WHERE licence_id = ?1")?
        .query_map([licence_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.execute(
        "UPDATE licence SET reported_through = ?1 WHERE id = ?2",
        params![reported_through(issued, last_day, &filed), licence_id],
    )?;
    Ok(())
}

/// Mirrors the renewal mark of the licence's current expiry onto the licence
/// row, where the due query's indexes can see it.
pub(in crate::store) fn refresh_renewal_mark(tx: &Transaction, licence_id: i64) -> Result<()> {
    tx.execute(
        concat!(
            "UPDATE licence SET renewal_mark = COALESCE(
             (SELECT ",
            renewal_mark_not_continuing!(),
            " - r.continuing FROM renewal r
              WHERE r.licence_id = licence.id AND r.for_expires = licence.expires), ",
            renewal_mark_none!(),
            ")
         WHERE id = ?1"
        ),
        [licence_id],
    )?;
    Ok(())
}

impl Store {
    pub fn record_change(
        &mut self,
        stamp: &Stamp,
        licence: &LicenceNo,
        kind: ChangeKind,
        on: NaiveDate,
    ) -> Result<ChangeRow> {
        let holder = self.licence(licence)?;
        rules::change_date(licence, holder.issued, on)?;
        let id = self.write(|tx| {
            tx.execute(
                "INSERT INTO company_change (licence_id, kind, changed_on) VALUES (?1, ?2, ?3)",
                params![holder.id, kind.code(), on],
            )?;
            let id = tx.last_insert_rowid();
            history(
                tx,
                stamp,
                Some(licence),
                "change record",
                &format!("#{id} {} on {on}", kind.code()),
            )?;
            Ok(id)
        })?;
        self.change(id)
    }

    pub fn change(&self, id: i64) -> Result<ChangeRow> {
        self.conn
            .query_row(
                "SELECT ch.id, l.number, ch.kind, ch.changed_on, ch.filed_on FROM company_change ch
                 JOIN licence l ON l.id = ch.licence_id WHERE ch.id = ?1",
                [id],
                change_row,
            )
            .optional()?
            .ok_or_else(|| Refusal::NoChange { id }.into())
    }

    pub fn changes(&self, licence: &LicenceNo) -> Result<Vec<ChangeRow>> {
        Ok(self
            .conn
            .prepare(
                "SELECT ch.id, l.number, ch.kind, ch.changed_on, ch.filed_on FROM company_change ch
                 JOIN licence l ON l.id = ch.licence_id WHERE l.number = ?1 ORDER BY ch.changed_on, ch.id",
            )?
            .query_map([licence.to_string()], change_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn file_change(&mut self, stamp: &Stamp, id: i64, on: NaiveDate) -> Result<ChangeRow> {
        let change = self.change(id)?;
        if let Some(filed) = change.filed_on {
            return Err(Refusal::ChangeAlreadyFiled { id, filed }.into());
        }
        if on < change.changed_on {
            return Err(Refusal::BeforeChange {
                on,
                changed_on: change.changed_on,
            }
            .into());
        }
        self.write(|tx| {
            tx.execute(
                "UPDATE company_change SET filed_on = ?1 WHERE id = ?2",
                params![on, id],
            )?;
            cancel_obligation(
                tx,
                &keys::change_filing(&change.licence, id),
                "change filed",
            )?;
            history(
                tx,
                stamp,
                Some(&change.licence),
                "change file",
                &format!("#{id} {} filed on {on}", change.kind.code()),
            )
        })?;
        self.change(id)
    }

    /// Marks the renewal of the licence's current expiry as applied for
    /// (`continuing`) or as reported not to continue.
    pub fn submit_renewal(
        &mut self,
        stamp: &Stamp,
        licence: &LicenceNo,
        on: NaiveDate,
        continuing: bool,
    ) -> Result<()> {
        let holder = self.licence(licence)?;
        rules::renewal_marked_on(licence, holder.issued, holder.expires, on)?;
        self.write(|tx| {
            let existing: Option<NaiveDate> = tx
                .query_row(
                    "SELECT submitted_on FROM renewal WHERE licence_id = ?1 AND for_expires = ?2",
                    params![holder.id, holder.expires],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(submitted) = existing {
                return Err(Refusal::RenewalAlreadyMarked {
                    licence: licence.clone(),
                    expires: holder.expires,
                    marked: submitted,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing) VALUES (?1, ?2, ?3, ?4)",
                params![holder.id, holder.expires, on, continuing],
            )?;
            refresh_renewal_mark(tx, holder.id)?;
            cancel_obligation(tx, &keys::renewal(licence, holder.expires), "renewal marked")?;
            let action = if continuing { "renewal submit" } else { "renewal not-continuing" };
            history(tx, stamp, Some(licence), action, &format!("for expiry {} on {on}", holder.expires))
        })
    }

    pub fn file_report(
        &mut self,
        stamp: &Stamp,
        licence: &LicenceNo,
        year: i32,
        on: NaiveDate,
        carried_out: bool,
    ) -> Result<()> {
        let holder = self.licence(licence)?;
        let last_day = last_day(holder.expires, holder.ended_on);
        if !annual_report_may_be_filed(holder.issued, last_day, year) {
            return Err(Refusal::YearOutsideLicence {
                year,
                licence: licence.clone(),
                issued: holder.issued,
                last_day,
            }
            .into());
        }
        rules::report_filed_on(year, on)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM annual_report WHERE licence_id = ?1 AND year = ?2)",
                params![holder.id, year],
                |row| row.get(0),
            )?;
            if exists {
                return Err(Refusal::ReportExists {
                    year,
                    licence: licence.clone(),
                }
                .into());
            }
            tx.execute(
                "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, ?4)",
                params![holder.id, year, on, carried_out],
            )?;
            cancel_obligation(tx, &keys::annual_report(licence, year), "report filed")?;
            refresh_reported_through(tx, holder.id)?;
            let carried = if carried_out { "business carried out" } else { "未开展业务 (not carried out)" };
            history(tx, stamp, Some(licence), "report file", &format!("{year} filed on {on}, {carried}"))
        })
    }

    pub fn reports(&self, licence: &LicenceNo) -> Result<Vec<ReportFiled>> {
        Ok(self
            .conn
            .prepare(
                "SELECT r.year, r.carried_out FROM annual_report r JOIN licence l ON l.id = r.licence_id
                 WHERE l.number = ?1 ORDER BY r.year",
            )?
            .query_map([licence.to_string()], |row| {
                Ok(ReportFiled {
                    year: row.get(0)?,
                    carried_out: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn snooze(
        &mut self,
        stamp: &Stamp,
        licence: &LicenceNo,
        obligation: &str,
        until: NaiveDate,
        reason: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO snooze (obligation, until, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT (obligation) DO UPDATE SET until = excluded.until, reason = excluded.reason",
                params![obligation, until, reason],
            )?;
            history(tx, stamp, Some(licence), "snooze", &format!("{obligation} until {until}: {reason}"))
        })
    }

    /// The snoozes still in force on `today`, the soonest to lapse first.
    pub fn snoozes(&self, today: NaiveDate) -> Result<Vec<SnoozeRow>> {
        Ok(self
            .conn
            .prepare(
                "SELECT obligation, until, reason FROM snooze WHERE until > ?1
                 ORDER BY until, obligation",
            )?
            .query_map([today], |row| {
                Ok(SnoozeRow {
                    obligation: row.get(0)?,
                    until: row.get(1)?,
                    reason: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Lifts a snooze: reminders for `obligation` resume at the next tick.
    pub fn cancel_snooze(
        &mut self,
        stamp: &Stamp,
        licence: &LicenceNo,
        obligation: &str,
        today: NaiveDate,
    ) -> Result<SnoozeRow> {
        let snooze = self
            .snoozes(today)?
            .into_iter()
            .find(|s| s.obligation == obligation)
            .ok_or_else(|| Refusal::NotSnoozed {
                obligation: obligation.to_owned(),
            })?;
        self.write(|tx| {
            tx.execute("DELETE FROM snooze WHERE obligation = ?1", [obligation])?;
            history(
                tx,
                stamp,
                Some(licence),
                "snooze cancel",
                &format!("{obligation} (was until {})", snooze.until),
            )
        })?;
        Ok(snooze)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reported_through_is_the_last_year_of_an_unbroken_run_of_filed_reports() {
        let (issued, last) = (d(2021, 6, 1), d(2026, 5, 31));
        assert_eq!(reported_through(issued, last, &[]), 2020);
        assert_eq!(reported_through(issued, last, &[2021, 2022, 2024]), 2022);
        assert_eq!(
            reported_through(issued, last, &[2021, 2022, 2023, 2024]),
            2024
        );
        // 2025 is the last year owed: the licence ends before 1 January 2027.
        assert_eq!(
            reported_through(issued, last, &[2021, 2022, 2023, 2024, 2025]),
            9999
        );
        assert_eq!(
            reported_through(issued, last, &[2021, 2022, 2023, 2024, 2025, 2026]),
            9999
        );
    }
}
