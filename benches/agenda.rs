//! The agenda over registers of 10,000, 100,000 and (unless
//! `LICWATCH_BENCH_SMALL` is set) 1,000,000 licences: the due query in
//! process for a 90-day window (target under 100 ms at 100k), then the
//! whole command as a process, JSON and table, with its wall time and peak
//! resident memory (target: memory independent of the item count, and
//! under 200 MB at any size). Run: `cargo bench --bench agenda`.
//!
//! The register is deterministic and meant to look like a real one: expiries
//! spread over five years, most holders renew and report in time, numbers go
//! into service within a month except a seventh of the recent ones.
//!
//! Figures are printed as `BENCH<TAB>figure<TAB>value<TAB>target<TAB>verdict`
//! lines, which `scripts/bench.sh` collects.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate};
use licwatch::domain::policy::Policy;
use licwatch::domain::province::Province;
use licwatch::store::Store;
use rusqlite::params;

mod support;
use support::{uscc, verdict};

const NUMBERS_PER_LICENCE: u32 = 3;
/// 96 + 4 digits per province: 31 × 10,000 numbers is all there can be.
const NUMBER_CAP: u32 = 310_000;
const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();

/// A deterministic spread without a random-number crate: Knuth's
/// multiplicative hash of the index.
fn spread(i: u32, modulo: u32) -> u32 {
    i.wrapping_mul(2_654_435_761) % modulo
}

fn seed(path: &Path, licences: u32) {
    drop(Store::open(path).expect("create the register"));
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "off").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut company = tx
            .prepare("INSERT INTO company (id, uscc, name) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut licence = tx
            .prepare(
                "INSERT INTO licence (id, number, company_id, scope, province, items, issued, expires, authority, reported_through)
                 VALUES (?1, ?2, ?1, 'provincial', ?3, 'B24', ?4, ?5, ?6, ?7)",
            )
            .unwrap();
        let mut report = tx
            .prepare("INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, 1)")
            .unwrap();
        let mut renewal = tx
            .prepare("INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing) VALUES (?1, ?2, ?3, 1)")
            .unwrap();
        let mut mark = tx
            .prepare("UPDATE licence SET renewal_mark = 1 WHERE id = ?1")
            .unwrap();
        let mut number = tx
            .prepare("INSERT INTO number (number, province, licence_id, allocated, activated_on) VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        let mut change = tx
            .prepare("INSERT INTO company_change (licence_id, kind, changed_on) VALUES (?1, 'address', ?2)")
            .unwrap();
        let provinces: Vec<Province> = Province::all().collect();
        let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        for i in 0..licences {
            company
                .execute(params![i + 1, uscc(u64::from(i)), format!("公司{i}")])
                .unwrap();
            let province = provinces[(i % 31) as usize];
            let number_text = if i % 10 == 0 {
                format!("B2-2{:07}", i)
            } else {
                format!("{}B2-2{:07}", province.abbreviation(), i)
            };
            // Expiries spread over five years from December 2026.
            let expires = start + Days::new(u64::from(spread(i, 5 * 365)));
            let issued = expires.checked_sub_days(Days::new(5 * 365)).unwrap();
            // One in fifty is late with last year's annual report.
            let reported_through = if i % 50 == 3 { 2024 } else { 2025 };
            licence
                .execute(params![
                    i + 1,
                    number_text,
                    province.abbreviation().to_string(),
                    issued,
                    expires,
                    province.authority(),
                    reported_through
                ])
                .unwrap();
            for year in issued.year()..=reported_through {
                report
                    .execute(params![
                        i + 1,
                        year,
                        NaiveDate::from_ymd_opt(year + 1, 3, 1).unwrap()
                    ])
                    .unwrap();
            }
            // Nineteen in twenty holders whose renewal deadline has passed
            // did apply in time.
            if expires - Days::new(90) < TODAY && i % 20 != 0 {
                renewal
                    .execute(params![i + 1, expires, expires - Days::new(100)])
                    .unwrap();
                mark.execute([i + 1]).unwrap();
            }
            for n in 0..NUMBERS_PER_LICENCE {
                let id = i * NUMBERS_PER_LICENCE + n;
                if id >= NUMBER_CAP {
                    break;
                }
                let allocated = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                    + Days::new(u64::from(spread(id, 1060)));
                // Numbers are put in service within a month, except one in
                // seven of those allocated in the last eight months.
                let recent = allocated > NaiveDate::from_ymd_opt(2026, 3, 24).unwrap();
                let activated = (!recent || spread(id, 7) != 0).then(|| allocated + Days::new(30));
                let number_province = provinces[(id % 31) as usize];
                number
                    .execute(params![
                        format!("96{:04}", id / 31),
                        number_province.abbreviation().to_string(),
                        i + 1,
                        allocated,
                        activated
                    ])
                    .unwrap();
            }
            if i % 100 == 0 {
                change
                    .execute(params![
                        i + 1,
                        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
                            + Days::new(u64::from(spread(i, 90)))
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

/// This thread's CPU time so far, in ms.
fn cpu_ms() -> f64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    now.tv_sec as f64 * 1e3 + now.tv_nsec as f64 / 1e6
}

/// Runs licwatch with `args` under GNU time, stdout thrown away: wall
/// seconds and peak RSS in MB. `width` fixes the width a table fits to,
/// as on a terminal of that many columns.
fn command(path: &Path, args: &[&str], width: Option<&str>) -> (f64, f64) {
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "%e %M", env!("CARGO_BIN_EXE_licwatch")])
        .args(["--today", &TODAY.to_string()])
        .args(args)
        .env("LICWATCH_DB", path)
        .env_remove("LICWATCH_CONFIG")
        .env_remove("LICWATCH_TABLE_WIDTH")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(width) = width {
        command.env("LICWATCH_TABLE_WIDTH", width);
    }
    let output = command
        .output()
        .expect("/usr/bin/time (Debian package time) runs the command");
    assert!(
        output.status.success(),
        "licwatch {args:?} failed: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace().map(|f| f.parse::<f64>().unwrap());
    (fields.next().unwrap(), fields.next().unwrap() / 1024.0)
}

/// The commands whose peak memory must not follow the register (issue 14:
/// ≤ 200 MB at 1M licences), beyond the agenda's JSON and piped table:
/// what each prints, and its arguments; a width for a table fitted to a
/// terminal.
const EVERY_COMMAND: &[(&str, &[&str], Option<&str>)] = &[
    (
        "agenda --days 90 --format ics",
        &["--format", "ics", "agenda", "--days", "90"],
        None,
    ),
    (
        "agenda --days 90 on a terminal of 120 columns",
        &["agenda", "--days", "90"],
        Some("120"),
    ),
    ("export --format csv", &["--format", "csv", "export"], None),
    (
        "export --format json",
        &["--format", "json", "export"],
        None,
    ),
    ("db check", &["db", "check"], None),
    ("status", &["status"], None),
    ("licence list", &["--wide", "licence", "list"], None),
    ("company list", &["--wide", "company", "list"], None),
    ("number list", &["--wide", "number", "list"], None),
];

fn measure(dir: &Path, licences: u32) -> f64 {
    let path = dir.join(format!("agenda-{licences}.db"));
    let started = Instant::now();
    seed(&path, licences);
    println!(
        "seeded {licences} licences, {} numbers in {:.1?}",
        (licences * NUMBERS_PER_LICENCE).min(NUMBER_CAP),
        started.elapsed()
    );
    let store = Store::open(&path).unwrap();
    let policy = Policy::default();
    let until = TODAY + Days::new(90);
    let mut times: Vec<Duration> = Vec::new();
    let mut cpu: Vec<f64> = Vec::new();
    let mut found = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let cpu_started = cpu_ms();
        found = store.obligations_due_by(until, TODAY, &policy).unwrap();
        cpu.push(cpu_ms() - cpu_started);
        times.push(started.elapsed());
    }
    drop(store);
    times.sort();
    cpu.sort_by(f64::total_cmp);
    let median = times[times.len() / 2].as_secs_f64() * 1e3;
    let cpu_median = cpu[cpu.len() / 2];
    println!(
        "due query, 90 days, {licences} licences: {} obligations, median {median:.1} ms (min {:.1?}, max {:.1?}), CPU median {cpu_median:.1} ms",
        found.len(),
        times[0],
        times[times.len() - 1],
    );
    if licences == 100_000 {
        // The CPU time beside the wall time: on a loaded machine the wall
        // time is mostly waiting for a core.
        println!(
            "BENCH\tagenda query, 90 days, {} items (100k)\t{median:.1} ms (CPU {cpu_median:.1} ms)\t< 100 ms\t{}",
            found.len(),
            verdict(median < 100.0)
        );
    }
    let mut peak: f64 = 0.0;
    for format in ["json", "table"] {
        let (seconds, rss) = command(
            &path,
            &["--wide", "--format", format, "agenda", "--days", "90"],
            None,
        );
        println!(
            "BENCH\tagenda --days 90 --format {format}, {licences} licences, {} items\t{rss:.1} MB peak, {seconds:.2} s\t≤ 200 MB\t{}",
            found.len(),
            verdict(rss <= 200.0)
        );
        peak = peak.max(rss);
    }
    // The other commands at the largest size only, where memory that
    // follows the register shows: minutes of output at 1M licences.
    if licences == *sizes().last().unwrap() {
        for (what, args, width) in EVERY_COMMAND {
            let (seconds, rss) = command(&path, args, *width);
            println!(
                "BENCH\t{what}, {licences} licences\t{rss:.1} MB peak, {seconds:.2} s\t≤ 200 MB\t{}",
                verdict(rss <= 200.0)
            );
        }
    }
    // A workbook holds 1,048,575 rows: 1M licences are more, and refused.
    if licences == 100_000 {
        let workbook = dir.join("export.xlsx");
        let args = [
            "--format",
            "xlsx",
            "export",
            "--output",
            workbook.to_str().unwrap(),
        ];
        let (seconds, rss) = command(&path, &args, None);
        println!(
            "BENCH\texport --format xlsx --output FILE, {licences} licences\t{rss:.1} MB peak, {seconds:.2} s\t≤ 200 MB\t{}",
            verdict(rss <= 200.0)
        );
        std::fs::remove_file(&workbook).unwrap();
    }
    // LICWATCH_BENCH_KEEP=DIR keeps the registers there, to profile the
    // command by hand.
    match std::env::var_os("LICWATCH_BENCH_KEEP") {
        Some(keep) => {
            std::fs::rename(&path, Path::new(&keep).join(path.file_name().unwrap())).unwrap()
        }
        None => std::fs::remove_file(&path).unwrap(),
    }
    peak
}

/// The registers' sizes: 1M licences too unless `LICWATCH_BENCH_SMALL`.
fn sizes() -> Vec<u32> {
    let mut sizes = vec![10_000, 100_000];
    if std::env::var_os("LICWATCH_BENCH_SMALL").is_none() {
        sizes.push(1_000_000);
    }
    sizes
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sizes = sizes();
    let peaks: Vec<f64> = sizes.iter().map(|&n| measure(dir.path(), n)).collect();
    let growth = peaks[peaks.len() - 1] / peaks[0];
    println!(
        "BENCH\tagenda peak RSS, {}k / 10k licences\t{growth:.2}×\tindependent of items (≤ 1.3×)\t{}",
        sizes[sizes.len() - 1] / 1000,
        verdict(growth <= 1.3)
    );
}
