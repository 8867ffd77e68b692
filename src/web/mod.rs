//! The web console: server-rendered pages on the daemon's HTTP listener for
//! the people who receive the reminders (docs/web.md has the URL map and
//! the ids the pages carry).
//!
//! Architecture invariant: the console changes the register only through
//! the store functions and checks the CLI uses (`cli::snooze::snooze_checked`,
//! `Store::submit_renewal`, …); it holds no state but the login limit.
//!
//! Safety: every page but /login and /static needs a session (a random
//! token in an HttpOnly, SameSite=Strict cookie, kept hashed in the
//! register, replaced at each login); every POST carries the session's CSRF
//! token, compared in constant time; a cross-site Origin or Sec-Fetch-Site
//! is refused; bodies are capped; every response carries the security
//! headers of [`secure`]. Templates (maud) escape every value.

mod actions;
pub mod auth;
mod import;
mod login;
mod pages;
mod respond;
mod routes;
mod upload;

use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::cli::http::Shared;
use crate::notify::render::link::obligation_path;
use crate::store::{Session, Source, Stamp};

use self::auth::Limiter;
use self::login::{login, login_form, session};
use self::respond::{body, forbidden, internal, redirect, refusal};
use self::routes::{get, post};

type Page = Response<Full<Bytes>>;

/// The session cookie. `__Host-` would pin it to https and the host, but
/// the console also runs on plain loopback without TLS.
const SESSION_COOKIE: &str = "licwatch_session";
/// The login form's own token (double submit), before any session exists.
const LOGIN_COOKIE: &str = "licwatch_login";
/// A session lasts a working day, then asks for the password again.
const SESSION_HOURS: i64 = 12;
/// A form: a few fields.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// An uploaded sheet, with its multipart framing.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The console's state across requests: the login limit, and the sheets
/// waiting for their import to be confirmed.
#[derive(Default)]
pub struct Console {
    limiter: Limiter,
    uploads: upload::Uploads,
}

/// The paths the console answers (the rest is the listener's own).
pub fn serves(path: &str) -> bool {
    matches!(
        path,
        "/" | "/login"
            | "/logout"
            | "/status"
            | "/history"
            | "/companies"
            | "/licences"
            | "/numbers"
            | "/import"
            | "/import/confirm"
            | "/static/app.css"
    ) || ["/obligation/", "/company/", "/licence/", "/number/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The headers every answer of the listener carries: no script, style and
/// images from here only, forms posted here only, never framed.
pub fn secure(response: &mut Page) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Decoded `application/x-www-form-urlencoded` pairs (a query or a body).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(bytes: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The field, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// Who is asking, as far as the listener can tell.
#[derive(Clone)]
struct Client {
    /// The client's address: the peer, or what a trusted proxy said.
    address: IpAddr,
    /// Whether the peer is a trusted proxy.
    proxied: bool,
}

fn client(shared: &Shared, peer: SocketAddr, headers: &HeaderMap) -> Client {
    let config = shared.config();
    let proxied = config.http.trusted_proxies.contains(&peer.ip());
    let forwarded = proxied
        .then(|| headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    Client {
        address: forwarded.unwrap_or(peer.ip()),
        proxied,
    }
}

/// A signed-in request: its session and what it needs to write.
pub(crate) struct Signed {
    pub session: Session,
    pub address: IpAddr,
}

impl Signed {
    pub(crate) fn stamp(&self, now: DateTime<Utc>) -> Stamp {
        Stamp {
            user: self.session.account.name.clone(),
            at: now,
            source: Source::Web {
                address: self.address.to_string(),
            },
            evidence: Default::default(),
        }
    }
}

/// A POST from another site (Origin or Sec-Fetch-Site say so) is refused
/// before its token is even read; SameSite=Strict keeps its cookie away too.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (Some(origin), Some(host)) => url::Url::parse(origin).ok().is_none_or(|origin| {
            let port = origin.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}{port}", origin.host_str().unwrap_or_default()) != host
        }),
        _ => false,
    }
}

/// Answers one request to a console path.
pub async fn handle(shared: Shared, peer: SocketAddr, request: Request<Incoming>) -> Page {
    let now = Utc::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = Form::parse(request.uri().query().unwrap_or_default().as_bytes());
    let headers = request.headers().clone();
    let client = client(&shared, peer, &headers);
    let config = shared.config();
    let secure_cookies = config.http.secure_cookies;

    if path == "/static/app.css" {
        let mut response = Response::new(Full::new(Bytes::from_static(pages::CSS.as_bytes())));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        );
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        return response;
    }
    if method != Method::GET && method != Method::POST {
        return refusal(StatusCode::METHOD_NOT_ALLOWED, "只接受 GET 和 POST 请求");
    }
    if method == Method::POST && cross_site(&headers) {
        tracing::warn!(address = %client.address, %path, "web console: cross-site POST refused");
        return forbidden("拒绝来自其他网站的表单");
    }
    if path == "/login" {
        return match method {
            Method::GET => login_form(&query, secure_cookies, None, StatusCode::OK),
            _ => login(&shared, request, &headers, &client, now).await,
        };
    }

    let (session, set_cookie) = match session(&shared, &headers, &client, now).await {
        Ok(found) => found,
        Err(e) => return internal(&e),
    };
    let Some(session) = session else {
        if method == Method::POST {
            return forbidden("尚未登录：请先在 /login 登录");
        }
        let next = request
            .uri()
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        return redirect(&format!("/login?next={next}"));
    };
    let signed = Signed {
        session,
        address: client.address,
    };
    let mut response = if method == Method::POST && path == "/import" {
        import::upload(&shared, request, &signed, now).await
    } else if method == Method::POST {
        let form = match body(request, MAX_FORM_BYTES).await {
            Ok(bytes) => Form::parse(&bytes),
            Err(page) => return page,
        };
        let csrf_ok = form
            .get("csrf")
            .is_some_and(|given| auth::same(&signed.session.csrf, given));
        if !csrf_ok {
            tracing::warn!(address = %client.address, %path, "web console: POST without its CSRF token refused");
            return forbidden("表单的校验令牌缺失或不符：请刷新页面后重试");
        }
        post(&shared, &path, &signed, &form, now).await
    } else {
        get(&shared, &path, &query, &signed, now).await
    };
    if let Some(value) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_origin_is_cross_site() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9386"));
        assert!(!cross_site(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9386"),
        );
        assert!(!cross_site(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&headers));
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&headers));
    }
}
