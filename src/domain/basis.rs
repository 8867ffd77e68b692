//! The rule book: what the law says happens when an obligation is missed,
//! and where it says so.
//!
//! Every text licwatch shows a person about a legal consequence comes from
//! here, with its basis: the document, the article and a short quote of the
//! statute's own words, each checked against at least two published copies
//! (README, "The rules and their basis", lists them). Where only practice
//! (a consultancy page, an authority's yearly notice) gives a figure, the text
//! says "按实践" / "in practice", cites nothing, and the figure is a setting
//! in `Policy`.

use super::obligation::{ObligationKind, State};

/// A regulation licwatch cites, in its current revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 《中华人民共和国电信条例》, 2000 (国务院令第291号), revised 2014
    /// (第653号) and 2016 (第666号); the 2016 text is the latest that the
    /// published copies name.
    TelecomRegulations,
    /// 《电信业务经营许可管理办法》, 工业和信息化部令第42号 (2017).
    LicensingMeasures,
}

impl Document {
    pub fn title_zh(self) -> &'static str {
        match self {
            Document::TelecomRegulations => "《中华人民共和国电信条例》（2016年修订）",
            Document::LicensingMeasures => "《电信业务经营许可管理办法》（工业和信息化部令第42号）",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            Document::TelecomRegulations => {
                "Telecommunications Regulations of the PRC (2016 revision)"
            }
            Document::LicensingMeasures => {
                "Measures on Telecom Business Licensing (MIIT Order No. 42)"
            }
        }
    }

    /// The stable name used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Document::TelecomRegulations => "telecom_regulations_2016",
            Document::LicensingMeasures => "licensing_measures_miit_42",
        }
    }
}

/// One article of one document, with a short quote of its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Citation {
    pub document: Document,
    /// As the statute numbers it: `第六十九条`, `第七条第三款`.
    pub article: &'static str,
    /// The same in English: `Art. 69`.
    pub article_en: &'static str,
    /// The statute's words, unchanged (an ellipsis marks a cut).
    pub quote: &'static str,
}

impl Citation {
    pub fn zh(&self) -> String {
        format!(
            "{}{}：“{}”",
            self.document.title_zh(),
            self.article,
            self.quote
        )
    }

    pub fn en(&self) -> String {
        format!(
            "{}, {}: “{}”",
            self.document.title_en(),
            self.article_en,
            self.quote
        )
    }
}

/// Where a statement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The articles that say it.
    Cited(&'static [Citation]),
    /// Only practice says it: the text is marked so and cites nothing.
    Practice,
}

impl Basis {
    /// The citations with their quotes, the document named once for a run
    /// of its articles.
    pub fn zh(&self) -> String {
        self.render("按实践，无条文依据", |c, new_document, first| {
            let separator = if first { "" } else { "；" };
            let title = if new_document {
                c.document.title_zh()
            } else {
                ""
            };
            format!("{separator}{title}{}：“{}”", c.article, c.quote)
        })
    }

    pub fn en(&self) -> String {
        self.render(
            "in practice; no article says so",
            |c, new_document, first| {
                let separator = if first { "" } else { "; " };
                let title = if new_document {
                    format!("{}, ", c.document.title_en())
                } else {
                    String::new()
                };
                format!("{separator}{title}{}: “{}”", c.article_en, c.quote)
            },
        )
    }

    /// The citations without their quotes, for a reminder: the document
    /// named once, its articles after it. The quotes are in `explain` and
    /// the agenda's JSON.
    pub fn zh_short(&self) -> String {
        self.render("按实践，无条文依据", |c, new_document, first| match (
            new_document,
            first,
        ) {
            (true, true) => format!("{}{}", c.document.title_zh(), c.article),
            (true, false) => format!("；{}{}", c.document.title_zh(), c.article),
            (false, _) => format!("、{}", c.article),
        })
    }

    pub fn en_short(&self) -> String {
        self.render(
            "in practice; no article says so",
            |c, new_document, first| match (new_document, first) {
                (true, true) => format!("{}, {}", c.document.title_en(), c.article_en),
                (true, false) => format!("; {}, {}", c.document.title_en(), c.article_en),
                (false, _) => format!(", {}", c.article_en),
            },
        )
    }

    /// `Practice` as `practice`; each citation through `each`, told whether
    /// its document is new in the run and whether it is the first.
    fn render(&self, practice: &str, each: impl Fn(&Citation, bool, bool) -> String) -> String {
        match self {
            Basis::Cited(citations) => citations
                .iter()
                .enumerate()
                .map(|(index, citation)| {
                    let new_document =
                        index == 0 || citations[index - 1].document != citation.document;
                    each(citation, new_document, index == 0)
                })
                .collect(),
            Basis::Practice => practice.to_owned(),
        }
    }

    pub fn citations(&self) -> &'static [Citation] {
        match self {
            Basis::Cited(citations) => citations,
            Basis::Practice => &[],
        }
    }
}

/// What happens when an obligation is missed, in both languages, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consequence {
    pub zh: &'static str,
    pub en: &'static str,
    pub basis: Basis,
}

/// 第七条第三款: a licence is needed to operate at all.
pub const REGULATIONS_7_3: Citation = Citation {
    document: Document::TelecomRegulations,
    article: "第七条第三款",
    article_en: "Art. 7(3)",
    quote: "未取得电信业务经营许可证，任何组织或者个人不得从事电信业务经营活动",
};

/// 第六十九条: the penalty for operating without a licence (一) and for
/// using, transferring or leasing telecom resources without leave (三).
pub const REGULATIONS_69: Citation = Citation {
    document: Document::TelecomRegulations,
    article: "第六十九条",
    article_en: "Art. 69",
    quote: "责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿",
};

/// 第六十九条第（三）项: numbers are telecom resources.
pub const REGULATIONS_69_3: Citation = Citation {
    document: Document::TelecomRegulations,
    article: "第六十九条第（三）项",
    article_en: "Art. 69(3)",
    quote: "擅自使用、转让、出租电信资源或者改变电信资源用途的",
};

/// 第三十五条: the annual report, in the first quarter.
pub const MEASURES_35: Citation = Citation {
    document: Document::LicensingMeasures,
    article: "第三十五条",
    article_en: "Art. 35",
    quote: "电信业务经营者应当在每年第一季度通过管理平台向发证机关报告下列信息：（一）上一年度的电信业务经营情况",
};

/// 第三十八条: when a missing annual report leads to 不良名单.
pub const MEASURES_38: Citation = Citation {
    document: Document::LicensingMeasures,
    article: "第三十八条",
    article_en: "Art. 38",
    quote: "电信管理机构发现电信业务经营者未按照本办法第三十五条的规定报告年报信息的，应当要求其限期报告。电信业务经营者未按照电信管理机构要求的期限报告年报信息的，由电信管理机构列入电信业务经营不良名单",
};

const OPERATING_UNLICENSED: &[Citation] = &[REGULATIONS_7_3, REGULATIONS_69];
const NUMBER_UNLICENSED: &[Citation] = &[REGULATIONS_7_3, REGULATIONS_69, REGULATIONS_69_3];

pub const RENEWAL_MISSED: Consequence = Consequence {
    zh: "许可证有效期届满而未获延续（续期）的，继续经营即属未取得许可证经营电信业务：由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。",
    en: "Operating after the licence expires without a renewal (延续) is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.",
    basis: Basis::Cited(OPERATING_UNLICENSED),
};

pub const RENEWAL_EXPIRED: Consequence = Consequence {
    zh: "许可证已过有效期，不能再申请延续：须停止经营电信业务，并登记许可证终止；如需继续经营，须重新申请许可证。停止前继续经营即属未取得许可证经营电信业务，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。",
    en: "The licence has expired and can no longer be renewed: stop the telecom business and record the licence as ended; to carry on, apply for a new licence. Operating meanwhile is operating without a licence: the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.",
    basis: Basis::Cited(OPERATING_UNLICENSED),
};

pub const REPORT_MISSED: Consequence = Consequence {
    zh: "未按期报送年报的，电信管理机构应当要求限期报告；仍未按其要求的期限报告的，列入电信业务经营不良名单。",
    en: "When the annual report is missing, the authority sets a further deadline; a company that misses that one too is put on the list of poorly-performing operators (不良名单).",
    basis: Basis::Cited(&[MEASURES_38]),
};

pub const CHANGE_MISSED: Consequence = Consequence {
    zh: "按实践，逾期未办理变更手续的，由电信管理机构依法处理；受到行政处罚的，列入电信业务经营不良名单。未见任何条文规定许可证因此失效。",
    en: "In practice, the authority deals with an unfiled change under the law, and a company penalised for it is put on the list of poorly-performing operators (不良名单). No article says the licence becomes invalid.",
    basis: Basis::Practice,
};

pub const ACTIVATION_MISSED: Consequence = Consequence {
    zh: "按实践，分配后约六个月仍未启用的码号会被收回。启用前须报备接入的运营商、用途及呼入/呼出方式（默认仅呼入）。",
    en: "In practice, a number not put into service within about six months of allocation is taken back. Before opening it, file the carrier, its use and whether it is inbound, outbound or both (default inbound only).",
    basis: Basis::Practice,
};

pub const NUMBER_OUTLIVES: Consequence = Consequence {
    zh: "码号随许可证使用：许可证失效后继续使用码号，即属未取得许可证经营电信业务并擅自使用电信资源，由电信管理机构责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿。",
    en: "A number is used under its licence: using it after the licence ended is operating without a licence and using a telecom resource without leave; the authority orders it corrected, confiscates the illegal income and fines 3 to 5 times that income, or RMB 100,000 to 1,000,000 when there is none or it is below RMB 50,000; in serious cases the business is suspended for rectification.",
    basis: Basis::Cited(NUMBER_UNLICENSED),
};

/// Every consequence, for the test that each has a basis.
pub const ALL: &[Consequence] = &[
    RENEWAL_MISSED,
    RENEWAL_EXPIRED,
    REPORT_MISSED,
    CHANGE_MISSED,
    ACTIVATION_MISSED,
    NUMBER_OUTLIVES,
];

/// What missing this obligation leads to, as it stands on `state`.
pub fn consequence(kind: ObligationKind, state: State) -> &'static Consequence {
    match (kind, state) {
        (ObligationKind::Renewal, State::Expired) => &RENEWAL_EXPIRED,
        (ObligationKind::Renewal, _) => &RENEWAL_MISSED,
        (ObligationKind::AnnualReport, _) => &REPORT_MISSED,
        (ObligationKind::ChangeFiling, _) => &CHANGE_MISSED,
        (ObligationKind::NumberActivation, _) => &ACTIVATION_MISSED,
        (ObligationKind::NumberOutlivesLicence, _) => &NUMBER_OUTLIVES,
    }
}

/// Where the obligation itself (its deadline) comes from. The renewal's 90
/// days and the change filing's 30 days are printed in every consultancy's
/// summary of the 办法, but no two published copies of the statute with its
/// article numbers were found: they stay settings, said "in practice".
pub fn obligation_basis(kind: ObligationKind) -> Basis {
    match kind {
        ObligationKind::AnnualReport => Basis::Cited(&[MEASURES_35]),
        ObligationKind::NumberOutlivesLicence => Basis::Cited(&[REGULATIONS_7_3]),
        ObligationKind::Renewal
        | ObligationKind::ChangeFiling
        | ObligationKind::NumberActivation => Basis::Practice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [ObligationKind; 5] = [
        ObligationKind::Renewal,
        ObligationKind::AnnualReport,
        ObligationKind::ChangeFiling,
        ObligationKind::NumberActivation,
        ObligationKind::NumberOutlivesLicence,
    ];
    const STATES: [State; 3] = [State::Open, State::Overdue, State::Expired];

    fn check_basis(basis: &Basis, text: &str) {
        match basis {
            Basis::Cited(citations) => {
                assert!(!citations.is_empty(), "no citation for: {text}");
                for citation in *citations {
                    assert!(
                        citation.article.starts_with('第') && citation.article.contains('条'),
                        "not an article: {:?}",
                        citation.article
                    );
                    assert!(citation.article_en.starts_with("Art. "));
                    assert!(!citation.quote.is_empty(), "no quote: {citation:?}");
                }
                assert!(
                    !text.contains("按实践"),
                    "cited but says in practice: {text}"
                );
            }
            // Practice must say so in the text itself, in both languages.
            Basis::Practice => assert!(text.starts_with("按实践"), "uncited: {text}"),
        }
    }

    #[test]
    fn every_consequence_has_a_basis_with_an_article_or_says_in_practice() {
        for consequence in ALL {
            check_basis(&consequence.basis, consequence.zh);
            if consequence.basis == Basis::Practice {
                assert!(
                    consequence.en.starts_with("In practice"),
                    "{}",
                    consequence.en
                );
            }
        }
        for kind in KINDS {
            for state in STATES {
                let consequence = consequence(kind, state);
                assert!(ALL.contains(consequence), "{kind:?} {state:?} not in ALL");
            }
        }
    }

    /// The figures of the consultancy page ("1~10倍", "黑名单", "3年内不得申请")
    /// and the invented "视为无效" must not come back.
    #[test]
    fn no_consequence_states_what_no_article_says() {
        for consequence in ALL {
            for wrong in [
                "1至10倍",
                "1~10倍",
                "黑名单",
                "3年内不得",
                "视为无效",
                "被视为",
            ] {
                assert!(
                    !consequence.zh.contains(wrong),
                    "{wrong} in {}",
                    consequence.zh
                );
            }
            assert!(!consequence.en.contains("1 to 10"), "{}", consequence.en);
        }
    }

    #[test]
    fn a_citation_reads_document_article_and_quote() {
        assert_eq!(
            REGULATIONS_7_3.zh(),
            "《中华人民共和国电信条例》（2016年修订）第七条第三款：“未取得电信业务经营许可证，任何组织或者个人不得从事电信业务经营活动”"
        );
        assert_eq!(Basis::Practice.en(), "in practice; no article says so");
        let mixed = Basis::Cited(&[REGULATIONS_7_3, REGULATIONS_69, MEASURES_38]);
        assert_eq!(
            mixed.zh_short(),
            "《中华人民共和国电信条例》（2016年修订）第七条第三款、第六十九条；《电信业务经营许可管理办法》（工业和信息化部令第42号）第三十八条"
        );
        assert_eq!(
            mixed.en_short(),
            "Telecommunications Regulations of the PRC (2016 revision), Art. 7(3), Art. 69; Measures on Telecom Business Licensing (MIIT Order No. 42), Art. 38"
        );
        assert_eq!(
            Basis::Cited(&[REGULATIONS_69, REGULATIONS_69_3, MEASURES_38]).en(),
            "Telecommunications Regulations of the PRC (2016 revision), Art. 69: “责令改正，没收违法所得，处违法所得3倍以上5倍以下罚款；没有违法所得或者违法所得不足5万元的，处10万元以上100万元以下罚款；情节严重的，责令停业整顿”; Art. 69(3): “擅自使用、转让、出租电信资源或者改变电信资源用途的”; Measures on Telecom Business Licensing (MIIT Order No. 42), Art. 38: “电信管理机构发现电信业务经营者未按照本办法第三十五条的规定报告年报信息的，应当要求其限期报告。电信业务经营者未按照电信管理机构要求的期限报告年报信息的，由电信管理机构列入电信业务经营不良名单”"
        );
    }
}
