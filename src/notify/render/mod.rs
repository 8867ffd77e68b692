//! Rendering a digest: one route's alerts as the text people read, for each
//! channel's format. Pure: no I/O, no clock.
//!
//! An alert becomes an [`Item`] (what is due, facts, the command that marks it
//! done) in one language; each format then lays items out and escapes every
//! string, since company names come from spreadsheets and may hold anything.

use std::ops::Range;

pub mod layout;
pub mod link;
pub mod words;

use self::layout::ATTACHMENT;
use self::words::{item, notice_title, severity_label};
use crate::domain::lang::Lang;
use crate::domain::obligation::{ObligationKind, State};
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
        header.push_str(&self.part_of(part));
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
        subject.push_str(&self.part_of(part));
        subject
    }

    /// `（2/3）` after a title when the digest is sent in parts; nothing
    /// when it is sent whole.
    fn part_of(&self, part: &Part) -> String {
        let (index, count) = (part.index, part.count);
        match self.lang {
            _ if count <= 1 => String::new(),
            Lang::Zh => format!("（{index}/{count}）"),
            Lang::En => format!(" ({index}/{count})"),
        }
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

/// Text from the register, made safe to place on one line: control
/// characters (a newline in a company name would forge a new line of the
/// message) become spaces, and overlong names are cut.
pub(super) fn one_line(text: &str) -> String {
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

#[cfg(test)]
pub(crate) mod tests;
