//! The 31 provincial-level administrations that issue 地网 licences, each with
//! the one-character abbreviation printed on its licence numbers.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Province(usize);

struct ProvinceData {
    /// The form printed on licence numbers; what we normalise to.
    abbreviation: char,
    /// The other one-character form in use, accepted on input.
    alternate: Option<char>,
    name: &'static str,
}

const fn p(abbreviation: char, alternate: Option<char>, name: &'static str) -> ProvinceData {
    ProvinceData {
        abbreviation,
        alternate,
        name,
    }
}

const PROVINCES: [ProvinceData; 31] = [
    p('京', None, "北京市"),
    p('津', None, "天津市"),
    p('沪', None, "上海市"),
    p('渝', None, "重庆市"),
    p('冀', None, "河北省"),
    p('晋', None, "山西省"),
    p('蒙', None, "内蒙古自治区"),
    p('辽', None, "辽宁省"),
    p('吉', None, "吉林省"),
    p('黑', None, "黑龙江省"),
    p('苏', None, "江苏省"),
    p('浙', None, "浙江省"),
    p('皖', None, "安徽省"),
    p('闽', None, "福建省"),
    p('赣', None, "江西省"),
    p('鲁', None, "山东省"),
    p('豫', None, "河南省"),
    p('鄂', None, "湖北省"),
    p('湘', None, "湖南省"),
    p('粤', None, "广东省"),
    p('桂', None, "广西壮族自治区"),
    p('琼', None, "海南省"),
    p('川', Some('蜀'), "四川省"),
    p('黔', Some('贵'), "贵州省"),
    p('滇', Some('云'), "云南省"),
    p('藏', None, "西藏自治区"),
    p('陕', Some('秦'), "陕西省"),
    p('甘', Some('陇'), "甘肃省"),
    p('青', None, "青海省"),
    p('宁', None, "宁夏回族自治区"),
    p('新', None, "新疆维吾尔自治区"),
];

impl Province {
    pub fn all() -> impl Iterator<Item = Province> {
        (0..PROVINCES.len()).map(Province)
    }

    /// Either abbreviation (川 or 蜀), or the full name (四川省).
    pub fn parse(text: &str) -> Option<Province> {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Province::from_abbreviation(c);
        }
        PROVINCES
            .iter()
            .position(|data| data.name == text)
            .map(Province)
    }

    pub fn from_abbreviation(c: char) -> Option<Province> {
        PROVINCES
            .iter()
            .position(|data| data.abbreviation == c || data.alternate == Some(c))
            .map(Province)
    }

    pub fn abbreviation(self) -> char {
        PROVINCES[self.0].abbreviation
    }

    pub fn name(self) -> &'static str {
        PROVINCES[self.0].name
    }

    /// The issuing authority of this province's 地网 licences.
    pub fn authority(self) -> String {
        format!("{}通信管理局", self.name())
    }

    pub fn accepted_abbreviations() -> String {
        PROVINCES
            .iter()
            .map(|data| match data.alternate {
                Some(alt) => format!("{}/{}", data.abbreviation, alt),
                None => data.abbreviation.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for Province {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.abbreviation())
    }
}

#[cfg(test)]
mod tests {
    use super::Province;

    #[test]
    fn every_abbreviation_is_unique_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for province in Province::all() {
            assert!(seen.insert(province.abbreviation()));
            assert_eq!(
                Province::from_abbreviation(province.abbreviation()),
                Some(province)
            );
            assert_eq!(Province::parse(province.name()), Some(province));
        }
        assert_eq!(seen.len(), 31);
    }

    #[test]
    fn alternate_forms_map_to_the_printed_form() {
        for (alt, printed) in [
            ('蜀', '川'),
            ('贵', '黔'),
            ('云', '滇'),
            ('秦', '陕'),
            ('陇', '甘'),
        ] {
            assert_eq!(
                Province::from_abbreviation(alt).unwrap().abbreviation(),
                printed
            );
        }
    }

    #[test]
    fn authority_names_the_provincial_administration() {
        assert_eq!(
            Province::parse("京").unwrap().authority(),
            "北京市通信管理局"
        );
        assert_eq!(
            Province::parse("桂").unwrap().authority(),
            "广西壮族自治区通信管理局"
        );
    }
}
