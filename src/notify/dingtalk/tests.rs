use chrono::TimeZone;
use expect_test::{Expect, expect};

use super::*;
use crate::notify::http::check_answer;
use crate::notify::route::Target;
use crate::notify::route::tests::{MapSecrets, route};

#[test]
fn signature_matches_the_documented_recipe() {
    // Computed with Python's hmac from DingTalk's documented recipe (安全设置:
    // timestamp + "\n" + secret, HMAC-SHA256, base64, URL-encoded).
    assert_eq!(
        sign(b"SECtestsecret", 1_700_000_000_000),
        "7LVwF0dAF3/+MRRulbpE4y72Ogzykc6bS2nG4I99T4s="
    );
}

#[test]
fn the_signature_is_percent_encoded_in_the_query() {
    let secrets = MapSecrets::default()
        .var("U", "https://oapi.dingtalk.com/robot/send?access_token=abc")
        .var("S", "SECtestsecret");
    let route = route(
        "kind = \"dingtalk\"\nurl_env = \"U\"\nsecret_env = \"S\"",
        &secrets,
    )
    .expect("route resolves");
    let Target::DingTalk(robot) = route.target else {
        panic!("a dingtalk route resolves to a dingtalk target");
    };
    let now = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
    assert_eq!(
        signed_url(&robot, now).expose().as_str(),
        "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=7LVwF0dAF3%2F%2BMRRulbpE4y72Ogzykc6bS2nG4I99T4s%3D"
    );
}

#[track_caller]
fn check(status: u16, body: &str, expect: Expect) {
    check_answer(classify, status, None, body, expect);
}

/// Both robots answer in `http::by_errcode`'s shape; WeCom's codes are in
/// its own tests.
#[test]
fn errcode_0_is_sent_by_dingtalk_and_wecom_alike() {
    for classify in [classify, crate::notify::wecom::classify] {
        check_answer(
            classify,
            200,
            None,
            r#"{"errcode":0,"errmsg":"ok"}"#,
            expect![[r#"sent; the service answered: {"errcode":0,"errmsg":"ok"}"#]],
        );
    }
}

#[test]
fn errcode_310000_sign_not_match_is_permanent() {
    check(
        200,
        r#"{"errcode":310000,"errmsg":"sign not match"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 310000, security settings refused it: signature, timestamp, keyword or IP allow-list (check the secret, the clock and the robot's 安全设置) (it said: sign not match)"
        ],
    );
}

#[test]
fn errcode_310000_keywords_is_permanent_whatever_the_wording() {
    check(
        200,
        r#"{"errcode":310000,"errmsg":"错误描述:关键词不匹配;解决方案:请联系群管理员查看此机器人的关键词"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 310000, security settings refused it: signature, timestamp, keyword or IP allow-list (check the secret, the clock and the robot's 安全设置) (it said: 错误描述:关键词不匹配;解决方案:请联系群管理员查看此机器人的关键词)"
        ],
    );
}

#[test]
fn errcode_300005_unknown_token_is_permanent() {
    check(
        200,
        r#"{"errcode":300005,"errmsg":"token is not exist"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 300005, unknown access_token (the robot was removed or the URL is wrong) (it said: token is not exist)"
        ],
    );
}

#[test]
fn errcode_300001_unknown_token_is_permanent() {
    check(
        200,
        r#"{"errcode":300001,"errmsg":"token is not exist"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 300001, unknown access_token (the robot was removed or the URL is wrong) (it said: token is not exist)"
        ],
    );
}

#[test]
fn errcode_130101_rate_limit_retries_after_ten_minutes() {
    check(
        200,
        r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
        expect![
            "not sent, will retry (not before 600 s): dingtalk refused the message: code 130101, rate limited: over 20 messages a minute, the robot is throttled for 10 minutes (it said: send too fast, exceed 20 times per minute)"
        ],
    );
}

#[test]
fn errcode_410100_rate_limit_retries_after_ten_minutes() {
    check(
        200,
        r#"{"errcode":410100,"errmsg":"发送速度太快而限流"}"#,
        expect![
            "not sent, will retry (not before 600 s): dingtalk refused the message: code 410100, rate limited: over 20 messages a minute, the robot is throttled for 10 minutes (it said: 发送速度太快而限流)"
        ],
    );
}

#[test]
fn errcode_460101_too_long_is_permanent() {
    check(
        200,
        r#"{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 460101, message over 20000 bytes (it said: message too long, exceed 20000 bytes)"
        ],
    );
}

#[test]
fn errcode_101002_too_long_is_permanent() {
    check(
        200,
        r#"{"errcode":101002,"errmsg":"message is too long"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 101002, message too long (it said: message is too long)"
        ],
    );
}

#[test]
fn errcode_minus_1_busy_is_retried() {
    check(
        200,
        r#"{"errcode":-1,"errmsg":"系统繁忙"}"#,
        expect![
            "not sent, will retry: dingtalk refused the message: code -1, system busy (it said: 系统繁忙)"
        ],
    );
}

#[test]
fn errcodes_400xxx_and_430xxx_are_permanent() {
    for code in [
        400013, 400101, 400102, 400105, 400106, 430101, 430104, 43004,
    ] {
        let answer = Answer {
            status: 200,
            retry_after: None,
            body: format!(r#"{{"errcode":{code},"errmsg":"x"}}"#),
        };
        assert!(
            matches!(classify(&answer), Outcome::Permanent { .. }),
            "{code}"
        );
    }
}

#[test]
fn an_unknown_errcode_is_permanent() {
    check(
        200,
        r#"{"errcode":777,"errmsg":"new"}"#,
        expect![
            "not sent, permanent failure: dingtalk refused the message: code 777, a code licwatch does not know (it said: new)"
        ],
    );
}

#[test]
fn http_200_with_something_else_is_not_sent() {
    check(
        200,
        "<html>portal</html>",
        expect![
            "not sent, permanent failure: dingtalk answered HTTP 200 with something licwatch cannot read: <html>portal</html>"
        ],
    );
}

#[test]
fn a_gateway_error_is_retried() {
    check(
        502,
        "<html>Bad Gateway</html>",
        expect!["not sent, will retry: dingtalk answered HTTP 502: <html>Bad Gateway</html>"],
    );
}
