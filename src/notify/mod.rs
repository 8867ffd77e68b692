//! Channels: turning one route's alerts into messages people read, and
//! delivering them by e-mail, chat robot or webhook.
//!
//! - `render` is pure: alerts in, text out, in zh-CN or English, for every
//!   channel's format, split to each channel's size limit.
//! - `route` reads the `[routes.NAME]` tables of the config and resolves their
//!   secrets from the environment or from files.
//! - `send` and the channel modules do the I/O and classify every answer as
//!   sent, worth retrying, or permanent.
//!
//! Architecture invariant: nothing here reads the clock. Signature timestamps
//! and the e-mail `Date` come from the `now` the caller passes in.

pub mod budget;
pub mod dingtalk;
pub mod email;
pub mod feishu;
mod http;
pub mod render;
pub mod route;
pub mod send;
pub mod slack;
pub mod webhook;
pub mod wecom;

use sha2::{Digest as _, Sha256};

use crate::plan::Alert;

/// What a notice to the operator is about. Its outbox key is
/// `notice/<kind>/<what>` (the year, the day, the message and the time of
/// its failure, a hash of the rows), so that each is planned once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// No holiday calendar for a year the schedule reaches.
    Holidays,
    /// Nothing due soon: the channel is alive.
    AllClear,
    /// A message could not be delivered.
    Failed,
    /// Register rows set aside because they cannot be read.
    Unreadable,
}

impl NoticeKind {
    const ALL: [NoticeKind; 4] = [
        NoticeKind::Holidays,
        NoticeKind::AllClear,
        NoticeKind::Failed,
        NoticeKind::Unreadable,
    ];

    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::Holidays => "holidays",
            NoticeKind::AllClear => "all_clear",
            NoticeKind::Failed => "failed",
            NoticeKind::Unreadable => "unreadable",
        }
    }

    /// The outbox key of this kind's notice about `what`.
    pub fn key(self, what: impl std::fmt::Display) -> String {
        format!("notice/{}/{what}", self.code())
    }

    /// The kind of a notice key and what it is about; `None` for a key
    /// that is not one of these.
    pub fn of_key(key: &str) -> Option<(NoticeKind, &str)> {
        let (code, what) = key.strip_prefix("notice/")?.split_once('/')?;
        let kind = NoticeKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)?;
        Some((kind, what))
    }
}

/// A stable name for the delivery of `alerts` through route `route`: the
/// same outbox rows give the same id, so a message resent after a crash can be
/// recognised (e-mail `Message-ID`, Standard Webhooks `webhook-id`). The order
/// of the alerts does not matter.
pub fn delivery_id(route: &str, alerts: &[&Alert]) -> String {
    keyed_id(
        route,
        alerts
            .iter()
            .map(|alert| (alert.obligation.key.as_str(), alert.stage.offset)),
    )
}

/// [`delivery_id`] from the (obligation key, stage) of each outbox row, so
/// that the daemon can name a message before it reads the register.
pub fn keyed_id<'a>(route: &str, keys: impl Iterator<Item = (&'a str, i64)>) -> String {
    let mut keys: Vec<String> = keys
        .map(|(key, stage)| format!("{key}\u{1f}{stage}"))
        .collect();
    keys.sort();
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    for key in keys {
        hasher.update(b"\x1e");
        hasher.update(key.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The message id of daemon notice `id` sent through `route`.
pub fn notice_id(route: &str, id: &str) -> String {
    delivery_id(&format!("{route}/{id}"), &[])
}
