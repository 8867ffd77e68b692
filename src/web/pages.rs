//! The console's pages, in zh-CN. maud escapes every `(value)`: nothing a
//! person typed (a company name, a note) reaches the page as markup.
//! The ids and names are the contract of docs/web.md.

use chrono::{DateTime, Days, NaiveDate, Utc};
use hyper::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::upload::ImportOptions;
use super::{Form, obligation_path};
use crate::cli::agenda::{bounded, consequence, find_obligation, stage_rows};
use crate::cli::filter::Filter;
use crate::config::Config;
use crate::domain::account::Role;
use crate::domain::basis::obligation_basis;
use crate::domain::lang::Lang;
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::domain::province::Province;
use crate::notify::render::words;
use crate::store::{Direction, HistoryRow, Session, Source, Store};

pub const CSS: &str = include_str!("app.css");
pub const WRONG_PASSWORD: &str = "用户名或密码错误";
pub const TOO_MANY: &str = "登录失败次数过多，请 15 分钟后再试";
pub const SNOOZED: &str = "已暂停提醒";
pub const SAVED: &str = "已保存";

/// The agenda's default window, in days ahead.
const DEFAULT_DAYS: u64 = 90;
/// The widest window a person can ask for.
const MAX_DAYS: u64 = 3660;
/// The most rows a register list shows; a search narrows it.
const MAX_LIST_ROWS: usize = 500;

type Rendered = anyhow::Result<(StatusCode, Markup)>;

/// A line at the top of a page: what just happened, or what was refused.
pub struct Message {
    ok: bool,
    text: String,
}

impl Message {
    pub fn ok(text: impl Into<String>) -> Message {
        Message {
            ok: true,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Message {
        Message {
            ok: false,
            text: text.into(),
        }
    }
}

fn message(message: Option<&Message>) -> Markup {
    html! {
        @if let Some(m) = message {
            p #message class=(if m.ok { "ok" } else { "error" }) role="status" { (m.text) }
        }
    }
}

pub fn state_zh(state: State) -> &'static str {
    match state {
        State::Open => "未到期",
        State::Overdue => "已逾期",
        State::Expired => "已过期",
    }
}

fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Viewer => "只读",
        Role::Editor => "编辑",
        Role::Admin => "管理员",
    }
}

fn layout(
    title: &str,
    session: Option<&Session>,
    message: Option<&Message>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · licwatch" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                @if let Some(session) = session {
                    nav #nav {
                        a #nav-agenda href="/" { "待办" }
                        a #nav-status href="/status" { "运行状态" }
                        a #nav-history href="/history" { "变更记录" }
                        a #nav-companies href="/companies" { "持证单位" }
                        a #nav-licences href="/licences" { "许可证" }
                        a #nav-numbers href="/numbers" { "码号" }
                        @if session.account.role.can_import() {
                            a #nav-import href="/import" { "导入" }
                        }
                        span #whoami data-role=(session.account.role.code()) { (session.account.name) "（" (role_zh(session.account.role)) "）" }
                        form #logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button #logout-button type="submit" { "退出" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (self::message(message))
                    (body)
                }
            }
        }
    }
}

pub fn login(csrf: &str, next: &str, error: Option<&str>) -> Markup {
    let message = error.map(Message::error);
    layout(
        "登录",
        None,
        message.as_ref(),
        html! {
            form #login method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label { "用户名 " input name="user" autocomplete="username" required; }
                label { "密码 " input name="password" type="password" autocomplete="current-password" required; }
                button #login-button type="submit" { "登录" }
            }
        },
    )
}

/// The agenda's filters as the query gave them.
pub struct AgendaQuery {
    company: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    days: Option<String>,
}

impl AgendaQuery {
    pub fn from_form(form: &Form) -> AgendaQuery {
        let field = |name| form.get(name).map(str::to_owned);
        AgendaQuery {
            company: field("company"),
            kind: field("kind"),
            state: field("state"),
            days: field("days"),
        }
    }

    fn kind(&self) -> Result<Option<ObligationKind>, String> {
        self.kind
            .as_deref()
            .map(|code| {
                ObligationKind::ALL
                    .into_iter()
                    .find(|kind| kind.code() == code)
                    .ok_or_else(|| {
                        format!("kind \"{code}\": unknown (accepted: renewal, annual_report, change_filing, number_activation, number_outlives_licence)")
                    })
            })
            .transpose()
    }

    fn state(&self) -> Result<Option<State>, String> {
        self.state
            .as_deref()
            .map(|code| {
                State::ALL
                    .into_iter()
                    .find(|state| state.code() == code)
                    .ok_or_else(|| {
                        format!("state \"{code}\": unknown (accepted: open, overdue, expired)")
                    })
            })
            .transpose()
    }

    fn days(&self) -> Result<u64, String> {
        match self.days.as_deref() {
            None => Ok(DEFAULT_DAYS),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|days| *days <= MAX_DAYS)
                .ok_or_else(|| {
                    format!("days \"{text}\": not a number of days from 0 to {MAX_DAYS}")
                }),
        }
    }
}

fn today(config: &Config, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&config.schedule.time_zone).date_naive()
}

fn filter_form(query: &AgendaQuery) -> Markup {
    let selected = |given: &Option<String>, code: &str| given.as_deref() == Some(code);
    html! {
        form #filter method="get" action="/" {
            label { "单位 " input name="company" value=[query.company.as_deref()] placeholder="统一社会信用代码或名称"; }
            label { "类型 "
                select name="kind" {
                    option value="" { "全部" }
                    @for kind in ObligationKind::ALL {
                        option value=(kind.code()) selected[selected(&query.kind, kind.code())] { (kind.name_zh()) }
                    }
                }
            }
            label { "状态 "
                select name="state" {
                    option value="" { "全部" }
                    @for state in State::ALL {
                        option value=(state.code()) selected[selected(&query.state, state.code())] { (state_zh(state)) }
                    }
                }
            }
            label { "未来天数 " input name="days" type="number" min="0" max=(MAX_DAYS) value=(query.days.as_deref().unwrap_or("90")); }
            button #filter-button type="submit" { "筛选" }
        }
    }
}

pub fn agenda(
    store: &Store,
    config: &Config,
    session: &Session,
    query: &AgendaQuery,
    done: Option<&str>,
    now: DateTime<Utc>,
) -> Rendered {
    let today = today(config, now);
    let parsed = (|| Ok::<_, String>((query.kind()?, query.state()?, query.days()?)))();
    let (kind, state, days) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = Message::error(error);
            return Ok((
                StatusCode::BAD_REQUEST,
                layout("待办", Some(session), Some(&message), filter_form(query)),
            ));
        }
    };
    let until = today + Days::new(days);
    let all = store.obligations_due_by(until, today, &config.policy)?;
    let by_company = match Filter::new(query.company.clone(), None, None).apply(store, all, today) {
        Ok(kept) => kept,
        Err(error) => {
            let message = Message::error(format!("{error:#}"));
            return Ok((
                StatusCode::BAD_REQUEST,
                layout("待办", Some(session), Some(&message), filter_form(query)),
            ));
        }
    };
    let count_kind = |kind: ObligationKind| by_company.iter().filter(|o| o.kind == kind).count();
    let count_state = |state: State| {
        by_company
            .iter()
            .filter(|o| o.state(today) == state)
            .count()
    };
    let counts = html! {
        table #counts {
            tr {
                @for kind in ObligationKind::ALL { th { (kind.name_zh()) } }
                @for state in State::ALL { th { (state_zh(state)) } }
                th { "合计" }
            }
            tr {
                @for kind in ObligationKind::ALL { td data-kind=(kind.code()) { (count_kind(kind)) } }
                @for state in State::ALL { td data-state=(state.code()) { (count_state(state)) } }
                td #count-total { (by_company.len()) }
            }
        }
    };
    let shown: Vec<&Obligation> = by_company
        .iter()
        .filter(|o| kind.is_none_or(|kind| o.kind == kind))
        .filter(|o| state.is_none_or(|state| o.state(today) == state))
        .collect();
    let total = shown.len();
    let shown = &shown[..total.min(MAX_LIST_ROWS)];
    let message = done.map(|key| Message::ok(format!("已标记完成：{key}（待发送的提醒已取消）")));
    let body = html! {
        (filter_form(query))
        (counts)
        @if shown.is_empty() {
            p #empty { "没有符合条件的事项（今天起 " (days) " 天内到期或已逾期）。" }
        } @else {
            table #agenda {
                thead { tr { th { "事项" } th { "许可证" } th { "单位" } th { "截止日" } th { "剩余天数" } th { "状态" } } }
                tbody {
                    @for o in shown {
                        @let state = o.state(today);
                        tr data-key=(o.key) data-kind=(o.kind.code()) data-state=(state.code()) class=(state.code()) {
                            td { a href=(obligation_path(o.key.as_str())) { (describe(o)) } }
                            td { (o.licence) }
                            td { (o.company) }
                            td { (o.due) }
                            td { (o.days_left(today)) }
                            td {
                                (state_zh(state))
                                @if let Some(until) = o.snoozed_until.filter(|until| today < *until) {
                                    " · 暂停提醒至 " (until)
                                }
                            }
                        }
                    }
                }
            }
            @if total > shown.len() {
                p #more.hint { "共 " (total) " 项，只列出最早到期的 " (shown.len()) " 项；请用筛选缩小范围。" }
            }
        }
    };
    Ok((
        StatusCode::OK,
        layout("待办", Some(session), message.as_ref(), body),
    ))
}

/// The obligation in a few words: its kind and what it is about.
fn describe(o: &Obligation) -> String {
    let mut text = o.kind.name_zh().to_owned();
    if let Some(year) = o.year {
        text.push_str(&format!(" {year} 年度"));
    }
    if let Some(number) = &o.number {
        text.push_str(&format!(" {number}"));
    }
    if let Some(change) = o.change {
        text.push_str(&format!(" {}", change.name_zh()));
    }
    text
}

pub fn obligation(
    store: &Store,
    config: &Config,
    session: &Session,
    key: &str,
    message: Option<Message>,
    now: DateTime<Utc>,
) -> Rendered {
    obligation_page(store, config, session, key, message, None, now)
}

/// The obligation's page; `form` refills the forms after a refusal.
pub fn obligation_page(
    store: &Store,
    config: &Config,
    session: &Session,
    key: &str,
    message: Option<Message>,
    form: Option<&Form>,
    now: DateTime<Utc>,
) -> Rendered {
    let today = today(config, now);
    let o = match find_obligation(store, key, today, config) {
        Ok(o) => o,
        Err(error) => {
            let message = Message::error(format!("{error:#}"));
            return Ok((
                StatusCode::NOT_FOUND,
                layout(
                    "事项",
                    Some(session),
                    Some(&message),
                    html! { p { a href="/" { "返回待办" } } },
                ),
            ));
        }
    };
    let status = if message.as_ref().is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let state = o.state(today);
    let consequence = consequence(&o, today);
    let (stages, omitted) = bounded(stage_rows(&o, today, config, store)?);
    let alerts = store.outbox_of(o.key.as_str())?;
    let history = store.history_latest(Some(&o.licence), MAX_LIST_ROWS)?;
    let field = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let on_default = form
        .and_then(|f| f.get("on"))
        .map_or(today.to_string(), str::to_owned);
    let body = html! {
        p { (o.key) }
        dl #facts {
            dt { "事项" } dd { (describe(&o)) }
            dt { "许可证" } dd { a href=(format!("/licence/{}", url_component(&o.licence.to_string()))) { (o.licence) } }
            dt { "单位" } dd { (o.company) }
            dt { "截止日" } dd #due { (o.due) }
            dt { "剩余天数" } dd #days-left { (o.days_left(today)) }
            dt { "状态" } dd #state data-state=(state.code()) {
                (state_zh(state))
                @if let Some(until) = o.snoozed_until.filter(|until| today < *until) { " · 暂停提醒至 " (until) }
            }
            dt { "办理机关" } dd #authority { (o.authority) }
            dt { "应办" } dd #what-to-do { (words::what_to_do(&o, state, Lang::Zh)) }
            dt { "未办后果" } dd #consequence { (consequence.zh) }
            dt { "后果依据" } dd #basis { (consequence.basis.zh()) }
            dt { "期限依据" } dd { (obligation_basis(o.kind).zh()) }
        }
        @if session.account.role.can_write() {
            section {
                h2 { "标记完成" }
                form #mark-done method="post" action=(format!("{}/done", obligation_path(o.key.as_str()))) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "办理日期 " input name="on" type="date" value=(on_default) required; }
                    label { "回执号或受理编号 " input name="receipt" value=(field("receipt")); }
                    label { "备注 " input name="note" value=(field("note")); }
                    @if o.kind == ObligationKind::AnnualReport {
                        label { "报告年度是否开展业务 "
                            select name="carried_out" {
                                option value="yes" { "已开展" }
                                option value="no" selected[field("carried_out") == "no"] { "未开展业务" }
                            }
                        }
                    }
                    @if o.kind == ObligationKind::NumberActivation {
                        label { "运营商 " input name="carrier" value=(field("carrier")) required; }
                        label { "方向 "
                            select name="direction" {
                                option value="inbound" { "呼入" }
                                option value="outbound" selected[field("direction") == "outbound"] { "呼出" }
                                option value="both" selected[field("direction") == "both"] { "双向" }
                            }
                        }
                    }
                    button #mark-done-button type="submit" { "标记完成" }
                }
                h2 { "暂停提醒" }
                form #snooze method="post" action=(format!("{}/snooze", obligation_path(o.key.as_str()))) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "暂停至 " input name="until" type="date" value=(field("until")) required; }
                    label { "原因 " input name="reason" value=(field("reason")) required; }
                    button #snooze-button type="submit" { "暂停提醒" }
                }
            }
        }
        h2 { "提醒阶段" }
        table #stages {
            thead { tr { th { "阶段" } th { "名义日期" } th { "发送日" } th { "顺延原因" } th { "级别" } th { "状态" } } }
            tbody {
                @for (stage, status) in &stages {
                    tr data-stage=(stage.offset) {
                        td { (format!("{:+}", stage.offset)) }
                        td { (stage.nominal) }
                        td { (stage.send_on) }
                        td { (words::moved_because(stage, Lang::Zh)) }
                        td data-severity=(stage.severity.code()) { (words::severity_name(stage.severity, Lang::Zh)) }
                        td.status data-status=(words::stage_status(*status, Lang::En)) { (words::stage_status(*status, Lang::Zh)) }
                    }
                }
            }
        }
        @if omitted > 0 { p { "（中间 " (omitted) " 个阶段未列出）" } }
        h2 { "已发提醒" }
        table #alerts {
            thead { tr { th { "阶段" } th { "渠道" } th { "发送日" } th { "状态" } th { "尝试" } th { "发送时间" } th { "错误" } } }
            tbody {
                @for row in &alerts {
                    tr data-route=(row.route) data-state=(row.state.code()) {
                        td { (format!("{:+}", row.stage)) }
                        td { (row.route) }
                        td { (row.send_on) }
                        td { (words::outbox_state(row.state, Lang::Zh)) }
                        td { (row.attempts) }
                        td { (row.sent_at.map(crate::store::timestamp).unwrap_or_default()) }
                        td { (row.last_error.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
        h2 { "变更记录" }
        (history_table(&history))
    };
    Ok((
        status,
        layout(&describe(&o), Some(session), message.as_ref(), body),
    ))
}

fn url_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn history_table(rows: &[HistoryRow]) -> Markup {
    html! {
        table #history {
            thead { tr { th { "时间" } th { "操作人" } th { "来源" } th { "许可证" } th { "操作" } th { "内容" } th { "回执号" } th { "备注" } } }
            tbody {
                @for row in rows {
                    tr data-id=(row.id) {
                        td { (row.at) }
                        td.who { (row.user) }
                        td.source { @match &row.source { Source::Cli => "命令行", Source::Web { address } => { "网页 " (address) } } }
                        td { (row.licence.as_deref().unwrap_or_default()) }
                        td { (row.action) }
                        td { (row.detail) }
                        td.receipt { (row.evidence.receipt.as_deref().unwrap_or_default()) }
                        td.note { (row.evidence.note.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

pub fn history(store: &Store, session: &Session, licence: Option<&str>) -> Rendered {
    let licence = match licence.map(str::parse::<crate::domain::licence::LicenceNo>) {
        None => None,
        Some(Ok(licence)) => Some(licence),
        Some(Err(error)) => {
            let message = Message::error(format!("licence: {error}"));
            return Ok((
                StatusCode::BAD_REQUEST,
                layout("变更记录", Some(session), Some(&message), html! {}),
            ));
        }
    };
    let rows = store.history_latest(licence.as_ref(), MAX_LIST_ROWS)?;
    let body = html! {
        (history_table(&rows))
        @if rows.len() == MAX_LIST_ROWS {
            p.hint { "只显示最近 " (MAX_LIST_ROWS) " 条；完整记录：licwatch history" }
        }
    };
    Ok((
        StatusCode::OK,
        layout("变更记录", Some(session), None, body),
    ))
}

/// A status value as people read it.
fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub fn status(store: &Store, config: &Config, session: &Session, now: DateTime<Utc>) -> Rendered {
    let report = crate::cli::status::report(store, config, "the daemon's", now)?;
    let tick = &report["last_tick"];
    let body = html! {
        dl #daemon {
            dt { "启动时间" } dd { (value_text(&report["daemon"]["started_at"])) }
            dt { "上次运行" } dd #last-tick { (value_text(&tick["at"])) }
            dt { "上次结果" } dd { @if tick.is_null() { "尚未运行" } @else if tick["error"].is_null() { "成功" } @else { "失败：" (value_text(&tick["error"])) } }
            dt { "开放事项 / 提醒 / 入队" } dd { (value_text(&tick["open"])) " / " (value_text(&tick["alerts"])) " / " (value_text(&tick["queued"])) }
            dt { "上次成功运行" } dd { (value_text(&report["last_ok_tick_at"])) }
            dt { "下次运行" } dd #next-tick { (value_text(&report["next_tick"])) }
            dt { "节假日数据缺失的首个年份" } dd { (value_text(&report["holidays"]["first_missing_year"])) }
            dt { "数据库结构版本" } dd { (value_text(&report["register"]["schema_version"])) }
            dt { "上次备份" } dd { (value_text(&report["register"]["last_backup"]["at"])) }
        }
        table #routes {
            thead { tr { th { "渠道" } th { "待发送" } th { "失败" } th { "今日已发" } th { "最近错误" } } }
            tbody {
                @for route in report["routes"].as_array().into_iter().flatten() {
                    tr data-route=(value_text(&route["route"])) {
                        td { (value_text(&route["route"])) }
                        td { (value_text(&route["pending"])) }
                        td { (value_text(&route["failed"])) }
                        td { (value_text(&route["sent_today"])) }
                        td { (value_text(&route["last_error"])) }
                    }
                }
            }
        }
    };
    Ok((
        StatusCode::OK,
        layout("运行状态", Some(session), None, body),
    ))
}

fn search_form(q: &str) -> Markup {
    html! {
        form #search method="get" {
            label { "搜索 " input name="q" value=(q); }
            button #search-button type="submit" { "搜索" }
        }
    }
}

/// The register's lists: companies, licences, numbers, narrowed by `q`
/// (part of any column shown).
pub fn register(
    store: &Store,
    session: &Session,
    path: &str,
    q: &str,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let needle = q.trim().to_lowercase();
    let field = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let can_write = session.account.role.can_write();
    let (title, table) = match path {
        "/companies" => {
            let rows = store.search_companies(&needle, MAX_LIST_ROWS)?;
            (
                "持证单位",
                html! {
                    @if can_write {
                        details open[form.is_some()] {
                            summary { "新增持证单位" }
                            form #company-add method="post" action="/companies" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                label { "统一社会信用代码 " input name="uscc" value=(field("uscc")) required; }
                                label { "名称 " input name="name" value=(field("name")) required; }
                                label { "联系邮箱（可多个，用逗号或换行分隔） " textarea name="emails" { (field("emails")) } }
                                button #company-add-button type="submit" { "新增" }
                            }
                        }
                    }
                    table #companies {
                        thead { tr { th { "统一社会信用代码" } th { "名称" } th { "地址" } th { "法定代表人" } th { "联系邮箱" } } }
                        tbody {
                            @for c in &rows {
                                tr data-uscc=(c.uscc.as_str()) {
                                    td { a href=(format!("/company/{}", c.uscc.as_str())) { (c.uscc.as_str()) } }
                                    td { a href=(format!("/?company={}", url_component(c.uscc.as_str()))) { (c.name) } }
                                    td { (c.address.as_deref().unwrap_or_default()) }
                                    td { (c.legal_rep.as_deref().unwrap_or_default()) }
                                    td { (c.emails.join(", ")) }
                                }
                            }
                        }
                    }
                },
            )
        }
        "/licences" => {
            let rows = store.search_licences(&needle, MAX_LIST_ROWS)?;
            (
                "许可证",
                html! {
                    @if can_write {
                        details open[form.is_some()] {
                            summary { "新增许可证" }
                            form #licence-add method="post" action="/licences" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                label { "许可证编号 " input name="number" value=(field("number")) placeholder="京B2-20201234" required; }
                                label { "持证单位统一社会信用代码 " input name="holder" value=(field("holder")) required; }
                                label { "业务种类 " input name="items" value=(field("items")) placeholder="B24" required; }
                                label { "发证日期 " input name="issued" type="date" value=(field("issued")) required; }
                                label { "有效期至（空：发证日起五年） " input name="expires" type="date" value=(field("expires")); }
                                label { "发证机关（空：按编号推定） " input name="authority" value=(field("authority")); }
                                button #licence-add-button type="submit" { "新增" }
                            }
                        }
                    }
                    table #licences {
                        thead { tr { th { "许可证编号" } th { "持证单位" } th { "业务种类" } th { "发证日期" } th { "有效期至" } th { "终止" } th { "发证机关" } } }
                        tbody {
                            @for l in &rows {
                                @let number = l.number.to_string();
                                tr data-licence=(number) {
                                    td { a href=(format!("/licence/{}", url_component(&number))) { (number) } }
                                    td { (l.company) }
                                    td { (l.items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")) }
                                    td { (l.issued) }
                                    td { (l.expires) }
                                    td { (l.ended_on.map(|d| d.to_string()).unwrap_or_default()) }
                                    td { (l.authority) }
                                }
                            }
                        }
                    }
                },
            )
        }
        _ => {
            let rows = store.search_numbers(&needle, MAX_LIST_ROWS)?;
            (
                "码号",
                html! {
                    @if can_write {
                        details open[form.is_some()] {
                            summary { "新增码号" }
                            form #number-add method="post" action="/numbers" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                label { "码号 " input name="number" value=(field("number")) placeholder="95xxx / 96xxxx / 1010xxxx" required; }
                                label { "分配省份（96 码号，许可证未说明时） " input name="province" value=(field("province")); }
                                label { "许可证编号 " input name="licence" value=(field("licence")) placeholder="京B2-20201234" required; }
                                label { "分配日期 " input name="allocated" type="date" value=(field("allocated")) required; }
                                button #number-add-button type="submit" { "新增" }
                            }
                        }
                    }
                    table #numbers {
                        thead { tr { th { "码号" } th { "省份" } th { "许可证" } th { "分配日期" } th { "启用日期" } th { "运营商" } th { "收回日期" } } }
                        tbody {
                            @for n in &rows {
                                tr data-number=(n.number.to_string()) {
                                    td { a href=(number_href(&n.number.to_string(), n.province)) { (n.number.to_string()) } }
                                    td { (n.province.map(|p| p.name().to_owned()).unwrap_or_default()) }
                                    td { (n.licence.to_string()) }
                                    td { (n.allocated) }
                                    td { (n.activated_on.map(|d| d.to_string()).unwrap_or_default()) }
                                    td { (n.carrier.as_deref().unwrap_or_default()) }
                                    td { (n.released_on.map(|d| d.to_string()).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                },
            )
        }
    };
    let body = html! {
        (search_form(q))
        (table)
        p.hint { "最多显示 " (MAX_LIST_ROWS) " 行；请用搜索缩小范围。" }
    };
    let status = if message.as_ref().is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, layout(title, Some(session), message.as_ref(), body)))
}

/// A company's page: its facts and, for an editor, the edit form.
pub fn company(
    store: &Store,
    session: &Session,
    uscc: &str,
    message: Option<Message>,
    form: Option<&Form>,
    today: NaiveDate,
) -> Rendered {
    let company = match uscc
        .parse::<crate::domain::uscc::Uscc>()
        .map_err(anyhow::Error::from)
        .and_then(|uscc| Ok(store.company(&uscc)?))
    {
        Ok(company) => company,
        Err(error) => return not_found(session, &error),
    };
    let value = |name: &str, current: Option<&str>| {
        form.and_then(|f| f.get(name))
            .or(current)
            .unwrap_or_default()
            .to_owned()
    };
    let emails = company.emails.join("\n");
    let status = if message.as_ref().is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        dl #company {
            dt { "统一社会信用代码" } dd { (company.uscc.as_str()) }
            dt { "名称" } dd { (company.name) }
            dt { "地址" } dd { (company.address.as_deref().unwrap_or_default()) }
            dt { "法定代表人" } dd { (company.legal_rep.as_deref().unwrap_or_default()) }
            dt { "联系邮箱" } dd { (company.emails.join(", ")) }
        }
        p { a href=(format!("/?company={}", company.uscc.as_str())) { "该单位的待办" } }
        @if session.account.role.can_write() {
            h2 { "修改" }
            p.hint { "名称、地址、法定代表人的变更会产生变更备案事项（变更日期见下）。" }
            form #company-edit method="post" action=(format!("/company/{}", company.uscc.as_str())) {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "名称 " input name="name" value=(value("name", Some(&company.name))) required; }
                label { "地址 " input name="address" value=(value("address", company.address.as_deref())); }
                label { "法定代表人 " input name="legal_rep" value=(value("legal_rep", company.legal_rep.as_deref())); }
                label { "联系邮箱 " textarea name="emails" { (value("emails", Some(&emails))) } }
                label { "变更日期 " input name="on" type="date" value=(value("on", Some(&today.to_string()))) required; }
                button #company-edit-button type="submit" { "保存" }
            }
        }
    };
    Ok((
        status,
        layout(&company.name, Some(session), message.as_ref(), body),
    ))
}

/// A licence's page: its facts, its history, and the edit form.
pub fn licence(
    store: &Store,
    session: &Session,
    number: &str,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let licence = match number
        .parse::<crate::domain::licence::LicenceNo>()
        .map_err(anyhow::Error::from)
        .and_then(|number| Ok(store.licence(&number)?))
    {
        Ok(licence) => licence,
        Err(error) => return not_found(session, &error),
    };
    let items = crate::domain::licence::ItemCode::join(&licence.items);
    let value =
        |name: &str, current: &str| form.and_then(|f| f.get(name)).unwrap_or(current).to_owned();
    let status = if message.as_ref().is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let history = store.history_latest(Some(&licence.number), MAX_LIST_ROWS)?;
    let number = licence.number.to_string();
    let body = html! {
        dl #licence {
            dt { "许可证编号" } dd { (number) }
            dt { "持证单位" } dd { a href=(format!("/company/{}", licence.holder.as_str())) { (licence.company) } }
            dt { "业务种类" } dd { (items) }
            dt { "发证日期" } dd { (licence.issued) }
            dt { "有效期至" } dd { (licence.expires) }
            dt { "终止" } dd { (licence.ended_on.map(|d| d.to_string()).unwrap_or_default()) " " (licence.end_reason.as_deref().unwrap_or_default()) }
            dt { "发证机关" } dd { (licence.authority) }
        }
        @if session.account.role.can_write() {
            h2 { "修改" }
            form #licence-edit method="post" action=(format!("/licence/{}", url_component(&number))) {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "业务种类 " input name="items" value=(value("items", &items)) required; }
                label { "发证日期 " input name="issued" type="date" value=(value("issued", &licence.issued.to_string())) required; }
                label { "有效期至 " input name="expires" type="date" value=(value("expires", &licence.expires.to_string())) required; }
                label { "发证机关 " input name="authority" value=(value("authority", &licence.authority)) required; }
                button #licence-edit-button type="submit" { "保存" }
            }
        }
        h2 { "变更记录" }
        (history_table(&history))
    };
    Ok((
        status,
        layout(&number, Some(session), message.as_ref(), body),
    ))
}

/// A number's page: `/number/NUMBER`, with `?province=X` for a 96 number
/// allocated by a province.
pub fn number_href(number: &str, province: Option<Province>) -> String {
    let mut href = format!("/number/{}", url_component(number));
    if let Some(province) = province {
        href.push_str(&format!(
            "?province={}",
            url_component(&province.abbreviation().to_string())
        ));
    }
    href
}

fn direction_zh(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "呼入",
        Direction::Outbound => "呼出",
        Direction::Both => "双向",
    }
}

/// A number's page: its rows in the register (one a province for a 96
/// number) and, for an editor, the forms that activate and release it.
pub fn number(
    store: &Store,
    session: &Session,
    number: &str,
    province: Option<&str>,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let rows = match crate::cli::number_typed(number, province) {
        Ok((typed, province)) => store
            .search_numbers(typed.as_str(), MAX_LIST_ROWS)?
            .into_iter()
            .filter(|row| row.number == typed && (province.is_none() || row.province == province))
            .collect::<Vec<_>>(),
        Err(error) => return not_found(session, &error),
    };
    let Some(first) = rows.first() else {
        return not_found(
            session,
            &anyhow::anyhow!("number {number}: not in the register"),
        );
    };
    let status = if message.as_ref().is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let field = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let action = |what: &str| {
        format!(
            "/number/{}/{what}",
            url_component(&first.number.to_string())
        )
    };
    let province_field = first
        .province
        .map(|p| p.abbreviation().to_string())
        .unwrap_or_default();
    let body = html! {
        table #number {
            thead { tr { th { "码号" } th { "省份" } th { "许可证" } th { "分配日期" } th { "启用日期" } th { "运营商" } th { "方向" } th { "收回日期" } } }
            tbody {
                @for n in &rows {
                    tr data-number=(n.number.to_string()) {
                        td { a href=(number_href(&n.number.to_string(), n.province)) { (n.number.to_string()) } }
                        td { (n.province.map(|p| p.name().to_owned()).unwrap_or_default()) }
                        td { a href=(format!("/licence/{}", url_component(&n.licence.to_string()))) { (n.licence) } }
                        td { (n.allocated) }
                        td.activated { (n.activated_on.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (n.carrier.as_deref().unwrap_or_default()) }
                        td { (n.direction.map(direction_zh).unwrap_or_default()) }
                        td.released { (n.released_on.map(|d| d.to_string()).unwrap_or_default()) }
                    }
                }
            }
        }
        @if rows.len() > 1 {
            p.hint { "该码号由多个省份分配：请从上表选择一行后修改。" }
        } @else if session.account.role.can_write() && first.released_on.is_none() {
            @if first.activated_on.is_none() {
                h2 { "登记启用" }
                form #number-activate method="post" action=(action("activate")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="province" value=(province_field);
                    label { "启用日期 " input name="on" type="date" value=(field("on")) required; }
                    label { "运营商 " input name="carrier" value=(field("carrier")) required; }
                    label { "方向 "
                        select name="direction" {
                            option value="inbound" { "呼入" }
                            option value="outbound" selected[field("direction") == "outbound"] { "呼出" }
                            option value="both" selected[field("direction") == "both"] { "双向" }
                        }
                    }
                    button #number-activate-button type="submit" { "登记启用" }
                }
            }
            h2 { "登记收回" }
            form #number-release method="post" action=(action("release")) {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="province" value=(province_field);
                label { "收回日期 " input name="on" type="date" value=(field("on")) required; }
                button #number-release-button type="submit" { "登记收回" }
            }
        }
    };
    Ok((
        status,
        layout(
            &first.number.to_string(),
            Some(session),
            message.as_ref(),
            body,
        ),
    ))
}

/// A refused request as a page: no navigation (the refusal may come before
/// the session is known), the reason, and the way back.
pub fn refusal(status: StatusCode, why: &str) -> Markup {
    let title = match status {
        StatusCode::FORBIDDEN => "拒绝访问",
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::PAYLOAD_TOO_LARGE => "请求内容过大",
        StatusCode::BAD_REQUEST => "请求有误",
        StatusCode::METHOD_NOT_ALLOWED => "不支持的请求方法",
        _ => "出错了",
    };
    layout(
        title,
        None,
        Some(&Message::error(why)),
        html! { p { a #back href="/" { "返回待办" } } },
    )
}

fn not_found(session: &Session, error: &anyhow::Error) -> Rendered {
    let message = Message::error(format!("{error:#}"));
    Ok((
        StatusCode::NOT_FOUND,
        layout(
            "未找到",
            Some(session),
            Some(&message),
            html! { p { a href="/" { "返回待办" } } },
        ),
    ))
}

pub fn import_form(session: &Session, message: Option<Message>) -> Markup {
    layout(
        "导入",
        Some(session),
        message.as_ref(),
        html! {
            p { "上传 CSV（UTF-8 或 GB18030）、XLSX 或 JSON 表格（格式见 docs/agency.md）。先显示预演结果，确认后才写入。" }
            form #import method="post" action="/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "表格 " input name="sheet" type="file" accept=".csv,.txt,.xlsx,.xlsm,.xlsb,.xls,.ods,.json" required; }
                label { "表头所在行（空：在前 10 行中自动识别） " input name="header_row" type="number" min="1" step="1"; }
                label { input name="strict" type="checkbox" value="yes"; " 严格模式：表格含有未知列时拒绝导入（不勾选则忽略并列出）" }
                button #import-button type="submit" { "预演" }
            }
        },
    )
}

/// The dry run's report; `upload` names the kept sheet when it can be
/// written.
pub fn import_report(
    session: &Session,
    report: &str,
    options: &ImportOptions,
    upload: Option<&str>,
) -> Markup {
    let message = match upload {
        Some(_) => Message::ok("预演完成：尚未写入任何内容"),
        None => Message::error("表格有问题：未写入任何内容"),
    };
    layout(
        "导入预演",
        Some(session),
        Some(&message),
        html! {
            p #import-options data-header-row=(options.header_row.map(|row| row.to_string()).unwrap_or_default()) data-strict=(options.strict) {
                @match options.header_row {
                    Some(row) => { "表头：第 " (row) " 行" }
                    None => { "表头：自动识别" }
                }
                @if options.strict { "；严格模式：未知列拒绝导入" } @else { "；未知列忽略并列出" }
            }
            @if let Some(upload) = upload {
                pre #import-report { (report) }
                form #import-confirm method="post" action="/import/confirm" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="upload" value=(upload);
                    button #import-confirm-button type="submit" { "确认导入" }
                }
            } @else {
                pre #import-problems { (report) }
            }
            p { a href="/import" { "重新上传" } }
        },
    )
}

pub fn import_done(session: &Session, report: &str, written: bool) -> Markup {
    let message = if written {
        Message::ok("已导入")
    } else {
        Message::error("未写入任何内容")
    };
    layout(
        "导入",
        Some(session),
        Some(&message),
        html! { pre #import-report { (report) } p { a href="/" { "返回待办" } } },
    )
}
