//! Companies: adding, reading, updating, searching, and the addresses and
//! routes their reminders go to.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};

use super::history::history;
use super::rows::{COMPANY_COLUMNS, company_row, each_row, limit_param, parsed};
use super::{ChangeRow, Company, CompanyUpdate, Holder, Stamp};
use crate::domain::change::ChangeKind;
use crate::domain::licence::LicenceNo;
use crate::domain::uscc::Uscc;
use crate::store::{Refusal, Result, Store};

fn company_emails(conn: &rusqlite::Connection, company_id: i64) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT email FROM company_email WHERE company_id = ?1 ORDER BY email")?
        .query_map([company_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn company_routes(conn: &rusqlite::Connection, company_id: i64) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached("SELECT route FROM company_route WHERE company_id = ?1 ORDER BY route")?
        .query_map([company_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

pub(in crate::store) fn set_emails(
    tx: &Transaction,
    company_id: i64,
    emails: &[String],
) -> Result<()> {
    tx.prepare_cached("DELETE FROM company_email WHERE company_id = ?1")?
        .execute([company_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO company_email (company_id, email) VALUES (?1, ?2)",
    )?;
    for email in emails {
        insert.execute(params![company_id, email])?;
    }
    Ok(())
}

/// Checks the shape of a contact address; delivery proves the rest.
pub fn check_email(email: &str) -> std::result::Result<String, String> {
    let email = email.trim();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email
        .chars()
        .any(|c| c.is_whitespace() || c == ',' || c == ';');
    if valid {
        Ok(email.to_owned())
    } else {
        Err(format!(
            "email \"{email}\": not an address (expected one address like compliance@example.com; repeat --email for more)"
        ))
    }
}

impl Store {
    pub fn add_company(
        &mut self,
        stamp: &Stamp,
        uscc: &Uscc,
        name: &str,
        emails: &[String],
    ) -> Result<Company> {
        let id = self.write(|tx| {
            let exists: Option<String> = tx
                .query_row(
                    "SELECT name FROM company WHERE uscc = ?1",
                    [uscc.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(existing) = exists {
                return Err(Refusal::CompanyExists {
                    uscc: uscc.clone(),
                    name: existing,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO company (uscc, name) VALUES (?1, ?2)",
                params![uscc.as_str(), name],
            )?;
            let id = tx.last_insert_rowid();
            set_emails(tx, id, emails)?;
            history(tx, stamp, None, "company add", &format!("{uscc} {name}"))?;
            Ok(id)
        })?;
        self.company_by_id(id)
    }

    fn company_by_id(&self, id: i64) -> Result<Company> {
        // Cached: a listing reads every company by id.
        let mut company = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COMPANY_COLUMNS} FROM company c WHERE c.id = ?1"
            ))?
            .query_row([id], company_row)?;
        company.emails = company_emails(&self.conn, id)?;
        company.routes = company_routes(&self.conn, id)?;
        Ok(company)
    }

    pub fn company(&self, uscc: &Uscc) -> Result<Company> {
        let id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM company WHERE uscc = ?1",
                [uscc.as_str()],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| Refusal::NoCompany { uscc: uscc.clone() })?;
        self.company_by_id(id)
    }

    pub fn companies(&self) -> Result<Vec<Company>> {
        super::all_rows(|f| self.each_company(f))
    }

    /// Each company by name, given to `f` as it is read: for listings as
    /// long as the register. One statement with each company's e-mails and
    /// routes (a query per company took 24 s over 500,000 companies). The
    /// first error stops.
    pub fn each_company<E: From<crate::store::StoreError>>(
        &self,
        mut f: impl FnMut(Company) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "SELECT {COMPANY_COLUMNS},
               (SELECT json_group_array(email) FROM
                  (SELECT email FROM company_email WHERE company_id = c.id ORDER BY email)),
               (SELECT json_group_array(route) FROM
                  (SELECT route FROM company_route WHERE company_id = c.id ORDER BY route))
             FROM company c ORDER BY c.name, c.uscc"
        );
        let list = |row: &rusqlite::Row, index: usize| -> rusqlite::Result<Vec<String>> {
            let text: String = row.get(index)?;
            serde_json::from_str(&text).map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(
                    index,
                    rusqlite::types::Type::Text,
                    Box::new(error),
                )
            })
        };
        each_row(
            &self.conn,
            &sql,
            [],
            |row| {
                let mut company = company_row(row)?;
                company.emails = list(row, 7)?;
                company.routes = list(row, 8)?;
                Ok(company)
            },
            &mut f,
        )
    }

    /// Updates a company. A new name, registered address or legal
    /// representative is a change the authority must be told of: it records a
    /// change (and so a filing obligation) on each of the company's live
    /// licences, returned here.
    pub fn update_company(
        &mut self,
        stamp: &Stamp,
        uscc: &Uscc,
        update: &CompanyUpdate,
    ) -> Result<(Company, Vec<ChangeRow>)> {
        let company = self.company(uscc)?;
        let change_ids = self.write(|tx| {
            let mut kinds = Vec::new();
            let mut detail = Vec::new();
            let fields = [
                ("name", ChangeKind::Name, &update.name, Some(company.name.clone())),
                ("address", ChangeKind::Address, &update.address, company.address.clone()),
                ("legal_rep", ChangeKind::LegalRep, &update.legal_rep, company.legal_rep.clone()),
            ];
            for (column, kind, new, old) in fields {
                let Some(new) = new else { continue };
                if old.as_deref() == Some(new.as_str()) {
                    continue;
                }
                tx.execute(
                    &format!("UPDATE company SET {column} = ?1 WHERE id = ?2"),
                    params![new, company.id],
                )?;
                detail.push(format!("{column}: {} -> {new}", old.as_deref().unwrap_or("(none)")));
                // The first recorded address or legal representative is data
                // entry, not a change of the company.
                if old.is_some() {
                    kinds.push(kind);
                }
            }
            if let Some(emails) = &update.emails {
                set_emails(tx, company.id, emails)?;
                detail.push(format!("emails: {}", emails.join(", ")));
            }
            if let Some(routes) = &update.routes {
                tx.execute("DELETE FROM company_route WHERE company_id = ?1", [company.id])?;
                for route in routes {
                    tx.execute(
                        "INSERT OR IGNORE INTO company_route (company_id, route) VALUES (?1, ?2)",
                        params![company.id, route],
                    )?;
                }
                detail.push(format!("routes: {}", routes.join(", ")));
            }
            let mut change_ids = Vec::new();
            if !kinds.is_empty() {
                let licences: Vec<(i64, LicenceNo)> = tx
                    .prepare(
                        "SELECT id, number FROM licence WHERE company_id = ?1 AND last_day >= ?2 ORDER BY number",
                    )?
                    .query_map(params![company.id, update.changed_on], |row| Ok((row.get(0)?, parsed(row, 1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (licence_id, licence) in licences {
                    for kind in &kinds {
                        tx.execute(
                            "INSERT INTO company_change (licence_id, kind, changed_on) VALUES (?1, ?2, ?3)",
                            params![licence_id, kind.code(), update.changed_on],
                        )?;
                        let change_id = tx.last_insert_rowid();
                        change_ids.push(change_id);
                        let detail = format!("#{change_id} {} on {}", kind.code(), update.changed_on);
                        history(tx, stamp, Some(&licence), "change record", &detail)?;
                    }
                }
            }
            if !detail.is_empty() {
                history(tx, stamp, None, "company update", &format!("{uscc} {}", detail.join("; ")))?;
            }
            Ok(change_ids)
        })?;
        let changes = change_ids
            .into_iter()
            .map(|id| self.change(id))
            .collect::<Result<_>>()?;
        Ok((self.company(uscc)?, changes))
    }

    /// Companies whose code, name, address or legal representative
    /// contains `text` (any, when empty), at most `limit`, by name.
    pub fn search_companies(&self, text: &str, limit: usize) -> Result<Vec<Company>> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "SELECT id FROM company
                 WHERE ?1 = '' OR instr(lower(uscc), ?1) OR instr(lower(name), ?1)
                    OR instr(lower(coalesce(address, '')), ?1) OR instr(lower(coalesce(legal_rep, '')), ?1)
                 ORDER BY name, uscc LIMIT ?2",
            )?
            .query_map(params![text.to_lowercase(), limit_param(limit)], |row| {
                row.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter().map(|id| self.company_by_id(id)).collect()
    }

    /// Every route some company names as its own.
    pub fn company_route_names(&self) -> Result<std::collections::BTreeSet<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT DISTINCT route FROM company_route")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The holders of these licences (by licence number), for routing.
    pub fn holders(&self, licences: &[String]) -> Result<HashMap<String, Holder>> {
        let numbers = serde_json::to_string(licences).expect("strings serialise");
        let rows: Vec<(String, i64, String)> = self
            .conn
            .prepare_cached(
                "SELECT l.number, c.id, c.uscc FROM json_each(?1) j
                 JOIN licence l ON l.number = j.value JOIN company c ON c.id = l.company_id",
            )?
            .query_map([numbers], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // The companies' addresses and routes with one query each, not two
        // a licence: a first tick names hundreds of thousands of licences.
        let companies: std::collections::BTreeSet<i64> =
            rows.iter().map(|(_, company_id, _)| *company_id).collect();
        let companies = serde_json::to_string(&companies).expect("integers serialise");
        let of_companies = |sql: &str| -> Result<HashMap<i64, Vec<String>>> {
            let mut found: HashMap<i64, Vec<String>> = HashMap::new();
            let mut statement = self.conn.prepare_cached(sql)?;
            for row in statement.query_map([&companies], |row| Ok((row.get(0)?, row.get(1)?)))? {
                let (company_id, value) = row?;
                found.entry(company_id).or_default().push(value);
            }
            Ok(found)
        };
        let emails = of_companies(
            "SELECT company_id, email FROM company_email
             WHERE company_id IN (SELECT value FROM json_each(?1)) ORDER BY company_id, email",
        )?;
        let routes = of_companies(
            "SELECT company_id, route FROM company_route
             WHERE company_id IN (SELECT value FROM json_each(?1)) ORDER BY company_id, route",
        )?;
        Ok(rows
            .into_iter()
            .map(|(licence, company_id, uscc)| {
                let holder = Holder {
                    uscc,
                    emails: emails.get(&company_id).cloned().unwrap_or_default(),
                    routes: routes.get(&company_id).cloned().unwrap_or_default(),
                };
                (licence, holder)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        assert_eq!(check_email(" ops@example.cn ").unwrap(), "ops@example.cn");
        for bad in [
            "ops",
            "ops@",
            "@example.cn",
            "ops@example",
            "a@b.cn,c@d.cn",
            "a b@c.cn",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
