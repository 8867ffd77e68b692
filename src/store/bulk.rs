//! The register in bulk: a whole spreadsheet imported in one transaction,
//! the whole register read back in the same shape for export.
//!
//! An import is an upsert keyed by USCC (companies), licence number
//! (licences) and (province, number) (numbers). It is planned batch by
//! batch in one transaction, each batch written while no row has been
//! refused: every row that cannot be taken is reported, and one such row
//! means nothing is written (the transaction is rolled back). A value the file leaves empty is "not
//! given": it never clears what the register holds. Re-importing the same
//! file finds nothing to change and writes nothing, not even history.

mod apply;
mod export;
mod import;
mod plan;
mod plan_licences;
mod plan_numbers;
mod records;
mod reports;

pub use import::Import;
pub use records::{
    Batch, Change, CompanyRecord, Edit, Ended, Entity, Field, ImportError, ImportMode,
    ImportReport, LicenceRecord, NumberRecord, Overdue, Past, PastTally, RowProblem, SheetRow,
    Tally,
};
pub use reports::{FiledReports, MarkReports, ReportOutcome, ReportScope};
