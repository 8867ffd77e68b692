//! Generic webhooks signed as in Standard Webhooks v1
//! (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md):
//! `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use sha2::Sha256;

use super::http::{self, Answer};
use super::render::{self, Digest, Part};
use super::route::Robot;
use super::send::{Outcome, SendError};

const CHANNEL: &str = "webhook";

/// The spec recommends payloads under about 20 KB.
pub const BODY_LIMIT: usize = 20_000;

pub fn fits(digest: &Digest<'_>, part: &Part, route: &str, now: DateTime<Utc>) -> bool {
    serde_json::to_vec(&render::layout::webhook(digest, part, route, now))
        .is_ok_and(|body| body.len() <= BODY_LIMIT)
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where `key`
/// is the secret decoded from after `whsec_`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// `id` is the delivery's stable id: the spec makes `webhook-id` the
/// receiver's idempotency key, unchanged across retries.
pub async fn send(
    client: &reqwest::Client,
    robot: &Robot,
    body: &Value,
    id: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let body = body.to_string().into_bytes();
    let id = format!("msg_{id}");
    let timestamp = now.timestamp();
    let mut headers = vec![
        ("webhook-id", id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(key) = &robot.secret {
        headers.push((
            "webhook-signature",
            sign(key.expose(), &id, timestamp, &body),
        ));
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        // The id is hex, the timestamp digits, the signature base64: all
        // valid header values.
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(HeaderName::from_static(name), value);
        }
    }
    match http::post(client, &robot.url, body, map).await {
        Ok(answer) => classify(&answer),
        Err(error) => http::retry(error),
    }
}

/// 2xx is success; 410 means the receiver wants no more (disable the
/// route); 429 and 5xx are retried, honouring `Retry-After`; anything else,
/// redirects included, is permanent.
pub(crate) fn classify(answer: &Answer) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Sent {
            answer: format!("HTTP {} {}", answer.status, http::excerpt(&answer.body)),
        },
        410 => Outcome::Permanent {
            error: SendError::Refused {
                channel: CHANNEL,
                code: "410".to_owned(),
                meaning: "the endpoint is gone and asks not to be called again (disable this route)",
                message: http::excerpt(&answer.body),
            },
        },
        _ => http::by_status(CHANNEL, answer),
    }
}

#[cfg(test)]
mod tests;
