//! `licwatch status`: what the daemon recorded in the register, read by
//! another process, before the first tick, after a good one, after a failed
//! delivery and across a restart.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::Stdio;

use expect_test::expect;
use serde_json::Value;

use crate::support::{Register, Smtp, free_port, serve, serve_once, setup};

fn status(r: &Register) -> Value {
    let out = serve(r, &["--format", "json", "status"]).output().unwrap();
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every key path of a JSON value, arrays by their first element: the
/// shape scripts rely on.
fn shape(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let path = format!("{prefix}.{key}");
                out.push(path.clone());
                shape(value, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                shape(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn before_the_first_tick_status_says_never_and_the_schedules_next_tick() {
    let r = setup(free_port(), "");
    let s = status(&r);
    assert_eq!(s["last_tick"], Value::Null);
    assert_eq!(s["daemon"]["started_at"], Value::Null);
    assert_eq!(s["routes"], serde_json::json!([]));
    assert_eq!(s["oldest_pending"], Value::Null);
    assert_eq!(
        s["config"],
        r.dir().join("config.toml").display().to_string()
    );
    assert_eq!(s["register"]["path"], r.db().display().to_string());
    assert_eq!(s["register"]["schema_version"], 6);
    // 09:30 in Shanghai, with its offset.
    let next = s["next_tick"].as_str().unwrap();
    assert!(next.ends_with("T09:30:00+08:00"), "{next}");
    // The test's config adds a 2027 file.
    assert_eq!(s["holidays"]["first_missing_year"], 2028);
    let table = String::from_utf8(serve(&r, &["status"]).output().unwrap().stdout).unwrap();
    assert!(
        table.contains("last tick       never (the daemon has not ticked on this register)"),
        "{table}"
    );
}

#[test]
fn after_a_good_tick_status_shows_what_it_planned_and_sent_today() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    serve_once(&r, "2026-11-24");
    let s = status(&r);
    let tick = &s["last_tick"];
    assert_eq!(tick["today"], "2026-11-24");
    assert_eq!(tick["error"], Value::Null);
    assert_eq!(tick["alerts"], 2, "{s:#}");
    assert_eq!(tick["queued"], 2, "{s:#}");
    assert_eq!(s["last_ok_tick_at"], tick["at"]);
    assert_eq!(
        s["routes"],
        serde_json::json!([{"route": "ops-mail", "pending": 0, "failed": 0, "sent_today": 2, "last_error": null}])
    );
    let mut keys = Vec::new();
    shape(&s, "", &mut keys);
    expect![[r#"
        .config
        .daemon
        .daemon.config
        .daemon.routes
        .daemon.started_at
        .holidays
        .holidays.first_missing_year
        .holidays.years
        .last_ok_tick_at
        .last_tick
        .last_tick.alerts
        .last_tick.at
        .last_tick.duration_ms
        .last_tick.error
        .last_tick.open
        .last_tick.queued
        .last_tick.today
        .next_tick
        .oldest_pending
        .register
        .register.bytes
        .register.last_backup
        .register.path
        .register.schema_version
        .register.wal_bytes
        .routes
        .routes[].failed
        .routes[].last_error
        .routes[].pending
        .routes[].route
        .routes[].sent_today
    "#]]
    .assert_eq(&(keys.join("\n") + "\n"));

    // A backup is noted in the register it was made from.
    let backup = r.dir().join("copy.db");
    r.ok(&["db", "backup", backup.to_str().unwrap()]);
    let s = status(&r);
    assert_eq!(
        s["register"]["last_backup"]["path"],
        backup.display().to_string()
    );
    assert!(s["register"]["last_backup"]["bytes"].as_i64().unwrap() > 0);
}

#[test]
fn after_a_failed_delivery_status_names_the_route_its_error_and_the_oldest_row() {
    let r = setup(free_port(), "");
    serve_once(&r, "2026-11-24");
    let s = status(&r);
    assert_eq!(s["last_tick"]["error"], Value::Null, "{s:#}");
    let route = &s["routes"][0];
    assert_eq!(route["route"], "ops-mail");
    assert_eq!(route["pending"], 2);
    assert_eq!(route["sent_today"], 0);
    let error = route["last_error"].as_str().unwrap();
    assert!(error.contains("127.0.0.1"), "{error}");
    let oldest = &s["oldest_pending"];
    assert_eq!(oldest["route"], "ops-mail");
    assert_eq!(oldest["attempts"], 1);
    let table = String::from_utf8(serve(&r, &["status"]).output().unwrap().stdout).unwrap();
    assert!(table.contains(error), "{table}");
}

#[test]
fn after_a_restart_status_still_knows_the_last_tick_and_the_new_start() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    // Runs `serve` until it logs its tick's summary, which comes after the
    // tick is recorded, then kills it and reads the status.
    let run_until_ticked = || -> Value {
        let mut daemon = serve(&r, &["serve"])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = BufReader::new(daemon.stderr.take().unwrap());
        let ticked = log
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains(" tick ") && line.contains("alerts="));
        assert!(ticked, "the daemon ended before its first tick");
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        status(&r)
    };
    let first = run_until_ticked();
    assert!(first["last_tick"]["at"].is_string(), "{first:#}");
    assert_eq!(first["daemon"]["routes"], serde_json::json!(["ops-mail"]));
    assert_eq!(
        first["daemon"]["config"],
        r.dir().join("config.toml").display().to_string()
    );
    // Killed: a new process reads the same record.
    let after_kill = status(&r);
    assert_eq!(after_kill["last_tick"], first["last_tick"]);
    assert_eq!(after_kill["daemon"], first["daemon"]);
    // Timestamps have a resolution of a second: move the first run's into
    // the past, so that the second run's are told apart without waiting.
    rusqlite::Connection::open(r.db())
        .unwrap()
        .execute(
            "UPDATE service_status SET started_at = '2026-01-01T00:00:00Z', tick_at = '2026-01-01T00:00:00Z'",
            [],
        )
        .unwrap();
    let backdated = status(&r);
    let second = run_until_ticked();
    assert_ne!(
        second["daemon"]["started_at"],
        backdated["daemon"]["started_at"]
    );
    assert_ne!(second["last_tick"]["at"], backdated["last_tick"]["at"]);
    assert_eq!(second["last_tick"]["error"], Value::Null);
    // The daemon's own next tick: 09:30 Shanghai time.
    let next = second["next_tick"].as_str().unwrap();
    assert!(next.ends_with("T09:30:00+08:00"), "{next}");
    // A shell reading another config is told so.
    let other = r.dir().join("other.toml");
    std::fs::write(&other, "").unwrap();
    let out = r
        .command(&["status"])
        .env("LICWATCH_CONFIG", &other)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains(&format!(
            "the daemon read {}, this command {}: they may plan differently",
            r.dir().join("config.toml").display(),
            other.display()
        )),
        "{table}"
    );
}

#[test]
fn the_cli_reads_the_system_config_unless_another_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("licwatch.toml");
    let named = dir.path().join("other.toml");
    let resolve = licwatch::cli::config_path;
    assert_eq!(resolve(None, &system), None, "no file: embedded defaults");
    std::fs::write(&system, "").unwrap();
    assert_eq!(resolve(None, &system), Some(system.clone()));
    assert_eq!(resolve(Some(named.clone()), &system), Some(named));
}

#[test]
fn the_configs_store_path_names_the_register_unless_db_is_given() {
    let r = Register::new();
    std::fs::create_dir(r.dir().join("etc")).unwrap();
    let config = r.dir().join("etc/licwatch.toml");
    std::fs::write(&config, "[store]\npath = \"../service.db\"\n").unwrap();
    let check = |db: Option<&str>| {
        let mut command = r.command(&["config", "check"]);
        command
            .env("LICWATCH_CONFIG", &config)
            .env_remove("LICWATCH_DB");
        if let Some(db) = db {
            command.env("LICWATCH_DB", db);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = check(None);
    assert!(
        text.contains(&format!("config {}: ok", config.display()))
            && text.contains(&format!(
                "register: {}",
                r.dir().join("etc/../service.db").display()
            )),
        "{text}"
    );
    assert!(check(Some("/srv/x.db")).contains("register: /srv/x.db"));
}

#[test]
fn serve_logs_its_start_in_one_line_per_record_stamped_in_the_schedules_zone() {
    use std::io::{BufRead, BufReader};
    let r = setup(free_port(), "");
    let config = r.dir().join("log.toml");
    std::fs::write(
        &config,
        "[calendar]\nholiday_files = [\"2027.toml\"]\n[routes.journal]\nkind = \"log\"\n",
    )
    .unwrap();
    let mut daemon = r
        .command(&["serve"])
        .env("LICWATCH_CONFIG", &config)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(daemon.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("route=journal");
        lines.push(line);
        if done {
            break;
        }
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let start = lines
        .iter()
        .find(|line| line.contains("licwatch serve started"))
        .unwrap_or_else(|| panic!("no start-up line in {lines:#?}"));
    for field in [
        format!("register={}", r.db().display()),
        format!("config={}", config.display()),
        "routes=journal".to_owned(),
        "next_tick=".to_owned(),
    ] {
        assert!(start.contains(&field), "{field} not in {start}");
    }
    assert!(start.contains("T09:30:00+08:00"), "{start}");
    // Each record starts with its time, with Shanghai's offset.
    for line in &lines {
        assert_eq!(line.get(23..29), Some("+08:00"), "{line}");
    }
    // The digest, with its many lines, is one record.
    let digest = lines.last().unwrap();
    assert!(
        digest.contains("licwatch 合规提醒") && digest.contains("\\n"),
        "{digest}"
    );
}
