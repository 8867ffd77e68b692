//! Unified social credit codes: never panic; what is accepted round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::domain::uscc::Uscc;

fuzz_target!(|text: &str| {
    if let Ok(code) = text.parse::<Uscc>() {
        assert_eq!(code.as_str().parse::<Uscc>().ok(), Some(code.clone()));
    }
});
