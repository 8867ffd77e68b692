//! The register in bulk: a whole spreadsheet imported in one transaction,
//! the whole register read back in the same shape for export.
//!
//! An import is an upsert keyed by USCC (companies), licence number
//! (licences) and (province, number) (numbers). It is planned in full before
//! anything is written: every row that cannot be taken is reported, and one
//! such row means nothing is written. A value the file leaves empty is "not
//! given": it never clears what the register holds. Re-importing the same
//! file finds nothing to change and writes nothing, not even history.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use thiserror::Error;

use super::outbox::cancel_obligation;
use super::register::{
    history, parsed, refresh_renewal_mark, refresh_reported_through, reported_through, set_emails,
};
use super::{Company, Direction, Licence, NumberRow, Stamp, Store, StoreError};
use crate::domain::licence::{ItemCode, LicenceNo, Scope};
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::{ObligationKind, keys};
use crate::domain::policy::Policy;
use crate::domain::province::Province;
use crate::domain::rules::{self, RuleError, RuleField};
use crate::domain::uscc::Uscc;

/// A column of the import and export format, in the order export writes
/// them. The store names the column a problem is about; the CLI knows the
/// header the file used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    LicenceNumber,
    HolderName,
    Uscc,
    Items,
    Issued,
    Expires,
    Number,
    NumberProvince,
    Allocated,
    Emails,
    ActivatedOn,
    Carrier,
    Direction,
    ReleasedOn,
    Authority,
    EndedOn,
    EndReason,
    Address,
    LegalRep,
    Contact,
    Phone,
    ReportedThrough,
    RenewalSubmitted,
    NotCarriedOut,
}

/// Why one row of an import cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The row as the person sees it in the file: in a sheet the header is
    /// row 1; in a JSON array the first object is row 1.
    pub row: usize,
    /// `None` when the row as a whole is wrong, e.g. it has too few cells.
    pub field: Option<Field>,
    pub value: String,
    /// The domain's message: it names the value and the accepted form.
    pub reason: String,
}

/// A company as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRecord {
    /// The first row naming the company, for problems.
    pub row: usize,
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    /// Replaces the contact list when given.
    pub emails: Option<Vec<String>>,
    /// The person at the client an agency calls (联系人), and their phone.
    pub contact: Option<String>,
    pub phone: Option<String>,
}

/// The day a licence ended early, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub on: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRecord {
    pub row: usize,
    pub number: LicenceNo,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: Option<NaiveDate>,
    /// The expiry a new licence gets when the file gives none: the usual
    /// validity, which is policy, so the caller works it out.
    pub default_expires: NaiveDate,
    /// Defaults to the scope's authority for a new licence.
    pub authority: Option<String>,
    pub ended: Option<Ended>,
    /// What was filed before licwatch kept the register.
    pub past: Past,
}

/// The state of a licence's obligations when the register starts: what an
/// agency's sheet says was done before, so that those are not reported as
/// overdue on the first day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Past {
    /// Every annual report up to this business year was filed (已报年报年度).
    pub reported_through: Option<i32>,
    /// The last of those reports said 未开展业务.
    pub last_not_carried_out: Option<bool>,
    /// The renewal of the licence's current expiry was applied for on this
    /// day (续期提交日期).
    pub renewal_submitted: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    pub row: usize,
    pub number: ServiceNumber,
    /// The allocating province of a 96 number, already resolved against the
    /// licence's scope.
    pub province: Option<Province>,
    pub licence: LicenceNo,
    pub allocated: NaiveDate,
    pub activated_on: Option<NaiveDate>,
    pub carrier: Option<String>,
    /// A new number put into service without one is inbound, the default
    /// filing (工信部信管〔2020〕81号).
    pub direction: Option<Direction>,
    pub released_on: Option<NaiveDate>,
}

/// A file's rows merged into one record per company, licence and number.
/// Every licence's holder and every number's licence are in the batch too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub companies: Vec<CompanyRecord>,
    pub licences: Vec<LicenceRecord>,
    pub numbers: Vec<NumberRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Plan and report; write nothing.
    DryRun,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Company,
    Licence,
    Number,
}

impl Entity {
    pub fn code(self) -> &'static str {
        match self {
            Entity::Company => "company",
            Entity::Licence => "licence",
            Entity::Number => "number",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Add,
    Update,
}

/// One company, licence or number the import adds or updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub entity: Entity,
    pub edit: Edit,
    /// The USCC, licence number or number (with its province).
    pub key: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub companies: Tally,
    pub licences: Tally,
    pub numbers: Tally,
    pub changes: Vec<Change>,
    /// What a person should look at: an import corrects data, it does not
    /// record company changes, which need the day they happened.
    pub notes: Vec<String>,
    /// The annual reports and renewals recorded as filed before.
    pub past: PastTally,
    /// With a forecast asked for: the obligations that will be overdue once
    /// the import is written, by kind and year, soonest first.
    pub overdue: Vec<Overdue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PastTally {
    pub reports: usize,
    pub renewals: usize,
}

/// How many obligations of one kind and year will be overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    pub kind: ObligationKind,
    /// The business year of an annual report; the due year of the others.
    pub year: i32,
    pub count: usize,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{} problems in the file; nothing was written", .0.len())]
    Rows(Vec<RowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(error: rusqlite::Error) -> Self {
        ImportError::Store(error.into())
    }
}

/// One row of the register in the import format: a licence with one of its
/// numbers, a licence without numbers, or a company without licences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub company: Company,
    /// The company's contact person and phone (联系人, 联系电话).
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub licence: Option<Licence>,
    /// What the register records as filed, in the import's terms: an
    /// export re-imported adds nothing.
    pub past: Past,
    pub number: Option<NumberRow>,
}

/// The stored fields of a licence, as the import compares them.
struct StoredLicence {
    id: i64,
    holder: String,
    items: String,
    issued: NaiveDate,
    expires: NaiveDate,
    authority: String,
    ended_on: Option<NaiveDate>,
    end_reason: Option<String>,
}

struct StoredNumber {
    id: i64,
    licence: String,
    allocated: NaiveDate,
    activated_on: Option<NaiveDate>,
    carrier: Option<String>,
    direction: Option<String>,
    released_on: Option<NaiveDate>,
}

/// A licence's fields once the import is applied: what its numbers are
/// checked against.
#[derive(Clone)]
struct LicenceAfter {
    items: Vec<ItemCode>,
    issued: NaiveDate,
    expires: NaiveDate,
    authority: String,
    ended: Option<Ended>,
}

impl LicenceAfter {
    fn last_day(&self) -> NaiveDate {
        crate::domain::obligation::last_day(self.expires, self.ended.as_ref().map(|e| e.on))
    }
}

struct CompanyAfter {
    name: String,
    address: Option<String>,
    legal_rep: Option<String>,
    emails: Option<Vec<String>>,
    contact: Option<String>,
    phone: Option<String>,
}

/// id, name, address, legal_rep, contact, phone.
type StoredCompany = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

struct NumberAfter {
    allocated: NaiveDate,
    activated_on: Option<NaiveDate>,
    carrier: Option<String>,
    direction: Option<Direction>,
    released_on: Option<NaiveDate>,
}

/// What the import will do, worked out before anything is written.
#[derive(Default)]
struct Plan<'a> {
    company_adds: Vec<&'a CompanyRecord>,
    /// Each update with its id and the history detail.
    company_updates: Vec<(i64, &'a CompanyRecord, CompanyAfter, String)>,
    licence_adds: Vec<(&'a LicenceRecord, LicenceAfter)>,
    licence_updates: Vec<(i64, &'a LicenceRecord, LicenceAfter, String)>,
    number_adds: Vec<(&'a NumberRecord, NumberAfter)>,
    number_updates: Vec<(i64, &'a NumberRecord, NumberAfter, String)>,
    /// What was filed before, for licences new and old.
    marks: Vec<Mark<'a>>,
    report: ImportReport,
    problems: Vec<RowProblem>,
}

/// The annual reports and the renewal a row says were filed before, that
/// the register does not have yet.
struct Mark<'a> {
    record: &'a LicenceRecord,
    /// `None` for a licence this import adds.
    licence_id: Option<i64>,
    /// Each business year with whether the report said business was
    /// carried out.
    reports: Vec<(i32, bool)>,
    /// The expiry the renewal was for, and the day it was applied for.
    renewal: Option<(NaiveDate, NaiveDate)>,
}

/// Plans the marks of a licence's [`Past`], checking them against its
/// fields after the import and `today`. Records problems.
fn plan_past<'a>(
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

fn date_text(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "-".to_owned(), |d| d.to_string())
}

fn text_or_dash(text: Option<&str>) -> &str {
    text.unwrap_or("-")
}

/// `(province column, label)` of a number: '' for nationwide numbers, as
/// the table stores them.
fn number_key(number: &ServiceNumber, province: Option<Province>) -> (String, String) {
    match province {
        Some(p) => (
            p.abbreviation().to_string(),
            format!("{number} ({})", p.name()),
        ),
        None => (String::new(), number.to_string()),
    }
}

fn problem(row: usize, field: Field, value: impl ToString, reason: String) -> RowProblem {
    RowProblem {
        row,
        field: Some(field),
        value: value.to_string(),
        reason,
    }
}

fn plan_companies<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    plan: &mut Plan<'a>,
) -> Result<(), StoreError> {
    let mut find = tx.prepare_cached(
        "SELECT id, name, address, legal_rep, contact, phone FROM company WHERE uscc = ?1",
    )?;
    let mut emails_of =
        tx.prepare_cached("SELECT email FROM company_email WHERE company_id = ?1 ORDER BY email")?;
    for record in &batch.companies {
        let stored: Option<StoredCompany> = find
            .query_row([record.uscc.as_str()], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .optional()?;
        let Some((id, name, address, legal_rep, contact, phone)) = stored else {
            plan.report.companies.added += 1;
            plan.report.changes.push(Change {
                entity: Entity::Company,
                edit: Edit::Add,
                key: record.uscc.to_string(),
                detail: record.name.clone(),
            });
            plan.company_adds.push(record);
            continue;
        };
        let mut detail = Vec::new();
        if record.name != name {
            detail.push(format!("name {name} -> {}", record.name));
            plan.report.notes.push(format!(
                "company {}: name {name} -> {}; if the company renamed (not a typo), record the change so its filing is tracked: licwatch change record LICENCE --kind name --on DATE",
                record.uscc, record.name
            ));
        }
        for (label, given, stored) in [
            ("address", &record.address, &address),
            ("legal_rep", &record.legal_rep, &legal_rep),
            ("contact", &record.contact, &contact),
            ("phone", &record.phone, &phone),
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
                .query_map([id], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if *emails != stored {
                detail.push(format!(
                    "emails {} -> {}",
                    stored.join(";"),
                    emails.join(";")
                ));
            }
        }
        if detail.is_empty() {
            plan.report.companies.unchanged += 1;
            continue;
        }
        let detail = detail.join("; ");
        plan.report.companies.updated += 1;
        plan.report.changes.push(Change {
            entity: Entity::Company,
            edit: Edit::Update,
            key: record.uscc.to_string(),
            detail: detail.clone(),
        });
        plan.company_updates.push((
            id,
            record,
            CompanyAfter {
                name: record.name.clone(),
                address: record.address.clone().or(address),
                legal_rep: record.legal_rep.clone().or(legal_rep),
                emails: record.emails.clone(),
                contact: record.contact.clone().or(contact),
                phone: record.phone.clone().or(phone),
            },
            detail,
        ));
    }
    Ok(())
}

/// Plans the licences; returns each one's fields after the import, for the
/// numbers' checks.
fn plan_licences<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    today: NaiveDate,
    plan: &mut Plan<'a>,
) -> Result<HashMap<LicenceNo, LicenceAfter>, StoreError> {
    let mut find = tx.prepare_cached(
        "SELECT l.id, c.uscc, l.items, l.issued, l.expires, l.authority, l.ended_on, l.end_reason
         FROM licence l JOIN company c ON c.id = l.company_id WHERE l.number = ?1",
    )?;
    let mut after_all = HashMap::with_capacity(batch.licences.len());
    for record in &batch.licences {
        let number = record.number.to_string();
        let stored = find
            .query_row([&number], |row| {
                Ok(StoredLicence {
                    id: row.get(0)?,
                    holder: row.get(1)?,
                    items: row.get(2)?,
                    issued: row.get(3)?,
                    expires: row.get(4)?,
                    authority: row.get(5)?,
                    ended_on: row.get(6)?,
                    end_reason: row.get(7)?,
                })
            })
            .optional()?;
        let Some(stored) = stored else {
            let after = LicenceAfter {
                items: record.items.clone(),
                issued: record.issued,
                expires: record.expires.unwrap_or(record.default_expires),
                authority: record
                    .authority
                    .clone()
                    .unwrap_or_else(|| record.number.scope().authority()),
                ended: record.ended.clone(),
            };
            if check_licence(record, &after, None, today, plan) {
                plan.report.licences.added += 1;
                plan.report.changes.push(Change {
                    entity: Entity::Licence,
                    edit: Edit::Add,
                    key: number.clone(),
                    detail: format!(
                        "holder {} items {} issued {} expires {}",
                        record.holder,
                        ItemCode::join(&after.items),
                        after.issued,
                        after.expires
                    ),
                });
                plan.licence_adds.push((record, after.clone()));
                plan_past(tx, record, None, &after, today, plan)?;
            }
            after_all.insert(record.number.clone(), after);
            continue;
        };
        if stored.holder != record.holder.as_str() {
            plan.problems.push(problem(
                record.row,
                Field::Uscc,
                &record.holder,
                format!(
                    "licence {number} is held by {} in the register; a licence does not change holder (a renamed company keeps its USCC)",
                    stored.holder
                ),
            ));
            continue;
        }
        let stored_ended = stored.ended_on.map(|on| Ended {
            on,
            reason: stored.end_reason.clone().unwrap_or_default(),
        });
        let after = LicenceAfter {
            items: record.items.clone(),
            issued: record.issued,
            expires: record.expires.unwrap_or(stored.expires),
            authority: record.authority.clone().unwrap_or(stored.authority.clone()),
            ended: record.ended.clone().or(stored_ended.clone()),
        };
        let renewed_from = (record.issued == stored.issued).then_some(stored.expires);
        if !check_licence(record, &after, renewed_from, today, plan) {
            after_all.insert(record.number.clone(), after);
            continue;
        }
        plan_past(tx, record, Some(stored.id), &after, today, plan)?;
        let mut detail = Vec::new();
        let items = ItemCode::join(&after.items);
        if items != stored.items {
            detail.push(format!("items {} -> {items}", stored.items));
        }
        if after.issued != stored.issued {
            detail.push(format!("issued {} -> {}", stored.issued, after.issued));
        }
        if after.expires != stored.expires {
            detail.push(format!("expires {} -> {}", stored.expires, after.expires));
        }
        if after.authority != stored.authority {
            detail.push(format!(
                "authority {} -> {}",
                stored.authority, after.authority
            ));
        }
        if after.ended != stored_ended {
            let ended = after.ended.as_ref().expect("an import never clears an end");
            detail.push(format!(
                "ended {} -> {} ({})",
                date_text(stored.ended_on),
                ended.on,
                ended.reason
            ));
        }
        if detail.is_empty() {
            plan.report.licences.unchanged += 1;
        } else {
            let detail = detail.join("; ");
            plan.report.licences.updated += 1;
            plan.report.changes.push(Change {
                entity: Entity::Licence,
                edit: Edit::Update,
                key: number.clone(),
                detail: detail.clone(),
            });
            plan.licence_updates
                .push((stored.id, record, after.clone(), detail));
        }
        after_all.insert(record.number.clone(), after);
    }
    Ok(after_all)
}

/// The checks that need the licence's fields after the import: the file's
/// values may be merged with the register's. The rules are the domain's,
/// the same the CLI and the store apply. Records problems; true if none.
fn check_licence(
    record: &LicenceRecord,
    after: &LicenceAfter,
    renewed_from: Option<NaiveDate>,
    today: NaiveDate,
    plan: &mut Plan,
) -> bool {
    let before = plan.problems.len();
    let mut broken = vec![
        rules::licence_dates(&record.number, after.issued, after.expires, renewed_from).err(),
        rules::not_after_today(RuleField::Issued, record.issued, today).err(),
    ];
    if let Some(given) = &record.authority {
        broken.push(rules::authority(&record.number, Some(given)).err());
    }
    for error in broken.into_iter().flatten() {
        plan.problems.push(rule_problem(record.row, &error));
    }
    if let Some(ended) = &after.ended
        && let Err(error) = rules::end_date(&record.number, after.issued, ended.on)
    {
        plan.problems.push(rule_problem(record.row, &error));
    }
    plan.problems.len() == before
}

/// A domain rule's refusal as a row problem, in the column of its field.
fn rule_problem(row: usize, error: &RuleError) -> RowProblem {
    let field = match error.field() {
        RuleField::Issued => Field::Issued,
        RuleField::Expires => Field::Expires,
        RuleField::Authority => Field::Authority,
        RuleField::Items => Field::Items,
        RuleField::Number | RuleField::On => Field::Number,
        RuleField::Province => Field::NumberProvince,
        RuleField::Allocated => Field::Allocated,
        RuleField::EndedOn => Field::EndedOn,
    };
    problem(row, field, error.value(), error.to_string())
}

fn plan_numbers<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    licences: &HashMap<LicenceNo, LicenceAfter>,
    today: NaiveDate,
    plan: &mut Plan<'a>,
) -> Result<(), StoreError> {
    let mut find = tx.prepare_cached(
        "SELECT n.id, l.number, n.allocated, n.activated_on, n.carrier, n.direction, n.released_on
         FROM number n JOIN licence l ON l.id = n.licence_id WHERE n.province = ?1 AND n.number = ?2",
    )?;
    for record in &batch.numbers {
        let (province, label) = number_key(&record.number, record.province);
        let licence = record.licence.to_string();
        let stored = find
            .query_row(params![province, record.number.as_str()], |row| {
                Ok(StoredNumber {
                    id: row.get(0)?,
                    licence: row.get(1)?,
                    allocated: row.get(2)?,
                    activated_on: row.get(3)?,
                    carrier: row.get(4)?,
                    direction: row.get(5)?,
                    released_on: row.get(6)?,
                })
            })
            .optional()?;
        if let Some(stored) = stored.as_ref().filter(|s| s.licence != licence) {
            plan.problems.push(problem(
                record.row,
                Field::Number,
                &record.number,
                format!(
                    "number {label} is registered under licence {}; a number cannot move to another licence (numbers may not be transferred)",
                    stored.licence
                ),
            ));
            continue;
        }
        let stored_direction = match stored.as_ref().and_then(|s| s.direction.as_deref()) {
            Some(text) => Some(text.parse::<Direction>().map_err(StoreError::Refused)?),
            None => None,
        };
        let after = NumberAfter {
            allocated: record.allocated,
            activated_on: record
                .activated_on
                .or(stored.as_ref().and_then(|s| s.activated_on)),
            carrier: record
                .carrier
                .clone()
                .or(stored.as_ref().and_then(|s| s.carrier.clone())),
            direction: record
                .direction
                .or(stored_direction)
                .or(record.activated_on.map(|_| Direction::Inbound)),
            released_on: record
                .released_on
                .or(stored.as_ref().and_then(|s| s.released_on)),
        };
        // Every number row names its licence, so the batch has it; it is
        // missing only when that licence row was refused.
        let Some(holder) = licences.get(&record.licence) else {
            continue;
        };
        if !check_number(record, &label, holder, &after, today, plan) {
            continue;
        }
        let Some(stored) = stored else {
            plan.report.numbers.added += 1;
            plan.report.changes.push(Change {
                entity: Entity::Number,
                edit: Edit::Add,
                key: label,
                detail: format!("under {licence} allocated {}", record.allocated),
            });
            plan.number_adds.push((record, after));
            continue;
        };
        let mut detail = Vec::new();
        if after.allocated != stored.allocated {
            detail.push(format!(
                "allocated {} -> {}",
                stored.allocated, after.allocated
            ));
        }
        if after.activated_on != stored.activated_on {
            detail.push(format!(
                "activated {} -> {}",
                date_text(stored.activated_on),
                date_text(after.activated_on)
            ));
        }
        if after.carrier != stored.carrier {
            detail.push(format!(
                "carrier {} -> {}",
                text_or_dash(stored.carrier.as_deref()),
                text_or_dash(after.carrier.as_deref())
            ));
        }
        if after.direction != stored_direction {
            detail.push(format!(
                "direction {} -> {}",
                stored_direction.map_or("-", Direction::code),
                after.direction.map_or("-", Direction::code)
            ));
        }
        if after.released_on != stored.released_on {
            detail.push(format!(
                "released {} -> {}",
                date_text(stored.released_on),
                date_text(after.released_on)
            ));
        }
        if detail.is_empty() {
            plan.report.numbers.unchanged += 1;
            continue;
        }
        let detail = detail.join("; ");
        plan.report.numbers.updated += 1;
        plan.report.changes.push(Change {
            entity: Entity::Number,
            edit: Edit::Update,
            key: label,
            detail: detail.clone(),
        });
        plan.number_updates.push((stored.id, record, after, detail));
    }
    Ok(())
}

/// 先证后号: a number is allocated while its licence is valid, under a
/// licence that carries B24 and, for a 95 or 1010 number, a 全网 licence;
/// it is put into service or released after it was allocated.
fn check_number(
    record: &NumberRecord,
    label: &str,
    licence: &LicenceAfter,
    after: &NumberAfter,
    today: NaiveDate,
    plan: &mut Plan,
) -> bool {
    let before = plan.problems.len();
    let broken = [
        rules::number_province(&record.number, &record.licence, record.province).err(),
        rules::number_under_licence(
            &record.number,
            &record.licence,
            &licence.items,
            licence.issued,
            licence.last_day(),
            after.allocated,
        )
        .err(),
        rules::not_after_today(RuleField::Allocated, after.allocated, today).err(),
    ];
    for error in broken.into_iter().flatten() {
        plan.problems.push(rule_problem(record.row, &error));
    }
    for (field, date, what) in [
        (Field::ActivatedOn, after.activated_on, "put into service"),
        (Field::ReleasedOn, after.released_on, "released"),
    ] {
        if let Some(date) = date.filter(|date| *date < after.allocated) {
            plan.problems.push(problem(
                record.row,
                field,
                date,
                format!(
                    "number {label} {what} on {date}, before it was allocated ({})",
                    after.allocated
                ),
            ));
        }
    }
    if after.activated_on.is_some() && after.carrier.is_none() {
        plan.problems.push(problem(
            record.row,
            Field::Carrier,
            "",
            format!(
                "number {label} is in service but no carrier is given (the filing names it, e.g. 中国电信)"
            ),
        ));
    }
    plan.problems.len() == before
}

/// Writes the plan. Companies first, then licences, then numbers: each
/// refers to the one before.
fn apply(
    tx: &Transaction,
    stamp: &Stamp,
    source: &str,
    today: NaiveDate,
    plan: &Plan,
) -> Result<(), StoreError> {
    let via = format!("(import {source})");
    let mut company_ids: HashMap<&str, i64> = HashMap::new();
    let mut insert_company = tx.prepare_cached(
        "INSERT INTO company (uscc, name, address, legal_rep, contact, phone) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for record in &plan.company_adds {
        insert_company.execute(params![
            record.uscc.as_str(),
            record.name,
            record.address,
            record.legal_rep,
            record.contact,
            record.phone
        ])?;
        let id = tx.last_insert_rowid();
        company_ids.insert(record.uscc.as_str(), id);
        if let Some(emails) = &record.emails {
            set_emails(tx, id, emails)?;
        }
        history(
            tx,
            stamp,
            None,
            "company add",
            &format!("{} {} {via}", record.uscc, record.name),
        )?;
    }
    let mut update_company = tx.prepare_cached(
        "UPDATE company SET name = ?1, address = ?2, legal_rep = ?3, contact = ?4, phone = ?5 WHERE id = ?6",
    )?;
    for (id, record, after, detail) in &plan.company_updates {
        update_company.execute(params![
            after.name,
            after.address,
            after.legal_rep,
            after.contact,
            after.phone,
            id
        ])?;
        if let Some(emails) = &after.emails {
            set_emails(tx, *id, emails)?;
        }
        history(
            tx,
            stamp,
            None,
            "company update",
            &format!("{} {detail} {via}", record.uscc),
        )?;
    }

    let mut company_id = tx.prepare_cached("SELECT id FROM company WHERE uscc = ?1")?;
    let mut insert_licence = tx.prepare_cached(
        "INSERT INTO licence (number, company_id, scope, province, items, issued, expires, ended_on, end_reason, authority, reported_through)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut licence_ids: HashMap<&LicenceNo, i64> = HashMap::new();
    for (record, after) in &plan.licence_adds {
        let holder = match company_ids.get(record.holder.as_str()) {
            Some(id) => *id,
            None => company_id.query_row([record.holder.as_str()], |row| row.get(0))?,
        };
        let (scope, province) = match record.number.scope() {
            Scope::Nationwide => ("nationwide", None),
            Scope::Provincial(p) => ("provincial", Some(p.abbreviation().to_string())),
        };
        // A new licence has no annual report filed yet: its mark is
        // computed here rather than re-read row by row.
        insert_licence.execute(params![
            record.number.to_string(),
            holder,
            scope,
            province,
            ItemCode::join(&after.items),
            after.issued,
            after.expires,
            after.ended.as_ref().map(|e| e.on),
            after.ended.as_ref().map(|e| e.reason.as_str()),
            after.authority,
            reported_through(after.issued, after.last_day(), &[]),
        ])?;
        licence_ids.insert(&record.number, tx.last_insert_rowid());
        history(
            tx,
            stamp,
            Some(&record.number),
            "licence add",
            &format!(
                "holder {} items {} issued {} expires {} authority {} {via}",
                record.holder,
                ItemCode::join(&after.items),
                after.issued,
                after.expires,
                after.authority
            ),
        )?;
    }
    let mut update_licence = tx.prepare_cached(
        "UPDATE licence SET items = ?1, issued = ?2, expires = ?3, authority = ?4, ended_on = ?5, end_reason = ?6
         WHERE id = ?7",
    )?;
    for (id, record, after, detail) in &plan.licence_updates {
        update_licence.execute(params![
            ItemCode::join(&after.items),
            after.issued,
            after.expires,
            after.authority,
            after.ended.as_ref().map(|e| e.on),
            after.ended.as_ref().map(|e| e.reason.as_str()),
            id
        ])?;
        // New dates move the annual reports owed and the renewal that is
        // current: the marks the due query reads must follow.
        refresh_reported_through(tx, *id)?;
        refresh_renewal_mark(tx, *id)?;
        history(
            tx,
            stamp,
            Some(&record.number),
            "licence update",
            &format!("{detail} {via}"),
        )?;
    }

    let mut licence_id = tx.prepare_cached("SELECT id FROM licence WHERE number = ?1")?;
    let mut insert_number = tx.prepare_cached(
        "INSERT INTO number (number, province, licence_id, allocated, activated_on, carrier, direction, released_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (record, after) in &plan.number_adds {
        let holder = match licence_ids.get(&record.licence) {
            Some(id) => *id,
            None => licence_id.query_row([record.licence.to_string()], |row| row.get(0))?,
        };
        let (province, label) = number_key(&record.number, record.province);
        insert_number.execute(params![
            record.number.as_str(),
            province,
            holder,
            after.allocated,
            after.activated_on,
            after.carrier,
            after.direction.map(Direction::code),
            after.released_on
        ])?;
        history(
            tx,
            stamp,
            Some(&record.licence),
            "number add",
            &format!("{label} allocated {} {via}", after.allocated),
        )?;
    }
    let mut update_number = tx.prepare_cached(
        "UPDATE number SET allocated = ?1, activated_on = ?2, carrier = ?3, direction = ?4, released_on = ?5
         WHERE id = ?6",
    )?;
    for (id, record, after, detail) in &plan.number_updates {
        update_number.execute(params![
            after.allocated,
            after.activated_on,
            after.carrier,
            after.direction.map(Direction::code),
            after.released_on,
            id
        ])?;
        let (_, label) = number_key(&record.number, record.province);
        history(
            tx,
            stamp,
            Some(&record.licence),
            "number update",
            &format!("{label} {detail} {via}"),
        )?;
    }

    let mut insert_report = tx.prepare_cached(
        "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut insert_renewal = tx.prepare_cached(
        "INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing) VALUES (?1, ?2, ?3, 1)",
    )?;
    for mark in &plan.marks {
        let licence = &mark.record.number;
        let id = match mark
            .licence_id
            .or_else(|| licence_ids.get(licence).copied())
        {
            Some(id) => id,
            None => licence_id.query_row([licence.to_string()], |row| row.get(0))?,
        };
        let mut detail = Vec::new();
        // The day filed is not known: the report is recorded on the day of
        // the import, and the history says so.
        for (year, carried_out) in &mark.reports {
            insert_report.execute(params![id, year, today, carried_out])?;
            cancel_obligation(tx, &keys::annual_report(licence, *year), "report filed")?;
        }
        if let (Some((first, _)), Some((last, carried_out))) =
            (mark.reports.first(), mark.reports.last())
        {
            let years = if first == last {
                format!("{first}")
            } else {
                format!("{first}-{last}")
            };
            detail.push(format!(
                "annual reports {years} filed before{}",
                if *carried_out {
                    ""
                } else {
                    " (the last: 未开展业务)"
                }
            ));
            refresh_reported_through(tx, id)?;
        }
        if let Some((for_expires, on)) = mark.renewal {
            insert_renewal.execute(params![id, for_expires, on])?;
            refresh_renewal_mark(tx, id)?;
            cancel_obligation(tx, &keys::renewal(licence, for_expires), "renewal marked")?;
            detail.push(format!(
                "renewal for expiry {for_expires} applied for on {on}"
            ));
        }
        history(
            tx,
            stamp,
            Some(licence),
            "past",
            &format!("{} {via}", detail.join("; ")),
        )?;
    }

    let tally = |t: Tally| format!("{} added, {} updated", t.added, t.updated);
    history(
        tx,
        stamp,
        None,
        "import",
        &format!(
            "{source}: companies {}; licences {}; numbers {}",
            tally(plan.report.companies),
            tally(plan.report.licences),
            tally(plan.report.numbers)
        ),
    )?;
    Ok(())
}

/// The import's page cache: 64 MiB (negative: KiB, as SQLite reads it).
const IMPORT_CACHE_KIB: i64 = -64 * 1024;

impl Store {
    /// Imports `batch` (read from `source`, named in the history) in one
    /// transaction: all of it, or nothing and every problem found.
    /// `today` is the day facts must not be after, and bounds what can have
    /// been filed already. With `forecast`, the report also counts the
    /// obligations that will be overdue on `today` once the import is
    /// written, worked out inside the transaction, so a dry run shows it too
    /// and still writes nothing.
    pub fn import(
        &mut self,
        stamp: &Stamp,
        source: &str,
        batch: &Batch,
        mode: ImportMode,
        today: NaiveDate,
        forecast: Option<&Policy>,
    ) -> Result<ImportReport, ImportError> {
        // SQLite's default 2 MB page cache makes a large import read and
        // write the same index pages again and again (441k pwrite64 and
        // 396k pread64 for 100k licences, issue 14). Only the CLI imports,
        // in a process that ends after it, so the daemon keeps the default.
        self.conn
            .pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
        // Taken up front even for a dry run, so the plan reports what a real
        // run would find; dropping the transaction rolls it back. It borrows
        // the connection shared, so the due query can run inside it.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut plan = Plan::default();
        plan_companies(&tx, batch, &mut plan)?;
        let licences = plan_licences(&tx, batch, today, &mut plan)?;
        plan_numbers(&tx, batch, &licences, today, &mut plan)?;
        if !plan.problems.is_empty() {
            plan.problems.sort_by_key(|p| (p.row, p.field));
            return Err(ImportError::Rows(plan.problems));
        }
        let changes = !plan.report.changes.is_empty() || !plan.marks.is_empty();
        // A dry run writes too when it must forecast, and rolls back.
        if changes && (mode == ImportMode::Write || forecast.is_some()) {
            apply(&tx, stamp, source, today, &plan)?;
        }
        let mut report = plan.report;
        if let Some(policy) = forecast {
            report.overdue = self.overdue_on(today, policy)?;
        }
        if mode == ImportMode::Write && changes {
            tx.commit()?;
        }
        Ok(report)
    }

    /// The open obligations due before `today`, counted by kind and year.
    fn overdue_on(&self, today: NaiveDate, policy: &Policy) -> Result<Vec<Overdue>, StoreError> {
        let mut counts: BTreeMap<(i32, &str), Overdue> = BTreeMap::new();
        for obligation in self.obligations_due_by(today, today, policy)? {
            if obligation.due >= today {
                continue;
            }
            let year = obligation.year.unwrap_or(obligation.due.year());
            counts
                .entry((year, obligation.kind.code()))
                .or_insert(Overdue {
                    kind: obligation.kind,
                    year,
                    count: 0,
                })
                .count += 1;
        }
        Ok(counts.into_values().collect())
    }

    /// Each licence's [`Past`] as the register has it: the last year of the
    /// unbroken run of filed reports (and whether that report said
    /// 未开展业务), and the renewal of the current expiry if applied for.
    fn pasts(&self) -> Result<HashMap<i64, Past>, StoreError> {
        let mut pasts = HashMap::new();
        let mut statement = self.conn.prepare(
            "SELECT l.id, l.issued, l.last_day, l.reported_through,
                    (SELECT r.carried_out FROM annual_report r
                     WHERE r.licence_id = l.id AND r.year = min(l.reported_through, CAST(substr(l.last_day, 1, 4) AS INTEGER))),
                    (SELECT n.submitted_on FROM renewal n
                     WHERE n.licence_id = l.id AND n.for_expires = l.expires AND n.continuing = 1)
             FROM licence l",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, NaiveDate>(1)?,
                row.get::<_, NaiveDate>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, Option<bool>>(4)?,
                row.get::<_, Option<NaiveDate>>(5)?,
            ))
        })?;
        for row in rows {
            let (id, issued, last_day, through, carried_out, renewal_submitted) = row?;
            // 9999 means no report is owed any more: all were filed up to
            // the licence's last year.
            let through = i32::try_from(through.min(i64::from(last_day.year()))).ok();
            let reported_through = through.filter(|year| *year >= issued.year());
            pasts.insert(
                id,
                Past {
                    reported_through,
                    // Only a 未开展业务 is written out: 否 on every other row is noise.
                    last_not_carried_out: reported_through
                        .and(carried_out)
                        .filter(|carried_out| !carried_out)
                        .map(|_| true),
                    renewal_submitted,
                },
            );
        }
        Ok(pasts)
    }

    /// The whole register in the import format, ordered by company, licence
    /// and number so that two exports of the same register are identical.
    pub fn sheet_rows(&self) -> Result<Vec<SheetRow>, StoreError> {
        let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
        let mut statement = self
            .conn
            .prepare("SELECT company_id, email FROM company_email ORDER BY company_id, email")?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get(1)?)))?;
        for row in rows {
            let (company, email) = row?;
            emails.entry(company).or_default().push(email);
        }
        type Contact = (Option<String>, Option<String>);
        let companies: Vec<(Company, Contact)> = self
            .conn
            .prepare(
                "SELECT id, uscc, name, address, legal_rep, contact, phone FROM company ORDER BY name, uscc",
            )?
            .query_map([], |row| {
                Ok((
                    Company {
                        id: row.get(0)?,
                        uscc: parsed(row, 1)?,
                        name: row.get(2)?,
                        address: row.get(3)?,
                        legal_rep: row.get(4)?,
                        emails: vec![],
                        // Routes are the deployment's, not the client's data:
                        // the sheet does not carry them.
                        routes: vec![],
                    },
                    (row.get(5)?, row.get(6)?),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let pasts = self.pasts()?;
        let mut licences: BTreeMap<i64, Vec<Licence>> = BTreeMap::new();
        for licence in self.licences()? {
            licences
                .entry(licence.company_id)
                .or_default()
                .push(licence);
        }
        let mut numbers: HashMap<String, Vec<NumberRow>> = HashMap::new();
        for number in self.numbers(None)? {
            numbers
                .entry(number.licence.to_string())
                .or_default()
                .push(number);
        }
        let mut rows = Vec::new();
        for (mut company, (contact, phone)) in companies {
            company.emails = emails.remove(&company.id).unwrap_or_default();
            let row = |licence: Option<&Licence>, number: Option<NumberRow>| SheetRow {
                company: company.clone(),
                contact: contact.clone(),
                phone: phone.clone(),
                past: licence
                    .and_then(|l| pasts.get(&l.id).copied())
                    .unwrap_or_default(),
                licence: licence.cloned(),
                number,
            };
            let mut held = licences.remove(&company.id).unwrap_or_default();
            held.sort_by_key(|licence| licence.number.to_string());
            if held.is_empty() {
                rows.push(row(None, None));
            }
            for licence in held {
                let mut under = numbers
                    .remove(&licence.number.to_string())
                    .unwrap_or_default();
                under.sort_by_key(|n| (n.number.clone(), n.province));
                if under.is_empty() {
                    rows.push(row(Some(&licence), None));
                }
                for number in under {
                    rows.push(row(Some(&licence), Some(number)));
                }
            }
        }
        Ok(rows)
    }
}

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
            let number: LicenceNo = number.parse().map_err(|e| {
                StoreError::Refused(format!("licence {number} in the register: {e}"))
            })?;
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
