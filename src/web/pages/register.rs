//! The register's lists (companies, licences, numbers) with their add
//! forms, and a company's and a licence's page with its edit form.

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::store::{Refusal, Session, Store, StoreError};
use crate::web::Form;

use super::history::history_table;
use super::number::number_href;
use super::{MAX_LIST_ROWS, Message, Rendered, layout, not_found, page_status, url_component};

pub(super) fn search_form(q: &str) -> Markup {
    html! {
        form #search method="get" {
            label { "搜索 " input name="q" value=(q); }
            button #search-button type="submit" { "搜索" }
        }
    }
}

/// An editor's add form `{kind}-add` posting to `action`, folded away
/// unless it comes back `open` with what was refused; `fields` are its
/// labelled inputs.
fn add_form(
    session: &Session,
    open: bool,
    kind: &str,
    summary: &str,
    action: &str,
    fields: Markup,
) -> Markup {
    html! {
        details open[open] {
            summary { (summary) }
            form id=(format!("{kind}-add")) method="post" action=(action) {
                input type="hidden" name="csrf" value=(session.csrf);
                (fields)
                button id=(format!("{kind}-add-button")) type="submit" { "新增" }
            }
        }
    }
}

/// A register list: the table `id` with these column headers over `rows`.
fn list_table(id: &str, headers: &[&str], rows: Markup) -> Markup {
    html! {
        table id=(id) {
            thead { tr { @for header in headers { th { (header) } } } }
            tbody { (rows) }
        }
    }
}

/// The register's lists: companies, licences, numbers, narrowed by `q`
/// (part of any column shown).
pub fn register(
    store: &Store,
    session: &Session,
    path: &str,
    q: &str,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let needle = q.trim().to_lowercase();
    let field = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let can_write = session.account.role.can_write();
    let (title, table) = match path {
        "/companies" => {
            let rows = store.search_companies(&needle, MAX_LIST_ROWS)?;
            (
                "持证单位",
                html! {
                    @if can_write {
                        (add_form(session, form.is_some(), "company", "新增持证单位", "/companies", html! {
                            label { "统一社会信用代码 " input name="uscc" value=(field("uscc")) required; }
                            label { "名称 " input name="name" value=(field("name")) required; }
                            label { "联系邮箱（可多个，用逗号或换行分隔） " textarea name="emails" { (field("emails")) } }
                        }))
                    }
                    (list_table("companies", &["统一社会信用代码", "名称", "地址", "法定代表人", "联系邮箱"], html! {
                        @for c in &rows {
                            tr data-uscc=(c.uscc.as_str()) {
                                td { a href=(format!("/company/{}", c.uscc.as_str())) { (c.uscc.as_str()) } }
                                td { a href=(format!("/?company={}", url_component(c.uscc.as_str()))) { (c.name) } }
                                td { (c.address.as_deref().unwrap_or_default()) }
                                td { (c.legal_rep.as_deref().unwrap_or_default()) }
                                td { (c.emails.join(", ")) }
                            }
                        }
                    }))
                },
            )
        }
        "/licences" => {
            let rows = store.search_licences(&needle, MAX_LIST_ROWS)?;
            (
                "许可证",
                html! {
                    @if can_write {
                        (add_form(session, form.is_some(), "licence", "新增许可证", "/licences", html! {
                            label { "许可证编号 " input name="number" value=(field("number")) placeholder="京B2-20201234" required; }
                            label { "持证单位统一社会信用代码 " input name="holder" value=(field("holder")) required; }
                            label { "业务种类 " input name="items" value=(field("items")) placeholder="B24" required; }
                            label { "发证日期 " input name="issued" type="date" value=(field("issued")) required; }
                            label { "有效期至（空：发证日起五年） " input name="expires" type="date" value=(field("expires")); }
                            label { "发证机关（空：按编号推定） " input name="authority" value=(field("authority")); }
                        }))
                    }
                    (list_table("licences", &["许可证编号", "持证单位", "业务种类", "发证日期", "有效期至", "终止", "发证机关"], html! {
                        @for l in &rows {
                            @let number = l.number.to_string();
                            tr data-licence=(number) {
                                td { a href=(format!("/licence/{}", url_component(&number))) { (number) } }
                                td { (l.company) }
                                td { (l.items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")) }
                                td { (l.issued) }
                                td { (l.expires) }
                                td { (l.ended_on.map(|d| d.to_string()).unwrap_or_default()) }
                                td { (l.authority) }
                            }
                        }
                    }))
                },
            )
        }
        _ => {
            let rows = store.search_numbers(&needle, MAX_LIST_ROWS)?;
            (
                "码号",
                html! {
                    @if can_write {
                        (add_form(session, form.is_some(), "number", "新增码号", "/numbers", html! {
                            label { "码号 " input name="number" value=(field("number")) placeholder="95xxx / 96xxxx / 1010xxxx" required; }
                            label { "分配省份（96 码号，许可证未说明时） " input name="province" value=(field("province")); }
                            label { "许可证编号 " input name="licence" value=(field("licence")) placeholder="京B2-20201234" required; }
                            label { "分配日期 " input name="allocated" type="date" value=(field("allocated")) required; }
                        }))
                    }
                    (list_table("numbers", &["码号", "省份", "许可证", "分配日期", "启用日期", "运营商", "收回日期"], html! {
                        @for n in &rows {
                            tr data-number=(n.number.to_string()) {
                                td { a href=(number_href(&n.number.to_string(), n.province)) { (n.number.to_string()) } }
                                td { (n.province.map(|p| p.name().to_owned()).unwrap_or_default()) }
                                td { (n.licence.to_string()) }
                                td { (n.allocated) }
                                td { (n.activated_on.map(|d| d.to_string()).unwrap_or_default()) }
                                td { (n.carrier.as_deref().unwrap_or_default()) }
                                td { (n.released_on.map(|d| d.to_string()).unwrap_or_default()) }
                            }
                        }
                    }))
                },
            )
        }
    };
    let body = html! {
        (search_form(q))
        (table)
        p.hint { "最多显示 " (MAX_LIST_ROWS) " 行；请用搜索缩小范围。" }
    };
    let status = page_status(message.as_ref());
    Ok((status, layout(title, Some(session), message.as_ref(), body)))
}

/// A company's page: its facts and, for an editor, the edit form.
pub fn company(
    store: &Store,
    session: &Session,
    uscc: &str,
    message: Option<Message>,
    form: Option<&Form>,
    today: NaiveDate,
) -> Rendered {
    let uscc = match uscc.parse::<crate::domain::uscc::Uscc>() {
        Ok(uscc) => uscc,
        Err(error) => return not_found(session, &error.into()),
    };
    // Only "no such company" is a 404; a register that cannot be read is
    // the server's fault and gets the 500 page.
    let company = match store.company(&uscc) {
        Err(StoreError::Refused(refusal @ Refusal::NoCompany { .. })) => {
            return not_found(session, &refusal.into());
        }
        other => other?,
    };
    let value = |name: &str, current: Option<&str>| {
        form.and_then(|f| f.get(name))
            .or(current)
            .unwrap_or_default()
            .to_owned()
    };
    let emails = company.emails.join("\n");
    let status = page_status(message.as_ref());
    let body = html! {
        dl #company {
            dt { "统一社会信用代码" } dd { (company.uscc.as_str()) }
            dt { "名称" } dd { (company.name) }
            dt { "地址" } dd { (company.address.as_deref().unwrap_or_default()) }
            dt { "法定代表人" } dd { (company.legal_rep.as_deref().unwrap_or_default()) }
            dt { "联系邮箱" } dd { (company.emails.join(", ")) }
        }
        p { a href=(format!("/?company={}", company.uscc.as_str())) { "该单位的待办" } }
        @if session.account.role.can_write() {
            h2 { "修改" }
            p.hint { "名称、地址、法定代表人的变更会产生变更备案事项（变更日期见下）。" }
            form #company-edit method="post" action=(format!("/company/{}", company.uscc.as_str())) {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "名称 " input name="name" value=(value("name", Some(&company.name))) required; }
                label { "地址 " input name="address" value=(value("address", company.address.as_deref())); }
                label { "法定代表人 " input name="legal_rep" value=(value("legal_rep", company.legal_rep.as_deref())); }
                label { "联系邮箱 " textarea name="emails" { (value("emails", Some(&emails))) } }
                label { "变更日期 " input name="on" type="date" value=(value("on", Some(&today.to_string()))) required; }
                button #company-edit-button type="submit" { "保存" }
            }
        }
    };
    Ok((
        status,
        layout(&company.name, Some(session), message.as_ref(), body),
    ))
}

/// A licence's page: its facts, its history, and the edit form.
pub fn licence(
    store: &Store,
    session: &Session,
    number: &str,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let number = match number.parse::<crate::domain::licence::LicenceNo>() {
        Ok(number) => number,
        Err(error) => return not_found(session, &error.into()),
    };
    let licence = match store.licence(&number) {
        Err(StoreError::Refused(refusal @ Refusal::NoLicence { .. })) => {
            return not_found(session, &refusal.into());
        }
        other => other?,
    };
    let items = crate::domain::licence::ItemCode::join(&licence.items);
    let value =
        |name: &str, current: &str| form.and_then(|f| f.get(name)).unwrap_or(current).to_owned();
    let status = page_status(message.as_ref());
    let history = store.history_latest(Some(&licence.number), MAX_LIST_ROWS)?;
    let number = licence.number.to_string();
    let body = html! {
        dl #licence {
            dt { "许可证编号" } dd { (number) }
            dt { "持证单位" } dd { a href=(format!("/company/{}", licence.holder.as_str())) { (licence.company) } }
            dt { "业务种类" } dd { (items) }
            dt { "发证日期" } dd { (licence.issued) }
            dt { "有效期至" } dd { (licence.expires) }
            dt { "终止" } dd { (licence.ended_on.map(|d| d.to_string()).unwrap_or_default()) " " (licence.end_reason.as_deref().unwrap_or_default()) }
            dt { "发证机关" } dd { (licence.authority) }
        }
        @if session.account.role.can_write() {
            h2 { "修改" }
            form #licence-edit method="post" action=(format!("/licence/{}", url_component(&number))) {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "业务种类 " input name="items" value=(value("items", &items)) required; }
                label { "发证日期 " input name="issued" type="date" value=(value("issued", &licence.issued.to_string())) required; }
                label { "有效期至 " input name="expires" type="date" value=(value("expires", &licence.expires.to_string())) required; }
                label { "发证机关 " input name="authority" value=(value("authority", &licence.authority)) required; }
                button #licence-edit-button type="submit" { "保存" }
            }
        }
        h2 { "变更记录" }
        (history_table(&history))
    };
    Ok((
        status,
        layout(&number, Some(session), message.as_ref(), body),
    ))
}
