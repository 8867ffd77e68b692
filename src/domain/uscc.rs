//! 统一社会信用代码 (GB 32100-2015): who holds a licence.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::text::normalize;

/// The 31 characters of the code: digits and capitals without I, O, S, V, Z.
/// A character's value is its index.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsccError {
    #[error(
        "unified social credit code \"{value}\": has {len} characters, expected 18 (e.g. 91110108551385082Q)"
    )]
    Length { value: String, len: usize },
    #[error(
        "unified social credit code \"{value}\": character {position} \"{found}\" is not allowed (digits and capital letters except I, O, S, V, Z)"
    )]
    Character {
        value: String,
        position: usize,
        found: char,
    },
    #[error(
        "unified social credit code \"{value}\": check character is \"{found}\", expected \"{expected}\" (is a character mistyped?)"
    )]
    Check {
        value: String,
        found: char,
        expected: char,
    },
}

fn value_of(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|i| i as u32)
}

/// The 18th character of a code whose first 17 are `body` (all in CHARSET).
fn check_character(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, weight)| value_of(c).expect("body validated against CHARSET") * weight)
        .sum();
    CHARSET[((31 - sum % 31) % 31) as usize] as char
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let code: String = normalize(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect::<String>()
            .to_uppercase();
        let len = code.chars().count();
        if len != 18 {
            return Err(UsccError::Length {
                value: input.to_owned(),
                len,
            });
        }
        if let Some((index, found)) = code
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || value_of(*c as u8).is_none())
        {
            return Err(UsccError::Character {
                value: input.to_owned(),
                position: index + 1,
                found,
            });
        }
        let bytes = code.as_bytes();
        let expected = check_character(&bytes[..17]);
        let found = bytes[17] as char;
        if found != expected {
            return Err(UsccError::Check {
                value: input.to_owned(),
                found,
                expected,
            });
        }
        Ok(Uscc(code))
    }
}

impl Uscc {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_published_codes() {
        for code in [
            "91110000600037341L",
            "91350100M000100Y43",
            "91110108551385082Q",
        ] {
            assert_eq!(code.parse::<Uscc>().unwrap().as_str(), code);
        }
        assert_eq!(
            " 91110108-551385082q ".parse::<Uscc>().unwrap().as_str(),
            "91110108551385082Q"
        );
    }

    #[test]
    fn wrong_check_character_names_the_expected_one() {
        assert_eq!(
            "91310115MA1H8R7C6D"
                .parse::<Uscc>()
                .unwrap_err()
                .to_string(),
            "unified social credit code \"91310115MA1H8R7C6D\": check character is \"D\", expected \"7\" (is a character mistyped?)"
        );
    }

    #[test]
    fn length_and_charset_errors() {
        assert!(matches!(
            "9111010855138508".parse::<Uscc>(),
            Err(UsccError::Length { len: 16, .. })
        ));
        assert!(matches!(
            "9111010855138508IQ".parse::<Uscc>(),
            Err(UsccError::Character {
                position: 17,
                found: 'I',
                ..
            })
        ));
        assert!(matches!(
            "91110108551385082统".parse::<Uscc>(),
            Err(UsccError::Character { position: 18, .. })
        ));
    }

    fn valid_code() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(CHARSET.to_vec()), 17).prop_map(|body| {
            let check = check_character(&body);
            let mut code = String::from_utf8(body).unwrap();
            code.push(check);
            code
        })
    }

    proptest! {
        #[test]
        fn every_generated_code_is_accepted(code in valid_code()) {
            prop_assert!(code.parse::<Uscc>().is_ok());
        }

        #[test]
        fn any_single_character_change_is_refused(
            code in valid_code(),
            position in 0usize..18,
            replacement in proptest::sample::select(CHARSET.to_vec()),
        ) {
            let mut bytes = code.into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            prop_assert!(String::from_utf8(bytes).unwrap().parse::<Uscc>().is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(text in "\\PC{0,30}") {
            let _ = text.parse::<Uscc>();
        }
    }
}
