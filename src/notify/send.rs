//! Delivering a digest through a route, and what came of it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::budget::{Budgets, Rates};
use super::render::{self, Digest, Part, Topic};
use super::route::{Route, Target};
use super::{delivery_id, dingtalk, email, feishu, slack, webhook, wecom};
use crate::plan::Alert;

/// The most items one log record lists: an item is up to ~750 bytes of
/// text (its consequence and basis included), so about 30 KB.
const LOG_ITEMS: usize = 40;

/// What came of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service accepted it; `answer` is what it said.
    Sent { answer: String },
    /// Not delivered, and trying again later may work.
    Retry {
        error: SendError,
        /// The service's own wait (`Retry-After`, a documented throttle).
        retry_after: Option<Duration>,
    },
    /// Not delivered, and trying again will not help until someone changes
    /// something (a token, a secret, the robot's security settings).
    Permanent { error: SendError },
}

impl Outcome {
    pub fn is_sent(&self) -> bool {
        matches!(self, Outcome::Sent { .. })
    }
}

/// What `licwatch notify test` prints and the log records.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Sent { answer } => write!(f, "sent; the service answered: {answer}"),
            Outcome::Retry {
                error,
                retry_after: Some(wait),
            } => write!(
                f,
                "not sent, will retry (not before {} s): {error}",
                wait.as_secs()
            ),
            Outcome::Retry {
                error,
                retry_after: None,
            } => write!(f, "not sent, will retry: {error}"),
            Outcome::Permanent { error } => write!(f, "not sent, permanent failure: {error}"),
        }
    }
}

/// Why a message was not delivered. Each variant keeps what the service
/// said, its own code first, so the log and `licwatch notify test` show it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// The service answered and refused, with a code of its own.
    #[error("{channel} refused the message: code {code}, {meaning} (it said: {message})")]
    Refused {
        channel: &'static str,
        code: String,
        meaning: &'static str,
        message: String,
    },
    /// An HTTP status without a code licwatch knows.
    #[error("{channel} answered HTTP {status}: {body}")]
    Status {
        channel: &'static str,
        status: u16,
        body: String,
    },
    /// A success status with a body that is not the service's answer.
    #[error("{channel} answered HTTP {status} with something licwatch cannot read: {body}")]
    Unreadable {
        channel: &'static str,
        status: u16,
        body: String,
    },
    /// No answer: connection refused, reset, timed out. `target` is masked.
    #[error("{target}: {reason}")]
    Transport {
        target: String,
        reason: String,
        timeout: bool,
    },
    /// The server's TLS certificate is not trusted: permanent, since waiting
    /// will not change it.
    #[error(
        "{target}: the server's certificate is not trusted ({reason}); if the server uses a private CA, give its certificate as ca_file = \"/path/ca.pem\" in the route, or add it to the system's trust store"
    )]
    Untrusted { target: String, reason: String },
    /// An SMTP server that does not offer STARTTLS to a route that requires it.
    #[error(
        "SMTP server {target} does not offer STARTTLS, and tls = \"starttls\" requires it so that the password never goes in clear (use tls = \"implicit\" if the server takes TLS on connect, usually port 465)"
    )]
    NoStartTls { target: String },
    /// The SMTP server's reply code and text.
    #[error("SMTP server {target} answered {code}: {message}")]
    Smtp {
        target: String,
        code: u16,
        message: String,
    },
    /// The e-mail could not be put together (a bad address, for example).
    #[error("the e-mail could not be built: {0}")]
    Message(String),
}

impl SendError {
    /// The service's own code: DingTalk's errcode, Slack's error string,
    /// the HTTP status, the SMTP reply code.
    pub fn code(&self) -> Option<String> {
        match self {
            SendError::Refused { code, .. } => Some(code.clone()),
            SendError::Status { status, .. } | SendError::Unreadable { status, .. } => {
                Some(status.to_string())
            }
            SendError::Smtp { code, .. } => Some(code.to_string()),
            SendError::Transport { .. }
            | SendError::Untrusted { .. }
            | SendError::NoStartTls { .. }
            | SendError::Message(_) => None,
        }
    }
}

/// One message of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The stable id of this message: e-mail Message-ID, `webhook-id`.
    pub id: String,
    pub part: usize,
    pub parts: usize,
    /// Which alerts it carried: indexes into the slice given to `send`.
    pub alerts: Vec<usize>,
    /// false when an earlier part failed and this one was not tried; its
    /// outcome is then that earlier part's.
    pub attempted: bool,
    pub outcome: Outcome,
}

/// What came of sending one digest: one entry a message, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub messages: Vec<Sent>,
}

impl Delivery {
    pub fn all_sent(&self) -> bool {
        self.messages
            .iter()
            .all(|message| message.outcome.is_sent())
    }
}

#[derive(Debug, Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct SetupError(String);

/// Sends digests. One per process: it holds the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct Notifier {
    http: reqwest::Client,
    /// Messages sent to each robot URL lately, for the services' rates.
    budgets: Budgets,
    rates: Rates,
    /// For every HTTP request and every SMTP command.
    timeout: Duration,
    /// The web console's address (`[http] public_url`): each alert then
    /// links to its obligation's page.
    links: Option<url::Url>,
}

impl Notifier {
    /// A notifier keeping to each service's published rate.
    pub fn new(timeout: Duration) -> Result<Notifier, SetupError> {
        Notifier::with_rates(timeout, Rates::published())
    }

    pub fn with_rates(timeout: Duration, rates: Rates) -> Result<Notifier, SetupError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("licwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SetupError(error.to_string()))?;
        Ok(Notifier {
            http,
            budgets: Budgets::default(),
            rates,
            timeout,
            links: None,
        })
    }

    /// Alerts sent by this notifier link to their page under `base`.
    pub fn linking(self, base: Option<url::Url>) -> Notifier {
        Notifier {
            links: base,
            ..self
        }
    }

    /// Sends one route's alerts as a digest: one message, or several when
    /// the channel's size limit demands. Nothing is sent for no alerts.
    /// `now` dates the e-mail and signs the robot requests.
    pub async fn send(&self, route: &Route, alerts: &[Alert], now: DateTime<Utc>) -> Delivery {
        if alerts.is_empty() {
            return Delivery {
                messages: Vec::new(),
            };
        }
        let mut digest = render::digest(alerts, route.lang);
        if let Some(base) = &self.links {
            render::link::link(&mut digest, base);
        }
        self.deliver(route, &digest, now).await
    }

    /// Sends a short test message through `route`, for
    /// `licwatch notify test ROUTE`: the service's answer, or why not.
    pub async fn send_test(&self, route: &Route, now: DateTime<Utc>) -> Outcome {
        let digest = render::test_digest(&route.name, route.lang);
        let delivery = self.deliver(route, &digest, now).await;
        delivery
            .messages
            .into_iter()
            .next()
            .map(|message| message.outcome)
            .expect("every digest, even one without items, makes one message")
    }

    /// Sends a daemon notice (one line, in the route's language) through
    /// `route`. The same `id` gives the same message id.
    pub async fn send_notice(
        &self,
        route: &Route,
        id: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> (String, Outcome) {
        let digest = render::notice_digest(id, text, route.lang);
        let delivery = self.deliver(route, &digest, now).await;
        let message = delivery
            .messages
            .into_iter()
            .next()
            .expect("every digest, even one without items, makes one message");
        (message.id, message.outcome)
    }

    async fn deliver(&self, route: &Route, digest: &Digest<'_>, now: DateTime<Utc>) -> Delivery {
        let parts = match &route.target {
            // A record per part of at most LOG_ITEMS: a first tick over a big
            // register is hundreds of thousands of items, and one record of
            // them all is past journald's line limit (48 KiB) and leaves the
            // log formatter's buffer at that size for good.
            Target::Log => digest.split(|part| part.items.len() <= LOG_ITEMS),
            Target::Email(email) => email::parts(email, digest),
            Target::DingTalk(_) => digest.split(|part| dingtalk::fits(digest, part)),
            Target::WeCom(_) => digest.split(|part| wecom::fits(digest, part)),
            Target::Feishu(_) | Target::Lark(_) => digest.split(|part| feishu::fits(digest, part)),
            Target::Slack(_) => digest.split(|part| slack::fits(digest, part)),
            Target::Webhook(_) => {
                digest.split(|part| webhook::fits(digest, part, &route.name, now))
            }
        };
        let mut messages: Vec<Sent> = Vec::new();
        let mut failed: Option<Outcome> = None;
        for part in parts {
            let items = digest.items.get(part.carried()).unwrap_or(&[]);
            let id = match &digest.topic {
                Topic::Alerts => {
                    let alerts: Vec<&Alert> = items.iter().map(|item| item.alert).collect();
                    delivery_id(&route.name, &alerts)
                }
                // Each test is a new message: mail systems drop a second
                // message with a Message-ID they have seen.
                Topic::Test { .. } => delivery_id(&format!("{}/test/{now}", route.name), &[]),
                Topic::Notice { id, .. } => super::notice_id(&route.name, id),
            };
            let (attempted, outcome) = match &failed {
                // Once a part fails the rest wait too: the cause (a bad
                // token, a rate limit) applies to them just the same.
                Some(outcome) => (false, outcome.clone()),
                None => (true, self.one(route, digest, &part, &id, now).await),
            };
            if !outcome.is_sent() {
                failed = Some(outcome.clone());
            }
            messages.push(Sent {
                id,
                part: part.index,
                parts: part.count,
                alerts: items.iter().map(|item| item.source).collect(),
                attempted,
                outcome,
            });
        }
        Delivery { messages }
    }

    async fn one(
        &self,
        route: &Route,
        digest: &Digest<'_>,
        part: &Part,
        id: &str,
        now: DateTime<Utc>,
    ) -> Outcome {
        let http = &self.http;
        // Waits for the destination's budget: over it, a message waits; it
        // does not fail (and get the robot blocked).
        let budget = match &route.target {
            Target::DingTalk(robot) => Some((robot, &self.rates.dingtalk)),
            Target::WeCom(robot) => Some((robot, &self.rates.wecom)),
            Target::Feishu(robot) | Target::Lark(robot) => Some((robot, &self.rates.feishu)),
            Target::Slack(robot) => Some((robot, &self.rates.slack)),
            // E-mail and generic webhooks publish no rate.
            Target::Log | Target::Email(_) | Target::Webhook(_) => None,
        };
        if let Some((robot, rates)) = budget {
            self.budgets.take(robot.url.expose().as_str(), rates).await;
        }
        match &route.target {
            Target::Log => {
                tracing::info!(
                    route = %route.name,
                    message_id = %id,
                    "{}",
                    render::layout::plain(digest, part)
                );
                Outcome::Sent {
                    answer: "written to the log".to_owned(),
                }
            }
            Target::Email(target) => email::send(target, digest, part, id, now, self.timeout).await,
            Target::DingTalk(robot) => {
                dingtalk::send(http, robot, &render::layout::dingtalk(digest, part), now).await
            }
            Target::WeCom(robot) => {
                wecom::send(http, robot, &render::layout::wecom(digest, part)).await
            }
            // Lark is Feishu outside China: the same robot, by its own name.
            Target::Feishu(robot) | Target::Lark(robot) => {
                let body = render::layout::feishu(digest, part);
                feishu::send(http, route.target.kind(), robot, body, now).await
            }
            Target::Slack(robot) => {
                slack::send(http, robot, &render::layout::slack(digest, part)).await
            }
            Target::Webhook(robot) => {
                let body = render::layout::webhook(digest, part, &route.name, now);
                webhook::send(http, robot, &body, id, now).await
            }
        }
    }
}
