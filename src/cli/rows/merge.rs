//! Rows into one record per company, licence and number: rows naming the
//! same one must agree, and one fills what another leaves empty.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::columns::Layout;
use super::row::{Parsed, quote};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::province::Province;
use crate::store::{Batch, Field, RowProblem};

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
pub fn assemble(
    rows: impl IntoIterator<Item = Parsed>,
    layout: &Layout,
    problems: &mut Vec<RowProblem>,
) -> Batch {
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
