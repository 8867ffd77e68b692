//! Commands that change or show the register.

use anyhow::{Context as _, bail};
use chrono::{Datelike, NaiveDate};
use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{date_or_dash, print, print_json, table, table_fit};
use super::{Context, Format, OnArg, licence_arg, on_or_today, row_id, rule_refused};
use crate::domain::change::ChangeKind;
use crate::domain::date::{default_expiry, parse_date};
use crate::domain::licence::{ItemCode, LicenceNo};
use crate::domain::number::ServiceNumber;
use crate::domain::obligation::{change_filing_due, not_carried_out_streak, renewal_due};
use crate::domain::policy::Policy;
use crate::domain::province::Province;
use crate::domain::rules::{self, Timeliness};
use crate::domain::uscc::Uscc;
use crate::store::{
    ChangeRow, Company, CompanyUpdate, Direction, Licence, LicenceUpdate, NewLicence, NumberRow,
    ReportScope, Source, Stamp, Store, check_email,
};

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Register a company by its unified social credit code.
    Add {
        /// 统一社会信用代码, 18 characters.
        #[arg(long)]
        uscc: String,
        /// The registered name (企业名称), as on the business licence.
        #[arg(long)]
        name: String,
        /// A contact address for reminders; repeat for more.
        #[arg(long = "email", value_name = "ADDRESS")]
        emails: Vec<String>,
    },
    /// Every company with its contact addresses.
    List,
    /// One company: address, legal representative, contacts, routes, licences.
    Show {
        /// 统一社会信用代码 (18 characters).
        uscc: String,
    },
    /// Change a company's details. A new name, address or legal
    /// representative records a change to be filed on each of its licences.
    Update {
        /// 统一社会信用代码 (18 characters).
        uscc: String,
        /// The new registered name (企业名称); records a name change.
        #[arg(long)]
        name: Option<String>,
        /// Registered address (注册地址).
        #[arg(long)]
        address: Option<String>,
        /// Legal representative (法定代表人).
        #[arg(long)]
        legal_rep: Option<String>,
        /// Replaces the contact list; repeat for more.
        #[arg(long = "email", value_name = "ADDRESS")]
        emails: Vec<String>,
        /// A configured route this company's alerts also go to (agency use:
        /// each client its own robot); repeat for more. Replaces the list.
        #[arg(long = "route", value_name = "ROUTE")]
        routes: Vec<String>,
        /// Remove the company's own routes.
        #[arg(long, conflicts_with = "routes")]
        clear_routes: bool,
        #[command(flatten)]
        on: OnArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Register a licence. Without --expires, the usual five years are
    /// assumed (issued + 5 years − 1 day) and the date used is printed.
    Add {
        /// e.g. B2-20201234, 京B2-20201234, B1.B2-20090001.
        #[arg(long)]
        number: String,
        /// The holder's unified social credit code (registered with company add).
        #[arg(long)]
        holder: String,
        /// Business items, e.g. B24 or B24,B25.
        #[arg(long)]
        items: String,
        /// 发证日期: the day the licence was issued (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        issued: String,
        /// 有效期至: the last day the licence is valid.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// Defaults to 工业和信息化部 or the province's 通信管理局.
        #[arg(long)]
        authority: Option<String>,
    },
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

#[derive(Debug, Args)]
pub struct NumberArg {
    /// 95 + 3 digits, 96 + 4 digits or 1010 + 4 digits.
    number: String,
    /// The allocating province of a 96 number (e.g. 粤 or 广东省), when the
    /// licence alone does not say.
    #[arg(long)]
    province: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NumberCommand {
    /// Register a number allocated under a licence (先证后号).
    Add {
        #[command(flatten)]
        number: NumberArg,
        /// The licence it is allocated under, e.g. 京B2-20201234.
        #[arg(long)]
        licence: String,
        /// The day of the allocation letter (YYYY-MM-DD); activation is
        /// due six calendar months later.
        #[arg(long, value_name = "DATE")]
        allocated: String,
    },
    /// Record that a number was put into service.
    Activate {
        #[command(flatten)]
        number: NumberArg,
        #[command(flatten)]
        on: OnArg,
        /// The carrier it connects through, e.g. 中国电信.
        #[arg(long)]
        carrier: String,
        /// inbound (the default filing), outbound or both.
        #[arg(long, default_value = "inbound")]
        direction: String,
    },
    /// Record that a number was given back.
    Release {
        #[command(flatten)]
        number: NumberArg,
        #[command(flatten)]
        on: OnArg,
    },
    /// Every number with its licence, allocation and activation.
    List {
        /// Only the numbers of this licence.
        #[arg(long)]
        licence: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RenewalCommand {
    /// The renewal (续期) was applied for.
    Submit {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        #[command(flatten)]
        on: OnArg,
    },
    /// The holder reported that it will not continue the business.
    NotContinuing {
        /// The licence number, e.g. 京B2-20201234.
        licence: String,
        #[command(flatten)]
        on: OnArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The annual report on a business year was filed: for one licence,
    /// every licence of a company (--company), or every licence in the
    /// register (--all). A report already on record is left as it is.
    File {
        /// The licence number, e.g. 京B2-20201234; or give --company or
        /// --all instead.
        #[arg(required_unless_present_any = ["all", "company"], conflicts_with_all = ["all", "company"])]
        licence: Option<String>,
        /// Every licence in the register that owes the report.
        #[arg(long, conflicts_with = "company")]
        all: bool,
        /// Every licence of this company (USCC) that owes the report.
        #[arg(long, value_name = "USCC")]
        company: Option<String>,
        /// The business year reported on (年度): the 2025 report is filed
        /// 1 January – 31 March 2026. Defaults to last year.
        #[arg(long, allow_negative_numbers = true)]
        year: Option<i32>,
        #[command(flatten)]
        on: OnArg,
        /// The report said 未开展业务 (business not carried out).
        #[arg(long)]
        not_carried_out: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Record a company change that must be filed within 30 days.
    Record {
        /// The licence the change is filed under, e.g. 京B2-20201234.
        licence: String,
        /// name, address, legal-rep, shareholding (over 5%) or capital.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        on: OnArg,
    },
    /// The change was filed with the authority.
    File {
        /// The change id printed by `change record` and shown in the agenda.
        id: String,
        #[command(flatten)]
        on: OnArg,
    },
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this licence's entries.
    licence: Option<String>,
}

fn uscc_arg(text: &str) -> anyhow::Result<Uscc> {
    Ok(text.parse()?)
}

fn emails(list: &[String]) -> anyhow::Result<Vec<String>> {
    list.iter()
        .map(|email| check_email(email).map_err(anyhow::Error::msg))
        .collect()
}

fn province_arg(text: Option<&str>) -> anyhow::Result<Option<Province>> {
    text.map(|text| {
            Province::parse(text.trim()).with_context(|| {
                format!(
                    "--province \"{text}\": not a province (accepted: {}, or the full name such as 广东省)",
                    Province::accepted_abbreviations()
                )
            })
        })
        .transpose()
}

fn number_arg(arg: &NumberArg) -> anyhow::Result<(ServiceNumber, Option<Province>)> {
    number_typed(&arg.number, arg.province.as_deref())
}

/// A number as typed (in the CLI or a web form), with the allocating
/// province a 96 number may need.
pub(crate) fn number_typed(
    number: &str,
    province: Option<&str>,
) -> anyhow::Result<(ServiceNumber, Option<Province>)> {
    Ok((number.parse()?, province_arg(province)?))
}

/// `number add` as typed.
pub(crate) struct NumberInput<'a> {
    pub number: &'a str,
    pub province: Option<&'a str>,
    pub licence: &'a str,
    pub allocated: &'a str,
}

/// `number add`: the CLI's and the web console's one way to register a
/// number.
pub(crate) fn add_number(
    store: &mut Store,
    stamp: &Stamp,
    today: NaiveDate,
    input: &NumberInput,
) -> anyhow::Result<NumberRow> {
    let (number, province) = number_typed(input.number, input.province)?;
    let licence = licence_arg(input.licence)?;
    let allocated = parse_date("--allocated", input.allocated)?;
    Ok(store.add_number(stamp, &number, province, &licence, allocated, today)?)
}

/// `number activate`, from the command, a number's page or an activation
/// obligation's "mark done".
pub(crate) fn activate_number(
    store: &mut Store,
    stamp: &Stamp,
    (number, province): (&ServiceNumber, Option<Province>),
    on: NaiveDate,
    carrier: &str,
    direction: &str,
) -> anyhow::Result<NumberRow> {
    let carrier = non_empty("--carrier", carrier)?;
    let direction: Direction = direction.trim().parse().map_err(anyhow::Error::msg)?;
    Ok(store.activate_number(stamp, number, province, on, &carrier, direction)?)
}

fn company_json(company: &Company) -> serde_json::Value {
    json!({
        "uscc": company.uscc.as_str(),
        "name": company.name,
        "address": company.address,
        "legal_rep": company.legal_rep,
        "emails": company.emails,
        "routes": company.routes,
    })
}

fn licence_json(licence: &Licence) -> serde_json::Value {
    json!({
        "licence": licence.number.to_string(),
        "scope": licence.number.scope().label(),
        "company": licence.company,
        "holder": licence.holder.as_str(),
        "items": licence.items.iter().map(|i| i.code()).collect::<Vec<_>>(),
        "issued": licence.issued.to_string(),
        "expires": licence.expires.to_string(),
        "ended_on": licence.ended_on.map(|d| d.to_string()),
        "end_reason": licence.end_reason,
        "authority": licence.authority,
    })
}

fn number_json(number: &NumberRow) -> serde_json::Value {
    json!({
        "number": number.number.as_str(),
        "province": number.province.map(|p| p.abbreviation().to_string()),
        "licence": number.licence.to_string(),
        "allocated": number.allocated.to_string(),
        "activated_on": number.activated_on.map(|d| d.to_string()),
        "carrier": number.carrier,
        "direction": number.direction.map(|d| d.code()),
        "released_on": number.released_on.map(|d| d.to_string()),
    })
}

fn number_label(number: &NumberRow) -> String {
    match number.province {
        Some(p) => format!("{} ({})", number.number, p.abbreviation()),
        None => number.number.to_string(),
    }
}

fn changes_text(changes: &[ChangeRow], policy: &Policy) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "recorded change #{} ({}) on {} for {}: file it by {} (licwatch change file {} --on DATE)",
                c.id,
                c.kind.code(),
                c.changed_on,
                c.licence,
                change_filing_due(c.changed_on, policy),
                c.id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn company(ctx: &Context, command: CompanyCommand) -> anyhow::Result<()> {
    match command {
        CompanyCommand::Add {
            uscc,
            name,
            emails: list,
        } => {
            let company = add_company(&mut ctx.store()?, &ctx.stamp(), &uscc, &name, &list)?;
            match ctx.format {
                Format::Json => print_json(&company_json(&company)),
                Format::Table => print(&format!("added company {} {}", company.uscc, company.name)),
            }
        }
        CompanyCommand::List => {
            let companies = ctx.register()?.companies()?;
            match ctx.format {
                Format::Json => print_json(&companies.iter().map(company_json).collect()),
                Format::Table => print(&table(
                    &["USCC", "NAME", "EMAILS"],
                    companies
                        .iter()
                        .map(|c| vec![c.uscc.to_string(), c.name.clone(), c.emails.join(", ")]),
                )),
            }
        }
        CompanyCommand::Show { uscc } => {
            let store = ctx.register()?;
            let company = store.company(&uscc_arg(&uscc)?)?;
            let licences: Vec<_> = store
                .licences()?
                .into_iter()
                .filter(|l| l.company_id == company.id)
                .collect();
            match ctx.format {
                Format::Json => {
                    let mut value = company_json(&company);
                    value["licences"] = licences.iter().map(licence_json).collect();
                    print_json(&value)
                }
                Format::Table => print(&format!(
                    "{}\n{}\naddress: {}\nlegal representative: {}\nemails: {}\nroutes: {}\nlicences: {}",
                    company.name,
                    company.uscc,
                    company.address.as_deref().unwrap_or("-"),
                    company.legal_rep.as_deref().unwrap_or("-"),
                    company.emails.join(", "),
                    company.routes.join(", "),
                    licences
                        .iter()
                        .map(|l| l.number.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        CompanyCommand::Update {
            uscc,
            name,
            address,
            legal_rep,
            emails: list,
            routes,
            clear_routes,
            on,
        } => {
            let routes = if clear_routes {
                Some(Vec::new())
            } else if routes.is_empty() {
                None
            } else {
                let configured = ctx.config()?.route_names();
                if let Some(unknown) = routes.iter().find(|route| !configured.contains(route)) {
                    bail!(
                        "--route \"{unknown}\": not a configured route (configured: {})",
                        configured.join(", ")
                    );
                }
                Some(routes)
            };
            let edit = CompanyEdit {
                name: name.as_deref(),
                address: address.as_deref(),
                legal_rep: legal_rep.as_deref(),
                emails: (!list.is_empty()).then_some(list.as_slice()),
                on: on_or_today(ctx, &on.on)?,
            };
            let (company, changes) =
                update_company(&mut ctx.store()?, &ctx.stamp(), &uscc, &edit, routes)?;
            match ctx.format {
                Format::Json => {
                    let mut value = company_json(&company);
                    value["changes_recorded"] = changes.iter().map(|c| json!(c.id)).collect();
                    print_json(&value)
                }
                Format::Table => {
                    let mut text = format!("updated company {} {}", company.uscc, company.name);
                    if !changes.is_empty() {
                        text.push('\n');
                        text.push_str(&changes_text(&changes, &ctx.config()?.policy));
                    }
                    print(&text)
                }
            }
        }
    }
}

/// `company add` as typed, in the CLI or the web console's form.
pub(crate) fn add_company(
    store: &mut Store,
    stamp: &Stamp,
    uscc: &str,
    name: &str,
    list: &[String],
) -> anyhow::Result<Company> {
    let uscc = uscc_arg(uscc)?;
    let name = non_empty("--name", name)?;
    let emails = emails(list)?;
    Ok(store.add_company(stamp, &uscc, &name, &emails)?)
}

/// `company update`'s fields as typed; `None` leaves one as it is.
pub(crate) struct CompanyEdit<'a> {
    pub name: Option<&'a str>,
    pub address: Option<&'a str>,
    pub legal_rep: Option<&'a str>,
    pub emails: Option<&'a [String]>,
    pub on: NaiveDate,
}

/// `company update` as typed; `routes` already checked against the config.
pub(crate) fn update_company(
    store: &mut Store,
    stamp: &Stamp,
    uscc: &str,
    edit: &CompanyEdit,
    routes: Option<Vec<String>>,
) -> anyhow::Result<(Company, Vec<ChangeRow>)> {
    let uscc = uscc_arg(uscc)?;
    let update = CompanyUpdate {
        name: edit.name.map(|n| non_empty("--name", n)).transpose()?,
        address: edit
            .address
            .map(|a| non_empty("--address", a))
            .transpose()?,
        legal_rep: edit
            .legal_rep
            .map(|r| non_empty("--legal-rep", r))
            .transpose()?,
        emails: edit.emails.map(emails).transpose()?,
        routes,
        changed_on: edit.on,
    };
    Ok(store.update_company(stamp, &uscc, &update)?)
}

/// `licence add`'s fields as typed.
pub(crate) struct LicenceInput<'a> {
    pub number: &'a str,
    pub holder: &'a str,
    pub items: &'a str,
    pub issued: &'a str,
    pub expires: Option<&'a str>,
    pub authority: Option<&'a str>,
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
    let number = licence_arg(input.number)?;
    let holder = uscc_arg(input.holder)?;
    let items = ItemCode::parse_list(input.items)?;
    ItemCode::check_covered(&items, &number)?;
    let issued = rules::not_after_today(
        rules::RuleField::Issued,
        parse_date("--issued", input.issued)?,
        today,
    )
    .map_err(rule_refused)?;
    let (expires, defaulted) = match input.expires {
        Some(text) => (parse_date("--expires", text)?, false),
        None => (default_expiry(issued, policy.licence_years), true),
    };
    // The store checks the dates and derives the authority (a given one
    // must match the scope), as it does for imported rows.
    let authority = match input.authority {
        Some(text) => non_empty("--authority", text)?,
        None => String::new(),
    };
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
        issued: edit
            .issued
            .map(|d| -> anyhow::Result<_> {
                let issued = parse_date("--issued", d)?;
                rules::not_after_today(rules::RuleField::Issued, issued, today)
                    .map_err(rule_refused)
            })
            .transpose()?,
        expires: edit
            .expires
            .map(|d| parse_date("--expires", d))
            .transpose()?,
        authority: edit
            .authority
            .map(|a| non_empty("--authority", a))
            .transpose()?,
    };
    Ok(store.update_licence(stamp, &number, &update)?)
}

fn non_empty(field: &str, value: &str) -> anyhow::Result<String> {
    let value = value.trim();
    if value.is_empty() {
        bail!("{field}: empty (give the text as registered)");
    }
    Ok(value.to_owned())
}

pub fn licence(ctx: &Context, command: LicenceCommand) -> anyhow::Result<()> {
    match command {
        LicenceCommand::Add {
            number,
            holder,
            items,
            issued,
            expires,
            authority,
        } => {
            let config = ctx.config()?;
            let input = LicenceInput {
                number: &number,
                holder: &holder,
                items: &items,
                issued: &issued,
                expires: expires.as_deref(),
                authority: authority.as_deref(),
            };
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
            let licences = ctx.register()?.licences()?;
            match ctx.format {
                Format::Json => print_json(&licences.iter().map(licence_json).collect()),
                // The scope repeats the licence number's prefix: the first
                // to give way on a narrow terminal.
                Format::Table => print(&table_fit(
                    &[
                        "LICENCE", "SCOPE", "COMPANY", "ITEMS", "ISSUED", "EXPIRES", "ENDED",
                    ],
                    licences.iter().map(|l| {
                        vec![
                            l.number.to_string(),
                            l.number.scope().label(),
                            l.company.clone(),
                            ItemCode::join(&l.items),
                            l.issued.to_string(),
                            l.expires.to_string(),
                            date_or_dash(l.ended_on),
                        ]
                    }),
                    &["SCOPE"],
                )),
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
                    let mut text = format!(
                        "{} {}\nholder: {} {}\nitems: {}\nissued {} · expires {}{}\nauthority: {}\nnumbers: {}\n",
                        licence.number,
                        licence.number.scope().label(),
                        licence.company,
                        licence.holder,
                        licence
                            .items
                            .iter()
                            .map(|i| format!("{} {}", i.code(), i.name_zh()))
                            .collect::<Vec<_>>()
                            .join(", "),
                        licence.issued,
                        licence.expires,
                        licence
                            .ended_on
                            .map(|d| format!(
                                " · ended {d} ({})",
                                licence.end_reason.as_deref().unwrap_or("")
                            ))
                            .unwrap_or_default(),
                        licence.authority,
                        if numbers.is_empty() {
                            "-".to_owned()
                        } else {
                            numbers
                                .iter()
                                .map(number_label)
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    );
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

pub fn number(ctx: &Context, command: NumberCommand) -> anyhow::Result<()> {
    let row = match command {
        NumberCommand::Add {
            number,
            licence,
            allocated,
        } => {
            let input = NumberInput {
                number: &number.number,
                province: number.province.as_deref(),
                licence: &licence,
                allocated: &allocated,
            };
            add_number(&mut ctx.store()?, &ctx.stamp(), ctx.today()?, &input)?
        }
        NumberCommand::Activate {
            number,
            on,
            carrier,
            direction,
        } => {
            let (number, province) = number_arg(&number)?;
            let on = on_or_today(ctx, &on.on)?;
            activate_number(
                &mut ctx.store()?,
                &ctx.stamp(),
                (&number, province),
                on,
                &carrier,
                &direction,
            )?
        }
        NumberCommand::Release { number, on } => {
            let (number, province) = number_arg(&number)?;
            let on = on_or_today(ctx, &on.on)?;
            ctx.store()?
                .release_number(&ctx.stamp(), &number, province, on)?
        }
        NumberCommand::List { licence } => {
            let licence = licence.map(|l| licence_arg(&l)).transpose()?;
            let numbers = ctx.register()?.numbers(licence.as_ref())?;
            return match ctx.format {
                Format::Json => print_json(&numbers.iter().map(number_json).collect()),
                Format::Table => print(&table(
                    &[
                        "NUMBER",
                        "LICENCE",
                        "ALLOCATED",
                        "ACTIVATED",
                        "CARRIER",
                        "DIRECTION",
                        "RELEASED",
                    ],
                    numbers.iter().map(|n| {
                        vec![
                            number_label(n),
                            n.licence.to_string(),
                            n.allocated.to_string(),
                            date_or_dash(n.activated_on),
                            n.carrier.clone().unwrap_or_else(|| "-".into()),
                            n.direction.map_or("-", |d| d.code()).to_owned(),
                            date_or_dash(n.released_on),
                        ]
                    }),
                )),
            };
        }
    };
    match ctx.format {
        Format::Json => print_json(&number_json(&row)),
        Format::Table => print(&format!(
            "number {} under {}: allocated {}, activated {}, released {}",
            number_label(&row),
            row.licence,
            row.allocated,
            date_or_dash(row.activated_on),
            date_or_dash(row.released_on)
        )),
    }
}

pub fn renewal(ctx: &Context, command: RenewalCommand) -> anyhow::Result<()> {
    let (licence, on, continuing) = match command {
        RenewalCommand::Submit { licence, on } => (licence, on, true),
        RenewalCommand::NotContinuing { licence, on } => (licence, on, false),
    };
    let number = licence_arg(&licence)?;
    let on = on_or_today(ctx, &on.on)?;
    let policy = ctx.config()?.policy;
    let mut store = ctx.store()?;
    // The same mark again is not an error: say when, change nothing. The
    // other mark (not continuing after a submission, or the reverse) is
    // refused by the store.
    if let Some((marked_on, was_continuing)) = store.renewal_marked(&number)?
        && was_continuing == continuing
    {
        let licence = store.licence(&number)?;
        return match ctx.format {
            Format::Json => print_json(&json!({
                "licence": number.to_string(), "expires": licence.expires.to_string(),
                "continuing": continuing, "on": marked_on.to_string(), "already_marked": true,
            })),
            Format::Table => print(&format!(
                "{number}: the renewal for expiry {} was already marked on {marked_on}; nothing changed",
                licence.expires
            )),
        };
    }
    let current = store.licence(&number)?;
    let timeliness = rules::renewal_submission(
        &number,
        current.expires,
        renewal_due(current.expires, &policy),
        on,
    )
    .map_err(rule_refused)?;
    store.submit_renewal(&ctx.stamp(), &number, on, continuing)?;
    let licence = store.licence(&number)?;
    let late = match timeliness {
        Timeliness::OnTime => None,
        Timeliness::Late { due, days } => Some((due, days)),
    };
    let what = if continuing {
        "renewal applied for"
    } else {
        "not continuing, reported"
    };
    match ctx.format {
        Format::Json => print_json(&json!({
            "licence": number.to_string(), "expires": licence.expires.to_string(),
            "continuing": continuing, "on": on.to_string(),
            "late_days": late.map(|(_, days)| days),
        })),
        Format::Table => print(&format!(
            "{number}: {what} on {on} (licence expiring {}){}{}",
            licence.expires,
            match late {
                Some((due, days)) => format!(
                    "; late: the deadline was {due}, {days} day(s) earlier (recorded as late)"
                ),
                None => String::new(),
            },
            if continuing {
                format!(
                    "; when the new licence arrives: licwatch licence update {number} --expires DATE"
                )
            } else {
                String::new()
            }
        )),
    }
}

pub fn report(ctx: &Context, command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::File {
        licence,
        all,
        company,
        year,
        on,
        not_carried_out,
    } = command;
    let on = on_or_today(ctx, &on.on)?;
    let year = year.unwrap_or(on.year() - 1);
    let scope = match (licence, company) {
        (Some(licence), _) => {
            return report_one(ctx, &licence_arg(&licence)?, year, on, !not_carried_out);
        }
        (None, Some(uscc)) => ReportScope::Company(uscc.parse()?),
        (None, None) if all => ReportScope::All,
        (None, None) => bail!("report file: give a licence, --company USCC or --all"),
    };
    rules::report_filed_on(year, on).map_err(rule_refused)?;
    let filed = ctx
        .store()?
        .file_reports(&ctx.stamp(), &scope, year, on, !not_carried_out)?;
    match ctx.format {
        Format::Json => print_json(&json!({
            "year": year, "on": on.to_string(), "carried_out": !not_carried_out,
            "marked": filed.marked.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "already_filed": filed.already.iter().map(|(l, d)| json!({"licence": l.to_string(), "filed_on": d.to_string()})).collect::<Vec<_>>(),
            "not_owed": filed.not_owed,
        })),
        Format::Table => {
            let mut text = format!(
                "{year} annual report marked filed on {on} for {} licences{}",
                filed.marked.len(),
                if not_carried_out {
                    " (未开展业务)"
                } else {
                    ""
                }
            );
            if !filed.already.is_empty() {
                text.push_str(&format!(
                    "; {} already on record, left as they were",
                    filed.already.len()
                ));
            }
            if filed.not_owed > 0 {
                text.push_str(&format!(
                    "; {} not valid in {year}, so not owing it",
                    filed.not_owed
                ));
            }
            print(&text)
        }
    }
}

/// One licence's report. Filing what is already on record is not an
/// error: it says when, and changes nothing.
fn report_one(
    ctx: &Context,
    number: &LicenceNo,
    year: i32,
    on: NaiveDate,
    carried_out: bool,
) -> anyhow::Result<()> {
    let mut store = ctx.store()?;
    let already = store.report_filed_on(number, year)?;
    if already.is_none() {
        store.file_report(&ctx.stamp(), number, year, on, carried_out)?;
    }
    match (ctx.format, already) {
        (Format::Json, _) => print_json(&json!({
            "licence": number.to_string(), "year": year,
            "on": already.unwrap_or(on).to_string(),
            "carried_out": carried_out, "already_filed": already.is_some(),
        })),
        (Format::Table, Some(day)) => print(&format!(
            "{number}: the {year} annual report was already filed on {day}; nothing changed"
        )),
        (Format::Table, None) => print(&format!(
            "{number}: {year} annual report filed on {on}{}",
            if carried_out {
                ""
            } else {
                " (未开展业务)"
            }
        )),
    }
}

pub fn change(ctx: &Context, command: ChangeCommand) -> anyhow::Result<()> {
    let change = match command {
        ChangeCommand::Record { licence, kind, on } => {
            let number = licence_arg(&licence)?;
            let kind: ChangeKind = kind.parse()?;
            let on = on_or_today(ctx, &on.on)?;
            let change = ctx
                .store()?
                .record_change(&ctx.stamp(), &number, kind, on)?;
            if ctx.format == Format::Table {
                return print(&changes_text(&[change], &ctx.config()?.policy));
            }
            change
        }
        ChangeCommand::File { id, on } => {
            let id = row_id(&id).with_context(|| {
                format!("change id \"{id}\": not a change id (a positive number such as 12, shown by change record and agenda)")
            })?;
            let on = on_or_today(ctx, &on.on)?;
            let mut store = ctx.store()?;
            let change = store.change(id)?;
            // Filing what is on record already is not an error: say when,
            // change nothing.
            match change.filed_on {
                Some(filed) if ctx.format == Format::Table => {
                    return print(&format!(
                        "change #{id} ({}) of {} was already filed on {filed}; nothing changed",
                        change.kind.code(),
                        change.licence
                    ));
                }
                Some(_) => change,
                None => store.file_change(&ctx.stamp(), id, on)?,
            }
        }
    };
    match ctx.format {
        Format::Json => print_json(&json!({
            "id": change.id, "licence": change.licence.to_string(), "kind": change.kind.code(),
            "changed_on": change.changed_on.to_string(),
            "filed_on": change.filed_on.map(|d| d.to_string()),
        })),
        Format::Table => print(&format!(
            "change #{} ({}) of {} filed on {}",
            change.id,
            change.kind.code(),
            change.licence,
            date_or_dash(change.filed_on)
        )),
    }
}

pub fn history(ctx: &Context, args: HistoryArgs) -> anyhow::Result<()> {
    let licence = args.licence.map(|l| licence_arg(&l)).transpose()?;
    let rows = ctx.register()?.history(licence.as_ref())?;
    match ctx.format {
        Format::Json => print_json(
            &rows
                .iter()
                .map(|r| {
                    let (source, address) = match &r.source {
                        Source::Cli => ("cli", None),
                        Source::Web { address } => ("web", Some(address)),
                    };
                    json!({"id": r.id, "at": r.at, "user": r.user, "licence": r.licence, "action": r.action, "detail": r.detail,
                        "source": source, "address": address, "receipt": r.evidence.receipt, "note": r.evidence.note})
                })
                .collect(),
        ),
        Format::Table => print(&table(
            &["AT", "USER", "LICENCE", "ACTION", "DETAIL"],
            rows.iter().map(|r| {
                vec![
                    r.at.clone(),
                    r.user.clone(),
                    r.licence.clone().unwrap_or_else(|| "-".into()),
                    r.action.clone(),
                    r.detail.clone(),
                ]
            }),
        )),
    }
}
