use super::*;

fn batch_of(rows: &[Vec<&str>]) -> (Batch, Vec<RowProblem>) {
    let layout = layout(&FULL);
    let parsed: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(index, cells)| parse_row(&layout, &line(index + 2, cells), 5).unwrap())
        .collect();
    let mut problems = Vec::new();
    let batch = assemble(parsed, &layout, &mut problems);
    (batch, problems)
}

#[test]
fn rows_of_one_licence_merge_and_must_agree() {
    let (batch, problems) = batch_of(&[
        full_row(&[
            ("码号", "95123"),
            ("分配日期", "2022-06-15"),
            ("联系邮箱", "a@example.cn"),
        ]),
        full_row(&[
            ("有效期至", "2027-02-28"),
            ("码号", "10101234"),
            ("分配日期", "2022-06-15"),
        ]),
        full_row(&[
            ("码号", "95123"),
            ("分配日期", "2022-06-15"),
            ("启用日期", "2022-07-01"),
            ("运营商", "中国电信"),
        ]),
    ]);
    assert_eq!(problems, vec![]);
    assert_eq!(batch.companies.len(), 1);
    assert_eq!(batch.licences.len(), 1);
    assert_eq!(
        batch.licences[0].expires.map(|d| d.to_string()),
        Some("2027-02-28".into())
    );
    assert_eq!(batch.numbers.len(), 2);
    assert_eq!(batch.numbers[0].carrier.as_deref(), Some("中国电信"));

    let (_, problems) = batch_of(&[
        full_row(&[("有效期至", "2027-02-28")]),
        full_row(&[
            ("持证单位", "示例二"),
            ("业务种类", "B24,B25"),
            ("有效期至", "2027-03-01"),
        ]),
    ]);
    let reasons: Vec<String> = problems
        .iter()
        .map(|p| format!("row {}: {}", p.row, p.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "row 3: 持证单位 \"示例二\" disagrees with row 2 (\"示例\"): the rows of company 91110105MA01ABCD13 must agree",
            "row 3: 业务种类 \"B24,B25\" disagrees with row 2 (\"B24\"): the rows of licence B2-20221234 must agree",
            "row 3: 有效期至 \"2027-03-01\" disagrees with row 2 (\"2027-02-28\"): the rows of licence B2-20221234 must agree",
        ]
    );
}
