//! The TOML configuration, loaded in two stages: a raw serde shape that
//! refuses unknown keys, then the resolved `Config` the rest of the program
//! uses (policy built, holiday files read). Only `Config` and the route
//! tables it keeps unresolved (`routes`) leave this module.

pub mod routes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use self::routes::RouteSpec;
use crate::domain::calendar::Calendar;
use crate::domain::policy::{Policy, Schedule, StageAt};

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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawPolicy {
    renewal_lead_days: i64,
    renewal_opens_days: i64,
    change_filing_days: i64,
    activation_months: u32,
    licence_years: u32,
    annual_report_lookback_years: i32,
    renewal: RawSchedule,
    annual_report: RawSchedule,
    change_filing: RawSchedule,
    number_activation: RawSchedule,
    number_outlives_licence: RawSchedule,
}

/// A kind's schedule; a key left out keeps that kind's default.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<Vec<RawStage>>,
    /// 0 turns overdue repeats off.
    #[serde(skip_serializing_if = "Option::is_none")]
    overdue_every_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning_from_days: Option<i64>,
}

/// A stage is a number of days relative to the due day (−30) or a fixed day
/// of the due year as "MM-DD".
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
enum RawStage {
    Days(i64),
    MonthDay(String),
}

impl From<&Schedule> for RawSchedule {
    fn from(schedule: &Schedule) -> Self {
        RawSchedule {
            stages: Some(
                schedule
                    .stages
                    .iter()
                    .map(|stage| match *stage {
                        StageAt::Days(days) => RawStage::Days(days),
                        StageAt::MonthDay(m, d) => RawStage::MonthDay(format!("{m:02}-{d:02}")),
                    })
                    .collect(),
            ),
            overdue_every_days: Some(schedule.overdue_every_days.unwrap_or(0)),
            warning_from_days: Some(schedule.warning_from_days),
        }
    }
}

impl Default for RawPolicy {
    fn default() -> Self {
        let policy = Policy::default();
        RawPolicy {
            renewal_lead_days: policy.renewal_lead_days,
            renewal_opens_days: policy.renewal_opens_days,
            change_filing_days: policy.change_filing_days,
            activation_months: policy.activation_months,
            licence_years: policy.licence_years,
            annual_report_lookback_years: policy.annual_report_lookback_years,
            renewal: (&policy.renewal).into(),
            annual_report: (&policy.annual_report).into(),
            change_filing: (&policy.change_filing).into(),
            number_activation: (&policy.number_activation).into(),
            number_outlives_licence: (&policy.number_outlives_licence).into(),
        }
    }
}

/// Resolves a kind's schedule; keys left out keep `default`'s values.
fn schedule(key: &str, raw: &RawSchedule, default: &Schedule) -> anyhow::Result<Schedule> {
    let Some(raw_stages) = &raw.stages else {
        return Ok(Schedule {
            overdue_every_days: raw
                .overdue_every_days
                .map_or(default.overdue_every_days, |every| {
                    (every > 0).then_some(every)
                }),
            warning_from_days: raw.warning_from_days.unwrap_or(default.warning_from_days),
            stages: default.stages.clone(),
        });
    };
    if raw_stages.is_empty() {
        bail!("{key}.stages: empty (give at least one stage, e.g. [-30, 0])");
    }
    let stages = raw_stages
        .iter()
        .map(|stage| match stage {
            RawStage::Days(days) if (-3660..=3660).contains(days) => Ok(StageAt::Days(*days)),
            RawStage::Days(days) => {
                bail!("{key}.stages: {days} is out of range (days relative to the due day, -3660 to 3660)")
            }
            RawStage::MonthDay(text) => {
                let parsed = text
                    .split_once('-')
                    .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
                    .filter(|(m, d)| chrono::NaiveDate::from_ymd_opt(2024, *m, *d).is_some());
                match parsed {
                    // 29 February exists only in leap years; refuse it
                    // rather than skip a stage three years in four.
                    Some((2, 29)) | None => bail!(
                        "{key}.stages: \"{text}\" is not a stage (days relative to the due day like -30, or a day of the due year like \"01-01\")"
                    ),
                    Some((m, d)) => Ok(StageAt::MonthDay(m, d)),
                }
            }
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Schedule {
        stages,
        overdue_every_days: raw
            .overdue_every_days
            .map_or(default.overdue_every_days, |every| {
                (every > 0).then_some(every)
            }),
        warning_from_days: raw.warning_from_days.unwrap_or(default.warning_from_days),
    })
}

fn positive(key: &str, value: i64) -> anyhow::Result<i64> {
    if !(1..=3660).contains(&value) {
        bail!("{key}: {value} is out of range (1 to 3660 days)");
    }
    Ok(value)
}

impl RawPolicy {
    fn resolve(&self) -> anyhow::Result<Policy> {
        let defaults = Policy::default();
        if !(1..=120).contains(&self.activation_months) {
            bail!(
                "policy.activation_months: {} is out of range (1 to 120)",
                self.activation_months
            );
        }
        if !(1..=50).contains(&self.licence_years) {
            bail!(
                "policy.licence_years: {} is out of range (1 to 50)",
                self.licence_years
            );
        }
        if !(0..=50).contains(&self.annual_report_lookback_years) {
            bail!(
                "policy.annual_report_lookback_years: {} is out of range (0 to 50)",
                self.annual_report_lookback_years
            );
        }
        let renewal_lead_days = positive("policy.renewal_lead_days", self.renewal_lead_days)?;
        let renewal_opens_days = positive("policy.renewal_opens_days", self.renewal_opens_days)?;
        if renewal_opens_days < renewal_lead_days {
            bail!(
                "policy.renewal_opens_days: {renewal_opens_days} is less than policy.renewal_lead_days ({renewal_lead_days}); reminders must open before the deadline"
            );
        }
        Ok(Policy {
            renewal_lead_days,
            renewal_opens_days,
            change_filing_days: positive("policy.change_filing_days", self.change_filing_days)?,
            activation_months: self.activation_months,
            licence_years: self.licence_years,
            annual_report_lookback_years: self.annual_report_lookback_years,
            renewal: schedule("policy.renewal", &self.renewal, &defaults.renewal)?,
            annual_report: schedule(
                "policy.annual_report",
                &self.annual_report,
                &defaults.annual_report,
            )?,
            change_filing: schedule(
                "policy.change_filing",
                &self.change_filing,
                &defaults.change_filing,
            )?,
            number_activation: schedule(
                "policy.number_activation",
                &self.number_activation,
                &defaults.number_activation,
            )?,
            number_outlives_licence: schedule(
                "policy.number_outlives_licence",
                &self.number_outlives_licence,
                &defaults.number_outlives_licence,
            )?,
        })
    }
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
mod tests {
    use super::*;

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
            unknown.starts_with(
                "config /etc/licwatch/config.toml:2: unknown field `renewal_lead_dayz`"
            ),
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
        let plain =
            Config::parse("[http]\npublic_url = \"http://127.0.0.1:9386/\"\n", base).unwrap();
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
}

#[cfg(test)]
mod cron_tests {
    use super::*;

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
}

#[cfg(test)]
mod bound_tests {
    use super::*;

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
}
