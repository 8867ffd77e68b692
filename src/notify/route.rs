//! Routes: the named destinations of `[routes.NAME]` in the config.
//!
//! Two stages, as for the whole config: `RouteSpec` is the raw table, checked
//! by serde alone; `RouteSpec::resolve` reads the secrets it names from the
//! environment or from files (systemd `LoadCredential=`) and checks every
//! value, giving a `Route`. Secrets never appear inline in the config, and a
//! `Route` prints its URLs with the tokens masked, so it is safe to log.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::Certificate;
use thiserror::Error;
use url::{Host, Url};

use self::secrets::{PathSecret, Secret, SecretUrl, Secrets};
use crate::config::Config;
use crate::config::routes::{EmailSpec, RouteSpec, SignedSpec, TlsMode};
use crate::domain::lang::Lang;

pub mod secrets;

/// A resolved route, ready to send through.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub lang: Lang,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    /// Writes the rendered message to the log: the default when no route is
    /// configured, so a first run works without a mail server.
    Log,
    Email(Email),
    DingTalk(Robot),
    WeCom(Robot),
    Feishu(Robot),
    Lark(Robot),
    Slack(Robot),
    /// Standard Webhooks; `secret` holds the key decoded from `whsec_…`.
    Webhook(Robot),
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Log => "log",
            Target::Email(_) => "email",
            Target::DingTalk(_) => "dingtalk",
            Target::WeCom(_) => "wecom",
            Target::Feishu(_) => "feishu",
            Target::Lark(_) => "lark",
            Target::Slack(_) => "slack",
            Target::Webhook(_) => "webhook",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Email {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<(String, Secret)>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub extra_root: Option<Certificate>,
    /// Items listed in one digest; the rest go in an .xlsx attachment.
    pub max_items: usize,
    /// The largest message sent, in bytes; a larger digest is split.
    pub max_bytes: usize,
}

impl Email {
    /// Enough to see what is most urgent at a glance; the attachment has all.
    pub const DEFAULT_MAX_ITEMS: usize = 200;
    /// Half of postfix's default `message_size_limit` (10,240,000 bytes),
    /// leaving room for base64 and a relay's own additions.
    pub const DEFAULT_MAX_KIB: usize = 5 * 1024;
}

#[derive(Debug, Clone)]
pub struct Robot {
    pub url: SecretUrl,
    pub secret: Option<Secret>,
}

impl Route {
    /// The log route, used when the config names no route.
    pub fn default_log() -> Route {
        Route {
            name: "log".to_owned(),
            lang: Lang::Zh,
            target: Target::Log,
        }
    }

    /// One line for `licwatch config check` and the log: secrets masked,
    /// recipients shown by domain only (full addresses are personal data).
    pub fn describe(&self) -> String {
        let lang = self.lang.code();
        let name = &self.name;
        match &self.target {
            Target::Log => format!("{name}: log ({lang})"),
            Target::Email(email) => {
                let mut domains: Vec<&str> = email
                    .to
                    .iter()
                    .map(|mailbox| mailbox.email.domain())
                    .collect();
                domains.sort_unstable();
                domains.dedup();
                let auth = match &email.credentials {
                    Some((user, _)) => format!(", login {user}"),
                    None => String::new(),
                };
                format!(
                    "{name}: email via {}:{} ({}{auth}) from {} to {} recipient(s) at {} ({lang})",
                    email.host,
                    email.port,
                    email.tls.code(),
                    email.from.email,
                    email.to.len(),
                    domains.join(", "),
                )
            }
            Target::DingTalk(robot)
            | Target::WeCom(robot)
            | Target::Feishu(robot)
            | Target::Lark(robot)
            | Target::Slack(robot)
            | Target::Webhook(robot) => {
                let signed = if robot.secret.is_some() {
                    ", signed"
                } else {
                    ""
                };
                format!(
                    "{name}: {} {}{signed} ({lang})",
                    self.target.kind(),
                    robot.url
                )
            }
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    #[error("routes.{route}: {problem}")]
    Missing { route: String, problem: String },
    /// `value` is what the config says (a variable name, a path, a setting),
    /// never a secret's content.
    #[error("routes.{route}.{key} = \"{value}\": {problem}")]
    Invalid {
        route: String,
        key: String,
        value: String,
        problem: String,
    },
}

/// A secret's content and where it came from, for error messages.
struct Sourced {
    text: String,
    key: String,
    value: String,
}

struct Resolver<'a> {
    route: &'a str,
    secrets: &'a dyn Secrets,
}

impl Resolver<'_> {
    fn invalid(&self, key: &str, value: &str, problem: impl Into<String>) -> RouteError {
        RouteError::Invalid {
            route: self.route.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
        }
    }

    fn missing(&self, problem: impl Into<String>) -> RouteError {
        RouteError::Missing {
            route: self.route.to_owned(),
            problem: problem.into(),
        }
    }

    /// Reads `<stem>_env` or `<stem>_file`, exactly one of which may be set.
    /// Surrounding whitespace is dropped: credential files usually end in a
    /// newline.
    fn secret(
        &self,
        stem: &str,
        env: &Option<String>,
        file: &Option<PathBuf>,
        what: &str,
    ) -> Result<Option<Sourced>, RouteError> {
        let env_key = format!("{stem}_env");
        let file_key = format!("{stem}_file");
        let (text, key, value) = match (env, file) {
            (None, None) => return Ok(None),
            (Some(_), Some(path)) => {
                return Err(self.invalid(
                    &file_key,
                    &path.display().to_string(),
                    format!("set either {env_key} or {file_key}, not both"),
                ));
            }
            (Some(var), None) => {
                let text = self.secrets.var(var).unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(self.invalid(
                        &env_key,
                        var,
                        format!("environment variable is not set or empty (expected {what})"),
                    ));
                }
                (text, env_key, var.clone())
            }
            (None, Some(path)) => {
                let shown = path.display().to_string();
                let text = self.secrets.read(path).map_err(|error| {
                    self.invalid(
                        &file_key,
                        &shown,
                        format!("cannot read the file: {error} (expected a file holding {what})"),
                    )
                })?;
                if text.trim().is_empty() {
                    return Err(self.invalid(
                        &file_key,
                        &shown,
                        format!("the file is empty (expected {what})"),
                    ));
                }
                (text, file_key, shown)
            }
        };
        Ok(Some(Sourced {
            text: text.trim().to_owned(),
            key,
            value,
        }))
    }

    fn url(
        &self,
        env: &Option<String>,
        file: &Option<PathBuf>,
        kind: UrlKind,
    ) -> Result<SecretUrl, RouteError> {
        let what = kind.example();
        let sourced = self
            .secret("url", env, file, &format!("the webhook URL, {what}"))?
            .ok_or_else(|| {
                self.missing(format!(
                    "missing url_env or url_file (the webhook URL, {what})"
                ))
            })?;
        // The URL holds the token, so errors name where it came from and
        // never quote it.
        let bad = |problem: String| self.invalid(&sourced.key, &sourced.value, problem);
        let url = Url::parse(&sourced.text)
            .map_err(|error| bad(format!("is not a URL: {error} (expected {what})")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(url.host()) => {}
            scheme => {
                return Err(bad(format!(
                    "scheme {scheme}: only https is accepted (http only for 127.0.0.1, ::1 or localhost)"
                )));
            }
        }
        let has_query = |name: &str| {
            url.query_pairs()
                .any(|(key, value)| key == name && !value.is_empty())
        };
        let last_segment = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .unwrap_or_default()
            .to_owned();
        let fits = match kind {
            UrlKind::DingTalk => has_query("access_token"),
            UrlKind::WeCom => has_query("key"),
            UrlKind::Feishu | UrlKind::Lark => {
                url.path().contains("/bot/v2/hook/") && !last_segment.is_empty()
            }
            UrlKind::Slack => !last_segment.is_empty(),
            UrlKind::Webhook => true,
        };
        if !fits {
            return Err(bad(format!("lacks the robot's token (expected {what})")));
        }
        Ok(SecretUrl {
            url,
            path: match kind {
                UrlKind::DingTalk | UrlKind::WeCom => PathSecret::None,
                UrlKind::Feishu | UrlKind::Lark | UrlKind::Slack => PathSecret::LastSegment,
                UrlKind::Webhook => PathSecret::Whole,
            },
        })
    }

    fn email(&self, spec: &EmailSpec) -> Result<Email, RouteError> {
        let host = spec.host.trim();
        if host.is_empty() {
            return Err(self.invalid(
                "host",
                &spec.host,
                "is empty (expected the SMTP server's name, e.g. smtp.example.com)",
            ));
        }
        let host_kind = match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => Some(Host::Ipv4(ip)),
            Ok(IpAddr::V6(ip)) => Some(Host::Ipv6(ip)),
            Err(_) => Some(Host::Domain(host)),
        };
        if spec.tls == TlsMode::None && !is_loopback(host_kind) {
            return Err(self.invalid(
                "tls",
                "none",
                format!(
                    "plain SMTP to {host} would send the password and the message unencrypted; it is accepted only for 127.0.0.1, ::1 or localhost (accepted: starttls, implicit)"
                ),
            ));
        }
        if spec.port == Some(0) {
            return Err(self.invalid(
                "port",
                "0",
                "is not a port (e.g. 587 for starttls, 465 for implicit)",
            ));
        }
        let mailbox = |key: &str, text: &str| {
            text.parse::<Mailbox>().map_err(|error| {
                self.invalid(
                    key,
                    text,
                    format!(
                        "is not an e-mail address: {error} (e.g. \"licwatch <licwatch@example.com>\")"
                    ),
                )
            })
        };
        let from = mailbox("from", &spec.from)?;
        if spec.to.is_empty() {
            return Err(self.invalid(
                "to",
                "[]",
                "names no recipient (e.g. [\"compliance@example.com\"])",
            ));
        }
        let to = spec
            .to
            .iter()
            .map(|text| mailbox("to", text))
            .collect::<Result<Vec<_>, _>>()?;
        let password = self.secret(
            "password",
            &spec.password_env,
            &spec.password_file,
            "the SMTP password",
        )?;
        let credentials = match (&spec.username, password) {
            (Some(user), Some(password)) => {
                Some((user.clone(), Secret::new(password.text.into_bytes())))
            }
            (None, None) => None,
            (Some(user), None) => {
                return Err(self.invalid(
                    "username",
                    user,
                    "has no password (set password_env or password_file)",
                ));
            }
            (None, Some(password)) => {
                return Err(self.invalid(
                    &password.key,
                    &password.value,
                    "a password needs a username (set username)",
                ));
            }
        };
        let extra_root = match &spec.ca_file {
            None => None,
            Some(path) => {
                let shown = path.display().to_string();
                let invalid = |problem: String| self.invalid("ca_file", &shown, problem);
                let pem = self.secrets.read(path).map_err(|error| {
                    invalid(format!(
                        "cannot read the file: {error} (expected a PEM root certificate)"
                    ))
                })?;
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(invalid(
                        "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
                    ));
                }
                Some(
                    Certificate::from_pem(pem.as_bytes()).map_err(|error| {
                        invalid(format!("is not a valid PEM certificate: {error}"))
                    })?,
                )
            }
        };
        let max_items = spec.max_items.unwrap_or(Email::DEFAULT_MAX_ITEMS);
        if !(1..=100_000).contains(&max_items) {
            return Err(self.invalid(
                "max_items",
                &max_items.to_string(),
                "is out of range (expected 1 to 100000)",
            ));
        }
        let max_kib = spec.max_message_kib.unwrap_or(Email::DEFAULT_MAX_KIB);
        if !(64..=1_048_576).contains(&max_kib) {
            return Err(self.invalid(
                "max_message_kib",
                &max_kib.to_string(),
                "is out of range (expected 64 to 1048576 KiB; a server's limit, e.g. postfix's message_size_limit, less a margin)",
            ));
        }
        Ok(Email {
            host: host.to_owned(),
            port: spec.port.unwrap_or(spec.tls.default_port()),
            tls: spec.tls,
            credentials,
            from,
            to,
            extra_root,
            max_items,
            max_bytes: max_kib * 1024,
        })
    }

    fn robot(&self, spec: &SignedSpec, kind: UrlKind) -> Result<Robot, RouteError> {
        let url = self.url(&spec.url_env, &spec.url_file, kind)?;
        let what = match kind {
            UrlKind::DingTalk => "the SEC… secret of the robot's 加签 setting",
            UrlKind::Webhook => "a whsec_… secret (whsec_ and 24 to 64 bytes in base64)",
            _ => "the secret of the robot's 签名校验 setting",
        };
        let Some(sourced) = self.secret("secret", &spec.secret_env, &spec.secret_file, what)?
        else {
            return Ok(Robot { url, secret: None });
        };
        let bad = |problem: &str| {
            self.invalid(
                &sourced.key,
                &sourced.value,
                format!("{problem} (expected {what})"),
            )
        };
        let secret = match kind {
            UrlKind::DingTalk if !sourced.text.starts_with("SEC") => {
                return Err(bad("does not start with SEC"));
            }
            UrlKind::Webhook => {
                let encoded = sourced
                    .text
                    .strip_prefix("whsec_")
                    .ok_or_else(|| bad("does not start with whsec_"))?;
                let key = BASE64
                    .decode(encoded)
                    .map_err(|_| bad("is not base64 after whsec_"))?;
                if !(24..=64).contains(&key.len()) {
                    return Err(bad("decodes to a key of the wrong length"));
                }
                Secret::new(key)
            }
            _ => Secret::new(sourced.text.into_bytes()),
        };
        Ok(Robot {
            url,
            secret: Some(secret),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlKind {
    DingTalk,
    WeCom,
    Feishu,
    Lark,
    Slack,
    Webhook,
}

impl UrlKind {
    fn example(self) -> &'static str {
        match self {
            UrlKind::DingTalk => "https://oapi.dingtalk.com/robot/send?access_token=…",
            UrlKind::WeCom => "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
            UrlKind::Feishu => "https://open.feishu.cn/open-apis/bot/v2/hook/…",
            UrlKind::Lark => "https://open.larksuite.com/open-apis/bot/v2/hook/…",
            UrlKind::Slack => "https://hooks.slack.com/services/T…/B…/…",
            UrlKind::Webhook => "an https URL",
        }
    }
}

fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl RouteSpec {
    /// Reads the secrets this route names and checks every value. Errors
    /// name the key as `routes.NAME.KEY`.
    pub fn resolve(&self, name: &str, secrets: &dyn Secrets) -> Result<Route, RouteError> {
        let resolver = Resolver {
            route: name,
            secrets,
        };
        let (lang, target) = match self {
            RouteSpec::Log(spec) => (spec.lang, Target::Log),
            RouteSpec::Email(spec) => (spec.lang, Target::Email(resolver.email(spec)?)),
            RouteSpec::DingTalk(spec) => (
                spec.lang,
                Target::DingTalk(resolver.robot(spec, UrlKind::DingTalk)?),
            ),
            RouteSpec::Feishu(spec) => (
                spec.lang,
                Target::Feishu(resolver.robot(spec, UrlKind::Feishu)?),
            ),
            RouteSpec::Lark(spec) => (
                spec.lang,
                Target::Lark(resolver.robot(spec, UrlKind::Lark)?),
            ),
            RouteSpec::Webhook(spec) => (
                spec.lang,
                Target::Webhook(resolver.robot(spec, UrlKind::Webhook)?),
            ),
            RouteSpec::WeCom(spec) => (
                spec.lang,
                Target::WeCom(Robot {
                    url: resolver.url(&spec.url_env, &spec.url_file, UrlKind::WeCom)?,
                    secret: None,
                }),
            ),
            RouteSpec::Slack(spec) => (
                spec.lang,
                Target::Slack(Robot {
                    url: resolver.url(&spec.url_env, &spec.url_file, UrlKind::Slack)?,
                    secret: None,
                }),
            ),
        };
        Ok(Route {
            name: name.to_owned(),
            lang: lang.unwrap_or_default(),
            target,
        })
    }
}

/// The configured routes with their secrets read; the log route when none
/// is configured, so that a first run works without a mail server.
pub fn resolve_all(config: &Config, secrets: &dyn Secrets) -> anyhow::Result<Vec<Route>> {
    if config.route_specs().is_empty() {
        return Ok(vec![Route::default_log()]);
    }
    config
        .route_specs()
        .iter()
        .map(|(name, spec)| Ok(spec.resolve(name, secrets)?))
        .collect()
}

/// One configured route with its secrets read; the other routes' secrets
/// are not read, so one missing secret does not stop a test of another
/// route.
pub fn resolve_one(config: &Config, name: &str, secrets: &dyn Secrets) -> anyhow::Result<Route> {
    if config.route_specs().is_empty() && name == "log" {
        return Ok(Route::default_log());
    }
    let spec = config.route_specs().get(name).ok_or_else(|| {
        anyhow::anyhow!(
            "route \"{name}\": not configured (configured: {})",
            config.route_names().join(", ")
        )
    })?;
    Ok(spec.resolve(name, secrets)?)
}

#[cfg(test)]
pub(crate) mod tests;
