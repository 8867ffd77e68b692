//! The chat robots and the generic webhook against their loopback fakes.

use std::time::Duration;

use chrono::Duration as Span;
use licwatch::notify::budget::Rates;
use licwatch::notify::route::Route;
use licwatch::notify::send::{Delivery, Notifier, Outcome, SendError};
use serde_json::Value;

use super::robots::{self, Robot};
use super::{MapSecrets, alerts, now, route};

const DING_TOKEN: &str = "d1e2a3d4b5e6e7f8d1e2a3d4b5e6e7f8";
const DING_SECRET: &str = "SECfake0123456789abcdef";

fn notifier() -> Notifier {
    // Unmetered: these tests reach the services' own rate-limit answers,
    // which the published budgets would keep licwatch from.
    Notifier::with_rates(Duration::from_secs(10), Rates::unmetered())
        .expect("the HTTP client builds")
}

fn ding_route(robot: &Robot, secret: &str, lang: &str) -> Route {
    let url = format!("http://{}/robot/send?access_token={DING_TOKEN}", robot.addr);
    route(
        "ops-ding",
        &format!("kind = \"dingtalk\"\nurl_env = \"U\"\nsecret_env = \"S\"\nlang = \"{lang}\""),
        &MapSecrets::default().var("U", &url).var("S", secret),
    )
}

/// One line a message: part, alerts carried, attempted, outcome.
fn summary(delivery: &Delivery) -> String {
    delivery
        .messages
        .iter()
        .map(|message| {
            format!(
                "{}/{} alerts={} attempted={} {}\n",
                message.part,
                message.parts,
                message.alerts.len(),
                message.attempted,
                message.outcome
            )
        })
        .collect()
}

fn code(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Sent { .. } => None,
        Outcome::Retry { error, .. } | Outcome::Permanent { error } => error.code(),
    }
}

#[tokio::test]
async fn dingtalk_accepts_a_signed_markdown_digest() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), Some("licwatch")).await;
    let delivery = notifier()
        .send(&ding_route(&robot, DING_SECRET, "zh"), &alerts(2), now())
        .await;
    assert_eq!(
        summary(&delivery),
        "1/1 alerts=2 attempted=true sent; the service answered: {\"errcode\":0,\"errmsg\":\"ok\"}\n"
    );
    let accepted = robot.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["msgtype"], "markdown");
    let text = accepted[0]["markdown"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("示例呼叫中心1号有限公司"), "{text}");
    assert!(
        text.contains("licwatch renewal submit B2-20200001"),
        "{text}"
    );
}

#[tokio::test]
async fn dingtalk_refuses_a_wrong_secret_and_that_is_permanent() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), None).await;
    let delivery = notifier()
        .send(&ding_route(&robot, "SECwrong", "zh"), &alerts(1), now())
        .await;
    let outcome = &delivery.messages[0].outcome;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(outcome).as_deref(), Some("310000"));
    assert!(outcome.to_string().contains("sign not match"), "{outcome}");
}

#[tokio::test]
async fn dingtalk_refuses_a_clock_more_than_an_hour_off() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), None).await;
    let late = now() + Span::minutes(61);
    let delivery = notifier()
        .send(&ding_route(&robot, DING_SECRET, "zh"), &alerts(1), late)
        .await;
    let outcome = &delivery.messages[0].outcome;
    assert!(
        outcome.to_string().contains("invalid timestamp"),
        "{outcome}"
    );
    assert!(matches!(outcome, Outcome::Permanent { .. }));
}

#[tokio::test]
async fn dingtalk_refuses_a_message_without_its_keyword() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), Some("合规")).await;
    let delivery = notifier()
        .send(&ding_route(&robot, DING_SECRET, "en"), &alerts(1), now())
        .await;
    let outcome = &delivery.messages[0].outcome;
    assert!(
        outcome.to_string().contains("keywords not in content"),
        "{outcome}"
    );
    assert_eq!(code(outcome).as_deref(), Some("310000"));
}

#[tokio::test]
async fn dingtalk_unknown_token_is_permanent() {
    let robot = robots::dingtalk(now(), "another-token", None, None).await;
    let outcome = notifier()
        .send_test(&ding_route(&robot, DING_SECRET, "zh"), now())
        .await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("300005"));
}

#[tokio::test]
async fn dingtalk_throttles_after_20_a_minute_and_licwatch_waits_ten_minutes() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), None).await;
    let route = ding_route(&robot, DING_SECRET, "zh");
    let notifier = notifier();
    for second in 0..20 {
        let at = now() + Span::seconds(second);
        robot.clock.set(at);
        let delivery = notifier.send(&route, &alerts(1), at).await;
        assert!(delivery.all_sent(), "{}", summary(&delivery));
    }
    let at = now() + Span::seconds(30);
    robot.clock.set(at);
    let delivery = notifier.send(&route, &alerts(1), at).await;
    match &delivery.messages[0].outcome {
        Outcome::Retry {
            error: SendError::Refused { code, .. },
            retry_after,
        } => {
            assert_eq!(code, "130101");
            assert_eq!(*retry_after, Some(Duration::from_secs(600)));
        }
        other => panic!("expected a retry, got {other}"),
    }
    // A minute later the window is clear, but DingTalk still refuses.
    let at = now() + Span::seconds(95);
    robot.clock.set(at);
    assert!(!notifier.send(&route, &alerts(1), at).await.all_sent());
    let at = now() + Span::minutes(11);
    robot.clock.set(at);
    assert!(notifier.send(&route, &alerts(1), at).await.all_sent());
}

#[tokio::test]
async fn dingtalk_splits_a_large_digest_into_numbered_messages() {
    let robot = robots::dingtalk(now(), DING_TOKEN, Some(DING_SECRET), None).await;
    let alerts = alerts(60);
    let delivery = notifier()
        .send(&ding_route(&robot, DING_SECRET, "zh"), &alerts, now())
        .await;
    assert!(delivery.all_sent(), "{}", summary(&delivery));
    let parts = delivery.messages.len();
    assert!(parts > 1, "{}", summary(&delivery));
    let mut carried: Vec<usize> = delivery
        .messages
        .iter()
        .flat_map(|message| message.alerts.clone())
        .collect();
    carried.sort_unstable();
    assert_eq!(carried, (0..60).collect::<Vec<_>>());
    for (index, body) in robot.accepted().iter().enumerate() {
        let title = body["markdown"]["title"].as_str().unwrap_or_default();
        assert!(
            title.ends_with(&format!("（{}/{parts}）", index + 1)),
            "{title}"
        );
    }
}

const WECOM_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

fn wecom_route(robot: &Robot, key: &str) -> Route {
    let url = format!("http://{}/cgi-bin/webhook/send?key={key}", robot.addr);
    route(
        "ops-wecom",
        "kind = \"wecom\"\nurl_env = \"U\"",
        &MapSecrets::default().var("U", &url),
    )
}

#[tokio::test]
async fn wecom_accepts_markdown_split_under_4096_bytes() {
    let robot = robots::wecom(now(), WECOM_KEY).await;
    let delivery = notifier()
        .send(&wecom_route(&robot, WECOM_KEY), &alerts(12), now())
        .await;
    assert!(delivery.all_sent(), "{}", summary(&delivery));
    assert!(delivery.messages.len() > 1);
    for body in robot.accepted() {
        assert!(
            body["markdown"]["content"]
                .as_str()
                .unwrap_or_default()
                .len()
                <= 4096
        );
    }
}

#[tokio::test]
async fn wecom_unknown_key_is_permanent() {
    let robot = robots::wecom(now(), WECOM_KEY).await;
    let outcome = notifier()
        .send_test(&wecom_route(&robot, "removed-key"), now())
        .await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("93000"));
}

#[tokio::test]
async fn wecom_rate_limit_mid_digest_holds_back_the_remaining_parts() {
    let robot = robots::wecom(now(), WECOM_KEY).await;
    let route = wecom_route(&robot, WECOM_KEY);
    let notifier = notifier();
    for _ in 0..19 {
        assert!(notifier.send(&route, &alerts(1), now()).await.all_sent());
    }
    // Three parts of five (the texts with their basis are longer since
    // issue 19).
    let delivery = notifier.send(&route, &alerts(15), now()).await;
    let shape: Vec<(usize, usize, bool)> = delivery
        .messages
        .iter()
        .map(|message| (message.part, message.parts, message.attempted))
        .collect();
    assert_eq!(
        shape,
        [(1, 3, true), (2, 3, true), (3, 3, false)],
        "{}",
        summary(&delivery)
    );
    assert!(delivery.messages[0].outcome.is_sent());
    for message in &delivery.messages[1..] {
        assert!(
            matches!(&message.outcome, Outcome::Retry { retry_after: Some(wait), .. } if *wait == Duration::from_secs(60)),
            "{}",
            message.outcome
        );
        assert_eq!(code(&message.outcome).as_deref(), Some("45009"));
    }
    // Only the first two parts reached the robot.
    assert_eq!(robot.requests(), 21);
}

const FEISHU_TOKEN: &str = "2ab5a8b4-6b3c-4e5f-8a9b-0c1d2e3f4a5b";

fn feishu_route(kind: &str, robot: &Robot, secret: &str) -> Route {
    let url = format!("http://{}/open-apis/bot/v2/hook/{FEISHU_TOKEN}", robot.addr);
    route(
        "ops-feishu",
        &format!("kind = \"{kind}\"\nurl_env = \"U\"\nsecret_env = \"S\""),
        &MapSecrets::default().var("U", &url).var("S", secret),
    )
}

#[tokio::test]
async fn feishu_accepts_a_signed_card() {
    let robot = robots::feishu(now(), FEISHU_TOKEN, Some("feishusecret"), Some("licwatch")).await;
    let delivery = notifier()
        .send(
            &feishu_route("feishu", &robot, "feishusecret"),
            &alerts(3),
            now(),
        )
        .await;
    assert!(delivery.all_sent(), "{}", summary(&delivery));
    let accepted = robot.accepted();
    assert_eq!(accepted[0]["msg_type"], "interactive");
    assert_eq!(
        accepted[0]["timestamp"],
        Value::from(now().timestamp().to_string())
    );
}

#[tokio::test]
async fn lark_uses_the_same_signature() {
    let robot = robots::feishu(now(), FEISHU_TOKEN, Some("larksecret"), None).await;
    let outcome = notifier()
        .send_test(&feishu_route("lark", &robot, "larksecret"), now())
        .await;
    assert!(outcome.is_sent(), "{outcome}");
}

#[tokio::test]
async fn feishu_wrong_secret_is_permanent_19021() {
    let robot = robots::feishu(now(), FEISHU_TOKEN, Some("feishusecret"), None).await;
    let outcome = notifier()
        .send_test(&feishu_route("feishu", &robot, "othersecret"), now())
        .await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("19021"));
}

#[tokio::test]
async fn feishu_keyword_missing_is_permanent_19024() {
    let robot = robots::feishu(now(), FEISHU_TOKEN, Some("s"), Some("审计")).await;
    let outcome = notifier()
        .send_test(&feishu_route("feishu", &robot, "s"), now())
        .await;
    assert_eq!(code(&outcome).as_deref(), Some("19024"), "{outcome}");
}

#[tokio::test]
async fn feishu_unknown_token_is_permanent_19001() {
    let robot = robots::feishu(now(), "another-token", None, None).await;
    let outcome = notifier()
        .send_test(&feishu_route("feishu", &robot, "s"), now())
        .await;
    assert_eq!(code(&outcome).as_deref(), Some("19001"), "{outcome}");
}

#[tokio::test]
async fn feishu_more_than_5_a_second_is_retried_11232() {
    let robot = robots::feishu(now(), FEISHU_TOKEN, Some("s"), None).await;
    let route = feishu_route("feishu", &robot, "s");
    let notifier = notifier();
    for _ in 0..5 {
        assert!(notifier.send_test(&route, now()).await.is_sent());
    }
    let outcome = notifier.send_test(&route, now()).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("11232"));
}

const SLACK_PATH: &str = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

fn slack_route(robot: &Robot, path: &str) -> Route {
    let url = format!("http://{}{path}", robot.addr);
    route(
        "intl-slack",
        "kind = \"slack\"\nurl_env = \"U\"\nlang = \"en\"",
        &MapSecrets::default().var("U", &url),
    )
}

#[tokio::test]
async fn slack_accepts_blocks_with_text() {
    let robot = robots::slack(now(), SLACK_PATH).await;
    let delivery = notifier()
        .send(&slack_route(&robot, SLACK_PATH), &alerts(2), now())
        .await;
    assert!(delivery.all_sent(), "{}", summary(&delivery));
    let accepted = robot.accepted();
    assert!(
        accepted[0]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("licwatch")
    );
    assert_eq!(accepted[0]["blocks"][0]["type"], "header");
}

#[tokio::test]
async fn slack_fake_refuses_a_header_over_150_characters_as_slack_does() {
    let robot = robots::slack(now(), SLACK_PATH).await;
    let post = |header: String| {
        let url = format!("http://{}{SLACK_PATH}", robot.addr);
        async move {
            let body = serde_json::json!({
                "text": "t",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": header}}],
            });
            let response = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(post("h".repeat(150)).await, (200, "ok".to_owned()));
    assert_eq!(
        post("h".repeat(151)).await,
        (400, "invalid_blocks".to_owned())
    );
}

#[tokio::test]
async fn slack_carries_a_notice_longer_than_a_header_in_a_section() {
    let robot = robots::slack(now(), SLACK_PATH).await;
    let text = format!(
        "licwatch could not deliver {}",
        "a message of many items; ".repeat(16)
    );
    assert!(text.chars().count() > 300);
    let (_, outcome) = notifier()
        .send_notice(
            &slack_route(&robot, SLACK_PATH),
            "notice/failed/x",
            &text,
            now(),
        )
        .await;
    assert!(outcome.is_sent(), "{outcome}");
    let accepted = robot.accepted();
    assert_eq!(accepted[0]["blocks"][0]["type"], "section");
    assert!(
        accepted[0]["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("could not deliver")
    );
}

#[tokio::test]
async fn slack_removed_hook_is_permanent() {
    let robot = robots::slack(now(), SLACK_PATH).await;
    let outcome = notifier()
        .send_test(&slack_route(&robot, "/services/T0/B0/gone"), now())
        .await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("no_service"));
}

#[tokio::test]
async fn slack_429_honours_retry_after() {
    let robot = robots::slack(now(), SLACK_PATH).await;
    let route = slack_route(&robot, SLACK_PATH);
    let notifier = notifier();
    for _ in 0..3 {
        assert!(notifier.send_test(&route, now()).await.is_sent());
    }
    let outcome = notifier.send_test(&route, now()).await;
    assert!(
        matches!(outcome, Outcome::Retry { retry_after: Some(wait), .. } if wait == Duration::from_secs(1)),
        "{outcome}"
    );
}

const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn webhook_route(receiver: &robots::Receiver) -> Route {
    let url = format!("http://{}/hooks/licwatch", receiver.robot.addr);
    route(
        "erp-hook",
        "kind = \"webhook\"\nurl_env = \"U\"\nsecret_env = \"S\"\nlang = \"en\"",
        &MapSecrets::default().var("U", &url).var("S", WHSEC),
    )
}

#[tokio::test]
async fn webhook_is_signed_and_keeps_its_id_across_retries() {
    let receiver = robots::receiver(now(), WHSEC).await;
    receiver
        .script
        .lock()
        .expect("no panic holding the script")
        .extend([
            super::fake::Response::text(503, "busy"),
            super::fake::Response::text(204, ""),
        ]);
    let route = webhook_route(&receiver);
    let notifier = notifier();
    let first = notifier.send(&route, &alerts(2), now()).await;
    assert!(
        matches!(first.messages[0].outcome, Outcome::Retry { .. }),
        "{}",
        summary(&first)
    );
    let later = now() + Span::minutes(4);
    receiver.robot.clock.set(later);
    let second = notifier.send(&route, &alerts(2), later).await;
    assert!(second.all_sent(), "{}", summary(&second));
    let ids = receiver.ids.lock().expect("no panic holding ids").clone();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "the id is the receiver's idempotency key");
    assert_eq!(ids[0], format!("msg_{}", first.messages[0].id));
    let accepted = receiver.robot.accepted();
    assert_eq!(accepted[0]["type"], "licwatch.digest");
    assert_eq!(
        accepted[0]["data"]["alerts"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn webhook_gone_is_permanent_and_429_waits() {
    let receiver = robots::receiver(now(), WHSEC).await;
    let mut throttled = super::fake::Response::text(429, "slow down");
    throttled.headers.push(("retry-after".into(), "7".into()));
    receiver
        .script
        .lock()
        .expect("no panic holding the script")
        .extend([throttled, super::fake::Response::text(410, "gone")]);
    let route = webhook_route(&receiver);
    let notifier = notifier();
    let outcome = notifier.send_test(&route, now()).await;
    assert!(
        matches!(outcome, Outcome::Retry { retry_after: Some(wait), .. } if wait == Duration::from_secs(7)),
        "{outcome}"
    );
    let outcome = notifier.send_test(&route, now()).await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome}");
    assert_eq!(code(&outcome).as_deref(), Some("410"));
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_the_token_is_not_shown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("bound");
    drop(listener);
    let url = format!("http://{addr}/robot/send?access_token={DING_TOKEN}");
    let route = route(
        "ops-ding",
        "kind = \"dingtalk\"\nurl_env = \"U\"",
        &MapSecrets::default().var("U", &url),
    );
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Retry {
                error: SendError::Transport { timeout: false, .. },
                ..
            }
        ),
        "{outcome}"
    );
    let text = outcome.to_string();
    assert!(!text.contains(DING_TOKEN), "{text}");
    assert!(text.contains("access_token=***e7f8"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_robot_that_never_answers_times_out_and_is_retried() {
    // Accepts connections and never answers. The paused clock lets the
    // timeout fire without waiting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let url = format!("http://{addr}/cgi-bin/webhook/send?key={WECOM_KEY}");
    let route = route(
        "ops-wecom",
        "kind = \"wecom\"\nurl_env = \"U\"",
        &MapSecrets::default().var("U", &url),
    );
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Retry {
                error: SendError::Transport { timeout: true, .. },
                ..
            }
        ),
        "{outcome}"
    );
}

/// Collects the fields of every event, so the log route can be read back.
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?}\n", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .expect("no panic holding the capture")
            .push(fields.0);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn the_log_route_writes_the_rendered_digest_to_the_log() {
    let events = std::sync::Arc::default();
    // The test runtime has one thread, so the default holds across awaits.
    let _guard = tracing::subscriber::set_default(Capture(std::sync::Arc::clone(&events)));
    let route = route("journal", "kind = \"log\"", &MapSecrets::default());
    let delivery = notifier().send(&route, &alerts(2), now()).await;
    assert_eq!(
        summary(&delivery),
        "1/1 alerts=2 attempted=true sent; the service answered: written to the log\n"
    );
    let events = events.lock().expect("no panic holding the capture").clone();
    let logged = events
        .iter()
        .find(|event| event.contains("route=journal"))
        .unwrap_or_else(|| panic!("no event from the log route in {events:?}"));
    assert!(
        logged.contains("licwatch 合规提醒：共 2 项待办"),
        "{logged}"
    );
    assert!(
        logged.contains("licwatch renewal submit B2-20200001"),
        "{logged}"
    );
    assert!(
        logged.contains(&format!("message_id={}", delivery.messages[0].id)),
        "{logged}"
    );
}

/// Issue 14: a first tick over a big register is hundreds of thousands of
/// items; the log route writes them forty to a record (journald cuts a
/// line at 48 KiB, and the log formatter kept a buffer of the whole).
#[tokio::test]
async fn the_log_route_writes_a_big_digest_forty_items_to_a_record() {
    let events = std::sync::Arc::default();
    let _guard = tracing::subscriber::set_default(Capture(std::sync::Arc::clone(&events)));
    let route = route("journal", "kind = \"log\"", &MapSecrets::default());
    let delivery = notifier().send(&route, &alerts(100), now()).await;
    assert_eq!(delivery.messages.len(), 3);
    let events = events.lock().expect("no panic holding the capture").clone();
    let records: Vec<&String> = events
        .iter()
        .filter(|event| event.contains("route=journal"))
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    for (record, message) in records.iter().zip(&delivery.messages) {
        assert!(
            record.contains(&format!("message_id={}", message.id)),
            "{record}"
        );
        assert!(record.len() < 48 * 1024, "{} bytes", record.len());
    }
}
