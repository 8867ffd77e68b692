//! Importing a sheet: the upload form, the dry run's report, the result.

use maud::{Markup, html};

use crate::store::Session;
use crate::web::upload::ImportOptions;

use super::{Message, layout};

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
