//! E-mail over SMTP with lettre on tokio and rustls: one message a digest,
//! text and HTML parts with the same content, a Message-ID derived from the
//! outbox keys.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render::{self, Digest};
use super::route::{Email, TlsMode};
use super::send::{Outcome, SendError};

/// The message for `digest`. `id` becomes the Message-ID, so a digest resent
/// after a crash carries the same one; `now` is its Date.
pub fn message(
    target: &Email,
    digest: &Digest<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Message, SendError> {
    let part = digest.whole();
    let domain = target.from.email.domain();
    let mut builder = Message::builder()
        .from(target.from.clone())
        .subject(digest.subject(&part))
        .message_id(Some(format!("<licwatch.{id}@{domain}>")))
        // Set explicitly: lettre would otherwise read the system clock.
        .date(SystemTime::from(now))
        .user_agent(concat!("licwatch/", env!("CARGO_PKG_VERSION")).to_owned());
    for to in &target.to {
        builder = builder.to(to.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            render::plain(digest, &part),
            render::html(digest, &part),
        ))
        .map_err(|error| SendError::Message(error.to_string()))
}

fn transport(
    target: &Email,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        .port(target.port)
        .timeout(Some(timeout));
    let tls = match target.tls {
        TlsMode::None => Tls::None,
        mode => {
            let mut parameters = TlsParameters::builder(target.host.clone());
            if let Some(root) = &target.extra_root {
                parameters = parameters.add_root_certificate(root.clone());
            }
            let parameters = parameters
                .build_rustls()
                .map_err(|error| SendError::Transport {
                    target: address(target),
                    reason: format!("TLS setup failed: {}", chain(&error)),
                    timeout: false,
                })?;
            if mode == TlsMode::Implicit {
                Tls::Wrapper(parameters)
            } else {
                // Required, not opportunistic: a server that stops offering
                // STARTTLS must not get the password in clear.
                Tls::Required(parameters)
            }
        }
    };
    builder = builder.tls(tls);
    if let Some((user, password)) = &target.credentials {
        builder = builder
            .credentials(Credentials::new(
                user.clone(),
                String::from_utf8_lossy(password.expose()).into_owned(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

pub async fn send(
    target: &Email,
    digest: &Digest<'_>,
    id: &str,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Outcome {
    let message = match message(target, digest, id, now) {
        Ok(message) => message,
        Err(error) => return Outcome::Permanent { error },
    };
    let transport = match transport(target, timeout) {
        Ok(transport) => transport,
        Err(error) => return Outcome::Permanent { error },
    };
    match transport.send(message).await {
        Ok(response) => Outcome::Sent {
            answer: format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            ),
        },
        Err(error) => classify(target, &error),
    }
}

fn address(target: &Email) -> String {
    format!("{}:{}", target.host, target.port)
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A 5xx reply is permanent (535 bad credentials, 550 no such mailbox); a
/// 4xx reply is transient. Without a reply (refused, reset, timed out, TLS
/// broke) the message did not go, and trying again later is right.
pub fn classify(target: &Email, error: &lettre::transport::smtp::Error) -> Outcome {
    if let Some(code) = error.status() {
        let error_value = SendError::Smtp {
            target: address(target),
            code: code.to_string().parse().unwrap_or_default(),
            message: chain(error),
        };
        return if error.is_permanent() {
            Outcome::Permanent { error: error_value }
        } else {
            Outcome::Retry {
                error: error_value,
                retry_after: None,
            }
        };
    }
    if error.is_client() {
        return Outcome::Permanent {
            error: SendError::Message(chain(error)),
        };
    }
    let timeout = error.is_timeout()
        || error
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
    Outcome::Retry {
        error: SendError::Transport {
            target: address(target),
            reason: chain(error),
            timeout,
        },
        retry_after: None,
    }
}
