//! An obligation's stable identity, `<kind>/<licence>/<what>`: the same
//! whoever computes it, so the outbox keys its rows by it, a calendar's
//! UIDs come from it and a person can name an obligation by it.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use thiserror::Error;

use super::ObligationKind;
use crate::domain::licence::LicenceNo;
use crate::domain::number::ServiceNumber;

/// `renewal/京B2-20201234/2027-06-30` (the expiry it renews),
/// `annual_report/京B2-20201234/2025` (the business year),
/// `change_filing/京B2-20201234/7` (the register's change id),
/// `number_activation/京B2-20201234/962345/2026-03-02` (the allocation day),
/// `number_outlives_licence/京B2-20201234/962345/2027-06-30` (the licence's
/// last day, which moves when it is renewed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObligationKey {
    /// First, so that keys sort by their text.
    text: String,
    kind: ObligationKind,
    licence: LicenceNo,
}

pub fn renewal(licence: &LicenceNo, expires: NaiveDate) -> ObligationKey {
    ObligationKey::new(ObligationKind::Renewal, licence, &expires)
}

pub fn annual_report(licence: &LicenceNo, year: i32) -> ObligationKey {
    ObligationKey::new(ObligationKind::AnnualReport, licence, &year)
}

pub fn change_filing(licence: &LicenceNo, change_id: i64) -> ObligationKey {
    ObligationKey::new(ObligationKind::ChangeFiling, licence, &change_id)
}

pub fn number_activation(
    licence: &LicenceNo,
    number: &ServiceNumber,
    allocated: NaiveDate,
) -> ObligationKey {
    ObligationKey::new(
        ObligationKind::NumberActivation,
        licence,
        &format_args!("{number}/{allocated}"),
    )
}

pub fn number_outlives_licence(
    licence: &LicenceNo,
    number: &ServiceNumber,
    last_day: NaiveDate,
) -> ObligationKey {
    ObligationKey::new(
        ObligationKind::NumberOutlivesLicence,
        licence,
        &format_args!("{number}/{last_day}"),
    )
}

/// The keys of a number outliving its licence, whatever the licence's
/// last day: the store cancels them by this prefix.
pub fn number_outlives_prefix(licence: &LicenceNo, number: &ServiceNumber) -> String {
    format!(
        "{}/{licence}/{number}/",
        ObligationKind::NumberOutlivesLicence.code()
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "obligation key \"{value}\": {problem} (expected <kind>/<licence>/…, e.g. renewal/京B2-20201234/2027-06-30; kinds: renewal, annual_report, change_filing, number_activation, number_outlives_licence)"
)]
pub struct ObligationKeyError {
    pub value: String,
    pub problem: String,
}

impl ObligationKey {
    /// Built only by the functions above and by parsing.
    fn new(kind: ObligationKind, licence: &LicenceNo, what: &dyn fmt::Display) -> ObligationKey {
        ObligationKey {
            text: format!("{}/{licence}/{what}", kind.code()),
            kind,
            licence: licence.clone(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> ObligationKind {
        self.kind
    }

    pub fn licence(&self) -> &LicenceNo {
        &self.licence
    }

    /// The register's id of the change a change filing is for: what
    /// `licwatch change file` takes.
    pub fn change_id(&self) -> Option<i64> {
        match self.kind {
            ObligationKind::ChangeFiling => self.what().parse().ok(),
            _ => None,
        }
    }

    /// What follows the licence.
    fn what(&self) -> &str {
        self.text.splitn(3, '/').nth(2).unwrap_or_default()
    }
}

impl AsRef<str> for ObligationKey {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// A short name for a key, for people to type: seven characters of
/// Crockford's base32 (no i, l, o, u) of the key's SHA-256. It is as stable
/// as the key; 35 bits make a clash between two open obligations of one
/// register unlikely, and a clash is refused, not guessed. It takes text too:
/// a snooze row holds its key as the register stored it.
pub fn short_id(key: impl AsRef<str>) -> String {
    use sha2::{Digest as _, Sha256};
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let digest = Sha256::digest(key.as_ref().as_bytes());
    let bits = u64::from_be_bytes(digest[..8].try_into().expect("a digest has 32 bytes"));
    (0..7)
        .map(|index| ALPHABET[(bits >> (59 - 5 * index)) as usize & 31] as char)
        .collect()
}

impl fmt::Display for ObligationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// As its text, in JSON output.
impl serde::Serialize for ObligationKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl PartialEq<str> for ObligationKey {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for ObligationKey {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl FromStr for ObligationKey {
    type Err = ObligationKeyError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let refuse = |problem: String| ObligationKeyError {
            value: input.to_owned(),
            problem,
        };
        let mut parts = input.splitn(3, '/');
        let (Some(code), Some(licence), Some(what)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse("not three parts joined by /".to_owned()));
        };
        let kind = ObligationKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
            .ok_or_else(|| refuse(format!("\"{code}\" is not a kind of obligation")))?;
        let licence: LicenceNo = licence
            .parse()
            .map_err(|err: crate::domain::licence::LicenceNoError| refuse(err.to_string()))?;
        let date = |text: &str, name: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| refuse(format!("{name} \"{text}\" is not a date (YYYY-MM-DD)")))
        };
        let number = |text: &str| {
            text.parse::<ServiceNumber>()
                .map_err(|err| refuse(err.to_string()))
        };
        let number_and_day =
            |name: &str| -> Result<(ServiceNumber, NaiveDate), ObligationKeyError> {
                let (n, day) = what.split_once('/').ok_or_else(|| {
                    refuse(format!(
                        "a number and its {name} expected after the licence"
                    ))
                })?;
                Ok((number(n)?, date(day, name)?))
            };
        let key = match kind {
            ObligationKind::Renewal => renewal(&licence, date(what, "expiry")?),
            ObligationKind::AnnualReport => {
                let year = what
                    .parse()
                    .map_err(|_| refuse(format!("year \"{what}\" is not a year")))?;
                annual_report(&licence, year)
            }
            ObligationKind::ChangeFiling => {
                let id = what
                    .parse()
                    .map_err(|_| refuse(format!("change id \"{what}\" is not a whole number")))?;
                change_filing(&licence, id)
            }
            ObligationKind::NumberActivation => {
                let (number, allocated) = number_and_day("allocation day")?;
                number_activation(&licence, &number, allocated)
            }
            ObligationKind::NumberOutlivesLicence => {
                let (number, last_day) = number_and_day("licence's last day")?;
                number_outlives_licence(&licence, &number, last_day)
            }
        };
        // Parsed parts print back as they came, or the key is not one the
        // rules would have made (a year of 02025, a number in another form).
        if key.text != input {
            return Err(refuse(format!(
                "not in the form licwatch writes (it would be {key})"
            )));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn licence() -> LicenceNo {
        "京B2-20201234".parse().unwrap()
    }

    #[test]
    fn every_kind_of_key_parses_back_to_itself_with_its_parts() {
        let licence = licence();
        let number: ServiceNumber = "962345".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
        let keys = [
            renewal(&licence, day),
            annual_report(&licence, 2025),
            change_filing(&licence, 7),
            number_activation(&licence, &number, day),
            number_outlives_licence(&licence, &number, day),
        ];
        let texts: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "renewal/京B2-20201234/2027-06-30",
                "annual_report/京B2-20201234/2025",
                "change_filing/京B2-20201234/7",
                "number_activation/京B2-20201234/962345/2027-06-30",
                "number_outlives_licence/京B2-20201234/962345/2027-06-30",
            ]
        );
        for (key, kind) in keys.iter().zip(ObligationKind::ALL) {
            assert_eq!(key.as_str().parse::<ObligationKey>().as_ref(), Ok(key));
            assert_eq!(key.kind(), kind);
            assert_eq!(key.licence(), &licence);
        }
        assert_eq!(keys[2].change_id(), Some(7));
        assert_eq!(keys[0].change_id(), None);
        assert!(
            keys[4]
                .as_str()
                .starts_with(&number_outlives_prefix(&licence, &number))
        );
    }

    #[test]
    fn a_malformed_key_is_refused_naming_the_value_and_what_is_wrong() {
        let cases = [
            ("renewal", "not three parts joined by /"),
            ("renewal/京B2-20201234", "not three parts joined by /"),
            (
                "renew/京B2-20201234/2027-06-30",
                "\"renew\" is not a kind of obligation",
            ),
            ("renewal/京X9-1/2027-06-30", "licence number \"京X9-1\""),
            (
                "renewal/京B2-20201234/2027-13-01",
                "expiry \"2027-13-01\" is not a date",
            ),
            (
                "annual_report/京B2-20201234/last",
                "year \"last\" is not a year",
            ),
            (
                "change_filing/京B2-20201234/x",
                "change id \"x\" is not a whole number",
            ),
            (
                "number_activation/京B2-20201234/962345",
                "a number and its allocation day expected",
            ),
            (
                "annual_report/京B2-20201234/02025",
                "not in the form licwatch writes",
            ),
        ];
        for (input, problem) in cases {
            let err = input.parse::<ObligationKey>().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("obligation key \"{input}\": ")),
                "{err}"
            );
            assert!(err.contains(problem), "{input}: {err}");
            assert!(
                err.contains("e.g. renewal/京B2-20201234/2027-06-30"),
                "{err}"
            );
        }
    }
}
