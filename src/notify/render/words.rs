//! The one place an obligation's wording lives: what is due, its facts, the
//! command that records it done, the titles of notices, in zh-CN and
//! English. The reminder formats, the agenda and the calendar take their
//! words from here.

use super::{Fact, Item, one_line};
use crate::domain::basis;
use crate::domain::calendar::DayKind;
use crate::domain::lang::Lang;
use crate::domain::obligation::{Note, Obligation, ObligationKind, State};
use crate::notify::NoticeKind;
use crate::plan::{Alert, Severity, Stage};
use crate::store::OutboxState;

/// A notice's short title, by its kind (`notice/holidays/2027`); its first
/// sentence when the kind is not one licwatch names.
pub(super) fn notice_title(id: &str, text: &str, lang: Lang) -> String {
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

pub(super) fn severity_label(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (Severity::Critical, Lang::Zh) => "【紧急】",
        (Severity::Warning, Lang::Zh) => "【注意】",
        (Severity::Info, Lang::Zh) => "【提示】",
        (Severity::Critical, Lang::En) => "[URGENT] ",
        (Severity::Warning, Lang::En) => "[Warning] ",
        (Severity::Info, Lang::En) => "[Notice] ",
    }
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

pub(super) fn item(alert: &Alert, source: usize, position: usize, lang: Lang) -> Item<'_> {
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

    let command = done_command(obligation, alert.state, Placeholders::MESSAGE);
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

/// What a command to copy holds where the person fills in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholders {
    pub date: &'static str,
    pub carrier: &'static str,
}

impl Placeholders {
    /// In a reminder: the form of the value, and a carrier as an example.
    pub const MESSAGE: Placeholders = Placeholders {
        date: "YYYY-MM-DD",
        carrier: "中国电信",
    };
    /// In the agenda's table and JSON: the names of the values.
    pub const AGENDA: Placeholders = Placeholders {
        date: "DATE",
        carrier: "NAME",
    };
}

/// The licwatch command that records `obligation` as done, for people to
/// copy. Past expiry there is nothing left to renew: what remains is to stop
/// and record the end (a new application is a new licence).
pub fn done_command(obligation: &Obligation, state: State, fill: Placeholders) -> String {
    let Placeholders { date, carrier } = fill;
    let licence = &obligation.licence;
    let number = obligation
        .number
        .as_ref()
        .map_or_else(|| "NUMBER".to_owned(), ToString::to_string);
    match obligation.kind {
        ObligationKind::Renewal if state == State::Expired => {
            format!("licwatch licence end {licence} --on {date} --reason 到期未延续")
        }
        ObligationKind::Renewal => format!("licwatch renewal submit {licence} --on {date}"),
        ObligationKind::AnnualReport => match obligation.year {
            Some(year) => format!("licwatch report file {licence} --year {year} --on {date}"),
            None => format!("licwatch report file {licence} --on {date}"),
        },
        ObligationKind::ChangeFiling => format!(
            "licwatch change file {} --on {date}",
            obligation.key.change_id().unwrap_or_default()
        ),
        ObligationKind::NumberActivation => format!(
            "licwatch number activate {number} --on {date} --carrier {carrier} --direction inbound"
        ),
        ObligationKind::NumberOutlivesLicence => {
            format!("licwatch number release {number} --on {date}")
        }
    }
}

/// What `obligation` asks of its holder in one sentence, by its state (a
/// renewal past expiry can no longer be renewed). The agenda and the web
/// console's obligation page say it.
pub fn what_to_do(o: &Obligation, state: State, lang: Lang) -> String {
    let number = o.number.as_ref().map(|n| n.to_string()).unwrap_or_default();
    let ends = o.ends.map_or("-".to_owned(), |d| d.to_string());
    let authority = &o.authority;
    let change_id = o.key.change_id().unwrap_or_default();
    let year = o.year.unwrap_or_default();
    let what = match (o.kind, state, lang) {
        (ObligationKind::Renewal, State::Open, Lang::En) => format!(
            "apply to {authority} (the issuing authority) for renewal (延续), or report not continuing"
        ),
        (ObligationKind::Renewal, State::Open, Lang::Zh) => {
            format!("向{authority}（原发证机关）申请延续，或报告不再继续经营")
        }
        (ObligationKind::Renewal, State::Overdue, Lang::En) => format!(
            "the renewal deadline passed: apply to {authority} for renewal (延续) now, late; without it the business must stop at expiry {ends}"
        ),
        (ObligationKind::Renewal, State::Overdue, Lang::Zh) => format!(
            "延续申请期限已过：请立即向{authority}申请延续；未获延续的，许可证于 {ends} 到期后须停止经营"
        ),
        (ObligationKind::Renewal, State::Expired, Lang::En) => format!(
            "expired on {ends} without renewal: it can no longer be renewed; stop the business and record the end, or apply for a new licence"
        ),
        (ObligationKind::Renewal, State::Expired, Lang::Zh) => format!(
            "许可证已于 {ends} 到期且未延续，不能再延续：请停止经营并登记终止，或重新申请许可证"
        ),
        (ObligationKind::AnnualReport, _, Lang::En) => {
            format!("file the {year} annual report in the licence management system")
        }
        (ObligationKind::AnnualReport, _, Lang::Zh) => {
            format!("在电信业务经营许可管理系统中报送 {year} 年度年报")
        }
        (ObligationKind::ChangeFiling, _, Lang::En) => format!(
            "file change #{change_id} ({}) with {authority}",
            o.change.map_or("", |c| c.name_en()),
        ),
        (ObligationKind::ChangeFiling, _, Lang::Zh) => format!(
            "向{authority}报送变更 #{change_id}（{}）的备案",
            o.change.map_or("", |c| c.name_zh()),
        ),
        (ObligationKind::NumberActivation, _, Lang::En) => format!(
            "put {number} into service (file carrier, use and direction first) or it is taken back"
        ),
        (ObligationKind::NumberActivation, _, Lang::Zh) => {
            format!("启用码号 {number}（先报备运营商、用途和呼叫方向），否则将被收回")
        }
        (ObligationKind::NumberOutlivesLicence, _, Lang::En) => format!(
            "{number} is still held but licence {} ends {}: release it",
            o.licence, o.due
        ),
        (ObligationKind::NumberOutlivesLicence, _, Lang::Zh) => format!(
            "码号 {number} 仍在占用，但许可证 {} 于 {} 终止：请释放该码号",
            o.licence, o.due
        ),
    };
    match (o.note, lang) {
        (Some(Note::NotCarriedOut { years }), Lang::En) if years >= 2 => format!(
            "{what}; the last {years} reports said 未开展业务: in practice, at risk of clearance"
        ),
        (Some(Note::NotCarriedOut { .. }), Lang::En) => format!(
            "{what}; the last report said 未开展业务: in practice, a second year risks clearance"
        ),
        (Some(Note::NotCarriedOut { years }), Lang::Zh) if years >= 2 => {
            format!("{what}；最近 {years} 次年报均为「未开展业务」：按实践，有被清理的风险")
        }
        (Some(Note::NotCarriedOut { .. }), Lang::Zh) => {
            format!("{what}；最近一次年报为「未开展业务」：按实践，再有一年将有被清理的风险")
        }
        (None, _) => what,
    }
}

/// Why a stage's send day differs from its nominal day: the holidays by
/// name and the weekends in between, e.g. "国庆节, weekend".
pub fn moved_because(stage: &Stage, lang: Lang) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for (_, kind) in &stage.skipped {
        let reason = match (kind, lang) {
            (DayKind::Holiday(name), _) => name.clone(),
            (DayKind::Weekend, Lang::En) => "weekend".to_owned(),
            (DayKind::Weekend, Lang::Zh) => "周末".to_owned(),
            (DayKind::Working | DayKind::MakeUpWorkday(_), _) => continue,
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons.join(match lang {
        Lang::En => ", ",
        Lang::Zh => "、",
    })
}

/// What became of one reminder stage of an obligation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageStatus {
    Sent,
    Queued,
    Failed,
    Cancelled,
    /// The stage the plan sends today.
    DueNow,
    /// A newer stage came before this one was sent (the daemon was down, or
    /// the obligation was added late).
    Skipped,
    Upcoming,
}

/// A stage's status in words; the English words are also the agenda JSON's
/// `status` values.
pub fn stage_status(status: StageStatus, lang: Lang) -> &'static str {
    match (status, lang) {
        (StageStatus::Sent, Lang::En) => "sent",
        (StageStatus::Queued, Lang::En) => "queued",
        (StageStatus::Failed, Lang::En) => "failed",
        (StageStatus::Cancelled, Lang::En) => "cancelled",
        (StageStatus::DueNow, Lang::En) => "due now",
        (StageStatus::Skipped, Lang::En) => "skipped",
        (StageStatus::Upcoming, Lang::En) => "upcoming",
        (StageStatus::Sent, Lang::Zh) => "已发送",
        (StageStatus::Queued, Lang::Zh) => "待发送",
        (StageStatus::Failed, Lang::Zh) => "发送失败",
        (StageStatus::Cancelled, Lang::Zh) => "已取消",
        (StageStatus::DueNow, Lang::Zh) => "今日发送",
        (StageStatus::Skipped, Lang::Zh) => "已跳过",
        (StageStatus::Upcoming, Lang::Zh) => "未到期",
    }
}

/// A severity as a word, without the brackets of a message title.
pub fn severity_name(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (_, Lang::En) => severity.code(),
        (Severity::Critical, Lang::Zh) => "紧急",
        (Severity::Warning, Lang::Zh) => "注意",
        (Severity::Info, Lang::Zh) => "提示",
    }
}

/// An outbox row's state in words.
pub fn outbox_state(state: OutboxState, lang: Lang) -> &'static str {
    match (state, lang) {
        (_, Lang::En) => state.code(),
        (OutboxState::Pending, Lang::Zh) => "待发送",
        (OutboxState::Sent, Lang::Zh) => "已发送",
        (OutboxState::Failed, Lang::Zh) => "发送失败",
        (OutboxState::Cancelled, Lang::Zh) => "已取消",
    }
}
