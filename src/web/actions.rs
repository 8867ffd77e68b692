//! What the console's forms do: mark an obligation done, snooze it. Each
//! goes through the checks and store functions the CLI's commands use, so a
//! refusal reads the same and changes nothing.

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use hyper::StatusCode;
use maud::Markup;

use super::pages::{self, Message};
use super::upload::Sheet;
use super::{Form, obligation_path};
use crate::cli::snooze::snooze_checked;
use crate::cli::{self, agenda::find_obligation};
use crate::config::Config;
use crate::domain::date::parse_date;
use crate::domain::obligation::{Obligation, ObligationKind, State, renewal_due};
use crate::domain::rules::{self, RuleField};
use crate::store::{Evidence, NumberRow, Session, Stamp, Store};

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
    let today = config.schedule.today(now);
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
            let key: String =
                url::form_urlencoded::byte_serialize(o.key.as_str().as_bytes()).collect();
            Ok(Outcome::Redirect(format!("/?done={key}")))
        }
        Ok(()) => Ok(Outcome::Redirect(format!(
            "{}?snoozed=1",
            obligation_path(o.key.as_str())
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
        pages::agenda::obligation_page(store, config, session, key, message, Some(form), now)?;
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
                || o.key.as_str().ends_with(&format!("/{}", row.allocated))
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
            let id = o
                .key
                .change_id()
                .with_context(|| format!("obligation {}: names no change", o.key))?;
            store.file_change(&stamp, id, on)?;
        }
        ObligationKind::NumberActivation => {
            let row = number_of(store, o)?;
            cli::register::number::activate_number(
                store,
                &stamp,
                (&row.number, row.province),
                on,
                form.get("carrier").unwrap_or_default(),
                form.get("direction").unwrap_or_default(),
            )?;
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

/// The addresses of an e-mail field: one or more, split on commas,
/// semicolons and line breaks (the CLI repeats --email instead).
fn email_list(form: &Form) -> Vec<String> {
    form.get("emails")
        .unwrap_or_default()
        .split([',', ';', '\n', '\r', '，', '；'])
        .map(str::trim)
        .filter(|email| !email.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds or edits a company or a licence through the CLI's own functions
/// (`company add`, `company update`, `licence add`, `licence update`).
pub fn register_write(
    store: &mut Store,
    config: &Config,
    session: &Session,
    stamp: &Stamp,
    path: &str,
    form: &Form,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let today = config.schedule.today(now);
    let encode =
        |text: &str| -> String { url::form_urlencoded::byte_serialize(text.as_bytes()).collect() };
    match path {
        "/companies" => {
            let result = cli::register::company::add_company(
                store,
                stamp,
                form.get("uscc").unwrap_or_default(),
                form.get("name").unwrap_or_default(),
                &email_list(form),
            );
            match result {
                Ok(company) => Ok(Outcome::Redirect(format!(
                    "/company/{}?saved=1",
                    company.uscc.as_str()
                ))),
                Err(error) => list_again(store, session, path, form, &error),
            }
        }
        "/licences" => {
            let text = |name| form.get(name).unwrap_or_default().to_owned();
            let input = cli::register::licence::LicenceInput {
                number: text("number"),
                holder: text("holder"),
                items: text("items"),
                issued: text("issued"),
                expires: form.get("expires").map(str::to_owned),
                authority: form.get("authority").map(str::to_owned),
            };
            match cli::register::licence::add_licence(store, stamp, &config.policy, today, &input) {
                Ok((licence, _)) => Ok(Outcome::Redirect(format!(
                    "/licence/{}?saved=1",
                    encode(&licence.number.to_string())
                ))),
                Err(error) => list_again(store, session, path, form, &error),
            }
        }
        "/numbers" => {
            let input = cli::register::number::NumberInput {
                number: form.get("number").unwrap_or_default(),
                province: form.get("province").filter(|p| !p.trim().is_empty()),
                licence: form.get("licence").unwrap_or_default(),
                allocated: form.get("allocated").unwrap_or_default(),
            };
            match cli::register::number::add_number(store, stamp, today, &input) {
                Ok(row) => Ok(Outcome::Redirect(saved_number(&row))),
                Err(error) => list_again(store, session, path, form, &error),
            }
        }
        _ if path.starts_with("/number/") => {
            let Some((number, action)) = path["/number/".len()..].rsplit_once('/') else {
                bail!("{path}: not a number's action");
            };
            let number = percent_encoding::percent_decode_str(number)
                .decode_utf8_lossy()
                .into_owned();
            let province = form.get("province").filter(|p| !p.trim().is_empty());
            let result = cli::register::number::number_typed(&number, province).and_then(|typed| {
                let on = cli::on_date(today, form.get("on"))?;
                match action {
                    "activate" => cli::register::number::activate_number(
                        store,
                        stamp,
                        (&typed.0, typed.1),
                        on,
                        form.get("carrier").unwrap_or_default(),
                        form.get("direction").unwrap_or_default(),
                    ),
                    "release" => Ok(store.release_number(stamp, &typed.0, typed.1, on)?),
                    other => Err(anyhow!(
                        "{other}: not an action on a number (accepted: activate, release)"
                    )),
                }
            });
            match result {
                Ok(row) => Ok(Outcome::Redirect(saved_number(&row))),
                Err(error) => refused(pages::number::number(
                    store,
                    session,
                    &number,
                    province,
                    Some(Message::error(format!("{error:#}"))),
                    Some(form),
                )),
            }
        }
        _ if path.starts_with("/company/") => {
            let uscc = &path["/company/".len()..];
            let emails = email_list(form);
            let result = cli::on_date(today, form.get("on")).and_then(|on| {
                let edit = cli::register::company::CompanyEdit {
                    name: form.get("name"),
                    address: form.get("address"),
                    legal_rep: form.get("legal_rep"),
                    emails: (!emails.is_empty()).then_some(emails.as_slice()),
                    on,
                };
                cli::register::company::update_company(store, stamp, uscc, &edit, None)
            });
            match result {
                Ok(_) => Ok(Outcome::Redirect(format!("/company/{uscc}?saved=1"))),
                Err(error) => refused(pages::register::company(
                    store,
                    session,
                    uscc,
                    Some(Message::error(format!("{error:#}"))),
                    Some(form),
                    today,
                )),
            }
        }
        _ => {
            let number = percent_encoding::percent_decode_str(&path["/licence/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            // Only what differs from the register is sent: an unchanged
            // field is not an edit.
            let current = store.licence(&number.parse()?)?;
            let items = crate::domain::licence::ItemCode::join(&current.items);
            let (issued, expires) = (current.issued.to_string(), current.expires.to_string());
            let changed = |name: &str, now: &str| form.get(name).filter(|given| *given != now);
            let edit = cli::register::licence::LicenceEdit {
                items: changed("items", &items),
                issued: changed("issued", &issued),
                expires: changed("expires", &expires),
                authority: changed("authority", &current.authority),
            };
            match cli::register::licence::update_licence(store, stamp, today, &number, &edit) {
                Ok(_) => Ok(Outcome::Redirect(format!(
                    "/licence/{}?saved=1",
                    encode(&number)
                ))),
                Err(error) => refused(pages::register::licence(
                    store,
                    session,
                    &number,
                    Some(Message::error(format!("{error:#}"))),
                    Some(form),
                )),
            }
        }
    }
}

/// A number's page after a write, saying it was saved.
fn saved_number(row: &NumberRow) -> String {
    let href = pages::number::number_href(&row.number.to_string(), row.province);
    let join = if href.contains('?') { '&' } else { '?' };
    format!("{href}{join}saved=1")
}

/// A register list again, its add form as typed and the refusal above it.
fn list_again(
    store: &Store,
    session: &Session,
    path: &str,
    form: &Form,
    error: &anyhow::Error,
) -> anyhow::Result<Outcome> {
    refused(pages::register::register(
        store,
        session,
        path,
        "",
        Some(Message::error(format!("{error:#}"))),
        Some(form),
    ))
}

fn refused(page: anyhow::Result<(StatusCode, Markup)>) -> anyhow::Result<Outcome> {
    let (status, markup) = page?;
    Ok(Outcome::Page(status, markup))
}

/// A sheet written where `sheet::read` can open it (the daemon's private
/// /tmp under systemd), readable by the daemon only, removed when dropped.
struct TempSheet(std::path::PathBuf);

impl TempSheet {
    fn write(filename: &str, bytes: &[u8]) -> anyhow::Result<TempSheet> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        // Only the extension of the uploaded name is used: it says the type.
        let extension: String = std::path::Path::new(filename)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let path = std::env::temp_dir().join(format!(
            "licwatch-import-{}.{extension}",
            super::auth::token()?
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing the uploaded sheet to {}", path.display()))?;
        let sheet = TempSheet(path);
        file.write_all(bytes)
            .with_context(|| format!("writing the uploaded sheet to {}", sheet.0.display()))?;
        Ok(sheet)
    }
}

impl Drop for TempSheet {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `licwatch import` (with `--dry-run` unless `write`) on an uploaded
/// sheet, on this register.
pub fn import(
    store: &Store,
    config: &Config,
    stamp: &Stamp,
    upload: &Sheet,
    write: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<(cli::agency::Imported, String)> {
    let today = config.schedule.today(now);
    let sheet = TempSheet::write(&upload.filename, &upload.bytes)?;
    let source = format!("{} (web upload)", upload.filename);
    let run = cli::agency::ImportRun {
        file: &sheet.0,
        source: &source,
        header_row: upload.options.header_row,
        strict: upload.options.strict,
        dry_run: !write,
        all_changes: false,
    };
    let path = store.path().to_owned();
    let imported = cli::agency::import_run(
        || Ok(Store::open_existing(&path)?),
        stamp,
        config,
        today,
        &run,
    )?;
    let text = imported.text(&source, !write);
    Ok((imported, text))
}
