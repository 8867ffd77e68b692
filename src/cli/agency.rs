//! Commands for a register at an agency's scale: import from a spreadsheet
//! here; export (`agency/export.rs`), backups and the integrity check
//! (`agency/db.rs`) beside it.

pub(super) mod db;
pub(super) mod export;
mod group;
#[cfg(test)]
mod tests;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use serde_json::json;

use super::output::{print, print_json, spill, table};
use super::rows::columns::{Layout, Unknown, accepted_headers, is_known_header};
use super::rows::merge::assemble;
use super::rows::row::{Parsed, parse_row};
use super::sheet::{self, HeaderRow, Line, Sheet};
use super::{Context, Format};
use crate::domain::obligation::ObligationKind;
use crate::store::{
    Batch, Change, Edit, Import, ImportError, ImportMode, ImportReport, Overwrite, PastTally,
    RowProblem, Tally,
};

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

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
fn sheet_notes(table: &Sheet, layout: &Layout) -> Vec<String> {
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

fn change_json(c: &Change) -> serde_json::Value {
    json!({
        "entity": c.entity.code(),
        "edit": match c.edit { Edit::Add => "add", Edit::Update => "update" },
        "key": c.key,
        "detail": c.detail,
    })
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
        "changes": report.changes.iter().map(change_json).collect::<Vec<_>>(),
        "notes": report.notes,
        "past": {"annual_reports": report.past.reports, "renewals": report.past.renewals},
        "overdue": overdue_json(report),
    })
}

/// How many additions and updates the table report lists.
const MAX_LISTED: usize = 200;

fn report_text(
    source: &str,
    rows: usize,
    dry_run: bool,
    report: &ImportReport,
    unlisted: Unlisted,
) -> String {
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
    let more = unlisted.updates + if dry_run { unlisted.adds } else { 0 };
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
    if listed.len() + more > MAX_LISTED {
        text.push_str(&format!(
            "\n… and {} more (--format json lists them all)",
            listed.len() + more - MAX_LISTED
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
        all_changes: ctx.format == Format::Json,
    };
    let imported = import_run(|| ctx.store(), &ctx.stamp(), &config, ctx.today()?, &run)?;
    match imported {
        Imported::Report {
            rows,
            report,
            unlisted,
            every,
        } => match ctx.format {
            Format::Json => {
                let json = report_json(&source, rows, args.dry_run, &report);
                match every {
                    Some(every) => {
                        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                        spill::write_report(&mut out, &json, &[("changes", &every)])?;
                        std::io::Write::flush(&mut out)?;
                        Ok(())
                    }
                    None => print_json(&json),
                }
            }
            Format::Table => print(&report_text(&source, rows, args.dry_run, &report, unlisted)),
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
    /// Keep every change for the report (JSON lists them all: on disk,
    /// [`spill`]); otherwise only what the table lists, so that memory does
    /// not grow with them.
    pub all_changes: bool,
}

/// The updates and additions a report leaves out of its list of changes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Unlisted {
    pub updates: usize,
    pub adds: usize,
}

/// The changes an import reports, as its batches find them.
struct Changes {
    /// Every change, when all are asked for.
    every: Option<spill::Spill>,
    kept: Vec<Change>,
    unlisted: Unlisted,
    /// Updates and additions kept, when not all are.
    updates: usize,
    adds: usize,
}

impl Changes {
    fn new(all: bool) -> anyhow::Result<Self> {
        Ok(Changes {
            every: all.then(spill::Spill::new).transpose()?,
            kept: Vec::new(),
            unlisted: Unlisted::default(),
            updates: 0,
            adds: 0,
        })
    }

    fn extend(&mut self, changes: Vec<Change>) -> anyhow::Result<()> {
        if let Some(every) = &mut self.every {
            for change in &changes {
                every.push(&change_json(change))?;
            }
            return Ok(());
        }
        for change in changes {
            let (kept, unlisted) = match change.edit {
                Edit::Update => (&mut self.updates, &mut self.unlisted.updates),
                Edit::Add => (&mut self.adds, &mut self.unlisted.adds),
            };
            if *kept < MAX_LISTED {
                *kept += 1;
                self.kept.push(change);
            } else {
                *unlisted += 1;
            }
        }
        Ok(())
    }
}

/// What an import did: its report (of what was written, or what a dry run
/// would write), or why nothing was written.
pub(crate) enum Imported {
    Report {
        rows: usize,
        /// Its changes: the first [`MAX_LISTED`] updates and additions,
        /// none when the run asked for all (`every` has them).
        report: ImportReport,
        unlisted: Unlisted,
        every: Option<spill::Spilled>,
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
            Imported::Report {
                rows,
                report,
                unlisted,
                ..
            } => report_text(source, *rows, dry_run, report, *unlisted),
            Imported::Refused {
                summary, problems, ..
            } => format!("{summary}\n{}", problems.join("\n")),
        }
    }
}

/// Rows planned and written at a time: a batch, its plan and the pages it
/// touches stay within the memory bound however long the sheet is.
const BATCH_ROWS: usize = 20_000;

/// Problems found before the import stops reading: as many as a sheet read
/// whole can have rows, so a streamed sheet of millions of bad rows is
/// reported within the memory bound (and a screenful is enough to see
/// what is wrong).
const MAX_PROBLEMS: usize = 200_000;

/// A sheet's rows as the store imports them: parsed as they are read,
/// merged into records batch by batch.
struct Batches<'a> {
    layout: &'a Layout,
    licence_years: u32,
    stamp: &'a crate::store::Stamp,
    source: &'a str,
    mode: ImportMode,
    today: chrono::NaiveDate,
    forecast: Option<&'a crate::domain::policy::Policy>,
    /// Rows a batch, about: [`BATCH_ROWS`], or `usize::MAX` for one batch
    /// of the whole sheet.
    batch_rows: usize,
    all_changes: bool,
    /// Reading stops once this many problems are found: [`MAX_PROBLEMS`].
    max_problems: usize,
}

/// What the rows of a sheet gave: how many there are, the problems found
/// in them, and the store's answer.
struct Outcome {
    rows: usize,
    problems: Vec<RowProblem>,
    stored: Result<ImportReport, ImportError>,
    changes: Changes,
    /// Reading stopped at `rows`, with too many problems found.
    stopped: bool,
}

/// An import's state between its batches.
struct Progress<'s> {
    import: Import<'s>,
    seen: Seen,
    /// Rows that disagree with others naming the same thing.
    disagree: Vec<RowProblem>,
    changes: Changes,
}

/// The companies, licences and numbers of the batches imported so far,
/// hashed: one named again in a later batch would be planned twice.
#[derive(Default)]
struct Seen {
    companies: HashSet<u64>,
    licences: HashSet<u64>,
    numbers: HashSet<u64>,
}

fn key_hash(key: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

impl Seen {
    /// Records the batch's keys; false if one was in an earlier batch (or
    /// its hash was: then the sheet is imported as one batch, no harm).
    fn first_time(&mut self, batch: &Batch) -> bool {
        let companies = batch
            .companies
            .iter()
            .all(|c| self.companies.insert(key_hash(c.uscc.as_str())));
        let licences = batch
            .licences
            .iter()
            .all(|l| self.licences.insert(key_hash(&l.number)));
        let numbers = batch.numbers.iter().all(|n| {
            self.numbers
                .insert(key_hash((n.province, n.number.as_str())))
        });
        companies && licences && numbers
    }
}

impl Batches<'_> {
    /// Imports the sheet in batches of about `batch_rows` rows, each cut
    /// where the company changes, so that a company's rows, when together,
    /// stay in one batch. `None` when a company, licence or number comes
    /// back in a later batch: its rows must be merged first, so the caller
    /// imports the rows again with each company's together, or as one
    /// batch (nothing was written: the transaction is dropped).
    fn import(
        &self,
        store: &crate::store::Store,
        lines: &mut dyn Iterator<Item = anyhow::Result<Line>>,
    ) -> anyhow::Result<Option<Outcome>> {
        let batch_rows = self.batch_rows;
        let mut progress = Progress {
            import: store.begin_import(
                self.stamp,
                self.source,
                self.mode,
                self.today,
                self.forecast,
            )?,
            seen: Seen::default(),
            disagree: Vec::new(),
            changes: Changes::new(self.all_changes)?,
        };
        let mut rows = 0;
        // Problems of single rows first, then of rows that disagree, as
        // one batch of the whole sheet found them.
        let mut problems = Vec::new();
        let mut batch: Vec<Parsed> = Vec::new();
        let mut stopped = false;
        for line in lines {
            if problems.len() + progress.disagree.len() + progress.import.problems()
                >= self.max_problems
            {
                stopped = true;
                break;
            }
            let line = line?;
            rows += 1;
            let parsed = match parse_row(self.layout, &line, self.licence_years) {
                Ok(parsed) => parsed,
                Err(mut found) => {
                    problems.append(&mut found);
                    continue;
                }
            };
            let cut = batch.len() >= batch_rows
                && batch
                    .last()
                    .is_some_and(|last| last.company.uscc != parsed.company.uscc);
            if cut && !self.add(&mut progress, std::mem::take(&mut batch), &problems)? {
                return Ok(None);
            }
            batch.push(parsed);
        }
        if !self.add(&mut progress, batch, &problems)? {
            return Ok(None);
        }
        problems.append(&mut progress.disagree);
        Ok(Some(Outcome {
            rows,
            problems,
            stored: progress.import.finish(),
            changes: progress.changes,
            stopped,
        }))
    }

    /// [`Batches::import`] of `lines` with each company's rows brought
    /// together (see `group.rs`).
    fn import_grouped(
        &self,
        store: &crate::store::Store,
        lines: impl Iterator<Item = anyhow::Result<Line>>,
    ) -> anyhow::Result<Option<Outcome>> {
        let grouped = group::group(lines, |line| {
            parse_row(self.layout, line, self.licence_years)
                .ok()
                .map(|parsed| key_hash(parsed.company.uscc.as_str()))
        })?;
        grouped.read(|lines| self.import(store, lines))?
    }

    /// Merges and imports one batch; false if it names a key of an
    /// earlier one.
    fn add(
        &self,
        progress: &mut Progress,
        rows: Vec<Parsed>,
        problems: &[RowProblem],
    ) -> anyhow::Result<bool> {
        let batch = assemble(rows, self.layout, &mut progress.disagree);
        // A single batch needs no check, and must not fail on two keys
        // whose hashes collide.
        if self.batch_rows != usize::MAX && !progress.seen.first_time(&batch) {
            return Ok(false);
        }
        // With bad rows already found, the store still plans the good
        // ones, so that the report lists the conflicts with the register.
        if !problems.is_empty() || !progress.disagree.is_empty() {
            progress.import.refuse();
        }
        progress.changes.extend(progress.import.add(&batch)?)?;
        Ok(true)
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
    let table = sheet::open(run.file, header)?;
    let unknown = if run.strict {
        Unknown::Refuse
    } else {
        Unknown::Ignore
    };
    let samples = table.column_samples()?;
    let layout = Layout::new(&table.headers, &samples, unknown).map_err(|problems| {
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
    let store = open()?;
    let mode = if run.dry_run {
        ImportMode::DryRun
    } else {
        ImportMode::Write
    };
    let batches = Batches {
        layout: &layout,
        licence_years: config.policy.licence_years,
        stamp,
        source,
        mode,
        today,
        forecast: run.dry_run.then_some(&config.policy),
        batch_rows: BATCH_ROWS,
        all_changes: run.all_changes,
        max_problems: MAX_PROBLEMS,
    };
    let sheet_lines = || -> anyhow::Result<_> {
        Ok(table.lines()?.map(|line| line.map_err(anyhow::Error::from)))
    };
    let outcome = match batches.import(&store, &mut sheet_lines()?)? {
        Some(outcome) => outcome,
        // A company's rows apart: read again with each company's together.
        None => match batches.import_grouped(&store, sheet_lines()?)? {
            Some(outcome) => outcome,
            // A licence or number under two companies: the rows disagree,
            // which only one batch of the whole sheet reports as such.
            None => Batches {
                batch_rows: usize::MAX,
                ..batches
            }
            .import(&store, &mut sheet_lines()?)?
            .ok_or_else(|| anyhow::anyhow!("{source}: a single batch cannot repeat a key"))?,
        },
    };
    let Outcome {
        rows,
        mut problems,
        stored,
        changes,
        stopped,
    } = outcome;
    match stored {
        Ok(mut report) if problems.is_empty() => {
            report.notes.splice(0..0, sheet_notes);
            report.changes = changes.kept;
            return Ok(Imported::Report {
                rows,
                report,
                unlisted: changes.unlisted,
                every: changes.every.map(spill::Spill::finish).transpose()?,
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
        summary: if stopped {
            format!(
                "{source}: {bad_rows} of the first {rows} rows cannot be imported (reading stopped at {MAX_PROBLEMS} problems); nothing was written"
            )
        } else {
            format!("{source}: {bad_rows} of {rows} rows cannot be imported; nothing was written")
        },
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
