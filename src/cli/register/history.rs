//! `licwatch history`: the append-only trail of every change.

use clap::Args;
use serde_json::json;

use crate::cli::output::{print, print_json, table};
use crate::cli::{Context, Format, licence_arg};
use crate::store::Source;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this licence's entries.
    licence: Option<String>,
}

pub fn history(ctx: &Context, args: HistoryArgs) -> anyhow::Result<()> {
    let licence = args.licence.map(|l| licence_arg(&l)).transpose()?;
    let rows = ctx.register()?.history(licence.as_ref())?;
    match ctx.format {
        Format::Json => print_json(
            &rows
                .iter()
                .map(|r| {
                    let (source, address) = match &r.source {
                        Source::Cli => ("cli", None),
                        Source::Web { address } => ("web", Some(address)),
                    };
                    json!({"id": r.id, "at": r.at, "user": r.user, "licence": r.licence, "action": r.action, "detail": r.detail,
                        "source": source, "address": address, "receipt": r.evidence.receipt, "note": r.evidence.note})
                })
                .collect(),
        ),
        Format::Table => print(&table(
            &["AT", "USER", "LICENCE", "ACTION", "DETAIL"],
            rows.iter().map(|r| {
                vec![
                    r.at.clone(),
                    r.user.clone(),
                    r.licence.clone().unwrap_or_else(|| "-".into()),
                    r.action.clone(),
                    r.detail.clone(),
                ]
            }),
        )),
    }
}
