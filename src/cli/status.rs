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

/// The items of a list, each as [`text`]; none when it is not a list.
fn texts(list: &Value) -> Vec<String> {
    list.as_array().into_iter().flatten().map(text).collect()
}

/// `line` of a part of the report, or `missing` when the report has none.
fn line_of(part: &Value, missing: &str, line: impl FnOnce(&Value) -> String) -> String {
    if part.is_null() {
        missing.to_owned()
    } else {
        line(part)
    }
}

fn table(report: &Value) -> String {
    let r = report;
    let tick_line = line_of(
        &r["last_tick"],
        "never (the daemon has not ticked on this register)",
        |tick| {
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
        },
    );
    let backup_line = line_of(
        &r["register"]["last_backup"],
        "never (licwatch db backup PATH)",
        |backup| {
            format!(
                "{} to {} ({} bytes)",
                text(&backup["at"]),
                text(&backup["path"]),
                text(&backup["bytes"])
            )
        },
    );
    let oldest_line = line_of(&r["oldest_pending"], "-", |oldest| {
        format!(
            "#{} {} to {}, planned {}, {} attempts, next {}",
            text(&oldest["id"]),
            text(&oldest["obligation"]),
            text(&oldest["route"]),
            text(&oldest["created_at"]),
            text(&oldest["attempts"]),
            text(&oldest["next_attempt_at"])
        )
    });
    let years = texts(&r["holidays"]["years"]);
    let daemon = &r["daemon"];
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
            line_of(
                &daemon["started_at"],
                "never started on this register",
                |started| {
                    format!(
                        "started {} with config {}, routes {}",
                        text(started),
                        text(&daemon["config"]),
                        texts(&daemon["routes"]).join(", ")
                    )
                },
            ),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_says_what_never_happened_and_what_did() {
        let never = json!({
            "config": "/etc/licwatch/licwatch.toml",
            "register": {"path": "/var/lib/licwatch/licwatch.db", "bytes": 4096, "wal_bytes": 0,
                         "schema_version": 9, "last_backup": null},
            "daemon": {"started_at": null, "config": null, "routes": []},
            "last_tick": null, "last_ok_tick_at": null, "next_tick": null, "oldest_pending": null,
            "holidays": {"years": [2024, 2025, 2026], "first_missing_year": 2027},
            "routes": [],
        });
        let busy = json!({
            "config": "/etc/licwatch/licwatch.toml",
            "register": {"path": "/var/lib/licwatch/licwatch.db", "bytes": 4096, "wal_bytes": 512,
                         "schema_version": 9,
                         "last_backup": {"at": "2026-11-23T02:00:00+08:00", "path": "/backup/l.db", "bytes": 4096}},
            "daemon": {"started_at": "2026-11-20T08:00:00+08:00", "config": "/srv/other.toml",
                       "routes": ["ops", "log"]},
            "last_tick": {"at": "2026-11-24T09:30:00+08:00", "duration_ms": 12, "today": "2026-11-24",
                          "open": 7, "alerts": 3, "queued": 2, "error": "planning the tick: disk full"},
            "last_ok_tick_at": "2026-11-23T09:30:00+08:00", "next_tick": "2026-11-25T09:30:00+08:00",
            "oldest_pending": {"id": 41, "obligation": "renewal/京B2-20221234/2027-02-28", "route": "ops",
                               "created_at": "2026-11-24", "attempts": 2,
                               "next_attempt_at": "2026-11-24T10:30:00+08:00"},
            "holidays": {"years": [2024, 2025, 2026], "first_missing_year": 2027},
            "routes": [{"route": "ops", "pending": 2, "failed": 0, "sent_today": 1, "last_error": null}],
        });
        expect_test::expect![[r#"
            config          /etc/licwatch/licwatch.toml
            register        /var/lib/licwatch/licwatch.db (4096 bytes, wal 0 bytes, schema version 9)
            last backup     never (licwatch db backup PATH)
            daemon          never started on this register
            last tick       never (the daemon has not ticked on this register)
            last good tick  -
            next tick       -
            oldest pending  -
            holidays        years 2024, 2025, 2026; first year without data 2027

             ROUTE  PENDING  FAILED  SENT TODAY  LAST ERROR

            config          /etc/licwatch/licwatch.toml
            register        /var/lib/licwatch/licwatch.db (4096 bytes, wal 512 bytes, schema version 9)
            last backup     2026-11-23T02:00:00+08:00 to /backup/l.db (4096 bytes)
            daemon          started 2026-11-20T08:00:00+08:00 with config /srv/other.toml, routes ops, log
            last tick       2026-11-24T09:30:00+08:00 (12 ms) for 2026-11-24: 7 open, 3 alerts, 2 queued; FAILED: planning the tick: disk full
            last good tick  2026-11-23T09:30:00+08:00
            next tick       2026-11-25T09:30:00+08:00
            oldest pending  #41 renewal/京B2-20221234/2027-02-28 to ops, planned 2026-11-24, 2 attempts, next 2026-11-24T10:30:00+08:00
            holidays        years 2024, 2025, 2026; first year without data 2027
            note            the daemon read /srv/other.toml, this command /etc/licwatch/licwatch.toml: they may plan differently

             ROUTE  PENDING  FAILED  SENT TODAY  LAST ERROR
             ops    2        0       1           -"#]].assert_eq(&format!("{}\n\n{}", table(&never), table(&busy)));
    }
}
