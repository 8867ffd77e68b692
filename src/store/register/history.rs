//! The append-only history: the row every write leaves, and reading it back.

use rusqlite::{Row, Transaction, params};

use super::rows::limit_param;
use super::{Evidence, HistoryRow, Source, Stamp};
use crate::domain::licence::LicenceNo;
use crate::store::{Result, Store};

pub(in crate::store) fn history(
    tx: &Transaction,
    stamp: &Stamp,
    licence: Option<&LicenceNo>,
    action: &str,
    detail: &str,
) -> Result<()> {
    history_row(
        tx,
        stamp,
        licence.map(|l| l.to_string()).as_deref(),
        action,
        detail,
    )
}

pub(in crate::store) fn history_row(
    tx: &Transaction,
    stamp: &Stamp,
    licence: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<()> {
    // Cached: an import writes one history row per row of its sheet.
    let (source, address) = match &stamp.source {
        Source::Cli => ("cli", None),
        Source::Web { address } => ("web", Some(address.as_str())),
    };
    tx.prepare_cached(
        "INSERT INTO history (at, os_user, licence, action, detail, source, address, receipt, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        stamp.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        stamp.user,
        licence,
        action,
        detail,
        source,
        address,
        stamp.evidence.receipt,
        stamp.evidence.note,
    ])?;
    Ok(())
}

fn history_entry(row: &Row) -> rusqlite::Result<HistoryRow> {
    let source: String = row.get(6)?;
    let address: Option<String> = row.get(7)?;
    Ok(HistoryRow {
        id: row.get(0)?,
        at: row.get(1)?,
        user: row.get(2)?,
        licence: row.get(3)?,
        action: row.get(4)?,
        detail: row.get(5)?,
        source: match source.as_str() {
            "web" => Source::Web {
                address: address.unwrap_or_default(),
            },
            _ => Source::Cli,
        },
        evidence: Evidence {
            receipt: row.get(8)?,
            note: row.get(9)?,
        },
    })
}

impl Store {
    pub fn history(&self, licence: Option<&LicenceNo>) -> Result<Vec<HistoryRow>> {
        super::all_rows(|f| self.each_history_row(licence, f))
    }

    /// Each row of [`Store::history`], oldest first, given to `f` as it is
    /// read: an import writes a row per sheet row, so the trail is as long
    /// as the register. The first error stops.
    pub fn each_history_row<E: From<crate::store::StoreError>>(
        &self,
        licence: Option<&LicenceNo>,
        f: impl FnMut(HistoryRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let filter = licence.map(|l| l.to_string());
        super::each_row(
            &self.conn,
            "SELECT id, at, os_user, licence, action, detail, source, address, receipt, note
             FROM history WHERE ?1 IS NULL OR licence = ?1 ORDER BY id",
            [filter],
            history_entry,
            f,
        )
    }

    /// The newest `limit` history rows, newest first: a page, not the
    /// whole trail (an import writes a row per sheet row).
    pub fn history_latest(
        &self,
        licence: Option<&LicenceNo>,
        limit: usize,
    ) -> Result<Vec<HistoryRow>> {
        let filter = licence.map(|l| l.to_string());
        Ok(self
            .conn
            .prepare(
                "SELECT id, at, os_user, licence, action, detail, source, address, receipt, note
                 FROM history WHERE ?1 IS NULL OR licence = ?1 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![filter, limit_param(limit)], history_entry)?
            .collect::<rusqlite::Result<_>>()?)
    }
}
