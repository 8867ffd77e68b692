//! The register file: schema versions, refusing another application's
//! file, permissions, the delivery lock and syncing.

use super::*;

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
