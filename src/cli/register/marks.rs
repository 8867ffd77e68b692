//! The marks that close obligations: `licwatch renewal`, `report` and
//! `change`.

use anyhow::{Context as _, bail};
use chrono::{Datelike, NaiveDate};
use clap::Subcommand;
use serde_json::json;

use crate::cli::output::spill::{Spill, write_report};
use crate::cli::output::{date_or_dash, print, print_json};
use crate::cli::{Context, Format, OnArg, licence_arg, on_or_today, row_id, rule_refused};
use crate::domain::change::ChangeKind;
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::renewal_due;
use crate::domain::rules::{self, Timeliness};
use crate::store::{MarkReports, ReportOutcome, ReportScope};

use super::changes_text;

#[derive(Debug, Subcommand)]
pub enum RenewalCommand {
    /// The renewal (续期) was applied for.
    Submit {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        #[command(flatten)]
        on: OnArg,
    },
    /// The holder reported that it will not continue the business.
    NotContinuing {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        #[command(flatten)]
        on: OnArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The annual report on a business year was filed: for one licence,
    /// every licence of a company (--company), or every licence in the
    /// register (--all). A report already on record is left as it is.
    File {
        /// The licence number, e.g. 京B2-20201234; or give --company or
        /// --all instead.
        #[arg(required_unless_present_any = ["all", "company"], conflicts_with_all = ["all", "company"])]
        licence: Option<String>,
        /// Every licence in the register that owes the report.
        #[arg(long, conflicts_with = "company")]
        all: bool,
        /// Every licence of this company (USCC) that owes the report.
        #[arg(long, value_name = "USCC")]
        company: Option<String>,
        /// The business year reported on (年度): the 2025 report is filed
        /// 1 January – 31 March 2026. Defaults to last year.
        #[arg(long, allow_negative_numbers = true)]
        year: Option<i32>,
        #[command(flatten)]
        on: OnArg,
        /// The report said 未开展业务 (business not carried out).
        #[arg(long)]
        not_carried_out: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Record a company change that must be filed within 30 days.
    Record {
        /// The licence the change is filed under, e.g. 京B2-20201234.
        licence: String,
        /// name, address, legal-rep, shareholding (over 5%) or capital.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        on: OnArg,
    },
    /// The change was filed with the authority.
    File {
        /// The change id printed by `change record` and shown in the agenda.
        id: String,
        #[command(flatten)]
        on: OnArg,
    },
}

pub fn renewal(ctx: &Context, command: RenewalCommand) -> anyhow::Result<()> {
    let (licence, on, continuing) = match command {
        RenewalCommand::Submit { licence, on } => (licence, on, true),
        RenewalCommand::NotContinuing { licence, on } => (licence, on, false),
    };
    let number = licence_arg(&licence)?;
    let on = on_or_today(ctx, &on.on)?;
    let policy = ctx.config()?.policy;
    let mut store = ctx.store()?;
    // The same mark again is not an error: say when, change nothing. The
    // other mark (not continuing after a submission, or the reverse) is
    // refused by the store.
    if let Some((marked_on, was_continuing)) = store.renewal_marked(&number)?
        && was_continuing == continuing
    {
        let licence = store.licence(&number)?;
        return match ctx.format {
            Format::Json => print_json(&json!({
                "licence": number.to_string(), "expires": licence.expires.to_string(),
                "continuing": continuing, "on": marked_on.to_string(), "already_marked": true,
            })),
            Format::Table => print(&format!(
                "{number}: the renewal for expiry {} was already marked on {marked_on}; nothing changed",
                licence.expires
            )),
        };
    }
    let current = store.licence(&number)?;
    let timeliness = rules::renewal_submission(
        &number,
        current.expires,
        renewal_due(current.expires, &policy),
        on,
    )
    .map_err(rule_refused)?;
    store.submit_renewal(&ctx.stamp(), &number, on, continuing)?;
    let licence = store.licence(&number)?;
    let late = match timeliness {
        Timeliness::OnTime => None,
        Timeliness::Late { due, days } => Some((due, days)),
    };
    let what = if continuing {
        "renewal applied for"
    } else {
        "not continuing, reported"
    };
    match ctx.format {
        Format::Json => print_json(&json!({
            "licence": number.to_string(), "expires": licence.expires.to_string(),
            "continuing": continuing, "on": on.to_string(),
            "late_days": late.map(|(_, days)| days),
        })),
        Format::Table => print(&format!(
            "{number}: {what} on {on} (licence expiring {}){}{}",
            licence.expires,
            match late {
                Some((due, days)) => format!(
                    "; late: the deadline was {due}, {days} day(s) earlier (recorded as late)"
                ),
                None => String::new(),
            },
            if continuing {
                format!(
                    "; when the new licence arrives: licwatch licence update {number} --expires DATE"
                )
            } else {
                String::new()
            }
        )),
    }
}

pub fn report(ctx: &Context, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::File {
        licence,
        all,
        company,
        year,
        on,
        not_carried_out,
    } = command;
    let on = on_or_today(ctx, &on.on)?;
    let year = year.unwrap_or(on.year() - 1);
    let scope = match (licence, company) {
        (Some(licence), _) => {
            return report_one(ctx, &licence_arg(&licence)?, year, on, !not_carried_out);
        }
        (None, Some(uscc)) => ReportScope::Company(uscc.parse()?),
        (None, None) if all => ReportScope::All,
        (None, None) => bail!("report file: give a licence, --company USCC or --all"),
    };
    rules::report_filed_on(year, on).map_err(rule_refused)?;
    // A JSON report's lists are kept on disk until the marks are committed:
    // in a large register they are most of its licences.
    let mut lists = match ctx.format {
        Format::Json => Some((Spill::new()?, Spill::new()?)),
        Format::Table => None,
    };
    let filed = ctx.store()?.file_reports(
        &ctx.stamp(),
        &scope,
        &MarkReports {
            year,
            on,
            carried_out: !not_carried_out,
        },
        |outcome| {
            match (lists.as_mut(), outcome) {
                (Some((marked, _)), ReportOutcome::Marked(licence)) => {
                    marked.push(&licence.to_string().into())?;
                }
                (Some((_, already)), ReportOutcome::Already(licence, day)) => already
                    .push(&json!({"licence": licence.to_string(), "filed_on": day.to_string()}))?,
                (None, _) => {}
            }
            anyhow::Ok(())
        },
    )?;
    match lists {
        Some((marked, already)) => {
            let (marked, already) = (marked.finish()?, already.finish()?);
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_report(
                &mut out,
                &json!({
                    "year": year, "on": on.to_string(), "carried_out": !not_carried_out,
                    "marked": [], "already_filed": [], "not_owed": filed.not_owed,
                }),
                &[("marked", &marked), ("already_filed", &already)],
            )?;
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        None => {
            let mut text = format!(
                "{year} annual report marked filed on {on} for {} licences{}",
                filed.marked,
                if not_carried_out {
                    " (未开展业务)"
                } else {
                    ""
                }
            );
            if filed.already > 0 {
                text.push_str(&format!(
                    "; {} already on record, left as they were",
                    filed.already
                ));
            }
            if filed.not_owed > 0 {
                text.push_str(&format!(
                    "; {} not valid in {year}, so not owing it",
                    filed.not_owed
                ));
            }
            print(&text)
        }
    }
}

/// One licence's report. Filing what is already on record is not an
/// error: it says when, and changes nothing.
fn report_one(
    ctx: &Context,
    number: &LicenceNo,
    year: i32,
    on: NaiveDate,
    carried_out: bool,
) -> anyhow::Result<()> {
    let mut store = ctx.store()?;
    let already = store.report_filed_on(number, year)?;
    if already.is_none() {
        store.file_report(&ctx.stamp(), number, year, on, carried_out)?;
    }
    match (ctx.format, already) {
        (Format::Json, _) => print_json(&json!({
            "licence": number.to_string(), "year": year,
            "on": already.unwrap_or(on).to_string(),
            "carried_out": carried_out, "already_filed": already.is_some(),
        })),
        (Format::Table, Some(day)) => print(&format!(
            "{number}: the {year} annual report was already filed on {day}; nothing changed"
        )),
        (Format::Table, None) => print(&format!(
            "{number}: {year} annual report filed on {on}{}",
            if carried_out {
                ""
            } else {
                " (未开展业务)"
            }
        )),
    }
}

pub fn change(ctx: &Context, command: ChangeCommand) -> anyhow::Result<()> {
    let change = match command {
        ChangeCommand::Record { licence, kind, on } => {
            let number = licence_arg(&licence)?;
            let kind: ChangeKind = kind.parse()?;
            let on = on_or_today(ctx, &on.on)?;
            let change = ctx
                .store()?
                .record_change(&ctx.stamp(), &number, kind, on)?;
            if ctx.format == Format::Table {
                return print(&changes_text(&[change], &ctx.config()?.policy));
            }
            change
        }
        ChangeCommand::File { id, on } => {
            let id = row_id(&id).with_context(|| {
                format!("change id \"{id}\": not a change id (a positive number such as 12, shown by change record and agenda)")
            })?;
            let on = on_or_today(ctx, &on.on)?;
            let mut store = ctx.store()?;
            let change = store.change(id)?;
            // Filing what is on record already is not an error: say when,
            // change nothing.
            match change.filed_on {
                Some(filed) if ctx.format == Format::Table => {
                    return print(&format!(
                        "change #{id} ({}) of {} was already filed on {filed}; nothing changed",
                        change.kind.code(),
                        change.licence
                    ));
                }
                Some(_) => change,
                None => store.file_change(&ctx.stamp(), id, on)?,
            }
        }
    };
    match ctx.format {
        Format::Json => print_json(&json!({
            "id": change.id, "licence": change.licence.to_string(), "kind": change.kind.code(),
            "changed_on": change.changed_on.to_string(),
            "filed_on": change.filed_on.map(|d| d.to_string()),
        })),
        Format::Table => print(&format!(
            "change #{} ({}) of {} filed on {}",
            change.id,
            change.kind.code(),
            change.licence,
            date_or_dash(change.filed_on)
        )),
    }
}
