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
    pub headers: Vec<String>,
    pub lines: Vec<Line>,
}

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

pub fn read(path: &Path) -> Result<Table, SheetError> {
    let name = path.display().to_string();
    let kind = Kind::of(path).ok_or_else(|| SheetError::UnknownType { path: name.clone() })?;
    let bytes = read_capped(path)?;
    let unreadable = |problem: String| SheetError::Unreadable {
        path: name.clone(),
        problem,
    };
    let table = match kind {
        Kind::Csv => read_csv(&decode(&bytes).map_err(unreadable)?).map_err(unreadable)?,
        Kind::Workbook => read_workbook(bytes).map_err(unreadable)?,
        Kind::Json => read_json(&bytes).map_err(unreadable)?,
    };
    match table {
        Some(table) => Ok(table),
        None => Err(SheetError::Empty { path: name }),
    }
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

/// Comma-separated, or tab-separated when the header row has tabs and no
/// commas (Excel's "Unicode text"). Rows of the wrong length are kept as
/// they are: the row check reports each of them.
fn read_csv(text: &str) -> Result<Option<Table>, String> {
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut lines = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("not readable as CSV: {e}"))?;
        let cells: Vec<Cell> = record.iter().map(text_cell).collect();
        if headers.is_none() {
            if is_blank(&cells) {
                continue;
            }
            headers = Some(record.iter().map(str::to_owned).collect());
        } else if !is_blank(&cells) {
            lines.push(Line {
                row: index + 1,
                cells,
            });
        }
    }
    Ok(headers.map(|headers| Table { headers, lines }))
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

/// The first sheet of a workbook; rows are numbered as Excel shows them.
fn read_workbook(bytes: Vec<u8>) -> Result<Option<Table>, String> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable workbook ({e}); is it a complete .xlsx file?"))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| format!("the first sheet is not readable ({e})"))?;
    let Some((first_row, _)) = range.start() else {
        return Ok(None);
    };
    let mut rows = range.rows().enumerate();
    let Some((_, header)) = rows.next() else {
        return Ok(None);
    };
    let headers = header
        .iter()
        .map(|data| match workbook_cell(data) {
            Cell::Text(text) => text,
            Cell::Number(n) => n.to_string(),
            Cell::Date(date) => date.to_string(),
            Cell::Empty | Cell::Invalid(_) => String::new(),
        })
        .collect();
    let lines = rows
        .map(|(index, row)| Line {
            row: first_row as usize + index + 1,
            cells: row.iter().map(workbook_cell).collect(),
        })
        .filter(|line| !is_blank(&line.cells))
        .collect();
    Ok(Some(Table { headers, lines }))
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
    Ok(Some(Table { headers, lines }))
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

/// Every cell is written as text, so that a number keeps its leading digits
/// and a date reads back exactly as it was written.
pub fn xlsx_bytes(headers: &[&str], rows: &[Vec<Option<String>>]) -> anyhow::Result<Vec<u8>> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet().set_name("licwatch")?;
    for (column, header) in headers.iter().enumerate() {
        let column = u16::try_from(column)?;
        sheet.write_string_with_format(0, column, *header, &bold)?;
        sheet.set_column_width(column, 16)?;
    }
    for (index, row) in rows.iter().enumerate() {
        let line = u32::try_from(index + 1)?;
        for (column, cell) in row.iter().enumerate() {
            if let Some(text) = cell {
                sheet.write_string(line, u16::try_from(column)?, text)?;
            }
        }
    }
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
