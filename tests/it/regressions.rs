//! Bugs found by issue 8's soak, faults and fuzzing, each pinned through
//! the real binary and named after the issue.

use crate::cli::Register;

/// A number released after its licence ended was still shown as held by
/// `explain` and `licence show`, though the agenda and the daemon had
/// dropped it (src/domain/obligation.rs, number_obligations).
#[test]
fn issue_8_a_number_released_after_its_licence_ended_is_not_shown_as_held() {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "number",
        "add",
        "95123",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2022-04-01",
    ]);
    r.ok(&[
        "number",
        "activate",
        "95123",
        "--on",
        "2022-05-01",
        "--carrier",
        "中国电信",
        "--direction",
        "inbound",
    ]);
    r.ok(&[
        "licence",
        "end",
        "京B2-20221234",
        "--on",
        "2026-06-01",
        "--reason",
        "given up",
    ]);
    let key = "number_outlives_licence/京B2-20221234/95123/2026-06-01";
    let before = r.ok(&["--today", "2026-06-05", "licence", "show", "京B2-20221234"]);
    assert!(before.contains(key), "{before}");
    r.ok(&["number", "release", "95123", "--on", "2026-06-10"]);
    let after = r.ok(&["--today", "2026-07-01", "licence", "show", "京B2-20221234"]);
    assert!(!after.contains(key), "{after}");
    let explain = r.run(&["--today", "2026-07-01", "explain", key]);
    assert!(
        !String::from_utf8_lossy(&explain.stdout).contains("is still held"),
        "{explain:?}"
    );
}

/// A database error was printed three times over: "database or disk is
/// full: database or disk is full: Error code 13: database or disk is full"
/// (src/store/mod.rs, StoreError::Sqlite gave rusqlite's error as its
/// source as well as its text).
#[test]
fn issue_8_a_database_error_is_said_once() {
    let r = Register::new();
    r.seed();
    let holder = rusqlite::Connection::open(r.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let error = String::from_utf8(
        r.command(&[
            "report",
            "file",
            "京B2-20221234",
            "--year",
            "2024",
            "--on",
            "2025-03-01",
        ])
        .env("LICWATCH_BUSY_TIMEOUT_MS", "50")
        .output()
        .unwrap()
        .stderr,
    )
    .unwrap();
    assert_eq!(error.matches("database is locked").count(), 1, "{error}");
    holder.execute_batch("ROLLBACK").unwrap();
}
