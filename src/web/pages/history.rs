//! The history of changes and the daemon's status.

use chrono::{DateTime, Utc};
use hyper::StatusCode;
use maud::{Markup, html};

use crate::config::Config;
use crate::store::{HistoryRow, Session, Source, Store};

use super::{MAX_LIST_ROWS, Message, Rendered, layout};

pub(super) fn history_table(rows: &[HistoryRow]) -> Markup {
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
pub(super) fn value_text(value: &serde_json::Value) -> String {
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
