//! E-mail over SMTP with lettre on tokio and rustls: one message a digest,
//! text and HTML parts with the same content, a Message-ID derived from the
//! outbox keys.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render::{self, Digest, Part};
use super::route::Email;
use super::send::{Outcome, SendError};
use crate::config::routes::TlsMode;

/// How `digest` goes out through `target`: past `max_items` items, one
/// message listing the most severe and attaching all; otherwise messages
/// of at most `max_bytes` each.
pub fn parts(target: &Email, digest: &Digest<'_>) -> Vec<Part> {
    if digest.items.len() > target.max_items {
        return vec![digest.capped(target.max_items)];
    }
    // Sizes are added item by item (rendering every candidate part would be
    // quadratic in a digest of thousands): a message is its frame (header,
    // closing, the MIME around both bodies) plus each item's text and HTML.
    // Both bodies go quoted-printable or base64: a third more.
    let size = |part: &Part| {
        (render::layout::plain(digest, part).len() + render::layout::html(digest, part).len()) * 4
            / 3
    };
    let frame = |index, count| {
        size(&Part {
            index,
            count,
            items: 0..0,
            more: 0,
        }) + MIME_OVERHEAD
    };
    let widest = digest.items.len().max(1);
    let budget = target.max_bytes.saturating_sub(frame(widest, widest));
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for index in 0..digest.items.len() {
        let item = size(&Part {
            index: widest,
            count: widest,
            items: index..index + 1,
            more: 0,
        })
        .saturating_sub(frame(widest, widest) - MIME_OVERHEAD);
        if index > start && used + item > budget {
            ranges.push(start..index);
            start = index;
            used = 0;
        }
        used += item;
    }
    ranges.push(start..digest.items.len());
    Part::numbered(ranges)
}

/// Headers and MIME boundaries of a message, generously.
const MIME_OVERHEAD: usize = 4096;

/// Every item of `digest` as an .xlsx workbook: every cell text, bold
/// headers, the header row frozen, like `licwatch export`.
fn workbook(digest: &Digest<'_>) -> Result<Vec<u8>, SendError> {
    let fail = |error: rust_xlsxwriter::XlsxError| {
        SendError::Message(format!(
            "the attachment {}: {error}",
            render::layout::ATTACHMENT
        ))
    };
    let (headers, rows) = render::layout::table(digest);
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook
        .add_worksheet()
        .set_name("licwatch")
        .map_err(fail)?;
    for (column, header) in (0u16..).zip(&headers) {
        sheet
            .write_string_with_format(0, column, *header, &bold)
            .map_err(fail)?;
        sheet.set_column_width(column, 24).map_err(fail)?;
    }
    for (line, row) in (1u32..).zip(&rows) {
        for (column, cell) in (0u16..).zip(row) {
            sheet.write_string(line, column, cell).map_err(fail)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    workbook.save_to_buffer().map_err(fail)
}

/// The message for `part` of `digest`. `id` becomes the Message-ID, so a
/// digest resent after a crash carries the same one; `now` is its Date.
pub fn message(
    target: &Email,
    digest: &Digest<'_>,
    part: &Part,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Message, SendError> {
    let domain = target.from.email.domain();
    let mut builder = Message::builder()
        .from(target.from.clone())
        .subject(digest.subject(part))
        .message_id(Some(format!("<licwatch.{id}@{domain}>")))
        // Set explicitly: lettre would otherwise read the system clock.
        .date(SystemTime::from(now))
        .user_agent(concat!("licwatch/", env!("CARGO_PKG_VERSION")).to_owned());
    for to in &target.to {
        builder = builder.to(to.clone());
    }
    let bodies = MultiPart::alternative_plain_html(
        render::layout::plain(digest, part),
        render::layout::html(digest, part),
    );
    let body = if part.more > 0 {
        let xlsx =
            ContentType::parse("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .map_err(|error| SendError::Message(error.to_string()))?;
        MultiPart::mixed().multipart(bodies).singlepart(
            Attachment::new(render::layout::ATTACHMENT.to_owned()).body(workbook(digest)?, xlsx),
        )
    } else {
        bodies
    };
    builder
        .multipart(body)
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
    part: &Part,
    id: &str,
    now: DateTime<Utc>,
    timeout: Duration,
) -> Outcome {
    let message = match message(target, digest, part, id, now) {
        Ok(message) => message,
        Err(error) => return Outcome::Permanent { error },
    };
    let transport = match transport(target, timeout) {
        Ok(transport) => transport,
        Err(error) => return Outcome::Permanent { error },
    };
    // lettre's timeout bounds each read and write, not the transaction: a
    // server that trickles bytes, or stalls after DATA, could hold the
    // daemon for ever. The whole send (connect, greeting, TLS, AUTH, DATA
    // and the final reply) gets `timeout`.
    let Ok(result) = tokio::time::timeout(timeout, transport.send(message)).await else {
        return Outcome::Retry {
            error: SendError::Transport {
                target: address(target),
                reason: format!(
                    "no complete answer within {} s (delivery.send_timeout_seconds covers the whole SMTP transaction)",
                    timeout.as_secs()
                ),
                timeout: true,
            },
            retry_after: None,
        };
    };
    match result {
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

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    super::http::causes(error)
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
    if super::http::untrusted_certificate(error) {
        return Outcome::Permanent {
            error: SendError::Untrusted {
                target: address(target),
                reason: error.source().map_or_else(|| chain(error), chain),
            },
        };
    }
    if error.is_client() {
        // lettre's only client error once the message is built: the
        // server lacks STARTTLS (Tls::Required).
        let text = error.to_string();
        return Outcome::Permanent {
            error: if text.contains("STARTTLS") {
                SendError::NoStartTls {
                    target: address(target),
                }
            } else {
                SendError::Message(chain(error))
            },
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
