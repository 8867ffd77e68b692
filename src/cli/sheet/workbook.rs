//! Workbooks in (.xlsx, .xls, .ods) through calamine: the first sheet's
//! declared and actual span capped, cells read as Excel shows them.

use std::fmt;
use std::io::Cursor;

use calamine::{Data, DataRef, DataType, Dimensions, Range, Reader, Sheets};

use super::archive::{check_ods, check_zip};
use super::{Cell, Line, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, MAX_TEXT, is_blank, text_cell};

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
pub(super) fn read_workbook(bytes: Vec<u8>) -> Result<Vec<Line>, String> {
    check_zip(&bytes)?;
    check_ods(&bytes)?;
    crate::cli::xls::check_xls(&bytes)?;
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
    // An .xls or .ods workbook keeps every sheet it parsed, and `range` is
    // a copy: freed before the grid is built, so a sheet is held twice at
    // most, not three times (a 5.5 KB .xls of 1.1M cells peaked at 130 MB).
    drop(workbook);
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
pub(in crate::cli) fn column_name(column: u32) -> String {
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
pub(in crate::cli) fn check_span(what: &str, span: Dimensions) -> Result<(), String> {
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
