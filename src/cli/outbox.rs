//! The outbox: the alerts the daemon planned, and putting failed ones back
//! in the queue.

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};

use super::output::{print, print_json, print_json_each, print_table_each};
use super::{Context, Format, row_id};
use crate::store::{OutboxRow, OutboxState};

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outbox rows, newest last.
    List {
        /// Only rows in this state.
        #[arg(long, value_enum)]
        state: Option<OutboxStateArg>,
    },
    /// Put failed rows back in the queue; the daemon sends them at its next
    /// wake-up. All the rows named, or none if one cannot be retried.
    Retry {
        /// The row ids, as listed (12 or #12).
        #[arg(
            value_name = "ID",
            required_unless_present = "failed",
            allow_negative_numbers = true
        )]
        ids: Vec<String>,
        /// Every failed row instead.
        #[arg(long, conflicts_with = "ids")]
        failed: bool,
        /// With --failed: only the rows of this route.
        #[arg(long, value_name = "ROUTE", requires = "failed")]
        route: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutboxStateArg {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

pub fn outbox(ctx: &Context, command: OutboxCommand) -> anyhow::Result<()> {
    match command {
        OutboxCommand::List { state } => list(ctx, state),
        OutboxCommand::Retry { ids, failed, route } => retry(ctx, &ids, failed, route.as_deref()),
    }
}

fn outbox_json(row: &OutboxRow) -> serde_json::Value {
    serde_json::json!({
        "id": row.id,
        "kind": row.planned.kind.code(),
        "obligation": row.planned.obligation,
        "licence": row.planned.licence,
        "number": row.planned.number,
        "year": row.planned.year,
        "due": row.planned.due.map(|d| d.to_string()),
        "stage": row.planned.stage,
        "send_on": row.planned.send_on.to_string(),
        "route": row.planned.route,
        "state": row.state.code(),
        "attempts": row.attempts,
        "next_attempt_at": (row.state == OutboxState::Pending).then(|| crate::store::timestamp(row.next_attempt_at)),
        "last_error": row.last_error,
        "sent_at": row.sent_at.map(crate::store::timestamp),
        "message_id": row.message_id,
    })
}

fn list(ctx: &Context, state: Option<OutboxStateArg>) -> anyhow::Result<()> {
    let state = state.map(|state| match state {
        OutboxStateArg::Pending => OutboxState::Pending,
        OutboxStateArg::Sent => OutboxState::Sent,
        OutboxStateArg::Failed => OutboxState::Failed,
        OutboxStateArg::Cancelled => OutboxState::Cancelled,
    });
    // Read again for each pass rather than held: a first tick over a large
    // register plans hundreds of thousands of alerts.
    let store = ctx.register()?;
    let _snapshot = store.snapshot()?;
    match ctx.format {
        Format::Json => {
            print_json_each(|each| store.each_outbox_row(state, |row| each(outbox_json(&row))))
        }
        // The attempts and the planned day matter least on a narrow terminal.
        Format::Table => print_table_each(
            &[
                "ID",
                "STATE",
                "SEND ON",
                "STAGE",
                "ROUTE",
                "OBLIGATION",
                "ATTEMPTS",
                "LAST ERROR",
            ],
            &["ATTEMPTS", "SEND ON"],
            |each| {
                store.each_outbox_row(state, |row| {
                    each(vec![
                        row.id.to_string(),
                        row.state.code().to_owned(),
                        row.planned.send_on.to_string(),
                        format!("{:+}", row.planned.stage),
                        row.planned.route.clone(),
                        row.planned.obligation.clone(),
                        row.attempts.to_string(),
                        row.last_error.clone().unwrap_or_default(),
                    ])
                })
            },
        ),
    }
}

fn retry(ctx: &Context, ids: &[String], failed: bool, route: Option<&str>) -> anyhow::Result<()> {
    let ids = ids
        .iter()
        .map(|id| {
            row_id(id).with_context(|| {
                format!("outbox id \"{id}\": not an outbox row id (a positive number, as listed by licwatch outbox list)")
            })
        })
        .collect::<anyhow::Result<Vec<i64>>>()?;
    let mut store = ctx.store()?;
    let rows = if failed {
        if let Some(route) = route {
            let configured = ctx.config()?.route_names();
            let used = store
                .outbox(None)?
                .iter()
                .any(|row| row.planned.route == route);
            if !used && !configured.iter().any(|name| name == route) {
                anyhow::bail!(
                    "--route \"{route}\": neither a configured route nor one in the outbox (configured: {})",
                    configured.join(", ")
                );
            }
        }
        store.retry_failed(&ctx.stamp(), route)?
    } else {
        store.retry_outbox(&ctx.stamp(), &ids)?
    };
    match ctx.format {
        Format::Json => print_json(&rows.iter().map(outbox_json).collect()),
        Format::Table if rows.is_empty() => print("no failed row to retry"),
        Format::Table => print(
            &rows
                .iter()
                .map(|row| {
                    format!(
                        "outbox row #{} ({} stage {:+} to {}) is pending again; the daemon sends it at its next wake-up",
                        row.id, row.planned.obligation, row.planned.stage, row.planned.route
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}
