//! What the integration tests share: the real binary on a temp register
//! ([`Register`]), a register and config a daemon can tick ([`setup`],
//! [`serve`]), a loopback SMTP server ([`Smtp`]), waiting on a daemon's word
//! ([`LogWatch`]), the gate on the slow proofs ([`slow`]) and assertions a
//! list cannot pass by being empty ([`assert_every`]). A helper two test
//! modules need lives here; one that a single module needs stays there.

use std::fmt::Debug;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server};

/// Whether the slow proofs run (the 120-day soak, the 10,000 writes: minutes
/// on a laptop): only when `LICWATCH_SLOW_TESTS=1`, which `.ci/run` and the
/// scripts that run them set. Otherwise the test says, in one line on the
/// terminal, that it was skipped and how to run it, and returns.
#[must_use]
pub(crate) fn slow(test: &str) -> bool {
    if std::env::var("LICWATCH_SLOW_TESTS").is_ok_and(|value| value == "1") {
        return true;
    }
    say(&format!(
        "skipped {test}: a slow test, run with LICWATCH_SLOW_TESTS=1 (as .ci/run does)"
    ));
    false
}

/// A line on the terminal that the test harness does not capture (it
/// captures `println!` and `eprintln!`, not a direct write to stderr): the
/// figures quoted in docs/proof.md, and a skipped slow test.
pub(crate) fn say(line: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
}

/// Asserts that `items` holds at least one item and that every one
/// satisfies `holds`: `Iterator::all` alone passes on an empty list, which
/// is what a broken tick or a wrong filter gives.
#[track_caller]
pub(crate) fn assert_every<T: Debug>(items: &[T], what: &str, holds: impl Fn(&T) -> bool) {
    assert!(!items.is_empty(), "no items to check: {what}");
    for item in items {
        assert!(holds(item), "not {what}: {item:?} in {items:?}");
    }
}

/// A command's stderr, for messages.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) struct Register {
    dir: tempfile::TempDir,
}

pub(crate) const USCC: &str = "91110108551385082Q";

impl Register {
    pub(crate) fn new() -> Register {
        Register {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("licwatch.db")
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The real binary, in the register's directory, on its database, with
    /// no config unless `LICWATCH_CONFIG` is set on the command.
    /// `licwatch user add`, the password on stdin as a script gives it.
    pub(crate) fn add_user(&self, name: &str, role: &str, password: &str) {
        let mut child = self
            .command(&["user", "add", name, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "user add {name}: {out:?}");
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_licwatch"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("LICWATCH_CONFIG")
            .env_remove("RUST_LOG")
            .env("USER", "compliance-lead")
            .env_remove("SUDO_USER")
            .env("LICWATCH_DB", self.db());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "licwatch {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and expects exit 1 with one line on stderr; returns that line.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "licwatch {args:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
        stderr.trim_end().to_owned()
    }

    pub(crate) fn agenda_json(&self, today: &str, days: &str) -> Vec<serde_json::Value> {
        let text = self.ok(&[
            "--today", today, "--format", "json", "agenda", "--days", days,
        ]);
        serde_json::from_str(&text).unwrap()
    }

    /// `agenda --format ics` as of `today`, `days` ahead: the calendar's text.
    pub(crate) fn agenda_ics(&self, today: &str, days: &str) -> String {
        self.ok(&[
            "--today", today, "--format", "ics", "agenda", "--days", days,
        ])
    }

    /// Every row of every table, for "nothing changed" checks.
    pub(crate) fn dump(&self) -> String {
        dump(&self.db())
    }

    /// [`Register::seed`]'s licence, holding number 962345 (allocated
    /// 2022-04-01, in service since 2022-05-01), ended on 2026-06-01 while
    /// the number is still held.
    pub(crate) fn seed_a_number_outliving_its_licence(&self) {
        self.seed();
        self.ok(&[
            "number",
            "add",
            "962345",
            "--licence",
            "京B2-20221234",
            "--allocated",
            "2022-04-01",
        ]);
        self.ok(&[
            "number",
            "activate",
            "962345",
            "--on",
            "2022-05-01",
            "--carrier",
            "中国电信",
            "--direction",
            "inbound",
        ]);
        self.ok(&[
            "licence",
            "end",
            "京B2-20221234",
            "--on",
            "2026-06-01",
            "--reason",
            "given up",
        ]);
    }

    pub(crate) fn seed(&self) {
        self.ok(&[
            "company",
            "add",
            "--uscc",
            USCC,
            "--name",
            "北京示例呼叫中心有限公司",
            "--email",
            "ops@example.cn",
        ]);
        self.ok(&[
            "licence",
            "add",
            "--number",
            "京B2-20221234",
            "--holder",
            USCC,
            "--items",
            "B24",
            "--issued",
            "2022-03-01",
            "--expires",
            "2027-02-28",
        ]);
    }
}

pub(crate) fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..columns)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            out.push_str(&format!("{table}: {}\n", row.unwrap().join(" | ")));
        }
    }
    out
}

/// Messages the server accepted, and a gate that holds the reply to DATA
/// until the test opens it (a slow server, or a crash after sending).
#[derive(Clone, Default)]
pub(crate) struct Mailbox {
    current: Vec<u8>,
    refuse: Option<&'static str>,
    /// How many more messages to refuse (421) after DATA.
    pub(crate) refuse_data: Arc<std::sync::atomic::AtomicUsize>,
    /// Every message that reached the end of DATA, refused or not.
    pub(crate) attempts: Arc<Mutex<Vec<String>>>,
    pub(crate) received: Arc<Mutex<Vec<String>>>,
    /// (open, waiting at the gate)
    pub(crate) gate: Arc<(Mutex<(bool, usize)>, Condvar)>,
}

impl Handler for Mailbox {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.refuse.is_some_and(|refused| to.contains(refused)) {
            return Response::custom(550, "5.1.1 mailbox unavailable".to_owned());
        }
        OK
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        // The envelope recipients, as a header line the tests can read.
        self.current = format!("X-Envelope-To: {}\r\n", to.join(", ")).into_bytes();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&self.current).into_owned();
        self.attempts.lock().unwrap().push(message);
        let refused = self
            .refuse_data
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |left| left.checked_sub(1),
            )
            .is_ok();
        if refused {
            // A transient refusal of the whole message. 421 rather than 451:
            // mailin stays in its DATA state after any other error reply,
            // reading the client's QUIT as message text.
            return Response::custom(421, "4.3.0 try again later".to_owned());
        }
        self.received
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&self.current).into_owned());
        let (lock, changed) = &*self.gate;
        let mut state = lock.lock().unwrap();
        state.1 += 1;
        changed.notify_all();
        while !state.0 {
            state = changed.wait(state).unwrap();
        }
        OK
    }
}

pub(crate) struct Smtp {
    pub(crate) addr: SocketAddr,
    pub(crate) mailbox: Mailbox,
}

impl Smtp {
    /// A plain SMTP server (loopback only, as licwatch allows) on `listener`.
    pub(crate) fn start(listener: TcpListener, gate_open: bool) -> Smtp {
        Smtp::start_refusing(listener, gate_open, None)
    }

    /// A server that answers 550 to recipients containing `refuse`.
    pub(crate) fn start_refusing(
        listener: TcpListener,
        gate_open: bool,
        refuse: Option<&'static str>,
    ) -> Smtp {
        let mailbox = Mailbox {
            refuse,
            ..Mailbox::default()
        };
        mailbox.gate.0.lock().unwrap().0 = gate_open;
        let addr = listener.local_addr().unwrap();
        let mut server = Server::new(mailbox.clone());
        server.with_name("localhost").with_tcp_listener(listener);
        // mailin has no shutdown: the server lives until the test binary ends.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Smtp { addr, mailbox }
    }

    pub(crate) fn received(&self) -> Vec<String> {
        self.mailbox.received.lock().unwrap().clone()
    }

    pub(crate) fn open_gate(&self) {
        let (lock, changed) = &*self.mailbox.gate;
        lock.lock().unwrap().0 = true;
        changed.notify_all();
    }

    /// Waits (up to a deadline) until a message is held at the gate.
    pub(crate) fn wait_at_gate(&self) {
        let (lock, changed) = &*self.mailbox.gate;
        let state = lock.lock().unwrap();
        let (state, timeout) = changed
            .wait_timeout_while(state, Duration::from_secs(30), |state| state.1 == 0)
            .unwrap();
        assert!(
            !timeout.timed_out() && state.1 > 0,
            "no message reached the server"
        );
    }
}

/// The decoded text/plain part of a message, inside a multipart/mixed one
/// when the digest has an attachment.
pub(crate) fn text(message: &str) -> String {
    fn find(message: &str) -> Option<String> {
        crate::notify::smtp::parts(message)
            .into_iter()
            .find_map(|(content_type, body)| {
                if content_type.starts_with("text/plain") {
                    Some(body)
                } else if content_type.starts_with("multipart/") {
                    find(&format!("Content-Type: {content_type}\r\n\r\n{body}"))
                } else {
                    None
                }
            })
    }
    find(message).expect("every digest has a text part")
}

pub(crate) fn message_id(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID: "))
        .expect("every message has a Message-ID")
        .to_owned()
}

/// A register with one overdue obligation whatever the date (the annual
/// report on two years ago, never filed) and a config mailing `smtp_port`.
pub(crate) fn setup(smtp_port: u16, extra_config: &str) -> Register {
    let r = Register::new();
    r.ok(&[
        "company",
        "add",
        "--uscc",
        USCC,
        "--name",
        "示例呼叫中心",
        "--email",
        "ops@example.cn",
    ]);
    r.ok(&[
        "licence",
        "add",
        "--number",
        "京B2-20201234",
        "--holder",
        USCC,
        "--items",
        "B24",
        "--issued",
        "2020-03-01",
        "--expires",
        "2025-02-28",
    ]);
    // Renewed: the next term runs to 2030, far from every test's days.
    r.ok(&[
        "licence",
        "update",
        "京B2-20201234",
        "--expires",
        "2030-02-28",
    ]);
    // A 2027 calendar, so that the daemon has no holiday notice to send.
    std::fs::write(
        r.dir().join("2027.toml"),
        "[[day]]\ndate = \"2027-01-01\"\nname = \"元旦\"\noff = true\n",
    )
    .unwrap();
    std::fs::write(
        r.dir().join("config.toml"),
        format!(
            "[calendar]\nholiday_files = [\"2027.toml\"]\n\
             [delivery]\nretry_first_seconds = 1\nretry_max_seconds = 2\n{extra_config}\n\
             [routes.ops-mail]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
             from = \"licwatch <licwatch@example.com>\"\nto = [\"compliance@example.com\"]\n"
        ),
    )
    .unwrap();
    r
}

pub(crate) fn serve(r: &Register, args: &[&str]) -> Command {
    let mut command = r.command(args);
    command.env("LICWATCH_CONFIG", r.dir().join("config.toml"));
    command
}

pub(crate) fn serve_once(r: &Register, today: &str) -> Output {
    let out = serve(r, &["--today", today, "serve", "--once"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "serve --once: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn outbox(r: &Register) -> Vec<serde_json::Value> {
    serde_json::from_str(&r.ok(&["--format", "json", "outbox", "list"])).unwrap()
}

/// Moves every pending row's next attempt into the past: the backoff is
/// over, without waiting for it.
pub(crate) fn backoff_over(r: &Register) {
    rusqlite::Connection::open(r.db())
        .unwrap()
        .execute(
            "UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00Z' WHERE state = 'pending'",
            [],
        )
        .unwrap();
}

/// Moves every pending row's next attempt back by the same span, so that the
/// earliest is due now and the others keep their distance: time passing
/// until the next retry, without waiting for it.
pub(crate) fn until_the_next_retry(r: &Register) {
    rusqlite::Connection::open(r.db())
        .unwrap()
        .execute(
            "UPDATE outbox SET next_attempt_at = strftime('%Y-%m-%dT%H:%M:%SZ',
                 julianday(next_attempt_at) - (SELECT julianday(min(next_attempt_at))
                     - julianday('now', '-1 seconds') FROM outbox WHERE state = 'pending'))
             WHERE state = 'pending'",
            [],
        )
        .unwrap();
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A daemon's stderr, read line by line as it comes, so that a test waits
/// for what the daemon says instead of sleeping.
pub(crate) struct LogWatch {
    text: Arc<(Mutex<String>, Condvar)>,
}

impl LogWatch {
    pub(crate) fn new(child: &mut Child) -> LogWatch {
        use std::io::BufRead as _;
        let stderr = child.stderr.take().expect("stderr is piped");
        let text: Arc<(Mutex<String>, Condvar)> = Arc::default();
        let shared = text.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (lock, changed) = &*shared;
                let mut text = lock.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                changed.notify_all();
            }
        });
        LogWatch { text }
    }

    /// Waits (up to a deadline) until the log holds `count` lines with `what`.
    pub(crate) fn wait_for(&self, what: &str, count: usize) {
        let (lock, changed) = &*self.text;
        let text = lock.lock().unwrap();
        let (text, timeout) = changed
            .wait_timeout_while(text, Duration::from_secs(30), |text| {
                text.matches(what).count() < count
            })
            .unwrap();
        assert!(!timeout.timed_out(), "no \"{what}\" in the log:\n{text}");
    }

    pub(crate) fn text(&self) -> String {
        self.text.0.lock().unwrap().clone()
    }
}

/// Waits for the process to exit, up to `limit`; kills it if it does not.
/// A thread blocks on the exit and hands the output over a channel, so the
/// wait ends the moment the process does.
pub(crate) fn wait_exit(child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let pid = child.id().to_string();
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait_with_output()));
    match exit.recv_timeout(limit) {
        Ok(output) => (output.unwrap(), started.elapsed()),
        Err(_) => {
            // The thread owns the child now, so it is killed by its id.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the daemon did not exit within {limit:?}");
        }
    }
}
