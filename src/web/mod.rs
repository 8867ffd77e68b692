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
mod auth;
mod pages;
mod upload;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

pub use auth::{Limiter, hash_password, verify_password};

use crate::cli::http::{Shared, with_store, with_store_mut};
use crate::notify::render::link::obligation_path;
use crate::store::{Session, Source, Stamp, Store};

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

fn html(status: StatusCode, markup: maud::Markup) -> Page {
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
fn refusal(status: StatusCode, why: &str) -> Page {
    html(status, pages::refusal(status, why))
}

fn redirect(to: &str) -> Page {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn internal(error: &anyhow::Error) -> Page {
    tracing::error!("web console: {error:#}");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "内部错误（详见守护进程的日志）",
    )
}

fn forbidden(why: &str) -> Page {
    refusal(StatusCode::FORBIDDEN, why)
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("licwatch_invalid=; Max-Age=0"))
}

fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
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

async fn body(request: Request<Incoming>, limit: usize) -> Result<Bytes, Page> {
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

fn too_large(limit: usize) -> Page {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("请求内容超过此处接受的 {limit} 字节"),
    )
}

/// Finds the session of the request's cookie, or (from a trusted proxy
/// naming the account in `proxy_user_header`) starts one. The second value
/// is the cookie to set when a session was started.
async fn session(
    shared: &Shared,
    headers: &HeaderMap,
    client: &Client,
    now: DateTime<Utc>,
) -> anyhow::Result<(Option<Session>, Option<HeaderValue>)> {
    let config = shared.config();
    let token = cookie_value(headers, SESSION_COOKIE);
    let proxy_user = config
        .http
        .proxy_user_header
        .as_ref()
        .filter(|_| client.proxied)
        .and_then(|name| headers.get(name.as_str()))
        .and_then(|value| value.to_str().ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    let address = client.address.to_string();
    let secure = config.http.secure_cookies;
    with_store_mut(shared, move |store, _| {
        let found = match &token {
            Some(token) => store.session(&auth::token_hash(token), now)?,
            None => None,
        };
        let Some(user) = proxy_user else {
            return Ok((found, None));
        };
        // The proxy decides who this is: a session of anyone else is not
        // this person's.
        if found.as_ref().is_some_and(|s| s.account.name == user) {
            return Ok((found, None));
        }
        let Some(account) = store.account(&user)? else {
            tracing::warn!(%user, "web console: the proxy named an account that does not exist");
            return Ok((None, None));
        };
        let (session, token) = start_session(store, &account, now, &address)?;
        Ok((
            Some(session),
            Some(cookie(
                SESSION_COOKIE,
                &token,
                "/",
                SESSION_HOURS * 3600,
                secure,
            )),
        ))
    })
    .await
}

/// A new session for `account`: a fresh token and CSRF token.
fn start_session(
    store: &mut Store,
    account: &crate::store::Account,
    now: DateTime<Utc>,
    address: &str,
) -> anyhow::Result<(Session, String)> {
    let token = auth::token()?;
    let csrf = auth::token()?;
    let expires = now + chrono::Duration::hours(SESSION_HOURS);
    store.create_session(
        account,
        &auth::token_hash(&token),
        &csrf,
        now,
        expires,
        address,
    )?;
    Ok((
        Session {
            account: account.clone(),
            csrf,
            expires_at: crate::store::timestamp(expires),
        },
        token,
    ))
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
        upload(&shared, request, &signed, now).await
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

fn login_form(query: &Form, secure: bool, message: Option<&str>, status: StatusCode) -> Page {
    let token = match auth::token() {
        Ok(token) => token,
        Err(e) => return internal(&e),
    };
    let next = safe_next(query.get("next"));
    let mut response = html(status, pages::login(&token, &next, message));
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(LOGIN_COOKIE, &token, "/login", 3600, secure),
    );
    response
}

/// Only a local path: a login must not send the person to another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn login(
    shared: &Shared,
    request: Request<Incoming>,
    headers: &HeaderMap,
    client: &Client,
    now: DateTime<Utc>,
) -> Page {
    let secure = shared.config().http.secure_cookies;
    let form = match body(request, MAX_FORM_BYTES).await {
        Ok(bytes) => Form::parse(&bytes),
        Err(page) => return page,
    };
    let expected = cookie_value(headers, LOGIN_COOKIE).unwrap_or_default();
    let token_ok = !expected.is_empty()
        && form
            .get("csrf")
            .is_some_and(|given| auth::same(&expected, given));
    if !token_ok {
        return forbidden("登录表单的校验令牌缺失或不符：请重新打开 /login 后重试");
    }
    let name = form.get("user").unwrap_or_default().to_owned();
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let console = shared.console.clone();
    if console
        .limiter
        .locked(&name, client.address, Instant::now())
    {
        tracing::warn!(address = %client.address, user = %name, "web console: login refused, too many failures");
        return login_form(
            &form,
            secure,
            Some(pages::TOO_MANY),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let address = client.address.to_string();
    let old = cookie_value(headers, SESSION_COOKIE);
    let checked_name = name.clone();
    let result = with_store_mut(shared, move |store, _| {
        let found = store.account_password(&checked_name)?;
        let long = password.len() > crate::domain::account::MAX_PASSWORD_BYTES;
        let hash = found
            .as_ref()
            .map_or(auth::decoy_hash(), |(_, hash)| hash.as_str());
        let matches = !long && verify_password(&password, hash);
        let Some((account, _)) = found.filter(|_| matches) else {
            return Ok(None);
        };
        // No fixation: whatever session the browser had ends, and the new
        // one has a token never seen before.
        if let Some(old) = old {
            store.end_session(&auth::token_hash(&old))?;
        }
        start_session(store, &account, now, &address).map(Some)
    })
    .await;
    match result {
        Ok(Some((session, token))) => {
            console.limiter.succeeded(&name);
            tracing::info!(user = %session.account.name, address = %client.address, "web console: signed in");
            let mut response = redirect(&safe_next(form.get("next")));
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, &token, "/", SESSION_HOURS * 3600, secure),
            );
            headers.append(
                header::SET_COOKIE,
                cookie(LOGIN_COOKIE, "", "/login", 0, secure),
            );
            response
        }
        Ok(None) => {
            console
                .limiter
                .failed(&name, client.address, Instant::now());
            tracing::warn!(address = %client.address, user = %name, "web console: wrong name or password");
            login_form(
                &form,
                secure,
                Some(pages::WRONG_PASSWORD),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => internal(&e),
    }
}

async fn get(
    shared: &Shared,
    path: &str,
    query: &Form,
    signed: &Signed,
    now: DateTime<Utc>,
) -> Page {
    let session = signed.session.clone();
    let result = match path {
        "/" => {
            let filter = pages::AgendaQuery::from_form(query);
            let done = query.get("done").map(str::to_owned);
            with_store(shared, move |store, config| {
                pages::agenda(store, config, &session, &filter, done.as_deref(), now)
            })
            .await
        }
        "/import" if !session.account.role.can_import() => {
            return forbidden("导入表格需要管理员角色");
        }
        "/import" => return html(StatusCode::OK, pages::import_form(&session, None)),
        "/status" => {
            with_store(shared, move |store, config| {
                pages::status(store, config, &session, now)
            })
            .await
        }
        "/history" => {
            let licence = query.get("licence").map(str::to_owned);
            with_store(shared, move |store, _| {
                pages::history(store, &session, licence.as_deref())
            })
            .await
        }
        "/companies" | "/licences" | "/numbers" => {
            let q = query.get("q").unwrap_or_default().to_owned();
            let path = path.to_owned();
            with_store(shared, move |store, _| {
                pages::register(store, &session, &path, &q, None, None)
            })
            .await
        }
        _ if path.starts_with("/company/") => {
            let uscc = path["/company/".len()..].to_owned();
            let message = query.get("saved").map(|_| pages::Message::ok(pages::SAVED));
            with_store(shared, move |store, config| {
                let today = now.with_timezone(&config.schedule.time_zone).date_naive();
                pages::company(store, &session, &uscc, message, None, today)
            })
            .await
        }
        _ if path.starts_with("/licence/") => {
            let number = percent_encoding::percent_decode_str(&path["/licence/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            let message = query.get("saved").map(|_| pages::Message::ok(pages::SAVED));
            with_store(shared, move |store, _| {
                pages::licence(store, &session, &number, message, None)
            })
            .await
        }
        _ if path.starts_with("/number/") => {
            let number = percent_encoding::percent_decode_str(&path["/number/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            let province = query.get("province").map(str::to_owned);
            let message = query.get("saved").map(|_| pages::Message::ok(pages::SAVED));
            with_store(shared, move |store, _| {
                pages::number(store, &session, &number, province.as_deref(), message, None)
            })
            .await
        }
        _ => match obligation_key(path) {
            Some((key, None)) => {
                let message = query
                    .get("snoozed")
                    .map(|_| pages::Message::ok(pages::SNOOZED));
                with_store(shared, move |store, config| {
                    pages::obligation(store, config, &session, &key, message, now)
                })
                .await
            }
            _ => return refusal(StatusCode::NOT_FOUND, "没有这个页面"),
        },
    };
    match result {
        Ok((status, markup)) => html(status, markup),
        Err(e) => internal(&e),
    }
}

/// The obligation key in `/obligation/KEY[/ACTION]`, decoded.
fn obligation_key(path: &str) -> Option<(String, Option<&str>)> {
    let tail = path.strip_prefix("/obligation/")?;
    let (encoded, action) = match tail.rsplit_once('/') {
        Some((key, action @ ("done" | "snooze"))) => (key, Some(action)),
        _ => (tail, None),
    };
    let key = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!key.is_empty()).then_some((key, action))
}

async fn post(
    shared: &Shared,
    path: &str,
    signed: &Signed,
    form: &Form,
    now: DateTime<Utc>,
) -> Page {
    if path == "/logout" {
        return logout(shared, signed).await;
    }
    if path == "/import/confirm" {
        return confirm_import(shared, signed, form, now).await;
    }
    let register = matches!(path, "/companies" | "/licences" | "/numbers")
        || path.starts_with("/company/")
        || path.starts_with("/licence/")
        || ["/activate", "/release"]
            .iter()
            .any(|action| path.starts_with("/number/") && path.ends_with(action));
    let obligation = obligation_key(path).and_then(|(key, action)| Some((key, action?.to_owned())));
    if !register && obligation.is_none() {
        return refusal(StatusCode::NOT_FOUND, "没有这个页面");
    }
    if !signed.session.account.role.can_write() {
        tracing::warn!(user = %signed.session.account.name, %path, "web console: a viewer's POST refused");
        return forbidden("此账号只能查看，不能修改（角色：只读）");
    }
    let stamp = signed.stamp(now);
    let session = signed.session.clone();
    let form = Form(form.0.clone());
    let path = path.to_owned();
    let result = with_store_mut(shared, move |store, config| match obligation {
        Some((key, action)) => {
            actions::act(store, config, &session, &stamp, &key, &action, &form, now)
        }
        None => actions::register_write(store, config, &session, &stamp, &path, &form, now),
    })
    .await;
    match result {
        Ok(actions::Outcome::Redirect(to)) => redirect(&to),
        Ok(actions::Outcome::Page(status, markup)) => html(status, markup),
        Err(e) => internal(&e),
    }
}

/// POST /import: the sheet's dry run, shown before anything is written.
async fn upload(
    shared: &Shared,
    request: Request<Incoming>,
    signed: &Signed,
    now: DateTime<Utc>,
) -> Page {
    let Some(boundary) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(upload::boundary)
    else {
        return refusal(StatusCode::BAD_REQUEST, "表格须以 multipart/form-data 上传");
    };
    let bytes = match body(request, MAX_UPLOAD_BYTES).await {
        Ok(bytes) => bytes,
        Err(page) => return page,
    };
    let parts = match upload::parts(&bytes, &boundary) {
        Ok(parts) => parts,
        Err(why) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                &format!("上传的内容无法读取：{why}"),
            );
        }
    };
    let field = |name: &str| parts.iter().find(|part| part.name == name);
    let csrf_ok = field("csrf")
        .and_then(|part| std::str::from_utf8(&part.data).ok())
        .is_some_and(|given| auth::same(&signed.session.csrf, given.trim()));
    if !csrf_ok {
        tracing::warn!(address = %signed.address, "web console: upload without its CSRF token refused");
        return forbidden("表单的校验令牌缺失或不符：请刷新页面后重试");
    }
    if !signed.session.account.role.can_import() {
        return forbidden("导入表格需要管理员角色");
    }
    let Some(sheet) = field("sheet").filter(|part| !part.data.is_empty()) else {
        let message = pages::Message::error("sheet: no file chosen");
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::import_form(&signed.session, Some(message)),
        );
    };
    let text_field = |name: &str| {
        field(name)
            .map(|part| String::from_utf8_lossy(&part.data).into_owned())
            .unwrap_or_default()
    };
    let options = match upload::ImportOptions::from_form(
        &text_field("header_row"),
        field("strict").is_some(),
    ) {
        Ok(options) => options,
        Err(why) => {
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::import_form(&signed.session, Some(pages::Message::error(why))),
            );
        }
    };
    let upload = upload::Sheet {
        filename: sheet.filename.clone().unwrap_or_default(),
        bytes: sheet.data.clone(),
        options,
    };
    let stamp = signed.stamp(now);
    let session = signed.session.clone();
    let console = shared.console.clone();
    let result = with_store(shared, move |store, config| {
        let (imported, report) = actions::import(store, config, &stamp, &upload, false, now)?;
        let token = match imported {
            crate::cli::Imported::Report { .. } => {
                let token = auth::token()?;
                console
                    .uploads
                    .keep(token.clone(), session.account.id, upload.clone());
                Some(token)
            }
            crate::cli::Imported::Refused { .. } => None,
        };
        Ok(pages::import_report(
            &session,
            &report,
            &upload.options,
            token.as_deref(),
        ))
    })
    .await;
    match result {
        Ok(markup) => html(StatusCode::OK, markup),
        // Mostly the sheet's own faults (unreadable, no usable header row):
        // said on the form, as `licwatch import` says them.
        Err(error) => {
            tracing::warn!(address = %signed.address, "web console: import refused: {error:#}");
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::import_form(
                    &signed.session,
                    Some(pages::Message::error(format!("{error:#}"))),
                ),
            )
        }
    }
}

/// POST /import/confirm: writes the sheet whose dry run was shown.
async fn confirm_import(shared: &Shared, signed: &Signed, form: &Form, now: DateTime<Utc>) -> Page {
    if !signed.session.account.role.can_import() {
        return forbidden("导入表格需要管理员角色");
    }
    let Some(upload) = form.get("upload").and_then(|token| {
        shared
            .console
            .uploads
            .take(token, signed.session.account.id)
    }) else {
        let message = pages::Message::error(
            "this dry run is no longer kept (30 minutes, or already confirmed); upload the sheet again",
        );
        return html(
            StatusCode::GONE,
            pages::import_form(&signed.session, Some(message)),
        );
    };
    let stamp = signed.stamp(now);
    let session = signed.session.clone();
    let result = with_store(shared, move |store, config| {
        let (imported, report) = actions::import(store, config, &stamp, &upload, true, now)?;
        let written = matches!(imported, crate::cli::Imported::Report { .. });
        if written {
            tracing::info!(user = %stamp.user, filename = %upload.filename, "web console: sheet imported");
        }
        Ok(pages::import_done(&session, &report, written))
    })
    .await;
    match result {
        Ok(markup) => html(StatusCode::OK, markup),
        Err(e) => internal(&e),
    }
}

async fn logout(shared: &Shared, signed: &Signed) -> Page {
    let secure = shared.config().http.secure_cookies;
    let account = signed.session.account.id;
    let csrf = signed.session.csrf.clone();
    // The session is found by its CSRF token here: the cookie's token was
    // already matched to it.
    let result = with_store_mut(shared, move |store, _| {
        store.end_session_by_csrf(account, &csrf)?;
        Ok(())
    })
    .await;
    match result {
        Ok(()) => {
            let mut response = redirect("/login");
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, "", "/", 0, secure),
            );
            response
        }
        Err(e) => internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::link::obligation_url;

    #[test]
    fn keys_round_trip_through_their_path() {
        let key = "renewal/京B2-20201234/2027-06-30";
        let path = obligation_path(key);
        assert_eq!(
            path,
            "/obligation/renewal%2F%E4%BA%ACB2-20201234%2F2027-06-30"
        );
        assert_eq!(obligation_key(&path), Some((key.to_owned(), None)));
        assert_eq!(
            obligation_key(&format!("{path}/done")),
            Some((key.to_owned(), Some("done")))
        );
        let base = url::Url::parse("https://licwatch.example.com/console/").unwrap();
        assert_eq!(
            obligation_url(&base, key),
            format!("https://licwatch.example.com/console{path}")
        );
        let underscored = "annual_report/京B2-20201234/2025";
        let path = obligation_path(underscored);
        assert!(!path.contains('_'), "{path}");
        assert_eq!(obligation_key(&path), Some((underscored.to_owned(), None)));
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/obligation/x")), "/obligation/x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

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
