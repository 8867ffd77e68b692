//! The daemon's HTTP listener (`[http] listen`, off by default), on the
//! daemon's own runtime: `/metrics` (Prometheus text format), `/healthz`,
//! `/calendar.ics?token=…` (the agenda as a feed, the same events and UIDs
//! as `agenda --format ics`), and the web console's paths (`crate::web`).
//!
//! Every answer is computed from the register on request, like `licwatch
//! status`: the listener holds no state of its own but the console's login
//! limit. Requests are bounded: GET only and no body except the console's
//! forms (capped there), headers within `MAX_HEADER_BYTES`, read within
//! `HEADER_TIMEOUT`, the whole exchange within `REQUEST_TIMEOUT`, at most
//! `MAX_CONNECTIONS` at once, one request a connection. Every answer carries
//! the security headers of `web::secure`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::status::first_missing_year;
use crate::config::{Config, TokenSource};
use crate::daemon::route_name::RouteName;
use crate::domain::lang::Lang;
use crate::domain::obligation::{Obligation, ObligationKind, State};
use crate::domain::policy::Policy;
use crate::domain::uscc::Uscc;
use crate::store::{Refusal, Store, StoreError};

/// hyper's smallest read buffer: the request line and headers must fit.
const MAX_HEADER_BYTES: usize = 8 * 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONNECTIONS: usize = 32;
/// How far ahead the feed reaches (overdue obligations are always in it):
/// a year and a bit, so next year's annual report is on the calendar.
const FEED_DAYS: u64 = 400;
/// The most events the feed holds: its answer is built in memory, about
/// 2 KB an event.
const FEED_MAX_EVENTS: usize = 20_000;
/// How far ahead the metrics look for the nearest due day of each kind.
const METRICS_DAYS: u64 = 3 * 366;
/// How many candidate rows the metrics and the console's agenda count at a
/// time (as the tick reads them): a few MB.
pub(crate) const COUNT_BATCH: usize = 5_000;
/// A tick may run this long past its planned time (a long delivery pass, a
/// retry a minute later) before /healthz says the loop is stuck.
const HEALTH_GRACE: chrono::Duration = chrono::Duration::minutes(15);

/// What the handlers share: the register's path and the config in force
/// (replaced on reload).
#[derive(Clone)]
pub struct Shared {
    pub db: PathBuf,
    pub config: Arc<RwLock<Arc<Config>>>,
    /// SHA-256 of the feed token; `None`: no feed.
    token: Option<[u8; 32]>,
    /// The web console's login limit.
    pub console: Arc<crate::web::Console>,
}

impl Shared {
    /// Reads the feed's token from where the config says (the environment
    /// or a file), like every secret: at start, and refused when empty.
    pub fn new(db: PathBuf, config: Arc<RwLock<Arc<Config>>>) -> anyhow::Result<Shared> {
        let source = config
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .http
            .calendar_token
            .clone();
        let token = match source {
            None => None,
            Some(TokenSource::Env(name)) => Some(
                std::env::var(&name)
                    .ok()
                    .filter(|value| !value.trim().is_empty())
                    .with_context(|| {
                        format!("http.calendar_token_env: the variable {name} is not set or empty")
                    })?,
            ),
            Some(TokenSource::File(path)) => Some(
                std::fs::read_to_string(&path)
                    .ok()
                    .filter(|value| !value.trim().is_empty())
                    .with_context(|| {
                        format!(
                            "http.calendar_token_file: {} is missing, unreadable or empty",
                            path.display()
                        )
                    })?,
            ),
        };
        Ok(Shared {
            db,
            config,
            token: token.map(|token| Sha256::digest(token.trim().as_bytes()).into()),
            console: Arc::default(),
        })
    }

    pub(crate) fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Equal in time independent of where they differ: both sides are hashed
/// first, so neither the length nor a common prefix of the token shows.
fn token_matches(expected: &[u8; 32], given: &str) -> bool {
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    expected
        .iter()
        .zip(given.iter())
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut text = text.into();
    text.push('\n');
    answer(status, "text/plain; charset=utf-8", text)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindState {
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteState {
    route: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOutcome {
    route: String,
    outcome: String,
}

/// A route as a metric label: each company's own contacts route
/// (`contacts:USCC`) counts as "contacts", so the label set stays as small
/// as the config, whatever the register holds.
fn route_label(route: &str) -> String {
    match RouteName::of(route) {
        RouteName::Contacts(_) => "contacts".to_owned(),
        RouteName::Configured(name) => name,
    }
}

fn seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// The metrics, read from the register now. Documented in README.md
/// ("Metrics").
pub fn metrics(store: &Store, config: &Config, now: DateTime<Utc>) -> anyhow::Result<String> {
    let zone = config.schedule.time_zone;
    let today = now.with_timezone(&zone).date_naive();
    let mut registry = Registry::default();

    let by_state = Family::<KindState, Gauge>::default();
    let nearest = Family::<Kind, Gauge>::default();
    for kind in ObligationKind::ALL {
        for state in State::ALL {
            // Every kind and state present, at 0 when none: an alert on a
            // series that appears only when it is bad would never resolve.
            by_state
                .get_or_create(&KindState {
                    kind: kind.code().to_owned(),
                    state: state.code().to_owned(),
                })
                .set(0);
        }
    }
    let mut nearest_days: std::collections::BTreeMap<&str, i64> = Default::default();
    // Counted a batch at a time: three years of a large register's
    // obligations would not fit the daemon's memory.
    let until = today + Days::new(METRICS_DAYS);
    store.each_due_batch(until, today, &config.policy, COUNT_BATCH, |batch| {
        for o in batch {
            by_state
                .get_or_create(&KindState {
                    kind: o.kind.code().to_owned(),
                    state: o.state(today).code().to_owned(),
                })
                .inc();
            let days = (o.due - today).num_days();
            nearest_days
                .entry(o.kind.code())
                .and_modify(|d| *d = (*d).min(days))
                .or_insert(days);
        }
        anyhow::Ok(())
    })?;
    for (kind, days) in nearest_days {
        nearest
            .get_or_create(&Kind {
                kind: kind.to_owned(),
            })
            .set(days);
    }
    registry.register(
        "licwatch_obligations",
        format!("Open obligations by kind and state (open, overdue, expired), due within {METRICS_DAYS} days or overdue"),
        by_state,
    );
    registry.register(
        "licwatch_obligation_nearest_due_days",
        "Days from today (schedule zone) to the nearest due day of each kind; negative when overdue; absent when none is open",
        nearest,
    );

    let rows = Family::<RouteState, Gauge>::default();
    let deliveries = Family::<RouteOutcome, Counter>::default();
    for counts in store.route_counts(now)? {
        let route = route_label(&counts.route);
        for (state, n) in [
            ("pending", counts.pending),
            ("failed", counts.failed),
            ("sent", counts.sent),
            ("cancelled", counts.cancelled),
        ] {
            rows.get_or_create(&RouteState {
                route: route.clone(),
                state: state.to_owned(),
            })
            .inc_by(n);
        }
        for (outcome, n) in [("sent", counts.sent), ("error", counts.failed_attempts)] {
            deliveries
                .get_or_create(&RouteOutcome {
                    route: route.clone(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(u64::try_from(n).unwrap_or(0));
        }
    }
    registry.register(
        "licwatch_outbox_rows",
        "Outbox rows by route and state",
        rows,
    );
    registry.register(
        "licwatch_deliveries",
        "Delivery attempts by route and outcome (sent, error: a retry or a permanent failure)",
        deliveries,
    );

    let status = store.service_status()?;
    let tick_gauge = |name: &str, help: &str, value: Option<i64>, registry: &mut Registry| {
        if let Some(value) = value {
            let gauge = Gauge::<i64>::default();
            gauge.set(value);
            registry.register(name, help, gauge);
        }
    };
    tick_gauge(
        "licwatch_last_tick_timestamp_seconds",
        "When the last tick began (Unix time), whatever its outcome",
        status.last_tick.as_ref().map(|t| seconds(t.at)),
        &mut registry,
    );
    tick_gauge(
        "licwatch_last_tick_success",
        "1 if the last tick and its delivery pass succeeded, 0 if not",
        status
            .last_tick
            .as_ref()
            .map(|t| i64::from(t.error.is_none())),
        &mut registry,
    );
    tick_gauge(
        "licwatch_last_successful_tick_timestamp_seconds",
        "When the last tick without an error began (Unix time)",
        status.last_ok_tick_at.map(seconds),
        &mut registry,
    );
    tick_gauge(
        "licwatch_next_tick_timestamp_seconds",
        "When the daemon plans its next tick (Unix time)",
        status.next_tick_at.map(seconds),
        &mut registry,
    );
    if let Some(tick) = &status.last_tick {
        let duration = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        duration.set(tick.duration_ms as f64 / 1000.0);
        registry.register(
            "licwatch_last_tick_duration_seconds",
            "How long the last tick and its delivery pass took",
            duration,
        );
    }
    let missing = first_missing_year(&config.calendar, today.year());
    tick_gauge(
        "licwatch_holiday_data_first_missing_year",
        "The first year from this one on without State Council holiday data (reminders then avoid weekends only)",
        Some(i64::from(missing)),
        &mut registry,
    );
    tick_gauge(
        "licwatch_holiday_data_years_ahead",
        "Years from this one on with holiday data (0: not even this year)",
        Some(i64::from(missing - today.year())),
        &mut registry,
    );

    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .context("encoding the metrics")?;
    Ok(text)
}

/// 200 while the last tick succeeded and the next is not overdue (the loop
/// is alive); 503 with the reason otherwise.
pub fn health(store: &Store, now: DateTime<Utc>) -> anyhow::Result<(bool, String)> {
    let status = store.service_status()?;
    let Some(tick) = status.last_tick else {
        return Ok((false, "no tick yet".to_owned()));
    };
    if let Some(error) = tick.error {
        return Ok((false, format!("the last tick failed: {error}")));
    }
    match status.next_tick_at {
        Some(next) if now > next + HEALTH_GRACE => Ok((
            false,
            format!(
                "the tick planned for {} has not run (is the loop stuck?)",
                crate::store::timestamp(next)
            ),
        )),
        _ => Ok((true, "ok".to_owned())),
    }
}

/// The feed was refused: it would hold more events than this.
#[derive(Debug, thiserror::Error)]
#[error(
    "the calendar would hold more than {0} events, more than a calendar application shows; subscribe to one company's with &company=<USCC>"
)]
struct FeedTooLarge(usize);

/// The feed: what `agenda --format ics --days FEED_DAYS` writes, for one
/// company when `company` is given; read a slice at a time and refused
/// past `max_events` ([`FEED_MAX_EVENTS`]), so that a large register's
/// feed does not take the daemon's memory (8.7 GB at a million licences
/// when it was whole).
fn feed(
    store: &Store,
    config: &Config,
    company: Option<&Uscc>,
    lang: Lang,
    now: DateTime<Utc>,
    max_events: usize,
) -> anyhow::Result<String> {
    let today = config.schedule.today(now);
    let until = today + Days::new(FEED_DAYS);
    let mut events = 0;
    let mut count = |slice: Vec<Obligation>| {
        events += slice.len();
        if events > max_events {
            return Err(FeedTooLarge(max_events).into());
        }
        Ok(slice)
    };
    let mut out = Vec::new();
    match company {
        // A client's feed reads its own licences, not the register's
        // agenda: a request must not take longer as the register grows.
        Some(company) => {
            let obligations = company_due_by(store, company, until, today, &config.policy)?;
            super::ics::write_calendar(&mut out, [count(obligations)], config, lang, now)?;
        }
        None => {
            let slices = store
                .due_slices(until, today, &config.policy)
                .map(|slice| count(slice?));
            super::ics::write_calendar(&mut out, slices, config, lang, now)?;
        }
    }
    Ok(String::from_utf8(out)?)
}

/// A company's open obligations due by `until`, in the agenda's order
/// (none for a company not in the register); refused if a row they need
/// cannot be read, as the agenda is.
fn company_due_by(
    store: &Store,
    company: &Uscc,
    until: NaiveDate,
    today: NaiveDate,
    policy: &Policy,
) -> anyhow::Result<Vec<Obligation>> {
    let company = match store.company(company) {
        Ok(company) => company,
        Err(StoreError::Refused(Refusal::NoCompany { .. })) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let licences: Vec<String> = store
        .licences_of(company.id)?
        .iter()
        .map(|licence| licence.number.to_string())
        .collect();
    let licences: Vec<&str> = licences.iter().map(String::as_str).collect();
    let open = store.open_obligations_of_licences(&licences, today, policy)?;
    if let Some(row) = open
        .unreadable
        .into_values()
        .min_by_key(|row| (row.table, row.id))
    {
        return Err(StoreError::from(Refusal::Unreadable(row)).into());
    }
    let mut obligations = open.obligations;
    obligations.retain(|o| o.due <= until);
    obligations.sort_by(Obligation::agenda_order);
    Ok(obligations)
}

/// Runs `f` on a fresh read of the register, off the runtime's thread.
pub(crate) async fn with_store<T: Send + 'static>(
    shared: &Shared,
    f: impl FnOnce(&Store, &Config) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (db, config) = (shared.db.clone(), shared.config());
    tokio::task::spawn_blocking(move || {
        let store = Store::open_existing(&db)?;
        f(&store, &config)
    })
    .await
    .context("the request's worker stopped")?
}

/// Runs `f` on the register to write, off the runtime's thread.
pub(crate) async fn with_store_mut<T: Send + 'static>(
    shared: &Shared,
    f: impl FnOnce(&mut Store, &Config) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (db, config) = (shared.db.clone(), shared.config());
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open_existing(&db)?;
        f(&mut store, &config)
    })
    .await
    .context("the request's worker stopped")?
}

fn internal(error: &anyhow::Error) -> Response<Full<Bytes>> {
    tracing::error!("http: {error:#}");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error (see the daemon's log)",
    )
}

async fn handle(
    shared: Shared,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if crate::web::serves(request.uri().path()) {
        return crate::web::handle(shared, peer, request).await;
    }
    if request.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only");
    }
    let has_body = request.headers().contains_key(TRANSFER_ENCODING)
        || request
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|length| length != "0");
    if has_body {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "no request body is accepted");
    }
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.clone())
    };
    let now = Utc::now();
    match request.uri().path() {
        "/metrics" => {
            match with_store(&shared, move |store, config| metrics(store, config, now)).await {
                Ok(text) => answer(
                    StatusCode::OK,
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    text,
                ),
                Err(e) => internal(&e),
            }
        }
        "/healthz" => match with_store(&shared, move |store, _| health(store, now)).await {
            Ok((true, text)) => plain(StatusCode::OK, text),
            Ok((false, text)) => plain(StatusCode::SERVICE_UNAVAILABLE, text),
            Err(e) => internal(&e),
        },
        "/calendar.ics" => {
            let Some(expected) = shared.token else {
                return plain(
                    StatusCode::NOT_FOUND,
                    "no calendar feed: set http.calendar_token_env or http.calendar_token_file",
                );
            };
            // The token is never logged: only that it was wrong, and who asked.
            let Some(given) = param("token") else {
                tracing::info!(%peer, "calendar feed refused: no token");
                return plain(
                    StatusCode::UNAUTHORIZED,
                    "token missing: /calendar.ics?token=TOKEN",
                );
            };
            if !token_matches(&expected, &given) {
                tracing::warn!(%peer, "calendar feed refused: wrong token");
                return plain(StatusCode::FORBIDDEN, "wrong token");
            }
            let company = match param("company").map(|text| text.parse::<Uscc>()) {
                None => None,
                Some(Ok(uscc)) => Some(uscc),
                Some(Err(e)) => return plain(StatusCode::BAD_REQUEST, format!("company: {e}")),
            };
            let lang = match param("lang").as_deref().map(str::to_lowercase).as_deref() {
                None | Some("zh" | "zh-cn") => Lang::Zh,
                Some("en") => Lang::En,
                Some(other) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        format!("lang \"{other}\": unknown (accepted: zh-CN, en)"),
                    );
                }
            };
            match with_store(&shared, move |store, config| {
                feed(store, config, company.as_ref(), lang, now, FEED_MAX_EVENTS)
            })
            .await
            {
                Ok(text) => answer(StatusCode::OK, "text/calendar; charset=utf-8", text),
                Err(e) if e.is::<FeedTooLarge>() => {
                    tracing::warn!(%peer, "calendar feed refused: {e}");
                    plain(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
                }
                Err(e) => internal(&e),
            }
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found (served: /metrics, /healthz, /calendar.ics, and the web console at /)",
        ),
    }
}

/// Binds `addr`; an address in use or not allowed stops the start-up with
/// the reason, rather than a daemon that silently serves nothing.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("http.listen = \"{addr}\": cannot listen there"))
}

/// Serves until the process ends. Each connection is one request, bounded
/// in size and time.
pub async fn serve(listener: TcpListener, shared: Shared) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "http listener: /metrics, /healthz, /calendar.ics");
    }
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                tracing::warn!("http accept: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move {
                    let mut response = handle(shared, peer, request).await;
                    crate::web::secure(&mut response);
                    Ok::<_, Infallible>(response)
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(REQUEST_TIMEOUT, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, "http connection: {e}"),
                Err(_) => {
                    tracing::debug!(%peer, "http connection: over {REQUEST_TIMEOUT:?}, closed")
                }
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_exactly() {
        let expected: [u8; 32] = Sha256::digest(b"s3cret-token").into();
        assert!(token_matches(&expected, "s3cret-token"));
        assert!(!token_matches(&expected, "s3cret-toke"));
        assert!(!token_matches(&expected, "s3cret-token "));
        assert!(!token_matches(&expected, ""));
    }

    /// Two companies' licences, each owing reports and a renewal: the feed
    /// of both is refused past the cap, one company's within it is not.
    #[test]
    fn a_feed_past_its_cap_is_refused_and_one_companys_within_it_is_written() {
        use crate::domain::licence::ItemCode;
        use crate::store::{NewLicence, Stamp};
        use chrono::{NaiveDate, TimeZone as _};
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("register.db")).unwrap();
        let stamp = Stamp::cli("tester".into(), now);
        let companies = ["91110108551385082Q", "91110000600037341L"];
        for (i, uscc) in companies.iter().enumerate() {
            let uscc: Uscc = uscc.parse().unwrap();
            store.add_company(&stamp, &uscc, "示例", &[]).unwrap();
            let new = NewLicence {
                number: format!("京B2-2022000{i}").parse().unwrap(),
                holder: uscc,
                items: vec![ItemCode::B24],
                issued: NaiveDate::from_ymd_opt(2022, 3, 1).unwrap(),
                expires: NaiveDate::from_ymd_opt(2027, 2, 28).unwrap(),
                authority: String::new(),
            };
            store.add_licence(&stamp, &new).unwrap();
        }
        let config = Config::defaults();
        let events = |text: &str| text.matches("BEGIN:VEVENT").count();
        let all = feed(&store, &config, None, Lang::Zh, now, 1_000).unwrap();
        let one = companies[0].parse().unwrap();
        let own = feed(&store, &config, Some(&one), Lang::Zh, now, 1_000).unwrap();
        assert!(
            events(&own) >= 2 && events(&all) == 2 * events(&own),
            "{all}"
        );
        // Read through the company's licences, not the agenda: the same
        // events, in the same order, as the whole feed's of that company.
        let blocks = |text: &str| -> Vec<String> {
            text.split("BEGIN:VEVENT")
                .skip(1)
                .filter_map(|rest| Some(rest.split_once("END:VEVENT")?.0.to_owned()))
                .collect()
        };
        let theirs: Vec<String> = blocks(&all)
            .into_iter()
            .filter(|event| event.contains("京B2-20220000"))
            .collect();
        assert_eq!(blocks(&own), theirs);

        let cap = events(&all) - 1;
        let refused = feed(&store, &config, None, Lang::Zh, now, cap).unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!(
                "the calendar would hold more than {cap} events, more than a calendar application shows; subscribe to one company's with &company=<USCC>"
            )
        );
        assert!(refused.is::<FeedTooLarge>());
        let within = feed(&store, &config, Some(&one), Lang::Zh, now, cap).unwrap();
        assert_eq!(within, own);
    }

    #[test]
    fn company_contact_routes_share_one_label() {
        assert_eq!(route_label("contacts:91110108551385082Q"), "contacts");
        assert_eq!(route_label("ops-mail"), "ops-mail");
    }
}
