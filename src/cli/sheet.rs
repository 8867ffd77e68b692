//! Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GB18030),
//! Excel workbooks and JSON, read into one shape, a header and rows of
//! cells, and written back from rows of text.
//!
//! Files come from outside and may be anything: every size is capped before
//! it is read, and nothing here panics on bad bytes.

use std::fs::{File, OpenOptions};
use std::io::{Cursor, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use calamine::{Data, DataType, Reader};
use chrono::NaiveDate;
use thiserror::Error;

use crate::store::Overwrite;

/// The largest file import reads: a register of 100,000 rows is some
/// 25 MB of CSV; anything much larger is not a client list.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One cell as the file holds it. CSV and JSON give text; a workbook also
/// gives numbers (an 8-digit cell may come as one) and dates.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// A formula error such as `#N/A`, or a JSON value that is not text.
    Invalid(String),
}

/// A data row: its number as the person sees it, and its cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub row: usize,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The row that named the columns, as the person sees it; `None` for
    /// JSON, whose keys are the headers.
    pub header_row: Option<usize>,
    pub headers: Vec<String>,
    /// Rows above the header (a title, a note, a merged banner), each with
    /// what it says, so the report can name what was left out.
    pub skipped: Vec<(usize, String)>,
    pub lines: Vec<Line>,
}

/// How the header row is found.
#[derive(Clone, Copy)]
pub enum HeaderRow<'a> {
    /// The row within the first [`HEADER_SEARCH_ROWS`] that has the most
    /// cells `known` says are column names; the first non-blank row if
    /// none has any (its unknown names are then reported).
    Detect { known: &'a dyn Fn(&str) -> bool },
    /// This row, as the person sees it (`--header-row N`).
    Given(usize),
}

/// How far down an office sheet's header may be: below a title, a date
/// line and a note or two, never further in the sheets we have seen.
pub const HEADER_SEARCH_ROWS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Workbook,
    Json,
}

#[derive(Debug, Error)]
pub enum SheetError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: unknown file type (accepted: .csv or .txt, .xlsx, .xlsm, .xls, .ods, .json)")]
    UnknownType { path: String },
    #[error(
        "{path}: {bytes} bytes, more than the {MAX_FILE_BYTES} bytes import reads (split the file)"
    )]
    TooLarge { path: String, bytes: u64 },
    #[error("{path}: {problem}")]
    Unreadable { path: String, problem: String },
    #[error(
        "{path}: no header row (the first row names the columns, e.g. 许可证编号,持证单位,统一社会信用代码,…)"
    )]
    Empty { path: String },
    #[error("{path}: --header-row {row}: {problem}")]
    HeaderRow {
        path: String,
        row: usize,
        problem: String,
    },
}

impl Kind {
    /// The type a file name says; `None` for a name import does not know.
    pub fn of(path: &Path) -> Option<Kind> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "txt" => Some(Kind::Csv),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(Kind::Workbook),
            "json" => Some(Kind::Json),
            _ => None,
        }
    }
}

/// Reads `path` whole, refusing files over [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, SheetError> {
    let io = |source| SheetError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // Read one byte past the cap rather than trusting the size metadata:
    // a pipe or a growing file has none worth trusting.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let bytes = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(SheetError::TooLarge {
            path: path.display().to_string(),
            bytes,
        });
    }
    Ok(bytes)
}

pub fn read(path: &Path, header: HeaderRow) -> Result<Table, SheetError> {
    let name = path.display().to_string();
    let kind = Kind::of(path).ok_or_else(|| SheetError::UnknownType { path: name.clone() })?;
    let bytes = read_capped(path)?;
    let unreadable = |problem: String| SheetError::Unreadable {
        path: name.clone(),
        problem,
    };
    let rows = match kind {
        Kind::Csv => read_csv(&decode(&bytes).map_err(unreadable)?).map_err(unreadable)?,
        Kind::Workbook => read_workbook(bytes).map_err(unreadable)?,
        Kind::Json => {
            if let HeaderRow::Given(row) = header {
                return Err(SheetError::HeaderRow {
                    path: name,
                    row,
                    problem: "a JSON file has no header row: its keys name the columns".to_owned(),
                });
            }
            return match read_json(&bytes).map_err(unreadable)? {
                Some(table) => Ok(table),
                None => Err(SheetError::Empty { path: name }),
            };
        }
    };
    split_header(rows, header)
        .map_err(|(row, problem)| SheetError::HeaderRow {
            path: name.clone(),
            row,
            problem,
        })?
        .ok_or(SheetError::Empty { path: name })
}

/// A header cell's text.
fn header_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.trim().to_owned(),
        Cell::Number(n) => n.to_string(),
        Cell::Date(date) => date.to_string(),
        Cell::Empty | Cell::Invalid(_) => String::new(),
    }
}

/// What a skipped row says, for the report: its non-empty cells, shortened.
fn row_summary(cells: &[Cell]) -> String {
    let mut texts: Vec<String> = Vec::new();
    for text in cells.iter().map(header_text).filter(|t| !t.is_empty()) {
        // A merged title filled into every cell of its row says it once.
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    let text = texts.join(" ");
    let mut short: String = text.chars().take(40).collect();
    if text.chars().nth(40).is_some() {
        short.push('…');
    }
    short
}

/// Splits the non-blank rows of a sheet into the rows above the header, the
/// header, and the data below it. `Err((row, problem))` for a `--header-row`
/// that names no usable row.
fn split_header(rows: Vec<Line>, header: HeaderRow) -> Result<Option<Table>, (usize, String)> {
    let index = match header {
        HeaderRow::Given(row) => match rows.iter().position(|line| line.row == row) {
            Some(index) => index,
            None => {
                let last = rows.last().map_or(0, |line| line.row);
                return Err((
                    row,
                    if row == 0 || row > last {
                        format!("the sheet's rows with values are 1 to {last}")
                    } else {
                        "the row is blank".to_owned()
                    },
                ));
            }
        },
        HeaderRow::Detect { known } => {
            let mut best: Option<(usize, usize)> = None;
            for (index, line) in rows.iter().enumerate() {
                if line.row > HEADER_SEARCH_ROWS {
                    break;
                }
                let score = line
                    .cells
                    .iter()
                    .filter(|cell| known(&header_text(cell)))
                    .count();
                if score > best.map_or(0, |(_, s)| s) {
                    best = Some((index, score));
                }
            }
            best.map_or(0, |(index, _)| index)
        }
    };
    let mut rows = rows.into_iter();
    let skipped: Vec<(usize, String)> = rows
        .by_ref()
        .take(index)
        .map(|line| (line.row, row_summary(&line.cells)))
        .collect();
    let Some(header) = rows.next() else {
        return Ok(None);
    };
    Ok(Some(Table {
        header_row: Some(header.row),
        headers: header.cells.iter().map(header_text).collect(),
        skipped,
        lines: rows.collect(),
    }))
}

/// Text from a CSV file's bytes. Excel on a Chinese Windows saves "CSV" as
/// GB18030 (GBK), and "CSV UTF-8" with a byte order mark; "Unicode text" is
/// UTF-16 with one. Bytes that are none of these are refused, not guessed.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(format!(
                "starts with a {} byte order mark but is not valid {}",
                encoding.name(),
                encoding.name()
            ));
        }
        return Ok(text.into_owned());
    }
    if bytes.contains(&0) {
        return Err(
            "holds NUL bytes: not a text file (save the sheet as CSV UTF-8 or XLSX)".to_owned(),
        );
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| {
            "is neither UTF-8 nor GB18030 text (save the sheet as CSV UTF-8 or XLSX)".to_owned()
        })
}

fn text_cell(text: &str) -> Cell {
    if text.trim().is_empty() {
        Cell::Empty
    } else {
        Cell::Text(text.to_owned())
    }
}

fn is_blank(cells: &[Cell]) -> bool {
    cells.iter().all(|cell| *cell == Cell::Empty)
}

/// Comma-separated, or tab-separated when the first lines have more tabs
/// than commas (Excel's "Unicode text"). Every non-blank row, numbered as
/// the file counts them; rows of the wrong length are kept as they are: the
/// row check reports each of them.
fn read_csv(text: &str) -> Result<Vec<Line>, String> {
    let first_lines = || text.lines().take(HEADER_SEARCH_ROWS);
    let tabbed = first_lines().filter(|line| line.contains('\t')).count();
    let commas = first_lines().filter(|line| line.contains(',')).count();
    let delimiter = if tabbed > commas { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut lines = Vec::new();
    // The row as Excel numbers it: the csv reader skips empty lines, which
    // Excel counts as rows, and a quoted cell may span lines, which Excel
    // does not. So the line a record starts on, less the line breaks
    // inside the cells before it.
    let mut breaks_in_cells = 0;
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("not readable as CSV: {e}"))?;
        // The reader's position is where it stood before skipping the
        // empty lines in front of the record.
        let (line, byte) = record.position().map_or((index as u64 + 1, 0), |position| {
            (position.line(), position.byte())
        });
        let empty_lines = text
            .get(usize::try_from(byte).unwrap_or(usize::MAX)..)
            .unwrap_or_default()
            .bytes()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| *b == b'\n')
            .count();
        let row = (usize::try_from(line).unwrap_or(usize::MAX) + empty_lines)
            .saturating_sub(breaks_in_cells);
        breaks_in_cells += record
            .iter()
            .map(|cell| cell.matches('\n').count())
            .sum::<usize>();
        let cells: Vec<Cell> = record.iter().map(text_cell).collect();
        if !is_blank(&cells) {
            lines.push(Line { row, cells });
        }
    }
    Ok(lines)
}

fn workbook_cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(text) => text_cell(text),
        Data::Int(n) => Cell::Text(n.to_string()),
        Data::Float(n) => Cell::Number(*n),
        Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.to_owned()),
        Data::DateTime(_) | Data::DateTimeIso(_) => match data.as_date() {
            Some(date) => Cell::Date(date),
            None => Cell::Invalid(format!("date {data} is out of range")),
        },
        Data::DurationIso(text) => Cell::Text(text.clone()),
        Data::Error(error) => Cell::Invalid(format!("the formula error {error}")),
    }
}

/// The non-blank rows of a workbook's first sheet, numbered as Excel shows
/// them. A merged cell's value is given to every cell of its region: an
/// office sheet merges a company's name down over its licences' rows, and
/// each of those rows means it.
fn read_workbook(bytes: Vec<u8>) -> Result<Vec<Line>, String> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable workbook ({e}); is it a complete .xlsx file?"))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| format!("the first sheet is not readable ({e})"))?;
    let Some((first_row, first_column)) = range.start() else {
        return Ok(Vec::new());
    };
    // Only .xlsx and .xls say which cells are merged; other formats keep
    // the value in the first cell, as calamine reads them.
    let merged = match &mut workbook {
        calamine::Sheets::Xlsx(xlsx) => xlsx.merge_cells_by_sheet_id(0).unwrap_or_default(),
        calamine::Sheets::Xls(xls) => xls.merge_cells_by_sheet_id(0).unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut grid: Vec<Vec<Cell>> = range
        .rows()
        .map(|row| row.iter().map(workbook_cell).collect())
        .collect();
    // Regions may overlap in a crafted file: look at no more cells, all
    // regions together, than twice the sheet has, so filling stays linear.
    let mut budget = grid.iter().map(Vec::len).sum::<usize>().saturating_mul(2);
    for region in merged {
        let (top, left) = region.start;
        let (Some(top), Some(left)) = (
            top.checked_sub(first_row).map(|r| r as usize),
            left.checked_sub(first_column).map(|c| c as usize),
        ) else {
            continue;
        };
        let Some(value) = grid.get(top).and_then(|row| row.get(left)).cloned() else {
            continue;
        };
        let bottom =
            (region.end.0.saturating_sub(first_row) as usize).min(grid.len().saturating_sub(1));
        for row in grid.iter_mut().take(bottom + 1).skip(top) {
            let right = (region.end.1.saturating_sub(first_column) as usize)
                .min(row.len().saturating_sub(1));
            let width = (right + 1).saturating_sub(left);
            if width > budget {
                break;
            }
            budget -= width;
            for cell in row.iter_mut().take(right + 1).skip(left) {
                if *cell == Cell::Empty {
                    *cell = value.clone();
                }
            }
        }
    }
    Ok(grid
        .into_iter()
        .enumerate()
        .map(|(index, cells)| Line {
            row: first_row as usize + index + 1,
            cells,
        })
        .filter(|line| !is_blank(&line.cells))
        .collect())
}

/// A JSON array of objects whose keys are the headers, as export writes it.
/// An object that lacks a key has that cell empty.
fn read_json(bytes: &[u8]) -> Result<Option<Table>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let serde_json::Value::Array(items) = value else {
        return Err("expected a JSON array of objects, one per row".to_owned());
    };
    let mut headers: Vec<String> = Vec::new();
    let mut objects = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(object) = item else {
            return Err(format!(
                "item {} is not an object (expected one object per row)",
                index + 1
            ));
        };
        for key in object.keys() {
            if !headers.contains(key) {
                headers.push(key.clone());
            }
        }
        objects.push(object);
    }
    if headers.is_empty() {
        return Ok(None);
    }
    let lines = objects
        .into_iter()
        .enumerate()
        .map(|(index, object)| Line {
            row: index + 1,
            cells: headers
                .iter()
                .map(|key| match object.get(key) {
                    None | Some(serde_json::Value::Null) => Cell::Empty,
                    Some(serde_json::Value::String(text)) => text_cell(text),
                    Some(serde_json::Value::Number(n)) => {
                        n.as_f64().map_or(Cell::Text(n.to_string()), Cell::Number)
                    }
                    Some(other) => Cell::Invalid(format!("the JSON value {other}, not text")),
                })
                .collect(),
        })
        .collect();
    Ok(Some(Table {
        header_row: None,
        headers,
        skipped: Vec::new(),
        lines,
    }))
}

/// CSV for Excel: UTF-8 with a byte order mark, without which Excel on a
/// Chinese Windows reads the file as GB18030 and garbles every name.
pub fn csv_bytes(headers: &[&str], rows: &[Vec<Option<String>>]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(headers)?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| cell.as_deref().unwrap_or("")))?;
    }
    Ok(writer.into_inner().map_err(|e| e.into_error())?)
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

/// A workbook people can work in: date cells, codes as text, each column
/// as wide as its content, an autofilter on the header and the header
/// frozen.
pub fn xlsx_bytes(
    headers: &[&str],
    kinds: &[CellKind],
    rows: &[Vec<Option<String>>],
) -> anyhow::Result<Vec<u8>> {
    use chrono::Datelike as _;
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook.add_worksheet().set_name("licwatch")?;
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (column, header) in headers.iter().enumerate() {
        let column = u16::try_from(column)?;
        sheet.write_string_with_format(0, column, *header, &bold)?;
        if kinds.get(usize::from(column)) == Some(&CellKind::Code) {
            sheet.set_column_format(column, &text)?;
        }
    }
    for (index, row) in rows.iter().enumerate() {
        let line = u32::try_from(index + 1)?;
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
    }
    for (column, width) in widths.iter().enumerate() {
        // Two characters of margin for the autofilter's button; a long
        // address is cut at 60 rather than making the sheet unreadable.
        sheet.set_column_width(u16::try_from(column)?, (*width + 2).min(60) as f64)?;
    }
    let last_column = u16::try_from(headers.len().saturating_sub(1))?;
    sheet.autofilter(0, 0, u32::try_from(rows.len())?, last_column)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.save_to_buffer()?)
}

/// One object per row, keyed by the English headers; an empty cell is null.
pub fn json_value(headers: &[&str], rows: &[Vec<Option<String>>]) -> serde_json::Value {
    rows.iter()
        .map(|row| {
            serde_json::Value::Object(
                headers
                    .iter()
                    .zip(row)
                    .map(|(header, cell)| ((*header).to_owned(), serde_json::json!(cell)))
                    .collect(),
            )
        })
        .collect::<Vec<_>>()
        .into()
}

/// Writes `bytes` to a new file readable by its owner only: an export holds
/// every client's contacts. An existing file is replaced only if asked.
pub fn write_private(path: &Path, bytes: &[u8], overwrite: Overwrite) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let replace = overwrite == Overwrite::Replace;
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).with_context(|| {
        if !replace && path.exists() {
            format!(
                "--output {}: the file exists (add --force to replace it)",
                path.display()
            )
        } else {
            format!("--output {}: cannot create the file", path.display())
        }
    })?;
    // `mode` applies only to a file created now; a replaced one keeps its
    // own, so set it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("--output {}: writing", path.display()))
}
