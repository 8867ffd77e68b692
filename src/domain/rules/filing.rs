//! What is filed: a renewal (in time, late, or too late) and its mark, and
//! the annual report on a business year.

use chrono::NaiveDate;

use super::RuleError;
use crate::domain::licence::LicenceNo;

/// Whether a renewal submission came in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    OnTime,
    /// After the deadline, before expiry: accepted, and said to be late.
    Late {
        due: NaiveDate,
        days: i64,
    },
}

/// A licence is renewed (or reported not to continue) on or before its
/// expiry: after it there is nothing left to renew.
pub fn renewable_on(
    licence: &LicenceNo,
    expires: NaiveDate,
    on: NaiveDate,
) -> Result<(), RuleError> {
    if on > expires {
        return Err(RuleError::RenewalAfterExpiry {
            on,
            licence: licence.clone(),
            expires,
        });
    }
    Ok(())
}

/// A renewal mark's day lies within the licence's term: not before it was
/// issued, not after it expired.
pub fn renewal_marked_on(
    licence: &LicenceNo,
    issued: NaiveDate,
    expires: NaiveDate,
    on: NaiveDate,
) -> Result<(), RuleError> {
    if on < issued {
        return Err(RuleError::RenewalBeforeIssue {
            on,
            licence: licence.clone(),
            issued,
        });
    }
    renewable_on(licence, expires, on)
}

/// The report on business `year` is filed from 1 January of the year after
/// (办法第三十五条: in the first quarter, on the previous year).
pub fn report_filed_on(year: i32, on: NaiveDate) -> Result<(), RuleError> {
    use chrono::Datelike;
    if on.year() <= year {
        return Err(RuleError::ReportBeforeYearEnd { year, on });
    }
    Ok(())
}

/// A renewal is submitted on or before expiry; after the deadline (`due`,
/// expiry − the lead days) it is late, and accepted as such.
pub fn renewal_submission(
    licence: &LicenceNo,
    expires: NaiveDate,
    due: NaiveDate,
    on: NaiveDate,
) -> Result<Timeliness, RuleError> {
    renewable_on(licence, expires, on)?;
    if on > due {
        return Ok(Timeliness::Late {
            due,
            days: (on - due).num_days(),
        });
    }
    Ok(Timeliness::OnTime)
}
