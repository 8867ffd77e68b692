//! The SQLite register: companies, licences, numbers, company changes, the
//! marks that close obligations, snoozes and the append-only history.
//!
//! Architecture invariant: every statement is parameterised; every write runs
//! in one `BEGIN IMMEDIATE` transaction together with its history row, so a
//! refused or interrupted command leaves the file as it was. The store knows
//! the schema, not the rules: obligations come from `domain::obligation`.

mod backup;
mod bulk;
mod check;
mod due;
mod outbox;
mod register;
mod schema;

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use thiserror::Error;

pub use backup::*;
pub use bulk::*;
pub use check::{RuleBreak, RuleRow};
pub use due::DueWindow;
pub use outbox::{NewOutboxRow, OutboxRow, OutboxState, RowOutcome, timestamp};
pub use register::*;

/// How long a writer waits for another process's write transaction. The CLI
/// and the daemon share one file; their transactions last milliseconds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Overrides `BUSY_TIMEOUT` in milliseconds (1 to 600000): for a test that
/// holds the lock, or a site whose backups lock the file for longer.
pub const BUSY_TIMEOUT_ENV: &str = "LICWATCH_BUSY_TIMEOUT_MS";

fn busy_timeout() -> Duration {
    std::env::var(BUSY_TIMEOUT_ENV)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|ms| (1..=600_000).contains(ms))
        .map_or(BUSY_TIMEOUT, Duration::from_millis)
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "database {path}: schema version {found} is newer than this licwatch supports ({supported}); upgrade licwatch"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{what} {value} is already registered")]
    AlreadyRegistered { what: &'static str, value: String },
    #[error("{what} {value} is not registered{hint}")]
    NotFound {
        what: &'static str,
        value: String,
        hint: String,
    },
    #[error("{0}")]
    Refused(String),
    /// A fact the domain's rules refuse. Not a `source`: the message is the
    /// rule's, said once.
    #[error("{}", .0.with_flag())]
    Rule(crate::domain::rules::RuleError),
    #[error(
        "no register at {path} (check --db or LICWATCH_DB; the first `licwatch company add` creates one)"
    )]
    Missing { path: PathBuf },
    #[error(
        "database {path}: schema version {found} is not one licwatch writes; is this a licwatch register?"
    )]
    ForeignSchema { path: PathBuf, found: i64 },
    #[error(
        "database {path} is locked: another process held it for more than {waited:?} (a backup, or a stuck licwatch?); try again"
    )]
    Busy { path: PathBuf, waited: Duration },
    /// Not a `source`: rusqlite's error already says what its own source
    /// says, and `{:#}` would print it three times (issue 8: "database or
    /// disk is full: database or disk is full: Error code 13: …").
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    /// The io error is the source, not repeated in the text (issue 8).
    #[error("database {path}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::domain::rules::RuleError> for StoreError {
    fn from(error: crate::domain::rules::RuleError) -> Self {
        StoreError::Rule(error)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(error)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Who made a change, for the history: the OS user, and the person behind
/// sudo when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Store {
    /// Opens an existing register, for commands that only read: a mistyped
    /// path must not look like an empty register.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Store::open(path)
    }

    /// Opens (creating with mode 0600 if missing) and migrates the register.
    pub fn open(path: &Path) -> Result<Store> {
        let file_error = |source| StoreError::File {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(file_error)?;
        } else {
            // SQLite would say only "unable to open database file" for a
            // file on a read-only mount or without write permission.
            OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(file_error)?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout())?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        debug_assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", "normal")?;
        migrate(&mut conn, path)?;
        // The sidecar files follow the process umask; the register holds
        // contact addresses, so keep them as private as the database.
        for suffix in ["-wal", "-shm"] {
            let mut sidecar = path.as_os_str().to_owned();
            sidecar.push(suffix);
            let sidecar = PathBuf::from(sidecar);
            if sidecar.exists() {
                std::fs::set_permissions(&sidecar, std::fs::Permissions::from_mode(0o600))
                    .map_err(file_error)?;
            }
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Runs `f` in a write transaction taken up front, so that a concurrent
    /// writer makes us wait (up to the busy timeout) instead of failing with
    /// "database is locked" halfway through.
    fn write<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|error| match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    StoreError::Busy {
                        path,
                        waited: busy_timeout(),
                    }
                }
                _ => StoreError::Sqlite(error),
            })?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let supported = schema::MIGRATIONS.len() as i64;
    let current = |conn: &Connection| -> Result<i64> {
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        match found {
            _ if found > supported => Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found,
                supported,
            }),
            _ if found < 0 => Err(StoreError::ForeignSchema {
                path: path.to_owned(),
                found,
            }),
            _ => Ok(found),
        }
    };
    // Up to date: no write at all, so a read-only copy opens too.
    if current(conn)? == supported {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again inside the transaction: another process may have migrated.
    let found = current(&tx)?;
    for step in &schema::MIGRATIONS[found as usize..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", supported)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
