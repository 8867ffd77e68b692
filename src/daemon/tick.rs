//! One evaluation: read what is due, plan the stages to send today, route
//! them, and write them to the outbox in one transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde_json::json;

use super::route_name::RouteName;
use super::schedule::due_window;
use crate::config::Config;
use crate::domain::obligation::Obligation;
use crate::notify::NoticeKind;
use crate::plan::{Alert, Problem, Severity, plan};
use crate::store::{DueWindow, Holder, NewOutboxRow, RowKind, Store, Unreadable};

/// How far the all-clear looks for the next deadline to name: three years,
/// past the next annual report of any licence in force.
const NEXT_DEADLINE_DAYS: u64 = 3 * 366;

/// What a tick did, for its one log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Open obligations read for this tick.
    pub open: usize,
    /// Alerts planned today (before routing).
    pub alerts: usize,
    /// New outbox rows (alerts × routes, and notices).
    pub queued: usize,
    pub problems: Vec<String>,
}

/// Where an alert for a licence held by `holder` goes. Without
/// `routing.default_routes`, the default is every configured route that no
/// company names as its own: one client's robot must not hear of another
/// client's deadlines.
/// The routes that hear notices for whoever runs licwatch: the operator
/// routes, or the default ones (which leave out the routes companies name
/// as their own).
pub(super) fn operator_routes(store: &Store, config: &Config) -> crate::store::Result<Vec<String>> {
    Ok(operator_routes_among(config, &store.company_route_names()?))
}

fn operator_routes_among(config: &Config, company_routes: &BTreeSet<String>) -> Vec<String> {
    if config.routing.operator.is_empty() {
        routes_for(config, company_routes, None, &mut BTreeSet::new())
    } else {
        config.routing.operator.clone()
    }
}

fn routes_for(
    config: &Config,
    company_routes: &BTreeSet<String>,
    holder: Option<&Holder>,
    problems: &mut BTreeSet<String>,
) -> Vec<String> {
    let configured = config.route_names();
    let mut routes: Vec<String> = if config.routing.default_routes.is_empty() {
        configured
            .iter()
            .filter(|route| !company_routes.contains(*route))
            .cloned()
            .collect()
    } else {
        config.routing.default_routes.clone()
    };
    if let Some(holder) = holder {
        for route in &holder.routes {
            if configured.contains(route) {
                routes.push(route.clone());
            } else {
                problems.insert(format!(
                    "company {} names route \"{route}\", which is not configured; its alerts go to the default routes only",
                    holder.uscc
                ));
            }
        }
        // A USCC the register holds was checked when it was written.
        let uscc = holder.uscc.parse().ok();
        if let Some(uscc) =
            uscc.filter(|_| config.routing.contacts_via.is_some() && !holder.emails.is_empty())
        {
            routes.push(RouteName::Contacts(uscc).to_string());
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

fn alert_row(alert: &Alert, route: String) -> NewOutboxRow {
    let obligation = &alert.obligation;
    NewOutboxRow {
        obligation: obligation.key.to_string(),
        stage: alert.stage.offset,
        route,
        kind: RowKind::Obligation(obligation.kind),
        licence: Some(obligation.licence.to_string()),
        number: obligation.number.as_ref().map(|n| n.to_string()),
        year: obligation.year,
        due: Some(obligation.due),
        nominal: alert.stage.nominal,
        send_on: alert.stage.send_on,
        severity: alert.stage.severity,
        notice: None,
    }
}

/// A notice: one row per route, keyed by `key` so it is sent once.
pub(super) fn notice_rows(
    key: &str,
    routes: &[String],
    today: NaiveDate,
    severity: Severity,
    zh: &str,
    en: &str,
) -> Vec<NewOutboxRow> {
    routes
        .iter()
        .map(|route| NewOutboxRow {
            obligation: key.to_owned(),
            stage: 0,
            route: route.clone(),
            kind: RowKind::Notice,
            licence: None,
            number: None,
            year: None,
            due: None,
            nominal: today,
            send_on: today,
            severity,
            notice: Some(json!({ "zh": zh, "en": en }).to_string()),
        })
        .collect()
}

fn holidays_notice(year: i32) -> (String, String) {
    (
        format!(
            "licwatch：缺少 {year} 年的节假日安排，{year} 年的提醒只避开周末，可能落在法定节假日。国务院办公厅公布通知后，请按 data/holidays-cn.toml 的格式写一个文件，并在配置的 calendar.holiday_files 中列出，然后重新加载（systemctl reload licwatch）。"
        ),
        format!(
            "licwatch: no holiday calendar for {year}: reminders in {year} skip weekends only and may fall on public holidays. When the State Council publishes the notice, write it in the format of data/holidays-cn.toml, list the file in calendar.holiday_files in the config, and reload (systemctl reload licwatch)."
        ),
    )
}

/// One notice for the operator routes naming the register rows set aside.
/// Keyed by the rows, so the same bad rows are reported once, and a new one
/// again.
fn unreadable_notice(
    unreadable: &[Unreadable],
    operator_routes: &[String],
    today: NaiveDate,
) -> Vec<NewOutboxRow> {
    let mut names: Vec<String> = unreadable
        .iter()
        .map(|bad| format!("{} #{}", bad.table, bad.id))
        .collect();
    names.sort();
    let key = crate::notify::keyed_id("unreadable", names.iter().map(|name| (name.as_str(), 0)));
    let list = names.join(", ");
    let zh = format!(
        "licwatch：登记簿中有 {} 行无法读取，已暂时跳过（其余照常提醒）：{list}。这些行可能被手工改过；日志写明了每一行的错误，修正后自动恢复提醒。",
        names.len()
    );
    let en = format!(
        "licwatch: {} register row(s) cannot be read and are set aside (the rest are reminded as usual): {list}. They may have been edited by hand; the log says what is wrong with each, and once corrected their reminders resume.",
        names.len()
    );
    notice_rows(
        &NoticeKind::Unreadable.key(key),
        operator_routes,
        today,
        Severity::Critical,
        &zh,
        &en,
    )
}

/// Plans today's alerts and notices into the outbox. `now` stamps the rows.
pub fn tick(
    store: &mut Store,
    config: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<TickReport> {
    let policy = &config.policy;
    let window = due_window(policy, today);
    let company_routes = store.company_route_names()?;
    let mut problems = BTreeSet::new();
    let mut missing_years: BTreeSet<i32> = BTreeSet::new();
    let mut unreadable: Vec<Unreadable> = Vec::new();
    let mut report = TickReport::default();
    // A first tick over a large register has hundreds of thousands of
    // alerts: read, plan and write them a batch at a time, so memory
    // follows the batch, not the backlog. Each batch is its own
    // transaction; a crash between two leaves the rest to the next tick,
    // which plans it as if this one had not run (the outbox's keys).
    for batch in store
        .due_candidates(&window, today, policy)?
        .batches(TICK_BATCH)
    {
        let due = store.due_of(&batch, &window, today, policy)?;
        let keys: Vec<&str> = due.obligations.iter().map(|o| o.key.as_str()).collect();
        let planned = store.planned_stages(&keys)?;
        let planned_today = plan(
            &due.obligations,
            |o, offset| planned.contains(&(o.key.to_string(), offset)),
            today,
            policy,
            &config.calendar,
        );
        let licences: Vec<String> = planned_today
            .alerts
            .iter()
            .map(|alert| alert.obligation.licence.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let holders = store.holders(&licences)?;
        let mut rows = Vec::new();
        for alert in &planned_today.alerts {
            let holder = holders.get(&alert.obligation.licence.to_string());
            for route in routes_for(config, &company_routes, holder, &mut problems) {
                rows.push(alert_row(alert, route));
            }
        }
        report.queued += store.enqueue(&rows, now)?;
        report.open += due.obligations.len();
        report.alerts += planned_today.alerts.len();
        unreadable.extend(due.unreadable);
        missing_years.extend(
            planned_today
                .problems
                .iter()
                .map(|Problem::HolidaysUnknown { year }| *year),
        );
    }
    // A licence read for two batches (its own, a change's) is set aside once.
    unreadable.sort_by_key(|bad| (bad.table, bad.id));
    unreadable.dedup_by_key(|bad| (bad.table, bad.id));

    let mut rows = Vec::new();
    let operator_routes = operator_routes_among(config, &company_routes);
    if !unreadable.is_empty() {
        rows.extend(unreadable_notice(&unreadable, &operator_routes, today));
        for bad in &unreadable {
            tracing::error!(table = bad.table, id = bad.id, "{bad}");
            problems.insert(bad.to_string());
        }
    }
    // The next year's notice is usually published in October or November.
    if today.month() >= 10 && !config.calendar.knows_year(today.year() + 1) {
        missing_years.insert(today.year() + 1);
    }
    for year in missing_years {
        let (zh, en) = holidays_notice(year);
        problems.insert(en.clone());
        rows.extend(notice_rows(
            &NoticeKind::Holidays.key(year),
            &operator_routes,
            today,
            Severity::Warning,
            &zh,
            &en,
        ));
    }

    if !config.routing.all_clear_routes.is_empty()
        && today.weekday() == config.routing.all_clear_weekday
    {
        let window = today + Days::new(config.routing.all_clear_days.into());
        if first_due_by(store, window, today, policy)?.is_none() {
            let next = first_due_by(store, today + Days::new(NEXT_DEADLINE_DAYS), today, policy)?;
            let days = config.routing.all_clear_days;
            let (zh, en) = match next {
                Some(o) => (
                    format!(
                        "licwatch：未来 {days} 天没有到期事项。下一个截止日：{}，{} 的{}",
                        o.due,
                        o.licence,
                        o.kind.name_zh()
                    ),
                    format!(
                        "licwatch: nothing due in the next {days} days. Next deadline: {}, {} for {}",
                        o.due,
                        o.kind.name_en(),
                        o.licence
                    ),
                ),
                None => (
                    format!("licwatch：未来 {days} 天没有到期事项，登记簿中也没有更远的截止日。"),
                    format!(
                        "licwatch: nothing due in the next {days} days, and no later deadline in the register."
                    ),
                ),
            };
            rows.extend(notice_rows(
                &NoticeKind::AllClear.key(today),
                &config.routing.all_clear_routes,
                today,
                Severity::Info,
                &zh,
                &en,
            ));
        }
    }

    report.queued += store.enqueue(&rows, now)?;
    report.problems = problems.into_iter().collect();
    Ok(report)
}

/// How many candidate rows (licences, changes, numbers) a tick reads, plans
/// and writes at a time. A batch of 5,000 holds a few MB; the transactions
/// it saves beyond that are too few to measure.
const TICK_BATCH: usize = 5_000;

/// The soonest open obligation due by `until`, read a batch at a time.
/// A register row that cannot be read is refused, as
/// [`Store::obligations_due_by`] refuses it.
fn first_due_by(
    store: &Store,
    until: NaiveDate,
    today: NaiveDate,
    policy: &crate::domain::policy::Policy,
) -> anyhow::Result<Option<Obligation>> {
    let window = DueWindow::uniform(until);
    let mut first: Option<Obligation> = None;
    for batch in store
        .due_candidates(&window, today, policy)?
        .batches(TICK_BATCH)
    {
        let due = store.due_of(&batch, &window, today, policy)?;
        if let Some(bad) = due.unreadable.first() {
            return Err(crate::store::Refusal::Unreadable(bad.clone()).into());
        }
        // Each batch comes soonest first.
        if let Some(soonest) = due.obligations.into_iter().next()
            && first
                .as_ref()
                .is_none_or(|o| (soonest.due, soonest.kind, &soonest.key) < (o.due, o.kind, &o.key))
        {
            first = Some(soonest);
        }
    }
    Ok(first)
}
