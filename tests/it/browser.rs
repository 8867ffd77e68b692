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

use thirtyfour::prelude::*;

use crate::cli::Register;
use crate::daemon::{serve, setup};

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
            let _ = writeln!(std::io::stderr(), "browser test skipped: {why}");
            return None;
        }
        let mut driver = Command::new("chromedriver")
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
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
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(self.chromium.to_str().unwrap()).unwrap();
        caps.set_headless().unwrap();
        // Chromium refuses to start as root with its sandbox on; CI runs
        // .ci/run as root in a container. A normal user keeps the sandbox.
        if is_root() {
            caps.set_no_sandbox().unwrap();
        }
        for arg in [
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
        ] {
            caps.add_arg(&arg).unwrap();
        }
        caps.add_experimental_option(
            "prefs",
            serde_json::json!({ "intl": { "accept_languages": "zh-CN,zh" } }),
        )
        .unwrap();
        // The driver is on the loopback: no proxy from the environment.
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        WebDriver::builder(&self.url, caps)
            .client(client)
            .request_timeout(PATIENCE)
            .await
            .expect("chromedriver starts chromium")
    }
}

impl Chrome {
    /// Runs `test` in a fresh browser session and quits the browser
    /// whatever happens.
    async fn run<F, Fut>(&self, test: F)
    where
        F: FnOnce(WebDriver) -> Fut,
        Fut: Future<Output = WebDriverResult<()>>,
    {
        let driver = self.session().await;
        if let Err(error) = driver.run_and_quit(test).await {
            panic!("{error}");
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
    _log: Receiver<String>,
}

impl Daemon {
    /// Starts the daemon and waits for its first tick's summary: by then
    /// the listener is up and /healthz knows the tick.
    fn start(r: &Register) -> Daemon {
        let config = r.dir().join("config.toml");
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "[delivery]",
            "[http]\nlisten = \"127.0.0.1:0\"\n[delivery]",
            1,
        );
        std::fs::write(&config, text).unwrap();
        let mut child = serve(r, &["serve"])
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
            _log: log,
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

#[tokio::test]
async fn the_browser_reads_the_daemons_health() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let smtp =
        crate::daemon::Smtp::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), true);
    let r = setup(smtp.addr.port(), "");
    let daemon = Daemon::start(&r);
    chrome
        .run(|driver| async move {
            driver.goto(daemon.url("/healthz")).await?;
            let body = driver.query(By::Tag("body")).first().await?;
            assert_eq!(body.text().await?.trim(), "ok");
            Ok(())
        })
        .await;
}
