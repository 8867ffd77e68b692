//! The import format: which column is which, and rows of cells into the
//! records the store imports, each value checked with the domain's parsers
//! so that a refused cell is reported in the same words as on the command
//! line.
//!
//! One row is one licence and optionally one of its numbers; a licence with
//! several numbers takes several rows, which must agree on the licence. A
//! row with no licence columns filled registers only its company. An empty
//! cell is "not given": it never clears what the register holds.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use thiserror::Error;

use super::sheet::{Cell, Line};
use crate::domain::date::{ACCEPTED_DATES, default_expiry, excel_serial, parse_date};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::rules::{self, RuleField};
use crate::domain::text::normalize;
use crate::domain::uscc::Uscc;
use crate::store::{
    Batch, CompanyRecord, Direction, Ended, Field, LicenceRecord, NumberRecord, Past, RowProblem,
    check_email,
};

/// No cell of a client list is anywhere near this long; a longer one is a
/// wrong column or a damaged file, and is not echoed back whole.
pub const MAX_CELL_CHARS: usize = 1000;

/// How much of a refused value a problem quotes.
const QUOTE_CHARS: usize = 60;

pub struct Column {
    pub field: Field,
    /// The header export writes to CSV and XLSX.
    pub chinese: &'static str,
    /// The header export writes to JSON; import takes either.
    pub english: &'static str,
    /// Other headers seen in clients' sheets.
    aliases: &'static [&'static str],
}

const fn column(
    field: Field,
    chinese: &'static str,
    english: &'static str,
    aliases: &'static [&'static str],
) -> Column {
    Column {
        field,
        chinese,
        english,
        aliases,
    }
}

/// Every column, in `Field` order, which is the order export writes. The
/// aliases are the names agencies' own sheets use (docs/agency.md lists
/// them); a header matches after [`header_key`] folds both.
pub const COLUMNS: [Column; 24] = [
    column(
        Field::LicenceNumber,
        "许可证编号",
        "licence_number",
        &[
            "license_number",
            "licence_no",
            "license_no",
            "许可证号",
            "许可证号码",
            "证书编号",
            "经营许可证编号",
            "经营许可证号",
            "增值电信业务经营许可证编号",
            "许可证",
        ],
    ),
    column(
        Field::HolderName,
        "持证单位",
        "holder_name",
        &[
            "holder",
            "company",
            "company_name",
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "持证公司",
            "经营者名称",
            "客户",
        ],
    ),
    column(
        Field::Uscc,
        "统一社会信用代码",
        "uscc",
        &[
            "credit_code",
            "信用代码",
            "社会信用代码",
            "统一信用代码",
            "统一代码",
        ],
    ),
    column(
        Field::Items,
        "业务种类",
        "items",
        &["业务类别", "业务类型", "业务种类代码", "经营业务", "业务"],
    ),
    column(
        Field::Issued,
        "发证日期",
        "issued",
        &[
            "issue_date",
            "颁发日期",
            "发证时间",
            "发证日",
            "首次发证日期",
        ],
    ),
    column(
        Field::Expires,
        "有效期至",
        "expires",
        &[
            "expiry",
            "expiry_date",
            "valid_until",
            "到期日期",
            "到期日",
            "到期时间",
            "有效期截止",
            "有效期截止日期",
            "有效期截至",
            "截止日期",
        ],
    ),
    column(
        Field::Number,
        "码号",
        "number",
        &["号码", "呼叫中心号码", "接入号码", "接入号", "码号号码"],
    ),
    column(
        Field::NumberProvince,
        "码号省份",
        "number_province",
        &["号码省份", "码号所属省份"],
    ),
    column(
        Field::Allocated,
        "分配日期",
        "allocated",
        &["码号分配日期", "核配日期", "批复日期"],
    ),
    column(
        Field::Emails,
        "联系邮箱",
        "email",
        &["emails", "邮箱", "电子邮箱", "电子邮件"],
    ),
    column(
        Field::ActivatedOn,
        "启用日期",
        "activated_on",
        &["开通日期", "启用时间"],
    ),
    column(Field::Carrier, "运营商", "carrier", &["接入运营商"]),
    column(Field::Direction, "方向", "direction", &["呼叫方向"]),
    column(
        Field::ReleasedOn,
        "退还日期",
        "released_on",
        &["收回日期", "退号日期"],
    ),
    column(
        Field::Authority,
        "发证机关",
        "authority",
        &["发证机构", "颁发机关", "发证单位"],
    ),
    column(Field::EndedOn, "终止日期", "ended_on", &["注销日期"]),
    column(Field::EndReason, "终止原因", "end_reason", &["注销原因"]),
    column(
        Field::Address,
        "注册地址",
        "address",
        &["地址", "公司地址", "住所"],
    ),
    column(
        Field::LegalRep,
        "法定代表人",
        "legal_rep",
        &["法人", "法人代表", "legal_representative"],
    ),
    column(Field::Contact, "联系人", "contact", &["客户联系人"]),
    column(
        Field::Phone,
        "联系电话",
        "phone",
        &["电话", "手机", "手机号", "联系方式", "联系人电话"],
    ),
    column(
        Field::ReportedThrough,
        "已报年报年度",
        "reported_through",
        &["年报已报至", "已报年度", "年报年度", "已报年报"],
    ),
    column(
        Field::RenewalSubmitted,
        "续期提交日期",
        "renewal_submitted",
        &["续期申请日期", "延续申请日期", "续期日期"],
    ),
    column(
        Field::NotCarriedOut,
        "未开展业务",
        "not_carried_out",
        &["年报未开展业务", "上年未开展业务"],
    ),
];

/// Every row names these.
const REQUIRED: [Field; 2] = [Field::HolderName, Field::Uscc];

/// The licence and number columns: a row that fills none of them registers
/// only its company.
const LICENCE_FIELDS: [Field; 17] = [
    Field::ReportedThrough,
    Field::RenewalSubmitted,
    Field::NotCarriedOut,
    Field::LicenceNumber,
    Field::Items,
    Field::Issued,
    Field::Expires,
    Field::Authority,
    Field::EndedOn,
    Field::EndReason,
    Field::Number,
    Field::NumberProvince,
    Field::Allocated,
    Field::ActivatedOn,
    Field::Carrier,
    Field::Direction,
    Field::ReleasedOn,
];

const NUMBER_FIELDS: [Field; 6] = [
    Field::NumberProvince,
    Field::Allocated,
    Field::ActivatedOn,
    Field::Carrier,
    Field::Direction,
    Field::ReleasedOn,
];

pub fn column_of(field: Field) -> &'static Column {
    &COLUMNS[field as usize]
}

/// How a header is compared: full-width forms folded, case ignored, and
/// everything but letters and digits dropped (spaces, `_`, `-`, the `*`
/// of a required column), after a trailing note in brackets such as
/// `有效期至（年月日）`.
fn header_key(text: &str) -> String {
    let text = normalize(text);
    let text = match text.strip_suffix(')') {
        Some(rest) => rest
            .rsplit_once('(')
            .map_or(text.as_str(), |(head, _)| head),
        None => text.as_str(),
    };
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The column a header names, if any.
fn column_named(header: &str) -> Option<&'static Column> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    COLUMNS.iter().find(|c| {
        header_key(c.chinese) == key
            || header_key(c.english) == key
            || c.aliases.iter().any(|alias| header_key(alias) == key)
    })
}

/// Whether `header` names a column of the import format: what header-row
/// detection counts.
pub fn is_known_header(header: &str) -> bool {
    column_named(header).is_some()
}

/// The accepted headers, once, for a message: each column's Chinese and
/// English name (the aliases are in docs/agency.md).
pub fn accepted_headers() -> String {
    COLUMNS
        .iter()
        .map(|c| format!("{}/{}", c.chinese, c.english))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderProblem {
    #[error(
        "column {position} \"{header}\": not a column of the import format (--strict refuses unknown columns; without it they are ignored)"
    )]
    Unknown { position: usize, header: String },
    #[error("columns {first} and {second} are both {header}: keep one")]
    Twice {
        header: &'static str,
        first: usize,
        second: usize,
    },
    #[error("no {chinese}/{english} column: every row needs one")]
    Missing {
        chinese: &'static str,
        english: &'static str,
    },
    #[error(
        "column {position} has no header but row {row} has a value in it (--strict refuses unnamed columns; without it they are ignored)"
    )]
    Unnamed { position: usize, row: usize },
}

/// Whether columns the format does not know are refused (`--strict`) or
/// ignored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Ignore,
    Refuse,
}

/// Which cell holds each field, and the header the file used for it.
#[derive(Debug, Clone)]
pub struct Layout {
    width: usize,
    /// By `Field as usize`: the cell index and the file's header.
    columns: Vec<Option<(usize, String)>>,
    /// The columns left out: their headers, or `column N` for a column
    /// with values but no header.
    pub ignored: Vec<String>,
}

impl Layout {
    pub fn new(
        headers: &[String],
        lines: &[Line],
        unknown: Unknown,
    ) -> Result<Layout, Vec<HeaderProblem>> {
        let mut columns: Vec<Option<(usize, String)>> = vec![None; COLUMNS.len()];
        let mut problems = Vec::new();
        let mut ignored = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            if header_key(header).is_empty() {
                let used = lines.iter().find(|line| {
                    line.cells
                        .get(index)
                        .is_some_and(|cell| *cell != Cell::Empty)
                });
                if let Some(line) = used {
                    match unknown {
                        Unknown::Refuse => problems.push(HeaderProblem::Unnamed {
                            position: index + 1,
                            row: line.row,
                        }),
                        Unknown::Ignore => ignored.push(format!("column {}", index + 1)),
                    }
                }
                continue;
            }
            let Some(column) = column_named(header) else {
                match unknown {
                    Unknown::Refuse => problems.push(HeaderProblem::Unknown {
                        position: index + 1,
                        header: header.clone(),
                    }),
                    Unknown::Ignore => ignored.push(header.trim().to_owned()),
                }
                continue;
            };
            let slot = &mut columns[column.field as usize];
            match slot {
                Some((first, _)) => problems.push(HeaderProblem::Twice {
                    header: column.chinese,
                    first: *first + 1,
                    second: index + 1,
                }),
                None => *slot = Some((index, header.trim().to_owned())),
            }
        }
        for field in REQUIRED {
            if columns[field as usize].is_none() {
                let column = column_of(field);
                problems.push(HeaderProblem::Missing {
                    chinese: column.chinese,
                    english: column.english,
                });
            }
        }
        if problems.is_empty() {
            Ok(Layout {
                width: headers.len(),
                columns,
                ignored,
            })
        } else {
            Err(problems)
        }
    }

    /// The header the file used for `field`, or the Chinese one.
    pub fn header(&self, field: Field) -> &str {
        self.columns[field as usize]
            .as_ref()
            .map_or(column_of(field).chinese, |(_, header)| header.as_str())
    }
}

/// A value as read from one cell, before the domain's parser sees it.
enum Raw {
    Text(String),
    Date(NaiveDate),
}

/// The first characters of a value, for a message.
pub fn quote(text: &str) -> String {
    let mut quoted: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().nth(QUOTE_CHARS).is_some() {
        quoted.push('…');
    }
    quoted
}

/// `9.14403E+17`: how Excel shows, and saves to CSV, a long code it took
/// for a number. The digits after the sixth are gone.
fn is_scientific(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// A large number as Excel's General format shows it: `9.14403E+17`.
fn as_excel_shows(n: f64) -> String {
    let text = format!("{n:.5E}");
    let (mantissa, exponent) = text.split_once('E').unwrap_or((&text, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    match exponent.strip_prefix('-') {
        Some(negative) => format!("{mantissa}E-{negative:0>2}"),
        None => format!("{mantissa}E+{exponent:0>2}"),
    }
}

fn excel_numbers(header: &str, shown: &str) -> String {
    format!(
        "{header} \"{shown}\": Excel turned this column into numbers and rounded the value; format the column as text and type the code again"
    )
}

/// The date columns: cells that may be date cells or serials.
pub fn is_date(field: Field) -> bool {
    matches!(
        field,
        Field::Issued
            | Field::Expires
            | Field::Allocated
            | Field::ActivatedOn
            | Field::ReleasedOn
            | Field::EndedOn
            | Field::RenewalSubmitted
    )
}

/// One row being read: the values taken so far and the problems found.
struct RowReader<'a> {
    layout: &'a Layout,
    line: &'a Line,
    problems: Vec<RowProblem>,
}

/// A cell that held something but could not be read; already reported.
struct Refused;

impl RowReader<'_> {
    fn refuse(&mut self, field: Field, value: &str, reason: String) -> Refused {
        self.problems.push(RowProblem {
            row: self.line.row,
            field: Some(field),
            value: quote(value),
            reason,
        });
        Refused
    }

    fn raw(&mut self, field: Field) -> Result<Option<Raw>, Refused> {
        let Some((index, _)) = &self.layout.columns[field as usize] else {
            return Ok(None);
        };
        let header = self.layout.header(field);
        match self.line.cells.get(*index).unwrap_or(&Cell::Empty) {
            Cell::Empty => Ok(None),
            Cell::Text(text) => {
                let length = text.chars().count();
                if length > MAX_CELL_CHARS {
                    return Err(self.refuse(
                        field,
                        text,
                        format!(
                            "{header}: the cell holds {length} characters, more than the {MAX_CELL_CHARS} a cell may (is this the right column?)"
                        ),
                    ));
                }
                let text = text.trim();
                if is_scientific(text) {
                    return Err(self.refuse(field, text, excel_numbers(header, text)));
                }
                // A number column saved from Excel as "95123.0": the digits
                // are all there.
                let text = match text.strip_suffix(".0") {
                    Some(whole)
                        if matches!(field, Field::Number | Field::Phone)
                            && !whole.is_empty()
                            && whole.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        whole
                    }
                    _ => text,
                };
                Ok((!text.is_empty()).then(|| Raw::Text(text.to_owned())))
            }
            Cell::Date(date) => Ok(Some(Raw::Date(*date))),
            Cell::Number(n) if is_date(field) => match excel_serial(*n) {
                Some(date) => Ok(Some(Raw::Date(date))),
                None => Err(self.refuse(
                    field,
                    &n.to_string(),
                    format!("{header} \"{n}\": not a date (accepted: {ACCEPTED_DATES})"),
                )),
            },
            // Integers up to 15 digits survive a spreadsheet exactly; a
            // longer one (an 18-digit USCC typed as a number) was rounded.
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                Ok(Some(Raw::Text(format!("{n:.0}"))))
            }
            Cell::Number(n) => {
                let shown = as_excel_shows(*n);
                Err(self.refuse(field, &shown, excel_numbers(header, &shown)))
            }
            Cell::Invalid(what) => {
                let what = what.clone();
                Err(self.refuse(
                    field,
                    &what,
                    format!("{header}: the cell holds {what}, not a value"),
                ))
            }
        }
    }

    fn text(&mut self, field: Field) -> Result<Option<String>, Refused> {
        Ok(self.raw(field)?.map(|raw| match raw {
            Raw::Text(text) => text,
            Raw::Date(date) => date.to_string(),
        }))
    }

    fn required_text(&mut self, field: Field, example: &str) -> Result<String, Refused> {
        match self.text(field)? {
            Some(text) => Ok(text),
            None => {
                let header = self.layout.header(field);
                Err(self.refuse(
                    field,
                    "",
                    format!("{header}: empty (every row with a licence needs it, e.g. {example})"),
                ))
            }
        }
    }

    fn parsed<T>(&mut self, field: Field) -> Result<Option<T>, Refused>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        text.parse()
            .map(Some)
            .map_err(|e: T::Err| self.refuse(field, &text, e.to_string()))
    }

    fn date(&mut self, field: Field) -> Result<Option<NaiveDate>, Refused> {
        let header = self.layout.header(field);
        match self.raw(field)? {
            None => Ok(None),
            Some(Raw::Date(date)) => Ok(Some(date)),
            Some(Raw::Text(text)) => parse_date(header, &text)
                .map(Some)
                .map_err(|e| self.refuse(field, &text, e.to_string())),
        }
    }

    fn required_date(&mut self, field: Field) -> Result<NaiveDate, Refused> {
        match self.date(field)? {
            Some(date) => Ok(date),
            None => {
                let header = self.layout.header(field);
                Err(self.refuse(
                    field,
                    "",
                    format!("{header}: empty (every row with a licence needs it, e.g. 2026-03-31)"),
                ))
            }
        }
    }

    fn emails(&mut self) -> Result<Option<Vec<String>>, Refused> {
        let Some(text) = self.text(Field::Emails)? else {
            return Ok(None);
        };
        let mut emails = Vec::new();
        for part in text
            .split(|c: char| matches!(c, ';' | '；' | ',' | '，' | '、') || c.is_whitespace())
            .filter(|part| !part.is_empty())
        {
            match check_email(part) {
                Ok(email) => emails.push(email),
                Err(_) => {
                    let header = self.layout.header(Field::Emails);
                    return Err(self.refuse(
                        Field::Emails,
                        &text,
                        format!(
                            "{header} \"{}\": \"{}\" is not an address (expected addresses like compliance@example.com, several separated by ; or ，)",
                            quote(&text),
                            quote(part)
                        ),
                    ));
                }
            }
        }
        emails.sort();
        emails.dedup();
        Ok(Some(emails))
    }

    fn province(&mut self) -> Result<Option<Province>, Refused> {
        let Some(text) = self.text(Field::NumberProvince)? else {
            return Ok(None);
        };
        match Province::parse(&normalize(&text)) {
            Some(province) => Ok(Some(province)),
            None => {
                let header = self.layout.header(Field::NumberProvince);
                Err(self.refuse(
                    Field::NumberProvince,
                    &text,
                    format!(
                        "{header} \"{}\": not a province (accepted: {}, or the full name such as 广东省)",
                        quote(&text),
                        Province::accepted_abbreviations()
                    ),
                ))
            }
        }
    }

    fn direction(&mut self) -> Result<Option<Direction>, Refused> {
        let Some(text) = self.text(Field::Direction)? else {
            return Ok(None);
        };
        normalize(&text)
            .to_lowercase()
            .parse()
            .map(Some)
            .map_err(|e: String| self.refuse(Field::Direction, &text, e))
    }

    /// 已报年报年度, 未开展业务 and 续期提交日期: what was done before.
    fn past(&mut self) -> Result<Past, Refused> {
        let reported_through = self.year(Field::ReportedThrough);
        let not_carried_out = self.yes_no(Field::NotCarriedOut);
        let renewal_submitted = self.date(Field::RenewalSubmitted);
        let (reported_through, last_not_carried_out, renewal_submitted) =
            (reported_through?, not_carried_out?, renewal_submitted?);
        if last_not_carried_out.is_some() && reported_through.is_none() {
            let header = self.layout.header(Field::NotCarriedOut);
            let year = self.layout.header(Field::ReportedThrough);
            return Err(self.refuse(
                Field::NotCarriedOut,
                "",
                format!("{header} is about the last annual report filed, but {year} is empty; give the year of that report (e.g. 2025)"),
            ));
        }
        Ok(Past {
            reported_through,
            last_not_carried_out,
            renewal_submitted,
        })
    }

    /// A business year: `2025`, `2025年`, `2025年度`, or a number cell.
    fn year(&mut self, field: Field) -> Result<Option<i32>, Refused> {
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        let normalized = normalize(&text);
        let digits = normalized
            .strip_suffix("年度")
            .or_else(|| normalized.strip_suffix('年'))
            .unwrap_or(&normalized);
        match digits.parse::<i32>() {
            Ok(year) if digits.len() == 4 && (1990..=2999).contains(&year) => Ok(Some(year)),
            _ => {
                let header = self.layout.header(field);
                Err(self.refuse(
                    field,
                    &text,
                    format!(
                        "{header} \"{}\": not a year (expected the last business year whose annual report was filed, e.g. 2025 or 2025年度)",
                        quote(&text)
                    ),
                ))
            }
        }
    }

    /// 是/否 and its usual spellings.
    fn yes_no(&mut self, field: Field) -> Result<Option<bool>, Refused> {
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        match normalize(&text).to_lowercase().as_str() {
            "是" | "y" | "yes" | "true" | "1" | "√" | "✓" | "未开展" | "未开展业务" => {
                Ok(Some(true))
            }
            "否" | "n" | "no" | "false" | "0" | "×" | "已开展" | "已开展业务" => {
                Ok(Some(false))
            }
            _ => {
                let header = self.layout.header(field);
                Err(self.refuse(
                    field,
                    &text,
                    format!(
                        "{header} \"{}\": expected 是 or 否 (yes/no): whether the last annual report said 未开展业务",
                        quote(&text)
                    ),
                ))
            }
        }
    }

    /// Whether the row fills the cell, whatever it holds.
    fn given(&self, field: Field) -> bool {
        self.layout.columns[field as usize]
            .as_ref()
            .and_then(|(index, _)| self.line.cells.get(*index))
            .is_some_and(|cell| *cell != Cell::Empty)
    }
}

/// One row's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub row: usize,
    pub company: CompanyRecord,
    pub licence: Option<LicenceRecord>,
    pub number: Option<NumberRecord>,
}

/// Reads one row. Every cell is looked at, so that all of a row's problems
/// are reported at once.
pub fn parse_row(
    layout: &Layout,
    line: &Line,
    licence_years: u32,
) -> Result<Parsed, Vec<RowProblem>> {
    let mut reader = RowReader {
        layout,
        line,
        problems: Vec::new(),
    };
    let cells = line.cells.len();
    let extra = line.cells.get(layout.width..).unwrap_or_default();
    if cells < layout.width || extra.iter().any(|cell| *cell != Cell::Empty) {
        return Err(vec![RowProblem {
            row: line.row,
            field: None,
            value: String::new(),
            reason: format!(
                "the row has {cells} cells but the header has {} (a missing or extra separator, or an unquoted comma in a value?)",
                layout.width
            ),
        }]);
    }
    let row = line.row;
    let uscc = reader.parsed::<Uscc>(Field::Uscc);
    let name = reader.text(Field::HolderName);
    let address = reader.text(Field::Address);
    let legal_rep = reader.text(Field::LegalRep);
    let emails = reader.emails();
    let contact = reader.text(Field::Contact);
    let phone = reader.text(Field::Phone);
    let company = match (uscc, name, address, legal_rep, emails, contact, phone) {
        (
            Ok(Some(uscc)),
            Ok(Some(name)),
            Ok(address),
            Ok(legal_rep),
            Ok(emails),
            Ok(contact),
            Ok(phone),
        ) => Some(CompanyRecord {
            row,
            uscc,
            name,
            address,
            legal_rep,
            emails,
            contact,
            phone,
        }),
        (uscc, name, ..) => {
            for (field, value) in [
                (Field::Uscc, uscc.as_ref().map(Option::is_some)),
                (Field::HolderName, name.as_ref().map(Option::is_some)),
            ] {
                if let Ok(false) = value {
                    let header = layout.header(field);
                    reader.refuse(
                        field,
                        "",
                        format!(
                            "{header}: empty (every row names the holder, e.g. {})",
                            if field == Field::Uscc {
                                "91110108551385082Q"
                            } else {
                                "北京示例呼叫中心有限公司"
                            }
                        ),
                    );
                }
            }
            None
        }
    };

    let (licence, number) = if LICENCE_FIELDS.iter().any(|field| reader.given(*field)) {
        let holder = company.as_ref().map(|c| c.uscc.clone());
        read_licence(&mut reader, holder, licence_years)
    } else {
        (None, None)
    };
    match company {
        Some(company) if reader.problems.is_empty() => Ok(Parsed {
            row,
            company,
            licence,
            number,
        }),
        _ => {
            reader.problems.sort_by_key(|p| p.field);
            Err(reader.problems)
        }
    }
}

/// The licence and number of a row whose company is `holder` (`None` when
/// the company columns were refused: the licence is still read, for its
/// problems).
fn read_licence(
    reader: &mut RowReader,
    holder: Option<Uscc>,
    licence_years: u32,
) -> (Option<LicenceRecord>, Option<NumberRecord>) {
    let row = reader.line.row;
    let number = match reader.parsed::<LicenceNo>(Field::LicenceNumber) {
        Ok(Some(number)) => Ok(number),
        Ok(None) => {
            let header = reader.layout.header(Field::LicenceNumber);
            Err(reader.refuse(
                Field::LicenceNumber,
                "",
                format!(
                    "{header}: empty, but the row has licence or number columns filled (e.g. 京B2-20201234; leave them all empty for a row that registers only the company)"
                ),
            ))
        }
        Err(refused) => Err(refused),
    };
    let items = reader
        .required_text(Field::Items, "B24 or B24,B25")
        .and_then(|text| {
            ItemCode::parse_list(&text)
                .map_err(|e| reader.refuse(Field::Items, &text, e.to_string()))
        });
    let issued = reader.required_date(Field::Issued);
    let expires = reader.date(Field::Expires);
    let authority = reader.text(Field::Authority);
    let ended_on = reader.date(Field::EndedOn);
    let end_reason = reader.text(Field::EndReason);
    let service_number = reader.parsed::<ServiceNumber>(Field::Number);
    let province = reader.province();
    let allocated = reader.date(Field::Allocated);
    let activated_on = reader.date(Field::ActivatedOn);
    let carrier = reader.text(Field::Carrier);
    let direction = reader.direction();
    let released_on = reader.date(Field::ReleasedOn);
    let past = reader.past();

    let (Ok(number), Some(holder), Ok(items), Ok(issued), Ok(expires), Ok(authority), Ok(past)) =
        (number, holder, items, issued, expires, authority, past)
    else {
        return (None, None);
    };
    if let Err(e) = ItemCode::check_covered(&items, &number) {
        reader.refuse(Field::Items, &ItemCode::join(&items), e.to_string());
    }
    // The dates' rules (expiry on or after issue, a five-year term, the
    // number's year) are checked by the store through the domain, on the
    // values merged with the register's.
    let ended = match (ended_on, end_reason) {
        (Ok(None), Ok(None)) => None,
        (Ok(Some(on)), Ok(Some(reason))) => Some(Ended { on, reason }),
        (Ok(Some(on)), Ok(None)) => {
            let header = reader.layout.header(Field::EndReason);
            reader.refuse(
                Field::EndReason,
                "",
                format!("{header}: empty, but the licence ended on {on}; say why (e.g. 主动注销)"),
            );
            None
        }
        (Ok(None), Ok(Some(reason))) => {
            let header = reader.layout.header(Field::EndedOn);
            reader.refuse(
                Field::EndedOn,
                "",
                format!("{header}: empty, but an end reason \"{}\" is given; give the day the licence ended", quote(&reason)),
            );
            None
        }
        _ => None,
    };
    let licence = LicenceRecord {
        row,
        default_expires: default_expiry(issued, licence_years),
        number,
        holder,
        items,
        issued,
        expires,
        authority,
        ended,
        past,
    };

    let Ok(service_number) = service_number else {
        return (Some(licence), None);
    };
    let Some(service_number) = service_number else {
        for field in NUMBER_FIELDS {
            if reader.given(field) {
                let header = reader.layout.header(field);
                let number_header = reader.layout.header(Field::Number);
                reader.refuse(
                    field,
                    "",
                    format!("{header} is given but {number_header} is empty; give the number it is about"),
                );
            }
        }
        return (Some(licence), None);
    };
    let (
        Ok(province),
        Ok(allocated),
        Ok(activated_on),
        Ok(carrier),
        Ok(direction),
        Ok(released_on),
    ) = (
        province,
        allocated,
        activated_on,
        carrier,
        direction,
        released_on,
    )
    else {
        return (Some(licence), None);
    };
    let Some(allocated) = allocated else {
        let header = reader.layout.header(Field::Allocated);
        reader.refuse(
            Field::Allocated,
            "",
            format!("{header}: empty (a number needs the day it was allocated, e.g. 2026-03-31)"),
        );
        return (Some(licence), None);
    };
    if activated_on.is_none() && (carrier.is_some() || direction.is_some()) {
        let header = reader.layout.header(Field::ActivatedOn);
        reader.refuse(
            Field::ActivatedOn,
            "",
            format!("{header}: empty, but a carrier or direction is given; they are recorded when the number is put into service"),
        );
    }
    let Ok(province) = number_province(reader, &service_number, &licence.number, province) else {
        return (Some(licence), None);
    };
    let number = NumberRecord {
        row,
        number: service_number,
        province,
        licence: licence.number.clone(),
        allocated,
        activated_on,
        carrier,
        direction,
        released_on,
    };
    (Some(licence), Some(number))
}

/// The number's allocating province, by the domain's rule (a 96 number takes
/// its 地网 licence's province or names one under a 全网 licence; 95 and 1010
/// numbers take none, and only a 全网 licence holds them).
fn number_province(
    reader: &mut RowReader,
    number: &ServiceNumber,
    licence: &LicenceNo,
    given: Option<Province>,
) -> Result<Option<Province>, Refused> {
    rules::number_province(number, licence, given).map_err(|error| {
        let field = match error.field() {
            RuleField::Province => Field::NumberProvince,
            _ => Field::Number,
        };
        let header = reader.layout.header(field);
        let value = error.value();
        let named = if value.is_empty() {
            header.to_owned()
        } else {
            format!("{header} \"{value}\"")
        };
        reader.refuse(field, &value, format!("{named}: {error}"))
    })
}

/// Checks that rows naming the same company, licence or number agree, and
/// fills what one row leaves empty from another.
struct Merge<'a> {
    layout: &'a Layout,
    problems: &'a mut Vec<RowProblem>,
}

impl Merge<'_> {
    fn clash(
        &mut self,
        row: usize,
        first_row: usize,
        what: &str,
        field: Field,
        first: String,
        later: String,
    ) {
        self.problems.push(RowProblem {
            row,
            field: Some(field),
            value: quote(&later),
            reason: format!(
                "{} \"{}\" disagrees with row {first_row} (\"{}\"): the rows of {what} must agree",
                self.layout.header(field),
                quote(&later),
                quote(&first)
            ),
        });
    }

    fn same<T: PartialEq>(
        &mut self,
        (row, first_row, what): (usize, usize, &str),
        field: Field,
        first: &T,
        later: &T,
        show: impl Fn(&T) -> String,
    ) {
        if first != later {
            self.clash(row, first_row, what, field, show(first), show(later));
        }
    }

    fn fill<T: PartialEq + Clone>(
        &mut self,
        (row, first_row, what): (usize, usize, &str),
        field: Field,
        first: &mut Option<T>,
        later: &Option<T>,
        show: impl Fn(&T) -> String,
    ) {
        match (first.as_ref(), later) {
            (Some(a), Some(b)) if a != b => {
                self.clash(row, first_row, what, field, show(a), show(b))
            }
            (None, Some(b)) => *first = Some(b.clone()),
            _ => {}
        }
    }
}

/// Merges parsed rows into one record per company, licence and number.
pub fn assemble(rows: Vec<Parsed>, layout: &Layout, problems: &mut Vec<RowProblem>) -> Batch {
    let mut batch = Batch::default();
    let mut companies: HashMap<String, usize> = HashMap::new();
    let mut licences: HashMap<LicenceNo, usize> = HashMap::new();
    let mut numbers: HashMap<(Option<Province>, String), usize> = HashMap::new();
    let mut merge = Merge { layout, problems };
    for parsed in rows {
        let row = parsed.row;
        let key = parsed.company.uscc.to_string();
        match companies.get(&key) {
            None => {
                companies.insert(key, batch.companies.len());
                batch.companies.push(parsed.company);
            }
            Some(&index) => {
                let first = &mut batch.companies[index];
                let what = format!("company {}", first.uscc);
                let at = (row, first.row, what.as_str());
                let later = parsed.company;
                merge.same(
                    at,
                    Field::HolderName,
                    &first.name,
                    &later.name,
                    String::clone,
                );
                merge.fill(
                    at,
                    Field::Address,
                    &mut first.address,
                    &later.address,
                    String::clone,
                );
                merge.fill(
                    at,
                    Field::LegalRep,
                    &mut first.legal_rep,
                    &later.legal_rep,
                    String::clone,
                );
                merge.fill(at, Field::Emails, &mut first.emails, &later.emails, |e| {
                    e.join(";")
                });
                merge.fill(
                    at,
                    Field::Contact,
                    &mut first.contact,
                    &later.contact,
                    String::clone,
                );
                merge.fill(
                    at,
                    Field::Phone,
                    &mut first.phone,
                    &later.phone,
                    String::clone,
                );
            }
        }
        let Some(licence) = parsed.licence else {
            continue;
        };
        let key = licence.number.clone();
        match licences.get(&key) {
            None => {
                licences.insert(key, batch.licences.len());
                batch.licences.push(licence);
            }
            Some(&index) => {
                let first = &mut batch.licences[index];
                let what = format!("licence {}", first.number);
                let at = (row, first.row, what.as_str());
                merge.same(at, Field::Uscc, &first.holder, &licence.holder, |u| {
                    u.to_string()
                });
                merge.same(at, Field::Items, &first.items, &licence.items, |i| {
                    ItemCode::join(i)
                });
                merge.same(
                    at,
                    Field::Issued,
                    &first.issued,
                    &licence.issued,
                    NaiveDate::to_string,
                );
                merge.fill(
                    at,
                    Field::Expires,
                    &mut first.expires,
                    &licence.expires,
                    NaiveDate::to_string,
                );
                merge.fill(
                    at,
                    Field::Authority,
                    &mut first.authority,
                    &licence.authority,
                    String::clone,
                );
                merge.fill(at, Field::EndedOn, &mut first.ended, &licence.ended, |e| {
                    format!("{} {}", e.on, e.reason)
                });
                let (past, later) = (&mut first.past, licence.past);
                merge.fill(
                    at,
                    Field::ReportedThrough,
                    &mut past.reported_through,
                    &later.reported_through,
                    i32::to_string,
                );
                merge.fill(
                    at,
                    Field::NotCarriedOut,
                    &mut past.last_not_carried_out,
                    &later.last_not_carried_out,
                    |b| if *b { "是" } else { "否" }.to_owned(),
                );
                merge.fill(
                    at,
                    Field::RenewalSubmitted,
                    &mut past.renewal_submitted,
                    &later.renewal_submitted,
                    NaiveDate::to_string,
                );
            }
        }
        let Some(number) = parsed.number else {
            continue;
        };
        let key = (number.province, number.number.to_string());
        match numbers.get(&key) {
            None => {
                numbers.insert(key, batch.numbers.len());
                batch.numbers.push(number);
            }
            Some(&index) => {
                let first = &mut batch.numbers[index];
                let what = format!("number {}", first.number);
                let at = (row, first.row, what.as_str());
                merge.same(
                    at,
                    Field::LicenceNumber,
                    &first.licence,
                    &number.licence,
                    |l| l.to_string(),
                );
                merge.same(
                    at,
                    Field::Allocated,
                    &first.allocated,
                    &number.allocated,
                    NaiveDate::to_string,
                );
                merge.fill(
                    at,
                    Field::ActivatedOn,
                    &mut first.activated_on,
                    &number.activated_on,
                    NaiveDate::to_string,
                );
                merge.fill(
                    at,
                    Field::Carrier,
                    &mut first.carrier,
                    &number.carrier,
                    String::clone,
                );
                merge.fill(
                    at,
                    Field::Direction,
                    &mut first.direction,
                    &number.direction,
                    |d| d.code().to_owned(),
                );
                merge.fill(
                    at,
                    Field::ReleasedOn,
                    &mut first.released_on,
                    &number.released_on,
                    NaiveDate::to_string,
                );
            }
        }
    }
    batch
}

#[cfg(test)]
mod tests;
