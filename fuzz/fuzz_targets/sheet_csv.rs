//! The csv reader of import: any bytes are read or refused within the caps
//! of cli::sheet (rows, columns, cells, unpacked sizes), never a panic and
//! never more memory than the RSS limit scripts/fuzz.sh sets for it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::cli::sheet::{Kind, parse};

fuzz_target!(|bytes: &[u8]| {
    let _ = parse(Kind::Csv, bytes.to_vec());
});
