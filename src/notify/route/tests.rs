use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;

use expect_test::{Expect, expect};
use serde::Deserialize;

use super::secrets::Environment;
use super::*;

/// Secrets from maps, so that tests touch neither the process environment
/// nor the file system.
#[derive(Default)]
pub(crate) struct MapSecrets {
    pub vars: HashMap<String, String>,
    pub files: HashMap<PathBuf, String>,
}

impl MapSecrets {
    pub(crate) fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub(crate) fn file(mut self, path: &str, value: &str) -> Self {
        self.files.insert(PathBuf::from(path), value.to_owned());
        self
    }
}

impl Secrets for MapSecrets {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

const DING_URL: &str =
    "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef";

/// A resolved route from one TOML table, for other modules' tests.
pub(crate) fn route(table: &str, secrets: &MapSecrets) -> Result<Route, RouteError> {
    let spec: RouteSpec = toml::from_str(table).expect("test tables parse");
    spec.resolve("test-route", secrets)
}

#[derive(Deserialize)]
struct Config {
    routes: BTreeMap<String, RouteSpec>,
}

fn example_secrets() -> MapSecrets {
    MapSecrets::default()
        .var("LICWATCH_SMTP_PASSWORD", "hunter2")
        .var("LICWATCH_DINGTALK_URL", DING_URL)
        .var("LICWATCH_DINGTALK_SECRET", "SECabcdefabcdefabcdef")
        .var(
            "LICWATCH_WECOM_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        )
        .var(
            "LICWATCH_FEISHU_URL",
            "https://open.feishu.cn/open-apis/bot/v2/hook/2ab5a8b4-6b3c-4e5f-8a9b-0c1d2e3f4a5b",
        )
        .var("LICWATCH_FEISHU_SECRET", "feishusecret")
        .file(
            "/run/credentials/licwatch.service/lark-url",
            "https://open.larksuite.com/open-apis/bot/v2/hook/9f8e7d6c-5b4a-3210-fedc-ba9876543210\n",
        )
        .file("/run/credentials/licwatch.service/lark-secret", "larksecret\n")
        .var(
            "LICWATCH_SLACK_URL",
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        )
        .var("LICWATCH_WEBHOOK_URL", "https://erp.example.com/hooks/licwatch?token=abcdefghijklmnopqrstuvwxyz")
        .var("LICWATCH_WEBHOOK_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
}

#[test]
fn the_example_routes_parse_and_resolve_with_secrets_masked() {
    let text = crate::config::uncommented(crate::config::EXAMPLE);
    let config: Config = toml::from_str(&text).expect("the example parses");
    let kinds: Vec<&str> = config
        .routes
        .values()
        .map(|spec| match spec {
            RouteSpec::Email(_) => "email",
            RouteSpec::DingTalk(_) => "dingtalk",
            RouteSpec::WeCom(_) => "wecom",
            RouteSpec::Feishu(_) => "feishu",
            RouteSpec::Lark(_) => "lark",
            RouteSpec::Slack(_) => "slack",
            RouteSpec::Webhook(_) => "webhook",
            RouteSpec::Log(_) => "log",
        })
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "dingtalk", "email", "feishu", "lark", "log", "slack", "webhook", "wecom"
        ],
        "the example documents every kind once"
    );
    let secrets = example_secrets();
    let described: Vec<String> = config
        .routes
        .iter()
        .map(|(name, spec)| match spec.resolve(name, &secrets) {
            Ok(route) => route.describe(),
            Err(error) => error.to_string(),
        })
        .collect();
    expect![[r#"
        [
            "erp-hook: webhook https://erp.example.com/***atch?token=***wxyz, signed (en)",
            "intl-lark: lark https://open.larksuite.com/open-apis/bot/v2/hook/***3210, signed (en)",
            "intl-slack: slack https://hooks.slack.com/services/T00000000/B00000000/***XXXX (en)",
            "journal: log (zh-CN)",
            "ops-ding: dingtalk https://oapi.dingtalk.com/robot/send?access_token=***cdef, signed (zh-CN)",
            "ops-feishu: feishu https://open.feishu.cn/open-apis/bot/v2/hook/***4a5b, signed (zh-CN)",
            "ops-mail: email via smtp.example.com:587 (starttls, login licwatch@example.com) from licwatch@example.com to 2 recipient(s) at example.com (zh-CN)",
            "ops-wecom: wecom https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***5aaa (zh-CN)",
        ]
    "#]]
    .assert_debug_eq(&described);
}

#[test]
fn debug_output_holds_no_secret() {
    let secrets = example_secrets();
    let text = crate::config::uncommented(crate::config::EXAMPLE);
    let config: Config = toml::from_str(&text).expect("the example parses");
    for (name, spec) in &config.routes {
        let route = spec.resolve(name, &secrets).expect("example resolves");
        let debug = format!("{route:?} {route}");
        for secret in [
            "hunter2",
            "0123456789abcdef0123456789abcdef",
            "SECabc",
            "feishusecret",
            "larksecret",
            "2ab5a8b4-6b3c",
            "XXXXXXXXXXXXXXXX",
            "abcdefghijklmnop",
            "C2FVsBQ",
        ] {
            assert!(!debug.contains(secret), "{name}: {debug}");
        }
    }
}

fn check_error(table: &str, secrets: MapSecrets, expect: Expect) {
    let message = match toml::from_str::<RouteSpec>(table) {
        Err(error) => error.to_string(),
        Ok(spec) => match spec.resolve("ops", &secrets) {
            Ok(route) => format!("resolved: {route}"),
            Err(error) => error.to_string(),
        },
    };
    expect.assert_eq(&message);
}

#[test]
fn an_unknown_key_is_refused() {
    check_error(
        "kind = \"dingtalk\"\nurl_env = \"U\"\nsecret = \"SECinline\"",
        MapSecrets::default(),
        expect![[r#"
            unknown field `secret`, expected one of `url_env`, `url_file`, `secret_env`, `secret_file`, `lang`
        "#]],
    );
}

#[test]
fn an_unknown_kind_is_refused() {
    check_error(
        "kind = \"teams\"",
        MapSecrets::default(),
        expect![[r#"
        TOML parse error at line 1, column 8
          |
        1 | kind = "teams"
          |        ^^^^^^^
        unknown variant `teams`, expected one of `email`, `dingtalk`, `wecom`, `feishu`, `lark`, `slack`, `webhook`, `log`
    "#]],
    );
}

#[test]
fn a_robot_without_url_is_refused() {
    check_error(
        "kind = \"wecom\"",
        MapSecrets::default(),
        expect![
            "routes.ops: missing url_env or url_file (the webhook URL, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)"
        ],
    );
}

#[test]
fn env_and_file_together_are_refused() {
    check_error(
        "kind = \"slack\"\nurl_env = \"U\"\nurl_file = \"/run/u\"",
        MapSecrets::default(),
        expect![[r#"routes.ops.url_file = "/run/u": set either url_env or url_file, not both"#]],
    );
}

#[test]
fn an_unset_variable_is_named() {
    check_error(
        "kind = \"dingtalk\"\nurl_env = \"DING_URL\"",
        MapSecrets::default(),
        expect![[
            r#"routes.ops.url_env = "DING_URL": environment variable is not set or empty (expected the webhook URL, https://oapi.dingtalk.com/robot/send?access_token=…)"#
        ]],
    );
}

#[test]
fn an_unreadable_file_is_named() {
    check_error(
        "kind = \"feishu\"\nurl_file = \"/run/credentials/x/feishu-url\"",
        MapSecrets::default(),
        expect![[
            r#"routes.ops.url_file = "/run/credentials/x/feishu-url": cannot read the file: entity not found (expected a file holding the webhook URL, https://open.feishu.cn/open-apis/bot/v2/hook/…)"#
        ]],
    );
}

#[test]
fn plain_http_to_another_host_is_refused_without_quoting_the_token() {
    check_error(
        "kind = \"dingtalk\"\nurl_env = \"U\"",
        MapSecrets::default().var(
            "U",
            "http://oapi.dingtalk.com/robot/send?access_token=topsecret",
        ),
        expect![[
            r#"routes.ops.url_env = "U": scheme http: only https is accepted (http only for 127.0.0.1, ::1 or localhost)"#
        ]],
    );
}

#[test]
fn a_dingtalk_url_without_access_token_is_refused() {
    check_error(
        "kind = \"dingtalk\"\nurl_env = \"U\"",
        MapSecrets::default().var("U", "https://oapi.dingtalk.com/robot/send"),
        expect![[
            r#"routes.ops.url_env = "U": lacks the robot's token (expected https://oapi.dingtalk.com/robot/send?access_token=…)"#
        ]],
    );
}

#[test]
fn a_dingtalk_secret_must_be_the_sec_string() {
    check_error(
        "kind = \"dingtalk\"\nurl_env = \"U\"\nsecret_env = \"S\"",
        MapSecrets::default()
            .var("U", DING_URL)
            .var("S", "notasecret"),
        expect![[
            r#"routes.ops.secret_env = "S": does not start with SEC (expected the SEC… secret of the robot's 加签 setting)"#
        ]],
    );
}

#[test]
fn a_webhook_secret_must_be_whsec_base64() {
    let table = "kind = \"webhook\"\nurl_env = \"U\"\nsecret_env = \"S\"";
    let secrets = |secret: &str| {
        MapSecrets::default()
            .var("U", "https://example.com/hook")
            .var("S", secret)
    };
    check_error(
        table,
        secrets("C2FVsBQIhrscChlQIMV"),
        expect![[
            r#"routes.ops.secret_env = "S": does not start with whsec_ (expected a whsec_… secret (whsec_ and 24 to 64 bytes in base64))"#
        ]],
    );
    check_error(
        table,
        secrets("whsec_!!!"),
        expect![[
            r#"routes.ops.secret_env = "S": is not base64 after whsec_ (expected a whsec_… secret (whsec_ and 24 to 64 bytes in base64))"#
        ]],
    );
    check_error(
        table,
        secrets("whsec_c2hvcnQ="),
        expect![[
            r#"routes.ops.secret_env = "S": decodes to a key of the wrong length (expected a whsec_… secret (whsec_ and 24 to 64 bytes in base64))"#
        ]],
    );
}

#[test]
fn plain_smtp_is_only_for_loopback() {
    let table = |host: &str| {
        format!(
            "kind = \"email\"\nhost = \"{host}\"\ntls = \"none\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]"
        )
    };
    check_error(
        &table("smtp.example.com"),
        MapSecrets::default(),
        expect![[
            r#"routes.ops.tls = "none": plain SMTP to smtp.example.com would send the password and the message unencrypted; it is accepted only for 127.0.0.1, ::1 or localhost (accepted: starttls, implicit)"#
        ]],
    );
    check_error(
        &table("127.0.0.1"),
        MapSecrets::default(),
        expect![
            "resolved: ops: email via 127.0.0.1:25 (none) from a@example.com to 1 recipient(s) at example.com (zh-CN)"
        ],
    );
    check_error(
        &table("::1"),
        MapSecrets::default(),
        expect![
            "resolved: ops: email via ::1:25 (none) from a@example.com to 1 recipient(s) at example.com (zh-CN)"
        ],
    );
}

#[test]
fn email_values_are_checked() {
    let base = "kind = \"email\"\nhost = \"smtp.example.com\"\n";
    check_error(
        &format!("{base}from = \"not an address\"\nto = [\"b@example.com\"]"),
        MapSecrets::default(),
        expect![[
            r#"routes.ops.from = "not an address": is not an e-mail address: Invalid input (e.g. "licwatch <licwatch@example.com>")"#
        ]],
    );
    check_error(
        &format!("{base}from = \"a@example.com\"\nto = []"),
        MapSecrets::default(),
        expect![[r#"routes.ops.to = "[]": names no recipient (e.g. ["compliance@example.com"])"#]],
    );
    check_error(
        &format!("{base}from = \"a@example.com\"\nto = [\"b@example.com\"]\nusername = \"a\""),
        MapSecrets::default(),
        expect![[
            r#"routes.ops.username = "a": has no password (set password_env or password_file)"#
        ]],
    );
    check_error(
        &format!(
            "{base}from = \"a@example.com\"\nto = [\"b@example.com\"]\nca_file = \"/etc/ca.pem\""
        ),
        MapSecrets::default().file("/etc/ca.pem", "not a certificate"),
        expect![[
            r#"routes.ops.ca_file = "/etc/ca.pem": holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"#
        ]],
    );
    check_error(
        &format!("{base}tls = \"ssl\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]"),
        MapSecrets::default(),
        expect![[r#"
            unknown variant `ssl`, expected one of `starttls`, `implicit`, `none`
        "#]],
    );
}

#[test]
fn lang_defaults_to_chinese_and_accepts_en() {
    let secrets = MapSecrets::default();
    let zh = route("kind = \"log\"", &secrets).expect("log resolves");
    let en = route("kind = \"log\"\nlang = \"en\"", &secrets).expect("log resolves");
    let zh_short = route("kind = \"log\"\nlang = \"zh\"", &secrets).expect("log resolves");
    assert_eq!(
        (zh.lang, en.lang, zh_short.lang),
        (Lang::Zh, Lang::En, Lang::Zh)
    );
}

#[test]
fn an_unknown_key_in_a_config_file_is_shown_in_place() {
    let error = toml::from_str::<Config>(
        "[routes.ops-ding]\nkind = \"dingtalk\"\nurl_env = \"U\"\nsecret = \"SECinline\"\n",
    )
    .err()
    .map(|error| error.to_string())
    .unwrap_or_default();
    expect![[r#"
        TOML parse error at line 1, column 1
          |
        1 | [routes.ops-ding]
          | ^^^^^^^^^^^^^^^^^
        unknown field `secret`, expected one of `url_env`, `url_file`, `secret_env`, `secret_file`, `lang`
    "#]].assert_eq(&error);
}

#[test]
fn the_default_route_is_the_log_in_chinese() {
    let route = Route::default_log();
    assert_eq!(route.describe(), "log: log (zh-CN)");
}

#[test]
fn a_webhook_token_in_the_path_or_the_userinfo_is_masked() {
    let check = |url: &str, expect: Expect| {
        let secrets = MapSecrets::default().var("U", url);
        let route =
            route("kind = \"webhook\"\nurl_env = \"U\"", &secrets).expect("the route resolves");
        expect.assert_eq(&route.describe());
        assert!(!format!("{route:?}").contains("SECRETTOKEN"));
    };
    check(
        "https://discord.com/api/webhooks/123456/SECRETTOKENabcd",
        expect!["test-route: webhook https://discord.com/***abcd (zh-CN)"],
    );
    check(
        "https://user:SECRETTOKEN@hooks.example.com/in?sig=SECRETTOKENxyz0123",
        expect!["test-route: webhook https://***:***@hooks.example.com/***in?sig=***0123 (zh-CN)"],
    );
}

#[test]
fn issue_13_a_secret_file_that_never_ends_is_read_no_further_than_the_cap() {
    let err = Environment.read(Path::new("/dev/zero")).unwrap_err();
    assert!(
        err.to_string().contains(
            "more than 1048576 bytes, the most licwatch reads from a config, holiday or secret file"
        ),
        "{err}"
    );
}
