//! A daemon tick (planning + outbox write) over a large register with about
//! 1,000 alerts due, at 100,000 and at 1,000,000 licences: the cost should
//! follow what is due, not the register's size. Then the idle memory of the
//! real daemon after its first tick. Run: `cargo bench --bench tick`.
//! Target: under 50 ms a tick; idle RSS under 20 MB.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use licwatch::config::Config;
use licwatch::daemon::tick;
use licwatch::store::Store;
use rusqlite::params;

const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
const DUE: u32 = 1_000;

/// `licences` licences with three numbers each, every report filed, every
/// number in service; the first `DUE` have a renewal stage due today, the
/// rest expire years from now.
fn seed(path: &std::path::Path, licences: u32) {
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
                "INSERT INTO licence (id, number, company_id, scope, items, issued, expires, authority, reported_through)
                 VALUES (?1, ?2, ?1, 'nationwide', 'B24', ?3, ?4, '工业和信息化部', 9999)",
            )
            .unwrap();
        let mut report = tx
            .prepare("INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, 1)")
            .unwrap();
        let mut number = tx
            .prepare(
                "INSERT INTO number (number, province, licence_id, allocated, activated_on) VALUES (?1, ?2, ?3, '2024-01-01', '2024-02-01')",
            )
            .unwrap();
        for i in 0..licences {
            company
                .execute(params![i + 1, format!("U{i:017}"), format!("公司{i}")])
                .unwrap();
            // Due ones: expiry 90 + 30 days ahead, so the −30 stage is today.
            let expires = if i < DUE {
                TODAY + Days::new(120)
            } else {
                TODAY + Days::new(1000 + u64::from(i % 1500))
            };
            let issued = expires - Days::new(5 * 365);
            licence
                .execute(params![i + 1, format!("B2-2{i:07}"), issued, expires])
                .unwrap();
            // The rules read the filed reports of every licence they look at;
            // only the due ones are ever looked at.
            if i < DUE {
                for year in issued.year()..=2025 {
                    report
                        .execute(params![
                            i + 1,
                            year,
                            NaiveDate::from_ymd_opt(year + 1, 3, 1).unwrap()
                        ])
                        .unwrap();
                }
            }
            for n in 0..3u32 {
                let id = i * 3 + n;
                // 1010 + 4 digits, unique per province ('' and the 31 letters
                // are not enough for millions, so spread over a made-up key).
                number
                    .execute(params![
                        format!("1010{:04}", id % 10_000),
                        format!("{}", id / 10_000),
                        i + 1
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

fn measure(licences: u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tick.db");
    let started = Instant::now();
    seed(&path, licences);
    println!(
        "seeded {licences} licences, {} numbers in {:.1?}",
        licences * 3,
        started.elapsed()
    );
    let config = Config::defaults();
    let mut store = Store::open(&path).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 1, 30, 0).unwrap();
    let mut times = Vec::new();
    let mut queued = 0;
    for _ in 0..5 {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM outbox", [])
            .unwrap();
        let started = Instant::now();
        let report = tick(&mut store, &config, TODAY, now).unwrap();
        times.push(started.elapsed());
        queued = report.queued;
    }
    times.sort();
    println!(
        "tick over {licences} licences: {queued} alerts queued, median {:.1?} (min {:.1?}, max {:.1?}) over {} runs",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
    if licences == 100_000 {
        idle_rss(&path);
    }
}

/// Starts the real daemon on the register, waits for its first tick, lets
/// it settle, and reads its resident memory.
fn idle_rss(path: &std::path::Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute("DELETE FROM outbox", [])
        .unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_licwatch"))
        .args(["serve"])
        .env("LICWATCH_DB", path)
        .env_remove("LICWATCH_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let ticked = lines.any(|line| line.is_ok_and(|line| line.contains(" tick ")));
    assert!(ticked, "the daemon ended before its first tick");
    // Keep draining the log so the daemon never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.id())).unwrap();
    let rss = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: unknown")
        .to_owned();
    println!(
        "idle daemon after its first tick over 100000 licences: {}",
        rss.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

fn main() {
    measure(100_000);
    if std::env::var_os("LICWATCH_BENCH_SMALL").is_none() {
        measure(1_000_000);
    }
}
