//! The rows a register written before a rule existed may hold that break it:
//! listed for `db check`, never changed or dropped here, and still reminded
//! of. The rules are the domain's; this file only reads the rows for them.

use chrono::NaiveDate;

use super::register::{each_row, parsed};
use super::{Store, StoreError};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use crate::domain::rules::{self, RuleError, RuleField};

/// The row a broken rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRow {
    Licence,
    Number {
        number: ServiceNumber,
        province: Option<Province>,
    },
    Change {
        id: i64,
    },
    Renewal,
}

/// One row that breaks one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleBreak {
    pub licence: LicenceNo,
    pub row: RuleRow,
    pub error: RuleError,
}

/// A licence as the rules about its numbers and changes read it.
struct LicenceFacts {
    number: LicenceNo,
    items: Vec<ItemCode>,
    issued: NaiveDate,
    last_day: NaiveDate,
}

/// The licence's columns [`licence_facts`] reads, `l` being the licence.
const LICENCE_FACTS: &str = "l.number, l.items, l.issued, l.expires, l.ended_on";

/// A row's licence from [`LICENCE_FACTS`], read from column `at` on.
fn licence_facts(row: &rusqlite::Row, at: usize) -> rusqlite::Result<LicenceFacts> {
    let items: String = row.get(at + 1)?;
    let expires: NaiveDate = row.get(at + 3)?;
    Ok(LicenceFacts {
        number: parsed::<LicenceNo>(row, at)?,
        items: ItemCode::parse_list(&items).unwrap_or_default(),
        issued: row.get(at + 2)?,
        last_day: crate::domain::obligation::last_day(expires, row.get(at + 4)?),
    })
}

impl Store {
    /// Each row that breaks a rule of `domain::rules`, licences first, given
    /// to `f` as it is found. Each row is read with its licence's facts,
    /// and none is held: a register written before the rules may break them
    /// on every row. The first error stops.
    pub fn each_rule_break<E: From<StoreError>>(
        &self,
        today: NaiveDate,
        mut f: impl FnMut(RuleBreak) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let breaks = &mut f;
        // With the latest renewal mark's expiry: a renewed licence's term is
        // counted from the day after the old expiry.
        each_row::<_, E>(
            self.conn(),
            "SELECT l.number, l.issued, l.expires, l.authority,
                    (SELECT max(r.for_expires) FROM renewal r WHERE r.licence_id = l.id)
             FROM licence l ORDER BY l.number",
            [],
            |row| {
                Ok((
                    parsed::<LicenceNo>(row, 0)?,
                    row.get::<_, NaiveDate>(1)?,
                    row.get::<_, NaiveDate>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<NaiveDate>>(4)?,
                ))
            },
            |(number, issued, expires, authority, renewed)| {
                let renewed = renewed.filter(|old| *old < expires);
                let found = [
                    rules::licence_dates(&number, issued, expires, renewed).err(),
                    rules::not_after_today(RuleField::Issued, issued, today).err(),
                    rules::authority(&number, Some(&authority)).err(),
                ];
                for error in found.into_iter().flatten() {
                    breaks(RuleBreak {
                        licence: number.clone(),
                        row: RuleRow::Licence,
                        error,
                    })?;
                }
                Ok(())
            },
        )?;

        // In the table's order (its key: licence id, expiry).
        each_row::<_, E>(
            self.conn(),
            "SELECT l.number, r.for_expires, r.submitted_on
             FROM renewal r JOIN licence l ON l.id = r.licence_id
             ORDER BY r.licence_id, r.for_expires",
            [],
            |row| {
                Ok((
                    parsed::<LicenceNo>(row, 0)?,
                    row.get::<_, NaiveDate>(1)?,
                    row.get::<_, NaiveDate>(2)?,
                ))
            },
            |(licence, for_expires, submitted)| {
                if let Err(error) = rules::renewable_on(&licence, for_expires, submitted) {
                    breaks(RuleBreak {
                        licence,
                        row: RuleRow::Renewal,
                        error,
                    })?;
                }
                Ok(())
            },
        )?;

        each_row::<_, E>(
            self.conn(),
            &format!(
                "SELECT n.number, n.province, n.allocated, {LICENCE_FACTS}
             FROM number n JOIN licence l ON l.id = n.licence_id
             WHERE n.released_on IS NULL ORDER BY n.number, n.province"
            ),
            [],
            |row| {
                let province: String = row.get(1)?;
                Ok((
                    parsed::<ServiceNumber>(row, 0)?,
                    province,
                    row.get::<_, NaiveDate>(2)?,
                    licence_facts(row, 3)?,
                ))
            },
            |(number, province, allocated, licence)| {
                let province = Province::parse(&province);
                let found = [
                    rules::number_province(&number, &licence.number, province).err(),
                    rules::number_under_licence(
                        &number,
                        &licence.number,
                        &licence.items,
                        licence.issued,
                        licence.last_day,
                        allocated,
                    )
                    .err(),
                    rules::not_after_today(RuleField::Allocated, allocated, today).err(),
                ];
                for error in found.into_iter().flatten() {
                    breaks(RuleBreak {
                        licence: licence.number.clone(),
                        row: RuleRow::Number {
                            number: number.clone(),
                            province,
                        },
                        error,
                    })?;
                }
                Ok(())
            },
        )?;

        each_row::<_, E>(
            self.conn(),
            &format!(
                "SELECT c.id, c.changed_on, {LICENCE_FACTS}
             FROM company_change c JOIN licence l ON l.id = c.licence_id
             WHERE c.filed_on IS NULL ORDER BY c.id"
            ),
            [],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, NaiveDate>(1)?,
                    licence_facts(row, 2)?,
                ))
            },
            |(change, on, licence)| {
                let found = [
                    rules::change_date(&licence.number, licence.issued, on).err(),
                    rules::not_after_today(RuleField::On, on, today).err(),
                ];
                for error in found.into_iter().flatten() {
                    breaks(RuleBreak {
                        licence: licence.number.clone(),
                        row: RuleRow::Change { id: change },
                        error,
                    })?;
                }
                Ok(())
            },
        )?;
        Ok(())
    }
}
