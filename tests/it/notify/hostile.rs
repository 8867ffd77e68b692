//! Peers that misbehave on purpose (issue 13, first row): a server that
//! accepts and never answers, one that stalls after DATA, one that answers
//! an endless body. Every send ends within the send timeout, and reads at
//! most a bounded answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use licwatch::notify::route::Route;
use licwatch::notify::send::{Notifier, Outcome, SendError};

use super::{MapSecrets, alerts, now, route};

/// The send timeout of these tests: short, so a test that fails does so
/// quickly; the assertions allow a wide margin above it.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Accepts connections and serves each with `serve` on its own thread.
fn server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback binds");
    let addr = listener.local_addr().expect("bound");
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

/// Holds the connection open and says nothing, until the client leaves.
fn silent(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// Speaks SMTP up to the end of DATA, then never answers it.
fn stalls_after_data(stream: TcpStream) {
    let mut writer = stream.try_clone().expect("a socket clones");
    let mut reader = BufReader::new(stream);
    let _ = writer.write_all(b"220 localhost ESMTP\r\n");
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if in_data {
            if line == ".\r\n" {
                // The whole message is here; the reply never comes.
                silent(reader.into_inner());
                return;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 localhost\r\n",
            "DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            "QUIT" => return,
            _ => b"250 ok\r\n",
        };
        if writer.write_all(reply).is_err() {
            return;
        }
    }
}

fn mail_route(addr: SocketAddr) -> Route {
    route(
        "ops-mail",
        &format!(
            "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             from = \"licwatch <licwatch@example.com>\"\nto = [\"compliance@example.com\"]\n",
            addr.port()
        ),
        &MapSecrets::default(),
    )
}

/// Sends two alerts through `route`; the outcome and how long it took.
async fn send(route: &Route) -> (Outcome, Duration) {
    let notifier = Notifier::new(TIMEOUT).expect("the HTTP client builds");
    let started = Instant::now();
    let delivery = notifier.send(route, &alerts(2), now()).await;
    let outcome = delivery
        .messages
        .into_iter()
        .next()
        .expect("two alerts make a message")
        .outcome;
    (outcome, started.elapsed())
}

#[track_caller]
fn assert_timed_out(outcome: &Outcome, took: Duration) {
    assert!(took < TIMEOUT * 5, "took {took:?}");
    match outcome {
        Outcome::Retry {
            error: SendError::Transport {
                timeout, reason, ..
            },
            ..
        } => assert!(*timeout, "{reason}"),
        other => panic!("expected a retryable timeout, got {other}"),
    }
}

#[tokio::test]
async fn an_smtp_server_that_never_answers_times_out_and_is_retried() {
    let addr = server(silent);
    let (outcome, took) = send(&mail_route(addr)).await;
    assert_timed_out(&outcome, took);
}

#[tokio::test]
async fn an_smtp_server_that_stalls_after_data_times_out_and_is_retried() {
    let addr = server(stalls_after_data);
    let (outcome, took) = send(&mail_route(addr)).await;
    assert_timed_out(&outcome, took);
    assert!(
        outcome.to_string().contains("whole SMTP transaction"),
        "{outcome}"
    );
}

#[tokio::test]
async fn an_endless_answer_is_read_up_to_a_cap() {
    let written = Arc::new(AtomicUsize::new(0));
    let addr = {
        let written = written.clone();
        server(move |mut stream| {
            // Read the request's head; the body is small and not needed.
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
            );
            let chunk = [b'x'; 16 * 1024];
            while stream.write_all(&chunk).is_ok() {
                written.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        })
    };
    let route = route(
        "erp-hook",
        "kind = \"webhook\"\nurl_env = \"U\"\nlang = \"en\"",
        &MapSecrets::default().var("U", &format!("http://{addr}/hooks/licwatch")),
    );
    let notifier = Notifier::new(Duration::from_secs(30)).expect("the HTTP client builds");
    let started = Instant::now();
    let delivery = notifier.send(&route, &alerts(1), now()).await;
    let took = started.elapsed();
    let outcome = &delivery.messages[0].outcome;
    // The 200 is an answer: sent, its body quoted short, and the client
    // stopped reading long before the timeout.
    assert!(outcome.is_sent(), "{outcome}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(outcome.to_string().chars().count() < 400, "{outcome}");
    // What the server got out before the client hung up: the cap plus
    // whatever the sockets' buffers held, not gigabytes.
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 32 << 20, "the server wrote {sent} bytes");
}
