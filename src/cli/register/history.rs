//! `licwatch history`: the append-only trail of every change.

use clap::Args;
use serde_json::json;

use crate::cli::output::{print_json_each, print_table_each};
use crate::cli::{Context, Format, licence_arg};
use crate::store::Source;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this licence's entries.
    licence: Option<String>,
}

pub fn history(ctx: &Context, args: HistoryArgs) -> anyhow::Result<()> {
    let licence = args.licence.map(|l| licence_arg(&l)).transpose()?;
    // Read again for each pass rather than held: an import writes a row
    // per sheet row.
    let store = ctx.register()?;
    let _snapshot = store.snapshot()?;
    let licence = licence.as_ref();
    match ctx.format {
        Format::Json => print_json_each(|each| {
            store.each_history_row(licence, |r| {
                let (source, address) = match &r.source {
                    Source::Cli => ("cli", None),
                    Source::Web { address } => ("web", Some(address)),
                };
                each(json!({"id": r.id, "at": r.at, "user": r.user, "licence": r.licence, "action": r.action, "detail": r.detail,
                    "source": source, "address": address, "receipt": r.evidence.receipt, "note": r.evidence.note}))
            })
        }),
        Format::Table => print_table_each(
            &["AT", "USER", "LICENCE", "ACTION", "DETAIL"],
            &[],
            |each| {
                store.each_history_row(licence, |r| {
                    each(vec![
                        r.at.clone(),
                        r.user.clone(),
                        r.licence.clone().unwrap_or_else(|| "-".into()),
                        r.action.clone(),
                        r.detail.clone(),
                    ])
                })
            },
        ),
    }
}
