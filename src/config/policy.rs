//! The `[policy]` table: the raw serde shape of the lead times and each
//! kind's reminder schedule, and its resolution into the domain's `Policy`.

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::domain::policy::{Policy, Schedule, StageAt};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPolicy {
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
    pub(super) fn resolve(&self) -> anyhow::Result<Policy> {
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
