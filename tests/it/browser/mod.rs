//! The web console in a real browser: Debian's chromium driven through
//! chromedriver (WebDriver) against the real binary's HTTP listener, as an
//! officer's browser would use it.
//!
//! Without chromium and chromedriver on PATH these tests print a line saying
//! they were skipped and pass; with `LICWATCH_REQUIRE_BROWSER=1` (set by
//! .ci/run) a missing browser fails them, so CI cannot pass without running
//! them.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::json;

use webdriver::{By, WebDriver, WebDriverResult, WebElement};

mod webdriver;

use crate::support::Register;
use crate::support::{serve, setup};

/// How long any one wait for the browser, the driver or the daemon may take
/// before the test fails: generous, since two cores are shared.
const PATIENCE: Duration = Duration::from_secs(60);

/// A fixed window, so that screenshots are the same from run to run.
const WINDOW: (u32, u32) = (1280, 900);

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// chromedriver, started on a port of its own choosing (`--port=0`; it says
/// which), with a temp profile for the browser it starts.
struct Chrome {
    driver: Child,
    url: String,
    chromium: PathBuf,
    profile: tempfile::TempDir,
}

impl Chrome {
    /// None when the browser is missing and nothing demands it: the line
    /// saying so goes straight to stderr, past the test harness's capture,
    /// so that a plain `cargo test` shows it.
    fn start() -> Option<Chrome> {
        let required = std::env::var_os("LICWATCH_REQUIRE_BROWSER").is_some_and(|v| v == "1");
        let missing: Vec<&str> = ["chromium", "chromedriver"]
            .into_iter()
            .filter(|name| on_path(name).is_none())
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "{} not on PATH (Debian: apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            assert!(!required, "LICWATCH_REQUIRE_BROWSER=1 but {why}");
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            let _ = writeln!(std::io::stderr(), "{test} skipped: {why}");
            return None;
        }
        let mut driver = Command::new("chromedriver")
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            // The browser's own locale (date pickers): headless chromium
            // takes it from the environment, not from --lang.
            .env("LANG", "zh_CN.UTF-8")
            .env("LANGUAGE", "zh_CN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chromedriver starts");
        let lines = lines(driver.stdout.take().unwrap());
        let port = loop {
            let line = lines
                .recv_timeout(PATIENCE)
                .expect("chromedriver says which port it listens on");
            if let Some(port) = line
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
            {
                break port;
            }
        };
        Some(Chrome {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            chromium: on_path("chromium").unwrap(),
            profile: tempfile::tempdir().unwrap(),
        })
    }

    /// A new browser session: headless, zh-CN, the fixed window, and no
    /// host but 127.0.0.1 resolvable, so that neither a page nor the
    /// browser's own services reach past the loopback.
    async fn session(&self) -> WebDriver {
        let mut args = vec![
            "--headless".to_owned(),
            format!("--user-data-dir={}", self.profile.path().display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            "--lang=zh-CN".to_owned(),
            // Containers give /dev/shm 64 MB, too little for a renderer.
            "--disable-dev-shm-usage".to_owned(),
            "--no-proxy-server".to_owned(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
        ];
        // Chromium refuses to start as root with its sandbox on; CI runs
        // .ci/run as root in a container. A normal user keeps the sandbox.
        if is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": args,
                "prefs": { "intl": { "accept_languages": "zh-CN,zh" } },
            },
        });
        let driver = WebDriver::new(&self.url, capabilities)
            .await
            .expect("chromedriver starts chromium");
        // --window-size sizes the window, toolbars included: grow it by
        // them so that the page itself (and a screenshot) is WINDOW.
        let frame = driver
            .execute(
                "return [window.outerWidth - window.innerWidth, \
                         window.outerHeight - window.innerHeight];",
                Vec::new(),
            )
            .await
            .expect("the window's frame");
        let frame = |i: usize| {
            frame[i]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        driver
            .set_window_rect(WINDOW.0 + frame(0), WINDOW.1 + frame(1))
            .await
            .expect("a window of the fixed size");
        driver
    }
}

impl Chrome {
    /// Runs `test` in a fresh browser session and quits the browser
    /// whatever happens (a failed assertion included).
    async fn run<F, Fut>(&self, test: F)
    where
        F: FnOnce(WebDriver) -> Fut,
        Fut: Future<Output = WebDriverResult<()>> + Send + 'static,
    {
        let driver = self.session().await;
        let outcome = tokio::spawn(test(driver.clone())).await;
        let quit = driver.quit().await;
        match outcome {
            Ok(Ok(())) => quit.expect("the browser quits"),
            // Debug: the causes and, with RUST_BACKTRACE set, where the
            // failing browser command was sent from.
            Ok(Err(error)) => panic!("{error:?}"),
            Err(failed) => std::panic::resume_unwind(failed.into_panic()),
        }
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// A child's output, line by line as it comes, so that the test waits for
/// what a process says instead of sleeping.
fn lines(from: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

/// `licwatch serve` with its listener on a port of its own choosing on
/// 127.0.0.1 (the log names it), over a temp register.
struct Daemon {
    child: Child,
    base: String,
    /// Held so that the reader keeps draining the daemon's stderr (a full
    /// pipe would stop the daemon at its next log line); in a Mutex so
    /// that a test's future holding the daemon can move between threads.
    _log: std::sync::Mutex<Receiver<String>>,
}

impl Daemon {
    /// Starts the daemon with `[http]` listening on `listen` (port 0: one
    /// of its choosing), plus `http` lines, and waits for its first tick's
    /// summary: by then the listener is up and the first alerts planned.
    fn start(r: &Register, listen: &str, http: &str) -> Daemon {
        Daemon::start_with(r, listen, http, &[])
    }

    /// As `start`, with environment variables (a route's secret URL).
    fn start_with(r: &Register, listen: &str, http: &str, env: &[(&str, &str)]) -> Daemon {
        let config = r.dir().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "[delivery]",
            &format!("[http]\nlisten = \"{listen}\"\n{http}\n[delivery]"),
            1,
        );
        std::fs::write(&config, text).unwrap();
        let mut child = serve(r, &["serve"])
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = lines(child.stderr.take().unwrap());
        let mut addr = None;
        while addr.is_none() || !waited_for_tick(&log) {
            let line = log
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("the daemon never said where it listens"));
            if line.contains("http listener") {
                addr = line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("addr="))
                    .map(str::to_owned);
            }
        }
        Daemon {
            child,
            base: format!("http://{}", addr.unwrap()),
            _log: std::sync::Mutex::new(log),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Reads the log up to the first tick's summary.
fn waited_for_tick(log: &Receiver<String>) -> bool {
    loop {
        let line = log
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("the daemon never finished its first tick"));
        if line.contains("alerts=") {
            return true;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The accounts every console test has: (name, role, password).
const ACCOUNTS: [(&str, &str, &str); 3] = [
    ("zhang.admin", "admin", "admin-passphrase-2026"),
    ("li.editor", "editor", "editor-passphrase-2026"),
    ("wang.viewer", "viewer", "viewer-passphrase-2026"),
];
const ADMIN: usize = 0;
const EDITOR: usize = 1;
const VIEWER: usize = 2;

/// The company whose obligation the tests close: daemon::setup's, whose
/// annual report of two years ago is overdue whatever the date.
const OVERDUE_HOLDER: &str = crate::support::USCC;
/// One of examples/clients.csv's companies, the filter's target.
const FILTERED: &str = "91310000MA1K3QW4RB";

/// The console's register: daemon::setup's (an overdue annual report, its
/// alerts mailed to a port nobody listens on so that they stay pending),
/// examples/clients.csv's companies, and the three accounts.
fn console_register() -> Register {
    let r = setup(crate::support::free_port(), "");
    // Retries far apart: the pending alerts stay pending while a test looks.
    let config = r.dir().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "retry_first_seconds = 1\nretry_max_seconds = 2",
        "retry_first_seconds = 3600\nretry_max_seconds = 7200",
    );
    std::fs::write(&config, text).unwrap();
    let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/clients.csv");
    r.ok(&["import", clients.to_str().unwrap()]);
    for (name, role, password) in ACCOUNTS {
        r.add_user(name, role, password);
    }
    r
}

/// What most console tests start from: the browser, the console's
/// register, and the daemon serving it.
fn console() -> Option<(Chrome, Register, Daemon)> {
    let chrome = Chrome::start()?;
    let r = console_register();
    let daemon = Daemon::start(&r, "127.0.0.1:0", "");
    Some((chrome, r, daemon))
}

/// Today in the schedule's zone (the default, Asia/Shanghai), as the
/// running daemon sees it.
fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// The CLI's agenda, as the console's filter would ask for it.
fn cli_agenda(r: &Register, filters: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--format", "json", "agenda"];
    args.extend_from_slice(filters);
    serde_json::from_str(&r.ok(&args)).unwrap()
}

fn outbox(r: &Register) -> Vec<serde_json::Value> {
    serde_json::from_str(&r.ok(&["--format", "json", "outbox", "list"])).unwrap()
}

/// The page's KEY names this CLI row: docs/web.md says the key is the one
/// `agenda --format json` gives.
fn is_key(row: &serde_json::Value, key: &str) -> bool {
    row["id"] == key || row["obligation"] == key
}

/// Clicks that take the browser to another page, counted: the issue's
/// "three clicks from a reminder to done". Each waits until the page it
/// left is gone, so that what the test reads next is the new page.
#[derive(Default)]
struct Clicks(usize);

impl Clicks {
    async fn on(&mut self, driver: &WebDriver, element: WebElement) -> WebDriverResult<()> {
        let old = driver.find(By::Tag("html")).await?;
        element.click().await?;
        self.0 += 1;
        old.stale().await
    }
}

/// Sets a form's field as a person would: typed into a text box, picked in
/// a list, chosen in a date picker (set directly: typing into a date
/// input depends on the browser's locale).
async fn fill(driver: &WebDriver, form: &str, name: &str, value: &str) -> WebDriverResult<()> {
    let field = driver
        .query(By::Css(format!("#{form} [name=\"{name}\"]")))
        .first()
        .await?;
    let kind = field.attr("type").await?.unwrap_or_default();
    if field.tag_name().await? == "select" || kind == "date" {
        driver
            .execute(
                "arguments[0].value = arguments[1]; \
                 arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
                vec![field.to_json()?, serde_json::json!(value)],
            )
            .await?;
    } else {
        field.clear().await?;
        field.send_keys(value).await?;
    }
    Ok(())
}

/// Signs in through the form on the page and waits for the page it leads
/// to, counting the click in `clicks`.
async fn sign_in(driver: &WebDriver, clicks: &mut Clicks, account: usize) -> WebDriverResult<()> {
    let (name, _, password) = ACCOUNTS[account];
    fill(driver, "login", "user", name).await?;
    fill(driver, "login", "password", password).await?;
    let button = driver.query(By::Id("login-button")).first().await?;
    clicks.on(driver, button).await?;
    let whoami = driver.query(By::Id("whoami")).first().await?;
    assert!(whoami.text().await?.contains(name), "signed in as {name}");
    Ok(())
}

/// Follows the agenda row's link to its obligation's page.
async fn open(driver: &WebDriver, clicks: &mut Clicks, key: &str) -> WebDriverResult<()> {
    let link = driver
        .query(By::Css(format!("#agenda tr[data-key=\"{key}\"] a")))
        .first()
        .await?;
    clicks.on(driver, link).await
}

/// The key of the agenda's first row.
async fn first_key(driver: &WebDriver) -> WebDriverResult<String> {
    let rows = agenda_rows(driver).await?;
    let (key, _, _) = rows.first().expect("an open obligation on the agenda");
    Ok(key.clone())
}

/// Opens the sign-in form and signs in.
async fn signed_in(driver: &WebDriver, daemon: &Daemon, account: usize) -> WebDriverResult<()> {
    driver.goto(daemon.url("/login")).await?;
    sign_in(driver, &mut Clicks::default(), account).await
}

/// The message the page shows (`#message`): its class and text.
async fn message(driver: &WebDriver) -> WebDriverResult<(String, String)> {
    let message = driver.query(By::Id("message")).first().await?;
    Ok((
        message.class_name().await?.unwrap_or_default(),
        message.text().await?,
    ))
}

/// The agenda's rows: (key, kind, state).
async fn agenda_rows(driver: &WebDriver) -> WebDriverResult<Vec<(String, String, String)>> {
    let mut rows = Vec::new();
    for row in driver
        .find_all(By::Css("#agenda tr[data-key]".into()))
        .await?
    {
        rows.push((
            row.attr("data-key").await?.unwrap_or_default(),
            row.attr("data-kind").await?.unwrap_or_default(),
            row.attr("data-state").await?.unwrap_or_default(),
        ));
    }
    Ok(rows)
}

/// A POST as a forged form sends it: a form made in the page (the
/// console's CSP lets a script fetch nothing, but forms may post to the
/// console), sent with the session's cookie. Returns what the browser then
/// shows.
async fn forge(driver: &WebDriver, path: &str, form: &[(&str, &str)]) -> WebDriverResult<String> {
    let fields: serde_json::Map<String, serde_json::Value> = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
        .collect();
    let old = driver.find(By::Tag("html")).await?;
    driver
        .execute(
            "const form = document.createElement('form'); \
             form.method = 'post'; form.action = arguments[0]; \
             for (const [name, value] of Object.entries(arguments[1])) { \
               const input = document.createElement('input'); \
               input.type = 'hidden'; input.name = name; input.value = value; \
               form.appendChild(input); } \
             document.body.appendChild(form); form.submit();",
            vec![serde_json::json!(path), serde_json::Value::Object(fields)],
        )
        .await?;
    old.stale().await?;
    driver.query(By::Tag("body")).first().await?.text().await
}

/// The session's CSRF token, as every POST form on a signed-in page
/// carries it.
async fn csrf(driver: &WebDriver) -> WebDriverResult<String> {
    let input = driver
        .query(By::Css("#logout input[name=\"csrf\"]".into()))
        .first()
        .await?;
    Ok(input.value().await?.unwrap_or_default())
}

#[tokio::test]
async fn the_browser_reads_the_daemons_health() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let r = setup(crate::support::free_port(), "");
    let daemon = Daemon::start(&r, "127.0.0.1:0", "");
    chrome
        .run(|driver| async move {
            driver.goto(daemon.url("/healthz")).await?;
            let body = driver.query(By::Tag("body")).first().await?;
            assert_eq!(body.text().await?.trim(), "ok");
            Ok(())
        })
        .await;
}

/// An editor's day: sign in, filter the agenda, open the overdue annual
/// report, mark it done with the authority's receipt, see it leave the
/// agenda and its pending alerts cancelled, snooze another, sign out.
#[tokio::test]
async fn an_editor_closes_an_obligation_and_snoozes_another() {
    let Some((chrome, r, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            let mut clicks = Clicks::default();
            // Not signed in: the agenda sends the browser to the sign-in form.
            driver.goto(daemon.url("/")).await?;
            driver.query(By::Id("login")).first().await?;
            assert!(driver.current_url().await?.path() == "/login");
            sign_in(&driver, &mut clicks, EDITOR).await?;
            assert_eq!(driver.current_url().await?.path(), "/");

            // The filter: one company's, a year ahead; the rows and the
            // counts are the CLI's.
            fill(&driver, "filter", "company", FILTERED).await?;
            fill(&driver, "filter", "days", "365").await?;
            let button = driver.query(By::Id("filter-button")).first().await?;
            clicks.on(&driver, button).await?;
            let shown = agenda_rows(&driver).await?;
            let expected = cli_agenda(&r, &["--company", FILTERED, "--days", "365"]);
            assert_eq!(shown.len(), expected.len(), "{shown:?}\n{expected:#?}");
            assert!(!shown.is_empty(), "the filtered company has obligations");
            for (key, kind, state) in &shown {
                let row = expected.iter().find(|row| is_key(row, key));
                let row = row.unwrap_or_else(|| panic!("{key} is not the CLI's"));
                assert_eq!(
                    (row["kind"].as_str(), row["state"].as_str()),
                    (Some(kind.as_str()), Some(state.as_str()))
                );
            }
            let total = driver.query(By::Id("count-total")).first().await?;
            assert_eq!(total.text().await?.trim(), expected.len().to_string());
            // By kind, too: only that kind's rows.
            fill(&driver, "filter", "company", "").await?;
            fill(&driver, "filter", "kind", "annual_report").await?;
            let button = driver.query(By::Id("filter-button")).first().await?;
            clicks.on(&driver, button).await?;
            let shown = agenda_rows(&driver).await?;
            assert!(
                shown.iter().all(|(_, kind, _)| kind == "annual_report"),
                "{shown:?}"
            );
            assert_eq!(
                shown.len(),
                cli_agenda(&r, &["--kind", "annual_report", "--days", "365"]).len()
            );
            // And by state: that kind's overdue ones.
            fill(&driver, "filter", "state", "overdue").await?;
            let button = driver.query(By::Id("filter-button")).first().await?;
            clicks.on(&driver, button).await?;
            let shown = agenda_rows(&driver).await?;
            assert!(
                shown
                    .iter()
                    .all(|(_, kind, state)| kind == "annual_report" && state == "overdue"),
                "{shown:?}"
            );
            assert_eq!(
                shown.len(),
                cli_agenda(
                    &r,
                    &[
                        "--kind",
                        "annual_report",
                        "--state",
                        "overdue",
                        "--days",
                        "365"
                    ]
                )
                .len()
            );

            // The overdue annual report of daemon::setup's licence, with
            // the alerts the daemon queued for it still pending.
            let overdue = cli_agenda(
                &r,
                &[
                    "--company",
                    OVERDUE_HOLDER,
                    "--kind",
                    "annual_report",
                    "--state",
                    "overdue",
                ],
            );
            let target = overdue
                .first()
                .expect("setup's annual report is overdue")
                .clone();
            let obligation = target["obligation"].as_str().unwrap().to_owned();
            let pending = |r: &Register| {
                outbox(r)
                    .into_iter()
                    .filter(|row| {
                        row["obligation"] == obligation.as_str() && row["state"] == "pending"
                    })
                    .count()
            };
            assert!(
                pending(&r) > 0,
                "the daemon queued alerts for {obligation}: {:#?}",
                outbox(&r)
            );
            let row = shown
                .iter()
                .find(|(key, _, _)| is_key(&target, key))
                .unwrap_or_else(|| panic!("{obligation} in {shown:?}"));
            let key = row.0.clone();
            open(&driver, &mut clicks, &key).await?;

            // The obligation's page: its facts and its pending alerts.
            let state = driver.query(By::Id("state")).first().await?;
            assert!(!state.text().await?.trim().is_empty());
            let due = driver.query(By::Id("due")).first().await?;
            assert!(due.text().await?.contains(target["due"].as_str().unwrap()));
            let alerts = driver.find(By::Id("alerts")).await?.text().await?;
            assert!(!alerts.trim().is_empty(), "the queued alerts are listed");

            // Done, with the receipt from the authority's system.
            let receipt = "京通管年报〔2026〕第0042号";
            fill(&driver, "mark-done", "receipt", receipt).await?;
            fill(&driver, "mark-done", "note", "已在管理平台提交").await?;
            if driver
                .find_all(By::Css("#mark-done [name=\"carried_out\"]".into()))
                .await?
                .len()
                == 1
            {
                fill(&driver, "mark-done", "carried_out", "yes").await?;
            }
            let button = driver.query(By::Id("mark-done-button")).first().await?;
            clicks.on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            assert_eq!(driver.current_url().await?.path(), "/");
            assert!(
                driver
                    .find_all(By::Css(format!("#agenda tr[data-key=\"{key}\"]")))
                    .await?
                    .is_empty(),
                "{key} left the agenda"
            );
            // The register agrees: gone from the CLI's agenda, its pending
            // alerts cancelled, the receipt in the history.
            let after = cli_agenda(&r, &["--company", OVERDUE_HOLDER, "--days", "3660"]);
            assert!(!after.iter().any(|row| is_key(row, &key)), "{after:#?}");
            assert_eq!(pending(&r), 0, "{:#?}", outbox(&r));
            assert!(
                outbox(&r)
                    .iter()
                    .any(|row| row["obligation"] == obligation.as_str()
                        && row["state"] == "cancelled")
            );
            let nav = driver.query(By::Id("nav-history")).first().await?;
            clicks.on(&driver, nav).await?;
            let history = driver.query(By::Id("history")).first().await?;
            let receipts = history.find_all(By::Css("td.receipt".into())).await?;
            let mut found = false;
            for cell in receipts {
                found |= cell.text().await? == receipt;
            }
            assert!(found, "the receipt is in the history");
            let sources = history.find_all(By::Css("td.source".into())).await?;
            let mut from_web = false;
            for cell in sources {
                from_web |= cell.text().await?.starts_with("网页");
            }
            assert!(from_web, "the change is the web's");

            // Snooze an open (not yet overdue) obligation for ten days, or
            // to its due day when that is sooner.
            driver.goto(daemon.url("/?days=3660")).await?;
            let next = agenda_rows(&driver).await?;
            let (key, _, _) = next
                .iter()
                .find(|(_, _, state)| state == "open")
                .expect("an open obligation on the agenda")
                .clone();
            let due: chrono::NaiveDate = cli_agenda(&r, &["--days", "3660"])
                .iter()
                .find(|row| is_key(row, &key))
                .and_then(|row| row["due"].as_str()?.parse().ok())
                .expect("the CLI knows its due day");
            open(&driver, &mut clicks, &key).await?;
            let until = (today() + chrono::Days::new(10)).min(due).to_string();
            fill(&driver, "snooze", "until", &until).await?;
            fill(&driver, "snooze", "reason", "等待管局回复").await?;
            let button = driver.query(By::Id("snooze-button")).first().await?;
            clicks.on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            let state = driver.query(By::Id("state")).first().await?.text().await?;
            assert!(state.contains(&until), "the page says until when: {state}");
            let snoozed = cli_agenda(&r, &["--days", "3660"]);
            let row = snoozed.iter().find(|row| is_key(row, &key));
            assert_eq!(
                row.map(|row| row["snoozed_until"].clone()),
                Some(serde_json::json!(until)),
                "{snoozed:#?}"
            );

            // Sign out: the agenda asks for a sign-in again.
            let button = driver.query(By::Id("logout-button")).first().await?;
            clicks.on(&driver, button).await?;
            driver.query(By::Id("login")).first().await?;
            driver.goto(daemon.url("/")).await?;
            driver.query(By::Id("login")).first().await?;
            assert_eq!(driver.current_url().await?.path(), "/login");
            Ok(())
        })
        .await;
}

/// A viewer reads the obligation but has no button to change it, and a
/// POST forged with the viewer's own session and token is refused and
/// changes nothing.
#[tokio::test]
async fn a_viewer_cannot_mark_anything() {
    let Some((chrome, r, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, VIEWER).await?;
            let key = first_key(&driver).await?;
            open(&driver, &mut Clicks::default(), &key).await?;
            driver.query(By::Id("facts")).first().await?;
            for form in ["mark-done", "snooze"] {
                assert!(
                    driver.find_all(By::Id(form)).await?.is_empty(),
                    "a viewer sees no #{form}"
                );
            }
            let before = r.dump();
            let token = csrf(&driver).await?;
            let path = driver.current_url().await?.path().to_owned();
            let today = today().to_string();
            let done = forge(
                &driver,
                &format!("{path}/done"),
                &[
                    ("csrf", &token),
                    ("on", &today),
                    ("receipt", "forged"),
                    ("carried_out", "yes"),
                ],
            )
            .await?;
            assert!(done.contains("角色：只读"), "a viewer's mark-done: {done}");
            driver.goto(daemon.url(&path)).await?;
            let snooze = forge(
                &driver,
                &format!("{path}/snooze"),
                &[("csrf", &token), ("until", &today), ("reason", "forged")],
            )
            .await?;
            assert!(snooze.contains("角色：只读"), "a viewer's snooze: {snooze}");
            assert_eq!(r.dump(), before, "nothing changed");
            Ok(())
        })
        .await;
}

/// An editor's own mark-done form, its CSRF token taken out before it is
/// sent (and once with a wrong token), is refused and changes nothing.
#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let Some((chrome, r, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, EDITOR).await?;
            let key = first_key(&driver).await?;
            open(&driver, &mut Clicks::default(), &key).await?;
            let path = driver.current_url().await?.path().to_owned();
            let before = r.dump();
            fill(&driver, "mark-done", "receipt", "无令牌").await?;
            if driver
                .find_all(By::Css("#mark-done [name=\"carried_out\"]".into()))
                .await?
                .len()
                == 1
            {
                fill(&driver, "mark-done", "carried_out", "yes").await?;
            }
            let token = driver
                .query(By::Css("#mark-done input[name=\"csrf\"]".into()))
                .first()
                .await?;
            driver
                .execute("arguments[0].remove();", vec![token.to_json()?])
                .await?;
            let button = driver.query(By::Id("mark-done-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            // The refusal is a page of its own, not the agenda's "done".
            assert_ne!(driver.current_url().await?.path(), "/");
            let refusal = driver.query(By::Tag("body")).first().await?.text().await?;
            assert!(refusal.contains("校验令牌"), "{refusal}");
            assert_eq!(r.dump(), before, "nothing changed");
            // The refusal is a console page with the way back to the agenda.
            let back = driver.query(By::Id("back")).first().await?;
            Clicks::default().on(&driver, back).await?;
            assert!(
                driver.find(By::Id("agenda")).await.is_ok(),
                "back on the agenda"
            );
            // A wrong token, in a forged form.
            driver.goto(daemon.url(&path)).await?;
            let today = today().to_string();
            let refusal = forge(
                &driver,
                &format!("{path}/done"),
                &[
                    ("csrf", "0000"),
                    ("on", &today),
                    ("receipt", "x"),
                    ("carried_out", "yes"),
                ],
            )
            .await?;
            assert!(refusal.contains("校验令牌"), "{refusal}");
            assert_eq!(r.dump(), before, "nothing changed");
            Ok(())
        })
        .await;
}

/// A company named with markup: the agenda and the register show the
/// name as text; no element, script or dialog comes of it.
#[tokio::test]
async fn a_company_name_with_markup_is_shown_as_text() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let r = console_register();
    let name = "<img src=x onerror=alert(1)><script>alert(2)</script>\"示例'&";
    r.ok(&["company", "update", OVERDUE_HOLDER, "--name", name]);
    let daemon = Daemon::start(&r, "127.0.0.1:0", "");
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, VIEWER).await?;
            for page in [
                format!("/?company={OVERDUE_HOLDER}"),
                "/companies".to_owned(),
            ] {
                driver.goto(daemon.url(&page)).await?;
                let body = driver.query(By::Tag("body")).first().await?;
                assert!(
                    body.text().await?.contains(name),
                    "{page} shows the name as text"
                );
                assert!(
                    driver.find_all(By::Tag("script")).await?.is_empty(),
                    "{page}: no script"
                );
                assert!(
                    driver
                        .find_all(By::Css("img[src=x]".into()))
                        .await?
                        .is_empty(),
                    "{page}: no img"
                );
                assert!(driver.get_alert_text().await.is_err(), "{page}: no dialog");
            }
            Ok(())
        })
        .await;
}

/// Signing in gives the browser a new session cookie, HttpOnly and
/// SameSite=Strict, not one it had before (no fixation); signing out ends
/// that session on the server, so the old cookie put back opens nothing.
#[tokio::test]
async fn sign_in_gives_a_new_session_that_sign_out_ends() {
    let Some((chrome, _register, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            driver.goto(daemon.url("/login")).await?;
            driver.query(By::Id("login")).first().await?;
            let before = driver.get_all_cookies().await?;
            sign_in(&driver, &mut Clicks::default(), EDITOR).await?;
            let after = driver.get_all_cookies().await?;
            let new: Vec<_> = after
                .iter()
                .filter(|cookie| {
                    !before
                        .iter()
                        .any(|old| old["name"] == cookie["name"] && old["value"] == cookie["value"])
                })
                .collect();
            assert_eq!(new.len(), 1, "one new cookie: {after:?} after {before:?}");
            let session = new[0].clone();
            assert_eq!(session["httpOnly"], true, "{session}");
            assert_eq!(session["sameSite"], "Strict", "{session}");

            let button = driver.query(By::Id("logout-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            driver.query(By::Id("login")).first().await?;
            driver.delete_all_cookies().await?;
            driver.add_cookie(session).await?;
            driver.goto(daemon.url("/")).await?;
            driver.query(By::Id("login")).first().await?;
            assert_eq!(driver.current_url().await?.path(), "/login");
            Ok(())
        })
        .await;
}

/// Wrong passwords, one after another: within ten tries the form stops
/// saying "wrong password" and refuses every attempt, the right password
/// too.
#[tokio::test]
async fn repeated_wrong_passwords_lock_the_sign_in() {
    let Some((chrome, _register, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            let (name, _, password) = ACCOUNTS[EDITOR];
            let attempt = |password: &'static str| {
                let driver = driver.clone();
                async move {
                    fill(&driver, "login", "user", name).await?;
                    fill(&driver, "login", "password", password).await?;
                    let button = driver.query(By::Id("login-button")).first().await?;
                    Clicks::default().on(&driver, button).await?;
                    assert!(driver.find_all(By::Id("whoami")).await?.is_empty());
                    message(&driver).await
                }
            };
            driver.goto(daemon.url("/login")).await?;
            let (class, wrong) = attempt("not-the-password").await?;
            assert_eq!(class, "error");
            let mut tries = 1;
            let locked = loop {
                let (class, text) = attempt("not-the-password").await?;
                tries += 1;
                assert_eq!(class, "error");
                if text != wrong {
                    break text;
                }
                assert!(
                    tries < 10,
                    "still only a wrong password after {tries} tries"
                );
            };
            let (class, text) = attempt(password).await?;
            assert_eq!((class.as_str(), text.as_str()), ("error", locked.as_str()));
            Ok(())
        })
        .await;
}

/// The measure: from the link in a DingTalk reminder to "done" in
/// three clicks. The daemon sends its first reminders to a DingTalk fake
/// on 127.0.0.1 with `[http] public_url` set; the browser opens the link
/// the message carries (one), signs in (two) and lands on the obligation,
/// where "mark done" (three) closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_link_leads_to_done_in_three_clicks() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let robot = crate::notify::robots::dingtalk(chrono::Utc::now(), "ding-token", None, None).await;
    let r = console_register();
    let config = r.dir().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[routes.ops-ding]\nkind = \"dingtalk\"\nurl_env = \"DING_URL\"\n");
    std::fs::write(&config, text).unwrap();
    let port = crate::support::free_port();
    let ding_url = format!("http://{}/robot/send?access_token=ding-token", robot.addr);
    let daemon = Daemon::start_with(
        &r,
        &format!("127.0.0.1:{port}"),
        &format!("public_url = \"http://127.0.0.1:{port}/\""),
        &[("DING_URL", &ding_url)],
    );
    let messages = robot.accepted();
    let text = messages
        .iter()
        .filter_map(|message| {
            message["markdown"]["text"]
                .as_str()
                .or(message["text"]["content"].as_str())
        })
        .collect::<Vec<_>>()
        .join("\n");
    let prefix = format!("http://127.0.0.1:{port}/obligation/");
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link in {text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | ']' | '>' | '<' | '`'))
        .collect();
    chrome
        .run(|driver| async move {
            let mut clicks = Clicks(1);
            driver.goto(&link).await?;
            driver.query(By::Id("login")).first().await?;
            sign_in(&driver, &mut clicks, EDITOR).await?;
            assert_eq!(
                driver.current_url().await?.as_str(),
                link,
                "back at the linked page"
            );
            driver.query(By::Id("facts")).first().await?;
            fill(&driver, "mark-done", "receipt", "京通管〔2026〕第0100号").await?;
            let button = driver.query(By::Id("mark-done-button")).first().await?;
            clicks.on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            assert_eq!(clicks.0, 3, "clicks from the reminder to done");
            // Done in the register, too: off the CLI's agenda.
            let key = link.trim_start_matches(&prefix);
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            let agenda = cli_agenda(&r, &["--days", "3660"]);
            assert!(!agenda.iter().any(|row| is_key(row, &key)), "{key} is done");
            drop(daemon);
            Ok(())
        })
        .await;
}

/// Width and height from a PNG's header (IHDR, right after the signature).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// Writes a screenshot to docs/ when it is not there yet or when
/// UPDATE_EXPECT=1 asks for new goldens: the running daemon follows the
/// real clock, so days left and dates move and a plain run must not
/// rewrite the docs.
fn keep_screenshot(name: &str, png: &[u8]) {
    assert_eq!(png_size(png), WINDOW, "{name}: the fixed window");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    if !path.exists() || std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        std::fs::write(&path, png).unwrap();
    }
}

/// The agenda and an obligation's page in zh-CN, as docs/web-agenda.png
/// and docs/web-obligation.png show them.
#[tokio::test]
async fn screenshots_of_the_agenda_and_an_obligation() {
    let Some((chrome, _register, daemon)) = console() else {
        return;
    };
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, EDITOR).await?;
            driver.goto(daemon.url("/?days=365")).await?;
            driver.query(By::Id("agenda")).first().await?;
            keep_screenshot("web-agenda.png", &driver.screenshot_as_png().await?);
            let (key, _, _) = agenda_rows(&driver)
                .await?
                .into_iter()
                .find(|(_, kind, _)| kind == "annual_report")
                .expect("an annual report on the agenda");
            open(&driver, &mut Clicks::default(), &key).await?;
            driver.query(By::Id("facts")).first().await?;
            keep_screenshot("web-obligation.png", &driver.screenshot_as_png().await?);
            Ok(())
        })
        .await;
}

/// An admin imports a sheet from the browser: the dry run's report comes
/// first and writes nothing, the confirmation writes it. An editor has no
/// import, and a sheet past the upload cap is refused with nothing written.
#[tokio::test]
async fn an_admin_imports_a_sheet_after_its_dry_run() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let r = console_register();
    let sheet = r.dir().join("new-clients.csv");
    std::fs::write(
        &sheet,
        "许可证编号,持证单位,统一社会信用代码,业务种类,发证日期,有效期至\n\
         京B2-20230099,北京导入示例科技有限公司,91110000600037341L,B24,2023-06-01,2028-05-31\n",
    )
    .unwrap();
    let huge = r.dir().join("huge.csv");
    let row = "京B2-20230098,北京过大示例有限公司,91110000600037341L,B24,2023-06-01,2028-05-31\n";
    std::fs::write(&huge, row.repeat(9 * 1024 * 1024 / row.len() + 1)).unwrap();
    let daemon = Daemon::start(&r, "127.0.0.1:0", "");
    chrome
        .run(|driver| async move {
            // An editor: no import in the menu, the page refused.
            signed_in(&driver, &daemon, EDITOR).await?;
            assert!(driver.find_all(By::Id("nav-import")).await?.is_empty());
            driver.goto(daemon.url("/import")).await?;
            assert!(driver.find_all(By::Id("import")).await?.is_empty());
            driver.goto(daemon.url("/")).await?;
            let button = driver.query(By::Id("logout-button")).first().await?;
            Clicks::default().on(&driver, button).await?;

            sign_in(&driver, &mut Clicks::default(), ADMIN).await?;
            let nav = driver.query(By::Id("nav-import")).first().await?;
            Clicks::default().on(&driver, nav).await?;
            let before = r.dump();
            let file = driver
                .query(By::Css("#import [name=\"sheet\"]".into()))
                .first()
                .await?;
            file.send_keys(sheet.to_str().unwrap()).await?;
            let button = driver.query(By::Id("import-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            let report = driver.query(By::Id("import-report")).first().await?;
            assert!(
                report.text().await?.contains("京B2-20230099"),
                "{}",
                report.text().await?
            );
            assert_eq!(r.dump(), before, "the dry run writes nothing");
            let confirm = driver
                .query(By::Id("import-confirm-button"))
                .first()
                .await?;
            Clicks::default().on(&driver, confirm).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            assert!(text.contains("已导入"), "{text}");
            let licences = r.ok(&["--format", "json", "licence", "list"]);
            assert!(licences.contains("京B2-20230099"), "{licences}");

            // Past the cap: refused, nothing written.
            let before = r.dump();
            driver.goto(daemon.url("/import")).await?;
            let file = driver
                .query(By::Css("#import [name=\"sheet\"]".into()))
                .first()
                .await?;
            file.send_keys(huge.to_str().unwrap()).await?;
            let button = driver.query(By::Id("import-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            assert!(driver.find_all(By::Id("import-report")).await?.is_empty());
            assert!(driver.find_all(By::Id("import-confirm")).await?.is_empty());
            assert_eq!(r.dump(), before, "nothing written");
            Ok(())
        })
        .await;
}

/// An editor adds a company from the register page: a mistyped USCC gets
/// the CLI's own message on the page, the fields as typed, and nothing
/// written; corrected, the company is added.
#[tokio::test]
async fn a_mistyped_company_gets_the_clis_message_and_changes_nothing() {
    let Some((chrome, r, daemon)) = console() else {
        return;
    };
    let (good, bad) = ("91110000600037341L", "91110000600037341X");
    let name = "北京网页新增示例有限公司";
    let cli = r.fails(&["company", "add", "--uscc", bad, "--name", name]);
    let cli = cli.trim_start_matches("licwatch: ").to_owned();
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, EDITOR).await?;
            let nav = driver.query(By::Id("nav-companies")).first().await?;
            Clicks::default().on(&driver, nav).await?;
            let summary = driver
                .query(By::Css("details summary".into()))
                .first()
                .await?;
            summary.click().await?;
            let before = r.dump();
            fill(&driver, "company-add", "uscc", bad).await?;
            fill(&driver, "company-add", "name", name).await?;
            let button = driver.query(By::Id("company-add-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "error", "{text}");
            assert!(
                text.contains(&cli),
                "the page says {text:?}, the CLI {cli:?}"
            );
            let typed = driver
                .query(By::Css("#company-add [name=\"name\"]".into()))
                .first()
                .await?;
            assert_eq!(
                typed.value().await?.as_deref(),
                Some(name),
                "the fields as typed"
            );
            assert_eq!(r.dump(), before, "nothing written");

            fill(&driver, "company-add", "uscc", good).await?;
            let button = driver.query(By::Id("company-add-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            assert_eq!(
                driver.current_url().await?.path(),
                format!("/company/{good}")
            );
            let companies = r.ok(&["--format", "json", "company", "list"]);
            assert!(companies.contains(name), "{companies}");
            Ok(())
        })
        .await;
}

/// An editor adds a number from the register page, then activates and
/// releases it on its page, through the CLI's `number` code.
#[tokio::test]
async fn an_editor_adds_a_number_activates_and_releases_it() {
    let Some((chrome, r, daemon)) = console() else {
        return;
    };
    let day = today().to_string();
    chrome
        .run(|driver| async move {
            signed_in(&driver, &daemon, EDITOR).await?;
            let nav = driver.query(By::Id("nav-numbers")).first().await?;
            Clicks::default().on(&driver, nav).await?;
            let summary = driver
                .query(By::Css("details summary".into()))
                .first()
                .await?;
            summary.click().await?;
            fill(&driver, "number-add", "number", "968765").await?;
            fill(&driver, "number-add", "licence", "京B2-20201234").await?;
            fill(&driver, "number-add", "allocated", &day).await?;
            let button = driver.query(By::Id("number-add-button")).first().await?;
            Clicks::default().on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "ok", "{text}");
            assert_eq!(driver.current_url().await?.path(), "/number/968765");

            // No carrier typed: the CLI's refusal, nothing written.
            let before = r.dump();
            fill(&driver, "number-activate", "on", &day).await?;
            fill(&driver, "number-activate", "carrier", " ").await?;
            let button = driver
                .query(By::Id("number-activate-button"))
                .first()
                .await?;
            Clicks::default().on(&driver, button).await?;
            let (class, text) = message(&driver).await?;
            assert_eq!(class, "error", "{text}");
            assert!(text.contains("--carrier: empty"), "{text}");
            assert_eq!(r.dump(), before, "nothing written");

            fill(&driver, "number-activate", "carrier", "中国电信").await?;
            fill(&driver, "number-activate", "direction", "both").await?;
            let button = driver
                .query(By::Id("number-activate-button"))
                .first()
                .await?;
            Clicks::default().on(&driver, button).await?;
            let activated = driver.query(By::Css("td.activated".into())).first().await?;
            assert_eq!(activated.text().await?, day);

            fill(&driver, "number-release", "on", &day).await?;
            let button = driver
                .query(By::Id("number-release-button"))
                .first()
                .await?;
            Clicks::default().on(&driver, button).await?;
            let released = driver.query(By::Css("td.released".into())).first().await?;
            assert_eq!(released.text().await?, day);
            let numbers: Vec<serde_json::Value> =
                serde_json::from_str(&r.ok(&["--format", "json", "number", "list"])).unwrap();
            let added = numbers.iter().find(|n| n["number"] == "968765").unwrap();
            assert_eq!(added["direction"], "both", "{added}");
            assert_eq!(added["released_on"], day.as_str());
            Ok(())
        })
        .await;
}
