//! A holiday file a user adds for a year the release does not ship.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::domain::calendar::Calendar;

fuzz_target!(|text: &str| {
    let _ = Calendar::parse(text, "fuzz.toml");
});
