//! Reading the register's columns back into the domain's types: the row
//! mappers and the column lists they read.

use std::str::FromStr;

use chrono::NaiveDate;
use rusqlite::Row;
use rusqlite::types::Type;

use super::{ChangeRow, Company, Licence, NumberRow};
use crate::domain::licence::ItemCode;
use crate::domain::province::Province;
use crate::store::StoreError;

/// Reads a column stored as text through the domain's parser. The store only
/// writes validated values, so a failure means the file was edited by hand.
/// Each row `sql` selects with `params`, made by `make`, given to `f` as
/// it is read: for listings as long as the register, which are never held.
/// The first error stops.
pub(in crate::store) fn each_row<T, E: From<StoreError>>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    make: impl FnMut(&Row) -> rusqlite::Result<T>,
    mut f: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    let mut statement = conn.prepare_cached(sql).map_err(StoreError::from)?;
    let rows = statement
        .query_map(params, make)
        .map_err(StoreError::from)?;
    for row in rows {
        f(row.map_err(StoreError::from)?)?;
    }
    Ok(())
}

/// Every row an `each_*` function of the store gives, held: for the
/// callers that want them all at once.
pub(in crate::store) fn all_rows<T>(
    each: impl FnOnce(&mut dyn FnMut(T) -> Result<(), StoreError>) -> Result<(), StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = Vec::new();
    each(&mut |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

pub(in crate::store) fn parsed<T: FromStr>(row: &Row, index: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text = row.get_ref(index)?.as_str()?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// A date column. The form the store writes (`YYYY-MM-DD`) is read by hand:
/// chrono's format parser was a tenth of the due query's instructions;
/// anything else goes to rusqlite's reading, and its error.
pub(super) fn day_or_none(row: &Row, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
    if let rusqlite::types::ValueRef::Text(text) = row.get_ref(index)?
        && let Some(day) = iso_day(text)
    {
        return Ok(Some(day));
    }
    row.get(index)
}

pub(super) fn day(row: &Row, index: usize) -> rusqlite::Result<NaiveDate> {
    match day_or_none(row, index)? {
        Some(day) => Ok(day),
        None => row.get(index),
    }
}

fn iso_day(text: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *<&[u8; 10]>::try_from(text).ok()? else {
        return None;
    };
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(&[y1, y2, y3, y4])?).ok()?,
        number(&[m1, m2])?,
        number(&[d1, d2])?,
    )
}

fn parsed_with<T>(
    row: &Row,
    index: usize,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, e.into()))
}

fn items_column(row: &Row, index: usize) -> rusqlite::Result<Vec<ItemCode>> {
    parsed_with(row, index, |text| {
        ItemCode::parse_list(text).map_err(|e| e.to_string())
    })
}

pub(super) fn province_column(row: &Row, index: usize) -> rusqlite::Result<Option<Province>> {
    let text: Option<String> = row.get(index)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => Province::parse(text).map(Some).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                Type::Text,
                format!("unknown province {text}").into(),
            )
        }),
    }
}

pub(in crate::store) const COMPANY_COLUMNS: &str =
    "c.id, c.uscc, c.name, c.address, c.legal_rep, c.contact, c.phone";

/// A company's own columns; its emails and routes are other tables, read
/// by those who need them.
pub(in crate::store) fn company_row(row: &Row) -> rusqlite::Result<Company> {
    Ok(Company {
        id: row.get(0)?,
        uscc: parsed(row, 1)?,
        name: row.get(2)?,
        address: row.get(3)?,
        legal_rep: row.get(4)?,
        contact: row.get(5)?,
        phone: row.get(6)?,
        emails: vec![],
        routes: vec![],
    })
}

pub(in crate::store) const LICENCE_COLUMNS: &str = "l.id, l.number, l.company_id, c.name, c.uscc, l.items, l.issued, \
     l.expires, l.ended_on, l.end_reason, l.authority";

pub(in crate::store) fn licence_row(row: &Row) -> rusqlite::Result<Licence> {
    Ok(Licence {
        id: row.get(0)?,
        number: parsed(row, 1)?,
        company_id: row.get(2)?,
        company: row.get(3)?,
        holder: parsed(row, 4)?,
        items: items_column(row, 5)?,
        issued: row.get(6)?,
        expires: row.get(7)?,
        ended_on: row.get(8)?,
        end_reason: row.get(9)?,
        authority: row.get(10)?,
    })
}

pub(in crate::store) const NUMBER_COLUMNS: &str = "n.id, n.number, n.province, l.number, n.allocated, n.activated_on, \
     n.carrier, n.direction, n.released_on";

pub(in crate::store) fn number_row(row: &Row) -> rusqlite::Result<NumberRow> {
    let direction: Option<String> = row.get(7)?;
    Ok(NumberRow {
        id: row.get(0)?,
        number: parsed(row, 1)?,
        province: province_column(row, 2)?,
        licence: parsed(row, 3)?,
        allocated: row.get(4)?,
        activated_on: row.get(5)?,
        carrier: row.get(6)?,
        direction: direction
            .map(|text| {
                text.parse().map_err(|e: String| {
                    rusqlite::Error::FromSqlConversionFailure(7, Type::Text, e.into())
                })
            })
            .transpose()?,
        released_on: row.get(8)?,
    })
}

pub(super) fn change_row(row: &Row) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        id: row.get(0)?,
        licence: parsed(row, 1)?,
        kind: parsed(row, 2)?,
        changed_on: row.get(3)?,
        filed_on: row.get(4)?,
    })
}

/// A row count as SQLite's LIMIT takes it.
pub(super) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
