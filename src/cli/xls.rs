//! The caps on an Excel 97–2003 workbook (.xls), checked before calamine
//! opens it.
//!
//! calamine reads every sheet of an .xls as it opens the file: it follows
//! the compound file's sector chains wherever they lead, reserves the cells
//! a sheet's DIMENSIONS record declares, makes each sheet's rows × columns
//! of cells, and gives every cell that names a shared string a copy of it.
//! So the file is walked here first, holding nothing of its size: every
//! chain calamine follows must end within the file, and every sheet must
//! fit the caps that bound the other workbooks (`sheet::check_span` and
//! the counts below). Where calamine would refuse the file by itself, the
//! walk stops and leaves the refusal to it.

use std::fmt;
use std::ops::Range;

use super::sheet::{MAX_CELLS, MAX_TEXT, check_span};
use calamine::Dimensions;

const SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// Values a sector chain's next pointer may take besides a sector number
/// [MS-CFB 2.1]: the end of the chain, and the markers calamine skips.
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const RESERVED: u32 = 0xFFFF_FFFA;
const DIFAT_MARK: u32 = 0xFFFF_FFFC;
/// Streams shorter than this live in the mini stream, in 64-byte sectors.
const MINI_CUTOFF: u64 = 4096;
const MINI_SECTOR: usize = 64;

fn damaged(what: impl fmt::Display) -> String {
    format!("not a readable workbook ({what}); is it a complete .xls file?")
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn le64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn u32s(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Refuses an .xls whose container or sheets pass the caps; any other file
/// passes untouched.
pub(super) fn check_xls(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(SIGNATURE) {
        return Ok(());
    }
    let file = Compound::open(bytes)?;
    match file.workbook()? {
        Some(stream) => check_biff(&stream),
        None => Ok(()),
    }
}

/// A compound file as calamine reads it: the sectors after the header, and
/// the allocation table that chains them.
struct Compound<'a> {
    bytes: &'a [u8],
    /// 512 or 4096; the header takes the first sector.
    size: usize,
    /// Sectors present in the file, the last one possibly short.
    count: usize,
    fat: Vec<u32>,
    large: bool,
    dir_start: u32,
    mini_fat_start: u32,
    mini_fat_sectors: u32,
}

impl<'a> Compound<'a> {
    fn open(bytes: &'a [u8]) -> Result<Compound<'a>, String> {
        if bytes.len() < 512 {
            return Err(damaged("shorter than its 512-byte header"));
        }
        let (size, large) = match le16(bytes, 30) {
            Some(9) => (512, false),
            Some(12) => (4096, true),
            // calamine refuses this one itself.
            _ => return Err(damaged("the sector size is neither 512 nor 4096 bytes")),
        };
        let count = bytes.len().saturating_sub(size).div_ceil(size);
        let mut file = Compound {
            bytes,
            size,
            count,
            fat: Vec::new(),
            large,
            dir_start: le32(bytes, 48).unwrap_or(END_OF_CHAIN),
            mini_fat_start: le32(bytes, 60).unwrap_or(END_OF_CHAIN),
            mini_fat_sectors: le32(bytes, 64).unwrap_or(0),
        };
        // The DIFAT lists the FAT's sectors: 109 in the header, the rest in
        // a chain whose every sector ends with the next one's number.
        let mut difat: Vec<u32> = u32s(&bytes[76..512]).collect();
        let mut next = le32(bytes, 68).unwrap_or(END_OF_CHAIN);
        let mut hops = 0;
        while next < RESERVED {
            hops += 1;
            if hops > count {
                return Err(damaged("the DIFAT chain is longer than the file"));
            }
            difat.extend(u32s(file.full_sector(next, "the DIFAT")?));
            next = difat.pop().unwrap_or(END_OF_CHAIN);
        }
        let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFAT_MARK).collect();
        // Each FAT sector maps size / 4 sectors: a file needs no more than
        // that many, and a list naming one sector over and over would make
        // calamine's table many times the file.
        let needed = count.div_ceil(size / 4);
        if fat_sectors.len() > 2 * needed + 1 {
            return Err(damaged(format!(
                "its allocation table lists {} sectors, a file of {count} sectors needs {needed}",
                fat_sectors.len()
            )));
        }
        let mut fat = Vec::with_capacity(fat_sectors.len() * size / 4);
        for id in fat_sectors {
            fat.extend(u32s(file.full_sector(id, "the allocation table")?));
        }
        file.fat = fat;
        Ok(file)
    }

    /// The bytes of sector `id`, as far as the file has them.
    fn sector(&self, id: u32) -> Range<usize> {
        let start = (id as usize + 1) * self.size;
        start..(start + self.size).min(self.bytes.len())
    }

    /// A whole sector, for the tables calamine reads four bytes at a time
    /// (it stops the process on a short one).
    fn full_sector(&self, id: u32, what: &str) -> Result<&'a [u8], String> {
        let range = self.sector(id);
        if (id as usize) >= self.count || range.len() != self.size {
            return Err(damaged(format!(
                "{what} names sector {id}, past the end of the file"
            )));
        }
        Ok(&self.bytes[range])
    }

    /// The sectors of the chain from `start` as calamine follows it: until
    /// the end of the chain or `len` bytes. Each sector must be in the file
    /// and in `table`, and appear once: a loop would have calamine read
    /// forever, and a sector past the table stops it.
    fn chain(
        &self,
        start: u32,
        table: &[u32],
        sectors: usize,
        length: impl Fn(u32) -> usize,
        len: u64,
        what: &str,
    ) -> Result<Vec<u32>, String> {
        let mut seen = vec![false; sectors.min(table.len())];
        let mut ids = Vec::new();
        let mut read = 0u64;
        let mut id = start;
        while id != END_OF_CHAIN {
            let Some(mark) = seen.get_mut(id as usize) else {
                return Err(damaged(format!(
                    "{what} names sector {id}, past the end of the file"
                )));
            };
            if std::mem::replace(mark, true) {
                return Err(damaged(format!("{what} runs in a loop")));
            }
            ids.push(id);
            read += length(id) as u64;
            if read >= len {
                break;
            }
            id = table[id as usize];
        }
        Ok(ids)
    }

    /// A stream in the main sectors, `len` bytes at most.
    fn stream(&self, start: u32, len: u64, what: &str) -> Result<Stream<'a>, String> {
        let ids = self.chain(
            start,
            &self.fat,
            self.count,
            |id| self.sector(id).len(),
            len,
            what,
        )?;
        Ok(Stream::new(
            self.bytes,
            ids.into_iter().map(|id| self.sector(id)),
            len,
        ))
    }

    /// The Workbook (or, from Excel 5, Book) stream calamine reads, with
    /// every chain it follows to get there checked; `None` when there is
    /// none, which calamine refuses by itself.
    fn workbook(&self) -> Result<Option<Stream<'a>>, String> {
        let dirs = self.stream(self.dir_start, u64::MAX, "the directory")?;
        let entries: Vec<(String, u32, u64)> = dirs
            .pieces
            .iter()
            .flat_map(|piece| self.bytes[piece.clone()].chunks_exact(128))
            .map(|entry| {
                let units: Vec<u16> = entry[..64]
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .take_while(|unit| *unit != 0)
                    .collect();
                let len = if self.large {
                    le64(entry, 120).unwrap_or(0)
                } else {
                    u64::from(le32(entry, 120).unwrap_or(0))
                };
                (
                    String::from_utf16_lossy(&units),
                    le32(entry, 116).unwrap_or(END_OF_CHAIN),
                    len,
                )
            })
            .collect();
        let Some((_, root_start, root_len)) = entries.first().cloned() else {
            return Ok(None);
        };
        // calamine loads the mini stream and its table whenever the header
        // says there is one, whatever the workbook's size.
        let mini = if self.mini_fat_sectors > 0 {
            let stream = self.stream(root_start, root_len, "the mini stream")?;
            let table_len = u64::from(self.mini_fat_sectors) * self.size as u64;
            let table = self.stream(self.mini_fat_start, table_len, "the mini allocation table")?;
            let mut mini_fat = Vec::new();
            for piece in &table.pieces {
                mini_fat.extend(u32s(&self.bytes[piece.clone()]));
            }
            Some((stream, mini_fat))
        } else {
            None
        };
        let named = |name: &str| {
            entries
                .iter()
                .find(|(entry, ..)| entry.eq_ignore_ascii_case(name))
        };
        let Some((_, start, len)) = named("Workbook").or_else(|| named("Book")) else {
            return Ok(None);
        };
        if *len >= MINI_CUTOFF {
            return self.stream(*start, *len, "the Workbook stream").map(Some);
        }
        let empty = (Stream::new(self.bytes, std::iter::empty(), 0), Vec::new());
        let (ministream, mini_fat) = mini.as_ref().unwrap_or(&empty);
        let mini_len = ministream.len;
        let ids = self.chain(
            *start,
            mini_fat,
            mini_len.div_ceil(MINI_SECTOR),
            |id| MINI_SECTOR.min(mini_len - id as usize * MINI_SECTOR),
            *len,
            "the Workbook stream",
        )?;
        let pieces = ids.into_iter().flat_map(|id| {
            let at = id as usize * MINI_SECTOR;
            ministream.ranges(at, MINI_SECTOR.min(mini_len - at))
        });
        Ok(Some(Stream::new(self.bytes, pieces, *len)))
    }
}

/// A stream as the file's byte ranges, in order, that make it up.
struct Stream<'a> {
    bytes: &'a [u8],
    pieces: Vec<Range<usize>>,
    /// Where each piece starts in the stream.
    starts: Vec<usize>,
    len: usize,
}

impl<'a> Stream<'a> {
    /// The pieces up to `len` bytes, as calamine copies a chain.
    fn new(bytes: &'a [u8], pieces: impl Iterator<Item = Range<usize>>, len: u64) -> Stream<'a> {
        let mut stream = Stream {
            bytes,
            pieces: Vec::new(),
            starts: Vec::new(),
            len: 0,
        };
        for piece in pieces {
            let left = len.saturating_sub(stream.len as u64);
            let take = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            stream.starts.push(stream.len);
            stream.pieces.push(piece.start..piece.start + take);
            stream.len += take;
            if stream.len as u64 >= len {
                break;
            }
        }
        stream
    }

    /// The file's ranges holding `n` bytes of the stream from `at` (fewer
    /// at its end).
    fn ranges(&self, at: usize, n: usize) -> Vec<Range<usize>> {
        let end = at.saturating_add(n).min(self.len);
        let mut out = Vec::new();
        if at >= end {
            return out;
        }
        let first = self.starts.partition_point(|start| *start <= at) - 1;
        for (piece, start) in self.pieces[first..].iter().zip(&self.starts[first..]) {
            if *start >= end {
                break;
            }
            let from = piece.start + at.saturating_sub(*start);
            let to = piece.start + (end - start).min(piece.len());
            out.push(from..to);
        }
        out
    }

    /// `n` bytes from `at`, or `None` past the end.
    fn read(&self, at: usize, n: usize) -> Option<Vec<u8>> {
        if at.checked_add(n)? > self.len {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for range in self.ranges(at, n) {
            out.extend_from_slice(&self.bytes[range]);
        }
        Some(out)
    }
}

/// One BIFF record as calamine's iterator gives it: its type, where its
/// data is, and where the CONTINUE records after it are.
struct Record {
    typ: u16,
    data: Vec<u8>,
    /// The record's data and each CONTINUE's, as (offset, length).
    parts: Vec<(usize, usize)>,
    next: usize,
}

/// The record at `at`; `None` at the end of the stream or where calamine's
/// iterator stops with an error.
fn record(stream: &Stream, at: usize) -> Option<Record> {
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
    cells: u64,
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

    fn cells(&self) -> u64 {
        self.0.map_or(0, |d| {
            (u64::from(d.end.0 - d.start.0) + 1) * (u64::from(d.end.1 - d.start.1) + 1)
        })
    }
}

/// Walks the workbook's records as calamine will: the globals (sheets,
/// names, shared strings) up to their EOF, then each sheet from where the
/// globals say it starts.
fn check_biff(stream: &Stream) -> Result<(), String> {
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
                        super::sheet::column_name(column),
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
    stream: &'s Stream<'a>,
    parts: &'s [(usize, usize)],
    part: usize,
    at: usize,
}

impl Cursor<'_, '_> {
    fn left(&self) -> usize {
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
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
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
