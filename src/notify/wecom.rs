//! WeCom group robot (企业微信群机器人): markdown messages, no signature (the
//! `key` in the URL is the credential), answers judged by `errcode` (WeCom's
//! 群机器人配置说明 and its error-code page), never by the HTTP status: WeCom
//! answers a refused message with HTTP 200.

use std::time::Duration;

use serde_json::Value;

use super::http::{self, Answer, Code, Verdict};
use super::render::{self, Digest, Part};
use super::route::Robot;
use super::send::Outcome;

const CHANNEL: &str = "wecom";

/// The markdown `content` may hold at most 4096 UTF-8 bytes (errcode 40058).
pub const MARKDOWN_LIMIT: usize = 4096;

/// errcode → verdict; WeCom answers HTTP 200 to refusals too.
const CODES: &[Code] = &[
    Code {
        code: 93000,
        verdict: Verdict::Permanent,
        meaning: "invalid webhook URL (the robot was removed or the key is wrong)",
    },
    Code {
        code: 40058,
        verdict: Verdict::Permanent,
        meaning: "invalid parameter, e.g. content over the length limit",
    },
    Code {
        code: 40008,
        verdict: Verdict::Permanent,
        meaning: "invalid message type",
    },
    Code {
        code: 45009,
        verdict: Verdict::Retry(Some(Duration::from_secs(60))),
        meaning: "rate limited: over 20 messages a minute",
    },
    Code {
        code: -1,
        verdict: Verdict::Retry(None),
        meaning: "system busy",
    },
];

pub fn fits(digest: &Digest<'_>, part: &Part) -> bool {
    render::layout::wecom_markdown(digest, part).len() <= MARKDOWN_LIMIT
}

pub async fn send(client: &reqwest::Client, robot: &Robot, body: &Value) -> Outcome {
    http::post_json(client, &robot.url, body, classify).await
}

pub(crate) fn classify(answer: &Answer) -> Outcome {
    http::by_errcode(CHANNEL, CODES, answer)
}

#[cfg(test)]
mod tests;
