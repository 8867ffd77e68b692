//! Sending through real protocol implementations on loopback: an SMTP server
//! nobody in this repo wrote, and HTTP fakes of the chat robots that check
//! what the real services check and answer what they answer. Nothing here
//! contacts anything but 127.0.0.1, sleeps, or reads the wall clock.

mod chat;
pub mod fake;
mod hostile;
pub mod robots;
pub mod smtp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use licwatch::config::routes::RouteSpec;
use licwatch::domain::obligation::{Obligation, ObligationKind, State};
use licwatch::notify::route::Route;
use licwatch::notify::route::secrets::Secrets;
use licwatch::plan::{Alert, Severity, Stage};

/// Secrets from maps, so that nothing touches the process environment.
#[derive(Default)]
pub struct MapSecrets {
    vars: HashMap<String, String>,
    files: HashMap<PathBuf, String>,
}

impl MapSecrets {
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn file(mut self, path: &str, value: &str) -> Self {
        self.files.insert(PathBuf::from(path), value.to_owned());
        self
    }
}

impl Secrets for MapSecrets {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

pub fn route(name: &str, table: &str, secrets: &MapSecrets) -> Route {
    let spec: RouteSpec = toml::from_str(table).expect("test route tables parse");
    spec.resolve(name, secrets).expect("test routes resolve")
}

/// A fixed instant: tests never read the clock.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("in range")
}

/// `count` renewal alerts of distinct licences.
pub fn alerts(count: usize) -> Vec<Alert> {
    (0..count)
        .map(|i| {
            let due = NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date");
            let licence = format!("B2-2020{i:04}");
            let obligation = Obligation {
                key: format!("renewal/{licence}/2026-11-30")
                    .parse()
                    .expect("valid key"),
                kind: ObligationKind::Renewal,
                licence: licence.parse().expect("valid licence"),
                company: format!("示例呼叫中心{i}号有限公司"),
                authority: "工业和信息化部".to_owned(),
                number: None,
                year: None,
                change: None,
                opens: due - chrono::Days::new(120),
                due,
                ends: None,
                snoozed_until: None,
                note: None,
            };
            Alert {
                obligation,
                stage: Stage {
                    offset: -30,
                    nominal: due - chrono::Days::new(30),
                    send_on: due - chrono::Days::new(30),
                    skipped: Vec::new(),
                    severity: Severity::Warning,
                },
                state: State::Open,
                days_left: 30,
            }
        })
        .collect()
}
