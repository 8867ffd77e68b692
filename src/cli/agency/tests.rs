//! Importing in batches gives what one batch of the whole sheet gives.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::config::Config;
use crate::store::{Change, SheetRow, Stamp, Store};

fn example_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/clients.csv")).unwrap()
}

/// What an import gave that batching must not change: the rows counted,
/// the problems, the report (its changes in a fixed order: batches list
/// each batch's companies, licences and numbers in turn) and the register
/// after it.
#[derive(Debug, PartialEq)]
struct Seen {
    rows: usize,
    problems: Vec<RowProblem>,
    /// The report and its changes as JSON lists them, or the rows the
    /// store refused.
    stored: Result<(ImportReport, Vec<serde_json::Value>), Vec<RowProblem>>,
    register: Vec<SheetRow>,
    history: usize,
}

/// Imports `text` into a new register in batches of `batch_rows` rows;
/// `None` when a key came back in a later batch.
fn import(text: &str, batch_rows: usize, dry_run: bool) -> Option<Seen> {
    import_until(text, batch_rows, dry_run, usize::MAX).map(|(seen, _)| seen)
}

/// [`import`], reading no further once `max_problems` are found; with
/// whether it stopped.
fn import_until(
    text: &str,
    batch_rows: usize,
    dry_run: bool,
    max_problems: usize,
) -> Option<(Seen, bool)> {
    import_with(text, batch_rows, dry_run, max_problems, false)
}

/// [`import`] with each company's rows brought together first. Row ids
/// are left out of the register it gives (and should be of what it is
/// compared with): they follow the order rows are written in.
fn import_grouped(text: &str, batch_rows: usize) -> Option<Seen> {
    import_with(text, batch_rows, false, usize::MAX, true).map(|(seen, _)| without_ids(seen))
}

fn without_ids(mut seen: Seen) -> Seen {
    for row in &mut seen.register {
        row.company.id = 0;
        if let Some(licence) = &mut row.licence {
            licence.id = 0;
            licence.company_id = 0;
        }
        if let Some(number) = &mut row.number {
            number.id = 0;
        }
    }
    seen
}

fn import_with(
    text: &str,
    batch_rows: usize,
    dry_run: bool,
    max_problems: usize,
    grouped: bool,
) -> Option<(Seen, bool)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.csv");
    std::fs::write(&path, text).unwrap();
    let config = Config::defaults();
    let sheet = sheet::open(&path, HeaderRow::Given(1)).unwrap();
    let layout = Layout::new(
        &sheet.headers,
        &sheet.column_samples().unwrap(),
        Unknown::Refuse,
    )
    .unwrap();
    let store = Store::open(&dir.path().join("register.db")).unwrap();
    let stamp = Stamp::cli(
        "test".into(),
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    );
    let batches = Batches {
        layout: &layout,
        licence_years: config.policy.licence_years,
        stamp: &stamp,
        source: "sheet.csv",
        mode: if dry_run {
            ImportMode::DryRun
        } else {
            ImportMode::Write
        },
        today: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        forecast: dry_run.then_some(&config.policy),
        batch_rows,
        all_changes: true,
        max_problems,
    };
    let mut lines = sheet.lines().unwrap().map(|line| Ok(line?));
    let outcome = if grouped {
        batches.import_grouped(&store, lines).unwrap()?
    } else {
        batches.import(&store, &mut lines).unwrap()?
    };
    let stored = match outcome.stored {
        Ok(report) => {
            let mut changes = outcome.changes.every.unwrap().finish().unwrap().values();
            let key = |c: &serde_json::Value| (c["entity"].to_string(), c["key"].to_string());
            changes.sort_by_key(key);
            Ok((report, changes))
        }
        Err(ImportError::Rows(problems)) => Err(problems),
        Err(ImportError::Store(error)) => panic!("{error}"),
    };
    let seen = Seen {
        rows: outcome.rows,
        problems: outcome.problems,
        stored,
        register: store.sheet_rows().unwrap(),
        history: store.history(None).unwrap().len(),
    };
    Some((seen, outcome.stopped))
}

#[test]
fn batches_cut_between_companies_import_what_one_batch_does() {
    // One row a batch: cut wherever the company changes, never inside a
    // company's rows (its licence's two numbers here).
    let text = example_text();
    for dry_run in [false, true] {
        let whole = import(&text, usize::MAX, dry_run).unwrap();
        assert!(whole.stored.is_ok() && whole.problems.is_empty());
        assert_eq!(whole.register.is_empty(), dry_run);
        assert_eq!(
            import(&text, 1, dry_run).unwrap(),
            whole,
            "dry run: {dry_run}"
        );
    }
}

#[test]
fn a_company_named_again_in_a_later_batch_sends_the_sheet_back_to_one_batch() {
    // The first company's licence gets a third number at the end of the
    // sheet, in a later batch.
    let mut text = example_text();
    text.push_str(
        "京B2-20221234,北京示例呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,,963456,,2026-10-15,,,,\n",
    );
    assert_eq!(import(&text, 1, false), None);
    let whole = import(&text, usize::MAX, false).unwrap();
    assert!(whole.problems.is_empty());
    assert_eq!(
        whole
            .register
            .iter()
            .filter(|row| row.number.is_some())
            .count(),
        7
    );
    // Read again with each company's rows together, it goes in batches.
    assert_eq!(import_grouped(&text, 1).unwrap(), without_ids(whole));
}

#[test]
fn a_sheet_sorted_by_licence_number_goes_in_batches_once_its_companies_are_grouped() {
    // Two companies with two licences each, sorted by licence number so
    // that each company's rows are apart; one licence's rows disagree on
    // its holder's email, which only a batch holding both rows sees.
    let header = example_text().lines().next().unwrap().to_owned();
    let rows = [
        "京B2-20220001,甲呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,,961234,,2022-06-15,ops@a.cn,,,",
        "沪B2-20220002,乙呼叫中心有限公司,91440101MA59XYW02A,B24,2022-03-01,,,,,ops@b.cn,,,",
        "粤B2-20220003,甲呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,,962345,,2022-06-15,ops@a.cn,,,",
        "苏B2-20220004,乙呼叫中心有限公司,91440101MA59XYW02A,B24,2022-03-01,,,,,ops@b.cn,,,",
    ];
    let text = format!("{header}\n{}\n", rows.join("\n"));
    assert_eq!(import(&text, 1, false), None);
    let whole = import(&text, usize::MAX, false).unwrap();
    assert!(
        whole.problems.is_empty() && whole.stored.is_ok(),
        "{whole:?}"
    );
    assert_eq!(whole.register.len(), 4);
    assert_eq!(import_grouped(&text, 1).unwrap(), without_ids(whole));

    let disagreeing = text.replacen("ops@b.cn", "ops@c.cn", 1);
    let whole = import(&disagreeing, usize::MAX, false).unwrap();
    assert_eq!(whole.problems.len(), 1, "{whole:?}");
    assert_eq!(import_grouped(&disagreeing, 1).unwrap(), without_ids(whole));
}

#[test]
fn a_licence_under_two_companies_sends_even_the_grouped_sheet_back_to_one_batch() {
    let header = example_text().lines().next().unwrap().to_owned();
    let rows = [
        "京B2-20220001,甲呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,,,,,ops@a.cn,,,",
        "京B2-20220001,乙呼叫中心有限公司,91440101MA59XYW02A,B24,2022-03-01,,,,,ops@b.cn,,,",
    ];
    let text = format!("{header}\n{}\n", rows.join("\n"));
    assert_eq!(import_grouped(&text, 1), None);
    let whole = import(&text, usize::MAX, false).unwrap();
    assert!(!whole.problems.is_empty(), "{whole:?}");
}

#[test]
fn a_row_refused_in_a_later_batch_leaves_the_earlier_batches_unwritten() {
    // The last company's row, in the last batch, has an issue date in the
    // future; the batches before it were clean.
    let text = example_text().replace("2023-05-10", "2099-05-10");
    let whole = import(&text, usize::MAX, false).unwrap();
    let refused = whole.stored.as_ref().unwrap_err();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].row, 8);
    assert!(whole.register.is_empty());
    assert_eq!(whole.history, 0);
    assert_eq!(import(&text, 1, false).unwrap(), whole);
}

#[test]
fn the_table_report_lists_the_same_changes_from_the_few_it_keeps() {
    let change = |edit, n: usize| Change {
        entity: crate::store::Entity::Licence,
        edit,
        key: format!("B2-2020{n:04}"),
        detail: format!("detail {n}"),
    };
    // Updates and additions interleaved, more of each than the table lists.
    let found: Vec<Change> = (0..300)
        .flat_map(|n| [change(Edit::Add, n), change(Edit::Update, n)])
        .chain((300..450).map(|n| change(Edit::Add, n)))
        .collect();
    let mut all = Changes::new(true).unwrap();
    let mut few = Changes::new(false).unwrap();
    for batch in found.chunks(7) {
        all.extend(batch.to_vec()).unwrap();
        few.extend(batch.to_vec()).unwrap();
    }
    assert!(all.kept.is_empty());
    assert_eq!(
        all.every.unwrap().finish().unwrap().values(),
        found.iter().map(change_json).collect::<Vec<_>>()
    );
    assert_eq!(few.kept.len(), 2 * MAX_LISTED);
    assert_eq!(
        few.unlisted,
        Unlisted {
            updates: 100,
            adds: 250
        }
    );
    for dry_run in [false, true] {
        let report = |changes: &[Change]| ImportReport {
            changes: changes.to_vec(),
            ..ImportReport::default()
        };
        assert_eq!(
            report_text("s.csv", 750, dry_run, &report(&few.kept), few.unlisted),
            report_text("s.csv", 750, dry_run, &report(&found), Unlisted::default()),
        );
    }
}

#[test]
fn reading_stops_once_the_problems_reach_the_cap() {
    // Every data row lacks its USCC: one problem a row.
    let mut text = example_text().lines().next().unwrap().to_owned();
    for n in 0..10 {
        text.push_str(&format!(
            "\n京B2-2022{n:04},北京示例{n}有限公司,,B24,2022-03-01,,,,,,,,"
        ));
    }
    let (all, stopped) = import_until(&text, 1, false, usize::MAX).unwrap();
    assert!(!stopped);
    assert_eq!((all.rows, all.problems.len()), (10, 10));
    let (few, stopped) = import_until(&text, 1, false, 4).unwrap();
    assert!(stopped);
    assert_eq!(few.rows, 4);
    assert_eq!(few.problems, all.problems[..4]);
    assert!(few.register.is_empty());
}
