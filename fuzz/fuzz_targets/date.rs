//! Dates as users type them (full-width digits included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::domain::date::parse_date;

fuzz_target!(|text: &str| {
    if let Ok(date) = parse_date("--on", text) {
        assert_eq!(parse_date("--on", &date.to_string()), Ok(date));
    }
});
