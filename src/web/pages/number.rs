//! A number's page: its register rows and the forms that activate and
//! release it.

use maud::html;

use crate::domain::province::Province;
use crate::store::{Session, Store};
use crate::web::Form;

use super::{
    MAX_LIST_ROWS, Message, Rendered, activation_fields, direction_zh, layout, not_found,
    page_status, url_component,
};

/// A number's page: `/number/NUMBER`, with `?province=X` for a 96 number
/// allocated by a province.
pub fn number_href(number: &str, province: Option<Province>) -> String {
    let mut href = format!("/number/{}", url_component(number));
    if let Some(province) = province {
        href.push_str(&format!(
            "?province={}",
            url_component(&province.abbreviation().to_string())
        ));
    }
    href
}

/// A number's page: its rows in the register (one a province for a 96
/// number) and, for an editor, the forms that activate and release it.
pub fn number(
    store: &Store,
    session: &Session,
    number: &str,
    province: Option<&str>,
    message: Option<Message>,
    form: Option<&Form>,
) -> Rendered {
    let rows = match crate::cli::register::number::number_typed(number, province) {
        Ok((typed, province)) => store
            .search_numbers(typed.as_str(), MAX_LIST_ROWS)?
            .into_iter()
            .filter(|row| row.number == typed && (province.is_none() || row.province == province))
            .collect::<Vec<_>>(),
        Err(error) => return not_found(session, &error),
    };
    let Some(first) = rows.first() else {
        return not_found(
            session,
            &anyhow::anyhow!("number {number}: not in the register"),
        );
    };
    let status = page_status(message.as_ref());
    let field = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let action = |what: &str| {
        format!(
            "/number/{}/{what}",
            url_component(&first.number.to_string())
        )
    };
    let province_field = first
        .province
        .map(|p| p.abbreviation().to_string())
        .unwrap_or_default();
    let body = html! {
        table #number {
            thead { tr { th { "码号" } th { "省份" } th { "许可证" } th { "分配日期" } th { "启用日期" } th { "运营商" } th { "方向" } th { "收回日期" } } }
            tbody {
                @for n in &rows {
                    tr data-number=(n.number.to_string()) {
                        td { a href=(number_href(&n.number.to_string(), n.province)) { (n.number.to_string()) } }
                        td { (n.province.map(|p| p.name().to_owned()).unwrap_or_default()) }
                        td { a href=(format!("/licence/{}", url_component(&n.licence.to_string()))) { (n.licence) } }
                        td { (n.allocated) }
                        td.activated { (n.activated_on.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (n.carrier.as_deref().unwrap_or_default()) }
                        td { (n.direction.map(direction_zh).unwrap_or_default()) }
                        td.released { (n.released_on.map(|d| d.to_string()).unwrap_or_default()) }
                    }
                }
            }
        }
        @if rows.len() > 1 {
            p.hint { "该码号由多个省份分配：请从上表选择一行后修改。" }
        } @else if session.account.role.can_write() && first.released_on.is_none() {
            @if first.activated_on.is_none() {
                h2 { "登记启用" }
                form #number-activate method="post" action=(action("activate")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="province" value=(province_field);
                    label { "启用日期 " input name="on" type="date" value=(field("on")) required; }
                    (activation_fields(&field("carrier"), &field("direction")))
                    button #number-activate-button type="submit" { "登记启用" }
                }
            }
            h2 { "登记收回" }
            form #number-release method="post" action=(action("release")) {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="province" value=(province_field);
                label { "收回日期 " input name="on" type="date" value=(field("on")) required; }
                button #number-release-button type="submit" { "登记收回" }
            }
        }
    };
    Ok((
        status,
        layout(
            &first.number.to_string(),
            Some(session),
            message.as_ref(),
            body,
        ),
    ))
}
