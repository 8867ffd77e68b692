//! A JSON report's long lists kept on disk as a command makes them: an
//! import's changes, the licences `report file --all` marked, a register's
//! worth of either (more than a million values, some 200 bytes each in
//! memory). The report is printed once the command's transaction is
//! committed or refused, never before, so that it cannot list what was
//! rolled back.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Seek as _, SeekFrom, Write as _};

use anyhow::Context as _;

use super::{Each, JsonItems, write_json_with};

/// The values being written, one JSON value a line, to an unnamed
/// temporary file (readable by this process only, gone when it closes).
pub(crate) struct Spill {
    file: BufWriter<File>,
    count: usize,
}

impl Spill {
    pub(crate) fn new() -> anyhow::Result<Spill> {
        let file = tempfile::tempfile()
            .context("a temporary file for the report's lists (in TMPDIR, else /tmp)")?;
        Ok(Spill {
            file: BufWriter::new(file),
            count: 0,
        })
    }

    pub(crate) fn push(&mut self, value: &serde_json::Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.file, value)?;
        self.file.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// The values written, to read back.
    pub(crate) fn finish(self) -> anyhow::Result<Spilled> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Spilled {
            lines: RefCell::new(BufReader::new(file)),
            count: self.count,
        })
    }
}

/// The values of a [`Spill`], serialized as a JSON array read from disk a
/// value at a time.
pub(crate) struct Spilled {
    lines: RefCell<BufReader<File>>,
    count: usize,
}

impl Spilled {
    /// Each value, in the order given, read back from the start.
    fn read(&self, each: Each<'_, serde_json::Value>) -> anyhow::Result<()> {
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

    /// Every value, in memory: for tests of small reports.
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

/// `report` (an object) with each named array read back from its spill,
/// written as `print_json` writes a value: byte for byte the report with
/// the lists in it, its memory a value's.
pub(crate) fn write_report(
    out: &mut dyn std::io::Write,
    report: &serde_json::Value,
    lists: &[(&str, &Spilled)],
) -> anyhow::Result<()> {
    write_json_with(
        out,
        report,
        lists
            .iter()
            .map(|&(name, spilled)| {
                let items: JsonItems<'_> = Box::new(move |each| spilled.read(each));
                (name, items)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spilled(values: &[serde_json::Value]) -> Spilled {
        let mut spill = Spill::new().unwrap();
        for value in values {
            spill.push(value).unwrap();
        }
        spill.finish().unwrap()
    }

    #[test]
    fn a_report_with_its_lists_read_back_is_the_report_made_whole() {
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
        let licences: Vec<serde_json::Value> =
            (0..3).map(|n| format!("沪B2-2021{n:04}").into()).collect();
        for count in [0, 1, changes.len()] {
            let (changes, licences) = (&changes[..count], &licences[..count.min(3)]);
            let (spilled_changes, spilled_licences) = (spilled(changes), spilled(licences));
            let report = serde_json::json!({
                "file": "s.csv",
                "rows": 3,
                "changes": [],
                "marked": [],
                "notes": ["a note"],
                "past": {"annual_reports": 1, "renewals": 0},
            });
            let mut whole = report.clone();
            whole["changes"] = changes.to_vec().into();
            whole["marked"] = licences.to_vec().into();
            let mut streamed = Vec::new();
            write_report(
                &mut streamed,
                &report,
                &[("changes", &spilled_changes), ("marked", &spilled_licences)],
            )
            .unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap() + "\n"
            );
            // Read again, from the start.
            assert_eq!(spilled_changes.values(), changes);
        }
    }
}
