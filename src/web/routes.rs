//! Which page a GET shows and which write a POST makes, by path.

use chrono::{DateTime, Utc};
use hyper::StatusCode;

use crate::cli::http::{Shared, with_store, with_store_mut};

use super::import::confirm_import;
use super::login::logout;
use super::respond::{forbidden, html, internal, redirect, refusal};
use super::{Form, Page, Signed, actions, pages};

pub(super) async fn get(
    shared: &Shared,
    path: &str,
    query: &Form,
    signed: &Signed,
    now: DateTime<Utc>,
) -> Page {
    let session = signed.session.clone();
    let result = match path {
        "/" => {
            let filter = pages::agenda::AgendaQuery::from_form(query);
            let done = query.get("done").map(str::to_owned);
            with_store(shared, move |store, config| {
                pages::agenda::agenda(store, config, &session, &filter, done.as_deref(), now)
            })
            .await
        }
        "/import" if !session.account.role.can_import() => {
            return forbidden("导入表格需要管理员角色");
        }
        "/import" => return html(StatusCode::OK, pages::import::import_form(&session, None)),
        "/status" => {
            with_store(shared, move |store, config| {
                pages::history::status(store, config, &session, now)
            })
            .await
        }
        "/history" => {
            let licence = query.get("licence").map(str::to_owned);
            with_store(shared, move |store, _| {
                pages::history::history(store, &session, licence.as_deref())
            })
            .await
        }
        "/companies" | "/licences" | "/numbers" => {
            let q = query.get("q").unwrap_or_default().to_owned();
            let path = path.to_owned();
            with_store(shared, move |store, _| {
                pages::register::register(store, &session, &path, &q, None, None)
            })
            .await
        }
        _ if path.starts_with("/company/") => {
            let uscc = path["/company/".len()..].to_owned();
            let message = query.get("saved").map(|_| pages::Message::ok(pages::SAVED));
            with_store(shared, move |store, config| {
                let today = config.schedule.today(now);
                pages::register::company(store, &session, &uscc, message, None, today)
            })
            .await
        }
        _ if path.starts_with("/licence/") => {
            let number = percent_encoding::percent_decode_str(&path["/licence/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            let message = query.get("saved").map(|_| pages::Message::ok(pages::SAVED));
            with_store(shared, move |store, _| {
                pages::register::licence(store, &session, &number, message, None)
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
                pages::number::number(store, &session, &number, province.as_deref(), message, None)
            })
            .await
        }
        _ => match obligation_key(path) {
            Some((key, None)) => {
                let message = query
                    .get("snoozed")
                    .map(|_| pages::Message::ok(pages::SNOOZED));
                with_store(shared, move |store, config| {
                    pages::agenda::obligation(store, config, &session, &key, message, now)
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
pub(super) fn obligation_key(path: &str) -> Option<(String, Option<&str>)> {
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

pub(super) async fn post(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::link::{obligation_path, obligation_url};

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
}
