//! 增值电信业务经营许可证 numbers and the business items a licence carries.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::province::Province;
use super::text::normalize;

/// Which class of value-added services the licence covers: the `B1`, `B2` or
/// `B1.B2` between the province and the digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LicenceClass {
    B1,
    B2,
    B1B2,
}

impl LicenceClass {
    fn as_str(self) -> &'static str {
        match self {
            LicenceClass::B1 => "B1",
            LicenceClass::B2 => "B2",
            LicenceClass::B1B2 => "B1.B2",
        }
    }

    pub fn covers(self, item: ItemCode) -> bool {
        match self {
            LicenceClass::B1 => item.class() == 1,
            LicenceClass::B2 => item.class() == 2,
            LicenceClass::B1B2 => true,
        }
    }
}

/// 全网 (nationwide, issued by MIIT) or 地网 (one province).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Nationwide,
    Provincial(Province),
}

impl Scope {
    pub fn authority(self) -> String {
        match self {
            Scope::Nationwide => "工业和信息化部".to_owned(),
            Scope::Provincial(province) => province.authority(),
        }
    }

    pub fn label(self) -> String {
        match self {
            Scope::Nationwide => "全网".to_owned(),
            Scope::Provincial(province) => format!("地网（{}）", province.name()),
        }
    }
}

/// A licence number in its printed form, e.g. `京B2-20201234`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenceNo {
    province: Option<Province>,
    class: LicenceClass,
    /// Year of first issue and serial: always 8 ASCII digits. An array, not
    /// a String: a large agenda holds tens of thousands of these.
    digits: [u8; 8],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "licence number \"{value}\": {problem} (expected B2-20201234, 京B2-20201234 or B1.B2-20090001)"
)]
pub struct LicenceNoError {
    pub value: String,
    pub problem: String,
}

impl LicenceNo {
    pub fn scope(&self) -> Scope {
        match self.province {
            None => Scope::Nationwide,
            Some(province) => Scope::Provincial(province),
        }
    }

    pub fn class(&self) -> LicenceClass {
        self.class
    }

    /// The year of first issue: the number's first four digits.
    pub fn first_issue_year(&self) -> i32 {
        self.digits[..4]
            .iter()
            .fold(0, |year, digit| year * 10 + i32::from(digit - b'0'))
    }
}

impl FromStr for LicenceNo {
    type Err = LicenceNoError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |problem: String| LicenceNoError {
            value: input.to_owned(),
            problem,
        };
        // As the register stores it, a number needs neither pass (each a
        // copy): the due query reads tens of thousands of them.
        let canonical = input
            .chars()
            .all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '-' | '.' | '\u{4E00}'..='\u{9FFF}'));
        let text: std::borrow::Cow<str> = if canonical {
            input.into()
        } else {
            normalize(input).to_uppercase().into()
        };
        if text.is_empty() {
            return Err(error("is empty".into()));
        }
        if text.contains("ICP") {
            return Err(error(
                "is an ICP number, not a B-class 增值电信业务经营许可证".into(),
            ));
        }
        let first = text.chars().next().expect("checked non-empty above");
        let (province, rest) = if first.is_ascii() {
            (None, &*text)
        } else {
            let province = Province::from_abbreviation(first).ok_or_else(|| {
                error(format!(
                    "\"{first}\" is not a province abbreviation (accepted: {})",
                    Province::accepted_abbreviations()
                ))
            })?;
            (Some(province), &text[first.len_utf8()..])
        };
        let Some((class, digits)) = rest.split_once('-') else {
            return Err(error("no \"-\" between the class and the digits".into()));
        };
        let class = match class {
            "B1" => LicenceClass::B1,
            "B2" => LicenceClass::B2,
            "B1.B2" => LicenceClass::B1B2,
            other => {
                return Err(error(format!("class \"{other}\" is not B1, B2 or B1.B2")));
            }
        };
        let Some(digits) = <[u8; 8]>::try_from(digits.as_bytes())
            .ok()
            .filter(|digits| digits.iter().all(u8::is_ascii_digit))
        else {
            return Err(error(format!(
                "expected 8 digits after \"{}-\", found \"{digits}\"",
                class.as_str()
            )));
        };
        Ok(LicenceNo {
            province,
            class,
            digits,
        })
    }
}

impl fmt::Display for LicenceNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Made on the stack and written once: every obligation key holds a
        // licence number, and a due query makes tens of thousands of keys.
        // A province character is at most 4 bytes, "B1.B2-" 6, the digits 8.
        let mut text = [0u8; 18];
        let mut len = 0;
        if let Some(province) = self.province {
            len = province.abbreviation().encode_utf8(&mut text).len();
        }
        for part in [self.class.as_str().as_bytes(), b"-", &self.digits] {
            text[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        f.write_str(std::str::from_utf8(&text[..len]).expect("a character, then ASCII"))
    }
}

/// Business items of the 2015 catalogue (电信业务分类目录), B1 and B2 classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemCode {
    B11,
    B12,
    B13,
    B14,
    B21,
    B22,
    B23,
    B24,
    B25,
    B26,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ItemError {
    #[error(
        "items \"{value}\": \"{code}\" is not a business item code (accepted: {})",
        ItemCode::accepted()
    )]
    Unknown { value: String, code: String },
    #[error("items \"{value}\": no item given (e.g. B24, or B24,B25)")]
    Empty { value: String },
    #[error("items: {item} is a class-{} item, which a {licence} licence does not cover", item.class())]
    NotCovered { item: ItemCode, licence: String },
}

impl ItemCode {
    pub const ALL: [ItemCode; 10] = [
        ItemCode::B11,
        ItemCode::B12,
        ItemCode::B13,
        ItemCode::B14,
        ItemCode::B21,
        ItemCode::B22,
        ItemCode::B23,
        ItemCode::B24,
        ItemCode::B25,
        ItemCode::B26,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ItemCode::B11 => "B11",
            ItemCode::B12 => "B12",
            ItemCode::B13 => "B13",
            ItemCode::B14 => "B14",
            ItemCode::B21 => "B21",
            ItemCode::B22 => "B22",
            ItemCode::B23 => "B23",
            ItemCode::B24 => "B24",
            ItemCode::B25 => "B25",
            ItemCode::B26 => "B26",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ItemCode::B11 => "互联网数据中心业务",
            ItemCode::B12 => "内容分发网络业务",
            ItemCode::B13 => "国内互联网虚拟专用网业务",
            ItemCode::B14 => "互联网接入服务业务",
            ItemCode::B21 => "在线数据处理与交易处理业务",
            ItemCode::B22 => "国内多方通信服务业务",
            ItemCode::B23 => "存储转发类业务",
            ItemCode::B24 => "国内呼叫中心业务",
            ItemCode::B25 => "信息服务业务",
            ItemCode::B26 => "编码和规程转换业务",
        }
    }

    /// 1 for 第一类, 2 for 第二类增值电信业务.
    pub fn class(self) -> u8 {
        if self <= ItemCode::B14 { 1 } else { 2 }
    }

    fn accepted() -> String {
        ItemCode::ALL
            .iter()
            .map(|item| format!("{} {}", item.code(), item.name_zh()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parses a list such as `B24,B25` (also `、`, `，`, `;` or spaces between
    /// codes); sorted, without repeats.
    pub fn parse_list(input: &str) -> Result<Vec<ItemCode>, ItemError> {
        let text = normalize(input).to_uppercase();
        let mut items = Vec::new();
        for code in text
            .split([',', '、', ';', ' ', '/'])
            .filter(|code| !code.is_empty())
        {
            let item = ItemCode::ALL
                .into_iter()
                .find(|item| item.code() == code)
                .ok_or_else(|| ItemError::Unknown {
                    value: input.to_owned(),
                    code: code.to_owned(),
                })?;
            items.push(item);
        }
        if items.is_empty() {
            return Err(ItemError::Empty {
                value: input.to_owned(),
            });
        }
        items.sort();
        items.dedup();
        Ok(items)
    }

    /// Refuses items the licence's class cannot carry: B24 on a `B1-` licence.
    pub fn check_covered(items: &[ItemCode], licence: &LicenceNo) -> Result<(), ItemError> {
        match items.iter().find(|item| !licence.class().covers(**item)) {
            Some(item) => Err(ItemError::NotCovered {
                item: *item,
                licence: licence.to_string(),
            }),
            None => Ok(()),
        }
    }

    pub fn join(items: &[ItemCode]) -> String {
        items
            .iter()
            .map(|item| item.code())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests;
