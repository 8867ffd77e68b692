//! The annual reports of many licences marked filed at once (`report
//! file`), and the day one was filed.

use chrono::{Datelike, NaiveDate};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::domain::licence::LicenceNo;
use crate::domain::obligation::keys;
use crate::domain::uscc::Uscc;
use crate::store::outbox::cancel_obligation;
use crate::store::register::{history, refresh_reported_through};
use crate::store::{Refusal, Stamp, Store, StoreError};

/// Which licences `report file` marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// Every licence in the register.
    All,
    /// Every licence the company holds.
    Company(Uscc),
}

/// What marking one business year's annual report for many licences did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiledReports {
    /// The licences marked now.
    pub marked: Vec<LicenceNo>,
    /// The licences whose report was on record already, with its day.
    pub already: Vec<(LicenceNo, NaiveDate)>,
    /// Licences in scope that did not owe the report: not valid that year.
    pub not_owed: usize,
}

impl Store {
    /// The day the annual report on `year` of `licence` was filed, if on
    /// record.
    pub fn report_filed_on(
        &self,
        licence: &LicenceNo,
        year: i32,
    ) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT r.filed_on FROM annual_report r JOIN licence l ON l.id = r.licence_id
                 WHERE l.number = ?1 AND r.year = ?2",
                params![licence.to_string(), year],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// The renewal mark of the licence's current expiry, if any: the day
    /// and whether the holder is continuing.
    pub fn renewal_marked(
        &self,
        licence: &LicenceNo,
    ) -> Result<Option<(NaiveDate, bool)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT r.submitted_on, r.continuing FROM renewal r JOIN licence l ON l.id = r.licence_id
                 WHERE l.number = ?1 AND r.for_expires = l.expires",
                [licence.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }

    /// Marks the annual report on business year `year` filed on `on` for
    /// every licence in `scope` that owes it (valid at some time that
    /// year, not yet on record), in one transaction with one history row
    /// each. The caller has checked that `on` is after `year`.
    pub fn file_reports(
        &mut self,
        stamp: &Stamp,
        scope: &ReportScope,
        year: i32,
        on: NaiveDate,
        carried_out: bool,
    ) -> Result<FiledReports, StoreError> {
        if let ReportScope::Company(uscc) = scope {
            // Named, so a mistyped code is not "0 licences marked".
            self.company(uscc)?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut filed = FiledReports::default();
        let uscc = match scope {
            ReportScope::All => None,
            ReportScope::Company(uscc) => Some(uscc.as_str()),
        };
        let licences: Vec<(i64, String, NaiveDate, NaiveDate, Option<NaiveDate>)> = tx
            .prepare(
                "SELECT l.id, l.number, l.issued, l.last_day,
                        (SELECT r.filed_on FROM annual_report r WHERE r.licence_id = l.id AND r.year = ?1)
                 FROM licence l JOIN company c ON c.id = l.company_id
                 WHERE ?2 IS NULL OR c.uscc = ?2 ORDER BY l.number",
            )?
            .query_map(params![year, uscc], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let carried = if carried_out {
            "business carried out"
        } else {
            "未开展业务 (not carried out)"
        };
        for (id, number, issued, last_day, on_record) in licences {
            let number: LicenceNo = number.parse().map_err(Refusal::UnreadableLicence)?;
            if year < issued.year() || year > last_day.year() {
                filed.not_owed += 1;
                continue;
            }
            if let Some(day) = on_record {
                filed.already.push((number, day));
                continue;
            }
            tx.execute(
                "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, ?4)",
                params![id, year, on, carried_out],
            )?;
            cancel_obligation(&tx, &keys::annual_report(&number, year), "report filed")?;
            refresh_reported_through(&tx, id)?;
            history(
                &tx,
                stamp,
                Some(&number),
                "report file",
                &format!("{year} filed on {on}, {carried}"),
            )?;
            filed.marked.push(number);
        }
        tx.commit()?;
        Ok(filed)
    }
}
