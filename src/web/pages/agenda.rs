//! The agenda and an obligation's page: what is due, its stages and
//! alerts, and the forms that mark it done or snooze it.

use std::collections::HashMap;

use chrono::{DateTime, Days, Utc};
use hyper::StatusCode;
use maud::{Markup, html};

use crate::cli::agenda::{bounded, consequence, find_obligation, stage_rows};
use crate::cli::filter::Filter;
use crate::cli::http::COUNT_BATCH;
use crate::config::Config;
use crate::domain::basis::obligation_basis;
use crate::domain::lang::Lang;
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::notify::render::words;
use crate::store::{Session, Store};
use crate::web::{Form, obligation_path};

use super::history::history_table;
use super::{
    DEFAULT_DAYS, MAX_DAYS, MAX_LIST_ROWS, Message, Rendered, activation_fields, layout,
    page_status, state_zh, url_component,
};

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

pub(super) fn filter_form(query: &AgendaQuery) -> Markup {
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
    let today = config.schedule.today(now);
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
    let company = Filter::new(query.company.clone(), None, None);
    // A company that cannot match anything is refused before any reading.
    if let Err(error) = company.apply(store, Vec::new(), today) {
        let message = Message::error(format!("{error:#}"));
        return Ok((
            StatusCode::BAD_REQUEST,
            layout("待办", Some(session), Some(&message), filter_form(query)),
        ));
    }
    // Read a batch at a time: the counts take every obligation in the
    // window, the list only the earliest rows, and a long window over a
    // large register must not be held in the daemon.
    let mut by_kind: HashMap<ObligationKind, usize> = HashMap::new();
    let mut by_state: HashMap<State, usize> = HashMap::new();
    let mut count = 0;
    let mut shown: Vec<Obligation> = Vec::new();
    let mut total = 0;
    store.each_due_batch(until, today, &config.policy, COUNT_BATCH, |batch| {
        for o in company.apply(store, batch, today)? {
            let o_state = o.state(today);
            *by_kind.entry(o.kind).or_default() += 1;
            *by_state.entry(o_state).or_default() += 1;
            count += 1;
            if kind.is_none_or(|kind| o.kind == kind) && state.is_none_or(|state| o_state == state)
            {
                total += 1;
                shown.push(o);
            }
        }
        // The batches come in no order: the earliest rows so far.
        shown.sort_by(Obligation::agenda_order);
        shown.truncate(MAX_LIST_ROWS);
        anyhow::Ok(())
    })?;
    let counts = html! {
        table #counts {
            tr {
                @for kind in ObligationKind::ALL { th { (kind.name_zh()) } }
                @for state in State::ALL { th { (state_zh(state)) } }
                th { "合计" }
            }
            tr {
                @for kind in ObligationKind::ALL { td data-kind=(kind.code()) { (by_kind.get(&kind).unwrap_or(&0)) } }
                @for state in State::ALL { td data-state=(state.code()) { (by_state.get(&state).unwrap_or(&0)) } }
                td #count-total { (count) }
            }
        }
    };
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
                    @for o in &shown {
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
pub(super) fn describe(o: &Obligation) -> String {
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
    let today = config.schedule.today(now);
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
    let status = page_status(message.as_ref());
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
                        (activation_fields(&field("carrier"), &field("direction")))
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
                    tr data-route=(row.planned.route) data-state=(row.state.code()) {
                        td { (format!("{:+}", row.planned.stage)) }
                        td { (row.planned.route) }
                        td { (row.planned.send_on) }
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
