use std::cell::Cell;

use super::*;

const TODAY: NaiveDate = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();

/// A register of `licences` licences, each owing its last two annual
/// reports: two overdue alerts a licence. Written in one transaction, not
/// through the store's commands, which sync each write.
fn overdue_register(dir: &std::path::Path, licences: usize) -> Store {
    let path = dir.join("backlog.db");
    drop(Store::open(&path).unwrap());
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..i64::try_from(licences).unwrap() {
        tx.execute(
            "INSERT INTO company (id, uscc, name) VALUES (?1, ?2, ?3)",
            rusqlite::params![i + 1, format!("91110108{i:010}"), format!("公司{i}")],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO licence (id, number, company_id, scope, items, issued, expires, authority, reported_through)
             VALUES (?1, ?2, ?1, 'nationwide', 'B24', '2024-06-01', '2029-06-01', '工业和信息化部', 2024)",
            rusqlite::params![i + 1, format!("B2-2{i:07}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    Store::open(&path).unwrap()
}

/// Ticks, then delivers to the default `log` route; `heartbeat` is
/// called for the route and before each message.
async fn deliver_backlog(
    store: &mut Store,
    stop: &AtomicBool,
    heartbeat: &dyn Fn(),
) -> (super::super::TickReport, DeliveryReport) {
    deliver_backlog_to(store, Config::defaults(), stop, heartbeat).await
}

async fn deliver_backlog_to(
    store: &mut Store,
    config: Config,
    stop: &AtomicBool,
    heartbeat: &dyn Fn(),
) -> (super::super::TickReport, DeliveryReport) {
    let running = super::super::Running::new(config).unwrap();
    let now = DateTime::parse_from_rfc3339("2026-11-24T01:30:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let tick = super::super::tick(store, &running.config, TODAY, now).unwrap();
    let ctx = Deliver {
        config: &running.config,
        routes: &running.routes,
        notifier: &running.notifier,
        today: TODAY,
        now,
        stop,
        heartbeat,
    };
    (tick, deliver(store, &ctx).await.unwrap())
}

#[tokio::test]
async fn a_backlog_goes_out_in_messages_of_at_most_message_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = overdue_register(dir.path(), MESSAGE_ITEMS / 2 + 5);
    let heartbeats = Cell::new(0);
    let (tick, report) = deliver_backlog(&mut store, &AtomicBool::new(false), &|| {
        heartbeats.set(heartbeats.get() + 1)
    })
    .await;
    assert_eq!(tick.alerts, MESSAGE_ITEMS + 10);
    // The alerts, and the notice of next year's missing calendar.
    assert_eq!(report.sent, tick.alerts + 1);
    assert_eq!(store.pending_count().unwrap(), 0);
    // One for the route, one before each message: two of alerts
    // (MESSAGE_ITEMS and 10), one of the notice.
    assert_eq!(heartbeats.get(), 1 + 2 + 1);
}

#[tokio::test]
async fn a_backlog_stopped_after_a_message_sends_the_rest_once_at_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = overdue_register(dir.path(), MESSAGE_ITEMS / 2 + 5);
    let stop = AtomicBool::new(false);
    let heartbeats = Cell::new(0);
    // Stop once the first message is on its way.
    let (tick, first) = deliver_backlog(&mut store, &stop, &|| {
        heartbeats.set(heartbeats.get() + 1);
        if heartbeats.get() == 2 {
            stop.store(true, Ordering::SeqCst);
        }
    })
    .await;
    assert!(first.stopped);
    assert_eq!(first.sent, MESSAGE_ITEMS);
    let (again, rest) = deliver_backlog(&mut store, &AtomicBool::new(false), &|| {}).await;
    assert_eq!(again.queued, 0, "the second tick plans nothing new");
    assert_eq!(rest.sent, tick.queued - MESSAGE_ITEMS);
    let sent = store.outbox(Some(crate::store::OutboxState::Sent)).unwrap();
    assert_eq!(sent.len(), tick.queued);
    assert!(
        sent.iter().all(|row| row.attempts == 1),
        "every alert sent once"
    );
}

#[test]
fn backoff_doubles_within_a_spread_and_stops_at_the_maximum() {
    let delivery = Config::defaults().delivery;
    for id in 0..200 {
        let first = backoff(&delivery, id, 0).as_secs_f64();
        assert!((48.0..=72.0).contains(&first), "{first}");
        let third = backoff(&delivery, id, 2).as_secs_f64();
        assert!((192.0..=288.0).contains(&third), "{third}");
        let late = backoff(&delivery, id, 40).as_secs_f64();
        assert!((2880.0..=4320.0).contains(&late), "{late}");
    }
    let spread: std::collections::HashSet<u64> = (0..50)
        .map(|id| backoff(&delivery, id, 0).as_secs())
        .collect();
    assert!(
        spread.len() > 10,
        "retries of rows failing together spread out"
    );
}

#[tokio::test]
async fn a_route_that_fails_a_message_of_a_backlog_postpones_the_rest_with_it() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: every send is refused, to be retried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = dir.path().join("url");
    std::fs::write(&url, format!("http://127.0.0.1:{port}/hook")).unwrap();
    let config = Config::parse(
        &format!(
            "[routes.hook]\nkind = \"webhook\"\nurl_file = \"{}\"\n",
            url.display()
        ),
        std::path::Path::new("hook.toml"),
    )
    .unwrap();
    let mut store = overdue_register(dir.path(), MESSAGE_ITEMS / 2 + 5);
    let (tick, report) =
        deliver_backlog_to(&mut store, config, &AtomicBool::new(false), &|| {}).await;
    assert_eq!(tick.alerts, MESSAGE_ITEMS + 10);
    // The first message and the notice were tried and failed; the last
    // ten alerts were not tried.
    assert_eq!((report.sent, report.retrying), (0, MESSAGE_ITEMS + 1));
    let pending = store
        .outbox(Some(crate::store::OutboxState::Pending))
        .unwrap();
    let (waiting, tried): (Vec<&OutboxRow>, Vec<&OutboxRow>) =
        pending.iter().partition(|row| row.message_id.is_none());
    assert_eq!(waiting.len(), 10);
    assert!(waiting.iter().all(|row| row.attempts == 0));
    let retry_at = tried
        .iter()
        .find(|row| row.planned.notice.is_none())
        .unwrap()
        .next_attempt_at;
    assert!(
        waiting.iter().all(|row| row.next_attempt_at == retry_at),
        "the rest waits for the failed message's retry"
    );
}
