//! Licences: adding, reading, updating, ending, searching, and the facts
//! the rules read.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::history::history;
use super::marks::{refresh_renewal_mark, refresh_reported_through};
use super::rows::{LICENCE_COLUMNS, day, day_or_none, licence_row, limit_param, parsed};
use super::{Licence, LicenceUpdate, NewLicence, Stamp};
use crate::domain::licence::{ItemCode, LicenceNo, Scope};
use crate::domain::obligation::{LicenceFacts, RenewalMark, ReportFiled, keys};
use crate::domain::rules;
use crate::store::outbox::cancel_obligation;
use crate::store::{Refusal, Result, Store};

/// Whether [`Store::licence_facts`] reads the annual reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Reports {
    Read,
    Skip,
}

impl Store {
    /// Adds a licence; its dates and authority must obey the rules (the
    /// authority follows the scope: an empty one is filled in).
    pub fn add_licence(&mut self, stamp: &Stamp, new: &NewLicence) -> Result<Licence> {
        rules::licence_dates(&new.number, new.issued, new.expires, None)?;
        let authority = rules::authority(&new.number, Some(&new.authority))?;
        let company = self.company(&new.holder)?;
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM licence WHERE number = ?1)",
                [new.number.to_string()],
                |row| row.get(0),
            )?;
            if exists {
                return Err(Refusal::LicenceExists {
                    licence: new.number.clone(),
                }
                .into());
            }
            let (scope, province) = match new.number.scope() {
                Scope::Nationwide => ("nationwide", None),
                Scope::Provincial(province) => ("provincial", Some(province.abbreviation().to_string())),
            };
            tx.execute(
                "INSERT INTO licence (number, company_id, scope, province, items, issued, expires, authority, reported_through)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
                params![
                    new.number.to_string(),
                    company.id,
                    scope,
                    province,
                    ItemCode::join(&new.items),
                    new.issued,
                    new.expires,
                    authority
                ],
            )?;
            refresh_reported_through(tx, tx.last_insert_rowid())?;
            history(
                tx,
                stamp,
                Some(&new.number),
                "licence add",
                &format!(
                    "holder {} items {} issued {} expires {} authority {}",
                    new.holder,
                    ItemCode::join(&new.items),
                    new.issued,
                    new.expires,
                    authority
                ),
            )
        })?;
        self.licence(&new.number)
    }

    pub fn licence(&self, number: &LicenceNo) -> Result<Licence> {
        self.conn
            .query_row(
                &format!("SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id WHERE l.number = ?1"),
                [number.to_string()],
                licence_row,
            )
            .optional()?
            .ok_or_else(|| Refusal::NoLicence { licence: number.clone() }.into())
    }

    pub fn licences(&self) -> Result<Vec<Licence>> {
        super::all_rows(|f| self.each_licence(f))
    }

    /// Each licence in [`Store::licences`]'s order, given to `f` as it is
    /// read: for listings as long as the register. The first error stops.
    pub fn each_licence<E: From<crate::store::StoreError>>(
        &self,
        f: impl FnMut(Licence) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id ORDER BY l.expires, l.number"
        );
        super::each_row(&self.conn, &sql, [], licence_row, f)
    }

    /// The licences a company holds, in [`Store::licences`]'s order.
    pub fn licences_of(&self, company_id: i64) -> Result<Vec<Licence>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id
                 WHERE l.company_id = ?1 ORDER BY l.expires, l.number"
            ))?
            .query_map([company_id], licence_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn update_licence(
        &mut self,
        stamp: &Stamp,
        number: &LicenceNo,
        update: &LicenceUpdate,
    ) -> Result<Licence> {
        let current = self.licence(number)?;
        let issued = update.issued.unwrap_or(current.issued);
        let expires = update.expires.unwrap_or(current.expires);
        // A later expiry with the issue date kept is a renewal: its term runs
        // from the day after the old expiry.
        // With the issue date kept, a new expiry may be a renewal's: its term
        // may run from the day after the current expiry.
        let renewed_from = update.issued.is_none().then_some(current.expires);
        rules::licence_dates(number, issued, expires, renewed_from)?;
        let authority = update
            .authority
            .as_deref()
            .map(|given| rules::authority(number, Some(given)))
            .transpose()?;
        if let Some(items) = &update.items {
            ItemCode::check_covered(items, number).map_err(Refusal::ItemNotCovered)?;
        }
        self.write(|tx| {
            let mut detail = Vec::new();
            if let Some(items) = &update.items {
                tx.execute(
                    "UPDATE licence SET items = ?1 WHERE id = ?2",
                    params![ItemCode::join(items), current.id],
                )?;
                detail.push(format!(
                    "items {} -> {}",
                    ItemCode::join(&current.items),
                    ItemCode::join(items)
                ));
            }
            if update.issued.is_some() || update.expires.is_some() {
                tx.execute(
                    "UPDATE licence SET issued = ?1, expires = ?2 WHERE id = ?3",
                    params![issued, expires, current.id],
                )?;
                detail.push(format!(
                    "issued {} -> {issued}, expires {} -> {expires}",
                    current.issued, current.expires
                ));
            }
            if let Some(authority) = &authority {
                tx.execute(
                    "UPDATE licence SET authority = ?1 WHERE id = ?2",
                    params![authority, current.id],
                )?;
                detail.push(format!("authority {} -> {authority}", current.authority));
            }
            refresh_reported_through(tx, current.id)?;
            refresh_renewal_mark(tx, current.id)?;
            if current.expires != expires {
                cancel_obligation(
                    tx,
                    &keys::renewal(number, current.expires),
                    "expiry changed",
                )?;
            }
            history(
                tx,
                stamp,
                Some(number),
                "licence update",
                &detail.join("; "),
            )
        })?;
        self.licence(number)
    }

    pub fn end_licence(
        &mut self,
        stamp: &Stamp,
        number: &LicenceNo,
        on: NaiveDate,
        reason: &str,
    ) -> Result<Licence> {
        let current = self.licence(number)?;
        if let Some(ended) = current.ended_on {
            return Err(Refusal::LicenceEnded {
                licence: number.clone(),
                ended,
            }
            .into());
        }
        rules::end_date(number, current.issued, on)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE licence SET ended_on = ?1, end_reason = ?2 WHERE id = ?3",
                params![on, reason, current.id],
            )?;
            cancel_obligation(tx, &keys::renewal(number, current.expires), "licence ended")?;
            refresh_reported_through(tx, current.id)?;
            history(
                tx,
                stamp,
                Some(number),
                "licence end",
                &format!("on {on}: {reason}"),
            )
        })?;
        self.licence(number)
    }

    /// Licences whose number, holder's name or code, or authority contains
    /// `text` (any, when empty), at most `limit`, soonest expiry first.
    pub fn search_licences(&self, text: &str, limit: usize) -> Result<Vec<Licence>> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id
                 WHERE ?1 = '' OR instr(lower(l.number), ?1) OR instr(lower(c.name), ?1)
                    OR instr(lower(c.uscc), ?1) OR instr(lower(l.authority), ?1)
                 ORDER BY l.expires, l.number LIMIT ?2"
            ))?
            .query_map(
                params![text.to_lowercase(), limit_param(limit)],
                licence_row,
            )?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// What the rules need to know of the licences with these ids (each
    /// once). The ids
    /// go in as one JSON array so that a large batch costs two statements,
    /// not two per licence; the array is walked in its order (`CROSS JOIN`
    /// keeps SQLite from reordering), each id a primary-key lookup, so ids
    /// given sorted read the table in order. A row that cannot be read
    /// (edited by hand) is listed apart with its error, so that it does not
    /// stop the others being read.
    ///
    /// `Reports::Skip` leaves every licence's `reports` empty, for the rules
    /// that do not read them (a number's, a change's): the annual reports are
    /// most of the rows read.
    pub(in crate::store) fn licence_facts(
        &self,
        ids: &[i64],
        reports: Reports,
    ) -> Result<(HashMap<i64, LicenceFacts>, Vec<crate::store::Unreadable>)> {
        let ids_json = serde_json::to_string(ids).expect("a list of integers serialises");
        let read: Vec<(i64, rusqlite::Result<LicenceFacts>)> = self
            .conn
            .prepare_cached(
                "SELECT l.id, l.number, c.name, l.authority, l.issued, l.expires, l.ended_on,
                        r.submitted_on, r.continuing
                 FROM json_each(?1) j
                 CROSS JOIN licence l ON l.id = j.value
                 JOIN company c ON c.id = l.company_id
                 LEFT JOIN renewal r ON r.licence_id = l.id AND r.for_expires = l.expires",
            )?
            .query_map([&ids_json], |row| {
                let facts = || {
                    let submitted_on: Option<NaiveDate> = day_or_none(row, 7)?;
                    let continuing: Option<bool> = row.get(8)?;
                    Ok(LicenceFacts {
                        licence: parsed(row, 1)?,
                        company: row.get(2)?,
                        authority: row.get(3)?,
                        issued: day(row, 4)?,
                        expires: day(row, 5)?,
                        ended_on: day_or_none(row, 6)?,
                        renewal: submitted_on
                            .zip(continuing)
                            .map(|(on, continuing)| RenewalMark { on, continuing }),
                        reports: vec![],
                    })
                };
                Ok((row.get(0)?, facts()))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut facts: HashMap<i64, LicenceFacts> = HashMap::new();
        let mut unreadable = Vec::new();
        for (id, read) in read {
            match read {
                Ok(licence) => {
                    facts.insert(id, licence);
                }
                Err(error) => unreadable.push(crate::store::Unreadable {
                    table: "licence",
                    id,
                    error: error.to_string(),
                }),
            }
        }
        if reports == Reports::Skip {
            return Ok((facts, unreadable));
        }
        let mut reports = self.conn.prepare_cached(
            "SELECT a.licence_id, a.year, a.carried_out
             FROM json_each(?1) j CROSS JOIN annual_report a ON a.licence_id = j.value",
        )?;
        let rows = reports.query_map([&ids_json], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                ReportFiled {
                    year: row.get(1)?,
                    carried_out: row.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (licence_id, report) = row?;
            if let Some(licence) = facts.get_mut(&licence_id) {
                licence.reports.push(report);
            }
        }
        Ok((facts, unreadable))
    }
}
