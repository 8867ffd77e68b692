//! One row of cells into a company, a licence and a number, each value
//! checked with the domain's parsers; values Excel mangled recognised.

use std::fmt;

use chrono::NaiveDate;

use super::columns::{LICENCE_FIELDS, Layout, NUMBER_FIELDS, is_date};
use crate::cli::sheet::{Cell, Line};
use crate::domain::date::{ACCEPTED_DATES, default_expiry, excel_serial, parse_date};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::rules::{self, RuleField};
use crate::domain::text::normalize;
use crate::domain::uscc::Uscc;
use crate::store::{
    CompanyRecord, Direction, Ended, Field, LicenceRecord, NumberRecord, Past, RowProblem,
    check_email,
};

/// No cell of a client list is anywhere near this long; a longer one is a
/// wrong column or a damaged file, and is not echoed back whole.
pub const MAX_CELL_CHARS: usize = 1000;

/// How much of a refused value a problem quotes.
pub(super) const QUOTE_CHARS: usize = 60;

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

    /// Refuses the text of `field` as `header "text": wrong`, quoting it
    /// after the file's own header.
    fn refuse_text(&mut self, field: Field, text: &str, wrong: &str) -> Refused {
        let header = self.layout.header(field);
        self.refuse(
            field,
            text,
            format!("{header} \"{}\": {wrong}", quote(text)),
        )
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
        let text = self.text(field)?;
        self.required(field, text, example)
    }

    /// `value`, or the refusal of an empty `field` that every row with a
    /// licence must fill.
    fn required<T>(&mut self, field: Field, value: Option<T>, example: &str) -> Result<T, Refused> {
        value.ok_or_else(|| {
            let header = self.layout.header(field);
            self.refuse(
                field,
                "",
                format!("{header}: empty (every row with a licence needs it, e.g. {example})"),
            )
        })
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
        let date = self.date(field)?;
        self.required(field, date, "2026-03-31")
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
                    let wrong = format!(
                        "\"{}\" is not an address (expected addresses like compliance@example.com, several separated by ; or ，)",
                        quote(part)
                    );
                    return Err(self.refuse_text(Field::Emails, &text, &wrong));
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
                let wrong = format!(
                    "not a province (accepted: {}, or the full name such as 广东省)",
                    Province::accepted_abbreviations()
                );
                Err(self.refuse_text(Field::NumberProvince, &text, &wrong))
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
            _ => Err(self.refuse_text(
                field,
                &text,
                "not a year (expected the last business year whose annual report was filed, e.g. 2025 or 2025年度)",
            )),
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
            _ => Err(self.refuse_text(
                field,
                &text,
                "expected 是 or 否 (yes/no): whether the last annual report said 未开展业务",
            )),
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

    let (licence, number) = if LICENCE_FIELDS
        .iter()
        .chain(&NUMBER_FIELDS)
        .any(|field| reader.given(*field))
    {
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
