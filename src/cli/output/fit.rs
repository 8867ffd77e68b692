//! A table fitted to a width, laid out exactly as comfy-table lays out
//! [`super::table_fit`]'s, but from rows read as many times as the layout
//! needs instead of held: a table as long as the register (the agenda on
//! a terminal) takes the memory of a row. The layout is comfy-table 8's
//! dynamic arrangement and line splitting, restated for this one style (no
//! borders, a space of padding either side, left-aligned, the whole
//! columns' width their content's); a test holds the two together on
//! random tables.

use std::collections::HashMap;
use std::io::Write;

use unicode_segmentation::UnicodeSegmentation as _;

use super::{COMFORTABLE, Each, KEEP_WHOLE, display_width, narrowed_note, write_line};

/// What a fitted table's layout needs of its cells, seen one row at a
/// time: each column's natural width (its widest line, the header's
/// included) and whether all its cells are tokens.
pub(super) struct Columns {
    natural: Vec<usize>,
    /// The widest line as comfy-table measures it (lines split at `\n`
    /// only, at least 1): what its layout starts from.
    content: Vec<usize>,
    tokens: Vec<bool>,
}

impl Columns {
    pub(super) fn new(header: &[&str]) -> Columns {
        Columns {
            natural: header.iter().map(|name| display_width(name)).collect(),
            content: header.iter().map(|name| content_width(name)).collect(),
            tokens: vec![true; header.len()],
        }
    }

    pub(super) fn see(&mut self, row: &[String]) {
        // Codes and keys (mostly ASCII, without spaces) could only be cut
        // mid-word.
        let token = |cell: &String| {
            let ascii = cell.chars().filter(char::is_ascii).count();
            !cell.contains(char::is_whitespace) && 2 * ascii >= cell.chars().count()
        };
        for (index, cell) in row.iter().enumerate().take(self.natural.len()) {
            let widest = cell.lines().map(display_width).max().unwrap_or(0);
            self.natural[index] = self.natural[index].max(widest);
            self.content[index] = self.content[index].max(content_width(cell));
            self.tokens[index] &= token(cell);
        }
    }

    /// Short cells, and codes and keys, stay whole; names and sentences
    /// wrap.
    pub(super) fn whole(&self) -> Vec<bool> {
        self.natural
            .iter()
            .zip(&self.tokens)
            .map(|(&natural, &tokens)| natural <= KEEP_WHOLE || tokens)
            .collect()
    }

    /// The columns shown within `width`, and the optional ones left out.
    pub(super) fn shown<'h>(
        &self,
        width: Option<u16>,
        header: &[&'h str],
        optional: &[&'h str],
    ) -> (Vec<usize>, Vec<&'h str>) {
        let whole = self.whole();
        // Each column takes one space of padding either side; a column that
        // wraps reads well from this wide on.
        let total = |shown: &[usize]| -> usize {
            shown
                .iter()
                .map(|&index| {
                    2 + if whole[index] {
                        self.natural[index]
                    } else {
                        self.natural[index].min(COMFORTABLE)
                    }
                })
                .sum()
        };
        let mut shown: Vec<usize> = (0..header.len()).collect();
        let mut dropped: Vec<&str> = Vec::new();
        // Optional columns go until the rest fits with its long cells wrapped
        // at a comfortable width; the others then wrap as much as needed.
        if let Some(limit) = width.map(usize::from) {
            for name in optional {
                if total(&shown) <= limit {
                    break;
                }
                if let Some(at) = shown.iter().position(|&index| header[index] == *name) {
                    shown.remove(at);
                    dropped.push(name);
                }
            }
        }
        (shown, dropped)
    }
}

/// A cell's widest line as comfy-table measures it: lines split at `\n`
/// only, and at least 1.
fn content_width(cell: &str) -> usize {
    cell.split('\n')
        .map(display_width)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// A table fitted to `width` as [`super::table_fit`] lays it out, written a
/// row at a time: every row is shown to [`FitTable::see`] in a first pass;
/// [`FitTable::write`] then reads them again, once for each trial width
/// the layout must try a wrapping column at (a few times at most), and
/// once more to write them.
pub struct FitTable<'h> {
    width: u16,
    header: &'h [&'h str],
    columns: Columns,
}

impl<'h> FitTable<'h> {
    pub fn new(width: u16, header: &'h [&'h str]) -> FitTable<'h> {
        FitTable {
            width,
            header,
            columns: Columns::new(header),
        }
    }

    pub fn see(&mut self, row: &[String]) {
        self.columns.see(row);
    }

    /// Writes the table (the rows `rows` gives to its callback, each time
    /// the same ones) and, when `optional` columns had to go, the line
    /// naming them, without a final newline. The first error of `rows`
    /// stops it there.
    pub fn write(
        &self,
        out: &mut impl Write,
        optional: &[&'h str],
        mut rows: impl FnMut(Each<'_, Vec<String>>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let whole = self.columns.whole();
        let (shown, dropped) = self.columns.shown(Some(self.width), self.header, optional);
        let cell = |row: &'_ [String], column: usize| -> String {
            row.get(shown[column]).cloned().unwrap_or_default()
        };
        let content: Vec<usize> = shown.iter().map(|&i| self.columns.content[i]).collect();
        let keep: Vec<bool> = shown.iter().map(|&i| whole[i]).collect();
        let mut longest = |columns: &[usize], average: usize| -> anyhow::Result<Vec<usize>> {
            let mut longest: Vec<usize> = columns
                .iter()
                .map(|&c| longest_line_after_split(self.header[shown[c]], average))
                .collect();
            rows(&mut |row| {
                for (longest, &c) in longest.iter_mut().zip(columns) {
                    *longest = (*longest).max(longest_line_after_split(&cell(&row, c), average));
                }
                Ok(())
            })?;
            Ok(longest)
        };
        let widths = arrange(usize::from(self.width), &content, &keep, &mut longest)?;
        let header: Vec<String> = shown.iter().map(|&i| self.header[i].to_owned()).collect();
        let mut started = false;
        write_row(out, &widths, &header, &mut started)?;
        rows(&mut |row| {
            let cells: Vec<String> = (0..shown.len()).map(|c| cell(&row, c)).collect();
            Ok(write_row(out, &widths, &cells, &mut started)?)
        })?;
        if !dropped.is_empty() {
            write!(out, "\n{}", narrowed_note(self.width, &dropped))?;
        }
        Ok(())
    }
}

/// comfy-table's dynamic arrangement of columns within `limit` (its
/// `utils/arrangement/dynamic.rs`, for a table without borders, one space
/// of padding either side and no constraints but `keep`'s content width):
/// the content width of each column. `content` is each column's widest
/// line; `longest` gives the longest line of the asked columns with their
/// lines split at a trial width, memoised here, since each call is a pass
/// over the rows.
fn arrange(
    limit: usize,
    content: &[usize],
    keep: &[bool],
    mut longest: impl FnMut(&[usize], usize) -> anyhow::Result<Vec<usize>>,
) -> anyhow::Result<Vec<usize>> {
    const PADDING: usize = 2;
    let count = content.len();
    let mut widths: Vec<Option<usize>> = (0..count)
        .map(|c| keep[c].then(|| content[c].max(1)))
        .collect();
    let mut remaining = limit;
    for width in &widths {
        remaining = remaining.saturating_sub(width.map_or(PADDING, |w| w + PADDING));
    }
    let mut open = widths.iter().filter(|w| w.is_none()).count();
    let average = |remaining: usize, open: usize| remaining.checked_div(open).unwrap_or(0);
    let fix = |widths: &mut Vec<Option<usize>>,
               remaining: &mut usize,
               open: &mut usize,
               c: usize,
               width: usize| {
        widths[c] = Some(width.max(1));
        *remaining = remaining.saturating_sub(width);
        *open -= 1;
    };
    // Columns narrower than the average space take their width.
    let mut found = true;
    while found && open > 0 && average(remaining, open) > 0 {
        found = false;
        for c in 0..count {
            if widths[c].is_none() && content[c] <= average(remaining, open) {
                fix(&mut widths, &mut remaining, &mut open, c, content[c]);
                if open == 0 {
                    break;
                }
                found = true;
            }
        }
    }
    // Columns whose lines, split at the average space, leave 3 or more of
    // it unused take the width of their longest line.
    let mut known: HashMap<(usize, usize), usize> = HashMap::new();
    let mut found = open > 0;
    while found {
        found = false;
        for c in 0..count {
            if widths[c].is_some() {
                continue;
            }
            let space = average(remaining, open);
            if !known.contains_key(&(c, space)) {
                let asked: Vec<usize> = (0..count).filter(|&c| widths[c].is_none()).collect();
                for (c, line) in asked.iter().zip(longest(&asked, space)?) {
                    known.insert((*c, space), line);
                }
            }
            let line = known[&(c, space)];
            if space.saturating_sub(line) >= 3 {
                fix(&mut widths, &mut remaining, &mut open, c, line);
                if open == 0 {
                    break;
                }
                found = true;
            }
        }
    }
    // The rest share what is left, the first ones a column more.
    let remaining = remaining.max(open);
    let mut share = (0..open).map(|index| {
        remaining.checked_div(open).unwrap_or(0) + usize::from(index < remaining % open.max(1))
    });
    Ok(widths
        .into_iter()
        .map(|width| width.unwrap_or_else(|| share.next().unwrap_or(1).max(1)))
        .collect())
}

/// The widest line of `cell` once its lines wider than `width` are split
/// (comfy-table's `longest_line_after_split`).
fn longest_line_after_split(cell: &str, width: usize) -> usize {
    cell.split('\n')
        .map(|line| match display_width(line) {
            narrow if narrow <= width => narrow,
            _ => split_line(line, width.max(1))
                .iter()
                .map(|part| display_width(part))
                .max()
                .unwrap_or(0),
        })
        .max()
        .unwrap_or(0)
}

/// One row: each cell's lines, those wider than their column split, a
/// space either side of each, padded to its column, the line's trailing
/// spaces dropped (comfy-table's `format_row` and `draw_rows`); a newline
/// before each line but the table's first (`started` once one is written).
fn write_row(
    out: &mut impl Write,
    widths: &[usize],
    cells: &[String],
    started: &mut bool,
) -> std::io::Result<()> {
    let parts: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, &width)| {
            cell.split('\n')
                .flat_map(|line| {
                    if display_width(line) > width {
                        split_line(line, width)
                    } else {
                        vec![line.to_owned()]
                    }
                })
                .collect()
        })
        .collect();
    let height = parts.iter().map(Vec::len).max().unwrap_or(0);
    let mut line = String::new();
    for at in 0..height {
        if *started {
            writeln!(out)?;
        }
        *started = true;
        let cells = parts
            .iter()
            .zip(widths)
            .map(|(lines, &width)| (lines.get(at).map_or("", String::as_str), width));
        write_line(out, &mut line, cells)?;
    }
    Ok(())
}

/// Fewer free columns than this end a line (comfy-table's
/// `MIN_FREE_CHARS`).
const MIN_FREE: usize = 2;

/// A line wider than `width` in parts that fit, split at spaces, a word
/// longer than a line split between graphemes (comfy-table's `split_line`
/// with the space as delimiter).
fn split_line(line: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut words: Vec<String> = line.split(' ').rev().map(str::to_owned).collect();
    let mut current = String::new();
    let mut length = 0;
    // A line with no room for more than two columns is done.
    let full = |lines: &mut Vec<String>, current: &mut String, length: &mut usize| {
        if *length > width.saturating_sub(MIN_FREE) {
            lines.push(std::mem::take(current));
            *length = 0;
        }
    };
    while let Some(next) = words.pop() {
        let next_length = display_width(&next);
        let mut added = next_length + length;
        let mut room = width - length;
        if !current.is_empty() {
            added += 1;
            room = room.saturating_sub(1);
        }
        if added <= width {
            if !current.is_empty() {
                current.push(' ');
                length += 1;
            }
            current.push_str(&next);
            length += next_length;
            full(&mut lines, &mut current, &mut length);
            continue;
        }
        if !current.is_empty() && room <= MIN_FREE {
            words.push(next);
            lines.push(std::mem::take(&mut current));
            length = 0;
            continue;
        }
        if next_length > width {
            let new_line = current.is_empty();
            if !new_line {
                current.push(' ');
            }
            let (head, tail) = split_long_word(room, &next);
            if new_line && head.is_empty() {
                // A character wider than the column: it goes in anyway.
                let mut chars = tail.chars();
                current.extend(chars.next());
                words.push(chars.collect());
            } else {
                current.push_str(head);
                words.push(tail.to_owned());
            }
            lines.push(std::mem::take(&mut current));
            length = 0;
            continue;
        }
        lines.push(std::mem::replace(&mut current, next));
        length = next_length;
        full(&mut lines, &mut current, &mut length);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `word` cut after as many graphemes as fit in `width` columns.
fn split_long_word(width: usize, word: &str) -> (&str, &str) {
    let mut used = 0;
    for (index, grapheme) in word.grapheme_indices(true) {
        let grapheme_width = display_width(grapheme);
        if used + grapheme_width > width {
            return word.split_at(index);
        }
        used += grapheme_width;
    }
    (word, "")
}
