//! Planning what to send: for each open obligation, which reminder stage is
//! due today, moved to a working day.
//!
//! Architecture invariant: pure. No I/O, no clock, no store; `today`, the
//! policy, the calendar and what was already sent are arguments.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate};

use crate::domain::calendar::{Calendar, DayKind};
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::domain::policy::{Policy, Schedule, StageAt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The severity whose code is `text`.
    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|severity| severity.code() == text)
    }
}

/// One reminder of an obligation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Days relative to the due day: the stage's identity within its obligation.
    pub offset: i64,
    /// The day the schedule names.
    pub nominal: NaiveDate,
    /// The working day on or before `nominal` when it is sent.
    pub send_on: NaiveDate,
    /// Why `send_on` differs from `nominal`: the days off in between.
    pub skipped: Vec<(NaiveDate, DayKind)>,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub obligation: Obligation,
    pub stage: Stage,
    pub state: State,
    pub days_left: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// No holiday data for this year: only weekends were skipped, so a
    /// reminder may fall on a public holiday.
    HolidaysUnknown { year: i32 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub alerts: Vec<Alert>,
    pub problems: Vec<Problem>,
}

fn schedule(policy: &Policy, kind: ObligationKind) -> &Schedule {
    match kind {
        ObligationKind::Renewal => &policy.renewal,
        ObligationKind::AnnualReport => &policy.annual_report,
        ObligationKind::ChangeFiling => &policy.change_filing,
        ObligationKind::NumberActivation => &policy.number_activation,
        ObligationKind::NumberOutlivesLicence => &policy.number_outlives_licence,
    }
}

/// How many overdue repeats [`stages`] gives at each end of their run.
pub const REPEATS_KEPT: usize = 30;

/// An obligation's stages in order, the overdue repeats in the middle of a
/// long run left out and counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    pub stages: Vec<Stage>,
    /// The overdue repeats left out between the first [`REPEATS_KEPT`] and
    /// the last [`REPEATS_KEPT`].
    pub omitted: usize,
}

/// The overdue repeats of an obligation as a run of multiples: the k-th
/// repeat falls `k * every` days after the due day, for k in `first..=last`.
struct Repeats {
    due: NaiveDate,
    every: u32,
    first: u64,
    last: u64,
}

impl Repeats {
    /// The repeats sent by `through` (they go on until the obligation is
    /// done), within the days the obligation is open. Found by arithmetic,
    /// not by walking them: at `--today 9999-12-31` a daily repeat has
    /// 2.9 million (issue 13).
    fn new(
        obligation: &Obligation,
        every: u32,
        calendar: &Calendar,
        through: NaiveDate,
    ) -> Repeats {
        let due = obligation.due;
        let step = i64::from(every);
        let days_after = |day: NaiveDate| (day - due).num_days();
        let day = |k: u64| due.checked_add_days(Days::new(k.checked_mul(u64::from(every))?));
        // Every repeat due by `through` is sent; one due after it still
        // counts if a day off moves its send day back to `through` or
        // earlier.
        let mut last = u64::try_from(days_after(through).max(0) / step).unwrap_or(0);
        while let Some(next) = day(last + 1) {
            if next > through && calendar.previous_working_day(next).day > through {
                break;
            }
            last += 1;
        }
        if let Some(ends) = obligation.ends {
            let by_end = u64::try_from(days_after(ends).max(0) / step).unwrap_or(0);
            last = last.min(by_end);
        }
        let opens_after = days_after(obligation.opens);
        let first = u64::try_from(opens_after.max(0))
            .unwrap_or(0)
            .div_ceil(u64::from(every))
            .max(1);
        Repeats {
            due,
            every,
            first,
            last,
        }
    }

    fn day(&self, k: u64) -> Option<NaiveDate> {
        self.due
            .checked_add_days(Days::new(k.checked_mul(u64::from(self.every))?))
    }

    /// The repeat falling on `day`, if one does.
    fn index_of(&self, day: NaiveDate) -> Option<u64> {
        let after = u64::try_from((day - self.due).num_days()).ok()?;
        (after % u64::from(self.every) == 0).then_some(after / u64::from(self.every))
    }
}

/// Every stage of `obligation` in order: the scheduled ones, and the overdue
/// repeats sent by `through`, of which at most [`REPEATS_KEPT`] at each end
/// of their run are made; the rest are only counted. So the work is bounded
/// by the schedule, whatever `through` is.
pub fn stages(
    obligation: &Obligation,
    policy: &Policy,
    calendar: &Calendar,
    through: NaiveDate,
) -> Stages {
    let schedule = schedule(policy, obligation.kind);
    let due = obligation.due;
    let mut nominal_days = BTreeSet::new();
    for at in &schedule.stages {
        let day = match *at {
            StageAt::Days(offset) => due.checked_add_signed(chrono::Duration::days(offset)),
            StageAt::MonthDay(month, day) => NaiveDate::from_ymd_opt(due.year(), month, day),
        };
        nominal_days.extend(day);
    }
    nominal_days.extend(obligation.ends);
    let within = |day: &NaiveDate| {
        *day >= obligation.opens && obligation.ends.is_none_or(|ends| *day <= ends)
    };
    nominal_days.retain(within);
    let mut omitted = 0;
    if let Some(every) = schedule.overdue_every_days.filter(|every| *every > 0) {
        let repeats = Repeats::new(obligation, every, calendar, through);
        let kept = REPEATS_KEPT as u64;
        let count = (repeats.last + 1).saturating_sub(repeats.first);
        let (head_end, tail_start) = if count > 2 * kept {
            (repeats.first + kept, repeats.last + 1 - kept)
        } else {
            (repeats.last + 1, repeats.last + 1)
        };
        // A scheduled day that is also a left-out repeat is shown anyway.
        let shown_anyway = nominal_days
            .iter()
            .filter_map(|day| repeats.index_of(*day))
            .filter(|k| (head_end..tail_start).contains(k))
            .count();
        omitted = usize::try_from(tail_start - head_end).unwrap_or(usize::MAX) - shown_anyway;
        for k in (repeats.first..head_end).chain(tail_start..=repeats.last) {
            nominal_days.extend(repeats.day(k));
        }
    }
    let stages = nominal_days
        .into_iter()
        .map(|nominal| {
            let offset = (nominal - due).num_days();
            let shift = calendar.previous_working_day(nominal);
            let severity = if offset >= 0 || obligation.ends == Some(nominal) {
                Severity::Critical
            } else if offset >= schedule.warning_from_days {
                Severity::Warning
            } else {
                Severity::Info
            };
            Stage {
                offset,
                nominal,
                send_on: shift.day,
                skipped: shift.skipped,
                severity,
            }
        })
        .collect();
    Stages { stages, omitted }
}

/// The alerts to send today: for each open obligation, the newest stage whose
/// send day has come and that `was_sent` does not know. After an outage that
/// is the newest stage alone, not a backlog of stale ones.
pub fn plan(
    obligations: &[Obligation],
    was_sent: impl Fn(&Obligation, i64) -> bool,
    today: NaiveDate,
    policy: &Policy,
    calendar: &Calendar,
) -> Plan {
    let mut alerts = Vec::new();
    let mut unknown_years = BTreeSet::new();
    for obligation in obligations {
        if obligation.snoozed_until.is_some_and(|until| today < until) {
            continue;
        }
        let Some(stage) = stages(obligation, policy, calendar, today)
            .stages
            .into_iter()
            .rfind(|stage| stage.send_on <= today)
        else {
            continue;
        };
        if was_sent(obligation, stage.offset) {
            continue;
        }
        for year in [stage.nominal.year(), stage.send_on.year()] {
            if !calendar.knows_year(year) {
                unknown_years.insert(year);
            }
        }
        alerts.push(Alert {
            state: obligation.state(today),
            days_left: obligation.days_left(today),
            obligation: obligation.clone(),
            stage,
        });
    }
    alerts.sort_by(|a, b| {
        (a.obligation.due, a.obligation.kind, &a.obligation.key).cmp(&(
            b.obligation.due,
            b.obligation.kind,
            &b.obligation.key,
        ))
    });
    Plan {
        alerts,
        problems: unknown_years
            .into_iter()
            .map(|year| Problem::HolidaysUnknown { year })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
