use chrono::{DateTime, NaiveDate, Utc};
use expect_test::{Expect, expect};
use serde_json::Value;

use super::layout::*;
use super::*;
use crate::domain::change::ChangeKind;
use crate::domain::obligation::{Note, Obligation};
use crate::plan::Stage;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test dates exist")
}

/// An alert as `plan` makes them; the fields that matter are arguments.
pub(crate) fn alert(
    kind: ObligationKind,
    key: &str,
    due: NaiveDate,
    offset: i64,
    severity: Severity,
    days_left: i64,
) -> Alert {
    let number = match kind {
        ObligationKind::NumberActivation => Some("962345".parse().expect("valid number")),
        ObligationKind::NumberOutlivesLicence => Some("961234".parse().expect("valid number")),
        _ => None,
    };
    let obligation = Obligation {
        key: key.parse().expect("a valid key"),
        kind,
        licence: "京B2-20201234".parse().expect("valid licence"),
        company: "北京示例呼叫中心有限公司".to_owned(),
        authority: "北京市通信管理局".to_owned(),
        number,
        year: (kind == ObligationKind::AnnualReport).then_some(2025),
        change: (kind == ObligationKind::ChangeFiling).then_some(ChangeKind::Name),
        opens: due - chrono::Days::new(30),
        due,
        ends: None,
        snoozed_until: None,
        note: None,
    };
    let nominal = due + chrono::Duration::days(offset);
    Alert {
        state: if days_left < 0 {
            State::Overdue
        } else {
            State::Open
        },
        days_left,
        obligation,
        stage: Stage {
            offset,
            nominal,
            send_on: nominal,
            skipped: Vec::new(),
            severity,
        },
    }
}

/// One alert of every kind and state worth a different text.
pub(crate) fn every_kind() -> Vec<Alert> {
    use ObligationKind::*;
    let early_renewal = alert(
        Renewal,
        "renewal/京B2-20201234/2026-11-30",
        d(2026, 9, 1),
        -90,
        Severity::Info,
        92,
    );
    let mut expired = alert(
        Renewal,
        "renewal/京B2-20201234/2026-02-27",
        d(2025, 11, 29),
        90,
        Severity::Critical,
        -184,
    );
    expired.state = State::Expired;
    expired.obligation.ends = Some(d(2026, 2, 27));
    let mut report = alert(
        AnnualReport,
        "annual_report/京B2-20201234/2025",
        d(2026, 3, 31),
        63,
        Severity::Critical,
        -62,
    );
    report.obligation.opens = d(2026, 1, 1);
    report.obligation.note = Some(Note::NotCarriedOut { years: 2 });
    vec![
        early_renewal,
        alert(
            ChangeFiling,
            "change_filing/京B2-20201234/17",
            d(2026, 6, 19),
            -14,
            Severity::Warning,
            18,
        ),
        expired,
        alert(
            NumberActivation,
            "number_activation/京B2-20201234/95123/2026-01-10",
            d(2026, 7, 10),
            -30,
            Severity::Warning,
            39,
        ),
        report,
        alert(
            NumberOutlivesLicence,
            "number_outlives_licence/京B2-20201234/961234/2026-05-30",
            d(2026, 5, 30),
            2,
            Severity::Critical,
            -2,
        ),
        alert(
            Renewal,
            "renewal/京B2-20201234/2026-09-08",
            d(2026, 6, 10),
            0,
            Severity::Critical,
            0,
        ),
    ]
}

fn two() -> Vec<Alert> {
    let mut alerts = every_kind();
    vec![alerts.remove(5), alerts.remove(0)]
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("in range")
}

fn check_text(text: &str, expect: Expect) {
    expect.assert_eq(text);
}

fn check_json(value: &Value, expect: Expect) {
    expect.assert_eq(&serde_json::to_string_pretty(value).expect("JSON values serialise"));
}

mod digest;
mod formats;
mod links;
