//! `licwatch company`: adding, showing, listing and updating companies.

use anyhow::bail;
use chrono::NaiveDate;
use clap::Subcommand;
use serde_json::json;

use crate::cli::output::{print, print_json, print_json_each, print_table_each};
use crate::cli::{Context, Format, OnArg, on_or_today};
use crate::store::{ChangeRow, Company, CompanyUpdate, Stamp, Store};

use super::{
    changes_text, company_json, emails, licence_json, non_empty, non_empty_if_given, uscc_arg,
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
            // Read again for each pass rather than held: as long as the
            // register.
            let store = ctx.register()?;
            let _snapshot = store.snapshot()?;
            match ctx.format {
                Format::Json => {
                    print_json_each(|each| store.each_company(|c| each(company_json(&c))))
                }
                Format::Table => print_table_each(&["USCC", "NAME", "EMAILS"], &[], |each| {
                    store.each_company(|c| {
                        each(vec![
                            c.uscc.to_string(),
                            c.name.clone(),
                            c.emails.join(", "),
                        ])
                    })
                }),
            }
        }
        CompanyCommand::Show { uscc } => {
            let store = ctx.register()?;
            let company = store.company(&uscc_arg(&uscc)?)?;
            let licences = store.licences_of(company.id)?;
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
        name: non_empty_if_given("--name", edit.name)?,
        address: non_empty_if_given("--address", edit.address)?,
        legal_rep: non_empty_if_given("--legal-rep", edit.legal_rep)?,
        emails: edit.emails.map(emails).transpose()?,
        routes,
        changed_on: edit.on,
    };
    Ok(store.update_company(stamp, &uscc, &update)?)
}
