//! An import's changes for its JSON report, kept on disk as the batches
//! give them: a 1M-licence import makes more than a million (some 200 bytes
//! each in memory). The report is printed once the import is written or
//! refused, never before, so that it cannot list changes that were rolled
//! back: a refused import prints its problems and none of these.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Seek as _, SeekFrom, Write as _};

use anyhow::Context as _;
use serde::ser::{Error as _, SerializeMap as _, SerializeSeq as _};

/// The changes being written, one JSON object a line, to an unnamed
/// temporary file (readable by this process only, gone when it closes).
pub(crate) struct Spill {
    file: BufWriter<File>,
    count: usize,
}

impl Spill {
    pub(crate) fn new() -> anyhow::Result<Spill> {
        let file = tempfile::tempfile()
            .context("a temporary file for the import's changes (in TMPDIR, else /tmp)")?;
        Ok(Spill {
            file: BufWriter::new(file),
            count: 0,
        })
    }

    pub(crate) fn push(&mut self, change: &serde_json::Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.file, change)?;
        self.file.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// The changes written, to read back.
    pub(crate) fn finish(self) -> anyhow::Result<Spilled> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Spilled {
            lines: RefCell::new(BufReader::new(file)),
            count: self.count,
        })
    }
}

/// The changes of a [`Spill`], serialized as a JSON array read from disk
/// a change at a time.
pub(crate) struct Spilled {
    lines: RefCell<BufReader<File>>,
    count: usize,
}

impl Spilled {
    /// Every change, in memory: for tests of small imports.
    #[cfg(test)]
    pub(crate) fn values(&self) -> Vec<serde_json::Value> {
        match serde_json::to_value(self).unwrap() {
            serde_json::Value::Array(values) => values,
            other => panic!("not an array: {other}"),
        }
    }
}

impl serde::Serialize for Spilled {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let read =
            |e: std::io::Error| S::Error::custom(format!("the import's changes, read back: {e}"));
        let mut array = serializer.serialize_seq(Some(self.count))?;
        let mut lines = self.lines.borrow_mut();
        lines.seek(SeekFrom::Start(0)).map_err(read)?;
        let mut line = String::new();
        for _ in 0..self.count {
            line.clear();
            lines.read_line(&mut line).map_err(read)?;
            let change: serde_json::Value =
                serde_json::from_str(&line).map_err(S::Error::custom)?;
            array.serialize_element(&change)?;
        }
        array.end()
    }
}

/// `report` (an object) with its `changes` taken from `changes`, written as
/// `print_json` writes a value: byte for byte the report with the changes
/// in it, its memory a change's.
pub(crate) fn write_report(
    out: &mut impl std::io::Write,
    report: &serde_json::Value,
    changes: &Spilled,
) -> anyhow::Result<()> {
    struct WithChanges<'a> {
        report: &'a serde_json::Map<String, serde_json::Value>,
        changes: &'a Spilled,
    }
    impl serde::Serialize for WithChanges<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.report.len()))?;
            for (key, value) in self.report {
                if key == "changes" {
                    map.serialize_entry(key, self.changes)?;
                } else {
                    map.serialize_entry(key, value)?;
                }
            }
            map.end()
        }
    }
    let report = report
        .as_object()
        .context("an import report is a JSON object")?;
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut *out, serde_json::ser::PrettyFormatter::new());
    serde::Serialize::serialize(&WithChanges { report, changes }, &mut serializer).map_err(
        |e| {
            match e.io_error_kind() {
                // As io::Error: `main` finds a closed pipe by its kind.
                Some(_) => anyhow::Error::from(std::io::Error::from(e)),
                None => anyhow::Error::from(e),
            }
        },
    )?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_with_its_changes_read_back_is_the_report_made_whole() {
        let changes: Vec<serde_json::Value> = (0..5)
            .map(|n| {
                serde_json::json!({
                    "entity": "licence",
                    "edit": if n % 2 == 0 { "add" } else { "update" },
                    "key": format!("京B2-2020{n:04}"),
                    "detail": format!("北京示例 \"{n}\"\n-> 上海"),
                })
            })
            .collect();
        for count in [0, 1, changes.len()] {
            let mut spill = Spill::new().unwrap();
            for change in &changes[..count] {
                spill.push(change).unwrap();
            }
            let spilled = spill.finish().unwrap();
            let report = serde_json::json!({
                "file": "s.csv",
                "rows": 3,
                "changes": [],
                "notes": ["a note"],
                "past": {"annual_reports": 1, "renewals": 0},
            });
            let mut whole = report.clone();
            whole["changes"] = changes[..count].to_vec().into();
            let mut streamed = Vec::new();
            write_report(&mut streamed, &report, &spilled).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap() + "\n"
            );
            // Read again, from the start.
            assert_eq!(spilled.values(), &changes[..count]);
        }
    }
}
