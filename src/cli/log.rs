//! How log lines look: timestamps in the schedule's zone with its offset
//! (the `today=` of a tick is a date in that zone, so the time beside it
//! must be too), and one line per record, because journald reads stderr as
//! a stream and makes a record of every line.

use std::io::{self, Write};
use std::sync::RwLock;

use chrono::Utc;
use chrono_tz::Tz;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::writer::MakeWriter;

/// The zone log timestamps are written in: the default schedule's until a
/// config says otherwise (`set_zone`, when `serve` loads or reloads it).
static ZONE: RwLock<Tz> = RwLock::new(chrono_tz::Asia::Shanghai);

pub fn set_zone(zone: Tz) {
    // A poisoned lock only means a panic while writing a zone: overwrite it.
    *ZONE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = zone;
}

/// `2026-11-24T09:30:00.123+08:00`.
pub struct ZoneTime;

impl FormatTime for ZoneTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let zone = *ZONE.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        write!(
            w,
            "{}",
            Utc::now()
                .with_timezone(&zone)
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        )
    }
}

/// Line breaks inside a record as the two characters `\n`, so that a
/// multi-line message (the log route's digest) stays one journal record.
pub fn one_line(record: &[u8]) -> Vec<u8> {
    let (body, end) = match record.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (record, &b""[..]),
    };
    let mut out = Vec::with_capacity(record.len() + 16);
    for &byte in body {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
    out.extend_from_slice(end);
    out
}

/// Stderr, one record a line. tracing-subscriber formats a whole record
/// and hands it over in one `write_all`, so one `write` is one record.
pub struct OneLineStderr;

pub struct OneLineWriter;

impl Write for OneLineWriter {
    fn write(&mut self, record: &[u8]) -> io::Result<usize> {
        io::stderr().lock().write_all(&one_line(record))?;
        Ok(record.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for OneLineStderr {
    type Writer = OneLineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        OneLineWriter
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn inner_line_breaks_are_escaped_and_the_last_kept() {
        assert_eq!(one_line(b"a\nb\r\nc\n"), b"a\\nb\\r\\nc\n");
        assert_eq!(one_line(b"plain\n"), b"plain\n");
        assert_eq!(one_line(b"no end"), b"no end");
    }
}
