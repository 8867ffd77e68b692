//! Slack incoming webhooks: blocks with `text` as the notification line, no
//! signature (the URL is the credential). Slack answers `ok` or a status
//! with a bare error string (Slack's changelog of 2016-05-17, "changes to
//! errors for incoming webhooks", and its rate-limit page).

use serde_json::Value;

use super::http::{self, Answer};
use super::render::{self, Digest, Part};
use super::route::Robot;
use super::send::{Outcome, SendError};

const CHANNEL: &str = "slack";

/// A message may hold at most 50 blocks.
pub const MAX_BLOCKS: usize = 50;

/// A header block's text may hold at most 150 characters (Slack answers 400
/// `invalid_blocks` past it).
pub const HEADER_LIMIT: usize = 150;

/// A section block's text may hold at most 3000 characters.
pub const SECTION_LIMIT: usize = 3000;

/// The error strings Slack documents; whether to retry follows the status.
const ERRORS: &[(&str, &str)] = &[
    (
        "invalid_payload",
        "the body is not valid for its content type",
    ),
    (
        "user_not_found",
        "a user named in the message does not exist",
    ),
    ("action_prohibited", "the workspace restricts posting here"),
    ("channel_not_found", "the channel does not exist"),
    ("channel_is_archived", "the channel is archived"),
    ("rollup_error", "Slack-side failure"),
    ("no_service", "the webhook was removed or the URL is wrong"),
    (
        "invalid_blocks",
        "a block breaks Block Kit's limits (header 150 characters, section 3,000, 50 blocks)",
    ),
    ("invalid_token", "the webhook's token is invalid"),
    ("no_text", "the message has no text"),
    (
        "posting_to_general_channel_denied",
        "only admins may post to this channel",
    ),
    ("too_many_attachments", "too many attachments"),
    ("no_team", "the workspace does not exist"),
    ("team_disabled", "the workspace is disabled"),
    ("no_active_hooks", "the webhook is disabled"),
];

pub fn fits(digest: &Digest<'_>, part: &Part) -> bool {
    let body = render::layout::slack(digest, part);
    let blocks = body["blocks"].as_array().map_or(&[][..], Vec::as_slice);
    blocks.len() <= MAX_BLOCKS
        && blocks.iter().all(|block| {
            let limit = if block["type"] == "header" {
                HEADER_LIMIT
            } else {
                SECTION_LIMIT
            };
            block["text"]["text"]
                .as_str()
                .is_none_or(|text| text.chars().count() <= limit)
        })
}

pub async fn send(client: &reqwest::Client, robot: &Robot, body: &Value) -> Outcome {
    http::post_json(client, &robot.url, body, classify).await
}

/// 200 `ok` is success. 429 (with `Retry-After`) and 5xx are worth
/// retrying; any other status is permanent.
pub(crate) fn classify(answer: &Answer) -> Outcome {
    let body = answer.body.trim();
    if answer.status == 200 && body == "ok" {
        return Outcome::Sent {
            answer: body.to_owned(),
        };
    }
    let known = ERRORS.iter().find(|(code, _)| *code == body);
    let Some((code, meaning)) = known.filter(|_| answer.status != 200) else {
        return http::not_the_service(CHANNEL, answer);
    };
    let error = SendError::Refused {
        channel: CHANNEL,
        code: (*code).to_owned(),
        meaning,
        message: format!("HTTP {}", answer.status),
    };
    http::as_status_says(answer, error)
}

#[cfg(test)]
mod tests;
