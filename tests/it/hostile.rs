//! Hostile input files, generated here and given to the real binary under
//! an address-space limit: each is refused with an error naming the limit
//! it passes, quickly, and (where /usr/bin/time is there to measure it)
//! with a peak resident size of at most 100 MB. The figures are quoted in
//! docs/proof.md's "hostile input" table.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use zip::write::SimpleFileOptions;

use crate::biff;
use crate::support::{Register, USCC};

/// The address space each run gets: calamine's allocation for the sparse
/// sheet (512 GiB) or the zip bomb's 4 GB cell fails under it at once.
const ADDRESS_SPACE: u64 = 512 * 1024 * 1024;

/// The most a refused file may cost (issue 13).
const PEAK_RSS_KB: u64 = 100 * 1024;

struct Run {
    out: Output,
    /// Peak resident set in KiB, when /usr/bin/time could measure it.
    peak_kb: Option<u64>,
}

/// Runs `licwatch import <file>` under the address-space limit and, when
/// /usr/bin/time is installed, measures its peak memory. `timeout` ends a
/// run that blocks (a FIFO opened for reading waits for a writer forever).
fn import(dir: &Path, file: &Path) -> Run {
    let measure = Path::new("/usr/bin/time").exists();
    let report = dir.join("time.txt");
    let mut command = Command::new("timeout");
    command
        .arg("60")
        .arg("prlimit")
        .arg(format!("--as={ADDRESS_SPACE}"))
        .arg("--");
    if measure {
        command
            .args(["/usr/bin/time", "-f", "%M", "-o"])
            .arg(&report);
    }
    command
        .arg(env!("CARGO_BIN_EXE_licwatch"))
        .arg("import")
        .arg(file)
        .env("LICWATCH_DB", dir.join("licwatch.db"))
        .env_remove("LICWATCH_CONFIG")
        .env_remove("RUST_LOG")
        .env("USER", "hostile")
        .stdin(Stdio::null());
    let out = command.output().expect("timeout, prlimit and licwatch run");
    let peak_kb = measure.then(|| {
        let text = std::fs::read_to_string(&report).unwrap();
        // The last line: time puts "Command exited with non-zero status 1"
        // before it.
        text.lines().last().unwrap().trim().parse().unwrap()
    });
    Run { out, peak_kb }
}

/// Refused: exit 1 (not 124 from timeout, not a signal from an abort), one
/// `licwatch:` line naming each of `mentions`, within the memory bound.
#[track_caller]
fn assert_refused(name: &str, run: &Run, mentions: &[&str]) {
    let err = String::from_utf8_lossy(&run.out.stderr);
    assert_eq!(run.out.status.code(), Some(1), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    let line = err
        .lines()
        .find(|line| line.starts_with("licwatch: "))
        .unwrap_or_else(|| panic!("{name}: no licwatch: line in {err}"));
    for word in mentions {
        assert!(line.contains(word), "{name}: {line:?} lacks {word:?}");
    }
    assert!(
        line.len() < 1000,
        "{name}: a {} byte error line",
        line.len()
    );
    if let Some(peak) = run.peak_kb {
        assert!(peak <= PEAK_RSS_KB, "{name}: peak {peak} KiB: {line}");
        let _ = writeln!(
            std::io::stderr(),
            "hostile: {name}: peak RSS {:.1} MB: {line}",
            peak as f64 / 1024.0
        );
    }
}

/// A workbook as Excel lays one out, with `sheet` as the worksheet's XML
/// inside `<worksheet>`, its parts stored (not compressed) so that even a
/// large sheet is made at once.
fn xlsx(sheet: &str) -> Vec<u8> {
    xlsx_with_strings(sheet, "<si><t>许可证编号</t></si>")
}

/// The same, with `strings` (`<si>` elements) as its shared strings.
fn xlsx_with_strings(sheet: &str, strings: &str) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned(),
        ),
        (
            "_rels/.rels",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ),
        (
            "xl/workbook.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#),
        ),
        (
            "xl/sharedStrings.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">{strings}</sst>"#),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{sheet}</worksheet>"#),
        ),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Rewrites the uncompressed size the zip declares for the part `name`, in
/// its local header and in the central directory, as a forger would.
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        let (field, name_at) = match &zip[at..at + 4] {
            b"PK\x03\x04" => (at + 22, at + 30),
            b"PK\x01\x02" => (at + 24, at + 46),
            _ => continue,
        };
        if zip[name_at..].starts_with(name.as_bytes()) {
            zip[field..field + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "{name}: local header and central directory");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_sparse_sheet_is_refused_by_its_declared_dimension_and_by_its_cells() {
    let dir = tempfile::tempdir().unwrap();
    let cells = r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>"#;
    // As issue 13 made it: 1.6 KB, calamine allocated 512 GiB for it.
    let declared = write(
        dir.path(),
        "sparse.xlsx",
        &xlsx(&format!(r#"<dimension ref="A1:XFD1048576"/>{cells}"#)),
    );
    let run = import(dir.path(), &declared);
    assert_refused(
        "sparse.xlsx",
        &run,
        &[
            "declared dimension",
            "A1:XFD1048576",
            "16384 columns",
            "256",
        ],
    );
    // The same cells under a dimension that lies: refused as the cells come.
    let lying = write(
        dir.path(),
        "sparse-lying.xlsx",
        &xlsx(&format!(r#"<dimension ref="A1"/>{cells}"#)),
    );
    let run = import(dir.path(), &lying);
    assert_refused(
        "sparse-lying.xlsx",
        &run,
        &["cells span", "A1:XFD1048576", "256"],
    );
}

#[test]
fn a_sheet_of_too_many_rows_is_refused_before_they_are_held() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 250_000;
    let mut sheet = String::from(r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>"#);
    for row in 2..=rows {
        sheet.push_str(&format!(
            r#"<row r="{row}"><c r="A{row}"><v>1</v></c></row>"#
        ));
    }
    sheet.push_str("</sheetData>");
    let path = write(dir.path(), "rows.xlsx", &xlsx(&sheet));
    let run = import(dir.path(), &path);
    assert_refused("rows.xlsx", &run, &["rows", "200001"]);
}

#[test]
fn a_zip_bomb_is_refused_by_its_declared_size_and_by_what_it_unpacks_to() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>"#;
    // One cell declared 4 GB, as issue 13's 3.9 MB bomb: never unpacked.
    let mut bomb = xlsx(sheet);
    declare_size(&mut bomb, "xl/sharedStrings.xml", 0xF000_0000);
    let path = write(dir.path(), "bomb.xlsx", &bomb);
    let run = import(dir.path(), &path);
    assert_refused(
        "bomb.xlsx",
        &run,
        &["xl/sharedStrings.xml", "4026531840", "134217728"],
    );
    // A part that declares less than it holds: counted as it unpacks.
    let mut lying = xlsx(sheet);
    declare_size(&mut lying, "xl/worksheets/sheet1.xml", 10);
    let path = write(dir.path(), "bomb-lying.xlsx", &lying);
    let run = import(dir.path(), &path);
    assert_refused("bomb-lying.xlsx", &run, &["xl/worksheets/sheet1.xml"]);
}

#[test]
fn json_of_many_distinct_keys_is_refused_at_the_column_cap() {
    let dir = tempfile::tempdir().unwrap();
    // Issue 13's k.json: 50,000 objects with one distinct key each (23.6 GB).
    let items: Vec<String> = (0..50_000).map(|i| format!(r#"{{"k{i}":"v"}}"#)).collect();
    let path = write(
        dir.path(),
        "k.json",
        format!("[{}]", items.join(",")).as_bytes(),
    );
    let run = import(dir.path(), &path);
    assert_refused("k.json", &run, &["item 257", "\"k256\"", "256"]);
    // Many small values: refused at the first, not built into a tree.
    let numbers = format!("[{}1]", "1,".repeat(4_000_000));
    let path = write(dir.path(), "numbers.json", numbers.as_bytes());
    let run = import(dir.path(), &path);
    assert_refused("numbers.json", &run, &["item 1 to be an object"]);
    // A long key.
    let path = write(
        dir.path(),
        "key.json",
        format!(r#"[{{"{}":"v"}}]"#, "k".repeat(100_000)).as_bytes(),
    );
    let run = import(dir.path(), &path);
    assert_refused("key.json", &run, &["100000 bytes", "256"]);
}

#[test]
fn csv_past_the_row_and_column_caps_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wide = format!("许可证编号{}\n", ",x".repeat(1_000_000));
    let path = write(dir.path(), "wide.csv", wide.as_bytes());
    let run = import(dir.path(), &path);
    assert_refused("wide.csv", &run, &["row 1", "1000001 cells", "256 columns"]);
    // A UTF-8 CSV is streamed, never held: its cap is the rows a register
    // of a million licences takes, twice over.
    let long = format!("许可证编号\n{}", "1\n".repeat(4_000_001));
    let path = write(dir.path(), "long.csv", long.as_bytes());
    let run = import(dir.path(), &path);
    assert_refused("long.csv", &run, &["4000001 rows", "4000000 data rows"]);
    // GBK is streamed too: past the rows of a sheet held whole, it is
    // refused for its header, read to the end without being held.
    let long = format!("许可证编号\n{}", "1\n".repeat(250_000));
    let (long, _, _) = encoding_rs::GBK.encode(&long);
    let path = write(dir.path(), "long-gbk.csv", &long);
    let run = import(dir.path(), &path);
    assert_refused(
        "long-gbk.csv",
        &run,
        &["the header row (row 1) cannot be used"],
    );
    // UTF-16 ("Unicode text") is decoded whole, within the caps of a sheet
    // held whole: rows and cells.
    let utf16 = |text: &str| -> Vec<u8> {
        [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect()
    };
    let long = utf16(&format!("许可证编号\n{}", "1\n".repeat(250_000)));
    let path = write(dir.path(), "long-utf16.csv", &long);
    let run = import(dir.path(), &path);
    assert_refused("long-utf16.csv", &run, &["200001 rows", "200000 data rows"]);
    let row = format!("B2-20190001,上海某某信息技术有限公司{}\n", ",x".repeat(50));
    let cells = utf16(&format!("许可证编号,持证单位\n{}", row.repeat(50_000)));
    let path = write(dir.path(), "cells-utf16.csv", &cells);
    let run = import(dir.path(), &path);
    assert_refused("cells-utf16.csv", &run, &["2500000 cells"]);
}

#[test]
fn a_fifo_and_a_device_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let run = import(dir.path(), &fifo);
    assert_refused("FIFO", &run, &["pipe.csv", "FIFO", "not a regular file"]);
    let zero = dir.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let run = import(dir.path(), &zero);
    assert_refused("/dev/zero", &run, &["a device", "not a regular file"]);
}

#[test]
fn a_utf8_csv_with_one_gbk_cell_is_refused_naming_the_cell() {
    let dir = tempfile::tempdir().unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode("北京某某科技有限公司");
    let mut bytes = "许可证编号,持证单位\nB2-20190001,上海某某信息技术有限公司\nB2-20190002,"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(&gbk);
    bytes.extend_from_slice("\nB2-20190003,广州某某网络科技有限公司\n".as_bytes());
    let path = write(dir.path(), "mixed.csv", &bytes);
    let run = import(dir.path(), &path);
    assert_refused("mixed.csv", &run, &["UTF-8", "row 3 column 2"]);
    // The same file all in GBK is read as GB18030.
    let (all_gbk, _, _) = encoding_rs::GBK.encode(
        "许可证编号,持证单位\nB2-20190001,上海某某信息技术有限公司\nB2-20190002,北京某某科技有限公司\n",
    );
    let path = write(dir.path(), "gbk.csv", &all_gbk);
    let run = import(dir.path(), &path);
    let err = String::from_utf8_lossy(&run.out.stderr);
    assert!(!err.contains("UTF-8") && !err.contains("GB18030"), "{err}");
}

#[test]
fn a_nul_after_a_byte_order_mark_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "nul.csv",
        b"\xEF\xBB\xBF\xE8\xAE\xB8\xE5\x8F\xAF\xE8\xAF\x81\xE7\xBC\x96\xE5\x8F\xB7\nB2-2019\x000001\n",
    );
    let run = import(dir.path(), &path);
    assert_refused("nul.csv", &run, &["NUL"]);
}

/// A register holding one company whose name a spreadsheet would run.
fn register_named(name: &str) -> Register {
    let r = Register::new();
    r.seed();
    r.ok(&["company", "update", USCC, &format!("--name={name}")]);
    r
}

#[test]
fn exported_csv_cells_never_run_as_formulas_and_import_reads_them_back() {
    for name in [
        r#"=HYPERLINK("http://evil","x")"#,
        "+cmd|' /C calc'!A0",
        "@SUM(1)",
        "-2+3",
    ] {
        let r = register_named(name);
        let csv = r.ok(&["export"]);
        let written = csv
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .trim_matches('"')
            .to_owned();
        assert!(written.starts_with('\''), "{name:?} written as {written:?}");
        // Imported into an empty register, the name is the one typed.
        let copy = Register::new();
        let path = copy.dir().join("export.csv");
        std::fs::write(&path, &csv).unwrap();
        copy.ok(&["import", &path.display().to_string()]);
        assert_eq!(copy.ok(&["export"]), csv, "{name:?}");
        let listed = copy.ok(&["--format", "json", "company", "list"]);
        assert!(
            listed.contains(&serde_json::to_string(name).unwrap()),
            "{name:?}: {listed}"
        );
    }
}

#[test]
fn export_never_writes_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let r = register_named("北京示例呼叫中心有限公司");
    let target = r.dir().join("target.txt");
    std::fs::write(&target, "not an export").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = r.dir().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let link_arg = link.display().to_string();
    // Without --force the link is an existing file.
    let err = r.fails(&["export", "--output", &link_arg]);
    assert!(err.contains("the file exists"), "{err}");
    // With it, the link is replaced by the export; its target is untouched.
    r.ok(&["export", "--output", &link_arg, "--force"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not an export");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let written = std::fs::symlink_metadata(&link).unwrap();
    assert!(written.file_type().is_file(), "the link is now the export");
    assert_eq!(written.permissions().mode() & 0o777, 0o600);
    // A dangling link is not followed to create its target either.
    let dangling = r.dir().join("dangling.csv");
    let nowhere = r.dir().join("nowhere.txt");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    let err = r.fails(&["export", "--output", &dangling.display().to_string()]);
    assert!(err.contains("the file exists"), "{err}");
    assert!(!nowhere.exists());
}

/// Issue 13: `serve` on r.db and another on a symlink to it both delivered,
/// every message twice; after the lock followed the canonical path, a hard
/// link still did. The lock is the file's, whatever names it.
#[test]
fn serve_through_a_symlink_or_a_hard_link_waits_for_the_serve_on_the_file() {
    use std::io::BufRead;
    let r = crate::support::setup(1, "");
    let symlink = r.dir().join("symlink.db");
    std::os::unix::fs::symlink(r.db(), &symlink).unwrap();
    let hard = r.dir().join("hard.db");
    std::fs::hard_link(r.db(), &hard).unwrap();
    // This test holds the lock as a `serve` on the real path would.
    let lock = licwatch::store::DeliveryLock::open(&r.db()).unwrap();
    assert!(lock.try_acquire().unwrap());
    for name in [&symlink, &hard] {
        let mut other = crate::support::serve(&r, &["--today", "2026-11-24", "serve", "--once"])
            .env("LICWATCH_DB", name)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(other.stderr.take().unwrap());
        let mut waited = false;
        for line in stderr.lines() {
            let line = line.unwrap();
            if line.contains("another licwatch serve is running on this database") {
                waited = true;
                break;
            }
        }
        other.kill().unwrap();
        other.wait().unwrap();
        assert!(
            waited,
            "serve on {} did not wait for the lock",
            name.display()
        );
    }
}

/// Issue 13: `--today 9999-12-31 explain` printed 2.9M lines, a daily
/// repeat for every day of 8,000 years overdue, and made every one of them
/// first (17 s, 300 MB); now it makes 60 and counts the rest.
#[test]
fn explain_far_in_the_future_shows_a_bounded_number_of_stages() {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "number",
        "add",
        "961234",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2022-04-01",
    ]);
    let agenda = r.agenda_json("9999-12-31", "0");
    let key = agenda
        .iter()
        .map(|o| o["obligation"].as_str().unwrap().to_owned())
        .find(|key| key.starts_with("number"))
        .unwrap_or_else(|| panic!("no number obligation in {agenda:?}"));
    let text = r.ok(&["--today", "9999-12-31", "explain", &key]);
    assert!(text.lines().count() < 100, "{} lines", text.lines().count());
    assert!(text.contains("stages in the middle not shown"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&r.ok(&[
        "--today",
        "9999-12-31",
        "--format",
        "json",
        "explain",
        &key,
    ]))
    .unwrap();
    assert_eq!(json["stages"].as_array().unwrap().len(), 60);
    assert!(
        json["stages_omitted"].as_u64().unwrap() > 2_900_000,
        "{}",
        json["stages_omitted"]
    );
}

#[test]
fn a_licence_issued_in_9999_without_an_expiry_gets_a_clear_error() {
    let r = Register::new();
    r.seed();
    // As of that day: an issue date after today is refused by its own rule.
    let err = r.fails(&[
        "--today",
        "9999-12-31",
        "licence",
        "add",
        "--number",
        "B2-20229999",
        "--holder",
        USCC,
        "--items",
        "B24",
        "--issued",
        "9999-12-31",
    ]);
    assert!(
        err.contains("is after 9999-12-31, the last date the register keeps"),
        "{err}"
    );
    assert!(!err.contains("CHECK"), "{err}");

    // The same rule, through the import: the row and column are named.
    let sheet = r.dir().join("9999.csv");
    std::fs::write(
        &sheet,
        format!("持证单位,统一社会信用代码,许可证编号,业务种类,发证日期\n测试公司,{USCC},B2-20229999,B24,9999-12-31\n"),
    )
    .unwrap();
    let out = r.run(&["--today", "9999-12-31", "import", sheet.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "row 2, column 有效期至: is after 9999-12-31, the last date the register keeps"
        ),
        "{err}"
    );
    assert!(!err.contains("CHECK"), "{err}");
}

/// An OpenDocument spreadsheet with `rows` (table-row elements) as its one
/// sheet.
fn ods(rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_str()),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn ods_repeats_are_counted_before_calamine_expands_them() {
    let dir = tempfile::tempdir().unwrap();
    let cell =
        r#"<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
    // LibreOffice's own padding: trailing empty columns and a million
    // trailing empty rows. Read (and refused for its header, not a cap).
    let padded = ods(&format!(
        r#"<table:table-row>{cell}<table:table-cell table:number-columns-repeated="1023"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#
    ));
    let path = write(dir.path(), "padded.ods", &padded);
    let run = import(dir.path(), &path);
    let err = String::from_utf8_lossy(&run.out.stderr);
    assert!(!err.contains("import reads"), "{err}");
    assert!(err.contains("header"), "{err}");
    // A value repeated across 16,384 columns, then down a million rows.
    let wide = ods(
        r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
    );
    let path = write(dir.path(), "wide.ods", &wide);
    let run = import(dir.path(), &path);
    assert_refused("wide.ods", &run, &["16384 columns", "256"]);
    let long = ods(&format!(
        r#"<table:table-row table:number-rows-repeated="1048576">{cell}{cell}</table:table-row>"#
    ));
    let path = write(dir.path(), "long.ods", &long);
    let run = import(dir.path(), &path);
    assert_refused("long.ods", &run, &["1048576 rows", "200001"]);
}

/// Issue 13: another application's SQLite file given as `--db` was switched
/// to WAL and given licwatch's tables, even by a read-only `agenda`.
#[test]
fn another_applications_database_is_refused_by_every_command_and_left_alone() {
    let r = Register::new();
    let db = r.db();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');")
        .unwrap();
    drop(conn);
    let state = || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&db).unwrap().permissions());
        (tables, journal, mode & 0o777)
    };
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let before = state();
    assert_eq!((before.1.as_str(), before.2), ("delete", 0o644));
    for args in [
        &["agenda"][..],
        &["export"],
        &["--format", "ics", "agenda"],
        &["company", "list"],
        &["db", "check"],
        &["company", "add", "--uscc", USCC, "--name", "甲"],
        &["serve", "--once"],
    ] {
        let err = r.fails(args);
        assert!(
            err.contains("is not a licwatch register (it holds the tables songs and no licwatch schema version)"),
            "{args:?}: {err}"
        );
        assert_eq!(state(), before, "{args:?}");
    }
}

/// Issue 13: a register created 0644 by hand, or by a restore, stayed 0644.
#[test]
fn a_register_readable_by_others_is_made_private_and_said_so() {
    use std::os::unix::fs::PermissionsExt;
    let r = Register::new();
    r.seed();
    std::fs::set_permissions(r.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = r.run(&["company", "list"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was mode 0644, readable by others; made it 0600"),
        "{err}"
    );
    let mode = std::fs::metadata(r.db()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Said once: the next command finds nothing to say.
    let out = r.run(&["company", "list"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-sheet .xls of `cells` (records between the sheet's BOF and EOF)
/// and `strings` as its shared strings.
fn xls(strings: &[String], cells: Vec<biff::Record>, container: biff::Container) -> Vec<u8> {
    biff::compound(&biff::workbook_stream(strings, &[cells]), container)
}

#[test]
fn xls_dimensions_and_cells_are_counted_before_calamine_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let header = vec!["许可证编号".to_owned()];
    // A DIMENSIONS record of 4,294,967,295 rows: calamine reserved that
    // many rows of 256 cells at open.
    let declared = xls(
        &header,
        vec![
            biff::dimensions(0, u32::MAX, 0, 256),
            biff::label_sst(0, 0, 0),
        ],
        biff::Container::Excel,
    );
    let path = write(dir.path(), "declared.xls", &declared);
    assert_refused(
        "declared.xls",
        &import(dir.path(), &path),
        &["sheet 1's declared dimension", "4294967295 rows", "200001"],
    );
    // Two cells, A1 and IV65536, and a dimension that lies: calamine made
    // the 16,777,216 cells between (536 MB).
    let sparse = xls(
        &header,
        vec![
            biff::dimensions(0, 1, 0, 1),
            biff::label_sst(0, 0, 0),
            biff::number(65_535, 255, 0, 1.0),
        ],
        biff::Container::Excel,
    );
    let path = write(dir.path(), "sparse.xls", &sparse);
    assert_refused(
        "sparse.xls",
        &import(dir.path(), &path),
        &[
            "sheet 1's cells span",
            "A1:IV65536",
            "16777216 cells",
            "2500000",
        ],
    );
    // 2.6 million cells written over one row again and again: within every
    // span, past the cell cap (15 MB, in 4096-byte sectors).
    let mut cells = vec![biff::label_sst(0, 0, 0)];
    cells.extend((0..10_200).map(|_| biff::mul_rk(1, 0, 256)));
    let many = xls(&header, cells, biff::Container::Large);
    let path = write(dir.path(), "many.xls", &many);
    assert_refused(
        "many.xls",
        &import(dir.path(), &path),
        &["more than the 2500000 cells"],
    );
}

#[test]
fn an_xls_shared_string_copied_into_every_cell_is_refused_by_its_text() {
    let dir = tempfile::tempdir().unwrap();
    // One 65,535-character shared string named by 20,000 cells (350 KB):
    // calamine gives each cell its own copy, 1.3 GB.
    let strings = vec!["x".repeat(65_535)];
    let cells = (0..200u16)
        .flat_map(|row| (0..100u16).map(move |column| biff::label_sst(row, column, 0)))
        .collect();
    let bomb = xls(&strings, cells, biff::Container::Excel);
    let path = write(dir.path(), "strings.xls", &bomb);
    assert_refused(
        "strings.xls",
        &import(dir.path(), &path),
        &["characters of text", "67108864"],
    );
}

#[test]
fn an_xls_whose_sectors_loop_is_refused_before_calamine_follows_them() {
    let dir = tempfile::tempdir().unwrap();
    // The Workbook stream's last sector leads back to its first and the
    // stream declares 4 GB: calamine read round the loop until it had them.
    let looped = xls(
        &["许可证编号".to_owned()],
        vec![biff::label_sst(0, 0, 0)],
        biff::Container::Loop,
    );
    let path = write(dir.path(), "loop.xls", &looped);
    assert_refused(
        "loop.xls",
        &import(dir.path(), &path),
        &["the Workbook stream runs in a loop", ".xls"],
    );
}

#[test]
fn an_xls_formula_cut_short_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let header = vec!["许可证编号".to_owned()];
    let formula = |tokens: &[u8]| {
        // Row 2, column A, XF 0, a cached value, flags and a cache word;
        // then the formula's byte count and its tokens.
        let mut data = vec![1, 0, 0, 0, 0, 0];
        data.extend_from_slice(&[0; 14]);
        if !tokens.is_empty() {
            data.extend_from_slice(&(tokens.len() as u16).to_le_bytes());
            data.extend_from_slice(tokens);
        }
        biff::Record(0x0006, data)
    };
    // No token count at all: calamine read two bytes past the record.
    let short = xls(
        &header,
        vec![biff::label_sst(0, 0, 0), formula(&[])],
        biff::Container::Excel,
    );
    let path = write(dir.path(), "formula-short.xls", &short);
    assert_refused(
        "formula-short.xls",
        &import(dir.path(), &path),
        &["sheet 1 has a formula cut short at A2"],
    );
    // A 3-D reference (0x3A) without its sheet, row and column: the walk
    // does not read tokens, calamine stops inside them.
    let operands = xls(
        &header,
        vec![biff::label_sst(0, 0, 0), formula(&[0x3A, 0, 0])],
        biff::Container::Excel,
    );
    let path = write(dir.path(), "formula-operands.xls", &operands);
    assert_refused(
        "formula-operands.xls",
        &import(dir.path(), &path),
        &["a record is damaged"],
    );
}

#[test]
fn an_xlsx_shared_string_named_by_every_cell_is_refused_by_its_text() {
    let dir = tempfile::tempdir().unwrap();
    // One shared string of a million bytes named by 600 cells (1 MB): each
    // cell was given its own copy, 600 MB.
    let strings = format!(
        "<si><t>许可证编号</t></si><si><t>{}</t></si>",
        "x".repeat(1_000_000)
    );
    let mut sheet = String::from(r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>"#);
    for row in 2..=600 {
        sheet.push_str(&format!(
            r#"<row r="{row}"><c r="A{row}" t="s"><v>1</v></c></row>"#
        ));
    }
    sheet.push_str("</sheetData>");
    let path = write(
        dir.path(),
        "strings.xlsx",
        &xlsx_with_strings(&sheet, &strings),
    );
    assert_refused(
        "strings.xlsx",
        &import(dir.path(), &path),
        &["bytes of text", "67108864"],
    );
}

#[test]
fn ods_text_is_counted_with_its_repeats_before_calamine_copies_it() {
    let dir = tempfile::tempdir().unwrap();
    // One cell of 60,000 bytes in a row repeated 10,000 times (60 KB):
    // calamine copies the row for each repeat, 600 MB.
    let rows = ods(&format!(
        r#"<table:table-row table:number-rows-repeated="10000"><table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell></table:table-row>"#,
        "x".repeat(60_000)
    ));
    let path = write(dir.path(), "text.ods", &rows);
    assert_refused(
        "text.ods",
        &import(dir.path(), &path),
        &["bytes of text", "67108864", "counting each repeat"],
    );
}

#[test]
fn a_long_text_merged_over_a_sheet_is_refused_before_it_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    // A1 holds a million bytes and is merged over A1:J300, whose last cell
    // holds a value (1 MB): each of the 3,000 cells got a copy, 3 GB.
    let strings = format!("<si><t>{}</t></si>", "x".repeat(1_000_000));
    let sheet = r#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="300"><c r="J300"><v>1</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:J300"/></mergeCells>"#;
    let path = write(
        dir.path(),
        "merged.xlsx",
        &xlsx_with_strings(sheet, &strings),
    );
    assert_refused(
        "merged.xlsx",
        &import(dir.path(), &path),
        &[
            "merged cells would copy more than the 67108864 bytes",
            "A1:J300",
            "1000000 bytes",
        ],
    );
}

/// Issue 13, found by libFuzzer (docs/proof.md): a 5.5 KB .xls whose sheet
/// spans 1,114,112 cells, under the cell cap, peaked at 130 MB: calamine's
/// workbook kept the sheet, the range was a copy and the grid a third. The
/// workbook is dropped before the grid is built.
#[test]
fn a_fuzzed_xls_of_a_million_cells_stays_within_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let finding = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/findings/xls_rss_130mb.xls");
    let run = import(dir.path(), &finding);
    assert_refused("xls_rss_130mb.xls", &run, &["header"]);
}
