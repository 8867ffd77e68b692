//! The web console over HTTP, against the real daemon on 127.0.0.1: what a
//! browser sends, byte for byte, and what an attacker would send instead.
//! The browser itself is driven by tests/it/browser.rs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::{Register, USCC};
use crate::support::{free_port, serve};

const EDITOR: (&str, &str) = ("wang", "editor-pass-2026");
const VIEWER: (&str, &str) = ("li", "viewer-pass-2026");
const XSS_NAME: &str = "<script>alert('x')</script>示例呼叫中心";
/// Overdue on any day after 2025-03-31: the 2024 report of the seeded licence.
const REPORT: &str = "annual_report/京B2-20241234/2024";
const REPORT_PATH: &str = "/obligation/annual_report%2F%E4%BA%ACB2-20241234%2F2024";

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }

    /// The value a Set-Cookie header gives `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie").into_iter().find_map(|line| {
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// The first `name="csrf" value="…"` of the page.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

struct Console {
    child: Child,
    port: u16,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Console {
    /// The daemon with its listener on, once it says it listens.
    fn start(r: &Register) -> Console {
        Console::start_with(r, "")
    }

    /// … with more `[http]` keys.
    fn start_with(r: &Register, http: &str) -> Console {
        let port = free_port();
        std::fs::write(
            r.dir().join("config.toml"),
            format!("[http]\nlisten = \"127.0.0.1:{port}\"\n{http}"),
        )
        .unwrap();
        let mut child = serve(r, &["serve"])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines
                .next()
                .expect("the daemon stopped before it listened")
                .unwrap();
            if line.contains("http listener") {
                break;
            }
        }
        // The rest of the log is drained so the daemon never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Console { child, port }
    }

    fn send(&self, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // A refused body may be answered before it is all sent.
        let _ = stream.write_all(request);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        Reply {
            status: head
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or(0),
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    fn get(&self, path: &str, cookie: &str) -> Reply {
        self.send(
            format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
                self.port
            )
            .as_bytes(),
        )
    }

    fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.port,
                body.len()
            )
            .as_bytes(),
        )
    }

    /// Posts a form the console must refuse: 422, the refusal's words on
    /// the page (as HTML escapes them), and the register as it was.
    fn refused(&self, r: &Register, path: &str, cookie: &str, form: &[(&str, &str)], words: &str) {
        let before = r.dump();
        let reply = self.post(path, cookie, form);
        assert_eq!(reply.status, 422, "{}", reply.body);
        let escaped = words.replace('"', "&quot;");
        assert!(
            reply.body.contains(&escaped),
            "{words} not in {}",
            reply.body
        );
        assert_eq!(r.dump(), before, "refused: nothing written");
    }

    /// Signs in through the form as a browser would; the session cookie.
    fn login(&self, (user, password): (&str, &str)) -> String {
        let reply = self.try_login(user, password, "");
        assert_eq!(reply.status, 303, "login of {user}: {}", reply.head);
        format!(
            "licwatch_session={}",
            reply.cookie("licwatch_session").unwrap()
        )
    }

    fn try_login(&self, user: &str, password: &str, cookie: &str) -> Reply {
        let form = self.get("/login", cookie);
        let token = form.cookie("licwatch_login").unwrap();
        let cookie = format!("{cookie}; licwatch_login={token}");
        self.post(
            "/login",
            cookie.trim_start_matches("; "),
            &[
                ("csrf", &form.csrf()),
                ("user", user),
                ("password", password),
                ("next", "/"),
            ],
        )
    }
}

/// A register with one licence whose 2024 report is overdue, a company
/// named with markup, an editor and a viewer.
fn setup() -> Register {
    let r = Register::new();
    r.ok(&["company", "add", "--uscc", USCC, "--name", XSS_NAME]);
    r.ok(&[
        "licence",
        "add",
        "--number",
        "京B2-20241234",
        "--holder",
        USCC,
        "--items",
        "B24",
        "--issued",
        "2024-06-01",
        "--expires",
        "2029-05-31",
    ]);
    r.add_user(EDITOR.0, "editor", EDITOR.1);
    r.add_user(VIEWER.0, "viewer", VIEWER.1);
    r
}

#[test]
fn a_person_signs_in_with_the_right_password_only_and_the_session_is_new() {
    let r = setup();
    let console = Console::start(&r);
    let page = console.get("/", "");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), ["/login?next=%2F"]);

    let wrong = console.try_login(EDITOR.0, "not-the-password", "");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("id=\"message\""), "{}", wrong.body);
    assert!(wrong.cookie("licwatch_session").is_none());
    let nobody = console.try_login("nobody", EDITOR.1, "");
    assert_eq!(nobody.status, 401);
    assert_eq!(
        nobody.body.contains("用户名或密码错误"),
        wrong.body.contains("用户名或密码错误")
    );

    // Fixation: a session id planted before login is not the one after,
    // and opens nothing.
    let planted =
        "licwatch_session=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    let ok = console.try_login(EDITOR.0, EDITOR.1, planted);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), ["/"]);
    let session = ok.cookie("licwatch_session").unwrap();
    assert!(!planted.ends_with(&session));
    assert_eq!(session.len(), 64);
    let set = ok.header("set-cookie").join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "no Secure on plain loopback: {set}"
    );
    assert_eq!(console.get("/", planted).status, 303);
    let cookie = format!("licwatch_session={session}");
    let agenda = console.get("/", &cookie);
    assert_eq!(agenda.status, 200);
    assert!(
        agenda.body.contains(&format!("data-key=\"{REPORT}\"")),
        "{}",
        agenda.body
    );

    // Logging in again replaces the session; logging out ends it.
    let again = console.login(EDITOR);
    assert_ne!(again, cookie);
    let page = console.get("/", &again);
    let out = console.post("/logout", &again, &[("csrf", &page.csrf())]);
    assert_eq!(out.status, 303);
    assert_eq!(console.get("/", &again).status, 303, "signed out");
    assert_eq!(
        console.get("/", &cookie).status,
        200,
        "the other session lives on"
    );
}

#[test]
fn five_wrong_passwords_lock_the_account_even_for_the_right_one() {
    let r = setup();
    let console = Console::start(&r);
    for _ in 0..5 {
        assert_eq!(
            console.try_login(EDITOR.0, "guess-guess-guess", "").status,
            401
        );
    }
    let locked = console.try_login(EDITOR.0, EDITOR.1, "");
    assert_eq!(locked.status, 429);
    assert!(locked.cookie("licwatch_session").is_none());
    assert!(locked.body.contains("15 分钟"), "{}", locked.body);
}

#[test]
fn a_post_without_its_csrf_token_or_from_another_site_changes_nothing() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let before = r.dump();
    let done = format!("{REPORT_PATH}/done");
    let form = [("on", "2025-03-20"), ("receipt", "R-1")];
    assert_eq!(console.post(&done, &cookie, &form).status, 403);
    let mut forged = form.to_vec();
    forged.push(("csrf", "0000"));
    assert_eq!(console.post(&done, &cookie, &forged).status, 403);
    // The right token, from another origin.
    let token = console.get(REPORT_PATH, &cookie).csrf();
    let body = format!("csrf={token}&on=2025-03-20");
    let cross = console.send(
        format!(
            "POST {done} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: https://evil.example\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            console.port,
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(cross.status, 403);
    // Not signed in at all.
    assert_eq!(console.post(&done, "", &forged).status, 403);
    assert_eq!(r.dump(), before);
}

#[test]
fn an_editor_marks_an_obligation_done_with_its_evidence_and_it_leaves_the_agenda() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let page = console.get(REPORT_PATH, &cookie);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"mark-done\""));

    // A day in the future is refused with the CLI's words, and nothing changes.
    console.refused(
        &r,
        &format!("{REPORT_PATH}/done"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2999-01-01"),
            ("receipt", "R-7"),
        ],
        "--on 2999-01-01",
    );

    // An alert still waiting to go out (as a retry would be).
    rusqlite::Connection::open(r.db())
        .unwrap()
        .execute(
            "INSERT INTO outbox (obligation, stage, route, kind, nominal, send_on, severity, state, next_attempt_at, created_at)
             VALUES (?1, 7, 'ops', 'annual_report', '2025-04-07', '2025-04-07', 'critical', 'pending', '2999-01-01T00:00:00Z', '2025-04-07T01:30:00Z')",
            [REPORT],
        )
        .unwrap();
    let done = console.post(
        &format!("{REPORT_PATH}/done"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2025-03-20"),
            ("receipt", "京通报〔2025〕123号"),
            ("note", "filed by <b>wang</b>"),
            ("carried_out", "yes"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let agenda = console.get(&done.header("location")[0], &cookie);
    assert!(agenda.body.contains("id=\"message\""));
    assert!(!agenda.body.contains(&format!("data-key=\"{REPORT}\"")));
    let state: String = rusqlite::Connection::open(r.db())
        .unwrap()
        .query_row(
            "SELECT state FROM outbox WHERE obligation = ?1 AND route = 'ops'",
            [REPORT],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(state, "cancelled", "its pending alert is cancelled");
    assert_eq!(
        console.get(REPORT_PATH, &cookie).status,
        404,
        "no longer open"
    );

    let history: Vec<serde_json::Value> =
        serde_json::from_str(&r.ok(&["--format", "json", "history"])).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["action"], "report file");
    assert_eq!(last["user"], "wang");
    assert_eq!(last["source"], "web");
    assert_eq!(last["address"], "127.0.0.1");
    assert_eq!(last["receipt"], "京通报〔2025〕123号");
    let page = console.get("/history", &cookie);
    assert!(
        page.body
            .contains("<td class=\"source\">网页 127.0.0.1</td>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<td class=\"receipt\">京通报〔2025〕123号</td>")
    );
    assert!(page.body.contains("filed by &lt;b&gt;wang&lt;/b&gt;"));
}

#[test]
fn a_viewer_sees_no_buttons_and_cannot_post() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(VIEWER);
    let page = console.get(REPORT_PATH, &cookie);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"mark-done\""));
    assert!(!page.body.contains("id=\"snooze\""));
    let before = r.dump();
    // The logout form still carries the session's token.
    let token = page.csrf();
    for action in ["done", "snooze"] {
        let reply = console.post(
            &format!("{REPORT_PATH}/{action}"),
            &cookie,
            &[
                ("csrf", &token),
                ("on", "2025-03-20"),
                ("until", "2031-01-01"),
                ("reason", "x"),
            ],
        );
        assert_eq!(reply.status, 403, "{action}");
    }
    assert_eq!(r.dump(), before);
}

#[test]
fn a_company_name_with_markup_is_shown_as_text() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(VIEWER);
    for path in ["/", "/companies", "/licences", REPORT_PATH, "/history"] {
        let page = console.get(path, &cookie);
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>"), "{path}: {}", page.body);
        assert!(
            page.body
                .contains("&lt;script&gt;alert('x')&lt;/script&gt;示例呼叫中心"),
            "{path}: {}",
            page.body
        );
    }
}

#[test]
fn every_answer_carries_the_security_headers_and_bodies_are_capped() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(VIEWER);
    for reply in [
        console.get("/login", ""),
        console.get("/", &cookie),
        console.get("/", ""),
        console.get("/static/app.css", ""),
        console.get("/healthz", ""),
    ] {
        assert_eq!(
            reply.header("content-security-policy"),
            [
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ],
            "{}",
            reply.head
        );
        assert_eq!(reply.header("x-content-type-options"), ["nosniff"]);
        assert_eq!(reply.header("referrer-policy"), ["same-origin"]);
    }
    assert!(
        !console.get("/", &cookie).body.contains("<script"),
        "no script at all"
    );
    let big = "x".repeat(100 * 1024);
    let reply = console.post(
        &format!("{REPORT_PATH}/snooze"),
        &cookie,
        &[("csrf", "x"), ("reason", &big)],
    );
    assert_eq!(reply.status, 413);
}

#[test]
fn the_register_forms_check_as_the_cli_does_and_write_nothing_when_refused() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let page = console.get("/companies", &cookie);
    assert!(page.body.contains("id=\"company-add\""));
    // The CLI's own words.
    let cli = r.fails(&[
        "company",
        "add",
        "--uscc",
        "91110108551385082X",
        "--name",
        "乙公司",
    ]);
    console.refused(
        &r,
        "/companies",
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("uscc", "91110108551385082X"),
            ("name", "乙公司"),
        ],
        cli.trim_start_matches("licwatch: "),
    );

    let good = console.post(
        "/companies",
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("uscc", "91310000MA1FL0XX2F"),
            ("name", "上海乙呼叫中心"),
            ("emails", "a@example.cn, b@example.cn"),
        ],
    );
    assert_eq!(good.status, 303, "{}", good.body);
    let company: serde_json::Value =
        serde_json::from_str(&r.ok(&["--format", "json", "company", "show", "91310000MA1FL0XX2F"]))
            .unwrap();
    assert_eq!(
        company["emails"],
        serde_json::json!(["a@example.cn", "b@example.cn"])
    );

    // A licence's expiry moved through its edit form.
    let path = "/licence/%E4%BA%ACB2-20241234";
    let page = console.get(path, &cookie);
    assert!(page.body.contains("id=\"licence-edit\""));
    let saved = console.post(
        path,
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("items", "B24"),
            ("issued", "2024-06-01"),
            ("expires", "2029-05-30"),
            ("authority", "北京市通信管理局"),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        r.ok(&["licence", "show", "京B2-20241234"])
            .contains("2029-05-30")
    );
}

#[test]
fn a_trusted_proxy_names_the_account_and_any_other_peer_is_ignored() {
    let r = setup();
    let sso = "proxy_user_header = \"X-Remote-User\"\n";
    let console = Console::start_with(&r, &format!("{sso}trusted_proxies = [\"127.0.0.1\"]\n"));
    let as_user = |name: &str| {
        console.send(
            format!(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Remote-User: {name}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
    };
    let page = as_user(VIEWER.0);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<span id=\"whoami\" data-role=\"viewer\">li（只读）</span>"),
        "{}",
        page.body
    );
    assert!(page.cookie("licwatch_session").is_some());
    assert_eq!(as_user("nobody").status, 303, "no such account");
    drop(console);

    let console = Console::start_with(&r, &format!("{sso}trusted_proxies = [\"::1\"]\n"));
    let reply = console.send(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Remote-User: wang\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        reply.status, 303,
        "127.0.0.1 is not the proxy: {}",
        reply.head
    );
}

/// A browser's multipart upload of one file.
fn multipart(csrf: &str, filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    multipart_with(csrf, filename, data, &[])
}

/// A browser's multipart upload of one file and the form's other `fields`.
fn multipart_with(
    csrf: &str,
    filename: &str,
    data: &[u8],
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let boundary = "----licwatchTestBoundary7MA4YWxkTrZu0gW";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n");
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    let mut body = format!(
        "{body}--{boundary}\r\nContent-Disposition: form-data; name=\"sheet\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Console {
    fn upload(&self, cookie: &str, content_type: &str, body: &[u8]) -> Reply {
        let mut request = format!(
            "POST /import HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {cookie}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.send(&request)
    }
}

#[test]
fn an_admin_imports_a_sheet_after_seeing_its_dry_run() {
    let r = setup();
    r.add_user("zhao", "admin", "admin-pass-2026");
    let console = Console::start(&r);
    let sheet = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clients.csv"),
    )
    .unwrap();

    let editor = console.login(EDITOR);
    let token = console.get("/", &editor).csrf();
    let (kind, body) = multipart(&token, "clients.csv", &sheet);
    assert_eq!(
        console.upload(&editor, &kind, &body).status,
        403,
        "an editor"
    );

    let admin = console.login(("zhao", "admin-pass-2026"));
    let form = console.get("/import", &admin);
    assert!(form.body.contains("id=\"import\""));
    let before = r.dump();
    let (kind, body) = multipart(&form.csrf(), "clients.csv", &sheet);
    let dry = console.upload(&admin, &kind, &body);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(dry.body.contains("id=\"import-report\""), "{}", dry.body);
    assert!(dry.body.contains("id=\"import-confirm\""));
    assert_eq!(r.dump(), before, "a dry run writes nothing");

    let at = dry.body.find("name=\"upload\" value=\"").unwrap() + "name=\"upload\" value=\"".len();
    let upload = &dry.body[at..at + 64];
    let done = console.post(
        "/import/confirm",
        &admin,
        &[("csrf", &form.csrf()), ("upload", upload)],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("已导入"), "{}", done.body);
    assert_ne!(r.dump(), before);
    // Confirmed once only.
    let again = console.post(
        "/import/confirm",
        &admin,
        &[("csrf", &form.csrf()), ("upload", upload)],
    );
    assert_eq!(again.status, 410);

    // Too large: refused before it is read.
    let (kind, body) = multipart(&form.csrf(), "big.csv", &vec![b'x'; 9 * 1024 * 1024]);
    assert_eq!(console.upload(&admin, &kind, &body).status, 413);
}

#[test]
fn an_editor_snoozes_an_obligation_within_its_due_day_only() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let path = "/obligation/renewal%2F%E4%BA%ACB2-20241234%2F2029-05-31";
    let page = console.get(path, &cookie);
    assert_eq!(page.status, 200, "{}", page.body);
    console.refused(
        &r,
        &format!("{path}/snooze"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("until", "2031-01-01"),
            ("reason", "等待材料"),
        ],
        "--until 2031-01-01: after the due day",
    );
    let ok = console.post(
        &format!("{path}/snooze"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("until", "2028-12-31"),
            ("reason", "等待材料"),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    let page = console.get(&ok.header("location")[0], &cookie);
    assert!(page.body.contains("id=\"message\""));
    assert!(page.body.contains("暂停提醒至 2028-12-31"), "{}", page.body);
}

#[test]
fn marking_a_number_activated_takes_its_carrier_and_direction() {
    let r = setup();
    r.ok(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20241234",
        "--allocated",
        "2026-09-15",
    ]);
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let agenda = console.get("/?kind=number_activation&days=365", &cookie);
    let key = "number_activation/京B2-20241234/962345/2026-09-15";
    assert!(
        agenda.body.contains(&format!("data-key=\"{key}\"")),
        "{}",
        agenda.body
    );
    let path = "/obligation/number_activation%2F%E4%BA%ACB2-20241234%2F962345%2F2026-09-15";
    let page = console.get(path, &cookie);
    assert!(page.body.contains("name=\"carrier\""));
    console.refused(
        &r,
        &format!("{path}/done"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2026-10-01"),
            ("direction", "inbound"),
        ],
        "--carrier: empty",
    );
    let done = console.post(
        &format!("{path}/done"),
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2026-10-01"),
            ("carrier", "中国电信"),
            ("direction", "both"),
            ("receipt", "工信部码号系统 2026-1001"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let number: serde_json::Value =
        serde_json::from_str(&r.ok(&["--format", "json", "number", "list"])).unwrap();
    assert_eq!(number[0]["activated_on"], "2026-10-01", "{number}");
    assert_eq!(number[0]["direction"], "both");
}

/// The words of a page a person reads: its text outside tags, entities left
/// as they are (none of them spells a word).
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[test]
fn an_obligation_page_says_everything_in_chinese() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let page = console.get(REPORT_PATH, &cookie);
    assert_eq!(page.status, 200);
    // The history below is the register's record as it was written.
    let history = page.body.find("<table id=\"history\">").unwrap();
    let text = visible_text(&page.body[..history]);
    // What is due, a stage moved over a weekend (2025-03-01 was a Saturday)
    // and a stage a newer one overtook, each in Chinese.
    for words in [
        "在电信业务经营许可管理系统中报送 2024 年度年报",
        "周末",
        "已跳过",
        "紧急",
    ] {
        assert!(text.contains(words), "{words} missing from {text}");
    }
    // The obligation's key, the account and the route are names, the
    // company's markup is data; every other Latin word on the page is
    // English left untranslated.
    let names = [
        "licwatch",
        "annual_report",
        "wang",
        "script",
        "alert",
        "log",
    ];
    let english: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic() && c != '_')
        .filter(|word| word.len() >= 3 && !names.contains(word))
        .collect();
    assert_eq!(english, Vec::<&str>::new(), "{text}");
}

#[test]
fn an_editor_adds_a_number_then_activates_and_releases_it_as_the_cli_would() {
    let r = setup();
    let console = Console::start(&r);
    let cookie = console.login(EDITOR);
    let list = console.get("/numbers", &cookie);
    assert!(list.body.contains("id=\"number-add\""), "{}", list.body);

    // Allocated before the licence was issued: the CLI's refusal, nothing written.
    let cli = r.fails(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20241234",
        "--allocated",
        "2020-01-01",
    ]);
    console.refused(
        &r,
        "/numbers",
        &cookie,
        &[
            ("csrf", &list.csrf()),
            ("number", "962345"),
            ("licence", "京B2-20241234"),
            ("allocated", "2020-01-01"),
        ],
        cli.trim_start_matches("licwatch: "),
    );

    let added = console.post(
        "/numbers",
        &cookie,
        &[
            ("csrf", &list.csrf()),
            ("number", "962345"),
            ("licence", "京B2-20241234"),
            ("allocated", "2026-09-15"),
        ],
    );
    assert_eq!(added.status, 303, "{}", added.body);
    let page_path = "/number/962345";
    assert!(added.header("location")[0].starts_with(page_path));
    let page = console.get(page_path, &cookie);
    assert!(
        page.body.contains("id=\"number-activate\""),
        "{}",
        page.body
    );

    // No carrier: refused in the CLI's words, nothing written.
    console.refused(
        &r,
        "/number/962345/activate",
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2026-10-01"),
            ("carrier", " "),
            ("direction", "inbound"),
        ],
        "--carrier: empty",
    );

    let activated = console.post(
        "/number/962345/activate",
        &cookie,
        &[
            ("csrf", &page.csrf()),
            ("on", "2026-10-01"),
            ("carrier", "中国联通"),
            ("direction", "outbound"),
        ],
    );
    assert_eq!(activated.status, 303, "{}", activated.body);
    let released = console.post(
        "/number/962345/release",
        &cookie,
        &[("csrf", &page.csrf()), ("on", "2026-11-01")],
    );
    assert_eq!(released.status, 303, "{}", released.body);
    let number: serde_json::Value =
        serde_json::from_str(&r.ok(&["--format", "json", "number", "list"])).unwrap();
    assert_eq!(number[0]["activated_on"], "2026-10-01", "{number}");
    assert_eq!(number[0]["carrier"], "中国联通");
    assert_eq!(number[0]["direction"], "outbound");
    assert_eq!(number[0]["released_on"], "2026-11-01");
    let history = console.get("/history", &cookie);
    assert!(history.body.contains("number release"), "{}", history.body);
}

#[test]
fn a_refusal_is_a_console_page_with_its_status_and_the_way_back() {
    let r = setup();
    let console = Console::start(&r);
    let viewer = console.login(VIEWER);
    let editor = console.login(EDITOR);
    let token = console.get(REPORT_PATH, &editor).csrf();
    let big = "x".repeat(100 * 1024);
    let refusals = [
        (
            console.post(&format!("{REPORT_PATH}/done"), &viewer, &[("csrf", "x")]),
            403,
        ),
        (console.get(&format!("{REPORT_PATH}/done"), &editor), 404),
        (
            console.post(
                &format!("{REPORT_PATH}/snooze"),
                &editor,
                &[("csrf", &token), ("reason", &big)],
            ),
            413,
        ),
    ];
    for (reply, status) in refusals {
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            ["text/html; charset=utf-8"],
            "{status}"
        );
        assert!(
            reply.body.contains("<p id=\"message\" class=\"error\"")
                && reply
                    .body
                    .contains("<a id=\"back\" href=\"/\">返回待办</a>"),
            "{status}: {}",
            reply.body
        );
    }
}

#[test]
fn the_import_form_takes_the_clis_header_row_and_strict() {
    let r = setup();
    r.add_user("zhao", "admin", "admin-pass-2026");
    let console = Console::start(&r);
    let clients = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/clients.csv"),
    )
    .unwrap();
    // A title above the header, and a column the import format does not know.
    let mut sheet = "客户名单\n".to_owned();
    for (index, line) in clients.lines().enumerate() {
        let extra = if index == 0 { "内部编号" } else { "A-1" };
        sheet.push_str(&format!("{line},{extra}\n"));
    }
    let admin = console.login(("zhao", "admin-pass-2026"));
    let csrf = console.get("/import", &admin).csrf();
    let before = r.dump();
    let upload = |fields: &[(&str, &str)]| {
        let (kind, body) = multipart_with(&csrf, "clients.csv", sheet.as_bytes(), fields);
        console.upload(&admin, &kind, &body)
    };

    let typo = upload(&[("header_row", "二")]);
    assert_eq!(typo.status, 422);
    assert!(
        typo.body
            .contains("--header-row &quot;二&quot;: not a row number"),
        "{}",
        typo.body
    );
    let title = upload(&[("header_row", "1")]);
    assert_eq!(title.status, 422);
    assert!(
        title.body.contains("the header row (row 1) cannot be used"),
        "{}",
        title.body
    );
    let strict = upload(&[("header_row", "2"), ("strict", "yes")]);
    assert_eq!(strict.status, 422);
    assert!(strict.body.contains("内部编号"), "{}", strict.body);
    assert_eq!(r.dump(), before, "refused: nothing written");

    let dry = upload(&[("header_row", "2")]);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert!(
        dry.body
            .contains("id=\"import-options\" data-header-row=\"2\" data-strict=\"false\""),
        "{}",
        dry.body
    );
    assert!(
        dry.body.contains("内部编号"),
        "the ignored column is listed"
    );
    assert_eq!(r.dump(), before, "a dry run writes nothing");
    let at = dry.body.find("name=\"upload\" value=\"").unwrap() + "name=\"upload\" value=\"".len();
    let done = console.post(
        "/import/confirm",
        &admin,
        &[("csrf", &csrf), ("upload", &dry.body[at..at + 64])],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("已导入"), "{}", done.body);
    let licences = r.ok(&["--format", "json", "licence", "list"]);
    assert!(licences.contains("京B2-20221234"), "{licences}");
}

#[test]
fn only_a_company_or_licence_not_in_the_register_is_a_404_page() {
    let r = setup();
    let console = Console::start(&r);
    let viewer = console.login(VIEWER);
    for (path, status) in [
        ("/company/not-a-code", 404),
        ("/company/91110000000000001H", 404),
        ("/licence/%E4%BA%ACB2-20249999", 404),
        ("/licence/B2", 404),
        ("/licence/%E4%BA%ACB2-20241234", 200),
    ] {
        let reply = console.get(path, &viewer);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
    }
    // A register that cannot be read is the server's fault, not a page
    // that was never there: the 500 page, with the cause in the log.
    rusqlite::Connection::open(r.db())
        .unwrap()
        .execute("UPDATE licence SET items = 'not an item'", [])
        .unwrap();
    let reply = console.get("/licence/%E4%BA%ACB2-20241234", &viewer);
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert!(reply.body.contains("内部错误"), "{}", reply.body);
}

/// More obligations than a page lists: the counts take every one in the
/// window, the list the earliest 500 in the CLI's order, and a line says
/// how many there are (the page reads the register a slice at a time).
#[test]
fn the_agenda_counts_every_obligation_and_lists_the_earliest_500() {
    let r = setup();
    let header = "许可证编号,持证单位,统一社会信用代码,业务种类,发证日期,有效期至,码号,码号省份,分配日期,联系邮箱,启用日期,运营商,方向";
    let mut sheet = header.to_owned();
    for i in 0..250 {
        sheet.push_str(&format!(
            "\n粤B2-2022{i:04},{XSS_NAME},{USCC},B24,2022-0{}-01,,,,,ops@example.cn,,,",
            1 + i % 9
        ));
    }
    let path = r.dir().join("many.csv");
    std::fs::write(&path, sheet + "\n").unwrap();
    r.ok(&["import", &path.display().to_string()]);
    let agenda: Vec<serde_json::Value> =
        serde_json::from_str(&r.ok(&["--format", "json", "agenda", "--days", "1098"])).unwrap();
    assert!(agenda.len() > 500, "{} obligations", agenda.len());

    let console = Console::start(&r);
    let cookie = console.login(VIEWER);
    let page = console.get("/?days=1098", &cookie);
    assert_eq!(page.status, 200, "{}", page.body);
    let listed: Vec<&str> = page
        .body
        .split("data-key=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    let earliest: Vec<&str> = agenda[..500]
        .iter()
        .map(|o| o["obligation"].as_str().unwrap())
        .collect();
    assert_eq!(listed, earliest);
    assert!(
        page.body
            .contains(&format!("<td id=\"count-total\">{}</td>", agenda.len())),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("共 {} 项，只列出最早到期的 500 项", agenda.len())),
        "{}",
        page.body
    );
}
