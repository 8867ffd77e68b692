//! What a digest holds: hostile names escaped, the order of items, and
//! splitting over a channel's limit.

use super::*;
use crate::domain::obligation::keys;

fn hostile() -> Vec<Alert> {
    let mut alerts = two();
    alerts.truncate(1);
    alerts[0].obligation.company =
        "<script>alert(1)</script> *_[] \"quoted\" 'single' & co\nsecond line".to_owned();
    alerts
}

#[test]
fn hostile_company_name_is_escaped_in_every_format() {
    let alerts = hostile();
    let digest = digest(&alerts, Lang::Zh);
    let whole = digest.whole();
    let title = |text: &str| {
        text.lines()
            .filter(|line| line.contains("alert(1)"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    check_text(
        &title(&plain(&digest, &whole)),
        expect![[
            r#"1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · <script>alert(1)</script> *_[] "quoted" 'single' & co second line"#
        ]],
    );
    check_text(
        &title(&html(&digest, &whole)),
        expect![
            "<li><p><strong>【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · &lt;script&gt;alert(1)&lt;/script&gt; *_[] &quot;quoted&quot; &#39;single&#39; &amp; co second line</strong></p>"
        ],
    );
    check_text(
        &title(
            dingtalk(&digest, &whole)["markdown"]["text"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(&wecom_markdown(&digest, &whole)),
        expect![[
            r#"**1. <font color="warning">【紧急】</font>码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(
            feishu(&digest, &whole)["card"]["elements"][0]["content"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"**1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · `<script>alert(1)</script>` `*_[]` "quoted" 'single' `&` co second line**"#
        ]],
    );
    check_text(
        &title(
            slack(&digest, &whole)["blocks"][1]["text"]["text"]
                .as_str()
                .unwrap_or_default(),
        ),
        expect![[
            r#"*1. 【紧急】码号 961234 在许可证失效后仍在使用 · 京B2-20201234 · &lt;script&gt;alert(1)&lt;/script&gt; `*_[]` "quoted" 'single' &amp; co second line*"#
        ]],
    );
}

#[test]
fn most_severe_first_then_soonest_due() {
    let alerts = every_kind();
    let digest = digest(&alerts, Lang::En);
    let order: Vec<String> = digest
        .items
        .iter()
        .map(|item| {
            format!(
                "{} {} {}",
                item.source,
                item.alert.stage.severity.code(),
                item.alert.obligation.due
            )
        })
        .collect();
    expect![[r#"
        [
            "2 critical 2025-11-29",
            "4 critical 2026-03-31",
            "5 critical 2026-05-30",
            "6 critical 2026-06-10",
            "1 warning 2026-06-19",
            "3 warning 2026-07-10",
            "0 info 2026-09-01",
        ]
    "#]]
    .assert_debug_eq(&order);
}

fn many(count: usize) -> Vec<Alert> {
    (0..count)
        .map(|i| {
            let mut alert = every_kind().remove(i % 7);
            // Keys of one shape that sort by `i` as text, like the alerts of
            // a big register.
            alert.obligation.key =
                keys::change_filing(&alert.obligation.licence, i64::try_from(i).expect("small"));
            alert
        })
        .collect()
}

/// Splits `count` alerts with `fits`; checks that every part fits, items
/// are all there in order, and headers are numbered. Returns the part sizes.
fn check_split(count: usize, fits: impl Fn(&Digest<'_>, &Part) -> bool) -> Vec<usize> {
    let alerts = many(count);
    let digest = digest(&alerts, Lang::Zh);
    let parts = digest.split(|part| fits(&digest, part));
    let mut next = 0;
    for part in &parts {
        assert!(fits(&digest, part), "part {part:?} does not fit");
        assert_eq!(part.items.start, next);
        assert!(!part.items.is_empty());
        next = part.items.end;
        let header = digest.header(part);
        if parts.len() > 1 {
            assert!(
                header.ends_with(&format!("（{}/{}）", part.index, parts.len())),
                "{header}"
            );
        }
    }
    assert_eq!(next, count);
    parts.iter().map(|part| part.items.len()).collect()
}

#[test]
fn digests_over_a_limit_split_between_items() {
    let wecom_sizes = check_split(20, |digest, part| {
        wecom_markdown(digest, part).len() <= crate::notify::wecom::MARKDOWN_LIMIT
    });
    let ding_sizes = check_split(100, crate::notify::dingtalk::fits);
    let feishu_sizes = check_split(100, crate::notify::feishu::fits);
    let slack_sizes = check_split(60, crate::notify::slack::fits);
    expect![[r#"
        (
            [
                4,
                4,
                5,
                5,
                2,
            ],
            [
                22,
                25,
                32,
                21,
            ],
            [
                21,
                24,
                29,
                23,
                3,
            ],
            [
                24,
                24,
                12,
            ],
        )
    "#]]
    .assert_debug_eq(&(wecom_sizes, ding_sizes, feishu_sizes, slack_sizes));
}

#[test]
fn a_digest_that_fits_is_one_unnumbered_message() {
    let alerts = two();
    let digest = digest(&alerts, Lang::Zh);
    let parts = digest.split(|part| crate::notify::wecom::fits(&digest, part));
    assert_eq!(parts, vec![digest.whole()]);
    assert!(!digest.header(&parts[0]).contains("1/1"));
}

#[test]
fn an_endless_company_name_is_cut_so_one_item_fits_the_smallest_limit() {
    let mut alerts = every_kind();
    alerts.truncate(1);
    alerts[0].obligation.company = "很长的公司名称".repeat(1000);
    alerts[0].obligation.authority = "&".repeat(5000);
    let digest = digest(&alerts, Lang::Zh);
    assert!(crate::notify::wecom::fits(&digest, &digest.whole()));
    assert!(
        digest.items[0].title.ends_with("很长…"),
        "{}",
        digest.items[0].title
    );
}
