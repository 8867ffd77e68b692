//! The console's answers: a page, a refusal as a page, a redirect, the
//! cookies it sets and reads, and a request body read within its cap.

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::{Page, pages};

pub(super) fn html(status: StatusCode, markup: maud::Markup) -> Page {
    let mut response = Response::new(Full::new(Bytes::from(markup.into_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A refusal as a console page: what was refused, escaped, and the way
/// back to the agenda.
pub(super) fn refusal(status: StatusCode, why: &str) -> Page {
    html(status, pages::refusal(status, why))
}

pub(super) fn redirect(to: &str) -> Page {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(super) fn internal(error: &anyhow::Error) -> Page {
    tracing::error!("web console: {error:#}");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "内部错误（详见守护进程的日志）",
    )
}

pub(super) fn forbidden(why: &str) -> Page {
    refusal(StatusCode::FORBIDDEN, why)
}

pub(super) fn cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("licwatch_invalid=; Max-Age=0"))
}

pub(super) fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

pub(super) async fn body(request: Request<Incoming>, limit: usize) -> Result<Bytes, Page> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(too_large(limit)),
    }
}

pub(super) fn too_large(limit: usize) -> Page {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("请求内容超过此处接受的 {limit} 字节"),
    )
}
