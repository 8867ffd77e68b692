use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::domain::change::ChangeKind;
use crate::domain::obligation::tests::{d, facts, number};
use crate::domain::obligation::{
    NumberFacts, change_obligation, licence_obligations, number_obligations,
};

fn renewal(expires: NaiveDate) -> Obligation {
    licence_obligations(
        &facts(d(2022, 1, 1), expires),
        d(2026, 1, 1),
        &Policy::default(),
    )
    .into_iter()
    .find(|o| o.kind == ObligationKind::Renewal)
    .unwrap()
}

fn annual_report(year: i32) -> Obligation {
    licence_obligations(
        &facts(d(2020, 1, 1), d(2030, 1, 1)),
        d(year + 1, 1, 1),
        &Policy::default(),
    )
    .into_iter()
    .find(|o| o.year == Some(year))
    .unwrap()
}

fn activation(allocated: NaiveDate) -> Obligation {
    number_obligations(
        &facts(d(2022, 1, 1), d(2030, 1, 1)),
        &number("95123", allocated),
        allocated,
        &Policy::default(),
    )
    .remove(0)
}

/// One line a stage: offset, nominal day, send day (when it moved) and severity.
fn render(stages: &[Stage]) -> String {
    stages
        .iter()
        .map(|s| {
            let moved = if s.send_on == s.nominal {
                String::new()
            } else {
                format!(" -> {}", s.send_on)
            };
            format!(
                "{:+} {}{} {}\n",
                s.offset,
                s.nominal,
                moved,
                s.severity.code()
            )
        })
        .collect()
}

static CALENDAR: std::sync::LazyLock<Calendar> = std::sync::LazyLock::new(Calendar::embedded);

/// The stages of `obligation` through `through`, under the default policy
/// and the embedded calendar.
fn default_stages(obligation: &Obligation, through: NaiveDate) -> Vec<Stage> {
    stages(obligation, &Policy::default(), &CALENDAR, through).stages
}

/// The plan of `obligations` on `today`, with no stage sent yet.
fn plan_fresh(obligations: &[Obligation], today: NaiveDate) -> Plan {
    plan_on(obligations, today, &HashSet::new())
}

fn plan_on(obligations: &[Obligation], today: NaiveDate, sent: &HashSet<(String, i64)>) -> Plan {
    plan(
        obligations,
        |o, offset| sent.contains(&(o.key.to_string(), offset)),
        today,
        &Policy::default(),
        &CALENDAR,
    )
}

#[test]
fn renewal_due_in_the_national_day_holiday_of_a_licence_expiring_1_january() {
    let renewal = renewal(d(2027, 1, 1));
    assert_eq!(renewal.due, d(2026, 10, 3));
    let stages = default_stages(&renewal, d(2026, 10, 31));
    assert_eq!(
        render(&stages),
        "-120 2026-06-05 info\n\
         -90 2026-07-05 -> 2026-07-03 info\n\
         -60 2026-08-04 info\n\
         -30 2026-09-03 warning\n\
         -14 2026-09-19 -> 2026-09-18 warning\n\
         -7 2026-09-26 -> 2026-09-24 warning\n\
         -1 2026-10-02 -> 2026-09-30 warning\n\
         +0 2026-10-03 -> 2026-09-30 critical\n\
         +7 2026-10-10 critical\n\
         +14 2026-10-17 -> 2026-10-16 critical\n\
         +21 2026-10-24 -> 2026-10-23 critical\n\
         +28 2026-10-31 -> 2026-10-30 critical\n\
         +90 2027-01-01 critical\n"
    );
}

#[test]
fn the_due_day_is_never_moved_only_the_send_day() {
    let renewal = renewal(d(2027, 1, 1));
    let plan = plan_fresh(&[renewal], d(2026, 9, 30));
    let alert = &plan.alerts[0];
    assert_eq!(alert.obligation.due, d(2026, 10, 3));
    assert_eq!(
        (alert.stage.offset, alert.stage.send_on),
        (0, d(2026, 9, 30))
    );
    assert_eq!(alert.days_left, 3);
    assert_eq!(alert.state, State::Open);
}

#[test]
fn renewal_stages_stop_at_expiry() {
    let renewal = renewal(d(2026, 6, 30));
    let stages = default_stages(&renewal, d(2027, 12, 31));
    let last = stages.last().unwrap();
    assert_eq!((last.offset, last.nominal), (90, d(2026, 6, 30)));
    assert!(stages.iter().all(|s| s.nominal <= d(2026, 6, 30)));
    assert!(
        plan_on(
            std::slice::from_ref(&renewal),
            d(2026, 8, 1),
            &HashSet::from([(renewal.key.to_string(), 90)])
        )
        .alerts
        .is_empty()
    );
}

#[test]
fn after_an_outage_only_the_newest_stage_is_sent() {
    let renewal = renewal(d(2027, 1, 1));
    let plan = plan_fresh(&[renewal], d(2026, 9, 21));
    assert_eq!(plan.alerts.len(), 1);
    assert_eq!(plan.alerts[0].stage.offset, -14);
}

#[test]
fn a_stage_already_sent_is_not_sent_again_and_older_ones_are_not_backfilled() {
    let renewal = renewal(d(2027, 1, 1));
    let sent = HashSet::from([(renewal.key.to_string(), -14)]);
    assert!(
        plan_on(std::slice::from_ref(&renewal), d(2026, 9, 21), &sent)
            .alerts
            .is_empty()
    );
    assert_eq!(
        plan_on(&[renewal], d(2026, 9, 24), &sent).alerts[0]
            .stage
            .offset,
        -7
    );
}

#[test]
fn nothing_before_the_first_stage() {
    let renewal = renewal(d(2027, 1, 1));
    assert!(
        plan_fresh(std::slice::from_ref(&renewal), d(2026, 6, 4))
            .alerts
            .is_empty()
    );
    assert_eq!(
        plan_fresh(&[renewal], d(2026, 6, 5)).alerts[0].stage.offset,
        -120
    );
}

#[test]
fn annual_report_first_and_last_day_of_the_window() {
    let calendar = Calendar::embedded();
    let policy = Policy::default();
    // 2025 report: 1 January 2026 is a holiday, so the first reminder goes out
    // on 31 December; 1 March is a Sunday after a make-up working Saturday;
    // 31 March 2026 is a Tuesday; 5 May falls in the Labour Day holiday, so
    // that repeat is already sent on 30 April.
    let stages_2025 = stages(&annual_report(2025), &policy, &calendar, d(2026, 4, 30)).stages;
    assert_eq!(
        render(&stages_2025),
        "-89 2026-01-01 -> 2025-12-31 info\n\
         -30 2026-03-01 -> 2026-02-28 info\n\
         -14 2026-03-17 warning\n\
         -7 2026-03-24 warning\n\
         -3 2026-03-28 -> 2026-03-27 warning\n\
         -1 2026-03-30 warning\n\
         +0 2026-03-31 critical\n\
         +7 2026-04-07 critical\n\
         +14 2026-04-14 critical\n\
         +21 2026-04-21 critical\n\
         +28 2026-04-28 critical\n\
         +35 2026-05-05 -> 2026-04-30 critical\n"
    );
    // 2023 report, leap year: 1 January is 90 days before 31 March, and
    // 31 March 2024 is a Sunday.
    let stages_2023 = stages(&annual_report(2023), &policy, &calendar, d(2024, 3, 31)).stages;
    assert_eq!(
        (
            stages_2023[0].offset,
            stages_2023[0].nominal,
            stages_2023[0].send_on
        ),
        (-90, d(2024, 1, 1), d(2023, 12, 29))
    );
    let last = stages_2023.last().unwrap();
    assert_eq!((last.offset, last.send_on), (0, d(2024, 3, 29)));
}

#[test]
fn a_stage_on_a_make_up_sunday_is_sent_that_sunday() {
    let facts = facts(d(2022, 1, 1), d(2030, 1, 1));
    let change = change_obligation(
        &facts,
        1,
        ChangeKind::Address,
        d(2025, 12, 5),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(change.due, d(2026, 1, 4));
    let plan = plan_fresh(&[change], d(2026, 1, 4));
    assert_eq!(
        (plan.alerts[0].stage.offset, plan.alerts[0].stage.send_on),
        (0, d(2026, 1, 4))
    );
}

#[test]
fn spring_festival_block_moves_stages_to_the_make_up_saturday() {
    let activation = activation(d(2025, 8, 20));
    assert_eq!(activation.due, d(2026, 2, 20));
    let stages = default_stages(&activation, d(2026, 2, 20));
    assert_eq!(
        render(&stages),
        "-60 2025-12-22 info\n\
         -30 2026-01-21 warning\n\
         -14 2026-02-06 warning\n\
         -7 2026-02-13 warning\n\
         -1 2026-02-19 -> 2026-02-14 warning\n\
         +0 2026-02-20 -> 2026-02-14 critical\n"
    );
}

#[test]
fn activation_due_on_29_february() {
    let activation = activation(d(2023, 8, 31));
    assert_eq!(activation.due, d(2024, 2, 29));
    let plan = plan_fresh(&[activation], d(2024, 2, 29));
    assert_eq!(plan.alerts[0].stage.offset, 0);
}

#[test]
fn a_number_outliving_its_licence_is_critical_every_day() {
    let mut facts = facts(d(2022, 1, 1), d(2030, 1, 1));
    facts.ended_on = Some(d(2026, 3, 2));
    let number = NumberFacts {
        activated_on: Some(d(2023, 2, 1)),
        ..number("961234", d(2023, 1, 1))
    };
    let outlives = number_obligations(&facts, &number, d(2026, 3, 2), &Policy::default());
    let stages = default_stages(&outlives[0], d(2026, 3, 5));
    assert_eq!(
        render(&stages),
        "+0 2026-03-02 critical\n+1 2026-03-03 critical\n+2 2026-03-04 critical\n+3 2026-03-05 critical\n"
    );
}

#[test]
fn snoozed_obligations_wait_until_the_snooze_ends() {
    let mut renewal = renewal(d(2027, 1, 1));
    renewal.snoozed_until = Some(d(2026, 9, 24));
    assert!(
        plan_fresh(std::slice::from_ref(&renewal), d(2026, 9, 23))
            .alerts
            .is_empty()
    );
    assert_eq!(
        plan_fresh(&[renewal], d(2026, 9, 24)).alerts[0]
            .stage
            .offset,
        -7
    );
}

#[test]
fn a_year_without_holiday_data_is_reported_once() {
    let a = renewal(d(2027, 12, 31));
    let b = annual_report(2026);
    let plan = plan_fresh(&[a, b], d(2027, 10, 4));
    assert_eq!(plan.alerts.len(), 2);
    assert_eq!(plan.problems, vec![Problem::HolidaysUnknown { year: 2027 }]);
}

#[test]
fn alerts_come_out_soonest_due_first() {
    let late = renewal(d(2027, 1, 1));
    let early = annual_report(2025);
    let plan = plan_fresh(&[late, early], d(2026, 9, 30));
    let dues: Vec<_> = plan.alerts.iter().map(|a| a.obligation.due).collect();
    assert_eq!(dues, vec![d(2026, 3, 31), d(2026, 10, 3)]);
}

fn any_obligation() -> impl Strategy<Value = Obligation> {
    let day = (0i64..3 * 365).prop_map(|n| d(2024, 1, 1) + chrono::Duration::days(n));
    (0usize..4, day).prop_map(|(kind, day)| match kind {
        0 => renewal(day),
        1 => activation(day),
        2 => {
            let facts = facts(d(2022, 1, 1), d(2030, 1, 1));
            change_obligation(&facts, 3, ChangeKind::Capital, day, &Policy::default()).unwrap()
        }
        _ => annual_report(2024 + (day.ordinal0() % 3) as i32),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ticking once a day from before the first stage to long after the due
    /// day: each stage goes out on its send day, a working day on or before
    /// its nominal day, exactly once, unless a newer stage shares that send
    /// day; planning again the same day yields nothing.
    #[test]
    fn daily_ticks_send_each_stage_once_on_its_working_day(obligation in any_obligation()) {
        let calendar = Calendar::embedded();
        let policy = Policy::default();
        let first_send = stages(&obligation, &policy, &calendar, obligation.opens).stages[0].send_on;
        let first = first_send - chrono::Duration::days(5);
        let last = obligation.ends.unwrap_or(obligation.due) + chrono::Duration::days(60);
        let mut sent: HashSet<(String, i64)> = HashSet::new();
        let mut sent_on = Vec::new();
        let mut today = first;
        while today <= last {
            let plan = plan_on(std::slice::from_ref(&obligation), today, &sent);
            prop_assert!(plan.alerts.len() <= 1);
            for alert in &plan.alerts {
                prop_assert_eq!(alert.stage.send_on, today);
                prop_assert!(alert.stage.send_on <= alert.stage.nominal);
                prop_assert!(calendar.is_working_day(today) || !calendar.knows_year(today.year()));
                prop_assert!(sent.insert((obligation.key.to_string(), alert.stage.offset)));
                sent_on.push((alert.stage.offset, today));
            }
            prop_assert!(plan_on(std::slice::from_ref(&obligation), today, &sent).alerts.is_empty());
            today = today.succ_opt().unwrap();
        }
        let all = stages(&obligation, &policy, &calendar, last).stages;
        for stage in all.iter().filter(|stage| stage.send_on <= last) {
            let superseded = all.iter().any(|newer| newer.offset > stage.offset && newer.send_on == stage.send_on);
            let was_sent = sent_on.contains(&(stage.offset, stage.send_on));
            prop_assert_eq!(was_sent, !superseded, "stage {:?}", stage);
        }
    }
}

/// Every stage up to `through`, found the way `stages` once found them (a
/// walk over every overdue repeat): the model the bounded one is held to.
fn every_stage(
    obligation: &Obligation,
    policy: &Policy,
    calendar: &Calendar,
    through: NaiveDate,
) -> Vec<NaiveDate> {
    let schedule = schedule(policy, obligation.kind);
    let due = obligation.due;
    let mut days = BTreeSet::new();
    for at in &schedule.stages {
        days.extend(match *at {
            StageAt::Days(offset) => due.checked_add_signed(chrono::Duration::days(offset)),
            StageAt::MonthDay(month, day) => NaiveDate::from_ymd_opt(due.year(), month, day),
        });
    }
    if let Some(every) = schedule.overdue_every_days.filter(|every| *every > 0) {
        let mut day = due;
        while let Some(next) = day.checked_add_days(Days::new(every.into())) {
            if next > through && calendar.previous_working_day(next).day > through {
                break;
            }
            days.insert(next);
            day = next;
        }
    }
    days.extend(obligation.ends);
    days.into_iter()
        .filter(|day| *day >= obligation.opens && obligation.ends.is_none_or(|ends| *day <= ends))
        .collect()
}

/// Issue 13: at `--today 9999-12-31` a number's daily overdue repeat made
/// 2.9 million stages (17 s, 300 MB) for one obligation.
#[test]
fn stages_far_in_the_future_are_bounded_and_counted() {
    let obligation = activation(d(2022, 4, 1));
    let mut policy = Policy::default();
    policy.number_activation.overdue_every_days = Some(1);
    let through = d(9999, 12, 31);
    let all = stages(&obligation, &policy, &CALENDAR, through);
    let schedule = schedule(&policy, obligation.kind);
    assert!(
        all.stages.len() <= schedule.stages.len() + 1 + 2 * REPEATS_KEPT,
        "{} stages",
        all.stages.len()
    );
    // The newest repeat is the last one sent by `through`: 9999-12-31 is
    // a Friday, so the weekend's two repeats are sent on it too.
    let last = all.stages.last().unwrap();
    assert_eq!(last.nominal, d(10000, 1, 2));
    assert_eq!(last.send_on, through);
    // Every day from the due day's next to the last is a repeat.
    let repeats = (last.nominal - obligation.due).num_days() as usize;
    assert_eq!(all.omitted + 2 * REPEATS_KEPT, repeats);
    let plan = plan(
        std::slice::from_ref(&obligation),
        |_, _| false,
        through,
        &policy,
        &CALENDAR,
    );
    assert_eq!(plan.alerts[0].stage.offset, repeats as i64);
}

fn any_policy() -> impl Strategy<Value = Policy> {
    (1u32..=30).prop_map(|every| {
        let mut policy = Policy::default();
        for schedule in [
            &mut policy.renewal,
            &mut policy.annual_report,
            &mut policy.change_filing,
            &mut policy.number_activation,
            &mut policy.number_outlives_licence,
        ] {
            schedule.overdue_every_days = Some(every);
        }
        policy
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The bounded stages are the full list with only overdue repeats left
    /// out, as many as `omitted` says, never more than the schedule and
    /// `REPEATS_KEPT` at each end made; and the newest stage sent by
    /// `through`, the one `plan` sends, is the same.
    #[test]
    fn bounded_stages_are_the_full_list_less_counted_middle_repeats(
        obligation in any_obligation(),
        policy in any_policy(),
        years in 0i64..40,
        days in 0i64..366,
    ) {
        let through = obligation.due + chrono::Duration::days(years * 365 + days);
        let full = every_stage(&obligation, &policy, &CALENDAR, through);
        let bounded = stages(&obligation, &policy, &CALENDAR, through);
        let shown: Vec<NaiveDate> = bounded.stages.iter().map(|s| s.nominal).collect();
        prop_assert_eq!(shown.len() + bounded.omitted, full.len());
        let scheduled = schedule(&policy, obligation.kind).stages.len();
        prop_assert!(shown.len() <= scheduled + 1 + 2 * REPEATS_KEPT);
        // In order, a subsequence of the full list.
        let mut rest = full.iter();
        for day in &shown {
            prop_assert!(rest.any(|d| d == day), "{} not in order in the full list", day);
        }
        // What is left out is the middle of the repeats: the first and the
        // last REPEATS_KEPT of them are all there.
        let every = i64::from(policy.renewal.overdue_every_days.unwrap());
        let repeats: Vec<NaiveDate> = full
            .iter()
            .copied()
            .filter(|day| *day > obligation.due && (*day - obligation.due).num_days() % every == 0)
            .collect();
        let ends = repeats.len().min(REPEATS_KEPT);
        for day in repeats[..ends].iter().chain(&repeats[repeats.len() - ends..]) {
            prop_assert!(shown.contains(day), "repeat {} left out", day);
        }
        let newest = |days: &[NaiveDate]| {
            days.iter().rev().copied().find(|day| CALENDAR.previous_working_day(*day).day <= through)
        };
        prop_assert_eq!(newest(&shown), newest(&full));
    }
}
