//! Snoozes: silence an obligation's reminders until a day, list the
//! snoozes in force, and lift one.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use super::agenda::find_obligation;
use super::output::{print, print_json, table};
use crate::domain::date::parse_date;
use crate::domain::obligation::keys::short_id;
use crate::store::SnoozeRow;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SnoozeArgs {
    #[command(subcommand)]
    command: Option<SnoozeCommand>,
    /// The obligation: its ID from the agenda, or its key
    /// (e.g. renewal/京B2-20201234/2027-06-30).
    #[arg(required = true)]
    obligation: Option<String>,
    /// Reminders resume on this day (YYYY-MM-DD); at the latest the due day.
    #[arg(long, value_name = "DATE", required = true)]
    until: Option<String>,
    /// Why (kept in the history).
    #[arg(long, required = true)]
    reason: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SnoozeCommand {
    /// The snoozes in force, the soonest to lapse first.
    List,
    /// Lift a snooze: reminders resume at the daemon's next tick.
    Cancel {
        /// The obligation: its ID from the agenda or snooze list, or its key.
        obligation: String,
    },
}

pub fn snooze(ctx: &Context, args: SnoozeArgs) -> anyhow::Result<()> {
    match (args.command, args.obligation, args.until, args.reason) {
        (Some(SnoozeCommand::List), ..) => list(ctx),
        (Some(SnoozeCommand::Cancel { obligation }), ..) => cancel(ctx, &obligation),
        (None, Some(obligation), Some(until), Some(reason)) => {
            set(ctx, &obligation, &until, &reason)
        }
        // clap requires all three when no subcommand is given.
        (None, ..) => {
            bail!("snooze: give OBLIGATION --until DATE --reason TEXT, or list, or cancel")
        }
    }
}

fn set(ctx: &Context, obligation: &str, until: &str, reason: &str) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = ctx.today()?;
    let until = parse_date("--until", until)?;
    let reason = reason.trim();
    let mut store = ctx.store()?;
    let o = find_obligation(&store, obligation, today, &config)?;
    snooze_checked(&mut store, &ctx.stamp(), &o, until, reason, today)?;
    match ctx.format {
        super::Format::Json => print_json(&json!({
            "id": short_id(&o.key),
            "obligation": o.key,
            "snoozed_until": until.to_string(),
            "reason": reason,
        })),
        super::Format::Table => print(&format!(
            "{}: reminders silenced until {until} ({reason}); undo: licwatch snooze cancel {}",
            o.key,
            short_id(&o.key)
        )),
    }
}

/// Snoozes `o` after the checks every caller makes (the CLI and the web
/// console): a reason, and a day after today and not after the due day.
pub(crate) fn snooze_checked(
    store: &mut crate::store::Store,
    stamp: &crate::store::Stamp,
    o: &crate::domain::obligation::Obligation,
    until: chrono::NaiveDate,
    reason: &str,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    if reason.is_empty() {
        bail!("--reason: empty (say why, for the history)");
    }
    if until <= today {
        bail!("--until {until}: not after today ({today}); give the day reminders should resume");
    }
    if until > o.due {
        bail!(
            "--until {until}: after the due day {}; a snooze can last until the due day at most",
            o.due
        );
    }
    store.snooze(stamp, &o.licence, o.key.as_str(), until, reason)?;
    Ok(())
}

fn snooze_json(row: &SnoozeRow) -> serde_json::Value {
    json!({
        "id": short_id(&row.obligation),
        "obligation": row.obligation,
        "snoozed_until": row.until.to_string(),
        "reason": row.reason,
    })
}

fn list(ctx: &Context) -> anyhow::Result<()> {
    let today = ctx.today()?;
    let rows = ctx.register()?.snoozes(today)?;
    match ctx.format {
        super::Format::Json => print_json(&rows.iter().map(snooze_json).collect()),
        super::Format::Table if rows.is_empty() => print(&format!("no snooze in force on {today}")),
        super::Format::Table => print(&table(
            &["ID", "UNTIL", "OBLIGATION", "REASON"],
            rows.iter().map(|row| {
                vec![
                    short_id(&row.obligation),
                    row.until.to_string(),
                    row.obligation.clone(),
                    row.reason.clone(),
                ]
            }),
        )),
    }
}

fn cancel(ctx: &Context, obligation: &str) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = ctx.today()?;
    let mut store = ctx.store()?;
    let o = find_obligation(&store, obligation, today, &config)?;
    let row = store.cancel_snooze(&ctx.stamp(), &o.licence, o.key.as_str(), today)?;
    match ctx.format {
        super::Format::Json => print_json(&snooze_json(&row)),
        super::Format::Table => print(&format!(
            "{}: snooze until {} lifted; reminders resume at the next tick",
            row.obligation, row.until
        )),
    }
}
