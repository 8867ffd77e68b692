use super::*;

#[test]
fn values_excel_mangled_are_recognised() {
    let layout = layout(&["持证单位", "统一社会信用代码", "码号", "联系电话"]);
    let line_of = |cells: Vec<Cell>| Line { row: 4, cells };
    let text = |t: &str| Cell::Text(t.to_owned());
    for uscc in [text("9.14403E+17"), Cell::Number(914_403_000_000_000_000.0)] {
        let problems = parse_row(
            &layout,
            &line_of(vec![text("示例"), uscc, Cell::Empty, Cell::Empty]),
            5,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].reason.contains("Excel turned this column into numbers and rounded the value; format the column as text and type the code again"),
            "{}",
            problems[0].reason
        );
    }
    let parsed = parse_row(
        &layout,
        &line_of(vec![
            text("示例"),
            text(USCC),
            Cell::Empty,
            text("13800138000.0"),
        ]),
        5,
    )
    .unwrap();
    assert_eq!(parsed.company.phone.as_deref(), Some("13800138000"));
}

#[test]
fn a_full_row_gives_a_company_a_licence_and_a_number() {
    let layout = layout(&FULL);
    let parsed = parse_row(
        &layout,
        &line(
            3,
            &[
                "京Ｂ２－２０２２１２３４",
                " 北京示例呼叫中心有限公司 ",
                USCC,
                "b24，b25",
                "２０２２－０３－０１",
                "",
                "961234",
                "",
                "2022-06-15",
                "ops@example.cn；compliance@example.cn, ops@example.cn",
                "2022-07-01",
                "中国电信",
                "呼入",
            ],
        ),
        5,
    )
    .unwrap();
    assert_eq!(parsed.company.name, "北京示例呼叫中心有限公司");
    assert_eq!(
        parsed.company.emails,
        Some(vec![
            "compliance@example.cn".to_owned(),
            "ops@example.cn".to_owned()
        ])
    );
    let licence = parsed.licence.unwrap();
    assert_eq!(licence.number.to_string(), "京B2-20221234");
    assert_eq!(licence.items, vec![ItemCode::B24, ItemCode::B25]);
    assert_eq!(licence.expires, None);
    assert_eq!(licence.default_expires.to_string(), "2027-02-28");
    let number = parsed.number.unwrap();
    assert_eq!(number.province, Province::parse("京"));
    assert_eq!(number.direction, Some(Direction::Inbound));
    assert_eq!(number.licence, licence.number);
}

#[test]
fn every_bad_cell_of_a_row_is_reported_in_the_domains_words() {
    let layout = layout(&FULL);
    let found = problems(
        &layout,
        &[
            "京B2-2022123",
            "示例",
            "91310115MA1H8R7C6D",
            "B29",
            "2025-02-30",
            "2024-01-01",
            "400123",
            "火星",
            "",
            "not-an-address",
            "",
            "中国电信",
            "sideways",
        ],
    );
    let expected = [
        (
            "许可证编号",
            "licence number \"京B2-2022123\": expected 8 digits after \"B2-\", found \"2022123\" (expected B2-20201234, 京B2-20201234 or B1.B2-20090001)",
        ),
        (
            "统一社会信用代码",
            "unified social credit code \"91310115MA1H8R7C6D\": check character is \"D\", expected \"7\" (is a character mistyped?)",
        ),
        (
            "业务种类",
            "items \"B29\": \"B29\" is not a business item code",
        ),
        (
            "发证日期",
            "发证日期 \"2025-02-30\": no such day in that month (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)",
        ),
        (
            "码号",
            "service number \"400123\": must start with 95, 96 or 1010",
        ),
        (
            "码号省份",
            "码号省份 \"火星\": not a province (accepted: 京",
        ),
        (
            "联系邮箱",
            "联系邮箱 \"not-an-address\": \"not-an-address\" is not an address (expected addresses like compliance@example.com, several separated by ; or ，)",
        ),
        (
            "方向",
            "direction \"sideways\": unknown (accepted: inbound, outbound, both)",
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((column, reason), (want_column, want_start)) in found.iter().zip(expected) {
        assert_eq!(column, want_column);
        assert!(reason.starts_with(want_start), "{reason}");
    }
}

#[test]
fn a_ragged_row_is_refused_as_a_whole() {
    let layout = layout(&["持证单位", "uscc", "许可证编号"]);
    assert_eq!(
        problems(&layout, &["示例", USCC]),
        vec![(
            "-".to_owned(),
            "the row has 2 cells but the header has 3 (a missing or extra separator, or an unquoted comma in a value?)".to_owned()
        )]
    );
    assert_eq!(problems(&layout, &["示例", USCC, "", "extra"]).len(), 1);
    // Trailing empty cells, as Excel writes them, are fine.
    assert!(parse_row(&layout, &line(2, &["示例", USCC, "", ""]), 5).is_ok());
}

#[test]
fn an_over_long_cell_is_refused_without_being_echoed() {
    let layout = layout(&["持证单位", "uscc"]);
    let huge = "名".repeat(MAX_CELL_CHARS + 1);
    let refused = parse_row(&layout, &line(2, &[&huge, USCC]), 5).unwrap_err();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].value.chars().count(), QUOTE_CHARS + 1);
    assert_eq!(
        refused[0].reason,
        "持证单位: the cell holds 1001 characters, more than the 1000 a cell may (is this the right column?)"
    );
}

#[test]
fn licence_and_number_columns_need_their_companions() {
    let layout = layout(&FULL);
    let found = problems(
        &layout,
        &full_row(&[
            ("许可证编号", ""),
            ("业务种类", ""),
            ("发证日期", ""),
            ("分配日期", "2022-06-15"),
        ]),
    );
    assert_eq!(found[0].0, "许可证编号");
    assert!(
        found[0]
            .1
            .starts_with("许可证编号: empty, but the row has licence or number columns filled"),
        "{found:?}"
    );
    assert_eq!(
        problems(&layout, &full_row(&[("业务种类", ""), ("发证日期", "")])),
        [
            (
                "业务种类".to_owned(),
                "业务种类: empty (every row with a licence needs it, e.g. B24 or B24,B25)"
                    .to_owned()
            ),
            (
                "发证日期".to_owned(),
                "发证日期: empty (every row with a licence needs it, e.g. 2026-03-31)".to_owned()
            ),
        ]
    );
    let found = problems(&layout, &full_row(&[("分配日期", "2022-06-15")]));
    assert_eq!(
        found,
        vec![(
            "分配日期".to_owned(),
            "分配日期 is given but 码号 is empty; give the number it is about".to_owned()
        )]
    );
    let found = problems(
        &layout,
        &full_row(&[
            ("码号", "95123"),
            ("分配日期", "2022-06-15"),
            ("运营商", "中国电信"),
        ]),
    );
    assert_eq!(found[0].0, "启用日期");
}

#[test]
fn a_96_number_takes_its_province_from_the_licence_or_the_column() {
    let layout = layout(&FULL);
    let row = |licence: &str, number: &str, province: &str| {
        let cells = full_row(&[
            ("许可证编号", licence),
            ("码号", number),
            ("码号省份", province),
            ("分配日期", "2022-06-15"),
        ]);
        parse_row(&layout, &line(2, &cells), 5)
    };
    let province =
        |licence, number, given| row(licence, number, given).map(|p| p.number.unwrap().province);
    assert_eq!(
        province("粤B2-20221234", "961234", ""),
        Ok(Province::parse("粤"))
    );
    assert_eq!(
        province("粤B2-20221234", "961234", "广东省"),
        Ok(Province::parse("粤"))
    );
    assert_eq!(
        province("B2-20221234", "961234", "沪"),
        Ok(Province::parse("沪"))
    );
    assert_eq!(province("B2-20221234", "95123", ""), Ok(None));
    for (licence, number, given, message) in [
        (
            "粤B2-20221234",
            "961234",
            "京",
            "码号省份 \"北京市\": is not the province of licence 粤B2-20221234: a 地网 licence of 广东省 holds 96 numbers allocated by 广东省 (rule: a 地网 licence holds numbers of its own province)",
        ),
        (
            "B2-20221234",
            "961234",
            "",
            "码号省份: is missing: 961234 is a 96 number under nationwide licence B2-20221234; name the province that allocated it (e.g. 粤)",
        ),
        (
            "B2-20221234",
            "95123",
            "沪",
            "码号省份 \"上海市\": is given for 95123, a nationwide number; only 96 numbers take a province",
        ),
        (
            "粤B2-20221234",
            "95123",
            "",
            "码号 \"95123\": is a nationwide number, and licence 粤B2-20221234 is a 地网 licence of 广东省: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
        ),
    ] {
        let refused = row(licence, number, given).unwrap_err();
        assert_eq!(refused[0].reason, message);
    }
}

#[test]
fn workbook_numbers_and_dates_are_read_by_column() {
    let layout = layout(&[
        "持证单位",
        "uscc",
        "许可证编号",
        "业务种类",
        "发证日期",
        "码号",
        "分配日期",
    ]);
    let cells = |uscc: Cell, number: Cell, allocated: Cell| Line {
        row: 4,
        cells: vec![
            Cell::Text("示例".into()),
            uscc,
            Cell::Text("B2-20221234".into()),
            Cell::Text("B24".into()),
            Cell::Date(NaiveDate::from_ymd_opt(2022, 3, 1).unwrap()),
            number,
            allocated,
        ],
    };
    let parsed = parse_row(
        &layout,
        &cells(
            Cell::Text(USCC.into()),
            Cell::Number(10101234.0),
            Cell::Number(44727.0),
        ),
        5,
    )
    .unwrap();
    let number = parsed.number.unwrap();
    assert_eq!(number.number.as_str(), "10101234");
    assert_eq!(number.allocated.to_string(), "2022-06-15");
    assert_eq!(parsed.licence.unwrap().issued.to_string(), "2022-03-01");

    let refused = parse_row(
        &layout,
        &cells(
            Cell::Number(911101055510000000.0),
            Cell::Invalid("the formula error #N/A".into()),
            Cell::Number(12.5),
        ),
        5,
    )
    .unwrap_err();
    let reasons: Vec<&str> = refused.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "uscc \"9.11101E+17\": Excel turned this column into numbers and rounded the value; format the column as text and type the code again",
            "码号: the cell holds the formula error #N/A, not a value",
            "分配日期 \"12.5\": not a date (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)",
        ]
    );
}
#[test]
fn excel_serials_start_after_the_phantom_leap_day() {
    assert_eq!(excel_serial(61.0), NaiveDate::from_ymd_opt(1900, 3, 1));
    assert_eq!(
        excel_serial(46022.75),
        NaiveDate::from_ymd_opt(2025, 12, 31)
    );
    assert_eq!(excel_serial(60.0), None);
    assert_eq!(excel_serial(f64::NAN), None);
    assert_eq!(excel_serial(1e300), None);
}

fn any_cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Empty),
        "\\PC{0,30}".prop_map(Cell::Text),
        // Near-valid values, so that the deeper checks are reached too.
        prop::sample::select(vec![
            "B2-20221234",
            "京B2-20221234",
            USCC,
            "B24",
            "2022-03-01",
            "2027-02-28",
            "961234",
            "95123",
            "10101234",
            "沪",
            "2022-06-15",
            "inbound",
            "中国电信",
        ])
        .prop_map(|s| Cell::Text(s.to_owned())),
        any::<f64>().prop_map(Cell::Number),
        (0u32..400_000).prop_map(|days| Cell::Date(NaiveDate::MIN + Days::new(days.into()))),
        "\\PC{0,10}".prop_map(Cell::Invalid),
    ]
}

proptest! {
    #[test]
    fn arbitrary_cells_in_every_column_never_panic(
        cells in prop::collection::vec(any_cell(), 0..22),
        row in 2usize..1_000_000,
    ) {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.chinese).collect();
        let layout = layout(&names);
        let line = Line { row, cells };
        match parse_row(&layout, &line, 5) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.row, row);
                let mut problems = Vec::new();
                assemble(vec![parsed.clone(), parsed], &layout, &mut problems);
                prop_assert!(problems.is_empty(), "a row agrees with itself: {:?}", problems);
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| p.row == row && p.value.chars().count() <= QUOTE_CHARS + 1));
            }
        }
    }
}

#[test]
fn the_past_columns_read_years_yes_no_and_dates() {
    let layout = layout(&[
        "持证单位",
        "统一社会信用代码",
        "许可证编号",
        "业务种类",
        "发证日期",
        "已报年报年度",
        "未开展业务",
        "续期提交日期",
    ]);
    let cells = |through, not_carried_out, submitted| {
        [
            "示例",
            USCC,
            "京B2-20221234",
            "B24",
            "2022-03-01",
            through,
            not_carried_out,
            submitted,
        ]
    };
    for (through, flag, submitted, expected) in [
        (
            "2025",
            "是",
            "2026/11/2",
            (Some(2025), Some(true), NaiveDate::from_ymd_opt(2026, 11, 2)),
        ),
        ("2025年度", "否", "", (Some(2025), Some(false), None)),
        (
            "２０２４年",
            "N",
            "2026年1月5日",
            (Some(2024), Some(false), NaiveDate::from_ymd_opt(2026, 1, 5)),
        ),
        ("", "", "", (None, None, None)),
    ] {
        let parsed = parse_row(&layout, &line(5, &cells(through, flag, submitted)), 5).unwrap();
        let past = parsed.licence.unwrap().past;
        assert_eq!(
            (
                past.reported_through,
                past.last_not_carried_out,
                past.renewal_submitted
            ),
            expected,
            "{through} {flag} {submitted}"
        );
    }
    let refused = |through, flag| problems(&layout, &cells(through, flag, ""));
    assert_eq!(
        refused("25", ""),
        [(
            "已报年报年度".to_owned(),
            "已报年报年度 \"25\": not a year (expected the last business year whose annual report was filed, e.g. 2025 or 2025年度)".to_owned()
        )]
    );
    assert_eq!(
        refused("", "是"),
        [(
            "未开展业务".to_owned(),
            "未开展业务 is about the last annual report filed, but 已报年报年度 is empty; give the year of that report (e.g. 2025)".to_owned()
        )]
    );
    assert_eq!(
        refused("2025", "maybe"),
        [(
            "未开展业务".to_owned(),
            "未开展业务 \"maybe\": expected 是 or 否 (yes/no): whether the last annual report said 未开展业务".to_owned()
        )]
    );
}
