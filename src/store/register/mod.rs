//! Reading and writing the register's rows: the types here, the work in one
//! file per thing the register holds.

mod companies;
mod history;
mod licences;
mod marks;
mod numbers;
mod rows;

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::Store;
use crate::domain::change::ChangeKind;
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::NumberFacts;
use crate::domain::province::Province;
use crate::domain::uscc::Uscc;

pub use companies::check_email;
pub(in crate::store) use companies::set_emails;
pub(in crate::store) use history::{history, history_row};
pub(in crate::store) use licences::Reports;
pub(in crate::store) use marks::{
    refresh_renewal_mark, refresh_reported_through, reported_through,
};
pub(in crate::store) use rows::{
    COMPANY_COLUMNS, LICENCE_COLUMNS, NUMBER_COLUMNS, all_rows, company_row, each_row, licence_row,
    number_row, parsed,
};

/// Who changes the register, and when: every write leaves a history row.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The OS user (CLI) or the web account.
    pub user: String,
    pub at: DateTime<Utc>,
    pub source: Source,
    /// What the person gave as proof of the act, kept with its history row.
    pub evidence: Evidence,
}

impl Stamp {
    /// A change made from the command line by `user`, with no evidence.
    pub fn cli(user: String, at: DateTime<Utc>) -> Stamp {
        Stamp {
            user,
            at,
            source: Source::Cli,
            evidence: Evidence::default(),
        }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Cli,
    /// The web console, from this peer address (or the address a trusted
    /// proxy said).
    Web {
        address: String,
    },
}

/// The receipt or case number from the authority's system, and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub receipt: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: i64,
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    /// The person at the client an agency calls (联系人), and their phone.
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub emails: Vec<String>,
    /// Config routes this company's alerts also go to.
    pub routes: Vec<String>,
}

/// Who holds a licence, as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub uscc: String,
    pub emails: Vec<String>,
    pub routes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CompanyUpdate {
    pub name: Option<String>,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    /// Replaces the contact list when given.
    pub emails: Option<Vec<String>>,
    /// Replaces the company's own routes when given.
    pub routes: Option<Vec<String>>,
    /// The day the company changed, for the filings it opens.
    pub changed_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct NewLicence {
    pub number: LicenceNo,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
    pub authority: String,
}

#[derive(Debug, Clone, Default)]
pub struct LicenceUpdate {
    pub items: Option<Vec<ItemCode>>,
    pub issued: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub authority: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub id: i64,
    pub number: LicenceNo,
    pub company_id: i64,
    pub company: String,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub authority: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
    Both,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Both => "both",
        }
    }
}

impl FromStr for Direction {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "inbound" | "呼入" => Ok(Direction::Inbound),
            "outbound" | "呼出" => Ok(Direction::Outbound),
            "both" | "双向" => Ok(Direction::Both),
            _ => Err(format!(
                "direction \"{text}\": unknown (accepted: inbound, outbound, both)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub id: i64,
    pub number: ServiceNumber,
    /// The allocating province of a 96 number.
    pub province: Option<Province>,
    pub licence: LicenceNo,
    pub allocated: NaiveDate,
    pub activated_on: Option<NaiveDate>,
    pub carrier: Option<String>,
    pub direction: Option<Direction>,
    pub released_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: i64,
    pub licence: LicenceNo,
    pub kind: ChangeKind,
    pub changed_on: NaiveDate,
    pub filed_on: Option<NaiveDate>,
}

/// A snooze: no reminders for `obligation` before `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnoozeRow {
    pub obligation: String,
    pub until: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub at: String,
    pub user: String,
    pub licence: Option<String>,
    pub action: String,
    pub detail: String,
    pub source: Source,
    pub evidence: Evidence,
}

/// Numbers, each with the id of its licence.
pub(super) type NumbersOf = Vec<(i64, NumberFacts)>;

impl Store {
    pub(super) fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }
}
