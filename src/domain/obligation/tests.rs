use proptest::prelude::*;

use super::*;

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// Licence 京B2-20201234 of a Beijing company, with no renewal, report or
/// end recorded.
pub(crate) fn facts(issued: NaiveDate, expires: NaiveDate) -> LicenceFacts {
    LicenceFacts {
        licence: "京B2-20201234".parse().unwrap(),
        company: "北京示例呼叫中心有限公司".into(),
        authority: "北京市通信管理局".into(),
        issued,
        expires,
        ended_on: None,
        renewal: None,
        reports: vec![],
    }
}

/// A number allocated on `allocated`, not yet in service.
pub(crate) fn number(text: &str, allocated: NaiveDate) -> NumberFacts {
    NumberFacts {
        province: None,
        number: text.parse().unwrap(),
        allocated,
        activated_on: None,
        released_on: None,
    }
}

fn kinds(obligations: &[Obligation]) -> Vec<(ObligationKind, NaiveDate)> {
    obligations.iter().map(|o| (o.kind, o.due)).collect()
}

#[test]
fn renewal_is_due_90_days_before_expiry_and_opens_210_days_before() {
    let policy = Policy::default();
    let licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    let all = licence_obligations(&licence, d(2026, 11, 24), &policy);
    let renewal = all
        .iter()
        .find(|o| o.kind == ObligationKind::Renewal)
        .unwrap();
    assert_eq!(renewal.due, d(2027, 4, 1));
    assert_eq!(renewal.opens, d(2026, 12, 2));
    assert_eq!(renewal.ends, Some(d(2027, 6, 30)));
    assert_eq!(renewal.key, "renewal/京B2-20201234/2027-06-30");
}

#[test]
fn renewal_edges_across_leap_days_and_year_ends() {
    let policy = Policy::default();
    assert_eq!(renewal_due(d(2024, 5, 29), &policy), d(2024, 2, 29));
    assert_eq!(renewal_due(d(2025, 5, 29), &policy), d(2025, 2, 28));
    assert_eq!(renewal_due(d(2027, 1, 1), &policy), d(2026, 10, 3));
    assert_eq!(renewal_due(d(2026, 3, 31), &policy), d(2025, 12, 31));
    assert_eq!(renewal_due(d(2028, 3, 30), &policy), d(2027, 12, 31));
}

#[test]
fn renewal_states_open_overdue_expired() {
    let policy = Policy::default();
    let licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    let renewal = licence_obligations(&licence, d(2026, 11, 24), &policy).remove(0);
    assert_eq!(renewal.state(d(2027, 4, 1)), State::Open);
    assert_eq!(renewal.days_left(d(2027, 4, 1)), 0);
    assert_eq!(renewal.state(d(2027, 4, 2)), State::Overdue);
    assert_eq!(renewal.days_left(d(2027, 4, 2)), -1);
    assert_eq!(renewal.state(d(2027, 6, 30)), State::Overdue);
    assert_eq!(renewal.state(d(2027, 7, 1)), State::Expired);
}

#[test]
fn no_renewal_once_marked_or_when_the_licence_ended_early() {
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    let mut licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    licence.renewal = Some(RenewalMark {
        on: d(2026, 12, 1),
        continuing: false,
    });
    assert!(
        licence_obligations(&licence, today, &policy)
            .iter()
            .all(|o| o.kind != ObligationKind::Renewal)
    );
    licence.renewal = None;
    licence.ended_on = Some(d(2026, 8, 1));
    assert!(
        licence_obligations(&licence, today, &policy)
            .iter()
            .all(|o| o.kind != ObligationKind::Renewal)
    );
}

#[test]
fn annual_report_window_is_1_january_to_31_march_of_the_next_year() {
    assert_eq!(annual_report_window(2025), (d(2026, 1, 1), d(2026, 3, 31)));
    assert_eq!(annual_report_window(2027), (d(2028, 1, 1), d(2028, 3, 31)));
}

#[test]
fn annual_reports_are_due_for_every_year_the_licence_was_valid() {
    let policy = Policy::default();
    // Issued mid-2025: the 2025 report (due 2026-03-31) and the running 2026 one.
    let licence = facts(d(2025, 12, 31), d(2030, 12, 30));
    let reports: Vec<_> = licence_obligations(&licence, d(2026, 11, 24), &policy)
        .into_iter()
        .filter(|o| o.kind == ObligationKind::AnnualReport)
        .map(|o| (o.year.unwrap(), o.opens, o.due))
        .collect();
    assert_eq!(
        reports,
        vec![
            (2025, d(2026, 1, 1), d(2026, 3, 31)),
            (2026, d(2027, 1, 1), d(2027, 3, 31))
        ]
    );
}

#[test]
fn a_licence_issued_on_1_january_owes_no_report_for_the_year_before() {
    let policy = Policy::default();
    let licence = facts(d(2026, 1, 1), d(2030, 12, 31));
    let years: Vec<_> = licence_obligations(&licence, d(2026, 1, 1), &policy)
        .into_iter()
        .filter_map(|o| o.year)
        .collect();
    assert_eq!(years, vec![2026]);
}

/// Issue 19: a report on year Y is owed only by a licence still in force on
/// 1 January Y+1; an expired or ended licence is not chased for a year it
/// did not finish.
#[test]
fn issue_19_a_report_is_owed_only_by_a_licence_in_force_on_1_january_after() {
    let policy = Policy::default();
    let years = |licence: &LicenceFacts| -> Vec<i32> {
        licence_obligations(licence, d(2026, 2, 1), &policy)
            .into_iter()
            .filter_map(|o| o.year)
            .collect()
    };
    let mut licence = facts(d(2021, 1, 1), d(2025, 12, 31));
    // Expiring on 31 December 2025: out of force on 1 January 2026.
    assert_eq!(years(&licence), vec![2024]);
    // Ended on 1 January 2025: in force that day, so 2024 is owed.
    licence.ended_on = Some(d(2025, 1, 1));
    assert_eq!(years(&licence), vec![2024]);
    // Ended on 31 December 2024: neither 2024 nor 2025.
    licence.ended_on = Some(d(2024, 12, 31));
    assert_eq!(years(&licence), Vec::<i32>::new());
    // Valid into 2026: 2024 and 2025 (the lookback), and 2026 ahead.
    let licence = facts(d(2021, 1, 1), d(2026, 1, 1));
    assert_eq!(years(&licence), vec![2024, 2025]);
    // Issued on 31 December 2025: owes 2025.
    let licence = facts(d(2025, 12, 31), d(2030, 12, 30));
    assert_eq!(years(&licence), vec![2025, 2026]);
    // (issued, last day, year, owed, may be filed)
    for (issued, last, year, owed, may) in [
        (d(2025, 12, 31), d(2026, 1, 1), 2025, true, true),
        (d(2026, 1, 1), d(2030, 12, 31), 2025, false, false),
        (d(2021, 1, 1), d(2025, 12, 31), 2025, false, true),
        (d(2021, 1, 1), d(2025, 1, 1), 2025, false, true),
        (d(2021, 1, 1), d(2024, 12, 31), 2025, false, false),
        (d(2021, 1, 1), d(2026, 1, 1), 2025, true, true),
    ] {
        assert_eq!(
            annual_report_owed(issued, last, year),
            owed,
            "{issued} {last} {year}"
        );
        assert_eq!(
            annual_report_may_be_filed(issued, last, year),
            may,
            "{issued} {last} {year}"
        );
    }
}

#[test]
fn filed_reports_close_their_year_and_lookback_limits_the_chase() {
    let policy = Policy::default();
    let mut licence = facts(d(2015, 1, 1), d(2030, 1, 1));
    licence.reports = vec![ReportFiled {
        year: 2025,
        carried_out: true,
    }];
    let years: Vec<_> = licence_obligations(&licence, d(2026, 11, 24), &policy)
        .into_iter()
        .filter_map(|o| o.year)
        .collect();
    // 2024 is the one year of lookback; 2025 is filed; 2026 is running.
    assert_eq!(years, vec![2024, 2026]);
}

#[test]
fn not_carried_out_streak_counts_consecutive_latest_years() {
    let r = |year, carried_out| ReportFiled { year, carried_out };
    assert_eq!(not_carried_out_streak(&[]), 0);
    assert_eq!(not_carried_out_streak(&[r(2025, true)]), 0);
    assert_eq!(not_carried_out_streak(&[r(2025, false)]), 1);
    assert_eq!(not_carried_out_streak(&[r(2024, false), r(2025, false)]), 2);
    assert_eq!(
        not_carried_out_streak(&[r(2025, false), r(2024, true), r(2023, false)]),
        1
    );
    // A gap (2024 unfiled) breaks the run.
    assert_eq!(not_carried_out_streak(&[r(2025, false), r(2023, false)]), 1);
    assert_eq!(not_carried_out_streak(&[r(2025, true), r(2024, false)]), 0);
}

#[test]
fn annual_reports_carry_the_streak_as_a_note() {
    let policy = Policy::default();
    let mut licence = facts(d(2020, 1, 1), d(2030, 1, 1));
    licence.reports = vec![
        ReportFiled {
            year: 2024,
            carried_out: false,
        },
        ReportFiled {
            year: 2025,
            carried_out: false,
        },
    ];
    let report = licence_obligations(&licence, d(2026, 11, 24), &policy)
        .into_iter()
        .find(|o| o.year == Some(2026))
        .unwrap();
    assert_eq!(report.note, Some(Note::NotCarriedOut { years: 2 }));
}

#[test]
fn change_filing_is_due_30_days_after_the_change() {
    let policy = Policy::default();
    let licence = facts(d(2022, 1, 1), d(2026, 12, 31));
    let cases = [
        (d(2026, 1, 30), d(2026, 3, 1)),
        (d(2024, 1, 30), d(2024, 2, 29)),
        (d(2025, 12, 15), d(2026, 1, 14)),
        (d(2026, 12, 31), d(2027, 1, 30)),
    ];
    for (changed, due) in cases {
        let change = change_obligation(&licence, 7, ChangeKind::Name, changed, &policy).unwrap();
        assert_eq!((change.opens, change.due), (changed, due));
        assert_eq!(change.key, "change_filing/京B2-20201234/7");
    }
}

#[test]
fn an_ended_licence_owes_no_renewal_and_no_change_filing_even_if_ended_after_expiry() {
    let policy = Policy::default();
    let mut licence = facts(d(2021, 1, 1), d(2025, 12, 31));
    licence.ended_on = Some(d(2026, 2, 1));
    let today = d(2026, 3, 1);
    assert!(
        licence_obligations(&licence, today, &policy)
            .iter()
            .all(|o| o.kind != ObligationKind::Renewal)
    );
    assert_eq!(
        change_obligation(&licence, 1, ChangeKind::Address, d(2025, 12, 1), &policy),
        None
    );
}

#[test]
fn a_number_released_after_its_licence_ended_closes_the_problem() {
    let policy = Policy::default();
    let mut licence = facts(d(2021, 1, 1), d(2026, 12, 31));
    licence.ended_on = Some(d(2026, 3, 1));
    let mut n = number("95123", d(2023, 1, 1));
    n.activated_on = Some(d(2023, 2, 1));
    assert_eq!(
        number_obligations(&licence, &n, d(2026, 3, 10), &policy).len(),
        1
    );
    n.released_on = Some(d(2026, 3, 12));
    assert_eq!(
        number_obligations(&licence, &n, d(2026, 3, 10), &policy).len(),
        1
    );
    assert!(number_obligations(&licence, &n, d(2026, 3, 12), &policy).is_empty());
}

#[test]
fn activation_is_due_six_calendar_months_after_allocation_clamped_to_month_end() {
    let policy = Policy::default();
    assert_eq!(activation_due(d(2025, 8, 31), &policy), d(2026, 2, 28));
    assert_eq!(activation_due(d(2023, 8, 31), &policy), d(2024, 2, 29));
    assert_eq!(activation_due(d(2025, 7, 15), &policy), d(2026, 1, 15));
    assert_eq!(activation_due(d(2026, 6, 30), &policy), d(2026, 12, 30));
    assert_eq!(activation_due(d(2025, 12, 31), &policy), d(2026, 6, 30));
}

#[test]
fn number_obligations_follow_activation_release_and_renewal() {
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    let mut licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    let mut n = number("95123", d(2026, 10, 31));
    assert_eq!(
        kinds(&number_obligations(&licence, &n, today, &policy)),
        vec![
            (ObligationKind::NumberActivation, d(2027, 4, 30)),
            (ObligationKind::NumberOutlivesLicence, d(2027, 6, 30)),
        ]
    );
    n.activated_on = Some(d(2026, 11, 20));
    assert_eq!(
        kinds(&number_obligations(&licence, &n, today, &policy)),
        vec![(ObligationKind::NumberOutlivesLicence, d(2027, 6, 30))]
    );
    // A renewal under way silences the outlives obligation until expiry passes.
    licence.renewal = Some(RenewalMark {
        on: d(2027, 1, 5),
        continuing: true,
    });
    assert!(number_obligations(&licence, &n, today, &policy).is_empty());
    assert_eq!(
        number_obligations(&licence, &n, d(2027, 7, 1), &policy).len(),
        1
    );
    // Not continuing: the numbers must go before expiry.
    licence.renewal = Some(RenewalMark {
        on: d(2027, 1, 5),
        continuing: false,
    });
    assert_eq!(number_obligations(&licence, &n, today, &policy).len(), 1);
    // Released before the licence ends: nothing left from that day.
    n.released_on = Some(d(2027, 6, 1));
    assert!(number_obligations(&licence, &n, d(2027, 6, 1), &policy).is_empty());
}

#[test]
fn a_number_outlives_a_licence_that_ended_early_from_that_day() {
    let policy = Policy::default();
    let mut licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    licence.ended_on = Some(d(2026, 11, 1));
    let n = number("10101234", d(2023, 1, 1));
    let obligations = number_obligations(&licence, &n, d(2026, 11, 24), &policy);
    assert_eq!(
        kinds(&obligations),
        vec![(ObligationKind::NumberOutlivesLicence, d(2026, 11, 1))]
    );
    assert_eq!(
        obligations[0].key,
        "number_outlives_licence/京B2-20201234/10101234/2026-11-01"
    );
}

/// Found while writing the soak's model (issue 8): a number released after its licence
/// had ended stayed "still held" in `explain` and `licence show`, though the
/// agenda and the daemon had dropped it.
#[test]
fn issue_8_a_number_released_after_its_licence_ended_is_no_longer_open() {
    let policy = Policy::default();
    let mut licence = facts(d(2022, 7, 1), d(2027, 6, 30));
    licence.ended_on = Some(d(2026, 6, 1));
    let mut n = number("10101234", d(2023, 1, 1));
    n.activated_on = Some(d(2023, 2, 1));
    n.released_on = Some(d(2026, 6, 10));
    assert_eq!(
        kinds(&number_obligations(&licence, &n, d(2026, 6, 9), &policy)),
        vec![(ObligationKind::NumberOutlivesLicence, d(2026, 6, 1))],
        "held until the day it was released"
    );
    assert!(number_obligations(&licence, &n, d(2026, 6, 10), &policy).is_empty());
    assert!(number_obligations(&licence, &n, d(2026, 7, 1), &policy).is_empty());
}

proptest! {
    #[test]
    fn renewal_due_plus_lead_days_is_expiry(days in 0i64..40_000, lead in 1i64..400) {
        let policy = Policy { renewal_lead_days: lead, ..Policy::default() };
        let expires = d(2000, 1, 1) + chrono::Duration::days(days);
        prop_assert_eq!(renewal_due(expires, &policy) + chrono::Duration::days(lead), expires);
    }

    #[test]
    fn activation_due_is_the_same_day_six_months_on_or_that_months_last_day(days in 0i64..40_000) {
        let policy = Policy::default();
        let allocated = d(2000, 1, 1) + chrono::Duration::days(days);
        let due = activation_due(allocated, &policy);
        let months = (due.year() - allocated.year()) * 12 + due.month() as i32 - allocated.month() as i32;
        prop_assert_eq!(months, 6);
        let last_of_month = due.checked_add_days(Days::new(1)).unwrap().month() != due.month();
        prop_assert!(due.day() == allocated.day() || (due.day() < allocated.day() && last_of_month));
    }
}

#[test]
fn a_short_id_is_seven_unambiguous_characters_fixed_by_the_key() {
    let id = keys::short_id("renewal/京B2-20221234/2027-02-28");
    expect_test::expect!["zkmazhf"].assert_eq(&id);
    assert_eq!(id, keys::short_id("renewal/京B2-20221234/2027-02-28"));
    assert_ne!(id, keys::short_id("renewal/京B2-20221234/2032-02-28"));
    for key in ["a", "b", "annual_report/B2-20201234/2025"] {
        let id = keys::short_id(key);
        assert_eq!(id.len(), 7);
        assert!(
            id.chars()
                .all(|c| "0123456789abcdefghjkmnpqrstvwxyz".contains(c)),
            "{id}"
        );
    }
}
