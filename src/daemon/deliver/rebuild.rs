//! The alerts behind some outbox rows, rebuilt from the register as it is
//! now, and the text of a stored notice in a route's language.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::Message;
use crate::config::Config;
use crate::domain::licence::LicenceNo;
use crate::domain::obligation::Obligation;
use crate::notify::route::Route;
use crate::plan::{Alert, Stage};
use crate::store::{OutboxRow, RowOutcome, Store};

/// The alerts of some outbox rows as the register has them now.
pub(super) struct Rebuilt {
    pub(super) alerts: Vec<Alert>,
    /// The outbox row of each alert, by position.
    pub(super) row_ids: Vec<i64>,
    /// Rows not sent now: cancelled (done, gone, snoozed) or kept for later
    /// (the licence could not be read).
    pub(super) settled: Vec<(i64, RowOutcome)>,
}

pub(super) fn rebuild_alerts(
    store: &Store,
    config: &Config,
    rows: &[&OutboxRow],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Rebuilt {
    // Every licence of the message in one set of queries, not several
    // queries a licence.
    let mut unreadable: HashMap<String, String> = HashMap::new();
    let mut licences: Vec<&str> = Vec::new();
    for licence in rows.iter().filter_map(|row| row.planned.licence.as_deref()) {
        match licence.parse::<LicenceNo>() {
            Ok(_) => licences.push(licence),
            // An outbox row edited by hand is not a reason to drop the
            // alert: keep it and try again.
            Err(e) => {
                unreadable.insert(
                    licence.to_owned(),
                    format!("reading licence {licence}: {e}"),
                );
            }
        }
    }
    licences.sort_unstable();
    licences.dedup();
    let mut open: HashMap<String, Obligation> = HashMap::new();
    match store.open_obligations_of_licences(&licences, today, &config.policy) {
        Ok(read) => {
            open.extend(read.obligations.into_iter().map(|o| (o.key.to_string(), o)));
            for (licence, bad) in read.unreadable {
                unreadable.insert(licence.clone(), format!("reading licence {licence}: {bad}"));
            }
        }
        // A busy database: every alert waits for the next attempt.
        Err(e) => {
            for licence in licences {
                unreadable.insert(
                    licence.to_owned(),
                    format!("reading licence {licence}: {e}"),
                );
            }
        }
    }
    for (licence, error) in &unreadable {
        tracing::error!(licence = %licence, "reading the licence to send its alerts: {error}");
    }
    let mut rebuilt = Rebuilt {
        alerts: Vec::new(),
        row_ids: Vec::new(),
        settled: Vec::new(),
    };
    for row in rows {
        if let Some(error) = row
            .planned
            .licence
            .as_ref()
            .and_then(|licence| unreadable.get(licence))
        {
            // Set aside, out of its message: the other rows go now, and this
            // one goes in a message of its own once it can be read.
            let alone = Message::of([*row]).expect("one row");
            let outcome = match alone
                .retry_or_give_up(error, alone.next_attempt(None, &config.delivery, now))
            {
                RowOutcome::Retry {
                    error,
                    next_attempt_at,
                } => RowOutcome::SetAside {
                    error,
                    next_attempt_at,
                },
                outcome => outcome,
            };
            rebuilt.settled.push((row.id, outcome));
            continue;
        }
        let Some(obligation) = open.get(&row.planned.obligation) else {
            rebuilt.settled.push((
                row.id,
                RowOutcome::Cancelled {
                    reason: "done or no longer open before it was sent".to_owned(),
                },
            ));
            continue;
        };
        if let Some(until) = obligation.snoozed_until.filter(|until| today < *until) {
            rebuilt.settled.push((
                row.id,
                RowOutcome::Cancelled {
                    reason: format!("snoozed until {until}"),
                },
            ));
            continue;
        }
        rebuilt.alerts.push(Alert {
            state: obligation.state(today),
            days_left: obligation.days_left(today),
            obligation: obligation.clone(),
            stage: Stage {
                offset: row.planned.stage,
                nominal: row.planned.nominal,
                send_on: row.planned.send_on,
                skipped: Vec::new(),
                severity: row.planned.severity,
            },
        });
        rebuilt.row_ids.push(row.id);
    }
    rebuilt
}

pub(super) fn notice_text(row: &OutboxRow, route: &Route) -> String {
    let texts: serde_json::Value = row
        .planned
        .notice
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let key = match route.lang {
        crate::domain::lang::Lang::Zh => "zh",
        crate::domain::lang::Lang::En => "en",
    };
    texts[key]
        .as_str()
        .unwrap_or(&row.planned.obligation)
        .to_owned()
}
