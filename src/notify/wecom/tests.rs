use expect_test::{Expect, expect};

use super::*;
use crate::notify::http::check_answer;

#[track_caller]
fn check(status: u16, body: &str, expect: Expect) {
    check_answer(classify, status, None, body, expect);
}

#[test]
fn errcode_93000_invalid_url_is_permanent() {
    check(
        200,
        r#"{"errcode":93000,"errmsg":"invalid webhook url, hint: [1700000000_1_abc], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=93000"}"#,
        expect![
            "not sent, permanent failure: wecom refused the message: code 93000, invalid webhook URL (the robot was removed or the key is wrong) (it said: invalid webhook url, hint: [1700000000_1_abc], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=93000)"
        ],
    );
}

#[test]
fn errcode_40058_too_long_is_permanent() {
    check(
        200,
        r#"{"errcode":40058,"errmsg":"markdown.content exceed max length 4096. invalid Request Parameter"}"#,
        expect![
            "not sent, permanent failure: wecom refused the message: code 40058, invalid parameter, e.g. content over the length limit (it said: markdown.content exceed max length 4096. invalid Request Parameter)"
        ],
    );
}

#[test]
fn errcode_40008_bad_msgtype_is_permanent() {
    check(
        200,
        r#"{"errcode":40008,"errmsg":"invalid message type"}"#,
        expect![
            "not sent, permanent failure: wecom refused the message: code 40008, invalid message type (it said: invalid message type)"
        ],
    );
}

#[test]
fn errcode_45009_rate_limit_retries_after_a_minute() {
    check(
        200,
        r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#,
        expect![
            "not sent, will retry (not before 60 s): wecom refused the message: code 45009, rate limited: over 20 messages a minute (it said: api freq out of limit)"
        ],
    );
}

#[test]
fn errcode_minus_1_busy_is_retried() {
    check(
        200,
        r#"{"errcode":-1,"errmsg":"system busy"}"#,
        expect![
            "not sent, will retry: wecom refused the message: code -1, system busy (it said: system busy)"
        ],
    );
}

#[test]
fn http_200_with_something_else_is_not_sent() {
    check(
        200,
        "",
        expect![
            "not sent, permanent failure: wecom answered HTTP 200 with something licwatch cannot read: "
        ],
    );
}

#[test]
fn a_server_error_is_retried() {
    check(
        503,
        "Service Unavailable",
        expect!["not sent, will retry: wecom answered HTTP 503: Service Unavailable"],
    );
}
