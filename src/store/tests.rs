use std::os::unix::fs::PermissionsExt;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::change::ChangeKind;
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::obligation::ObligationKind;
use crate::domain::obligation::keys::ObligationKey;
use crate::domain::policy::Policy;
use crate::domain::province::Province;
use crate::domain::uscc::Uscc;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn stamp() -> Stamp {
    Stamp::cli(
        "tester".into(),
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
    )
}

fn uscc() -> Uscc {
    "91110108551385082Q".parse().unwrap()
}

fn licence_no(text: &str) -> LicenceNo {
    text.parse().unwrap()
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("register.db")).unwrap();
    (dir, store)
}

fn with_licence(store: &mut Store, number: &str, issued: NaiveDate, expires: NaiveDate) {
    if store.company(&uscc()).is_err() {
        store
            .add_company(&stamp(), &uscc(), "示例呼叫中心有限公司", &[])
            .unwrap();
    }
    let number = licence_no(number);
    store
        .add_licence(
            &stamp(),
            &NewLicence {
                authority: number.scope().authority(),
                number,
                holder: uscc(),
                items: vec![ItemCode::B24],
                issued,
                expires,
            },
        )
        .unwrap();
}

#[test]
fn a_new_database_is_private_and_at_the_latest_schema() {
    let (dir, store) = temp_store();
    let mode = std::fs::metadata(dir.path().join("register.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        store.schema_version().unwrap(),
        schema::MIGRATIONS.len() as i64
    );
    let journal: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn a_newer_database_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(
        err.ends_with(&format!(
            "schema version 99 is newer than this licwatch supports ({}); upgrade licwatch",
            schema::MIGRATIONS.len()
        )),
        "{err}"
    );
}

#[test]
fn an_older_database_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.execute(
        "INSERT INTO company (uscc, name) VALUES ('91110108551385082Q', '甲')",
        [],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        schema::MIGRATIONS.len() as i64
    );
    assert_eq!(store.companies().unwrap()[0].name, "甲");
    let outbox: i64 = store
        .conn
        .query_row("SELECT count(*) FROM outbox", [], |row| row.get(0))
        .unwrap();
    assert_eq!(outbox, 0);
}

#[test]
fn duplicates_are_refused_by_name() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let err = store
        .add_company(&stamp(), &uscc(), "again", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "company 91110108551385082Q (示例呼叫中心有限公司) is already registered"
    );
    let again = NewLicence {
        number: licence_no("京B2-20201234"),
        holder: uscc(),
        items: vec![ItemCode::B24],
        issued: d(2022, 1, 1),
        expires: d(2026, 12, 31),
        authority: String::new(),
    };
    assert_eq!(
        store.add_licence(&stamp(), &again).unwrap_err().to_string(),
        "licence 京B2-20201234 is already registered"
    );
}

#[test]
fn numbers_live_under_a_valid_licence_and_96_numbers_take_a_province() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    // Renewed in 2024: first issued 2019, this term to 2028.
    with_licence(&mut store, "B2-20190001", d(2024, 1, 1), d(2028, 12, 31));
    with_licence(&mut store, "粤B2-20180001", d(2018, 1, 1), d(2022, 12, 31));
    let today = d(2026, 11, 24);
    let n = |s: &str| s.parse().unwrap();
    let beijing = Province::parse("京").unwrap();
    let guangdong = Province::parse("粤").unwrap();

    let row = store
        .add_number(
            &stamp(),
            &n("961234"),
            None,
            &licence_no("京B2-20201234"),
            d(2026, 1, 5),
            today,
        )
        .unwrap();
    assert_eq!(row.province, Some(beijing));
    // The same six digits in another province are another number.
    store
        .add_number(
            &stamp(),
            &n("961234"),
            Some(guangdong),
            &licence_no("B2-20190001"),
            d(2026, 1, 5),
            today,
        )
        .unwrap();
    assert!(
        store
            .number(&n("961234"), None)
            .unwrap_err()
            .to_string()
            .contains("add --province")
    );
    assert!(
        store
            .add_number(
                &stamp(),
                &n("961234"),
                None,
                &licence_no("B2-20190001"),
                d(2026, 1, 5),
                today
            )
            .unwrap_err()
            .to_string()
            .contains("name the province that allocated it")
    );
    assert_eq!(
        store
            .add_number(
                &stamp(),
                &n("961234"),
                None,
                &licence_no("京B2-20201234"),
                d(2026, 1, 5),
                today
            )
            .unwrap_err()
            .to_string(),
        "number 961234 (北京市) is already registered"
    );
    assert!(
        store
            .add_number(
                &stamp(),
                &n("95123"),
                Some(beijing),
                &licence_no("京B2-20201234"),
                d(2026, 1, 5),
                today
            )
            .unwrap_err()
            .to_string()
            .contains("only 96 numbers take a province")
    );
    // 先证后号: not under an expired licence, nor before the licence existed.
    assert!(
        store
            .add_number(
                &stamp(),
                &n("962345"),
                None,
                &licence_no("粤B2-20180001"),
                d(2020, 1, 5),
                today
            )
            .unwrap_err()
            .to_string()
            .contains("ended on 2022-12-31")
    );
    // 95 and 1010 numbers only under a 全网 licence.
    assert!(
        store
            .add_number(
                &stamp(),
                &n("10101234"),
                None,
                &licence_no("京B2-20201234"),
                d(2026, 1, 5),
                today
            )
            .unwrap_err()
            .to_string()
            .contains("95 and 1010 numbers are held only under a 全网 licence")
    );
    assert!(
        store
            .add_number(
                &stamp(),
                &n("962222"),
                None,
                &licence_no("京B2-20201234"),
                d(2021, 12, 31),
                today
            )
            .unwrap_err()
            .to_string()
            .contains("outside licence")
    );
    assert!(matches!(
        store.add_number(
            &stamp(),
            &n("95123"),
            None,
            &licence_no("沪B2-20201234"),
            d(2026, 1, 5),
            today
        ),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn renaming_a_company_opens_a_filing_on_each_live_licence() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    // Renewed in 2024: first issued 2019, this term to 2028.
    with_licence(&mut store, "B2-20190001", d(2024, 1, 1), d(2028, 12, 31));
    with_licence(&mut store, "粤B2-20180001", d(2018, 1, 1), d(2022, 12, 31));
    let update = CompanyUpdate {
        name: Some("新名称有限公司".into()),
        changed_on: d(2026, 11, 20),
        ..CompanyUpdate::default()
    };
    let (company, changes) = store.update_company(&stamp(), &uscc(), &update).unwrap();
    assert_eq!(company.name, "新名称有限公司");
    let licences: Vec<String> = changes.iter().map(|c| c.licence.to_string()).collect();
    assert_eq!(licences, vec!["B2-20190001", "京B2-20201234"]);
    assert!(
        changes
            .iter()
            .all(|c| c.kind == ChangeKind::Name && c.changed_on == d(2026, 11, 20))
    );
    // The first address is data entry, not a change.
    let first_address = CompanyUpdate {
        address: Some("北京市海淀区".into()),
        changed_on: d(2026, 11, 20),
        ..CompanyUpdate::default()
    };
    assert!(
        store
            .update_company(&stamp(), &uscc(), &first_address)
            .unwrap()
            .1
            .is_empty()
    );
}

#[test]
fn history_is_append_only() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let rows = store.history(Some(&licence_no("京B2-20201234"))).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].user.as_str(), rows[0].action.as_str()),
        ("tester", "licence add")
    );
    let err = store
        .conn
        .execute("DELETE FROM history", [])
        .unwrap_err()
        .to_string();
    assert!(err.contains("history is append-only"));
    assert!(
        store
            .conn
            .execute("UPDATE history SET os_user = 'x'", [])
            .is_err()
    );
}

#[test]
fn a_refused_write_changes_nothing() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let before = store.history(None).unwrap().len();
    let licence = licence_no("京B2-20201234");
    store
        .file_report(&stamp(), &licence, 2025, d(2026, 2, 1), true)
        .unwrap();
    assert!(
        store
            .file_report(&stamp(), &licence, 2025, d(2026, 2, 2), true)
            .is_err()
    );
    assert!(
        store
            .file_report(&stamp(), &licence, 2026, d(2026, 11, 24), true)
            .unwrap_err()
            .to_string()
            .contains("the 2026 annual report cannot be filed before 2027-01-01")
    );
    assert_eq!(store.history(None).unwrap().len(), before + 1);
}

#[test]
fn marks_close_obligations_in_the_due_query() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    with_licence(&mut store, "京B2-20201234", d(2022, 2, 1), d(2027, 1, 31));
    let licence = licence_no("京B2-20201234");
    let kinds = |store: &Store| -> Vec<(ObligationKind, NaiveDate)> {
        store
            .obligations_due_by(today + chrono::Days::new(90), today, &policy)
            .unwrap()
            .into_iter()
            .map(|o| (o.kind, o.due))
            .collect()
    };
    assert_eq!(
        kinds(&store),
        vec![
            (ObligationKind::AnnualReport, d(2025, 3, 31)),
            (ObligationKind::AnnualReport, d(2026, 3, 31)),
            (ObligationKind::Renewal, d(2026, 11, 2)),
        ]
    );
    store
        .file_report(&stamp(), &licence, 2024, d(2025, 3, 1), true)
        .unwrap();
    store
        .file_report(&stamp(), &licence, 2025, d(2026, 3, 1), true)
        .unwrap();
    assert_eq!(
        kinds(&store),
        vec![(ObligationKind::Renewal, d(2026, 11, 2))]
    );
    store
        .submit_renewal(&stamp(), &licence, d(2026, 11, 24), true)
        .unwrap();
    assert_eq!(kinds(&store), vec![]);
    let change = store
        .record_change(&stamp(), &licence, ChangeKind::Capital, d(2026, 11, 1))
        .unwrap();
    assert_eq!(
        kinds(&store),
        vec![(ObligationKind::ChangeFiling, d(2026, 12, 1))]
    );
    store
        .file_change(&stamp(), change.id, d(2026, 11, 24))
        .unwrap();
    assert_eq!(kinds(&store), vec![]);
}

/// The indexed query finds exactly what running the rules over every
/// licence finds, on a register with every kind of obligation.
#[test]
fn the_indexed_due_query_agrees_with_the_rules_over_the_whole_register() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let mut licences = Vec::new();
    for i in 0..40u32 {
        let issued = d(2020, 7, 1) + chrono::Days::new(u64::from(i * 20));
        let number = format!("B2-{}{:04}", issued.year(), i);
        // Five-year terms, some cut short: expiries from mid-2025 to 2026.
        let expires =
            crate::domain::date::default_expiry(issued, 5) - chrono::Days::new(u64::from(i * 13));
        with_licence(&mut store, &number, issued, expires);
        let licence = licence_no(&number);
        if i % 3 == 0 {
            store
                .file_report(&stamp(), &licence, 2024, d(2025, 3, 1), i % 2 == 0)
                .unwrap();
        }
        if i % 5 == 0 {
            store
                .end_licence(
                    &stamp(),
                    &licence,
                    d(2025, 1, 1) + chrono::Days::new(u64::from(i * 11)),
                    "revoked",
                )
                .unwrap();
        } else {
            let number = format!("95{:03}", i);
            store
                .add_number(
                    &stamp(),
                    &number.parse().unwrap(),
                    None,
                    &licence,
                    d(2025, 3, 1) + chrono::Days::new(u64::from(i * 3)),
                    // Today: the allocation day or later (facts are not dated
                    // ahead of today).
                    (d(2025, 3, 1) + chrono::Days::new(u64::from(i * 3))).max(d(2025, 6, 1)),
                )
                .unwrap();
        }
        if i % 5 != 0 && i % 3 == 2 {
            // Released mid-way through the days the test looks at.
            let number = format!("95{:03}", i).parse().unwrap();
            store
                .release_number(&stamp(), &number, None, d(2025, 9, 1))
                .unwrap();
        }
        if i % 7 == 0 {
            store
                .record_change(
                    &stamp(),
                    &licence,
                    ChangeKind::Address,
                    d(2025, 1, 1) + chrono::Days::new(u64::from(i * 13)),
                )
                .unwrap();
        }
        if i % 4 == 1 {
            store
                .submit_renewal(&stamp(), &licence, d(2025, 1, 1), i % 8 == 1)
                .unwrap();
        }
        if i % 6 == 2 {
            // Renewed: the mark was for the old expiry, the new one is open.
            store
                .submit_renewal(&stamp(), &licence, d(2025, 1, 1), true)
                .unwrap();
            let update = LicenceUpdate {
                expires: Some(expires + chrono::Days::new(5 * 365)),
                ..LicenceUpdate::default()
            };
            store.update_licence(&stamp(), &licence, &update).unwrap();
        }
        licences.push(licence);
    }
    for today in [
        d(2025, 1, 1),
        d(2025, 3, 31),
        d(2025, 8, 15),
        d(2026, 1, 1),
        d(2026, 11, 24),
    ] {
        for days in [0u64, 30, 90, 400] {
            let until = today + chrono::Days::new(days);
            let mut expected: Vec<ObligationKey> = licences
                .iter()
                .flat_map(|l| store.open_obligations_of(l, today, &policy).unwrap())
                .filter(|o| o.due <= until)
                .map(|o| o.key)
                .collect();
            expected.sort();
            let mut found: Vec<ObligationKey> = store
                .obligations_due_by(until, today, &policy)
                .unwrap()
                .into_iter()
                .map(|o| o.key)
                .collect();
            found.sort();
            assert_eq!(found, expected, "today {today}, {days} days");
            // Read in batches, as the tick reads a backlog: the same.
            let window = super::DueWindow::uniform(until);
            let mut batched: Vec<ObligationKey> = store
                .due_candidates(&window, today, &policy)
                .unwrap()
                .batches(3)
                .flat_map(|batch| {
                    store
                        .due_of(&batch, &window, today, &policy)
                        .unwrap()
                        .obligations
                })
                .map(|o| o.key)
                .collect();
            batched.sort();
            assert_eq!(batched, expected, "in batches: today {today}, {days} days");
        }
        // Every licence's open obligations with one set of queries, as
        // delivery reads a message's licences: the same as one by one.
        let mut one_by_one: Vec<ObligationKey> = licences
            .iter()
            .flat_map(|l| store.open_obligations_of(l, today, &policy).unwrap())
            .map(|o| o.key)
            .collect();
        one_by_one.sort();
        let numbers: Vec<String> = licences.iter().map(ToString::to_string).collect();
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let read = store
            .open_obligations_of_licences(&numbers, today, &policy)
            .unwrap();
        assert!(read.unreadable.is_empty(), "{:?}", read.unreadable);
        let mut together: Vec<ObligationKey> =
            read.obligations.into_iter().map(|o| o.key).collect();
        together.sort();
        assert_eq!(together, one_by_one, "today {today}");
    }
}

/// Every table and the header fields a migration would change, for "left as
/// it was" checks.
fn file_state(path: &Path) -> (Vec<String>, String, i64, i32) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables = conn
        .prepare("SELECT name FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let journal = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    let version = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    let application = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .unwrap();
    (tables, journal, version, application)
}

#[test]
fn another_applications_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 3] = [
        (
            "tables.db",
            "CREATE TABLE songs (title TEXT); CREATE TABLE artists (name TEXT);",
            "it holds the tables artists, songs and no licwatch schema version",
        ),
        (
            "versioned.db",
            "CREATE TABLE songs (title TEXT); PRAGMA user_version = 1;",
            "schema version 1, but no table company, company_email",
        ),
        (
            "marked.db",
            "PRAGMA application_id = 1234; CREATE TABLE songs (title TEXT);",
            "its application id is 0x000004d2, another application's",
        ),
    ];
    for (name, sql, why) in cases {
        let path = dir.path().join(name);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let before = file_state(&path);
        for opened in [Store::open(&path), Store::open_existing(&path)] {
            let err = opened.err().unwrap().to_string();
            assert!(err.contains("is not a licwatch register"), "{name}: {err}");
            assert!(err.contains(why), "{name}: {err}");
        }
        let err = Store::check(&path).err().unwrap().to_string();
        assert!(err.contains(why), "{name}: {err}");
        assert_eq!(file_state(&path), before, "{name}");
    }
}

#[test]
fn a_read_only_open_never_migrates_and_a_write_open_marks_the_register() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    let before = file_state(&path);
    let err = Store::open_existing(&path).err().unwrap().to_string();
    assert!(
        err.ends_with(&format!(
            "schema version 1 is older than this licwatch's ({}); `licwatch db upgrade` upgrades it (the daemon does at start)",
            schema::MIGRATIONS.len()
        )),
        "{err}"
    );
    assert_eq!(file_state(&path), before);
    drop(Store::open(&path).unwrap());
    let (_, journal, version, application) = file_state(&path);
    assert_eq!(
        (journal.as_str(), version, application),
        ("wal", schema::MIGRATIONS.len() as i64, APPLICATION_ID)
    );
    assert!(Store::open_existing(&path).is_ok());
}

#[test]
fn db_check_refuses_a_schema_version_below_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", -1)
        .unwrap();
    let report = Store::check(&path).unwrap();
    assert_eq!(report.schema_version, -1);
    assert!(!report.schema_ok());
    let err = Store::open_existing(&path).err().unwrap().to_string();
    assert!(
        err.ends_with("schema version -1 is not one licwatch writes; is this a licwatch register?"),
        "{err}"
    );
    let report = CheckReport {
        integrity: vec!["ok".into()],
        foreign_keys: vec![],
        schema_version: 0,
        supported: 2,
    };
    assert!(!report.schema_ok());
}

#[test]
fn a_register_readable_by_others_is_made_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    drop(Store::open(&path).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open_existing(&path).unwrap());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn every_name_of_a_register_has_one_delivery_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.db");
    // Taken before the register exists (the file is made for it), then
    // refused under every other name: a symlink, a path through ".", and a
    // hard link, which no path-based name would find.
    let held = DeliveryLock::open(&path).unwrap();
    assert!(held.try_acquire().unwrap());
    let mut store = Store::open(&path).unwrap();
    let symlink = dir.path().join("symlink.db");
    std::os::unix::fs::symlink(&path, &symlink).unwrap();
    let hard = dir.path().join("hard.db");
    std::fs::hard_link(&path, &hard).unwrap();
    let dotted = dir.path().join(".").join("register.db");
    for name in [&path, &symlink, &dotted, &hard] {
        let other = DeliveryLock::open(name).unwrap();
        assert!(!other.try_acquire().unwrap(), "{}", name.display());
    }
    // The lock leaves SQLite's own locks alone: the store writes under it.
    with_licence(&mut store, "京B2-20201234", d(2022, 3, 25), d(2027, 3, 24));
    drop(store);
    drop(held);
    let other = DeliveryLock::open(&hard).unwrap();
    assert!(other.try_acquire().unwrap());
}

#[test]
fn commits_are_synced_to_disk() {
    let (_dir, store) = temp_store();
    let synchronous: i64 = store
        .conn
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .unwrap();
    // 2 is FULL: the WAL is synced at every commit.
    assert_eq!(synchronous, 2);
}

#[test]
fn a_window_per_kind_reads_each_kind_only_as_far_as_its_day() {
    let (_dir, mut store) = temp_store();
    let policy = Policy::default();
    let today = d(2026, 11, 24);
    // Every report filed through 2025; the 2026 report is due 31 March 2027
    // and the renewal (expiry 2027-03-24, 90 days' lead) on 2026-12-24.
    with_licence(&mut store, "京B2-20201234", d(2022, 3, 25), d(2027, 3, 24));
    let licence = licence_no("京B2-20201234");
    for year in 2022..=2025 {
        store
            .file_report(&stamp(), &licence, year, d(year + 1, 2, 1), true)
            .unwrap();
    }
    let kinds = |window: &DueWindow| -> Vec<(ObligationKind, NaiveDate)> {
        store
            .due_within(window, today, &policy)
            .unwrap()
            .obligations
            .into_iter()
            .map(|o| (o.kind, o.due))
            .collect()
    };
    let far = DueWindow::uniform(d(2027, 4, 14));
    assert_eq!(
        kinds(&far),
        vec![
            (ObligationKind::Renewal, d(2026, 12, 24)),
            (ObligationKind::AnnualReport, d(2027, 3, 31)),
        ]
    );
    // The report's day short of 31 March: the report is not read, the
    // renewal still is.
    let narrow = DueWindow {
        annual_report: d(2027, 3, 15),
        ..far
    };
    assert_eq!(
        kinds(&narrow),
        vec![(ObligationKind::Renewal, d(2026, 12, 24))]
    );
}
