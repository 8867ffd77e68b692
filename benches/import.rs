//! Import of a 100,000-row client list into an empty register, through the
//! real command. Target: under 5 s. Run: `cargo bench --bench import`.
//!
//! The sheet is deterministic and shaped like an agency's: 25,000
//! companies with two licences each, every licence with two numbers (96
//! numbers under provincial licences, 1010 numbers under nationwide ones),
//! half the expiries left to the default, half the numbers in service.

use std::path::Path;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use clap::Parser;
use licwatch::cli::{Cli, run};
use licwatch::domain::province::Province;
use licwatch::domain::uscc::Uscc;

const LICENCES: usize = 50_000;
const NUMBERS_PER_LICENCE: usize = 2;

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

fn write_sheet(path: &Path) {
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
    for i in 0..LICENCES {
        let company = i / 2;
        if usccs.len() <= company {
            usccs.push(uscc(company));
        }
        let nationwide = i % 10 == 0;
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
                    &usccs[company],
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

/// CPU seconds this process has used, from /proc (Linux): the wall clock
/// alone misleads on a 2-core machine shared with a build.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses; utime and
    // stime are the 14th and 15th fields, in clock ticks of 1/100 s.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds of one import through the real command.
fn import(db: &Path, sheet: &Path, extra: &[&str]) -> (f64, f64) {
    let mut args = vec![
        "licwatch".to_owned(),
        "--db".to_owned(),
        db.display().to_string(),
        "import".to_owned(),
        sheet.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let (started, cpu) = (Instant::now(), cpu_seconds());
    run(Cli::parse_from(args)).expect("the generated sheet imports");
    (started.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("clients.csv");
    write_sheet(&sheet);
    let rows = LICENCES * NUMBERS_PER_LICENCE;
    let bytes = std::fs::metadata(&sheet).unwrap().len();
    let db = dir.path().join("bench.db");
    let report = |what: &str, (seconds, cpu): (f64, f64)| {
        println!(
            "{what}: {rows} rows ({:.1} MB of CSV) in {seconds:.2} s ({cpu:.2} s CPU), {:.0} rows/s",
            bytes as f64 / 1e6,
            rows as f64 / seconds
        );
    };
    report(
        "dry run into an empty register",
        import(&db, &sheet, &["--dry-run"]),
    );
    report("import into an empty register", import(&db, &sheet, &[]));
    report("re-import, nothing changed", import(&db, &sheet, &[]));
}
