//! What the HTTP channels share: posting a body, and reading answers that
//! carry no service code of their own.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use super::route::secrets::SecretUrl;
use super::send::{Outcome, SendError};

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in seconds. The HTTP-date form is ignored: reading it
    /// would need the clock, and the caller's backoff covers that case.
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Posts `body` as JSON. Redirects are not followed (the client is built so),
/// since a robot endpoint that redirects is misconfigured.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &SecretUrl,
    body: Vec<u8>,
    headers: HeaderMap,
) -> Result<Answer, SendError> {
    let response = client
        .post(url.expose().clone())
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|error| transport_error(url, &error))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_capped(url, response).await?;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// The most of an answer's body that is read: every service's answer is a
/// few hundred bytes, and a peer sending an endless body must not fill the
/// memory inside the send timeout.
pub(crate) const BODY_CAP: usize = 64 * 1024;

/// The body, up to [`BODY_CAP`] bytes; the rest is not read (the connection
/// is dropped with the response). Decoded as UTF-8, lossily.
async fn read_capped(
    url: &SecretUrl,
    mut response: reqwest::Response,
) -> Result<String, SendError> {
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(url, &error))?
    {
        let room = BODY_CAP - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// reqwest's message names the URL, token included: it is dropped, and the
/// masked URL and the chain of causes ("Connection refused") are kept.
fn transport_error(url: &SecretUrl, error: &reqwest::Error) -> SendError {
    if untrusted_certificate(error) {
        return SendError::Untrusted {
            target: url.masked(),
            reason: causes(error.source().unwrap_or(error)),
        };
    }
    let timeout = error.is_timeout();
    let what = if timeout {
        "timed out"
    } else {
        "request failed"
    };
    let mut reason = what.to_owned();
    if let Some(source) = error.source() {
        reason.push_str(": ");
        reason.push_str(&causes(source));
    }
    SendError::Transport {
        target: url.masked(),
        reason,
        timeout,
    }
}

/// An error and its causes as one line, each said once: libraries often
/// repeat their source in their own message ("Connection error: Connection
/// error: invalid peer certificate…"), and a cause already in the text is
/// not added again.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Whether the connection failed because the peer's certificate is not
/// trusted (unknown issuer, expired, wrong name): waiting will not fix that,
/// so the failure is permanent and a person hears at once.
pub(crate) fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = next {
        let tls = cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if matches!(
            tls,
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return true;
        }
        next = cause.source();
    }
    false
}

/// The chat robots' common path: `body` posted as JSON with no headers of
/// its own, the answer judged by the channel's `classify`, a request that
/// got no answer retried.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &SecretUrl,
    body: &serde_json::Value,
    classify: impl FnOnce(&Answer) -> Outcome,
) -> Outcome {
    match post(client, url, body.to_string().into_bytes(), HeaderMap::new()).await {
        Ok(answer) => classify(&answer),
        Err(error) => retry(error),
    }
}

/// A failed connection, a timeout or a cut answer: the message may not have
/// arrived, and trying again later is right.
pub(crate) fn retry(error: SendError) -> Outcome {
    if matches!(error, SendError::Untrusted { .. }) {
        return Outcome::Permanent { error };
    }
    Outcome::Retry {
        error,
        retry_after: None,
    }
}

/// An answer without a service code of its own (a proxy's error page, a
/// gateway timeout): 429 and 5xx are worth retrying, other statuses are not.
pub(crate) fn by_status(channel: &'static str, answer: &Answer) -> Outcome {
    let error = SendError::Status {
        channel,
        status: answer.status,
        body: excerpt(&answer.body),
    };
    as_status_says(answer, error)
}

/// `error` retried when the answer's status says waiting may help (429,
/// after its `Retry-After`, and 5xx), permanent otherwise.
pub(crate) fn as_status_says(answer: &Answer, error: SendError) -> Outcome {
    if answer.status == 429 || answer.status >= 500 {
        Outcome::Retry {
            error,
            retry_after: answer.retry_after,
        }
    } else {
        Outcome::Permanent { error }
    }
}

/// An answer that is not the service's own: with a success status,
/// something else answered (a captive portal, a proxy) and will again, so it
/// is permanent; any other status is judged by itself.
pub(crate) fn not_the_service(channel: &'static str, answer: &Answer) -> Outcome {
    if answer.status != 200 {
        return by_status(channel, answer);
    }
    Outcome::Permanent {
        error: SendError::Unreadable {
            channel,
            status: answer.status,
            body: excerpt(&answer.body),
        },
    }
}

/// Bodies are quoted in errors and logs; a proxy's HTML page is cut short.
pub(crate) fn excerpt(body: &str) -> String {
    const MAX: usize = 300;
    let body = body.trim();
    if body.chars().count() <= MAX {
        body.to_owned()
    } else {
        let mut cut: String = body.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

/// How to treat one of a service's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again, after at least this long if known.
    Retry(Option<Duration>),
    Permanent,
}

/// One row of a channel's table of codes.
pub(crate) struct Code {
    pub code: i64,
    pub verdict: Verdict,
    pub meaning: &'static str,
}

/// The outcome of a non-zero service code. Codes missing from the table are
/// permanent: licwatch cannot know that waiting helps, and a permanent
/// failure reaches a person through the fallback route instead of looping.
pub(crate) fn by_code(
    channel: &'static str,
    table: &[Code],
    code: i64,
    message: &str,
    retry_after: Option<Duration>,
) -> Outcome {
    let row = table.iter().find(|row| row.code == code);
    let error = SendError::Refused {
        channel,
        code: code.to_string(),
        meaning: row.map_or("a code licwatch does not know", |row| row.meaning),
        message: excerpt(message),
    };
    match row.map(|row| row.verdict) {
        Some(Verdict::Retry(wait)) => Outcome::Retry {
            error,
            retry_after: retry_after.or(wait),
        },
        Some(Verdict::Permanent) | None => Outcome::Permanent { error },
    }
}

#[derive(serde::Deserialize)]
struct ErrcodeReply {
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// DingTalk and WeCom answer `{"errcode": N, "errmsg": "…"}`, HTTP 200 even
/// when they refuse: success is `errcode` 0, whatever the status; a status
/// without a readable body is judged by the status alone.
pub(crate) fn by_errcode(channel: &'static str, table: &[Code], answer: &Answer) -> Outcome {
    match serde_json::from_str::<ErrcodeReply>(&answer.body) {
        Ok(reply) if reply.errcode == 0 => Outcome::Sent {
            answer: excerpt(&answer.body),
        },
        Ok(reply) => by_code(
            channel,
            table,
            reply.errcode,
            &reply.errmsg,
            answer.retry_after,
        ),
        Err(_) => not_the_service(channel, answer),
    }
}

/// The channels' tests of `classify`: the outcome, as text, of an answer
/// with this status, `Retry-After` in seconds and body.
#[cfg(test)]
#[track_caller]
pub(crate) fn check_answer(
    classify: impl FnOnce(&Answer) -> Outcome,
    status: u16,
    retry_after: Option<u64>,
    body: &str,
    expect: expect_test::Expect,
) {
    let answer = Answer {
        status,
        retry_after: retry_after.map(Duration::from_secs),
        body: body.to_owned(),
    };
    expect.assert_eq(&classify(&answer).to_string());
}
