//! `licwatch db`: upgrading, backing up and checking the register file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::json;

use super::overwrite;
use crate::cli::output::{print, print_json, write_json_with};
use crate::cli::{Context, Format};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::rules::RuleError;
use crate::store::{Overwrite, RuleBreak, RuleRow, Store};

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
    // Each row that breaks one is read again for each pass, never held: a
    // register written before the rules may break them on every row.
    let checked = if ok && report.schema_version == report.supported {
        Some((ctx.register()?, ctx.today()?))
    } else {
        None
    };
    let each_break = |each: &mut dyn FnMut(RuleBreak) -> anyhow::Result<()>| match &checked {
        Some((store, today)) => store.each_rule_break(*today, each),
        None => Ok(()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match ctx.format {
        Format::Json => write_json_with(
            &mut out,
            &json!({
                "database": ctx.db.display().to_string(),
                "ok": ok,
                "integrity_check": report.integrity,
                "foreign_key_check": report.foreign_keys,
                "schema_version": report.schema_version,
                "supported_schema_version": report.supported,
                "rule_breaks": [],
            }),
            vec![(
                "rule_breaks",
                Box::new(|each| {
                    each_break(&mut |b| {
                        each(json!({
                            "licence": b.licence.to_string(),
                            "row": row_label(&b),
                            "field": b.error.field().flag(),
                            "value": b.error.value(),
                            "problem": b.error.to_string(),
                            "fix": fix_command(&b),
                        }))
                    })
                }),
            )],
        )?,
        Format::Table => {
            write!(
                out,
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
            )?;
            let mut count = 0usize;
            each_break(&mut |_| {
                count += 1;
                Ok(())
            })?;
            if count == 0 {
                write!(out, "\nrules: every row keeps them")?;
            } else {
                write!(
                    out,
                    "\nrules: {count} row(s) break a rule (written before the rule; left as they are, and still reminded of):"
                )?;
                each_break(&mut |b| {
                    write!(
                        out,
                        "\n  {}: {}\n    fix: {}",
                        row_label(&b),
                        b.error.with_flag(),
                        fix_command(&b)
                    )?;
                    Ok(())
                })?;
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    if !ok {
        bail!(
            "database {}: the check failed (restore from a backup: docs/agency.md)",
            ctx.db.display()
        );
    }
    Ok(())
}
