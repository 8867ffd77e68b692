//! The licences of an import's plan: added or changed, each checked by
//! the domain's rules.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Transaction};

use super::plan::{LicenceAfter, Plan, date_text, plan_past, problem};
use super::records::{Batch, Ended, Entity, Field, LicenceRecord, RowProblem};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::rules::{self, RuleError, RuleField};
use crate::store::StoreError;
use crate::store::register::{LICENCE_COLUMNS, licence_row};

/// Plans the licences; returns each one's fields after the import, for the
/// numbers' checks.
pub(super) fn plan_licences<'a>(
    tx: &Transaction,
    batch: &'a Batch,
    today: NaiveDate,
    plan: &mut Plan<'a>,
) -> Result<HashMap<LicenceNo, LicenceAfter>, StoreError> {
    let mut find = tx.prepare_cached(&format!(
        "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id
         WHERE l.number = ?1"
    ))?;
    let mut after_all = HashMap::with_capacity(batch.licences.len());
    for record in &batch.licences {
        let number = record.number.to_string();
        let stored = find.query_row([&number], licence_row).optional()?;
        let Some(stored) = stored else {
            let after = LicenceAfter {
                items: record.items.clone(),
                issued: record.issued,
                expires: record.expires.unwrap_or(record.default_expires),
                authority: record
                    .authority
                    .clone()
                    .unwrap_or_else(|| record.number.scope().authority()),
                ended: record.ended.clone(),
            };
            if check_licence(record, &after, None, today, plan) {
                plan.added(
                    Entity::Licence,
                    number.clone(),
                    format!(
                        "holder {} items {} issued {} expires {}",
                        record.holder,
                        ItemCode::join(&after.items),
                        after.issued,
                        after.expires
                    ),
                );
                plan.licence_adds.push((record, after.clone()));
                plan_past(tx, record, None, &after, today, plan)?;
            }
            after_all.insert(record.number.clone(), after);
            continue;
        };
        if stored.holder != record.holder {
            plan.problems.push(problem(
                record.row,
                Field::Uscc,
                &record.holder,
                format!(
                    "licence {number} is held by {} in the register; a licence does not change holder (a renamed company keeps its USCC)",
                    stored.holder
                ),
            ));
            continue;
        }
        let stored_ended = stored.ended_on.map(|on| Ended {
            on,
            reason: stored.end_reason.clone().unwrap_or_default(),
        });
        let after = LicenceAfter {
            items: record.items.clone(),
            issued: record.issued,
            expires: record.expires.unwrap_or(stored.expires),
            authority: record.authority.clone().unwrap_or(stored.authority.clone()),
            ended: record.ended.clone().or(stored_ended.clone()),
        };
        let renewed_from = (record.issued == stored.issued).then_some(stored.expires);
        if !check_licence(record, &after, renewed_from, today, plan) {
            after_all.insert(record.number.clone(), after);
            continue;
        }
        plan_past(tx, record, Some(stored.id), &after, today, plan)?;
        let mut detail = Vec::new();
        if after.items != stored.items {
            detail.push(format!(
                "items {} -> {}",
                ItemCode::join(&stored.items),
                ItemCode::join(&after.items)
            ));
        }
        if after.issued != stored.issued {
            detail.push(format!("issued {} -> {}", stored.issued, after.issued));
        }
        if after.expires != stored.expires {
            detail.push(format!("expires {} -> {}", stored.expires, after.expires));
        }
        if after.authority != stored.authority {
            detail.push(format!(
                "authority {} -> {}",
                stored.authority, after.authority
            ));
        }
        if after.ended != stored_ended {
            let ended = after.ended.as_ref().expect("an import never clears an end");
            detail.push(format!(
                "ended {} -> {} ({})",
                date_text(stored.ended_on),
                ended.on,
                ended.reason
            ));
        }
        if let Some(detail) = plan.updated(Entity::Licence, number.clone(), detail) {
            plan.licence_updates
                .push((stored.id, record, after.clone(), detail));
        }
        after_all.insert(record.number.clone(), after);
    }
    Ok(after_all)
}

/// The checks that need the licence's fields after the import: the file's
/// values may be merged with the register's. The rules are the domain's,
/// the same the CLI and the store apply. Records problems; true if none.
fn check_licence(
    record: &LicenceRecord,
    after: &LicenceAfter,
    renewed_from: Option<NaiveDate>,
    today: NaiveDate,
    plan: &mut Plan,
) -> bool {
    let before = plan.problems.len();
    let mut broken = vec![
        rules::licence_dates(&record.number, after.issued, after.expires, renewed_from).err(),
        rules::not_after_today(RuleField::Issued, record.issued, today).err(),
    ];
    if let Some(given) = &record.authority {
        broken.push(rules::authority(&record.number, Some(given)).err());
    }
    for error in broken.into_iter().flatten() {
        plan.problems.push(rule_problem(record.row, &error));
    }
    if let Some(ended) = &after.ended
        && let Err(error) = rules::end_date(&record.number, after.issued, ended.on)
    {
        plan.problems.push(rule_problem(record.row, &error));
    }
    plan.problems.len() == before
}

/// A domain rule's refusal as a row problem, in the column of its field.
pub(super) fn rule_problem(row: usize, error: &RuleError) -> RowProblem {
    let field = match error.field() {
        RuleField::Issued => Field::Issued,
        RuleField::Expires => Field::Expires,
        RuleField::Authority => Field::Authority,
        RuleField::Items => Field::Items,
        RuleField::Number | RuleField::On => Field::Number,
        RuleField::Province => Field::NumberProvince,
        RuleField::Allocated => Field::Allocated,
        RuleField::EndedOn => Field::EndedOn,
    };
    problem(row, field, error.value(), error.to_string())
}
