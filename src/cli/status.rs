//! `licwatch status`: the service at a glance, from the register alone (the
//! daemon records its ticks there), so it works from any shell, while the
//! daemon runs or after it stopped. Fields are documented in README.md
//! ("licwatch status"); the JSON keys are pinned by tests/it/status.rs.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{Context, Format, output};
use crate::config::Config;
use crate::daemon::schedule::next_tick;
use crate::domain::calendar::Calendar;
use crate::store::{RouteCounts, ServiceStatus, Store};

/// A moment as people on the schedule's zone read it, with its offset.
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The first year from `from` on with no holiday data: reminders that fall
/// in it avoid weekends only.
pub fn first_missing_year(calendar: &Calendar, from: i32) -> i32 {
    (from..)
        .find(|year| !calendar.knows_year(*year))
        .unwrap_or(from)
}

/// The start of `now`'s day in `zone`, as a UTC moment: "sent today".
pub fn start_of_day(now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let day = now.with_timezone(&zone).date_naive();
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
        .map_or(now, |at| at.with_timezone(&Utc))
}

/// Everything `status` shows, as JSON: the table is drawn from it too, so
/// the two never disagree.
pub fn report(
    store: &Store,
    config: &Config,
    config_source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let zone = config.schedule.time_zone;
    let at = |at: Option<DateTime<Utc>>| at.map(|at| local(at, zone));
    let ServiceStatus {
        started_at,
        config: daemon_config,
        routes,
        last_tick,
        last_ok_tick_at,
        next_tick_at,
        backup,
    } = store.service_status()?;
    let counts = store.route_counts(start_of_day(now, zone))?;
    let oldest = store.oldest_pending()?;
    let path = store.path();
    let size = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(name).map_or(0, |meta| meta.len())
    };
    let years: Vec<i32> = config.calendar.years().collect();
    let this_year = now.with_timezone(&zone).year();
    let route_json = |c: &RouteCounts| {
        json!({
            "route": c.route,
            "pending": c.pending,
            "failed": c.failed,
            "sent_today": c.sent_since,
            "last_error": c.last_error,
        })
    };
    Ok(json!({
        "config": config_source,
        "register": {
            "path": std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string(),
            "bytes": size(""),
            "wal_bytes": size("-wal"),
            "schema_version": store.schema_version()?,
            "last_backup": backup.map(|b| json!({
                "at": local(b.at, zone),
                "path": b.path,
                "bytes": b.bytes,
            })),
        },
        "daemon": {
            "started_at": at(started_at),
            "config": daemon_config,
            "routes": routes,
        },
        "last_tick": last_tick.map(|t| json!({
            "at": local(t.at, zone),
            "duration_ms": t.duration_ms,
            "today": t.today.to_string(),
            "open": t.open,
            "alerts": t.alerts,
            "queued": t.queued,
            "error": t.error,
        })),
        "last_ok_tick_at": at(last_ok_tick_at),
        // The daemon's own plan when it recorded one; otherwise what the
        // schedule in this config says.
        "next_tick": at(next_tick_at.or_else(|| next_tick(&config.schedule, now))),
        "routes": counts.iter().map(route_json).collect::<Vec<_>>(),
        "oldest_pending": oldest.map(|o| json!({
            "id": o.id,
            "obligation": o.obligation,
            "route": o.route,
            "created_at": local(o.created_at, zone),
            "attempts": o.attempts,
            "next_attempt_at": local(o.next_attempt_at, zone),
        })),
        "holidays": {
            "years": years,
            "first_missing_year": first_missing_year(&config.calendar, this_year),
        },
    }))
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn table(report: &Value) -> String {
    let r = report;
    let tick = &r["last_tick"];
    let tick_line = if tick.is_null() {
        "never (the daemon has not ticked on this register)".to_owned()
    } else {
        format!(
            "{} ({} ms) for {}: {} open, {} alerts, {} queued{}",
            text(&tick["at"]),
            text(&tick["duration_ms"]),
            text(&tick["today"]),
            text(&tick["open"]),
            text(&tick["alerts"]),
            text(&tick["queued"]),
            match &tick["error"] {
                Value::Null => "; ok".to_owned(),
                error => format!("; FAILED: {}", text(error)),
            }
        )
    };
    let backup = &r["register"]["last_backup"];
    let backup_line = if backup.is_null() {
        "never (licwatch db backup PATH)".to_owned()
    } else {
        format!(
            "{} to {} ({} bytes)",
            text(&backup["at"]),
            text(&backup["path"]),
            text(&backup["bytes"])
        )
    };
    let oldest = &r["oldest_pending"];
    let oldest_line = if oldest.is_null() {
        "-".to_owned()
    } else {
        format!(
            "#{} {} to {}, planned {}, {} attempts, next {}",
            text(&oldest["id"]),
            text(&oldest["obligation"]),
            text(&oldest["route"]),
            text(&oldest["created_at"]),
            text(&oldest["attempts"]),
            text(&oldest["next_attempt_at"])
        )
    };
    let years: Vec<String> = r["holidays"]["years"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let daemon = &r["daemon"];
    let daemon_routes: Vec<String> = daemon["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let lines = [
        ("config", text(&r["config"])),
        (
            "register",
            format!(
                "{} ({} bytes, wal {} bytes, schema version {})",
                text(&r["register"]["path"]),
                text(&r["register"]["bytes"]),
                text(&r["register"]["wal_bytes"]),
                text(&r["register"]["schema_version"])
            ),
        ),
        ("last backup", backup_line),
        (
            "daemon",
            if daemon["started_at"].is_null() {
                "never started on this register".to_owned()
            } else {
                format!(
                    "started {} with config {}, routes {}",
                    text(&daemon["started_at"]),
                    text(&daemon["config"]),
                    daemon_routes.join(", ")
                )
            },
        ),
        ("last tick", tick_line),
        ("last good tick", text(&r["last_ok_tick_at"])),
        ("next tick", text(&r["next_tick"])),
        ("oldest pending", oldest_line),
        (
            "holidays",
            format!(
                "years {}; first year without data {}",
                years.join(", "),
                text(&r["holidays"]["first_missing_year"])
            ),
        ),
    ];
    let mut lines = lines.to_vec();
    // The daemon and this shell reading different files is the mistake
    // `status` exists to show.
    if !daemon["config"].is_null() && daemon["config"] != r["config"] {
        lines.push((
            "note",
            format!(
                "the daemon read {}, this command {}: they may plan differently",
                text(&daemon["config"]),
                text(&r["config"])
            ),
        ));
    }
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut out: Vec<String> = lines
        .iter()
        .map(|(key, value)| format!("{key:width$}  {value}"))
        .collect();
    out.push(String::new());
    out.push(output::table(
        &["ROUTE", "PENDING", "FAILED", "SENT TODAY", "LAST ERROR"],
        r["routes"].as_array().into_iter().flatten().map(|route| {
            vec![
                text(&route["route"]),
                text(&route["pending"]),
                text(&route["failed"]),
                text(&route["sent_today"]),
                text(&route["last_error"]),
            ]
        }),
    ));
    out.join("\n")
}

pub fn status(ctx: &Context) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let store = ctx.register()?;
    let report = report(&store, &config, &ctx.config_source(), Utc::now())?;
    match ctx.format {
        Format::Json => output::print_json(&report),
        Format::Table => output::print(&table(&report)),
    }
}
