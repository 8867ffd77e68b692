//! The numbers of an import's plan: added or changed, each checked by the
//! domain's rules against its licence.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction, params};

use super::plan::{LicenceAfter, NumberAfter, Plan, date_text, number_key, problem, text_or_dash};
use super::plan_licences::rule_problem;
use super::records::{Batch, Entity, Field, NumberRecord};
use crate::domain::licence::LicenceNo;
use crate::domain::rules::{self, RuleField};
use crate::store::register::{NUMBER_COLUMNS, number_row};
use crate::store::{Direction, StoreError};

pub(super) fn plan_numbers<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    licences: &HashMap<LicenceNo, LicenceAfter>,
    today: NaiveDate,
    plan: &mut Plan<'a>,
) -> Result<(), StoreError> {
    let mut find = tx.prepare_cached(&format!(
        "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
         WHERE n.province = ?1 AND n.number = ?2"
    ))?;
    for record in &batch.numbers {
        let (province, label) = number_key(&record.number, record.province);
        let licence = record.licence.to_string();
        let stored = find
            .query_row(params![province, record.number.as_str()], number_row)
            .optional()?;
        if let Some(stored) = stored.as_ref().filter(|s| s.licence != record.licence) {
            plan.problems.push(problem(
                record.row,
                Field::Number,
                &record.number,
                format!(
                    "number {label} is registered under licence {}; a number cannot move to another licence (numbers may not be transferred)",
                    stored.licence
                ),
            ));
            continue;
        }
        let stored_direction = stored.as_ref().and_then(|s| s.direction);
        let after = NumberAfter {
            allocated: record.allocated,
            activated_on: record
                .activated_on
                .or(stored.as_ref().and_then(|s| s.activated_on)),
            carrier: record
                .carrier
                .clone()
                .or(stored.as_ref().and_then(|s| s.carrier.clone())),
            direction: record
                .direction
                .or(stored_direction)
                .or(record.activated_on.map(|_| Direction::Inbound)),
            released_on: record
                .released_on
                .or(stored.as_ref().and_then(|s| s.released_on)),
        };
        // Every number row names its licence, so the batch has it; it is
        // missing only when that licence row was refused.
        let Some(holder) = licences.get(&record.licence) else {
            continue;
        };
        if !check_number(record, &label, holder, &after, today, plan) {
            continue;
        }
        let Some(stored) = stored else {
            plan.added(
                Entity::Number,
                label,
                format!("under {licence} allocated {}", record.allocated),
            );
            plan.number_adds.push((record, after));
            continue;
        };
        let mut detail = Vec::new();
        if after.allocated != stored.allocated {
            detail.push(format!(
                "allocated {} -> {}",
                stored.allocated, after.allocated
            ));
        }
        if after.activated_on != stored.activated_on {
            detail.push(format!(
                "activated {} -> {}",
                date_text(stored.activated_on),
                date_text(after.activated_on)
            ));
        }
        if after.carrier != stored.carrier {
            detail.push(format!(
                "carrier {} -> {}",
                text_or_dash(stored.carrier.as_deref()),
                text_or_dash(after.carrier.as_deref())
            ));
        }
        if after.direction != stored_direction {
            detail.push(format!(
                "direction {} -> {}",
                stored_direction.map_or("-", Direction::code),
                after.direction.map_or("-", Direction::code)
            ));
        }
        if after.released_on != stored.released_on {
            detail.push(format!(
                "released {} -> {}",
                date_text(stored.released_on),
                date_text(after.released_on)
            ));
        }
        let Some(detail) = plan.updated(Entity::Number, label, detail) else {
            continue;
        };
        plan.number_updates.push((stored.id, record, after, detail));
    }
    Ok(())
}

/// 先证后号: a number is allocated while its licence is valid, under a
/// licence that carries B24 and, for a 95 or 1010 number, a 全网 licence;
/// it is put into service or released after it was allocated.
fn check_number(
    record: &NumberRecord,
    label: &str,
    licence: &LicenceAfter,
    after: &NumberAfter,
    today: NaiveDate,
    plan: &mut Plan,
) -> bool {
    let before = plan.problems.len();
    let broken = [
        rules::number_province(&record.number, &record.licence, record.province).err(),
        rules::number_under_licence(
            &record.number,
            &record.licence,
            &licence.items,
            licence.issued,
            licence.last_day(),
            after.allocated,
        )
        .err(),
        rules::not_after_today(RuleField::Allocated, after.allocated, today).err(),
    ];
    for error in broken.into_iter().flatten() {
        plan.problems.push(rule_problem(record.row, &error));
    }
    for (field, date, what) in [
        (Field::ActivatedOn, after.activated_on, "put into service"),
        (Field::ReleasedOn, after.released_on, "released"),
    ] {
        if let Some(date) = date.filter(|date| *date < after.allocated) {
            plan.problems.push(problem(
                record.row,
                field,
                date,
                format!(
                    "number {label} {what} on {date}, before it was allocated ({})",
                    after.allocated
                ),
            ));
        }
    }
    if after.activated_on.is_some() && after.carrier.is_none() {
        plan.problems.push(problem(
            record.row,
            Field::Carrier,
            "",
            format!(
                "number {label} is in service but no carrier is given (the filing names it, e.g. 中国电信)"
            ),
        ));
    }
    plan.problems.len() == before
}
