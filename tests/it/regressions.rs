//! Bugs found by issue 8's soak, faults and fuzzing, each pinned through
//! the real binary and named after the issue.

use crate::support::Register;

/// A number released after its licence ended was still shown as held by
/// `explain` and `licence show`, though the agenda and the daemon had
/// dropped it (src/domain/obligation.rs, number_obligations).
#[test]
fn issue_8_a_number_released_after_its_licence_ended_is_not_shown_as_held() {
    let r = Register::new();
    r.seed_a_number_outliving_its_licence();
    let key = "number_outlives_licence/京B2-20221234/962345/2026-06-01";
    let before = r.ok(&["--today", "2026-06-05", "licence", "show", "京B2-20221234"]);
    assert!(before.contains(key), "{before}");
    r.ok(&["number", "release", "962345", "--on", "2026-06-10"]);
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
    assert_eq!(error.matches("is locked").count(), 1, "{error}");
    holder.execute_batch("ROLLBACK").unwrap();
}

/// Issue 8, then issue 12: a digest resent after a crash between sending and
/// recording keeps its Message-ID and its items even when a second row comes
/// due meanwhile (as rows in backoff do after an outage): the message id is
/// written on the rows before the first send, and the newly due row goes in
/// a message of its own.
#[test]
fn issue_8_a_resend_after_a_crash_keeps_its_id_and_its_items_when_more_rows_are_due() {
    use std::net::TcpListener;
    use std::process::Stdio;

    use crate::support::{Smtp, message_id, serve, serve_once, setup, text};

    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), false);
    let r = setup(smtp.addr.port(), "");
    // Plan the two overdue reports without sending, then hold one back as
    // if it were in backoff.
    let config = licwatch::config::Config::load(&r.dir().join("config.toml")).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let mut store = licwatch::store::Store::open(&r.db()).unwrap();
    licwatch::daemon::tick::tick(&mut store, &config, today, chrono::Utc::now()).unwrap();
    drop(store);
    let db = rusqlite::Connection::open(r.db()).unwrap();
    let held = "annual_report/京B2-20201234/2025";
    db.execute(
        "UPDATE outbox SET next_attempt_at = '2999-01-01T00:00:00Z' WHERE obligation = ?1",
        [held],
    )
    .unwrap();

    // Killed after the server took the first digest, before recording it.
    let mut daemon = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    smtp.wait_at_gate();
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    smtp.open_gate();

    // Meanwhile the held row comes due; the restart resends the message
    // the crash interrupted as it was, and the held row in a new one.
    db.execute(
        "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z' WHERE obligation = ?1",
        [held],
    )
    .unwrap();
    serve_once(&r, "2026-11-24");
    let received = smtp.received();
    assert_eq!(received.len(), 3);
    assert_eq!(message_id(&received[0]), message_id(&received[1]));
    assert_eq!(text(&received[0]), text(&received[1]));
    assert!(text(&received[1]).contains("2024 年度年报"));
    assert!(!text(&received[1]).contains("2025 年度年报"));
    assert!(text(&received[2]).contains("2025 年度年报"));
    assert!(!text(&received[2]).contains("2024 年度年报"));
    assert_ne!(message_id(&received[1]), message_id(&received[2]));
}
