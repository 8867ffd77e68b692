//! The annual reports of many licences marked filed at once (`report
//! file`), and the day one was filed.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::domain::licence::LicenceNo;
use crate::domain::obligation::{annual_report_may_be_filed, keys};
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

/// How many of the licences in scope marking one business year's annual
/// report reached, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FiledReports {
    /// The licences marked now.
    pub marked: usize,
    /// The licences whose report was on record already.
    pub already: usize,
    /// Licences in scope that did not owe the report: not valid that year.
    pub not_owed: usize,
}

/// One licence that owed the report, as [`Store::file_reports`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome<'a> {
    /// Marked now.
    Marked(&'a LicenceNo),
    /// On record already, filed on this day: left as it was.
    Already(&'a LicenceNo, NaiveDate),
}

/// The mark [`Store::file_reports`] sets: the report on business `year`
/// filed on `on`, the business carried out that year or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkReports {
    pub year: i32,
    pub on: NaiveDate,
    pub carried_out: bool,
}

/// How many licences [`Store::file_reports`] reads at a time: every
/// licence of a large register would be a hundred MB and more.
const REPORT_PAGE: usize = 5_000;

/// A page of the licences in scope, in licence-number order after `?2`
/// (`?3` at most): every licence, or (`?4`) one company's.
const ALL_PAGE: &str = "SELECT l.id, l.number, l.issued, l.last_day,
        (SELECT r.filed_on FROM annual_report r WHERE r.licence_id = l.id AND r.year = ?1)
     FROM licence l WHERE l.number > ?2 ORDER BY l.number LIMIT ?3";
const COMPANY_PAGE: &str = "SELECT l.id, l.number, l.issued, l.last_day,
        (SELECT r.filed_on FROM annual_report r WHERE r.licence_id = l.id AND r.year = ?1)
     FROM licence l WHERE l.company_id = ?4 AND l.number > ?2 ORDER BY l.number LIMIT ?3";

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

    /// Marks the annual report on business year `mark.year` filed on
    /// `mark.on` for every licence in `scope` that owes it (valid at some
    /// time that year, not yet on record), in one transaction with one
    /// history row each, and gives each licence that owed it to `each`, in
    /// licence-number order, as it goes. An error from `each` rolls everything back. The
    /// caller has checked that `mark.on` is after `mark.year`.
    pub fn file_reports<E: From<StoreError>>(
        &mut self,
        stamp: &Stamp,
        scope: &ReportScope,
        mark: &MarkReports,
        each: impl FnMut(ReportOutcome<'_>) -> Result<(), E>,
    ) -> Result<FiledReports, E> {
        self.file_reports_paged(stamp, scope, mark, REPORT_PAGE, each)
    }

    /// [`Store::file_reports`], reading `page_size` licences at a time.
    pub(crate) fn file_reports_paged<E: From<StoreError>>(
        &mut self,
        stamp: &Stamp,
        scope: &ReportScope,
        &MarkReports {
            year,
            on,
            carried_out,
        }: &MarkReports,
        page_size: usize,
        mut each: impl FnMut(ReportOutcome<'_>) -> Result<(), E>,
    ) -> Result<FiledReports, E> {
        let company = match scope {
            // Named, so a mistyped code is not "0 licences marked".
            ReportScope::Company(uscc) => Some(self.company(uscc)?.id),
            ReportScope::All => None,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let mut filed = FiledReports::default();
        let mut after = String::new();
        loop {
            let page =
                read_page(&tx, company, year, &after, page_size).map_err(StoreError::from)?;
            let Some((_, last, ..)) = page.last() else {
                break;
            };
            after = last.clone();
            for (id, number, issued, last_day, on_record) in page {
                let number: LicenceNo = number
                    .parse()
                    .map_err(|e| StoreError::from(Refusal::UnreadableLicence(e)))?;
                if !annual_report_may_be_filed(issued, last_day, year) {
                    filed.not_owed += 1;
                    continue;
                }
                if let Some(day) = on_record {
                    filed.already += 1;
                    each(ReportOutcome::Already(&number, day))?;
                    continue;
                }
                mark_filed(&tx, stamp, &number, id, year, on, carried_out)?;
                filed.marked += 1;
                each(ReportOutcome::Marked(&number))?;
            }
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(filed)
    }
}

type PageRow = (i64, String, NaiveDate, NaiveDate, Option<NaiveDate>);

fn read_page(
    tx: &rusqlite::Transaction<'_>,
    company: Option<i64>,
    year: i32,
    after: &str,
    page_size: usize,
) -> rusqlite::Result<Vec<PageRow>> {
    let row = |row: &rusqlite::Row<'_>| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    };
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    match company {
        None => tx
            .prepare_cached(ALL_PAGE)?
            .query_map(params![year, after, limit], row)?
            .collect(),
        Some(company) => tx
            .prepare_cached(COMPANY_PAGE)?
            .query_map(params![year, after, limit, company], row)?
            .collect(),
    }
}

/// One licence's report on record, its alert cancelled, its history row.
fn mark_filed(
    tx: &rusqlite::Transaction<'_>,
    stamp: &Stamp,
    number: &LicenceNo,
    id: i64,
    year: i32,
    on: NaiveDate,
    carried_out: bool,
) -> Result<(), StoreError> {
    let carried = if carried_out {
        "business carried out"
    } else {
        "未开展业务 (not carried out)"
    };
    tx.execute(
        "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, ?4)",
        params![id, year, on, carried_out],
    )?;
    cancel_obligation(tx, &keys::annual_report(number, year), "report filed")?;
    refresh_reported_through(tx, id)?;
    history(
        tx,
        stamp,
        Some(number),
        "report file",
        &format!("{year} filed on {on}, {carried}"),
    )?;
    Ok(())
}
