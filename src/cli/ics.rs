//! The agenda as an iCalendar file (RFC 5545), for the calendar a compliance
//! lead already uses: one all-day event per obligation on its due day, the
//! reminder stages as its alarms.
//!
//! Each event's UID is derived from the obligation's key, so a calendar that
//! subscribes to or re-imports the file updates the event instead of adding
//! a second one. A renewed licence has a new expiry, so its next renewal is
//! a new obligation and a new event.

use std::io::Write;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Days, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Property};
use sha2::{Digest as _, Sha256};

use super::Context;
use super::agenda::AgendaArgs;
use crate::config::Config;
use crate::domain::lang::Lang;
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::notify::render::digest;
use crate::plan::{Alert, Severity, Stage, stages};

/// The hour an alarm goes off on its day, in the reader's own time zone: the
/// events are all-day, so they carry none. Office hours, when the daemon's
/// reminders also go out.
const ALARM_HOUR: i64 = 9;

fn lang(text: Option<&str>) -> anyhow::Result<Lang> {
    match text.map(|t| t.trim().to_lowercase()).as_deref() {
        None | Some("zh" | "zh-cn") => Ok(Lang::Zh),
        Some("en") => Ok(Lang::En),
        Some(_) => bail!(
            "--lang \"{}\": unknown (accepted: zh-CN, en)",
            text.unwrap_or_default()
        ),
    }
}

/// A stable UID: the obligation key holds Chinese characters and slashes,
/// which some calendars mishandle in a UID, so it goes in hashed.
fn uid(key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@licwatch")
}

/// An RFC 5545 duration from the start of the due day to `ALARM_HOUR` on a
/// day `days` after it (negative: before), e.g. `-P29DT15H` for 30 days
/// before at 09:00. Written in days and hours, which every calendar reads.
fn trigger(days: i64) -> String {
    let hours = days * 24 + ALARM_HOUR;
    let sign = if hours < 0 { "-" } else { "" };
    let (days, hours) = (hours.abs() / 24, hours.abs() % 24);
    match (days, hours) {
        (0, hours) => format!("{sign}PT{hours}H"),
        (days, 0) => format!("{sign}P{days}D"),
        (days, hours) => format!("{sign}P{days}DT{hours}H"),
    }
}

fn summary(o: &Obligation, lang: Lang) -> String {
    let number = o
        .number
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let (licence, company) = (o.licence.to_string(), one_line(&o.company));
    // Both languages side by side, so that one is never changed without
    // the other.
    let year = o.year.unwrap_or_default();
    let (zh, en) = match o.kind {
        ObligationKind::Renewal => (
            "延续（续期）申请截止".to_owned(),
            "Renewal application due".to_owned(),
        ),
        ObligationKind::AnnualReport => (
            format!("{year} 年度年报截止"),
            format!("Annual report for {year} due"),
        ),
        ObligationKind::ChangeFiling => (
            format!(
                "变更备案截止（{}）",
                o.change.map_or("变更", |c| c.name_zh())
            ),
            format!(
                "Change filing due ({})",
                o.change.map_or("change", |c| c.name_en())
            ),
        ),
        ObligationKind::NumberActivation => (
            format!("码号 {number} 启用截止"),
            format!("Number {number} due in service"),
        ),
        ObligationKind::NumberOutlivesLicence => (
            format!("码号 {number} 须随许可证失效停用"),
            format!("Number {number} must stop with its licence"),
        ),
    };
    match lang {
        Lang::Zh => format!("{zh}：{licence}（{company}）"),
        Lang::En => format!("{en}: {licence} ({company})"),
    }
}

/// Company names come from spreadsheets: a newline would break the line
/// structure of a summary in some calendars.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn days_left(days: i64, lang: Lang) -> String {
    match (lang, days.signum()) {
        (Lang::Zh, 1) => format!("还剩 {days} 天"),
        (Lang::Zh, 0) => "今天截止".to_owned(),
        (Lang::Zh, _) => format!("已逾期 {} 天", -days),
        (Lang::En, 1) => format!("{days} days left"),
        (Lang::En, 0) => "due today".to_owned(),
        (Lang::En, _) => format!("{} days overdue", -days),
    }
}

/// The end of a calendar, after its events.
const FOOTER: &str = "END:VCALENDAR\r\n";

/// The calendar's lines before its events: its properties.
fn header(lang: Lang) -> anyhow::Result<String> {
    let mut calendar = Calendar::empty();
    calendar.append_property(("VERSION", "2.0"));
    calendar.append_property(("PRODID", "-//licwatch//licwatch agenda//ZH"));
    calendar.append_property(("CALSCALE", "GREGORIAN"));
    calendar.append_property(("METHOD", "PUBLISH"));
    calendar.append_property((
        "X-WR-CALNAME",
        match lang {
            Lang::Zh => "licwatch 许可证合规日程",
            Lang::En => "licwatch licence deadlines",
        },
    ));
    // The crate writes a whole calendar only: its empty one, less the end.
    let text = calendar.done().to_string();
    Ok(text
        .strip_suffix(FOOTER)
        .context("the icalendar crate ended a calendar otherwise than RFC 5545 says")?
        .to_owned())
}

/// The events of `obligations`, in their order, written to `out`.
fn write_events(
    out: &mut impl Write,
    obligations: &[Obligation],
    config: &Config,
    lang: Lang,
    stamp: DateTime<Utc>,
) -> anyhow::Result<()> {
    // The reminder texts' facts (authority, consequences, the command that
    // marks it done), as the due day's reminder would say them.
    let alerts: Vec<Alert> = obligations
        .iter()
        .map(|o| Alert {
            obligation: o.clone(),
            stage: Stage {
                offset: 0,
                nominal: o.due,
                send_on: o.due,
                skipped: vec![],
                severity: Severity::Critical,
            },
            state: State::Open,
            days_left: 0,
        })
        .collect();
    let rendered = digest(&alerts, lang);
    let mut items: Vec<_> = rendered.items.iter().collect();
    items.sort_by_key(|item| item.source);
    let colon = if lang == Lang::Zh { "：" } else { ": " };
    for (o, item) in obligations.iter().zip(items) {
        let summary = summary(o, lang);
        let mut description: Vec<String> = item
            .facts
            .iter()
            .map(|fact| format!("{}{colon}{}", fact.label, fact.value))
            .collect();
        description.push(format!("{}{colon}{}", item.command_label, item.command));
        description.push(o.key.to_string());
        let mut event = Event::new();
        event
            .uid(&uid(o.key.as_str()))
            .timestamp(stamp)
            .summary(&summary)
            .description(&description.join("\n"))
            .starts(o.due)
            .ends(o.due + Days::new(1))
            .append_property(("X-LICWATCH-OBLIGATION", o.key.as_str()));
        for stage in stages(o, &config.policy, &config.calendar, o.due).stages {
            let days = (stage.send_on - o.due).num_days();
            let comma = if lang == Lang::Zh { "，" } else { ", " };
            let text = format!("{summary}{comma}{}", days_left(-days, lang));
            let mut alarm = Alarm::display(&text, chrono::Duration::zero());
            // Replaces the TRIGGER `display` set: chrono writes durations in
            // seconds only, which some calendars read poorly. And the random
            // UID it gave the alarm: a calendar that tracks alarms by UID
            // (RFC 9074) would see new ones on every refresh.
            alarm.append_property(Property::new("TRIGGER", trigger(days)));
            alarm.append_property(("UID", uid(&format!("{}#{}", o.key, stage.offset)).as_str()));
            event.alarm(alarm);
        }
        out.write_all(event.done().try_into_string()?.as_bytes())?;
    }
    Ok(())
}

/// Writes the calendar of the obligations in `slices`, a slice at a time:
/// memory follows a slice, not the calendar. `stamp` is the DTSTAMP, when
/// the file was made; everything else follows from the obligations, so two
/// runs on the same register differ only there. The first error stops the
/// calendar there, without its end.
pub fn write_calendar(
    out: &mut impl Write,
    slices: impl IntoIterator<Item = anyhow::Result<Vec<Obligation>>>,
    config: &Config,
    lang: Lang,
    stamp: DateTime<Utc>,
) -> anyhow::Result<()> {
    out.write_all(header(lang)?.as_bytes())?;
    for slice in slices {
        write_events(out, &slice?, config, lang, stamp)?;
    }
    out.write_all(FOOTER.as_bytes())?;
    Ok(())
}

pub fn agenda(ctx: &Context, args: AgendaArgs) -> anyhow::Result<()> {
    if args.explain {
        bail!("--explain: not with --format ics (the stages are the events' alarms)");
    }
    let lang = lang(args.lang.as_deref())?;
    let config = ctx.config()?;
    let today = ctx.today()?;
    let until = today
        .checked_add_days(Days::new(args.days.into()))
        .context("--days: too far ahead")?;
    let store = ctx.store()?;
    // Checked before anything is read, as the agenda does.
    args.filter.apply(&store, Vec::new(), today)?;
    let slices = store
        .due_slices(until, today, &config.policy)
        .map(|slice| args.filter.apply(&store, slice?, today));
    // Written as is: the lines end in CRLF, as RFC 5545 wants, and a final
    // newline would add a bare LF.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write_calendar(&mut out, slices, &config, lang, ctx.stamp().at)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_days_and_hours_from_the_start_of_the_due_day() {
        assert_eq!(trigger(0), "PT9H");
        assert_eq!(trigger(-1), "-PT15H");
        assert_eq!(trigger(-30), "-P29DT15H");
        assert_eq!(trigger(7), "P7DT9H");
        assert_eq!(trigger(-120), "-P119DT15H");
    }

    #[test]
    fn uids_are_stable_ascii_and_differ_per_obligation() {
        let a = uid("renewal/京B2-20221234/2027-02-28");
        assert_eq!(a, uid("renewal/京B2-20221234/2027-02-28"));
        assert_ne!(a, uid("renewal/京B2-20221234/2032-02-28"));
        assert!(a.is_ascii() && a.ends_with("@licwatch"), "{a}");
    }

    #[test]
    fn every_kind_is_summed_up_in_both_languages() {
        let summaries: Vec<String> = crate::notify::render::tests::every_kind()
            .iter()
            .flat_map(|alert| [Lang::Zh, Lang::En].map(|lang| summary(&alert.obligation, lang)))
            .collect();
        expect_test::expect![[r#"
            延续（续期）申请截止：京B2-20201234（北京示例呼叫中心有限公司）
            Renewal application due: 京B2-20201234 (北京示例呼叫中心有限公司)
            变更备案截止（公司名称）：京B2-20201234（北京示例呼叫中心有限公司）
            Change filing due (company name): 京B2-20201234 (北京示例呼叫中心有限公司)
            延续（续期）申请截止：京B2-20201234（北京示例呼叫中心有限公司）
            Renewal application due: 京B2-20201234 (北京示例呼叫中心有限公司)
            码号 962345 启用截止：京B2-20201234（北京示例呼叫中心有限公司）
            Number 962345 due in service: 京B2-20201234 (北京示例呼叫中心有限公司)
            2025 年度年报截止：京B2-20201234（北京示例呼叫中心有限公司）
            Annual report for 2025 due: 京B2-20201234 (北京示例呼叫中心有限公司)
            码号 961234 须随许可证失效停用：京B2-20201234（北京示例呼叫中心有限公司）
            Number 961234 must stop with its licence: 京B2-20201234 (北京示例呼叫中心有限公司)
            延续（续期）申请截止：京B2-20201234（北京示例呼叫中心有限公司）
            Renewal application due: 京B2-20201234 (北京示例呼叫中心有限公司)"#]]
        .assert_eq(&summaries.join("\n"));
    }
}
