//! Feishu and Lark custom bots (飞书/Lark 自定义机器人): interactive cards,
//! signature fields in the body, answers judged by `code` (Feishu's 自定义机器人
//! 使用指南), never by the HTTP status: Feishu answers a refused message with
//! HTTP 200.
//! Lark is Feishu's international service: same API, other host.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::http::{self, Answer, Code, Verdict};
use super::render::{self, Digest, Part};
use super::route::Robot;
use super::send::Outcome;

/// Bodies may hold at most 20 KB.
pub const BODY_LIMIT: usize = 20_000;

/// Room kept for the `timestamp` and `sign` fields added after splitting.
const SIGNATURE_ROOM: usize = 100;

/// code → verdict; refusals come with HTTP 200 too.
const CODES: &[Code] = &[
    Code {
        code: 19001,
        verdict: Verdict::Permanent,
        meaning: "invalid webhook token (the bot was removed or the URL is wrong)",
    },
    Code {
        code: 19021,
        verdict: Verdict::Permanent,
        meaning: "signature mismatch or timestamp over an hour off (check the secret and the clock)",
    },
    Code {
        code: 19022,
        verdict: Verdict::Permanent,
        meaning: "IP address not allowed by the bot's settings",
    },
    Code {
        code: 19024,
        verdict: Verdict::Permanent,
        meaning: "none of the bot's keywords is in the message",
    },
    Code {
        code: 9499,
        verdict: Verdict::Permanent,
        meaning: "bad request: the body is not what the bot accepts",
    },
    Code {
        code: 11232,
        verdict: Verdict::Retry(None),
        meaning: "rate limited (over 5 a second or 100 a minute)",
    },
];

pub fn fits(digest: &Digest<'_>, part: &Part) -> bool {
    serde_json::to_vec(&render::layout::feishu(digest, part))
        .is_ok_and(|body| body.len() + SIGNATURE_ROOM <= BODY_LIMIT)
}

/// 签名校验: base64(HMAC-SHA256(key = timestamp + "\n" + secret, msg = "")),
/// the timestamp in seconds. The reverse of DingTalk's recipe.
pub fn sign(secret: &[u8], timestamp_s: i64) -> String {
    let mut key = format!("{timestamp_s}\n").into_bytes();
    key.extend_from_slice(secret);
    let mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    BASE64.encode(mac.finalize().into_bytes())
}

pub async fn send(
    client: &reqwest::Client,
    channel: &'static str,
    robot: &Robot,
    mut body: Value,
    now: DateTime<Utc>,
) -> Outcome {
    if let (Some(secret), Some(fields)) = (&robot.secret, body.as_object_mut()) {
        let timestamp = now.timestamp();
        fields.insert("timestamp".into(), timestamp.to_string().into());
        fields.insert("sign".into(), sign(secret.expose(), timestamp).into());
    }
    http::post_json(client, &robot.url, &body, |answer| {
        classify(channel, answer)
    })
    .await
}

/// Success is `code` 0, or, from older servers that send no `code`,
/// `StatusCode` 0.
pub(crate) fn classify(channel: &'static str, answer: &Answer) -> Outcome {
    let reply = serde_json::from_str::<Value>(&answer.body).ok();
    let field = |name: &str| reply.as_ref().and_then(|reply| reply.get(name));
    let code = field("code")
        .or_else(|| field("StatusCode"))
        .and_then(Value::as_i64);
    let message = field("msg")
        .or_else(|| field("StatusMessage"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match code {
        Some(0) => Outcome::Sent {
            answer: http::excerpt(&answer.body),
        },
        Some(code) => http::by_code(channel, CODES, code, message, answer.retry_after),
        None => http::not_the_service(channel, answer),
    }
}

#[cfg(test)]
mod tests;
