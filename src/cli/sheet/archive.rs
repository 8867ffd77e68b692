//! The zip inside .xlsx and .ods checked before it is opened: the count and
//! unpacked size of its parts, and the text and repeats of an .ods sheet.

use std::fmt;
use std::io::{Cursor, Read};

use super::{
    MAX_CELLS, MAX_COLUMNS, MAX_PART_BYTES, MAX_PARTS, MAX_ROWS, MAX_TEXT, MAX_UNPACKED_BYTES,
};

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
pub(super) fn check_zip(bytes: &[u8]) -> Result<(), String> {
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
pub(super) fn check_ods(bytes: &[u8]) -> Result<(), String> {
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
