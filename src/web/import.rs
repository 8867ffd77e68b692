//! Importing a sheet from the console: the upload's dry run, kept until
//! its confirmation writes it with the same options.

use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};

use crate::cli::http::{Shared, with_store};

use super::respond::{body, forbidden, html, internal, refusal};
use super::{Form, MAX_UPLOAD_BYTES, Page, Signed, actions, auth, pages, upload};

/// POST /import: the sheet's dry run, shown before anything is written.
pub(super) async fn upload(
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
            pages::import::import_form(&signed.session, Some(message)),
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
                pages::import::import_form(&signed.session, Some(pages::Message::error(why))),
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
            crate::cli::agency::Imported::Report { .. } => {
                let token = auth::token()?;
                console
                    .uploads
                    .keep(token.clone(), session.account.id, upload.clone());
                Some(token)
            }
            crate::cli::agency::Imported::Refused { .. } => None,
        };
        Ok(pages::import::import_report(
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
                pages::import::import_form(
                    &signed.session,
                    Some(pages::Message::error(format!("{error:#}"))),
                ),
            )
        }
    }
}

/// POST /import/confirm: writes the sheet whose dry run was shown.
pub(super) async fn confirm_import(
    shared: &Shared,
    signed: &Signed,
    form: &Form,
    now: DateTime<Utc>,
) -> Page {
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
            pages::import::import_form(&signed.session, Some(message)),
        );
    };
    let stamp = signed.stamp(now);
    let session = signed.session.clone();
    let result = with_store(shared, move |store, config| {
        let (imported, report) = actions::import(store, config, &stamp, &upload, true, now)?;
        let written = matches!(imported, crate::cli::agency::Imported::Report { .. });
        if written {
            tracing::info!(user = %stamp.user, filename = %upload.filename, "web console: sheet imported");
        }
        Ok(pages::import::import_done(&session, &report, written))
    })
    .await;
    match result {
        Ok(markup) => html(StatusCode::OK, markup),
        Err(e) => internal(&e),
    }
}
