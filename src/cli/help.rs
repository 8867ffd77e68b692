//! The examples at the end of each command's help (`licwatch help COMMAND`),
//! kept in one table so that a test can run every one of them through the
//! parser: an example that no longer parses fails the build's tests.

/// Command path (as typed after `licwatch`) and two or three examples, each a
/// complete command line and what it does.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "company add",
        &[
            (
                "licwatch company add --uscc 91110108551385082Q --name 北京示例呼叫中心有限公司 --email ops@example.cn",
                "register a company with one contact",
            ),
            (
                "licwatch company add --uscc 91110108551385082Q --name 示例 --email a@example.cn --email b@example.cn",
                "two contacts",
            ),
        ],
    ),
    (
        "company list",
        &[
            ("licwatch company list", "all companies"),
            (
                "licwatch company list --format json",
                "the same, for a script",
            ),
        ],
    ),
    (
        "company show",
        &[
            ("licwatch company show 91110108551385082Q", "one company"),
            (
                "licwatch company show 91110108551385082Q --format json",
                "with its licences, for a script",
            ),
        ],
    ),
    (
        "company update",
        &[
            (
                "licwatch company update 91110108551385082Q --name 北京新名称有限公司 --on 2026-11-20",
                "a rename, which opens a change filing",
            ),
            (
                "licwatch company update 91110108551385082Q --email ops@example.cn --email boss@example.cn",
                "replace the contacts",
            ),
            (
                "licwatch company update 91110108551385082Q --route client-ding",
                "send this company's alerts to its own robot too",
            ),
        ],
    ),
    (
        "licence add",
        &[
            (
                "licwatch licence add --number 京B2-20221234 --holder 91110108551385082Q --items B24 --issued 2022-03-01",
                "expiry assumed: issued + 5 years - 1 day",
            ),
            (
                "licwatch licence add --number B2-20201234 --holder 91110108551385082Q --items B24,B25 --issued 2020-06-01 --expires 2025-05-31",
                "a nationwide licence with its printed expiry",
            ),
        ],
    ),
    (
        "licence list",
        &[
            ("licwatch licence list", "all licences"),
            ("licwatch licence list --format json", "for a script"),
        ],
    ),
    (
        "licence show",
        &[
            ("licwatch licence show 京B2-20221234", "one licence"),
            (
                "licwatch --today 2027-01-02 licence show 京B2-20221234",
                "its open obligations as of a date",
            ),
        ],
    ),
    (
        "licence update",
        &[
            (
                "licwatch licence update 京B2-20221234 --expires 2032-02-28",
                "record the new expiry after a renewal",
            ),
            (
                "licwatch licence update 京B2-20221234 --items B24,B25",
                "correct the business items",
            ),
        ],
    ),
    (
        "licence end",
        &[
            (
                "licwatch licence end 京B2-20221234 --reason 注销 --on 2026-10-31",
                "the licence was cancelled on that day",
            ),
            (
                "licwatch licence end 京B2-20221234 --reason 吊销",
                "revoked today",
            ),
        ],
    ),
    (
        "number add",
        &[
            (
                "licwatch number add 95123 --licence 京B2-20221234 --allocated 2026-09-15",
                "activation is then due 2027-03-15",
            ),
            (
                "licwatch number add 96123 --province 粤 --licence B2-20201234 --allocated 2026-09-15",
                "a 96 number of a nationwide licence, with its province",
            ),
        ],
    ),
    (
        "number activate",
        &[
            (
                "licwatch number activate 95123 --carrier 中国电信 --on 2026-12-01",
                "in service, inbound",
            ),
            (
                "licwatch number activate 95123 --carrier 中国联通 --direction both",
                "in service today, both directions",
            ),
        ],
    ),
    (
        "number release",
        &[
            (
                "licwatch number release 95123 --on 2026-12-01",
                "given back on that day",
            ),
            (
                "licwatch number release 96123 --province 粤",
                "a 96 number, given back today",
            ),
        ],
    ),
    (
        "number list",
        &[
            ("licwatch number list", "all numbers"),
            (
                "licwatch number list --licence 京B2-20221234",
                "the numbers of one licence",
            ),
        ],
    ),
    (
        "renewal submit",
        &[
            (
                "licwatch renewal submit 京B2-20221234 --on 2026-11-24",
                "applied for on that day",
            ),
            ("licwatch renewal submit 京B2-20221234", "applied for today"),
        ],
    ),
    (
        "renewal not-continuing",
        &[
            (
                "licwatch renewal not-continuing 京B2-20221234 --on 2026-11-24",
                "reported as not continuing",
            ),
            (
                "licwatch renewal not-continuing 京B2-20221234",
                "reported today",
            ),
        ],
    ),
    (
        "report file",
        &[
            (
                "licwatch report file 京B2-20221234",
                "last year's report filed today",
            ),
            (
                "licwatch report file 京B2-20221234 --year 2025 --on 2026-03-10",
                "the 2025 report, filed on 10 March",
            ),
            (
                "licwatch report file 京B2-20221234 --year 2025 --not-carried-out",
                "it said 未开展业务",
            ),
            (
                "licwatch report file --year 2024 --all --on 2025-03-20",
                "every licence that owed the 2024 report (starting a register)",
            ),
            (
                "licwatch report file --company 91110108551385082Q --year 2025",
                "every licence of one client",
            ),
        ],
    ),
    (
        "change record",
        &[
            (
                "licwatch change record 京B2-20221234 --kind address --on 2026-11-20",
                "an address change, to be filed by 2026-12-20",
            ),
            (
                "licwatch change record 京B2-20221234 --kind shareholding",
                "a shareholding change (over 5%) today",
            ),
        ],
    ),
    (
        "change file",
        &[
            ("licwatch change file 3 --on 2026-12-01", "change #3 filed"),
            ("licwatch change file '#3'", "the same, filed today"),
        ],
    ),
    (
        "agenda",
        &[
            ("licwatch agenda", "what is due in 90 days, and overdue"),
            (
                "licwatch --today 2027-01-02 agenda --days 30 --explain",
                "as of a date, with every reminder stage",
            ),
            (
                "licwatch agenda --format ics > licwatch.ics",
                "the deadlines as a calendar",
            ),
        ],
    ),
    (
        "explain",
        &[
            (
                "licwatch explain zkmazhf",
                "every stage and the working day it moves to (the ID from the agenda)",
            ),
            (
                "licwatch explain renewal/京B2-20221234/2027-02-28 --format json",
                "by its key, for a script",
            ),
        ],
    ),
    (
        "snooze",
        &[
            (
                "licwatch snooze zkmazhf --until 2026-12-15 --reason 'application in preparation'",
                "no reminders until 15 December (zkmazhf: the ID in the agenda)",
            ),
            (
                "licwatch snooze annual_report/京B2-20221234/2025 --until 2026-03-01 --reason 'filed in January, waiting for the receipt'",
                "an annual report",
            ),
        ],
    ),
    (
        "snooze list",
        &[
            ("licwatch snooze list", "the snoozes in force today"),
            ("licwatch snooze list --format json", "for a script"),
        ],
    ),
    (
        "snooze cancel",
        &[
            (
                "licwatch snooze cancel zkmazhf",
                "by the ID shown in the agenda",
            ),
            (
                "licwatch snooze cancel renewal/京B2-20221234/2027-02-28",
                "by the key",
            ),
        ],
    ),
    (
        "history",
        &[
            ("licwatch history", "every change, oldest first"),
            ("licwatch history 京B2-20221234", "one licence's"),
        ],
    ),
    (
        "config example",
        &[
            (
                "licwatch config example > /etc/licwatch/licwatch.toml",
                "start a config from the documented defaults",
            ),
            ("licwatch config example | less", "read it"),
        ],
    ),
    (
        "config check",
        &[
            (
                "licwatch --config /etc/licwatch/licwatch.toml config check",
                "validate a file and read its secrets",
            ),
            (
                "LICWATCH_CONFIG=/etc/licwatch/licwatch.toml licwatch config check --format json",
                "for a script",
            ),
        ],
    ),
    (
        "notify test",
        &[
            (
                "licwatch --config /etc/licwatch/licwatch.toml notify test ops-mail",
                "send a test e-mail",
            ),
            (
                "licwatch notify test ops-ding",
                "a test message to a DingTalk robot",
            ),
        ],
    ),
    (
        "serve",
        &[
            ("licwatch serve", "run the daemon (what systemd runs)"),
            (
                "licwatch --db copy.db --today 2027-01-02 serve --once",
                "one tick as of a date, on a copy of the register",
            ),
        ],
    ),
    (
        "status",
        &[
            (
                "licwatch status",
                "last and next tick, outbox per route, register, config",
            ),
            (
                "licwatch status --format json",
                "the same, for a script or a monitoring check",
            ),
        ],
    ),
    (
        "outbox list",
        &[
            ("licwatch outbox list", "every planned alert"),
            (
                "licwatch outbox list --state failed",
                "what could not be delivered",
            ),
        ],
    ),
    (
        "outbox retry",
        &[
            (
                "licwatch outbox retry 12 '#14' 15",
                "send rows 12, 14 and 15 again",
            ),
            ("licwatch outbox retry --failed", "every failed row"),
            (
                "licwatch outbox retry --failed --route ops-ding",
                "the failed rows of one route, once it is fixed",
            ),
        ],
    ),
    (
        "import",
        &[
            (
                "licwatch import clients.csv --dry-run",
                "check every row, write nothing, show what will be overdue",
            ),
            ("licwatch import clients.xlsx", "all rows or none"),
            (
                "licwatch import 台账.xlsx --header-row 3 --strict",
                "the header on row 3; refuse unknown columns",
            ),
        ],
    ),
    (
        "export",
        &[
            ("licwatch export > clients.csv", "CSV with Chinese headers"),
            (
                "licwatch --format xlsx export --output clients.xlsx",
                "a workbook",
            ),
            ("licwatch --format json export", "for a script"),
        ],
    ),
    (
        "db backup",
        &[
            (
                "licwatch db backup /var/backups/licwatch.db",
                "a consistent copy, while the daemon runs",
            ),
            (
                "licwatch db backup /var/backups/licwatch.db --force",
                "replace yesterday's",
            ),
        ],
    ),
    (
        "db check",
        &[
            ("licwatch db check", "the register"),
            (
                "licwatch --db /var/backups/licwatch.db db check",
                "a backup",
            ),
        ],
    ),
    (
        "db upgrade",
        &[(
            "licwatch db upgrade",
            "after installing a newer licwatch, before reading",
        )],
    ),
    (
        "completions",
        &[
            (
                "licwatch completions bash > /etc/bash_completion.d/licwatch",
                "bash",
            ),
            (
                "licwatch completions zsh > ~/.zfunc/_licwatch",
                "zsh (with ~/.zfunc in fpath)",
            ),
            (
                "licwatch completions fish > ~/.config/fish/completions/licwatch.fish",
                "fish",
            ),
        ],
    ),
    (
        "man",
        &[
            ("licwatch man | man -l -", "read the manual"),
            (
                "licwatch man --dir /usr/local/share/man/man1",
                "install a page per command",
            ),
        ],
    ),
    (
        "user add",
        &[
            (
                "licwatch user add wang --role editor",
                "an account that marks obligations done (asks for the password)",
            ),
            (
                "licwatch user add li --role viewer",
                "a read-only account (a script gives the password on stdin)",
            ),
        ],
    ),
    (
        "user list",
        &[
            ("licwatch user list", "the accounts and their roles"),
            ("licwatch user list --format json", "the same, for a script"),
        ],
    ),
    (
        "user remove",
        &[(
            "licwatch user remove li",
            "remove an account and end its sessions",
        )],
    ),
    (
        "user passwd",
        &[(
            "licwatch user passwd wang",
            "set a new password (asks for it) and end the account's sessions",
        )],
    ),
];

/// Where an example command goes on to the next line.
pub const CONTINUATION: &str = " \\\n      ";

/// Adds each command's examples as its after-help.
pub fn with_examples(mut command: clap::Command) -> clap::Command {
    for (path, examples) in EXAMPLES {
        let names: Vec<&str> = path.split(' ').collect();
        command = add(command, &names, examples_text(examples));
    }
    command
}

/// Sets the after-help of the command at `path` below `command`. clap
/// panics on a path that names no command: a typo here fails every test
/// that builds the command line, not a user's run.
fn add(command: clap::Command, path: &[&str], text: String) -> clap::Command {
    match path {
        [] => command.after_help(text),
        [first, rest @ ..] => command.mut_subcommand(*first, |sub| add(sub, rest, text)),
    }
}

/// The examples under an "Examples:" heading: what each does, then the
/// command, broken with a shell continuation (` \`) so that no line is wider
/// than 80 columns and clap never re-wraps one mid-command.
fn examples_text(examples: &[(&str, &str)]) -> String {
    let mut text = String::from("Examples:");
    for (line, what) in examples {
        let mut what = what.chars();
        let first = what.next().map(|c| c.to_uppercase().to_string());
        text.push_str(&format!(
            "\n  {}{}:\n    ",
            first.unwrap_or_default(),
            what.as_str()
        ));
        // 78: a broken line ends in " \\".
        text.push_str(&super::output::wrap_words(
            shell_words(line),
            4,
            78,
            CONTINUATION,
            6,
        ));
    }
    text
}

/// Splits at spaces outside single quotes, keeping the quotes.
fn shell_words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (index, c) in line.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if index > start {
                    words.push(&line[start..index]);
                }
                start = index + 1;
            }
            _ => {}
        }
    }
    if start < line.len() {
        words.push(&line[start..]);
    }
    words
}
