//! The config file: any text is accepted or refused, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use licwatch::config::Config;

fuzz_target!(|text: &str| {
    let _ = Config::parse(text, Path::new("/nonexistent/config.toml"));
});
