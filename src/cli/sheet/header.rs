//! The header row: found below titles and notes by the import format's
//! names, or taken from a given row.

use super::{Cell, HEADER_SEARCH_ROWS, HeaderRow, Line, Table};

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

/// A sheet's header row, found in its first rows.
pub(super) struct Head {
    pub(super) header_row: usize,
    pub(super) headers: Vec<String>,
    /// The rows above the header, each with what it says.
    pub(super) skipped: Vec<(usize, String)>,
    /// Data rows read while looking for the header.
    pub(super) read_ahead: Vec<Line>,
}

/// Why no header was found: the rows could not be read, or a
/// `--header-row` names no usable row (`(row, problem)`).
pub(super) enum NoHeader<E> {
    Read(E),
    Given(usize, String),
}

/// Finds the header in the non-blank rows `rows` yields, reading no
/// further than it must: the first [`HEADER_SEARCH_ROWS`] rows, or down to
/// a given row. `Ok(None)` for a sheet without rows.
pub(super) fn find_header<E>(
    rows: &mut impl Iterator<Item = Result<Line, E>>,
    header: HeaderRow,
) -> Result<Option<Head>, NoHeader<E>> {
    match header {
        HeaderRow::Given(row) => {
            let mut skipped = Vec::new();
            let mut last = 0;
            for line in rows.by_ref() {
                let line = line.map_err(NoHeader::Read)?;
                last = line.row;
                if line.row == row {
                    return Ok(Some(Head {
                        header_row: line.row,
                        headers: line.cells.iter().map(header_text).collect(),
                        skipped,
                        read_ahead: Vec::new(),
                    }));
                }
                if line.row > row && row != 0 {
                    return Err(NoHeader::Given(row, "the row is blank".to_owned()));
                }
                // Row 0 is never found: read on only to name the last.
                if row != 0 {
                    skipped.push((line.row, row_summary(&line.cells)));
                }
            }
            Err(NoHeader::Given(
                row,
                format!("the sheet's rows with values are 1 to {last}"),
            ))
        }
        HeaderRow::Detect { known } => {
            // The rows where the header may be, and the first row below.
            let mut first = Vec::new();
            for line in rows.by_ref() {
                let line = line.map_err(NoHeader::Read)?;
                let below = line.row > HEADER_SEARCH_ROWS;
                first.push(line);
                if below {
                    break;
                }
            }
            let mut best: Option<(usize, usize)> = None;
            for (index, line) in first.iter().enumerate() {
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
            let index = best.map_or(0, |(index, _)| index);
            let mut first = first.into_iter();
            let skipped = first
                .by_ref()
                .take(index)
                .map(|line| (line.row, row_summary(&line.cells)))
                .collect();
            Ok(first.next().map(|header| Head {
                header_row: header.row,
                headers: header.cells.iter().map(header_text).collect(),
                skipped,
                read_ahead: first.collect(),
            }))
        }
    }
}

/// Splits the non-blank rows of a sheet into the rows above the header, the
/// header, and the data below it. `Err((row, problem))` for a `--header-row`
/// that names no usable row.
pub(super) fn split_header(
    rows: Vec<Line>,
    header: HeaderRow,
) -> Result<Option<Table>, (usize, String)> {
    let mut rows = rows.into_iter().map(Ok::<_, std::convert::Infallible>);
    let head = match find_header(&mut rows, header) {
        Ok(head) => head,
        Err(NoHeader::Given(row, problem)) => return Err((row, problem)),
        Err(NoHeader::Read(never)) => match never {},
    };
    Ok(head.map(|head| Table {
        header_row: Some(head.header_row),
        headers: head.headers,
        skipped: head.skipped,
        lines: head
            .read_ahead
            .into_iter()
            .chain(rows.map(|line| match line {
                Ok(line) => line,
                Err(never) => match never {},
            }))
            .collect(),
    }))
}
