//! A daemon pass (the due query, planning, the outbox write and delivery to
//! the `log` route) over a register like an agency's, at 100,000 and at
//! 1,000,000 licences with the same 1,000 alerts due: the cost should follow
//! what is due, not the register's size. Then the resident memory of the
//! real daemon, idle after its first tick on that register, and idle after
//! a big first tick (over 200,000 alerts, and at 1M licences over a million),
//! with its peak. Run: `cargo bench --bench tick`
//! (`LICWATCH_BENCH_SMALL=1` skips the 1M register).
//!
//! The register looks like the sheets agencies keep: valid USCCs, every
//! licence owing this year's annual report (reported through last year, so
//! every licence is a report candidate of the due query), one number in
//! seven awaiting activation, expiries spread over five years. The earlier
//! version of this bench marked every report filed and every number active,
//! so two of the due query's paths returned nothing.
//!
//! Each figure is printed as `figure<TAB>value<TAB>target<TAB>verdict`
//! lines prefixed with `BENCH`, which `scripts/bench.sh` collects.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use licwatch::config::Config;
use licwatch::domain::province::Province;
use licwatch::store::Store;
use rusqlite::params;

mod support;
use support::{uscc, verdict};

const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
const DUE: u32 = 1_000;
/// 96 + 4 digits per province: 31 × 10,000 numbers is all there can be.
const NUMBER_CAP: u32 = 310_000;
const RUNS: usize = 5;

/// Knuth's multiplicative hash: a deterministic spread without a random
/// number crate.
fn spread(i: u32, modulo: u32) -> u32 {
    i.wrapping_mul(2_654_435_761) % modulo
}

/// `licences` licences; the first `DUE` have their renewal's −120 stage
/// today, the rest expire later than any renewal stage the tick looks at.
/// `overdue`: every report of last year missing and every awaiting number
/// past its deadline, for the big first tick.
fn seed(path: &Path, licences: u32, overdue: bool) {
    drop(Store::open(path).expect("create the register"));
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "off").unwrap();
    let provinces: Vec<Province> = Province::all().collect();
    let tx = conn.transaction().unwrap();
    {
        let mut company = tx
            .prepare("INSERT INTO company (id, uscc, name) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut licence = tx
            .prepare(
                "INSERT INTO licence (id, number, company_id, scope, items, issued, expires, authority, reported_through)
                 VALUES (?1, ?2, ?1, 'nationwide', 'B24', ?3, ?4, '工业和信息化部', ?5)",
            )
            .unwrap();
        let mut report = tx
            .prepare("INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, 1)")
            .unwrap();
        let mut number = tx
            .prepare(
                "INSERT INTO number (number, province, licence_id, allocated, activated_on) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .unwrap();
        for i in 0..licences {
            company
                .execute(params![i + 1, uscc(u64::from(i)), format!("公司{i}")])
                .unwrap();
            let expires = if i < DUE {
                TODAY + Days::new(120)
            } else {
                TODAY + Days::new(240 + u64::from(spread(i, 5 * 365 - 240)))
            };
            let issued = expires - Days::new(5 * 365);
            // This year's report (on 2026) is owed from January; last
            // year's is filed, unless the register is the overdue one.
            let reported_through = if overdue { 2024 } else { 2025 };
            licence
                .execute(params![
                    i + 1,
                    format!("B2-2{i:07}"),
                    issued,
                    expires,
                    reported_through
                ])
                .unwrap();
            for year in 2024..=reported_through {
                report
                    .execute(params![
                        i + 1,
                        year,
                        NaiveDate::from_ymd_opt(year + 1, 3, 1).unwrap()
                    ])
                    .unwrap();
            }
            if i < NUMBER_CAP {
                // One in seven awaits activation: allocated in the last
                // month and a half (months before its deadline), or, in
                // the overdue register, seven months ago.
                let awaiting = spread(i, 7) == 0;
                let (allocated, activated) = if awaiting {
                    let back = if overdue { 210 } else { 35 };
                    (
                        TODAY - Days::new(back) + Days::new(u64::from(spread(i, 30))),
                        None,
                    )
                } else {
                    let allocated = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                        + Days::new(u64::from(spread(i, 600)));
                    (allocated, Some(allocated + Days::new(30)))
                };
                number
                    .execute(params![
                        format!("96{:04}", i / 31),
                        provinces[(i % 31) as usize].abbreviation().to_string(),
                        i + 1,
                        allocated,
                        activated
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

/// One pass as `serve --once` makes it, tick and delivery to the `log`
/// route (the default route when none is configured).
fn pass(path: &Path, runtime: &tokio::runtime::Runtime) -> licwatch::daemon::PassReport {
    let stop = AtomicBool::new(false);
    runtime
        .block_on(licwatch::daemon::once(
            path,
            Config::defaults(),
            Some(TODAY),
            &licwatch::daemon::clock::SystemClock,
            &stop,
        ))
        .unwrap()
}

fn clear_outbox(path: &Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute("DELETE FROM outbox", [])
        .unwrap();
}

/// The median pass and the median tick alone over `licences`, in ms.
fn measure(dir: &Path, licences: u32) -> (f64, f64) {
    let path = dir.join(format!("tick-{licences}.db"));
    let started = Instant::now();
    seed(&path, licences, false);
    println!(
        "seeded {licences} licences, {} numbers in {:.1?}",
        licences.min(NUMBER_CAP),
        started.elapsed()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut times: Vec<Duration> = Vec::new();
    let mut report = Default::default();
    for _ in 0..RUNS {
        clear_outbox(&path);
        let started = Instant::now();
        report = pass(&path, &runtime);
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let licwatch::daemon::PassReport { tick, delivery } = report;
    // The tick alone (due query, planning, outbox write): a pass also
    // builds the HTTP client, whose root certificates cost tens of ms.
    let mut store = Store::open(&path).unwrap();
    let config = Config::defaults();
    let now = chrono::Utc::now();
    let mut tick_times: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        clear_outbox(&path);
        let started = Instant::now();
        licwatch::daemon::tick::tick(&mut store, &config, TODAY, now).unwrap();
        tick_times.push(started.elapsed());
    }
    drop(store);
    tick_times.sort();
    let tick_ms = tick_times[RUNS / 2].as_secs_f64() * 1e3;
    println!(
        "tick alone over {licences} licences: median {tick_ms:.1} ms (min {:.1?}, max {:.1?})",
        tick_times[0],
        tick_times[RUNS - 1]
    );
    if licences == 100_000 {
        println!(
            "BENCH\ttick alone (query, plan, outbox), {DUE} due, 100k licences\t{tick_ms:.1} ms\t< 50 ms\t{}",
            verdict(tick_ms < 50.0)
        );
    }
    println!(
        "pass over {licences} licences: {} open, {} alerts, {} queued, {} sent; median {median:.1?} (min {:.1?}, max {:.1?}) over {RUNS} runs",
        tick.open,
        tick.alerts,
        tick.queued,
        delivery.sent,
        times[0],
        times[times.len() - 1],
    );
    assert_eq!(
        tick.alerts, DUE as usize,
        "the register must have exactly the due alerts"
    );
    let ms = median.as_secs_f64() * 1e3;
    if licences == 100_000 {
        println!(
            "BENCH\tpass (tick + delivery to log), {DUE} due, 100k licences\t{ms:.1} ms\t< 50 ms\t{}",
            verdict(ms < 50.0)
        );
        clear_outbox(&path);
        let (alerts, rss, _) = idle_rss(&path);
        println!(
            "BENCH\tidle daemon RSS after a tick of {alerts} alerts (100k)\t{:.1} MB\t≤ 16 MB\t{}",
            rss,
            verdict(rss <= 16.0)
        );
    }
    // LICWATCH_BENCH_KEEP=DIR keeps the register there, to profile the
    // tick by hand.
    match std::env::var_os("LICWATCH_BENCH_KEEP") {
        Some(keep) => {
            std::fs::rename(&path, Path::new(&keep).join(path.file_name().unwrap())).unwrap()
        }
        None => std::fs::remove_file(&path).unwrap(),
    }
    (ms, tick_ms)
}

/// Starts the real daemon on the register (its today is the machine's, so
/// only a register due whatever the date makes a big first tick), waits
/// for its first tick, lets it settle, and reads its resident memory in MB.
/// Returns the tick's alert count, the idle RSS and the peak RSS (MB).
fn idle_rss(path: &Path) -> (String, f64, f64) {
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
    let tick = lines
        .by_ref()
        .map_while(Result::ok)
        // The tick's summary, not the start-up line that names the next tick.
        .find(|line| line.contains(" tick ") && line.contains("alerts="))
        .expect("the daemon ended before its first tick");
    // Keep draining the log so the daemon never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let alerts = tick
        .split_whitespace()
        .find_map(|field| field.strip_prefix("alerts="))
        .unwrap_or("?")
        .to_owned();
    // Settle: the log route has written everything before the tick line.
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.id())).unwrap();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let kb = field("VmRSS:");
    println!(
        "idle daemon after {alerts} alerts: VmRSS {kb} kB (anonymous {} kB, file {} kB), VmHWM {} kB",
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:")
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    (alerts, kb / 1024.0, field("VmHWM:") / 1024.0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let small = measure(dir.path(), 100_000);
    if std::env::var_os("LICWATCH_BENCH_SMALL").is_none() {
        let large = measure(dir.path(), 1_000_000);
        for (what, ratio) in [
            ("tick alone", large.1 / small.1),
            ("pass", large.0 / small.0),
        ] {
            println!(
                "BENCH\t{what} 1M / 100k, {DUE} due\t{ratio:.2}×\t≤ 1.3×\t{}",
                verdict(ratio <= 1.3)
            );
        }
    }
    // The big first tick: every licence overdue with last year's report
    // and every awaiting number past its deadline, whatever today is; at
    // 240,000 licences, and at 1M unless LICWATCH_BENCH_SMALL is set.
    // LICWATCH_BENCH_KEEP=DIR keeps these registers there, to look at the
    // daemon by hand.
    let mut sizes = vec![240_000];
    if std::env::var_os("LICWATCH_BENCH_SMALL").is_none() {
        sizes.push(1_000_000);
    }
    for licences in sizes {
        let path = std::env::var_os("LICWATCH_BENCH_KEEP")
            .map(|keep| Path::new(&keep).join(format!("big-{licences}.db")))
            .unwrap_or_else(|| dir.path().join(format!("big-{licences}.db")));
        std::fs::remove_file(&path).ok();
        let started = Instant::now();
        seed(&path, licences, true);
        println!(
            "seeded the overdue register of {licences} licences in {:.1?}",
            started.elapsed()
        );
        let started = Instant::now();
        let (alerts, rss, peak) = idle_rss(&path);
        println!(
            "first tick of {alerts} alerts over {licences} licences, planned and delivered to the log route in {:.1?}",
            started.elapsed()
        );
        let size = licences / 1000;
        println!(
            "BENCH\tidle daemon RSS after a first tick of {alerts} alerts ({size}k licences)\t{rss:.1} MB\t≤ 16 MB\t{}",
            verdict(rss <= 16.0)
        );
        println!(
            "BENCH\tpeak daemon RSS during that first tick ({size}k licences)\t{peak:.1} MB\t≤ 200 MB\t{}",
            verdict(peak <= 200.0)
        );
        if std::env::var_os("LICWATCH_BENCH_KEEP").is_none() {
            std::fs::remove_file(&path).ok();
        }
    }
}
