//! A sheet whose companies' rows are not together (sorted by licence
//! number, say: a company's licences in two provinces are far apart), read
//! again with each company's rows together, companies in the order of
//! their first row and each company's rows in sheet order, so that it can
//! still be imported in batches cut between companies, its memory a
//! batch's. Before, such a sheet was imported as one batch: 1.4 GB for a
//! million licences sorted by number. The rows wait in a scratch SQLite
//! database, which sorts them on disk.

use std::collections::HashMap;

use anyhow::Context as _;
use rusqlite::Connection;

use crate::cli::sheet::Line;

/// The rows of a sheet, grouped by company, in SQLite's private temporary
/// database: a file in TMPDIR that SQLite removes from the directory as it
/// opens it, so that a client list is not left behind by a crash or a
/// Ctrl-C.
pub(super) struct Grouped {
    conn: Connection,
}

/// Writes `lines` to a scratch file, each with its group: the first row of
/// the company `company` names for it (rows it names none for, which the
/// import will refuse, come first).
pub(super) fn group(
    lines: impl Iterator<Item = anyhow::Result<Line>>,
    mut company: impl FnMut(&Line) -> Option<u64>,
) -> anyhow::Result<Grouped> {
    // Attached after `temp_store = FILE`, so that a million rows are on
    // disk whatever SQLite was built with (SQLITE_TEMP_STORE=2 or 3 would
    // hold them in RAM). Nothing to keep after a crash: no journal, no
    // syncs.
    let mut conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "PRAGMA temp_store = FILE; ATTACH '' AS scratch;
         PRAGMA scratch.journal_mode = OFF; PRAGMA scratch.synchronous = OFF;
         CREATE TABLE scratch.line (grp INTEGER NOT NULL, row INTEGER NOT NULL, line BLOB NOT NULL);",
    )
    .context("a scratch database for the import (in TMPDIR)")?;
    // A company's first row, by the hash of its key: 16 bytes a company.
    let mut first_row: HashMap<u64, i64> = HashMap::new();
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO scratch.line (grp, row, line) VALUES (?1, ?2, ?3)")?;
        for line in lines {
            let line = line?;
            let row = i64::try_from(line.row).context("a row number past i64")?;
            let grp = company(&line).map_or(0, |key| *first_row.entry(key).or_insert(row));
            insert.execute((grp, row, serde_json::to_vec(&line)?))?;
        }
    }
    tx.commit()?;
    Ok(Grouped { conn })
}

impl Grouped {
    /// Runs `f` on the rows, each company's together.
    pub(super) fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = anyhow::Result<Line>>) -> R,
    ) -> anyhow::Result<R> {
        let mut statement = self
            .conn
            .prepare("SELECT line FROM scratch.line ORDER BY grp, row")?;
        let mut lines = statement
            .query_map([], |row| row.get::<_, Vec<u8>>(0))?
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?));
        Ok(f(&mut lines))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::cli::sheet::Cell;

    /// Every cell comes back as it went in, grouped: numbers to the bit
    /// (a workbook's `1e999` is infinite, a time of day a long fraction).
    #[test]
    fn rows_come_back_whole_each_company_together() {
        let line = |row: usize, company: &str, number: f64| Line {
            row,
            cells: vec![
                Cell::Text(company.into()),
                Cell::Number(number),
                Cell::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
                Cell::Empty,
                Cell::Invalid("#N/A".into()),
            ],
        };
        let lines = vec![
            line(2, "甲", f64::INFINITY),
            line(3, "乙", 45_000.0 + 1.0 / 86_400.0),
            line(4, "甲", 0.1 + 0.2),
            line(5, "", f64::NAN),
            line(6, "乙", f64::NEG_INFINITY),
        ];
        let key = |line: &Line| match &line.cells[0] {
            Cell::Text(name) if !name.is_empty() => Some(name.chars().next().unwrap() as u64),
            _ => None,
        };
        let grouped = group(lines.clone().into_iter().map(Ok), key).unwrap();
        let back: Vec<Line> = grouped
            .read(|rows| rows.collect::<anyhow::Result<_>>())
            .unwrap()
            .unwrap();
        let rows: Vec<usize> = back.iter().map(|line| line.row).collect();
        assert_eq!(rows, [5, 2, 4, 3, 6]);
        for line in &back {
            let sent = &lines[line.row - 2];
            let (Cell::Number(sent_number), Cell::Number(number)) =
                (&sent.cells[1], &line.cells[1])
            else {
                panic!("row {}: {line:?}", line.row);
            };
            assert_eq!(sent_number.to_bits(), number.to_bits(), "row {}", line.row);
            assert_eq!(sent.cells[2..], line.cells[2..]);
        }
    }
}
