//! The facts that cannot be: each rule the register enforces, once. The CLI,
//! the import and the store call these functions, so a refused fact reads
//! the same wherever it comes from, and `db check` lists the rows written
//! before a rule existed with the same words.
//!
//! An error says what is wrong with the value and the rule it breaks; the
//! caller names the field in its own terms (`--expires`, or the import's
//! column header), through [`RuleError::field`].

use chrono::{Days, NaiveDate};
use thiserror::Error;

use super::date::{LAST_DATE, default_expiry};
use super::licence::{ItemCode, LicenceNo, Scope};
use super::number::ServiceNumber;
use super::province::Province;

/// A licence's term: five years, ending the day before the anniversary
/// (有效期五年). A longer one is a typo.
pub const TERM_YEARS: u32 = 5;

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

/// The allocating province of a number under `licence`: none for a 95 or
/// 1010 number, which only a 全网 licence holds; a 地网 licence's own province
/// for a 96 number under it; the one given for a 96 number under a 全网
/// licence, which must name it.
pub fn number_province(
    number: &ServiceNumber,
    licence: &LicenceNo,
    given: Option<Province>,
) -> Result<Option<Province>, RuleError> {
    match (number.is_provincial(), licence.scope(), given) {
        (false, _, Some(given)) => Err(RuleError::ProvinceOnNationwideNumber {
            given: given.name(),
            number: number.clone(),
        }),
        (false, Scope::Provincial(own), None) => Err(RuleError::NationwideNumberUnderProvincial {
            number: number.clone(),
            licence: licence.clone(),
            province: own.name(),
        }),
        (false, Scope::Nationwide, None) => Ok(None),
        (true, Scope::Provincial(own), None) => Ok(Some(own)),
        (true, Scope::Provincial(own), Some(given)) if given == own => Ok(Some(own)),
        (true, Scope::Provincial(own), Some(given)) => Err(RuleError::ProvinceNotLicence {
            given: given.name(),
            licence: licence.clone(),
            own: own.name(),
        }),
        (true, Scope::Nationwide, Some(given)) => Ok(Some(given)),
        (true, Scope::Nationwide, None) => Err(RuleError::ProvinceMissing {
            number: number.clone(),
            licence: licence.clone(),
        }),
    }
}

/// What a number needs of its licence (先证后号): B24 among its items, and
/// the allocation day within its validity. `last_day` is the licence's
/// expiry or earlier end.
pub fn number_under_licence(
    number: &ServiceNumber,
    licence: &LicenceNo,
    items: &[ItemCode],
    issued: NaiveDate,
    last_day: NaiveDate,
    allocated: NaiveDate,
) -> Result<(), RuleError> {
    if !items.contains(&ItemCode::B24) {
        return Err(RuleError::NoB24 {
            number: number.clone(),
            licence: licence.clone(),
            items: ItemCode::join(items),
        });
    }
    if allocated < issued || allocated > last_day {
        return Err(RuleError::AllocatedOutsideValidity {
            allocated,
            licence: licence.clone(),
            issued,
            last_day,
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn lic(text: &str) -> LicenceNo {
        text.parse().unwrap()
    }

    fn num(text: &str) -> ServiceNumber {
        text.parse().unwrap()
    }

    #[test]
    fn a_term_is_five_years_and_the_day_past_it() {
        let l = lic("京B2-20201234");
        assert_eq!(latest_expiry(d(2020, 3, 1)), d(2025, 3, 1));
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2025, 2, 28), None),
            Ok(())
        );
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2025, 3, 1), None),
            Ok(())
        );
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2025, 3, 2), None)
                .unwrap_err()
                .with_flag(),
            "--expires 2025-03-02: more than five years after 2020-03-01: a licence is valid five years, to 2025-03-01 at the latest (rule: 有效期五年; is it a typo?)"
        );
        // 29 February: the anniversary is 1 March, the usual expiry 28 February.
        assert_eq!(
            licence_dates(&l, d(2020, 2, 29), d(2025, 3, 1), None),
            Ok(())
        );
        assert!(licence_dates(&l, d(2020, 2, 29), d(2025, 3, 2), None).is_err());
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2020, 2, 29), None),
            Err(RuleError::ExpiresBeforeIssued {
                expires: d(2020, 2, 29),
                issued: d(2020, 3, 1)
            })
        );
    }

    #[test]
    fn issue_13_an_expiry_past_9999_is_refused_by_the_rule_not_the_database() {
        let l = lic("京B2-20201234");
        let issued = d(9999, 12, 31);
        let expires = default_expiry(issued, TERM_YEARS);
        assert_eq!(
            licence_dates(&l, issued, expires, None)
                .unwrap_err()
                .with_flag(),
            "--expires +10004-12-30: is after 9999-12-31, the last date the register keeps (rule: dates have four-digit years; give the expiry date)"
        );
        assert_eq!(licence_dates(&l, d(9999, 1, 1), LAST_DATE, None), Ok(()));
    }

    #[test]
    fn a_renewal_mark_lies_within_the_term_and_a_report_follows_its_year() {
        let l = lic("京B2-20201234");
        let (issued, expires) = (d(2020, 3, 1), d(2025, 2, 28));
        assert_eq!(renewal_marked_on(&l, issued, expires, issued), Ok(()));
        assert_eq!(renewal_marked_on(&l, issued, expires, expires), Ok(()));
        assert_eq!(
            renewal_marked_on(&l, issued, expires, d(2020, 2, 29))
                .unwrap_err()
                .with_flag(),
            "--on 2020-02-29: is before licence 京B2-20201234 was issued (2020-03-01) (rule: a renewal is applied for under the licence it renews; check the date, or the licence's --issued)"
        );
        assert!(matches!(
            renewal_marked_on(&l, issued, expires, d(2025, 3, 1)),
            Err(RuleError::RenewalAfterExpiry { .. })
        ));
        // The first and the last day a 2025 report can be marked filed from.
        assert!(report_filed_on(2025, d(2025, 12, 31)).is_err());
        assert_eq!(report_filed_on(2025, d(2026, 1, 1)), Ok(()));
        assert_eq!(
            report_filed_on(2026, d(2026, 12, 1))
                .unwrap_err()
                .with_flag(),
            "--on 2026-12-01: the 2026 annual report cannot be filed before 2027-01-01 (rule: the report on business year Y, 年度, is filed from 1 January Y+1, in the first quarter: 办法第三十五条)"
        );
    }

    #[test]
    fn a_renewal_counts_its_term_from_the_old_expiry() {
        let l = lic("B2-20201234");
        let old = d(2025, 2, 28);
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2030, 2, 28), Some(old)),
            Ok(())
        );
        assert_eq!(
            licence_dates(&l, d(2020, 3, 1), d(2030, 3, 1), Some(old)),
            Ok(())
        );
        assert!(licence_dates(&l, d(2020, 3, 1), d(2030, 3, 2), Some(old)).is_err());
        assert!(licence_dates(&l, d(2020, 3, 1), d(2030, 2, 28), None).is_err());
    }

    #[test]
    fn the_issue_year_is_not_before_the_numbers_year() {
        let l = lic("粤B2-20221234");
        assert_eq!(l.first_issue_year(), 2022);
        assert_eq!(
            licence_dates(&l, d(2022, 1, 1), d(2026, 12, 31), None),
            Ok(())
        );
        assert_eq!(
            licence_dates(&l, d(2027, 1, 1), d(2031, 12, 31), None),
            Ok(())
        );
        assert_eq!(
            licence_dates(&l, d(2021, 12, 31), d(2026, 12, 30), None)
                .unwrap_err()
                .with_flag(),
            "--issued 2021-12-31: is before 2022, the year of first issue in licence number 粤B2-20221234 (rule: the number's first four digits are the year it was first issued)"
        );
    }

    #[test]
    fn dates_after_today_are_refused_and_today_is_not() {
        let today = d(2026, 6, 1);
        assert_eq!(not_after_today(RuleField::On, today, today), Ok(today));
        assert_eq!(
            not_after_today(RuleField::Allocated, d(2026, 6, 2), today)
                .unwrap_err()
                .with_flag(),
            "--allocated 2026-06-02: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)"
        );
    }

    #[test]
    fn the_authority_follows_the_scope() {
        assert_eq!(
            authority(&lic("B2-20201234"), None).unwrap(),
            "工业和信息化部"
        );
        assert_eq!(
            authority(&lic("粤B2-20201234"), Some(" 广东省通信管理局 ")).unwrap(),
            "广东省通信管理局"
        );
        assert_eq!(
            authority(&lic("粤B2-20201234"), Some("工业和信息化部"))
                .unwrap_err()
                .with_flag(),
            "--authority 工业和信息化部: is not who issues licence 粤B2-20201234: a 地网（广东省） licence is issued by 广东省通信管理局 (rule: the authority follows the scope; leave it out and licwatch fills it in)"
        );
    }

    #[test]
    fn every_number_kind_under_every_scope() {
        let national = lic("B2-20201234");
        let local = lic("粤B2-20201234");
        let gd = Province::from_abbreviation('粤').unwrap();
        let bj = Province::from_abbreviation('京').unwrap();
        for n in ["95123", "10101234"] {
            assert_eq!(number_province(&num(n), &national, None), Ok(None));
            assert!(matches!(
                number_province(&num(n), &local, None),
                Err(RuleError::NationwideNumberUnderProvincial { .. })
            ));
            assert!(matches!(
                number_province(&num(n), &national, Some(gd)),
                Err(RuleError::ProvinceOnNationwideNumber { .. })
            ));
        }
        let n96 = num("962345");
        assert_eq!(number_province(&n96, &local, None), Ok(Some(gd)));
        assert_eq!(number_province(&n96, &local, Some(gd)), Ok(Some(gd)));
        assert!(matches!(
            number_province(&n96, &local, Some(bj)),
            Err(RuleError::ProvinceNotLicence { .. })
        ));
        assert_eq!(number_province(&n96, &national, Some(bj)), Ok(Some(bj)));
        assert!(matches!(
            number_province(&n96, &national, None),
            Err(RuleError::ProvinceMissing { .. })
        ));
        assert_eq!(
            number_province(&num("95123"), &local, None)
                .unwrap_err()
                .with_flag(),
            "number 95123: is a nationwide number, and licence 粤B2-20201234 is a 地网 licence of 广东省: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)"
        );
    }

    #[test]
    fn a_number_needs_b24_and_a_valid_licence() {
        let l = lic("B2-20201234");
        let n = num("95123");
        let b24 = [ItemCode::B24];
        let b25 = ItemCode::parse_list("B25").unwrap();
        let (issued, last) = (d(2020, 3, 1), d(2025, 2, 28));
        assert_eq!(
            number_under_licence(&n, &l, &b24, issued, last, issued),
            Ok(())
        );
        assert_eq!(
            number_under_licence(&n, &l, &b24, issued, last, last),
            Ok(())
        );
        assert!(number_under_licence(&n, &l, &b24, issued, last, d(2020, 2, 29)).is_err());
        assert!(number_under_licence(&n, &l, &b24, issued, last, d(2025, 3, 1)).is_err());
        assert_eq!(
            number_under_licence(&n, &l, &b25, issued, last, issued)
                .unwrap_err()
                .with_flag(),
            "number 95123: licence B2-20201234 carries B25, not B24 国内呼叫中心业务 (rule: numbers are allocated only under a licence that carries B24)"
        );
        assert!(licence_still_valid(&n, &l, last, last).is_ok());
        assert!(licence_still_valid(&n, &l, last, d(2025, 3, 1)).is_err());
    }

    #[test]
    fn a_change_is_not_before_the_licence() {
        let l = lic("B2-20201234");
        assert!(change_date(&l, d(2020, 3, 1), d(2020, 3, 1)).is_ok());
        assert!(change_date(&l, d(2020, 3, 1), d(2020, 2, 29)).is_err());
    }

    #[test]
    fn a_renewal_is_on_time_late_or_too_late() {
        let l = lic("B2-20201234");
        let (expires, due) = (d(2025, 2, 28), d(2024, 11, 30));
        assert_eq!(
            renewal_submission(&l, expires, due, due),
            Ok(Timeliness::OnTime)
        );
        assert_eq!(
            renewal_submission(&l, expires, due, d(2024, 12, 1)),
            Ok(Timeliness::Late { due, days: 1 })
        );
        assert_eq!(
            renewal_submission(&l, expires, due, expires),
            Ok(Timeliness::Late { due, days: 90 })
        );
        assert_eq!(
            renewal_submission(&l, expires, due, d(2025, 3, 1))
                .unwrap_err()
                .with_flag(),
            "--on 2025-03-01: is after licence B2-20201234 expired (2025-02-28): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end B2-20201234 --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it"
        );
    }
}
