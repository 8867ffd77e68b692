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

/// Splits the non-blank rows of a sheet into the rows above the header, the
/// header, and the data below it. `Err((row, problem))` for a `--header-row`
/// that names no usable row.
pub(super) fn split_header(
    rows: Vec<Line>,
    header: HeaderRow,
) -> Result<Option<Table>, (usize, String)> {
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
