//! The admin face of the one binary: argument parsing, calling the store and
//! the core, and rendering tables for people and JSON for scripts.
//!
//! Arguments arrive as strings and are parsed here with the domain's parsers,
//! so that a refused value is reported in the domain's words: the field, the
//! value and the accepted form, on one line.

mod agency;
mod agenda;
mod ics;
mod output;
mod register;
mod rows;
mod serve;
pub mod sheet;

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::licence::LicenceNo;
use crate::notify::route::Environment;
use crate::notify::send::Notifier;
use crate::store::{OutboxRow, OutboxState, Stamp, Store};

#[derive(Debug, Parser)]
#[command(
    name = "licwatch",
    version,
    about = "Deadline watch for 增值电信业务经营许可证 (B24 call-centre) licences and 95/96/1010 numbers",
    after_help = "Exit codes: 0 ok, 1 failure (the message says why), 2 usage error."
)]
pub struct Cli {
    /// The SQLite register.
    #[arg(
        long,
        global = true,
        env = "LICWATCH_DB",
        default_value = "licwatch.db"
    )]
    db: PathBuf,
    /// The TOML config (see config.example.toml); embedded defaults without one.
    #[arg(long, global = true, env = "LICWATCH_CONFIG")]
    config: Option<PathBuf>,
    /// Output for people (table, the default) or scripts (json); export
    /// also writes csv (its default) or xlsx, and agenda ics.
    #[arg(long, global = true, value_enum)]
    format: Option<OutputFormat>,
    /// Act as if today were this date (YYYY-MM-DD), to see what would be due.
    #[arg(long, global = true, value_name = "DATE")]
    today: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// How a command shows its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// What `--format` accepts: the two formats every command has, and the
/// file formats of export and the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
    Xlsx,
    Ics,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Companies holding licences (持证单位).
    #[command(subcommand)]
    Company(register::CompanyCommand),
    /// Licences (增值电信业务经营许可证).
    #[command(subcommand)]
    Licence(register::LicenceCommand),
    /// 95 / 96 / 1010 service numbers (码号).
    #[command(subcommand)]
    Number(register::NumberCommand),
    /// Mark a renewal applied for, or reported as not continuing.
    #[command(subcommand)]
    Renewal(register::RenewalCommand),
    /// Mark an annual report (年报) filed.
    #[command(subcommand)]
    Report(register::ReportCommand),
    /// Record a company change and mark its filing (变更备案).
    #[command(subcommand)]
    Change(register::ChangeCommand),
    /// Every open obligation due in the window or overdue, soonest first.
    Agenda(agenda::AgendaArgs),
    /// Every reminder stage of one obligation and the working day it moves to.
    Explain(agenda::ExplainArgs),
    /// Silence an obligation's reminders until a date (never past its due day).
    Snooze(agenda::SnoozeArgs),
    /// The audit trail: who changed what, and when.
    History(register::HistoryArgs),
    /// The configuration: print the example, or check a file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Prove a route works before relying on it.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Run the daemon: tick on the schedule, send alerts, retry (what systemd runs).
    Serve(serve::ServeArgs),
    /// The alerts the daemon planned and what became of them.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Import companies, licences and numbers from a CSV, XLSX or JSON
    /// sheet: all rows or none (format: docs/agency.md).
    Import(agency::ImportArgs),
    /// Write the register in the import format (csv, xlsx or json).
    Export(agency::ExportArgs),
    /// Back up the register, or check its integrity.
    #[command(subcommand)]
    Db(agency::DbCommand),
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List outbox rows, newest last.
    List {
        /// Only rows in this state.
        #[arg(long, value_enum)]
        state: Option<OutboxStateArg>,
    },
    /// Put a failed row back in the queue; the daemon sends it at its next wake-up.
    Retry {
        /// The row id, as listed.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutboxStateArg {
    Pending,
    Sent,
    Failed,
    Cancelled,
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// Send a short test message through a route and print the answer.
    Test {
        /// The route's name, as in [routes.NAME].
        route: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print config.example.toml, which documents every key.
    Example,
    /// Validate the config file, read the routes' secrets, and print the
    /// routes with their tokens masked.
    Check,
}

/// What every command gets: the parsed globals, opened lazily.
pub struct Context {
    db: PathBuf,
    config_path: Option<PathBuf>,
    format: Format,
    /// `--format` as given: export and agenda also write file formats.
    output: Option<OutputFormat>,
    today: Option<String>,
}

impl Context {
    /// Today in the schedule's time zone (Asia/Shanghai by default), like
    /// the daemon: a server on UTC must not file a report a day early.
    fn today(&self) -> anyhow::Result<NaiveDate> {
        match &self.today {
            Some(text) => Ok(parse_date("--today", text)?),
            None => Ok(chrono::Utc::now()
                .with_timezone(&self.config()?.schedule.time_zone)
                .date_naive()),
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        match &self.config_path {
            Some(path) => Config::load(path),
            None => Ok(Config::defaults()),
        }
    }

    /// The register for a command that only reads: it must exist.
    fn register(&self) -> anyhow::Result<Store> {
        Ok(Store::open_existing(&self.db)?)
    }

    fn store(&self) -> anyhow::Result<Store> {
        Store::open(&self.db).with_context(|| {
            format!(
                "opening the register {} (set --db or LICWATCH_DB)",
                self.db.display()
            )
        })
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            user: os_user(),
            at: chrono::Utc::now(),
        }
    }
}

/// The OS user for the history, with the person behind sudo when there is one.
fn os_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self")
                .map(|meta| format!("uid {}", meta.uid()))
                .unwrap_or_else(|_| "unknown".into())
        });
    match std::env::var("SUDO_USER") {
        Ok(sudo) if sudo != user => format!("{user} (sudo by {sudo})"),
        _ => user,
    }
}

fn licence_arg(text: &str) -> anyhow::Result<LicenceNo> {
    Ok(text.parse()?)
}

/// `--on DATE`, defaulting to today.
/// A register row id as people type it: `12` or `#12`.
fn row_id(text: &str) -> Option<i64> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// `--on DATE`, defaulting to today; a day that has not come yet is refused,
/// since the register records what happened.
fn on_or_today(ctx: &Context, on: &Option<String>) -> anyhow::Result<NaiveDate> {
    let today = ctx.today()?;
    let Some(text) = on else { return Ok(today) };
    let on = parse_date("--on", text)?;
    if on > today {
        anyhow::bail!(
            "--on {on}: after today ({today}); record what has happened, on the day it did"
        );
    }
    Ok(on)
}

#[derive(Debug, Args)]
struct OnArg {
    /// The day it happened (YYYY-MM-DD); today when omitted.
    #[arg(long, value_name = "DATE")]
    on: Option<String>,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let format = match cli.format {
        None | Some(OutputFormat::Table) => Format::Table,
        Some(OutputFormat::Json) => Format::Json,
        Some(file @ (OutputFormat::Csv | OutputFormat::Xlsx | OutputFormat::Ics)) => {
            let (command, fits) = match file {
                OutputFormat::Ics => ("agenda", matches!(cli.command, Command::Agenda(_))),
                _ => ("export", matches!(cli.command, Command::Export(_))),
            };
            if !fits {
                let name = file
                    .to_possible_value()
                    .expect("no format is hidden")
                    .get_name()
                    .to_owned();
                anyhow::bail!(
                    "--format {name}: only {command} writes {name}; this command writes table or json"
                );
            }
            Format::Table
        }
    };
    let ctx = Context {
        db: cli.db,
        config_path: cli.config,
        format,
        output: cli.format,
        today: cli.today,
    };
    match cli.command {
        Command::Company(command) => register::company(&ctx, command),
        Command::Licence(command) => register::licence(&ctx, command),
        Command::Number(command) => register::number(&ctx, command),
        Command::Renewal(command) => register::renewal(&ctx, command),
        Command::Report(command) => register::report(&ctx, command),
        Command::Change(command) => register::change(&ctx, command),
        Command::Agenda(args) if ctx.output == Some(OutputFormat::Ics) => ics::agenda(&ctx, args),
        Command::Agenda(args) => agenda::agenda(&ctx, args),
        Command::Explain(args) => agenda::explain(&ctx, args),
        Command::Snooze(args) => agenda::snooze(&ctx, args),
        Command::History(args) => register::history(&ctx, args),
        Command::Config(ConfigCommand::Example) => output::print(crate::config::EXAMPLE.trim_end()),
        Command::Config(ConfigCommand::Check) => {
            let config = ctx.config()?;
            let routes = config.routes(&Environment)?;
            let source = ctx
                .config_path
                .as_ref()
                .map_or("embedded defaults".to_owned(), |p| p.display().to_string());
            let years: Vec<String> = config.calendar.years().map(|y| y.to_string()).collect();
            let mut text = format!(
                "config {source}: ok\nholiday years known: {}\nroutes:",
                years.join(", ")
            );
            for route in &routes {
                text.push_str(&format!("\n  {}", route.describe()));
            }
            output::print(&text)
        }
        Command::Notify(NotifyCommand::Test { route }) => notify_test(&ctx, &route),
        Command::Serve(args) => serve::serve(&ctx, args),
        Command::Outbox(OutboxCommand::List { state }) => outbox_list(&ctx, state),
        Command::Outbox(OutboxCommand::Retry { id }) => outbox_retry(&ctx, &id),
        Command::Import(args) => agency::import(&ctx, args),
        Command::Export(args) => agency::export(&ctx, args),
        Command::Db(command) => agency::db(&ctx, command),
    }
}

fn notify_test(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let routes = config.routes(&Environment)?;
    let route = routes
        .iter()
        .find(|route| route.name == name)
        .with_context(|| {
            format!(
                "route \"{name}\": not configured (configured: {})",
                routes
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let notifier = Notifier::new(config.delivery.send_timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(notifier.send_test(route, chrono::Utc::now()));
    if outcome.is_sent() {
        output::print(&format!("{}: {outcome}", route.describe()))
    } else {
        anyhow::bail!("{}: {outcome}", route.describe())
    }
}

fn outbox_json(row: &OutboxRow) -> serde_json::Value {
    serde_json::json!({
        "id": row.id,
        "kind": row.kind,
        "obligation": row.obligation,
        "licence": row.licence,
        "number": row.number,
        "year": row.year,
        "due": row.due.map(|d| d.to_string()),
        "stage": row.stage,
        "send_on": row.send_on.to_string(),
        "route": row.route,
        "state": row.state.code(),
        "attempts": row.attempts,
        "next_attempt_at": (row.state == OutboxState::Pending).then(|| crate::store::timestamp(row.next_attempt_at)),
        "last_error": row.last_error,
        "sent_at": row.sent_at.map(crate::store::timestamp),
        "message_id": row.message_id,
    })
}

fn outbox_list(ctx: &Context, state: Option<OutboxStateArg>) -> anyhow::Result<()> {
    let state = state.map(|state| match state {
        OutboxStateArg::Pending => OutboxState::Pending,
        OutboxStateArg::Sent => OutboxState::Sent,
        OutboxStateArg::Failed => OutboxState::Failed,
        OutboxStateArg::Cancelled => OutboxState::Cancelled,
    });
    let rows = ctx.register()?.outbox(state)?;
    match ctx.format {
        Format::Json => output::print_json(&rows.iter().map(outbox_json).collect()),
        Format::Table => output::print(&output::table(
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
            rows.iter().map(|row| {
                vec![
                    row.id.to_string(),
                    row.state.code().to_owned(),
                    row.send_on.to_string(),
                    format!("{:+}", row.stage),
                    row.route.clone(),
                    row.obligation.clone(),
                    row.attempts.to_string(),
                    row.last_error.clone().unwrap_or_default(),
                ]
            }),
        )),
    }
}

fn outbox_retry(ctx: &Context, id: &str) -> anyhow::Result<()> {
    let id = row_id(id).with_context(|| {
        format!("outbox id \"{id}\": not an outbox row id (a positive number, as listed by licwatch outbox list)")
    })?;
    let row = ctx.store()?.retry_outbox(&ctx.stamp(), id)?;
    match ctx.format {
        Format::Json => output::print_json(&outbox_json(&row)),
        Format::Table => output::print(&format!(
            "outbox row #{} ({} stage {:+} to {}) is pending again; the daemon sends it at its next wake-up",
            row.id, row.obligation, row.stage, row.route
        )),
    }
}
