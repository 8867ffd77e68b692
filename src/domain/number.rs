//! 95 / 96 / 1010 service numbers (码号) allocated under a licence.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::text::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// 95 + 3 digits: nationwide, unique as it stands.
    N95,
    /// 96 + 4 digits: allocated by a province; unique only within it.
    N96,
    /// 1010 + 4 digits: carrier group numbers, nationwide.
    N1010,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "service number \"{value}\": {problem} (accepted: 95 + 3 digits e.g. 95123, 96 + 4 digits e.g. 961234, 1010 + 4 digits e.g. 10101234)"
)]
pub struct NumberError {
    pub value: String,
    pub problem: &'static str,
}

impl ServiceNumber {
    pub fn kind(&self) -> NumberKind {
        if self.0.starts_with("1010") {
            NumberKind::N1010
        } else if self.0.starts_with("96") {
            NumberKind::N96
        } else {
            NumberKind::N95
        }
    }

    /// A 96 number is only meaningful together with its province.
    pub fn is_provincial(&self) -> bool {
        self.kind() == NumberKind::N96
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ServiceNumber {
    type Err = NumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |problem| NumberError {
            value: input.to_owned(),
            problem,
        };
        let digits: String = normalize(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.is_empty() {
            return Err(error("is empty"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error("must be digits only"));
        }
        let expected_len = if digits.starts_with("1010") {
            8
        } else if digits.starts_with("95") {
            5
        } else if digits.starts_with("96") {
            6
        } else {
            return Err(error("must start with 95, 96 or 1010"));
        };
        if digits.len() != expected_len {
            return Err(error("has the wrong number of digits for its prefix"));
        }
        Ok(ServiceNumber(digits))
    }
}

impl fmt::Display for ServiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_the_three_shapes() {
        assert_eq!(
            "95123".parse::<ServiceNumber>().unwrap().kind(),
            NumberKind::N95
        );
        assert_eq!(
            "961234".parse::<ServiceNumber>().unwrap().kind(),
            NumberKind::N96
        );
        assert_eq!(
            "10101234".parse::<ServiceNumber>().unwrap().kind(),
            NumberKind::N1010
        );
        assert_eq!(
            "１０１０ １２３４"
                .parse::<ServiceNumber>()
                .unwrap()
                .as_str(),
            "10101234"
        );
        assert!("961234".parse::<ServiceNumber>().unwrap().is_provincial());
    }

    #[test]
    fn refuses_other_numbers_with_the_accepted_shapes() {
        let problem = |s: &str| s.parse::<ServiceNumber>().unwrap_err().problem;
        assert_eq!(
            problem("9512"),
            "has the wrong number of digits for its prefix"
        );
        assert_eq!(
            problem("951234"),
            "has the wrong number of digits for its prefix"
        );
        assert_eq!(
            problem("96123"),
            "has the wrong number of digits for its prefix"
        );
        assert_eq!(
            problem("1010123"),
            "has the wrong number of digits for its prefix"
        );
        assert_eq!(problem("400123456"), "must start with 95, 96 or 1010");
        assert_eq!(problem("12345"), "must start with 95, 96 or 1010");
        assert_eq!(problem("95a23"), "must be digits only");
        assert_eq!(problem(""), "is empty");
        let message = "4001234567"
            .parse::<ServiceNumber>()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("accepted: 95 + 3 digits e.g. 95123, 96 + 4 digits"),
            "{message}"
        );
    }

    proptest! {
        #[test]
        fn accepted_exactly_when_shape_matches(digits in "[0-9]{3,9}") {
            let ok = (digits.len() == 5 && digits.starts_with("95"))
                || (digits.len() == 6 && digits.starts_with("96"))
                || (digits.len() == 8 && digits.starts_with("1010"));
            prop_assert_eq!(digits.parse::<ServiceNumber>().is_ok(), ok);
        }

        #[test]
        fn arbitrary_input_never_panics(text in "\\PC{0,20}") {
            let _ = text.parse::<ServiceNumber>();
        }
    }
}
