//! An import's plan written: companies, licences, numbers and the marks,
//! each with its history row.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Transaction, params};

use super::plan::{Plan, number_key};
use super::records::{ImportReport, Tally};
use crate::domain::licence::{ItemCode, LicenceNo, Scope};
use crate::domain::obligation::keys;
use crate::store::outbox::cancel_obligation;
use crate::store::register::{
    history, refresh_renewal_mark, refresh_reported_through, reported_through, set_emails,
};
use crate::store::{Direction, Stamp, StoreError};

/// Writes the plan. Companies first, then licences, then numbers: each
/// refers to the one before.
pub(super) fn apply(
    tx: &Transaction,
    stamp: &Stamp,
    source: &str,
    today: NaiveDate,
    plan: &Plan,
) -> Result<(), StoreError> {
    let via = format!("(import {source})");
    let mut company_ids: HashMap<&str, i64> = HashMap::new();
    let mut insert_company = tx.prepare_cached(
        "INSERT INTO company (uscc, name, address, legal_rep, contact, phone) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for record in &plan.company_adds {
        insert_company.execute(params![
            record.uscc.as_str(),
            record.name,
            record.address,
            record.legal_rep,
            record.contact,
            record.phone
        ])?;
        let id = tx.last_insert_rowid();
        company_ids.insert(record.uscc.as_str(), id);
        if let Some(emails) = &record.emails {
            set_emails(tx, id, emails)?;
        }
        history(
            tx,
            stamp,
            None,
            "company add",
            &format!("{} {} {via}", record.uscc, record.name),
        )?;
    }
    let mut update_company = tx.prepare_cached(
        "UPDATE company SET name = ?1, address = ?2, legal_rep = ?3, contact = ?4, phone = ?5 WHERE id = ?6",
    )?;
    for (id, after, detail) in &plan.company_updates {
        update_company.execute(params![
            after.name,
            after.address,
            after.legal_rep,
            after.contact,
            after.phone,
            id
        ])?;
        if let Some(emails) = &after.emails {
            set_emails(tx, *id, emails)?;
        }
        history(
            tx,
            stamp,
            None,
            "company update",
            &format!("{} {detail} {via}", after.uscc),
        )?;
    }

    let mut company_id = tx.prepare_cached("SELECT id FROM company WHERE uscc = ?1")?;
    let mut insert_licence = tx.prepare_cached(
        "INSERT INTO licence (number, company_id, scope, province, items, issued, expires, ended_on, end_reason, authority, reported_through)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut licence_ids: HashMap<&LicenceNo, i64> = HashMap::new();
    for (record, after) in &plan.licence_adds {
        let holder = match company_ids.get(record.holder.as_str()) {
            Some(id) => *id,
            None => company_id.query_row([record.holder.as_str()], |row| row.get(0))?,
        };
        let (scope, province) = match record.number.scope() {
            Scope::Nationwide => ("nationwide", None),
            Scope::Provincial(p) => ("provincial", Some(p.abbreviation().to_string())),
        };
        // A new licence has no annual report filed yet: its mark is
        // computed here rather than re-read row by row.
        insert_licence.execute(params![
            record.number.to_string(),
            holder,
            scope,
            province,
            ItemCode::join(&after.items),
            after.issued,
            after.expires,
            after.ended.as_ref().map(|e| e.on),
            after.ended.as_ref().map(|e| e.reason.as_str()),
            after.authority,
            reported_through(after.issued, after.last_day(), &[]),
        ])?;
        licence_ids.insert(&record.number, tx.last_insert_rowid());
        history(
            tx,
            stamp,
            Some(&record.number),
            "licence add",
            &format!(
                "holder {} items {} issued {} expires {} authority {} {via}",
                record.holder,
                ItemCode::join(&after.items),
                after.issued,
                after.expires,
                after.authority
            ),
        )?;
    }
    let mut update_licence = tx.prepare_cached(
        "UPDATE licence SET items = ?1, issued = ?2, expires = ?3, authority = ?4, ended_on = ?5, end_reason = ?6
         WHERE id = ?7",
    )?;
    for (id, record, after, detail) in &plan.licence_updates {
        update_licence.execute(params![
            ItemCode::join(&after.items),
            after.issued,
            after.expires,
            after.authority,
            after.ended.as_ref().map(|e| e.on),
            after.ended.as_ref().map(|e| e.reason.as_str()),
            id
        ])?;
        // New dates move the annual reports owed and the renewal that is
        // current: the marks the due query reads must follow.
        refresh_reported_through(tx, *id)?;
        refresh_renewal_mark(tx, *id)?;
        history(
            tx,
            stamp,
            Some(&record.number),
            "licence update",
            &format!("{detail} {via}"),
        )?;
    }

    let mut licence_id = tx.prepare_cached("SELECT id FROM licence WHERE number = ?1")?;
    let mut insert_number = tx.prepare_cached(
        "INSERT INTO number (number, province, licence_id, allocated, activated_on, carrier, direction, released_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (record, after) in &plan.number_adds {
        let holder = match licence_ids.get(&record.licence) {
            Some(id) => *id,
            None => licence_id.query_row([record.licence.to_string()], |row| row.get(0))?,
        };
        let (province, label) = number_key(&record.number, record.province);
        insert_number.execute(params![
            record.number.as_str(),
            province,
            holder,
            after.allocated,
            after.activated_on,
            after.carrier,
            after.direction.map(Direction::code),
            after.released_on
        ])?;
        history(
            tx,
            stamp,
            Some(&record.licence),
            "number add",
            &format!("{label} allocated {} {via}", after.allocated),
        )?;
    }
    let mut update_number = tx.prepare_cached(
        "UPDATE number SET allocated = ?1, activated_on = ?2, carrier = ?3, direction = ?4, released_on = ?5
         WHERE id = ?6",
    )?;
    for (id, record, after, detail) in &plan.number_updates {
        update_number.execute(params![
            after.allocated,
            after.activated_on,
            after.carrier,
            after.direction.map(Direction::code),
            after.released_on,
            id
        ])?;
        let (_, label) = number_key(&record.number, record.province);
        history(
            tx,
            stamp,
            Some(&record.licence),
            "number update",
            &format!("{label} {detail} {via}"),
        )?;
    }

    let mut insert_report = tx.prepare_cached(
        "INSERT INTO annual_report (licence_id, year, filed_on, carried_out) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut insert_renewal = tx.prepare_cached(
        "INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing) VALUES (?1, ?2, ?3, 1)",
    )?;
    for mark in &plan.marks {
        let licence = &mark.record.number;
        let id = match mark
            .licence_id
            .or_else(|| licence_ids.get(licence).copied())
        {
            Some(id) => id,
            None => licence_id.query_row([licence.to_string()], |row| row.get(0))?,
        };
        let mut detail = Vec::new();
        // The day filed is not known: the report is recorded on the day of
        // the import, and the history says so.
        for (year, carried_out) in &mark.reports {
            insert_report.execute(params![id, year, today, carried_out])?;
            cancel_obligation(tx, &keys::annual_report(licence, *year), "report filed")?;
        }
        if let (Some((first, _)), Some((last, carried_out))) =
            (mark.reports.first(), mark.reports.last())
        {
            let years = if first == last {
                format!("{first}")
            } else {
                format!("{first}-{last}")
            };
            detail.push(format!(
                "annual reports {years} filed before{}",
                if *carried_out {
                    ""
                } else {
                    " (the last: 未开展业务)"
                }
            ));
            refresh_reported_through(tx, id)?;
        }
        if let Some((for_expires, on)) = mark.renewal {
            insert_renewal.execute(params![id, for_expires, on])?;
            refresh_renewal_mark(tx, id)?;
            cancel_obligation(tx, &keys::renewal(licence, for_expires), "renewal marked")?;
            detail.push(format!(
                "renewal for expiry {for_expires} applied for on {on}"
            ));
        }
        history(
            tx,
            stamp,
            Some(licence),
            "past",
            &format!("{} {via}", detail.join("; ")),
        )?;
    }

    Ok(())
}

/// The import's own history row, after its batches' rows: what it did in
/// all.
pub(super) fn summary(
    tx: &Transaction,
    stamp: &Stamp,
    source: &str,
    report: &ImportReport,
) -> Result<(), StoreError> {
    let tally = |t: Tally| format!("{} added, {} updated", t.added, t.updated);
    history(
        tx,
        stamp,
        None,
        "import",
        &format!(
            "{source}: companies {}; licences {}; numbers {}",
            tally(report.companies),
            tally(report.licences),
            tally(report.numbers)
        ),
    )
}
