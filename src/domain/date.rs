//! Calendar arithmetic the rules share, and the one date format users type.

use chrono::{Datelike, Months, NaiveDate};
use thiserror::Error;

use super::text::normalize;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} \"{value}\": {reason} (expected YYYY-MM-DD, e.g. 2026-03-31)")]
pub struct DateError {
    pub field: String,
    pub value: String,
    pub reason: &'static str,
}

/// Parses `YYYY-MM-DD`; full-width digits and hyphens are accepted.
/// `field` names the argument or column in the error message.
pub fn parse_date(field: &str, input: &str) -> Result<NaiveDate, DateError> {
    let error = |reason| DateError {
        field: field.to_owned(),
        value: input.to_owned(),
        reason,
    };
    let text = normalize(input);
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(error("not a date"));
    };
    let all_digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y, 4) && all_digits(m, 2) && all_digits(d, 2)) {
        return Err(error("not a date"));
    }
    let (y, m, d) = (
        y.parse().map_err(|_| error("not a date"))?,
        m.parse().map_err(|_| error("not a date"))?,
        d.parse().map_err(|_| error("not a date"))?,
    );
    if !(1..=12).contains(&m) {
        return Err(error("month must be 01-12"));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| error("no such day in that month"))
}

/// The last date the register stores: dates are written as YYYY-MM-DD
/// text, and compared as text.
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// Adds calendar months; a day past the end of the target month clamps to its
/// last day (31 August + 6 months = 28 or 29 February).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .expect("dates in a licence register stay far below chrono's year 262143")
}

/// The usual 有效期至 of a licence issued on `issued` and valid `years` years:
/// the day before the anniversary. The anniversary of 29 February in a common
/// year is 1 March, so such a licence ends on 28 February.
pub fn default_expiry(issued: NaiveDate, years: u32) -> NaiveDate {
    let year = issued.year() + years as i32;
    let anniversary = NaiveDate::from_ymd_opt(year, issued.month(), issued.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .expect("only 29 February lacks an anniversary, and 1 March always exists");
    anniversary
        .pred_opt()
        .expect("an anniversary is never the first day chrono knows")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parses_ascii_and_full_width_dates() {
        assert_eq!(parse_date("--on", "2024-02-29"), Ok(d(2024, 2, 29)));
        assert_eq!(
            parse_date("--on", " ２０２４－１２－３１ "),
            Ok(d(2024, 12, 31))
        );
    }

    #[test]
    fn refuses_impossible_and_malformed_dates_naming_field_and_value() {
        let err = parse_date("--issued", "2025-02-29").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--issued \"2025-02-29\": no such day in that month (expected YYYY-MM-DD, e.g. 2026-03-31)"
        );
        assert_eq!(
            parse_date("x", "2025-13-01").unwrap_err().reason,
            "month must be 01-12"
        );
        for bad in [
            "",
            "2025/01/01",
            "2025-1-1",
            "20250101",
            "2025-01-01-01",
            "+025-01-01",
            "2025-0a-01",
        ] {
            assert_eq!(
                parse_date("x", bad).unwrap_err().reason,
                "not a date",
                "{bad}"
            );
        }
    }

    #[test]
    fn six_months_after_month_end_clamps() {
        assert_eq!(add_months(d(2025, 8, 31), 6), d(2026, 2, 28));
        assert_eq!(add_months(d(2023, 8, 31), 6), d(2024, 2, 29));
        assert_eq!(add_months(d(2024, 8, 30), 6), d(2025, 2, 28));
        assert_eq!(add_months(d(2025, 7, 31), 6), d(2026, 1, 31));
        assert_eq!(add_months(d(2025, 12, 31), 6), d(2026, 6, 30));
        assert_eq!(add_months(d(2024, 2, 29), 6), d(2024, 8, 29));
    }

    #[test]
    fn default_expiry_is_the_day_before_the_fifth_anniversary() {
        assert_eq!(default_expiry(d(2020, 3, 15), 5), d(2025, 3, 14));
        assert_eq!(default_expiry(d(2021, 1, 1), 5), d(2025, 12, 31));
        assert_eq!(default_expiry(d(2020, 12, 31), 5), d(2025, 12, 30));
        assert_eq!(default_expiry(d(2024, 2, 29), 5), d(2029, 2, 28));
        assert_eq!(default_expiry(d(2023, 3, 1), 5), d(2028, 2, 29));
        assert_eq!(default_expiry(d(2024, 2, 29), 4), d(2028, 2, 28));
    }
}
