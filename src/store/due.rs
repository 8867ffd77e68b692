//! Which obligations are open: candidate rows found through indexes, then
//! the domain's rules decide. The queries over-approximate (a licence ended
//! early still has an expiry in range); the rules are exact.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Days, Months, NaiveDate};
use rusqlite::params;

use super::register::Reports;
use super::renewal_mark::{renewal_mark_applied, renewal_mark_none};
use super::{Result, Store};
use crate::domain::change::ChangeKind;
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::{
    Obligation, ObligationKind, annual_report_window, change_obligation, first_report_year_chased,
    last_report_year_due, licence_obligations, licence_obligations_due_by, number_obligations,
    number_obligations_due_by,
};
use crate::domain::policy::Policy;

pub(super) mod slices;
#[cfg(test)]
mod tests;

/// The candidate queries, named so that a test can check each one's plan:
/// they must find rows through an index, never by scanning a table whose
/// size is the register's. Each reads a range of its index, from a lower
/// bound (the earliest possible, or a slice's first day, see
/// [`Store::due_slices`]) to an upper one.
///
/// Renewals open are read by `last_day`, which is the expiry while a
/// licence has not ended: the index licences ending are read through.
const RENEWALS_OPEN: &str = concat!(
    "SELECT id FROM licence WHERE last_day BETWEEN ?1 AND ?2 AND ended_on IS NULL AND renewal_mark = ",
    renewal_mark_none!()
);
const REPORTS_OPEN: &str = "SELECT id FROM licence WHERE reported_through < ?1";
const CHANGES_UNFILED: &str = "SELECT licence_id, id, kind, changed_on FROM company_change
     WHERE filed_on IS NULL AND changed_on BETWEEN ?1 AND ?2";
const NUMBERS_AWAITING: &str =
    "SELECT id FROM number WHERE activated_on IS NULL AND allocated BETWEEN ?1 AND ?2
       AND (released_on IS NULL OR released_on > ?3)";
/// Numbers still held on `today` under licences ending by `until`: ended,
/// or not being renewed, or renewing but past expiry. `UNION ALL`, not
/// `UNION`: SQLite plans a `UNION` as a merge that scans the whole number
/// table twice, and the caller removes duplicates anyway.
const NUMBERS_OUTLIVING: &str = concat!(
    "SELECT n.id FROM licence l JOIN number n ON n.licence_id = l.id
     WHERE l.last_day BETWEEN ?4 AND ?1 AND (l.ended_on IS NOT NULL OR l.renewal_mark <> ",
    renewal_mark_applied!(),
    ")
       AND (n.released_on IS NULL OR n.released_on > ?2)
     UNION ALL
     SELECT n.id FROM licence l JOIN number n ON n.licence_id = l.id
     WHERE l.expires >= ?4 AND l.expires < ?3 AND l.ended_on IS NULL AND l.renewal_mark = ",
    renewal_mark_applied!(),
    "
       AND (n.released_on IS NULL OR n.released_on > ?2)"
);

/// The last due day read, per kind of obligation. The agenda reads every
/// kind up to one day; the tick reads each kind only as far ahead as that
/// kind's earliest stage reaches, so that the annual reports of the whole
/// register are not read in November for a first stage on 1 January.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    pub renewal: NaiveDate,
    pub annual_report: NaiveDate,
    pub change_filing: NaiveDate,
    pub number_activation: NaiveDate,
    pub number_outlives_licence: NaiveDate,
}

impl DueWindow {
    /// Every kind up to `until`.
    pub fn uniform(until: NaiveDate) -> DueWindow {
        DueWindow {
            renewal: until,
            annual_report: until,
            change_filing: until,
            number_activation: until,
            number_outlives_licence: until,
        }
    }

    pub fn of(&self, kind: ObligationKind) -> NaiveDate {
        match kind {
            ObligationKind::Renewal => self.renewal,
            ObligationKind::AnnualReport => self.annual_report,
            ObligationKind::ChangeFiling => self.change_filing,
            ObligationKind::NumberActivation => self.number_activation,
            ObligationKind::NumberOutlivesLicence => self.number_outlives_licence,
        }
    }
}

fn ids(store: &Store, sql: &str, param: impl rusqlite::ToSql) -> Result<Vec<i64>> {
    Ok(store
        .conn()
        .prepare_cached(sql)?
        .query_map([param], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A register row that could not be read (edited by hand, or written by
/// another program): set aside, so that the rest is still read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The table: licence, number, company_change.
    pub table: &'static str,
    pub id: i64,
    pub error: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row #{} cannot be read and is set aside: {}",
            self.table, self.id, self.error
        )
    }
}

/// The open obligations of some licences, and those that cannot be read
/// (by licence number).
#[derive(Debug, Clone, Default)]
pub struct OpenOf {
    pub obligations: Vec<Obligation>,
    pub unreadable: HashMap<String, Unreadable>,
}

/// An unfiled change: its licence's id, its id, its kind as stored, the
/// day it happened.
type Change = (i64, i64, String, NaiveDate);

/// The rows a due query found, by id: what [`Store::due_of`] reads, all at
/// once or in batches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates {
    licences: Vec<i64>,
    changes: Vec<Change>,
    numbers: Vec<i64>,
}

impl Candidates {
    /// How many rows were found.
    pub fn len(&self) -> usize {
        self.licences.len() + self.changes.len() + self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The candidates in batches of at most `size` rows (licences, then
    /// changes, then numbers).
    pub fn batches(self, size: usize) -> impl Iterator<Item = Candidates> {
        let size = size.max(1);
        let licences = chunks(self.licences, size).map(|licences| Candidates {
            licences,
            ..Candidates::default()
        });
        let changes = chunks(self.changes, size).map(|changes| Candidates {
            changes,
            ..Candidates::default()
        });
        let numbers = chunks(self.numbers, size).map(|numbers| Candidates {
            numbers,
            ..Candidates::default()
        });
        licences.chain(changes).chain(numbers)
    }
}

fn chunks<T>(items: Vec<T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.into_iter();
    std::iter::from_fn(move || {
        let chunk: Vec<T> = items.by_ref().take(size).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// The open obligations due by a day, and the rows that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Due {
    pub obligations: Vec<Obligation>,
    pub unreadable: Vec<Unreadable>,
}

/// The obligations, or a refusal naming the first row that cannot be read.
fn refuse_unreadable(due: Due) -> Result<Vec<Obligation>> {
    match due.unreadable.first() {
        Some(row) => Err(super::Refusal::Unreadable(row.clone()).into()),
        None => Ok(due.obligations),
    }
}

/// The earliest expiry whose renewal falls due on or after `from`.
fn renewal_expiry_from(from: NaiveDate, policy: &Policy) -> NaiveDate {
    from.checked_add_days(Days::new(policy.renewal_lead_days.unsigned_abs()))
        .unwrap_or(NaiveDate::MAX)
}

/// The earliest change day whose filing falls due on or after `from`.
fn changed_from(from: NaiveDate, policy: &Policy) -> NaiveDate {
    from.checked_sub_days(Days::new(policy.change_filing_days.unsigned_abs()))
        .unwrap_or(NaiveDate::MIN)
}

/// An allocation day before which no number's activation falls due on or
/// after `from`. Months clamp (31 August + 6 months = 28 February), but
/// only downwards: a day before `from` less the months is in an earlier
/// month than it, or in the same month on an earlier day, and so falls due
/// before `from` (checked day by day in the tests).
fn allocated_from(from: NaiveDate, policy: &Policy) -> NaiveDate {
    from.checked_sub_months(Months::new(policy.activation_months))
        .unwrap_or(NaiveDate::MIN)
}

/// An allocation day after which no number's activation falls due by
/// `until`: month arithmetic clamps (31 August + 6 months = 28 February),
/// so three days more, and the rule decides.
fn allocated_until(until: NaiveDate, policy: &Policy) -> NaiveDate {
    until
        .checked_sub_months(Months::new(policy.activation_months))
        .unwrap_or(NaiveDate::MIN)
        + Days::new(3)
}

impl Store {
    /// The obligations [`Store::obligations_due_by`] gives, handed to `f`
    /// a batch of at most `batch` candidate rows at a time, in no order
    /// across batches: for counts over a long window, whose memory must
    /// not follow the window. Each licence's facts are read once, where
    /// [`Store::due_slices`] reads them again in each slice the licence
    /// has something due in (every year's annual report). Refused, at the
    /// batch, if a row it needs cannot be read.
    pub fn each_due_batch<E: From<super::StoreError>>(
        &self,
        until: NaiveDate,
        today: NaiveDate,
        policy: &Policy,
        batch: usize,
        mut f: impl FnMut(Vec<Obligation>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let window = DueWindow::uniform(until);
        for candidates in self.due_candidates(&window, today, policy)?.batches(batch) {
            f(refuse_unreadable(self.due_of(
                &candidates,
                &window,
                today,
                policy,
            )?)?)?;
        }
        Ok(())
    }

    /// Every open obligation due on or before `until`, overdue ones included,
    /// as the rules see them on `today`; soonest first. Refused if any row
    /// it needs cannot be read (see [`Store::due_by`] to go on without it).
    pub fn obligations_due_by(
        &self,
        until: NaiveDate,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Vec<Obligation>> {
        refuse_unreadable(self.due_within(&DueWindow::uniform(until), today, policy)?)
    }

    /// Every open obligation due on or before its kind's day in `window`,
    /// overdue ones included, as the rules see them on `today`, soonest
    /// first; the rows that cannot be read are set aside and listed: one
    /// bad row must not stop the daemon's tick. The cost follows the number
    /// of candidates, not the size of the register.
    pub fn due_within(&self, window: &DueWindow, today: NaiveDate, policy: &Policy) -> Result<Due> {
        let candidates = self.due_candidates(window, today, policy)?;
        self.due_of(&candidates, window, today, policy)
    }

    /// The rows that may hold an obligation due within `window`, found
    /// through indexes: ids only, a few bytes each, so that a caller can
    /// read a large backlog's obligations in bounded batches
    /// ([`Candidates::batches`], [`Store::due_of`]).
    pub fn due_candidates(
        &self,
        window: &DueWindow,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Candidates> {
        self.candidates_between(NaiveDate::MIN, window, today, policy)
    }

    /// The rows that may hold an obligation due from `from` to its kind's
    /// day in `window`: a superset (the bounds are the rules' due days
    /// worked back to the indexed columns, with room where months clamp;
    /// `due_of` and the rules decide).
    fn candidates_between(
        &self,
        from: NaiveDate,
        window: &DueWindow,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Candidates> {
        let renewal_expiry_limit =
            window.renewal + Days::new(policy.renewal_lead_days.unsigned_abs());
        let mut licence_ids: BTreeSet<i64> = BTreeSet::new();
        licence_ids.extend(
            self.conn()
                .prepare_cached(RENEWALS_OPEN)?
                .query_map(
                    params![renewal_expiry_from(from, policy), renewal_expiry_limit],
                    |row| row.get::<_, i64>(0),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
        // Only if a report chased on `today` falls due between `from` and
        // the window's day.
        let last_year = last_report_year_due(window.annual_report).min(today.year());
        if last_year >= first_report_year_chased(today, policy)
            && annual_report_window(last_year).1 >= from
        {
            licence_ids.extend(ids(
                self,
                REPORTS_OPEN,
                last_report_year_due(window.annual_report),
            )?);
        }

        let change_limit =
            window.change_filing - Days::new(policy.change_filing_days.unsigned_abs());
        let changes: Vec<Change> = self
            .conn()
            .prepare_cached(CHANGES_UNFILED)?
            .query_map(params![changed_from(from, policy), change_limit], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;

        let mut number_ids: BTreeSet<i64> = BTreeSet::new();
        let mut awaiting = self.conn().prepare_cached(NUMBERS_AWAITING)?;
        let rows = awaiting.query_map(
            params![
                allocated_from(from, policy),
                allocated_until(window.number_activation, policy),
                today
            ],
            |row| row.get(0),
        )?;
        for id in rows {
            number_ids.insert(id?);
        }
        let mut held = self.conn().prepare_cached(NUMBERS_OUTLIVING)?;
        let rows = held.query_map(
            params![
                window.number_outlives_licence,
                today,
                today.min(window.number_outlives_licence + Days::new(1)),
                from
            ],
            |row| row.get(0),
        )?;
        for id in rows {
            number_ids.insert(id?);
        }
        Ok(Candidates {
            licences: licence_ids.into_iter().collect(),
            changes,
            numbers: number_ids.into_iter().collect(),
        })
    }

    /// The open obligations of some candidates due within `window`, soonest
    /// first, and the rows that cannot be read. Each source (a licence, a
    /// change, a number) yields obligations of its own kinds, so the batches
    /// of one [`Candidates`] never share an obligation.
    pub fn due_of(
        &self,
        candidates: &Candidates,
        window: &DueWindow,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Due> {
        let (number_facts, mut unreadable) = self.number_facts(&candidates.numbers)?;
        // A licence's own rules read its annual reports; a change's and a
        // number's do not, so their licences are read without them.
        let (mut facts, unreadable_licences) =
            self.licence_facts(&candidates.licences, Reports::Read)?;
        unreadable.extend(unreadable_licences);
        let others: BTreeSet<i64> = candidates
            .changes
            .iter()
            .map(|(licence_id, ..)| *licence_id)
            .chain(number_facts.iter().map(|(licence_id, _)| *licence_id))
            .filter(|id| candidates.licences.binary_search(id).is_err())
            .collect();
        let (other_facts, unreadable_licences) =
            self.licence_facts(&others.into_iter().collect::<Vec<_>>(), Reports::Skip)?;
        unreadable.extend(unreadable_licences);

        let last_due = |kind| window.of(kind);
        let mut obligations = Vec::new();
        // Changes and numbers first, while both maps are there; then each
        // licence's facts are dropped as its own obligations are made, so
        // that the facts and the obligations are not held in full together.
        let facts_of = |id: &i64| facts.get(id).or_else(|| other_facts.get(id));
        for (licence_id, change_id, kind, changed_on) in &candidates.changes {
            let kind: ChangeKind = match kind.parse() {
                Ok(kind) => kind,
                Err(e) => {
                    let e: crate::domain::change::ChangeKindError = e;
                    unreadable.push(Unreadable {
                        table: "company_change",
                        id: *change_id,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            let Some(licence) = facts_of(licence_id) else {
                continue;
            };
            obligations.extend(change_obligation(
                licence,
                *change_id,
                kind,
                *changed_on,
                policy,
            ));
        }
        for (licence_id, number) in &number_facts {
            let Some(licence) = facts_of(licence_id) else {
                continue;
            };
            obligations.extend(number_obligations_due_by(
                licence, number, today, policy, last_due,
            ));
        }
        drop(other_facts);
        for id in &candidates.licences {
            if let Some(licence) = facts.remove(id) {
                obligations.extend(licence_obligations_due_by(
                    &licence, today, policy, last_due,
                ));
            }
        }
        obligations.retain(|o| o.due <= window.of(o.kind));
        // A number found through two queries yields its obligations twice;
        // sorted, the copies are neighbours.
        obligations.sort_unstable_by(Obligation::agenda_order);
        obligations.dedup_by(|a, b| a.key == b.key);
        self.attach_snoozes(&mut obligations, today)?;
        Ok(Due {
            obligations,
            unreadable,
        })
    }

    /// Every open obligation of one licence, whatever its due day.
    pub fn open_obligations_of(
        &self,
        licence: &LicenceNo,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Vec<Obligation>> {
        let row = self.licence(licence)?;
        let (mut facts, unreadable) = self.licence_facts(&[row.id], Reports::Read)?;
        if let Some(bad) = unreadable.first() {
            return Err(super::Refusal::Unreadable(bad.clone()).into());
        }
        let facts = facts
            .remove(&row.id)
            .expect("licence_facts returns the licence just read");
        let mut obligations = licence_obligations(&facts, today, policy);
        for change in self.changes(licence)? {
            if change.filed_on.is_none() {
                obligations.extend(change_obligation(
                    &facts,
                    change.id,
                    change.kind,
                    change.changed_on,
                    policy,
                ));
            }
        }
        let number_ids = ids(self, "SELECT id FROM number WHERE licence_id = ?1", row.id)?;
        let (numbers, unreadable) = self.number_facts(&number_ids)?;
        if let Some(bad) = unreadable.first() {
            return Err(super::Refusal::Unreadable(bad.clone()).into());
        }
        for (_, number) in numbers {
            obligations.extend(number_obligations(&facts, &number, today, policy));
        }
        self.attach_snoozes(&mut obligations, today)?;
        obligations.sort_by(Obligation::agenda_order);
        Ok(obligations)
    }

    /// Every open obligation of these licences (by number), whatever its
    /// due day, read with a few statements whatever their count. A licence
    /// with a row that cannot be read is listed in `unreadable` (by its
    /// number, with why) and has no obligations; one not in the register is
    /// in neither.
    pub fn open_obligations_of_licences(
        &self,
        licences: &[&str],
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<OpenOf> {
        let numbers_json = serde_json::to_string(licences).expect("strings serialise");
        let found: HashMap<i64, String> = self
            .conn()
            .prepare_cached(
                "SELECT l.id, l.number FROM json_each(?1) j JOIN licence l ON l.number = j.value",
            )?
            .query_map([&numbers_json], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = found.keys().copied().collect();
        let ids_json = serde_json::to_string(&ids).expect("integers serialise");
        let (facts, bad_licences) = self.licence_facts(&ids, Reports::Read)?;
        let mut unreadable: HashMap<i64, Unreadable> =
            bad_licences.into_iter().map(|bad| (bad.id, bad)).collect();

        let changes: Vec<Change> = self
            .conn()
            .prepare_cached(
                "SELECT licence_id, id, kind, changed_on FROM company_change
                 WHERE filed_on IS NULL AND licence_id IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([&ids_json], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let numbers: Vec<(i64, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT id, licence_id FROM number WHERE licence_id IN (SELECT value FROM json_each(?1))",
            )?
            .query_map([&ids_json], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let number_ids: Vec<i64> = numbers.iter().map(|(id, _)| *id).collect();
        let (number_facts, bad_numbers) = self.number_facts(&number_ids)?;
        let licence_of: HashMap<i64, i64> = numbers.into_iter().collect();
        for bad in bad_numbers {
            if let Some(licence_id) = licence_of.get(&bad.id) {
                unreadable.entry(*licence_id).or_insert(bad);
            }
        }

        let mut obligations = Vec::new();
        for (licence_id, change_id, kind, changed_on) in changes {
            let Some(licence) = facts.get(&licence_id) else {
                continue;
            };
            match kind.parse::<ChangeKind>() {
                Ok(kind) => obligations.extend(change_obligation(
                    licence, change_id, kind, changed_on, policy,
                )),
                Err(e) => {
                    unreadable.entry(licence_id).or_insert(Unreadable {
                        table: "company_change",
                        id: change_id,
                        error: e.to_string(),
                    });
                }
            }
        }
        for (licence_id, number) in &number_facts {
            if let Some(licence) = facts.get(licence_id) {
                obligations.extend(number_obligations(licence, number, today, policy));
            }
        }
        for licence in facts.values() {
            obligations.extend(licence_obligations(licence, today, policy));
        }
        let unreadable: HashMap<String, Unreadable> = unreadable
            .into_iter()
            .filter_map(|(licence_id, bad)| Some((found.get(&licence_id)?.clone(), bad)))
            .collect();
        obligations.retain(|o| !unreadable.contains_key(&o.licence.to_string()));
        self.attach_snoozes(&mut obligations, today)?;
        Ok(OpenOf {
            obligations,
            unreadable,
        })
    }

    /// Snoozes still running on `today`: few, so one query reads them all.
    fn attach_snoozes(&self, obligations: &mut [Obligation], today: NaiveDate) -> Result<()> {
        let snoozes: HashMap<String, NaiveDate> = self
            .conn()
            .prepare_cached("SELECT obligation, until FROM snooze WHERE until > ?1")?
            .query_map([today], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if snoozes.is_empty() {
            return Ok(());
        }
        for obligation in obligations {
            obligation.snoozed_until = snoozes.get(obligation.key.as_str()).copied();
        }
        Ok(())
    }
}
