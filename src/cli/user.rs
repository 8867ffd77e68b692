//! `licwatch user`: the web console's accounts. The password is read from
//! the terminal with its echo off, or as the first line of stdin (for
//! scripts), never from an argument (it would show in `ps` and the shell's
//! history).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use super::Context;
use super::output::{print, print_json, table};
use crate::domain::account::{Role, check_name, check_password};
use crate::web::auth::hash_password;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account (password from the terminal, or stdin's first line).
    Add {
        /// The name typed at the login form and shown in the history.
        name: String,
        /// viewer: reads; editor: also marks done, snoozes, edits; admin:
        /// also imports.
        #[arg(long, value_parser = ["viewer", "editor", "admin"])]
        role: String,
    },
    /// The accounts and their roles.
    List,
    /// Remove an account and end its sessions.
    Remove {
        /// The account's name (see: licwatch user list).
        name: String,
    },
    /// Set a new password (from the terminal, or stdin's first line) and
    /// end the account's sessions.
    Passwd {
        /// The account's name (see: licwatch user list).
        name: String,
    },
}

/// One line from the terminal without echo, or from stdin.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let saved = rustix::termios::tcgetattr(&stdin).context("reading the terminal's mode")?;
        let mut quiet = saved.clone();
        quiet.local_modes -= rustix::termios::LocalModes::ECHO;
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)
            .context("turning the terminal's echo off")?;
        let read = stdin.lock().read_line(&mut line);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &saved).ok();
        eprintln!();
        read.context("reading the password")?;
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
    }
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    check_password(&password)?;
    Ok(password)
}

pub fn user(ctx: &Context, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role } => {
            let name = check_name(name.trim())?.to_owned();
            let role: Role = role.parse()?;
            let mut store = ctx.store()?;
            if store.account(&name)?.is_some() {
                anyhow::bail!("account {name} is already registered (see: licwatch user list)");
            }
            let hash = hash_password(&read_password("password: ")?)?;
            let account = store.add_account(&ctx.stamp(), &name, role, &hash)?;
            match ctx.format {
                super::Format::Json => {
                    print_json(&json!({"name": account.name, "role": account.role.code()}))
                }
                super::Format::Table => print(&format!(
                    "account {} added as {}",
                    account.name, account.role
                )),
            }
        }
        UserCommand::List => {
            let accounts = ctx.register()?.accounts()?;
            match ctx.format {
                super::Format::Json => print_json(
                    &accounts
                        .iter()
                        .map(|a| json!({"name": a.name, "role": a.role.code(), "created_at": a.created_at}))
                        .collect(),
                ),
                super::Format::Table if accounts.is_empty() => {
                    print("no account (add one: licwatch user add NAME --role editor)")
                }
                super::Format::Table => print(&table(
                    &["NAME", "ROLE", "CREATED"],
                    accounts.iter().map(|a| {
                        vec![a.name.clone(), a.role.code().to_owned(), a.created_at.clone()]
                    }),
                )),
            }
        }
        UserCommand::Remove { name } => {
            ctx.register()?.remove_account(&ctx.stamp(), name.trim())?;
            print(&format!(
                "account {} removed; its sessions ended",
                name.trim()
            ))
        }
        UserCommand::Passwd { name } => {
            let name = name.trim();
            let mut store = ctx.register()?;
            if store.account(name)?.is_none() {
                anyhow::bail!("account {name} is not registered (see: licwatch user list)");
            }
            let hash = hash_password(&read_password("new password: ")?)?;
            store.set_password(&ctx.stamp(), name, &hash)?;
            print(&format!("password of {name} changed; its sessions ended"))
        }
    }
}
