//! JSON in: an array of objects read in one pass, each row capped as it
//! comes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use super::{Cell, Line, MAX_CELLS, MAX_COLUMNS, MAX_KEY_BYTES, MAX_ROWS, Table, text_cell};

/// A JSON array of objects whose keys are the headers, as export writes it.
/// An object that lacks a key has that cell empty. Read as it streams in,
/// each object straight into cells: a tree of JSON values costs many times
/// the file's size, and every row holding every header would cost rows ×
/// headers (issue 13: 50,000 objects with one key each took 23 GB).
pub(super) fn read_json(bytes: &[u8]) -> Result<Option<Table>, String> {
    let mut table = JsonTable::default();
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let read = serde::de::DeserializeSeed::deserialize(JsonRows(&mut table), &mut reader)
        .and_then(|()| reader.end());
    if let Some(refusal) = table.refusal {
        return Err(refusal);
    }
    read.map_err(|e| format!("not valid JSON ({e})"))?;
    if table.headers.is_empty() {
        return Ok(None);
    }
    let width = table.headers.len();
    if table.lines.len().saturating_mul(width) > MAX_CELLS {
        return Err(format!(
            "{} objects with {width} distinct keys is more than the {MAX_CELLS} cells import reads (split the file)",
            table.lines.len()
        ));
    }
    for line in &mut table.lines {
        line.cells.resize(width, Cell::Empty);
    }
    Ok(Some(Table {
        header_row: None,
        headers: table.headers,
        skipped: Vec::new(),
        lines: table.lines,
    }))
}

#[derive(Default)]
struct JsonTable {
    pub(super) headers: Vec<String>,
    /// Each header's column: found in constant time, not by a scan.
    pub(super) columns: HashMap<String, usize>,
    pub(super) lines: Vec<Line>,
    pub(super) cells: usize,
    /// A cap passed: said as it is, not as "not valid JSON".
    pub(super) refusal: Option<String>,
}

impl JsonTable {
    fn refuse<E: serde::de::Error>(&mut self, refusal: String) -> E {
        let error = E::custom(&refusal);
        self.refusal = Some(refusal);
        error
    }
}

struct JsonRows<'t>(&'t mut JsonTable);

impl<'de> serde::de::DeserializeSeed<'de> for JsonRows<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonRows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects, one per row")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        loop {
            let item = self.0.lines.len() + 1;
            if item > MAX_ROWS {
                // Only refused if there really is one more.
                if items.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(self.0.refuse(format!(
                        "more than {MAX_ROWS} objects, the most import reads (split the file)"
                    )));
                }
                return Ok(());
            }
            if items
                .next_element_seed(JsonRow {
                    table: &mut *self.0,
                    item,
                })?
                .is_none()
            {
                return Ok(());
            }
        }
    }
}

struct JsonRow<'t> {
    pub(super) table: &'t mut JsonTable,
    item: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonRow<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonRow<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "item {} to be an object (one object per row)", self.item)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let table = self.table;
        let mut cells = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key.len() > MAX_KEY_BYTES {
                return Err(table.refuse(format!(
                    "item {}: a key of {} bytes, longer than the {MAX_KEY_BYTES} a header may be",
                    self.item,
                    key.len()
                )));
            }
            let column = match table.columns.get(key.as_ref()) {
                Some(&column) => column,
                None if table.headers.len() >= MAX_COLUMNS => {
                    return Err(table.refuse(format!(
                        "item {}: the key {key:?} makes more than {MAX_COLUMNS} distinct keys, the most columns import reads",
                        self.item
                    )));
                }
                None => {
                    let column = table.headers.len();
                    table.headers.push(key.clone().into_owned());
                    table.columns.insert(key.into_owned(), column);
                    column
                }
            };
            let cell = map.next_value_seed(JsonCell)?;
            table.cells += 1;
            if table.cells > MAX_CELLS {
                return Err(table.refuse(format!(
                    "item {}: more than the {MAX_CELLS} cells import reads (split the file)",
                    self.item
                )));
            }
            if cells.len() <= column {
                cells.resize(column + 1, Cell::Empty);
            }
            cells[column] = cell;
        }
        table.lines.push(Line {
            row: self.item,
            cells,
        });
        Ok(())
    }
}

/// One JSON value as a cell. An array or object is skipped, not built: it
/// is refused as a cell whatever it holds.
struct JsonCell;

impl<'de> serde::de::DeserializeSeed<'de> for JsonCell {
    type Value = Cell;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Cell, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonCell {
    type Value = Cell;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Cell, E> {
        Ok(Cell::Empty)
    }
    fn visit_str<E>(self, text: &str) -> Result<Cell, E> {
        Ok(text_cell(text))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Cell, E> {
        Ok(Cell::Number(n))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Cell, E> {
        Ok(Cell::Number(n as f64))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Cell, E> {
        Ok(Cell::Number(n as f64))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell::Invalid(format!("the JSON value {b}, not text")))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Cell, A::Error> {
        while items.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Cell::Invalid("a JSON array, not text".to_owned()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Cell::Invalid("a JSON object, not text".to_owned()))
    }
}
