//! Writing results: aligned tables for people, JSON for scripts.

use std::io::Write;

use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets};

mod fit;
pub(crate) mod spill;
use fit::Columns;
pub use fit::FitTable;

/// Writes `text` and a newline to stdout. A closed pipe (`licwatch … | head`)
/// comes back as an error that `main` turns into a quiet exit 0.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}

pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    print(&serde_json::to_string_pretty(value)?)
}

/// What a listing as long as the register gives its rows to, one at a
/// time: the rows are read again for each pass over them rather than held.
pub type Each<'a, T> = &'a mut dyn FnMut(T) -> anyhow::Result<()>;

/// Writes a JSON array to a buffered stdout as each element is made, byte
/// for byte as `print_json` of the whole array would: the memory is one
/// element's, not the output's. The first error stops the array there.
pub fn print_json_items(
    items: impl Iterator<Item = anyhow::Result<serde_json::Value>>,
) -> anyhow::Result<()> {
    print_json_each(|each| {
        for item in items {
            each(item?)?;
        }
        Ok(())
    })
}

/// [`print_json_items`] of the elements `items` gives its callback.
pub fn print_json_each(
    items: impl FnOnce(Each<'_, serde_json::Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write_json_each(&mut out, items)?;
    out.flush()?;
    Ok(())
}

/// [`print_json_each`] to `out`, which it does not flush.
pub fn write_json_each(
    mut out: &mut dyn Write,
    items: impl FnOnce(Each<'_, serde_json::Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use serde::ser::{SerializeSeq as _, Serializer as _};
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::new());
    // As io::Error, the original one for a write: `main` finds a closed
    // pipe by its kind, which serde_json's error does not expose as a cause.
    // No length: an empty array is "[]" either way.
    let mut array = serializer
        .serialize_seq(None)
        .map_err(std::io::Error::from)?;
    items(&mut |item| {
        array
            .serialize_element(&item)
            .map_err(std::io::Error::from)?;
        Ok(())
    })?;
    array.end().map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// The elements of an array in a JSON object, given to a callback as they
/// are made (see [`write_json_with`]).
pub type JsonItems<'i> = Box<dyn FnOnce(Each<'_, serde_json::Value>) -> anyhow::Result<()> + 'i>;

/// Writes `object` as `print_json` would, byte for byte, but with the
/// value of each key of `streamed` an array of the elements its callback
/// gives, written as they come: the memory is an element's, not the
/// array's. The first error stops it there.
pub fn write_json_with(
    out: &mut dyn Write,
    object: &serde_json::Value,
    streamed: Vec<(&str, JsonItems<'_>)>,
) -> anyhow::Result<()> {
    use std::cell::RefCell;

    use serde::ser::{Error as _, SerializeMap as _, SerializeSeq as _};
    type Items<'i> = JsonItems<'i>;
    /// The array, made once, when the object is written.
    struct Streamed<'i>(RefCell<Option<Items<'i>>>);
    impl serde::Serialize for Streamed<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let items = self
                .0
                .borrow_mut()
                .take()
                .ok_or_else(|| S::Error::custom("written twice"))?;
            let mut array = serializer.serialize_seq(None)?;
            // The serializer's own error (a write's) goes back as it was.
            let mut failed = None;
            let made = items(&mut |item| {
                array.serialize_element(&item).map_err(|e| {
                    let text = e.to_string();
                    failed = Some(e);
                    anyhow::anyhow!(text)
                })
            });
            if let Some(error) = failed {
                return Err(error);
            }
            made.map_err(|e| S::Error::custom(format!("{e:#}")))?;
            array.end()
        }
    }
    struct With<'o, 'i> {
        object: &'o serde_json::Map<String, serde_json::Value>,
        streamed: Vec<(&'o str, Streamed<'i>)>,
    }
    impl serde::Serialize for With<'_, '_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.object.len()))?;
            for (key, value) in self.object {
                match self.streamed.iter().find(|(name, _)| name == key) {
                    Some((_, items)) => map.serialize_entry(key, items)?,
                    None => map.serialize_entry(key, value)?,
                }
            }
            map.end()
        }
    }
    let object = object
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("not a JSON object: {object}"))?;
    for (key, _) in &streamed {
        anyhow::ensure!(object.contains_key(*key), "no \"{key}\" in the object");
    }
    let with = With {
        object,
        streamed: streamed
            .into_iter()
            .map(|(key, items)| (key, Streamed(RefCell::new(Some(items)))))
            .collect(),
    };
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut *out, serde_json::ser::PrettyFormatter::new());
    serde::Serialize::serialize(&with, &mut serializer).map_err(|e| match e.io_error_kind() {
        // As io::Error: `main` finds a closed pipe by its kind.
        Some(_) => anyhow::Error::from(std::io::Error::from(e)),
        None => anyhow::Error::from(e),
    })?;
    writeln!(out)?;
    Ok(())
}

/// A table written exactly as [`table`] lays it out with no width limit
/// (piped, or `--wide`), one row at a time: the rows are shown to
/// [`TableWriter::fit`] in a first pass, for the columns' widths, then
/// written in a second. For listings as long as the register.
pub struct TableWriter {
    widths: Vec<usize>,
}

impl TableWriter {
    pub fn new(header: &[&str]) -> TableWriter {
        TableWriter {
            widths: header.iter().map(|name| display_width(name)).collect(),
        }
    }

    /// Widens the columns to hold `cells`.
    pub fn fit(&mut self, cells: &[String]) {
        for (width, cell) in self.widths.iter_mut().zip(cells) {
            let cell = cell.lines().map(display_width).max().unwrap_or(0);
            *width = (*width).max(cell);
        }
    }

    pub fn write_header(&self, out: &mut impl Write, header: &[&str]) -> std::io::Result<()> {
        let header: Vec<String> = header.iter().map(|name| (*name).to_owned()).collect();
        write_row(out, &self.widths, &header)
    }

    /// A row under the ones written before it.
    pub fn write_row(&self, out: &mut impl Write, cells: &[String]) -> std::io::Result<()> {
        writeln!(out)?;
        write_row(out, &self.widths, cells)
    }
}

/// One row of a [`TableWriter`]: a space either side of each cell, padded to
/// its column, the line's trailing spaces dropped; a cell of several lines
/// makes the row as many lines high.
fn write_row(out: &mut impl Write, widths: &[usize], cells: &[String]) -> std::io::Result<()> {
    let height = cells
        .iter()
        .map(|cell| cell.lines().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut line = String::new();
    for at in 0..height {
        if at > 0 {
            writeln!(out)?;
        }
        let parts = widths.iter().enumerate().map(|(index, &width)| {
            let part = cells.get(index).and_then(|cell| cell.lines().nth(at));
            (part.unwrap_or(""), width)
        });
        write_line(out, &mut line, parts)?;
    }
    Ok(())
}

/// One line of a table's row: a space either side of each part, padded to
/// its column's width (a part wider than it overflows), the trailing
/// spaces dropped. `line` is a buffer reused between lines.
fn write_line<'a>(
    out: &mut impl Write,
    line: &mut String,
    parts: impl Iterator<Item = (&'a str, usize)>,
) -> std::io::Result<()> {
    line.clear();
    for (part, width) in parts {
        line.push(' ');
        line.push_str(part);
        line.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(display_width(part)) + 1,
        ));
    }
    out.write_all(line.trim_end().as_bytes())
}

/// Prints a table as `print(&table_fit(header, rows, optional))` does,
/// byte for byte, from rows read again for each pass (widths, then rows;
/// fitted to a terminal, also each trial width of its wrapping columns):
/// the memory is a row's, not the table's.
pub fn print_table_each(
    header: &[&str],
    optional: &[&str],
    mut rows: impl FnMut(Each<'_, Vec<String>>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match width_limit() {
        Some(width) => {
            let mut fitted = FitTable::new(width, header);
            rows(&mut |row| {
                fitted.see(&row);
                Ok(())
            })?;
            fitted.write(&mut out, optional, rows)?;
        }
        None => {
            let mut table = TableWriter::new(header);
            rows(&mut |row| {
                table.fit(&row);
                Ok(())
            })?;
            table.write_header(&mut out, header)?;
            rows(&mut |row| Ok(table.write_row(&mut out, &row)?))?;
        }
    }
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Set once from `--wide`: tables keep their full width on a terminal too.
static WIDE: AtomicBool = AtomicBool::new(false);

pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// The environment variable that fixes the table width, for tests and for
/// a terminal that does not report its size; 0 means no limit.
pub const WIDTH_ENV: &str = "LICWATCH_TABLE_WIDTH";

/// How wide a table may be: no limit with `--wide`, else
/// `LICWATCH_TABLE_WIDTH` if set, no limit when stdout is not a terminal (a
/// pipe or a file gets whole lines, for grep and cut), else the terminal's
/// width.
pub fn width_limit() -> Option<u16> {
    if WIDE.load(Ordering::Relaxed) {
        return None;
    }
    if let Some(width) = std::env::var(WIDTH_ENV)
        .ok()
        .and_then(|w| w.trim().parse::<u16>().ok())
    {
        return (width > 0).then_some(width);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(width, _)| width.0)
}

/// Columns aligned by display width, so Chinese names line up. Within the
/// width limit, long cells wrap inside their column (at spaces where there
/// are some, else between characters, never inside one).
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    table_fit(header, rows, &[])
}

/// Like `table`, for a table with columns people can do without on a
/// narrow terminal: `optional` names them, the first to go first. A line
/// under the table names what was left out; `--wide` shows everything.
pub fn table_fit(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    optional: &[&str],
) -> String {
    table_within(width_limit(), header, rows, optional)
}

/// The line under a table that left out `dropped` to fit `width`.
fn narrowed_note(width: u16, dropped: &[&str]) -> String {
    fill(&format!(
        "(narrowed to {width} columns; --wide also shows {})",
        dropped.join(", ")
    ))
}

/// A cell wider than this wraps when the table must narrow; narrower ones
/// (ids, dates, codes) stay on one line.
const KEEP_WHOLE: usize = 14;
/// Wrapped to this many columns, a sentence still reads well.
const COMFORTABLE: usize = 40;

fn table_within(
    width: Option<u16>,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    optional: &[&str],
) -> String {
    let rows: Vec<Vec<String>> = rows.into_iter().collect();
    let mut columns = Columns::new(header);
    for row in &rows {
        columns.see(row);
    }
    let whole = columns.whole();
    let (shown, dropped) = columns.shown(width, header, optional);

    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(shown.iter().map(|&index| header[index]).collect::<Vec<_>>());
    for row in &rows {
        table.add_row(
            shown
                .iter()
                .map(|&index| row.get(index).cloned().unwrap_or_default())
                .collect::<Vec<_>>(),
        );
    }
    if let Some(width) = width {
        table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width);
        for (column, &index) in shown.iter().enumerate() {
            if whole[index]
                && let Some(column) = table.column_mut(column)
            {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    // The padding leaves a trailing space on each line; drop it.
    let mut text = table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    if !dropped.is_empty() {
        text.push('\n');
        text.push_str(&narrowed_note(width.unwrap_or_default(), &dropped));
    }
    text
}

/// Prose under a table, wrapped at spaces to the same width limit.
pub fn fill(text: &str) -> String {
    match width_limit() {
        Some(limit) => wrap_words(text.split(' '), 0, usize::from(limit), "\n", 0),
        None => text.to_owned(),
    }
}

/// Joins `words` with spaces, starting a new line with `line_break` (which
/// takes `break_width` columns) before a word that would pass `limit`
/// columns; the first line starts `start` columns in.
pub fn wrap_words<'a>(
    words: impl IntoIterator<Item = &'a str>,
    start: usize,
    limit: usize,
    line_break: &str,
    break_width: usize,
) -> String {
    let mut out = String::new();
    let mut width = start;
    for (index, word) in words.into_iter().enumerate() {
        let cells = display_width(word);
        if index > 0 && width + 1 + cells > limit {
            out.push_str(line_break);
            width = break_width;
        } else if index > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += cells;
    }
    out
}

pub fn date_or_dash(date: Option<chrono::NaiveDate>) -> String {
    date.map_or("-".to_owned(), |d| d.to_string())
}

/// Terminal columns `text` takes: a Chinese character takes two.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_streamed_table_is_the_whole_table_byte_for_byte() {
        let header = ["ID", "COMPANY", "WHAT TO DO", "LAST"];
        let rows: Vec<Vec<String>> = vec![
            vec![
                "a1".into(),
                "北京某某科技有限公司".into(),
                "file it".into(),
                String::new(),
            ],
            vec![
                "b22".into(),
                String::new(),
                "two\nlines here".into(),
                "x".into(),
            ],
            vec!["c".into(), "Acme".into()],
            vec![
                "dddddd".into(),
                "混合 mixed 名称".into(),
                "-".into(),
                "end".into(),
            ],
        ];
        let whole = table_within(None, &header, rows.clone(), &[]);
        let mut streamed = Vec::new();
        let mut writer = TableWriter::new(&header);
        for row in &rows {
            writer.fit(row);
        }
        writer.write_header(&mut streamed, &header).unwrap();
        for row in &rows {
            writer.write_row(&mut streamed, row).unwrap();
        }
        assert_eq!(String::from_utf8(streamed).unwrap(), whole);
    }

    /// A row wider in the second pass than anything the first saw (written
    /// by another process between passes, before listings read one
    /// snapshot) overflows its column instead of panicking.
    #[test]
    fn a_row_wider_than_its_columns_overflows_them() {
        let header = ["N", "NAME"];
        let mut writer = TableWriter::new(&header);
        writer.fit(&["1".into(), "甲".into()]);
        let mut out = Vec::new();
        writer.write_header(&mut out, &header).unwrap();
        writer
            .write_row(&mut out, &["1".into(), "甲乙丙丁戊".into()])
            .unwrap();
        writer
            .write_row(&mut out, &["22".into(), "甲".into()])
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " N  NAME\n 1  甲乙丙丁戊\n 22  甲"
        );
    }

    /// Words of every kind a fitted table meets: short and long ASCII,
    /// keys without spaces, Chinese names, a combining accent and an emoji
    /// of several code points, a control character.
    const WORDS: &[&str] = &[
        "a",
        "file",
        "licwatch",
        "report",
        "--year",
        "2024",
        "annual_report/京B2-20201234/2024",
        "京B2-20201234",
        "北京示例呼叫中心有限公司",
        "上海浦东新区国际呼叫中心服务外包股份有限公司",
        "混合mixed名称",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "e\u{301}te\u{301}",
        "🙂\u{200d}↕\u{fe0f}",
        "tab\there",
        "",
    ];

    fn cell() -> impl Strategy<Value = String> {
        proptest::collection::vec((0..WORDS.len(), 0..8u8), 0..7).prop_map(|words| {
            let mut cell = String::new();
            for (index, (word, gap)) in words.into_iter().enumerate() {
                if index > 0 {
                    cell.push(if gap == 0 { '\n' } else { ' ' });
                }
                cell.push_str(WORDS[word]);
            }
            cell
        })
    }

    const HEADER: [&str; 7] = [
        "ID",
        "DUE",
        "KIND",
        "COMPANY",
        "WHAT TO DO",
        "MARK DONE",
        "L",
    ];

    proptest! {
        /// The table written row by row from rows read again is the one
        /// comfy-table lays out from all of them, byte for byte.
        #[test]
        fn a_fitted_table_written_row_by_row_is_comfy_tables(
            columns in 1..=HEADER.len(),
            rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..=HEADER.len()), 0..10),
            width in 1u16..160,
            optional in proptest::collection::vec(0..HEADER.len(), 0..3),
        ) {
            let header = &HEADER[..columns];
            let optional: Vec<&str> = optional.iter().map(|&i| HEADER[i]).collect();
            let whole = table_within(Some(width), header, rows.clone(), &optional);
            let mut fitted = FitTable::new(width, header);
            for row in &rows {
                fitted.see(row);
            }
            let mut streamed = Vec::new();
            fitted
                .write(&mut streamed, &optional, |each| {
                    rows.iter().cloned().try_for_each(&mut *each)
                })
                .unwrap();
            prop_assert_eq!(String::from_utf8(streamed).unwrap(), whole);
        }
    }
}
