//! The web console's pages over a register of 10,000 licences (5,000
//! companies, a number each in service, a licence in seven a year behind
//! with its annual reports), served in process by the daemon's listener
//! and fetched over 127.0.0.1 as a browser would, signed in. Target: every
//! page answered in under 50 ms (median of 20 fetches; the slowest is shown
//! too). Run: `cargo bench --bench web`.
//!
//! Figures are printed as `BENCH<TAB>figure<TAB>value<TAB>target<TAB>verdict`
//! lines, which `scripts/bench.sh` collects.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use clap::Parser;
use licwatch::cli::{Cli, run};
use licwatch::config::Config;
use licwatch::domain::province::Province;
use licwatch::store::{Role, Stamp, Store};

mod support;
use support::{uscc, verdict};

const LICENCES: usize = 10_000;
const FETCHES: usize = 20;
const TARGET_MS: f64 = 50.0;

/// Expiries and issues spread over five years up to today, so the agenda
/// holds renewals, reports and activations in every state.
fn write_sheet(path: &Path) {
    let provinces: Vec<Province> = Province::all().collect();
    let start = NaiveDate::from_ymd_opt(2021, 12, 1).unwrap();
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer
        .write_record([
            "许可证编号",
            "持证单位",
            "统一社会信用代码",
            "业务种类",
            "发证日期",
            "码号",
            "分配日期",
            "联系邮箱",
            "启用日期",
            "运营商",
            "方向",
            "已报年报年度",
        ])
        .unwrap();
    for i in 0..LICENCES {
        let company = i / 2;
        let province = provinces[i % 31];
        let issued = start + Days::new((i % 1700) as u64);
        let licence = format!(
            "{}B2-{}{:04}",
            province.abbreviation(),
            2021 + (i % 1700) / 365,
            i
        );
        writer
            .write_record([
                licence.as_str(),
                &format!("示例呼叫中心{company}有限公司"),
                &uscc(company as u64),
                "B24",
                &issued.to_string(),
                &format!("96{:04}", i / 31),
                &(issued + Days::new(30)).to_string(),
                &format!("ops{company}@example.cn"),
                &(issued + Days::new(40)).to_string(),
                "中国电信",
                "inbound",
                // A licence in seven is a year behind with its reports.
                if i % 7 == 0 { "2024" } else { "2025" },
            ])
            .unwrap();
    }
    writer.flush().unwrap();
}

fn fetch(port: u16, path: &str, cookie: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// Signs in as a browser would; the session cookie.
fn login(port: u16) -> String {
    let (_, form) = fetch(port, "/login", "");
    let value = |text: &str, after: &str| {
        let at = text.find(after).expect("the login form") + after.len();
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect::<String>()
    };
    let token = value(&form, "licwatch_login=");
    let body = format!("csrf={token}&user=bench&password=bench-password&next=%2F");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: licwatch_login={token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    format!("licwatch_session={}", value(&answer, "licwatch_session="))
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("web.db");
    let sheet = dir.path().join("clients.csv");
    write_sheet(&sheet);
    run(Cli::parse_from([
        "licwatch",
        "--db",
        &db.display().to_string(),
        "--today",
        "2026-12-01",
        "import",
        &sheet.display().to_string(),
    ]))
    .expect("the generated sheet imports");
    let hash = licwatch::web::auth::hash_password("bench-password").unwrap();
    Store::open(&db)
        .unwrap()
        .add_account(
            &Stamp::cli("bench".into(), chrono::Utc::now()),
            "bench",
            Role::Viewer,
            &hash,
        )
        .unwrap();

    let config = Arc::new(RwLock::new(Arc::new(Config::defaults())));
    let shared = licwatch::cli::http::Shared::new(db.clone(), config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(licwatch::cli::http::bind("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || runtime.block_on(licwatch::cli::http::serve(listener, shared)));

    let cookie = login(port);
    let (status, agenda) = fetch(port, "/?days=3660", &cookie);
    assert_eq!(status, 200, "{agenda:.300}");
    // "共 N 项" when the table is cut at its 500 rows.
    let rows = agenda
        .split("共 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| agenda.matches("<tr data-key=").count());
    let first = agenda
        .split("<a href=\"/obligation/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an obligation on the agenda")
        .to_owned();
    let licence = agenda
        .split("<a href=\"/licence/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("%E4%BA%ACB2-20210000")
        .to_owned();
    println!("BENCH\tregister\t{LICENCES} licences, {rows} open obligations within 10 years\t-\t-");
    let pages = [
        "/".to_owned(),
        "/?days=3660".to_owned(),
        "/?kind=annual_report&state=overdue&days=365".to_owned(),
        format!("/obligation/{first}"),
        "/status".to_owned(),
        "/history".to_owned(),
        "/companies".to_owned(),
        "/companies?q=4999".to_owned(),
        "/licences".to_owned(),
        format!("/licence/{licence}"),
        "/numbers".to_owned(),
    ];
    for page in &pages {
        let mut times: Vec<f64> = (0..FETCHES)
            .map(|_| {
                let started = Instant::now();
                let (status, body) = fetch(port, page, &cookie);
                assert_eq!(status, 200, "{page}: {body:.300}");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[FETCHES / 2];
        let slowest = times[FETCHES - 1];
        println!(
            "BENCH\tweb {page} (median, slowest of {FETCHES})\t{median:.1} ms, {slowest:.1} ms\t< {TARGET_MS} ms\t{}",
            verdict(median < TARGET_MS)
        );
    }
}
