//! Web console accounts and their sessions. A session's token is never
//! stored, only its SHA-256: the cookie is the only copy.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::register::history_row;
use super::{Refusal, Result, Stamp, Store, StoreError, timestamp};
pub use crate::domain::account::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: String,
}

/// A signed-in session, as a request finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account: Account,
    pub csrf: String,
    pub expires_at: String,
}

fn role_column(row: &rusqlite::Row, index: usize) -> rusqlite::Result<Role> {
    let text: String = row.get(index)?;
    text.parse()
        .map_err(|e: crate::domain::account::AccountError| {
            rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
        })
}

fn account_row(row: &rusqlite::Row) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        name: row.get(1)?,
        role: role_column(row, 2)?,
        created_at: row.get(3)?,
    })
}

fn no_account(name: &str) -> StoreError {
    Refusal::NoAccount {
        name: name.to_owned(),
    }
    .into()
}

impl Store {
    /// `password` is the hash, never the password.
    pub fn add_account(
        &mut self,
        stamp: &Stamp,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<Account> {
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM account WHERE name = ?1)",
                [name],
                |row| row.get(0),
            )?;
            if exists {
                return Err(Refusal::AccountExists {
                    name: name.to_owned(),
                }
                .into());
            }
            tx.execute(
                "INSERT INTO account (name, role, password, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.code(), password, timestamp(stamp.at)],
            )?;
            history_row(tx, stamp, None, "user add", &format!("{name} as {role}"))
        })?;
        self.account(name)?.ok_or_else(|| no_account(name))
    }

    pub fn account(&self, name: &str) -> Result<Option<Account>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role, created_at FROM account WHERE name = ?1",
                [name],
                account_row,
            )
            .optional()?)
    }

    /// The account and its password hash, for a login.
    pub fn account_password(&self, name: &str) -> Result<Option<(Account, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role, created_at, password FROM account WHERE name = ?1",
                [name],
                |row| Ok((account_row(row)?, row.get(4)?)),
            )
            .optional()?)
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        Ok(self
            .conn
            .prepare("SELECT id, name, role, created_at FROM account ORDER BY name")?
            .query_map([], account_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Removes the account and ends its sessions.
    pub fn remove_account(&mut self, stamp: &Stamp, name: &str) -> Result<()> {
        let account = self.account(name)?.ok_or_else(|| no_account(name))?;
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_session WHERE account_id = ?1",
                [account.id],
            )?;
            tx.execute("DELETE FROM account WHERE id = ?1", [account.id])?;
            history_row(tx, stamp, None, "user remove", name)
        })
    }

    /// Sets a new password hash and ends the account's sessions: whoever
    /// knew the old one is signed out.
    pub fn set_password(&mut self, stamp: &Stamp, name: &str, password: &str) -> Result<()> {
        let account = self.account(name)?.ok_or_else(|| no_account(name))?;
        self.write(|tx| {
            tx.execute(
                "UPDATE account SET password = ?1 WHERE id = ?2",
                params![password, account.id],
            )?;
            tx.execute(
                "DELETE FROM web_session WHERE account_id = ?1",
                [account.id],
            )?;
            history_row(tx, stamp, None, "user passwd", name)
        })
    }

    /// Starts a session; sessions past their end are purged on the way.
    pub fn create_session(
        &mut self,
        account: &Account,
        token_hash: &[u8; 32],
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        address: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_session WHERE expires_at <= ?1",
                [timestamp(now)],
            )?;
            tx.execute(
                "INSERT INTO web_session (token_hash, account_id, csrf, created_at, expires_at, address)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &token_hash[..],
                    account.id,
                    csrf,
                    timestamp(now),
                    timestamp(expires),
                    address
                ],
            )?;
            Ok(())
        })
    }

    /// The live session of this token hash, if any.
    pub fn session(&self, token_hash: &[u8; 32], now: DateTime<Utc>) -> Result<Option<Session>> {
        Ok(self
            .conn
            .query_row(
                "SELECT a.id, a.name, a.role, a.created_at, s.csrf, s.expires_at
                 FROM web_session s JOIN account a ON a.id = s.account_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![&token_hash[..], timestamp(now)],
                |row| {
                    Ok(Session {
                        account: account_row(row)?,
                        csrf: row.get(4)?,
                        expires_at: row.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn end_session(&mut self, token_hash: &[u8; 32]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_session WHERE token_hash = ?1",
                [&token_hash[..]],
            )?;
            Ok(())
        })
    }

    /// Ends the account's session whose CSRF token is `csrf` (each
    /// session's is random, so it names one).
    pub fn end_session_by_csrf(&mut self, account_id: i64, csrf: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_session WHERE account_id = ?1 AND csrf = ?2",
                params![account_id, csrf],
            )?;
            Ok(())
        })
    }
}
