use expect_test::{Expect, expect};

use super::*;
use crate::notify::http::check_answer;

#[test]
fn signature_matches_the_published_vector() {
    // The vector published in the Standard Webhooks spec
    // (standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
    let key = BASE64
        .decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .expect("the vector's secret is base64");
    assert_eq!(
        sign(
            &key,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#
        ),
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    );
}

#[track_caller]
fn check(status: u16, retry_after: Option<u64>, expect: Expect) {
    check_answer(classify, status, retry_after, "body", expect);
}

#[test]
fn any_2xx_is_sent() {
    check(
        200,
        None,
        expect!["sent; the service answered: HTTP 200 body"],
    );
    check(
        204,
        None,
        expect!["sent; the service answered: HTTP 204 body"],
    );
}

#[test]
fn gone_is_permanent_and_says_to_disable() {
    check(
        410,
        None,
        expect![
            "not sent, permanent failure: webhook refused the message: code 410, the endpoint is gone and asks not to be called again (disable this route) (it said: body)"
        ],
    );
}

#[test]
fn throttling_honours_retry_after() {
    check(
        429,
        Some(120),
        expect!["not sent, will retry (not before 120 s): webhook answered HTTP 429: body"],
    );
    check(
        503,
        Some(5),
        expect!["not sent, will retry (not before 5 s): webhook answered HTTP 503: body"],
    );
}

#[test]
fn server_errors_are_retried() {
    check(
        500,
        None,
        expect!["not sent, will retry: webhook answered HTTP 500: body"],
    );
    check(
        502,
        None,
        expect!["not sent, will retry: webhook answered HTTP 502: body"],
    );
    check(
        504,
        None,
        expect!["not sent, will retry: webhook answered HTTP 504: body"],
    );
}

#[test]
fn redirects_and_client_errors_are_permanent() {
    check(
        301,
        None,
        expect!["not sent, permanent failure: webhook answered HTTP 301: body"],
    );
    check(
        401,
        None,
        expect!["not sent, permanent failure: webhook answered HTTP 401: body"],
    );
    check(
        404,
        None,
        expect!["not sent, permanent failure: webhook answered HTTP 404: body"],
    );
}
