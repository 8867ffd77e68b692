//! The SQLite register: companies, licences, numbers, company changes, the
//! marks that close obligations, snoozes and the append-only history.
//!
//! Architecture invariant: every statement is parameterised; every write runs
//! in one `BEGIN IMMEDIATE` transaction together with its history row, so a
//! refused or interrupted command leaves the file as it was. The store knows
//! the schema, not the rules: obligations come from `domain::obligation`.

mod account;
mod backup;
mod bulk;
mod check;
mod due;
mod outbox;
mod refusal;
mod register;
mod renewal_mark;
mod schema;
mod status;

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use thiserror::Error;

pub use account::{Account, Role, Session};
pub use backup::{BackupReport, CheckReport, Overwrite};
pub use bulk::{
    Batch, Change, CompanyRecord, Edit, Ended, Entity, Field, FiledReports, Import, ImportError,
    ImportMode, ImportReport, LicenceRecord, MarkReports, NumberRecord, Overdue, Past, PastTally,
    ReportOutcome, ReportScope, RowProblem, SheetRow, Tally,
};
pub use check::{RuleBreak, RuleRow};
pub use due::slices::DueSlices;
pub use due::{Candidates, Due, DueWindow, OpenOf, Unreadable};
pub use outbox::{DueRows, NewOutboxRow, OutboxRow, OutboxState, RowKind, RowOutcome, timestamp};
pub use refusal::Refusal;
pub use register::{
    ChangeRow, Company, CompanyUpdate, Direction, Evidence, HistoryRow, Holder, Licence,
    LicenceUpdate, NewLicence, NumberRow, SnoozeRow, Source, Stamp, check_email,
};
pub use status::{BackupRecord, OldestPending, RouteCounts, ServiceStatus, TickRecord};

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
    #[error(transparent)]
    Refused(#[from] Refusal),
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
        "database {path} is not a licwatch register ({why}); nothing was changed (check --db or LICWATCH_DB)"
    )]
    NotARegister { path: PathBuf, why: String },
    #[error(
        "database {path}: schema version {found} is older than this licwatch's ({supported}); `licwatch db upgrade` upgrades it (the daemon does at start)"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
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

impl Store {
    /// Opens an existing register, for commands that only read: a mistyped
    /// path must not look like an empty register, and nothing about the
    /// file changes (no migration, no journal mode), so that a file that is
    /// not a register, or is one from another version, is left as it was.
    pub fn open_existing(path: &Path) -> Result<Store> {
        let missing = || StoreError::Missing {
            path: path.to_owned(),
        };
        if !path.exists() {
            return Err(missing());
        }
        let conn = connect(path)?;
        let supported = schema::MIGRATIONS.len() as i64;
        let found = recognise(&conn, path)?;
        // Only a register's mode is ours to change.
        if found > 0 {
            tighten(path)?;
        }
        match found {
            0 => Err(missing()),
            found if found < supported => Err(StoreError::OlderSchema {
                path: path.to_owned(),
                found,
                supported,
            }),
            _ => Ok(Store {
                conn,
                path: path.to_owned(),
            }),
        }
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
        let mut conn = connect(path)?;
        // Before anything is written to it: another application's file is
        // refused as it is, not switched to WAL and given our tables.
        recognise(&conn, path)?;
        tighten(path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        debug_assert_eq!(mode, "wal");
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

    /// The register as of one moment until the guard is dropped, for a
    /// command that reads it in several passes (a table's widths, then its
    /// rows; an export's licences, then their numbers): a write committed by
    /// the daemon or the console meanwhile is seen by every pass or by none.
    /// In WAL mode a read holds no lock that writers wait for.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        Ok(Snapshot {
            _transaction: self.conn.unchecked_transaction()?,
        })
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

/// A read transaction of [`Store::snapshot`]: its snapshot is taken at its
/// first read, and it ends (nothing to roll back) when dropped.
pub struct Snapshot<'a> {
    _transaction: rusqlite::Transaction<'a>,
}

/// The SQLite header's application id of a licwatch register ("LCWT"),
/// set when a register is created or migrated: another application's file
/// carries another id, or none.
const APPLICATION_ID: i32 = 0x4C43_5754;

/// The tables each schema version has, by the version that added them: a
/// file claiming a version must have them to be taken for a register.
const TABLES: &[(i64, &str)] = &[
    (1, "company"),
    (1, "company_email"),
    (1, "licence"),
    (1, "number"),
    (1, "company_change"),
    (1, "renewal"),
    (1, "annual_report"),
    (1, "snooze"),
    (1, "history"),
    (2, "outbox"),
    (2, "company_route"),
    (4, "service_status"),
    (5, "account"),
    (5, "web_session"),
];

/// A connection on the register with this process's settings: nothing
/// about the file changes here.
fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout())?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // FULL: in WAL mode the log is synced at every commit, so what a
    // command reported as done survives a power cut (NORMAL syncs only at
    // checkpoints, and a committed write can roll back). Measured in
    // docs/proof.md: the cost is one fsync per write transaction.
    conn.pragma_update(None, "synchronous", "full")?;
    Ok(conn)
}

/// The schema version of a file that is a licwatch register (0 for an
/// empty database, which becomes one), or why it is not one.
fn recognise(conn: &Connection, path: &Path) -> Result<i64> {
    let not_a_register = |why: String| StoreError::NotARegister {
        path: path.to_owned(),
        why,
    };
    let supported = schema::MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let application: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application != 0 && application != APPLICATION_ID {
        return Err(not_a_register(format!(
            "its application id is {application:#010x}, another application's"
        )));
    }
    if found < 0 {
        return Err(StoreError::ForeignSchema {
            path: path.to_owned(),
            found,
        });
    }
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if found == 0 {
        if tables.is_empty() {
            return Ok(0);
        }
        const SHOWN: usize = 5;
        let mut shown = tables[..tables.len().min(SHOWN)].join(", ");
        if tables.len() > SHOWN {
            shown.push_str(&format!(" and {} more", tables.len() - SHOWN));
        }
        return Err(not_a_register(format!(
            "it holds the tables {shown} and no licwatch schema version"
        )));
    }
    let missing: Vec<&str> = TABLES
        .iter()
        .filter(|(since, name)| *since <= found && !tables.iter().any(|t| t == name))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(not_a_register(format!(
            "schema version {found}, but no table {}",
            missing.join(", ")
        )));
    }
    Ok(found)
}

/// A register readable by others is made private again, and said so: it
/// holds contact addresses (issue 13: a 0644 register stayed 0644).
fn tighten(path: &Path) -> Result<()> {
    let file_error = |source| StoreError::File {
        path: path.to_owned(),
        source,
    };
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mode = metadata.permissions().mode() & 0o777;
    if metadata.is_file() && mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(file_error)?;
        tracing::warn!(
            "register {} was mode {mode:04o}, readable by others; made it 0600 (it holds contact addresses)",
            path.display()
        );
    }
    Ok(())
}

/// One byte of the database file that SQLite never locks: the first past
/// its lock range (PENDING_BYTE at 0x40000000, then RESERVED_BYTE and 510
/// SHARED bytes; fixed by the file format).
const DELIVERY_LOCK_BYTE: i64 = 0x4000_0000 + 2 + 510;

/// The delivery lock of a register: one process delivers at a time.
///
/// It is an open file description lock (`F_OFD_SETLK`) on a byte of the
/// database file itself, so it follows the file, not a name: a symlink, a
/// relative path or a hard link to the register takes the same lock
/// (issue 13: a lock file named after the path let a `serve` on a hard
/// link deliver every message a second time). The kernel releases it when
/// the process ends, however it ends.
///
/// Closing it closes a descriptor of the database file, and POSIX then
/// drops every lock this process holds on that file, SQLite's included: so
/// it must outlive every `Store` the process has open on the register (hold
/// it in a binding made before the store's).
pub struct DeliveryLock {
    file: std::fs::File,
}

impl DeliveryLock {
    /// Opens the register's file for its lock, creating it (empty, 0600)
    /// as `Store::open` would if it is not there yet.
    pub fn open(db: &Path) -> std::io::Result<DeliveryLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(db)?;
        Ok(DeliveryLock { file })
    }

    /// Takes the lock if no other process (or other `DeliveryLock`) holds
    /// it; `false` if one does.
    pub fn try_acquire(&self) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        // SAFETY: an all-zero `flock` is a valid value of the C struct; the
        // fields that matter are set below.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = libc::F_WRLCK as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        lock.l_start = DELIVERY_LOCK_BYTE;
        lock.l_len = 1;
        // l_pid must be 0 for an OFD lock (it is, zeroed).
        // SAFETY: the descriptor is open for as long as `self.file`, and
        // `lock` is a valid `flock` the call only reads.
        let done = unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_OFD_SETLK, &lock) };
        if done == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EACCES) => Ok(false),
            _ => Err(e),
        }
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
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
