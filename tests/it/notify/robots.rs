//! Fakes of the chat services, built from each service's documentation and
//! answers seen in public issue threads (the channel modules name their
//! sources): each checks what the real service checks and answers its real
//! success and error bodies.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::fake::{Clock, Handler, Request, Response, serve};

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// What a fake accepted, and how often it was called.
#[derive(Default)]
pub struct Log {
    pub accepted: Vec<Value>,
    pub requests: usize,
    /// When requests were accepted, by the fake's clock: the rate limit.
    pub times: Vec<DateTime<Utc>>,
    pub blocked_until: Option<DateTime<Utc>>,
}

pub type Shared = Arc<Mutex<Log>>;

fn lock(log: &Shared) -> std::sync::MutexGuard<'_, Log> {
    log.lock().expect("no fake panics while holding its log")
}

/// Counts accepted requests in the last `window` and tells whether one more
/// is over `limit`.
fn over_limit(log: &Log, now: DateTime<Utc>, window: Duration, limit: usize) -> bool {
    log.times.iter().filter(|at| now - **at < window).count() >= limit
}

pub struct Robot {
    pub addr: SocketAddr,
    pub clock: Clock,
    pub log: Shared,
}

impl Robot {
    pub fn accepted(&self) -> Vec<Value> {
        lock(&self.log).accepted.clone()
    }

    pub fn requests(&self) -> usize {
        lock(&self.log).requests
    }
}

async fn start(
    now: DateTime<Utc>,
    answer: impl Fn(&Request, DateTime<Utc>, &mut Log) -> Response + Send + Sync + 'static,
) -> Robot {
    let clock = Clock::new(now);
    let log: Shared = Arc::default();
    let handler: Handler = {
        let (clock, log) = (clock.clone(), log.clone());
        Arc::new(move |request: &Request| {
            let mut log = lock(&log);
            log.requests += 1;
            answer(request, clock.now(), &mut log)
        })
    };
    let addr = serve(handler).await;
    Robot { addr, clock, log }
}

fn ding(code: i64, message: &str) -> Response {
    Response::json(200, json!({"errcode": code, "errmsg": message}))
}

/// DingTalk: token, 加签 within an hour, keywords, 20000 bytes, and 20
/// messages a minute, after which the robot is refused for 10 minutes.
pub async fn dingtalk(
    now: DateTime<Utc>,
    token: &'static str,
    secret: Option<&'static str>,
    keyword: Option<&'static str>,
) -> Robot {
    start(now, move |request, now, log| {
        if request.method != "POST" {
            return ding(43002, "需要POST请求");
        }
        if request.query("access_token").as_deref() != Some(token) {
            return ding(300005, "token is not exist");
        }
        if let Some(secret) = secret {
            let (Some(timestamp), Some(sign)) = (request.query("timestamp"), request.query("sign"))
            else {
                return ding(310000, "invalid timestamp");
            };
            let Ok(millis) = timestamp.parse::<i64>() else {
                return ding(310000, "invalid timestamp");
            };
            if (now.timestamp_millis() - millis).abs() > 3_600_000 {
                return ding(310000, "invalid timestamp");
            }
            let expected = BASE64.encode(hmac(
                secret.as_bytes(),
                format!("{timestamp}\n{secret}").as_bytes(),
            ));
            if sign != expected {
                return ding(310000, "sign not match");
            }
        }
        if request.body.len() > 20_000 {
            return ding(460101, "message too long, exceed 20000 bytes");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ding(40035, "缺少参数 json");
        };
        let content = match body["msgtype"].as_str() {
            Some("markdown") => match (
                body["markdown"]["title"].as_str(),
                body["markdown"]["text"].as_str(),
            ) {
                (Some(title), Some(text)) => format!("{title}{text}"),
                _ => return ding(40035, "缺少参数 markdown"),
            },
            Some("text") => match body["text"]["content"].as_str() {
                Some(text) => text.to_owned(),
                None => return ding(40035, "缺少参数 text"),
            },
            _ => return ding(400105, "不支持的消息类型"),
        };
        if keyword.is_some_and(|keyword| !content.contains(keyword)) {
            return ding(310000, "keywords not in content");
        }
        if let Some(until) = log.blocked_until {
            if now < until {
                return ding(130101, "send too fast, exceed 20 times per minute");
            }
            log.blocked_until = None;
        }
        if over_limit(log, now, Duration::minutes(1), 20) {
            log.blocked_until = Some(now + Duration::minutes(10));
            return ding(130101, "send too fast, exceed 20 times per minute");
        }
        log.times.push(now);
        log.accepted.push(body);
        ding(0, "ok")
    })
    .await
}

/// WeCom: key, lower-case msgtype, content length, 20 messages a minute.
pub async fn wecom(now: DateTime<Utc>, key: &'static str) -> Robot {
    start(now, move |request, now, log| {
        if request.query("key").as_deref() != Some(key) {
            return ding(
                93000,
                "invalid webhook url, hint: [1780000000_1_fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ding(40058, "Warning: wrong json format. invalid Request Parameter");
        };
        let (field, limit) = match body["msgtype"].as_str() {
            Some("markdown") => ("markdown", 4096),
            Some("text") => ("text", 2048),
            _ => return ding(40008, "invalid message type"),
        };
        let Some(content) = body[field]["content"].as_str() else {
            return ding(40058, "content is empty. invalid Request Parameter");
        };
        if content.len() > limit {
            return ding(
                40058,
                &format!("{field}.content exceed max length {limit}. invalid Request Parameter"),
            );
        }
        if over_limit(log, now, Duration::minutes(1), 20) {
            return ding(45009, "api freq out of limit");
        }
        log.times.push(now);
        log.accepted.push(body);
        ding(0, "ok")
    })
    .await
}

fn feishu_error(code: i64, message: &str) -> Response {
    Response::json(200, json!({"code": code, "data": {}, "msg": message}))
}

/// Feishu and Lark: token in the path, signature in the body, keywords,
/// 20 KB, and 5 a second or 100 a minute.
pub async fn feishu(
    now: DateTime<Utc>,
    token: &'static str,
    secret: Option<&'static str>,
    keyword: Option<&'static str>,
) -> Robot {
    start(now, move |request, now, log| {
        if request.path() != format!("/open-apis/bot/v2/hook/{token}") {
            return feishu_error(19001, "param invalid: incoming webhook access token invalid");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return feishu_error(9499, "Bad Request");
        };
        if let Some(secret) = secret {
            let timestamp = match &body["timestamp"] {
                Value::String(text) => text.parse::<i64>().ok(),
                value => value.as_i64(),
            };
            let valid = timestamp.is_some_and(|timestamp| {
                let key = format!("{timestamp}\n{secret}");
                (now.timestamp() - timestamp).abs() <= 3600
                    && body["sign"].as_str() == Some(&BASE64.encode(hmac(key.as_bytes(), b"")))
            });
            if !valid {
                return feishu_error(
                    19021,
                    "sign match fail or timestamp is not within one hour from current time",
                );
            }
        }
        if request.body.len() > 20 * 1024 {
            return feishu_error(9499, "Bad Request");
        }
        let shaped = match body["msg_type"].as_str() {
            Some("interactive") => body["card"]["elements"].is_array(),
            Some("text") => body["content"]["text"].is_string(),
            Some("post") => body["content"]["post"].is_object(),
            _ => false,
        };
        if !shaped {
            return feishu_error(9499, "Bad Request");
        }
        if keyword.is_some_and(|keyword| !body.to_string().contains(keyword)) {
            return feishu_error(19024, "Key Words Not Found");
        }
        if over_limit(log, now, Duration::seconds(1), 5)
            || over_limit(log, now, Duration::minutes(1), 100)
        {
            return feishu_error(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]");
        }
        log.times.push(now);
        log.accepted.push(body);
        Response::json(
            200,
            json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
        )
    })
    .await
}

/// Slack: a known hook path, JSON with text or blocks, one a second with a
/// short burst allowed, then 429 with Retry-After.
pub async fn slack(now: DateTime<Utc>, path: &'static str) -> Robot {
    start(now, move |request, now, log| {
        if request.path() != path {
            return Response::text(404, "no_service");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return Response::text(400, "invalid_payload");
        };
        if !body["text"].is_string() && !body["blocks"].is_array() {
            return Response::text(400, "invalid_payload");
        }
        // Block Kit's limits, as Slack enforces them: 50 blocks, a header's
        // text 150 characters, a section's 3,000.
        let blocks = body["blocks"].as_array().map_or(&[][..], Vec::as_slice);
        let too_long = |block: &Value| {
            let limit = match block["type"].as_str() {
                Some("header") => 150,
                _ => 3000,
            };
            block["text"]["text"]
                .as_str()
                .is_some_and(|text| text.chars().count() > limit)
        };
        if blocks.len() > 50 || blocks.iter().any(too_long) {
            return Response::text(400, "invalid_blocks");
        }
        if over_limit(log, now, Duration::seconds(1), 3) {
            let mut response = Response::text(429, "");
            response.headers.push(("retry-after".into(), "1".into()));
            return response;
        }
        log.times.push(now);
        log.accepted.push(body);
        Response::text(200, "ok")
    })
    .await
}

/// A receiver verifying Standard Webhooks signatures (±5 minutes, any `v1`
/// entry of the list, constant-time), then answering what the test scripted.
pub struct Receiver {
    pub robot: Robot,
    pub script: Arc<Mutex<VecDeque<Response>>>,
    pub ids: Arc<Mutex<Vec<String>>>,
    /// The `webhook-id` of each accepted request, by position in
    /// `robot.log.accepted`.
    pub accepted_ids: Arc<Mutex<Vec<String>>>,
}

pub async fn receiver(now: DateTime<Utc>, secret: &'static str) -> Receiver {
    let script: Arc<Mutex<VecDeque<Response>>> = Arc::default();
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let accepted_ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let key = BASE64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("test secrets are base64");
    let robot = {
        let (script, ids, accepted_ids) = (script.clone(), ids.clone(), accepted_ids.clone());
        start(now, move |request, now, log| {
            let (Some(id), Some(timestamp), Some(signatures)) = (
                request.header("webhook-id"),
                request.header("webhook-timestamp"),
                request.header("webhook-signature"),
            ) else {
                return Response::text(400, "missing webhook headers");
            };
            let Ok(seconds) = timestamp.parse::<i64>() else {
                return Response::text(400, "bad timestamp");
            };
            if (now.timestamp() - seconds).abs() > 300 {
                return Response::text(400, "timestamp outside tolerance");
            }
            let mut signed = format!("{id}.{timestamp}.").into_bytes();
            signed.extend_from_slice(&request.body);
            let valid = signatures.split(' ').any(|entry| {
                let Some(encoded) = entry.strip_prefix("v1,") else {
                    return false;
                };
                let Ok(signature) = BASE64.decode(encoded) else {
                    return false;
                };
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
                mac.update(&signed);
                mac.verify_slice(&signature).is_ok()
            });
            if !valid {
                return Response::text(401, "invalid signature");
            }
            ids.lock()
                .expect("no panic while holding ids")
                .push(id.to_owned());
            let response = script
                .lock()
                .expect("no panic while holding the script")
                .pop_front()
                .unwrap_or_else(|| Response::text(204, ""));
            if (200..300).contains(&response.status) {
                log.accepted
                    .push(serde_json::from_slice(&request.body).unwrap_or(Value::Null));
                accepted_ids
                    .lock()
                    .expect("no panic while holding accepted ids")
                    .push(id.to_owned());
            }
            response
        })
        .await
    };
    Receiver {
        robot,
        script,
        ids,
        accepted_ids,
    }
}
