//! The TOML configuration, loaded in two stages: a raw serde shape that
//! refuses unknown keys, then the resolved `Config` the rest of the program
//! uses (policy built, holiday files read). Only `Config` and the route
//! tables it keeps unresolved (`routes`) leave this module.

mod policy;
pub mod routes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use self::policy::RawPolicy;
use self::routes::RouteSpec;
use crate::domain::calendar::Calendar;
use crate::domain::policy::Policy;

/// The commented example, which is also the documentation of every key.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    calendar: RawCalendar,
    policy: RawPolicy,
    schedule: RawTicks,
    delivery: RawDelivery,
    routing: RawRouting,
    store: RawStore,
    http: RawHttp,
    /// Documented and checked through notify's own tests.
    #[serde(skip_serializing)]
    routes: BTreeMap<String, RouteSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawCalendar {
    holiday_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawTicks {
    cron: String,
    time_zone: String,
}

impl Default for RawTicks {
    fn default() -> Self {
        RawTicks {
            cron: "30 9 * * *".into(),
            time_zone: "Asia/Shanghai".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawDelivery {
    retry_first_seconds: u64,
    retry_max_seconds: u64,
    retry_for_hours: u64,
    send_timeout_seconds: u64,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            retry_first_seconds: 60,
            retry_max_seconds: 3600,
            retry_for_hours: 72,
            send_timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawRouting {
    default_routes: Vec<String>,
    contacts_via: String,
    fallback: String,
    operator: Vec<String>,
    all_clear_routes: Vec<String>,
    all_clear_weekday: String,
    all_clear_days: u32,
}

impl Default for RawRouting {
    fn default() -> Self {
        RawRouting {
            default_routes: Vec::new(),
            contacts_via: String::new(),
            fallback: String::new(),
            operator: Vec::new(),
            all_clear_routes: Vec::new(),
            all_clear_weekday: "mon".into(),
            all_clear_days: 30,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawStore {
    /// Empty: --db, LICWATCH_DB, or licwatch.db in the working directory.
    path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawHttp {
    /// Empty: no listener.
    listen: String,
    calendar_token_env: String,
    calendar_token_file: String,
    /// Empty: alerts carry no link, cookies follow `secure_cookies`.
    public_url: String,
    /// Secure cookies even when `public_url` is not https (a proxy that
    /// adds TLS but is reached by another name).
    secure_cookies: bool,
    /// Empty: no proxy is trusted.
    trusted_proxies: Vec<String>,
    /// Empty: no single sign-on header is read.
    proxy_user_header: String,
}

/// The largest config, holiday or secret file read: each is a few KB, and
/// `--config /dev/zero` must not read forever.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The longest error message about a config.
const MAX_ERROR_BYTES: usize = 600;

/// A text file read up to [`MAX_FILE_BYTES`]: a larger one is refused, and
/// a device that never ends is read no further than that.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "more than {MAX_FILE_BYTES} bytes, the most licwatch reads from a config, holiday or secret file"
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to() + 1),
        )
    })
}

/// How far ahead `schedule.cron` must have a tick.
const TICK_HORIZON_DAYS: i64 = 366;

impl RawTicks {
    fn resolve(&self) -> anyhow::Result<Ticks> {
        const EXPECTED: &str = "expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"30 9 * * *\" for 09:30 every day";
        let refuse = |problem: String| {
            // A huge value is named by its start: the error stays one line.
            let shown: String = self.cron.chars().take(80).collect();
            let cut = if shown.len() < self.cron.len() {
                "…"
            } else {
                ""
            };
            anyhow::anyhow!("schedule.cron = \"{shown}{cut}\": {problem} ({EXPECTED})")
        };
        // Only the documented form: croner also takes a seconds and a year
        // field and "@daily" names, and `* * * * * *` ticked every second.
        let fields = self.cron.split_whitespace().count();
        if fields != 5 {
            return Err(refuse(format!("{fields} fields")));
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(&self.cron)
            .map_err(|e| refuse(e.to_string().chars().take(200).collect()))?;
        let time_zone: chrono_tz::Tz = self.time_zone.parse().map_err(|_| {
            anyhow::anyhow!(
                "schedule.time_zone = \"{}\": not an IANA time zone (e.g. Asia/Shanghai, Asia/Hong_Kong, UTC)",
                self.time_zone
            )
        })?;
        // A pattern that never matches (30 February) ticked once at start
        // and never again, silently (issue 13). Checked from now, so that
        // one matching only on 29 February is refused too in a year
        // without one: a reminder daemon ticking less than once a year is
        // broken either way.
        let now = chrono::Utc::now().with_timezone(&time_zone);
        let horizon = now + chrono::Duration::days(TICK_HORIZON_DAYS);
        match cron.find_next_occurrence(&now, false) {
            Ok(next) if next <= horizon => {}
            _ => {
                return Err(refuse(format!(
                    "no tick in the next {TICK_HORIZON_DAYS} days; the daemon would never send a reminder"
                )));
            }
        }
        Ok(Ticks { cron, time_zone })
    }
}

impl RawDelivery {
    fn resolve(&self) -> anyhow::Result<Delivery> {
        let seconds = |key: &str, value: u64, max: u64| -> anyhow::Result<std::time::Duration> {
            if !(1..=max).contains(&value) {
                bail!("delivery.{key}: {value} is out of range (1 to {max})");
            }
            Ok(std::time::Duration::from_secs(value))
        };
        let retry_first = seconds("retry_first_seconds", self.retry_first_seconds, 86_400)?;
        let retry_max = seconds("retry_max_seconds", self.retry_max_seconds, 7 * 86_400)?;
        if retry_max < retry_first {
            bail!(
                "delivery.retry_max_seconds: {} is less than delivery.retry_first_seconds ({})",
                self.retry_max_seconds,
                self.retry_first_seconds
            );
        }
        Ok(Delivery {
            retry_first,
            retry_max,
            retry_for: seconds("retry_for_hours", self.retry_for_hours, 24 * 60)? * 3600,
            send_timeout: seconds("send_timeout_seconds", self.send_timeout_seconds, 600)?,
        })
    }
}

impl RawRouting {
    fn resolve(&self, routes: &BTreeMap<String, RouteSpec>) -> anyhow::Result<Routing> {
        let known = |key: &str, name: &str| -> anyhow::Result<String> {
            if name == "log" && routes.is_empty() || routes.contains_key(name) {
                return Ok(name.to_owned());
            }
            let mut names: Vec<&str> = routes.keys().map(String::as_str).collect();
            if names.is_empty() {
                names.push("log");
            }
            bail!(
                "routing.{key}: \"{name}\" is not a configured route (configured: {})",
                names.join(", ")
            )
        };
        let optional = |key: &str, name: &str| -> anyhow::Result<Option<String>> {
            if name.is_empty() {
                Ok(None)
            } else {
                known(key, name).map(Some)
            }
        };
        let contacts_via = optional("contacts_via", &self.contacts_via)?;
        if let Some(name) = &contacts_via
            && !matches!(routes.get(name), Some(RouteSpec::Email(_)))
        {
            bail!(
                "routing.contacts_via: \"{name}\" is not an email route (contacts are mailed through an email route's server)"
            );
        }
        let weekday: chrono::Weekday = self.all_clear_weekday.parse().map_err(|_| {
            anyhow::anyhow!(
                "routing.all_clear_weekday = \"{}\": not a weekday (mon, tue, wed, thu, fri, sat, sun)",
                self.all_clear_weekday
            )
        })?;
        if !(1..=366).contains(&self.all_clear_days) {
            bail!(
                "routing.all_clear_days: {} is out of range (1 to 366)",
                self.all_clear_days
            );
        }
        Ok(Routing {
            default_routes: self
                .default_routes
                .iter()
                .map(|name| known("default_routes", name))
                .collect::<anyhow::Result<_>>()?,
            contacts_via,
            fallback: optional("fallback", &self.fallback)?,
            operator: self
                .operator
                .iter()
                .map(|name| known("operator", name))
                .collect::<anyhow::Result<_>>()?,
            all_clear_routes: self
                .all_clear_routes
                .iter()
                .map(|name| known("all_clear_routes", name))
                .collect::<anyhow::Result<_>>()?,
            all_clear_weekday: weekday,
            all_clear_days: self.all_clear_days,
        })
    }
}

/// The resolved configuration. Routes stay unresolved until a command that
/// sends needs them: their secrets live in the service's environment or
/// credentials, not in the shell of a person adding a licence.
#[derive(Debug, Clone)]
pub struct Config {
    pub policy: Policy,
    pub calendar: Calendar,
    pub schedule: Ticks,
    pub delivery: Delivery,
    pub routing: Routing,
    /// `[store] path`, relative paths taken from the config's directory.
    pub store_path: Option<PathBuf>,
    pub http: Http,
    route_specs: BTreeMap<String, RouteSpec>,
}

/// The daemon's HTTP listener (`[http]`): off without an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Http {
    pub listen: Option<std::net::SocketAddr>,
    /// Where the calendar feed's token is read from (`_env` or `_file`);
    /// none: no feed.
    pub calendar_token: Option<TokenSource>,
    /// The console's address as people reach it (through the proxy): the
    /// base of the links in alerts.
    pub public_url: Option<url::Url>,
    /// Mark the console's cookies Secure (sent over https only).
    pub secure_cookies: bool,
    /// Peers whose X-Forwarded-For and `proxy_user_header` are believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A trusted proxy's header naming the signed-in account (single sign-on).
    pub proxy_user_header: Option<String>,
}

/// A secret's place, read when the listener starts, like every secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
}

impl RawHttp {
    fn resolve(&self, base: &Path) -> anyhow::Result<Http> {
        let listen = match self.listen.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                anyhow::anyhow!(
                    "http.listen = \"{text}\": not an address and port (e.g. \"127.0.0.1:9386\" or \"[::1]:9386\")"
                )
            })?),
        };
        let calendar_token = match (
            self.calendar_token_env.trim(),
            self.calendar_token_file.trim(),
        ) {
            ("", "") => None,
            (env, "") => Some(TokenSource::Env(env.to_owned())),
            ("", file) => Some(TokenSource::File(base.join(file))),
            _ => bail!(
                "http: both calendar_token_env and calendar_token_file are set; set one of the two"
            ),
        };
        let public_url = match self.public_url.trim() {
            "" => None,
            text => {
                let url = url::Url::parse(text)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
                Some(url.ok_or_else(|| {
                    anyhow::anyhow!(
                        "http.public_url = \"{text}\": not an http(s) address (e.g. \"https://licwatch.example.com/\")"
                    )
                })?)
            }
        };
        let secure_cookies = self.secure_cookies
            || public_url
                .as_ref()
                .is_some_and(|url| url.scheme() == "https");
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|text| {
                text.trim().parse().map_err(|_| {
                    anyhow::anyhow!(
                        "http.trusted_proxies: \"{text}\" is not an IP address (e.g. \"127.0.0.1\")"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<std::net::IpAddr>>>()?;
        let proxy_user_header = match self.proxy_user_header.trim() {
            "" => None,
            name if trusted_proxies.is_empty() => bail!(
                "http.proxy_user_header = \"{name}\": set http.trusted_proxies too (the header is believed only from those addresses)"
            ),
            name if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() => bail!(
                "http.proxy_user_header = \"{name}\": not a header name (e.g. \"X-Remote-User\")"
            ),
            name => Some(name.to_ascii_lowercase()),
        };
        Ok(Http {
            listen,
            calendar_token,
            public_url,
            secure_cookies,
            trusted_proxies,
            proxy_user_header,
        })
    }
}

/// When the daemon ticks.
#[derive(Debug, Clone)]
pub struct Ticks {
    pub cron: croner::Cron,
    pub time_zone: chrono_tz::Tz,
}

impl Ticks {
    /// The day it is at `now` in the schedule's zone: the day each face
    /// takes for today, so that a server on UTC does not act a day early.
    pub fn today(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }
}

/// How the daemon retries a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub retry_first: std::time::Duration,
    pub retry_max: std::time::Duration,
    /// After this long since it was planned, a row that still fails is
    /// marked failed.
    pub retry_for: std::time::Duration,
    pub send_timeout: std::time::Duration,
}

/// Where alerts go, besides each route named in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Every alert goes to these; all configured routes when the config
    /// names none.
    pub default_routes: Vec<String>,
    /// An e-mail route whose server mails each company's own contacts.
    pub contacts_via: Option<String>,
    /// Hears of every delivery that failed for good.
    pub fallback: Option<String>,
    /// Notices for whoever runs licwatch (a holiday calendar missing): not
    /// a client's group. Empty: the default routes.
    pub operator: Vec<String>,
    pub all_clear_routes: Vec<String>,
    pub all_clear_weekday: chrono::Weekday,
    pub all_clear_days: u32,
}

impl Config {
    /// The embedded defaults: no file needed for a first run.
    pub fn defaults() -> Config {
        let raw = RawConfig::default();
        Config {
            policy: Policy::default(),
            calendar: Calendar::embedded(),
            schedule: raw
                .schedule
                .resolve()
                .expect("the default schedule is valid"),
            delivery: raw
                .delivery
                .resolve()
                .expect("the default delivery settings are valid"),
            routing: raw
                .routing
                .resolve(&raw.routes)
                .expect("the default routing names no route"),
            store_path: None,
            http: Http::default(),
            route_specs: raw.routes,
        }
    }

    /// The names of the configured routes ("log" when none is).
    pub fn route_names(&self) -> Vec<String> {
        if self.route_specs.is_empty() {
            return vec!["log".to_owned()];
        }
        self.route_specs.keys().cloned().collect()
    }

    /// The `[routes.NAME]` tables, by name, unresolved.
    pub fn route_specs(&self) -> &BTreeMap<String, RouteSpec> {
        &self.route_specs
    }

    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = read_text(path).with_context(|| {
            format!(
                "reading config {} (check --config or LICWATCH_CONFIG)",
                path.display()
            )
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text`; relative holiday file paths are taken from the
    /// directory of `path`. The error is one line of bounded length: a
    /// value quoted from a huge file is cut (issue 13: a 100 MB config
    /// printed a 100 MB error line).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
        Config::parse_unbounded(text, path).map_err(|error| {
            let message = format!("{error:#}");
            if message.len() <= MAX_ERROR_BYTES {
                return error;
            }
            let mut cut = MAX_ERROR_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            anyhow::anyhow!(
                "{}… ({} more bytes of the error not shown)",
                &message[..cut],
                message.len() - cut
            )
        })
    }

    fn parse_unbounded(text: &str, path: &Path) -> anyhow::Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1)
                .unwrap_or(0);
            anyhow::anyhow!("config {}:{line}: {}", path.display(), e.message())
        })?;
        let context = || format!("config {}", path.display());
        if let Some(name) = raw.routes.keys().find(|name| {
            name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            bail!(
                "config {}: [routes.{name}]: a route name is letters, digits, '-' and '_' (e.g. ops-mail)",
                path.display()
            );
        }
        let policy = raw.policy.resolve().with_context(context)?;
        let schedule = raw.schedule.resolve().with_context(context)?;
        let delivery = raw.delivery.resolve().with_context(context)?;
        let routing = raw.routing.resolve(&raw.routes).with_context(context)?;
        let mut calendar = Calendar::embedded();
        let base = path.parent().unwrap_or(Path::new("."));
        let store_path = match raw.store.path.trim() {
            "" => None,
            text => Some(base.join(text)),
        };
        let http = raw.http.resolve(base).with_context(context)?;
        for (index, file) in raw.calendar.holiday_files.iter().enumerate() {
            let file = base.join(file);
            let text = read_text(&file).with_context(|| {
                format!(
                    "config {}: calendar.holiday_files[{index}]: reading {}",
                    path.display(),
                    file.display()
                )
            })?;
            calendar.merge(Calendar::parse(&text, &file.display().to_string())?);
        }
        Ok(Config {
            policy,
            calendar,
            schedule,
            delivery,
            routing,
            store_path,
            http,
            route_specs: raw.routes,
        })
    }
}

/// `text` with every `# key = value` and `# [table]` line uncommented: the
/// example with all its documented keys set. Indented keys (`#   key = …`)
/// are alternatives and stay commented.
#[cfg(test)]
pub(crate) fn uncommented(text: &str) -> String {
    text.lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix("# ") else {
                return line;
            };
            let is_table = rest.starts_with('[') && rest.ends_with(']');
            let is_key = rest
                .split_once(" = ")
                .is_some_and(|(key, _)| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if is_table || is_key { rest } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
