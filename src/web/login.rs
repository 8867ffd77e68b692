//! Signing in and out: the session of a request's cookie (or of a trusted
//! proxy's user header), the rate-limited login form, and the end of a
//! session.

use std::time::Instant;

use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode};

use crate::cli::http::{Shared, with_store_mut};
use crate::store::{Session, Store};

use super::respond::{body, cookie, cookie_value, forbidden, html, internal, redirect};
use super::{
    Client, Form, LOGIN_COOKIE, MAX_FORM_BYTES, Page, SESSION_COOKIE, SESSION_HOURS, Signed, auth,
    pages,
};

/// Finds the session of the request's cookie, or (from a trusted proxy
/// naming the account in `proxy_user_header`) starts one. The second value
/// is the cookie to set when a session was started.
pub(super) async fn session(
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
pub(super) fn start_session(
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

pub(super) fn login_form(
    query: &Form,
    secure: bool,
    message: Option<&str>,
    status: StatusCode,
) -> Page {
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
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub(super) async fn login(
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
        let matches = !long && auth::verify_password(&password, hash);
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

pub(super) async fn logout(shared: &Shared, signed: &Signed) -> Page {
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

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/obligation/x")), "/obligation/x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
