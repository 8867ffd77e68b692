//! The due query: marks close obligations, the indexed query agrees with
//! the rules, and each kind is read only as far as its window.

use super::*;
use crate::domain::obligation::Obligation;

#[test]
fn marks_close_obligations_in_the_due_query() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    with_licence(&mut store, "京B2-20201234", d(2022, 2, 1), d(2027, 1, 31));
    let licence = licence_no("京B2-20201234");
    let kinds = |store: &Store| -> Vec<(ObligationKind, NaiveDate)> {
        store
            .obligations_due_by(today + chrono::Days::new(90), today, &policy)
            .unwrap()
            .into_iter()
            .map(|o| (o.kind, o.due))
            .collect()
    };
    assert_eq!(
        kinds(&store),
        vec![
            (ObligationKind::AnnualReport, d(2025, 3, 31)),
            (ObligationKind::AnnualReport, d(2026, 3, 31)),
            (ObligationKind::Renewal, d(2026, 11, 2)),
        ]
    );
    store
        .file_report(&stamp(), &licence, 2024, d(2025, 3, 1), true)
        .unwrap();
    store
        .file_report(&stamp(), &licence, 2025, d(2026, 3, 1), true)
        .unwrap();
    assert_eq!(
        kinds(&store),
        vec![(ObligationKind::Renewal, d(2026, 11, 2))]
    );
    store
        .submit_renewal(&stamp(), &licence, d(2026, 11, 24), true)
        .unwrap();
    assert_eq!(kinds(&store), vec![]);
    let change = store
        .record_change(&stamp(), &licence, ChangeKind::Capital, d(2026, 11, 1))
        .unwrap();
    assert_eq!(
        kinds(&store),
        vec![(ObligationKind::ChangeFiling, d(2026, 12, 1))]
    );
    store
        .file_change(&stamp(), change.id, d(2026, 11, 24))
        .unwrap();
    assert_eq!(kinds(&store), vec![]);
}

/// The indexed query finds exactly what running the rules over every
/// licence finds, on a register with every kind of obligation.
#[test]
fn the_indexed_due_query_agrees_with_the_rules_over_the_whole_register() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let mut licences = Vec::new();
    for i in 0..40u32 {
        let issued = d(2020, 7, 1) + chrono::Days::new(u64::from(i * 20));
        let number = format!("B2-{}{:04}", issued.year(), i);
        // Five-year terms, some cut short: expiries from mid-2025 to 2026.
        let expires =
            crate::domain::date::default_expiry(issued, 5) - chrono::Days::new(u64::from(i * 13));
        with_licence(&mut store, &number, issued, expires);
        let licence = licence_no(&number);
        if i % 3 == 0 {
            store
                .file_report(&stamp(), &licence, 2024, d(2025, 3, 1), i % 2 == 0)
                .unwrap();
        }
        if i % 5 == 0 {
            store
                .end_licence(
                    &stamp(),
                    &licence,
                    d(2025, 1, 1) + chrono::Days::new(u64::from(i * 11)),
                    "revoked",
                )
                .unwrap();
        } else {
            let number = format!("95{:03}", i);
            store
                .add_number(
                    &stamp(),
                    &number.parse().unwrap(),
                    None,
                    &licence,
                    d(2025, 3, 1) + chrono::Days::new(u64::from(i * 3)),
                    // Today: the allocation day or later (facts are not dated
                    // ahead of today).
                    (d(2025, 3, 1) + chrono::Days::new(u64::from(i * 3))).max(d(2025, 6, 1)),
                )
                .unwrap();
        }
        if i % 5 != 0 && i % 3 == 2 {
            // Released mid-way through the days the test looks at.
            let number = format!("95{:03}", i).parse().unwrap();
            store
                .release_number(&stamp(), &number, None, d(2025, 9, 1))
                .unwrap();
        }
        if i % 7 == 0 {
            store
                .record_change(
                    &stamp(),
                    &licence,
                    ChangeKind::Address,
                    d(2025, 1, 1) + chrono::Days::new(u64::from(i * 13)),
                )
                .unwrap();
        }
        if i % 4 == 1 {
            store
                .submit_renewal(&stamp(), &licence, d(2025, 1, 1), i % 8 == 1)
                .unwrap();
        }
        if i % 6 == 2 {
            // Renewed: the mark was for the old expiry, the new one is open.
            store
                .submit_renewal(&stamp(), &licence, d(2025, 1, 1), true)
                .unwrap();
            let update = LicenceUpdate {
                expires: Some(expires + chrono::Days::new(5 * 365)),
                ..LicenceUpdate::default()
            };
            store.update_licence(&stamp(), &licence, &update).unwrap();
        }
        licences.push(licence);
    }
    for today in [
        d(2025, 1, 1),
        d(2025, 3, 31),
        d(2025, 8, 15),
        d(2026, 1, 1),
        d(2026, 11, 24),
    ] {
        for days in [0u64, 30, 90, 400] {
            let until = today + chrono::Days::new(days);
            // Whole obligations, not only keys: the due query reads a
            // licence's reports only for its own rules, and builds only
            // what is due in the window.
            let mut expected: Vec<Obligation> = licences
                .iter()
                .flat_map(|l| store.open_obligations_of(l, today, &policy).unwrap())
                .filter(|o| o.due <= until)
                .collect();
            expected.sort_by(|a, b| a.key.cmp(&b.key));
            let mut found: Vec<Obligation> =
                store.obligations_due_by(until, today, &policy).unwrap();
            found.sort_by(|a, b| a.key.cmp(&b.key));
            assert_eq!(found, expected, "today {today}, {days} days");
            // A slice at a time, as the agenda reads them: the same, in
            // the same order.
            let all = store.obligations_due_by(until, today, &policy).unwrap();
            let sliced: Vec<Obligation> = store
                .due_slices(until, today, &policy)
                .collect::<Result<Vec<_>>>()
                .unwrap()
                .concat();
            assert_eq!(sliced, all, "in slices: today {today}, {days} days");
            // A report day of more than three licences owing comes in pages.
            let paged: Vec<Obligation> = store
                .due_slices(until, today, &policy)
                .report_pages_of(3)
                .collect::<Result<Vec<_>>>()
                .unwrap()
                .concat();
            assert_eq!(paged, all, "in pages: today {today}, {days} days");
            let expected: Vec<ObligationKey> = expected.into_iter().map(|o| o.key).collect();
            // Read in batches, as the tick reads a backlog: the same.
            let window = super::DueWindow::uniform(until);
            let mut batched: Vec<ObligationKey> = store
                .due_candidates(&window, today, &policy)
                .unwrap()
                .batches(3)
                .flat_map(|batch| {
                    store
                        .due_of(&batch, &window, today, &policy)
                        .unwrap()
                        .obligations
                })
                .map(|o| o.key)
                .collect();
            batched.sort();
            assert_eq!(batched, expected, "in batches: today {today}, {days} days");
        }
        // Every licence's open obligations with one set of queries, as
        // delivery reads a message's licences: the same as one by one.
        let mut one_by_one: Vec<ObligationKey> = licences
            .iter()
            .flat_map(|l| store.open_obligations_of(l, today, &policy).unwrap())
            .map(|o| o.key)
            .collect();
        one_by_one.sort();
        let numbers: Vec<String> = licences.iter().map(ToString::to_string).collect();
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let read = store
            .open_obligations_of_licences(&numbers, today, &policy)
            .unwrap();
        assert!(read.unreadable.is_empty(), "{:?}", read.unreadable);
        let mut together: Vec<ObligationKey> =
            read.obligations.into_iter().map(|o| o.key).collect();
        together.sort();
        assert_eq!(together, one_by_one, "today {today}");
    }
}

/// Every table and the header fields a migration would change, for "left as
/// it was" checks.
#[test]
fn a_window_per_kind_reads_each_kind_only_as_far_as_its_day() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    // Every report filed through 2025; the 2026 report is due 31 March 2027
    // and the renewal (expiry 2027-03-24, 90 days' lead) on 2026-12-24.
    with_licence(&mut store, "京B2-20201234", d(2022, 3, 25), d(2027, 3, 24));
    let licence = licence_no("京B2-20201234");
    for year in 2022..=2025 {
        store
            .file_report(&stamp(), &licence, year, d(year + 1, 2, 1), true)
            .unwrap();
    }
    let kinds = |window: &DueWindow| -> Vec<(ObligationKind, NaiveDate)> {
        store
            .due_within(window, today, &policy)
            .unwrap()
            .obligations
            .into_iter()
            .map(|o| (o.kind, o.due))
            .collect()
    };
    let far = DueWindow::uniform(d(2027, 4, 14));
    assert_eq!(
        kinds(&far),
        vec![
            (ObligationKind::Renewal, d(2026, 12, 24)),
            (ObligationKind::AnnualReport, d(2027, 3, 31)),
        ]
    );
    // The report's day short of 31 March: the report is not read, the
    // renewal still is.
    let narrow = DueWindow {
        annual_report: d(2027, 3, 15),
        ..far
    };
    assert_eq!(
        kinds(&narrow),
        vec![(ObligationKind::Renewal, d(2026, 12, 24))]
    );
}

/// A day on which more than a page of licences owe their report: its
/// renewals come first, with the first page; its reports a page at a time,
/// in licence-number order; the kinds after reports with the last page.
#[test]
fn a_report_day_comes_in_pages_between_its_renewals_and_its_later_kinds() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let today = d(2026, 3, 20);
    let until = d(2026, 4, 10);
    let report_day = d(2026, 3, 31);
    // Seven licences owing the 2025 report, added out of number order; the
    // earlier reports are filed.
    for serial in [5, 1, 7, 3, 2, 6, 4] {
        let number = format!("B2-2023000{serial}");
        let expires = if serial == 4 {
            // Its renewal is due on the report day.
            report_day + chrono::Days::new(policy.renewal_lead_days.unsigned_abs())
        } else if serial == 6 {
            // It ends on the report day, still holding a number.
            report_day
        } else {
            d(2027, 12, 31)
        };
        with_licence(&mut store, &number, d(2023, 1, 10), expires);
        let licence = licence_no(&number);
        for year in [2023, 2024] {
            store
                .file_report(&stamp(), &licence, year, d(year + 1, 2, 1), true)
                .unwrap();
        }
        if serial == 2 {
            // Its filing is due on the report day.
            store
                .record_change(
                    &stamp(),
                    &licence,
                    ChangeKind::Address,
                    report_day - chrono::Days::new(policy.change_filing_days.unsigned_abs()),
                )
                .unwrap();
        }
        if serial == 6 {
            let service: crate::domain::number::ServiceNumber = "95001".parse().unwrap();
            store
                .add_number(
                    &stamp(),
                    &service,
                    None,
                    &licence,
                    d(2023, 3, 1),
                    d(2023, 3, 1),
                )
                .unwrap();
            store
                .activate_number(
                    &stamp(),
                    &service,
                    None,
                    d(2023, 3, 20),
                    "中国电信",
                    Direction::Both,
                )
                .unwrap();
        }
    }
    let all = store.obligations_due_by(until, today, &policy).unwrap();
    let slices: Vec<Vec<(ObligationKind, String)>> = store
        .due_slices(until, today, &policy)
        .report_pages_of(2)
        .map(|slice| {
            slice
                .unwrap()
                .into_iter()
                .map(|o| (o.kind, o.licence.to_string()))
                .collect()
        })
        .collect();
    let report = |serial: u32| (ObligationKind::AnnualReport, format!("B2-2023000{serial}"));
    assert_eq!(
        slices,
        vec![
            // Overdue: the renewal of the licence ending on the report day.
            vec![(ObligationKind::Renewal, "B2-20230006".to_owned())],
            vec![
                (ObligationKind::Renewal, "B2-20230004".to_owned()),
                report(1),
                report(2),
            ],
            vec![report(3), report(4)],
            vec![report(5), report(6)],
            vec![
                report(7),
                (ObligationKind::ChangeFiling, "B2-20230002".to_owned()),
                (
                    ObligationKind::NumberOutlivesLicence,
                    "B2-20230006".to_owned()
                ),
            ],
        ]
    );
    let paged: Vec<Obligation> = store
        .due_slices(until, today, &policy)
        .report_pages_of(2)
        .collect::<Result<Vec<_>>>()
        .unwrap()
        .concat();
    assert_eq!(paged, all);
    // A page as large as the day's reports: the day in one slice, as
    // before (the overdue renewal in one of its own).
    let whole: Vec<Vec<Obligation>> = store
        .due_slices(until, today, &policy)
        .report_pages_of(7)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(whole.len(), 2);
    assert_eq!(whole.concat(), all);
}

/// One random licence of [`random_registers_agree`]: day offsets from
/// 1 January 2019 and choices, applied through the store's own writes
/// (which refuse what the rules do not allow; a refused write is skipped).
#[derive(Debug, Clone)]
struct RandomLicence {
    issued: u64,
    years: u32,
    shortened: u64,
    ended: Option<u64>,
    reports: Vec<(i32, bool)>,
    renewal: Option<(u64, bool)>,
    change: Option<u64>,
    numbers: Vec<(u64, Option<u64>, Option<u64>)>,
}

fn random_licence() -> impl proptest::strategy::Strategy<Value = RandomLicence> {
    use proptest::prelude::*;
    (
        (0u64..2800, 1u32..=5, 0u64..200),
        proptest::option::of(0u64..2500),
        proptest::collection::vec((2019i32..=2026, any::<bool>()), 0..4),
        proptest::option::of((0u64..2500, any::<bool>())),
        proptest::option::of(0u64..2500),
        proptest::collection::vec(
            (
                0u64..2500,
                proptest::option::of(0u64..400),
                proptest::option::of(0u64..900),
            ),
            0..3,
        ),
    )
        .prop_map(
            |((issued, years, shortened), ended, reports, renewal, change, numbers)| {
                RandomLicence {
                    issued,
                    years,
                    shortened,
                    ended,
                    reports,
                    renewal,
                    change,
                    numbers,
                }
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Over random registers and days, the indexed due query and its
    /// slices find exactly what the rules find over every licence, in the
    /// same order: the candidate queries (ranges worked back from the due
    /// days) hold every row the rules need.
    #[test]
    fn random_registers_agree(
        licences in proptest::collection::vec(random_licence(), 1..7),
        todays in proptest::collection::vec((0u64..3300, 0u64..400), 3),
    ) {
        let (_dir, mut store) = temp_store();
        let policy = Policy::default();
        let day = |offset: u64| d(2019, 1, 1) + chrono::Days::new(offset);
        let mut numbers = 0;
        let mut names = Vec::new();
        for (i, random) in licences.iter().enumerate() {
            let issued = day(random.issued);
            let number = format!("B2-{}{:04}", issued.year(), i);
            let expires = crate::domain::date::default_expiry(issued, random.years)
                - chrono::Days::new(random.shortened);
            with_licence(&mut store, &number, issued, expires);
            let licence = licence_no(&number);
            for (year, carried_out) in &random.reports {
                let _ = store.file_report(&stamp(), &licence, *year, d(year + 1, 3, 1), *carried_out);
            }
            if let Some((on, continuing)) = random.renewal {
                let _ = store.submit_renewal(&stamp(), &licence, issued + chrono::Days::new(on), continuing);
            }
            if let Some(on) = random.change {
                let _ = store.record_change(&stamp(), &licence, ChangeKind::Address, issued + chrono::Days::new(on));
            }
            for (allocated, activated, released) in &random.numbers {
                numbers += 1;
                let service: crate::domain::number::ServiceNumber =
                    format!("95{numbers:03}").parse().unwrap();
                let allocated = issued + chrono::Days::new(*allocated);
                if store.add_number(&stamp(), &service, None, &licence, allocated, allocated.max(d(2026, 11, 24))).is_err() {
                    continue;
                }
                if let Some(after) = activated {
                    let _ = store.activate_number(&stamp(), &service, None, allocated + chrono::Days::new(*after), "中国电信", Direction::Both);
                }
                if let Some(after) = released {
                    let _ = store.release_number(&stamp(), &service, None, allocated + chrono::Days::new(*after));
                }
            }
            if let Some(on) = random.ended {
                let _ = store.end_licence(&stamp(), &licence, issued + chrono::Days::new(on), "revoked");
            }
            names.push(licence);
        }
        for (today, days) in todays {
            let today = day(today);
            let until = today + chrono::Days::new(days);
            let mut expected: Vec<Obligation> = names
                .iter()
                .flat_map(|l| store.open_obligations_of(l, today, &policy).unwrap())
                .filter(|o| o.due <= until)
                .collect();
            expected.sort_by(|a, b| (a.due, a.kind, &a.key).cmp(&(b.due, b.kind, &b.key)));
            let found = store.obligations_due_by(until, today, &policy).unwrap();
            proptest::prop_assert_eq!(&found, &expected, "today {} until {}", today, until);
            let sliced: Vec<Obligation> = store
                .due_slices(until, today, &policy)
                .collect::<Result<Vec<_>>>()
                .unwrap()
                .concat();
            proptest::prop_assert_eq!(&sliced, &expected, "in slices: today {} until {}", today, until);
            // Pages of one, two and three licences put page boundaries in
            // the middle of a report day: a report dropped or given twice
            // at one, or a renewal or a later kind given out of place
            // around the pages, makes these differ.
            for page in 1..=3 {
                let paged: Vec<Obligation> = store
                    .due_slices(until, today, &policy)
                    .report_pages_of(page)
                    .collect::<Result<Vec<_>>>()
                    .unwrap()
                    .concat();
                proptest::prop_assert_eq!(&paged, &expected, "in pages of {}: today {} until {}", page, today, until);
            }
        }
    }
}
