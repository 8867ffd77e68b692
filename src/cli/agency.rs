//! Commands for a register at an agency's scale: import and export as a
//! spreadsheet, backups and the integrity check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{print, print_json, table};
use super::rows::{
    COLUMNS, Layout, Unknown, accepted_headers, assemble, is_date, is_known_header, parse_row,
};
use super::sheet::{
    self, CellKind, HeaderRow, Table, csv_bytes, json_value, write_private, xlsx_bytes,
};
use super::{Context, Format, OutputFormat};
use crate::domain::licence::ItemCode;
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::ObligationKind;
use crate::domain::province::Province;
use crate::domain::rules::RuleError;
use crate::store::{
    Edit, Field, ImportError, ImportMode, ImportReport, Overwrite, PastTally, RowProblem,
    RuleBreak, RuleRow, SheetRow, Store, Tally,
};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A .csv (UTF-8 or GB18030), .xlsx or .json file with a header row.
    file: PathBuf,
    /// Check every row and show what would be added, updated and left
    /// unchanged, and what the agenda will show as overdue; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The row that names the columns, as the sheet numbers it. Without
    /// it, the row within the first 10 that names the most known columns.
    #[arg(long, value_name = "N")]
    header_row: Option<usize>,
    /// Refuse columns the import format does not know, instead of ignoring
    /// them (and listing them once).
    #[arg(long)]
    strict: bool,
}

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

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the register to PATH with SQLite's online backup API, safe while
    /// the daemon runs; the copy is created readable by its owner only.
    Backup {
        /// The copy to write, e.g. /var/backups/licwatch-2026-12-01.db.
        path: PathBuf,
        /// Replace PATH if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Run PRAGMA integrity_check and the schema version check on the
    /// register (or a backup, with --db), and list every row that breaks a
    /// rule with the command that fixes it; changes nothing.
    Check,
    /// Migrate an older register to this licwatch's schema (the daemon and
    /// every command that writes do this too; commands that only read
    /// never change the file).
    Upgrade,
}

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// `row 5, column 有效期至: …`, naming the column as the file does.
fn problem_line(problem: &RowProblem, layout: &Layout) -> String {
    match problem.field {
        Some(field) => format!(
            "row {}, column {}: {}",
            problem.row,
            layout.header(field),
            problem.reason
        ),
        None => format!("row {}: {}", problem.row, problem.reason),
    }
}

fn problems_json(problems: &[RowProblem], layout: &Layout) -> serde_json::Value {
    problems
        .iter()
        .map(|p| {
            json!({
                "row": p.row,
                "column": p.field.map(|field| layout.header(field).to_owned()),
                "value": p.value,
                "reason": p.reason,
            })
        })
        .collect()
}

/// What the reader left out of the sheet: rows above the header and
/// columns it does not know. Said once, before the other notes.
fn sheet_notes(table: &Table, layout: &Layout) -> Vec<String> {
    let mut notes = Vec::new();
    if !table.skipped.is_empty() {
        let rows: Vec<String> = table
            .skipped
            .iter()
            .map(|(row, text)| format!("row {row} ({text})"))
            .collect();
        notes.push(format!(
            "the header is row {}; skipped above it: {}",
            table.header_row.unwrap_or_default(),
            rows.join(", ")
        ));
    }
    if !layout.ignored.is_empty() {
        notes.push(format!(
            "ignored: {} (not columns of the import format; --strict refuses them)",
            layout.ignored.join(", ")
        ));
    }
    notes
}

fn overdue_json(report: &ImportReport) -> serde_json::Value {
    report
        .overdue
        .iter()
        .map(|o| json!({"kind": o.kind.code(), "year": o.year, "count": o.count}))
        .collect()
}

/// What the agenda will show as overdue, and, when annual reports of past
/// years are among it, how to say they were filed.
fn overdue_text(report: &ImportReport) -> String {
    let total: usize = report.overdue.iter().map(|o| o.count).sum();
    if total == 0 {
        return "\nafter the import, nothing will be overdue".to_owned();
    }
    let mut text = format!("\nafter the import, {total} obligations will be overdue:");
    for o in &report.overdue {
        let year = if o.kind == ObligationKind::AnnualReport {
            format!("{} (business year)", o.year)
        } else {
            format!("due {}", o.year)
        };
        text.push_str(&format!("\n  {} {year}: {}", o.kind.code(), o.count));
    }
    let commands: Vec<String> = report
        .overdue
        .iter()
        .filter(|o| o.kind == ObligationKind::AnnualReport)
        .map(|o| format!("licwatch report file --year {} --all", o.year))
        .collect();
    if !commands.is_empty() {
        text.push_str(&format!(
            "\nhint: annual reports already filed before licwatch kept the register are overdue here; add a 已报年报年度 (reported_through) column with the last year filed, or after the import run, for each year that was filed: {}",
            commands.join("; ")
        ));
    }
    text
}

fn tally_json(tally: Tally) -> serde_json::Value {
    json!({"added": tally.added, "updated": tally.updated, "unchanged": tally.unchanged})
}

fn report_json(
    source: &str,
    rows: usize,
    dry_run: bool,
    report: &ImportReport,
) -> serde_json::Value {
    json!({
        "file": source,
        "dry_run": dry_run,
        "rows": rows,
        "companies": tally_json(report.companies),
        "licences": tally_json(report.licences),
        "numbers": tally_json(report.numbers),
        "changes": report.changes.iter().map(|c| json!({
            "entity": c.entity.code(),
            "edit": match c.edit { Edit::Add => "add", Edit::Update => "update" },
            "key": c.key,
            "detail": c.detail,
        })).collect::<Vec<_>>(),
        "notes": report.notes,
        "past": {"annual_reports": report.past.reports, "renewals": report.past.renewals},
        "overdue": overdue_json(report),
    })
}

/// How many additions and updates the table report lists.
const MAX_LISTED: usize = 200;

fn report_text(source: &str, rows: usize, dry_run: bool, report: &ImportReport) -> String {
    let (add, update) = if dry_run {
        ("would add", "would update")
    } else {
        ("added", "updated")
    };
    let mut text = format!(
        "{source}: {rows} rows{}\n{}",
        if dry_run {
            " checked; dry run, nothing written"
        } else {
            " imported"
        },
        table(
            &["", "ADDED", "UPDATED", "UNCHANGED"],
            [
                ("companies", report.companies),
                ("licences", report.licences),
                ("numbers", report.numbers),
            ]
            .into_iter()
            .map(|(what, t)| {
                vec![
                    what.to_owned(),
                    t.added.to_string(),
                    t.updated.to_string(),
                    t.unchanged.to_string(),
                ]
            }),
        )
    );
    // Updates first: they change what is there. A real import leaves out
    // what it added (the history has it); a dry run lists it, up to a
    // screenful, since a first import of a whole client list adds thousands.
    let updates = report.changes.iter().filter(|c| c.edit == Edit::Update);
    let adds = report
        .changes
        .iter()
        .filter(|c| dry_run && c.edit == Edit::Add);
    let listed: Vec<_> = updates.chain(adds).collect();
    for change in listed.iter().take(MAX_LISTED) {
        let verb = match change.edit {
            Edit::Add => add,
            Edit::Update => update,
        };
        text.push_str(&format!(
            "\n{verb} {} {}: {}",
            change.entity.code(),
            change.key,
            change.detail
        ));
    }
    if listed.len() > MAX_LISTED {
        text.push_str(&format!(
            "\n… and {} more (--format json lists them all)",
            listed.len() - MAX_LISTED
        ));
    }
    if report.past != PastTally::default() {
        text.push_str(&format!(
            "\n{} {} annual reports and {} renewals as filed before",
            if dry_run { "would record" } else { "recorded" },
            report.past.reports,
            report.past.renewals
        ));
    }
    for note in &report.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    if dry_run {
        text.push_str(&overdue_text(report));
    }
    text
}

pub fn import(ctx: &Context, args: ImportArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let source = args.file.display().to_string();
    let run = ImportRun {
        file: &args.file,
        source: &source,
        header_row: args.header_row,
        strict: args.strict,
        dry_run: args.dry_run,
    };
    let imported = import_run(|| ctx.store(), &ctx.stamp(), &config, ctx.today()?, &run)?;
    match imported {
        Imported::Report { rows, report } => match ctx.format {
            Format::Json => print_json(&report_json(&source, rows, args.dry_run, &report)),
            Format::Table => print(&report_text(&source, rows, args.dry_run, &report)),
        },
        Imported::Refused {
            summary,
            problems,
            json,
        } => match ctx.format {
            Format::Json => {
                print_json(&json)?;
                bail!(summary)
            }
            Format::Table => bail!("{summary}\n{}", problems.join("\n")),
        },
    }
}

/// One import as `licwatch import` runs it, from the CLI or the web console.
pub(crate) struct ImportRun<'a> {
    pub file: &'a Path,
    /// The file as the history and the report name it.
    pub source: &'a str,
    pub header_row: Option<usize>,
    pub strict: bool,
    pub dry_run: bool,
}

/// What an import did: its report (of what was written, or what a dry run
/// would write), or why nothing was written.
pub(crate) enum Imported {
    Report {
        rows: usize,
        report: ImportReport,
    },
    Refused {
        summary: String,
        /// One line per problem, as the table shows them.
        problems: Vec<String>,
        json: serde_json::Value,
    },
}

impl Imported {
    /// What `licwatch import` prints for it.
    pub(crate) fn text(&self, source: &str, dry_run: bool) -> String {
        match self {
            Imported::Report { rows, report } => report_text(source, *rows, dry_run, report),
            Imported::Refused {
                summary, problems, ..
            } => format!("{summary}\n{}", problems.join("\n")),
        }
    }
}

/// Reads, checks and (unless a dry run, or a row is bad) writes a sheet.
/// The register is opened only once the sheet has been read: a file that
/// cannot be read creates no register.
pub(crate) fn import_run(
    open: impl FnOnce() -> anyhow::Result<crate::store::Store>,
    stamp: &crate::store::Stamp,
    config: &crate::config::Config,
    today: chrono::NaiveDate,
    run: &ImportRun,
) -> anyhow::Result<Imported> {
    let source = run.source;
    let header = match run.header_row {
        Some(row) => HeaderRow::Given(row),
        None => HeaderRow::Detect {
            known: &is_known_header,
        },
    };
    let table = sheet::read(run.file, header)?;
    let unknown = if run.strict {
        Unknown::Refuse
    } else {
        Unknown::Ignore
    };
    let layout = Layout::new(&table.headers, &table.lines, unknown).map_err(|problems| {
        let named = table
            .header_row
            .map_or_else(String::new, |row| format!(" (row {row})"));
        anyhow::anyhow!(
            "{source}: the header row{named} cannot be used; nothing was written\n  {}\n  accepted columns: {} (and the other names in docs/agency.md){}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  "),
            accepted_headers(),
            if run.header_row.is_none() {
                "; if the header is lower down, give --header-row N"
            } else {
                ""
            }
        )
    })?;
    let sheet_notes = sheet_notes(&table, &layout);
    let mut problems = Vec::new();
    let mut parsed = Vec::with_capacity(table.lines.len());
    for line in &table.lines {
        match parse_row(&layout, line, config.policy.licence_years) {
            Ok(row) => parsed.push(row),
            Err(mut found) => problems.append(&mut found),
        }
    }
    let batch = assemble(parsed, &layout, &mut problems);
    // With bad rows already found, the store still plans the good ones, so
    // that the report lists the conflicts with the register too.
    let mode = if run.dry_run || !problems.is_empty() {
        ImportMode::DryRun
    } else {
        ImportMode::Write
    };
    let mut store = open()?;
    // The forecast only for a dry run that will be reported: with bad rows
    // found, the report is the problems.
    let forecast = (run.dry_run && problems.is_empty()).then_some(&config.policy);
    match store.import(stamp, source, &batch, mode, today, forecast) {
        Ok(mut report) if problems.is_empty() => {
            report.notes.splice(0..0, sheet_notes);
            return Ok(Imported::Report {
                rows: table.lines.len(),
                report,
            });
        }
        Ok(_) => {}
        Err(ImportError::Rows(mut found)) => problems.append(&mut found),
        Err(ImportError::Store(error)) => return Err(error.into()),
    }
    problems.sort_by_key(|p| (p.row, p.field));
    problems.dedup();
    let bad_rows = problems
        .iter()
        .map(|p| p.row)
        .collect::<BTreeSet<_>>()
        .len();
    Ok(Imported::Refused {
        summary: format!(
            "{source}: {bad_rows} of {} rows cannot be imported; nothing was written",
            table.lines.len()
        ),
        problems: problems
            .iter()
            .map(|p| format!("  {}", problem_line(p, &layout)))
            .collect(),
        json: json!({
            "file": source,
            "written": false,
            "problems": problems_json(&problems, &layout),
        }),
    })
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
            Field::Contact => row.contact.clone(),
            Field::Phone => row.phone.clone(),
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
    let rows: Vec<Vec<Option<String>>> = ctx.register()?.sheet_rows()?.iter().map(cells).collect();
    let chinese: Vec<&str> = COLUMNS.iter().map(|c| c.chinese).collect();
    let english: Vec<&str> = COLUMNS.iter().map(|c| c.english).collect();
    let bytes = match format {
        ExportFormat::Csv => csv_bytes(&chinese, &rows)?,
        ExportFormat::Xlsx => {
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
            xlsx_bytes(&chinese, &kinds, &rows)?
        }
        ExportFormat::Json => {
            let mut text = serde_json::to_string_pretty(&json_value(&english, &rows))?;
            text.push('\n');
            text.into_bytes()
        }
    };
    match &args.output {
        Some(path) => {
            write_private(path, &bytes, overwrite(args.force))?;
            // stdout stays free for the data when there is no --output, so
            // the summary goes to stderr like other diagnostics.
            eprintln!("exported {} rows to {}", rows.len(), path.display());
            Ok(())
        }
        None if format == ExportFormat::Xlsx => {
            bail!("--format xlsx: a workbook is binary; give --output FILE.xlsx")
        }
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// The row a rule break is about, as people name it.
fn row_label(b: &RuleBreak) -> String {
    match &b.row {
        RuleRow::Licence => format!("licence {}", b.licence),
        RuleRow::Number { number, province } => match province {
            Some(p) if number.is_provincial() => {
                format!("number {number} ({}) under {}", p.name(), b.licence)
            }
            _ => format!("number {number} under {}", b.licence),
        },
        RuleRow::Change { id } => format!("change #{id} of {}", b.licence),
        RuleRow::Renewal => format!("renewal mark of {}", b.licence),
    }
}

/// The command that puts a broken row right. Numbers cannot be edited: a
/// number wrongly recorded is released and added again as it is.
fn fix_command(b: &RuleBreak) -> String {
    let licence = &b.licence;
    match (&b.row, &b.error) {
        (_, RuleError::AuthorityNotScope { expected, .. }) => {
            format!("licwatch licence update {licence} --authority {expected}")
        }
        (RuleRow::Licence, _) => {
            format!("licwatch licence update {licence} --issued DATE --expires DATE")
        }
        (RuleRow::Number { number, province }, RuleError::NoB24 { .. }) => format!(
            "licwatch licence update {licence} --items B24,… if the licence carries B24; else licwatch number release {number}{} --on DATE",
            province_arg(number, *province)
        ),
        (RuleRow::Number { number, province }, _) => format!(
            "licwatch number release {number}{} --on DATE, then licwatch number add {number} --licence LICENCE --allocated DATE as it really is",
            province_arg(number, *province)
        ),
        (RuleRow::Change { id }, _) => format!(
            "licwatch licence update {licence} --issued DATE if the issue date is wrong; or licwatch change file {id} --on DATE once it is filed"
        ),
        (RuleRow::Renewal, _) => {
            format!("licwatch licence end {licence} --on DATE --reason 到期未延续")
        }
    }
}

fn province_arg(number: &ServiceNumber, province: Option<Province>) -> String {
    match province {
        Some(p) if number.is_provincial() => format!(" --province {}", p.abbreviation()),
        _ => String::new(),
    }
}

pub fn db(ctx: &Context, command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Backup { path, force } => backup(ctx, &path, overwrite(force)),
        DbCommand::Check => check(ctx),
        DbCommand::Upgrade => upgrade(ctx),
    }
}

fn upgrade(ctx: &Context) -> anyhow::Result<()> {
    if !ctx.db.exists() {
        return Err(crate::store::StoreError::Missing {
            path: ctx.db.clone(),
        }
        .into());
    }
    let version = ctx.store()?.schema_version()?;
    match ctx.format {
        Format::Json => print_json(&json!({
            "database": ctx.db.display().to_string(),
            "schema_version": version,
        })),
        Format::Table => print(&format!(
            "database {}: schema version {version}",
            ctx.db.display()
        )),
    }
}

fn backup(ctx: &Context, path: &Path, overwrite: Overwrite) -> anyhow::Result<()> {
    let report = Store::backup(&ctx.db, path, overwrite)
        .with_context(|| format!("backing up {} to {}", ctx.db.display(), path.display()))?;
    // For `licwatch status`. The backup is made; failing to note it (a
    // read-only register) is worth a warning, not an error.
    let noted = Store::open_existing(&ctx.db).and_then(|mut store| {
        store.record_backup(
            chrono::Utc::now(),
            &std::path::absolute(&report.path)
                .unwrap_or_else(|_| report.path.clone())
                .display()
                .to_string(),
            report.bytes,
        )
    });
    if let Err(e) = noted {
        tracing::warn!("noting the backup for licwatch status: {e}");
    }
    match ctx.format {
        Format::Json => print_json(&json!({
            "database": ctx.db.display().to_string(),
            "backup": report.path.display().to_string(),
            "bytes": report.bytes,
            "schema_version": report.schema_version,
        })),
        Format::Table => print(&format!(
            "backed up {} to {} ({} bytes, schema version {}, integrity ok)",
            ctx.db.display(),
            report.path.display(),
            report.bytes,
            report.schema_version
        )),
    }
}

fn check(ctx: &Context) -> anyhow::Result<()> {
    let report = Store::check(&ctx.db)?;
    let ok = report.integrity_ok() && report.schema_ok();
    let schema = match report.schema_version.cmp(&report.supported) {
        std::cmp::Ordering::Equal => "ok".to_owned(),
        _ if report.schema_version < 1 => "not a licwatch register's".to_owned(),
        std::cmp::Ordering::Less => {
            "older: `licwatch db upgrade` (or the daemon, at start) migrates it".to_owned()
        }
        std::cmp::Ordering::Greater => {
            "newer than this licwatch supports; upgrade licwatch".to_owned()
        }
    };
    // The rules are read only from a sound file at this build's schema:
    // opening an older one would migrate it, and `db check` changes nothing.
    let breaks = if ok && report.schema_version == report.supported {
        ctx.register()?.rule_breaks(ctx.today()?)?
    } else {
        Vec::new()
    };
    match ctx.format {
        Format::Json => print_json(&json!({
            "database": ctx.db.display().to_string(),
            "ok": ok,
            "integrity_check": report.integrity,
            "foreign_key_check": report.foreign_keys,
            "schema_version": report.schema_version,
            "supported_schema_version": report.supported,
            "rule_breaks": breaks.iter().map(|b| json!({
                "licence": b.licence.to_string(),
                "row": row_label(b),
                "field": b.error.field().flag(),
                "value": b.error.value(),
                "problem": b.error.to_string(),
                "fix": fix_command(b),
            })).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            let mut text = format!(
                "database {}\nintegrity_check: {}\nforeign keys: {}\nschema version {} (this licwatch: {}): {schema}",
                ctx.db.display(),
                report.integrity.join("\n  "),
                if report.foreign_keys.is_empty() {
                    "ok".to_owned()
                } else {
                    report.foreign_keys.join("\n  ")
                },
                report.schema_version,
                report.supported,
            );
            if breaks.is_empty() {
                text.push_str("\nrules: every row keeps them");
            } else {
                text.push_str(&format!(
                    "\nrules: {} row(s) break a rule (written before the rule; left as they are, and still reminded of):",
                    breaks.len()
                ));
                for b in &breaks {
                    text.push_str(&format!(
                        "\n  {}: {}\n    fix: {}",
                        row_label(b),
                        b.error.with_flag(),
                        fix_command(b)
                    ));
                }
            }
            print(&text)?
        }
    }
    if !ok {
        bail!(
            "database {}: the check failed (restore from a backup: docs/agency.md)",
            ctx.db.display()
        );
    }
    Ok(())
}
