//! The facts that cannot be: each rule the register enforces, once. The CLI,
//! the import and the store call these functions, so a refused fact reads
//! the same wherever it comes from, and `db check` lists the rows written
//! before a rule existed with the same words.
//!
//! An error says what is wrong with the value and the rule it breaks; the
//! caller names the field in its own terms (`--expires`, or the import's
//! column header), through [`RuleError::field`].

use chrono::NaiveDate;
use thiserror::Error;

use super::date::LAST_DATE;
use super::licence::LicenceNo;
use super::number::ServiceNumber;

/// The fact a rule is about, so that each caller can name it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    Issued,
    Expires,
    Authority,
    Items,
    Number,
    Province,
    Allocated,
    /// The day something happened: a change, a submission, a filing.
    On,
    /// The day a licence ended; `--on` of `licence end`.
    EndedOn,
}

impl RuleField {
    /// The CLI option that gives the fact.
    pub fn flag(self) -> &'static str {
        match self {
            RuleField::Issued => "--issued",
            RuleField::Expires => "--expires",
            RuleField::Authority => "--authority",
            RuleField::Items => "--items",
            RuleField::Number => "number",
            RuleField::Province => "--province",
            RuleField::Allocated => "--allocated",
            RuleField::On | RuleField::EndedOn => "--on",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    #[error(
        "is before the issue date {issued} (rule: the expiry date is on or after the issue date)"
    )]
    ExpiresBeforeIssued {
        expires: NaiveDate,
        issued: NaiveDate,
    },
    #[error(
        "more than five years after {from}: a licence is valid five years, to {latest} at the latest (rule: 有效期五年; is it a typo?)"
    )]
    TermTooLong {
        expires: NaiveDate,
        from: NaiveDate,
        latest: NaiveDate,
    },
    #[error(
        "is after {}, the last date the register keeps (rule: dates have four-digit years; give the expiry date)",
        LAST_DATE
    )]
    ExpiresPastLastDate { expires: NaiveDate },
    #[error(
        "is before {year}, the year of first issue in licence number {licence} (rule: the number's first four digits are the year it was first issued)"
    )]
    IssuedBeforeNumberYear {
        issued: NaiveDate,
        licence: LicenceNo,
        year: i32,
    },
    #[error(
        "is after today ({today}) (rule: the register records what has happened, on the day it did)"
    )]
    AfterToday {
        field: RuleField,
        date: NaiveDate,
        today: NaiveDate,
    },
    #[error(
        "is not who issues licence {licence}: a {scope} licence is issued by {expected} (rule: the authority follows the scope; leave it out and licwatch fills it in)"
    )]
    AuthorityNotScope {
        given: String,
        licence: LicenceNo,
        scope: String,
        expected: String,
    },
    #[error(
        "is a nationwide number, and licence {licence} is a 地网 licence of {province}: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)"
    )]
    NationwideNumberUnderProvincial {
        number: ServiceNumber,
        licence: LicenceNo,
        province: &'static str,
    },
    #[error("is given for {number}, a nationwide number; only 96 numbers take a province")]
    ProvinceOnNationwideNumber {
        given: &'static str,
        number: ServiceNumber,
    },
    #[error(
        "is not the province of licence {licence}: a 地网 licence of {own} holds 96 numbers allocated by {own} (rule: a 地网 licence holds numbers of its own province)"
    )]
    ProvinceNotLicence {
        given: &'static str,
        licence: LicenceNo,
        own: &'static str,
    },
    #[error(
        "is missing: {number} is a 96 number under nationwide licence {licence}; name the province that allocated it (e.g. 粤)"
    )]
    ProvinceMissing {
        number: ServiceNumber,
        licence: LicenceNo,
    },
    #[error(
        "licence {licence} carries {items}, not B24 国内呼叫中心业务 (rule: numbers are allocated only under a licence that carries B24)"
    )]
    NoB24 {
        number: ServiceNumber,
        licence: LicenceNo,
        items: String,
    },
    #[error(
        "licence {licence} ended on {last_day} (rule: 先证后号, a number is added only under a valid licence)"
    )]
    LicenceNotValid {
        number: ServiceNumber,
        licence: LicenceNo,
        last_day: NaiveDate,
    },
    #[error(
        "is outside licence {licence}'s validity ({issued} to {last_day}) (rule: 先证后号, a number is allocated while its licence is valid)"
    )]
    AllocatedOutsideValidity {
        allocated: NaiveDate,
        licence: LicenceNo,
        issued: NaiveDate,
        last_day: NaiveDate,
    },
    #[error(
        "is before licence {licence} was issued ({issued}) (rule: a change is filed against a licence that exists; check the date, or the licence's --issued)"
    )]
    ChangeBeforeIssue {
        on: NaiveDate,
        licence: LicenceNo,
        issued: NaiveDate,
    },
    #[error(
        "is before licence {licence} was issued ({issued}) (rule: a licence ends on or after the day it was issued; give the day it ended)"
    )]
    EndBeforeIssue {
        on: NaiveDate,
        licence: LicenceNo,
        issued: NaiveDate,
    },
    #[error(
        "is after licence {licence} expired ({expires}): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end {licence} --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it"
    )]
    RenewalAfterExpiry {
        on: NaiveDate,
        licence: LicenceNo,
        expires: NaiveDate,
    },
    #[error(
        "is before licence {licence} was issued ({issued}) (rule: a renewal is applied for under the licence it renews; check the date, or the licence's --issued)"
    )]
    RenewalBeforeIssue {
        on: NaiveDate,
        licence: LicenceNo,
        issued: NaiveDate,
    },
    #[error(
        "the {year} annual report cannot be filed before {}-01-01 (rule: the report on business year Y, 年度, is filed from 1 January Y+1, in the first quarter: 办法第三十五条)",
        year + 1
    )]
    ReportBeforeYearEnd { year: i32, on: NaiveDate },
}

impl RuleError {
    pub fn field(&self) -> RuleField {
        match self {
            RuleError::ExpiresBeforeIssued { .. }
            | RuleError::TermTooLong { .. }
            | RuleError::ExpiresPastLastDate { .. } => RuleField::Expires,
            RuleError::IssuedBeforeNumberYear { .. } => RuleField::Issued,
            RuleError::AfterToday { field, .. } => *field,
            RuleError::AuthorityNotScope { .. } => RuleField::Authority,
            RuleError::NationwideNumberUnderProvincial { .. }
            | RuleError::NoB24 { .. }
            | RuleError::LicenceNotValid { .. } => RuleField::Number,
            RuleError::ProvinceOnNationwideNumber { .. }
            | RuleError::ProvinceNotLicence { .. }
            | RuleError::ProvinceMissing { .. } => RuleField::Province,
            RuleError::AllocatedOutsideValidity { .. } => RuleField::Allocated,
            RuleError::ChangeBeforeIssue { .. }
            | RuleError::RenewalAfterExpiry { .. }
            | RuleError::RenewalBeforeIssue { .. }
            | RuleError::ReportBeforeYearEnd { .. } => RuleField::On,
            RuleError::EndBeforeIssue { .. } => RuleField::EndedOn,
        }
    }

    /// The refused value as it was given.
    pub fn value(&self) -> String {
        match self {
            RuleError::ExpiresBeforeIssued { expires, .. }
            | RuleError::TermTooLong { expires, .. }
            | RuleError::ExpiresPastLastDate { expires } => expires.to_string(),
            RuleError::IssuedBeforeNumberYear { issued, .. } => issued.to_string(),
            RuleError::AfterToday { date, .. } => date.to_string(),
            RuleError::AuthorityNotScope { given, .. } => given.clone(),
            RuleError::NationwideNumberUnderProvincial { number, .. }
            | RuleError::NoB24 { number, .. }
            | RuleError::LicenceNotValid { number, .. } => number.to_string(),
            RuleError::ProvinceMissing { .. } => String::new(),
            RuleError::ProvinceOnNationwideNumber { given, .. }
            | RuleError::ProvinceNotLicence { given, .. } => (*given).to_owned(),
            RuleError::AllocatedOutsideValidity { allocated, .. } => allocated.to_string(),
            RuleError::ChangeBeforeIssue { on, .. }
            | RuleError::RenewalAfterExpiry { on, .. }
            | RuleError::RenewalBeforeIssue { on, .. }
            | RuleError::ReportBeforeYearEnd { on, .. }
            | RuleError::EndBeforeIssue { on, .. } => on.to_string(),
        }
    }

    /// The whole message as the CLI prints it: the option, the value, what
    /// is wrong and the rule.
    pub fn with_flag(&self) -> String {
        match self.value() {
            value if value.is_empty() => format!("{}: {self}", self.field().flag()),
            value => format!("{} {value}: {self}", self.field().flag()),
        }
    }
}

/// A fact's date has come: the register records what happened.
pub fn not_after_today(
    field: RuleField,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, RuleError> {
    if date > today {
        return Err(RuleError::AfterToday { field, date, today });
    }
    Ok(date)
}

mod filing;
mod licence;
mod number;

pub use filing::{
    Timeliness, renewable_on, renewal_marked_on, renewal_submission, report_filed_on,
};
pub use licence::{
    TERM_YEARS, authority, change_date, end_date, latest_expiry, licence_dates, licence_still_valid,
};
pub use number::{number_province, number_under_licence};

#[cfg(test)]
mod tests;
