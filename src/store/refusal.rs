//! What the store refuses to do, and why: each refusal names the thing, its
//! value and what is wrong; nothing was changed. The CLI and the console show
//! the message as it is; a caller that must tell refusals apart matches the
//! variant, never the words.

use std::path::PathBuf;

use chrono::NaiveDate;
use thiserror::Error;

use super::due::Unreadable;
use super::outbox::OutboxState;
use crate::domain::licence::{ItemError, LicenceNo, LicenceNoError};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::uscc::Uscc;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("company {uscc} ({name}) is already registered")]
    CompanyExists { uscc: Uscc, name: String },
    #[error("licence {licence} is already registered")]
    LicenceExists { licence: LicenceNo },
    #[error("number {} is already registered", label(.number, *.province))]
    NumberExists {
        number: ServiceNumber,
        province: Option<Province>,
    },
    #[error("annual report {year} of {licence} is already registered")]
    ReportExists { year: i32, licence: LicenceNo },
    #[error("account {name} is already registered")]
    AccountExists { name: String },
    #[error(
        "company {uscc} is not registered (add it with: licwatch company add --uscc CODE --name NAME)"
    )]
    NoCompany { uscc: Uscc },
    #[error("licence {licence} is not registered (list them with: licwatch licence list)")]
    NoLicence { licence: LicenceNo },
    #[error("number {number} is not registered (list them with: licwatch number list)")]
    NoNumber { number: ServiceNumber },
    #[error("change #{id} is not registered (see the ids in: licwatch agenda)")]
    NoChange { id: i64 },
    #[error("account {name} is not registered (see: licwatch user list)")]
    NoAccount { name: String },
    #[error("outbox row #{id} is not registered (see the ids in: licwatch outbox list)")]
    NoOutboxRow { id: i64 },
    #[error("backup path {}: not a file name (e.g. /var/backups/licwatch-2026-11-24.db)", .path.display())]
    BackupNotAFile { path: PathBuf },
    #[error(
        "backup path {} already exists; choose a new name or add --force to replace it",
        .path.display()
    )]
    BackupExists { path: PathBuf },
    #[error("backup {}: could not leave WAL mode (journal mode is {mode})", .path.display())]
    BackupJournalMode { path: PathBuf, mode: String },
    /// `problems`: what `integrity_check` and `foreign_key_check` said.
    #[error(
        "backup {}: the copy fails its integrity check ({}); run licwatch db check on the register",
        .path.display(),
        .problems.join("; ")
    )]
    BackupDamaged {
        path: PathBuf,
        problems: Vec<String>,
    },
    /// A row an answer needs cannot be read (edited by hand, or written by
    /// another program).
    #[error("{0}")]
    Unreadable(Unreadable),
    /// A licence number in the register that does not parse.
    #[error("licence {number} in the register: {error}")]
    UnreadableLicence {
        number: String,
        error: LicenceNoError,
    },
    #[error(transparent)]
    ItemNotCovered(ItemError),
    #[error("licence {licence} already ended on {ended}")]
    LicenceEnded {
        licence: LicenceNo,
        ended: NaiveDate,
    },
    #[error(
        "--year {year}: licence {licence} was not valid that year ({issued} to {last_day}); --year is the business year reported on"
    )]
    YearOutsideLicence {
        year: i32,
        licence: LicenceNo,
        issued: NaiveDate,
        last_day: NaiveDate,
    },
    #[error(
        "the renewal of {licence} (expiring {expires}) was already marked on {marked}; when the new licence arrives, record it with: licwatch licence update {licence} --expires DATE"
    )]
    RenewalAlreadyMarked {
        licence: LicenceNo,
        expires: NaiveDate,
        marked: NaiveDate,
    },
    #[error("change #{id} was already filed on {filed}")]
    ChangeAlreadyFiled { id: i64, filed: NaiveDate },
    #[error("--on {on} is before the change itself ({changed_on})")]
    BeforeChange {
        on: NaiveDate,
        changed_on: NaiveDate,
    },
    /// A 96 number held in several provinces, named without one.
    #[error("number {number} is registered in {}: add --province to say which", names(.provinces))]
    NumberInProvinces {
        number: ServiceNumber,
        provinces: Vec<Province>,
    },
    #[error("number {number} was released on {released}")]
    NumberReleased {
        number: ServiceNumber,
        released: NaiveDate,
    },
    #[error("--on {on} is before the number was allocated ({allocated})")]
    BeforeAllocated { on: NaiveDate, allocated: NaiveDate },
    #[error("obligation {obligation}: not snoozed (see licwatch snooze list)")]
    NotSnoozed { obligation: String },
    #[error(
        "outbox row #{id} is {}; only a failed row can be retried (nothing was retried)",
        .state.code()
    )]
    NotFailed { id: i64, state: OutboxState },
}

/// A number as its messages name it: a 96 number with its province.
fn label(number: &ServiceNumber, province: Option<Province>) -> String {
    match province {
        Some(p) => format!("{number} ({})", p.name()),
        None => number.to_string(),
    }
}

fn names(provinces: &[Province]) -> String {
    provinces
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}
