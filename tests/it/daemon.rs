//! `licwatch serve` as systemd runs it: real processes, a real SMTP server
//! (mailin-embedded) on 127.0.0.1, kills and signals.

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{
    LogWatch, Smtp, USCC, assert_every, backoff_over, free_port, message_id, outbox, serve,
    serve_once, setup, signal, text, until_the_next_retry, wait_exit,
};
#[test]
fn a_tick_mails_one_digest_and_the_same_day_again_sends_nothing() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    r.ok(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20201234",
        "--allocated",
        "2026-03-02",
    ]);
    serve_once(&r, "2026-11-24");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "one digest for the route");
    let body = text(&received[0]);
    assert!(body.starts_with("licwatch 合规提醒：共 3 项待办"), "{body}");
    assert!(
        body.contains("2024 年度年报") && body.contains("2025 年度年报") && body.contains("962345"),
        "{body}"
    );
    // Overdue reports of 2024 and 2025, the number's activation.
    let rows = outbox(&r);
    let kinds: Vec<&str> = rows
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["annual_report", "annual_report", "number_activation"]
    );
    assert_every(&rows, "sent to ops-mail with a message id", |row| {
        row["state"] == "sent" && row["route"] == "ops-mail" && row["message_id"].is_string()
    });

    serve_once(&r, "2026-11-24");
    assert_eq!(
        smtp.received().len(),
        1,
        "a second tick the same day sends nothing"
    );
    assert_eq!(outbox(&r).len(), 3);
    let explain = r.ok(&[
        "--today",
        "2026-11-24",
        "explain",
        "annual_report/京B2-20201234/2025",
    ]);
    assert!(
        explain.contains(" +238   2026-11-24  2026-11-24                 critical  sent"),
        "{explain}"
    );
    assert!(
        explain.contains(" +231   2026-11-17  2026-11-17                 critical  skipped"),
        "{explain}"
    );
}

#[test]
fn marking_done_between_ticks_stops_the_reminders() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2024",
        "--on",
        "2025-03-01",
    ]);
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2025",
        "--on",
        "2026-03-01",
    ]);
    r.ok(&[
        "licence",
        "update",
        "京B2-20201234",
        "--expires",
        "2027-06-30",
    ]);
    // Renewal due 2027-04-01: the −120 stage falls on 2026-12-02.
    serve_once(&r, "2026-12-02");
    assert_eq!(smtp.received().len(), 1);
    r.ok(&[
        "--today",
        "2026-12-03",
        "renewal",
        "submit",
        "京B2-20201234",
        "--on",
        "2026-12-03",
    ]);
    // The −90 stage (2027-01-01, moved to 2026-12-31) finds the renewal
    // done; only the 2026 annual report's first reminder goes out.
    serve_once(&r, "2026-12-31");
    let received = smtp.received();
    assert_eq!(received.len(), 2);
    let renewals = outbox(&r)
        .iter()
        .filter(|row| row["kind"] == "renewal")
        .count();
    assert_eq!(renewals, 1);
    let second = text(&received[1]);
    assert!(
        second.contains("2026 年度年报") && !second.contains("续期"),
        "{second}"
    );
}

#[test]
fn two_ticks_at_the_same_moment_send_one_alert_per_route() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let a = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let b = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(a.wait_with_output().unwrap().status.success());
    assert!(b.wait_with_output().unwrap().status.success());
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(outbox(&r).len(), 2);
}

#[test]
fn a_mail_server_down_then_up_gets_the_alerts_in_one_digest() {
    let port = free_port();
    let r = setup(port, "");
    serve_once(&r, "2026-11-24");
    let rows = outbox(&r);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["state"], "pending");
        assert_eq!(row["attempts"], 1);
        assert!(
            row["last_error"]
                .as_str()
                .unwrap()
                .contains("Connection refused"),
            "{row}"
        );
    }
    let smtp = Smtp::start(TcpListener::bind(("127.0.0.1", port)).unwrap(), true);
    // Time passes: the retry is due (rather than sleeping through the
    // backoff, a race on a loaded machine).
    backoff_over(&r);
    serve_once(&r, "2026-11-24");
    assert_eq!(smtp.received().len(), 1, "both alerts in one digest");
    let rows = outbox(&r);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_every(&rows, "sent at the second attempt", |row| {
        row["state"] == "sent" && row["attempts"] == 2
    });
}

#[test]
fn a_digest_refused_for_a_while_comes_back_whole_under_the_same_message_id() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    smtp.mailbox
        .refuse_data
        .store(3, std::sync::atomic::Ordering::SeqCst);
    let r = setup(smtp.addr.port(), "");
    // Three attempts refused, the fourth accepted; in between, time passes
    // up to the first retry due, as it would for a running daemon.
    for _ in 0..4 {
        serve_once(&r, "2026-11-24");
        until_the_next_retry(&r);
    }
    let attempts = smtp.mailbox.attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 4);
    let ids: Vec<String> = attempts.iter().map(|m| message_id(m)).collect();
    assert_every(&ids, "the first attempt's message id", |id| *id == ids[0]);
    for attempt in &attempts {
        let text = text(attempt);
        assert!(
            text.contains("2024 年度年报") && text.contains("2025 年度年报"),
            "{text}"
        );
    }
    let received = smtp.received();
    assert_eq!(received.len(), 1, "one message, not one per item");
    let rows = outbox(&r);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_every(&rows, "sent at the fourth attempt", |row| {
        row["state"] == "sent" && row["attempts"] == 4
    });
}

#[test]
fn killed_after_sending_before_recording_resends_with_the_same_message_id() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), false);
    let r = setup(smtp.addr.port(), "");
    let mut daemon = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    smtp.wait_at_gate();
    // The server has the whole message; the daemon waits for its reply.
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    smtp.open_gate();
    assert_every(&outbox(&r), "pending", |row| row["state"] == "pending");

    serve_once(&r, "2026-11-24");
    let received = smtp.received();
    assert_eq!(received.len(), 2, "the send-then-crash window resends once");
    assert_eq!(message_id(&received[0]), message_id(&received[1]));
    assert_every(&outbox(&r), "sent", |row| row["state"] == "sent");
}

#[test]
fn killed_before_sending_loses_nothing() {
    let port = free_port();
    let r = setup(port, "");
    // Planned, but the server is down: kill -9 the daemon between attempts.
    let mut daemon = serve(&r, &["serve"]).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while outbox(&r).iter().all(|row| row["attempts"] == 0) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no attempt was made"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let smtp = Smtp::start(TcpListener::bind(("127.0.0.1", port)).unwrap(), true);
    backoff_over(&r);
    let out = serve(&r, &["serve", "--once"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(smtp.received().len(), 1);
    assert_every(&outbox(&r), "sent", |row| row["state"] == "sent");
}

#[test]
fn sigterm_during_a_slow_send_finishes_it_and_exits_0() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), false);
    let r = setup(smtp.addr.port(), "");
    let mut daemon = serve(&r, &["serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = LogWatch::new(&mut daemon);
    smtp.wait_at_gate();
    signal(&daemon, "-TERM");
    // The server answers once the daemon is stopping; it records the
    // answer and stops.
    log.wait_for("stopping: finishing the send in flight", 1);
    smtp.open_gate();
    let (out, took) = wait_exit(daemon, Duration::from_secs(10));
    assert!(out.status.success(), "{}", log.text());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_every(&outbox(&r), "sent", |row| row["state"] == "sent");
}

#[test]
fn sigterm_during_a_send_to_a_server_that_never_answers_exits_leaving_the_alerts_pending() {
    // Accepts, says nothing; tells the test of each connection.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let (connected, connection) = std::sync::mpsc::channel();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    // A send timeout longer than the test: only the stop can end the send.
    let r = setup(port, "send_timeout_seconds = 600\n");
    let daemon = serve(&r, &["serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    connection.recv_timeout(Duration::from_secs(30)).unwrap();
    signal(&daemon, "-TERM");
    let (out, took) = wait_exit(daemon, Duration::from_secs(30));
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{log}");
    assert!(
        took < licwatch::daemon::deliver::STOP_GRACE + Duration::from_secs(3),
        "took {took:?}"
    );
    assert!(log.contains("did not finish within"), "{log}");
    let rows = outbox(&r);
    assert_every(&rows, "pending", |row| row["state"] == "pending");
    let id = rows[0]["message_id"].as_str().unwrap().to_owned();
    assert_every(&rows, "under one message id", |row| {
        row["message_id"] == id.as_str()
    });

    // The next start sends the message under the id chosen before the stop.
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let config = r.dir().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            &format!("port = {port}"),
            &format!("port = {}", smtp.addr.port()),
        ),
    )
    .unwrap();
    let out = serve(&r, &["serve", "--once"]).output().unwrap();
    assert!(out.status.success());
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert!(message_id(&received[0]).contains(&id), "{id}");
}

#[test]
fn an_unreadable_register_row_is_set_aside_and_the_tick_goes_on() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    r.ok(&[
        "licence",
        "add",
        "--number",
        "京B2-20205678",
        "--holder",
        USCC,
        "--items",
        "B24",
        "--issued",
        "2020-03-01",
        "--expires",
        "2025-02-28",
    ]);
    // Edited by hand: a licence number no parser accepts.
    let db = rusqlite::Connection::open(r.db()).unwrap();
    let bad: i64 = db
        .query_row(
            "UPDATE licence SET number = 'not a licence' WHERE number = '京B2-20205678' RETURNING id",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let out = serve_once(&r, "2026-11-24");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!(
            "licence row #{bad} cannot be read and is set aside"
        )),
        "{log}"
    );
    let received = smtp.received();
    // The good licence's digest, and one notice naming the bad row.
    assert_eq!(received.len(), 2, "{log}");
    let all = text_of_all(&received);
    assert!(all.contains("京B2-20201234"), "{all}");
    assert!(all.contains(&format!("licence #{bad}")), "{all}");
    // The next tick reports the same row no more.
    serve_once(&r, "2026-11-25");
    assert_eq!(smtp.received().len(), 2);
}

#[test]
fn sighup_reloads_a_good_config_and_keeps_the_old_one_on_a_bad_one() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let mut daemon = serve(&r, &["serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = LogWatch::new(&mut daemon);
    log.wait_for(" sent ", 1);
    let config = r.dir().join("config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{good}\n[schedule]\ncron = \"not a cron\"\n"),
    )
    .unwrap();
    signal(&daemon, "-HUP");
    log.wait_for("new configuration refused, the old one stays in force", 1);
    std::fs::write(
        &config,
        format!("{good}\n[schedule]\ncron = \"0 8 * * *\"\n"),
    )
    .unwrap();
    signal(&daemon, "-HUP");
    log.wait_for("configuration reloaded", 1);
    signal(&daemon, "-TERM");
    let (out, _) = wait_exit(daemon, Duration::from_secs(10));
    assert!(out.status.success());
    let log = log.text();
    assert!(log.contains("schedule.cron = \"not a cron\""), "{log}");
}

#[test]
fn a_missing_holiday_calendar_is_said_once_in_the_log_and_once_by_route() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let config = r.dir().join("config.toml");
    let without_2027 = std::fs::read_to_string(&config)
        .unwrap()
        .replace("holiday_files = [\"2027.toml\"]", "holiday_files = []");
    std::fs::write(&config, without_2027).unwrap();
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2024",
        "--on",
        "2025-03-01",
    ]);
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2025",
        "--on",
        "2026-03-01",
    ]);
    let out = serve_once(&r, "2026-10-01");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no holiday calendar for 2027"));
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert!(
        text(&received[0]).starts_with("licwatch：缺少 2027 年的节假日安排"),
        "{}",
        received[0]
    );
    serve_once(&r, "2026-10-02");
    assert_eq!(smtp.received().len(), 1, "the notice goes out once");
}

#[test]
fn tells_systemd_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let socket_path = r.dir().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let daemon = serve(&r, &["serve"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !(seen.contains("READY=1")
        && seen.contains("WATCHDOG=1")
        && seen.contains("STATUS=next tick"))
    {
        let n = socket
            .recv(&mut buf)
            .expect("the daemon kept talking to systemd");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.push('\n');
    }
    assert!(seen.contains("alerts pending"), "{seen}");
    // Pings keep coming at half the watchdog interval.
    let n = socket.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1"));
    signal(&daemon, "-TERM");
    let (out, _) = wait_exit(daemon, Duration::from_secs(10));
    assert!(out.status.success());
    let mut last = String::new();
    while let Ok(n) = socket.recv(&mut buf) {
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
        if last.contains("STOPPING=1") {
            break;
        }
    }
    assert!(last.contains("STOPPING=1"), "{last}");
}

fn envelope_to(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix("X-Envelope-To: "))
        .unwrap_or_default()
        .to_owned()
}

const CLIENT_ROUTE: &str = "[routes.client-mail]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = PORT\ntls = \"none\"\n\
    from = \"licwatch <licwatch@example.com>\"\nto = [\"client@example.net\"]\n";

#[test]
fn company_routes_and_contacts_each_get_their_own_digest() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let port = smtp.addr.port();
    let r = setup(
        port,
        "[routing]\ndefault_routes = [\"ops-mail\"]\ncontacts_via = \"ops-mail\"\n",
    );
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&CLIENT_ROUTE.replace("PORT", &port.to_string()));
    std::fs::write(&config, text).unwrap();
    let update = serve(&r, &["company", "update", USCC, "--route", "client-mail"])
        .output()
        .unwrap();
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );

    serve_once(&r, "2026-11-24");
    let mut to: Vec<String> = smtp.received().iter().map(|m| envelope_to(m)).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "client@example.net",
            "compliance@example.com",
            "ops@example.cn"
        ]
    );
    let mut routes: Vec<String> = outbox(&r)
        .iter()
        .map(|row| row["route"].as_str().unwrap().to_owned())
        .collect();
    routes.sort();
    routes.dedup();
    assert_eq!(
        routes,
        [
            "client-mail",
            format!("contacts:{USCC}").as_str(),
            "ops-mail"
        ]
    );
}

#[test]
fn a_permanent_failure_is_marked_failed_and_reported_through_the_fallback() {
    let smtp = Smtp::start_refusing(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        true,
        Some("client@example.net"),
    );
    let port = smtp.addr.port();
    let r = setup(
        port,
        "[routing]\ndefault_routes = [\"client-mail\"]\nfallback = \"ops-mail\"\n",
    );
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&CLIENT_ROUTE.replace("PORT", &port.to_string()));
    std::fs::write(&config, text).unwrap();

    let out = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("permanent failure") && log.contains("code=\"550\""),
        "{log}"
    );
    // The exit code tells a cron job; the last line says what failed.
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("licwatch: 2 alert(s) or notice(s) could not be delivered"),
        "{log}"
    );
    let rows = outbox(&r);
    let failed: Vec<_> = rows.iter().filter(|row| row["state"] == "failed").collect();
    assert_eq!(failed.len(), 2);
    let named = format!(
        "outbox rows #{}, #{} (see",
        failed[0]["id"], failed[1]["id"]
    );
    assert!(log.contains(&named), "{named} in {log}");
    assert_every(&failed, "failed with the 550", |row| {
        row["last_error"].as_str().unwrap().contains("550")
    });
    let notices: Vec<_> = rows
        .iter()
        .filter(|row| row["route"] == "ops-mail")
        .collect();
    // One notice for the failed message, naming both of its items.
    assert_eq!(notices.len(), 1);
    assert_every(&notices, "a sent notice", |row| {
        row["state"] == "sent" && row["kind"] == "notice"
    });
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let notice = text_of_all(&received);
    assert!(notice.contains("licwatch outbox retry"), "{notice}");
    for row in &failed {
        let item = format!("#{} {}", row["id"], row["obligation"].as_str().unwrap());
        assert!(notice.contains(&item), "{item} in {notice}");
    }

    // A person fixes the route and retries: it goes to the queue again.
    let id = failed[0]["id"].as_i64().unwrap().to_string();
    let retried = r.ok(&["outbox", "retry", &id]);
    assert!(retried.contains("is pending again"), "{retried}");
    let again = r.run(&["outbox", "retry", &id]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("only a failed row can be retried"));
}

fn text_of_all(messages: &[String]) -> String {
    messages
        .iter()
        .map(|m| text(m))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_weekly_all_clear_tells_a_quiet_channel_from_a_dead_one() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(
        smtp.addr.port(),
        "[routing]\nall_clear_routes = [\"ops-mail\"]\nall_clear_weekday = \"mon\"\n",
    );
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2024",
        "--on",
        "2025-03-01",
    ]);
    r.ok(&[
        "report",
        "file",
        "京B2-20201234",
        "--year",
        "2025",
        "--on",
        "2026-03-01",
    ]);
    // Tuesday: nothing. Monday: the all-clear with the next deadline.
    serve_once(&r, "2026-06-02");
    assert!(smtp.received().is_empty());
    serve_once(&r, "2026-06-08");
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let body = text(&received[0]);
    assert!(
        body.starts_with(
            "licwatch：未来 30 天没有到期事项。下一个截止日：2027-03-31，京B2-20201234 的年报"
        ),
        "{body}"
    );
    serve_once(&r, "2026-06-08");
    assert_eq!(smtp.received().len(), 1);
}

#[test]
fn a_client_route_hears_only_of_its_own_client_when_no_default_is_set() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let port = smtp.addr.port();
    let r = setup(port, "");
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&CLIENT_ROUTE.replace("PORT", &port.to_string()));
    std::fs::write(&config, text).unwrap();
    // A second client, with its own route, and nothing due.
    r.ok(&[
        "company",
        "add",
        "--uscc",
        "91110000600037341L",
        "--name",
        "另一家公司",
    ]);
    let update = serve(
        &r,
        &[
            "company",
            "update",
            "91110000600037341L",
            "--route",
            "client-mail",
        ],
    )
    .output()
    .unwrap();
    assert!(
        update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stderr)
    );
    serve_once(&r, "2026-11-24");
    let to: Vec<String> = smtp.received().iter().map(|m| envelope_to(m)).collect();
    assert_eq!(to, ["compliance@example.com"]);
}

/// Issue 12: a robot digest of 60 items that fails for good gives the
/// fallback route one notice, not 60.
#[test]
fn a_failed_digest_of_60_items_gives_the_fallback_one_notice() {
    failed_digest_gives_one_notice("fallback = \"ops-wecom\"\n");
}

/// Issue 19: without a fallback route, the operator routes hear of it (not
/// the route that failed).
#[test]
fn without_a_fallback_the_operator_routes_hear_of_a_failed_digest() {
    failed_digest_gives_one_notice("operator = [\"ops-ding\", \"ops-wecom\"]\n");
}

/// A DingTalk digest of 60 items refused for good; `told` names the routes
/// that hear of it, which are WeCom's (DingTalk's own route is left out).
fn failed_digest_gives_one_notice(told: &str) {
    use crate::notify::robots;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    // The DingTalk robot knows another token: 300005, permanent.
    let ding = runtime.block_on(robots::dingtalk(now, "the-robots-own-token", None, None));
    let wecom = runtime.block_on(robots::wecom(now, "fallback-key"));
    let r = setup(free_port(), "");
    for i in 0..29 {
        let number = format!("京B2-2020{:04}", 5000 + i);
        r.ok(&[
            "licence",
            "add",
            "--number",
            &number,
            "--holder",
            USCC,
            "--items",
            "B24",
            "--issued",
            "2020-03-01",
            "--expires",
            "2025-02-28",
        ]);
    }
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "[delivery]\n",
        &format!("[routing]\ndefault_routes = [\"ops-ding\"]\n{told}[delivery]\n"),
    );
    text.push_str(
        "[routes.ops-ding]\nkind = \"dingtalk\"\nurl_env = \"DING_URL\"\n\
         [routes.ops-wecom]\nkind = \"wecom\"\nurl_env = \"WECOM_URL\"\nlang = \"en\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = serve(&r, &["--today", "2026-11-24", "serve", "--once"])
        .env(
            "DING_URL",
            format!(
                "http://{}/robot/send?access_token=a-removed-token",
                ding.addr
            ),
        )
        .env(
            "WECOM_URL",
            format!(
                "http://{}/cgi-bin/webhook/send?key=fallback-key",
                wecom.addr
            ),
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let rows = outbox(&r);
    let failed = rows.iter().filter(|row| row["state"] == "failed").count();
    assert!(failed >= 60, "{failed} failed: {log}");
    // The first part was refused, the others held back: one request.
    assert_eq!(ding.requests(), 1);
    let notices = wecom.accepted();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let notice = notices[0].to_string();
    assert!(
        notice.contains(&format!(
            "could not deliver a message of {failed} items to route ops-ding"
        )),
        "{notice}"
    );
    assert!(
        notice.contains(&format!("and {} more", failed - 10)),
        "{notice}"
    );
}

/// Issue 13: a mail server that accepts and never answers holds its route
/// for `send_timeout_seconds`, no longer; the rows wait for a retry and the
/// next route gets its alerts.
#[test]
fn a_hung_mail_server_times_out_and_the_next_route_goes_on() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let r = setup(port, "send_timeout_seconds = 1\n");
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[routes.zz-journal]\nkind = \"log\"\n");
    std::fs::write(&config, text).unwrap();
    let started = Instant::now();
    let out = serve_once(&r, "2026-11-24");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "{log}");
    let rows = outbox(&r);
    let state = |route: &str| -> Vec<String> {
        rows.iter()
            .filter(|row| row["route"] == route)
            .map(|row| row["state"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(state("ops-mail"), ["pending", "pending"], "{log}");
    assert_eq!(state("zz-journal"), ["sent", "sent"], "{log}");
    let hung: Vec<_> = rows
        .iter()
        .filter(|row| row["route"] == "ops-mail")
        .collect();
    assert_every(&hung, "timed out", |row| {
        row["last_error"]
            .as_str()
            .unwrap()
            .contains("no complete answer within 1 s")
    });
}

/// Issue 12: the daemon takes the time of day from its clock, so a test
/// runs it in-process under tokio's paused time and lets a week pass in a
/// moment: a catch-up tick at the start, then ticks at the scheduled 09:30
/// (Asia/Shanghai), every row stamped with the virtual time.
#[tokio::test(start_paused = true)]
async fn the_daemon_follows_its_clock_through_a_week_without_sleeping() {
    use std::sync::atomic::{AtomicBool, Ordering};

    use licwatch::daemon::clock::TokioClock;
    use licwatch::daemon::{Control, Settings};

    let r = setup(free_port(), "");
    let config_path = r.dir().join("config.toml");
    std::fs::write(
        &config_path,
        "[calendar]\nholiday_files = [\"2027.toml\"]\n[routes.journal]\nkind = \"log\"\n",
    )
    .unwrap();
    let config = licwatch::config::Config::load(&config_path).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let settings = Settings {
        db: r.db(),
        once: false,
        today: None,
        config_source: "embedded defaults".to_owned(),
        clock: Arc::new(TokioClock::starting_at(start)),
    };
    let (controls, receiver) = tokio::sync::mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let daemon = licwatch::daemon::run(settings, config, receiver, stop.clone());
    let week = async {
        tokio::time::sleep(Duration::from_secs(8 * 86_400)).await;
        stop.store(true, Ordering::SeqCst);
        controls.send(Control::Shutdown).unwrap();
    };
    let (result, ()) = tokio::join!(daemon, week);
    result.unwrap();

    let db = rusqlite::Connection::open(r.db()).unwrap();
    let rows: Vec<(String, String)> = db
        .prepare("SELECT state, created_at FROM outbox ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_every(&rows, "sent", |(state, _)| state == "sent");
    let created: Vec<&str> = rows.iter().map(|(_, at)| at.as_str()).collect();
    assert!(created.contains(&"2026-11-23T00:00:00Z"), "{created:?}");
    assert!(
        created
            .iter()
            .any(|at| *at > "2026-11-23T01:30:00Z" && at.ends_with("T01:30:00Z")),
        "a scheduled tick on a later day: {created:?}"
    );
}

/// Issue 19: a notice for whoever runs licwatch goes to `routing.operator`,
/// not to the default routes a client's group may be on.
#[test]
fn issue_19_operator_notices_go_to_the_operator_routes() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(
        smtp.addr.port(),
        "[routing]\ndefault_routes = [\"ops-mail\"]\noperator = [\"operator-log\"]\n[routes.operator-log]\nkind = \"log\"\nlang = \"en\"\n",
    );
    let config = r.dir().join("config.toml");
    let without_2027 = std::fs::read_to_string(&config)
        .unwrap()
        .replace("holiday_files = [\"2027.toml\"]", "holiday_files = []");
    std::fs::write(&config, without_2027).unwrap();
    for year in ["2024", "2025"] {
        let next = format!("{}-03-01", year.parse::<i32>().unwrap() + 1);
        r.ok(&[
            "report",
            "file",
            "京B2-20201234",
            "--year",
            year,
            "--on",
            &next,
        ]);
    }
    let out = serve_once(&r, "2026-10-01");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("no holiday calendar for 2027"), "{log}");
    assert_eq!(
        smtp.received().len(),
        0,
        "the client's mail route hears nothing"
    );
    let rows = outbox(&r);
    let notices: Vec<(&str, &str)> = rows
        .iter()
        .filter(|row| row["kind"] == "notice")
        .map(|row| {
            (
                row["route"].as_str().unwrap(),
                row["obligation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(notices, [("operator-log", "notice/holidays/2027")]);
}
