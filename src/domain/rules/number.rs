//! A number's facts: its allocating province and what it needs of its
//! licence (先证后号).

use chrono::NaiveDate;

use super::RuleError;
use crate::domain::licence::{ItemCode, LicenceNo, Scope};
use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;

/// The allocating province of a number under `licence`: none for a 95 or
/// 1010 number, which only a 全网 licence holds; a 地网 licence's own province
/// for a 96 number under it; the one given for a 96 number under a 全网
/// licence, which must name it.
pub fn number_province(
    number: &ServiceNumber,
    licence: &LicenceNo,
    given: Option<Province>,
) -> Result<Option<Province>, RuleError> {
    match (number.is_provincial(), licence.scope(), given) {
        (false, _, Some(given)) => Err(RuleError::ProvinceOnNationwideNumber {
            given: given.name(),
            number: number.clone(),
        }),
        (false, Scope::Provincial(own), None) => Err(RuleError::NationwideNumberUnderProvincial {
            number: number.clone(),
            licence: licence.clone(),
            province: own.name(),
        }),
        (false, Scope::Nationwide, None) => Ok(None),
        (true, Scope::Provincial(own), None) => Ok(Some(own)),
        (true, Scope::Provincial(own), Some(given)) if given == own => Ok(Some(own)),
        (true, Scope::Provincial(own), Some(given)) => Err(RuleError::ProvinceNotLicence {
            given: given.name(),
            licence: licence.clone(),
            own: own.name(),
        }),
        (true, Scope::Nationwide, Some(given)) => Ok(Some(given)),
        (true, Scope::Nationwide, None) => Err(RuleError::ProvinceMissing {
            number: number.clone(),
            licence: licence.clone(),
        }),
    }
}

/// What a number needs of its licence (先证后号): B24 among its items, and
/// the allocation day within its validity. `last_day` is the licence's
/// expiry or earlier end.
pub fn number_under_licence(
    number: &ServiceNumber,
    licence: &LicenceNo,
    items: &[ItemCode],
    issued: NaiveDate,
    last_day: NaiveDate,
    allocated: NaiveDate,
) -> Result<(), RuleError> {
    if !items.contains(&ItemCode::B24) {
        return Err(RuleError::NoB24 {
            number: number.clone(),
            licence: licence.clone(),
            items: ItemCode::join(items),
        });
    }
    if allocated < issued || allocated > last_day {
        return Err(RuleError::AllocatedOutsideValidity {
            allocated,
            licence: licence.clone(),
            issued,
            last_day,
        });
    }
    Ok(())
}
