//! Each channel's format of a digest: plain text, HTML, the chat robots'
//! markdown and cards, the webhook payload, the e-mail attachment's table.
//! Every string is escaped for its format, since company names come from
//! spreadsheets and may hold anything.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::words::severity_label;
use super::{Digest, Item, Part, Topic, one_line};
use crate::domain::lang::Lang;
use crate::plan::Severity;

/// The name of an e-mail digest's attachment holding every item.
pub const ATTACHMENT: &str = "licwatch.xlsx";

/// Every item of a digest as rows of text (position, severity, title,
/// facts, command) under headers in the digest's language: the table an
/// e-mail's attachment holds.
pub fn table(digest: &Digest<'_>) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let headers = match digest.lang {
        Lang::Zh => vec!["序号", "紧急程度", "事项", "详情", "办结后登记"],
        Lang::En => vec!["No.", "Severity", "Item", "Details", "When done, run"],
    };
    let colon = digest.colon();
    let rows = digest
        .items
        .iter()
        .map(|item| {
            let facts: Vec<String> = item
                .facts
                .iter()
                .map(|fact| format!("{}{colon}{}", fact.label, one_line(&fact.value)))
                .collect();
            vec![
                item.position.to_string(),
                item.alert.stage.severity.code().to_owned(),
                one_line(&item.title),
                facts.join("; "),
                item.command.clone(),
            ]
        })
        .collect();
    (headers, rows)
}

/// An item's facts, then the command that records it done, one line each:
/// `{bullet}{label}{colon}{value}{end}`, each value through `escape` and the
/// command through `command`. Every format lays an item out this way.
fn fact_lines(
    item: &Item<'_>,
    colon: &str,
    (bullet, end): (&str, &str),
    escape: impl Fn(&str) -> String,
    command: impl Fn(&str) -> String,
) -> Vec<String> {
    item.facts
        .iter()
        .map(|fact| (fact.label, escape(&fact.value)))
        .chain([(item.command_label, command(&item.command))])
        .map(|(label, value)| format!("{bullet}{label}{colon}{value}{end}"))
        .collect()
}

/// Plain text: the e-mail's text part and the log route.
pub fn plain(digest: &Digest<'_>, part: &Part) -> String {
    let header: String = digest
        .header(part)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = format!("{header}\n");
    let colon = digest.colon();
    for item in digest.part_items(part) {
        out.push_str(&format!("\n{}. {}\n", item.position, item.title));
        out.push_str(
            &fact_lines(item, colon, ("   ", "\n"), str::to_owned, str::to_owned).concat(),
        );
    }
    if let Some(more) = digest.more_line(part) {
        out.push_str(&format!("\n{more}\n"));
    }
    out.push_str(&format!("\n{}\n", digest.closing()));
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The e-mail's HTML part: the same content as `plain`, escaped.
pub fn html(digest: &Digest<'_>, part: &Part) -> String {
    let header = escape_html(&digest.header(part));
    let colon = digest.colon();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{header}</title></head>\n<body>\n<h2>{header}</h2>\n",
        digest.lang.code()
    );
    let items = digest.part_items(part);
    if let Some(first) = items.first() {
        out.push_str(&format!("<ol start=\"{}\">\n", first.position));
        for item in items {
            out.push_str(&format!(
                "<li><p><strong>{}</strong></p>\n<ul>\n",
                escape_html(&item.title)
            ));
            let code = |command: &str| format!("<code>{}</code>", escape_html(command));
            out.push_str(&fact_lines(item, colon, ("<li>", "</li>\n"), escape_html, code).concat());
            out.push_str("</ul></li>\n");
        }
        out.push_str("</ol>\n");
    }
    if let Some(more) = digest.more_line(part) {
        out.push_str(&format!("<p><strong>{}</strong></p>\n", escape_html(&more)));
    }
    out.push_str(&format!(
        "<p>{}</p>\n</body>\n</html>\n",
        escape_html(digest.closing())
    ));
    out
}

/// Characters the chat robots' markdown may read as markup.
pub(super) const CHAT_MARKUP: &[char] =
    &['*', '_', '[', ']', '<', '>', '#', '`', '~', '|', '&', '\\'];

/// Characters Slack's mrkdwn reads as markup; `&`, `<` and `>` have
/// documented entities instead.
pub(super) const SLACK_MARKUP: &[char] = &['*', '_', '~', '`'];

/// Puts each word holding a markup character in a code span, where every
/// character is literal, and leaves the rest alone: what people copy from
/// the message is the text itself (a company name, an e-mail address, a
/// config key), not look-alike full-width characters. A word with a
/// backtick gets a double-backtick span. Control characters become spaces.
fn code_spans(text: &str, markup: &[char], inside: impl Fn(&str) -> String) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.split(' ')
        .map(|word| {
            if !word.contains(markup) {
                inside(word)
            } else if word.contains('`') {
                format!("`` {} ``", inside(word))
            } else {
                format!("`{}`", inside(word))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// For the markdown of DingTalk, WeCom and Feishu, none of which documents an
/// escape character: words with markup go in code spans.
pub(super) fn escape_chat(text: &str) -> String {
    code_spans(text, CHAT_MARKUP, str::to_owned)
}

/// Slack's mrkdwn: `&`, `<`, `>` take their documented entities everywhere
/// (Slack decodes them back when text is copied); the emphasis characters
/// have no escape, so words holding them go in code spans.
pub(super) fn escape_slack(text: &str) -> String {
    code_spans(text, SLACK_MARKUP, slack_entities)
}

/// A command people copy, as one code span. Commands are licwatch's own
/// text (no backtick), so nothing inside needs escaping.
fn command_span(command: &str) -> String {
    format!("`{}`", command.replace('`', "'"))
}

/// Slack's three documented entities, for text already in a code span.
fn slack_entities(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// DingTalk robot body: markdown with a title for the notification line.
pub fn dingtalk(digest: &Digest<'_>, part: &Part) -> Value {
    // The title is the notification line, shown as plain text.
    let title = digest.header(part);
    let colon = digest.colon();
    let mut text = format!("#### {}\n\n", escape_chat(&title));
    for item in digest.part_items(part) {
        text.push_str(&format!(
            "**{}. {}**\n\n",
            item.position,
            escape_chat(&item.title)
        ));
        text.push_str(&fact_lines(item, colon, ("- ", "\n"), escape_chat, command_span).concat());
        text.push('\n');
    }
    text.push_str(&format!("> {}\n", escape_chat(digest.closing())));
    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
}

/// WeCom group robot body: markdown, facts as quotes (WeCom's markdown has
/// no lists), the severity coloured.
pub fn wecom(digest: &Digest<'_>, part: &Part) -> Value {
    json!({"msgtype": "markdown", "markdown": {"content": wecom_markdown(digest, part)}})
}

/// WeCom's limit applies to this text alone, in UTF-8 bytes.
pub fn wecom_markdown(digest: &Digest<'_>, part: &Part) -> String {
    let colon = digest.colon();
    let mut text = format!("### {}\n", escape_chat(&digest.header(part)));
    for item in digest.part_items(part) {
        let colour = match item.alert.stage.severity {
            Severity::Critical => "warning",
            Severity::Warning => "info",
            Severity::Info => "comment",
        };
        let label = severity_label(item.alert.stage.severity, digest.lang);
        let rest = item.title.strip_prefix(label).unwrap_or(&item.title);
        text.push_str(&format!(
            "\n**{}. <font color=\"{colour}\">{}</font>{}**\n",
            item.position,
            escape_chat(label.trim_end()),
            escape_chat(rest)
        ));
        text.push_str(&fact_lines(item, colon, ("> ", "\n"), escape_chat, command_span).concat());
    }
    text.push_str(&format!(
        "\n<font color=\"comment\">{}</font>",
        escape_chat(digest.closing())
    ));
    text
}

/// Feishu and Lark robot body: an interactive card, one markdown element an
/// item. The signature fields are added when sending.
pub fn feishu(digest: &Digest<'_>, part: &Part) -> Value {
    let colon = digest.colon();
    let items = digest.part_items(part);
    let template = match items.iter().map(|item| item.alert.stage.severity).max() {
        Some(Severity::Critical) => "red",
        Some(Severity::Warning) => "orange",
        Some(Severity::Info) | None => "blue",
    };
    let mut elements = Vec::new();
    for item in items {
        let mut text = format!("**{}. {}**\n", item.position, escape_chat(&item.title));
        text.push_str(&fact_lines(item, colon, ("", ""), escape_chat, command_span).join("\n"));
        elements.push(json!({"tag": "markdown", "content": text}));
        elements.push(json!({"tag": "hr"}));
    }
    elements.push(json!({"tag": "markdown", "content": escape_chat(digest.closing())}));
    json!({
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": true},
            "header": {
                "template": template,
                "title": {"tag": "plain_text", "content": digest.header(part)},
            },
            "elements": elements,
        },
    })
}

/// Slack incoming-webhook body: blocks, and `text` as the notification line.
pub fn slack(digest: &Digest<'_>, part: &Part) -> Value {
    let header = digest.header(part);
    let colon = digest.colon();
    // A header block holds 150 characters; a longer first line (a notice)
    // goes in section blocks, which hold 3,000 each.
    let mut blocks = if header.chars().count() <= crate::notify::slack::HEADER_LIMIT {
        vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": header, "emoji": false},
        })]
    } else {
        let chars: Vec<char> = escape_slack(&header).chars().collect();
        chars
            .chunks(crate::notify::slack::SECTION_LIMIT)
            .map(|chunk| {
                let text: String = chunk.iter().collect();
                json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            })
            .collect()
    };
    for item in digest.part_items(part) {
        let mut text = format!("*{}. {}*\n", item.position, escape_slack(&item.title));
        let code = |command: &str| format!("`{}`", slack_entities(command));
        text.push_str(&fact_lines(item, colon, ("• ", ""), escape_slack, code).join("\n"));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
        blocks.push(json!({"type": "divider"}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape_slack(digest.closing())}],
    }));
    json!({"text": header, "blocks": blocks})
}

/// Standard Webhooks payload: the rendered text for people and the alerts as
/// data for programs.
pub fn webhook(digest: &Digest<'_>, part: &Part, route: &str, now: DateTime<Utc>) -> Value {
    let kind = match digest.topic {
        Topic::Alerts => "licwatch.digest",
        Topic::Test { .. } => "licwatch.test",
        Topic::Notice { .. } => "licwatch.notice",
    };
    let alerts: Vec<Value> = digest
        .part_items(part)
        .iter()
        .map(|item| {
            let alert = item.alert;
            let obligation = &alert.obligation;
            json!({
                "key": obligation.key,
                "kind": obligation.kind.code(),
                "licence": obligation.licence.to_string(),
                "company": obligation.company,
                "authority": obligation.authority,
                "number": obligation.number.as_ref().map(ToString::to_string),
                "year": obligation.year,
                "change": obligation.change.map(|change| change.code()),
                "opens": obligation.opens.to_string(),
                "due": obligation.due.to_string(),
                "days_left": alert.days_left,
                "state": alert.state.code(),
                "stage_offset": alert.stage.offset,
                "severity": alert.stage.severity.code(),
                "title": item.title,
                "command": item.command,
            })
        })
        .collect();
    json!({
        "type": kind,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "data": {
            "route": route,
            "lang": digest.lang.code(),
            "part": part.index,
            "parts": part.count,
            "title": digest.header(part),
            "text": plain(digest, part),
            "alerts": alerts,
        },
    })
}
