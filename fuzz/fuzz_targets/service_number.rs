//! 95 / 96 / 1010 numbers, and the other small vocabularies users type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use licwatch::domain::change::ChangeKind;
use licwatch::domain::number::ServiceNumber;
use licwatch::domain::province::Province;
use licwatch::store::{Direction, check_email};

fuzz_target!(|text: &str| {
    if let Ok(number) = text.parse::<ServiceNumber>() {
        assert_eq!(
            number.as_str().parse::<ServiceNumber>().ok(),
            Some(number.clone())
        );
    }
    let _ = text.parse::<ChangeKind>();
    let _ = text.parse::<Direction>();
    let _ = Province::parse(text);
    let _ = check_email(text);
});
