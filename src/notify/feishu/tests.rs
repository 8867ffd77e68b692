use expect_test::{Expect, expect};

use super::*;
use crate::notify::http::check_answer;

#[test]
fn signature_matches_the_documented_recipe() {
    // Feishu's documented recipe: the key is timestamp + "\n" + secret, the
    // message empty.
    assert_eq!(
        sign(b"testsecret", 1_700_000_000),
        "AOc8oJ7//5OlQlfWC3nRL0R+IkuzcD1FKcAyibRK9Q8="
    );
    // DingTalk's recipe on the same input gives what Feishu refuses (19021).
    assert_eq!(
        crate::notify::dingtalk::sign(b"testsecret", 1_700_000_000),
        "QtI24SK3/m8+lKf0d89/bclcePXhBxolugiWin8Kl3c="
    );
}

#[track_caller]
fn check(status: u16, body: &str, expect: Expect) {
    check_answer(
        |answer| classify("feishu", answer),
        status,
        None,
        body,
        expect,
    );
}

#[test]
fn code_0_is_sent() {
    check(
        200,
        r#"{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#,
        expect![[
            r#"sent; the service answered: {"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#
        ]],
    );
}

#[test]
fn status_code_0_from_older_servers_is_sent() {
    check(
        200,
        r#"{"Extra":null,"StatusCode":0,"StatusMessage":"success"}"#,
        expect![[
            r#"sent; the service answered: {"Extra":null,"StatusCode":0,"StatusMessage":"success"}"#
        ]],
    );
}

#[test]
fn code_19001_bad_token_is_permanent() {
    check(
        200,
        r#"{"code":19001,"data":{},"msg":"param invalid: incoming webhook access token invalid"}"#,
        expect![
            "not sent, permanent failure: feishu refused the message: code 19001, invalid webhook token (the bot was removed or the URL is wrong) (it said: param invalid: incoming webhook access token invalid)"
        ],
    );
}

#[test]
fn code_19021_bad_signature_is_permanent() {
    check(
        200,
        r#"{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}"#,
        expect![
            "not sent, permanent failure: feishu refused the message: code 19021, signature mismatch or timestamp over an hour off (check the secret and the clock) (it said: sign match fail or timestamp is not within one hour from current time)"
        ],
    );
}

#[test]
fn code_19022_ip_not_allowed_is_permanent() {
    check(
        200,
        r#"{"code":19022,"data":{},"msg":"Ip Not Allowed"}"#,
        expect![
            "not sent, permanent failure: feishu refused the message: code 19022, IP address not allowed by the bot's settings (it said: Ip Not Allowed)"
        ],
    );
}

#[test]
fn code_19024_keyword_is_permanent() {
    check(
        200,
        r#"{"code":19024,"data":{},"msg":"Key Words Not Found"}"#,
        expect![
            "not sent, permanent failure: feishu refused the message: code 19024, none of the bot's keywords is in the message (it said: Key Words Not Found)"
        ],
    );
}

#[test]
fn code_9499_bad_request_is_permanent_whatever_the_status() {
    check(
        400,
        r#"{"code":9499,"data":{},"msg":"Bad Request"}"#,
        expect![
            "not sent, permanent failure: feishu refused the message: code 9499, bad request: the body is not what the bot accepts (it said: Bad Request)"
        ],
    );
}

#[test]
fn code_11232_rate_limit_is_retried() {
    check(
        200,
        r#"{"code":11232,"data":{},"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}"#,
        expect![
            "not sent, will retry: feishu refused the message: code 11232, rate limited (over 5 a second or 100 a minute) (it said: frequency limited psm[lark.oapi.app_platform_runtime]appID[1])"
        ],
    );
}

#[test]
fn a_gateway_timeout_is_retried() {
    check(
        504,
        "upstream timed out",
        expect!["not sent, will retry: feishu answered HTTP 504: upstream timed out"],
    );
}
