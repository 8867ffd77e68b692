//! Spreadsheet files in and out: CSV (UTF-8, UTF-8 with BOM, GB18030),
//! Excel workbooks and JSON, read into one shape, a header and rows of
//! cells, and written back from rows of text.
//!
//! Files come from outside and may be anything: every size is capped before
//! it is read (a CSV in UTF-8 or GB18030, streamed, a row at a time), and
//! nothing here panics on bad bytes.

mod archive;
mod csv;
mod header;
mod json;
mod workbook;
mod write;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use thiserror::Error;

use csv::{
    CsvLines, Gb18030Text, Text, check_csv_shape, decode, read_csv, stream_delimiter, streamable,
};
use header::{NoHeader, find_header, split_header};
use json::read_json;
use workbook::read_workbook;

/// The largest file import reads whole: a register of 100,000 rows is
/// some 25 MB of CSV. A CSV in UTF-8 or GB18030 is streamed instead
/// ([`open`]).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most data rows import reads from a file read whole: twice the
/// 100,000-row register it is built for ([`MAX_STREAMED_ROWS`] for a
/// streamed CSV).
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
/// gives numbers (an 8-digit cell may come as one) and dates. Serialised
/// only for an import's scratch file (`cli/agency/group.rs`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    Empty,
    Text(String),
    Number(#[serde(with = "f64_bits")] f64),
    Date(NaiveDate),
    /// A formula error such as `#N/A`, or a JSON value that is not text.
    Invalid(String),
}

/// A number cell in the scratch file as its bits: JSON would make an
/// infinite one (a workbook's `1e999`) `null`, which does not read back, and
/// may round a finite one in its last digit.
mod f64_bits {
    pub fn serialize<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.to_bits())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(serde::Deserialize::deserialize(
            deserializer,
        )?))
    }
}

/// A data row: its number as the person sees it, and its cells.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Opens `path` if it is a regular file, with its size.
fn open_regular(path: &Path) -> Result<(File, u64), SheetError> {
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
    regular(std::fs::metadata(path).map_err(io)?)?;
    let file = File::open(path).map_err(io)?;
    // And again on what was opened: the name may have been swapped between.
    let size = regular(file.metadata().map_err(io)?)?;
    Ok((file, size))
}

/// Reads `path` whole, refusing anything but a regular file and files over
/// [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>, SheetError> {
    let io = |source| SheetError::Io {
        path: path.display().to_string(),
        source,
    };
    let (file, size) = open_regular(path)?;
    if size > MAX_FILE_BYTES {
        return Err(SheetError::TooLarge {
            path: path.display().to_string(),
            bytes: size,
        });
    }
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

/// A sheet opened for import: its header, and its data rows read from a
/// CSV file as they are needed, or held for the other kinds (capped as
/// [`read`] caps them).
pub struct Sheet {
    /// The row that named the columns, as the person sees it; `None` for
    /// JSON, whose keys are the headers.
    pub header_row: Option<usize>,
    pub headers: Vec<String>,
    /// Rows above the header, each with what it says.
    pub skipped: Vec<(usize, String)>,
    body: Body,
}

enum Body {
    Held(Vec<Line>),
    /// A CSV in UTF-8 or GB18030: read again from its start for each pass.
    Streamed {
        path: PathBuf,
        text: Text,
        delimiter: u8,
        header_row: usize,
    },
}

/// A sheet's data rows, one at a time.
pub type Lines<'a> = Box<dyn Iterator<Item = Result<Line, SheetError>> + 'a>;

/// Opens `path` for import. A CSV in UTF-8 (the form the export writes)
/// or GB18030 (Excel's "CSV" on a Chinese Windows) is streamed: no copy of
/// it is held, so no size cap applies but [`MAX_ROW_BYTES`] a row and
/// [`MAX_STREAMED_ROWS`] rows. Other files (UTF-16 CSV, workbooks, JSON),
/// and a CSV that [`decode`] refuses, are read whole by [`read`].
pub fn open(path: &Path, header: HeaderRow) -> Result<Sheet, SheetError> {
    let name = path.display().to_string();
    if Kind::of(path) == Some(Kind::Csv) {
        let io = |source| SheetError::Io {
            path: name.clone(),
            source,
        };
        let (mut file, _) = open_regular(path)?;
        if let Some(text) = streamable(&mut file).map_err(io)? {
            let delimiter = stream_delimiter(at(&name, path, text)?).map_err(io)?;
            let mut lines = streamed(&name, at(&name, path, text)?, delimiter);
            let head = find_header(&mut lines, header).map_err(|no| match no {
                NoHeader::Read(error) => error,
                NoHeader::Given(row, problem) => SheetError::HeaderRow {
                    path: name.clone(),
                    row,
                    problem,
                },
            })?;
            let head = head.ok_or(SheetError::Empty { path: name })?;
            return Ok(Sheet {
                header_row: Some(head.header_row),
                headers: head.headers,
                skipped: head.skipped,
                body: Body::Streamed {
                    path: path.to_owned(),
                    text,
                    delimiter,
                    header_row: head.header_row,
                },
            });
        }
    }
    let table = read(path, header)?;
    Ok(Sheet {
        header_row: table.header_row,
        headers: table.headers,
        skipped: table.skipped,
        body: Body::Held(table.lines),
    })
}

/// `path`'s text from its start, checked to be a regular file again.
fn at(name: &str, path: &Path, text: Text) -> Result<Box<dyn Read>, SheetError> {
    let (mut file, _) = open_regular(path)?;
    Ok(match text {
        Text::Utf8 { from } => {
            file.seek(SeekFrom::Start(from))
                .map_err(|source| SheetError::Io {
                    path: name.to_owned(),
                    source,
                })?;
            Box::new(file)
        }
        Text::Gb18030 => Box::new(Gb18030Text::new(file)),
    })
}

fn streamed(
    name: &str,
    file: Box<dyn Read>,
    delimiter: u8,
) -> impl Iterator<Item = Result<Line, SheetError>> + use<> {
    let name = name.to_owned();
    CsvLines::new(file, delimiter).map(move |line| {
        line.map_err(|problem| SheetError::Unreadable {
            path: name.clone(),
            problem,
        })
    })
}

impl Sheet {
    /// The data rows below the header, in order.
    pub fn lines(&self) -> Result<Lines<'_>, SheetError> {
        match &self.body {
            // A row copied at a time: a held sheet is not held twice.
            Body::Held(lines) => Ok(Box::new(lines.iter().cloned().map(Ok))),
            Body::Streamed {
                path,
                text,
                delimiter,
                header_row,
            } => {
                let name = path.display().to_string();
                let header_row = *header_row;
                Ok(Box::new(
                    streamed(&name, at(&name, path, *text)?, *delimiter)
                        .filter(move |line| !matches!(line, Ok(line) if line.row <= header_row)),
                ))
            }
        }
    }

    /// For each column, the first data row with a value in it, in row
    /// order: all that the layout needs to know of the rows. Reads a
    /// streamed sheet through once, so that a file unreadable further down
    /// is refused before any row is checked.
    pub fn column_samples(&self) -> Result<Vec<Line>, SheetError> {
        let mut found = vec![false; self.headers.len().max(MAX_COLUMNS)];
        let mut samples = Vec::new();
        for line in self.lines()? {
            let line = line?;
            let mut new = false;
            for (index, cell) in line.cells.iter().enumerate() {
                if *cell != Cell::Empty && !found.get(index).copied().unwrap_or(true) {
                    found[index] = true;
                    new = true;
                }
            }
            if new {
                samples.push(line);
            }
        }
        Ok(samples)
    }
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

pub use csv::{MAX_ROW_BYTES, MAX_STREAMED_ROWS};
pub(super) use workbook::{check_span, column_name};
pub use write::{
    CellKind, formula_escaped, formula_unescaped, write_csv, write_json, write_private, write_xlsx,
};
