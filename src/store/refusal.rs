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
    /// A licence number in the register that does not parse (the error
    /// names it).
    #[error("the register holds a {0}; run `licwatch db check`")]
    UnreadableLicence(LicenceNoError),
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

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::domain::licence::ItemCode;

    /// The words a person sees for each refusal, all in one place: a change
    /// to any of them shows here.
    #[test]
    fn every_refusal_names_the_thing_and_its_value() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let licence: LicenceNo = "京B2-20201234".parse().unwrap();
        let number: ServiceNumber = "961234".parse().unwrap();
        let uscc: Uscc = "91110108551385082Q".parse().unwrap();
        let beijing = Province::parse("京").unwrap();
        let backup = PathBuf::from("/var/backups/licwatch.db");
        let refusals = [
            Refusal::CompanyExists {
                uscc: uscc.clone(),
                name: "示例呼叫中心有限公司".into(),
            },
            Refusal::LicenceExists {
                licence: licence.clone(),
            },
            Refusal::NumberExists {
                number: number.clone(),
                province: Some(beijing),
            },
            Refusal::NumberExists {
                number: "95123".parse().unwrap(),
                province: None,
            },
            Refusal::ReportExists {
                year: 2025,
                licence: licence.clone(),
            },
            Refusal::AccountExists {
                name: "zhang".into(),
            },
            Refusal::NoCompany { uscc },
            Refusal::NoLicence {
                licence: licence.clone(),
            },
            Refusal::NoNumber {
                number: number.clone(),
            },
            Refusal::NoChange { id: 7 },
            Refusal::NoAccount {
                name: "zhang".into(),
            },
            Refusal::NoOutboxRow { id: 12 },
            Refusal::BackupNotAFile {
                path: PathBuf::from("/"),
            },
            Refusal::BackupExists {
                path: backup.clone(),
            },
            Refusal::BackupJournalMode {
                path: backup.clone(),
                mode: "wal".into(),
            },
            Refusal::BackupDamaged {
                path: backup,
                problems: vec!["row 3 missing from index x".into(), "licence 2".into()],
            },
            Refusal::Unreadable(Unreadable {
                table: "licence",
                id: 3,
                error: "bad date".into(),
            }),
            Refusal::UnreadableLicence("X-1".parse::<LicenceNo>().unwrap_err()),
            Refusal::ItemNotCovered(
                ItemCode::check_covered(&[ItemCode::B11], &licence).unwrap_err(),
            ),
            Refusal::LicenceEnded {
                licence: licence.clone(),
                ended: d(2025, 6, 30),
            },
            Refusal::YearOutsideLicence {
                year: 2019,
                licence: licence.clone(),
                issued: d(2020, 1, 1),
                last_day: d(2025, 12, 31),
            },
            Refusal::RenewalAlreadyMarked {
                licence,
                expires: d(2025, 12, 31),
                marked: d(2025, 9, 1),
            },
            Refusal::ChangeAlreadyFiled {
                id: 7,
                filed: d(2026, 1, 5),
            },
            Refusal::BeforeChange {
                on: d(2026, 1, 1),
                changed_on: d(2026, 1, 5),
            },
            Refusal::NumberInProvinces {
                number: number.clone(),
                provinces: vec![beijing, Province::parse("粤").unwrap()],
            },
            Refusal::NumberReleased {
                number,
                released: d(2026, 2, 1),
            },
            Refusal::BeforeAllocated {
                on: d(2026, 1, 1),
                allocated: d(2026, 1, 5),
            },
            Refusal::NotSnoozed {
                obligation: "renewal/京B2-20201234/2025-12-31".into(),
            },
            Refusal::NotFailed {
                id: 12,
                state: OutboxState::Sent,
            },
        ];
        let said: Vec<String> = refusals.iter().map(ToString::to_string).collect();
        expect![[r#"
            company 91110108551385082Q (示例呼叫中心有限公司) is already registered
            licence 京B2-20201234 is already registered
            number 961234 (北京市) is already registered
            number 95123 is already registered
            annual report 2025 of 京B2-20201234 is already registered
            account zhang is already registered
            company 91110108551385082Q is not registered (add it with: licwatch company add --uscc CODE --name NAME)
            licence 京B2-20201234 is not registered (list them with: licwatch licence list)
            number 961234 is not registered (list them with: licwatch number list)
            change #7 is not registered (see the ids in: licwatch agenda)
            account zhang is not registered (see: licwatch user list)
            outbox row #12 is not registered (see the ids in: licwatch outbox list)
            backup path /: not a file name (e.g. /var/backups/licwatch-2026-11-24.db)
            backup path /var/backups/licwatch.db already exists; choose a new name or add --force to replace it
            backup /var/backups/licwatch.db: could not leave WAL mode (journal mode is wal)
            backup /var/backups/licwatch.db: the copy fails its integrity check (row 3 missing from index x; licence 2); run licwatch db check on the register
            licence row #3 cannot be read and is set aside: bad date
            the register holds a licence number "X-1": class "X" is not B1, B2 or B1.B2 (expected B2-20201234, 京B2-20201234 or B1.B2-20090001); run `licwatch db check`
            items: B11 is a class-1 item, which a 京B2-20201234 licence does not cover
            licence 京B2-20201234 already ended on 2025-06-30
            --year 2019: licence 京B2-20201234 was not valid that year (2020-01-01 to 2025-12-31); --year is the business year reported on
            the renewal of 京B2-20201234 (expiring 2025-12-31) was already marked on 2025-09-01; when the new licence arrives, record it with: licwatch licence update 京B2-20201234 --expires DATE
            change #7 was already filed on 2026-01-05
            --on 2026-01-01 is before the change itself (2026-01-05)
            number 961234 is registered in 北京市, 广东省: add --province to say which
            number 961234 was released on 2026-02-01
            --on 2026-01-01 is before the number was allocated (2026-01-05)
            obligation renewal/京B2-20201234/2025-12-31: not snoozed (see licwatch snooze list)
            outbox row #12 is sent; only a failed row can be retried (nothing was retried)"#]].assert_eq(&said.join("\n"));
    }
}
