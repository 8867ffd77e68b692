//! The workbook stream's BIFF records: each sheet's declared and actual
//! span, its cells and the shared strings they copy, counted against the
//! caps.

use super::compound::Stream;
use super::{damaged, le16, le32};
use crate::cli::sheet::{MAX_CELLS, MAX_TEXT, check_span};
use calamine::Dimensions;

/// One BIFF record as calamine's iterator gives it: its type, where its
/// data is, and where the CONTINUE records after it are.
pub(super) struct Record {
    typ: u16,
    data: Vec<u8>,
    /// The record's data and each CONTINUE's, as (offset, length).
    parts: Vec<(usize, usize)>,
    pub(super) next: usize,
}

/// The record at `at`; `None` at the end of the stream or where calamine's
/// iterator stops with an error.
pub(super) fn record(stream: &Stream, at: usize) -> Option<Record> {
    let head = stream.read(at, 4)?;
    let typ = u16::from_le_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let data = stream.read(at + 4, len)?;
    let mut parts = vec![(at + 4, len)];
    let mut next = at + 4 + len;
    while stream.len.saturating_sub(next) > 4 {
        let head = stream.read(next, 4)?;
        if u16::from_le_bytes([head[0], head[1]]) != 0x003C {
            break;
        }
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        stream.read(next + 4, len)?;
        parts.push((next + 4, len));
        next += 4 + len;
    }
    Some(Record {
        typ,
        data,
        parts,
        next,
    })
}

/// What calamine will hold once it has read the workbook, counted as it
/// would read it.
#[derive(Default)]
struct Tally {
    /// Cells of all sheets, before they become ranges.
    pub(super) cells: u64,
    /// Cells the sheets' ranges span, all sheets together.
    spans: u64,
    /// Characters of text in cells and formulas.
    text: u64,
}

impl Tally {
    fn add_cells(&mut self, n: u64) -> Result<(), String> {
        self.cells += n;
        if self.cells > MAX_CELLS as u64 {
            return Err(format!(
                "the workbook's sheets hold more than the {MAX_CELLS} cells import reads (split the file)"
            ));
        }
        Ok(())
    }

    fn add_text(&mut self, chars: u64) -> Result<(), String> {
        self.text += chars;
        if self.text > MAX_TEXT {
            return Err(format!(
                "the workbook's cells hold more than the {MAX_TEXT} characters of text import reads (split the file)"
            ));
        }
        Ok(())
    }
}

/// The bounding box of some cells, grown one at a time.
#[derive(Default)]
struct Span(Option<Dimensions>);

impl Span {
    /// Takes in the cells of one row from `first` to `last`, refusing as
    /// soon as the box passes the caps.
    fn grow(&mut self, what: &str, row: u32, first: u32, last: u32) -> Result<(), String> {
        let grown = match self.0 {
            None => Dimensions::new((row, first), (row, last)),
            Some(d) => Dimensions::new(
                (d.start.0.min(row), d.start.1.min(first)),
                (d.end.0.max(row), d.end.1.max(last)),
            ),
        };
        if self.0 != Some(grown) {
            check_span(what, grown)?;
            self.0 = Some(grown);
        }
        Ok(())
    }

    pub(super) fn cells(&self) -> u64 {
        self.0.map_or(0, |d| {
            (u64::from(d.end.0 - d.start.0) + 1) * (u64::from(d.end.1 - d.start.1) + 1)
        })
    }
}

/// Walks the workbook's records as calamine will: the globals (sheets,
/// names, shared strings) up to their EOF, then each sheet from where the
/// globals say it starts.
pub(super) fn check_biff(stream: &Stream) -> Result<(), String> {
    let mut sheets = Vec::new();
    let mut shared: Vec<u32> = Vec::new();
    // The longest name a formula may spell out in place of a reference.
    let mut longest_name = 0usize;
    let mut at = 0;
    while let Some(record) = record(stream, at) {
        at = record.next;
        let data = &record.data;
        match record.typ {
            // BoundSheet8: where a sheet's records start, and its name.
            0x0085 => {
                if data.len() < 6 {
                    return Err(damaged(format!(
                        "a sheet's record is {} bytes, less than 6",
                        data.len()
                    )));
                }
                let start = le32(data, 0).unwrap_or(0) as usize;
                if start > stream.len {
                    return Err(damaged(format!(
                        "a sheet starts at byte {start}, past the end of the {}-byte workbook",
                        stream.len
                    )));
                }
                sheets.push(start);
                longest_name = longest_name.max(usize::from(data.get(6).copied().unwrap_or(0)));
            }
            // Lbl: a defined name.
            0x0018 => {
                longest_name = longest_name.max(usize::from(data.get(3).copied().unwrap_or(0)));
            }
            // SST: the shared strings; calamine keeps the last table.
            0x00FC => match shared_strings(stream, &record)? {
                Some(lengths) => shared = lengths,
                None => return Ok(()),
            },
            // FilePass: calamine refuses an encrypted workbook.
            0x002F if le16(data, 0) != Some(0) => return Ok(()),
            0x000A => break,
            _ => {}
        }
    }
    let mut tally = Tally::default();
    for text in &shared {
        tally.add_text(u64::from(*text))?;
    }
    for (index, start) in sheets.into_iter().enumerate() {
        check_sheet(stream, start, index + 1, &shared, longest_name, &mut tally)?;
    }
    Ok(())
}

/// One sheet's records up to its EOF, skipping the substreams (charts)
/// nested in it as calamine does.
fn check_sheet(
    stream: &Stream,
    start: usize,
    number: usize,
    shared: &[u32],
    longest_name: usize,
    tally: &mut Tally,
) -> Result<(), String> {
    let what = format!("sheet {number}'s cells span");
    let (mut values, mut formulas) = (Span::default(), Span::default());
    // A formula's text names a sheet or a defined name in place of a
    // reference of 3 bytes or more: so it is at most this many characters
    // for each byte of the formula, counting 16 for the reference and the
    // punctuation around it.
    let per_byte = (longest_name.max(20) + 16).div_ceil(3) as u64;
    let mut formula_at = (0u32, 0u32);
    let (mut seen_bof, mut depth) = (false, 0usize);
    let mut at = start;
    while let Some(record) = record(stream, at) {
        at = record.next;
        let data = &record.data;
        if depth > 0 {
            match record.typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let row = u32::from(le16(data, 0).unwrap_or(0));
        let column = u32::from(le16(data, 2).unwrap_or(0));
        match record.typ {
            0x0809 if seen_bof => depth += 1,
            0x0809 => seen_bof = true,
            // DIMENSIONS: calamine reserves its rows × columns of cells.
            0x0200 => {
                let declared = declared_dimension(data, number)?;
                check_span(
                    &format!("sheet {number}'s declared dimension spans"),
                    declared,
                )?;
            }
            // Number, BoolErr, RK: one cell each.
            0x0203 | 0x0205 | 0x027E => {
                values.grow(&what, row, column, column)?;
                tally.add_cells(1)?;
            }
            // Label, RString: a cell of text, its length declared.
            0x0204 | 0x00D6 => {
                values.grow(&what, row, column, column)?;
                tally.add_cells(1)?;
                tally.add_text(u64::from(le16(data, 6).unwrap_or(0)))?;
            }
            // String: the text a formula gave, in the formula's cell.
            0x0207 => {
                values.grow(&what, formula_at.0, formula_at.1, formula_at.1)?;
                tally.add_cells(1)?;
                tally.add_text(u64::from(le16(data, 0).unwrap_or(0)))?;
            }
            // LabelSst: a cell given its own copy of a shared string.
            0x00FD => {
                let index = le32(data, 6).map(|i| i as usize);
                if let Some(text) = index.and_then(|i| shared.get(i)) {
                    values.grow(&what, row, column, column)?;
                    tally.add_cells(1)?;
                    tally.add_text(u64::from(*text))?;
                }
            }
            // MulRk: a row of cells from one column to another.
            0x00BD if data.len() >= 6 => {
                let last = u32::from(le16(data, data.len() - 2).unwrap_or(0));
                if last < column {
                    return Err(damaged(format!(
                        "sheet {number} has a row of cells ending before it starts"
                    )));
                }
                values.grow(&what, row, column, last)?;
                tally.add_cells(u64::from(last - column) + 1)?;
            }
            // MergeCells: calamine reads as many regions as the count says.
            0x00E5 => {
                let count = usize::from(le16(data, 0).unwrap_or(0));
                if data.len() < 2 + 8 * count {
                    return Err(damaged(format!(
                        "sheet {number} declares {count} merged regions in {} bytes",
                        data.len()
                    )));
                }
            }
            // Formula: a value cell, and the formula's text in a second
            // range of its own.
            0x0006 if data.len() >= 20 => {
                // calamine reads the formula's token count and then that
                // many bytes without looking at the record's length.
                let tokens = le16(data, 20).map(usize::from);
                if tokens.is_none_or(|n| 22 + n > data.len()) {
                    return Err(damaged(format!(
                        "sheet {number} has a formula cut short at {}{}",
                        crate::cli::sheet::column_name(column),
                        row + 1
                    )));
                }
                formula_at = (row, column);
                values.grow(&what, row, column, column)?;
                formulas.grow(&what, row, column, column)?;
                tally.add_cells(2)?;
                tally.add_text(100 + (data.len() as u64 - 20) * per_byte)?;
            }
            0x000A => break,
            _ => {}
        }
    }
    tally.spans += values.cells() + formulas.cells();
    if tally.spans > MAX_CELLS as u64 {
        return Err(format!(
            "the workbook's sheets together span {} cells, more than the {MAX_CELLS} import reads (split the file)",
            tally.spans
        ));
    }
    Ok(())
}

/// A DIMENSIONS record read as calamine reads it; refused when its end
/// comes before its start (calamine would count the cells between by
/// wrapping around).
fn declared_dimension(data: &[u8], number: usize) -> Result<Dimensions, String> {
    let field = |at: usize, wide: bool| {
        if wide {
            le32(data, at)
        } else {
            le16(data, at).map(u32::from)
        }
    };
    let (first_row, end_row, first_column, end_column) = match data.len() {
        10 => (
            field(0, false),
            field(2, false),
            field(4, false),
            field(6, false),
        ),
        14 | 16 => (
            field(0, true),
            field(4, true),
            field(8, false),
            field(10, false),
        ),
        // calamine refuses the sheet.
        _ => return Ok(Dimensions::new((0, 0), (0, 0))),
    };
    let [Some(top), Some(end_row), Some(mut left), Some(end_column)] =
        [first_row, end_row, first_column, end_column]
    else {
        return Ok(Dimensions::new((0, 0), (0, 0)));
    };
    if left > 0xFF || end_column < left {
        left = 0;
    }
    if end_row == 0 || end_column == 0 {
        return Ok(Dimensions::new((top, left), (top, left)));
    }
    let (bottom, right) = (end_row - 1, end_column - 1);
    if bottom < top || right < left {
        return Err(damaged(format!(
            "sheet {number} declares a dimension ending before it starts"
        )));
    }
    Ok(Dimensions::new((top, left), (bottom, right)))
}

/// The length in characters of each string of an SST record, read as
/// calamine reads them (a string may run on into the CONTINUE records);
/// `None` where calamine would stop with an error of its own, an error
/// here where it would stop the process.
fn shared_strings(stream: &Stream, record: &Record) -> Result<Option<Vec<u32>>, String> {
    let mut cursor = Cursor {
        stream,
        parts: &record.parts,
        part: 0,
        at: 8,
    };
    if record.data.len() < 8 {
        return Ok(None);
    }
    let truncated = || damaged("a shared string is cut short");
    let mut lengths = Vec::new();
    while cursor.left() > 0 || cursor.next_part() {
        if lengths.len() >= MAX_CELLS {
            return Err(format!(
                "the workbook's shared strings are more than the {MAX_CELLS} cells import reads (split the file)"
            ));
        }
        if cursor.left() == 0 {
            // calamine reads an empty string from an empty CONTINUE.
            lengths.push(0);
            continue;
        }
        let Some(head) = cursor.take(3) else {
            return Ok(None);
        };
        let chars = u16::from_le_bytes([head[0], head[1]]);
        let flags = head[2];
        let runs = if flags & 0x8 != 0 {
            let b = cursor.take(2).ok_or_else(truncated)?;
            usize::from(u16::from_le_bytes([b[0], b[1]]))
        } else {
            0
        };
        let extra = if flags & 0x4 != 0 {
            let b = cursor.take(4).ok_or_else(truncated)?;
            i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        } else {
            0
        };
        let mut wide = flags & 0x1 != 0;
        let mut left = usize::from(chars);
        while left > 0 {
            let fit = if wide {
                cursor.left() / 2
            } else {
                cursor.left()
            };
            let n = fit.min(left);
            cursor.at += if wide { 2 * n } else { n };
            left -= n;
            if left > 0 {
                if !cursor.next_part() {
                    return Ok(None);
                }
                let flag = cursor.take(1).ok_or_else(truncated)?;
                wide = flag[0] & 0x1 != 0;
            }
        }
        if !cursor.skip(runs.saturating_mul(4)) || !cursor.skip(extra) {
            return Ok(None);
        }
        lengths.push(u32::from(chars));
    }
    Ok(Some(lengths))
}

/// A position in a record's data and its CONTINUE records.
struct Cursor<'s, 'a> {
    pub(super) stream: &'s Stream<'a>,
    parts: &'s [(usize, usize)],
    part: usize,
    pub(super) at: usize,
}

impl Cursor<'_, '_> {
    pub(super) fn left(&self) -> usize {
        self.parts[self.part].1.saturating_sub(self.at)
    }

    fn next_part(&mut self) -> bool {
        if self.part + 1 < self.parts.len() {
            self.part += 1;
            self.at = 0;
            true
        } else {
            false
        }
    }

    /// `n` bytes of the current part (calamine reads headers from one).
    pub(super) fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        if self.left() < n {
            return None;
        }
        let bytes = self.stream.read(self.parts[self.part].0 + self.at, n)?;
        self.at += n;
        Some(bytes)
    }

    fn skip(&mut self, mut n: usize) -> bool {
        while n > 0 {
            if self.left() == 0 && !self.next_part() {
                return false;
            }
            let step = n.min(self.left());
            self.at += step;
            n -= step;
        }
        true
    }
}
