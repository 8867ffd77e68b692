//! What a reader copies back and clicks: names pasted from a chat message,
//! the subject, and the links to each item's page.

use super::*;

/// What a reader copies from a rendered chat line: code spans give their
/// text verbatim, and outside them no markup character may be left for the
/// renderer to eat. Slack also decodes its three entities.
fn copied(markdown: &str, markup: &[char], slack: bool) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while !rest.is_empty() {
        let (fence, open) = match (rest.find("`` "), rest.find('`')) {
            (Some(double), Some(single)) if double == single => ("``", double),
            (_, Some(single)) => ("`", single),
            (_, None) => {
                assert!(!rest.contains(markup), "markup outside a code span: {rest}");
                out.push_str(rest);
                break;
            }
        };
        let before = &rest[..open];
        assert!(
            !before.contains(markup),
            "markup outside a code span: {before}"
        );
        out.push_str(before);
        let inner_start = open + fence.len();
        let close = rest[inner_start..].find(fence).expect("a closed code span") + inner_start;
        let inner = &rest[inner_start..close];
        out.push_str(if fence == "``" {
            inner.trim_matches(' ')
        } else {
            inner
        });
        rest = &rest[close + fence.len()..];
    }
    if slack {
        out = out
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
    }
    out
}

/// Issue 19: escaping must not change what people copy. A name with every
/// markup character, an e-mail address and a config key, pasted back from
/// each chat format, are the text they were.
#[test]
fn issue_19_a_name_pasted_back_from_any_chat_message_is_the_name() {
    for name in [
        "北京*星_辰&科技<有限>公司 [总部] #1 ~a~ |b| back\\slash",
        "ops_team@example.cn",
        "calendar.holiday_files",
        "A`B 公司",
    ] {
        assert_eq!(copied(&escape_chat(name), CHAT_MARKUP, false), name);
        assert_eq!(copied(&escape_slack(name), SLACK_MARKUP, true), name);
    }
    // Through a whole message: the company part of the title.
    let mut alerts = two();
    alerts.truncate(1);
    let name = "示例_呼叫*中心 & co";
    alerts[0].obligation.company = name.to_owned();
    let digest = digest(&alerts, Lang::Zh);
    let whole = digest.whole();
    let text = dingtalk(&digest, &whole)["markdown"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = text.lines().find(|l| l.contains("呼叫")).unwrap();
    let company = line.trim_end_matches("**").rsplit(" · ").next().unwrap();
    assert_eq!(copied(company, CHAT_MARKUP, false), name);
}

/// Issue 19: an e-mail's subject names its most urgent item, and a notice's
/// subject is a short title, not its whole text.
#[test]
fn issue_19_the_subject_names_the_most_urgent_item() {
    let alerts = every_kind();
    let subjects: Vec<String> = [Lang::Zh, Lang::En]
        .into_iter()
        .map(|lang| {
            let digest = digest(&alerts, lang);
            digest.subject(&digest.whole())
        })
        .collect();
    expect![[r#"
        [
            "【紧急】京B2-20201234 许可证延续（续期）申请，许可证已过期 等 7 项",
            "[URGENT] 京B2-20201234 Licence renewal application: the licence has expired, and 6 more",
        ]
    "#]]
    .assert_debug_eq(&subjects);
    let mut one = two();
    one.truncate(1);
    let digest = digest(&one, Lang::Zh);
    expect!["【紧急】京B2-20201234 码号 961234 在许可证失效后仍在使用（许可证已失效）"]
        .assert_eq(&digest.subject(&digest.whole()));
    let notice = notice_digest(
        "notice/holidays/2027",
        "licwatch：缺少 2027 年的节假日安排，2027 年的提醒只避开周末……",
        Lang::Zh,
    );
    expect!["licwatch：缺少 2027 年节假日安排"].assert_eq(&notice.subject(&notice.whole()));
}

/// The digest of `alerts` in Chinese, each item linked to its page on a
/// console at https://licwatch.example.com/.
fn linked(alerts: &[Alert]) -> Digest<'_> {
    let mut digest = digest(alerts, Lang::Zh);
    let base = url::Url::parse("https://licwatch.example.com/").expect("a valid URL");
    link::link(&mut digest, &base);
    digest
}

#[test]
fn with_a_public_url_each_item_links_to_its_page() {
    let alerts = [alert(
        ObligationKind::Renewal,
        "renewal/京B2-20201234/2026-02-27",
        d(2025, 11, 29),
        -90,
        Severity::Warning,
        90,
    )];
    let digest = linked(&alerts);
    let text = plain(&digest, &digest.whole());
    assert!(
        text.contains("处理页面：https://licwatch.example.com/obligation/renewal%2F%E4%BA%ACB2-20201234%2F2026-02-27"),
        "{text}"
    );
}

/// An obligation key holds `_` (annual_report, number_activation), which the
/// chat robots' markdown reads as emphasis: the link is encoded so that it
/// stays bare text DingTalk and WeCom make a tappable link, not a code span.
#[test]
fn a_robots_link_is_not_a_code_span() {
    let alerts = [alert(
        ObligationKind::AnnualReport,
        "annual_report/京B2-20201234/2025",
        d(2026, 1, 1),
        0,
        Severity::Info,
        89,
    )];
    let digest = linked(&alerts);
    let body = dingtalk(&digest, &digest.whole());
    let text = body["markdown"]["text"].as_str().expect("markdown text");
    let url =
        "https://licwatch.example.com/obligation/annual%5Freport%2F%E4%BA%ACB2-20201234%2F2025";
    assert!(text.contains(&format!("处理页面：{url}")), "{text}");
    assert!(!text.contains(&format!("`{url}`")), "{text}");
}
