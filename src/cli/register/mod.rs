//! The register commands, one file per thing the register holds; the
//! argument readers and JSON shapes they share are here.

pub(crate) mod company;
pub(super) mod history;
pub(crate) mod licence;
pub(super) mod marks;
pub(crate) mod number;

use anyhow::bail;
use serde_json::json;

use crate::domain::obligation::change_filing_due;
use crate::domain::policy::Policy;
use crate::domain::uscc::Uscc;
use crate::store::{ChangeRow, Company, Licence, NumberRow, check_email};

pub(super) fn uscc_arg(text: &str) -> anyhow::Result<Uscc> {
    Ok(text.parse()?)
}

pub(super) fn emails(list: &[String]) -> anyhow::Result<Vec<String>> {
    list.iter()
        .map(|email| check_email(email).map_err(anyhow::Error::msg))
        .collect()
}

pub(super) fn company_json(company: &Company) -> serde_json::Value {
    json!({
        "uscc": company.uscc.as_str(),
        "name": company.name,
        "address": company.address,
        "legal_rep": company.legal_rep,
        "emails": company.emails,
        "routes": company.routes,
    })
}

pub(super) fn licence_json(licence: &Licence) -> serde_json::Value {
    json!({
        "licence": licence.number.to_string(),
        "scope": licence.number.scope().label(),
        "company": licence.company,
        "holder": licence.holder.as_str(),
        "items": licence.items.iter().map(|i| i.code()).collect::<Vec<_>>(),
        "issued": licence.issued.to_string(),
        "expires": licence.expires.to_string(),
        "ended_on": licence.ended_on.map(|d| d.to_string()),
        "end_reason": licence.end_reason,
        "authority": licence.authority,
    })
}

pub(super) fn number_json(number: &NumberRow) -> serde_json::Value {
    json!({
        "number": number.number.as_str(),
        "province": number.province.map(|p| p.abbreviation().to_string()),
        "licence": number.licence.to_string(),
        "allocated": number.allocated.to_string(),
        "activated_on": number.activated_on.map(|d| d.to_string()),
        "carrier": number.carrier,
        "direction": number.direction.map(|d| d.code()),
        "released_on": number.released_on.map(|d| d.to_string()),
    })
}

pub(super) fn number_label(number: &NumberRow) -> String {
    match number.province {
        Some(p) => format!("{} ({})", number.number, p.abbreviation()),
        None => number.number.to_string(),
    }
}

pub(super) fn changes_text(changes: &[ChangeRow], policy: &Policy) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "recorded change #{} ({}) on {} for {}: file it by {} (licwatch change file {} --on DATE)",
                c.id,
                c.kind.code(),
                c.changed_on,
                c.licence,
                change_filing_due(c.changed_on, policy),
                c.id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn non_empty(field: &str, value: &str) -> anyhow::Result<String> {
    let value = value.trim();
    if value.is_empty() {
        bail!("{field}: empty (give the text as registered)");
    }
    Ok(value.to_owned())
}

/// [`non_empty`] for a field that may be left out: `None` when it was.
pub(super) fn non_empty_if_given(
    field: &str,
    value: Option<&str>,
) -> anyhow::Result<Option<String>> {
    value.map(|value| non_empty(field, value)).transpose()
}
