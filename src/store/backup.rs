//! Keeping the register safe: online backups and the integrity check.
//!
//! A backup goes through SQLite's online backup API, which copies a
//! consistent snapshot while the daemon keeps writing (in WAL mode a reader
//! never blocks the writer). The copy is made under a temporary name and
//! only then given its final one, so a crash never leaves half a backup
//! under the name a person would restore from.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{Refusal, Store, StoreError, schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// An existing file at the destination is an error.
    Refuse,
    /// An existing file is replaced, in one rename.
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
}

/// What `db check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// `PRAGMA integrity_check`: `["ok"]` for a sound file.
    pub integrity: Vec<String>,
    /// `PRAGMA foreign_key_check`: rows pointing at nothing.
    pub foreign_keys: Vec<String>,
    pub schema_version: i64,
    /// The schema version this build writes.
    pub supported: i64,
}

impl CheckReport {
    pub fn integrity_ok(&self) -> bool {
        self.integrity == ["ok"] && self.foreign_keys.is_empty()
    }

    /// A newer schema is one this build cannot read; an older one is
    /// migrated by `licwatch db upgrade` or the daemon; below 1 is no
    /// register licwatch wrote.
    pub fn schema_ok(&self) -> bool {
        (1..=self.supported).contains(&self.schema_version)
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::File {
        path: path.to_owned(),
        source,
    }
}

/// The integrity check and the foreign key check of an open connection.
fn integrity(conn: &Connection) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let integrity = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let foreign_keys = conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |row| {
            Ok(format!(
                "{} row {} points at a missing {}",
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?
                    .map_or("?".to_owned(), |id| id.to_string()),
                row.get::<_, String>(2)?
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((integrity, foreign_keys))
}

/// Opens a register file as it is: not created if missing, not migrated,
/// and read-only, so that a check or a backup never takes the write lock
/// the daemon may be holding.
fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::File {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (set --db or LICWATCH_DB)",
            ),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(conn)
}

impl Store {
    /// Copies the register at `source` to `dest`, created with mode 0600
    /// like the register itself, and checks the copy before giving it its
    /// name. The register is copied as it is, without migrating it.
    pub fn backup(
        source_path: &Path,
        dest: &Path,
        overwrite: Overwrite,
    ) -> Result<BackupReport, StoreError> {
        let source = open_existing(source_path)?;
        let name = dest.file_name().ok_or_else(|| Refusal::BackupNotAFile {
            path: dest.to_owned(),
        })?;
        if overwrite == Overwrite::Refuse && dest.exists() {
            return Err(Refusal::BackupExists {
                path: dest.to_owned(),
            }
            .into());
        }
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".{}.partial", std::process::id()));
        let temporary = dest.with_file_name(temporary_name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(file_error(&temporary))?;
        let copied = copy_into(&source, source_path, &temporary);
        let placed = copied.and_then(|report| {
            File::open(&temporary)
                .and_then(|file| file.sync_all())
                .map_err(file_error(&temporary))?;
            match overwrite {
                // A hard link fails if the name was taken meanwhile, where
                // a rename would silently replace it.
                Overwrite::Refuse => std::fs::hard_link(&temporary, dest)
                    .and_then(|()| std::fs::remove_file(&temporary)),
                Overwrite::Replace => std::fs::rename(&temporary, dest),
            }
            .map_err(file_error(dest))?;
            Ok(report)
        });
        if placed.is_err() {
            // Best effort: the error being returned is the one that matters.
            let _ = std::fs::remove_file(&temporary);
        }
        let (bytes, schema_version) = placed?;
        Ok(BackupReport {
            path: dest.to_owned(),
            bytes,
            schema_version,
        })
    }

    /// Checks a register file without migrating it or creating it: the
    /// file may be a backup about to be restored, or damaged.
    pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
        let conn = open_existing(path)?;
        let schema_version: i64 =
            conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        // Another application's file is refused; a version out of range is
        // reported (`schema_ok`), and a file too damaged to list its tables
        // gets its integrity report.
        if let Err(refused @ StoreError::NotARegister { .. }) = super::recognise(&conn, path) {
            return Err(refused);
        }
        let (integrity, foreign_keys) = integrity(&conn)?;
        Ok(CheckReport {
            integrity,
            foreign_keys,
            schema_version,
            supported: schema::MIGRATIONS.len() as i64,
        })
    }
}

/// The online backup into an empty file; returns its size and schema
/// version once checked.
fn copy_into(
    source: &Connection,
    source_path: &Path,
    path: &Path,
) -> Result<(u64, i64), StoreError> {
    let mut copy = Connection::open(path)?;
    {
        let backup = Backup::new(source, &mut copy)?;
        // All pages in one step: under WAL the snapshot holds no lock that
        // stops the daemon writing, and one step cannot be restarted by a
        // write in between. A lock it must wait for is waited for by the
        // source's busy handler, up to its timeout.
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => continue,
                // Busy or Locked; the enum is non-exhaustive.
                _ => {
                    return Err(StoreError::Busy {
                        path: source_path.to_owned(),
                        waited: super::BUSY_TIMEOUT,
                    });
                }
            }
        }
    }
    // The copy carries the register's WAL mode; a backup is easier to
    // move and restore as one self-contained file.
    let mode: String =
        copy.pragma_update_and_check(None, "journal_mode", "delete", |row| row.get(0))?;
    if mode != "delete" {
        return Err(Refusal::BackupJournalMode {
            path: path.to_owned(),
            mode,
        }
        .into());
    }
    let (integrity, foreign_keys) = integrity(&copy)?;
    if integrity != ["ok"] || !foreign_keys.is_empty() {
        return Err(Refusal::BackupDamaged {
            path: path.to_owned(),
            problems: integrity.into_iter().chain(foreign_keys).collect(),
        }
        .into());
    }
    let version: i64 = copy.pragma_query_value(None, "user_version", |row| row.get(0))?;
    drop(copy);
    let bytes = std::fs::metadata(path).map_err(file_error(path))?.len();
    Ok((bytes, version))
}
