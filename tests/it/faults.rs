//! The register under bad conditions, through the real binary: the disk
//! full while the daemon writes, the file read-only, its directory missing,
//! the file locked by another process for longer than the busy timeout, and
//! 10,000 CLI writes from 4 processes while the daemon ticks. Each ends in a
//! clear one-line error (never a panic) and an intact database.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Register, Smtp, USCC, stderr, text};

fn licwatch(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_licwatch"));
    command
        .env("LICWATCH_DB", db)
        .env_remove("LICWATCH_CONFIG")
        .env_remove("LICWATCH_BUSY_TIMEOUT_MS")
        .env_remove("RUST_LOG")
        .env("USER", "faults")
        .stdin(Stdio::null());
    command
}

/// A failure a person can act on: exit 1, a `licwatch:` line, no panic.
#[track_caller]
fn assert_clear_failure(out: &Output, mentions: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let line = err
        .lines()
        .find(|line| line.starts_with("licwatch: "))
        .unwrap_or_else(|| panic!("no licwatch: line in {err}"))
        .to_owned();
    for word in mentions {
        assert!(line.contains(word), "{line:?} lacks {word:?}");
    }
    line
}

/// A line on the terminal: the figures quoted in docs/proof.md.
fn say(line: &str) {
    crate::support::say(&format!("faults: {line}"));
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

/// A small tmpfs, mounted for the test and unmounted after; `None` where
/// the machine does not allow mounting (not root, no CAP_SYS_ADMIN).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let path = dir.join("mnt");
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { path })
    }

    fn remount(&self, option: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a child process of another test, forked while a file here
        // was open, may hold it for a moment; the mount goes when it lets go.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .stderr(Stdio::null())
            .status();
    }
}

/// Fills the file system holding `dir` up to `leave` bytes of free space,
/// with files that can be removed one by one.
fn fill(dir: &Path, leave: usize) -> Vec<PathBuf> {
    use std::io::Write as _;
    let chunk = vec![0u8; 16 * 1024];
    let mut files = Vec::new();
    // Small files, so that space is given back in small steps. Bounded by
    // the file system's size.
    for i in 0..100_000 {
        let path = dir.join(format!("filler-{i}"));
        let written = std::fs::File::create(&path)
            .and_then(|mut file| file.write_all(&chunk).and_then(|()| file.sync_all()));
        files.push(path);
        if written.is_err() {
            break;
        }
    }
    let mut freed = 0;
    while freed < leave {
        let path = files.pop().expect("the filler freed enough");
        freed += std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
        std::fs::remove_file(path).unwrap();
    }
    files
}

/// A register whose every licence owes last year's annual report: many
/// alerts, so the daemon's tick writes many outbox rows.
fn register(db: &Path, licences: usize) {
    use licwatch::domain::licence::ItemCode;
    use licwatch::store::{NewLicence, Stamp, Store};
    let mut store = Store::open(db).unwrap();
    let stamp = Stamp::cli("faults".into(), chrono::Utc::now());
    let uscc = USCC.parse().unwrap();
    store
        .add_company(&stamp, &uscc, "示例呼叫中心", &[])
        .unwrap();
    for i in 0..licences {
        let number: licwatch::domain::licence::LicenceNo =
            format!("B2-2022{i:04}").parse().unwrap();
        store
            .add_licence(
                &stamp,
                &NewLicence {
                    number,
                    holder: uscc.clone(),
                    items: ItemCode::parse_list("B24").unwrap(),
                    issued: chrono::NaiveDate::from_ymd_opt(2022, 3, 1).unwrap(),
                    expires: chrono::NaiveDate::from_ymd_opt(2027, 2, 28).unwrap(),
                    authority: "工业和信息化部".into(),
                },
            )
            .unwrap();
    }
}

fn mail_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    // A 2027 calendar, so that the daemon has no holiday notice to send.
    std::fs::write(
        dir.join("2027.toml"),
        "[[day]]\ndate = \"2027-01-01\"\nname = \"元旦\"\noff = true\n",
    )
    .unwrap();
    std::fs::write(
        &path,
        format!(
            "[calendar]\nholiday_files = [\"2027.toml\"]\n[delivery]\nretry_first_seconds = 1\nretry_max_seconds = 2\n\
             [routes.ops-mail]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             from = \"licwatch <licwatch@example.com>\"\nto = [\"compliance@example.com\"]\nlang = \"en\"\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn disk_full_while_the_daemon_writes_is_a_clear_error_and_delivery_resumes() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let dir = tempfile::tempdir().unwrap();
    // A directory outside the tmpfs for the config, which need not fill up.
    let config = mail_config(dir.path(), smtp.addr.port());
    let Some(tmpfs) = Tmpfs::mount(dir.path(), "16m") else {
        // Not root: the test below covers the same fault.
        return;
    };
    let db = tmpfs.path.join("licwatch.db");
    register(&db, 400);
    let before = std::fs::read_dir(&tmpfs.path).unwrap().count();
    assert!(before >= 1);
    let fillers = fill(&tmpfs.path, 48 * 1024);

    let out = licwatch(&db)
        .env("LICWATCH_CONFIG", &config)
        .args(["--today", "2026-11-24", "serve", "--once"])
        .output()
        .unwrap();
    let line = assert_clear_failure(&out, &[]);
    assert_eq!(
        line,
        "licwatch: planning the tick: database: database or disk is full"
    );
    say(&format!("disk full: {line}"));
    assert!(smtp.received().is_empty(), "nothing was sent");
    // The file is intact even while the disk is full.
    assert_eq!(integrity(&db), "ok");

    for filler in fillers {
        std::fs::remove_file(filler).unwrap();
    }
    let out = licwatch(&db)
        .env("LICWATCH_CONFIG", &config)
        .args(["--today", "2026-11-24", "serve", "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let received = smtp.received();
    assert_eq!(received.len(), 1, "delivery resumes with one digest");
    assert!(
        text(&received[0]).starts_with("licwatch compliance reminder: 1200 items due"),
        "{}",
        text(&received[0])
    );
    assert_eq!(integrity(&db), "ok");
}

/// The same fault where mounting is not allowed: RLIMIT_FSIZE, with
/// SIGXFSZ ignored, makes a write past the limit fail with EFBIG.
#[test]
fn a_file_size_limit_while_the_daemon_writes_is_a_clear_error_and_delivery_resumes() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(dir.path(), smtp.addr.port());
    let db = dir.path().join("licwatch.db");
    register(&db, 400);
    let limited = |limit: u64| {
        Command::new("sh")
            .args([
                "-c",
                "trap '' XFSZ; exec prlimit --fsize=$0 -- \"$@\"",
                &limit.to_string(),
                env!("CARGO_BIN_EXE_licwatch"),
                "--today",
                "2026-11-24",
                "serve",
                "--once",
            ])
            .env("LICWATCH_DB", &db)
            .env("LICWATCH_CONFIG", &config)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    // Room for the shared-memory index (32 KiB), not for the tick's writes.
    let out = limited(64 * 1024);
    let line = assert_clear_failure(&out, &[]);
    say(&format!("file size limit: {line}"));
    assert!(smtp.received().is_empty());
    assert_eq!(integrity(&db), "ok");
    let out = limited(1 << 30);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(smtp.received().len(), 1, "delivery resumes");
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn a_read_only_database_is_a_clear_error() {
    let r = Register::new();
    r.seed();
    let dir = tempfile::tempdir().unwrap();
    // Root writes through file modes, so where mounting works the file sits
    // on a tmpfs remounted read-only; elsewhere the mode does it.
    let (db, _tmpfs) = match Tmpfs::mount(dir.path(), "4m") {
        Some(tmpfs) => {
            let db = tmpfs.path.join("licwatch.db");
            std::fs::copy(r.db(), &db).unwrap();
            tmpfs.remount("ro");
            (db, Some(tmpfs))
        }
        None => {
            let db = dir.path().join("licwatch.db");
            std::fs::copy(r.db(), &db).unwrap();
            let mut mode = std::fs::metadata(&db).unwrap().permissions();
            mode.set_readonly(true);
            std::fs::set_permissions(&db, mode).unwrap();
            (db, None)
        }
    };
    let add = licwatch(&db)
        .args([
            "report",
            "file",
            "京B2-20221234",
            "--year",
            "2024",
            "--on",
            "2025-03-01",
        ])
        .output()
        .unwrap();
    let line = assert_clear_failure(&add, &[&db.display().to_string()]);
    assert!(
        line.contains("Read-only file system") || line.contains("Permission denied"),
        "{line}"
    );
    say(&format!("read-only, report file: {line}"));
    let serve = licwatch(&db)
        .args(["--today", "2026-11-24", "serve", "--once"])
        .output()
        .unwrap();
    let line = assert_clear_failure(&serve, &[]);
    say(&format!("read-only, serve --once: {line}"));
    let agenda = licwatch(&db)
        .args(["--today", "2026-11-24", "agenda"])
        .output()
        .unwrap();
    assert!(!stderr(&agenda).contains("panicked"), "{}", stderr(&agenda));
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-dir").join("licwatch.db");
    for args in [
        &["company", "add", "--uscc", USCC, "--name", "示例"][..],
        &["--today", "2026-11-24", "agenda"],
        &["--today", "2026-11-24", "serve", "--once"],
    ] {
        let out = licwatch(&db).args(args).output().unwrap();
        let line = assert_clear_failure(&out, &["no-such-dir"]);
        // A command that only reads says there is no register there; one
        // that writes says why it cannot create it.
        let said = line.matches("No such file or directory").count()
            + line.matches("no register at").count();
        assert_eq!(said, 1, "{line}");
        say(&format!("missing directory: {line}"));
    }
    assert!(!db.parent().unwrap().exists(), "nothing was created");
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_a_clear_error_then_writes_go_through() {
    let r = Register::new();
    r.seed();
    let holder = rusqlite::Connection::open(r.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let out = licwatch(&r.db())
        .env("LICWATCH_BUSY_TIMEOUT_MS", "300")
        .args([
            "report",
            "file",
            "京B2-20221234",
            "--year",
            "2024",
            "--on",
            "2025-03-01",
        ])
        .output()
        .unwrap();
    let line = assert_clear_failure(&out, &["is locked"]);
    assert!(line.contains(&r.db().display().to_string()), "{line}");
    say(&format!("locked: {line}"));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited first"
    );
    let serve = licwatch(&r.db())
        .env("LICWATCH_BUSY_TIMEOUT_MS", "300")
        .args(["--today", "2026-11-24", "serve", "--once"])
        .output()
        .unwrap();
    assert_clear_failure(&serve, &["is locked"]);

    // A lock shorter than the timeout is waited out: no error at all.
    let released = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.execute_batch("COMMIT").unwrap();
    });
    let out = licwatch(&r.db())
        .env("LICWATCH_BUSY_TIMEOUT_MS", "5000")
        .args([
            "report",
            "file",
            "京B2-20221234",
            "--year",
            "2024",
            "--on",
            "2025-03-01",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    released.join().unwrap();
    assert_eq!(integrity(&r.db()), "ok");
}

/// LICWATCH_FAULT_WRITES overrides the count (CI runs the full 10,000,
/// under LICWATCH_SLOW_TESTS=1).
fn writes() -> usize {
    std::env::var("LICWATCH_FAULT_WRITES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn ten_thousand_cli_writes_from_4_processes_while_the_daemon_ticks_lose_nothing() {
    if !crate::support::slow(
        "faults::ten_thousand_cli_writes_from_4_processes_while_the_daemon_ticks_lose_nothing",
    ) {
        return;
    }
    const WRITERS: usize = 4;
    let total = writes();
    let r = Register::new();
    r.seed();
    let db = r.db();
    let lock_errors = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    // The daemon ticks one simulated day after another meanwhile: each tick
    // reads the growing register and writes the outbox.
    let daemon = {
        let (db, done, lock_errors, failures) = (
            db.clone(),
            done.clone(),
            lock_errors.clone(),
            failures.clone(),
        );
        std::thread::spawn(move || {
            let mut ticks = 0;
            let mut day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
            while !done.load(Ordering::SeqCst) || ticks == 0 {
                let out = licwatch(&db)
                    .args(["--today", &day.to_string(), "serve", "--once"])
                    .output()
                    .unwrap();
                if !out.status.success() {
                    let err = stderr(&out);
                    if err.contains("locked") || err.contains("busy") {
                        lock_errors.fetch_add(1, Ordering::SeqCst);
                    }
                    failures.lock().unwrap().push(err);
                }
                ticks += 1;
                day = day.succ_opt().unwrap();
            }
            ticks
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (db, lock_errors, failures) = (db.clone(), lock_errors.clone(), failures.clone());
            std::thread::spawn(move || {
                for i in (writer..total).step_by(WRITERS) {
                    let kind = ["name", "address", "legal-rep", "shareholding", "capital"][i % 5];
                    let on = format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
                    // The register refuses marks dated after today: write
                    // each as of the day it is dated.
                    let out = licwatch(&db)
                        .args([
                            "--today",
                            &on,
                            "change",
                            "record",
                            "京B2-20221234",
                            "--kind",
                            kind,
                            "--on",
                            &on,
                        ])
                        .output()
                        .unwrap();
                    if !out.status.success() {
                        let err = stderr(&out);
                        if err.contains("locked") || err.contains("busy") {
                            lock_errors.fetch_add(1, Ordering::SeqCst);
                        }
                        failures.lock().unwrap().push(err);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let ticks = daemon.join().unwrap();
    let took = started.elapsed();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| -> usize {
        conn.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap() as usize
    };
    let changes = count("SELECT count(*) FROM company_change");
    let history = count("SELECT count(*) FROM history WHERE action = 'change record'");
    let outbox = count("SELECT count(*) FROM outbox");
    let failures = failures.lock().unwrap();
    say(&format!(
        "{total} CLI writes from {WRITERS} processes while the daemon ticked {ticks} times, in {:.1} s: {changes} changes stored, {} lost, {} user-visible lock errors, {} other failures; {outbox} outbox rows",
        took.as_secs_f64(),
        total - changes.min(total),
        lock_errors.load(Ordering::SeqCst),
        failures.len()
    ));
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(lock_errors.load(Ordering::SeqCst), 0);
    assert_eq!(changes, total, "no write was lost");
    assert_eq!(history, total, "every write has its history row");
    assert!(ticks > 1, "the daemon ticked while the writers wrote");
    assert_eq!(integrity(&db), "ok");
}

/// Issue 13: with `synchronous=NORMAL`, `company add` and `renewal submit`
/// made no fsync at all while `serve` ran, so a power cut could roll back
/// what the command reported as done. Counted with strace while this test
/// holds a connection open as the daemon does (without one, the last
/// connection's checkpoint at close syncs anyway), after one untraced
/// write (the first write to a new log syncs its header whatever the
/// setting). Under NORMAL this counts 0; where strace cannot trace, the
/// pragma is checked by the store's unit test instead.
#[test]
fn a_cli_write_is_synced_before_the_command_returns() {
    let r = Register::new();
    r.seed();
    let daemon = rusqlite::Connection::open(r.db()).unwrap();
    let _: i64 = daemon
        .query_row("SELECT count(*) FROM company", [], |row| row.get(0))
        .unwrap();
    let out = licwatch(&r.db())
        .args([
            "company",
            "add",
            "--uscc",
            "91110000600037341L",
            "--name",
            "丙",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let trace = r.dir().join("strace.txt");
    let traced = Command::new("strace")
        .args(["-f", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_licwatch"))
        .args([
            "company",
            "add",
            "--uscc",
            "91310000MA1K3QW4RB",
            "--name",
            "上海示例",
        ])
        .env("LICWATCH_DB", r.db())
        .env_remove("LICWATCH_CONFIG")
        .env("USER", "faults")
        .output();
    let Ok(out) = traced else {
        say("fsync count: strace is not installed; skipped");
        return;
    };
    if !out.status.success() && !trace.exists() {
        say(&format!(
            "fsync count: strace cannot trace here: {}",
            stderr(&out)
        ));
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    let syncs = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|line| line.contains("fsync(") || line.contains("fdatasync("))
        .count();
    say(&format!(
        "fsync count: `company add` on an existing register: {syncs}"
    ));
    assert!(
        syncs >= 1,
        "no fsync: the write may not survive a power cut"
    );
    drop(daemon);
}
