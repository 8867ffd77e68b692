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

/// Every stage of `obligation` in order: the scheduled ones, and the overdue
/// repeats sent by `through` (they go on until the obligation is done).
pub fn stages(
    obligation: &Obligation,
    policy: &Policy,
    calendar: &Calendar,
    through: NaiveDate,
) -> Vec<Stage> {
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
    if let Some(every) = schedule.overdue_every_days.filter(|every| *every > 0) {
        let mut day = due;
        while let Some(next) = day.checked_add_days(Days::new(every.into())) {
            // A repeat due after `through` still counts if a day off moves
            // its send day back to `through` or earlier.
            if next > through && calendar.previous_working_day(next).day > through {
                break;
            }
            nominal_days.insert(next);
            day = next;
        }
    }
    nominal_days.extend(obligation.ends);
    nominal_days
        .into_iter()
        .filter(|day| *day >= obligation.opens && obligation.ends.is_none_or(|ends| *day <= ends))
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
        .collect()
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
