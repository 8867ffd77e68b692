//! The deadline rules: from what the register knows of a licence, its numbers
//! and its company changes, which obligations are open and when each is due.
//! Each rule is a function of its inputs and `today`; nothing here reads a
//! clock.

use chrono::{Datelike, Days, NaiveDate};

use super::change::ChangeKind;
use super::date::add_months;
use super::licence::LicenceNo;
use super::number::ServiceNumber;
use super::policy::Policy;
use super::province::Province;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObligationKind {
    Renewal,
    AnnualReport,
    ChangeFiling,
    NumberActivation,
    NumberOutlivesLicence,
}

impl ObligationKind {
    /// Every kind: for a series per kind that exists even at zero.
    pub const ALL: [ObligationKind; 5] = [
        ObligationKind::Renewal,
        ObligationKind::AnnualReport,
        ObligationKind::ChangeFiling,
        ObligationKind::NumberActivation,
        ObligationKind::NumberOutlivesLicence,
    ];

    /// The stable name used in JSON output and outbox keys.
    pub fn code(self) -> &'static str {
        match self {
            ObligationKind::Renewal => "renewal",
            ObligationKind::AnnualReport => "annual_report",
            ObligationKind::ChangeFiling => "change_filing",
            ObligationKind::NumberActivation => "number_activation",
            ObligationKind::NumberOutlivesLicence => "number_outlives_licence",
        }
    }

    /// What people call it, in Chinese: never the internal code.
    pub fn name_zh(self) -> &'static str {
        match self {
            ObligationKind::Renewal => "许可证延续（续期）申请",
            ObligationKind::AnnualReport => "年报",
            ObligationKind::ChangeFiling => "变更备案",
            ObligationKind::NumberActivation => "码号启用",
            ObligationKind::NumberOutlivesLicence => "码号随许可证停用",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            ObligationKind::Renewal => "the licence renewal application",
            ObligationKind::AnnualReport => "the annual report",
            ObligationKind::ChangeFiling => "a change filing",
            ObligationKind::NumberActivation => "a number to be put into service",
            ObligationKind::NumberOutlivesLicence => "a number to stop with its licence",
        }
    }
}

/// Something worth saying alongside an obligation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The latest annual reports said 未开展业务 this many years running: one
    /// year is a warning, two years means the licence may be cleared out.
    NotCarriedOut { years: u32 },
}

/// An open obligation: something the holder must do by `due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    /// Stable identity, the same every time the rules run on the same facts:
    /// the outbox keys its rows by it.
    pub key: keys::ObligationKey,
    pub kind: ObligationKind,
    pub licence: LicenceNo,
    pub company: String,
    /// Where the holder files: 工业和信息化部 or the province's 通信管理局.
    pub authority: String,
    pub number: Option<ServiceNumber>,
    /// The business year of an annual report.
    pub year: Option<i32>,
    pub change: Option<ChangeKind>,
    /// The first day the obligation can be met (and reminders may start).
    pub opens: NaiveDate,
    /// The legal deadline. Never moved by the calendar.
    pub due: NaiveDate,
    /// The last day reminders make sense: a renewal is moot after expiry.
    pub ends: Option<NaiveDate>,
    /// No reminders before this day (a person said they are on it).
    pub snoozed_until: Option<NaiveDate>,
    pub note: Option<Note>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Open,
    /// Past the due day. For a renewal: it can no longer be extended, and the
    /// business must stop at expiry.
    Overdue,
    /// Past the last day of a renewal's licence, unrenewed.
    Expired,
}

impl State {
    pub const ALL: [State; 3] = [State::Open, State::Overdue, State::Expired];

    pub fn code(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Overdue => "overdue",
            State::Expired => "expired",
        }
    }
}

impl Obligation {
    /// The agenda's order: soonest due first, then by kind, then by key
    /// (every list of obligations a person or a calendar sees).
    pub fn agenda_order(&self, other: &Obligation) -> std::cmp::Ordering {
        (self.due, self.kind, &self.key).cmp(&(other.due, other.kind, &other.key))
    }

    pub fn state(&self, today: NaiveDate) -> State {
        match self.ends {
            Some(ends) if today > ends => State::Expired,
            _ if today > self.due => State::Overdue,
            _ => State::Open,
        }
    }

    /// Days from `today` to the due day; negative when overdue.
    pub fn days_left(&self, today: NaiveDate) -> i64 {
        (self.due - today).num_days()
    }
}

/// What the register knows of a licence, as the rules need it.
#[derive(Debug, Clone)]
pub struct LicenceFacts {
    pub licence: LicenceNo,
    pub company: String,
    pub authority: String,
    pub issued: NaiveDate,
    /// 有效期至: the last day the licence is valid.
    pub expires: NaiveDate,
    /// Ended early: revoked, cancelled or given up.
    pub ended_on: Option<NaiveDate>,
    /// The renewal mark for the current expiry date, if any.
    pub renewal: Option<RenewalMark>,
    pub reports: Vec<ReportFiled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalMark {
    pub on: NaiveDate,
    /// false: the holder reported it will not continue.
    pub continuing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportFiled {
    /// The business year reported on (年度).
    pub year: i32,
    pub carried_out: bool,
}

#[derive(Debug, Clone)]
pub struct NumberFacts {
    pub number: ServiceNumber,
    /// The province that allocated a 96 number: its 通信管理局, not the
    /// licence's issuer, is who the number's obligations are answered to.
    pub province: Option<Province>,
    pub allocated: NaiveDate,
    pub activated_on: Option<NaiveDate>,
    pub released_on: Option<NaiveDate>,
}

impl LicenceFacts {
    /// The last day the licence is valid: its expiry, or an earlier end.
    pub fn last_day(&self) -> NaiveDate {
        last_day(self.expires, self.ended_on)
    }

    fn obligation(
        &self,
        kind: ObligationKind,
        key: keys::ObligationKey,
        opens: NaiveDate,
        due: NaiveDate,
    ) -> Obligation {
        Obligation {
            key,
            kind,
            licence: self.licence.clone(),
            company: self.company.clone(),
            authority: self.authority.clone(),
            number: None,
            year: None,
            change: None,
            opens,
            due,
            ends: None,
            snoozed_until: None,
            note: None,
        }
    }
}

pub mod keys;

/// The renewal deadline: apply `renewal_lead_days` before expiry.
pub fn renewal_due(expires: NaiveDate, policy: &Policy) -> NaiveDate {
    expires - Days::new(policy.renewal_lead_days.unsigned_abs())
}

/// A licence's last valid day: its expiry, or an earlier end (an end
/// recorded after the expiry changes nothing).
pub fn last_day(expires: NaiveDate, ended_on: Option<NaiveDate>) -> NaiveDate {
    ended_on.map_or(expires, |ended| ended.min(expires))
}

/// The annual report's deadline, (month, day): the end of the first
/// quarter (办法第三十五条: "每年第一季度").
pub const ANNUAL_REPORT_DUE: (u32, u32) = (3, 31);

/// The annual report on business year `year` is filed 1 January – 31 March
/// of the following year.
pub fn annual_report_window(year: i32) -> (NaiveDate, NaiveDate) {
    let next = year + 1;
    let (month, day) = ANNUAL_REPORT_DUE;
    (
        NaiveDate::from_ymd_opt(next, 1, 1).expect("1 January exists"),
        NaiveDate::from_ymd_opt(next, month, day).expect("31 March exists"),
    )
}

/// The latest business year whose annual report is due on or before `until`.
pub fn last_report_year_due(until: NaiveDate) -> i32 {
    if until >= annual_report_window(until.year() - 1).1 {
        until.year() - 1
    } else {
        until.year() - 2
    }
}

/// The first business year whose annual report is still chased on
/// `today`; older ones are let go (`annual_report_lookback_years`), and
/// none is chased for a year after today's.
pub fn first_report_year_chased(today: NaiveDate, policy: &Policy) -> i32 {
    today.year() - 1 - policy.annual_report_lookback_years
}

/// A report on business year `year` is owed only by a licence issued by 31
/// December of that year and still in force on 1 January of the next: an
/// expired or ended licence is not chased for a year it did not finish.
/// (The authorities' yearly notices: "凡在 Y 年12月31日前取得…许可证的企业，
/// 均须在许可有效期内…履行年报义务".)
pub fn annual_report_owed(issued: NaiveDate, last_day: NaiveDate, year: i32) -> bool {
    issued.year() <= year && last_day.year() > year
}

/// Whether a report on business `year` may be put on record for a licence
/// valid from `issued` to `last_day`: it was valid at some time that year.
/// Wider than [`annual_report_owed`]: a licence that ended during a year
/// is not chased for it, but a report on it is still taken.
pub fn annual_report_may_be_filed(issued: NaiveDate, last_day: NaiveDate, year: i32) -> bool {
    issued.year() <= year && year <= last_day.year()
}

pub fn change_filing_due(changed: NaiveDate, policy: &Policy) -> NaiveDate {
    changed + Days::new(policy.change_filing_days.unsigned_abs())
}

pub fn activation_due(allocated: NaiveDate, policy: &Policy) -> NaiveDate {
    add_months(allocated, policy.activation_months)
}

/// How many of the latest filed annual reports in a row said 未开展业务.
pub fn not_carried_out_streak(reports: &[ReportFiled]) -> u32 {
    let mut reports = reports.to_vec();
    reports.sort_by_key(|report| std::cmp::Reverse(report.year));
    let mut streak = 0;
    let mut expected_year = None;
    for report in reports {
        if report.carried_out || expected_year.is_some_and(|year| year != report.year) {
            break;
        }
        streak += 1;
        expected_year = Some(report.year - 1);
    }
    streak
}

/// The licence's own open obligations: its renewal and its annual reports.
pub fn licence_obligations(
    facts: &LicenceFacts,
    today: NaiveDate,
    policy: &Policy,
) -> Vec<Obligation> {
    licence_obligations_due_by(facts, today, policy, |_| NaiveDate::MAX)
}

/// [`licence_obligations`] due on or before `last_due` of their kind: the
/// others are never built (the key and the copied names are most of an
/// obligation's cost, and a due query drops half of what it finds).
pub fn licence_obligations_due_by(
    facts: &LicenceFacts,
    today: NaiveDate,
    policy: &Policy,
    last_due: impl Fn(ObligationKind) -> NaiveDate,
) -> Vec<Obligation> {
    let mut obligations = Vec::new();
    // An ended licence, even one recorded as ended after its expiry, has
    // nothing left to renew.
    if facts.renewal.is_none()
        && facts.ended_on.is_none()
        && renewal_due(facts.expires, policy) <= last_due(ObligationKind::Renewal)
    {
        let due = renewal_due(facts.expires, policy);
        let opens = facts.expires - Days::new(policy.renewal_opens_days.unsigned_abs());
        let key = keys::renewal(&facts.licence, facts.expires);
        let mut renewal = facts.obligation(ObligationKind::Renewal, key, opens.min(due), due);
        renewal.ends = Some(facts.expires);
        obligations.push(renewal);
    }

    let last_report_due = last_due(ObligationKind::AnnualReport);
    // Worked out once, and only for a licence with a report to chase.
    let mut known_streak = None;
    let first_year = facts
        .issued
        .year()
        .max(first_report_year_chased(today, policy));
    let last_day = facts.last_day();
    for year in first_year..=today.year() {
        let filed = facts.reports.iter().any(|report| report.year == year);
        if !annual_report_owed(facts.issued, last_day, year) || filed {
            continue;
        }
        let (opens, due) = annual_report_window(year);
        if due > last_report_due {
            continue;
        }
        let streak = *known_streak.get_or_insert_with(|| not_carried_out_streak(&facts.reports));
        let key = keys::annual_report(&facts.licence, year);
        let mut report = facts.obligation(ObligationKind::AnnualReport, key, opens, due);
        report.year = Some(year);
        report.note = (streak > 0).then_some(Note::NotCarriedOut { years: streak });
        obligations.push(report);
    }
    obligations
}

/// The filing of a company change recorded with register id `change_id`;
/// none once the licence has ended (there is nothing left to keep valid).
pub fn change_obligation(
    facts: &LicenceFacts,
    change_id: i64,
    kind: ChangeKind,
    changed: NaiveDate,
    policy: &Policy,
) -> Option<Obligation> {
    if facts.ended_on.is_some() {
        return None;
    }
    let key = keys::change_filing(&facts.licence, change_id);
    let mut change = facts.obligation(
        ObligationKind::ChangeFiling,
        key,
        changed,
        change_filing_due(changed, policy),
    );
    change.change = Some(kind);
    Some(change)
}

/// Who a number's obligations are answered to: a 96 number's allocating
/// province's 通信管理局, even under a 全网 licence; otherwise the licence's
/// issuer.
pub fn number_authority(facts: &LicenceFacts, number: &NumberFacts) -> String {
    match number.province {
        Some(province) if number.number.is_provincial() => province.authority(),
        _ => facts.authority.clone(),
    }
}

/// A number's open obligations: to be put into service in time, and not to
/// outlive its licence.
pub fn number_obligations(
    facts: &LicenceFacts,
    number: &NumberFacts,
    today: NaiveDate,
    policy: &Policy,
) -> Vec<Obligation> {
    number_obligations_due_by(facts, number, today, policy, |_| NaiveDate::MAX)
}

/// [`number_obligations`] due on or before `last_due` of their kind; the
/// others are never built (see [`licence_obligations_due_by`]).
pub fn number_obligations_due_by(
    facts: &LicenceFacts,
    number: &NumberFacts,
    today: NaiveDate,
    policy: &Policy,
    last_due: impl Fn(ObligationKind) -> NaiveDate,
) -> Vec<Obligation> {
    let mut obligations = Vec::new();
    let last_day = facts.last_day();
    let released = |by: NaiveDate| number.released_on.is_some_and(|on| on <= by);

    let due = activation_due(number.allocated, policy);
    if number.activated_on.is_none()
        && !released(today)
        && last_day >= today
        && due <= last_due(ObligationKind::NumberActivation)
    {
        let key = keys::number_activation(&facts.licence, &number.number, number.allocated);
        let mut activation =
            facts.obligation(ObligationKind::NumberActivation, key, number.allocated, due);
        activation.number = Some(number.number.clone());
        activation.authority = number_authority(facts, number);
        obligations.push(activation);
    }

    // A licence whose renewal is under way is expected to live on: its
    // numbers are a problem only if expiry passes without a new date recorded.
    let renewal_pending = facts.renewal.is_some_and(|mark| mark.continuing)
        && facts.ended_on.is_none()
        && today <= facts.expires;
    // Released on or before the last day, the number never outlived the
    // licence; released later, it did until that day, and no longer.
    if !released(last_day.max(today))
        && !renewal_pending
        && last_day <= last_due(ObligationKind::NumberOutlivesLicence)
    {
        let key = keys::number_outlives_licence(&facts.licence, &number.number, last_day);
        let mut outlives = facts.obligation(
            ObligationKind::NumberOutlivesLicence,
            key,
            last_day,
            last_day,
        );
        outlives.number = Some(number.number.clone());
        outlives.authority = number_authority(facts, number);
        obligations.push(outlives);
    }
    obligations
}

#[cfg(test)]
pub(crate) mod tests;
