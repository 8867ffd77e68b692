//! Import through the real command, with its wall time, CPU time and peak
//! resident memory: a 10,000-row sheet into an empty register, a
//! 100,000-row sheet into an empty register, and the same 10,000-row sheet
//! (other licences) into the register that already holds the 100,000: the
//! cost of a row should not follow the register's size (target: per-row
//! cost within 1.3× from an empty register to a full one), and memory
//! should stay under 200 MB. Run: `cargo bench --bench import`.
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
use licwatch::domain::uscc::Uscc;

const NUMBERS_PER_LICENCE: usize = 2;
/// 1010 and four digits: 10,000 numbers, all there can be.
const NATIONWIDE_NUMBERS: usize = 10_000;

/// A valid USCC for company `index`: the check character is found by asking
/// the domain's parser, not by copying its algorithm.
fn uscc(index: usize) -> String {
    let body = format!("91110000{index:09}");
    "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .map(|check| format!("{body}{check}"))
        .find(|code| code.parse::<Uscc>().is_ok())
        .expect("one of the 31 characters is the check character")
}

/// A sheet of licences `first..first + licences` (two rows each).
fn write_sheet(path: &Path, first: usize, licences: usize) {
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
            usccs.push(uscc(company));
        }
        let nationwide = i % 10 == 0 && NUMBERS_PER_LICENCE * (i / 10) < NATIONWIDE_NUMBERS;
        let province = provinces[i % 31];
        let licence = if nationwide {
            format!("B2-20{i:06}")
        } else {
            format!("{}B2-20{i:06}", province.abbreviation())
        };
        let issued = start + Days::new((i % 700) as u64);
        let expires = if i % 2 == 0 {
            licwatch::domain::date::default_expiry(issued, 5).to_string()
        } else {
            String::new()
        };
        for n in 0..NUMBERS_PER_LICENCE {
            // Unique per province for 96 numbers, nationwide for 1010.
            let number = if nationwide {
                format!("1010{:04}", NUMBERS_PER_LICENCE * (i / 10) + n)
            } else {
                format!("96{:04}", NUMBERS_PER_LICENCE * (i / 31) + n)
            };
            let allocated = issued + Days::new(30 + n as u64);
            let active = (i + n) % 2 == 0;
            let activated = if active {
                (allocated + Days::new(20)).to_string()
            } else {
                String::new()
            };
            writer
                .write_record([
                    licence.as_str(),
                    &format!("示例呼叫中心{company}有限公司"),
                    &usccs[company - first / 2],
                    "B24",
                    &issued.to_string(),
                    &expires,
                    &number,
                    &allocated.to_string(),
                    &format!("ops{company}@example.cn"),
                    &activated,
                    if active { "中国电信" } else { "" },
                    if active { "inbound" } else { "" },
                ])
                .unwrap();
        }
    }
    writer.flush().unwrap();
}

/// One import through the real binary under GNU time: wall seconds, CPU
/// seconds and peak RSS in MB.
fn import(db: &Path, sheet: &Path) -> (f64, f64, f64) {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", env!("CARGO_BIN_EXE_licwatch")])
        .arg("--db")
        .arg(db)
        .arg("import")
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

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.csv");
    let big = dir.path().join("big.csv");
    // The small sheet's licences come after the big one's, so that it adds
    // to the full register rather than repeat it.
    write_sheet(&big, 0, 50_000);
    write_sheet(&small, 50_000, 5_000);
    let rows = |licences: usize| (licences * NUMBERS_PER_LICENCE) as f64;
    let run = |what: &str, db: &Path, sheet: &Path, licences: usize| {
        let (seconds, cpu, peak) = import(db, sheet);
        if licences == 50_000 {
            println!(
                "BENCH\timport, {what}\t{seconds:.2} s\t< 5 s\t{}",
                verdict(seconds < 5.0)
            );
        }
        let per_row = cpu / rows(licences) * 1e6;
        println!(
            "{what}: {} rows in {seconds:.2} s ({cpu:.2} s CPU, {per_row:.1} µs CPU a row), peak {peak:.1} MB",
            rows(licences)
        );
        println!(
            "BENCH\timport peak RSS, {what}\t{peak:.1} MB\t≤ 200 MB\t{}",
            verdict(peak <= 200.0)
        );
        per_row
    };
    let empty = run(
        "10k rows into an empty register",
        &dir.path().join("small.db"),
        &small,
        5_000,
    );
    let full = dir.path().join("full.db");
    run("100k rows into an empty register", &full, &big, 50_000);
    let after = run("10k rows into a register of 100k", &full, &small, 5_000);
    let ratio = after / empty;
    println!(
        "BENCH\timport CPU a row, 10k rows into 100k / into empty\t{ratio:.2}×\t≤ 1.3×\t{}",
        verdict(ratio <= 1.3)
    );
}
