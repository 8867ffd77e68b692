//! The TOML configuration, loaded in two stages: a raw serde shape that
//! refuses unknown keys, then the resolved `Config` the rest of the program
//! uses (policy built, holiday files read). Only `Config` leaves this module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::domain::calendar::Calendar;
use crate::domain::policy::{Policy, Schedule, StageAt};
use crate::notify::route::{Route, RouteSpec, Secrets};

/// The commented example, which is also the documentation of every key.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    calendar: RawCalendar,
    policy: RawPolicy,
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

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    stages: Vec<RawStage>,
    /// 0 turns overdue repeats off.
    overdue_every_days: u32,
    warning_from_days: i64,
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
            stages: schedule
                .stages
                .iter()
                .map(|stage| match *stage {
                    StageAt::Days(days) => RawStage::Days(days),
                    StageAt::MonthDay(m, d) => RawStage::MonthDay(format!("{m:02}-{d:02}")),
                })
                .collect(),
            overdue_every_days: schedule.overdue_every_days.unwrap_or(0),
            warning_from_days: schedule.warning_from_days,
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

fn schedule(key: &str, raw: &RawSchedule) -> anyhow::Result<Schedule> {
    if raw.stages.is_empty() {
        bail!("{key}.stages: empty (give at least one stage, e.g. [-30, 0])");
    }
    let stages = raw
        .stages
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
        overdue_every_days: (raw.overdue_every_days > 0).then_some(raw.overdue_every_days),
        warning_from_days: raw.warning_from_days,
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
            renewal: schedule("policy.renewal", &self.renewal)?,
            annual_report: schedule("policy.annual_report", &self.annual_report)?,
            change_filing: schedule("policy.change_filing", &self.change_filing)?,
            number_activation: schedule("policy.number_activation", &self.number_activation)?,
            number_outlives_licence: schedule(
                "policy.number_outlives_licence",
                &self.number_outlives_licence,
            )?,
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
    route_specs: BTreeMap<String, RouteSpec>,
}

impl Config {
    /// The embedded defaults: no file needed for a first run.
    pub fn defaults() -> Config {
        Config {
            policy: Policy::default(),
            calendar: Calendar::embedded(),
            route_specs: BTreeMap::new(),
        }
    }

    /// The configured routes with their secrets read; the log route when none
    /// is configured, so that a first run works without a mail server.
    pub fn routes(&self, secrets: &dyn Secrets) -> anyhow::Result<Vec<Route>> {
        if self.route_specs.is_empty() {
            return Ok(vec![Route::default_log()]);
        }
        self.route_specs
            .iter()
            .map(|(name, spec)| Ok(spec.resolve(name, secrets)?))
            .collect()
    }

    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading config {} (check --config or LICWATCH_CONFIG)",
                path.display()
            )
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text`; relative holiday file paths are taken from the
    /// directory of `path`.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1)
                .unwrap_or(0);
            anyhow::anyhow!("config {}:{line}: {}", path.display(), e.message())
        })?;
        let policy = raw
            .policy
            .resolve()
            .with_context(|| format!("config {}", path.display()))?;
        let mut calendar = Calendar::embedded();
        let base = path.parent().unwrap_or(Path::new("."));
        for (index, file) in raw.calendar.holiday_files.iter().enumerate() {
            let file = base.join(file);
            let text = std::fs::read_to_string(&file).with_context(|| {
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
