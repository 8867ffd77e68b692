//! The admin face of the one binary: argument parsing, calling the store and
//! the core, and rendering tables for people and JSON for scripts.
//!
//! Arguments arrive as strings and are parsed here with the domain's parsers,
//! so that a refused value is reported in the domain's words: the field, the
//! value and the accepted form, on one line.

mod agenda;
mod output;
mod register;

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::licence::LicenceNo;
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
    /// Output for people (table) or scripts (json).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Act as if today were this date (YYYY-MM-DD), to see what would be due.
    #[arg(long, global = true, value_name = "DATE")]
    today: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
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
    /// Print the commented example configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print config.example.toml, which documents every key.
    Example,
    /// Validate the config file and print what it resolves to.
    Check,
}

/// What every command gets: the parsed globals, opened lazily.
pub struct Context {
    db: PathBuf,
    config_path: Option<PathBuf>,
    format: Format,
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
    let ctx = Context {
        db: cli.db,
        config_path: cli.config,
        format: cli.format,
        today: cli.today,
    };
    match cli.command {
        Command::Company(command) => register::company(&ctx, command),
        Command::Licence(command) => register::licence(&ctx, command),
        Command::Number(command) => register::number(&ctx, command),
        Command::Renewal(command) => register::renewal(&ctx, command),
        Command::Report(command) => register::report(&ctx, command),
        Command::Change(command) => register::change(&ctx, command),
        Command::Agenda(args) => agenda::agenda(&ctx, args),
        Command::Explain(args) => agenda::explain(&ctx, args),
        Command::Snooze(args) => agenda::snooze(&ctx, args),
        Command::History(args) => register::history(&ctx, args),
        Command::Config(ConfigCommand::Example) => output::print(crate::config::EXAMPLE.trim_end()),
        Command::Config(ConfigCommand::Check) => {
            let config = ctx.config()?;
            let source = ctx
                .config_path
                .as_ref()
                .map_or("embedded defaults".to_owned(), |p| p.display().to_string());
            output::print(&format!(
                "config {source}: ok\nholiday years known: {}",
                config
                    .calendar
                    .years()
                    .map(|y| y.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}
