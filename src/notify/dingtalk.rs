//! DingTalk custom robot (钉钉自定义机器人): markdown messages, 加签 in the
//! query string, answers judged by `errcode` (DingTalk's 自定义机器人接入 and
//! 安全设置 pages), never by the HTTP status: DingTalk answers a refused
//! message with HTTP 200.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::http::{self, Answer, Code, Verdict};
use super::render::{self, Digest, Part};
use super::route::Robot;
use super::route::secrets::SecretUrl;
use super::send::Outcome;

const CHANNEL: &str = "dingtalk";

/// A robot refuses bodies over 20000 bytes (errcode 460101).
pub const BODY_LIMIT: usize = 20_000;

/// DingTalk throttles a robot for 10 minutes after 20 messages a minute.
const THROTTLE: Duration = Duration::from_secs(600);

/// errcode → verdict. DingTalk answers HTTP 200 to most refusals, so these
/// codes, not the status, decide. Numbers, never `errmsg`: its wording has
/// changed over the years for the same code.
const CODES: &[Code] = &[
    Code {
        code: 310000,
        verdict: Verdict::Permanent,
        meaning: "security settings refused it: signature, timestamp, keyword or IP allow-list (check the secret, the clock and the robot's 安全设置)",
    },
    Code {
        code: 300001,
        verdict: Verdict::Permanent,
        meaning: "unknown access_token (the robot was removed or the URL is wrong)",
    },
    Code {
        code: 300005,
        verdict: Verdict::Permanent,
        meaning: "unknown access_token (the robot was removed or the URL is wrong)",
    },
    Code {
        code: 400101,
        verdict: Verdict::Permanent,
        meaning: "unknown access_token",
    },
    Code {
        code: 400102,
        verdict: Verdict::Permanent,
        meaning: "the robot is disabled",
    },
    Code {
        code: 400106,
        verdict: Verdict::Permanent,
        meaning: "the robot does not exist",
    },
    Code {
        code: 400013,
        verdict: Verdict::Permanent,
        meaning: "the group was dissolved",
    },
    Code {
        code: 400105,
        verdict: Verdict::Permanent,
        meaning: "unsupported msgtype",
    },
    Code {
        code: 130101,
        verdict: Verdict::Retry(Some(THROTTLE)),
        meaning: "rate limited: over 20 messages a minute, the robot is throttled for 10 minutes",
    },
    Code {
        code: 410100,
        verdict: Verdict::Retry(Some(THROTTLE)),
        meaning: "rate limited: over 20 messages a minute, the robot is throttled for 10 minutes",
    },
    Code {
        code: 460101,
        verdict: Verdict::Permanent,
        meaning: "message over 20000 bytes",
    },
    Code {
        code: 101002,
        verdict: Verdict::Permanent,
        meaning: "message too long",
    },
    Code {
        code: 430101,
        verdict: Verdict::Permanent,
        meaning: "content judged unsafe",
    },
    Code {
        code: 430102,
        verdict: Verdict::Permanent,
        meaning: "content judged unsafe",
    },
    Code {
        code: 430103,
        verdict: Verdict::Permanent,
        meaning: "content judged unsafe",
    },
    Code {
        code: 430104,
        verdict: Verdict::Permanent,
        meaning: "content judged unsafe",
    },
    Code {
        code: 43004,
        verdict: Verdict::Permanent,
        meaning: "wrong Content-Type",
    },
    Code {
        code: -1,
        verdict: Verdict::Retry(None),
        meaning: "system busy",
    },
];

pub fn fits(digest: &Digest<'_>, part: &Part) -> bool {
    serde_json::to_vec(&render::layout::dingtalk(digest, part))
        .is_ok_and(|body| body.len() <= BODY_LIMIT)
}

/// 加签: base64(HMAC-SHA256(key = secret, msg = timestamp + "\n" + secret)),
/// with the timestamp in milliseconds. The caller URL-encodes it.
pub fn sign(secret: &[u8], timestamp_ms: i64) -> String {
    let mut message = format!("{timestamp_ms}\n").into_bytes();
    message.extend_from_slice(secret);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&message);
    BASE64.encode(mac.finalize().into_bytes())
}

/// The robot URL with `timestamp` and `sign` added when the robot signs.
/// `url` encodes the query as a form, so `+`, `/` and `=` in the signature
/// are percent-encoded as DingTalk requires.
pub fn signed_url(robot: &Robot, now: DateTime<Utc>) -> SecretUrl {
    let Some(secret) = &robot.secret else {
        return robot.url.clone();
    };
    let timestamp = now.timestamp_millis();
    robot.url.with_query(&[
        ("timestamp", timestamp.to_string()),
        ("sign", sign(secret.expose(), timestamp)),
    ])
}

pub async fn send(
    client: &reqwest::Client,
    robot: &Robot,
    body: &Value,
    now: DateTime<Utc>,
) -> Outcome {
    http::post_json(client, &signed_url(robot, now), body, classify).await
}

pub(crate) fn classify(answer: &Answer) -> Outcome {
    http::by_errcode(CHANNEL, CODES, answer)
}

#[cfg(test)]
mod tests;
