//! What is due: the agenda, the explanation of a schedule, and snoozes.

use anyhow::{Context as _, bail};
use chrono::{Days, NaiveDate};
use clap::Args;
use serde_json::json;

use super::output::{date_or_dash, print, print_json, table};
use super::{Context, Format, licence_arg};
use crate::config::Config;
use crate::domain::calendar::DayKind;
use crate::domain::date::parse_date;
use crate::domain::obligation::{Note, Obligation, ObligationKind, State};
use crate::plan::{Stage, plan, stages};
use crate::store::{OutboxState, Store};

#[derive(Debug, Args)]
pub struct AgendaArgs {
    /// How many days ahead to look; overdue obligations are always shown.
    #[arg(long, default_value_t = 90)]
    pub(super) days: u32,
    /// Also list every reminder stage of each obligation.
    #[arg(long)]
    pub(super) explain: bool,
    /// The calendar's language with --format ics: zh-CN (default) or en.
    #[arg(long, value_name = "LANG")]
    pub(super) lang: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The obligation, as shown in the agenda (e.g. renewal/京B2-20201234/2027-06-30).
    obligation: String,
}

#[derive(Debug, Args)]
pub struct SnoozeArgs {
    /// The obligation, as shown in the agenda.
    obligation: String,
    /// Reminders resume on this day; at the latest the due day.
    #[arg(long, value_name = "DATE")]
    until: String,
    /// Why (kept in the history).
    #[arg(long)]
    reason: String,
}

/// The CLI command that marks an obligation done, for people to copy.
fn done_command(o: &Obligation) -> String {
    let number = o.number.as_ref().map(|n| n.to_string()).unwrap_or_default();
    match o.kind {
        ObligationKind::Renewal => format!("licwatch renewal submit {} --on DATE", o.licence),
        ObligationKind::AnnualReport => format!(
            "licwatch report file {} --year {} --on DATE",
            o.licence,
            o.year.unwrap_or_default()
        ),
        ObligationKind::ChangeFiling => format!("licwatch change file {} --on DATE", change_id(o)),
        ObligationKind::NumberActivation => {
            format!(
                "licwatch number activate {number} --on DATE --carrier NAME --direction inbound"
            )
        }
        ObligationKind::NumberOutlivesLicence => {
            format!("licwatch number release {number} --on DATE")
        }
    }
}

/// The register id of a change filing: the last segment of its key.
fn change_id(o: &Obligation) -> &str {
    o.key.rsplit('/').next().unwrap_or_default()
}

fn what_to_do(o: &Obligation, today: NaiveDate) -> String {
    let number = o.number.as_ref().map(|n| n.to_string()).unwrap_or_default();
    let what = match (o.kind, o.state(today)) {
        (ObligationKind::Renewal, State::Open) => {
            format!(
                "apply to {} for renewal, or report not continuing",
                o.authority
            )
        }
        (ObligationKind::Renewal, State::Overdue) => format!(
            "renewal deadline passed: it can no longer be extended and business must stop at expiry {}",
            date_or_dash(o.ends)
        ),
        (ObligationKind::Renewal, State::Expired) => format!(
            "expired on {} without renewal: stop the business; record it with licwatch licence end",
            date_or_dash(o.ends)
        ),
        (ObligationKind::AnnualReport, _) => format!(
            "file the {} annual report in the licence management system",
            o.year.unwrap_or_default()
        ),
        (ObligationKind::ChangeFiling, _) => format!(
            "file change #{} ({}) with {}",
            change_id(o),
            o.change.map_or("", |c| c.name_en()),
            o.authority
        ),
        (ObligationKind::NumberActivation, _) => format!(
            "put {number} into service (file carrier, use and direction first) or it is taken back"
        ),
        (ObligationKind::NumberOutlivesLicence, _) => {
            format!(
                "{number} is still held but licence {} ends {}: release it",
                o.licence, o.due
            )
        }
    };
    match o.note {
        Some(Note::NotCarriedOut { years }) if years >= 2 => {
            format!("{what}; the last {years} reports said 未开展业务: at risk of clearance")
        }
        Some(Note::NotCarriedOut { .. }) => {
            format!("{what}; the last report said 未开展业务: a second year risks clearance")
        }
        None => what,
    }
}

fn state_text(o: &Obligation, today: NaiveDate) -> String {
    let state = o.state(today).code();
    match o.snoozed_until {
        Some(until) if today < until => format!("{state}, snoozed to {until}"),
        _ => state.to_owned(),
    }
}

fn obligation_json(o: &Obligation, today: NaiveDate) -> serde_json::Value {
    json!({
        "obligation": o.key,
        "kind": o.kind.code(),
        "licence": o.licence.to_string(),
        "number": o.number.as_ref().map(|n| n.to_string()),
        "year": o.year,
        "change_id": (o.kind == ObligationKind::ChangeFiling).then(|| change_id(o).parse::<i64>().ok()).flatten(),
        "company": o.company,
        "authority": o.authority,
        "due": o.due.to_string(),
        "days_left": o.days_left(today),
        "state": o.state(today).code(),
        "snoozed_until": o.snoozed_until.filter(|until| today < *until).map(|d| d.to_string()),
        "action": what_to_do(o, today),
        "command": done_command(o),
    })
}

/// Why a stage's send day differs from its nominal day, e.g. "国庆节, weekend".
fn moved_because(stage: &Stage) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for (_, kind) in &stage.skipped {
        let reason = match kind {
            DayKind::Holiday(name) => name.clone(),
            DayKind::Weekend => "weekend".to_owned(),
            DayKind::Working | DayKind::MakeUpWorkday(_) => continue,
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons.join(", ")
}

fn stage_rows(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<(Vec<(Stage, &'static str)>, usize)> {
    let through = today.max(o.due);
    let now = plan(
        std::slice::from_ref(o),
        |_, _| false,
        today,
        &config.policy,
        &config.calendar,
    );
    let current = now.alerts.first().map(|alert| alert.stage.offset);
    let outbox = store.stage_states(&o.key)?;
    let mut all = stages(o, &config.policy, &config.calendar, through);
    // Daily repeats over years overdue (`--today 9999-12-31`) made 2.9M
    // lines (issue 13): the first and the last stages are shown, and how
    // many between are not.
    let omitted = all.len().saturating_sub(MAX_STAGE_ROWS);
    if omitted > 0 {
        all.drain(MAX_STAGE_ROWS / 2..MAX_STAGE_ROWS / 2 + omitted);
    }
    let rows = all
        .into_iter()
        .map(|stage| {
            let status = match outbox.get(&stage.offset) {
                Some(OutboxState::Sent) => "sent",
                Some(OutboxState::Pending) => "queued",
                Some(OutboxState::Failed) => "failed",
                Some(OutboxState::Cancelled) => "cancelled",
                None if Some(stage.offset) == current => "due now",
                // A newer stage came before this one was sent (the daemon
                // was down, or the obligation was added late).
                None if stage.send_on < today => "skipped",
                None => "upcoming",
            };
            (stage, status)
        })
        .collect();
    Ok((rows, omitted))
}

/// The most stages `explain` shows.
const MAX_STAGE_ROWS: usize = 60;

fn stages_table(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<String> {
    let (rows, omitted) = stage_rows(o, today, config, store)?;
    let mut text = table(
        &[
            "STAGE",
            "NOMINAL",
            "SEND ON",
            "MOVED BECAUSE",
            "SEVERITY",
            "STATUS",
        ],
        rows.into_iter().map(|(stage, status)| {
            vec![
                format!("{:+}", stage.offset),
                stage.nominal.to_string(),
                stage.send_on.to_string(),
                moved_because(&stage),
                stage.severity.code().to_owned(),
                status.to_owned(),
            ]
        }),
    );
    if omitted > 0 {
        text.push_str(&format!(
            "\n({omitted} stages in the middle not shown: the first and the last {} are)",
            MAX_STAGE_ROWS / 2
        ));
    }
    Ok(text)
}

fn stages_json(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<(serde_json::Value, usize)> {
    let (rows, omitted) = stage_rows(o, today, config, store)?;
    let rows = rows
        .into_iter()
        .map(|(stage, status)| {
            json!({
                "stage": stage.offset,
                "nominal": stage.nominal.to_string(),
                "send_on": stage.send_on.to_string(),
                "moved_because": moved_because(&stage),
                "severity": stage.severity.code(),
                "status": status,
            })
        })
        .collect();
    Ok((rows, omitted))
}

fn unknown_years_warning(obligations: &[Obligation], config: &Config) -> Option<String> {
    let mut years: Vec<i32> = obligations
        .iter()
        .map(|o| chrono::Datelike::year(&o.due))
        .filter(|year| !config.calendar.knows_year(*year))
        .collect();
    years.sort();
    years.dedup();
    (!years.is_empty()).then(|| {
        format!(
            "note: no holiday data for {}: only weekends are skipped there; add the State Council notice with calendar.holiday_files in the config",
            years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

pub fn agenda(ctx: &Context, args: AgendaArgs) -> anyhow::Result<()> {
    if args.lang.is_some() {
        bail!("--lang: only for the calendar (add --format ics); tables and JSON are in English");
    }
    let config = ctx.config()?;
    let today = ctx.today()?;
    let until = today
        .checked_add_days(Days::new(args.days.into()))
        .context("--days: too far ahead")?;
    let store = ctx.register()?;
    let obligations = store.obligations_due_by(until, today, &config.policy)?;
    match ctx.format {
        Format::Json => print_json(
            &obligations
                .iter()
                .map(|o| {
                    let mut value = obligation_json(o, today);
                    if args.explain {
                        let (stages, omitted) = stages_json(o, today, &config, &store)?;
                        value["stages"] = stages;
                        value["stages_omitted"] = omitted.into();
                    }
                    Ok(value)
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        Format::Table => {
            let mut text = if obligations.is_empty() {
                format!(
                    "nothing due in the {} days from {today}, and nothing overdue",
                    args.days
                )
            } else {
                table(
                    &[
                        "DUE",
                        "DAYS",
                        "STATE",
                        "KIND",
                        "LICENCE",
                        "NUMBER/YEAR",
                        "COMPANY",
                        "WHAT TO DO",
                        "MARK DONE",
                    ],
                    obligations.iter().map(|o| {
                        vec![
                            o.due.to_string(),
                            o.days_left(today).to_string(),
                            state_text(o, today),
                            o.kind.code().to_owned(),
                            o.licence.to_string(),
                            o.number
                                .as_ref()
                                .map(|n| n.to_string())
                                .or(o.year.map(|y| y.to_string()))
                                .unwrap_or_else(|| "-".into()),
                            o.company.clone(),
                            what_to_do(o, today),
                            done_command(o),
                        ]
                    }),
                )
            };
            if args.explain {
                for o in &obligations {
                    text.push_str(&format!(
                        "\n\n{} (due {})\n{}",
                        o.key,
                        o.due,
                        stages_table(o, today, &config, &store)?
                    ));
                }
            }
            if let Some(warning) = unknown_years_warning(&obligations, &config) {
                text.push_str("\n\n");
                text.push_str(&warning);
            }
            print(&text)
        }
    }
}

/// Finds an open obligation by key; the licence number is its second part.
fn find_obligation(
    store: &Store,
    key: &str,
    today: NaiveDate,
    config: &Config,
) -> anyhow::Result<Obligation> {
    let licence = key
        .split('/')
        .nth(1)
        .with_context(|| format!("obligation \"{key}\": not an obligation (copy it from licwatch agenda --format json, e.g. renewal/京B2-20201234/2027-06-30)"))?;
    let licence = licence_arg(licence)?;
    let open = store.open_obligations_of(&licence, today, &config.policy)?;
    let wanted = key.trim();
    open.iter()
        .find(|o| o.key == wanted)
        .cloned()
        .with_context(|| {
            format!(
                "obligation \"{key}\": not open on {today} (open ones of {licence}: {})",
                if open.is_empty() {
                    "none".to_owned()
                } else {
                    open.iter()
                        .map(|o| o.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        })
}

pub fn explain(ctx: &Context, args: ExplainArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = ctx.today()?;
    let store = ctx.register()?;
    let o = find_obligation(&store, &args.obligation, today, &config)?;
    match ctx.format {
        Format::Json => {
            let mut value = obligation_json(&o, today);
            let (stages, omitted) = stages_json(&o, today, &config, &store)?;
            value["stages"] = stages;
            value["stages_omitted"] = omitted.into();
            print_json(&value)
        }
        Format::Table => {
            let mut text = format!(
                "{}\n{} · {} · due {} ({} days) · {}\n{}\nmark done: {}\n\n{}",
                o.key,
                o.licence,
                o.company,
                o.due,
                o.days_left(today),
                state_text(&o, today),
                what_to_do(&o, today),
                done_command(&o),
                stages_table(&o, today, &config, &store)?
            );
            if let Some(warning) = unknown_years_warning(std::slice::from_ref(&o), &config) {
                text.push_str("\n\n");
                text.push_str(&warning);
            }
            print(&text)
        }
    }
}

pub fn snooze(ctx: &Context, args: SnoozeArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = ctx.today()?;
    let until = parse_date("--until", &args.until)?;
    let reason = args.reason.trim();
    if reason.is_empty() {
        bail!("--reason: empty (say why, for the history)");
    }
    let mut store = ctx.store()?;
    let o = find_obligation(&store, &args.obligation, today, &config)?;
    if until <= today {
        bail!("--until {until}: not after today ({today}); give the day reminders should resume");
    }
    if until > o.due {
        bail!(
            "--until {until}: after the due day {}; a snooze can last until the due day at most",
            o.due
        );
    }
    store.snooze(&ctx.stamp(), &o.licence, &o.key, until, reason)?;
    match ctx.format {
        Format::Json => print_json(
            &json!({"obligation": o.key, "snoozed_until": until.to_string(), "reason": reason}),
        ),
        Format::Table => print(&format!(
            "{}: reminders silenced until {until} ({reason})",
            o.key
        )),
    }
}
