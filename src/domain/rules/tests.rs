use super::*;
use crate::domain::date::default_expiry;
use crate::domain::licence::ItemCode;
use crate::domain::province::Province;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn lic(text: &str) -> LicenceNo {
    text.parse().unwrap()
}

fn num(text: &str) -> ServiceNumber {
    text.parse().unwrap()
}

#[test]
fn a_term_is_five_years_and_the_day_past_it() {
    let l = lic("京B2-20201234");
    assert_eq!(latest_expiry(d(2020, 3, 1)), d(2025, 3, 1));
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2025, 2, 28), None),
        Ok(())
    );
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2025, 3, 1), None),
        Ok(())
    );
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2025, 3, 2), None)
            .unwrap_err()
            .with_flag(),
        "--expires 2025-03-02: more than five years after 2020-03-01: a licence is valid five years, to 2025-03-01 at the latest (rule: 有效期五年; is it a typo?)"
    );
    // 29 February: the anniversary is 1 March, the usual expiry 28 February.
    assert_eq!(
        licence_dates(&l, d(2020, 2, 29), d(2025, 3, 1), None),
        Ok(())
    );
    assert!(licence_dates(&l, d(2020, 2, 29), d(2025, 3, 2), None).is_err());
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2020, 2, 29), None),
        Err(RuleError::ExpiresBeforeIssued {
            expires: d(2020, 2, 29),
            issued: d(2020, 3, 1)
        })
    );
}

#[test]
fn issue_13_an_expiry_past_9999_is_refused_by_the_rule_not_the_database() {
    let l = lic("京B2-20201234");
    let issued = d(9999, 12, 31);
    let expires = default_expiry(issued, TERM_YEARS);
    assert_eq!(
        licence_dates(&l, issued, expires, None)
            .unwrap_err()
            .with_flag(),
        "--expires +10004-12-30: is after 9999-12-31, the last date the register keeps (rule: dates have four-digit years; give the expiry date)"
    );
    assert_eq!(licence_dates(&l, d(9999, 1, 1), LAST_DATE, None), Ok(()));
}

#[test]
fn a_renewal_mark_lies_within_the_term_and_a_report_follows_its_year() {
    let l = lic("京B2-20201234");
    let (issued, expires) = (d(2020, 3, 1), d(2025, 2, 28));
    assert_eq!(renewal_marked_on(&l, issued, expires, issued), Ok(()));
    assert_eq!(renewal_marked_on(&l, issued, expires, expires), Ok(()));
    assert_eq!(
        renewal_marked_on(&l, issued, expires, d(2020, 2, 29))
            .unwrap_err()
            .with_flag(),
        "--on 2020-02-29: is before licence 京B2-20201234 was issued (2020-03-01) (rule: a renewal is applied for under the licence it renews; check the date, or the licence's --issued)"
    );
    assert!(matches!(
        renewal_marked_on(&l, issued, expires, d(2025, 3, 1)),
        Err(RuleError::RenewalAfterExpiry { .. })
    ));
    // The first and the last day a 2025 report can be marked filed from.
    assert!(report_filed_on(2025, d(2025, 12, 31)).is_err());
    assert_eq!(report_filed_on(2025, d(2026, 1, 1)), Ok(()));
    assert_eq!(
        report_filed_on(2026, d(2026, 12, 1))
            .unwrap_err()
            .with_flag(),
        "--on 2026-12-01: the 2026 annual report cannot be filed before 2027-01-01 (rule: the report on business year Y, 年度, is filed from 1 January Y+1, in the first quarter: 办法第三十五条)"
    );
}

#[test]
fn a_renewal_counts_its_term_from_the_old_expiry() {
    let l = lic("B2-20201234");
    let old = d(2025, 2, 28);
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2030, 2, 28), Some(old)),
        Ok(())
    );
    assert_eq!(
        licence_dates(&l, d(2020, 3, 1), d(2030, 3, 1), Some(old)),
        Ok(())
    );
    assert!(licence_dates(&l, d(2020, 3, 1), d(2030, 3, 2), Some(old)).is_err());
    assert!(licence_dates(&l, d(2020, 3, 1), d(2030, 2, 28), None).is_err());
}

#[test]
fn the_issue_year_is_not_before_the_numbers_year() {
    let l = lic("粤B2-20221234");
    assert_eq!(l.first_issue_year(), 2022);
    assert_eq!(
        licence_dates(&l, d(2022, 1, 1), d(2026, 12, 31), None),
        Ok(())
    );
    assert_eq!(
        licence_dates(&l, d(2027, 1, 1), d(2031, 12, 31), None),
        Ok(())
    );
    assert_eq!(
        licence_dates(&l, d(2021, 12, 31), d(2026, 12, 30), None)
            .unwrap_err()
            .with_flag(),
        "--issued 2021-12-31: is before 2022, the year of first issue in licence number 粤B2-20221234 (rule: the number's first four digits are the year it was first issued)"
    );
}

#[test]
fn dates_after_today_are_refused_and_today_is_not() {
    let today = d(2026, 6, 1);
    assert_eq!(not_after_today(RuleField::On, today, today), Ok(today));
    assert_eq!(
        not_after_today(RuleField::Allocated, d(2026, 6, 2), today)
            .unwrap_err()
            .with_flag(),
        "--allocated 2026-06-02: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)"
    );
}

#[test]
fn the_authority_follows_the_scope() {
    assert_eq!(
        authority(&lic("B2-20201234"), None).unwrap(),
        "工业和信息化部"
    );
    assert_eq!(
        authority(&lic("粤B2-20201234"), Some(" 广东省通信管理局 ")).unwrap(),
        "广东省通信管理局"
    );
    assert_eq!(
        authority(&lic("粤B2-20201234"), Some("工业和信息化部"))
            .unwrap_err()
            .with_flag(),
        "--authority 工业和信息化部: is not who issues licence 粤B2-20201234: a 地网（广东省） licence is issued by 广东省通信管理局 (rule: the authority follows the scope; leave it out and licwatch fills it in)"
    );
}

#[test]
fn every_number_kind_under_every_scope() {
    let national = lic("B2-20201234");
    let local = lic("粤B2-20201234");
    let gd = Province::from_abbreviation('粤').unwrap();
    let bj = Province::from_abbreviation('京').unwrap();
    for n in ["95123", "10101234"] {
        assert_eq!(number_province(&num(n), &national, None), Ok(None));
        assert!(matches!(
            number_province(&num(n), &local, None),
            Err(RuleError::NationwideNumberUnderProvincial { .. })
        ));
        assert!(matches!(
            number_province(&num(n), &national, Some(gd)),
            Err(RuleError::ProvinceOnNationwideNumber { .. })
        ));
    }
    let n96 = num("962345");
    assert_eq!(number_province(&n96, &local, None), Ok(Some(gd)));
    assert_eq!(number_province(&n96, &local, Some(gd)), Ok(Some(gd)));
    assert!(matches!(
        number_province(&n96, &local, Some(bj)),
        Err(RuleError::ProvinceNotLicence { .. })
    ));
    assert_eq!(number_province(&n96, &national, Some(bj)), Ok(Some(bj)));
    assert!(matches!(
        number_province(&n96, &national, None),
        Err(RuleError::ProvinceMissing { .. })
    ));
    assert_eq!(
        number_province(&num("95123"), &local, None)
            .unwrap_err()
            .with_flag(),
        "number 95123: is a nationwide number, and licence 粤B2-20201234 is a 地网 licence of 广东省: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)"
    );
}

#[test]
fn a_number_needs_b24_and_a_valid_licence() {
    let l = lic("B2-20201234");
    let n = num("95123");
    let b24 = [ItemCode::B24];
    let b25 = ItemCode::parse_list("B25").unwrap();
    let (issued, last) = (d(2020, 3, 1), d(2025, 2, 28));
    assert_eq!(
        number_under_licence(&n, &l, &b24, issued, last, issued),
        Ok(())
    );
    assert_eq!(
        number_under_licence(&n, &l, &b24, issued, last, last),
        Ok(())
    );
    assert!(number_under_licence(&n, &l, &b24, issued, last, d(2020, 2, 29)).is_err());
    assert!(number_under_licence(&n, &l, &b24, issued, last, d(2025, 3, 1)).is_err());
    assert_eq!(
        number_under_licence(&n, &l, &b25, issued, last, issued)
            .unwrap_err()
            .with_flag(),
        "number 95123: licence B2-20201234 carries B25, not B24 国内呼叫中心业务 (rule: numbers are allocated only under a licence that carries B24)"
    );
    assert!(licence_still_valid(&n, &l, last, last).is_ok());
    assert!(licence_still_valid(&n, &l, last, d(2025, 3, 1)).is_err());
}

#[test]
fn a_change_is_not_before_the_licence() {
    let l = lic("B2-20201234");
    assert!(change_date(&l, d(2020, 3, 1), d(2020, 3, 1)).is_ok());
    assert!(change_date(&l, d(2020, 3, 1), d(2020, 2, 29)).is_err());
}

#[test]
fn a_renewal_is_on_time_late_or_too_late() {
    let l = lic("B2-20201234");
    let (expires, due) = (d(2025, 2, 28), d(2024, 11, 30));
    assert_eq!(
        renewal_submission(&l, expires, due, due),
        Ok(Timeliness::OnTime)
    );
    assert_eq!(
        renewal_submission(&l, expires, due, d(2024, 12, 1)),
        Ok(Timeliness::Late { due, days: 1 })
    );
    assert_eq!(
        renewal_submission(&l, expires, due, expires),
        Ok(Timeliness::Late { due, days: 90 })
    );
    assert_eq!(
        renewal_submission(&l, expires, due, d(2025, 3, 1))
            .unwrap_err()
            .with_flag(),
        "--on 2025-03-01: is after licence B2-20201234 expired (2025-02-28): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end B2-20201234 --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it"
    );
}
