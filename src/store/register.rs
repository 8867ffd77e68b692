//! Reading and writing the register's rows.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::outbox::{cancel_obligation, cancel_prefix};
use super::{Result, Store, StoreError};
use crate::domain::change::ChangeKind;
use crate::domain::licence::{ItemCode, LicenceNo, Scope};
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::{
    LicenceFacts, NumberFacts, RenewalMark, ReportFiled, annual_report_owed, keys, last_day,
};
use crate::domain::province::Province;
use crate::domain::rules;
use crate::domain::uscc::Uscc;

/// Who changes the register, and when: every write leaves a history row.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The OS user (CLI) or the web account.
    pub user: String,
    pub at: DateTime<Utc>,
    pub source: Source,
    /// What the person gave as proof of the act, kept with its history row.
    pub evidence: Evidence,
}

impl Stamp {
    /// A change made from the command line by `user`, with no evidence.
    pub fn cli(user: String, at: DateTime<Utc>) -> Stamp {
        Stamp {
            user,
            at,
            source: Source::Cli,
            evidence: Evidence::default(),
        }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Cli,
    /// The web console, from this peer address (or the address a trusted
    /// proxy said).
    Web {
        address: String,
    },
}

/// The receipt or case number from the authority's system, and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub receipt: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: i64,
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    pub emails: Vec<String>,
    /// Config routes this company's alerts also go to.
    pub routes: Vec<String>,
}

/// Who holds a licence, as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub uscc: String,
    pub emails: Vec<String>,
    pub routes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CompanyUpdate {
    pub name: Option<String>,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    /// Replaces the contact list when given.
    pub emails: Option<Vec<String>>,
    /// Replaces the company's own routes when given.
    pub routes: Option<Vec<String>>,
    /// The day the company changed, for the filings it opens.
    pub changed_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct NewLicence {
    pub number: LicenceNo,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
    pub authority: String,
}

#[derive(Debug, Clone, Default)]
pub struct LicenceUpdate {
    pub items: Option<Vec<ItemCode>>,
    pub issued: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub authority: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub id: i64,
    pub number: LicenceNo,
    pub company_id: i64,
    pub company: String,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub authority: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
    Both,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Both => "both",
        }
    }
}

impl FromStr for Direction {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "inbound" | "呼入" => Ok(Direction::Inbound),
            "outbound" | "呼出" => Ok(Direction::Outbound),
            "both" | "双向" => Ok(Direction::Both),
            _ => Err(format!(
                "direction \"{text}\": unknown (accepted: inbound, outbound, both)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub id: i64,
    pub number: ServiceNumber,
    /// The allocating province of a 96 number.
    pub province: Option<Province>,
    pub licence: LicenceNo,
    pub allocated: NaiveDate,
    pub activated_on: Option<NaiveDate>,
    pub carrier: Option<String>,
    pub direction: Option<Direction>,
    pub released_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: i64,
    pub licence: LicenceNo,
    pub kind: ChangeKind,
    pub changed_on: NaiveDate,
    pub filed_on: Option<NaiveDate>,
}

/// A snooze: no reminders for `obligation` before `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnoozeRow {
    pub obligation: String,
    pub until: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub licence: Option<String>,
    pub action: String,
    pub detail: String,
    pub source: Source,
    pub evidence: Evidence,
}

/// Numbers, each with the id of its licence.
pub(super) type NumbersOf = Vec<(i64, NumberFacts)>;

/// Reads a column stored as text through the domain's parser. The store only
/// writes validated values, so a failure means the file was edited by hand.
pub(super) fn parsed<T: FromStr>(row: &Row, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text = row.get_ref(index)?.as_str()?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// A date column. The form the store writes (`YYYY-MM-DD`) is read by hand:
/// chrono's format parser was a tenth of the due query's instructions;
/// anything else goes to rusqlite's reading, and its error.
fn day_or_none(row: &Row, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
    if let rusqlite::types::ValueRef::Text(text) = row.get_ref(index)?
        && let Some(day) = iso_day(text)
    {
        return Ok(Some(day));
    }
    row.get(index)
}

fn day(row: &Row, index: usize) -> rusqlite::Result<NaiveDate> {
    match day_or_none(row, index)? {
        Some(day) => Ok(day),
        None => row.get(index),
    }
}

fn iso_day(text: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *<&[u8; 10]>::try_from(text).ok()? else {
        return None;
    };
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(&[y1, y2, y3, y4])?).ok()?,
        number(&[m1, m2])?,
        number(&[d1, d2])?,
    )
}

fn parsed_with<T>(
    row: &Row,
    index: usize,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, e.into()))
}

fn items_column(row: &Row, index: usize) -> rusqlite::Result<Vec<ItemCode>> {
    parsed_with(row, index, |text| {
        ItemCode::parse_list(text).map_err(|e| e.to_string())
    })
}

fn province_column(row: &Row, index: usize) -> rusqlite::Result<Option<Province>> {
    let text: Option<String> = row.get(index)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => Province::parse(text).map(Some).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                Type::Text,
                format!("unknown province {text}").into(),
            )
        }),
    }
}

const LICENCE_COLUMNS: &str = "l.id, l.number, l.company_id, c.name, c.uscc, l.items, l.issued, \
     l.expires, l.ended_on, l.end_reason, l.authority";

fn licence_row(row: &Row) -> rusqlite::Result<Licence> {
    Ok(Licence {
        id: row.get(0)?,
        number: parsed(row, 1)?,
        company_id: row.get(2)?,
        company: row.get(3)?,
        holder: parsed(row, 4)?,
        items: items_column(row, 5)?,
        issued: row.get(6)?,
        expires: row.get(7)?,
        ended_on: row.get(8)?,
        end_reason: row.get(9)?,
        authority: row.get(10)?,
    })
}

const NUMBER_COLUMNS: &str = "n.id, n.number, n.province, l.number, n.allocated, n.activated_on, \
     n.carrier, n.direction, n.released_on";

fn number_row(row: &Row) -> rusqlite::Result<NumberRow> {
    let direction: Option<String> = row.get(7)?;
    Ok(NumberRow {
        id: row.get(0)?,
        number: parsed(row, 1)?,
        province: province_column(row, 2)?,
        licence: parsed(row, 3)?,
        allocated: row.get(4)?,
        activated_on: row.get(5)?,
        carrier: row.get(6)?,
        direction: direction
            .map(|text| {
                text.parse().map_err(|e: String| {
                    rusqlite::Error::FromSqlConversionFailure(7, Type::Text, e.into())
                })
            })
            .transpose()?,
        released_on: row.get(8)?,
    })
}

fn change_row(row: &Row) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        id: row.get(0)?,
        licence: parsed(row, 1)?,
        kind: parsed(row, 2)?,
        changed_on: row.get(3)?,
        filed_on: row.get(4)?,
    })
}

pub(super) fn history(
    tx: &Transaction,
    stamp: &Stamp,
    licence: Option<&LicenceNo>,
    action: &str,
    detail: &str,
) -> Result<()> {
    history_row(
        tx,
        stamp,
        licence.map(|l| l.to_string()).as_deref(),
        action,
        detail,
    )
}

pub(super) fn history_row(
    tx: &Transaction,
    stamp: &Stamp,
    licence: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<()> {
    // Cached: an import writes one history row per row of its sheet.
    let (source, address) = match &stamp.source {
        Source::Cli => ("cli", None),
        Source::Web { address } => ("web", Some(address.as_str())),
    };
    tx.prepare_cached(
        "INSERT INTO history (at, os_user, licence, action, detail, source, address, receipt, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        stamp.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        stamp.user,
        licence,
        action,
        detail,
        source,
        address,
        stamp.evidence.receipt,
        stamp.evidence.note,
    ])?;
    Ok(())
}

/// A row count as SQLite's LIMIT takes it.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn history_entry(row: &Row) -> rusqlite::Result<HistoryRow> {
    let source: String = row.get(6)?;
    let address: Option<String> = row.get(7)?;
    Ok(HistoryRow {
        id: row.get(0)?,
        at: row.get(1)?,
        user: row.get(2)?,
        licence: row.get(3)?,
        action: row.get(4)?,
        detail: row.get(5)?,
        source: match source.as_str() {
            "web" => Source::Web {
                address: address.unwrap_or_default(),
            },
            _ => Source::Cli,
        },
        evidence: Evidence {
            receipt: row.get(8)?,
            note: row.get(9)?,
        },
    })
}

fn not_found(what: &'static str, value: impl ToString, hint: &str) -> StoreError {
    StoreError::NotFound {
        what,
        value: value.to_string(),
        hint: hint.to_owned(),
    }
}

/// Every annual report up to the returned business year is filed or not
/// owed; 9999 once no report is owed any more.
pub(super) fn reported_through(issued: NaiveDate, last_day: NaiveDate, filed: &[i32]) -> i64 {
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

pub(super) fn refresh_reported_through(tx: &Transaction, licence_id: i64) -> Result<()> {
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
pub(super) fn refresh_renewal_mark(tx: &Transaction, licence_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE licence SET renewal_mark = COALESCE(
             (SELECT 2 - r.continuing FROM renewal r
              WHERE r.licence_id = licence.id AND r.for_expires = licence.expires), 0)
         WHERE id = ?1",
        [licence_id],
    )?;
    Ok(())
}

fn company_emails(conn: &rusqlite::Connection, company_id: i64) -> Result<Vec<String>> {
    Ok(conn
        .prepare("SELECT email FROM company_email WHERE company_id = ?1 ORDER BY email")?
        .query_map([company_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn company_routes(conn: &rusqlite::Connection, company_id: i64) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT route FROM company_route WHERE company_id = ?1 ORDER BY route")?
        .query_map([company_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

pub(super) fn set_emails(tx: &Transaction, company_id: i64, emails: &[String]) -> Result<()> {
    tx.prepare_cached("DELETE FROM company_email WHERE company_id = ?1")?
        .execute([company_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO company_email (company_id, email) VALUES (?1, ?2)",
    )?;
    for email in emails {
        insert.execute(params![company_id, email])?;
    }
    Ok(())
}

/// Checks the shape of a contact address; delivery proves the rest.
pub fn check_email(email: &str) -> std::result::Result<String, String> {
    let email = email.trim();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email
        .chars()
        .any(|c| c.is_whitespace() || c == ',' || c == ';');
    if valid {
        Ok(email.to_owned())
    } else {
        Err(format!(
            "email \"{email}\": not an address (expected one address like compliance@example.com; repeat --email for more)"
        ))
    }
}

impl Store {
    pub fn add_company(
        &mut self,
        stamp: &Stamp,
        uscc: &Uscc,
        name: &str,
        emails: &[String],
    ) -> Result<Company> {
        let id = self.write(|tx| {
            let exists: Option<String> = tx
                .query_row(
                    "SELECT name FROM company WHERE uscc = ?1",
                    [uscc.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(existing) = exists {
                return Err(StoreError::AlreadyRegistered {
                    what: "company",
                    value: format!("{uscc} ({existing})"),
                });
            }
            tx.execute(
                "INSERT INTO company (uscc, name) VALUES (?1, ?2)",
                params![uscc.as_str(), name],
            )?;
            let id = tx.last_insert_rowid();
            set_emails(tx, id, emails)?;
            history(tx, stamp, None, "company add", &format!("{uscc} {name}"))?;
            Ok(id)
        })?;
        self.company_by_id(id)
    }

    fn company_by_id(&self, id: i64) -> Result<Company> {
        let mut company = self.conn.query_row(
            "SELECT id, uscc, name, address, legal_rep FROM company WHERE id = ?1",
            [id],
            |row| {
                Ok(Company {
                    id: row.get(0)?,
                    uscc: parsed(row, 1)?,
                    name: row.get(2)?,
                    address: row.get(3)?,
                    legal_rep: row.get(4)?,
                    emails: vec![],
                    routes: vec![],
                })
            },
        )?;
        company.emails = company_emails(&self.conn, id)?;
        company.routes = company_routes(&self.conn, id)?;
        Ok(company)
    }

    pub fn company(&self, uscc: &Uscc) -> Result<Company> {
        let id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM company WHERE uscc = ?1",
                [uscc.as_str()],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                not_found(
                    "company",
                    uscc,
                    " (add it with: licwatch company add --uscc CODE --name NAME)",
                )
            })?;
        self.company_by_id(id)
    }

    pub fn companies(&self) -> Result<Vec<Company>> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM company ORDER BY name, uscc")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|id| self.company_by_id(id)).collect()
    }

    /// Updates a company. A new name, registered address or legal
    /// representative is a change the authority must be told of: it records a
    /// change (and so a filing obligation) on each of the company's live
    /// licences, returned here.
    pub fn update_company(
        &mut self,
        stamp: &Stamp,
        uscc: &Uscc,
        update: &CompanyUpdate,
    ) -> Result<(Company, Vec<ChangeRow>)> {
        let company = self.company(uscc)?;
        let change_ids = self.write(|tx| {
            let mut kinds = Vec::new();
            let mut detail = Vec::new();
            let fields = [
                ("name", ChangeKind::Name, &update.name, Some(company.name.clone())),
                ("address", ChangeKind::Address, &update.address, company.address.clone()),
                ("legal_rep", ChangeKind::LegalRep, &update.legal_rep, company.legal_rep.clone()),
            ];
            for (column, kind, new, old) in fields {
                let Some(new) = new else { continue };
                if old.as_deref() == Some(new.as_str()) {
                    continue;
                }
                tx.execute(
                    &format!("UPDATE company SET {column} = ?1 WHERE id = ?2"),
                    params![new, company.id],
                )?;
                detail.push(format!("{column}: {} -> {new}", old.as_deref().unwrap_or("(none)")));
                // The first recorded address or legal representative is data
                // entry, not a change of the company.
                if old.is_some() {
                    kinds.push(kind);
                }
            }
            if let Some(emails) = &update.emails {
                set_emails(tx, company.id, emails)?;
                detail.push(format!("emails: {}", emails.join(", ")));
            }
            if let Some(routes) = &update.routes {
                tx.execute("DELETE FROM company_route WHERE company_id = ?1", [company.id])?;
                for route in routes {
                    tx.execute(
                        "INSERT OR IGNORE INTO company_route (company_id, route) VALUES (?1, ?2)",
                        params![company.id, route],
                    )?;
                }
                detail.push(format!("routes: {}", routes.join(", ")));
            }
            let mut change_ids = Vec::new();
            if !kinds.is_empty() {
                let licences: Vec<(i64, LicenceNo)> = tx
                    .prepare(
                        "SELECT id, number FROM licence WHERE company_id = ?1 AND last_day >= ?2 ORDER BY number",
                    )?
                    .query_map(params![company.id, update.changed_on], |row| Ok((row.get(0)?, parsed(row, 1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (licence_id, licence) in licences {
                    for kind in &kinds {
                        tx.execute(
                            "INSERT INTO company_change (licence_id, kind, changed_on) VALUES (?1, ?2, ?3)",
                            params![licence_id, kind.code(), update.changed_on],
                        )?;
                        let change_id = tx.last_insert_rowid();
                        change_ids.push(change_id);
                        let detail = format!("#{change_id} {} on {}", kind.code(), update.changed_on);
                        history(tx, stamp, Some(&licence), "change record", &detail)?;
                    }
                }
            }
            if !detail.is_empty() {
                history(tx, stamp, None, "company update", &format!("{uscc} {}", detail.join("; ")))?;
            }
            Ok(change_ids)
        })?;
        let changes = change_ids
            .into_iter()
            .map(|id| self.change(id))
            .collect::<Result<_>>()?;
        Ok((self.company(uscc)?, changes))
    }

    /// Adds a licence; its dates and authority must obey the rules (the
    /// authority follows the scope: an empty one is filled in).
    pub fn add_licence(&mut self, stamp: &Stamp, new: &NewLicence) -> Result<Licence> {
        rules::licence_dates(&new.number, new.issued, new.expires, None)?;
        let authority = rules::authority(&new.number, Some(&new.authority))?;
        let company = self.company(&new.holder)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM licence WHERE number = ?1)",
                [new.number.to_string()],
                |row| row.get(0),
            )?;
            if exists {
                return Err(StoreError::AlreadyRegistered {
                    what: "licence",
                    value: new.number.to_string(),
                });
            }
            let (scope, province) = match new.number.scope() {
                Scope::Nationwide => ("nationwide", None),
                Scope::Provincial(province) => ("provincial", Some(province.abbreviation().to_string())),
            };
            tx.execute(
                "INSERT INTO licence (number, company_id, scope, province, items, issued, expires, authority, reported_through)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
                params![
                    new.number.to_string(),
                    company.id,
                    scope,
                    province,
                    ItemCode::join(&new.items),
                    new.issued,
                    new.expires,
                    authority
                ],
            )?;
            refresh_reported_through(tx, tx.last_insert_rowid())?;
            history(
                tx,
                stamp,
                Some(&new.number),
                "licence add",
                &format!(
                    "holder {} items {} issued {} expires {} authority {}",
                    new.holder,
                    ItemCode::join(&new.items),
                    new.issued,
                    new.expires,
                    authority
                ),
            )
        })?;
        self.licence(&new.number)
    }

    pub fn licence(&self, number: &LicenceNo) -> Result<Licence> {
        self.conn
            .query_row(
                &format!("SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id WHERE l.number = ?1"),
                [number.to_string()],
                licence_row,
            )
            .optional()?
            .ok_or_else(|| not_found("licence", number, " (list them with: licwatch licence list)"))
    }

    pub fn licences(&self) -> Result<Vec<Licence>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id ORDER BY l.expires, l.number"
            ))?
            .query_map([], licence_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn update_licence(
        &mut self,
        stamp: &Stamp,
        number: &LicenceNo,
        update: &LicenceUpdate,
    ) -> Result<Licence> {
        let current = self.licence(number)?;
        let issued = update.issued.unwrap_or(current.issued);
        let expires = update.expires.unwrap_or(current.expires);
        // A later expiry with the issue date kept is a renewal: its term runs
        // from the day after the old expiry.
        // With the issue date kept, a new expiry may be a renewal's: its term
        // may run from the day after the current expiry.
        let renewed_from = update.issued.is_none().then_some(current.expires);
        rules::licence_dates(number, issued, expires, renewed_from)?;
        let authority = update
            .authority
            .as_deref()
            .map(|given| rules::authority(number, Some(given)))
            .transpose()?;
        if let Some(items) = &update.items {
            ItemCode::check_covered(items, number)
                .map_err(|e| StoreError::Refused(e.to_string()))?;
        }
        self.write(|tx| {
            let mut detail = Vec::new();
            if let Some(items) = &update.items {
                tx.execute(
                    "UPDATE licence SET items = ?1 WHERE id = ?2",
                    params![ItemCode::join(items), current.id],
                )?;
                detail.push(format!(
                    "items {} -> {}",
                    ItemCode::join(&current.items),
                    ItemCode::join(items)
                ));
            }
            if update.issued.is_some() || update.expires.is_some() {
                tx.execute(
                    "UPDATE licence SET issued = ?1, expires = ?2 WHERE id = ?3",
                    params![issued, expires, current.id],
                )?;
                detail.push(format!(
                    "issued {} -> {issued}, expires {} -> {expires}",
                    current.issued, current.expires
                ));
            }
            if let Some(authority) = &authority {
                tx.execute(
                    "UPDATE licence SET authority = ?1 WHERE id = ?2",
                    params![authority, current.id],
                )?;
                detail.push(format!("authority {} -> {authority}", current.authority));
            }
            refresh_reported_through(tx, current.id)?;
            refresh_renewal_mark(tx, current.id)?;
            if current.expires != expires {
                cancel_obligation(
                    tx,
                    &keys::renewal(number, current.expires),
                    "expiry changed",
                )?;
            }
            history(
                tx,
                stamp,
                Some(number),
                "licence update",
                &detail.join("; "),
            )
        })?;
        self.licence(number)
    }

    pub fn end_licence(
        &mut self,
        stamp: &Stamp,
        number: &LicenceNo,
        on: NaiveDate,
        reason: &str,
    ) -> Result<Licence> {
        let current = self.licence(number)?;
        if let Some(ended) = current.ended_on {
            return Err(StoreError::Refused(format!(
                "licence {number} already ended on {ended}"
            )));
        }
        rules::end_date(number, current.issued, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE licence SET ended_on = ?1, end_reason = ?2 WHERE id = ?3",
                params![on, reason, current.id],
            )?;
            cancel_obligation(tx, &keys::renewal(number, current.expires), "licence ended")?;
            refresh_reported_through(tx, current.id)?;
            history(
                tx,
                stamp,
                Some(number),
                "licence end",
                &format!("on {on}: {reason}"),
            )
        })?;
        self.licence(number)
    }

    /// Adds a number under a licence valid on the allocation day and today
    /// (先证后号). A 96 number is provincial: it takes the province of a 地网
    /// licence, and must name one under a 全网 licence.
    pub fn add_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        licence: &LicenceNo,
        allocated: NaiveDate,
        today: NaiveDate,
    ) -> Result<NumberRow> {
        let holder = self.licence(licence)?;
        let last_day = last_day(holder.expires, holder.ended_on);
        rules::not_after_today(rules::RuleField::Allocated, allocated, today)?;
        let province = rules::number_province(number, licence, province)?;
        rules::licence_still_valid(number, licence, last_day, today)?;
        rules::number_under_licence(
            number,
            licence,
            &holder.items,
            holder.issued,
            last_day,
            allocated,
        )?;
        let province_text = province
            .map(|p| p.abbreviation().to_string())
            .unwrap_or_default();
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM number WHERE province = ?1 AND number = ?2)",
                params![province_text, number.as_str()],
                |row| row.get(0),
            )?;
            if exists {
                return Err(StoreError::AlreadyRegistered {
                    what: "number",
                    value: match province {
                        Some(p) => format!("{number} ({})", p.name()),
                        None => number.to_string(),
                    },
                });
            }
            tx.execute(
                "INSERT INTO number (number, province, licence_id, allocated) VALUES (?1, ?2, ?3, ?4)",
                params![number.as_str(), province_text, holder.id, allocated],
            )?;
            history(tx, stamp, Some(licence), "number add", &format!("{number}{} allocated {allocated}", province.map(|p| format!(" ({})", p.name())).unwrap_or_default()))
        })?;
        self.number(number, province)
    }

    /// Finds a number; a 96 number held in several provinces needs one named.
    pub fn number(&self, number: &ServiceNumber, province: Option<Province>) -> Result<NumberRow> {
        let mut rows: Vec<NumberRow> = self
            .conn
            .prepare(&format!(
                "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id WHERE n.number = ?1 ORDER BY n.province"
            ))?
            .query_map([number.as_str()], number_row)?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(province) = province {
            rows.retain(|row| row.province == Some(province));
        }
        match rows.len() {
            0 => Err(not_found(
                "number",
                number,
                " (list them with: licwatch number list)",
            )),
            1 => Ok(rows.remove(0)),
            _ => Err(StoreError::Refused(format!(
                "number {number} is registered in {}: add --province to say which",
                rows.iter()
                    .filter_map(|row| row.province.map(|p| p.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub fn numbers(&self, licence: Option<&LicenceNo>) -> Result<Vec<NumberRow>> {
        let filter = licence.map(|l| l.to_string());
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
                 WHERE ?1 IS NULL OR l.number = ?1 ORDER BY l.number, n.number, n.province"
            ))?
            .query_map([filter], number_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A number still held, for a change dated `on`.
    fn held_number(
        &self,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
    ) -> Result<NumberRow> {
        let row = self.number(number, province)?;
        if let Some(released) = row.released_on {
            return Err(StoreError::Refused(format!(
                "number {number} was released on {released}"
            )));
        }
        if on < row.allocated {
            return Err(StoreError::Refused(format!(
                "--on {on} is before the number was allocated ({})",
                row.allocated
            )));
        }
        Ok(row)
    }

    pub fn activate_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
        carrier: &str,
        direction: Direction,
    ) -> Result<NumberRow> {
        let row = self.held_number(number, province, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE number SET activated_on = ?1, carrier = ?2, direction = ?3 WHERE id = ?4",
                params![on, carrier, direction.code(), row.id],
            )?;
            cancel_obligation(
                tx,
                &keys::number_activation(&row.licence, number, row.allocated),
                "number activated",
            )?;
            history(
                tx,
                stamp,
                Some(&row.licence),
                "number activate",
                &format!("{number} on {on} via {carrier}, {}", direction.code()),
            )
        })?;
        self.number(number, row.province)
    }

    pub fn release_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
    ) -> Result<NumberRow> {
        let row = self.held_number(number, province, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE number SET released_on = ?1 WHERE id = ?2",
                params![on, row.id],
            )?;
            cancel_obligation(
                tx,
                &keys::number_activation(&row.licence, number, row.allocated),
                "number released",
            )?;
            cancel_prefix(
                tx,
                &keys::number_outlives_prefix(&row.licence, number),
                "number released",
            )?;
            history(
                tx,
                stamp,
                Some(&row.licence),
                "number release",
                &format!("{number} on {on}"),
            )
        })?;
        self.number(number, row.province)
    }

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
            .ok_or_else(|| {
                not_found(
                    "change",
                    format!("#{id}"),
                    " (see the ids in: licwatch agenda)",
                )
            })
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
            return Err(StoreError::Refused(format!(
                "change #{id} was already filed on {filed}"
            )));
        }
        if on < change.changed_on {
            return Err(StoreError::Refused(format!(
                "--on {on} is before the change itself ({})",
                change.changed_on
            )));
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
                return Err(StoreError::Refused(format!(
                    "the renewal of {licence} (expiring {}) was already marked on {submitted}; when the new licence arrives, record it with: licwatch licence update {licence} --expires DATE",
                    holder.expires
                )));
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
        if year < holder.issued.year() || year > last_day.year() {
            return Err(StoreError::Refused(format!(
                "--year {year}: licence {licence} was not valid that year ({} to {last_day}); --year is the business year reported on",
                holder.issued
            )));
        }
        rules::report_filed_on(year, on)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM annual_report WHERE licence_id = ?1 AND year = ?2)",
                params![holder.id, year],
                |row| row.get(0),
            )?;
            if exists {
                return Err(StoreError::AlreadyRegistered {
                    what: "annual report",
                    value: format!("{year} of {licence}"),
                });
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
            .ok_or_else(|| {
                StoreError::Refused(format!(
                    "obligation {obligation}: not snoozed (see licwatch snooze list)"
                ))
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

    pub fn history(&self, licence: Option<&LicenceNo>) -> Result<Vec<HistoryRow>> {
        let filter = licence.map(|l| l.to_string());
        Ok(self
            .conn
            .prepare(
                "SELECT id, at, os_user, licence, action, detail, source, address, receipt, note
                 FROM history WHERE ?1 IS NULL OR licence = ?1 ORDER BY id",
            )?
            .query_map([filter], history_entry)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Companies whose code, name, address or legal representative
    /// contains `text` (any, when empty), at most `limit`, by name.
    pub fn search_companies(&self, text: &str, limit: usize) -> Result<Vec<Company>> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "SELECT id FROM company
                 WHERE ?1 = '' OR instr(lower(uscc), ?1) OR instr(lower(name), ?1)
                    OR instr(lower(coalesce(address, '')), ?1) OR instr(lower(coalesce(legal_rep, '')), ?1)
                 ORDER BY name, uscc LIMIT ?2",
            )?
            .query_map(params![text.to_lowercase(), limit_param(limit)], |row| {
                row.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|id| self.company_by_id(id)).collect()
    }

    /// Licences whose number, holder's name or code, or authority contains
    /// `text` (any, when empty), at most `limit`, soonest expiry first.
    pub fn search_licences(&self, text: &str, limit: usize) -> Result<Vec<Licence>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id
                 WHERE ?1 = '' OR instr(lower(l.number), ?1) OR instr(lower(c.name), ?1)
                    OR instr(lower(c.uscc), ?1) OR instr(lower(l.authority), ?1)
                 ORDER BY l.expires, l.number LIMIT ?2"
            ))?
            .query_map(
                params![text.to_lowercase(), limit_param(limit)],
                licence_row,
            )?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Numbers whose digits or licence number contain `text` (any, when
    /// empty), at most `limit`.
    pub fn search_numbers(&self, text: &str, limit: usize) -> Result<Vec<NumberRow>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
                 WHERE ?1 = '' OR instr(n.number, ?1) OR instr(lower(l.number), ?1)
                 ORDER BY l.number, n.number, n.province LIMIT ?2"
            ))?
            .query_map(params![text.to_lowercase(), limit_param(limit)], number_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The newest `limit` history rows, newest first: a page, not the
    /// whole trail (an import writes a row per sheet row).
    pub fn history_latest(
        &self,
        licence: Option<&LicenceNo>,
        limit: usize,
    ) -> Result<Vec<HistoryRow>> {
        let filter = licence.map(|l| l.to_string());
        Ok(self
            .conn
            .prepare(
                "SELECT id, at, os_user, licence, action, detail, source, address, receipt, note
                 FROM history WHERE ?1 IS NULL OR licence = ?1 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![filter, limit_param(limit)], history_entry)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Every route some company names as its own.
    pub fn company_route_names(&self) -> Result<std::collections::BTreeSet<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT DISTINCT route FROM company_route")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The holders of these licences (by licence number), for routing.
    pub fn holders(&self, licences: &[String]) -> Result<HashMap<String, Holder>> {
        let numbers = serde_json::to_string(licences).expect("strings serialise");
        let rows: Vec<(String, i64, String)> = self
            .conn
            .prepare_cached(
                "SELECT l.number, c.id, c.uscc FROM json_each(?1) j
                 JOIN licence l ON l.number = j.value JOIN company c ON c.id = l.company_id",
            )?
            .query_map([numbers], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // The companies' addresses and routes with one query each, not two
        // a licence: a first tick names hundreds of thousands of licences.
        let companies: std::collections::BTreeSet<i64> =
            rows.iter().map(|(_, company_id, _)| *company_id).collect();
        let companies = serde_json::to_string(&companies).expect("integers serialise");
        let of_companies = |sql: &str| -> Result<HashMap<i64, Vec<String>>> {
            let mut found: HashMap<i64, Vec<String>> = HashMap::new();
            let mut statement = self.conn.prepare_cached(sql)?;
            for row in statement.query_map([&companies], |row| Ok((row.get(0)?, row.get(1)?)))? {
                let (company_id, value) = row?;
                found.entry(company_id).or_default().push(value);
            }
            Ok(found)
        };
        let emails = of_companies(
            "SELECT company_id, email FROM company_email
             WHERE company_id IN (SELECT value FROM json_each(?1)) ORDER BY company_id, email",
        )?;
        let routes = of_companies(
            "SELECT company_id, route FROM company_route
             WHERE company_id IN (SELECT value FROM json_each(?1)) ORDER BY company_id, route",
        )?;
        Ok(rows
            .into_iter()
            .map(|(licence, company_id, uscc)| {
                let holder = Holder {
                    uscc,
                    emails: emails.get(&company_id).cloned().unwrap_or_default(),
                    routes: routes.get(&company_id).cloned().unwrap_or_default(),
                };
                (licence, holder)
            })
            .collect())
    }

    /// What the rules need to know of the licences with these ids. The ids
    /// go in as one JSON array so that a large batch costs three statements,
    /// not three per licence.
    /// The licences with these ids; a row that cannot be read (edited by
    /// hand) is listed apart with its error, so that it does not stop the
    /// others being read.
    pub(super) fn licence_facts(
        &self,
        ids: &[i64],
    ) -> Result<(HashMap<i64, LicenceFacts>, Vec<super::Unreadable>)> {
        let ids_json = serde_json::to_string(ids).expect("a list of integers serialises");
        let read: Vec<(i64, rusqlite::Result<LicenceFacts>)> = self
            .conn
            .prepare_cached(
                "SELECT l.id, l.number, c.name, l.authority, l.issued, l.expires, l.ended_on,
                        r.submitted_on, r.continuing
                 FROM licence l
                 JOIN company c ON c.id = l.company_id
                 LEFT JOIN renewal r ON r.licence_id = l.id AND r.for_expires = l.expires
                 WHERE l.id IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([&ids_json], |row| {
                let facts = || {
                    let submitted_on: Option<NaiveDate> = day_or_none(row, 7)?;
                    let continuing: Option<bool> = row.get(8)?;
                    Ok(LicenceFacts {
                        licence: parsed(row, 1)?,
                        company: row.get(2)?,
                        authority: row.get(3)?,
                        issued: day(row, 4)?,
                        expires: day(row, 5)?,
                        ended_on: day_or_none(row, 6)?,
                        renewal: submitted_on
                            .zip(continuing)
                            .map(|(on, continuing)| RenewalMark { on, continuing }),
                        reports: vec![],
                    })
                };
                Ok((row.get(0)?, facts()))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut facts: HashMap<i64, LicenceFacts> = HashMap::new();
        let mut unreadable = Vec::new();
        for (id, read) in read {
            match read {
                Ok(licence) => {
                    facts.insert(id, licence);
                }
                Err(error) => unreadable.push(super::Unreadable {
                    table: "licence",
                    id,
                    error: error.to_string(),
                }),
            }
        }
        let mut reports = self.conn.prepare_cached(
            "SELECT licence_id, year, carried_out FROM annual_report
             WHERE licence_id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = reports.query_map([&ids_json], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                ReportFiled {
                    year: row.get(1)?,
                    carried_out: row.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (licence_id, report) = row?;
            if let Some(licence) = facts.get_mut(&licence_id) {
                licence.reports.push(report);
            }
        }
        Ok((facts, unreadable))
    }

    /// The numbers with these ids, each with its licence's id; rows that
    /// cannot be read are listed apart, as in `licence_facts`.
    pub(super) fn number_facts(&self, ids: &[i64]) -> Result<(NumbersOf, Vec<super::Unreadable>)> {
        let ids_json = serde_json::to_string(ids).expect("a list of integers serialises");
        let read: Vec<(i64, rusqlite::Result<(i64, NumberFacts)>)> = self
            .conn
            .prepare_cached(
                "SELECT id, licence_id, number, allocated, activated_on, released_on, province
                 FROM number WHERE id IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([&ids_json], |row| {
                let facts = || {
                    Ok((
                        row.get(1)?,
                        NumberFacts {
                            number: parsed(row, 2)?,
                            allocated: day(row, 3)?,
                            activated_on: day_or_none(row, 4)?,
                            released_on: day_or_none(row, 5)?,
                            province: province_column(row, 6)?,
                        },
                    ))
                };
                Ok((row.get(0)?, facts()))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut numbers = Vec::new();
        let mut unreadable = Vec::new();
        for (id, read) in read {
            match read {
                Ok(number) => numbers.push(number),
                Err(error) => unreadable.push(super::Unreadable {
                    table: "number",
                    id,
                    error: error.to_string(),
                }),
            }
        }
        Ok((numbers, unreadable))
    }

    pub(super) fn conn(&self) -> &rusqlite::Connection {
        &self.conn
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

    #[test]
    fn emails_are_checked_for_shape() {
        assert_eq!(check_email(" ops@example.cn ").unwrap(), "ops@example.cn");
        for bad in [
            "ops",
            "ops@",
            "@example.cn",
            "ops@example",
            "a@b.cn,c@d.cn",
            "a b@c.cn",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
