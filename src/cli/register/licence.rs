//! `licwatch licence`: adding, showing, listing, updating and ending licences.

use std::fmt::Write as _;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::output::{
    date_or_dash, print, print_json, print_json_each, print_table_each, table,
};
use crate::cli::{Context, Format, OnArg, licence_arg, on_or_today, rule_refused};
use crate::domain::date::{default_expiry, parse_date};
use crate::domain::licence::ItemCode;
use crate::domain::obligation::not_carried_out_streak;
use crate::domain::rules::{self};
use crate::store::{Licence, LicenceUpdate, NewLicence, Stamp, Store};

use super::{licence_json, non_empty, non_empty_if_given, number_json, number_label, uscc_arg};

#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Register a licence. Without --expires, the usual five years are
    /// assumed (issued + 5 years − 1 day) and the date used is printed.
    Add(LicenceInput),
    /// Every licence with its holder, items and dates.
    List,
    /// One licence: holder, items, dates, numbers and open obligations.
    Show {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
    },
    /// Correct a licence, or record the new expiry of a renewed one.
    Update {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        /// Replaces the business items, e.g. B24 or B24,B25.
        #[arg(long)]
        items: Option<String>,
        /// 发证日期 (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        issued: Option<String>,
        /// 有效期至: the last valid day; after a renewal, the new one.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// The issuing authority (发证机关).
        #[arg(long)]
        authority: Option<String>,
    },
    /// Record that a licence ended early (revoked, cancelled, given up).
    End {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        #[command(flatten)]
        on: OnArg,
        /// Why it ended (kept in the history), e.g. 吊销 or 注销.
        #[arg(long)]
        reason: String,
    },
}

/// `licence add`'s fields as typed, on the command line or in the web
/// console's form.
#[derive(Debug, Args)]
pub(crate) struct LicenceInput {
    /// e.g. B2-20201234, 京B2-20201234, B1.B2-20090001.
    #[arg(long)]
    pub number: String,
    /// The holder's unified social credit code (registered with company add).
    #[arg(long)]
    pub holder: String,
    /// Business items, e.g. B24 or B24,B25.
    #[arg(long)]
    pub items: String,
    /// 发证日期: the day the licence was issued (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub issued: String,
    /// 有效期至: the last day the licence is valid.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Defaults to 工业和信息化部 or the province's 通信管理局.
    #[arg(long)]
    pub authority: Option<String>,
}

/// `licence add` as typed; true with the licence when the expiry was
/// derived from the issue date.
pub(crate) fn add_licence(
    store: &mut Store,
    stamp: &Stamp,
    policy: &crate::domain::policy::Policy,
    today: NaiveDate,
    input: &LicenceInput,
) -> anyhow::Result<(Licence, bool)> {
    let number = licence_arg(&input.number)?;
    let holder = uscc_arg(&input.holder)?;
    let items = ItemCode::parse_list(&input.items)?;
    ItemCode::check_covered(&items, &number)?;
    let issued = issued_arg(&input.issued, today)?;
    let (expires, defaulted) = match input.expires.as_deref() {
        Some(text) => (parse_date("--expires", text)?, false),
        None => (default_expiry(issued, policy.licence_years), true),
    };
    // The store checks the dates and derives the authority (a given one
    // must match the scope), as it does for imported rows.
    let authority =
        non_empty_if_given("--authority", input.authority.as_deref())?.unwrap_or_default();
    let new = NewLicence {
        number,
        holder,
        items,
        issued,
        expires,
        authority,
    };
    Ok((store.add_licence(stamp, &new)?, defaulted))
}

/// `--issued`: a date, not after `today`.
fn issued_arg(text: &str, today: NaiveDate) -> anyhow::Result<NaiveDate> {
    let issued = parse_date("--issued", text)?;
    rules::not_after_today(rules::RuleField::Issued, issued, today).map_err(rule_refused)
}

/// `licence update`'s fields as typed; `None` leaves one as it is.
pub(crate) struct LicenceEdit<'a> {
    pub items: Option<&'a str>,
    pub issued: Option<&'a str>,
    pub expires: Option<&'a str>,
    pub authority: Option<&'a str>,
}

pub(crate) fn update_licence(
    store: &mut Store,
    stamp: &Stamp,
    today: NaiveDate,
    licence: &str,
    edit: &LicenceEdit,
) -> anyhow::Result<Licence> {
    let number = licence_arg(licence)?;
    let update = LicenceUpdate {
        items: edit.items.map(ItemCode::parse_list).transpose()?,
        issued: edit.issued.map(|d| issued_arg(d, today)).transpose()?,
        expires: edit
            .expires
            .map(|d| parse_date("--expires", d))
            .transpose()?,
        authority: non_empty_if_given("--authority", edit.authority)?,
    };
    Ok(store.update_licence(stamp, &number, &update)?)
}

pub fn licence(ctx: &Context, command: LicenceCommand) -> anyhow::Result<()> {
    match command {
        LicenceCommand::Add(input) => {
            let config = ctx.config()?;
            let (licence, defaulted) = add_licence(
                &mut ctx.store()?,
                &ctx.stamp(),
                &config.policy,
                ctx.today()?,
                &input,
            )?;
            match ctx.format {
                Format::Json => print_json(&licence_json(&licence)),
                Format::Table => {
                    let mut text = format!(
                        "added licence {} ({}) for {}, {} to {}, authority {}",
                        licence.number,
                        licence.number.scope().label(),
                        licence.company,
                        licence.issued,
                        licence.expires,
                        licence.authority
                    );
                    if defaulted {
                        text.push_str(&format!(
                            "\nno --expires given: used {} (issued + {} years - 1 day); correct it with: licwatch licence update {} --expires DATE",
                            licence.expires, config.policy.licence_years, licence.number
                        ));
                    }
                    print(&text)
                }
            }
        }
        LicenceCommand::List => {
            // Read again for each pass rather than held: as long as the
            // register.
            let store = ctx.register()?;
            let _snapshot = store.snapshot()?;
            match ctx.format {
                Format::Json => {
                    print_json_each(|each| store.each_licence(|l| each(licence_json(&l))))
                }
                // The scope repeats the licence number's prefix: the first
                // to give way on a narrow terminal.
                Format::Table => print_table_each(
                    &[
                        "LICENCE", "SCOPE", "COMPANY", "ITEMS", "ISSUED", "EXPIRES", "ENDED",
                    ],
                    &["SCOPE"],
                    |each| {
                        store.each_licence(|l| {
                            each(vec![
                                l.number.to_string(),
                                l.number.scope().label(),
                                l.company.clone(),
                                ItemCode::join(&l.items),
                                l.issued.to_string(),
                                l.expires.to_string(),
                                date_or_dash(l.ended_on),
                            ])
                        })
                    },
                ),
            }
        }
        LicenceCommand::Show { licence } => {
            let number = licence_arg(&licence)?;
            let store = ctx.register()?;
            let config = ctx.config()?;
            let today = ctx.today()?;
            let licence = store.licence(&number)?;
            let numbers = store.numbers(Some(&number))?;
            let obligations = store.open_obligations_of(&number, today, &config.policy)?;
            let reports = store.reports(&number)?;
            let streak = not_carried_out_streak(&reports);
            match ctx.format {
                Format::Json => {
                    let mut value = licence_json(&licence);
                    value["numbers"] = numbers.iter().map(number_json).collect();
                    value["not_carried_out_streak"] = json!(streak);
                    value["open_obligations"] = obligations
                        .iter()
                        .map(|o| json!({"obligation": o.key, "kind": o.kind.code(), "due": o.due.to_string()}))
                        .collect();
                    print_json(&value)
                }
                Format::Table => {
                    let mut text = String::new();
                    let scope = licence.number.scope().label();
                    let _ = writeln!(text, "{} {scope}", licence.number);
                    let _ = writeln!(text, "holder: {} {}", licence.company, licence.holder);
                    let items: Vec<String> = licence
                        .items
                        .iter()
                        .map(|i| format!("{} {}", i.code(), i.name_zh()))
                        .collect();
                    let _ = writeln!(text, "items: {}", items.join(", "));
                    let ended = licence
                        .ended_on
                        .map(|d| {
                            let reason = licence.end_reason.as_deref().unwrap_or("");
                            format!(" · ended {d} ({reason})")
                        })
                        .unwrap_or_default();
                    let _ = writeln!(
                        text,
                        "issued {} · expires {}{ended}",
                        licence.issued, licence.expires
                    );
                    let _ = writeln!(text, "authority: {}", licence.authority);
                    let numbers: Vec<String> = numbers.iter().map(number_label).collect();
                    let numbers = if numbers.is_empty() {
                        "-".to_owned()
                    } else {
                        numbers.join(", ")
                    };
                    let _ = writeln!(text, "numbers: {numbers}");
                    if streak >= 2 {
                        text.push_str(&format!("CRITICAL: the last {streak} annual reports said 未开展业务; the licence is at risk of being cleared out\n"));
                    } else if streak == 1 {
                        text.push_str("warning: the last annual report said 未开展业务; a second year running puts the licence at risk of clearance\n");
                    }
                    text.push_str("open obligations:\n");
                    text.push_str(&table(
                        &["DUE", "KIND", "OBLIGATION"],
                        obligations.iter().map(|o| {
                            vec![
                                o.due.to_string(),
                                o.kind.code().to_owned(),
                                o.key.to_string(),
                            ]
                        }),
                    ));
                    print(&text)
                }
            }
        }
        LicenceCommand::Update {
            licence,
            items,
            issued,
            expires,
            authority,
        } => {
            let edit = LicenceEdit {
                items: items.as_deref(),
                issued: issued.as_deref(),
                expires: expires.as_deref(),
                authority: authority.as_deref(),
            };
            let licence = update_licence(
                &mut ctx.store()?,
                &ctx.stamp(),
                ctx.today()?,
                &licence,
                &edit,
            )?;
            match ctx.format {
                Format::Json => print_json(&licence_json(&licence)),
                Format::Table => print(&format!(
                    "updated licence {}: items {}, {} to {}, authority {}",
                    licence.number,
                    ItemCode::join(&licence.items),
                    licence.issued,
                    licence.expires,
                    licence.authority
                )),
            }
        }
        LicenceCommand::End {
            licence,
            on,
            reason,
        } => {
            let number = licence_arg(&licence)?;
            let on = on_or_today(ctx, &on.on)?;
            let reason = non_empty("--reason", &reason)?;
            let licence = ctx
                .store()?
                .end_licence(&ctx.stamp(), &number, on, &reason)?;
            match ctx.format {
                Format::Json => print_json(&licence_json(&licence)),
                Format::Table => print(&format!(
                    "licence {} ended on {on}: {reason}",
                    licence.number
                )),
            }
        }
    }
}
