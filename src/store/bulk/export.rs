//! The whole register read back in the import format, for export.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use super::records::{Past, SheetRow};
use crate::store::register::{
    COMPANY_COLUMNS, LICENCE_COLUMNS, NUMBER_COLUMNS, company_row, licence_row, number_row,
};
use crate::store::{Company, Licence, NumberRow, Store, StoreError};

/// Companies an export reads at a time, with their emails, licences and
/// numbers: a few MB, however large the register.
const EXPORT_COMPANIES: usize = 1_000;

impl Store {
    /// Each licence's [`Past`] as the register has it: the last year of the
    /// unbroken run of filed reports (and whether that report said
    /// 未开展业务), and the renewal of the current expiry if applied for.
    /// Of the licences of the companies in `companies` (a JSON array of
    /// ids).
    fn pasts(&self, companies: &str) -> Result<HashMap<i64, Past>, StoreError> {
        let mut pasts = HashMap::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT l.id, l.issued, l.last_day, l.reported_through,
                    (SELECT r.carried_out FROM annual_report r
                     WHERE r.licence_id = l.id AND r.year = min(l.reported_through, CAST(substr(l.last_day, 1, 4) AS INTEGER))),
                    (SELECT n.submitted_on FROM renewal n
                     WHERE n.licence_id = l.id AND n.for_expires = l.expires AND n.continuing = 1)
             FROM licence l WHERE l.company_id IN (SELECT value FROM json_each(?1))",
        )?;
        type PastRow = (
            i64,
            NaiveDate,
            NaiveDate,
            i64,
            Option<bool>,
            Option<NaiveDate>,
        );
        let rows = statement.query_map([companies], |row| PastRow::try_from(row))?;
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
        crate::store::register::all_rows(|f| self.each_sheet_row(f))
    }

    /// Each row of [`Store::sheet_rows`], in its order, given to `f` as it
    /// is made: the companies are read [`EXPORT_COMPANIES`] at a time with
    /// their emails, licences and numbers, so that memory follows a chunk,
    /// not the register. The first error stops.
    pub fn each_sheet_row<E: From<StoreError>>(
        &self,
        f: impl FnMut(SheetRow) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_sheet_row_by(EXPORT_COMPANIES, f)
    }

    /// [`Store::each_sheet_row`], `chunk` companies at a time (the tests'
    /// small chunks put chunk boundaries inside a small register).
    fn each_sheet_row_by<E: From<StoreError>>(
        &self,
        chunk: usize,
        mut f: impl FnMut(SheetRow) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {COMPANY_COLUMNS} FROM company c ORDER BY c.name, c.uscc"
            ))
            .map_err(StoreError::from)?;
        let mut companies = statement
            .query_map([], company_row)
            .map_err(StoreError::from)?;
        loop {
            let chunk: Vec<Company> = companies
                .by_ref()
                .take(chunk.max(1))
                .collect::<rusqlite::Result<_>>()
                .map_err(StoreError::from)?;
            if chunk.is_empty() {
                return Ok(());
            }
            for row in self.sheet_rows_of(chunk)? {
                f(row)?;
            }
        }
    }

    /// The rows of `companies`, in their order.
    fn sheet_rows_of(&self, companies: Vec<Company>) -> Result<Vec<SheetRow>, StoreError> {
        // A JSON array, for `json_each`.
        let ids = format!(
            "[{}]",
            companies
                .iter()
                .map(|c| c.id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT company_id, email FROM company_email
             WHERE company_id IN (SELECT value FROM json_each(?1)) ORDER BY company_id, email",
        )?;
        let rows = statement.query_map([&ids], |row| <(i64, String)>::try_from(row))?;
        for row in rows {
            let (company, email) = row?;
            emails.entry(company).or_default().push(email);
        }
        let pasts = self.pasts(&ids)?;
        let mut licences: BTreeMap<i64, Vec<Licence>> = BTreeMap::new();
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {LICENCE_COLUMNS} FROM licence l JOIN company c ON c.id = l.company_id
             WHERE l.company_id IN (SELECT value FROM json_each(?1))"
        ))?;
        for licence in statement.query_map([&ids], licence_row)? {
            let licence = licence?;
            licences
                .entry(licence.company_id)
                .or_default()
                .push(licence);
        }
        let mut numbers: HashMap<String, Vec<NumberRow>> = HashMap::new();
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {NUMBER_COLUMNS} FROM number n JOIN licence l ON l.id = n.licence_id
             WHERE l.company_id IN (SELECT value FROM json_each(?1))"
        ))?;
        for number in statement.query_map([&ids], number_row)? {
            let number = number?;
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::domain::licence::{ItemCode, LicenceNo};
    use crate::domain::uscc::Uscc;
    use crate::store::{NewLicence, Stamp};

    /// A valid USCC for `index`.
    fn uscc(index: u64) -> Uscc {
        let body = format!("91110000{index:09}");
        "0123456789ABCDEFGHJKLMNPQRTUWXY"
            .chars()
            .find_map(|check| format!("{body}{check}").parse().ok())
            .unwrap()
    }

    #[test]
    fn chunks_of_companies_give_the_rows_of_the_whole_register_in_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("register.db")).unwrap();
        let stamp = Stamp::cli(
            "tester".into(),
            Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
        );
        // Names out of id order; one company without a licence, one with
        // two, each licence's numbers added out of order, emails.
        for (index, name) in [(1, "丙"), (2, "甲"), (3, "乙"), (4, "丁"), (5, "甲")] {
            let emails = [
                format!("b{index}@example.cn"),
                format!("a{index}@example.cn"),
            ];
            store
                .add_company(&stamp, &uscc(index), name, &emails)
                .unwrap();
        }
        let issued = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        for (holder, number, numbers) in [
            (1, "京B2-20240002", &["962002", "962001"][..]),
            (1, "京B2-20240001", &[][..]),
            (2, "京B2-20240003", &["962003"][..]),
            (5, "京B2-20240004", &["962005", "962004"][..]),
        ] {
            let number: LicenceNo = number.parse().unwrap();
            store
                .add_licence(
                    &stamp,
                    &NewLicence {
                        authority: number.scope().authority(),
                        number: number.clone(),
                        holder: uscc(holder),
                        items: vec![ItemCode::B24],
                        issued,
                        expires: NaiveDate::from_ymd_opt(2029, 1, 9).unwrap(),
                    },
                )
                .unwrap();
            for service in numbers {
                store
                    .add_number(
                        &stamp,
                        &service.parse().unwrap(),
                        Some(crate::domain::province::Province::parse("京").unwrap()),
                        &number,
                        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
                        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                    )
                    .unwrap();
            }
        }
        let rows = |chunk| {
            let mut rows = Vec::new();
            store
                .each_sheet_row_by(chunk, |row| {
                    rows.push(row);
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            rows
        };
        let whole = rows(usize::MAX);
        let keys: Vec<String> = whole
            .iter()
            .map(|row| {
                format!(
                    "{} {} {} {}",
                    row.company.name,
                    row.licence
                        .as_ref()
                        .map_or("-".into(), |l| l.number.to_string()),
                    row.number
                        .as_ref()
                        .map_or("-".into(), |n| n.number.to_string()),
                    row.company.emails.join(";")
                )
            })
            .collect();
        expect_test::expect![[r#"
            丁 - - a4@example.cn;b4@example.cn
            丙 京B2-20240001 - a1@example.cn;b1@example.cn
            丙 京B2-20240002 962001 a1@example.cn;b1@example.cn
            丙 京B2-20240002 962002 a1@example.cn;b1@example.cn
            乙 - - a3@example.cn;b3@example.cn
            甲 京B2-20240003 962003 a2@example.cn;b2@example.cn
            甲 京B2-20240004 962004 a5@example.cn;b5@example.cn
            甲 京B2-20240004 962005 a5@example.cn;b5@example.cn"#]]
        .assert_eq(&keys.join("\n"));
        for chunk in [1, 2, 3] {
            assert_eq!(rows(chunk), whole, "chunks of {chunk}");
        }
    }
}
