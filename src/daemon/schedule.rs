//! When the daemon wakes: the configured cron in its time zone, and how far
//! ahead of today the register must be read for a tick.

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::config::Ticks;
use crate::domain::obligation::ANNUAL_REPORT_DUE;
use crate::domain::policy::{Policy, Schedule, StageAt};
use crate::store::DueWindow;

/// The first tick strictly after `after`, following the zone's daylight
/// saving rules (croner evaluates the pattern in the zone of the time given).
pub fn next_tick(ticks: &Ticks, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = after.with_timezone(&ticks.time_zone);
    ticks
        .cron
        .find_next_occurrence(&local, false)
        .ok()
        .map(|next| next.with_timezone(&Utc))
}

/// Room for a stage that a run of days off moves earlier (the longest
/// holiday block with its weekends spans under two weeks).
const SHIFT_ROOM: i64 = 21;

/// How far before its due day a schedule's earliest stage lies.
fn lead_days(schedule: &Schedule, fixed_due: Option<(u32, u32)>) -> i64 {
    let mut lead: i64 = 0;
    for stage in &schedule.stages {
        let before_due = match (*stage, fixed_due) {
            (StageAt::Days(days), _) => -days,
            // Annual reports are always due 31 March: measure the
            // fixed day against it in a common and a leap year.
            (StageAt::MonthDay(month, day), Some((due_month, due_day))) => [2023, 2024]
                .into_iter()
                .filter_map(|year| {
                    let stage = NaiveDate::from_ymd_opt(year, month, day)?;
                    let due = NaiveDate::from_ymd_opt(year, due_month, due_day)?;
                    Some((due - stage).num_days())
                })
                .max()
                .unwrap_or(366),
            (StageAt::MonthDay(..), None) => 366,
        };
        lead = lead.max(before_due);
    }
    lead + SHIFT_ROOM
}

/// How far after `today` each kind's due day can lie and still have a stage
/// to send today: that kind's earliest stage, plus the shift room. Each
/// kind its own: the renewal's −120 must not make the tick read every
/// licence's annual report from November on.
pub fn due_window(policy: &Policy, today: NaiveDate) -> DueWindow {
    let ahead =
        |schedule, fixed_due| today + Days::new(lead_days(schedule, fixed_due).unsigned_abs());
    DueWindow {
        renewal: ahead(&policy.renewal, None),
        annual_report: ahead(&policy.annual_report, Some(ANNUAL_REPORT_DUE)),
        change_filing: ahead(&policy.change_filing, None),
        number_activation: ahead(&policy.number_activation, None),
        number_outlives_licence: ahead(&policy.number_outlives_licence, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn default_ticks_are_0930_in_shanghai() {
        let config = Config::defaults();
        let next = |now| next_tick(&config.schedule, at(now));
        assert_eq!(
            next("2026-11-24T10:00:00+08:00"),
            Some(at("2026-11-25T09:30:00+08:00"))
        );
        assert_eq!(
            next("2026-11-24T09:29:59+08:00"),
            Some(at("2026-11-24T09:30:00+08:00"))
        );
        // Year end.
        assert_eq!(
            next("2026-12-31T09:30:00+08:00"),
            Some(at("2027-01-01T09:30:00+08:00"))
        );
    }

    #[test]
    fn a_zone_with_daylight_saving_keeps_local_time_across_the_change() {
        let mut config = Config::defaults();
        config.schedule.time_zone = chrono_tz::Europe::Berlin;
        let next = |now| next_tick(&config.schedule, at(now));
        // Summer time ends on 25 October 2026: 09:30 local is 07:30 UTC before
        // and 08:30 UTC after.
        assert_eq!(
            next("2026-10-24T12:00:00Z"),
            Some(at("2026-10-25T08:30:00Z"))
        );
        assert_eq!(
            next("2026-10-23T12:00:00Z"),
            Some(at("2026-10-24T07:30:00Z"))
        );
    }

    #[test]
    fn each_kind_is_read_as_far_as_its_own_earliest_stage() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let window = due_window(&Policy::default(), today);
        // Renewal −120, change filing −30, activation −60, outliving 0.
        assert_eq!(window.renewal, today + Days::new(141));
        assert_eq!(window.change_filing, today + Days::new(51));
        assert_eq!(window.number_activation, today + Days::new(81));
        assert_eq!(window.number_outlives_licence, today + Days::new(21));
        // Reports: 1 January is 89 days before 31 March in a common year,
        // 90 in a leap year. 2026's report (due 31 March 2027) is not read
        // in November.
        assert_eq!(window.annual_report, today + Days::new(111));
        assert!(window.annual_report < NaiveDate::from_ymd_opt(2027, 3, 31).unwrap());
    }
}
