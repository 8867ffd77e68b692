//! The whole register read back in the import format, for export.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use super::records::{Past, SheetRow};
use crate::store::register::{COMPANY_COLUMNS, company_row};
use crate::store::{Company, Licence, NumberRow, Store, StoreError};

impl Store {
    /// Each licence's [`Past`] as the register has it: the last year of the
    /// unbroken run of filed reports (and whether that report said
    /// 未开展业务), and the renewal of the current expiry if applied for.
    fn pasts(&self) -> Result<HashMap<i64, Past>, StoreError> {
        let mut pasts = HashMap::new();
        let mut statement = self.conn.prepare(
            "SELECT l.id, l.issued, l.last_day, l.reported_through,
                    (SELECT r.carried_out FROM annual_report r
                     WHERE r.licence_id = l.id AND r.year = min(l.reported_through, CAST(substr(l.last_day, 1, 4) AS INTEGER))),
                    (SELECT n.submitted_on FROM renewal n
                     WHERE n.licence_id = l.id AND n.for_expires = l.expires AND n.continuing = 1)
             FROM licence l",
        )?;
        type PastRow = (
            i64,
            NaiveDate,
            NaiveDate,
            i64,
            Option<bool>,
            Option<NaiveDate>,
        );
        let rows = statement.query_map([], |row| PastRow::try_from(row))?;
        for row in rows {
            let (id, issued, last_day, through, carried_out, renewal_submitted) = row?;
            // 9999 means no report is owed any more: all were filed up to
            // the licence's last year.
            let through = i32::try_from(through.min(i64::from(last_day.year()))).ok();
            let reported_through = through.filter(|year| *year >= issued.year());
            pasts.insert(
                id,
                Past {
                    reported_through,
                    // Only a 未开展业务 is written out: 否 on every other row is noise.
                    last_not_carried_out: reported_through
                        .and(carried_out)
                        .filter(|carried_out| !carried_out)
                        .map(|_| true),
                    renewal_submitted,
                },
            );
        }
        Ok(pasts)
    }

    /// The whole register in the import format, ordered by company, licence
    /// and number so that two exports of the same register are identical.
    pub fn sheet_rows(&self) -> Result<Vec<SheetRow>, StoreError> {
        let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
        let mut statement = self
            .conn
            .prepare("SELECT company_id, email FROM company_email ORDER BY company_id, email")?;
        let rows = statement.query_map([], |row| <(i64, String)>::try_from(row))?;
        for row in rows {
            let (company, email) = row?;
            emails.entry(company).or_default().push(email);
        }
        // Without routes: they are the deployment's, not the client's data,
        // and the sheet does not carry them.
        let companies: Vec<Company> = self
            .conn
            .prepare(&format!(
                "SELECT {COMPANY_COLUMNS} FROM company c ORDER BY c.name, c.uscc"
            ))?
            .query_map([], company_row)?
            .collect::<rusqlite::Result<_>>()?;
        let pasts = self.pasts()?;
        let mut licences: BTreeMap<i64, Vec<Licence>> = BTreeMap::new();
        for licence in self.licences()? {
            licences
                .entry(licence.company_id)
                .or_default()
                .push(licence);
        }
        let mut numbers: HashMap<String, Vec<NumberRow>> = HashMap::new();
        for number in self.numbers(None)? {
            numbers
                .entry(number.licence.to_string())
                .or_default()
                .push(number);
        }
        let mut rows = Vec::new();
        for mut company in companies {
            company.emails = emails.remove(&company.id).unwrap_or_default();
            let row = |licence: Option<&Licence>, number: Option<NumberRow>| SheetRow {
                company: company.clone(),
                past: licence
                    .and_then(|l| pasts.get(&l.id).copied())
                    .unwrap_or_default(),
                licence: licence.cloned(),
                number,
            };
            let mut held = licences.remove(&company.id).unwrap_or_default();
            held.sort_by_key(|licence| licence.number.to_string());
            if held.is_empty() {
                rows.push(row(None, None));
            }
            for licence in held {
                let mut under = numbers
                    .remove(&licence.number.to_string())
                    .unwrap_or_default();
                under.sort_by_key(|n| (n.number.clone(), n.province));
                if under.is_empty() {
                    rows.push(row(Some(&licence), None));
                }
                for number in under {
                    rows.push(row(Some(&licence), Some(number)));
                }
            }
        }
        Ok(rows)
    }
}
