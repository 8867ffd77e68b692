use super::slices::*;
use super::*;
use crate::domain::obligation::activation_due;

#[test]
fn the_report_due_by_a_day_changes_on_31_march() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(last_report_year_due(d(2026, 3, 30)), 2024);
    assert_eq!(last_report_year_due(d(2026, 3, 31)), 2025);
    assert_eq!(last_report_year_due(d(2026, 12, 31)), 2025);
    assert_eq!(last_report_year_due(d(2027, 1, 1)), 2025);
}

/// The plan's lines for one statement, as `EXPLAIN QUERY PLAN` prints them.
fn plan_of(store: &Store, sql: &str) -> Vec<String> {
    let mut statement = store
        .conn()
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let values: Vec<&dyn rusqlite::ToSql> = vec![&"2026-12-01"; statement.parameter_count()];
    statement
        .query_map(values.as_slice(), |row| row.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The lower bound of an activation's candidates, and the upper one
/// (three days' room), hold for every pair of days over three years.
#[test]
fn allocation_bounds_hold_where_months_clamp() {
    let policy = Policy::default();
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let days: Vec<NaiveDate> = (0..3 * 366).map(|i| start + Days::new(i)).collect();
    for &from in &days {
        let lower = allocated_from(from, &policy);
        let upper = allocated_until(from, &policy);
        for &allocated in &days {
            let due = activation_due(allocated, &policy);
            if allocated < lower {
                assert!(due < from, "allocated {allocated}: due {due}, from {from}");
            }
            if allocated > upper {
                assert!(due > from, "allocated {allocated}: due {due}, until {from}");
            }
        }
    }
}

#[test]
fn every_due_query_finds_its_rows_through_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("plan.db")).unwrap();
    for sql in [
        RENEWALS_OPEN,
        REPORTS_OPEN,
        CHANGES_UNFILED,
        NUMBERS_AWAITING,
        NUMBERS_OUTLIVING,
        NEXT_RENEWAL,
        NEXT_CHANGE,
        NEXT_AWAITING,
        NEXT_ENDING,
        NEXT_RENEWING,
        REPORTS_OWED_PAGE,
        REPORTS_OWED_SOME,
    ] {
        let plan = plan_of(&store, sql);
        // "SCAN t" reads a whole table, "SCAN t USING ... INDEX" a whole
        // index: both grow with the register. A merge for UNION shows
        // as "USE TEMP B-TREE" over full scans.
        let scans: Vec<&String> = plan
            .iter()
            .filter(|line| line.starts_with("SCAN"))
            .collect();
        assert!(scans.is_empty(), "{sql}\nscans a table: {plan:#?}");
        assert!(
            plan.iter().any(|line| line.starts_with("SEARCH")),
            "{sql}\nuses no index: {plan:#?}"
        );
    }
}

/// Renewals open and licences ending are read through one index: each new
/// licence then goes into one date-keyed index, not two (an import into a
/// large register pays a cold page for each, issue 14).
#[test]
fn renewals_open_and_licences_ending_share_one_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("plan.db")).unwrap();
    for sql in [RENEWALS_OPEN, NEXT_RENEWAL, NEXT_ENDING] {
        let plan = plan_of(&store, sql);
        assert!(
            plan.iter()
                .any(|line| line.contains("INDEX licence_last_day ")),
            "{sql}\n{plan:#?}"
        );
    }
    let licence_indexes: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'licence' AND sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        licence_indexes,
        [
            "licence_company",
            "licence_last_day",
            "licence_renewing",
            "licence_reported_through"
        ]
    );
}
