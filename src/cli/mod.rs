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
mod sheet;

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::licence::LicenceNo;
use crate::notify::route::Environment;
use crate::notify::send::Notifier;
use crate::store::{Stamp, Store};

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
    fn today(&self) -> anyhow::Result<NaiveDate> {
        match &self.today {
            Some(text) => Ok(parse_date("--today", text)?),
            None => Ok(chrono::Local::now().date_naive()),
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        match &self.config_path {
            Some(path) => Config::load(path),
            None => Ok(Config::defaults()),
        }
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
fn on_or_today(ctx: &Context, on: &Option<String>) -> anyhow::Result<NaiveDate> {
    match on {
        Some(text) => Ok(parse_date("--on", text)?),
        None => ctx.today(),
    }
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
        Command::Import(args) => agency::import(&ctx, args),
        Command::Export(args) => agency::export(&ctx, args),
        Command::Db(command) => agency::db(&ctx, command),
    }
}

/// How long one message may take before it counts as a timeout.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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
    let notifier = Notifier::new(SEND_TIMEOUT)?;
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
