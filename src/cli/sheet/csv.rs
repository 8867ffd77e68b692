//! CSV in: the encoding (UTF-8, with or without BOM, or GB18030), the
//! delimiter, the shape checked before the rows are read.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use super::write::formula_unescaped;
use super::{
    Cell, HEADER_SEARCH_ROWS, Line, MAX_CELLS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, is_blank,
    text_cell,
};

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
pub(super) fn check_csv_shape(bytes: &[u8]) -> Result<(), String> {
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
/// Comma-separated, or tab-separated when the first lines have more tabs
/// than commas (Excel's "Unicode text"). Every non-blank row, numbered as
/// the file counts them; rows of the wrong length are kept as they are: the
/// row check reports each of them. The caller has checked the shape
/// ([`check_csv_shape`]).
pub(super) fn read_csv(text: &str) -> Result<Vec<Line>, String> {
    CsvLines::new(text.as_bytes(), delimiter(text.as_bytes())).collect()
}

/// The most rows a CSV streamed from disk may have: a header and four
/// million data rows, twice a register of a million licences with two
/// numbers each. Its rows are read one at a time, so the cap bounds the
/// import's records and report, not a copy of the file.
pub const MAX_STREAMED_ROWS: usize = 4_000_000;

/// The most bytes one row of a streamed CSV may take: as many as a whole
/// file read whole may, so that a row holding an over-long cell is still
/// refused naming its cell. The reader holds one row, so this bounds what
/// it holds, however large the file.
pub const MAX_ROW_BYTES: usize = MAX_FILE_BYTES as usize;

/// How a CSV is streamed: its text's encoding, decided for the whole file
/// as [`decode`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    /// UTF-8, starting after the byte order mark if there is one.
    Utf8 {
        from: u64,
    },
    Gb18030,
}

/// The bytes at the end of `bytes` that start a UTF-8 character the next
/// read will finish.
fn cut_character(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let length = match byte {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if length > back { back } else { 0 };
    }
    0
}

/// How a CSV file can be streamed, in one pass that holds a buffer: UTF-8
/// (with or without a byte order mark) or GB18030, decided as [`decode`]
/// decides. `None` when [`decode`] would refuse it (it is then read whole
/// and refused in the same words) or it is UTF-16.
pub(super) fn streamable(file: &mut impl Read) -> std::io::Result<Option<Text>> {
    let mut buffer = vec![0u8; 64 * 1024];
    // Bytes of a character cut by the end of the previous read.
    let mut carried = 0usize;
    let mut bom = None;
    let mut utf8 = true;
    let (mut valid, mut broken) = (0usize, 0usize);
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut gb18030 = true;
    let mut scratch = String::new();
    loop {
        let read = file.read(&mut buffer[carried..])?;
        let last = read == 0;
        let end = carried + read;
        let skip = match bom {
            Some(_) => 0,
            None => {
                // The mark is at most 3 bytes: the first read is longer
                // unless the file is shorter.
                let length = match encoding_rs::Encoding::for_bom(&buffer[..end]) {
                    Some((encoding, _)) if encoding != encoding_rs::UTF_8 => return Ok(None),
                    Some((_, length)) => length,
                    None => 0,
                };
                bom = Some(length);
                length
            }
        };
        let chunk = &buffer[skip..end];
        if chunk.contains(&0) {
            return Ok(None);
        }
        let cut = if last { 0 } else { cut_character(chunk) };
        let whole = &chunk[..chunk.len() - cut];
        utf8 = utf8 && std::str::from_utf8(whole).is_ok();
        for part in whole.utf8_chunks() {
            valid += part.valid().chars().filter(|c| !c.is_ascii()).count();
            broken += usize::from(!part.invalid().is_empty());
        }
        let mut rest = whole;
        while gb18030 {
            scratch.clear();
            scratch.reserve(
                decoder
                    .max_utf8_buffer_length_without_replacement(rest.len())
                    .unwrap_or(usize::MAX / 2)
                    .min(4 * rest.len() + 16),
            );
            let (result, used) =
                decoder.decode_to_string_without_replacement(rest, &mut scratch, last);
            rest = &rest[used..];
            match result {
                encoding_rs::DecoderResult::InputEmpty => break,
                encoding_rs::DecoderResult::OutputFull => {}
                encoding_rs::DecoderResult::Malformed(..) => gb18030 = false,
            }
        }
        if last {
            break;
        }
        buffer.copy_within(end - cut..end, 0);
        carried = cut;
    }
    let bom = bom.unwrap_or(0);
    Ok(if utf8 {
        Some(Text::Utf8 { from: bom as u64 })
    } else if bom == 0 && valid < broken && gb18030 {
        Some(Text::Gb18030)
    } else {
        None
    })
}

/// GB18030 bytes read as UTF-8 text, a buffer at a time.
pub(super) struct Gb18030Text<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    text: String,
    at: usize,
    done: bool,
}

impl<R: Read> Gb18030Text<R> {
    pub(super) fn new(inner: R) -> Self {
        Gb18030Text {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            raw: vec![0u8; 64 * 1024],
            text: String::new(),
            at: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Gb18030Text<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.text.len() && !self.done {
            self.text.clear();
            self.at = 0;
            let read = self.inner.read(&mut self.raw)?;
            self.done = read == 0;
            let mut rest = &self.raw[..read];
            loop {
                self.text.reserve(4 * rest.len() + 16);
                let (result, used) = self.decoder.decode_to_string_without_replacement(
                    rest,
                    &mut self.text,
                    self.done,
                );
                rest = &rest[used..];
                match result {
                    encoding_rs::DecoderResult::InputEmpty => break,
                    encoding_rs::DecoderResult::OutputFull => {}
                    encoding_rs::DecoderResult::Malformed(..) => {
                        return Err(std::io::Error::other(
                            "not GB18030 text any more: the file changed while it was read",
                        ));
                    }
                }
            }
        }
        let shown = out.len().min(self.text.len() - self.at);
        out[..shown].copy_from_slice(&self.text.as_bytes()[self.at..self.at + shown]);
        self.at += shown;
        Ok(shown)
    }
}

/// The delimiter of a streamed CSV, from its first lines as [`delimiter`]
/// reads them; each line is read up to [`MAX_ROW_BYTES`].
pub(super) fn stream_delimiter(file: impl Read) -> std::io::Result<u8> {
    let mut reader = BufReader::new(file);
    let mut head = Vec::new();
    for _ in 0..HEADER_SEARCH_ROWS {
        let before = head.len();
        let read = (&mut reader)
            .take(MAX_ROW_BYTES as u64)
            .read_until(b'\n', &mut head)?;
        if read == 0 || head.len() == before {
            break;
        }
    }
    Ok(delimiter(&head))
}

/// What a streamed CSV has read and not yet put behind it: the bytes from
/// the end of the last row read on, so that a row's number can be found,
/// and a row too long is refused before it is held.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    /// Where `bytes` starts in the stream.
    base: u64,
    /// Where the last row read ends: the bytes before it are dropped at
    /// the next read, once a buffer rather than once a row.
    behind: u64,
}

struct Window<R> {
    inner: R,
    seen: Rc<RefCell<Seen>>,
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(out)?;
        let mut seen = self.seen.borrow_mut();
        let behind = usize::try_from(seen.behind.saturating_sub(seen.base))
            .unwrap_or(usize::MAX)
            .min(seen.bytes.len());
        seen.bytes.drain(..behind);
        seen.base += behind as u64;
        seen.bytes.extend_from_slice(&out[..read]);
        // The csv reader asks for its buffer's worth ahead of the row.
        if seen.bytes.len() > MAX_ROW_BYTES + 2 * out.len() {
            return Err(std::io::Error::other(format!(
                "a row of more than {MAX_ROW_BYTES} bytes, longer than any row import reads"
            )));
        }
        Ok(read)
    }
}

/// The non-blank rows of a CSV's text, read from `file` one at a time and
/// numbered as the person sees them; rows of the wrong length are kept as
/// they are (the row check reports each of them). At most
/// [`MAX_COLUMNS`] cells and [`MAX_ROW_BYTES`] a row, and
/// [`MAX_STREAMED_ROWS`] rows.
pub(super) struct CsvLines<R> {
    reader: csv::Reader<Window<R>>,
    seen: Rc<RefCell<Seen>>,
    record: csv::StringRecord,
    index: usize,
    breaks_in_cells: usize,
    done: bool,
}

impl<R: Read> CsvLines<R> {
    pub(super) fn new(file: R, delimiter: u8) -> Self {
        let seen = Rc::new(RefCell::new(Seen::default()));
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Window {
                inner: file,
                seen: Rc::clone(&seen),
            });
        CsvLines {
            reader,
            seen,
            record: csv::StringRecord::new(),
            index: 0,
            breaks_in_cells: 0,
            done: false,
        }
    }

    fn next_line(&mut self) -> Result<Option<Line>, String> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(format!("not readable as CSV: {e}")),
            }
            let record = &self.record;
            self.index += 1;
            if self.index > MAX_STREAMED_ROWS + 1 {
                return Err(format!(
                    "more than {} rows (a header and {MAX_STREAMED_ROWS} data rows are the most import reads; split the file)",
                    MAX_STREAMED_ROWS + 1
                ));
            }
            if record.len() > MAX_COLUMNS {
                return Err(format!(
                    "row {} has {} cells, more than the {MAX_COLUMNS} columns import reads",
                    self.index,
                    record.len()
                ));
            }
            // The row as Excel numbers it: the csv reader skips empty
            // lines, which Excel counts as rows, and a quoted cell may span
            // lines, which Excel does not. So the line a record starts on,
            // less the line breaks inside the cells before it. The
            // reader's position is where it stood before skipping the empty
            // lines in front of the record.
            let (line, byte) = record
                .position()
                .map_or((self.index as u64, 0), |position| {
                    (position.line(), position.byte())
                });
            let mut seen = self.seen.borrow_mut();
            let from = usize::try_from(byte.saturating_sub(seen.base)).unwrap_or(usize::MAX);
            let empty_lines = seen
                .bytes
                .get(from..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .filter(|b| **b == b'\n')
                .count();
            let row = (usize::try_from(line).unwrap_or(usize::MAX) + empty_lines)
                .saturating_sub(self.breaks_in_cells);
            // The next row starts where this one ends.
            seen.behind = self.reader.position().byte();
            drop(seen);
            self.breaks_in_cells += record
                .iter()
                .map(|cell| cell.matches('\n').count())
                .sum::<usize>();
            let cells: Vec<Cell> = record
                .iter()
                .map(|field| text_cell(formula_unescaped(field)))
                .collect();
            if !is_blank(&cells) {
                return Ok(Some(Line { row, cells }));
            }
        }
    }
}

impl<R: Read> Iterator for CsvLines<R> {
    type Item = Result<Line, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_line().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the 64 KiB a read takes, so characters are cut between reads.
    fn long_text() -> String {
        "许可证编号,持证单位\n".to_owned()
            + &"京B2-20221234,北京示例呼叫中心有限公司\n".repeat(5_000)
    }

    #[test]
    fn the_encoding_of_a_streamed_csv_is_decided_for_the_whole_file() {
        let text = long_text();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        // One GBK cell in UTF-8 text: refused by the whole-file reader.
        let mut mixed = text.clone().into_bytes();
        mixed.extend_from_slice(&gbk[..40]);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for (bytes, expected) in [
            (text.as_bytes().to_vec(), Some(Text::Utf8 { from: 0 })),
            (bom, Some(Text::Utf8 { from: 3 })),
            (gbk.to_vec(), Some(Text::Gb18030)),
            (mixed, None),
            (utf16, None),
        ] {
            assert_eq!(streamable(&mut bytes.as_slice()).unwrap(), expected);
        }
    }

    #[test]
    fn gb18030_is_read_as_the_text_it_encodes_whatever_the_reads() {
        let text = long_text();
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let mut read = Vec::new();
        let mut reader = Gb18030Text::new(gbk.as_ref());
        let mut buffer = [0u8; 7];
        loop {
            let n = reader.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buffer[..n]);
        }
        assert_eq!(String::from_utf8(read).unwrap(), text);
    }
}
