//! A licence's facts: its dates and term, its issuing authority, the days
//! it ends or its company changes, and whether it still takes a number.

use chrono::{Days, NaiveDate};

use super::RuleError;
use crate::domain::date::{LAST_DATE, default_expiry};
use crate::domain::licence::LicenceNo;
use crate::domain::number::ServiceNumber;

/// A licence's term: five years, ending the day before the anniversary
/// (有效期五年). A longer one is a typo.
pub const TERM_YEARS: u32 = 5;

/// The latest expiry of a term that starts on `from`.
pub fn latest_expiry(from: NaiveDate) -> NaiveDate {
    default_expiry(from, TERM_YEARS)
        .checked_add_days(Days::new(1))
        .expect("dates in a licence register stay far below chrono's limit")
}

/// A licence's dates: expiry on or after issue, a term of five years at most
/// (the usual day past it is allowed: some certificates print the
/// anniversary), and an issue date not before the year of first issue.
/// `renewed_from` is the expiry a renewal replaced (the licence's current
/// expiry, when an update keeps the issue date): the term may also be
/// counted from the day after it.
pub fn licence_dates(
    licence: &LicenceNo,
    issued: NaiveDate,
    expires: NaiveDate,
    renewed_from: Option<NaiveDate>,
) -> Result<(), RuleError> {
    use chrono::Datelike;
    let year = licence.first_issue_year();
    if issued.year() < year {
        return Err(RuleError::IssuedBeforeNumberYear {
            issued,
            licence: licence.clone(),
            year,
        });
    }
    // Dates are stored as text and compared as text: a five-digit year
    // would sort before 9999.
    if expires > LAST_DATE {
        return Err(RuleError::ExpiresPastLastDate { expires });
    }
    if expires < issued {
        return Err(RuleError::ExpiresBeforeIssued { expires, issued });
    }
    // A renewal keeps the first issue date and moves the expiry on: its
    // term may also run from the day after the expiry it replaces.
    let renewal_term = renewed_from
        .filter(|old| *old >= issued)
        .and_then(|old| old.checked_add_days(Days::new(1)))
        .filter(|from| expires <= latest_expiry(*from));
    let latest = latest_expiry(issued);
    if expires > latest && renewal_term.is_none() {
        return Err(RuleError::TermTooLong {
            expires,
            from: issued,
            latest,
        });
    }
    Ok(())
}

/// The issuing authority follows the scope: 全网 → 工业和信息化部, 地网 → that
/// province's 通信管理局. A different one given by hand is refused.
pub fn authority(licence: &LicenceNo, given: Option<&str>) -> Result<String, RuleError> {
    let expected = licence.scope().authority();
    match given.map(str::trim) {
        None | Some("") => Ok(expected),
        Some(given) if given == expected => Ok(expected),
        Some(given) => Err(RuleError::AuthorityNotScope {
            given: given.to_owned(),
            licence: licence.clone(),
            scope: licence.scope().label(),
            expected,
        }),
    }
}

/// A number is added only while its licence is still valid.
pub fn licence_still_valid(
    number: &ServiceNumber,
    licence: &LicenceNo,
    last_day: NaiveDate,
    today: NaiveDate,
) -> Result<(), RuleError> {
    if last_day < today {
        return Err(RuleError::LicenceNotValid {
            number: number.clone(),
            licence: licence.clone(),
            last_day,
        });
    }
    Ok(())
}

/// A licence ends on or after the day it was issued.
pub fn end_date(licence: &LicenceNo, issued: NaiveDate, on: NaiveDate) -> Result<(), RuleError> {
    if on < issued {
        return Err(RuleError::EndBeforeIssue {
            on,
            licence: licence.clone(),
            issued,
        });
    }
    Ok(())
}

/// A company change is dated on or after the licence's issue.
pub fn change_date(licence: &LicenceNo, issued: NaiveDate, on: NaiveDate) -> Result<(), RuleError> {
    if on < issued {
        return Err(RuleError::ChangeBeforeIssue {
            on,
            licence: licence.clone(),
            issued,
        });
    }
    Ok(())
}
