//! An import in one transaction: planned batch by batch, each written only
//! while no row was refused, with the overdue forecast worked out inside
//! it; committed only if no row of any batch was refused.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Transaction, TransactionBehavior};

use super::apply::{apply, summary};
use super::plan::{Plan, plan_companies};
use super::plan_licences::plan_licences;
use super::plan_numbers::plan_numbers;
use super::records::{
    Batch, Change, ImportError, ImportMode, ImportReport, Overdue, RowProblem, Tally,
};
use crate::domain::policy::Policy;
use crate::store::{Stamp, Store, StoreError};

/// The import's page cache: 64 MiB (negative: KiB, as SQLite reads it).
const IMPORT_CACHE_KIB: i64 = -64 * 1024;

/// An import under way, in its transaction. Its batches must not share a
/// company, licence or number (the caller merges the rows naming one into
/// one record first): each is planned against the register as it was, so
/// that batches give the plan one batch of all their rows would.
pub struct Import<'s> {
    store: &'s Store,
    tx: Transaction<'s>,
    stamp: &'s Stamp,
    source: &'s str,
    mode: ImportMode,
    today: NaiveDate,
    forecast: Option<&'s Policy>,
    report: ImportReport,
    problems: Vec<RowProblem>,
    /// The caller refused rows: nothing will be written.
    refused: bool,
    /// A batch changed something (or would, for a dry run).
    changes: bool,
}

impl Store {
    /// Starts an import (read from `source`, named in the history): all
    /// of it, or nothing and every problem found. `today` is the day facts
    /// must not be after, and bounds what can have been filed already.
    /// With `forecast`, the report also counts the obligations that will
    /// be overdue on `today` once the import is written, worked out inside
    /// the transaction, so a dry run shows it too and still writes nothing.
    pub fn begin_import<'s>(
        &'s self,
        stamp: &'s Stamp,
        source: &'s str,
        mode: ImportMode,
        today: NaiveDate,
        forecast: Option<&'s Policy>,
    ) -> Result<Import<'s>, StoreError> {
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
        Ok(Import {
            store: self,
            tx,
            stamp,
            source,
            mode,
            today,
            forecast,
            report: ImportReport::default(),
            problems: Vec::new(),
            refused: false,
            changes: false,
        })
    }
}

fn add_tally(sum: &mut Tally, batch: Tally) {
    sum.added += batch.added;
    sum.updated += batch.updated;
    sum.unchanged += batch.unchanged;
}

impl Import<'_> {
    /// The caller refused rows of the file: the batches are still planned,
    /// for the conflicts with the register, but nothing is written.
    pub fn refuse(&mut self) {
        self.refused = true;
    }

    /// How many rows' problems the batches so far have found.
    pub fn problems(&self) -> usize {
        self.problems.len()
    }

    /// Plans `batch`, and writes it while no row has been refused (a dry
    /// run only when it must forecast, rolled back at the end). Returns the
    /// batch's changes, which the report leaves to the caller: all of a
    /// million-licence register's would not fit the memory bound.
    pub fn add(&mut self, batch: &Batch) -> Result<Vec<Change>, StoreError> {
        let tx = &self.tx;
        let mut plan = Plan::default();
        plan_companies(tx, batch, &mut plan)?;
        let licences = plan_licences(tx, batch, self.today, &mut plan)?;
        plan_numbers(tx, batch, &licences, self.today, &mut plan)?;
        drop(licences);
        self.problems.append(&mut plan.problems);
        let changes = !plan.report.changes.is_empty() || !plan.marks.is_empty();
        self.changes |= changes;
        if changes
            && self.problems.is_empty()
            && !self.refused
            && (self.mode == ImportMode::Write || self.forecast.is_some())
        {
            apply(tx, self.stamp, self.source, self.today, &plan)?;
        }
        let report = plan.report;
        add_tally(&mut self.report.companies, report.companies);
        add_tally(&mut self.report.licences, report.licences);
        add_tally(&mut self.report.numbers, report.numbers);
        self.report.notes.extend(report.notes);
        self.report.past.reports += report.past.reports;
        self.report.past.renewals += report.past.renewals;
        Ok(report.changes)
    }

    /// The report of what was written (or a dry run would write), without
    /// its changes ([`Import::add`] gave them), or every row the store
    /// refused; commits only a real import with no refusal.
    pub fn finish(mut self) -> Result<ImportReport, ImportError> {
        if !self.problems.is_empty() {
            self.problems.sort_by_key(|p| (p.row, p.field));
            return Err(ImportError::Rows(self.problems));
        }
        let write = self.mode == ImportMode::Write && !self.refused;
        if self.changes && !self.refused && (write || self.forecast.is_some()) {
            summary(&self.tx, self.stamp, self.source, &self.report)?;
        }
        if let Some(policy) = self.forecast.filter(|_| !self.refused) {
            self.report.overdue = self.store.overdue_on(self.today, policy)?;
        }
        if write && self.changes {
            self.tx.commit()?;
        }
        Ok(self.report)
    }
}

impl Store {
    /// The open obligations due before `today`, counted by kind and year.
    /// Read a slice of due days at a time: a register of a million licences
    /// can owe millions of them, and only their counts are kept.
    fn overdue_on(&self, today: NaiveDate, policy: &Policy) -> Result<Vec<Overdue>, StoreError> {
        let mut counts: BTreeMap<(i32, &str), Overdue> = BTreeMap::new();
        for slice in self.due_slices(today, today, policy) {
            for obligation in slice? {
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
        }
        Ok(counts.into_values().collect())
    }
}
