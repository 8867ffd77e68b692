//! An import's changes for its JSON report, kept on disk as the batches
//! give them: a 1M-licence import makes more than a million (some 200 bytes
//! each in memory). The report is printed once the import is written or
//! refused, never before, so that it cannot list changes that were rolled
//! back: a refused import prints its problems and none of these.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Seek as _, SeekFrom, Write as _};

use anyhow::Context as _;

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
    /// Each change, in the order given, read back from the start.
    fn read(&self, each: crate::cli::output::Each<'_, serde_json::Value>) -> anyhow::Result<()> {
        let mut lines = self.lines.borrow_mut();
        lines.seek(SeekFrom::Start(0))?;
        let mut line = String::new();
        for _ in 0..self.count {
            line.clear();
            lines.read_line(&mut line)?;
            each(serde_json::from_str(&line)?)?;
        }
        Ok(())
    }

    /// Every change, in memory: for tests of small imports.
    #[cfg(test)]
    pub(crate) fn values(&self) -> Vec<serde_json::Value> {
        let mut values = Vec::new();
        self.read(&mut |value| {
            values.push(value);
            Ok(())
        })
        .unwrap();
        values
    }
}

/// `report` (an object) with its `changes` read back from `changes`,
/// written as `print_json` writes a value: byte for byte the report with
/// the changes in it, its memory a change's.
pub(crate) fn write_report(
    out: &mut dyn std::io::Write,
    report: &serde_json::Value,
    changes: &Spilled,
) -> anyhow::Result<()> {
    crate::cli::output::write_json_with(
        out,
        report,
        vec![("changes", Box::new(|each| changes.read(each)))],
    )
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
