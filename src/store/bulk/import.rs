//! An import in one transaction: planned in full, written only if no row
//! was refused, with the overdue forecast worked out inside it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Transaction, TransactionBehavior};

use super::apply::apply;
use super::plan::{Plan, plan_companies};
use super::plan_licences::plan_licences;
use super::plan_numbers::plan_numbers;
use super::records::{Batch, ImportError, ImportMode, ImportReport, Overdue};
use crate::domain::policy::Policy;
use crate::store::{Stamp, Store, StoreError};

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
}
