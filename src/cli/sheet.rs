//! Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GB18030),
//! Excel workbooks and JSON, read into one shape, a header and rows of
//! cells, and written back from rows of text.
//!
//! Files come from outside and may be anything: every size is capped before
//! it is read, and nothing here panics on bad bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Cursor, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use calamine::{Data, DataRef, DataType, Dimensions, Range, Reader, Sheets};
use chrono::NaiveDate;
use thiserror::Error;

use crate::store::Overwrite;

/// The largest file import reads: a register of 100,000 rows is some
/// 25 MB of CSV; anything much larger is not a client list.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most data rows import reads: twice the 100,000-row register it is
/// built for.
pub const MAX_ROWS: usize = 200_000;

/// The most columns a sheet may span: a register row has about 20.
pub const MAX_COLUMNS: usize = 256;

/// The most cells (rows times columns of what the sheet spans) import holds
/// in memory: 100,000 rows of 25 columns. Checked before they are held, so
/// that a refused file costs little more than the file itself.
pub const MAX_CELLS: usize = 2_500_000;

/// The most bytes one part of a workbook (a sheet, its shared strings) may
/// unpack to; a 100,000-row sheet is some 40 MB of XML.
pub const MAX_PART_BYTES: u64 = 128 * 1024 * 1024;

/// The most bytes all parts of a workbook together may unpack to.
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

/// The most parts a workbook may hold (Excel writes about a dozen); each
/// costs memory in the zip index before anything is unpacked.
pub const MAX_PARTS: u64 = 10_000;

/// The most text the cells of a workbook together may hold, as much as the
/// largest CSV import reads: UTF-8 bytes in an .xlsx, characters as an .xls
/// stores them. A workbook names a shared string in a few bytes and
/// calamine gives each cell its own copy, so a small file could otherwise
/// ask for gigabytes.
pub const MAX_TEXT: u64 = MAX_FILE_BYTES;

/// The longest JSON key: a header is a few words.
pub const MAX_KEY_BYTES: usize = 256;

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
    #[error("{path}: {what}, not a regular file (import reads files saved from a spreadsheet)")]
    NotAFile { path: String, what: &'static str },
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

/// What a file that is not a regular file is, for the refusal.
fn file_kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// Reads `path` whole, refusing anything but a regular file and files over
/// [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, SheetError> {
    let io = |source| SheetError::Io {
        path: path.display().to_string(),
        source,
    };
    let regular = |metadata: std::fs::Metadata| {
        if metadata.is_file() {
            Ok(metadata.len())
        } else {
            Err(SheetError::NotAFile {
                path: path.display().to_string(),
                what: file_kind(metadata.file_type()),
            })
        }
    };
    // Checked before opening: opening a FIFO blocks until something writes
    // to it, and a device may never end.
    let size = regular(std::fs::metadata(path).map_err(io)?)?;
    if size > MAX_FILE_BYTES {
        return Err(SheetError::TooLarge {
            path: path.display().to_string(),
            bytes: size,
        });
    }
    let file = File::open(path).map_err(io)?;
    // And again on what was opened: the name may have been swapped between.
    regular(file.metadata().map_err(io)?)?;
    // Reserved once: grown by doubling, the buffer could reach twice the
    // file's size.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    // Read one byte past the cap rather than trusting the size metadata:
    // a file may grow meanwhile.
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
    if let (Kind::Json, HeaderRow::Given(row)) = (kind, &header) {
        return Err(SheetError::HeaderRow {
            path: name,
            row: *row,
            problem: "a JSON file has no header row: its keys name the columns".to_owned(),
        });
    }
    match parse(kind, bytes).map_err(unreadable)? {
        Parsed::Table(Some(table)) => Ok(table),
        Parsed::Table(None) => Err(SheetError::Empty { path: name }),
        Parsed::Rows(rows) => split_header(rows, header)
            .map_err(|(row, problem)| SheetError::HeaderRow {
                path: name.clone(),
                row,
                problem,
            })?
            .ok_or(SheetError::Empty { path: name }),
    }
}

/// What a file holds before its header row is found: the non-blank rows of
/// a CSV or a workbook, or a JSON table (its keys are its headers).
pub enum Parsed {
    Rows(Vec<Line>),
    Table(Option<Table>),
}

/// A file's bytes read as `kind`, within the caps. Public for the fuzz
/// targets (fuzz/).
pub fn parse(kind: Kind, bytes: Vec<u8>) -> Result<Parsed, String> {
    match kind {
        Kind::Csv => {
            // Counted on the bytes, before a decoded copy is made (a 45 MB
            // GBK file refused for its rows peaked at 196 MB): delimiters,
            // quotes and line ends are the same ASCII bytes in UTF-8 and
            // GB18030. UTF-16 is counted once decoded.
            let utf16 = encoding_rs::Encoding::for_bom(&bytes)
                .is_some_and(|(encoding, _)| encoding != encoding_rs::UTF_8);
            if !utf16 {
                check_csv_shape(&bytes)?;
            }
            let text = decode(&bytes)?;
            if utf16 {
                check_csv_shape(text.as_bytes())?;
            }
            read_csv(&text).map(Parsed::Rows)
        }
        Kind::Workbook => read_workbook(bytes).map(Parsed::Rows),
        Kind::Json => read_json(&bytes).map(Parsed::Table),
    }
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
/// UTF-16 with one. The encoding is decided for the whole file, honestly:
/// bytes that fit none of these are refused, naming the cells that hold
/// them, not guessed.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    const NUL: &str = "holds NUL bytes: not a text file (save the sheet as CSV UTF-8 or XLSX)";
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(format!(
                "starts with a {} byte order mark but is not valid {}",
                encoding.name(),
                encoding.name()
            ));
        }
        if text.contains('\0') {
            return Err(NUL.to_owned());
        }
        return Ok(text);
    }
    if bytes.contains(&0) {
        return Err(NUL.to_owned());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let utf8 = |field: &[u8]| std::str::from_utf8(field).is_ok();
    let gb18030 = |field: &[u8]| {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(field)
            .is_some()
    };
    let neither = || {
        format!(
            "is neither UTF-8 nor GB18030 text (save the sheet as CSV UTF-8 or XLSX): the bytes at {} decode as neither",
            bad_cells(bytes, |field| !utf8(field) && !gb18030(field))
        )
    };
    // Nearly any bytes decode as GB18030, UTF-8 ones included: decoding a
    // UTF-8 file with one cell pasted from a GBK file as GB18030 would
    // garble every other name (issue 13). In GB18030 text, characters that
    // happen to be valid UTF-8 are far fewer than the runs that are not; so
    // a file with at least as many valid UTF-8 characters as broken runs is
    // UTF-8 with broken cells.
    let (valid, broken) = utf8_tally(bytes);
    if valid >= broken {
        let not_utf8 = bad_cells(bytes, |field| !utf8(field));
        if not_utf8 == bad_cells(bytes, |field| !utf8(field) && !gb18030(field)) {
            return Err(neither());
        }
        return Err(format!(
            "is UTF-8 text except for bytes that are not UTF-8 at {not_utf8} (pasted from a GBK file?); retype those cells, or save the sheet as CSV UTF-8 or XLSX",
        ));
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(neither)
}

/// Non-ASCII characters that are valid UTF-8, and runs of bytes that are not.
fn utf8_tally(bytes: &[u8]) -> (usize, usize) {
    bytes.utf8_chunks().fold((0, 0), |(valid, broken), chunk| {
        (
            valid + chunk.valid().chars().filter(|c| !c.is_ascii()).count(),
            broken + usize::from(!chunk.invalid().is_empty()),
        )
    })
}

/// The first few cells whose bytes `bad` refuses, as "row 3 column 2, …",
/// rows numbered as import numbers them. Delimiters, quotes and line ends
/// are ASCII, which no multi-byte GB18030 or UTF-8 sequence contains, so
/// the cells split the same whatever the encoding.
fn bad_cells(bytes: &[u8], bad: impl Fn(&[u8]) -> bool) -> String {
    const SHOWN: usize = 5;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(bytes))
        .from_reader(bytes);
    let mut found = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut index = 0;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        index += 1;
        for (column, field) in record.iter().enumerate() {
            if bad(field) {
                found.push(format!("row {index} column {}", column + 1));
            }
        }
    }
    match found.len() {
        0 => "bytes outside any cell".to_owned(),
        n if n <= SHOWN => found.join(", "),
        n => format!("{} and {} more cells", found[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Comma, or tab when more of the first lines have tabs than commas
/// (Excel's "Unicode text"). On bytes, so that the counting and the
/// refusals split cells as the reader does, whatever the encoding.
fn delimiter(bytes: &[u8]) -> u8 {
    let first_lines = || bytes.split(|&b| b == b'\n').take(HEADER_SEARCH_ROWS);
    let tabbed = first_lines().filter(|line| line.contains(&b'\t')).count();
    let commas = first_lines().filter(|line| line.contains(&b',')).count();
    if tabbed > commas { b'\t' } else { b',' }
}

/// Refuses a CSV that would expand past the caps, before any cell of it is
/// held: one pass that keeps only counts.
fn check_csv_shape(bytes: &[u8]) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(bytes))
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let (mut rows, mut widest) = (0usize, 0usize);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(format!("not readable as CSV: {e}")),
        }
        rows += 1;
        if rows > MAX_ROWS + 1 {
            return Err(format!(
                "more than {} rows (a header and {MAX_ROWS} data rows are the most import reads; split the file)",
                MAX_ROWS + 1
            ));
        }
        if record.len() > MAX_COLUMNS {
            return Err(format!(
                "row {rows} has {} cells, more than the {MAX_COLUMNS} columns import reads",
                record.len()
            ));
        }
        widest = widest.max(record.len());
        if rows.saturating_mul(widest) > MAX_CELLS {
            return Err(format!(
                "row {rows}: {rows} rows of up to {widest} cells are more than the {MAX_CELLS} cells import reads (split the file)"
            ));
        }
    }
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
/// row check reports each of them. The caller has checked the shape
/// ([`check_csv_shape`]).
fn read_csv(text: &str) -> Result<Vec<Line>, String> {
    let delimiter = delimiter(text.as_bytes());
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
        let cells: Vec<Cell> = record
            .iter()
            .map(|field| text_cell(formula_unescaped(field)))
            .collect();
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
    check_zip(&bytes)?;
    check_ods(&bytes)?;
    super::xls::check_xls(&bytes)?;
    without_panic(|| read_checked_workbook(bytes))?
}

/// Runs calamine, a panic on a damaged file made an error. Its .xls reader
/// indexes a record's data by the lengths the data declares (a formula's
/// tokens cut short stop the process), and `xls::check_xls` refuses the
/// shapes it knows, not every one. The panic message is not printed: the
/// error says what happened.
fn without_panic<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    std::panic::set_hook(hook);
    result.map_err(|_| {
        "not a readable workbook (a record is damaged: the reader stopped inside it)".to_owned()
    })
}

/// [`read_workbook`] once the caps are checked.
fn read_checked_workbook(bytes: Vec<u8>) -> Result<Vec<Line>, String> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable workbook ({e}); is it a complete .xlsx file?"))?;
    let range = first_sheet(&mut workbook)?;
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
    let mut copied = 0u64;
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
        // Each cell filled gets a copy of the text: counted over the whole
        // region before any is made (a long name merged over a sheet).
        let width = grid.first().map_or(0, Vec::len);
        let right =
            (region.end.1.saturating_sub(first_column) as usize).min(width.saturating_sub(1));
        let area =
            (bottom + 1).saturating_sub(top) as u64 * (right + 1).saturating_sub(left) as u64;
        let length = match &value {
            Cell::Text(text) | Cell::Invalid(text) => text.len() as u64,
            Cell::Empty | Cell::Number(_) | Cell::Date(_) => 0,
        };
        copied = copied.saturating_add(length.saturating_mul(area));
        if copied > MAX_TEXT {
            return Err(format!(
                "merged cells would copy more than the {MAX_TEXT} bytes of text import reads (the region {}{}:{}{} repeats {length} bytes; split the file)",
                column_name(region.start.1),
                u64::from(region.start.0) + 1,
                column_name(region.end.1),
                u64::from(region.end.0) + 1,
            ));
        }
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

/// Excel's name for a column (0 is A, 16383 is XFD), for the refusals.
pub(super) fn column_name(column: u32) -> String {
    let mut name = Vec::new();
    let mut n = u64::from(column) + 1;
    while n > 0 {
        let digit = u8::try_from((n - 1) % 26).unwrap_or(0);
        name.push(char::from(b'A' + digit));
        n = (n - 1) / 26;
    }
    name.iter().rev().collect()
}

/// Refuses a sheet spanning more than the caps: `what` is the declared
/// dimension or the cells read so far. Checked before anything that size
/// is allocated (calamine's own reader makes rows × columns cells at once).
pub(super) fn check_span(what: &str, span: Dimensions) -> Result<(), String> {
    let ((top, left), (bottom, right)) = (span.start, span.end);
    let rows = u64::from(bottom.saturating_sub(top)) + 1;
    let columns = u64::from(right.saturating_sub(left)) + 1;
    let at = format!(
        "{what} {}{}:{}{}",
        column_name(left),
        u64::from(top) + 1,
        column_name(right),
        u64::from(bottom) + 1
    );
    if columns > MAX_COLUMNS as u64 {
        return Err(format!(
            "{at}: {columns} columns, more than the {MAX_COLUMNS} import reads"
        ));
    }
    if rows > MAX_ROWS as u64 + 1 {
        return Err(format!(
            "{at}: {rows} rows, more than the {} import reads (a header and {MAX_ROWS} data rows; split the file)",
            MAX_ROWS + 1
        ));
    }
    if rows * columns > MAX_CELLS as u64 {
        return Err(format!(
            "{at}: {} cells, more than the {MAX_CELLS} import reads (split the file)",
            rows * columns
        ));
    }
    Ok(())
}

/// Collects a sheet's cells one by one, refusing as soon as what they span
/// passes the caps, then makes the range calamine would have made.
fn bounded_range<'a, E: fmt::Display>(
    declared: Dimensions,
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
) -> Result<Range<Data>, String> {
    check_span("the sheet's declared dimension spans", declared)?;
    // Held as the reader gives them, a shared string by reference, and
    // copied once the whole sheet is within the caps.
    let mut cells = Vec::new();
    let mut span: Option<Dimensions> = None;
    let mut text = 0u64;
    while let Some(cell) = next().map_err(|e| format!("the first sheet is not readable ({e})"))? {
        let bytes = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            _ => 0,
        };
        text += bytes as u64;
        if text > MAX_TEXT {
            return Err(format!(
                "the sheet's cells hold more than the {MAX_TEXT} bytes of text import reads (split the file)"
            ));
        }
        let (row, column) = cell.get_position();
        let grown = match span {
            None => Dimensions::new((row, column), (row, column)),
            Some(d) => Dimensions::new(
                (d.start.0.min(row), d.start.1.min(column)),
                (d.end.0.max(row), d.end.1.max(column)),
            ),
        };
        if span != Some(grown) {
            check_span("the sheet's cells span", grown)?;
            span = Some(grown);
        }
        cells.push(cell);
    }
    Ok(Range::from_sparse(
        cells
            .into_iter()
            .map(|cell| {
                calamine::Cell::new(cell.get_position(), Data::from(cell.get_value().clone()))
            })
            .collect(),
    ))
}

/// The first sheet, read within the caps. Excel workbooks (.xlsx, .xlsb)
/// are read cell by cell; .xls and .ods are read whole by calamine when
/// the workbook is opened, within the caps `check_ods` and
/// `xls::check_xls` counted.
fn first_sheet(workbook: &mut Sheets<Cursor<Vec<u8>>>) -> Result<Range<Data>, String> {
    let name = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or("the workbook has no sheet")?;
    let unreadable = |e: &dyn fmt::Display| format!("the first sheet is not readable ({e})");
    match workbook {
        Sheets::Xlsx(xlsx) => {
            let mut reader = xlsx
                .worksheet_cells_reader(&name)
                .map_err(|e| unreadable(&e))?;
            let declared = reader.dimensions();
            bounded_range(declared, || reader.next_cell())
        }
        Sheets::Xlsb(xlsb) => {
            let mut reader = xlsb
                .worksheet_cells_reader(&name)
                .map_err(|e| unreadable(&e))?;
            let declared = reader.dimensions();
            bounded_range(declared, || reader.next_cell())
        }
        Sheets::Xls(_) | Sheets::Ods(_) => workbook
            .worksheet_range_at(0)
            .ok_or("the workbook has no sheet")?
            .map_err(|e| unreadable(&e)),
    }
}

/// The number of parts a zip's end record declares, read from the last
/// bytes before any index of them is built.
fn zip_parts(bytes: &[u8]) -> Option<u64> {
    const END: &[u8] = b"PK\x05\x06";
    // The end record is 22 bytes and a comment of up to 65,535.
    let tail = &bytes[bytes.len().saturating_sub(22 + 65_535)..];
    let at = tail.windows(END.len()).rposition(|window| window == END)?;
    let count = tail.get(at + 10..at + 12)?;
    Some(u64::from(u16::from_le_bytes([count[0], count[1]])))
}

/// Refuses a workbook zip that would unpack past the caps: first by the
/// sizes it declares, then by what its parts really unpack to (counted,
/// not kept), since a declared size can lie.
fn check_zip(bytes: &[u8]) -> Result<(), String> {
    // .xls is an OLE compound file, not a zip: bounded by the file cap.
    if !bytes.starts_with(b"PK") {
        return Ok(());
    }
    let unreadable = |e: &dyn fmt::Display| {
        format!("not a readable workbook ({e}); is it a complete .xlsx file?")
    };
    // 0xFFFF means "see the ZIP64 record": more parts than any workbook has.
    match zip_parts(bytes) {
        Some(parts) if parts < MAX_PARTS && parts != 0xFFFF => {}
        Some(parts) => {
            return Err(format!(
                "the workbook declares {parts} parts, more than the {MAX_PARTS} import reads"
            ));
        }
        None => return Err(unreadable(&"no zip end record")),
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let name_of = |part: &zip::read::ZipFile<'_, _>, index: usize| {
        part.name()
            .map_or_else(|_| format!("part {}", index + 1), |name| name.into_owned())
    };
    let mut declared_sizes = Vec::with_capacity(archive.len());
    let mut total = 0u64;
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index).map_err(|e| unreadable(&e))?;
        let declared = part.size();
        if declared > MAX_PART_BYTES {
            return Err(format!(
                "the part {} declares {declared} bytes unpacked, more than the {MAX_PART_BYTES} import unpacks from one part (not a client list, or a zip bomb)",
                name_of(&part, index)
            ));
        }
        total = total.saturating_add(declared);
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the parts declare more than {MAX_UNPACKED_BYTES} bytes unpacked, the most import unpacks from one workbook"
            ));
        }
        declared_sizes.push(declared);
    }
    for (index, declared) in declared_sizes.into_iter().enumerate() {
        let mut part = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let name = name_of(&part, index);
        let unpacked = std::io::copy(&mut (&mut part).take(declared + 1), &mut std::io::sink())
            .map_err(|e| format!("the part {name} is damaged ({e})"))?;
        if unpacked > declared {
            return Err(format!(
                "the part {name} unpacks to more than the {declared} bytes it declares (a damaged file, or a zip bomb)"
            ));
        }
    }
    Ok(())
}

/// Refuses an OpenDocument workbook whose sheets would expand past the
/// caps. calamine reads every sheet of an .ods when it is opened, expanding
/// `number-rows-repeated` and `number-columns-repeated` as it goes (up to
/// 100 million cells); so the repeats are counted here first, streaming
/// content.xml and holding nothing; and so is the text calamine copies
/// into every repeat of a cell and a row. Empty cells and rows after a sheet's
/// last value are not counted: LibreOffice writes a million of them, and
/// calamine does not expand them.
fn check_ods(bytes: &[u8]) -> Result<(), String> {
    use quick_xml::events::{BytesStart, Event};
    let unreadable = |e: &dyn fmt::Display| {
        format!("not a readable workbook ({e}); is it a complete .ods file?")
    };
    // Not a zip: an .xls, bounded by `xls::check_xls` (a zip reader would
    // refuse it here, and did, for every .xls Excel writes).
    if !bytes.starts_with(b"PK") {
        return Ok(());
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let Ok(content) = archive.by_name("content.xml") else {
        return Ok(());
    };
    let repeats = |e: &BytesStart, name: &str| -> Result<u64, String> {
        match e.try_get_attribute(name).map_err(|e| unreadable(&e))? {
            None => Ok(1),
            Some(attribute) => attribute
                .value
                .trim()
                .parse::<u64>()
                .ok()
                .ok_or_else(|| unreadable(&format!("{name} is not a count"))),
        }
    };
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    let mut buf = Vec::new();
    let mut sheet = 0u64;
    // Per sheet: rows up to the last with a value, the widest such row, and
    // empty rows not yet known to come before a value.
    let (mut rows, mut width, mut pending_rows) = (0u64, 0u64, 0u64);
    // Per row: its repeat count, columns so far and up to the last value.
    let (mut row_repeats, mut column, mut last_value) = (1u64, 0u64, 0u64);
    // Text, which calamine copies into every repeated cell and row: the
    // workbook's so far, the row's, and the cell's (open when `Some`) with
    // its column repeats.
    let (mut text, mut row_text, mut cell) = (0u64, 0u64, None::<(u64, u64)>);
    let string_value = |e: &BytesStart| -> Result<u64, String> {
        Ok(e.try_get_attribute("office:string-value")
            .map_err(|e| unreadable(&e))?
            .map_or(0, |attribute| attribute.value.len() as u64))
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| unreadable(&e))?;
        let (e, has_children) = match &event {
            Event::Start(e) => (Some(e), true),
            Event::Empty(e) => (Some(e), false),
            Event::Text(t) => {
                if let Some((bytes, _)) = &mut cell {
                    *bytes = bytes.saturating_add(t.len() as u64);
                }
                (None, false)
            }
            Event::CData(t) => {
                if let Some((bytes, _)) = &mut cell {
                    *bytes = bytes.saturating_add(t.len() as u64);
                }
                (None, false)
            }
            Event::GeneralRef(t) => {
                if let Some((bytes, _)) = &mut cell {
                    *bytes = bytes.saturating_add(t.len() as u64);
                }
                (None, false)
            }
            Event::End(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                if let Some((bytes, repeats)) = cell.take() {
                    row_text = row_text.saturating_add(bytes.saturating_mul(repeats));
                }
                (None, false)
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                text = text.saturating_add(row_text.saturating_mul(row_repeats));
                row_text = 0;
                if text > MAX_TEXT {
                    return Err(format!(
                        "the workbook's cells hold more than the {MAX_TEXT} bytes of text import reads, counting each repeat (split the file)"
                    ));
                }
                if last_value > 0 {
                    rows = rows
                        .saturating_add(pending_rows)
                        .saturating_add(row_repeats);
                    pending_rows = 0;
                    width = width.max(last_value);
                } else {
                    pending_rows = pending_rows.saturating_add(row_repeats);
                }
                let span = format!("sheet {sheet} of the workbook");
                if width > MAX_COLUMNS as u64 {
                    return Err(format!(
                        "{span} spans {width} columns, more than the {MAX_COLUMNS} import reads"
                    ));
                }
                if rows > MAX_ROWS as u64 + 1 {
                    return Err(format!(
                        "{span} has {rows} rows, more than the {} import reads (a header and {MAX_ROWS} data rows; split the file)",
                        MAX_ROWS + 1
                    ));
                }
                if rows.saturating_mul(width) > MAX_CELLS as u64 {
                    return Err(format!(
                        "{span} spans {rows} rows of {width} columns, more than the {MAX_CELLS} cells import reads (split the file)"
                    ));
                }
                (None, false)
            }
            Event::Eof => return Ok(()),
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.name().as_ref() {
                "table:table" => {
                    sheet += 1;
                    (rows, width, pending_rows) = (0, 0, 0);
                }
                "table:table-row" => {
                    row_repeats = repeats(e, "table:number-rows-repeated")?;
                    (column, last_value) = (0, 0);
                    if !has_children {
                        pending_rows = pending_rows.saturating_add(row_repeats);
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    let columns = repeats(e, "table:number-columns-repeated")?;
                    column = column.saturating_add(columns);
                    let value = string_value(e)?;
                    if has_children {
                        cell = Some((value, columns));
                    } else {
                        row_text = row_text.saturating_add(value.saturating_mul(columns));
                    }
                    let valued = e
                        .try_get_attribute("office:value-type")
                        .map_err(|e| unreadable(&e))?
                        .is_some();
                    if valued || has_children {
                        last_value = column;
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
}

/// A JSON array of objects whose keys are the headers, as export writes it.
/// An object that lacks a key has that cell empty. Read as it streams in,
/// each object straight into cells: a tree of JSON values costs many times
/// the file's size, and every row holding every header would cost rows ×
/// headers (issue 13: 50,000 objects with one key each took 23 GB).
fn read_json(bytes: &[u8]) -> Result<Option<Table>, String> {
    let mut table = JsonTable::default();
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let read = serde::de::DeserializeSeed::deserialize(JsonRows(&mut table), &mut reader)
        .and_then(|()| reader.end());
    if let Some(refusal) = table.refusal {
        return Err(refusal);
    }
    read.map_err(|e| format!("not valid JSON ({e})"))?;
    if table.headers.is_empty() {
        return Ok(None);
    }
    let width = table.headers.len();
    if table.lines.len().saturating_mul(width) > MAX_CELLS {
        return Err(format!(
            "{} objects with {width} distinct keys is more than the {MAX_CELLS} cells import reads (split the file)",
            table.lines.len()
        ));
    }
    for line in &mut table.lines {
        line.cells.resize(width, Cell::Empty);
    }
    Ok(Some(Table {
        header_row: None,
        headers: table.headers,
        skipped: Vec::new(),
        lines: table.lines,
    }))
}

#[derive(Default)]
struct JsonTable {
    headers: Vec<String>,
    /// Each header's column: found in constant time, not by a scan.
    columns: HashMap<String, usize>,
    lines: Vec<Line>,
    cells: usize,
    /// A cap passed: said as it is, not as "not valid JSON".
    refusal: Option<String>,
}

impl JsonTable {
    fn refuse<E: serde::de::Error>(&mut self, refusal: String) -> E {
        let error = E::custom(&refusal);
        self.refusal = Some(refusal);
        error
    }
}

struct JsonRows<'t>(&'t mut JsonTable);

impl<'de> serde::de::DeserializeSeed<'de> for JsonRows<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonRows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects, one per row")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        loop {
            let item = self.0.lines.len() + 1;
            if item > MAX_ROWS {
                // Only refused if there really is one more.
                if items.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(self.0.refuse(format!(
                        "more than {MAX_ROWS} objects, the most import reads (split the file)"
                    )));
                }
                return Ok(());
            }
            if items
                .next_element_seed(JsonRow {
                    table: &mut *self.0,
                    item,
                })?
                .is_none()
            {
                return Ok(());
            }
        }
    }
}

struct JsonRow<'t> {
    table: &'t mut JsonTable,
    item: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonRow<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonRow<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "item {} to be an object (one object per row)", self.item)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let table = self.table;
        let mut cells = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key.len() > MAX_KEY_BYTES {
                return Err(table.refuse(format!(
                    "item {}: a key of {} bytes, longer than the {MAX_KEY_BYTES} a header may be",
                    self.item,
                    key.len()
                )));
            }
            let column = match table.columns.get(key.as_ref()) {
                Some(&column) => column,
                None if table.headers.len() >= MAX_COLUMNS => {
                    return Err(table.refuse(format!(
                        "item {}: the key {key:?} makes more than {MAX_COLUMNS} distinct keys, the most columns import reads",
                        self.item
                    )));
                }
                None => {
                    let column = table.headers.len();
                    table.headers.push(key.clone().into_owned());
                    table.columns.insert(key.into_owned(), column);
                    column
                }
            };
            let cell = map.next_value_seed(JsonCell)?;
            table.cells += 1;
            if table.cells > MAX_CELLS {
                return Err(table.refuse(format!(
                    "item {}: more than the {MAX_CELLS} cells import reads (split the file)",
                    self.item
                )));
            }
            if cells.len() <= column {
                cells.resize(column + 1, Cell::Empty);
            }
            cells[column] = cell;
        }
        table.lines.push(Line {
            row: self.item,
            cells,
        });
        Ok(())
    }
}

/// One JSON value as a cell. An array or object is skipped, not built: it
/// is refused as a cell whatever it holds.
struct JsonCell;

impl<'de> serde::de::DeserializeSeed<'de> for JsonCell {
    type Value = Cell;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Cell, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonCell {
    type Value = Cell;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Cell, E> {
        Ok(Cell::Empty)
    }
    fn visit_str<E>(self, text: &str) -> Result<Cell, E> {
        Ok(text_cell(text))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Cell, E> {
        Ok(Cell::Number(n))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Cell, E> {
        Ok(Cell::Number(n as f64))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Cell, E> {
        Ok(Cell::Number(n as f64))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell::Invalid(format!("the JSON value {b}, not text")))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Cell, A::Error> {
        while items.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Cell::Invalid("a JSON array, not text".to_owned()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Cell::Invalid("a JSON object, not text".to_owned()))
    }
}

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

/// CSV for Excel: UTF-8 with a byte order mark, without which Excel on a
/// Chinese Windows reads the file as GB18030 and garbles every name.
pub fn csv_bytes(headers: &[&str], rows: &[Vec<Option<String>>]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(headers)?;
    for row in rows {
        let cells: Vec<Cow<'_, str>> = row
            .iter()
            .map(|cell| formula_escaped(cell.as_deref().unwrap_or("")))
            .collect();
        writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
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
///
/// Never through a symlink: the bytes go to a new file created next to the
/// name (`O_EXCL`, which does not follow links), which then takes the name
/// by `rename`, so `--force` on a link replaces the link, never the file it
/// points to (issue 13: `--output link --force` overwrote /etc/x).
pub fn write_private(path: &Path, bytes: &[u8], overwrite: Overwrite) -> anyhow::Result<()> {
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
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .and_then(|()| match overwrite {
            // A hard link fails if the name was taken meanwhile, where a
            // rename would silently replace it.
            Overwrite::Refuse => std::fs::hard_link(&temporary, path),
            Overwrite::Replace => std::fs::rename(&temporary, path),
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
