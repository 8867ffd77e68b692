//! The daemon's HTTP listener, spoken to over 127.0.0.1 as Prometheus and a
//! calendar app would: /metrics read by a Prometheus text parser and checked
//! against the register, the feed read by an iCalendar parser, and the
//! token refused without a trace of it in the log.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use icalendar::Component as _;

use crate::support::{Register, Smtp, USCC, assert_every, free_port, serve, setup};

const TOKEN: &str = "feed-token-5f1c2a9e";

/// One raw HTTP/1.1 exchange: (status, headers, body).
fn get(port: u16, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    // The listener closes each connection after one answer.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn path(port: u16, path: &str) -> (u16, String, String) {
    get(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

struct Daemon {
    child: Child,
    port: u16,
    log: std::sync::mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts `serve` with the listener on and waits until its first tick
    /// is done, on the daemon's word: the log says when it listens and when
    /// the tick is recorded.
    fn start(r: &Register) -> Daemon {
        let port = free_port();
        let config = r.dir().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text = text.replacen(
            "[delivery]",
            &format!(
                "[http]\nlisten = \"127.0.0.1:{port}\"\ncalendar_token_env = \"LICWATCH_TEST_FEED_TOKEN\"\n[delivery]"
            ),
            1,
        );
        std::fs::write(&config, text).unwrap();
        let mut child = serve(r, &["serve"])
            .env("LICWATCH_TEST_FEED_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, log) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let daemon = Daemon { child, port, log };
        // The tick's summary comes after its status record: then /healthz
        // knows it.
        for awaited in ["http listener", "alerts="] {
            loop {
                let line = daemon
                    .log
                    .recv_timeout(Duration::from_secs(30))
                    .unwrap_or_else(|_| panic!("the daemon never logged {awaited}"));
                if line.contains(awaited) {
                    break;
                }
            }
        }
        assert_eq!(
            path(port, "/healthz").0,
            200,
            "healthy after its first tick"
        );
        daemon
    }

    /// Stops the daemon and returns everything it logged.
    fn stop(mut self) -> String {
        self.kill();
        let mut log = Vec::new();
        while let Ok(line) = self.log.recv_timeout(Duration::from_secs(5)) {
            log.push(line);
        }
        log.join("\n")
    }
}

impl Daemon {
    fn kill(&mut self) {
        // Already gone is fine: this also runs after `stop`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A failed assertion must not leave the daemon running (it holds the
/// test's output pipe open).
impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A command with the daemon's config, as an admin on that host runs it.
fn admin(r: &Register, args: &[&str]) -> String {
    let out = serve(r, args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn sample(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
    match found.map(|s| &s.value) {
        Some(prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Counter(v)) => *v,
        other => panic!("{metric}{labels:?}: {other:?} in {:#?}", scrape.samples),
    }
}

#[test]
fn metrics_are_prometheus_text_that_match_the_register() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let daemon = Daemon::start(&r);
    let (status, head, body) = path(daemon.port, "/metrics");
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    // Every family has its HELP and TYPE, as promtool wants.
    let families: BTreeSet<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split(' ').next())
        .collect();
    for family in &families {
        assert!(body.contains(&format!("# HELP {family} ")), "{family}");
    }
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();

    // Against the register: the agenda's overdue obligations per kind.
    let agenda: Vec<serde_json::Value> = serde_json::from_str(&admin(
        &r,
        &["--format", "json", "agenda", "--days", "1098"],
    ))
    .unwrap();
    for kind in ["annual_report", "renewal", "number_activation"] {
        for state in ["open", "overdue", "expired"] {
            let expected = agenda
                .iter()
                .filter(|o| o["kind"] == kind && o["state"] == state)
                .count();
            assert_eq!(
                sample(
                    &scrape,
                    "licwatch_obligations",
                    &[("kind", kind), ("state", state)]
                ),
                expected as f64,
                "{kind} {state}"
            );
        }
    }
    let nearest = agenda
        .iter()
        .filter(|o| o["kind"] == "annual_report")
        .map(|o| o["days_left"].as_i64().unwrap())
        .min()
        .unwrap();
    assert!(nearest < 0, "the setup has an overdue report");
    assert_eq!(
        sample(
            &scrape,
            "licwatch_obligation_nearest_due_days",
            &[("kind", "annual_report")]
        ),
        nearest as f64
    );
    // The outbox: every row sent to the one route, one attempt each.
    let outbox: Vec<serde_json::Value> =
        serde_json::from_str(&admin(&r, &["--format", "json", "outbox", "list"])).unwrap();
    assert_every(&outbox, "sent", |row| row["state"] == "sent");
    let rows = |state| {
        sample(
            &scrape,
            "licwatch_outbox_rows",
            &[("route", "ops-mail"), ("state", state)],
        )
    };
    assert_eq!(rows("sent"), outbox.len() as f64);
    assert_eq!(rows("pending"), 0.0);
    assert_eq!(rows("failed"), 0.0);
    assert_eq!(
        sample(
            &scrape,
            "licwatch_deliveries_total",
            &[("route", "ops-mail"), ("outcome", "sent")]
        ),
        outbox.len() as f64
    );
    // The tick, as `status` reports it.
    let status: serde_json::Value =
        serde_json::from_str(&admin(&r, &["--format", "json", "status"])).unwrap();
    let tick_at = chrono::DateTime::parse_from_rfc3339(status["last_tick"]["at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(
        sample(&scrape, "licwatch_last_tick_timestamp_seconds", &[]),
        tick_at as f64
    );
    assert_eq!(sample(&scrape, "licwatch_last_tick_success", &[]), 1.0);
    assert_eq!(
        sample(&scrape, "licwatch_holiday_data_first_missing_year", &[]),
        status["holidays"]["first_missing_year"].as_f64().unwrap()
    );
    // No label per licence or company.
    assert!(!body.contains("B2-") && !body.contains(USCC), "{body}");
    daemon.stop();
}

fn events(ics: &str) -> Vec<icalendar::Event> {
    let calendar: icalendar::Calendar = ics.parse().unwrap();
    calendar.events().cloned().collect()
}

fn uids(events: &[icalendar::Event]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e.get_uid().unwrap().to_owned())
        .collect()
}

#[test]
fn the_calendar_feed_has_the_agendas_uids_and_refuses_a_wrong_token_without_logging_it() {
    let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let daemon = Daemon::start(&r);
    let port = daemon.port;

    let (status, head, body) = path(port, &format!("/calendar.ics?token={TOKEN}"));
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(head.contains("content-type: text/calendar"), "{head}");
    let feed = events(&body);
    assert!(!feed.is_empty());
    let file = admin(&r, &["--format", "ics", "agenda", "--days", "400"]);
    assert_eq!(uids(&feed), uids(&events(&file)));

    // One company's feed: the setup's only company has them all; another
    // (valid) code has none; a malformed one is refused.
    let (_, _, own) = path(port, &format!("/calendar.ics?token={TOKEN}&company={USCC}"));
    assert_eq!(uids(&events(&own)), uids(&feed));
    let (_, _, other) = path(
        port,
        &format!("/calendar.ics?token={TOKEN}&company=91110000600037341L"),
    );
    assert!(events(&other).is_empty(), "{other}");
    assert_eq!(
        path(port, &format!("/calendar.ics?token={TOKEN}&company=nope")).0,
        400
    );

    let wrong = "feed-token-5f1c2a9f";
    assert_eq!(path(port, "/calendar.ics").0, 401);
    assert_eq!(path(port, &format!("/calendar.ics?token={wrong}")).0, 403);
    assert_eq!(path(port, "/calendar.ics?token=").0, 403);

    // Nothing else is served (but the web console, which asks to sign
    // in), nothing but GET, no body, bounded headers.
    assert_eq!(path(port, "/").0, 303);
    assert_eq!(path(port, "/nothing").0, 404);
    assert_eq!(path(port, "/../licwatch.db").0, 404);
    let (status, _, _) = get(
        port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(status, 405);
    let (status, _, _) = get(
        port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(status, 413);
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (status, _, _) = get(port, &huge);
    assert!(status == 431 || status == 0, "oversized headers: {status}");

    let log = daemon.stop();
    assert!(log.contains("calendar feed refused: wrong token"), "{log}");
    assert!(log.contains("calendar feed refused: no token"), "{log}");
    assert!(!log.contains(TOKEN) && !log.contains(wrong), "{log}");
}
