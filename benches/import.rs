//! Import through the real command, with its wall time, CPU time and peak
//! resident memory. The target is the issue's: a row's cost within 1.3×
//! from a register of 10,000 licences to one of a million. So a 10,000-row
//! sheet (5,000 licences) goes into a register of 10,000 licences, of
//! 50,000 and (unless `LICWATCH_BENCH_SMALL` is set) of a million (a sheet
//! of the same shape, with numbers the million left free); into an empty
//! register too, for reference (a register being created writes less than
//! any). Each 10,000-row import is the least of five runs, each into a
//! fresh copy of its register, and the runs of two registers compared take
//! turns, so that a change in the machine's load falls on both alike. The
//! registers of 50,000 and a million licences are built by importing their
//! sheets (100,000 and 1,140,000 rows), timed too: a row's cost over a
//! whole import of a million against one of 50,000; the million's sheet is
//! also dry-run sorted by licence number, a company's rows apart. Memory
//! should stay under 200 MB throughout. Run: `cargo bench --bench import`.
//!
//! The sheets are deterministic and shaped like an agency's: companies
//! with two licences each, every licence with two numbers (96 numbers
//! under provincial licences, 1010 numbers under nationwide ones), half the
//! expiries left to the default, half the numbers in service.
//!
//! Figures are printed as `BENCH<TAB>figure<TAB>value<TAB>target<TAB>verdict`
//! lines, which `scripts/bench.sh` collects.

use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{Days, NaiveDate};
use licwatch::domain::province::Province;

mod support;
use support::{uscc, verdict};

const NUMBERS_PER_LICENCE: usize = 2;
/// 1010 and four digits: 10,000 numbers, all there can be.
const NATIONWIDE_NUMBERS: usize = 10_000;

/// Where a sheet's numbers come from: the first `numbered` licences of the
/// sheet get two each, from slot `slot` on (`usize::MAX`: each licence's
/// own index); the others take one row without a number.
#[derive(Clone, Copy)]
struct Numbers {
    slot: usize,
    numbered: usize,
}

/// Every licence of the sheet numbered from its own index: the 100k and
/// 10k sheets.
const OWN_SLOTS: Numbers = Numbers {
    slot: usize::MAX,
    numbered: usize::MAX,
};

/// Licence `i`'s number: 8 digits whose first four, the year of first
/// issue, are not after the issue date (2023 on). Below 100,000 as the
/// sheets have always been numbered; above, a year from 2010 and a serial
/// per province, so that a million licences have numbers of their own.
fn licence_digits(i: usize) -> String {
    if i < 100_000 {
        format!("20{i:06}")
    } else {
        let serial = i / 31;
        format!("{}{:04}", 2010 + serial / 10_000, serial % 10_000)
    }
}

/// A sheet of licences `first..first + licences`.
fn write_sheet(path: &Path, first: usize, licences: usize, numbers: Numbers) {
    let provinces: Vec<Province> = Province::all().collect();
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer
        .write_record([
            "许可证编号",
            "持证单位",
            "统一社会信用代码",
            "业务种类",
            "发证日期",
            "有效期至",
            "码号",
            "分配日期",
            "联系邮箱",
            "启用日期",
            "运营商",
            "方向",
        ])
        .unwrap();
    let mut usccs = Vec::new();
    for i in first..first + licences {
        let company = i / 2;
        if usccs.len() <= company - first / 2 {
            usccs.push(uscc(company as u64));
        }
        let k = i - first;
        let numbered = k < numbers.numbered;
        // The slot a licence's 96 numbers are counted from: its own index,
        // or the sheet's slot on, apart from the slots of another sheet.
        let j = if numbers.slot == usize::MAX {
            i
        } else {
            numbers.slot + k
        };
        let nationwide = i % 10 == 0 && NUMBERS_PER_LICENCE * (i / 10) < NATIONWIDE_NUMBERS;
        let province = provinces[i % 31];
        let digits = licence_digits(i);
        let licence = if nationwide {
            format!("B2-{digits}")
        } else {
            format!("{}B2-{digits}", province.abbreviation())
        };
        let issued = start + Days::new((i % 700) as u64);
        let expires = if i % 2 == 0 {
            licwatch::domain::date::default_expiry(issued, 5).to_string()
        } else {
            String::new()
        };
        let holder = format!("示例呼叫中心{company}有限公司");
        let email = format!("ops{company}@example.cn");
        let issued_text = issued.to_string();
        // Number, allocated, activated, carrier, direction.
        let mut row = |number: [&str; 5]| {
            let [licence, holder, uscc, items, issued, expires] = [
                licence.as_str(),
                &holder,
                &usccs[company - first / 2],
                "B24",
                &issued_text,
                &expires,
            ];
            let [number, allocated, activated, carrier, direction] = number;
            writer
                .write_record([
                    licence, holder, uscc, items, issued, expires, number, allocated, &email,
                    activated, carrier, direction,
                ])
                .unwrap();
        };
        if !numbered {
            row([""; 5]);
            continue;
        }
        for n in 0..NUMBERS_PER_LICENCE {
            // Unique per province for 96 numbers, nationwide for 1010.
            let number = if nationwide {
                format!("1010{:04}", NUMBERS_PER_LICENCE * (i / 10) + n)
            } else {
                format!("96{:04}", NUMBERS_PER_LICENCE * (j / 31) + n)
            };
            let allocated = issued + Days::new(30 + n as u64);
            let active = (i + n) % 2 == 0;
            let activated = if active {
                (allocated + Days::new(20)).to_string()
            } else {
                String::new()
            };
            row([
                &number,
                &allocated.to_string(),
                &activated,
                if active { "中国电信" } else { "" },
                if active { "inbound" } else { "" },
            ]);
        }
    }
    writer.flush().unwrap();
}

/// `sheet`'s rows sorted by licence number (stable: a licence's rows keep
/// their order), written to `to`.
fn sort_by_licence(sheet: &Path, to: &Path) {
    let mut reader = csv::Reader::from_path(sheet).unwrap();
    let mut records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    records.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut writer = csv::Writer::from_path(to).unwrap();
    writer.write_record(reader.headers().unwrap()).unwrap();
    for record in &records {
        writer.write_record(record).unwrap();
    }
    writer.flush().unwrap();
}

/// One import through the real binary under GNU time: wall seconds, CPU
/// seconds and peak RSS in MB.
fn import(db: &Path, sheet: &Path) -> (f64, f64, f64) {
    import_with(db, sheet, &[])
}

fn import_with(db: &Path, sheet: &Path, options: &[&str]) -> (f64, f64, f64) {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", env!("CARGO_BIN_EXE_licwatch")])
        .arg("--db")
        .arg(db)
        .arg("import")
        .args(options)
        .arg(sheet)
        .env_remove("LICWATCH_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time (Debian package time) runs the command");
    assert!(output.status.success(), "import failed: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let fields: Vec<f64> = last
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap())
        .collect();
    (fields[0], fields[1] + fields[2], fields[3] / 1024.0)
}

/// Runs of a 10,000-row import: it takes a fraction of a second of CPU,
/// so one run on a shared machine says little.
const TRIES: usize = 5;

/// A small sheet imported into a fresh copy of `register` (or an empty
/// register) at `scratch`.
fn import_copy(register: Option<&Path>, sheet: &Path, scratch: &Path) -> (f64, f64, f64) {
    let wal = |db: &Path| db.with_file_name(format!("{}-wal", db.file_name().unwrap().display()));
    drop(std::fs::remove_file(scratch));
    drop(std::fs::remove_file(wal(scratch)));
    if let Some(register) = register {
        std::fs::copy(register, scratch).unwrap();
        if wal(register).exists() {
            std::fs::copy(wal(register), wal(scratch)).unwrap();
        }
        // Written out first: the import's commit syncs the file, and would
        // otherwise write the whole copy in its time.
        for copy in [scratch.to_owned(), wal(scratch)] {
            if let Ok(file) = std::fs::File::open(copy) {
                file.sync_all().unwrap();
            }
        }
    }
    import(scratch, sheet)
}

/// The least wall and CPU time of runs, and their largest peak.
fn least(runs: impl IntoIterator<Item = (f64, f64, f64)>) -> (f64, f64, f64) {
    runs.into_iter()
        .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2)))
        .expect("TRIES is not 0")
}

/// The small `sheet` imported [`TRIES`] times, each into a fresh copy of
/// `register` (or an empty register) at `scratch`.
fn import_small(register: Option<&Path>, sheet: &Path, scratch: &Path) -> (f64, f64, f64) {
    least((0..TRIES).map(|_| import_copy(register, sheet, scratch)))
}

/// Two imports compared: each run [`TRIES`] times, in turn, so that a
/// change in the machine's load falls on both alike.
fn import_pair(
    (first, first_sheet): (&Path, &Path),
    (second, second_sheet): (&Path, &Path),
    scratch: &Path,
) -> ((f64, f64, f64), (f64, f64, f64)) {
    let runs: Vec<_> = (0..TRIES)
        .map(|_| {
            (
                import_copy(Some(first), first_sheet, scratch),
                import_copy(Some(second), second_sheet, scratch),
            )
        })
        .collect();
    (
        least(runs.iter().map(|run| run.0)),
        least(runs.iter().map(|run| run.1)),
    )
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ten = dir.path().join("ten.csv");
    let small = dir.path().join("small.csv");
    let big = dir.path().join("big.csv");
    // The small sheet's licences come after the big one's, so that it adds
    // to the full register rather than repeat it.
    write_sheet(&ten, 0, 10_000, OWN_SLOTS);
    write_sheet(&big, 0, 50_000, OWN_SLOTS);
    write_sheet(&small, 50_000, 5_000, OWN_SLOTS);
    let scratch = dir.path().join("scratch.db");
    let run = |what: &str, rows: usize, (seconds, cpu, peak): (f64, f64, f64)| {
        if rows == 100_000 {
            println!(
                "BENCH\timport, {what}\t{seconds:.2} s\t< 5 s\t{}",
                verdict(seconds < 5.0)
            );
        }
        let per_row = cpu / rows as f64 * 1e6;
        println!(
            "{what}: {rows} rows in {seconds:.2} s ({cpu:.2} s CPU, {per_row:.1} µs CPU a row), peak {peak:.1} MB"
        );
        println!(
            "BENCH\timport peak RSS, {what}\t{peak:.1} MB\t≤ 200 MB\t{}",
            verdict(peak <= 200.0)
        );
        per_row
    };
    let ratio = |what: &str, ratio: f64| {
        println!(
            "BENCH\timport CPU a row, {what}\t{ratio:.2}×\t≤ 1.3×\t{}",
            verdict(ratio <= 1.3)
        );
    };
    run(
        "10k rows into an empty register",
        10_000,
        import_small(None, &small, &scratch),
    );
    let ten_db = dir.path().join("ten.db");
    import(&ten_db, &ten);
    let full = dir.path().join("full.db");
    let hundred = run(
        "100k rows into an empty register",
        100_000,
        import(&full, &big),
    );
    // The 10k rows into `register` against into the register of 10k
    // licences, in turn.
    let against_ten = |register: &Path, sheet: &Path, size: &str| {
        let (base, after) = import_pair((&ten_db, &small), (register, sheet), &scratch);
        let base = run(
            "10k rows into a register of 10k licences, in turn with the next",
            10_000,
            base,
        );
        let what = format!("10k rows into a register of {size} licences");
        let after = run(&what, 10_000, after);
        ratio(
            &format!("10k rows into {size} licences / into 10k"),
            after / base,
        );
    };
    against_ten(&full, &small, "50k");
    drop(std::fs::remove_file(&full));
    if std::env::var_os("LICWATCH_BENCH_SMALL").is_some() {
        return;
    }
    // A million licences. 96 numbers run out at 310,000 (31 provinces of
    // 10,000), so the first 140,000 licences have two each and the others
    // a row without one: 1,140,000 rows. Then 10,000 rows shaped like the
    // small sheet's (5,000 licences, two numbers each, from slots the
    // million left free) go into that register.
    let huge = dir.path().join("huge.csv");
    let later = dir.path().join("later.csv");
    write_sheet(
        &huge,
        0,
        1_000_000,
        Numbers {
            slot: usize::MAX,
            numbered: 140_000,
        },
    );
    write_sheet(
        &later,
        1_000_000,
        5_000,
        Numbers {
            slot: 31 * 4_600,
            numbered: usize::MAX,
        },
    );
    let million = dir.path().join("million.db");
    let whole = run(
        "1M licences (1.14M rows) into an empty register",
        1_140_000,
        import(&million, &huge),
    );
    ratio("a sheet of 1M licences / of 50k", whole / hundred);
    // The same sheet sorted by licence number, as a person may sort it: a
    // company's two licences are then far apart, and the import reads it
    // again with each company's rows together (a dry run: the memory is
    // the same, the register stays as it is).
    let sorted = dir.path().join("sorted.csv");
    sort_by_licence(&huge, &sorted);
    drop(std::fs::remove_file(&huge));
    run(
        "dry run of 1M licences sorted by licence number",
        1_140_000,
        import_with(&dir.path().join("empty.db"), &sorted, &["--dry-run"]),
    );
    drop(std::fs::remove_file(&sorted));
    against_ten(&million, &later, "1M");
    // A dry run also counts what will be overdue after the import: the
    // million licences' unfiled annual reports are over two million
    // obligations, of which only the counts are kept.
    run(
        "dry run of 10k rows over a register of 1M licences",
        10_000,
        import_with(&million, &later, &["--dry-run"]),
    );
}
