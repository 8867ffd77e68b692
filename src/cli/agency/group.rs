//! A sheet whose companies' rows are not together (sorted by licence
//! number, say: a company's licences in two provinces are far apart), read
//! again with each company's rows together, companies in the order of
//! their first row and each company's rows in sheet order, so that it can
//! still be imported in batches cut between companies, its memory a
//! batch's. Before, such a sheet was imported as one batch: 1.4 GB for a
//! million licences sorted by number. The rows wait in a scratch SQLite
//! file, which sorts them on disk.

use std::collections::HashMap;

use anyhow::Context as _;
use rusqlite::Connection;

use crate::cli::sheet::Line;

/// The rows of a sheet, grouped by company, in a scratch file removed when
/// this is dropped.
pub(super) struct Grouped {
    conn: Connection,
    _dir: tempfile::TempDir,
}

/// Writes `lines` to a scratch file, each with its group: the first row of
/// the company `company` names for it (rows it names none for, which the
/// import will refuse, come first).
pub(super) fn group(
    lines: impl Iterator<Item = anyhow::Result<Line>>,
    mut company: impl FnMut(&Line) -> Option<u64>,
) -> anyhow::Result<Grouped> {
    let dir = tempfile::tempdir().context("a scratch directory for the import")?;
    let mut conn = Connection::open(dir.path().join("rows.db"))?;
    // A scratch file: nothing to keep after a crash.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE TABLE line (grp INTEGER NOT NULL, row INTEGER NOT NULL, line BLOB NOT NULL);",
    )?;
    // A company's first row, by the hash of its key: 16 bytes a company.
    let mut first_row: HashMap<u64, i64> = HashMap::new();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO line (grp, row, line) VALUES (?1, ?2, ?3)")?;
        for line in lines {
            let line = line?;
            let row = i64::try_from(line.row).context("a row number past i64")?;
            let grp = company(&line).map_or(0, |key| *first_row.entry(key).or_insert(row));
            insert.execute((grp, row, serde_json::to_vec(&line)?))?;
        }
    }
    tx.commit()?;
    Ok(Grouped { conn, _dir: dir })
}

impl Grouped {
    /// Runs `f` on the rows, each company's together.
    pub(super) fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = anyhow::Result<Line>>) -> R,
    ) -> anyhow::Result<R> {
        let mut statement = self
            .conn
            .prepare("SELECT line FROM line ORDER BY grp, row")?;
        let mut lines = statement
            .query_map([], |row| row.get::<_, Vec<u8>>(0))?
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?));
        Ok(f(&mut lines))
    }
}
