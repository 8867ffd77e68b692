//! `licwatch number`: adding numbers under a licence, activating and releasing them.

use crate::domain::number::ServiceNumber;
use crate::domain::province::Province;
use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::cli::output::{date_or_dash, print, print_json, print_json_each, print_table_each};
use crate::cli::{Context, Format, OnArg, licence_arg, on_or_today};
use crate::domain::date::parse_date;
use chrono::NaiveDate;

use crate::store::{Direction, NumberRow, Stamp, Store};

use super::{non_empty, number_json, number_label};

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
            // Read again for each pass rather than held: as long as the
            // register.
            let store = ctx.register()?;
            let _snapshot = store.snapshot()?;
            let licence = licence.as_ref();
            return match ctx.format {
                Format::Json => {
                    print_json_each(|each| store.each_number(licence, |n| each(number_json(&n))))
                }
                Format::Table => print_table_each(
                    &[
                        "NUMBER",
                        "LICENCE",
                        "ALLOCATED",
                        "ACTIVATED",
                        "CARRIER",
                        "DIRECTION",
                        "RELEASED",
                    ],
                    &[],
                    |each| {
                        store.each_number(licence, |n| {
                            each(vec![
                                number_label(&n),
                                n.licence.to_string(),
                                n.allocated.to_string(),
                                date_or_dash(n.activated_on),
                                n.carrier.clone().unwrap_or_else(|| "-".into()),
                                n.direction.map_or("-", |d| d.code()).to_owned(),
                                date_or_dash(n.released_on),
                            ])
                        })
                    },
                ),
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
