//! Numbers: adding under a licence, activating, releasing, searching, and
//! the facts the rules read.

use chrono::NaiveDate;
use rusqlite::params;

use super::history::history;
use super::rows::{
    NUMBER_COLUMNS, day, day_or_none, limit_param, number_row, parsed, province_column,
};
use super::{Direction, NumberRow, NumbersOf, Stamp};
use crate::domain::licence::LicenceNo;
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::{NumberFacts, keys, last_day};
use crate::domain::province::Province;
use crate::domain::rules;
use crate::store::outbox::{cancel_obligation, cancel_prefix};
use crate::store::{Refusal, Result, Store};

impl Store {
    /// Adds a number under a licence valid on the allocation day and today
    /// (先证后号). A 96 number is provincial: it takes the province of a 地网
    /// licence, and must name one under a 全网 licence.
    pub fn add_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        licence: &LicenceNo,
        allocated: NaiveDate,
        today: NaiveDate,
    ) -> Result<NumberRow> {
        let holder = self.licence(licence)?;
        let last_day = last_day(holder.expires, holder.ended_on);
        rules::not_after_today(rules::RuleField::Allocated, allocated, today)?;
        let province = rules::number_province(number, licence, province)?;
        rules::licence_still_valid(number, licence, last_day, today)?;
        rules::number_under_licence(
            number,
            licence,
            &holder.items,
            holder.issued,
            last_day,
            allocated,
        )?;
        let province_text = province
            .map(|p| p.abbreviation().to_string())
            .unwrap_or_default();
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM number WHERE province = ?1 AND number = ?2)",
                params![province_text, number.as_str()],
                |row| row.get(0),
            )?;
            if exists {
                return Err(Refusal::NumberExists {
                    number: number.clone(),
                    province,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO number (number, province, licence_id, allocated) VALUES (?1, ?2, ?3, ?4)",
                params![number.as_str(), province_text, holder.id, allocated],
            )?;
            history(tx, stamp, Some(licence), "number add", &format!("{number}{} allocated {allocated}", province.map(|p| format!(" ({})", p.name())).unwrap_or_default()))
        })?;
        self.number(number, province)
    }

    /// Finds a number; a 96 number held in several provinces needs one named.
    pub fn number(&self, number: &ServiceNumber, province: Option<Province>) -> Result<NumberRow> {
        let mut rows: Vec<NumberRow> = self
            .conn
            .prepare(&format!(
                "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id WHERE n.number = ?1 ORDER BY n.province"
            ))?
            .query_map([number.as_str()], number_row)?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(province) = province {
            rows.retain(|row| row.province == Some(province));
        }
        match rows.len() {
            0 => Err(Refusal::NoNumber {
                number: number.clone(),
            }
            .into()),
            1 => Ok(rows.remove(0)),
            _ => Err(Refusal::NumberInProvinces {
                number: number.clone(),
                provinces: rows.iter().filter_map(|row| row.province).collect(),
            }
            .into()),
        }
    }

    pub fn numbers(&self, licence: Option<&LicenceNo>) -> Result<Vec<NumberRow>> {
        super::all_rows(|f| self.each_number(licence, f))
    }

    /// Each number of [`Store::numbers`], in its order, given to `f` as it
    /// is read: for listings as long as the register. The first error
    /// stops.
    pub fn each_number<E: From<crate::store::StoreError>>(
        &self,
        licence: Option<&LicenceNo>,
        f: impl FnMut(NumberRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
             WHERE ?1 IS NULL OR l.number = ?1 ORDER BY l.number, n.number, n.province"
        );
        let filter = licence.map(|l| l.to_string());
        super::each_row(&self.conn, &sql, [filter], number_row, f)
    }

    /// A number still held, for a change dated `on`.
    fn held_number(
        &self,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
    ) -> Result<NumberRow> {
        let row = self.number(number, province)?;
        if let Some(released) = row.released_on {
            return Err(Refusal::NumberReleased {
                number: number.clone(),
                released,
            }
            .into());
        }
        if on < row.allocated {
            return Err(Refusal::BeforeAllocated {
                on,
                allocated: row.allocated,
            }
            .into());
        }
        Ok(row)
    }

    pub fn activate_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
        carrier: &str,
        direction: Direction,
    ) -> Result<NumberRow> {
        let row = self.held_number(number, province, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE number SET activated_on = ?1, carrier = ?2, direction = ?3 WHERE id = ?4",
                params![on, carrier, direction.code(), row.id],
            )?;
            cancel_obligation(
                tx,
                &keys::number_activation(&row.licence, number, row.allocated),
                "number activated",
            )?;
            history(
                tx,
                stamp,
                Some(&row.licence),
                "number activate",
                &format!("{number} on {on} via {carrier}, {}", direction.code()),
            )
        })?;
        self.number(number, row.province)
    }

    pub fn release_number(
        &mut self,
        stamp: &Stamp,
        number: &ServiceNumber,
        province: Option<Province>,
        on: NaiveDate,
    ) -> Result<NumberRow> {
        let row = self.held_number(number, province, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE number SET released_on = ?1 WHERE id = ?2",
                params![on, row.id],
            )?;
            cancel_obligation(
                tx,
                &keys::number_activation(&row.licence, number, row.allocated),
                "number released",
            )?;
            cancel_prefix(
                tx,
                &keys::number_outlives_prefix(&row.licence, number),
                "number released",
            )?;
            history(
                tx,
                stamp,
                Some(&row.licence),
                "number release",
                &format!("{number} on {on}"),
            )
        })?;
        self.number(number, row.province)
    }

    /// Numbers whose digits or licence number contain `text` (any, when
    /// empty), at most `limit`.
    pub fn search_numbers(&self, text: &str, limit: usize) -> Result<Vec<NumberRow>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
                 WHERE ?1 = '' OR instr(n.number, ?1) OR instr(lower(l.number), ?1)
                 ORDER BY l.number, n.number, n.province LIMIT ?2"
            ))?
            .query_map(params![text.to_lowercase(), limit_param(limit)], number_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The numbers with these ids, each with its licence's id; rows that
    /// cannot be read are listed apart, as in `licence_facts`.
    pub(in crate::store) fn number_facts(
        &self,
        ids: &[i64],
    ) -> Result<(NumbersOf, Vec<crate::store::Unreadable>)> {
        let ids_json = serde_json::to_string(ids).expect("a list of integers serialises");
        let read: Vec<(i64, rusqlite::Result<(i64, NumberFacts)>)> = self
            .conn
            .prepare_cached(
                "SELECT n.id, n.licence_id, n.number, n.allocated, n.activated_on, n.released_on,
                        n.province
                 FROM json_each(?1) j CROSS JOIN number n ON n.id = j.value",
            )?
            .query_map([&ids_json], |row| {
                let facts = || {
                    Ok((
                        row.get(1)?,
                        NumberFacts {
                            number: parsed(row, 2)?,
                            allocated: day(row, 3)?,
                            activated_on: day_or_none(row, 4)?,
                            released_on: day_or_none(row, 5)?,
                            province: province_column(row, 6)?,
                        },
                    ))
                };
                Ok((row.get(0)?, facts()))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut numbers = Vec::new();
        let mut unreadable = Vec::new();
        for (id, read) in read {
            match read {
                Ok(number) => numbers.push(number),
                Err(error) => unreadable.push(crate::store::Unreadable {
                    table: "number",
                    id,
                    error: error.to_string(),
                }),
            }
        }
        Ok((numbers, unreadable))
    }
}
