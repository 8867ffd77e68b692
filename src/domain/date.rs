//! Calendar arithmetic the rules share, and the one date parser for every
//! date a person types or a spreadsheet holds: command-line arguments and
//! import cells alike, so that a date refused in one place is refused in the
//! same words everywhere.

use chrono::{Datelike, Days, Months, NaiveDate};
use thiserror::Error;

use super::text::normalize;

/// The forms [`parse_date`] takes, for messages.
pub const ACCEPTED_DATES: &str = "2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} \"{value}\": {reason} (accepted: {ACCEPTED_DATES})")]
pub struct DateError {
    pub field: String,
    pub value: String,
    pub reason: &'static str,
}

/// Parses a date in any unambiguous form people type: the year first and
/// separated by `-`, `/` or `.` (`2026-03-01`, `2026/3/1`, `2026.3.1`),
/// `2026年3月1日`, full-width digits included, optionally followed by a
/// midnight time (`2026/3/1 0:00`, as Excel writes a date cell to CSV); or
/// an Excel serial day number (`46082`), as a date column saved to CSV
/// without a date format holds it. A year-last form such as `03/01/2026` is
/// refused: it is 3 January in one office and 1 March in another.
/// `field` names the argument or column in the error message.
pub fn parse_date(field: &str, input: &str) -> Result<NaiveDate, DateError> {
    let error = |reason| DateError {
        field: field.to_owned(),
        value: input.to_owned(),
        reason,
    };
    let text = normalize(input);
    let text =
        strip_midnight(&text).ok_or_else(|| error("a date has no time of day other than 0:00"))?;
    if text.is_empty() {
        return Err(error("empty"));
    }
    if is_serial(text) {
        let serial: f64 = text.parse().map_err(|_| error("not a date"))?;
        return excel_serial(serial)
            .ok_or_else(|| error("not an Excel date serial (61 to 2958465)"));
    }
    let parts = split_date(text).ok_or_else(|| error("not a date"))?;
    let [y, m, d] = parts;
    let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if digits(y, 1..=2) && digits(m, 1..=2) && digits(d, 4..=4) {
        return Err(error(
            "the year comes last, so day and month are ambiguous (3 January or 1 March?); write the year first",
        ));
    }
    if !(digits(y, 1..=4) && digits(m, 1..=2) && digits(d, 1..=2)) {
        return Err(error("not a date"));
    }
    if y.len() != 4 {
        return Err(error("the year must have four digits and come first"));
    }
    let (y, m, d): (i32, u32, u32) = (
        y.parse().map_err(|_| error("not a date"))?,
        m.parse().map_err(|_| error("not a date"))?,
        d.parse().map_err(|_| error("not a date"))?,
    );
    if !(1..=12).contains(&m) {
        return Err(error("month must be 1-12"));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| error("no such day in that month"))
}

/// The last date the register stores: dates are written as YYYY-MM-DD
/// text, and compared as text.
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// `text` without a trailing midnight time; `None` if it has another time.
fn strip_midnight(text: &str) -> Option<&str> {
    let Some((date, time)) = text.split_once(' ') else {
        return Some(text);
    };
    let time = time.trim();
    let midnight = ["0:00", "00:00", "0:00:00", "00:00:00"].contains(&time);
    midnight.then_some(date.trim_end())
}

/// Digits with at most one decimal point: what a serial looks like.
fn is_serial(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.len() <= 7
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (fraction.is_empty() || !text.ends_with('.'))
}

/// The three parts of `2026-3-1`, `2026/3/1`, `2026.3.1`, `2026年3月1日` or
/// a year-last form, which the caller refuses by name.
fn split_date(text: &str) -> Option<[&str; 3]> {
    if let Some(rest) = text.strip_suffix('日').or_else(|| text.strip_suffix('号')) {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return Some([y.trim(), m.trim(), d.trim()]);
    }
    let separator = text.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let parts: Vec<&str> = text.split(separator).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    Some([a, b, c])
}

/// An Excel serial day number: what a date cell holds, and what a date
/// column saved to CSV without a date format shows. The fraction is the
/// time of day. Serials before 1 March 1900 (61) are refused: Excel counts
/// a 29 February 1900 that never was, so they are a day off.
pub fn excel_serial(serial: f64) -> Option<NaiveDate> {
    if !(61.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("a valid date");
    epoch.checked_add_days(Days::new(serial.floor() as u64))
}

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
    fn parses_every_unambiguous_form_people_type() {
        for text in [
            "2026-03-01",
            "2026-3-1",
            "2026/3/1",
            "2026/03/01",
            "2026.3.1",
            "2026年3月1日",
            "2026年03月01日",
            "2026年3月1号",
            " ２０２６－０３－０１ ",
            "２０２６年３月１日",
            "2026/3/1 0:00",
            "2026-03-01 00:00:00",
            "46082",
            "46082.0",
        ] {
            assert_eq!(parse_date("--on", text), Ok(d(2026, 3, 1)), "{text}");
        }
        assert_eq!(parse_date("--on", "2024-02-29"), Ok(d(2024, 2, 29)));
        assert_eq!(parse_date("--on", "2024/2/29"), Ok(d(2024, 2, 29)));
        assert_eq!(parse_date("--on", "2024年12月31日"), Ok(d(2024, 12, 31)));
    }

    #[test]
    fn refuses_impossible_and_malformed_dates_naming_field_value_and_accepted_forms() {
        let err = parse_date("--issued", "2025-02-29").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--issued \"2025-02-29\": no such day in that month (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)"
        );
        let reason = |text| parse_date("x", text).unwrap_err().reason;
        assert_eq!(reason("2025-13-01"), "month must be 1-12");
        assert_eq!(reason("2025年2月30日"), "no such day in that month");
        assert_eq!(reason("2025/4/31"), "no such day in that month");
        assert_eq!(reason(""), "empty");
        assert_eq!(
            reason("2026/3/1 9:30"),
            "a date has no time of day other than 0:00"
        );
        assert_eq!(reason("12"), "not an Excel date serial (61 to 2958465)");
        for bad in [
            "2025-01",
            "2025-01-01-01",
            "+025-01-01",
            "2025-0a-01",
            "2025-1/1",
            "2025年1月",
            "20250101x",
            "2025--1",
            "abc",
        ] {
            assert_eq!(reason(bad), "not a date", "{bad}");
        }
        assert_eq!(
            reason("25-1-1"),
            "the year must have four digits and come first"
        );
    }

    #[test]
    fn year_last_forms_are_refused_as_ambiguous() {
        for bad in [
            "03/01/2026",
            "3/1/2026",
            "13/01/2026",
            "01.03.2026",
            "1-3-2026",
        ] {
            let err = parse_date("有效期至", bad).unwrap_err();
            assert!(err.reason.contains("ambiguous"), "{bad}: {err}");
            assert!(err.to_string().contains("accepted: 2026-03-01"), "{err}");
        }
    }

    #[test]
    fn excel_serials_count_from_1900_with_excels_leap_day() {
        assert_eq!(excel_serial(61.0), Some(d(1900, 3, 1)));
        assert_eq!(excel_serial(45352.0), Some(d(2024, 3, 1)));
        assert_eq!(excel_serial(45351.0), Some(d(2024, 2, 29)));
        assert_eq!(excel_serial(46022.75), Some(d(2025, 12, 31)));
        assert_eq!(excel_serial(2_958_465.0), Some(d(9999, 12, 31)));
        assert_eq!(excel_serial(60.0), None);
        assert_eq!(excel_serial(2_958_466.0), None);
        assert_eq!(excel_serial(f64::NAN), None);
    }

    /// Every day from 1990 to 2100, in every form, reads back as itself:
    /// month and year ends and every 29 February included.
    #[test]
    fn every_day_in_every_form_reads_back() {
        let mut day = d(1990, 1, 1);
        let epoch = d(1899, 12, 30);
        while day <= d(2100, 12, 31) {
            let (y, m, dd) = (day.year(), day.month(), day.day());
            let serial = (day - epoch).num_days();
            for text in [
                day.to_string(),
                format!("{y}-{m}-{dd}"),
                format!("{y}/{m}/{dd}"),
                format!("{y}.{m:02}.{dd:02}"),
                format!("{y}年{m}月{dd}日"),
                serial.to_string(),
            ] {
                assert_eq!(parse_date("x", &text), Ok(day), "{text}");
            }
            day = day.succ_opt().unwrap();
        }
    }

    proptest::proptest! {
        /// No input panics, and whatever is accepted is a real day that
        /// prints back to an accepted form of itself.
        #[test]
        fn any_text_is_parsed_or_refused_without_panic(text in "\\PC{0,20}") {
            if let Ok(date) = parse_date("x", &text) {
                proptest::prop_assert_eq!(parse_date("x", &date.to_string()), Ok(date));
            }
        }

        /// A day of a month that does not have it is refused, never moved.
        #[test]
        fn impossible_days_are_refused(y in 1990i32..2100, m in 1u32..=12, dd in 29u32..=31) {
            let text = format!("{y}-{m}-{dd}");
            proptest::prop_assert_eq!(
                parse_date("x", &text).ok(),
                NaiveDate::from_ymd_opt(y, m, dd)
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
