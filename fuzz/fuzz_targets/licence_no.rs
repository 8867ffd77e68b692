//! Licence numbers: never panic; what is accepted prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::domain::licence::{ItemCode, LicenceNo};

fuzz_target!(|text: &str| {
    if let Ok(number) = text.parse::<LicenceNo>() {
        assert_eq!(number.to_string().parse::<LicenceNo>().ok(), Some(number));
    }
    let _ = ItemCode::parse_list(text);
});
