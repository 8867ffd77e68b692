//! What is due: the agenda, the explanation of a schedule, and snoozes.

use std::collections::BTreeSet;
use std::io::Write as _;

use anyhow::{Context as _, bail};
use chrono::{Datelike, Days, NaiveDate};
use clap::Args;
use serde_json::json;

use super::output::{self, FitTable, print, print_json, table};
use super::{Context, Format};
use crate::config::Config;
use crate::domain::basis::{self, Basis, Consequence, obligation_basis};
use crate::domain::lang::Lang;
use crate::domain::obligation::Obligation;
use crate::domain::obligation::keys::{ObligationKey, short_id};
use crate::notify::render::words::{self, Placeholders, StageStatus};
use crate::plan::{Stage, plan, stages};
use crate::store::{OutboxState, Store};

/// The widest agenda window: ten years, twice a licence's life.
const MAX_DAYS: i64 = 3660;

#[derive(Debug, Args)]
pub struct AgendaArgs {
    /// How many days ahead to look (0 to 3660); overdue obligations are
    /// always shown.
    // Negative numbers are taken as the value, so that `--days -5` is refused
    // by the range, naming --days, rather than as an unknown option `-5`.
    #[arg(
        long,
        default_value_t = 90,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(0..=MAX_DAYS)
    )]
    pub(super) days: u32,
    /// Also list every reminder stage of each obligation.
    #[arg(long)]
    pub(super) explain: bool,
    /// The calendar's language with --format ics: zh-CN (default) or en.
    #[arg(long, value_name = "LANG")]
    pub(super) lang: Option<String>,
    /// With --explain: also the stages that were never sent because a newer
    /// one came first.
    #[arg(long, requires = "explain")]
    pub(super) all_stages: bool,
    #[command(flatten)]
    pub(super) filter: super::filter::Filter,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The obligation: its ID from the agenda, or its key
    /// (e.g. renewal/京B2-20201234/2027-06-30).
    obligation: String,
}

/// The CLI command that marks an obligation done, for people to copy.
fn done_command(o: &Obligation, today: NaiveDate) -> String {
    words::done_command(o, o.state(today), Placeholders::AGENDA)
}

pub(crate) fn what_to_do(o: &Obligation, today: NaiveDate) -> String {
    words::what_to_do(o, o.state(today), Lang::En)
}

fn state_text(o: &Obligation, today: NaiveDate) -> String {
    let state = o.state(today).code();
    match o.snoozed_until {
        Some(until) if today < until => format!("{state}, snoozed to {until}"),
        _ => state.to_owned(),
    }
}

fn obligation_json(o: &Obligation, today: NaiveDate) -> serde_json::Value {
    json!({
        "id": short_id(&o.key),
        "obligation": o.key,
        "kind": o.kind.code(),
        "licence": o.licence.to_string(),
        "number": o.number.as_ref().map(|n| n.to_string()),
        "year": o.year,
        "change_id": o.key.change_id(),
        "company": o.company,
        "authority": o.authority,
        "due": o.due.to_string(),
        "days_left": o.days_left(today),
        "state": o.state(today).code(),
        "snoozed_until": o.snoozed_until.filter(|until| today < *until).map(|d| d.to_string()),
        "action": what_to_do(o, today),
        "command": done_command(o, today),
        "consequence": consequence(o, today).en,
        "basis": basis_json(consequence(o, today).basis),
        "deadline_basis": basis_json(obligation_basis(o.kind)),
    })
}

pub(crate) fn consequence(o: &Obligation, today: NaiveDate) -> &'static Consequence {
    basis::consequence(o.kind, o.state(today))
}

/// A basis as data: one object per article cited, or an empty list and
/// `practice` when only practice says it.
fn basis_json(basis: Basis) -> serde_json::Value {
    let citations: Vec<_> = basis
        .citations()
        .iter()
        .map(|c| {
            json!({
                "document": c.document.title_zh(),
                "document_code": c.document.code(),
                "article": c.article,
                "quote": c.quote,
            })
        })
        .collect();
    json!({"practice": basis == Basis::Practice, "citations": citations})
}

/// The stages of `o` and what became of each, and how many overdue repeats
/// in the middle [`stages`] left out.
pub(crate) fn stage_rows(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<(Vec<StageRow>, usize)> {
    let through = today.max(o.due);
    let now = plan(
        std::slice::from_ref(o),
        |_, _| false,
        today,
        &config.policy,
        &config.calendar,
    );
    let current = now.alerts.first().map(|alert| alert.stage.offset);
    let outbox = store.stage_states(o.key.as_str())?;
    let all = stages(o, &config.policy, &config.calendar, through);
    let rows = all
        .stages
        .into_iter()
        .map(|stage| {
            let status = match outbox.get(&stage.offset) {
                Some(OutboxState::Sent) => StageStatus::Sent,
                Some(OutboxState::Pending) => StageStatus::Queued,
                Some(OutboxState::Failed) => StageStatus::Failed,
                Some(OutboxState::Cancelled) => StageStatus::Cancelled,
                None if Some(stage.offset) == current => StageStatus::DueNow,
                None if stage.send_on < today => StageStatus::Skipped,
                None => StageStatus::Upcoming,
            };
            (stage, status)
        })
        .collect();
    Ok((rows, all.omitted))
}

/// The most stages shown for one obligation.
const MAX_STAGE_ROWS: usize = 60;

/// A stage and what became of it.
type StageRow = (Stage, StageStatus);

/// At most [`MAX_STAGE_ROWS`] stages, the first and the last half of them,
/// and how many between were left out, with the `omitted` repeats
/// [`stages`] left out of the middle already: daily repeats over years
/// overdue (`--today 9999-12-31 explain`) made 2.9M lines (issue 13).
pub(crate) fn bounded((mut rows, omitted): (Vec<StageRow>, usize)) -> (Vec<StageRow>, usize) {
    let dropped = rows.len().saturating_sub(MAX_STAGE_ROWS);
    if dropped > 0 {
        rows.drain(MAX_STAGE_ROWS / 2..MAX_STAGE_ROWS / 2 + dropped);
    }
    (rows, omitted + dropped)
}

/// The note under a table whose middle stages [`bounded`] left out.
fn omitted_note(omitted: usize) -> String {
    format!(
        "({omitted} stages in the middle not shown: the first and the last {} are)",
        MAX_STAGE_ROWS / 2
    )
}

/// The stages worth reading: all of them, or (`all` false) those that were
/// or will be sent, leaving out the ones a newer stage overtook; with the
/// number left out, and the number [`bounded`] left out.
fn stages_shown(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
    all: bool,
) -> anyhow::Result<(Vec<StageRow>, usize, usize)> {
    let (rows, omitted) = stage_rows(o, today, config, store)?;
    let total = rows.len();
    let shown: Vec<_> = rows
        .into_iter()
        .filter(|(_, status)| all || *status != StageStatus::Skipped)
        .collect();
    let hidden = total - shown.len();
    let (shown, omitted) = bounded((shown, omitted));
    Ok((shown, hidden, omitted))
}

fn stages_table(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<String> {
    let (rows, omitted) = bounded(stage_rows(o, today, config, store)?);
    let mut text = stages_text(rows);
    if omitted > 0 {
        text.push('\n');
        text.push_str(&omitted_note(omitted));
    }
    Ok(text)
}

fn stages_text(rows: Vec<StageRow>) -> String {
    table(
        &[
            "STAGE",
            "NOMINAL",
            "SEND ON",
            "MOVED BECAUSE",
            "SEVERITY",
            "STATUS",
        ],
        rows.into_iter().map(|(stage, status)| {
            vec![
                format!("{:+}", stage.offset),
                stage.nominal.to_string(),
                stage.send_on.to_string(),
                words::moved_because(&stage, Lang::En),
                stage.severity.code().to_owned(),
                words::stage_status(status, Lang::En).to_owned(),
            ]
        }),
    )
}

fn stages_json(
    o: &Obligation,
    today: NaiveDate,
    config: &Config,
    store: &Store,
) -> anyhow::Result<(serde_json::Value, usize)> {
    let (rows, omitted) = bounded(stage_rows(o, today, config, store)?);
    Ok((stages_json_of(rows), omitted))
}

fn stages_json_of(rows: Vec<StageRow>) -> serde_json::Value {
    rows.into_iter()
        .map(|(stage, status)| {
            json!({
                "stage": stage.offset,
                "nominal": stage.nominal.to_string(),
                "send_on": stage.send_on.to_string(),
                "moved_because": words::moved_because(&stage, Lang::En),
                "severity": stage.severity.code(),
                "status": words::stage_status(status, Lang::En),
            })
        })
        .collect()
}

/// The years, among those of the due days, that the calendar has no
/// holidays for.
fn unknown_years_warning(
    due_years: impl IntoIterator<Item = i32>,
    config: &Config,
) -> Option<String> {
    let mut years: Vec<i32> = due_years
        .into_iter()
        .filter(|year| !config.calendar.knows_year(*year))
        .collect();
    years.sort();
    years.dedup();
    (!years.is_empty()).then(|| {
        format!(
            "note: no holiday data for {}: only weekends are skipped there; add the State Council notice with calendar.holiday_files in the config",
            years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

fn number_or_year(o: &Obligation) -> Option<String> {
    o.number
        .as_ref()
        .map(|n| n.to_string())
        .or(o.year.map(|y| y.to_string()))
}

/// The agenda's columns piped or with --wide: one column a fact.
const WIDE_HEADER: [&str; 10] = [
    "ID",
    "DUE",
    "DAYS",
    "STATE",
    "KIND",
    "LICENCE",
    "NUMBER/YEAR",
    "COMPANY",
    "WHAT TO DO",
    "MARK DONE",
];

fn wide_row(o: &Obligation, today: NaiveDate) -> Vec<String> {
    vec![
        short_id(&o.key),
        o.due.to_string(),
        o.days_left(today).to_string(),
        state_text(o, today),
        o.kind.code().to_owned(),
        o.licence.to_string(),
        number_or_year(o).unwrap_or_else(|| "-".into()),
        o.company.clone(),
        what_to_do(o, today),
        done_command(o, today),
    ]
}

/// The agenda on a terminal: the kind and its number or year share a
/// column that wraps at its spaces, and the action columns give way first
/// ([`FIT_OPTIONAL`]), so that the table fits 80 columns without cutting a
/// word or a character in two.
const FIT_HEADER: [&str; 9] = [
    "ID",
    "DUE",
    "DAYS",
    "STATE",
    "KIND",
    "COMPANY",
    "LICENCE",
    "WHAT TO DO",
    "MARK DONE",
];

/// The columns of [`FIT_HEADER`] that give way on a narrow terminal, the
/// first first.
const FIT_OPTIONAL: [&str; 3] = ["MARK DONE", "WHAT TO DO", "LICENCE"];

fn fit_row(o: &Obligation, today: NaiveDate) -> Vec<String> {
    let kind = o.kind.code().replace('_', " ");
    vec![
        short_id(&o.key),
        o.due.to_string(),
        o.days_left(today).to_string(),
        state_text(o, today),
        match number_or_year(o) {
            Some(what) => format!("{kind} {what}"),
            None => kind,
        },
        o.company.clone(),
        o.licence.to_string(),
        what_to_do(o, today),
        done_command(o, today),
    ]
}

pub fn agenda(ctx: &Context, args: AgendaArgs) -> anyhow::Result<()> {
    if args.lang.is_some() {
        bail!("--lang: only for the calendar (add --format ics); tables and JSON are in English");
    }
    let config = ctx.config()?;
    let today = ctx.today()?;
    let until = today
        .checked_add_days(Days::new(args.days.into()))
        .context("--days: too far ahead")?;
    let store = ctx.register()?;
    let _snapshot = store.snapshot()?;
    // Checked before anything is read: a wrong --company or --licence is
    // refused even when nothing is due.
    args.filter.apply(&store, Vec::new(), today)?;
    // The agenda a slice of due days at a time, filtered slice by slice:
    // memory follows a few days' obligations, not the agenda's. Each pass over
    // it reads the register again.
    let obligations = || {
        store
            .due_slices(until, today, &config.policy)
            .flat_map(|slice| {
                match slice
                    .map_err(anyhow::Error::from)
                    .and_then(|slice| args.filter.apply(&store, slice, today))
                {
                    Ok(slice) => slice.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(error) => vec![Err(error)],
                }
            })
    };
    match ctx.format {
        Format::Json => output::print_json_items(obligations().map(|o| {
            let o = o?;
            let mut value = obligation_json(&o, today);
            if args.explain {
                let (rows, _, omitted) = stages_shown(&o, today, &config, &store, args.all_stages)?;
                value["stages"] = stages_json_of(rows);
                value["stages_omitted"] = omitted.into();
            }
            Ok(value)
        })),
        Format::Table => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            // Each pass (widths, rows, stages; on a terminal, the trial
            // widths of the wrapping columns) reads the slices again.
            let mut fitted = output::width_limit().map(|width| FitTable::new(width, &FIT_HEADER));
            let mut table = output::TableWriter::new(&WIDE_HEADER);
            let mut years = BTreeSet::new();
            let mut count = 0usize;
            for o in obligations() {
                let o = o?;
                count += 1;
                years.insert(o.due.year());
                match &mut fitted {
                    Some(fitted) => fitted.see(&fit_row(&o, today)),
                    None => table.fit(&wide_row(&o, today)),
                }
            }
            if count == 0 {
                write!(
                    out,
                    "nothing due in the {} days from {today}, and nothing overdue",
                    args.days
                )?;
            } else if let Some(fitted) = &fitted {
                fitted.write(&mut out, &FIT_OPTIONAL, |each| {
                    obligations().try_for_each(|o| each(fit_row(&o?, today)))
                })?;
            } else {
                table.write_header(&mut out, &WIDE_HEADER)?;
                for o in obligations() {
                    table.write_row(&mut out, &wide_row(&o?, today))?;
                }
            }
            if args.explain {
                for o in obligations() {
                    let o = o?;
                    let (rows, hidden, omitted) =
                        stages_shown(&o, today, &config, &store, args.all_stages)?;
                    write!(
                        out,
                        "\n\n{} {} (due {})\n{}",
                        short_id(&o.key),
                        o.key,
                        o.due,
                        stages_text(rows)
                    )?;
                    if hidden > 0 {
                        write!(
                            out,
                            "\n{}",
                            output::fill(&format!(
                                "({hidden} earlier stages not sent: a newer stage came first; --all-stages lists them)"
                            ))
                        )?;
                    }
                    if omitted > 0 {
                        write!(out, "\n{}", omitted_note(omitted))?;
                    }
                }
            }
            if let Some(warning) = unknown_years_warning(years, &config) {
                write!(out, "\n\n{}", output::fill(&warning))?;
            }
            writeln!(out)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// Finds an open obligation by its key or by its short id (the agenda's ID
/// column).
pub(crate) fn find_obligation(
    store: &Store,
    key: &str,
    today: NaiveDate,
    config: &Config,
) -> anyhow::Result<Obligation> {
    let wanted = key.trim();
    if !wanted.contains('/') {
        return find_by_short_id(store, wanted, today, config);
    }
    let wanted: ObligationKey = wanted.parse()?;
    let licence = wanted.licence();
    let open = store.open_obligations_of(licence, today, &config.policy)?;
    open.iter()
        .find(|o| o.key == wanted)
        .cloned()
        .with_context(|| {
            format!(
                "obligation \"{key}\": not open on {today} (open ones of {licence}: {})",
                if open.is_empty() {
                    "none".to_owned()
                } else {
                    open.iter()
                        .map(|o| o.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        })
}

/// The open obligation whose short id is `id`, among all of the register's.
fn find_by_short_id(
    store: &Store,
    id: &str,
    today: NaiveDate,
    config: &Config,
) -> anyhow::Result<Obligation> {
    let id = id.to_lowercase();
    let shape = id.len() == 7 && id.chars().all(|c| c.is_ascii_alphanumeric());
    if !shape {
        bail!(
            "obligation \"{id}\": neither an ID (7 letters and digits, as in the ID column of licwatch agenda) nor a key (e.g. renewal/京B2-20201234/2027-06-30)"
        );
    }
    // Every open obligation, whatever its due day.
    let far = NaiveDate::from_ymd_opt(9000, 12, 31).expect("a valid date");
    // A slice at a time: only the matches are held.
    let mut found: Vec<Obligation> = Vec::new();
    for slice in store.due_slices(far, today, &config.policy) {
        found.extend(slice?.into_iter().filter(|o| short_id(&o.key) == id));
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!(
            "obligation \"{id}\": no open obligation has this ID on {today} (see the ID column of licwatch agenda)"
        ),
        _ => bail!(
            "obligation \"{id}\": the ID of {} open obligations; give the key instead: {}",
            found.len(),
            found
                .iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn explain(ctx: &Context, args: ExplainArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = ctx.today()?;
    let store = ctx.register()?;
    let o = find_obligation(&store, &args.obligation, today, &config)?;
    match ctx.format {
        Format::Json => {
            let mut value = obligation_json(&o, today);
            let (stages, omitted) = stages_json(&o, today, &config, &store)?;
            value["stages"] = stages;
            value["stages_omitted"] = omitted.into();
            print_json(&value)
        }
        Format::Table => {
            let consequence = consequence(&o, today);
            let mut text = format!(
                "{} {}\n{} · {} · due {} ({} days) · {}\n{}\nif missed: {}\nbasis: {}\ndeadline basis: {}\nmark done: {}\n\n{}",
                short_id(&o.key),
                o.key,
                o.licence,
                o.company,
                o.due,
                o.days_left(today),
                state_text(&o, today),
                what_to_do(&o, today),
                consequence.en,
                consequence.basis.en(),
                obligation_basis(o.kind).en(),
                done_command(&o, today),
                stages_table(&o, today, &config, &store)?
            );
            if let Some(warning) = unknown_years_warning([o.due.year()], &config) {
                text.push_str("\n\n");
                text.push_str(&warning);
            }
            print(&text)
        }
    }
}
