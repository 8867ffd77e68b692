//! The import format's columns: the names agencies use for each, and which
//! cell of a sheet holds which field.

use thiserror::Error;

use crate::cli::sheet::{Cell, Line};
use crate::domain::text::normalize;
use crate::store::Field;

pub struct Column {
    pub field: Field,
    /// The header export writes to CSV and XLSX.
    pub chinese: &'static str,
    /// The header export writes to JSON; import takes either.
    pub english: &'static str,
    /// Other headers seen in clients' sheets.
    pub(super) aliases: &'static [&'static str],
}

const fn column(
    field: Field,
    chinese: &'static str,
    english: &'static str,
    aliases: &'static [&'static str],
) -> Column {
    Column {
        field,
        chinese,
        english,
        aliases,
    }
}

/// Every column, in `Field` order, which is the order export writes. The
/// aliases are the names agencies' own sheets use (docs/agency.md lists
/// them); a header matches after [`header_key`] folds both.
pub const COLUMNS: [Column; 24] = [
    column(
        Field::LicenceNumber,
        "许可证编号",
        "licence_number",
        &[
            "license_number",
            "licence_no",
            "license_no",
            "许可证号",
            "许可证号码",
            "证书编号",
            "经营许可证编号",
            "经营许可证号",
            "增值电信业务经营许可证编号",
            "许可证",
        ],
    ),
    column(
        Field::HolderName,
        "持证单位",
        "holder_name",
        &[
            "holder",
            "company",
            "company_name",
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "持证公司",
            "经营者名称",
            "客户",
        ],
    ),
    column(
        Field::Uscc,
        "统一社会信用代码",
        "uscc",
        &[
            "credit_code",
            "信用代码",
            "社会信用代码",
            "统一信用代码",
            "统一代码",
        ],
    ),
    column(
        Field::Items,
        "业务种类",
        "items",
        &["业务类别", "业务类型", "业务种类代码", "经营业务", "业务"],
    ),
    column(
        Field::Issued,
        "发证日期",
        "issued",
        &[
            "issue_date",
            "颁发日期",
            "发证时间",
            "发证日",
            "首次发证日期",
        ],
    ),
    column(
        Field::Expires,
        "有效期至",
        "expires",
        &[
            "expiry",
            "expiry_date",
            "valid_until",
            "到期日期",
            "到期日",
            "到期时间",
            "有效期截止",
            "有效期截止日期",
            "有效期截至",
            "截止日期",
        ],
    ),
    column(
        Field::Number,
        "码号",
        "number",
        &["号码", "呼叫中心号码", "接入号码", "接入号", "码号号码"],
    ),
    column(
        Field::NumberProvince,
        "码号省份",
        "number_province",
        &["号码省份", "码号所属省份"],
    ),
    column(
        Field::Allocated,
        "分配日期",
        "allocated",
        &["码号分配日期", "核配日期", "批复日期"],
    ),
    column(
        Field::Emails,
        "联系邮箱",
        "email",
        &["emails", "邮箱", "电子邮箱", "电子邮件"],
    ),
    column(
        Field::ActivatedOn,
        "启用日期",
        "activated_on",
        &["开通日期", "启用时间"],
    ),
    column(Field::Carrier, "运营商", "carrier", &["接入运营商"]),
    column(Field::Direction, "方向", "direction", &["呼叫方向"]),
    column(
        Field::ReleasedOn,
        "退还日期",
        "released_on",
        &["收回日期", "退号日期"],
    ),
    column(
        Field::Authority,
        "发证机关",
        "authority",
        &["发证机构", "颁发机关", "发证单位"],
    ),
    column(Field::EndedOn, "终止日期", "ended_on", &["注销日期"]),
    column(Field::EndReason, "终止原因", "end_reason", &["注销原因"]),
    column(
        Field::Address,
        "注册地址",
        "address",
        &["地址", "公司地址", "住所"],
    ),
    column(
        Field::LegalRep,
        "法定代表人",
        "legal_rep",
        &["法人", "法人代表", "legal_representative"],
    ),
    column(Field::Contact, "联系人", "contact", &["客户联系人"]),
    column(
        Field::Phone,
        "联系电话",
        "phone",
        &["电话", "手机", "手机号", "联系方式", "联系人电话"],
    ),
    column(
        Field::ReportedThrough,
        "已报年报年度",
        "reported_through",
        &["年报已报至", "已报年度", "年报年度", "已报年报"],
    ),
    column(
        Field::RenewalSubmitted,
        "续期提交日期",
        "renewal_submitted",
        &["续期申请日期", "延续申请日期", "续期日期"],
    ),
    column(
        Field::NotCarriedOut,
        "未开展业务",
        "not_carried_out",
        &["年报未开展业务", "上年未开展业务"],
    ),
];

/// Every row names these.
const REQUIRED: [Field; 2] = [Field::HolderName, Field::Uscc];

/// The licence and number columns: a row that fills none of them, nor
/// any of [`NUMBER_FIELDS`], registers only its company.
pub(super) const LICENCE_FIELDS: [Field; 11] = [
    Field::ReportedThrough,
    Field::RenewalSubmitted,
    Field::NotCarriedOut,
    Field::LicenceNumber,
    Field::Items,
    Field::Issued,
    Field::Expires,
    Field::Authority,
    Field::EndedOn,
    Field::EndReason,
    Field::Number,
];

/// The columns about a number, which mean nothing without 码号.
pub(super) const NUMBER_FIELDS: [Field; 6] = [
    Field::NumberProvince,
    Field::Allocated,
    Field::ActivatedOn,
    Field::Carrier,
    Field::Direction,
    Field::ReleasedOn,
];

pub fn column_of(field: Field) -> &'static Column {
    &COLUMNS[field as usize]
}

/// How a header is compared: full-width forms folded, case ignored, and
/// everything but letters and digits dropped (spaces, `_`, `-`, the `*`
/// of a required column), after a trailing note in brackets such as
/// `有效期至（年月日）`.
pub(super) fn header_key(text: &str) -> String {
    let text = normalize(text);
    let text = match text.strip_suffix(')') {
        Some(rest) => rest
            .rsplit_once('(')
            .map_or(text.as_str(), |(head, _)| head),
        None => text.as_str(),
    };
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The column a header names, if any.
pub(super) fn column_named(header: &str) -> Option<&'static Column> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    COLUMNS.iter().find(|c| {
        header_key(c.chinese) == key
            || header_key(c.english) == key
            || c.aliases.iter().any(|alias| header_key(alias) == key)
    })
}

/// Whether `header` names a column of the import format: what header-row
/// detection counts.
pub fn is_known_header(header: &str) -> bool {
    column_named(header).is_some()
}

/// The accepted headers, once, for a message: each column's Chinese and
/// English name (the aliases are in docs/agency.md).
pub fn accepted_headers() -> String {
    COLUMNS
        .iter()
        .map(|c| format!("{}/{}", c.chinese, c.english))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderProblem {
    #[error(
        "column {position} \"{header}\": not a column of the import format (--strict refuses unknown columns; without it they are ignored)"
    )]
    Unknown { position: usize, header: String },
    #[error("columns {first} and {second} are both {header}: keep one")]
    Twice {
        header: &'static str,
        first: usize,
        second: usize,
    },
    #[error("no {chinese}/{english} column: every row needs one")]
    Missing {
        chinese: &'static str,
        english: &'static str,
    },
    #[error(
        "column {position} has no header but row {row} has a value in it (--strict refuses unnamed columns; without it they are ignored)"
    )]
    Unnamed { position: usize, row: usize },
}

/// Whether columns the format does not know are refused (`--strict`) or
/// ignored and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Ignore,
    Refuse,
}

/// Which cell holds each field, and the header the file used for it.
#[derive(Debug, Clone)]
pub struct Layout {
    pub(super) width: usize,
    /// By `Field as usize`: the cell index and the file's header.
    pub(super) columns: Vec<Option<(usize, String)>>,
    /// The columns left out: their headers, or `column N` for a column
    /// with values but no header.
    pub ignored: Vec<String>,
}

impl Layout {
    pub fn new(
        headers: &[String],
        lines: &[Line],
        unknown: Unknown,
    ) -> Result<Layout, Vec<HeaderProblem>> {
        let mut columns: Vec<Option<(usize, String)>> = vec![None; COLUMNS.len()];
        let mut problems = Vec::new();
        let mut ignored = Vec::new();
        for (index, header) in headers.iter().enumerate() {
            if header_key(header).is_empty() {
                let used = lines.iter().find(|line| {
                    line.cells
                        .get(index)
                        .is_some_and(|cell| *cell != Cell::Empty)
                });
                if let Some(line) = used {
                    match unknown {
                        Unknown::Refuse => problems.push(HeaderProblem::Unnamed {
                            position: index + 1,
                            row: line.row,
                        }),
                        Unknown::Ignore => ignored.push(format!("column {}", index + 1)),
                    }
                }
                continue;
            }
            let Some(column) = column_named(header) else {
                match unknown {
                    Unknown::Refuse => problems.push(HeaderProblem::Unknown {
                        position: index + 1,
                        header: header.clone(),
                    }),
                    Unknown::Ignore => ignored.push(header.trim().to_owned()),
                }
                continue;
            };
            let slot = &mut columns[column.field as usize];
            match slot {
                Some((first, _)) => problems.push(HeaderProblem::Twice {
                    header: column.chinese,
                    first: *first + 1,
                    second: index + 1,
                }),
                None => *slot = Some((index, header.trim().to_owned())),
            }
        }
        for field in REQUIRED {
            if columns[field as usize].is_none() {
                let column = column_of(field);
                problems.push(HeaderProblem::Missing {
                    chinese: column.chinese,
                    english: column.english,
                });
            }
        }
        if problems.is_empty() {
            Ok(Layout {
                width: headers.len(),
                columns,
                ignored,
            })
        } else {
            Err(problems)
        }
    }

    /// The header the file used for `field`, or the Chinese one.
    pub fn header(&self, field: Field) -> &str {
        self.columns[field as usize]
            .as_ref()
            .map_or(column_of(field).chinese, |(_, header)| header.as_str())
    }
}

/// The date columns: cells that may be date cells or serials.
pub fn is_date(field: Field) -> bool {
    matches!(
        field,
        Field::Issued
            | Field::Expires
            | Field::Allocated
            | Field::ActivatedOn
            | Field::ReleasedOn
            | Field::EndedOn
            | Field::RenewalSubmitted
    )
}
