//! Writes to the register: refusals, numbers under licences, company
//! changes, the history and atomic refusals.

use super::*;

#[test]
fn duplicates_are_refused_by_name() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let err = store
        .add_company(&stamp(), &uscc(), "again", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "company 91110108551385082Q (示例呼叫中心有限公司) is already registered"
    );
    let again = NewLicence {
        number: licence_no("京B2-20201234"),
        holder: uscc(),
        items: vec![ItemCode::B24],
        issued: d(2022, 1, 1),
        expires: d(2026, 12, 31),
        authority: String::new(),
    };
    assert_eq!(
        store.add_licence(&stamp(), &again).unwrap_err().to_string(),
        "licence 京B2-20201234 is already registered"
    );
}

/// A 地网 licence, a 全网 one renewed in 2024 (first issued 2019, this term
/// to 2028) and one that ended in 2022, all of one company.
fn three_licences() -> (tempfile::TempDir, Store) {
    let (dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    with_licence(&mut store, "B2-20190001", d(2024, 1, 1), d(2028, 12, 31));
    with_licence(&mut store, "粤B2-20180001", d(2018, 1, 1), d(2022, 12, 31));
    (dir, store)
}

#[test]
fn numbers_live_under_a_valid_licence_and_96_numbers_take_a_province() {
    let (_dir, mut store) = three_licences();
    let beijing = Province::parse("京").unwrap();
    let guangdong = Province::parse("粤").unwrap();
    let add = |store: &mut Store, number: &str, province, licence: &str, allocated| {
        store.add_number(
            &stamp(),
            &number.parse().unwrap(),
            province,
            &licence_no(licence),
            allocated,
            d(2026, 11, 24),
        )
    };

    let row = add(&mut store, "961234", None, "京B2-20201234", d(2026, 1, 5)).unwrap();
    assert_eq!(row.province, Some(beijing));
    // The same six digits in another province are another number.
    add(
        &mut store,
        "961234",
        Some(guangdong),
        "B2-20190001",
        d(2026, 1, 5),
    )
    .unwrap();
    let in_both = store.number(&"961234".parse().unwrap(), None).unwrap_err();
    assert_eq!(
        in_both.to_string(),
        "number 961234 is registered in 北京市, 广东省: add --province to say which"
    );
    assert!(matches!(
        in_both,
        StoreError::Refused(Refusal::NumberInProvinces { ref provinces, .. })
            if *provinces == [beijing, guangdong]
    ));
    assert_eq!(
        add(&mut store, "961234", None, "京B2-20201234", d(2026, 1, 5))
            .unwrap_err()
            .to_string(),
        "number 961234 (北京市) is already registered"
    );
    let (local, nationwide, ended) = ("京B2-20201234", "B2-20190001", "粤B2-20180001");
    let jan5 = d(2026, 1, 5);
    for (number, province, licence, allocated, refused) in [
        ("961234", None, nationwide, jan5, "name the province"),
        ("95123", Some(beijing), local, jan5, "only 96 numbers"),
        // 先证后号: not under an expired licence, nor before the licence
        // existed.
        ("962345", None, ended, d(2020, 1, 5), "ended on 2022-12-31"),
        ("962222", None, local, d(2021, 12, 31), "outside licence"),
        // 95 and 1010 numbers only under a 全网 licence.
        ("10101234", None, local, jan5, "only under a 全网 licence"),
    ] {
        let error = add(&mut store, number, province, licence, allocated)
            .unwrap_err()
            .to_string();
        assert!(error.contains(refused), "{number} under {licence}: {error}");
    }
    assert!(matches!(
        add(&mut store, "95123", None, "沪B2-20201234", d(2026, 1, 5)),
        Err(StoreError::Refused(Refusal::NoLicence { .. }))
    ));
}

#[test]
fn renaming_a_company_opens_a_filing_on_each_live_licence() {
    let (_dir, mut store) = three_licences();
    let update = CompanyUpdate {
        name: Some("新名称有限公司".into()),
        changed_on: d(2026, 11, 20),
        ..CompanyUpdate::default()
    };
    let (company, changes) = store.update_company(&stamp(), &uscc(), &update).unwrap();
    assert_eq!(company.name, "新名称有限公司");
    let licences: Vec<String> = changes.iter().map(|c| c.licence.to_string()).collect();
    assert_eq!(licences, vec!["B2-20190001", "京B2-20201234"]);
    assert!(
        changes
            .iter()
            .all(|c| c.kind == ChangeKind::Name && c.changed_on == d(2026, 11, 20))
    );
    // The first address is data entry, not a change.
    let first_address = CompanyUpdate {
        address: Some("北京市海淀区".into()),
        changed_on: d(2026, 11, 20),
        ..CompanyUpdate::default()
    };
    assert!(
        store
            .update_company(&stamp(), &uscc(), &first_address)
            .unwrap()
            .1
            .is_empty()
    );
}

#[test]
fn history_is_append_only() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let rows = store.history(Some(&licence_no("京B2-20201234"))).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].user.as_str(), rows[0].action.as_str()),
        ("tester", "licence add")
    );
    let err = store
        .conn
        .execute("DELETE FROM history", [])
        .unwrap_err()
        .to_string();
    assert!(err.contains("history is append-only"));
    assert!(
        store
            .conn
            .execute("UPDATE history SET os_user = 'x'", [])
            .is_err()
    );
}

#[test]
fn a_refused_write_changes_nothing() {
    let (_dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20201234", d(2022, 1, 1), d(2026, 12, 31));
    let before = store.history(None).unwrap().len();
    let licence = licence_no("京B2-20201234");
    store
        .file_report(&stamp(), &licence, 2025, d(2026, 2, 1), true)
        .unwrap();
    assert!(
        store
            .file_report(&stamp(), &licence, 2025, d(2026, 2, 2), true)
            .is_err()
    );
    assert!(
        store
            .file_report(&stamp(), &licence, 2026, d(2026, 11, 24), true)
            .unwrap_err()
            .to_string()
            .contains("the 2026 annual report cannot be filed before 2027-01-01")
    );
    assert_eq!(store.history(None).unwrap().len(), before + 1);
}

/// The listing reads every company in one statement, its e-mails and
/// routes aggregated in SQL: each as `company` reads it alone, by name.
#[test]
fn the_company_listing_gives_each_company_as_it_reads_alone() {
    let (_dir, mut store) = temp_store();
    let other: Uscc = "91440101MA59XYW02A".parse().unwrap();
    store
        .add_company(
            &stamp(),
            &uscc(),
            "B 公司",
            &["z@b.cn".into(), "a@b.cn".into()],
        )
        .unwrap();
    store.add_company(&stamp(), &other, "A 公司", &[]).unwrap();
    let routes = CompanyUpdate {
        routes: Some(vec!["zeta".into(), "alpha".into()]),
        changed_on: d(2026, 11, 20),
        ..CompanyUpdate::default()
    };
    store.update_company(&stamp(), &uscc(), &routes).unwrap();
    let listed = store.companies().unwrap();
    let alone = [
        store.company(&other).unwrap(),
        store.company(&uscc()).unwrap(),
    ];
    assert_eq!(listed, alone);
    assert_eq!(listed[1].emails, ["a@b.cn", "z@b.cn"]);
    assert_eq!(listed[1].routes, ["alpha", "zeta"]);
    assert!(listed[0].emails.is_empty() && listed[0].routes.is_empty());
}

/// `report file --all` reads the register a page of licences at a time:
/// whatever the page, the same licences are marked, found on record or
/// not owing, in licence-number order, with one history row each; and an
/// error from the caller's side rolls every mark back.
#[test]
fn reports_filed_for_many_licences_are_the_same_whatever_the_page() {
    let build = || {
        let (dir, mut store) = temp_store();
        for n in 1..=7 {
            with_licence(
                &mut store,
                &format!("京B2-2022000{n}"),
                d(2022, 3, 1),
                d(2027, 2, 28),
            );
        }
        // Issued after 2024: owes no report on 2024.
        with_licence(&mut store, "京B2-20250001", d(2025, 6, 1), d(2030, 5, 31));
        for n in [2, 5] {
            let licence = licence_no(&format!("京B2-2022000{n}"));
            store
                .file_report(&stamp(), &licence, 2024, d(2025, 3, 1), true)
                .unwrap();
        }
        (dir, store)
    };
    let mark = MarkReports {
        year: 2024,
        on: d(2025, 3, 20),
        carried_out: false,
    };
    let marked: Vec<String> = [1, 3, 4, 6, 7]
        .iter()
        .map(|n| format!("京B2-2022000{n}"))
        .collect();
    for page in [1, 2, 3, 5, 8, 100] {
        let (_dir, mut store) = build();
        let history = store.history(None).unwrap().len();
        let mut seen = Vec::new();
        let filed = store
            .file_reports_paged(&stamp(), &ReportScope::All, &mark, page, |outcome| {
                seen.push(match outcome {
                    ReportOutcome::Marked(l) => (l.to_string(), None),
                    ReportOutcome::Already(l, day) => (l.to_string(), Some(day)),
                });
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(
            filed,
            FiledReports {
                marked: 5,
                already: 2,
                not_owed: 1
            },
            "page {page}"
        );
        let expected: Vec<(String, Option<NaiveDate>)> = (1..=7)
            .map(|n| {
                let day = [2, 5].contains(&n).then(|| d(2025, 3, 1));
                (format!("京B2-2022000{n}"), day)
            })
            .collect();
        assert_eq!(seen, expected, "page {page}");
        for number in &marked {
            assert_eq!(
                store.report_filed_on(&licence_no(number), 2024).unwrap(),
                Some(d(2025, 3, 20)),
                "page {page}: {number}"
            );
        }
        assert_eq!(store.history(None).unwrap().len(), history + 5);
    }

    // The caller fails on the fourth licence (its spill file, say): no
    // licence is marked, not even those before it.
    let (_dir, mut store) = build();
    let history = store.history(None).unwrap().len();
    let mut count = 0;
    let failed = store.file_reports_paged(&stamp(), &ReportScope::All, &mark, 2, |_| {
        count += 1;
        if count == 4 {
            return Err(StoreError::from(rusqlite::Error::InvalidQuery));
        }
        Ok(())
    });
    assert!(failed.is_err());
    assert_eq!(
        store
            .report_filed_on(&licence_no("京B2-20220001"), 2024)
            .unwrap(),
        None
    );
    assert_eq!(store.history(None).unwrap().len(), history);
}

/// A listing's passes read one snapshot: a licence added by another
/// process between them is seen by none of them, and by the next command.
#[test]
fn a_snapshot_does_not_see_a_write_made_after_its_first_read() {
    let (dir, mut store) = temp_store();
    with_licence(&mut store, "京B2-20220001", d(2022, 3, 1), d(2027, 2, 28));
    let reader = Store::open_existing(&dir.path().join("register.db")).unwrap();
    {
        let _snapshot = reader.snapshot().unwrap();
        assert_eq!(reader.licences().unwrap().len(), 1);
        with_licence(&mut store, "京B2-20220002", d(2022, 3, 1), d(2027, 2, 28));
        assert_eq!(reader.licences().unwrap().len(), 1);
    }
    assert_eq!(reader.licences().unwrap().len(), 2);
}
