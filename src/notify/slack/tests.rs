use expect_test::{Expect, expect};

use super::*;
use crate::notify::http::check_answer;

#[track_caller]
fn check(status: u16, retry_after: Option<u64>, body: &str, expect: Expect) {
    check_answer(classify, status, retry_after, body, expect);
}

#[test]
fn ok_is_sent() {
    check(200, None, "ok", expect!["sent; the service answered: ok"]);
}

#[test]
fn invalid_payload_is_permanent() {
    check(
        400,
        None,
        "invalid_payload",
        expect![
            "not sent, permanent failure: slack refused the message: code invalid_payload, the body is not valid for its content type (it said: HTTP 400)"
        ],
    );
}

#[test]
fn user_not_found_is_permanent() {
    check(
        400,
        None,
        "user_not_found",
        expect![
            "not sent, permanent failure: slack refused the message: code user_not_found, a user named in the message does not exist (it said: HTTP 400)"
        ],
    );
}

#[test]
fn action_prohibited_is_permanent() {
    check(
        403,
        None,
        "action_prohibited",
        expect![
            "not sent, permanent failure: slack refused the message: code action_prohibited, the workspace restricts posting here (it said: HTTP 403)"
        ],
    );
}

#[test]
fn channel_not_found_is_permanent() {
    check(
        404,
        None,
        "channel_not_found",
        expect![
            "not sent, permanent failure: slack refused the message: code channel_not_found, the channel does not exist (it said: HTTP 404)"
        ],
    );
}

#[test]
fn channel_is_archived_is_permanent() {
    check(
        410,
        None,
        "channel_is_archived",
        expect![
            "not sent, permanent failure: slack refused the message: code channel_is_archived, the channel is archived (it said: HTTP 410)"
        ],
    );
}

#[test]
fn no_service_is_permanent() {
    check(
        404,
        None,
        "no_service",
        expect![
            "not sent, permanent failure: slack refused the message: code no_service, the webhook was removed or the URL is wrong (it said: HTTP 404)"
        ],
    );
}

#[test]
fn rollup_error_is_retried() {
    check(
        500,
        None,
        "rollup_error",
        expect![
            "not sent, will retry: slack refused the message: code rollup_error, Slack-side failure (it said: HTTP 500)"
        ],
    );
}

#[test]
fn too_many_requests_honours_retry_after() {
    check(
        429,
        Some(30),
        "",
        expect!["not sent, will retry (not before 30 s): slack answered HTTP 429: "],
    );
}

#[test]
fn an_unknown_string_with_a_client_status_is_permanent() {
    check(
        400,
        None,
        "something_new",
        expect!["not sent, permanent failure: slack answered HTTP 400: something_new"],
    );
}
