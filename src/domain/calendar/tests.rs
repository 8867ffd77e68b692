use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The day a deadline on `day` moves back to in the embedded calendar.
fn moved_to(day: NaiveDate) -> NaiveDate {
    Calendar::embedded().previous_working_day(day).day
}

#[test]
fn embedded_file_parses_and_covers_2024_to_2026() {
    let calendar = Calendar::parse(EMBEDDED_HOLIDAYS, "(embedded)").unwrap();
    assert_eq!(calendar.years().collect::<Vec<_>>(), vec![2024, 2025, 2026]);
    assert!(!calendar.knows_year(2027));
    assert_eq!(calendar.entries.len(), 36 + 33 + 39);
}

#[test]
fn day_kinds_follow_the_notices() {
    let calendar = Calendar::embedded();
    assert_eq!(
        calendar.day_kind(d(2026, 2, 16)),
        DayKind::Holiday("春节".into())
    );
    assert_eq!(
        calendar.day_kind(d(2026, 2, 14)),
        DayKind::MakeUpWorkday("春节".into())
    );
    assert_eq!(calendar.day_kind(d(2026, 3, 7)), DayKind::Weekend);
    assert_eq!(calendar.day_kind(d(2026, 3, 9)), DayKind::Working);
    // 除夕 2024 was a normal working day.
    assert!(calendar.is_working_day(d(2024, 2, 9)));
}

#[test]
fn a_working_day_does_not_move() {
    let calendar = Calendar::embedded();
    let shift = calendar.previous_working_day(d(2026, 3, 31));
    assert_eq!(shift.day, d(2026, 3, 31));
    assert!(shift.skipped.is_empty());
}

#[test]
fn weekend_moves_to_friday() {
    assert_eq!(moved_to(d(2026, 3, 29)), d(2026, 3, 27));
}

#[test]
fn spring_festival_block_moves_to_the_make_up_saturday_before_it() {
    let calendar = Calendar::embedded();
    // 2026: 15–23 Feb off, 14 Feb (Sat) a make-up working day.
    let shift = calendar.previous_working_day(d(2026, 2, 23));
    assert_eq!(shift.day, d(2026, 2, 14));
    assert_eq!(shift.skipped.len(), 9);
    assert!(
        shift
            .skipped
            .iter()
            .all(|(_, kind)| *kind == DayKind::Holiday("春节".into()))
    );
}

#[test]
fn a_make_up_sunday_is_a_working_day() {
    assert_eq!(moved_to(d(2026, 1, 4)), d(2026, 1, 4));
    assert_eq!(moved_to(d(2025, 1, 26)), d(2025, 1, 26));
}

#[test]
fn new_year_holiday_crosses_back_into_december() {
    // 2026-01-01..03 off; 2025-12-31 is a Wednesday.
    assert_eq!(moved_to(d(2026, 1, 3)), d(2025, 12, 31));
}

#[test]
fn national_day_block() {
    assert_eq!(moved_to(d(2025, 10, 8)), d(2025, 9, 30));
    assert_eq!(moved_to(d(2024, 10, 7)), d(2024, 9, 30));
}

#[test]
fn unknown_year_falls_back_to_weekends_only() {
    let calendar = Calendar::embedded();
    // 2027-10-01 is a Friday: a holiday in every real year, but not known yet.
    assert!(calendar.is_working_day(d(2027, 10, 1)));
    assert_eq!(moved_to(d(2027, 10, 3)), d(2027, 10, 1));
}

#[test]
fn a_user_file_adds_a_year_and_replaces_a_year_it_lists() {
    let mut calendar = Calendar::embedded();
    let extra = Calendar::parse(
        "[[day]]\ndate = \"2027-10-01\"\nname = \"国庆节\"\noff = true\n\
         [[day]]\ndate = \"2026-06-01\"\nname = \"测试\"\noff = true\n",
        "extra.toml",
    )
    .unwrap();
    calendar.merge(extra);
    assert!(calendar.knows_year(2027));
    assert!(!calendar.is_working_day(d(2027, 10, 1)));
    assert!(!calendar.is_working_day(d(2026, 6, 1)));
    // 2026 was replaced whole: Spring Festival is no longer listed.
    assert!(calendar.is_working_day(d(2026, 2, 16)));
    assert!(!calendar.is_working_day(d(2025, 10, 8)));
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let err = |text: &str| Calendar::parse(text, "extra.toml").unwrap_err().to_string();
    assert!(
        err("[[day]]\ndate = \"2027-02-30\"\nname = \"x\"\noff = true\n")
            .starts_with("holiday file extra.toml: date \"2027-02-30\": no such day in that month")
    );
    assert_eq!(
        err("[[day]]\ndate = \"2027-10-08\"\nname = \"x\"\noff = false\n"),
        "holiday file extra.toml: 2027-10-08 is a weekday, so it cannot be a make-up working day (off = false is only for a Saturday or Sunday)"
    );
    assert!(err("[[day]]\ndate = \"2027-10-01\"\nname = \"x\"\noff = true\n[[day]]\ndate = \"2027-10-01\"\nname = \"y\"\noff = true\n")
        .ends_with("2027-10-01 is listed twice"));
    assert!(err("[[day]]\ndate = \"2027-10-01\"\nname = \"x\"\n").contains("missing field `off`"));
    assert!(
        err("[[day]]\ndate = \"2027-10-01\"\nname = \"x\"\noff = true\nholiday = 1\n")
            .contains("unknown field `holiday`")
    );
}

#[test]
fn every_day_2023_to_2028_moves_to_the_closest_earlier_working_day() {
    let calendar = Calendar::embedded();
    let mut date = d(2023, 1, 1);
    while date <= d(2028, 12, 31) {
        let shift = calendar.previous_working_day(date);
        assert!(shift.day <= date);
        assert!(calendar.is_working_day(shift.day), "{date}");
        assert_eq!(shift.skipped.len() as i64, (date - shift.day).num_days());
        assert!(
            shift
                .skipped
                .iter()
                .all(|(day, kind)| !kind.is_working() && *day > shift.day)
        );
        date = date.succ_opt().unwrap();
    }
}
