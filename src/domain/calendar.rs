//! Working days in mainland China: weekends, State Council holidays (放假) and
//! make-up working days (调休上班). The calendar is data: the embedded file
//! covers the years published so far, and a user can add a year from a file.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use thiserror::Error;

use super::date::parse_date;

/// The State Council notices shipped with this release.
pub const EMBEDDED_HOLIDAYS: &str = include_str!("../../data/holidays-cn.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    Working,
    /// A Saturday or Sunday declared a working day (调休上班).
    MakeUpWorkday(String),
    Weekend,
    Holiday(String),
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::MakeUpWorkday(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    off: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    entries: BTreeMap<NaiveDate, Entry>,
    years: BTreeSet<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error(
        "holiday file {source_name}: {message} (expected [[day]] tables with date = \"YYYY-MM-DD\", name = \"春节\", off = true|false)"
    )]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error("holiday file {source_name}: {error}")]
    Date {
        source_name: String,
        error: super::date::DateError,
    },
    #[error("holiday file {source_name}: {date} is listed twice")]
    Duplicate {
        source_name: String,
        date: NaiveDate,
    },
    #[error(
        "holiday file {source_name}: {date} is a weekday, so it cannot be a make-up working day (off = false is only for a Saturday or Sunday)"
    )]
    WeekdayMakeUp {
        source_name: String,
        date: NaiveDate,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    day: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: String,
    name: String,
    off: bool,
}

/// Where a nominal send day moved to, and the days skipped on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub day: NaiveDate,
    pub skipped: Vec<(NaiveDate, DayKind)>,
}

impl Calendar {
    /// The calendar of the State Council notices shipped with this release.
    pub fn embedded() -> Calendar {
        Calendar::parse(EMBEDDED_HOLIDAYS, "(embedded)")
            .expect("the embedded holiday file is checked by a unit test")
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Calendar, CalendarError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| CalendarError::Syntax {
            source_name: source_name.to_owned(),
            message: e.message().to_owned(),
        })?;
        let mut calendar = Calendar::default();
        for day in raw.day {
            let date = parse_date("date", &day.date).map_err(|error| CalendarError::Date {
                source_name: source_name.to_owned(),
                error,
            })?;
            if !day.off && !is_weekend(date) {
                return Err(CalendarError::WeekdayMakeUp {
                    source_name: source_name.to_owned(),
                    date,
                });
            }
            let entry = Entry {
                name: day.name,
                off: day.off,
            };
            if calendar.entries.insert(date, entry).is_some() {
                return Err(CalendarError::Duplicate {
                    source_name: source_name.to_owned(),
                    date,
                });
            }
            calendar.years.insert(date.year());
        }
        Ok(calendar)
    }

    /// Adds the years of `other`. A year present in `other` replaces that year
    /// here as a whole: a newer notice is authoritative for its year.
    pub fn merge(&mut self, other: Calendar) {
        self.entries
            .retain(|date, _| !other.years.contains(&date.year()));
        self.entries.extend(other.entries);
        self.years.extend(other.years);
    }

    /// Whether the holidays of `year` are known. For an unknown year only
    /// weekends are days off, which may send a reminder on a holiday.
    pub fn knows_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        match self.entries.get(&date) {
            Some(Entry { name, off: true }) => DayKind::Holiday(name.clone()),
            Some(Entry { name, off: false }) => DayKind::MakeUpWorkday(name.clone()),
            None if is_weekend(date) => DayKind::Weekend,
            None => DayKind::Working,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.entries.get(&date) {
            Some(entry) => !entry.off,
            None => !is_weekend(date),
        }
    }

    /// `date` itself if it is a working day, else the closest working day
    /// before it: a reminder moves earlier, never later.
    pub fn previous_working_day(&self, date: NaiveDate) -> Shift {
        let mut day = date;
        let mut skipped = Vec::new();
        loop {
            let kind = self.day_kind(day);
            if kind.is_working() {
                return Shift { day, skipped };
            }
            skipped.push((day, kind));
            day = day.pred_opt().expect(
                "every year has working days, so the walk stops long before chrono's minimum",
            );
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests;
