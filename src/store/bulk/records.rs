//! The import's records and what it reports: the rows a sheet gives, the
//! changes and problems it finds, and a row of the export.

use chrono::NaiveDate;
use thiserror::Error;

use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::ObligationKind;
use crate::domain::province::Province;
use crate::domain::uscc::Uscc;
use crate::store::{Company, Direction, Licence, NumberRow, StoreError};

/// A column of the import and export format, in the order export writes
/// them. The store names the column a problem is about; the CLI knows the
/// header the file used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    LicenceNumber,
    HolderName,
    Uscc,
    Items,
    Issued,
    Expires,
    Number,
    NumberProvince,
    Allocated,
    Emails,
    ActivatedOn,
    Carrier,
    Direction,
    ReleasedOn,
    Authority,
    EndedOn,
    EndReason,
    Address,
    LegalRep,
    Contact,
    Phone,
    ReportedThrough,
    RenewalSubmitted,
    NotCarriedOut,
}

/// Why one row of an import cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The row as the person sees it in the file: in a sheet the header is
    /// row 1; in a JSON array the first object is row 1.
    pub row: usize,
    /// `None` when the row as a whole is wrong, e.g. it has too few cells.
    pub field: Option<Field>,
    pub value: String,
    /// The domain's message: it names the value and the accepted form.
    pub reason: String,
}

/// A company as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRecord {
    /// The first row naming the company, for problems.
    pub row: usize,
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    pub legal_rep: Option<String>,
    /// Replaces the contact list when given.
    pub emails: Option<Vec<String>>,
    /// The person at the client an agency calls (联系人), and their phone.
    pub contact: Option<String>,
    pub phone: Option<String>,
}

/// The day a licence ended early, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub on: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRecord {
    pub row: usize,
    pub number: LicenceNo,
    pub holder: Uscc,
    pub items: Vec<ItemCode>,
    pub issued: NaiveDate,
    pub expires: Option<NaiveDate>,
    /// The expiry a new licence gets when the file gives none: the usual
    /// validity, which is policy, so the caller works it out.
    pub default_expires: NaiveDate,
    /// Defaults to the scope's authority for a new licence.
    pub authority: Option<String>,
    pub ended: Option<Ended>,
    /// What was filed before licwatch kept the register.
    pub past: Past,
}

/// The state of a licence's obligations when the register starts: what an
/// agency's sheet says was done before, so that those are not reported as
/// overdue on the first day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Past {
    /// Every annual report up to this business year was filed (已报年报年度).
    pub reported_through: Option<i32>,
    /// The last of those reports said 未开展业务.
    pub last_not_carried_out: Option<bool>,
    /// The renewal of the licence's current expiry was applied for on this
    /// day (续期提交日期).
    pub renewal_submitted: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    pub row: usize,
    pub number: ServiceNumber,
    /// The allocating province of a 96 number, already resolved against the
    /// licence's scope.
    pub province: Option<Province>,
    pub licence: LicenceNo,
    pub allocated: NaiveDate,
    pub activated_on: Option<NaiveDate>,
    pub carrier: Option<String>,
    /// A new number put into service without one is inbound, the default
    /// filing (工信部信管〔2020〕81号).
    pub direction: Option<Direction>,
    pub released_on: Option<NaiveDate>,
}

/// A file's rows merged into one record per company, licence and number.
/// Every licence's holder and every number's licence are in the batch too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub companies: Vec<CompanyRecord>,
    pub licences: Vec<LicenceRecord>,
    pub numbers: Vec<NumberRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Plan and report; write nothing.
    DryRun,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Company,
    Licence,
    Number,
}

impl Entity {
    pub fn code(self) -> &'static str {
        match self {
            Entity::Company => "company",
            Entity::Licence => "licence",
            Entity::Number => "number",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Add,
    Update,
}

/// One company, licence or number the import adds or updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub entity: Entity,
    pub edit: Edit,
    /// The USCC, licence number or number (with its province).
    pub key: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub companies: Tally,
    pub licences: Tally,
    pub numbers: Tally,
    pub changes: Vec<Change>,
    /// What a person should look at: an import corrects data, it does not
    /// record company changes, which need the day they happened.
    pub notes: Vec<String>,
    /// The annual reports and renewals recorded as filed before.
    pub past: PastTally,
    /// With a forecast asked for: the obligations that will be overdue once
    /// the import is written, by kind and year, soonest first.
    pub overdue: Vec<Overdue>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PastTally {
    pub reports: usize,
    pub renewals: usize,
}

/// How many obligations of one kind and year will be overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    pub kind: ObligationKind,
    /// The business year of an annual report; the due year of the others.
    pub year: i32,
    pub count: usize,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{} problems in the file; nothing was written", .0.len())]
    Rows(Vec<RowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(error: rusqlite::Error) -> Self {
        ImportError::Store(error.into())
    }
}

/// One row of the register in the import format: a licence with one of its
/// numbers, a licence without numbers, or a company without licences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub company: Company,
    pub licence: Option<Licence>,
    /// What the register records as filed, in the import's terms: an
    /// export re-imported adds nothing.
    pub past: Past,
    pub number: Option<NumberRow>,
}
