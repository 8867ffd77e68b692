//! What the console's forms do: mark an obligation done, snooze it. Each
//! goes through the checks and store functions the CLI's commands use, so a
//! refusal reads the same and changes nothing.

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use hyper::StatusCode;
use maud::Markup;

use super::pages::{self, Message};
use super::{Form, obligation_path};
use crate::cli::agenda::find_obligation;
use crate::cli::snooze::snooze_checked;
use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::obligation::{Obligation, ObligationKind, State, renewal_due};
use crate::domain::rules::{self, RuleField};
use crate::store::{Direction, Evidence, NumberRow, Session, Stamp, Store};

pub enum Outcome {
    Redirect(String),
    Page(StatusCode, Markup),
}

/// The longest receipt or note kept.
const MAX_EVIDENCE_CHARS: usize = 500;

#[allow(clippy::too_many_arguments)]
pub fn act(
    store: &mut Store,
    config: &Config,
    session: &Session,
    stamp: &Stamp,
    key: &str,
    action: &str,
    form: &Form,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let today = now.with_timezone(&config.schedule.time_zone).date_naive();
    let o = match find_obligation(store, key, today, config) {
        Ok(o) => o,
        // Gone (done meanwhile) or never there: the page says which.
        Err(_) => return page(store, config, session, key, None, form, now),
    };
    let result = match action {
        "done" => mark_done(store, stamp, &o, form, today, config),
        _ => snooze(store, stamp, &o, form, today),
    };
    match result {
        Ok(()) if action == "done" => {
            tracing::info!(user = %stamp.user, obligation = %o.key, "web console: marked done");
            let key: String = url::form_urlencoded::byte_serialize(o.key.as_bytes()).collect();
            Ok(Outcome::Redirect(format!("/?done={key}")))
        }
        Ok(()) => Ok(Outcome::Redirect(format!(
            "{}?snoozed=1",
            obligation_path(&o.key)
        ))),
        Err(error) => {
            let message = Message::error(format!("{error:#}"));
            page(store, config, session, key, Some(message), form, now)
        }
    }
}

fn page(
    store: &Store,
    config: &Config,
    session: &Session,
    key: &str,
    message: Option<Message>,
    form: &Form,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let (status, markup) =
        pages::obligation_page(store, config, session, key, message, Some(form), now)?;
    Ok(Outcome::Page(status, markup))
}

fn evidence(form: &Form, name: &str) -> anyhow::Result<Option<String>> {
    match form.get(name) {
        Some(text) if text.chars().count() > MAX_EVIDENCE_CHARS => {
            bail!("{name}: longer than {MAX_EVIDENCE_CHARS} characters")
        }
        Some(text) if text.chars().any(char::is_control) => {
            bail!("{name}: holds control characters (one line of text is accepted)")
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// The register row of the obligation's number: the one allocated on the
/// day its key names, under its licence.
fn number_of(store: &Store, o: &Obligation) -> anyhow::Result<NumberRow> {
    let number = o
        .number
        .as_ref()
        .with_context(|| format!("obligation {}: names no number", o.key))?;
    store
        .numbers(Some(&o.licence))?
        .into_iter()
        .filter(|row| &row.number == number && row.released_on.is_none())
        .find(|row| {
            o.kind != ObligationKind::NumberActivation
                || o.key.ends_with(&format!("/{}", row.allocated))
        })
        .with_context(|| format!("number {number}: not held under {}", o.licence))
}

/// Marks `o` done as the CLI command its kind names would
/// (`agenda`'s "mark done" column), with the evidence in the history.
fn mark_done(
    store: &mut Store,
    stamp: &Stamp,
    o: &Obligation,
    form: &Form,
    today: NaiveDate,
    config: &Config,
) -> anyhow::Result<()> {
    let on = parse_date("--on", form.get("on").unwrap_or_default())?;
    let on =
        rules::not_after_today(RuleField::On, on, today).map_err(|e| anyhow!(e.with_flag()))?;
    let mut stamp = stamp.clone();
    stamp.evidence = Evidence {
        receipt: evidence(form, "receipt")?,
        note: evidence(form, "note")?,
    };
    match o.kind {
        ObligationKind::Renewal if o.state(today) == State::Expired => bail!(
            "{} expired without renewal: it can no longer be renewed; record its end with: licwatch licence end {} --on DATE --reason 到期未延续",
            o.licence,
            o.licence
        ),
        ObligationKind::Renewal => {
            let licence = store.licence(&o.licence)?;
            rules::renewal_submission(
                &o.licence,
                licence.expires,
                renewal_due(licence.expires, &config.policy),
                on,
            )
            .map_err(|e| anyhow!(e.with_flag()))?;
            store.submit_renewal(&stamp, &o.licence, on, true)?;
        }
        ObligationKind::AnnualReport => {
            let carried_out = match form.get("carried_out") {
                Some("yes") | None => true,
                Some("no") => false,
                Some(other) => bail!("carried_out \"{other}\": unknown (accepted: yes, no)"),
            };
            let year = o
                .year
                .with_context(|| format!("obligation {}: names no year", o.key))?;
            store.file_report(&stamp, &o.licence, year, on, carried_out)?;
        }
        ObligationKind::ChangeFiling => {
            let id: i64 = o
                .key
                .rsplit('/')
                .next()
                .and_then(|id| id.parse().ok())
                .with_context(|| format!("obligation {}: names no change", o.key))?;
            store.file_change(&stamp, id, on)?;
        }
        ObligationKind::NumberActivation => {
            let row = number_of(store, o)?;
            let carrier = form
                .get("carrier")
                .context("--carrier: empty (the carrier the number runs on, e.g. 中国电信)")?;
            let direction: Direction = form
                .get("direction")
                .unwrap_or_default()
                .parse()
                .map_err(anyhow::Error::msg)?;
            store.activate_number(&stamp, &row.number, row.province, on, carrier, direction)?;
        }
        ObligationKind::NumberOutlivesLicence => {
            let row = number_of(store, o)?;
            store.release_number(&stamp, &row.number, row.province, on)?;
        }
    }
    Ok(())
}

fn snooze(
    store: &mut Store,
    stamp: &Stamp,
    o: &Obligation,
    form: &Form,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let until = parse_date("--until", form.get("until").unwrap_or_default())?;
    let reason = form.get("reason").unwrap_or_default();
    snooze_checked(store, stamp, o, until, reason, today)
}
