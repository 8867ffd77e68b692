//! The configuration and the routes: print the example, check a file, send
//! a test message.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use super::output::{print, print_json};
use super::{Context, Format};
use crate::notify::route::secrets::Environment;
use crate::notify::route::{self, Route};
use crate::notify::send::{Notifier, Outcome};

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a short test message through one route and print the answer;
    /// only that route's secrets are read.
    Test {
        /// The route's name, as in [routes.NAME] ("log" without routes).
        route: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print config.example.toml, which documents every key.
    Example,
    /// Validate the config file, read the routes' secrets, and print the
    /// routes with their tokens masked.
    Check,
}

fn route_json(route: &Route) -> serde_json::Value {
    json!({
        "name": route.name,
        "kind": route.target.kind(),
        "lang": route.lang.code(),
        "description": route.describe(),
    })
}

pub fn config(ctx: &Context, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Example => print(crate::config::EXAMPLE.trim_end()),
        ConfigCommand::Check => check(ctx),
    }
}

fn check(ctx: &Context) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let routes = route::resolve_all(&config, &Environment)?;
    let source = ctx.config_source();
    let years: Vec<i32> = config.calendar.years().collect();
    match ctx.format {
        Format::Json => print_json(&json!({
            "config": ctx.config_path.as_ref().map(|p| p.display().to_string()),
            "register": ctx.db.display().to_string(),
            "ok": true,
            "holiday_years": years,
            "routes": routes.iter().map(route_json).collect::<Vec<_>>(),
        })),
        Format::Table => {
            let years: Vec<String> = years.iter().map(|y| y.to_string()).collect();
            let mut text = format!(
                "config {source}: ok\nregister: {}\nholiday years known: {}\nroutes:",
                ctx.db.display(),
                years.join(", ")
            );
            for route in &routes {
                text.push_str(&format!("\n  {}", route.describe()));
            }
            print(&text)
        }
    }
}

pub fn notify(ctx: &Context, command: NotifyCommand) -> anyhow::Result<()> {
    let NotifyCommand::Test { route: name } = command;
    let config = ctx.config()?;
    let route = route::resolve_one(&config, &name, &Environment)?;
    let notifier = Notifier::new(config.delivery.send_timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(notifier.send_test(&route, chrono::Utc::now()));
    if ctx.format == Format::Json {
        let (result, answer) = match &outcome {
            Outcome::Sent { answer } => ("sent", answer.clone()),
            Outcome::Retry { error, .. } => ("retry", error.to_string()),
            Outcome::Permanent { error } => ("permanent", error.to_string()),
        };
        let mut value = route_json(&route);
        value["result"] = json!(result);
        value["answer"] = json!(answer);
        print_json(&value)?;
    }
    match (outcome.is_sent(), ctx.format) {
        (true, Format::Json) => Ok(()),
        (true, Format::Table) => print(&format!("{}: {outcome}", route.describe())),
        // Exit 1 either way, so that a script's `&&` stops.
        (false, _) => anyhow::bail!("{}: {outcome}", route.describe()),
    }
}
