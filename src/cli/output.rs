//! Writing results: aligned tables for people, JSON for scripts.

use std::io::Write;

use comfy_table::{Table, presets};

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

/// Columns aligned by display width, so Chinese names line up.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    // The padding leaves a trailing space on each line; drop it.
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn date_or_dash(date: Option<chrono::NaiveDate>) -> String {
    date.map_or("-".to_owned(), |d| d.to_string())
}

/// Terminal columns `text` takes: a Chinese character takes two.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}
