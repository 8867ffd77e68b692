use super::*;
use crate::domain::policy::StageAt;

/// The example with every documented key set, routes left out (they
/// are checked in `notify::route`'s tests).
fn uncommented_example() -> String {
    let text = uncommented(EXAMPLE);
    let cut = text.find("\n[routes.").unwrap_or(text.len());
    text[..cut].to_owned()
}

fn key_paths(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            key_paths(value, &path, out);
            out.push(path);
        }
    }
}

#[test]
fn the_example_parses_to_the_defaults_and_names_every_key() {
    let raw: RawConfig = toml::from_str(EXAMPLE).unwrap();
    assert_eq!(raw, RawConfig::default());
    let uncommented: RawConfig = toml::from_str(&uncommented_example()).unwrap();
    assert_eq!(uncommented, RawConfig::default());

    let mut documented = Vec::new();
    key_paths(
        &toml::from_str(&uncommented_example()).unwrap(),
        "",
        &mut documented,
    );
    let mut all = Vec::new();
    key_paths(
        &toml::Value::try_from(RawConfig::default()).unwrap(),
        "",
        &mut all,
    );
    let missing: Vec<_> = all.iter().filter(|key| !documented.contains(key)).collect();
    assert!(
        missing.is_empty(),
        "config.example.toml does not document {missing:?}"
    );
}

#[test]
fn the_example_with_every_key_set_is_a_valid_config() {
    let config = Config::parse(&uncommented(EXAMPLE), Path::new("example.toml")).unwrap();
    assert_eq!(config.route_specs.len(), 8);
    assert!(
        Config::parse(EXAMPLE, Path::new("example.toml"))
            .unwrap()
            .route_specs
            .is_empty()
    );
}

#[test]
fn errors_name_the_key_and_what_is_accepted() {
    let err = |text: &str| {
        format!(
            "{:#}",
            Config::parse(text, Path::new("/etc/licwatch/config.toml")).unwrap_err()
        )
    };
    let unknown = err("[policy]\nrenewal_lead_dayz = 90\n");
    assert!(
        unknown
            .starts_with("config /etc/licwatch/config.toml:2: unknown field `renewal_lead_dayz`"),
        "{unknown}"
    );
    assert_eq!(
        err(
            "[policy.renewal]\nstages = [-30, \"13-01\"]\noverdue_every_days = 7\nwarning_from_days = -30\n"
        ),
        "config /etc/licwatch/config.toml: policy.renewal.stages: \"13-01\" is not a stage (days relative to the due day like -30, or a day of the due year like \"01-01\")"
    );
    assert_eq!(
        err("[policy]\nrenewal_lead_days = 0\n"),
        "config /etc/licwatch/config.toml: policy.renewal_lead_days: 0 is out of range (1 to 3660 days)"
    );
    assert!(
        err("[calendar]\nholiday_files = [\"missing-2027.toml\"]\n")
            .contains("calendar.holiday_files[0]: reading /etc/licwatch/missing-2027.toml")
    );
}

#[test]
fn a_holiday_file_adds_its_year() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("2027.toml"),
        "[[day]]\ndate = \"2027-10-01\"\nname = \"国庆节\"\noff = true\n",
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    let config = Config::parse(
        "[calendar]\nholiday_files = [\"2027.toml\"]\n",
        &config_path,
    )
    .unwrap();
    assert!(config.calendar.knows_year(2027));
    assert!(config.calendar.knows_year(2026));
}

#[test]
fn a_schedule_table_with_one_key_keeps_the_other_defaults() {
    let config =
        Config::parse("[policy.renewal]\nstages = [-60, 0]\n", Path::new("c.toml")).unwrap();
    assert_eq!(
        config.policy.renewal.stages,
        vec![StageAt::Days(-60), StageAt::Days(0)]
    );
    assert_eq!(config.policy.renewal.overdue_every_days, Some(7));
    assert_eq!(config.policy.renewal.warning_from_days, -30);
    let config = Config::parse(
        "[policy.change_filing]\noverdue_every_days = 0\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(config.policy.change_filing.overdue_every_days, None);
    assert_eq!(
        config.policy.change_filing.stages,
        Policy::default().change_filing.stages
    );
}

#[test]
fn the_http_listener_is_off_by_default_and_its_keys_are_checked() {
    let base = Path::new("/etc/licwatch/licwatch.toml");
    assert_eq!(Config::defaults().http, Http::default());
    let config = Config::parse(
        "[store]\npath = \"reg.db\"\n[http]\nlisten = \"127.0.0.1:9386\"\ncalendar_token_file = \"token\"\n",
        base,
    )
    .unwrap();
    assert_eq!(
        config.store_path,
        Some(PathBuf::from("/etc/licwatch/reg.db"))
    );
    assert_eq!(config.http.listen, Some("127.0.0.1:9386".parse().unwrap()));
    assert_eq!(
        config.http.calendar_token,
        Some(TokenSource::File(PathBuf::from("/etc/licwatch/token")))
    );
    let error = |text: &str| format!("{:#}", Config::parse(text, base).unwrap_err());
    assert_eq!(
        error("[http]\nlisten = \"localhost\"\n"),
        "config /etc/licwatch/licwatch.toml: http.listen = \"localhost\": not an address and port (e.g. \"127.0.0.1:9386\" or \"[::1]:9386\")"
    );
    assert_eq!(
        error("[http]\ncalendar_token_env = \"T\"\ncalendar_token_file = \"t\"\n"),
        "config /etc/licwatch/licwatch.toml: http: both calendar_token_env and calendar_token_file are set; set one of the two"
    );
}

#[test]
fn the_consoles_keys_are_checked_and_https_makes_cookies_secure() {
    let base = Path::new("/etc/licwatch/licwatch.toml");
    let config = Config::parse(
        "[http]\npublic_url = \"https://licwatch.example.cn/\"\ntrusted_proxies = [\"127.0.0.1\"]\nproxy_user_header = \"X-Remote-User\"\n",
        base,
    )
    .unwrap();
    assert!(config.http.secure_cookies);
    assert_eq!(
        config.http.trusted_proxies,
        ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        config.http.proxy_user_header.as_deref(),
        Some("x-remote-user")
    );
    let plain = Config::parse("[http]\npublic_url = \"http://127.0.0.1:9386/\"\n", base).unwrap();
    assert!(!plain.http.secure_cookies);
    let error = |text: &str| format!("{:#}", Config::parse(text, base).unwrap_err());
    assert_eq!(
        error("[http]\npublic_url = \"licwatch.example.cn\"\n"),
        "config /etc/licwatch/licwatch.toml: http.public_url = \"licwatch.example.cn\": not an http(s) address (e.g. \"https://licwatch.example.com/\")"
    );
    assert_eq!(
        error("[http]\ntrusted_proxies = [\"nginx\"]\n"),
        "config /etc/licwatch/licwatch.toml: http.trusted_proxies: \"nginx\" is not an IP address (e.g. \"127.0.0.1\")"
    );
    assert_eq!(
        error("[http]\nproxy_user_header = \"X-Remote-User\"\n"),
        "config /etc/licwatch/licwatch.toml: http.proxy_user_header = \"X-Remote-User\": set http.trusted_proxies too (the header is believed only from those addresses)"
    );
}

#[test]
fn a_route_name_must_be_plain() {
    let err = Config::parse(
        "[routes.\"contacts:x\"]\nkind = \"log\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "config c.toml: [routes.contacts:x]: a route name is letters, digits, '-' and '_' (e.g. ops-mail)"
    );
}

#[test]
fn stages_can_be_changed() {
    let config = Config::parse(
        "[policy.change_filing]\nstages = [-20, -5, 0]\noverdue_every_days = 0\nwarning_from_days = -5\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        config.policy.change_filing.stages,
        vec![StageAt::Days(-20), StageAt::Days(-5), StageAt::Days(0)]
    );
    assert_eq!(config.policy.change_filing.overdue_every_days, None);
}

fn cron_error(cron: &str) -> String {
    let text = format!("[schedule]\ncron = \"{cron}\"\n");
    format!(
        "{:#}",
        Config::parse(&text, Path::new("c.toml")).err().unwrap()
    )
}

#[test]
fn a_cron_that_never_ticks_is_refused() {
    let started = std::time::Instant::now();
    for never in ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 11 *"] {
        let err = cron_error(never);
        assert!(
            err.contains(&format!(
                "schedule.cron = \"{never}\": no tick in the next 366 days"
            )),
            "{err}"
        );
    }
    // croner searches up to the year 5000 before giving up.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn only_the_five_field_form_is_accepted() {
    for (cron, fields) in [
        ("* * * * * *", 6),
        ("0 30 9 * * * 2027", 7),
        ("@daily", 1),
        ("30 9 * *", 4),
    ] {
        let err = cron_error(cron);
        assert!(
            err.contains(&format!(
                "schedule.cron = \"{cron}\": {fields} fields (expected 5 fields"
            )),
            "{err}"
        );
    }
    let long = format!("{} * * * *", "x".repeat(50_000));
    let err = cron_error(&long);
    assert!(err.len() < 600, "{} bytes", err.len());
    let config = "[schedule]\ncron = \"*/5 9-17 * * 1-5\"\n";
    assert!(Config::parse(config, Path::new("c.toml")).is_ok());
}

#[test]
fn an_endless_config_is_read_no_further_than_the_cap() {
    let err = format!("{:#}", Config::load(Path::new("/dev/zero")).err().unwrap());
    assert!(
        err.contains("more than 1048576 bytes, the most licwatch reads"),
        "{err}"
    );
}

#[test]
fn an_error_about_a_huge_value_is_one_short_line() {
    let huge = format!("[schedule]\ntime_zone = \"{}\"\n", "x".repeat(1_000_000));
    let err = format!(
        "{:#}",
        Config::parse(&huge, Path::new("c.toml")).err().unwrap()
    );
    assert!(err.len() < 700, "{} bytes", err.len());
    assert!(err.contains("schedule.time_zone"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    let unknown = format!("[{}]\n", "k".repeat(1_000_000));
    let err = format!(
        "{:#}",
        Config::parse(&unknown, Path::new("c.toml")).err().unwrap()
    );
    assert!(err.len() < 700, "{} bytes", err.len());
}
