//! `licwatch export`: the register written out as a sheet in the import's
//! own columns.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::overwrite;
use crate::cli::rows::columns::{COLUMNS, is_date};
use std::io::Write as _;

use crate::cli::output::Each;
use crate::cli::sheet::{CellKind, write_csv, write_json, write_private, write_xlsx};
use crate::cli::{Context, OutputFormat};
use crate::domain::licence::ItemCode;
use crate::store::{Field, SheetRow};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file, created readable by its owner only; required
    /// for xlsx. Without it, csv and json go to stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace the --output file if it exists.
    #[arg(long)]
    force: bool,
}

/// The cells of one export row, in `COLUMNS` order; `None` is an empty cell.
fn cells(row: &SheetRow) -> Vec<Option<String>> {
    let company = &row.company;
    let licence = row.licence.as_ref();
    let number = row.number.as_ref();
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    COLUMNS
        .iter()
        .map(|column| match column.field {
            Field::LicenceNumber => licence.map(|l| l.number.to_string()),
            Field::HolderName => Some(company.name.clone()),
            Field::Uscc => Some(company.uscc.to_string()),
            Field::Items => licence.map(|l| ItemCode::join(&l.items)),
            Field::Issued => date(licence.map(|l| l.issued)),
            Field::Expires => date(licence.map(|l| l.expires)),
            Field::Number => number.map(|n| n.number.to_string()),
            Field::NumberProvince => number
                .and_then(|n| n.province)
                .map(|p| p.abbreviation().to_string()),
            Field::Allocated => date(number.map(|n| n.allocated)),
            Field::Emails => (!company.emails.is_empty()).then(|| company.emails.join(";")),
            Field::ActivatedOn => date(number.and_then(|n| n.activated_on)),
            Field::Carrier => number.and_then(|n| n.carrier.clone()),
            Field::Direction => number
                .and_then(|n| n.direction)
                .map(|d| d.code().to_owned()),
            Field::ReleasedOn => date(number.and_then(|n| n.released_on)),
            Field::Authority => licence.map(|l| l.authority.clone()),
            Field::EndedOn => date(licence.and_then(|l| l.ended_on)),
            Field::EndReason => licence.and_then(|l| l.end_reason.clone()),
            Field::Address => company.address.clone(),
            Field::LegalRep => company.legal_rep.clone(),
            Field::Contact => company.contact.clone(),
            Field::Phone => company.phone.clone(),
            Field::ReportedThrough => row.past.reported_through.map(|y| y.to_string()),
            Field::RenewalSubmitted => date(row.past.renewal_submitted),
            Field::NotCarriedOut => row.past.last_not_carried_out.map(|_| "是".to_owned()),
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    Csv,
    Xlsx,
    Json,
}

pub fn export(ctx: &Context, args: ExportArgs) -> anyhow::Result<()> {
    let format = match ctx.output {
        None | Some(OutputFormat::Csv) => ExportFormat::Csv,
        Some(OutputFormat::Xlsx) => ExportFormat::Xlsx,
        Some(OutputFormat::Json) => ExportFormat::Json,
        Some(OutputFormat::Table | OutputFormat::Ics) => {
            bail!("--format: export writes csv (the default), xlsx or json")
        }
    };
    if args.force && args.output.is_none() {
        bail!("--force: only with --output FILE");
    }
    let store = ctx.register()?;
    let _snapshot = store.snapshot()?;
    // Read a chunk of companies at a time and written as they come: the
    // memory is a chunk's, not the register's.
    let mut rows = |each: Each<'_, Vec<Option<String>>>| -> anyhow::Result<()> {
        store.each_sheet_row(|row| each(cells(&row)))
    };
    let chinese: Vec<&str> = COLUMNS.iter().map(|c| c.chinese).collect();
    let english: Vec<&str> = COLUMNS.iter().map(|c| c.english).collect();
    // CSV or JSON (a workbook is written to its file by `write_xlsx`).
    let mut text = |out: &mut dyn std::io::Write| -> anyhow::Result<usize> {
        let mut out = std::io::BufWriter::new(out);
        let count = if format == ExportFormat::Json {
            write_json(&mut out, &english, &mut rows)?
        } else {
            write_csv(&mut out, &chinese, &mut rows)?
        };
        out.flush()?;
        Ok(count)
    };
    let count = match (&args.output, format) {
        (None, ExportFormat::Xlsx) => {
            bail!("--format xlsx: a workbook is binary; give --output FILE.xlsx")
        }
        (None, _) => return text(&mut std::io::stdout().lock()).map(|_| ()),
        (Some(path), ExportFormat::Xlsx) => {
            let kinds: Vec<CellKind> = COLUMNS
                .iter()
                .map(|column| match column.field {
                    Field::LicenceNumber | Field::Uscc | Field::Number | Field::Phone => {
                        CellKind::Code
                    }
                    field if is_date(field) => CellKind::Date,
                    _ => CellKind::Text,
                })
                .collect();
            write_private(path, overwrite(args.force), |file| {
                write_xlsx(file, &chinese, &kinds, &mut rows)
            })?
        }
        (Some(path), _) => write_private(path, overwrite(args.force), |file| text(file))?,
    };
    // stdout stays free for the data when there is no --output, so the
    // summary goes to stderr like other diagnostics.
    if let Some(path) = &args.output {
        eprintln!("exported {count} rows to {}", path.display());
    }
    Ok(())
}
