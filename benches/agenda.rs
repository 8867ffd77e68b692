//! The agenda over a large register: 100,000 licences and 300,000 numbers.
//! Target: under 100 ms for a 90-day window. Run: `cargo bench --bench agenda`.
//!
//! The register is deterministic and meant to look like a real one: expiries
//! spread over five years, most holders renew and report in time, numbers go
//! into service within a month except a seventh of the recent ones.

use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate};
use licwatch::domain::policy::Policy;
use licwatch::domain::province::Province;
use licwatch::store::Store;
use rusqlite::params;

const LICENCES: u32 = 100_000;
const NUMBERS_PER_LICENCE: u32 = 3;
const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();

/// A deterministic spread without a random-number crate: Knuth's
/// multiplicative hash of the index.
fn spread(i: u32, modulo: u32) -> u32 {
    i.wrapping_mul(2_654_435_761) % modulo
}

fn seed(path: &std::path::Path) {
    drop(Store::open(path).expect("create the register"));
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    let provinces: Vec<Province> = Province::all().collect();
    let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    for i in 0..LICENCES {
        tx.execute(
            "INSERT INTO company (id, uscc, name) VALUES (?1, ?2, ?3)",
            params![i + 1, format!("U{i:017}"), format!("公司{i}")],
        )
        .unwrap();
        let province = provinces[(i % 31) as usize];
        let number = if i % 10 == 0 {
            format!("B2-20{:06}", i)
        } else {
            format!("{}B2-20{:06}", province.abbreviation(), i)
        };
        // Expiries spread over five years from December 2026.
        let expires = start + Days::new(u64::from(spread(i, 5 * 365)));
        let issued = expires.checked_sub_days(Days::new(5 * 365)).unwrap();
        // One in fifty is late with last year's annual report.
        let reported_through = if i % 50 == 3 { 2024 } else { 2025 };
        tx.execute(
            "INSERT INTO licence (id, number, company_id, scope, province, items, issued, expires, authority, reported_through)
             VALUES (?1, ?2, ?1, 'provincial', ?3, 'B24', ?4, ?5, ?6, ?7)",
            params![i + 1, number, province.abbreviation().to_string(), issued, expires, province.authority(), reported_through],
        )
        .unwrap();
        for year in issued.year()..=reported_through {
            tx.execute(
                "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, 1)",
                params![i + 1, year, NaiveDate::from_ymd_opt(year + 1, 3, 1).unwrap()],
            )
            .unwrap();
        }
        // Nineteen in twenty holders whose renewal deadline has passed did
        // apply in time.
        if expires - Days::new(90) < TODAY && i % 20 != 0 {
            tx.execute(
                "INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing) VALUES (?1, ?2, ?3, 1)",
                params![i + 1, expires, expires - Days::new(100)],
            )
            .unwrap();
            tx.execute("UPDATE licence SET renewal_mark = 1 WHERE id = ?1", [i + 1])
                .unwrap();
        }
        for n in 0..NUMBERS_PER_LICENCE {
            let id = i * NUMBERS_PER_LICENCE + n;
            let allocated = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                + Days::new(u64::from(spread(id, 1060)));
            // Numbers are put in service within a month, except one in seven
            // of those allocated in the last eight months.
            let recent = allocated > NaiveDate::from_ymd_opt(2026, 3, 24).unwrap();
            let activated = (!recent || spread(id, 7) != 0).then(|| allocated + Days::new(30));
            // 96 + 4 digits, unique per province: 31 × 10,000 numbers.
            let number_province = provinces[(id % 31) as usize];
            tx.execute(
                "INSERT INTO number (number, province, licence_id, allocated, activated_on) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![format!("96{:04}", id / 31), number_province.abbreviation().to_string(), i + 1, allocated, activated],
            )
            .unwrap();
        }
        if i % 100 == 0 {
            tx.execute(
                "INSERT INTO company_change (licence_id, kind, changed_on) VALUES (?1, 'address', ?2)",
                params![i + 1, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + Days::new(u64::from(spread(i, 90)))],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("LICWATCH_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    if path.exists() {
        std::fs::remove_file(&path).unwrap();
    }
    let started = Instant::now();
    seed(&path);
    println!(
        "seeded {LICENCES} licences, {} numbers in {:.1?}",
        LICENCES * NUMBERS_PER_LICENCE,
        started.elapsed()
    );

    let store = Store::open(&path).unwrap();
    let policy = Policy::default();
    let today = TODAY;
    for days in [30u64, 90] {
        let until = today + Days::new(days);
        let mut times: Vec<Duration> = Vec::new();
        let mut found = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            found = store.obligations_due_by(until, today, &policy).unwrap();
            times.push(started.elapsed());
        }
        let mut by_kind = std::collections::BTreeMap::new();
        for obligation in &found {
            *by_kind.entry(obligation.kind.code()).or_insert(0) += 1;
        }
        times.sort();
        println!(
            "agenda, {days}-day window: {} obligations {by_kind:?}, median {:.1?} (min {:.1?}, max {:.1?}) over {} runs",
            found.len(),
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            times.len()
        );
    }
}
