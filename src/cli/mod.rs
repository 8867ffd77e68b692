//! The admin face of the one binary: argument parsing, calling the store and
//! the core, and rendering tables for people and JSON for scripts.
//!
//! Arguments arrive as strings and are parsed here with the domain's parsers,
//! so that a refused value is reported in the domain's words: the field, the
//! value and the accepted form, on one line.

mod admin;
pub(crate) mod agency;
pub(crate) mod agenda;
mod docs;
pub(crate) mod filter;
mod help;
pub mod http;
mod ics;
pub mod log;
mod outbox;
pub(crate) mod output;
/// The register's writes as typed, shared with the web console's forms.
pub(crate) mod register;
mod rows;
mod serve;
pub mod sheet;
pub(crate) mod snooze;
pub(crate) mod status;
mod user;
mod xls;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::licence::LicenceNo;
use crate::store::{Stamp, Store};

#[derive(Debug, Parser)]
#[command(
    name = "licwatch",
    version,
    about = "Deadline watch for 增值电信业务经营许可证 (B24 call-centre) licences and 95/96/1010 numbers",
    after_help = "Environment: LICWATCH_DB and LICWATCH_CONFIG (as --db and --config), \
LICWATCH_TABLE_WIDTH (fixes the width tables fit to; 0: no limit), RUST_LOG (log filter, \
default info).\n\nExit codes: 0 ok, 1 failure (the message says why), 2 usage error.",
    next_help_heading = "Global options"
)]
pub struct Cli {
    /// The SQLite register [default: the config's [store] path, else
    /// licwatch.db].
    #[arg(long, global = true, env = "LICWATCH_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// The TOML config [default: /etc/licwatch/licwatch.toml when it
    /// exists, else embedded defaults].
    #[arg(long, global = true, env = "LICWATCH_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Output: table for people or json for scripts (export: csv, xlsx; agenda: ics).
    #[arg(long, global = true, value_enum, hide_possible_values = true)]
    format: Option<OutputFormat>,
    /// Tables at full width, however narrow the terminal (as when piped).
    #[arg(long, global = true)]
    wide: bool,
    /// Act as if today were DATE (2026-03-01, 2026/3/1, 2026年3月1日 …).
    #[arg(long, global = true, value_name = "DATE")]
    today: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// The whole command line as clap sees it, for the parser, the completions
/// and the manual alike. `--version` names the holiday years compiled in:
/// which years a binary knows decides whether its reminders avoid holidays.
pub fn command() -> clap::Command {
    let years: Vec<String> = crate::domain::calendar::Calendar::embedded()
        .years()
        .map(|year| year.to_string())
        .collect();
    let version = format!(
        "{} (holiday calendar {}; add later years with calendar.holiday_files)",
        env!("CARGO_PKG_VERSION"),
        years.join(", ")
    );
    help::with_examples(Cli::command().version(version))
}

/// Parses the process's arguments; on a usage error prints it and exits 2.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
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
    Company(register::company::CompanyCommand),
    /// Licences (增值电信业务经营许可证).
    #[command(subcommand)]
    Licence(register::licence::LicenceCommand),
    /// 95 / 96 / 1010 service numbers (码号).
    #[command(subcommand)]
    Number(register::number::NumberCommand),
    /// Mark a renewal applied for, or reported as not continuing.
    #[command(subcommand)]
    Renewal(register::marks::RenewalCommand),
    /// Mark an annual report (年报) filed.
    #[command(subcommand)]
    Report(register::marks::ReportCommand),
    /// Record a company change and mark its filing (变更备案).
    #[command(subcommand)]
    Change(register::marks::ChangeCommand),
    /// Every open obligation due in the window or overdue, soonest first.
    Agenda(agenda::AgendaArgs),
    /// Every reminder stage of one obligation and the working day it moves to.
    Explain(agenda::ExplainArgs),
    /// Silence an obligation's reminders until a date (never past its due day).
    Snooze(snooze::SnoozeArgs),
    /// The audit trail: who changed what, and when.
    History(register::history::HistoryArgs),
    /// The configuration: print the example, or check a file.
    #[command(subcommand)]
    Config(admin::ConfigCommand),
    /// Prove a route works before relying on it.
    #[command(subcommand)]
    Notify(admin::NotifyCommand),
    /// Run the daemon: tick on the schedule, send alerts, retry (what systemd runs).
    Serve(serve::ServeArgs),
    /// What the daemon did last and will do next, the outbox per route,
    /// holiday data, the register and the config in force.
    Status,
    /// The alerts the daemon planned and what became of them.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Import companies, licences and numbers from a CSV, XLSX or JSON
    /// sheet: all rows or none (format: docs/agency.md).
    Import(agency::ImportArgs),
    /// Write the register in the import format (csv, xlsx or json).
    Export(agency::export::ExportArgs),
    /// Back up the register, or check its integrity.
    #[command(subcommand)]
    Db(agency::db::DbCommand),
    /// The web console's accounts (README "Web console").
    #[command(subcommand)]
    User(user::UserCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the manual page, or write one page per command into a directory.
    Man(docs::ManArgs),
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

/// The config the service's unit uses (systemd/licwatch.service). The admin
/// CLI reads it too when no other is named, so that `sudo -u licwatch
/// licwatch agenda` plans with the policy the service plans with.
pub const SYSTEM_CONFIG: &str = "/etc/licwatch/licwatch.toml";

/// The register when neither --db, LICWATCH_DB nor `[store] path` names one.
const DEFAULT_DB: &str = "licwatch.db";

/// The config in force: --config or LICWATCH_CONFIG, else `system` when
/// it exists, else none (the embedded defaults).
pub fn config_path(given: Option<PathBuf>, system: &Path) -> Option<PathBuf> {
    given.or_else(|| system.is_file().then(|| system.to_owned()))
}

impl Context {
    /// The config file in force as people read it: its path, or "embedded
    /// defaults".
    fn config_source(&self) -> String {
        self.config_path
            .as_ref()
            .map_or("embedded defaults".to_owned(), |p| {
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.clone())
                    .display()
                    .to_string()
            })
    }

    /// Today in the schedule's time zone (Asia/Shanghai by default), like
    /// the daemon: a server on UTC must not file a report a day early.
    fn today(&self) -> anyhow::Result<NaiveDate> {
        match &self.today {
            Some(text) => Ok(parse_date("--today", text)?),
            None => Ok(self.config()?.schedule.today(chrono::Utc::now())),
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        let config = match &self.config_path {
            Some(path) => Config::load(path)?,
            None => Config::defaults(),
        };
        log::set_zone(config.schedule.time_zone);
        Ok(config)
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
        Stamp::cli(os_user(), chrono::Utc::now())
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

/// A register row id as people type it: `12` or `#12`.
fn row_id(text: &str) -> Option<i64> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// A domain rule's refusal as the CLI says it: the option, the value, what
/// is wrong and the rule.
fn rule_refused(error: crate::domain::rules::RuleError) -> anyhow::Error {
    anyhow::anyhow!(error.with_flag())
}

/// `--on DATE`, defaulting to today; a day that has not come yet is refused,
/// since the register records what happened.
fn on_or_today(ctx: &Context, on: &Option<String>) -> anyhow::Result<NaiveDate> {
    on_date(ctx.today()?, on.as_deref())
}

/// `--on` as typed (in the CLI or a web form), defaulting to `today`.
pub fn on_date(today: NaiveDate, on: Option<&str>) -> anyhow::Result<NaiveDate> {
    let Some(text) = on else { return Ok(today) };
    let on = parse_date("--on", text)?;
    crate::domain::rules::not_after_today(crate::domain::rules::RuleField::On, on, today)
        .map_err(rule_refused)
}

#[derive(Debug, Args)]
pub(crate) struct OnArg {
    /// The day it happened (2026-03-01, 2026/3/1, 2026年3月1日 …); today
    /// when omitted.
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
    let config_path = config_path(cli.config, Path::new(SYSTEM_CONFIG));
    // --db and LICWATCH_DB win; then the config's [store] path. `config
    // example` must work even when the config in force is broken.
    let db = match (cli.db, &config_path) {
        (Some(db), _) => db,
        (None, Some(path))
            if !matches!(cli.command, Command::Config(admin::ConfigCommand::Example)) =>
        {
            Config::load(path)?
                .store_path
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
        }
        (None, _) => PathBuf::from(DEFAULT_DB),
    };
    output::set_wide(cli.wide);
    let ctx = Context {
        db,
        config_path,
        format,
        output: cli.format,
        today: cli.today,
    };
    match cli.command {
        Command::Company(command) => register::company::company(&ctx, command),
        Command::Licence(command) => register::licence::licence(&ctx, command),
        Command::Number(command) => register::number::number(&ctx, command),
        Command::Renewal(command) => register::marks::renewal(&ctx, command),
        Command::Report(command) => register::marks::report(&ctx, command),
        Command::Change(command) => register::marks::change(&ctx, command),
        Command::Agenda(args) if ctx.output == Some(OutputFormat::Ics) => ics::agenda(&ctx, args),
        Command::Agenda(args) => agenda::agenda(&ctx, args),
        Command::Explain(args) => agenda::explain(&ctx, args),
        Command::Snooze(args) => snooze::snooze(&ctx, args),
        Command::History(args) => register::history::history(&ctx, args),
        Command::Config(command) => admin::config(&ctx, command),
        Command::Notify(command) => admin::notify(&ctx, command),
        Command::Serve(args) => serve::serve(&ctx, args),
        Command::Status => status::status(&ctx),
        Command::Outbox(command) => outbox::outbox(&ctx, command),
        Command::Import(args) => agency::import(&ctx, args),
        Command::Export(args) => agency::export::export(&ctx, args),
        Command::Db(command) => agency::db::db(&ctx, command),
        Command::User(command) => user::user(&ctx, command),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}
