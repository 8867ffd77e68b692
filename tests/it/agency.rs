//! Issue 7: import and export, the calendar, backups. The real binary
//! against temp databases and files.

use std::path::{Path, PathBuf};

use icalendar::Component as _;

use crate::support::{Register, dump, stderr};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clients.csv")
}

fn example_text() -> String {
    std::fs::read_to_string(example()).unwrap()
}

/// A file beside the register.
fn file(r: &Register, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = r.db().with_file_name(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Runs and expects exit 1; returns stderr.
fn refused(r: &Register, args: &[&str]) -> String {
    let out = r.run(args);
    assert_eq!(out.status.code(), Some(1), "licwatch {args:?}: {out:?}");
    stderr(&out)
}

fn history_rows(r: &Register) -> usize {
    let history = r.ok(&["--format", "json", "history"]);
    serde_json::from_str::<Vec<serde_json::Value>>(&history)
        .unwrap()
        .len()
}

/// The register by natural keys, without ids or history: what a round trip
/// must reproduce. The registers compared here have no marks; the tables
/// that hold them must be empty, or the comparison would hide that they
/// were lost (the issue 11 tests compare marks through the whole dump).
fn register(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    for table in ["company_change", "renewal", "annual_report", "snooze"] {
        let count: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(count, 0, "{table} is not compared here");
    }
    let mut out = String::new();
    for sql in [
        "SELECT c.uscc, c.name, c.address, c.legal_rep,
                (SELECT group_concat(email, ';') FROM (SELECT email FROM company_email e WHERE e.company_id = c.id ORDER BY email))
         FROM company c ORDER BY c.uscc",
        "SELECT l.number, c.uscc, l.scope, l.province, l.items, l.issued, l.expires, l.ended_on,
                l.end_reason, l.authority, l.last_day, l.reported_through, l.renewal_mark
         FROM licence l JOIN company c ON c.id = l.company_id ORDER BY l.number",
        "SELECT n.number, n.province, l.number, n.allocated, n.activated_on, n.carrier,
                n.direction, n.released_on
         FROM number n JOIN licence l ON l.id = n.licence_id ORDER BY n.province, n.number",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..columns)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            out.push_str(&row.unwrap().join(" | "));
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_example_file_imports_cleanly_and_importing_it_again_changes_nothing() {
    let r = Register::new();
    let path = example().display().to_string();
    let out = r.ok(&["import", &path]);
    assert!(out.contains("7 rows imported"), "{out}");
    assert!(
        out.contains(" companies  4      0        0\n licences   4      0        0\n numbers    6      0        0"),
        "{out}"
    );
    let licences = r.ok(&["--format", "json", "licence", "list"]);
    let licences: Vec<serde_json::Value> = serde_json::from_str(&licences).unwrap();
    let numbers: Vec<&str> = licences
        .iter()
        .map(|l| l["licence"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            "B2-20211234",
            "京B2-20221234",
            "沪B2-20230567",
            "粤B2-20240042"
        ]
    );
    // No expiry in the sheet: the usual five years, as licence add does.
    let shanghai = r.ok(&["--format", "json", "licence", "show", "沪B2-20230567"]);
    assert!(
        shanghai.contains("\"expires\": \"2028-05-09\""),
        "{shanghai}"
    );
    let numbers = r.ok(&["number", "list"]);
    assert!(numbers.contains("962888 (沪)  B2-20211234"), "{numbers}");

    let before = r.dump();
    let again = r.ok(&["import", &path]);
    assert!(
        again.contains(" companies  0      0        4\n licences   0      0        4\n numbers    0      0        6"),
        "{again}"
    );
    assert_eq!(r.dump(), before, "a second import wrote something");
}

#[test]
fn dry_run_shows_what_would_change_and_writes_nothing() {
    let r = Register::new();
    r.ok(&[
        "company",
        "add",
        "--uscc",
        crate::support::USCC,
        "--name",
        "已有客户",
    ]);
    let before = r.dump();
    let path = example().display().to_string();
    let out = r.ok(&["import", &path, "--dry-run"]);
    assert!(
        out.contains("7 rows checked; dry run, nothing written"),
        "{out}"
    );
    assert!(
        out.contains("would add licence 粤B2-20240042: holder 91440101MA59XYW02A items B24,B25 issued 2024-08-20 expires 2029-08-19"),
        "{out}"
    );
    assert!(
        out.contains("would add number 962888 (上海市): under B2-20211234 allocated 2026-05-10"),
        "{out}"
    );
    let json = r.ok(&["--format", "json", "import", &path, "--dry-run"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["licences"]["added"], 4);
    // Every change, read back from where the import kept them (issue 14),
    // in the report's shape.
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "changes",
            "companies",
            "dry_run",
            "file",
            "licences",
            "notes",
            "numbers",
            "overdue",
            "past",
            "rows"
        ]
    );
    let changes = json["changes"].as_array().unwrap();
    let tallied: u64 = ["companies", "licences", "numbers"]
        .iter()
        .map(|what| json[what]["added"].as_u64().unwrap() + json[what]["updated"].as_u64().unwrap())
        .sum();
    assert_eq!(changes.len() as u64, tallied);
    assert!(changes.iter().any(|c| c["key"] == "粤B2-20240042"
        && c["edit"] == "add"
        && c["entity"] == "licence"
        && c["detail"]
            == "holder 91440101MA59XYW02A items B24,B25 issued 2024-08-20 expires 2029-08-19"));
    assert_eq!(r.dump(), before);
}

#[test]
fn a_changed_expiry_is_an_update_recorded_in_history() {
    let r = Register::new();
    let path = example().display().to_string();
    r.ok(&["import", &path]);
    let rows_before = history_rows(&r);
    let renewed = example_text().replace(
        "京B2-20221234,北京示例呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,2027-02-28",
        "京B2-20221234,北京示例呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,2032-02-28",
    );
    let renewed = file(&r, "renewed.csv", renewed);
    let out = r.ok(&["import", &renewed]);
    assert!(
        out.contains("updated licence 京B2-20221234: expires 2027-02-28 -> 2032-02-28"),
        "{out}"
    );
    assert!(out.contains(" licences   0      1        3"), "{out}");
    let history = r.ok(&["history", "京B2-20221234"]);
    assert!(
        history.contains("licence update")
            && history.contains("expires 2027-02-28 -> 2032-02-28 (import"),
        "{history}"
    );
    // One update row and the import's summary row.
    assert_eq!(history_rows(&r), rows_before + 2);
    let show = r.ok(&[
        "--today",
        "2026-11-24",
        "--format",
        "json",
        "licence",
        "show",
        "京B2-20221234",
    ]);
    assert!(
        show.contains("renewal/京B2-20221234/2032-02-28"),
        "the renewal follows the new expiry: {show}"
    );
}

#[test]
fn gb18030_bom_tab_separated_xlsx_and_json_files_import_alike() {
    let text = example_text();
    let reference = Register::new();
    reference.ok(&["import", &example().display().to_string()]);
    let expected = register(&reference.db());

    let (gb18030, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gb18030).is_err(), "not a GB18030 test");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let mut tabs = String::new();
    for record in csv::Reader::from_reader(text.as_bytes()).into_records() {
        let record = record.unwrap();
        tabs.push_str(&record.iter().collect::<Vec<_>>().join("\t"));
        tabs.push('\n');
    }
    let header = text.lines().next().unwrap().replace(',', "\t");
    let tabs = format!("{header}\n{tabs}");
    // Excel's "Unicode text": UTF-16LE with a byte order mark. encoding_rs
    // encodes only to ASCII-compatible encodings, so by hand.
    let mut utf16le = b"\xFF\xFE".to_vec();
    for unit in tabs.encode_utf16() {
        utf16le.extend_from_slice(&unit.to_le_bytes());
    }

    for (name, bytes) in [
        ("gbk.csv", gb18030.into_owned()),
        ("bom.csv", bom),
        ("tabs.txt", tabs.into_bytes()),
        ("unicode.txt", utf16le),
        ("clients.xlsx", workbook(&text)),
        ("clients.xls", crate::biff::from_csv(&text)),
    ] {
        let r = Register::new();
        let path = file(&r, name, bytes);
        r.ok(&["import", &path]);
        assert_eq!(register(&r.db()), expected, "{name}");
    }
}

/// The example as a workbook the way Excel keeps one: numbers as numbers
/// (an 8-digit number is a float) and dates as date-formatted serials.
fn workbook(csv_text: &str) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook.add_worksheet();
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    for (row, record) in reader.records().enumerate() {
        for (column, cell) in record.unwrap().iter().enumerate() {
            let (row, column) = (row as u32, column as u16);
            if cell.is_empty() {
                continue;
            }
            if let Ok(day) = chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
                let serial = (day - epoch).num_days() as f64;
                sheet
                    .write_number_with_format(row, column, serial, &date)
                    .unwrap();
            } else if let Ok(n) = cell.parse::<f64>() {
                sheet.write_number(row, column, n).unwrap();
            } else {
                sheet.write_string(row, column, cell).unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A register with every kind of row the format carries: provincial,
/// nationwide and combined licences, 95/96/1010 numbers (a 96 number under
/// a nationwide licence with its province), numbers in service and given
/// back, an ended licence, and a company without licences.
fn full_register() -> Register {
    let r = Register::new();
    let at = ["--today", "2026-01-10"];
    let run = |args: &[&str]| r.ok(&[&at[..], args].concat());
    run(&[
        "company",
        "add",
        "--uscc",
        "91110105MA01ABCD13",
        "--name",
        "北京示例呼叫中心有限公司",
        "--email",
        "ops@example.cn",
        "--email",
        "compliance@example.cn",
    ]);
    run(&[
        "company",
        "update",
        "91110105MA01ABCD13",
        "--address",
        "北京市海淀区示例路1号",
        "--legal-rep",
        "张三",
    ]);
    run(&[
        "company",
        "add",
        "--uscc",
        "91310000MA1K3QW4RB",
        "--name",
        "示例全国呼叫中心股份有限公司, \"总部\"",
    ]);
    run(&[
        "company",
        "add",
        "--uscc",
        "91440101MA59XYW02A",
        "--name",
        "广州示例（筹）",
    ]);
    run(&[
        "licence",
        "add",
        "--number",
        "京B2-20221234",
        "--holder",
        "91110105MA01ABCD13",
        "--items",
        "B24,B25",
        "--issued",
        "2022-03-01",
    ]);
    run(&[
        "licence",
        "add",
        "--number",
        "B1.B2-20090001",
        "--holder",
        "91310000MA1K3QW4RB",
        "--items",
        "B11,B24",
        "--issued",
        "2024-01-05",
        "--expires",
        "2029-01-04",
        "--authority",
        "工业和信息化部",
    ]);
    run(&[
        "licence",
        "add",
        "--number",
        "沪B2-20230567",
        "--holder",
        "91310000MA1K3QW4RB",
        "--items",
        "B24",
        "--issued",
        "2023-05-10",
    ]);
    run(&[
        "number",
        "add",
        "961234",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2022-06-15",
    ]);
    run(&[
        "number",
        "activate",
        "961234",
        "--on",
        "2022-07-01",
        "--carrier",
        "中国电信",
        "--direction",
        "both",
    ]);
    run(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2025-09-15",
    ]);
    run(&[
        "number",
        "add",
        "95123",
        "--licence",
        "B1.B2-20090001",
        "--allocated",
        "2024-02-01",
    ]);
    run(&[
        "number",
        "add",
        "10101234",
        "--licence",
        "B1.B2-20090001",
        "--allocated",
        "2024-03-01",
    ]);
    run(&[
        "number",
        "activate",
        "10101234",
        "--on",
        "2024-03-20",
        "--carrier",
        "中国移动",
        "--direction",
        "outbound",
    ]);
    run(&["number", "release", "10101234", "--on", "2025-06-30"]);
    run(&[
        "number",
        "add",
        "961234",
        "--province",
        "粤",
        "--licence",
        "B1.B2-20090001",
        "--allocated",
        "2024-04-01",
    ]);
    run(&[
        "number",
        "add",
        "968888",
        "--licence",
        "沪B2-20230567",
        "--allocated",
        "2023-06-01",
    ]);
    run(&[
        "licence",
        "end",
        "沪B2-20230567",
        "--on",
        "2025-12-31",
        "--reason",
        "主动注销",
    ]);
    r
}

#[test]
fn export_then_import_into_an_empty_register_reproduces_it() {
    let original = full_register();
    let expected = register(&original.db());
    assert!(
        expected.contains("Text(\"961234\") | Text(\"粤\")"),
        "{expected}"
    );
    let csv = original.ok(&["export"]);
    assert!(
        csv.starts_with("\u{feff}许可证编号,持证单位,统一社会信用代码"),
        "{csv}"
    );
    // Written a chunk of companies at a time (issue 14): the same bytes as
    // when the sheet was made whole, pinned from then; the JSON as
    // serde_json pretty-prints the whole array.
    expect_test::expect_file!["goldens/export.csv"].assert_eq(&csv);
    let json = original.ok(&["--format", "json", "export"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json, serde_json::to_string_pretty(&parsed).unwrap() + "\n");
    expect_test::expect_file!["goldens/export.json"].assert_eq(&json);
    let xlsx = original.db().with_file_name("register.xlsx");
    let xlsx = xlsx.display().to_string();
    original.ok(&["--format", "xlsx", "export", "--output", &xlsx]);

    for (name, bytes) in [
        ("register.csv", csv.clone().into_bytes()),
        ("register.json", json.clone().into_bytes()),
        ("register.xlsx", std::fs::read(&xlsx).unwrap()),
    ] {
        let copy = Register::new();
        let path = file(&copy, name, bytes);
        copy.ok(&["import", &path]);
        assert_eq!(register(&copy.db()), expected, "{name}");
        // And the copy exports to the same file.
        assert_eq!(copy.ok(&["export"]), csv, "{name}");
        assert_eq!(copy.ok(&["--format", "json", "export"]), json, "{name}");
        // Importing its own export is a no-op.
        let before = copy.dump();
        let own = file(&copy, "own.csv", copy.ok(&["export"]));
        copy.ok(&["import", &own]);
        assert_eq!(copy.dump(), before, "{name}");
    }
}

#[test]
fn export_files_are_private_and_not_overwritten_without_force() {
    use std::os::unix::fs::PermissionsExt;
    let r = full_register();
    let out = r.db().with_file_name("clients.csv");
    let out = out.display().to_string();
    let done = r.run(&["export", "--output", &out]);
    assert!(done.status.success(), "{}", stderr(&done));
    assert_eq!(stderr(&done).trim(), format!("exported 7 rows to {out}"));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let err = refused(&r, &["export", "--output", &out]);
    assert!(
        err.contains("the file exists (add --force to replace it)"),
        "{err}"
    );
    r.ok(&["export", "--output", &out, "--force"]);
    let err = refused(&r, &["--format", "xlsx", "export"]);
    assert!(err.contains("give --output FILE.xlsx"), "{err}");
    let err = refused(&r, &["--format", "csv", "licence", "list"]);
    assert_eq!(
        err.trim(),
        "licwatch: --format csv: only export writes csv; this command writes table or json"
    );
    let err = refused(&r, &["--format", "ics", "export"]);
    assert_eq!(
        err.trim(),
        "licwatch: --format ics: only agenda writes ics; this command writes table or json"
    );
}

/// A sheet with the given data rows under the example's header.
fn sheet(rows: &[&str]) -> String {
    let header = example_text().lines().next().unwrap().to_owned();
    let mut text = header;
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

#[test]
fn every_bad_row_is_listed_and_nothing_is_written() {
    let r = Register::new();
    r.ok(&["import", &example().display().to_string()]);
    let before = r.dump();
    let bad = file(
        &r,
        "bad.csv",
        sheet(&[
            // Fine on its own: not written, because other rows are bad.
            "京B2-20229999,北京示例呼叫中心有限公司,91110105MA01ABCD13,B24,2022-03-01,2027-02-28,,,,,,,",
            "京B2-20221235,北京示例,91110105MA01ABCD13,B24,2025-02-30,,,,,,,,",
            "粤B2-20221236,示例,91310115MA1H8R7C6D,B24,2022-03-01,,,,,,,,",
            "粤B2-20221237,示例,91440101MA59XYW02A,B24,2022-03-01",
            // Conflicts with the register: a licence changing holder, and a
            // number moving to another licence.
            "B2-20211234,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2021-11-02,2026-11-01,,,,,,,",
            "沪B2-20230567,上海示例信息技术有限公司,91310115MA1H8R7C67,B24,2023-05-10,,962888,,2023-06-01,,,,",
        ]),
    );
    let err = refused(&r, &["import", &bad]);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        format!("licwatch: {bad}: 5 of 6 rows cannot be imported; nothing was written")
    );
    assert_eq!(
        lines[1],
        "  row 3, column 发证日期: 发证日期 \"2025-02-30\": no such day in that month (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)"
    );
    assert_eq!(
        lines[2],
        "  row 4, column 统一社会信用代码: unified social credit code \"91310115MA1H8R7C6D\": check character is \"D\", expected \"7\" (is a character mistyped?)"
    );
    assert_eq!(
        lines[3],
        "  row 5: the row has 5 cells but the header has 13 (a missing or extra separator, or an unquoted comma in a value?)"
    );
    assert_eq!(
        lines[4],
        "  row 6, column 统一社会信用代码: licence B2-20211234 is held by 91310000MA1K3QW4RB in the register; a licence does not change holder (a renamed company keeps its USCC)"
    );
    assert_eq!(
        lines[5],
        "  row 7, column 码号: number 962888 (上海市) is registered under licence B2-20211234; a number cannot move to another licence (numbers may not be transferred)"
    );
    assert_eq!(lines.len(), 6, "{err}");

    let json = r.run(&["--format", "json", "import", &bad]);
    assert_eq!(json.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["written"], false);
    // The changes the good rows would have made are not listed: none was.
    assert!(json.get("changes").is_none(), "{json}");
    assert_eq!(json["problems"][0]["row"], 3);
    assert_eq!(json["problems"][0]["column"], "发证日期");
    assert_eq!(json["problems"][0]["value"], "2025-02-30");
    assert_eq!(json["problems"][2]["column"], serde_json::Value::Null);
    assert_eq!(r.dump(), before);
}

#[test]
fn malformed_files_get_a_clear_error_write_nothing_and_never_panic() {
    let r = Register::new();
    r.seed();
    let before = r.dump();
    let mut junk = Vec::new();
    // A deterministic byte soup, NULs included, as a damaged file would be.
    let mut state: u32 = 0x1234_5678;
    for _ in 0..4096 {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        junk.push((state >> 24) as u8);
    }
    let full = workbook(&example_text());
    let huge_cell = {
        let mut text = sheet(&[]);
        text.push_str("京B2-20221234,");
        text.push_str(&"x".repeat(50 * 1024 * 1024));
        text.push_str(",91110105MA01ABCD13,B24,2022-03-01,,,,,,,,\n");
        text
    };
    let mut not_gb = sheet(&[]).into_bytes();
    not_gb.extend_from_slice(b"\x80\xFF\xFE\x81,x\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "junk.csv",
            junk.clone(),
            "holds NUL bytes: not a text file (save the sheet as CSV UTF-8 or XLSX)",
        ),
        ("junk.xlsx", junk, "not a readable workbook"),
        (
            "truncated.xlsx",
            full[..full.len() / 2].to_vec(),
            "not a readable workbook",
        ),
        (
            "latin.csv",
            not_gb,
            "is neither UTF-8 nor GB18030 text (save the sheet as CSV UTF-8 or XLSX)",
        ),
        ("empty.csv", Vec::new(), "no header row"),
        (
            "notes.docx",
            b"x".to_vec(),
            "unknown file type (accepted: .csv or .txt, .xlsx, .xlsm, .xls, .ods, .json)",
        ),
        (
            "rows.json",
            b"{\"uscc\": 1}".to_vec(),
            "expected a JSON array of objects, one per row",
        ),
        (
            "notes.csv",
            "序号,备注\n1,x\n".as_bytes().to_vec(),
            "the header row (row 1) cannot be used; nothing was written\n  no 持证单位/holder_name column: every row needs one",
        ),
        (
            "huge.csv",
            huge_cell.into_bytes(),
            "row 2, column 持证单位: 持证单位: the cell holds 52428800 characters, more than the 1000 a cell may",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = file(&r, name, bytes);
        let err = refused(&r, &["import", &path]);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert_eq!(r.dump(), before, "{name}");
    }
    let too_big = r.db().with_file_name("big.csv");
    let file = std::fs::File::create(&too_big).unwrap();
    file.set_len(65 * 1024 * 1024).unwrap();
    let err = refused(&r, &["import", &too_big.display().to_string()]);
    assert!(
        err.contains("68157440 bytes, more than the 67108864 bytes import reads (split the file)"),
        "{err}"
    );
}

#[test]
fn a_changed_company_name_is_imported_with_a_note_about_change_filings() {
    let r = Register::new();
    let path = example().display().to_string();
    r.ok(&["import", &path]);
    let renamed = example_text().replace("上海示例信息技术有限公司", "上海新示例科技有限公司");
    let renamed = file(&r, "renamed.csv", renamed);
    let out = r.ok(&["import", &renamed]);
    assert!(
        out.contains("updated company 91310115MA1H8R7C67: name 上海示例信息技术有限公司 -> 上海新示例科技有限公司"),
        "{out}"
    );
    assert!(
        out.contains("note: company 91310115MA1H8R7C67: name 上海示例信息技术有限公司 -> 上海新示例科技有限公司; if the company renamed (not a typo), record the change"),
        "{out}"
    );
}

/// The calendar's events by obligation key, read back with a real
/// iCalendar parser.
fn events(ics: &str) -> Vec<icalendar::Event> {
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(
        ics.split("\r\n").all(|line| line.len() <= 75),
        "RFC 5545 folds lines at 75 octets"
    );
    let unfolded = icalendar::parser::unfold(ics);
    let raw = icalendar::parser::read_calendar(&unfolded).unwrap();
    assert_eq!(
        raw.components.len(),
        raw.components
            .iter()
            .filter(|c| c.name.as_str() == "VEVENT")
            .count()
    );
    let calendar: icalendar::Calendar = ics.parse().unwrap();
    calendar.events().cloned().collect()
}

/// A relative TRIGGER in hours. The icalendar crate reads durations as
/// ISO 8601, which has no sign: the sign is RFC 5545's, the rest the
/// crate's to read.
fn trigger_hours(trigger: &icalendar::Property) -> i64 {
    assert!(
        trigger.params().get("VALUE").is_none(),
        "an absolute trigger: {trigger:?}"
    );
    let value = trigger.value();
    let (sign, magnitude) = match value.strip_prefix('-') {
        Some(magnitude) => (-1, magnitude),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    match icalendar::Trigger::try_from(&icalendar::Property::new("TRIGGER", magnitude)) {
        Ok(icalendar::Trigger::Duration(duration, _)) => sign * duration.num_hours(),
        other => panic!("TRIGGER {value}: {other:?}"),
    }
}

#[test]
fn agenda_as_icalendar_has_one_event_per_obligation_with_stable_uids_and_stage_alarms() {
    let r = Register::new();
    r.ok(&["import", &example().display().to_string()]);
    let agenda = r.agenda_json("2026-11-24", "120");
    assert!(agenda.len() >= 4, "{agenda:#?}");
    let ics = r.agenda_ics("2026-11-24", "120");
    let listed = events(&ics);
    assert_eq!(listed.len(), agenda.len());
    let mut uids = std::collections::HashSet::new();
    for (event, obligation) in listed.iter().zip(&agenda) {
        let key = obligation["obligation"].as_str().unwrap();
        assert_eq!(event.property_value("X-LICWATCH-OBLIGATION"), Some(key));
        assert!(
            uids.insert(event.get_uid().unwrap().to_owned()),
            "UIDs repeat"
        );
        let due =
            chrono::NaiveDate::parse_from_str(obligation["due"].as_str().unwrap(), "%Y-%m-%d")
                .unwrap();
        assert_eq!(
            event.get_start(),
            Some(icalendar::DatePerhapsTime::Date(due))
        );
        assert_eq!(
            event.get_end(),
            Some(icalendar::DatePerhapsTime::Date(due.succ_opt().unwrap()))
        );
        assert!(event.get_description().unwrap().contains(key));

        // The alarms are the stages `explain` shows, each at 09:00 on its
        // send day: the trigger counts from the start of the due day.
        let explain = r.ok(&["--today", "2026-11-24", "--format", "json", "explain", key]);
        let explain: serde_json::Value = serde_json::from_str(&explain).unwrap();
        let mut expected: Vec<i64> = explain["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|stage| {
                let send_on = chrono::NaiveDate::parse_from_str(
                    stage["send_on"].as_str().unwrap(),
                    "%Y-%m-%d",
                )
                .unwrap();
                (send_on - due).num_days() * 24 + 9
            })
            .collect();
        // explain also lists overdue repeats up to today; the calendar's
        // alarms stop at the due day's schedule.
        if due < chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap() {
            continue;
        }
        expected.sort();
        let mut triggers: Vec<i64> = event
            .components()
            .iter()
            .map(|alarm| {
                assert_eq!(alarm.property_value("ACTION"), Some("DISPLAY"));
                trigger_hours(alarm.properties().get("TRIGGER").unwrap())
            })
            .collect();
        triggers.sort();
        assert_eq!(triggers, expected, "{key}");
    }
    let renewal = listed
        .iter()
        .find(|e| {
            e.property_value("X-LICWATCH-OBLIGATION") == Some("renewal/京B2-20221234/2027-02-28")
        })
        .unwrap();
    assert_eq!(
        renewal.get_summary(),
        Some("延续（续期）申请截止：京B2-20221234（北京示例呼叫中心有限公司）")
    );
    assert!(
        renewal
            .get_description()
            .unwrap()
            .contains("原发证机关：北京市通信管理局")
    );

    // The same register gives the same UIDs, so a calendar updates in place.
    let again = events(&r.agenda_ics("2026-11-25", "120"));
    let uid_of = |events: &[icalendar::Event]| -> Vec<String> {
        events
            .iter()
            .map(|e| e.get_uid().unwrap().to_owned())
            .collect()
    };
    assert_eq!(uid_of(&again), uid_of(&listed));

    let english = events(&r.ok(&[
        "--today",
        "2026-11-24",
        "--format",
        "ics",
        "agenda",
        "--days",
        "120",
        "--lang",
        "en",
    ]));
    let renewal = english
        .iter()
        .find(|e| {
            e.property_value("X-LICWATCH-OBLIGATION") == Some("renewal/京B2-20221234/2027-02-28")
        })
        .unwrap();
    assert_eq!(
        renewal.get_summary(),
        Some("Renewal application due: 京B2-20221234 (北京示例呼叫中心有限公司)")
    );
    let err = refused(&r, &["agenda", "--lang", "en"]);
    assert!(
        err.contains("--lang: only for the calendar (add --format ics)"),
        "{err}"
    );
    let err = refused(&r, &["--format", "ics", "agenda", "--explain"]);
    assert!(err.contains("--explain: not with --format ics"), "{err}");
}

/// The calendar is written a slice of due days at a time (issue 14): the
/// same bytes as when it was made whole, pinned from then, with the one
/// line that differs between runs (DTSTAMP, when it was made) masked.
#[test]
fn the_calendar_streamed_slice_by_slice_is_the_calendar_made_whole() {
    let r = Register::new();
    r.ok(&["import", &example().display().to_string()]);
    let ics = r.agenda_ics("2026-11-24", "120");
    assert_eq!(events(&ics).len(), 16);
    assert_eq!(ics.matches('\n').count(), ics.matches("\r\n").count());
    let masked: String = ics
        .split_inclusive("\r\n")
        .map(|line| match line.strip_prefix("DTSTAMP:") {
            Some(_) => "DTSTAMP:(masked)\n".to_owned(),
            None => line.replace("\r\n", "\n"),
        })
        .collect();
    expect_test::expect_file!["goldens/agenda-120-days.ics"].assert_eq(&masked);
}

/// A register row that cannot be read stops the calendar as it stops the
/// JSON agenda: the same message and exit code, and stdout holds what was
/// written before it, a calendar without its end (README).
#[test]
fn an_unreadable_row_stops_the_calendar_as_it_stops_the_json_agenda() {
    let r = Register::new();
    r.ok(&["import", &example().display().to_string()]);
    // A licence whose only obligation in the window is its number's
    // activation, due after the other events.
    r.ok(&[
        "licence",
        "add",
        "--number",
        "京B2-20265678",
        "--holder",
        "91110105MA01ABCD13",
        "--items",
        "B24",
        "--issued",
        "2026-09-01",
    ]);
    r.ok(&[
        "number",
        "add",
        "962999",
        "--licence",
        "京B2-20265678",
        "--allocated",
        "2026-09-20",
    ]);
    let db = rusqlite::Connection::open(r.db()).unwrap();
    // Edited by hand: a licence number no parser accepts.
    let bad: i64 = db
        .query_row(
            "UPDATE licence SET number = 'not a licence' WHERE number = '京B2-20265678' RETURNING id",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let agenda = |format: &str| {
        r.run(&[
            "--today",
            "2026-11-24",
            "--format",
            format,
            "agenda",
            "--days",
            "120",
        ])
    };
    let (json, ics) = (agenda("json"), agenda("ics"));
    assert_eq!(ics.status.code(), Some(1));
    assert_eq!(json.status.code(), Some(1));
    assert_eq!(stderr(&ics), stderr(&json));
    assert!(
        stderr(&ics).contains(&format!("#{bad}")),
        "{}",
        stderr(&ics)
    );
    let ics = String::from_utf8(ics.stdout).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    assert!(
        ics.contains("BEGIN:VEVENT\r\n"),
        "nothing before the bad row: {ics}"
    );
    assert!(!ics.contains("END:VCALENDAR"), "{ics}");
    assert!(ics.ends_with("END:VEVENT\r\n"), "{ics}");
    let json = String::from_utf8(json.stdout).unwrap();
    assert!(json.starts_with('['), "{json}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_err(),
        "{json}"
    );
}

#[test]
fn an_empty_agenda_is_still_a_valid_calendar() {
    let r = Register::new();
    let ics = r.ok(&["--today", "2026-11-24", "--format", "ics", "agenda"]);
    assert!(events(&ics).is_empty());
    assert!(ics.contains("PRODID:-//licwatch//licwatch agenda//ZH\r\n"));
}

#[test]
fn a_backup_is_a_checked_private_copy_and_is_taken_while_a_writer_is_busy() {
    use std::os::unix::fs::PermissionsExt;
    let r = full_register();
    let backup = r.db().with_file_name("backup.db");
    let backup_path = backup.display().to_string();

    // A daemon in the middle of a write: the backup neither waits for it
    // nor copies its uncommitted row. Noting the backup for `licwatch
    // status` is a write: it waits out the busy timeout (shortened here
    // from 30 s) and then only warns.
    let writer = rusqlite::Connection::open(r.db()).unwrap();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE; INSERT INTO snooze VALUES ('held', '2030-01-01', 'in flight');",
        )
        .unwrap();
    let out = r
        .command(&["db", "backup", &backup_path])
        .env(licwatch::store::BUSY_TIMEOUT_ENV, "300")
        .output()
        .unwrap();
    let warning = stderr(&out);
    assert!(out.status.success(), "{warning}");
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.starts_with("backed up "), "{out}");
    assert!(out.contains("integrity ok"), "{out}");
    assert!(
        warning.contains("noting the backup for licwatch status") && warning.contains("locked"),
        "{warning}"
    );
    writer.execute_batch("ROLLBACK").unwrap();

    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(register_rows(&dump(&backup)), register_rows(&r.dump()));
    let check = r.ok(&["--db", &backup_path, "db", "check"]);
    assert!(check.contains("integrity_check: ok"), "{check}");
    let supported = check_json(&r)["supported_schema_version"].clone();
    assert!(
        check.contains(&format!(
            "schema version {supported} (this licwatch: {supported}): ok"
        )),
        "{check}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(backup.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let err = refused(&r, &["db", "backup", &backup_path]);
    assert!(
        err.contains("already exists; choose a new name or add --force to replace it"),
        "{err}"
    );
    r.ok(&[
        "company",
        "add",
        "--uscc",
        "91110000600037341L",
        "--name",
        "后来的公司",
    ]);
    r.ok(&["db", "backup", &backup_path, "--force"]);
    assert_eq!(register_rows(&dump(&backup)), register_rows(&r.dump()));

    // The restore the docs describe: the copy is a working register.
    let restored = Register::new();
    std::fs::copy(&backup, restored.db()).unwrap();
    assert!(restored.ok(&["company", "list"]).contains("后来的公司"));
}

/// A dump without the daemon's record, which notes each backup in the
/// register after the copy is made (for `licwatch status`).
fn register_rows(dump: &str) -> String {
    dump.lines()
        .filter(|line| !line.starts_with("service_status:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_json(r: &Register) -> serde_json::Value {
    serde_json::from_str(&r.ok(&["--format", "json", "db", "check"])).unwrap()
}

#[test]
fn db_check_fails_on_a_damaged_file_and_on_a_newer_schema() {
    let r = full_register();
    let json = check_json(&r);
    assert_eq!(json["ok"], true);
    assert_eq!(json["integrity_check"], serde_json::json!(["ok"]));

    let damaged = r.db().with_file_name("damaged.db");
    let damaged_path = damaged.display().to_string();
    r.ok(&["db", "backup", &damaged_path]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let page = 4096;
    assert!(bytes.len() > 3 * page);
    for byte in &mut bytes[2 * page + 8..3 * page] {
        *byte = 0x5a;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let out = r.run(&["--db", &damaged_path, "db", "check"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("the check failed (restore from a backup: docs/agency.md)")
            || stderr(&out).contains("malformed"),
        "{}",
        stderr(&out)
    );

    rusqlite::Connection::open(r.db())
        .unwrap()
        .pragma_update(None, "user_version", 42)
        .unwrap();
    let out = r.run(&["db", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("schema version 42 (this licwatch: ")
            && stdout.contains("): newer than this licwatch supports; upgrade licwatch"),
        "{stdout}"
    );
    let missing = refused(&r, &["--db", "/nonexistent/licwatch.db", "db", "check"]);
    assert!(
        missing.contains("/nonexistent/licwatch.db: no such file"),
        "{missing}"
    );
}

#[test]
fn a_number_put_into_service_and_new_contacts_are_updates() {
    let r = Register::new();
    r.ok(&["import", &example().display().to_string()]);
    let updated = example_text()
        .replace(
            "962345,,2026-09-15,,,,",
            "962345,,2026-09-15,new@example.cn,2026-10-01,中国联通,",
        )
        .replace(
            "961234,,2022-06-15,compliance@example.cn;ops@example.cn,",
            "961234,,2022-06-15,,",
        );
    let updated = file(&r, "updated.csv", updated);
    let out = r.ok(&["import", &updated]);
    assert!(
        out.contains("updated company 91110105MA01ABCD13: emails compliance@example.cn;ops@example.cn -> new@example.cn"),
        "{out}"
    );
    assert!(
        out.contains("updated number 962345 (北京市): activated - -> 2026-10-01; carrier - -> 中国联通; direction - -> inbound"),
        "{out}"
    );
    let numbers = r.ok(&[
        "--format",
        "json",
        "number",
        "list",
        "--licence",
        "京B2-20221234",
    ]);
    let numbers: Vec<serde_json::Value> = serde_json::from_str(&numbers).unwrap();
    assert_eq!(numbers[1]["number"], "962345");
    assert_eq!(numbers[1]["direction"], "inbound");
    // Put into service: its activation is no longer due.
    let agenda = r.agenda_json("2026-11-24", "180");
    assert!(!agenda.is_empty());
    assert!(
        agenda
            .iter()
            .all(|o| o["kind"] != "number_activation" || o["number"] != "962345")
    );
}

// Issue 11: day one with a real register.

/// A cell of an office sheet as Excel keeps it.
enum Office {
    Text(&'static str),
    Number(f64),
    Date(i32, u32, u32),
}

/// A workbook built like a real agency's client ledger: a merged title row,
/// a line with the date it was drawn up, the header on row 3 with 序号 and
/// 备注 and the agency's own names for the columns, a company's name,
/// code and licence merged down over its two numbers' rows, dates typed
/// every way people type them, past reports in a column, and a row at the
/// end with only blanks in it.
fn agency_workbook() -> Vec<u8> {
    use Office::{Date, Number, Text};
    let header = [
        "序号",
        "客户名称",
        "统一社会信用代码",
        "许可证号",
        "业务种类",
        "颁发日期",
        "到期日期",
        "号码",
        "分配日期",
        "启用日期",
        "运营商",
        "联系人",
        "联系电话",
        "已报年报年度",
        "未开展业务",
        "续期提交日期",
        "备注",
    ];
    let rows: [[Office; 17]; 4] = [
        [
            Number(1.0),
            Text("北京示例呼叫中心有限公司"),
            Text("91110105MA01ABCD13"),
            Text("京B2-20221234"),
            Text("B24"),
            Text("2022年3月1日"),
            Date(2027, 2, 28),
            Number(961234.0),
            Text("2022/6/15"),
            Text("2022.7.1"),
            Text("中国电信"),
            Text("张三"),
            Number(13800138000.0),
            Number(2025.0),
            Text(""),
            Text("2026年11月2日"),
            Text("老客户"),
        ],
        [
            Number(2.0),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Number(962345.0),
            Date(2026, 9, 15),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text("新号码"),
        ],
        [
            Number(3.0),
            Text("示例全国呼叫中心股份有限公司"),
            Text("91310000MA1K3QW4RB"),
            Text("B2-20221188"),
            Text("B24"),
            Text("2022-05-02"),
            Text("2027/5/1"),
            Number(95123.0),
            Number(44805.0),
            Text("2022-10-08"),
            Text("中国联通"),
            Text("李四"),
            Text("021-55550000"),
            Text("2025年度"),
            Text("否"),
            Text("2026.11.20"),
            Text(""),
        ],
        [
            Number(4.0),
            Text("广州示例客服外包有限公司"),
            Text("91440101MA59XYW02A"),
            Text("粤B2-20240042"),
            Text("B24,B25"),
            Date(2024, 8, 20),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            Text("2024"),
            Text("是"),
            Text(""),
            Text("2025年报未报"),
        ],
    ];
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let centred = rust_xlsxwriter::Format::new().set_align(rust_xlsxwriter::FormatAlign::Center);
    let sheet = workbook.add_worksheet();
    sheet
        .merge_range(
            0,
            0,
            0,
            16,
            "2026年度增值电信业务经营许可证客户台账（B24）",
            &centred,
        )
        .unwrap();
    sheet
        .write_string(1, 0, "制表日期：2026年11月30日")
        .unwrap();
    for (column, name) in header.iter().enumerate() {
        sheet.write_string(2, column as u16, *name).unwrap();
    }
    for (index, row) in rows.iter().enumerate() {
        let line = 3 + index as u32;
        for (column, cell) in row.iter().enumerate() {
            let column = column as u16;
            match cell {
                Text("") => {}
                Text(text) => {
                    sheet.write_string(line, column, *text).unwrap();
                }
                Number(n) => {
                    sheet.write_number(line, column, *n).unwrap();
                }
                Date(y, m, d) => {
                    let day =
                        rust_xlsxwriter::ExcelDateTime::from_ymd(*y as u16, *m as u8, *d as u8)
                            .unwrap();
                    sheet
                        .write_date_with_format(line, column, &day, &date)
                        .unwrap();
                }
            }
        }
    }
    // The first company's name, code and licence merged down over the rows
    // of its two numbers, as offices do.
    for column in 1..=6 {
        let value = match &rows[0][column as usize] {
            Text(text) => *text,
            _ => continue,
        };
        sheet
            .merge_range(3, column, 4, column, value, &centred)
            .unwrap();
    }
    sheet.merge_range(3, 6, 4, 6, "", &centred).unwrap();
    let expires = rust_xlsxwriter::ExcelDateTime::from_ymd(2027, 2, 28).unwrap();
    sheet.write_date_with_format(3, 6, &expires, &date).unwrap();
    // The blank row at the end: cells with nothing but spaces.
    sheet.write_string(7, 1, "  ").unwrap();
    sheet.write_string(7, 16, " ").unwrap();
    workbook.save_to_buffer().unwrap()
}

/// (kind, licence, number, year) of every obligation the agenda shows.
fn agenda_keys(r: &Register, today: &str, days: &str) -> Vec<String> {
    r.agenda_json(today, days)
        .iter()
        .map(|o| {
            format!(
                "{} {} {} {} due {} {}",
                o["kind"].as_str().unwrap(),
                o["licence"].as_str().unwrap(),
                o["number"].as_str().unwrap_or("-"),
                o["year"].as_i64().map_or("-".to_owned(), |y| y.to_string()),
                o["due"].as_str().unwrap(),
                o["state"].as_str().unwrap(),
            )
        })
        .collect()
}

#[test]
fn issue_11_an_agency_workbook_imports_and_the_agenda_shows_only_what_is_open() {
    let r = Register::new();
    let path = file(&r, "台账.xlsx", agency_workbook());
    let today = ["--today", "2026-12-01"];
    let dry = r.ok(&[&today[..], &["import", &path, "--dry-run"]].concat());
    assert!(
        dry.contains(": 4 rows checked; dry run, nothing written"),
        "{dry}"
    );
    assert!(
        dry.contains("note: the header is row 3; skipped above it: row 1 (2026年度增值电信业务经营许可证客户台账（B24）), row 2 (制表日期：2026年11月30日)"),
        "{dry}"
    );
    assert!(
        dry.contains(
            "note: ignored: 序号, 备注 (not columns of the import format; --strict refuses them)"
        ),
        "{dry}"
    );
    assert!(
        dry.contains("would record 9 annual reports and 2 renewals as filed before"),
        "{dry}"
    );
    assert!(
        dry.contains("after the import, 1 obligations will be overdue:\n  annual_report 2025 (business year): 1\nhint: annual reports already filed"),
        "{dry}"
    );
    assert_eq!(history_rows(&r), 0, "a dry run writes nothing");

    let out = r.ok(&[&today[..], &["import", &path]].concat());
    assert!(out.contains(": 4 rows imported"), "{out}");
    assert!(
        out.contains("recorded 9 annual reports and 2 renewals as filed before"),
        "{out}"
    );
    expect_test::expect![[r#"
        annual_report 粤B2-20240042 - 2025 due 2026-03-31 overdue
        number_activation 京B2-20221234 962345 - due 2027-03-15 open
        annual_report B2-20221188 - 2026 due 2027-03-31 open
        annual_report 京B2-20221234 - 2026 due 2027-03-31 open
        annual_report 粤B2-20240042 - 2026 due 2027-03-31 open"#]]
    .assert_eq(&agenda_keys(&r, "2026-12-01", "120").join("\n"));

    // The contacts came in and go back out; the past goes out as it came.
    let csv = r.ok(&["export"]);
    assert!(csv.contains(",张三,13800138000,2025,2026-11-02,"), "{csv}");
    assert!(csv.contains(",李四,021-55550000,2025,2026-11-20,"), "{csv}");
    assert!(csv.contains(",2024,,是"), "{csv}");
    // Importing it again changes nothing.
    let before = r.dump();
    let again = file(&r, "again.csv", &csv);
    r.ok(&[&today[..], &["import", &again]].concat());
    assert_eq!(r.dump(), before);

    // --strict refuses what was ignored, naming each column once.
    let strict = Register::new();
    let path = file(&strict, "台账.xlsx", agency_workbook());
    let err = refused(
        &strict,
        &[&today[..], &["import", &path, "--strict"]].concat(),
    );
    assert!(
        err.contains("the header row (row 3) cannot be used"),
        "{err}"
    );
    assert!(err.contains("column 1 \"序号\": not a column"), "{err}");
    assert!(err.contains("column 17 \"备注\": not a column"), "{err}");
    assert_eq!(err.matches("持证单位/holder_name").count(), 1, "{err}");
}

#[test]
fn issue_11_header_row_can_be_given_and_bad_rows_are_named_by_sheet_row() {
    let r = Register::new();
    let sheet = "客户台账\n\n\
        序号,客户名称,统一社会信用代码,许可证号,业务种类,颁发日期,到期日期,号码,分配日期\n\
        1,北京示例呼叫中心有限公司,91110105MA01ABCD13,京B2-20221234,B24,2022-03-01,2027-02-28,961234,2022-06-15\n\
        2,示例全国呼叫中心股份有限公司,9.14403E+17,B2-20221188,B24,2022-05-02,03/01/2026,95123.0,2022-09-01\n\
        3,广州示例客服外包有限公司,91440101MA59XYW02A,粤B2-20240042,B24,2024年8月20日,,,\n";
    let path = file(&r, "ledger.csv", sheet);
    let err = refused(&r, &["import", &path]);
    expect_test::expect![[r#"
        licwatch: ledger.csv: 1 of 3 rows cannot be imported; nothing was written
          row 5, column 统一社会信用代码: 统一社会信用代码 "9.14403E+17": Excel turned this column into numbers and rounded the value; format the column as text and type the code again
          row 5, column 到期日期: 到期日期 "03/01/2026": the year comes last, so day and month are ambiguous (3 January or 1 March?); write the year first (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)
    "#]]
    .assert_eq(&err.replace(&path, "ledger.csv"));
    assert_eq!(history_rows(&r), 0);

    // The same sheet fixed imports, the header found on row 3 (the blank
    // row 2 counted as the sheet counts it); --header-row says so too.
    let fixed = sheet
        .replace("9.14403E+17", "91310000MA1K3QW4RB")
        .replace("03/01/2026", "2027/5/1");
    let path = file(&r, "ledger.csv", fixed);
    let out = r.ok(&["import", &path, "--header-row", "3", "--dry-run"]);
    assert!(
        out.contains("the header is row 3; skipped above it: row 1 (客户台账)"),
        "{out}"
    );
    let out = r.ok(&["import", &path]);
    assert!(out.contains("3 rows imported"), "{out}");
    let csv = r.ok(&["export"]);
    assert!(csv.contains("B2-20221188,示例全国呼叫中心股份有限公司,91310000MA1K3QW4RB,B24,2022-05-02,2027-05-01,95123,"), "{csv}");
    let err = refused(&r, &["import", &path, "--header-row", "2"]);
    assert!(err.contains("--header-row 2: the row is blank"), "{err}");
    let err = refused(&r, &["import", &path, "--header-row", "40"]);
    assert!(
        err.contains("--header-row 40: the sheet's rows with values are 1 to 6"),
        "{err}"
    );
    let json = file(&r, "rows.json", r.ok(&["--format", "json", "export"]));
    let err = refused(&r, &["import", &json, "--header-row", "1"]);
    assert!(
        err.contains("--header-row 1: a JSON file has no header row: its keys name the columns"),
        "{err}"
    );
}

#[test]
fn issue_11_reports_filed_for_all_at_once_and_again_changes_nothing() {
    let r = Register::new();
    let today = ["--today", "2026-12-01"];
    let dry = r.ok(&[
        &today[..],
        &["import", &example().display().to_string(), "--dry-run"],
    ]
    .concat());
    assert!(dry.contains("after the import, "), "{dry}");
    assert!(
        dry.contains("annual_report 2025 (business year): "),
        "{dry}"
    );
    assert!(
        dry.contains("licwatch report file --year 2025 --all"),
        "{dry}"
    );
    r.ok(&[&today[..], &["import", &example().display().to_string()]].concat());
    let overdue = |r: &Register| {
        r.agenda_json("2026-12-01", "0")
            .iter()
            .filter(|o| o["kind"] == "annual_report" && o["state"] == "overdue")
            .count()
    };
    assert!(overdue(&r) > 0);

    let history = history_rows(&r);
    let out = r.ok(&[
        &today[..],
        &[
            "report",
            "file",
            "--year",
            "2024",
            "--all",
            "--on",
            "2025-03-20",
        ],
    ]
    .concat());
    let marked: usize = out
        .split("for ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        out.starts_with("2024 annual report marked filed on 2025-03-20 for "),
        "{out}"
    );
    assert!(marked > 1, "{out}");
    assert_eq!(history_rows(&r), history + marked, "one history row each");
    r.ok(&[&today[..], &["report", "file", "--year", "2025", "--all"]].concat());
    assert_eq!(overdue(&r), 0);

    // Again: nothing to mark, exit 0, nothing changed.
    let before = r.dump();
    let out = r.ok(&[&today[..], &["report", "file", "--year", "2024", "--all"]].concat());
    assert!(
        out.starts_with("2024 annual report marked filed on 2026-12-01 for 0 licences; "),
        "{out}"
    );
    assert!(
        out.contains(&format!("{marked} already on record, left as they were")),
        "{out}"
    );
    // As JSON: the lists written from the store's as they are (issue 14),
    // the text as serde_json pretty-prints the whole report.
    let json = r.ok(&[
        &["--format", "json"][..],
        &today[..],
        &["report", "file", "--year", "2024", "--all"],
    ]
    .concat());
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json, serde_json::to_string_pretty(&parsed).unwrap() + "\n");
    assert_eq!(parsed["marked"], serde_json::json!([]));
    let already = parsed["already_filed"].as_array().unwrap();
    assert_eq!(already.len(), marked);
    assert_eq!(already[0]["filed_on"], "2025-03-20");
    assert!(already[0]["licence"].is_string(), "{json}");
    let out = r.ok(&[
        &today[..],
        &["report", "file", "京B2-20221234", "--year", "2024"],
    ]
    .concat());
    assert_eq!(
        out.trim(),
        "京B2-20221234: the 2024 annual report was already filed on 2025-03-20; nothing changed"
    );
    let out = r.ok(&[
        &today[..],
        &[
            "report",
            "file",
            "--company",
            "91110105MA01ABCD13",
            "--year",
            "2025",
        ],
    ]
    .concat());
    assert!(out.contains("for 0 licences; 1 already on record"), "{out}");
    assert_eq!(r.dump(), before);
    let err = refused(&r, &["report", "file", "--company", "91110108551385082Q"]);
    assert!(err.contains("is not registered"), "{err}");
    let err = refused(
        &r,
        &[
            "--today",
            "2026-12-01",
            "report",
            "file",
            "--all",
            "--year",
            "2026",
        ],
    );
    assert!(
        err.contains("the 2026 annual report cannot be filed before 2027-01-01"),
        "{err}"
    );
}

/// The export as Excel on a Chinese Windows saves it as "CSV": dates as
/// 2024/3/1, lines ending in CRLF, no byte order mark.
fn as_excel_writes_dates(csv_text: &str) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        let cells: Vec<String> = record
            .iter()
            .map(
                |cell| match chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
                    Ok(day) => day.format("%Y/%-m/%-d").to_string(),
                    Err(_) => cell.to_owned(),
                },
            )
            .collect();
        writer.write_record(&cells).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

#[test]
fn issue_11_an_export_changed_in_excel_re_imports_without_changes() {
    let r = full_register();
    let today = ["--today", "2026-01-10"];
    // Marks too, which the sheet carries as 已报年报年度 and 续期提交日期.
    r.ok(&[
        &today[..],
        &[
            "report",
            "file",
            "--all",
            "--year",
            "2024",
            "--on",
            "2025-03-01",
            "--not-carried-out",
        ],
    ]
    .concat());
    r.ok(&[
        &today[..],
        &["renewal", "submit", "京B2-20221234", "--on", "2026-01-05"],
    ]
    .concat());
    let before = r.dump();
    let csv = r.ok(&["export"]);
    assert!(csv.contains(",2026-01-05,"), "{csv}");
    assert!(csv.contains(",2024,,是"), "{csv}");
    let excel = as_excel_writes_dates(&csv);
    assert!(excel.contains("2022/3/1"), "{excel}");
    let (gb18030, _, unmappable) = encoding_rs::GB18030.encode(&excel);
    assert!(!unmappable);
    let path = file(&r, "clients.csv", gb18030.as_ref());
    let out = r.ok(&[&today[..], &["import", &path]].concat());
    assert!(out.contains("rows imported"), "{out}");
    assert_eq!(r.dump(), before, "GB18030 CSV with Excel's dates");

    // The workbook export: dates are date cells, codes are text.
    let xlsx = r.db().with_file_name("clients.xlsx");
    r.ok(&[
        "--format",
        "xlsx",
        "export",
        "--output",
        &xlsx.display().to_string(),
    ]);
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let first = range.rows().nth(1).unwrap();
    assert!(
        matches!(first[column("发证日期")], calamine::Data::DateTime(_)),
        "{:?}",
        first[column("发证日期")]
    );
    for code in ["统一社会信用代码", "许可证编号", "码号"] {
        assert!(
            matches!(first[column(code)], calamine::Data::String(_)),
            "{code}: {:?}",
            first[column(code)]
        );
    }
    // Saved again by Excel as a workbook: numbers became number cells.
    let path = file(
        &r,
        "resaved.xlsx",
        workbook(&csv.trim_start_matches('\u{feff}').replace("\r\n", "\n")),
    );
    r.ok(&[&today[..], &["import", &path]].concat());
    assert_eq!(r.dump(), before, "xlsx as Excel keeps it");
    let path = xlsx.display().to_string();
    r.ok(&[&today[..], &["import", &path]].concat());
    assert_eq!(r.dump(), before, "our own xlsx");
}

#[test]
fn issue_11_marking_again_what_is_on_record_exits_0_and_changes_nothing() {
    let r = Register::new();
    r.seed();
    let today = ["--today", "2026-12-01"];
    let run = |args: &[&str]| r.ok(&[&today[..], args].concat());
    run(&["renewal", "submit", "京B2-20221234", "--on", "2026-11-24"]);
    run(&[
        "change",
        "record",
        "京B2-20221234",
        "--kind",
        "address",
        "--on",
        "2026-11-20",
    ]);
    run(&["change", "file", "1", "--on", "2026-11-25"]);
    run(&[
        "report",
        "file",
        "京B2-20221234",
        "--year",
        "2025",
        "--on",
        "2026-03-02",
    ]);
    let before = r.dump();
    assert_eq!(
        run(&["renewal", "submit", "京B2-20221234", "--on", "2026-11-30"]).trim(),
        "京B2-20221234: the renewal for expiry 2027-02-28 was already marked on 2026-11-24; nothing changed"
    );
    assert_eq!(
        run(&["change", "file", "1"]).trim(),
        "change #1 (address) of 京B2-20221234 was already filed on 2026-11-25; nothing changed"
    );
    assert_eq!(
        run(&["report", "file", "京B2-20221234", "--year", "2025"]).trim(),
        "京B2-20221234: the 2025 annual report was already filed on 2026-03-02; nothing changed"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "--format",
        "json",
        "report",
        "file",
        "京B2-20221234",
        "--year",
        "2025",
    ]))
    .unwrap();
    assert_eq!(json["already_filed"], true);
    assert_eq!(json["on"], "2026-03-02");
    assert_eq!(r.dump(), before);
    // The other mark is a contradiction, still refused.
    let err = refused(&r, &["renewal", "not-continuing", "京B2-20221234"]);
    assert!(err.contains("was already marked on 2026-11-24"), "{err}");
    assert_eq!(r.dump(), before);
}
