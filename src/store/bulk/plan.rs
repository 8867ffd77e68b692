//! What an import will do, worked out before anything is written: the
//! stored and resulting fields compared, the annual reports and renewal a
//! row says were filed, and the companies.

use chrono::{Datelike, NaiveDate};
use rusqlite::{OptionalExtension, Transaction, params};

use super::records::{
    Batch, Change, CompanyRecord, Edit, Ended, Entity, Field, ImportReport, LicenceRecord,
    NumberRecord, Past, RowProblem, Tally,
};
use crate::domain::licence::ItemCode;
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::rules::{self, RuleField};
use crate::store::register::{COMPANY_COLUMNS, company_row};
use crate::store::{Direction, StoreError};

/// A licence's fields once the import is applied: what its numbers are
/// checked against.
#[derive(Clone)]
pub(super) struct LicenceAfter {
    pub(super) items: Vec<ItemCode>,
    pub(super) issued: NaiveDate,
    pub(super) expires: NaiveDate,
    pub(super) authority: String,
    pub(super) ended: Option<Ended>,
}

impl LicenceAfter {
    pub(super) fn last_day(&self) -> NaiveDate {
        crate::domain::obligation::last_day(self.expires, self.ended.as_ref().map(|e| e.on))
    }
}

/// A number's fields once the import is applied (the file's values over
/// the register's): what is checked against its licence, and written.
pub(super) struct NumberAfter {
    pub(super) allocated: NaiveDate,
    pub(super) activated_on: Option<NaiveDate>,
    pub(super) carrier: Option<String>,
    pub(super) direction: Option<Direction>,
    pub(super) released_on: Option<NaiveDate>,
}

/// What the import will do, worked out before anything is written.
#[derive(Default)]
pub(super) struct Plan<'a> {
    pub(super) company_adds: Vec<&'a CompanyRecord>,
    /// Each update with its id, the company as it will be (the file's
    /// values over the register's) and the history detail.
    pub(super) company_updates: Vec<(i64, CompanyRecord, String)>,
    pub(super) licence_adds: Vec<(&'a LicenceRecord, LicenceAfter)>,
    pub(super) licence_updates: Vec<(i64, &'a LicenceRecord, LicenceAfter, String)>,
    pub(super) number_adds: Vec<(&'a NumberRecord, NumberAfter)>,
    pub(super) number_updates: Vec<(i64, &'a NumberRecord, NumberAfter, String)>,
    /// What was filed before, for licences new and old.
    pub(super) marks: Vec<Mark<'a>>,
    pub(super) report: ImportReport,
    pub(super) problems: Vec<RowProblem>,
}

impl Plan<'_> {
    fn tally(&mut self, entity: Entity) -> &mut Tally {
        match entity {
            Entity::Company => &mut self.report.companies,
            Entity::Licence => &mut self.report.licences,
            Entity::Number => &mut self.report.numbers,
        }
    }

    /// Counts an add and lists it in the report.
    pub(super) fn added(&mut self, entity: Entity, key: String, detail: String) {
        self.tally(entity).added += 1;
        self.report.changes.push(Change {
            entity,
            edit: Edit::Add,
            key,
            detail,
        });
    }

    /// Counts the stored `key` unchanged when `detail` is empty; otherwise
    /// updated and listed in the report, and returns its history detail.
    pub(super) fn updated(
        &mut self,
        entity: Entity,
        key: String,
        detail: Vec<String>,
    ) -> Option<String> {
        if detail.is_empty() {
            self.tally(entity).unchanged += 1;
            return None;
        }
        let detail = detail.join("; ");
        self.tally(entity).updated += 1;
        self.report.changes.push(Change {
            entity,
            edit: Edit::Update,
            key,
            detail: detail.clone(),
        });
        Some(detail)
    }
}

/// The annual reports and the renewal a row says were filed before, that
/// the register does not have yet.
pub(super) struct Mark<'a> {
    pub(super) record: &'a LicenceRecord,
    /// `None` for a licence this import adds.
    pub(super) licence_id: Option<i64>,
    /// Each business year with whether the report said business was
    /// carried out.
    pub(super) reports: Vec<(i32, bool)>,
    /// The expiry the renewal was for, and the day it was applied for.
    pub(super) renewal: Option<(NaiveDate, NaiveDate)>,
}

/// Plans the marks of a licence's [`Past`], checking them against its
/// fields after the import and `today`. Records problems.
pub(super) fn plan_past<'a>(
    tx: &Transaction,
    record: &'a LicenceRecord,
    licence_id: Option<i64>,
    after: &LicenceAfter,
    today: NaiveDate,
    plan: &mut Plan<'a>,
) -> Result<(), StoreError> {
    let past = record.past;
    if past == Past::default() {
        return Ok(());
    }
    let before = plan.problems.len();
    let mut reports = Vec::new();
    if let Some(through) = past.reported_through {
        if let Err(error) = rules::report_filed_on(through, today) {
            plan.problems.push(problem(
                record.row,
                Field::ReportedThrough,
                through,
                format!("{error}; today is {today}"),
            ));
        } else {
            let filed: Vec<i32> = match licence_id {
                Some(id) => tx
                    .prepare_cached("SELECT year FROM annual_report WHERE licence_id = ?1")?
                    .query_map([id], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?,
                None => Vec::new(),
            };
            let last = through.min(after.last_day().year());
            for year in after.issued.year()..=last {
                if !filed.contains(&year) {
                    let not_carried_out =
                        year == through && past.last_not_carried_out == Some(true);
                    reports.push((year, !not_carried_out));
                }
            }
        }
    }
    let mut renewal = None;
    if let Some(on) = past.renewal_submitted {
        let refused = rules::not_after_today(RuleField::On, on, today).and_then(|_| {
            rules::renewal_marked_on(&record.number, after.issued, after.expires, on)
        });
        if let Err(error) = refused {
            plan.problems.push(problem(
                record.row,
                Field::RenewalSubmitted,
                on,
                error.to_string(),
            ));
        } else {
            let marked = match licence_id {
                Some(id) => tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM renewal WHERE licence_id = ?1 AND for_expires = ?2)",
                    )?
                    .query_row(params![id, after.expires], |row| row.get(0))?,
                None => false,
            };
            if !marked {
                renewal = Some((after.expires, on));
            }
        }
    }
    if plan.problems.len() == before && (!reports.is_empty() || renewal.is_some()) {
        plan.report.past.reports += reports.len();
        plan.report.past.renewals += usize::from(renewal.is_some());
        plan.marks.push(Mark {
            record,
            licence_id,
            reports,
            renewal,
        });
    }
    Ok(())
}

pub(super) fn date_text(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "-".to_owned(), |d| d.to_string())
}

pub(super) fn text_or_dash(text: Option<&str>) -> &str {
    text.unwrap_or("-")
}

/// `(province column, label)` of a number: '' for nationwide numbers, as
/// the table stores them.
pub(super) fn number_key(number: &ServiceNumber, province: Option<Province>) -> (String, String) {
    match province {
        Some(p) => (
            p.abbreviation().to_string(),
            format!("{number} ({})", p.name()),
        ),
        None => (String::new(), number.to_string()),
    }
}

pub(super) fn problem(
    row: usize,
    field: Field,
    value: impl ToString,
    reason: String,
) -> RowProblem {
    RowProblem {
        row,
        field: Some(field),
        value: value.to_string(),
        reason,
    }
}

pub(super) fn plan_companies<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    plan: &mut Plan<'a>,
) -> Result<(), StoreError> {
    let mut find = tx.prepare_cached(&format!(
        "SELECT {COMPANY_COLUMNS} FROM company c WHERE c.uscc = ?1"
    ))?;
    let mut emails_of =
        tx.prepare_cached("SELECT email FROM company_email WHERE company_id = ?1 ORDER BY email")?;
    for record in &batch.companies {
        let stored = find
            .query_row([record.uscc.as_str()], company_row)
            .optional()?;
        let Some(stored) = stored else {
            plan.added(
                Entity::Company,
                record.uscc.to_string(),
                record.name.clone(),
            );
            plan.company_adds.push(record);
            continue;
        };
        let mut detail = Vec::new();
        if record.name != stored.name {
            detail.push(format!("name {} -> {}", stored.name, record.name));
            plan.report.notes.push(format!(
                "company {}: name {} -> {}; if the company renamed (not a typo), record the change so its filing is tracked: licwatch change record LICENCE --kind name --on DATE",
                record.uscc, stored.name, record.name
            ));
        }
        for (label, given, stored) in [
            ("address", &record.address, &stored.address),
            ("legal_rep", &record.legal_rep, &stored.legal_rep),
            ("contact", &record.contact, &stored.contact),
            ("phone", &record.phone, &stored.phone),
        ] {
            if let Some(given) = given
                .as_ref()
                .filter(|given| Some(*given) != stored.as_ref())
            {
                detail.push(format!(
                    "{label} {} -> {given}",
                    text_or_dash(stored.as_deref())
                ));
            }
        }
        if let Some(emails) = &record.emails {
            let stored: Vec<String> = emails_of
                .query_map([stored.id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if *emails != stored {
                detail.push(format!(
                    "emails {} -> {}",
                    stored.join(";"),
                    emails.join(";")
                ));
            }
        }
        let Some(detail) = plan.updated(Entity::Company, record.uscc.to_string(), detail) else {
            continue;
        };
        plan.company_updates.push((
            stored.id,
            CompanyRecord {
                address: record.address.clone().or(stored.address),
                legal_rep: record.legal_rep.clone().or(stored.legal_rep),
                contact: record.contact.clone().or(stored.contact),
                phone: record.phone.clone().or(stored.phone),
                ..record.clone()
            },
            detail,
        ));
    }
    Ok(())
}
