//! The real binary against a temp database: what a person types.

use std::process::Command;

use crate::support::{Register, USCC, assert_every};

fn kinds(agenda: &[serde_json::Value]) -> Vec<(String, String)> {
    agenda
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["due"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn add_agenda_mark_done_and_it_is_gone() {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2026-09-15",
    ]);
    r.ok(&[
        "report",
        "file",
        "京B2-20221234",
        "--year",
        "2024",
        "--on",
        "2025-03-01",
    ]);
    r.ok(&[
        "report",
        "file",
        "京B2-20221234",
        "--year",
        "2025",
        "--on",
        "2026-03-01",
    ]);

    let agenda = r.agenda_json("2026-11-24", "90");
    assert_eq!(
        kinds(&agenda),
        vec![("renewal".into(), "2026-11-30".into())]
    );
    let renewal = &agenda[0];
    assert_eq!(renewal["licence"], "京B2-20221234");
    assert_eq!(renewal["company"], "北京示例呼叫中心有限公司");
    assert_eq!(renewal["number"], serde_json::Value::Null);
    assert_eq!(renewal["year"], serde_json::Value::Null);
    assert_eq!(renewal["days_left"], 6);
    assert_eq!(renewal["state"], "open");
    assert_eq!(renewal["obligation"], "renewal/京B2-20221234/2027-02-28");

    let wider = r.agenda_json("2026-11-24", "120");
    assert_eq!(
        kinds(&wider),
        vec![
            ("renewal".into(), "2026-11-30".into()),
            ("number_outlives_licence".into(), "2027-02-28".into()),
            ("number_activation".into(), "2027-03-15".into()),
        ]
    );

    r.ok(&["renewal", "submit", "京B2-20221234", "--on", "2026-11-24"]);
    r.ok(&[
        "number",
        "activate",
        "962345",
        "--on",
        "2026-11-24",
        "--carrier",
        "中国电信",
        "--direction",
        "inbound",
    ]);
    assert!(r.agenda_json("2026-11-24", "120").is_empty());
    let table = r.ok(&["--today", "2026-11-24", "agenda"]);
    assert!(
        table.starts_with("nothing due in the 90 days from 2026-11-24"),
        "{table}"
    );

    // Overdue when the day passes unmarked; the history says who marked what.
    let history = r.ok(&["history", "京B2-20221234"]);
    assert!(
        history.contains("compliance-lead") && history.contains("renewal submit"),
        "{history}"
    );
}

#[test]
fn readme_session_works_as_written() {
    let r = Register::new();
    let out = r.ok(&[
        "company",
        "add",
        "--uscc",
        USCC,
        "--name",
        "示例呼叫中心",
        "--email",
        "ops@example.cn",
    ]);
    assert!(out.contains("added company"));
    let out = r.ok(&[
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
    ]);
    assert!(
        out.contains("used 2027-02-28 (issued + 5 years - 1 day)"),
        "{out}"
    );
    r.ok(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2026-09-15",
    ]);
    let agenda = r.ok(&["--today", "2026-11-24", "agenda"]);
    assert!(
        agenda.contains("renewal") && agenda.contains("licwatch renewal submit 京B2-20221234"),
        "{agenda}"
    );
    r.ok(&["renewal", "submit", "京B2-20221234", "--on", "2026-11-24"]);
}

#[test]
fn a_company_rename_opens_a_change_filing_that_can_be_filed() {
    let r = Register::new();
    r.seed();
    let out = r.ok(&[
        "company",
        "update",
        USCC,
        "--name",
        "北京新名称有限公司",
        "--on",
        "2026-11-20",
    ]);
    assert!(
        out.contains(
            "recorded change #1 (name) on 2026-11-20 for 京B2-20221234: file it by 2026-12-20"
        ),
        "{out}"
    );
    let agenda = r.agenda_json("2026-11-24", "30");
    let change = agenda
        .iter()
        .find(|o| o["kind"] == "change_filing")
        .unwrap();
    assert_eq!(change["due"], "2026-12-20");
    assert_eq!(change["change_id"], 1);
    r.ok(&["change", "file", "1", "--on", "2026-11-24"]);
    let agenda = r.agenda_json("2026-11-24", "30");
    assert!(!agenda.is_empty());
    assert!(agenda.iter().all(|o| o["kind"] != "change_filing"));
}

#[test]
fn snooze_silences_until_a_day_no_later_than_due_and_explain_shows_the_schedule() {
    let r = Register::new();
    r.seed();
    let key = "renewal/京B2-20221234/2027-02-28";
    let err = r.fails(&[
        "--today",
        "2026-11-24",
        "snooze",
        key,
        "--until",
        "2026-12-05",
        "--reason",
        "waiting for audit",
    ]);
    assert_eq!(
        err,
        "licwatch: --until 2026-12-05: after the due day 2026-11-30; a snooze can last until the due day at most"
    );
    r.ok(&[
        "--today",
        "2026-11-24",
        "snooze",
        key,
        "--until",
        "2026-11-27",
        "--reason",
        "waiting for audit",
    ]);
    let agenda = r.agenda_json("2026-11-24", "10");
    let renewal = agenda.iter().find(|o| o["obligation"] == key).unwrap();
    assert_eq!(renewal["snoozed_until"], "2026-11-27");
    let explain = r.ok(&["--today", "2026-11-24", "explain", key]);
    assert!(explain.contains("snoozed to 2026-11-27"), "{explain}");
    assert!(
        explain.contains(" -30    2026-10-31  2026-10-30  weekend        warning   skipped"),
        "{explain}"
    );
    assert!(
        explain.contains(" -60    2026-10-01  2026-09-30  国庆节"),
        "{explain}"
    );
    let history = r.ok(&["history"]);
    assert!(history.contains("waiting for audit"));
}

#[test]
fn refused_input_names_field_value_and_form_and_changes_nothing() {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "number",
        "add",
        "961234",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2026-01-05",
    ]);
    let before = r.dump();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "company",
                "add",
                "--uscc",
                "91310115MA1H8R7C6D",
                "--name",
                "x",
            ],
            "licwatch: unified social credit code \"91310115MA1H8R7C6D\": check character is \"D\", expected \"7\" (is a character mistyped?)",
        ),
        (
            &["company", "add", "--uscc", USCC, "--name", "again"],
            "licwatch: company 91110108551385082Q (北京示例呼叫中心有限公司) is already registered",
        ),
        (
            &["company", "update", USCC, "--address", "  "],
            "licwatch: --address: empty (give the text as registered)",
        ),
        (
            &["licence", "update", "京B2-20221234", "--authority", ""],
            "licwatch: --authority: empty (give the text as registered)",
        ),
        (
            &[
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
            ],
            "licwatch: licence 京B2-20221234 is already registered",
        ),
        (
            &[
                "licence",
                "add",
                "--number",
                "京ICP证000001号",
                "--holder",
                USCC,
                "--items",
                "B24",
                "--issued",
                "2022-03-01",
            ],
            "licwatch: licence number \"京ICP证000001号\": is an ICP number, not a B-class 增值电信业务经营许可证 (expected B2-20201234, 京B2-20201234 or B1.B2-20090001)",
        ),
        (
            &[
                "licence",
                "add",
                "--number",
                "沪B2-20221234",
                "--holder",
                USCC,
                "--items",
                "B24",
                "--issued",
                "2025-02-29",
            ],
            "licwatch: --issued \"2025-02-29\": no such day in that month (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)",
        ),
        (
            &[
                "licence",
                "add",
                "--number",
                "沪B2-20221234",
                "--holder",
                USCC,
                "--items",
                "B24",
                "--issued",
                "2025-02-01",
                "--expires",
                "2024-01-01",
            ],
            "licwatch: --expires 2024-01-01: is before the issue date 2025-02-01 (rule: the expiry date is on or after the issue date)",
        ),
        (
            &[
                "licence",
                "add",
                "--number",
                "沪B2-20221234",
                "--holder",
                USCC,
                "--items",
                "B29",
                "--issued",
                "2025-02-01",
            ],
            "licwatch: items \"B29\": \"B29\" is not a business item code (accepted: B11 互联网数据中心业务, B12 内容分发网络业务, B13 国内互联网虚拟专用网业务, B14 互联网接入服务业务, B21 在线数据处理与交易处理业务, B22 国内多方通信服务业务, B23 存储转发类业务, B24 国内呼叫中心业务, B25 信息服务业务, B26 编码和规程转换业务)",
        ),
        (
            &[
                "number",
                "add",
                "400123",
                "--licence",
                "京B2-20221234",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: service number \"400123\": must start with 95, 96 or 1010 (accepted: 95 + 3 digits e.g. 95123, 96 + 4 digits e.g. 961234, 1010 + 4 digits e.g. 10101234)",
        ),
        (
            &[
                "number",
                "add",
                "961234",
                "--licence",
                "京B2-20221234",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: number 961234 (北京市) is already registered",
        ),
        (
            &[
                "number",
                "add",
                "95888",
                "--licence",
                "粤B2-20221234",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: licence 粤B2-20221234 is not registered (list them with: licwatch licence list)",
        ),
        (
            &[
                "number",
                "activate",
                "961234",
                "--carrier",
                "中国联通",
                "--direction",
                "sideways",
            ],
            "licwatch: direction \"sideways\": unknown (accepted: inbound, outbound, both)",
        ),
        (
            &[
                "report",
                "file",
                "京B2-20221234",
                "--year",
                "2026",
                "--on",
                "2026-11-24",
            ],
            "licwatch: --on 2026-11-24: the 2026 annual report cannot be filed before 2027-01-01 (rule: the report on business year Y, 年度, is filed from 1 January Y+1, in the first quarter: 办法第三十五条)",
        ),
        (
            &["change", "record", "京B2-20221234", "--kind", "owner"],
            "licwatch: change kind \"owner\": unknown (accepted: name, address, legal-rep, shareholding, capital)",
        ),
        (
            &["change", "file", "x1"],
            "licwatch: change id \"x1\": not a change id (a positive number such as 12, shown by change record and agenda)",
        ),
        (
            &["company", "update", USCC, "--email", "not-an-address"],
            "licwatch: email \"not-an-address\": not an address (expected one address like compliance@example.com; repeat --email for more)",
        ),
        (
            &["--today", "2026-13-01", "agenda"],
            "licwatch: --today \"2026-13-01\": month must be 1-12 (accepted: 2026-03-01, 2026-3-1, 2026/3/1, 2026.3.1, 2026年3月1日, a date cell or an Excel serial such as 46082)",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(&r.fails(args), expected, "{args:?}");
    }
    assert_eq!(r.dump(), before);
}

#[test]
fn full_width_input_is_normalised() {
    let r = Register::new();
    r.ok(&[
        "company",
        "add",
        "--uscc",
        " ９１１１０１０８５５１３８５０８２Ｑ ",
        "--name",
        "示例",
    ]);
    let out = r.ok(&[
        "licence",
        "add",
        "--number",
        "京Ｂ２－２０２２１２３４",
        "--holder",
        USCC,
        "--items",
        "b24，b25",
        "--issued",
        "２０２２－０３－０１",
    ]);
    assert!(out.starts_with("added licence 京B2-20221234"), "{out}");
    let list = r.ok(&["--format", "json", "licence", "list"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["items"], serde_json::json!(["B24", "B25"]));
}

#[test]
fn a_newer_database_is_refused_by_the_cli() {
    let r = Register::new();
    r.seed();
    rusqlite::Connection::open(r.db())
        .unwrap()
        .pragma_update(None, "user_version", 42)
        .unwrap();
    let err = r.fails(&["licence", "list"]);
    assert!(
        err.contains(
            "schema version 42 is newer than this licwatch supports (6); upgrade licwatch"
        ),
        "{err}"
    );
}

#[test]
fn a_write_waits_for_another_process_instead_of_failing() {
    let r = Register::new();
    r.seed();
    let conn = rusqlite::Connection::open(r.db()).unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO snooze VALUES ('held', '2030-01-01', 'lock');",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_licwatch"))
        .args([
            "change",
            "record",
            "京B2-20221234",
            "--kind",
            "capital",
            "--on",
            "2026-11-20",
        ])
        .env("LICWATCH_DB", r.db())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The other writer holds its transaction for a while; nothing to wait on
    // but time, since the point is that the CLI blocks meanwhile.
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the CLI did not wait for the lock"
    );
    conn.execute_batch("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        r.agenda_json("2026-11-24", "30")
            .iter()
            .any(|o| o["kind"] == "change_filing")
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let r = Register::new();
    r.seed();
    let mut child = Command::new(env!("CARGO_BIN_EXE_licwatch"))
        .args(["config", "example"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn notify_test_sends_through_a_configured_route_and_config_check_masks_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    // The CLI signs with the wall clock, so the receiver checks against it.
    let receiver = runtime.block_on(crate::notify::robots::receiver(chrono::Utc::now(), secret));
    let r = Register::new();
    let config = r.dir().join("config.toml");
    std::fs::write(
        &config,
        "[routes.erp]\nkind = \"webhook\"\nurl_env = \"ERP_URL\"\nsecret_env = \"ERP_SECRET\"\n",
    )
    .unwrap();
    let url = format!(
        "http://{}/hooks/licwatch?token=abcdefghijklmnop",
        receiver.robot.addr
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_licwatch"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("ERP_URL", &url)
            .env("ERP_SECRET", secret)
            .output()
            .unwrap()
    };
    let check = run(&["config", "check"]);
    let check = String::from_utf8(check.stdout).unwrap();
    assert!(check.contains("erp: webhook http://127.0.0.1:"), "{check}");
    assert!(check.contains("token=***mnop"), "{check}");
    assert!(!check.contains("abcdefghijkl"), "{check}");

    let sent = run(&["notify", "test", "erp"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert_eq!(receiver.robot.requests(), 1);
    assert_eq!(receiver.robot.accepted().len(), 1);

    receiver
        .script
        .lock()
        .unwrap()
        .push_back(crate::notify::fake::Response::text(410, "gone"));
    let refused = run(&["notify", "test", "erp"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("410"), "{stderr}");
    let unknown = run(&["notify", "test", "nope"]);
    assert_eq!(
        String::from_utf8(unknown.stderr).unwrap().trim_end(),
        "licwatch: route \"nope\": not configured (configured: erp)"
    );
}

#[test]
fn a_mistyped_database_path_is_not_an_empty_register() {
    let r = Register::new();
    let err = r.fails(&["agenda"]);
    assert!(err.starts_with("licwatch: no register at "), "{err}");
    assert!(!r.db().exists(), "a read-only command created the file");
}

#[test]
fn a_mark_dated_after_today_is_refused() {
    let r = Register::new();
    r.seed();
    assert_eq!(
        r.fails(&[
            "--today",
            "2026-11-24",
            "renewal",
            "submit",
            "京B2-20221234",
            "--on",
            "2026-11-25"
        ]),
        "licwatch: --on 2026-11-25: is after today (2026-11-24) (rule: the register records what has happened, on the day it did)"
    );
}

/// Every command path under `licwatch`, e.g. `["company", "add"]`, read from
/// the same definition the binary parses with.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands() {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&licwatch::cli::command(), &[], &mut out);
    out
}

#[test]
fn completions_and_manual_pages_name_every_command() {
    let register = Register::new();
    let paths = command_paths();
    assert!(paths.len() > 40, "{paths:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = register.ok(&["completions", shell]);
        for path in &paths {
            let name = path.last().unwrap();
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {}",
                path.join(" ")
            );
        }
    }
    let bash = register.ok(&["completions", "bash"]);
    // Through a file: the script is longer than one argument may be.
    let script = register.dir().join("licwatch.bash");
    std::fs::write(&script, &bash).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {check:?}");

    let page = register.ok(&["man"]);
    assert!(page.starts_with(".ie"), "not roff: {page:.80}");
    for path in paths.iter().filter(|path| path.len() == 1) {
        assert!(
            page.contains(&format!("licwatch\\-{}(1)", path[0].replace('-', "\\-"))),
            "licwatch.1 does not cite licwatch-{}(1)",
            path[0]
        );
    }
    let dir = register.dir().join("man1");
    std::fs::create_dir(&dir).unwrap();
    register.ok(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(dir.join("licwatch.1").is_file());
    for path in &paths {
        let file = dir.join(format!("licwatch-{}.1", path.join("-")));
        assert!(file.is_file(), "no page {}", file.display());
    }
}

#[test]
fn version_names_the_holiday_years_it_ships() {
    let version = Register::new().ok(&["--version"]);
    let years: Vec<String> = licwatch::domain::calendar::Calendar::embedded()
        .years()
        .map(|year| year.to_string())
        .collect();
    assert_eq!(
        version.trim_end(),
        format!(
            "licwatch {} (holiday calendar {}; add later years with calendar.holiday_files)",
            env!("CARGO_PKG_VERSION"),
            years.join(", ")
        )
    );
    assert!(years.contains(&"2026".to_owned()), "{version}");
}

/// The words of an example as the shell would pass them to licwatch: no
/// leading `VAR=value`, nothing from a redirection or pipe on, quotes removed.
fn example_words(line: &str) -> Vec<String> {
    let line = line
        .split([' ', '\n'])
        .skip_while(|word| word.contains('='))
        .collect::<Vec<_>>()
        .join(" ");
    let line = line
        .split(" > ")
        .next()
        .unwrap()
        .split(" | ")
        .next()
        .unwrap();
    let mut words = Vec::new();
    for (index, part) in line.split('\'').enumerate() {
        if index % 2 == 1 {
            words.push(part.to_owned());
        } else {
            words.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    words
}

#[test]
fn every_argument_is_documented_and_every_command_ends_its_help_with_examples_that_parse() {
    fn undocumented(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.get_help().is_none() && !["help", "version"].contains(&id) {
                out.push(format!("{path} <{id}>: no help"));
            }
        }
        for sub in command.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut problems = Vec::new();
    undocumented(&licwatch::cli::command(), "licwatch", &mut problems);

    let r = Register::new();
    // A command people run: one without subcommands, or one with arguments
    // of its own (snooze OBLIGATION besides snooze list).
    let runnable = |path: &[String]| {
        let mut command = licwatch::cli::command();
        for name in path {
            command = command.find_subcommand(name).unwrap().clone();
        }
        command.get_subcommands().next().is_none()
            || command.get_arguments().any(|arg| arg.get_id() != "help")
    };
    let leaves: Vec<Vec<String>> = command_paths()
        .into_iter()
        .filter(|path| path[0] != "help" && runnable(path))
        .collect();
    for path in &leaves {
        let mut args = vec!["help"];
        args.extend(path.iter().map(String::as_str));
        let help = r.ok(&args);
        let Some((_, examples)) = help.split_once("\nExamples:\n") else {
            problems.push(format!("licwatch help {}: no examples", path.join(" ")));
            continue;
        };
        // "  what it does:" then "    licwatch …", continued on lines of
        // six spaces after a trailing backslash.
        let mut lines: Vec<String> = Vec::new();
        let mut continued = false;
        for line in examples.lines() {
            if continued {
                let last = lines.last_mut().unwrap();
                last.truncate(last.len() - 1);
                last.push_str(line.trim());
            } else if line.starts_with("    ") {
                lines.push(line.trim().to_owned());
            }
            if unicode_width::UnicodeWidthStr::width(line) > 80 {
                problems.push(format!("wider than 80 columns: {line}"));
            }
            continued = line.ends_with('\\');
        }
        for line in lines {
            let words = example_words(&line);
            let parsed = licwatch::cli::command().try_get_matches_from(&words);
            match parsed {
                Err(error) => problems.push(format!("{line}: {error}")),
                Ok(matches) => {
                    let mut named = Vec::new();
                    let mut at = &matches;
                    while let Some((name, sub)) = at.subcommand() {
                        named.push(name.to_owned());
                        at = sub;
                    }
                    if &named != path {
                        problems.push(format!("{line}: runs {named:?}, not {path:?}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_out_of_range_number_names_the_option_and_the_range() {
    let r = Register::new();
    for (value, expected) in [
        (
            "-5",
            "invalid value '-5' for '--days <DAYS>': -5 is not in 0..=3660",
        ),
        (
            "2147483647",
            "invalid value '2147483647' for '--days <DAYS>': 2147483647 is not in 0..=3660",
        ),
    ] {
        let out = r.run(&["agenda", "--days", value]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(expected), "{stderr}");
    }
    // A negative value is the option's value, refused in its own words.
    r.seed();
    let err = r.fails(&["report", "file", "京B2-20221234", "--year", "-5"]);
    assert!(err.starts_with("licwatch: --year -5: "), "{err}");
    assert_eq!(
        r.fails(&["outbox", "retry", "-5"]),
        "licwatch: outbox id \"-5\": not an outbox row id (a positive number, as listed by licwatch outbox list)"
    );
}

/// The short id `licwatch agenda` shows for `key`, read from its JSON.
fn agenda_id(r: &Register, today: &str, key: &str) -> String {
    let agenda = r.agenda_json(today, "400");
    let row = agenda.iter().find(|o| o["obligation"] == key).unwrap();
    row["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_snooze_set_by_its_short_id_is_listed_and_lifted() {
    let r = Register::new();
    r.seed();
    let key = "renewal/京B2-20221234/2027-02-28";
    let id = agenda_id(&r, "2026-11-24", key);
    assert_eq!(id.len(), 7);
    let table = r.ok(&["--today", "2026-11-24", "agenda"]);
    assert!(
        table.lines().any(|line| line.trim_start().starts_with(&id)),
        "{table}"
    );

    let out = r.ok(&[
        "--today",
        "2026-11-24",
        "snooze",
        &id,
        "--until",
        "2026-11-27",
        "--reason",
        "audit",
    ]);
    assert!(
        out.contains(&format!("undo: licwatch snooze cancel {id}")),
        "{out}"
    );
    let list: serde_json::Value = serde_json::from_str(&r.ok(&[
        "--today",
        "2026-11-24",
        "--format",
        "json",
        "snooze",
        "list",
    ]))
    .unwrap();
    assert_eq!(
        list,
        serde_json::json!([{"id": id, "obligation": key, "snoozed_until": "2026-11-27", "reason": "audit"}])
    );
    // On the day it lapses it is no longer in force.
    let later = r.ok(&["--today", "2026-11-27", "snooze", "list"]);
    assert_eq!(later.trim(), "no snooze in force on 2026-11-27");

    // The long key is still accepted; a cancel is in the history.
    let out = r.ok(&["--today", "2026-11-24", "snooze", "cancel", key]);
    assert!(out.contains("snooze until 2026-11-27 lifted"), "{out}");
    let agenda = r.agenda_json("2026-11-24", "10");
    let renewal = agenda.iter().find(|o| o["obligation"] == key).unwrap();
    assert_eq!(renewal["snoozed_until"], serde_json::Value::Null);
    assert!(r.ok(&["history"]).contains("snooze cancel"));
    let before = r.dump();
    assert_eq!(
        r.fails(&["--today", "2026-11-24", "snooze", "cancel", &id]),
        format!("licwatch: obligation {key}: not snoozed (see licwatch snooze list)")
    );
    assert_eq!(
        r.fails(&["--today", "2026-11-24", "explain", "zzzzzzz"]),
        "licwatch: obligation \"zzzzzzz\": no open obligation has this ID on 2026-11-24 (see the ID column of licwatch agenda)"
    );
    assert_eq!(r.dump(), before);
    let explain = r.ok(&["--today", "2026-11-24", "explain", &id.to_uppercase()]);
    assert!(explain.starts_with(&format!("{id} {key}\n")), "{explain}");
}

#[test]
fn the_agenda_filters_by_company_kind_state_and_licence() {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "company",
        "add",
        "--uscc",
        "91310000MA1FL1234Q",
        "--name",
        "上海另一家有限公司",
    ]);
    r.ok(&[
        "licence",
        "add",
        "--number",
        "沪B2-20230001",
        "--holder",
        "91310000MA1FL1234Q",
        "--items",
        "B24",
        "--issued",
        "2023-01-01",
    ]);
    let keys = |args: &[&str]| -> Vec<String> {
        let mut all = vec![
            "--today",
            "2026-11-24",
            "--format",
            "json",
            "agenda",
            "--days",
            "400",
        ];
        all.extend(args);
        let agenda: Vec<serde_json::Value> = serde_json::from_str(&r.ok(&all)).unwrap();
        agenda
            .iter()
            .map(|o| o["obligation"].as_str().unwrap().to_owned())
            .collect()
    };
    let everything = keys(&[]);
    assert!(
        everything.iter().any(|k| k.contains("沪B2")),
        "{everything:?}"
    );
    let beijing = keys(&["--company", USCC]);
    assert!(
        !beijing.is_empty() && beijing.iter().all(|k| k.contains("京B2")),
        "{beijing:?}"
    );
    assert_eq!(keys(&["--company", "示例"]), beijing);
    assert_eq!(keys(&["--licence", "京B2-20221234"]), beijing);
    assert_eq!(
        keys(&["--kind", "renewal", "--company", "示例"]),
        vec!["renewal/京B2-20221234/2027-02-28"]
    );
    let overdue = keys(&["--state", "overdue"]);
    assert!(
        !overdue.is_empty() && overdue.iter().all(|k| k.starts_with("annual_report/")),
        "{overdue:?}"
    );
    assert!(keys(&["--company", "没有这家"]).is_empty());
    // A mistyped USCC is named as one, not searched for as a name.
    let err = r.fails(&["agenda", "--company", "91110108551385082A"]);
    assert!(err.contains("91110108551385082A"), "{err}");
}

#[test]
fn agenda_explain_shows_the_stages_sent_or_to_come_and_all_stages_the_rest() {
    let r = Register::new();
    r.seed();
    let explain = r.ok(&[
        "--today",
        "2026-11-24",
        "agenda",
        "--kind",
        "annual_report",
        "--explain",
    ]);
    assert!(!explain.contains("skipped"), "{explain}");
    assert!(
        explain
            .contains("earlier stages not sent: a newer stage came first; --all-stages lists them"),
        "{explain}"
    );
    let all = r.ok(&[
        "--today",
        "2026-11-24",
        "agenda",
        "--kind",
        "annual_report",
        "--explain",
        "--all-stages",
    ]);
    let skipped = all.lines().filter(|line| line.contains("skipped")).count();
    assert!(skipped > 10, "{all}");
    assert!(!all.contains("--all-stages lists them"));
}

#[test]
fn outbox_retry_takes_several_ids_or_every_failed_row_of_a_route() {
    let r = Register::new();
    r.seed();
    r.ok(&["--today", "2026-11-24", "serve", "--once"]);
    // The daemon gave up on every row; one went to another route.
    let conn = rusqlite::Connection::open(r.db()).unwrap();
    conn.execute_batch(
        "UPDATE outbox SET state = 'failed', last_error = 'connection refused';
         UPDATE outbox SET route = 'ops-ding' WHERE id = 2;",
    )
    .unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM outbox ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(ids.len() >= 4, "{ids:?}");
    drop(conn);
    let states = |r: &Register| -> Vec<String> {
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&r.ok(&["--format", "json", "outbox", "list"])).unwrap();
        rows.iter()
            .map(|row| format!("{} {} {}", row["id"], row["route"], row["state"]))
            .collect()
    };

    // On a terminal of 80 columns the keys stay whole, errors wrap, and
    // the planned day and attempts give way.
    expect_test::expect![[r#"
        | ID  STATE   STAGE  ROUTE     OBLIGATION                        LAST ERROR
        | 1   failed  +602   log       annual_report/京B2-20221234/2024  connection
        |                                                                refused
        | 2   failed  +238   ops-ding  annual_report/京B2-20221234/2025  connection
        |                                                                refused
        | 3   failed  -7     log       renewal/京B2-20221234/2027-02-28  connection
        |                                                                refused
        | 4   failed  +0     log       notice/holidays/2027              connection
        |                                                                refused
        |(narrowed to 80 columns; --wide also shows ATTEMPTS, SEND ON)
    "#]]
    .assert_eq(&framed(&at_width(&r, "80", &["outbox", "list"])));

    // One row that cannot be retried and nothing is.
    let before = r.dump();
    let err = r.fails(&["outbox", "retry", "1", "999"]);
    assert!(err.contains("#999"), "{err}");
    assert_eq!(r.dump(), before);

    let out = r.ok(&["--format", "json", "outbox", "retry", "1", "#3"]);
    let retried: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        retried
            .iter()
            .map(|row| row["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3]
    );
    assert_every(&retried, "pending", |row| row["state"] == "pending");

    let out = r.ok(&["outbox", "retry", "--failed", "--route", "ops-ding"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("outbox row #2 "), "{out}");
    r.ok(&["outbox", "retry", "--failed"]);
    assert_every(&states(&r), "pending", |row| row.ends_with("\"pending\""));
    assert_eq!(
        r.ok(&["outbox", "retry", "--failed"]).trim(),
        "no failed row to retry"
    );
    assert_eq!(
        r.fails(&["outbox", "retry", "--failed", "--route", "nope"]),
        "licwatch: --route \"nope\": neither a configured route nor one in the outbox (configured: log)"
    );
    assert_eq!(r.run(&["outbox", "retry"]).status.code(), Some(2));
    assert_eq!(
        r.run(&["outbox", "retry", "1", "--failed"]).status.code(),
        Some(2)
    );
}

#[test]
fn notify_test_reads_only_its_route_and_config_check_and_notify_test_speak_json() {
    let r = Register::new();
    let config = r.dir().join("config.toml");
    std::fs::write(
        &config,
        "[routes.journal]\nkind = \"log\"\n\n[routes.ops-ding]\nkind = \"dingtalk\"\nurl_env = \"LICWATCH_TEST_UNSET_URL\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        r.command(args)
            .env("LICWATCH_CONFIG", &config)
            .env_remove("LICWATCH_TEST_UNSET_URL")
            .output()
            .unwrap()
    };
    // The robot's URL is missing: checking the whole config says so ...
    let check = run(&["config", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("LICWATCH_TEST_UNSET_URL"));
    // ... but a test of the log route does not need it.
    let sent = run(&["--format", "json", "notify", "test", "journal"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&sent.stdout).unwrap();
    assert_eq!(sent["name"], "journal");
    assert_eq!(sent["kind"], "log");
    assert_eq!(sent["result"], "sent");

    std::fs::write(&config, "[routes.journal]\nkind = \"log\"\nlang = \"en\"\n").unwrap();
    let check = run(&["--format", "json", "config", "check"]);
    let check: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(check["ok"], true);
    assert_eq!(check["config"], config.to_str().unwrap());
    assert!(
        check["holiday_years"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(2026))
    );
    assert_eq!(check["routes"][0]["name"], "journal");
    assert_eq!(check["routes"][0]["lang"], "en");
}

/// A register with what makes tables wide: a long company name, two
/// licences, numbers and an overdue report.
fn wide_register() -> Register {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "company",
        "add",
        "--uscc",
        "91310000MA1FL1234Q",
        "--name",
        "上海浦东新区国际呼叫中心服务外包股份有限公司",
    ]);
    r.ok(&[
        "licence",
        "add",
        "--number",
        "沪B2-20210001",
        "--holder",
        "91310000MA1FL1234Q",
        "--items",
        "B24,B25",
        "--issued",
        "2021-12-20",
    ]);
    r.ok(&[
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2026-09-15",
    ]);
    r.ok(&[
        "number",
        "add",
        "961234",
        "--licence",
        "沪B2-20210001",
        "--allocated",
        "2026-06-01",
    ]);
    r
}

/// Each line behind a bar, so that a golden keeps the table's leading space
/// (expect-test strips the indentation all lines share).
fn framed(text: &str) -> String {
    text.lines().map(|line| format!("|{line}\n")).collect()
}

fn at_width(r: &Register, width: &str, args: &[&str]) -> String {
    let out = r
        .command(args)
        .env("LICWATCH_TABLE_WIDTH", width)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let limit: usize = width.parse().unwrap();
    for line in text.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= limit,
            "wider than {width}: {line}"
        );
    }
    text
}

#[test]
fn the_agenda_fits_80_and_120_columns_and_is_whole_when_piped_or_wide() {
    let r = wide_register();
    let agenda = ["--today", "2026-11-24", "agenda", "--days", "120"];
    expect_test::expect![[r#"
        | ID       DUE         DAYS  STATE    KIND                  COMPANY
        | ec26qm7  2025-03-31  -603  overdue  annual report 2024    北京示例呼叫中心有限
        |                                                           公司
        | 5m6wqrw  2025-03-31  -603  overdue  annual report 2024    上海浦东新区国际呼叫
        |                                                           中心服务外包股份有限
        |                                                           公司
        | 9ep54z8  2026-03-31  -238  overdue  annual report 2025    北京示例呼叫中心有限
        |                                                           公司
        | t9xwhq1  2026-03-31  -238  overdue  annual report 2025    上海浦东新区国际呼叫
        |                                                           中心服务外包股份有限
        |                                                           公司
        | xqztchw  2026-09-20  -65   overdue  renewal               上海浦东新区国际呼叫
        |                                                           中心服务外包股份有限
        |                                                           公司
        | zkmazhf  2026-11-30  6     open     renewal               北京示例呼叫中心有限
        |                                                           公司
        | n823nxv  2026-12-01  7     open     number activation     上海浦东新区国际呼叫
        |                                     961234                中心服务外包股份有限
        |                                                           公司
        | a90jqv0  2026-12-19  25    open     number outlives       上海浦东新区国际呼叫
        |                                     licence 961234        中心服务外包股份有限
        |                                                           公司
        | rq6qkqj  2027-02-28  96    open     number outlives       北京示例呼叫中心有限
        |                                     licence 962345        公司
        | etn5rk9  2027-03-15  111   open     number activation     北京示例呼叫中心有限
        |                                     962345                公司
        |(narrowed to 80 columns; --wide also shows MARK DONE, WHAT TO DO, LICENCE)
        |
        |note: no holiday data for 2027: only weekends are skipped there; add the State
        |Council notice with calendar.holiday_files in the config
    "#]]
    .assert_eq(&framed(&at_width(&r, "80", &agenda)));
    expect_test::expect![[r#"
        | ID       DUE         DAYS  STATE    KIND                            COMPANY
        | ec26qm7  2025-03-31  -603  overdue  annual report 2024              北京示例呼叫中心有限公司
        | 5m6wqrw  2025-03-31  -603  overdue  annual report 2024              上海浦东新区国际呼叫中心服务外包股份有限公司
        | 9ep54z8  2026-03-31  -238  overdue  annual report 2025              北京示例呼叫中心有限公司
        | t9xwhq1  2026-03-31  -238  overdue  annual report 2025              上海浦东新区国际呼叫中心服务外包股份有限公司
        | xqztchw  2026-09-20  -65   overdue  renewal                         上海浦东新区国际呼叫中心服务外包股份有限公司
        | zkmazhf  2026-11-30  6     open     renewal                         北京示例呼叫中心有限公司
        | n823nxv  2026-12-01  7     open     number activation 961234        上海浦东新区国际呼叫中心服务外包股份有限公司
        | a90jqv0  2026-12-19  25    open     number outlives licence 961234  上海浦东新区国际呼叫中心服务外包股份有限公司
        | rq6qkqj  2027-02-28  96    open     number outlives licence 962345  北京示例呼叫中心有限公司
        | etn5rk9  2027-03-15  111   open     number activation 962345        北京示例呼叫中心有限公司
        |(narrowed to 120 columns; --wide also shows MARK DONE, WHAT TO DO, LICENCE)
        |
        |note: no holiday data for 2027: only weekends are skipped there; add the State Council notice with
        |calendar.holiday_files in the config
    "#]].assert_eq(&framed(&at_width(&r, "120", &agenda)));
    // Piped (as here) and with --wide: one line per obligation, every column.
    let piped = r.ok(&agenda);
    let mut wide_args = agenda.to_vec();
    wide_args.push("--wide");
    assert_eq!(at_width(&r, "1000", &wide_args), piped);
    assert_eq!(
        r.command(&wide_args)
            .env("LICWATCH_TABLE_WIDTH", "80")
            .output()
            .unwrap()
            .stdout,
        piped.as_bytes()
    );
    assert!(
        piped.lines().next().unwrap().contains("MARK DONE"),
        "{piped}"
    );
}

#[test]
fn the_licence_list_fits_80_and_120_columns() {
    let r = wide_register();
    expect_test::expect![[r#"
        | LICENCE        COMPANY                  ITEMS    ISSUED      EXPIRES     ENDED
        | 沪B2-20210001  上海浦东新区国际呼叫中   B24,B25  2021-12-20  2026-12-19  -
        |                心服务外包股份有限公司
        | 京B2-20221234  北京示例呼叫中心有限公   B24      2022-03-01  2027-02-28  -
        |                司
        |(narrowed to 80 columns; --wide also shows SCOPE)
    "#]]
    .assert_eq(&framed(&at_width(&r, "80", &["licence", "list"])));
    expect_test::expect![[r#"
        | LICENCE        SCOPE           COMPANY                                       ITEMS    ISSUED      EXPIRES     ENDED
        | 沪B2-20210001  地网（上海市）  上海浦东新区国际呼叫中心服务外包股份有限公司  B24,B25  2021-12-20  2026-12-19  -
        | 京B2-20221234  地网（北京市）  北京示例呼叫中心有限公司                      B24      2022-03-01  2027-02-28  -
    "#]].assert_eq(&framed(&at_width(&r, "120", &["licence", "list"])));
}

/// The listings are written a row at a time, read again for each pass
/// (issue 14): the same text as when they were laid out whole, pinned from
/// then, piped, fitted to a narrow terminal and as JSON.
#[test]
fn the_listings_read_row_by_row_are_the_tables_laid_out_whole() {
    let r = wide_register();
    let mut seen = String::new();
    for (list, width) in [
        (["company", "list"], "64"),
        (["licence", "list"], "72"),
        (["number", "list"], "90"),
    ] {
        seen.push_str(&format!("== {} piped\n", list.join(" ")));
        seen.push_str(&framed(&r.ok(&list)));
        seen.push_str(&format!("== {} at {width} columns\n", list.join(" ")));
        seen.push_str(&framed(&at_width(&r, width, &list)));
        let json: serde_json::Value =
            serde_json::from_str(&r.ok(&["--format", "json", list[0], list[1]])).unwrap();
        seen.push_str(&format!(
            "== {} json: {} items\n",
            list.join(" "),
            json.as_array().unwrap().len()
        ));
    }
    expect_test::expect![[r#"
        == company list piped
        | USCC                NAME                                          EMAILS
        | 91310000MA1FL1234Q  上海浦东新区国际呼叫中心服务外包股份有限公司
        | 91110108551385082Q  北京示例呼叫中心有限公司                      ops@example.cn
        == company list at 64 columns
        | USCC                NAME                        EMAILS
        | 91310000MA1FL1234Q  上海浦东新区国际呼叫中心服
        |                     务外包股份有限公司
        | 91110108551385082Q  北京示例呼叫中心有限公司    ops@example.cn
        == company list json: 2 items
        == licence list piped
        | LICENCE        SCOPE           COMPANY                                       ITEMS    ISSUED      EXPIRES     ENDED
        | 沪B2-20210001  地网（上海市）  上海浦东新区国际呼叫中心服务外包股份有限公司  B24,B25  2021-12-20  2026-12-19  -
        | 京B2-20221234  地网（北京市）  北京示例呼叫中心有限公司                      B24      2022-03-01  2027-02-28  -
        == licence list at 72 columns
        | LICENCE        COMPANY          ITEMS    ISSUED      EXPIRES     ENDED
        | 沪B2-20210001  上海浦东新区国   B24,B25  2021-12-20  2026-12-19  -
        |                际呼叫中心服务
        |                外包股份有限公
        |                司
        | 京B2-20221234  北京示例呼叫中   B24      2022-03-01  2027-02-28  -
        |                心有限公司
        |(narrowed to 72 columns; --wide also shows SCOPE)
        == licence list json: 2 items
        == number list piped
        | NUMBER       LICENCE        ALLOCATED   ACTIVATED  CARRIER  DIRECTION  RELEASED
        | 962345 (京)  京B2-20221234  2026-09-15  -          -        -          -
        | 961234 (沪)  沪B2-20210001  2026-06-01  -          -        -          -
        == number list at 90 columns
        | NUMBER       LICENCE        ALLOCATED   ACTIVATED  CARRIER  DIRECTION  RELEASED
        | 962345 (京)  京B2-20221234  2026-09-15  -          -        -          -
        | 961234 (沪)  沪B2-20210001  2026-06-01  -          -        -          -
        == number list json: 2 items
    "#]].assert_eq(&seen);
    // A company's licences are read for it alone, not picked from all.
    let shown: serde_json::Value =
        serde_json::from_str(&r.ok(&["--format", "json", "company", "show", "91310000MA1FL1234Q"]))
            .unwrap();
    let licences: Vec<&str> = shown["licences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licence"].as_str().unwrap())
        .collect();
    assert_eq!(licences, ["沪B2-20210001"]);
}

#[test]
fn the_readme_names_every_command_and_global_option() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut missing: Vec<String> = command_paths()
        .into_iter()
        .filter(|path| path.last().unwrap() != "help")
        .map(|path| path.join(" "))
        .filter(|path| !readme.contains(path.rsplit(' ').next().unwrap()))
        .collect();
    for option in licwatch::cli::command().get_arguments() {
        let flag = format!("--{}", option.get_long().unwrap_or("?"));
        if option.is_global_set() && !readme.contains(&flag) {
            missing.push(flag);
        }
    }
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}

#[test]
fn licence_show_lists_holder_items_dates_numbers_and_open_obligations() {
    let r = Register::new();
    r.seed_a_number_outliving_its_licence();
    let shown = r.ok(&["--today", "2026-06-05", "licence", "show", "京B2-20221234"]);
    expect_test::expect![[r#"
        京B2-20221234 地网（北京市）
        holder: 北京示例呼叫中心有限公司 91110108551385082Q
        items: B24 国内呼叫中心业务
        issued 2022-03-01 · expires 2027-02-28 · ended 2026-06-01 (given up)
        authority: 北京市通信管理局
        numbers: 962345 (京)
        open obligations:
         DUE         KIND                     OBLIGATION
         2025-03-31  annual_report            annual_report/京B2-20221234/2024
         2026-03-31  annual_report            annual_report/京B2-20221234/2025
         2026-06-01  number_outlives_licence  number_outlives_licence/京B2-20221234/962345/2026-06-01
    "#]].assert_eq(&shown);
}
