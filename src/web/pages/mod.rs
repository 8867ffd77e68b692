//! The console's pages, in zh-CN. maud escapes every `(value)`: nothing a
//! person typed (a company name, a note) reaches the page as markup.
//! The ids and names are the contract of docs/web.md.

use hyper::StatusCode;
use maud::{DOCTYPE, Markup, html};

use crate::domain::account::Role;
use crate::domain::obligation::State;
use crate::store::{Direction, Session};

pub const CSS: &str = include_str!("../app.css");
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

pub(super) mod agenda;
pub(super) mod history;
pub(super) mod import;
pub(super) mod number;
pub(super) mod register;

type Rendered = anyhow::Result<(StatusCode, Markup)>;

fn direction_zh(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "呼入",
        Direction::Outbound => "呼出",
        Direction::Both => "双向",
    }
}

/// The carrier and direction of `number activate`, as typed so far
/// (inbound when none was chosen).
fn activation_fields(carrier: &str, direction: &str) -> Markup {
    let chosen = direction.parse().unwrap_or(Direction::Inbound);
    html! {
        label { "运营商 " input name="carrier" value=(carrier) required; }
        label { "方向 "
            select name="direction" {
                @for option in [Direction::Inbound, Direction::Outbound, Direction::Both] {
                    option value=(option.code()) selected[option == chosen] { (direction_zh(option)) }
                }
            }
        }
    }
}

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

/// The status a page answers with: 422 when it carries a refusal.
fn page_status(message: Option<&Message>) -> StatusCode {
    if message.is_some_and(|m| !m.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
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

fn url_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
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
