//! Files out: CSV with formulas escaped, XLSX with date cells and text
//! codes, JSON, and the file written private.

use std::borrow::Cow;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use chrono::NaiveDate;

use crate::cli::output::{Each, write_json_each};
use crate::store::Overwrite;

/// The characters that make Excel or WPS read a CSV cell as a formula
/// (OWASP "CSV injection"): a company named `=HYPERLINK(…)` must show as
/// text, not run.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as export writes it to CSV: one that a spreadsheet would take for
/// a formula gets a leading `'`, which the spreadsheet shows as text and
/// import takes off again ([`formula_unescaped`]).
pub fn formula_escaped(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV cell as import reads it: the `'` export put before a cell that
/// starts like a formula is taken off; any other `'` is the cell's own.
pub fn formula_unescaped(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// The rows of a sheet being written, given to a callback one at a time
/// (the register's, read as they are written); `None` is an empty cell.
pub type SheetRows<'r> = &'r mut dyn FnMut(Each<'_, Vec<Option<String>>>) -> anyhow::Result<()>;

/// CSV for Excel: UTF-8 with a byte order mark, without which Excel on a
/// Chinese Windows reads the file as GB18030 and garbles every name. Returns
/// the number of rows.
pub fn write_csv(out: &mut dyn Write, headers: &[&str], rows: SheetRows) -> anyhow::Result<usize> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(headers)?;
    let mut count = 0;
    rows(&mut |row| {
        let cells: Vec<Cow<'_, str>> = row
            .iter()
            .map(|cell| formula_escaped(cell.as_deref().unwrap_or("")))
            .collect();
        writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
        count += 1;
        Ok(())
    })?;
    writer.flush()?;
    Ok(count)
}

/// How export writes a column's cells to a workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Free text.
    Text,
    /// A code (USCC, licence, number, phone): a text cell in a column
    /// formatted as text, so Excel neither rounds it nor drops a leading
    /// zero when someone types a new one.
    Code,
    /// `YYYY-MM-DD`, written as a real date cell shown as yyyy-mm-dd.
    Date,
}

/// The width a column needs to show `text`: CJK and other wide
/// characters take two columns.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

/// The most data rows a worksheet holds: Excel's 1,048,576 rows, less the
/// header.
const MAX_XLSX_ROWS: usize = 1_048_575;

/// A workbook people can work in: date cells, codes as text, each column
/// as wide as its content, an autofilter on the header and the header
/// frozen. Written in rust_xlsxwriter's constant-memory mode (its rows go
/// to a temporary file as they come, strings inline), to `file`. Returns
/// the number of rows.
pub fn write_xlsx(
    file: &mut std::fs::File,
    headers: &[&str],
    kinds: &[CellKind],
    rows: SheetRows,
) -> anyhow::Result<usize> {
    write_xlsx_within(MAX_XLSX_ROWS, file, headers, kinds, rows)
}

/// [`write_xlsx`], refusing more than `max_rows` rows.
fn write_xlsx_within(
    max_rows: usize,
    file: &mut std::fs::File,
    headers: &[&str],
    kinds: &[CellKind],
    rows: SheetRows,
) -> anyhow::Result<usize> {
    use chrono::Datelike as _;
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook
        .add_worksheet_with_constant_memory()?
        .set_name("licwatch")?;
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (column, header) in headers.iter().enumerate() {
        let column = u16::try_from(column)?;
        sheet.write_string_with_format(0, column, *header, &bold)?;
        if kinds.get(usize::from(column)) == Some(&CellKind::Code) {
            sheet.set_column_format(column, &text)?;
        }
    }
    let mut count = 0;
    rows(&mut |row| {
        count += 1;
        if count > max_rows {
            anyhow::bail!(
                "--format xlsx: the register has more than {max_rows} rows, the most a worksheet holds under its header; export csv or json instead"
            );
        }
        let line = u32::try_from(count)?;
        for (column, cell) in row.iter().enumerate() {
            let Some(value) = cell else { continue };
            let kind = kinds.get(column).copied().unwrap_or(CellKind::Text);
            let width = &mut widths[column];
            *width = (*width).max(display_width(value));
            let column = u16::try_from(column)?;
            match (kind, NaiveDate::parse_from_str(value, "%Y-%m-%d")) {
                (CellKind::Date, Ok(day)) => {
                    let day = ExcelDateTime::from_ymd(
                        u16::try_from(day.year())?,
                        u8::try_from(day.month())?,
                        u8::try_from(day.day())?,
                    )?;
                    sheet.write_date_with_format(line, column, &day, &date)?;
                }
                (CellKind::Code, _) => {
                    sheet.write_string_with_format(line, column, value, &text)?;
                }
                _ => {
                    sheet.write_string(line, column, value)?;
                }
            }
        }
        Ok(())
    })?;
    for (column, width) in widths.iter().enumerate() {
        // Two characters of margin for the autofilter's button; a long
        // address is cut at 60 rather than making the sheet unreadable.
        sheet.set_column_width(u16::try_from(column)?, (*width + 2).min(60) as f64)?;
    }
    let last_column = u16::try_from(headers.len().saturating_sub(1))?;
    sheet.autofilter(0, 0, u32::try_from(count)?, last_column)?;
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_writer(file)?;
    Ok(count)
}

/// A JSON array of one object per row, keyed by the English headers (an
/// empty cell is null), as `serde_json::to_string_pretty` writes it, and a
/// newline. Returns the number of rows.
pub fn write_json(out: &mut dyn Write, headers: &[&str], rows: SheetRows) -> anyhow::Result<usize> {
    let mut count = 0;
    write_json_each(out, |each| {
        rows(&mut |row| {
            count += 1;
            each(serde_json::Value::Object(
                headers
                    .iter()
                    .zip(row)
                    .map(|(header, cell)| ((*header).to_owned(), serde_json::json!(cell)))
                    .collect(),
            ))
        })
    })?;
    Ok(count)
}

/// Writes a new file readable by its owner only, with what `write` writes
/// to it: an export holds every client's contacts. An existing file is
/// replaced only if asked.
///
/// Never through a symlink: the bytes go to a new file created next to the
/// name (`O_EXCL`, which does not follow links), which then takes the name
/// by `rename`, so `--force` on a link replaces the link, never the file it
/// points to (issue 13: `--output link --force` overwrote /etc/x).
pub fn write_private<T>(
    path: &Path,
    overwrite: Overwrite,
    write: impl FnOnce(&mut std::fs::File) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context as _;
    let exists = std::fs::symlink_metadata(path).is_ok();
    if overwrite == Overwrite::Refuse && exists {
        anyhow::bail!(
            "--output {}: the file exists (add --force to replace it)",
            path.display()
        );
    }
    let name = path
        .file_name()
        .with_context(|| format!("--output {}: not a file name", path.display()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.partial", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("--output {}: cannot create the file", path.display()))?;
    // `mode` is filtered by the umask; the export is private whatever it is.
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(anyhow::Error::from)
        .and_then(|()| write(&mut file))
        .and_then(|value| {
            file.sync_all()?;
            match overwrite {
                // A hard link fails if the name was taken meanwhile, where a
                // rename would silently replace it.
                Overwrite::Refuse => std::fs::hard_link(&temporary, path)?,
                Overwrite::Replace => std::fs::rename(&temporary, path)?,
            }
            Ok(value)
        });
    // Best effort: after a rename there is nothing left to remove, and the
    // error being returned is the one that matters.
    let _ = std::fs::remove_file(&temporary);
    written.with_context(|| {
        if overwrite == Overwrite::Refuse && std::fs::symlink_metadata(path).is_ok() {
            format!(
                "--output {}: the file exists (add --force to replace it)",
                path.display()
            )
        } else {
            format!("--output {}: writing", path.display())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_refuses_more_rows_than_a_worksheet_holds() {
        let mut file = tempfile::tempfile().unwrap();
        let rows = |count: usize| {
            move |each: Each<'_, Vec<Option<String>>>| -> anyhow::Result<()> {
                (0..count).try_for_each(|n| each(vec![Some(n.to_string())]))
            }
        };
        let kinds = [CellKind::Text];
        assert_eq!(
            write_xlsx_within(3, &mut file, &["N"], &kinds, &mut rows(3)).unwrap(),
            3
        );
        let error = write_xlsx_within(3, &mut file, &["N"], &kinds, &mut rows(4)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--format xlsx: the register has more than 3 rows, the most a worksheet holds under its header; export csv or json instead"
        );
        assert_eq!(MAX_XLSX_ROWS + 1, 1 << 20, "Excel's rows");
    }

    #[test]
    fn formula_escaping_covers_the_owasp_characters_and_round_trips() {
        for cell in ["=1+1", "+1", "-1", "@SUM(1)", "\tx", "\rx"] {
            let escaped = formula_escaped(cell);
            assert_eq!(escaped, format!("'{cell}"));
            assert_eq!(formula_unescaped(&escaped), cell);
        }
        for cell in ["北京", "'quoted", "1-2", ""] {
            assert_eq!(formula_escaped(cell), cell);
            assert_eq!(formula_unescaped(cell), cell);
        }
    }
}
