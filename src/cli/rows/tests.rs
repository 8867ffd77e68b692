//! The import format's tests: the helpers they share and the columns';
//! one row's are in `row`, merging rows in `merge`.

use chrono::Days;
use chrono::NaiveDate;
use proptest::prelude::*;

use super::columns::*;
use super::merge::*;
use super::row::*;
use crate::cli::sheet::{Cell, Line};
use crate::domain::date::excel_serial;
use crate::domain::licence::ItemCode;
use crate::domain::province::Province;
use crate::store::{Batch, Direction, Field, RowProblem};

mod merge;
mod row;

const USCC: &str = "91110105MA01ABCD13";

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn line(row: usize, cells: &[&str]) -> Line {
    Line {
        row,
        cells: cells
            .iter()
            .map(|cell| {
                if cell.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text((*cell).to_owned())
                }
            })
            .collect(),
    }
}

fn layout(names: &[&str]) -> Layout {
    Layout::new(&headers(names), &[], Unknown::Refuse).unwrap()
}

const FULL: [&str; 13] = [
    "许可证编号",
    "持证单位",
    "统一社会信用代码",
    "业务种类",
    "发证日期",
    "有效期至",
    "码号",
    "码号省份",
    "分配日期",
    "联系邮箱",
    "启用日期",
    "运营商",
    "方向",
];

/// A row of the `FULL` layout: licence B2-20221234 (B24, issued
/// 2022-03-01) of 示例, `USCC`, and nothing else, but for `changes`, given
/// by column header.
fn full_row<'a>(changes: &[(&str, &'a str)]) -> Vec<&'a str> {
    let mut cells = vec![
        "B2-20221234",
        "示例",
        USCC,
        "B24",
        "2022-03-01",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    for (header, value) in changes {
        let at = FULL.iter().position(|h| h == header);
        cells[at.expect("a header of FULL")] = value;
    }
    cells
}

/// The reasons of a row's problems, by the file's column header.
fn problems(layout: &Layout, cells: &[&str]) -> Vec<(String, String)> {
    parse_row(layout, &line(7, cells), 5)
        .unwrap_err()
        .into_iter()
        .map(|p| {
            assert_eq!(p.row, 7);
            (
                p.field
                    .map_or("-".to_owned(), |f| layout.header(f).to_owned()),
                p.reason,
            )
        })
        .collect()
}

#[test]
fn columns_are_listed_in_field_order_with_unique_headers() {
    let mut seen = std::collections::HashSet::new();
    for (index, column) in COLUMNS.iter().enumerate() {
        assert_eq!(column.field as usize, index, "{}", column.english);
        assert!(seen.insert(header_key(column.chinese)));
        assert!(seen.insert(header_key(column.english)));
        for alias in column.aliases {
            assert!(seen.insert(header_key(alias)), "{alias}");
        }
    }
}

#[test]
fn chinese_english_and_alias_headers_name_the_same_columns() {
    let chinese = layout(&["许可证编号", "持证单位", "统一社会信用代码"]);
    let english = layout(&[" Licence Number ", "HOLDER_NAME", "uscc"]);
    let alias = layout(&["license-number", "公司名称", "信用代码"]);
    for layout in [&chinese, &english, &alias] {
        let parsed = parse_row(layout, &line(2, &["", "示例", USCC]), 5).unwrap();
        assert_eq!(parsed.company.uscc.as_str(), USCC);
        assert_eq!(parsed.licence, None);
    }
    assert_eq!(english.header(Field::LicenceNumber), "Licence Number");
    assert_eq!(chinese.header(Field::Expires), "有效期至");
}

#[test]
fn every_header_problem_is_reported_at_once() {
    let lines = [line(2, &["", "", "", "", "x"])];
    let problems = Layout::new(
        &headers(&["许可证编号", "备注", "licence_number", "items", ""]),
        &lines,
        Unknown::Refuse,
    )
    .unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert_eq!(
        messages[0],
        "column 2 \"备注\": not a column of the import format (--strict refuses unknown columns; without it they are ignored)"
    );
    assert_eq!(messages[1], "columns 1 and 3 are both 许可证编号: keep one");
    assert_eq!(
        messages[2],
        "column 5 has no header but row 2 has a value in it (--strict refuses unnamed columns; without it they are ignored)"
    );
    assert_eq!(
        messages[3],
        "no 持证单位/holder_name column: every row needs one"
    );
    assert_eq!(
        messages[4],
        "no 统一社会信用代码/uscc column: every row needs one"
    );
    // An unnamed column with nothing in it is a spreadsheet's trailing
    // blank column, not a problem.
    assert!(
        Layout::new(
            &headers(&["持证单位", "uscc", ""]),
            &[line(2, &["a", USCC, ""])],
            Unknown::Refuse,
        )
        .is_ok()
    );
}

#[test]
fn unknown_and_unnamed_columns_are_ignored_and_listed_unless_strict() {
    let lines = [line(2, &["1", "示例", USCC, "见合同", "x"])];
    let layout = Layout::new(
        &headers(&["序号", "客户名称", "统一社会信用代码", " 备注 ", ""]),
        &lines,
        Unknown::Ignore,
    )
    .unwrap();
    assert_eq!(layout.ignored, ["序号", "备注", "column 5"]);
    let parsed = parse_row(&layout, &lines[0], 5).unwrap();
    assert_eq!(parsed.company.name, "示例");
}

#[test]
fn office_header_names_are_matched_after_folding() {
    for (header, field) in [
        ("客户名称", Field::HolderName),
        ("企业名称", Field::HolderName),
        ("许可证号", Field::LicenceNumber),
        ("经营许可证编号", Field::LicenceNumber),
        ("证书编号", Field::LicenceNumber),
        ("到期日期", Field::Expires),
        ("有效期截止", Field::Expires),
        ("有效期至（年月日）", Field::Expires),
        ("颁发日期", Field::Issued),
        ("号码", Field::Number),
        ("联系人", Field::Contact),
        ("联系电话", Field::Phone),
        ("已报年报年度", Field::ReportedThrough),
        ("Reported Through", Field::ReportedThrough),
        ("续期提交日期", Field::RenewalSubmitted),
        ("未开展业务", Field::NotCarriedOut),
        ("持证单位*", Field::HolderName),
        ("　统一社会信用代码　", Field::Uscc),
        ("ＵＳＣＣ", Field::Uscc),
        ("Holder-Name", Field::HolderName),
    ] {
        assert_eq!(
            column_named(header).map(|c| c.field),
            Some(field),
            "{header}"
        );
    }
    for unknown in ["序号", "备注", "", "  ", "说明"] {
        assert!(!is_known_header(unknown), "{unknown}");
    }
}
