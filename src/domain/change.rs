//! Company changes that must be filed with the issuing authority (变更).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::text::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Name,
    Address,
    LegalRep,
    /// A change of shareholding of more than 5%.
    Shareholding,
    Capital,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "change kind \"{value}\": unknown (accepted: name, address, legal-rep, shareholding, capital)"
)]
pub struct ChangeKindError {
    pub value: String,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Name,
        ChangeKind::Address,
        ChangeKind::LegalRep,
        ChangeKind::Shareholding,
        ChangeKind::Capital,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ChangeKind::Name => "name",
            ChangeKind::Address => "address",
            ChangeKind::LegalRep => "legal-rep",
            ChangeKind::Shareholding => "shareholding",
            ChangeKind::Capital => "capital",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ChangeKind::Name => "公司名称",
            ChangeKind::Address => "注册地址",
            ChangeKind::LegalRep => "法定代表人",
            ChangeKind::Shareholding => "股权（变动超过5%）",
            ChangeKind::Capital => "注册资本",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            ChangeKind::Name => "company name",
            ChangeKind::Address => "registered address",
            ChangeKind::LegalRep => "legal representative",
            ChangeKind::Shareholding => "shareholding (over 5%)",
            ChangeKind::Capital => "registered capital",
        }
    }
}

impl FromStr for ChangeKind {
    type Err = ChangeKindError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = normalize(input).to_lowercase();
        let kind = match text.as_str() {
            "name" | "名称" | "公司名称" => ChangeKind::Name,
            "address" | "地址" | "注册地址" => ChangeKind::Address,
            "legal-rep" | "legal_rep" | "法定代表人" | "法人" => ChangeKind::LegalRep,
            "shareholding" | "股权" => ChangeKind::Shareholding,
            "capital" | "注册资本" => ChangeKind::Capital,
            _ => {
                return Err(ChangeKindError {
                    value: input.to_owned(),
                });
            }
        };
        Ok(kind)
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_chinese_names_are_accepted() {
        for kind in ChangeKind::ALL {
            assert_eq!(kind.code().parse::<ChangeKind>(), Ok(kind));
        }
        assert_eq!("法定代表人".parse::<ChangeKind>(), Ok(ChangeKind::LegalRep));
        assert_eq!(
            "owner".parse::<ChangeKind>().unwrap_err().to_string(),
            "change kind \"owner\": unknown (accepted: name, address, legal-rep, shareholding, capital)"
        );
    }
}
