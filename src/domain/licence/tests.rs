use proptest::prelude::*;

use super::*;

fn parse(s: &str) -> Result<LicenceNo, LicenceNoError> {
    s.parse()
}

#[test]
fn parses_the_three_real_shapes() {
    let nationwide = parse("B2-20201234").unwrap();
    assert_eq!(nationwide.scope(), Scope::Nationwide);
    assert_eq!(nationwide.scope().authority(), "工业和信息化部");
    assert_eq!(nationwide.to_string(), "B2-20201234");

    let beijing = parse("京B2-20201234").unwrap();
    assert_eq!(
        beijing.scope(),
        Scope::Provincial(Province::parse("京").unwrap())
    );
    assert_eq!(beijing.scope().authority(), "北京市通信管理局");
    assert_eq!(beijing.scope().label(), "地网（北京市）");

    let combined = parse("B1.B2-20090001").unwrap();
    assert_eq!(combined.class(), LicenceClass::B1B2);
    assert_eq!(combined.to_string(), "B1.B2-20090001");
}

#[test]
fn normalises_full_width_spaces_case_and_alternate_abbreviations() {
    assert_eq!(
        parse(" 粤Ｂ２－２０１９００４２　").unwrap().to_string(),
        "粤B2-20190042"
    );
    assert_eq!(parse("粤b2-20190042").unwrap().to_string(), "粤B2-20190042");
    assert_eq!(
        parse("贵B2-20190042").unwrap(),
        parse("黔B2-20190042").unwrap()
    );
    assert_eq!(parse("蜀B2-20190042").unwrap().to_string(), "川B2-20190042");
}

#[test]
fn every_province_is_accepted() {
    for province in Province::all() {
        let number = parse(&format!("{}B2-20201234", province.abbreviation())).unwrap();
        assert_eq!(number.scope(), Scope::Provincial(province));
    }
}

#[test]
fn refusals_say_what_was_wrong() {
    let message = |s: &str| parse(s).unwrap_err().to_string();
    assert_eq!(
        message("京ICP证000001号"),
        "licence number \"京ICP证000001号\": is an ICP number, not a B-class 增值电信业务经营许可证 (expected B2-20201234, 京B2-20201234 or B1.B2-20090001)"
    );
    assert!(message("B2-2020123").contains("expected 8 digits after \"B2-\", found \"2020123\""));
    assert!(message("B2-202012345").contains("found \"202012345\""));
    assert!(message("A2-20201234").contains("class \"A2\" is not B1, B2 or B1.B2"));
    assert!(message("港B2-20201234").contains("\"港\" is not a province abbreviation"));
    assert!(message("港B2-20201234").contains("川/蜀"));
    assert!(message("B220201234").contains("no \"-\""));
    assert!(message("   ").contains("is empty"));
}

#[test]
fn item_lists_parse_with_any_separator_and_refuse_unknown_codes() {
    assert_eq!(ItemCode::parse_list("B24").unwrap(), vec![ItemCode::B24]);
    assert_eq!(
        ItemCode::parse_list("b25、B24，B24").unwrap(),
        vec![ItemCode::B24, ItemCode::B25]
    );
    let err = ItemCode::parse_list("B24,B27").unwrap_err().to_string();
    assert!(err.starts_with("items \"B24,B27\": \"B27\" is not a business item code (accepted: B11 互联网数据中心业务,"), "{err}");
    assert!(err.contains("B24 国内呼叫中心业务"));
    assert!(matches!(
        ItemCode::parse_list(" , "),
        Err(ItemError::Empty { .. })
    ));
}

#[test]
fn a_licence_carries_only_items_of_its_class() {
    let b2 = parse("B2-20201234").unwrap();
    let b1 = parse("B1-20201234").unwrap();
    let both = parse("B1.B2-20201234").unwrap();
    assert!(ItemCode::check_covered(&[ItemCode::B24, ItemCode::B25], &b2).is_ok());
    assert_eq!(
        ItemCode::check_covered(&[ItemCode::B24], &b1)
            .unwrap_err()
            .to_string(),
        "items: B24 is a class-2 item, which a B1-20201234 licence does not cover"
    );
    assert!(ItemCode::check_covered(&[ItemCode::B11, ItemCode::B24], &both).is_ok());
}

fn licence_text() -> impl Strategy<Value = String> {
    let provinces: Vec<String> = std::iter::once(String::new())
        .chain(Province::all().map(|p| p.abbreviation().to_string()))
        .collect();
    (
        proptest::sample::select(provinces),
        proptest::sample::select(vec!["B1", "B2", "B1.B2"]),
        "[0-9]{8}",
    )
        .prop_map(|(province, class, digits)| format!("{province}{class}-{digits}"))
}

proptest! {
    #[test]
    fn printed_form_round_trips(text in licence_text()) {
        let number = parse(&text).unwrap();
        prop_assert_eq!(number.to_string(), text.clone());
        prop_assert_eq!(parse(&number.to_string()).unwrap(), number);
    }

    #[test]
    fn arbitrary_input_never_panics(text in "\\PC{0,24}") {
        let _ = parse(&text);
        let _ = ItemCode::parse_list(&text);
    }
}
