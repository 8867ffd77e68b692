//! Rendering a digest: one route's alerts as the text people read, for each
//! channel's format. Pure: no I/O, no clock.
//!
//! An alert becomes an [`Item`] (what is due, facts, the command that marks it
//! done) in one language; each format then lays items out and escapes every
//! string, since company names come from spreadsheets and may hold anything.

use std::ops::Range;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Lang, NoticeKind};
use crate::domain::basis;
use crate::domain::obligation::{Note, ObligationKind, State};
use crate::plan::{Alert, Severity};

/// Company and authority names longer than this are cut: it keeps every item
/// below the smallest channel limit (WeCom's 4096 bytes), so splitting never
/// has to cut inside an item.
const NAME_MAX_CHARS: usize = 100;

/// What one digest is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// Reminders of obligations.
    Alerts,
    /// `licwatch notify test ROUTE`: proves the route works, carries no alert.
    Test { route: String },
    /// A one-line notice from the daemon (the weekly all-clear, a missing
    /// holiday calendar, a delivery that failed), already in the route's
    /// language; `id` names it for the stable message id.
    Notice { id: String, text: String },
}

/// One alert in words, before any format is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    pub alert: &'a Alert,
    /// The index of `alert` in the slice given to [`digest`], so the caller
    /// can tell which outbox rows a message carried.
    pub source: usize,
    /// The item's position in the digest, from 1, kept across parts.
    pub position: usize,
    /// e.g. `【紧急】续期申请 · 京B2-20201234 · 北京示例科技有限公司`.
    pub title: String,
    /// What is due, without severity, licence or company: `2025 年度年报`.
    pub what: String,
    pub facts: Vec<Fact>,
    /// The label of `command`.
    pub command_label: &'static str,
    /// The licwatch command that records the obligation as done.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// One route's alerts in one language, most severe first, then soonest due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest<'a> {
    pub lang: Lang,
    pub topic: Topic,
    pub items: Vec<Item<'a>>,
}

/// The items of one message of a digest split to a channel's size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// From 1.
    pub index: usize,
    pub count: usize,
    /// Indexes into `Digest::items`: the items the message lists.
    pub items: Range<usize>,
    /// Items after `items` that the message carries without listing them
    /// (an e-mail's .xlsx attachment); 0 for every other part.
    pub more: usize,
}

impl Part {
    /// One part for each range of items, numbered from 1.
    pub fn numbered(ranges: Vec<Range<usize>>) -> Vec<Part> {
        let count = ranges.len();
        ranges
            .into_iter()
            .enumerate()
            .map(|(index, items)| Part {
                index: index + 1,
                count,
                items,
                more: 0,
            })
            .collect()
    }

    /// Every item the message carries: listed, then attached.
    pub fn carried(&self) -> Range<usize> {
        self.items.start..self.items.end + self.more
    }
}

pub fn digest(alerts: &[Alert], lang: Lang) -> Digest<'_> {
    let mut sorted: Vec<(usize, &Alert)> = alerts.iter().enumerate().collect();
    sorted.sort_by(|(_, a), (_, b)| {
        (
            std::cmp::Reverse(a.stage.severity),
            a.obligation.due,
            a.obligation.kind,
            &a.obligation.key,
        )
            .cmp(&(
                std::cmp::Reverse(b.stage.severity),
                b.obligation.due,
                b.obligation.kind,
                &b.obligation.key,
            ))
    });
    let items = sorted
        .into_iter()
        .enumerate()
        .map(|(index, (source, alert))| item(alert, source, index + 1, lang))
        .collect();
    Digest {
        lang,
        topic: Topic::Alerts,
        items,
    }
}

/// The digest `licwatch notify test ROUTE` sends: a header and no items.
pub fn test_digest(route: &str, lang: Lang) -> Digest<'static> {
    Digest {
        lang,
        topic: Topic::Test {
            route: route.to_owned(),
        },
        items: Vec::new(),
    }
}

/// The digest of a daemon notice: its text as the header, no items.
pub fn notice_digest(id: &str, text: &str, lang: Lang) -> Digest<'static> {
    Digest {
        lang,
        topic: Topic::Notice {
            id: id.to_owned(),
            // The daemon writes these texts; only control characters go.
            text: text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        },
        items: Vec::new(),
    }
}

impl Digest<'_> {
    /// The whole digest as one message.
    pub fn whole(&self) -> Part {
        Part {
            index: 1,
            count: 1,
            items: 0..self.items.len(),
            more: 0,
        }
    }

    /// Cuts the digest into the fewest consecutive parts that `fits` accepts,
    /// never inside an item. An item too large on its own still gets a part of
    /// its own: the channel will refuse it, which is reported, rather than
    /// dropped here in silence.
    pub fn split(&self, fits: impl Fn(&Part) -> bool) -> Vec<Part> {
        let total = self.items.len();
        // The "(k/n)" label lengthens the header; packing with the widest
        // label this digest could need keeps every part within the limit once
        // the real numbers are known.
        let widest = total.max(1);
        let mut ranges = Vec::new();
        let mut start = 0;
        while start < total {
            let mut end = start + 1;
            while end < total
                && fits(&Part {
                    index: widest,
                    count: widest,
                    items: start..end + 1,
                    more: 0,
                })
            {
                end += 1;
            }
            ranges.push(start..end);
            start = end;
        }
        if ranges.is_empty() {
            ranges.push(0..0);
        }
        Part::numbered(ranges)
    }

    /// The digest as one message listing its first `listed` items (the
    /// most severe, since items are sorted so) and carrying the rest
    /// unlisted, in an attachment.
    pub fn capped(&self, listed: usize) -> Part {
        let listed = listed.min(self.items.len());
        Part {
            index: 1,
            count: 1,
            items: 0..listed,
            more: self.items.len() - listed,
        }
    }

    /// The line saying how many items are only in the attachment.
    fn more_line(&self, part: &Part) -> Option<String> {
        let more = part.more;
        (more > 0).then(|| match self.lang {
            Lang::Zh => format!("另有 {more} 项未在正文列出；完整清单见附件 {ATTACHMENT}，可筛选。"),
            Lang::En => format!(
                "{more} more items are not listed here; the full list is in the attached {ATTACHMENT}, ready to filter."
            ),
        })
    }

    pub fn urgent(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.alert.stage.severity == Severity::Critical)
            .count()
    }

    /// The first line of every message: e-mail subject, robot title.
    pub fn header(&self, part: &Part) -> String {
        let total = self.items.len();
        let urgent = self.urgent();
        let mut header = match (&self.topic, self.lang) {
            (Topic::Test { route }, Lang::Zh) => {
                format!("licwatch 测试消息：路由 {route} 可以送达")
            }
            (Topic::Test { route }, Lang::En) => {
                format!("licwatch test message: route {route} works")
            }
            (Topic::Notice { text, .. }, _) => text.clone(),
            (Topic::Alerts, Lang::Zh) if urgent > 0 => {
                format!("licwatch 合规提醒：共 {total} 项待办，其中 {urgent} 项紧急")
            }
            (Topic::Alerts, Lang::Zh) => format!("licwatch 合规提醒：共 {total} 项待办"),
            (Topic::Alerts, Lang::En) => {
                let items = if total == 1 { "item" } else { "items" };
                if urgent > 0 {
                    format!("licwatch compliance reminder: {total} {items} due, {urgent} urgent")
                } else {
                    format!("licwatch compliance reminder: {total} {items} due")
                }
            }
        };
        if part.count > 1 {
            let (index, count) = (part.index, part.count);
            match self.lang {
                Lang::Zh => header.push_str(&format!("（{index}/{count}）")),
                Lang::En => header.push_str(&format!(" ({index}/{count})")),
            }
        }
        header
    }

    /// An e-mail's subject: the most urgent item in words, and how many
    /// more (`【紧急】京B2-20221234 2025 年度年报已逾期 等 3 项`); a notice's
    /// short title, not its whole text.
    pub fn subject(&self, part: &Part) -> String {
        let mut subject = match (&self.topic, self.items.first()) {
            (Topic::Alerts, Some(first)) => {
                let alert = first.alert;
                let licence = &alert.obligation.licence;
                let label = severity_label(alert.stage.severity, self.lang);
                let outlives = alert.obligation.kind == ObligationKind::NumberOutlivesLicence;
                let state = match (self.lang, alert.state, alert.days_left.signum()) {
                    (Lang::Zh, _, -1) if outlives => "（许可证已失效）".to_owned(),
                    (Lang::Zh, _, 0) if outlives => "（今天是许可证最后有效日）".to_owned(),
                    (Lang::Zh, _, _) if outlives => {
                        format!("（许可证 {} 失效）", alert.obligation.due)
                    }
                    (Lang::En, _, -1) if outlives => " (the licence has ended)".to_owned(),
                    (Lang::En, _, 0) if outlives => " (the licence's last day is today)".to_owned(),
                    (Lang::En, _, _) if outlives => {
                        format!(" (the licence ends {})", alert.obligation.due)
                    }
                    (Lang::Zh, State::Expired, _) => "，许可证已过期".to_owned(),
                    (Lang::Zh, _, -1) => "已逾期".to_owned(),
                    (Lang::Zh, _, 0) => "今天截止".to_owned(),
                    (Lang::Zh, _, _) => format!("，{} 截止", alert.obligation.due),
                    (Lang::En, State::Expired, _) => ": the licence has expired".to_owned(),
                    (Lang::En, _, -1) => " overdue".to_owned(),
                    (Lang::En, _, 0) => " due today".to_owned(),
                    (Lang::En, _, _) => format!(" due {}", alert.obligation.due),
                };
                let more = self.items.len() - 1;
                let tail = match (self.lang, more) {
                    (_, 0) => String::new(),
                    (Lang::Zh, _) => format!(" 等 {} 项", more + 1),
                    (Lang::En, 1) => ", and 1 more".to_owned(),
                    (Lang::En, _) => format!(", and {more} more"),
                };
                format!("{label}{licence} {}{state}{tail}", first.what)
            }
            (Topic::Notice { id, text }, _) => notice_title(id, text, self.lang),
            _ => return self.header(part),
        };
        if part.count > 1 {
            let (index, count) = (part.index, part.count);
            match self.lang {
                Lang::Zh => subject.push_str(&format!("（{index}/{count}）")),
                Lang::En => subject.push_str(&format!(" ({index}/{count})")),
            }
        }
        subject
    }

    fn part_items(&self, part: &Part) -> &[Item<'_>] {
        self.items.get(part.items.clone()).unwrap_or(&[])
    }

    fn colon(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "：",
            Lang::En => ": ",
        }
    }

    fn closing(&self) -> &'static str {
        match (&self.topic, self.lang) {
            (Topic::Notice { .. }, Lang::Zh) => "由 licwatch 发送。",
            (Topic::Notice { .. }, Lang::En) => "Sent by licwatch.",
            (_, Lang::Zh) => "由 licwatch 发送。事项办结后请执行对应命令登记，提醒即停止。",
            (_, Lang::En) => {
                "Sent by licwatch. Run the command of an item once it is done and its reminders stop."
            }
        }
    }
}

/// A notice's short title, by its kind (`notice/holidays/2027`); its first
/// sentence when the kind is not one licwatch names.
fn notice_title(id: &str, text: &str, lang: Lang) -> String {
    match (NoticeKind::of_key(id), lang) {
        (Some((NoticeKind::Holidays, year)), Lang::Zh) => {
            format!("licwatch：缺少 {year} 年节假日安排")
        }
        (Some((NoticeKind::Holidays, year)), Lang::En) => {
            format!("licwatch: no holiday calendar for {year}")
        }
        (Some((NoticeKind::AllClear, _)), Lang::Zh) => "licwatch：近期没有到期事项".to_owned(),
        (Some((NoticeKind::AllClear, _)), Lang::En) => "licwatch: nothing due soon".to_owned(),
        (Some((NoticeKind::Failed, _)), Lang::Zh) => "licwatch：提醒未能送达".to_owned(),
        (Some((NoticeKind::Failed, _)), Lang::En) => {
            "licwatch: a reminder could not be delivered".to_owned()
        }
        _ => {
            let end = text
                .find(['。', '.', '：', ':'])
                .map_or(text.len(), |at| at);
            text[..end].chars().take(60).collect()
        }
    }
}

fn severity_label(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (Severity::Critical, Lang::Zh) => "【紧急】",
        (Severity::Warning, Lang::Zh) => "【注意】",
        (Severity::Info, Lang::Zh) => "【提示】",
        (Severity::Critical, Lang::En) => "[URGENT] ",
        (Severity::Warning, Lang::En) => "[Warning] ",
        (Severity::Info, Lang::En) => "[Notice] ",
    }
}

/// Text from the register, made safe to place on one line: control
/// characters (a newline in a company name would forge a new line of the
/// message) become spaces, and overlong names are cut.
fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(NAME_MAX_CHARS)
        .collect();
    if text.chars().count() > NAME_MAX_CHARS {
        line.push('…');
    }
    line
}

fn days_phrase(alert: &Alert, lang: Lang) -> String {
    let days = alert.days_left;
    let outlives = alert.obligation.kind == ObligationKind::NumberOutlivesLicence;
    let plural = |n: i64| if n == 1 { "day" } else { "days" };
    match (lang, days.signum(), outlives) {
        (Lang::Zh, 1, _) => format!("还剩 {days} 天"),
        (Lang::Zh, 0, false) => "今天截止".to_owned(),
        (Lang::Zh, 0, true) => "今天是最后有效日".to_owned(),
        (Lang::Zh, _, false) => format!("已逾期 {} 天", -days),
        (Lang::Zh, _, true) => format!("已失效 {} 天", -days),
        (Lang::En, 1, _) => format!("{days} {} left", plural(days)),
        (Lang::En, 0, false) => "due today".to_owned(),
        (Lang::En, 0, true) => "last valid day today".to_owned(),
        (Lang::En, _, false) => format!("{} {} overdue", -days, plural(-days)),
        (Lang::En, _, true) => format!("ended {} {} ago", -days, plural(-days)),
    }
}

const MATERIALS_ZH: &str = "最新营业执照、财务报告、坐席照片、话务量数据、网络安全评估报告；按实践，审批约需 60 个工作日，材料退回补正另需约 30 个工作日，请尽早准备。";
const MATERIALS_EN: &str = "latest business licence, financial report, photos of the seats, traffic data, network security assessment; in practice review takes about 60 working days (about 30 more if material is returned), so start now.";

/// Renewal stages this many days before the due day or earlier carry the
/// list of materials: that is when preparing them still makes a difference.
const MATERIALS_FROM_OFFSET: i64 = -60;

fn item(alert: &Alert, source: usize, position: usize, lang: Lang) -> Item<'_> {
    let obligation = &alert.obligation;
    let zh = lang == Lang::Zh;
    let licence = obligation.licence.to_string();
    let company = one_line(&obligation.company);
    let number = obligation
        .number
        .as_ref()
        .map_or_else(|| "NUMBER".to_owned(), ToString::to_string);
    let what = match obligation.kind {
        ObligationKind::Renewal if zh => "许可证延续（续期）申请".to_owned(),
        ObligationKind::Renewal => "Licence renewal application".to_owned(),
        ObligationKind::AnnualReport => match (obligation.year, zh) {
            (Some(year), true) => format!("{year} 年度年报"),
            (None, true) => "年报".to_owned(),
            (Some(year), false) => format!("Annual report for {year}"),
            (None, false) => "Annual report".to_owned(),
        },
        ObligationKind::ChangeFiling => match (obligation.change, zh) {
            (Some(change), true) => format!("变更备案（{}）", change.name_zh()),
            (None, true) => "变更备案".to_owned(),
            (Some(change), false) => format!("Change filing ({})", change.name_en()),
            (None, false) => "Change filing".to_owned(),
        },
        ObligationKind::NumberActivation if zh => format!("码号 {number} 待启用"),
        ObligationKind::NumberActivation => format!("Number {number} to be put into service"),
        ObligationKind::NumberOutlivesLicence if zh => {
            format!("码号 {number} 在许可证失效后仍在使用")
        }
        ObligationKind::NumberOutlivesLicence => {
            format!("Number {number} still in use after its licence ended")
        }
    };
    let title = format!(
        "{}{what} · {licence} · {company}",
        severity_label(alert.stage.severity, lang)
    );

    let mut facts = Vec::new();
    let mut fact = |zh_label: &'static str, en_label: &'static str, value: String| {
        facts.push(Fact {
            label: if zh { zh_label } else { en_label },
            value,
        });
    };
    let due = match lang {
        Lang::Zh => format!("{}（{}）", obligation.due, days_phrase(alert, lang)),
        Lang::En => format!("{} ({})", obligation.due, days_phrase(alert, lang)),
    };
    match obligation.kind {
        ObligationKind::AnnualReport => {
            let to = if zh { "至" } else { "to" };
            fact(
                "报送期间",
                "Filing window",
                format!("{} {to} {}", obligation.opens, obligation.due),
            );
        }
        ObligationKind::ChangeFiling => {
            fact("变更日期", "Changed on", obligation.opens.to_string());
        }
        ObligationKind::NumberActivation => {
            fact("分配日期", "Allocated on", obligation.opens.to_string());
        }
        ObligationKind::Renewal | ObligationKind::NumberOutlivesLicence => {}
    }
    if obligation.kind == ObligationKind::NumberOutlivesLicence {
        fact("许可证失效日", "Licence last valid on", due);
    } else {
        fact("截止日期", "Due", due);
    }
    if alert.state == State::Expired {
        let ends = obligation.ends.unwrap_or(obligation.due);
        fact(
            "状态",
            "State",
            if zh {
                format!("许可证已于 {ends} 到期且未延续")
            } else {
                format!("the licence expired on {ends} unrenewed")
            },
        );
    }
    if obligation.kind == ObligationKind::Renewal {
        fact(
            "原发证机关",
            "Issuing authority",
            one_line(&obligation.authority),
        );
    } else {
        fact("报送机关", "File with", one_line(&obligation.authority));
    }
    // The consequence, then the articles that say it, so that a reader can
    // check every word against the statute.
    let consequence = basis::consequence(obligation.kind, alert.state);
    let label = if obligation.kind == ObligationKind::NumberOutlivesLicence
        || alert.state == State::Expired
    {
        ("风险", "Risk")
    } else {
        ("逾期后果", "If missed")
    };
    fact(
        label.0,
        label.1,
        if zh { consequence.zh } else { consequence.en }.to_owned(),
    );
    // The articles only: the consequence above is the statute's own words,
    // and the quotes are in `licwatch explain` and the agenda's JSON.
    fact(
        "依据",
        "Basis",
        if zh {
            consequence.basis.zh_short()
        } else {
            consequence.basis.en_short()
        },
    );
    if obligation.kind == ObligationKind::Renewal && alert.stage.offset <= MATERIALS_FROM_OFFSET {
        fact(
            "准备材料",
            "Prepare",
            if zh { MATERIALS_ZH } else { MATERIALS_EN }.to_owned(),
        );
    }
    if let Some(Note::NotCarriedOut { years }) = obligation.note {
        let value = match (years, zh) {
            (1, true) => "最近一次年报为「未开展业务」；按实践，连续两年未开展业务的许可证可能被清理。".to_owned(),
            (_, true) => format!("已连续 {years} 年报告「未开展业务」；按实践，许可证有被清理的风险。"),
            (1, false) => "the latest annual report said business not carried out (未开展业务); in practice, two years running puts the licence at risk of being cleared out.".to_owned(),
            (_, false) => format!("{years} annual reports in a row said business not carried out (未开展业务); in practice, the licence is at risk of being cleared out."),
        };
        fact("注意", "Note", value);
    }

    let command = match obligation.kind {
        // Past expiry there is nothing left to renew: what remains is to
        // stop and record the end (a new application is a new licence).
        ObligationKind::Renewal if alert.state == State::Expired => {
            format!("licwatch licence end {licence} --on YYYY-MM-DD --reason 到期未延续")
        }
        ObligationKind::Renewal => format!("licwatch renewal submit {licence} --on YYYY-MM-DD"),
        ObligationKind::AnnualReport => match obligation.year {
            Some(year) => format!("licwatch report file {licence} --year {year} --on YYYY-MM-DD"),
            None => format!("licwatch report file {licence} --on YYYY-MM-DD"),
        },
        ObligationKind::ChangeFiling => format!(
            "licwatch change file {} --on YYYY-MM-DD",
            obligation.key.change_id().unwrap_or_default()
        ),
        ObligationKind::NumberActivation => format!(
            "licwatch number activate {number} --on YYYY-MM-DD --carrier 中国电信 --direction inbound"
        ),
        ObligationKind::NumberOutlivesLicence => {
            format!("licwatch number release {number} --on YYYY-MM-DD")
        }
    };
    let command_label = match (obligation.kind, alert.state, zh) {
        (ObligationKind::Renewal, State::Expired, true) => "停止经营后登记",
        (ObligationKind::Renewal, State::Expired, false) => "Once stopped, record it",
        (_, _, true) => "办结后登记",
        (_, _, false) => "When done, record it",
    };
    Item {
        alert,
        source,
        position,
        title,
        what,
        facts,
        command_label,
        command,
    }
}

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
        for fact in &item.facts {
            out.push_str(&format!("   {}{colon}{}\n", fact.label, fact.value));
        }
        out.push_str(&format!(
            "   {}{colon}{}\n",
            item.command_label, item.command
        ));
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
            for fact in &item.facts {
                out.push_str(&format!(
                    "<li>{}{colon}{}</li>\n",
                    fact.label,
                    escape_html(&fact.value)
                ));
            }
            out.push_str(&format!(
                "<li>{}{colon}<code>{}</code></li>\n</ul></li>\n",
                item.command_label,
                escape_html(&item.command)
            ));
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
const CHAT_MARKUP: &[char] = &['*', '_', '[', ']', '<', '>', '#', '`', '~', '|', '&', '\\'];

/// Characters Slack's mrkdwn reads as markup; `&`, `<` and `>` have
/// documented entities instead.
const SLACK_MARKUP: &[char] = &['*', '_', '~', '`'];

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
fn escape_chat(text: &str) -> String {
    code_spans(text, CHAT_MARKUP, str::to_owned)
}

/// Slack's mrkdwn: `&`, `<`, `>` take their documented entities everywhere
/// (Slack decodes them back when text is copied); the emphasis characters
/// have no escape, so words holding them go in code spans.
fn escape_slack(text: &str) -> String {
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
        for fact in &item.facts {
            text.push_str(&format!(
                "- {}{colon}{}\n",
                fact.label,
                escape_chat(&fact.value)
            ));
        }
        text.push_str(&format!(
            "- {}{colon}{}\n\n",
            item.command_label,
            command_span(&item.command)
        ));
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
        for fact in &item.facts {
            text.push_str(&format!(
                "> {}{colon}{}\n",
                fact.label,
                escape_chat(&fact.value)
            ));
        }
        text.push_str(&format!(
            "> {}{colon}{}\n",
            item.command_label,
            command_span(&item.command)
        ));
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
        for fact in &item.facts {
            text.push_str(&format!(
                "{}{colon}{}\n",
                fact.label,
                escape_chat(&fact.value)
            ));
        }
        text.push_str(&format!(
            "{}{colon}{}",
            item.command_label,
            command_span(&item.command)
        ));
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
    let mut blocks = if header.chars().count() <= super::slack::HEADER_LIMIT {
        vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": header, "emoji": false},
        })]
    } else {
        let chars: Vec<char> = escape_slack(&header).chars().collect();
        chars
            .chunks(super::slack::SECTION_LIMIT)
            .map(|chunk| {
                let text: String = chunk.iter().collect();
                json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            })
            .collect()
    };
    for item in digest.part_items(part) {
        let mut text = format!("*{}. {}*\n", item.position, escape_slack(&item.title));
        for fact in &item.facts {
            text.push_str(&format!(
                "• {}{colon}{}\n",
                fact.label,
                escape_slack(&fact.value)
            ));
        }
        text.push_str(&format!(
            "• {}{colon}`{}`",
            item.command_label,
            slack_entities(&item.command)
        ));
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

#[cfg(test)]
pub(crate) mod tests;
