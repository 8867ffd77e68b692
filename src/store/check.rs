//! The rows a register written before a rule existed may hold that break it:
//! listed for `db check`, never changed or dropped here, and still reminded
//! of. The rules are the domain's; this file only reads the rows for them.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::register::parsed;
use super::{Result, Store};
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

impl Store {
    /// Every row that breaks a rule of `domain::rules`, licences first.
    pub fn rule_breaks(&self, today: NaiveDate) -> Result<Vec<RuleBreak>> {
        let mut breaks = Vec::new();
        // The latest renewal mark before a licence's expiry: a renewed
        // licence's term is counted from the day after the old expiry.
        let mut renewed_from: HashMap<i64, NaiveDate> = HashMap::new();
        let mut late_marks: Vec<(i64, NaiveDate, NaiveDate)> = Vec::new();
        {
            let mut stmt = self
                .conn()
                .prepare("SELECT licence_id, for_expires, submitted_on FROM renewal")?;
            let rows = stmt.query_map([], |row| <(i64, NaiveDate, NaiveDate)>::try_from(row))?;
            for row in rows {
                let (id, for_expires, submitted) = row?;
                let entry = renewed_from.entry(id).or_insert(for_expires);
                *entry = (*entry).max(for_expires);
                late_marks.push((id, for_expires, submitted));
            }
        }

        struct LicenceRow {
            number: LicenceNo,
            items: Vec<ItemCode>,
            issued: NaiveDate,
            last_day: NaiveDate,
        }
        let mut licences: HashMap<i64, LicenceRow> = HashMap::new();
        let mut stmt = self.conn().prepare(
            "SELECT id, number, items, issued, expires, ended_on, authority FROM licence ORDER BY number",
        )?;
        let rows = stmt.query_map([], |row| {
            let items: String = row.get(2)?;
            Ok((
                row.get::<_, i64>(0)?,
                parsed::<LicenceNo>(row, 1)?,
                items,
                row.get::<_, NaiveDate>(3)?,
                row.get::<_, NaiveDate>(4)?,
                row.get::<_, Option<NaiveDate>>(5)?,
                row.get::<_, String>(6)?,
            ))
        })?;
        for row in rows {
            let (id, number, items, issued, expires, ended_on, authority) = row?;
            let renewed = renewed_from.get(&id).copied().filter(|old| *old < expires);
            let found = [
                rules::licence_dates(&number, issued, expires, renewed).err(),
                rules::not_after_today(RuleField::Issued, issued, today).err(),
                rules::authority(&number, Some(&authority)).err(),
            ];
            for error in found.into_iter().flatten() {
                breaks.push(RuleBreak {
                    licence: number.clone(),
                    row: RuleRow::Licence,
                    error,
                });
            }
            let last_day = crate::domain::obligation::last_day(expires, ended_on);
            let items = ItemCode::parse_list(&items).unwrap_or_default();
            licences.insert(
                id,
                LicenceRow {
                    number,
                    items,
                    issued,
                    last_day,
                },
            );
        }
        for (id, for_expires, submitted) in late_marks {
            if let Some(licence) = licences.get(&id)
                && let Err(error) = rules::renewable_on(&licence.number, for_expires, submitted)
            {
                breaks.push(RuleBreak {
                    licence: licence.number.clone(),
                    row: RuleRow::Renewal,
                    error,
                });
            }
        }

        let mut stmt = self.conn().prepare(
            "SELECT licence_id, number, province, allocated FROM number
             WHERE released_on IS NULL ORDER BY number, province",
        )?;
        let rows = stmt.query_map([], |row| {
            let province: String = row.get(2)?;
            Ok((
                row.get::<_, i64>(0)?,
                parsed::<ServiceNumber>(row, 1)?,
                province,
                row.get::<_, NaiveDate>(3)?,
            ))
        })?;
        for row in rows {
            let (id, number, province, allocated) = row?;
            let Some(licence) = licences.get(&id) else {
                continue;
            };
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
                breaks.push(RuleBreak {
                    licence: licence.number.clone(),
                    row: RuleRow::Number {
                        number: number.clone(),
                        province,
                    },
                    error,
                });
            }
        }

        let mut stmt = self.conn().prepare(
            "SELECT id, licence_id, changed_on FROM company_change WHERE filed_on IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| <(i64, i64, NaiveDate)>::try_from(row))?;
        for row in rows {
            let (change, id, on) = row?;
            let Some(licence) = licences.get(&id) else {
                continue;
            };
            let found = [
                rules::change_date(&licence.number, licence.issued, on).err(),
                rules::not_after_today(RuleField::On, on, today).err(),
            ];
            for error in found.into_iter().flatten() {
                breaks.push(RuleBreak {
                    licence: licence.number.clone(),
                    row: RuleRow::Change { id: change },
                    error,
                });
            }
        }
        Ok(breaks)
    }
}
