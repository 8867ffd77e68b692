//! E-mail through mailin-embedded, a real SMTP server implementation, on
//! 127.0.0.1 with a self-signed certificate, STARTTLS and AUTH required.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use licwatch::notify::route::Route;
use licwatch::notify::send::{Notifier, Outcome, SendError};
use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};

use super::{MapSecrets, alerts, now, route};

const USER: &str = "licwatch";
const PASSWORD: &str = "s3cret-pässword";

#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// The server's side: checks credentials, optionally refuses recipients,
/// and keeps every message it accepts.
#[derive(Clone)]
struct Mailbox {
    refuse_rcpt: Option<(u16, &'static str)>,
    current: Vec<u8>,
    to: Vec<String>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Handler for Mailbox {
    fn rcpt(&mut self, _to: &str) -> Response {
        match self.refuse_rcpt {
            Some((code, text)) => Response::custom(code, text.to_owned()),
            None => OK,
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.current.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.received
            .lock()
            .expect("no panic while holding the mailbox")
            .push(Received {
                to: self.to.clone(),
                data: String::from_utf8_lossy(&self.current).into_owned(),
            });
        OK
    }

    fn auth_plain(&mut self, _authorization: &str, user: &str, password: &str) -> Response {
        if user == USER && password == PASSWORD {
            AUTH_OK
        } else {
            INVALID_CREDENTIALS
        }
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.auth_plain("", user, password)
    }
}

struct Smtp {
    addr: SocketAddr,
    /// The server's self-signed certificate, for `ca_file`.
    cert_pem: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Smtp {
    fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .expect("no panic holding the mailbox")
            .clone()
    }
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// Starts a server on a free port; it runs on a detached thread until the
/// test binary exits, since mailin has no shutdown.
fn start(tls: bool, auth: &[AuthMechanism], refuse_rcpt: Option<(u16, &'static str)>) -> Smtp {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let mailbox = Mailbox {
        refuse_rcpt,
        current: Vec::new(),
        to: Vec::new(),
        received: received.clone(),
    };
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("rcgen makes a certificate");
    let cert_pem = certified.cert.pem();
    let mut server = Server::new(mailbox);
    server.with_name("localhost");
    if tls {
        let dir = std::env::temp_dir().join(format!(
            "licwatch-smtp-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, &cert_pem).expect("write cert");
        std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key");
        server
            .with_ssl(SslConfig::SelfSigned {
                cert_path: cert_path.display().to_string(),
                key_path: key_path.display().to_string(),
            })
            .expect("mailin loads the certificate");
        // mailin read both files in `with_ssl`.
        let _ = std::fs::remove_dir_all(&dir);
    }
    for mechanism in auth {
        server.with_auth(mechanism.clone());
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("bound");
    server.with_tcp_listener(listener);
    std::thread::spawn(move || {
        // serve() returns only if the listener fails; the test that needed
        // this server then fails on its own.
        let _ = server.serve();
    });
    Smtp {
        addr,
        cert_pem,
        received,
    }
}

fn mail_route(smtp: &Smtp, tls: &str, password: Option<&str>, trust: bool) -> Route {
    let mut table = format!(
        "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"{tls}\"\nfrom = \"licwatch <licwatch@example.com>\"\nto = [\"compliance@example.com\", \"王经理 <ops@example.org>\"]\n",
        smtp.addr.port()
    );
    let mut secrets = MapSecrets::default().file("/etc/licwatch/ca.pem", &smtp.cert_pem);
    if let Some(password) = password {
        table.push_str(&format!("username = \"{USER}\"\npassword_env = \"P\"\n"));
        secrets = secrets.var("P", password);
    }
    if trust {
        table.push_str("ca_file = \"/etc/licwatch/ca.pem\"\n");
    }
    route("ops-mail", &table, &secrets)
}

fn notifier() -> Notifier {
    Notifier::new(Duration::from_secs(10)).expect("the HTTP client builds")
}

/// The header section, unfolded, as (lower-case name, value).
pub fn headers(message: &str) -> Vec<(String, String)> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

pub fn header(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

/// RFC 2047 encoded words (B and Q) to text. Whitespace between two encoded
/// words is dropped, whitespace next to plain words kept, as the RFC says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for word in value.split_whitespace() {
        let inner = word
            .strip_prefix("=?")
            .and_then(|rest| rest.strip_suffix("?="));
        let decoded = inner.and_then(|inner| {
            let mut parts = inner.splitn(3, '?');
            let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
            let bytes = match encoding.to_ascii_lowercase().as_str() {
                "b" => BASE64.decode(text).ok()?,
                "q" => quoted_printable(&text.replace('_', " ")),
                _ => return None,
            };
            String::from_utf8(bytes).ok()
        });
        let encoded = decoded.is_some();
        let joined = encoded && last_encoded;
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        out.push_str(decoded.as_deref().unwrap_or(word));
        last_encoded = encoded;
    }
    out
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The parts of a multipart message as (content type, decoded body).
pub fn parts(message: &str) -> Vec<(String, String)> {
    let content_type = header(&headers(message), "content-type");
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    message
        .split(&format!("--{boundary}"))
        .skip(1)
        .filter(|part| !part.starts_with("--"))
        .map(|part| {
            let part = part.trim_start_matches("\r\n");
            let part_headers = headers(part);
            let body = part.split_once("\r\n\r\n").map_or("", |(_, body)| body);
            let decoded = match header(&part_headers, "content-transfer-encoding").as_str() {
                "base64" => BASE64
                    .decode(body.split_whitespace().collect::<String>())
                    .unwrap_or_default(),
                "quoted-printable" => quoted_printable(body),
                _ => body.as_bytes().to_vec(),
            };
            (
                header(&part_headers, "content-type"),
                String::from_utf8_lossy(&decoded).into_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_digest_arrives_over_starttls_with_auth_plain() {
    let smtp = start(true, &[AuthMechanism::Plain], None);
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), true);
    let alerts = alerts(2);
    let delivery = notifier().send(&route, &alerts, now()).await;
    assert!(delivery.all_sent(), "{:?}", delivery);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.to, ["compliance@example.com", "ops@example.org"]);
    let headers = headers(&message.data);
    assert_eq!(
        decode_words(&header(&headers, "subject")),
        "【注意】B2-20200000 许可证延续（续期）申请，2026-09-01 截止 等 2 项"
    );
    assert_eq!(
        header(&headers, "message-id"),
        format!("<licwatch.{}@example.com>", delivery.messages[0].id)
    );
    assert_eq!(header(&headers, "date"), "Thu, 28 May 2026 20:26:40 +0000");
    assert!(
        header(&headers, "content-type").starts_with("multipart/alternative"),
        "{headers:?}"
    );
    let parts = parts(&message.data);
    let types: Vec<&str> = parts.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        types,
        ["text/plain; charset=utf-8", "text/html; charset=utf-8"]
    );
    for (_, body) in &parts {
        assert!(body.contains("示例呼叫中心1号有限公司"), "{body}");
        assert!(
            body.contains("licwatch renewal submit B2-20200000 --on YYYY-MM-DD"),
            "{body}"
        );
        assert!(body.contains("2026-09-01"), "{body}");
    }
    assert!(parts[1].1.contains("<ol start=\"1\">"), "{}", parts[1].1);
}

#[tokio::test]
async fn a_resent_digest_keeps_its_message_id() {
    let smtp = start(true, &[AuthMechanism::Plain], None);
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), true);
    let notifier = notifier();
    let alerts = alerts(3);
    let first = notifier.send(&route, &alerts, now()).await;
    let mut reordered = alerts.clone();
    reordered.reverse();
    let second = notifier
        .send(&route, &reordered, now() + chrono::Duration::hours(1))
        .await;
    assert!(first.all_sent() && second.all_sent());
    let ids: Vec<String> = smtp
        .received()
        .iter()
        .map(|message| header(&headers(&message.data), "message-id"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn auth_login_works_too() {
    let smtp = start(true, &[AuthMechanism::Login], None);
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(outcome.is_sent(), "{outcome}");
    let subject = header(&headers(&smtp.received()[0].data), "subject");
    assert_eq!(
        decode_words(&subject),
        "licwatch 测试消息：路由 ops-mail 可以送达"
    );
}

#[tokio::test]
async fn plain_smtp_works_on_loopback() {
    let smtp = start(false, &[], None);
    let route = mail_route(&smtp, "none", None, false);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(outcome.is_sent(), "{outcome}");
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn a_certificate_nobody_vouches_for_is_refused() {
    let smtp = start(true, &[AuthMechanism::Plain], None);
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), false);
    let outcome = notifier().send_test(&route, now()).await;
    // Permanent: waiting will not make the certificate trusted, so the
    // fallback hears at once; the error says how to trust a private CA and
    // says its cause once.
    assert!(
        matches!(
            &outcome,
            Outcome::Permanent {
                error: SendError::Untrusted { .. },
            }
        ),
        "{outcome}"
    );
    let text = outcome.to_string();
    assert!(
        text.contains("ca_file") && text.contains("trust store"),
        "{text}"
    );
    assert_eq!(
        text.matches("invalid peer certificate").count(),
        1,
        "{text}"
    );
    assert!(
        !text.contains("Connection error: Connection error"),
        "{text}"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_server_without_starttls_is_reported_as_such() {
    let smtp = start(false, &[], None);
    let route = mail_route(&smtp, "starttls", None, true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Permanent {
                error: SendError::NoStartTls { .. },
            }
        ),
        "{outcome}"
    );
    assert!(
        outcome.to_string().contains("does not offer STARTTLS"),
        "{outcome}"
    );
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn bad_credentials_are_permanent_535() {
    let smtp = start(true, &[AuthMechanism::Plain], None);
    let route = mail_route(&smtp, "starttls", Some("wrong"), true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Permanent {
                error: SendError::Smtp { code: 535, .. }
            }
        ),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_4xx_reply_is_retried() {
    let smtp = start(
        true,
        &[AuthMechanism::Plain],
        Some((451, "try again later")),
    );
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Retry {
                error: SendError::Smtp { code: 451, .. },
                ..
            }
        ),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_5xx_reply_is_permanent() {
    let smtp = start(
        true,
        &[AuthMechanism::Plain],
        Some((550, "no such mailbox")),
    );
    let route = mail_route(&smtp, "starttls", Some(PASSWORD), true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Permanent {
                error: SendError::Smtp { code: 550, .. }
            }
        ),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_retried() {
    let smtp = start(true, &[AuthMechanism::Plain], None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let closed = listener.local_addr().expect("bound");
    drop(listener);
    let down = Smtp {
        addr: closed,
        cert_pem: smtp.cert_pem.clone(),
        received: smtp.received.clone(),
    };
    let route = mail_route(&down, "starttls", Some(PASSWORD), true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(
        matches!(
            &outcome,
            Outcome::Retry {
                error: SendError::Transport { .. },
                ..
            }
        ),
        "{outcome}"
    );
}

/// mailin speaks STARTTLS only; implicit TLS (port 465) is tested through a
/// TLS-terminating proxy in front of a plain mailin server.
async fn implicit_tls_proxy(backend: SocketAddr) -> (SocketAddr, String) {
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("rcgen makes a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("rustls takes the certificate");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) = (
                    acceptor.accept(tcp).await,
                    tokio::net::TcpStream::connect(backend).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, certified.cert.pem())
}

#[tokio::test]
async fn implicit_tls_works() {
    let backend = start(false, &[], None);
    let (addr, cert_pem) = implicit_tls_proxy(backend.addr).await;
    let proxy = Smtp {
        addr,
        cert_pem,
        received: backend.received.clone(),
    };
    let route = mail_route(&proxy, "implicit", None, true);
    let outcome = notifier().send_test(&route, now()).await;
    assert!(outcome.is_sent(), "{outcome}");
    assert_eq!(backend.received().len(), 1);
}

/// A plain route (no TLS, no AUTH) to `smtp` with extra keys.
fn plain_route(smtp: &Smtp, extra: &str) -> Route {
    route(
        "ops-mail",
        &format!(
            "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             from = \"licwatch <licwatch@example.com>\"\nto = [\"compliance@example.com\"]\n{extra}",
            smtp.addr.port()
        ),
        &MapSecrets::default(),
    )
}

#[tokio::test]
async fn a_digest_over_the_size_limit_is_split_into_messages_within_it() {
    let smtp = start(false, &[], None);
    let route = plain_route(&smtp, "max_items = 1000\nmax_message_kib = 64\n");
    let alerts = alerts(400);
    let delivery = notifier().send(&route, &alerts, now()).await;
    assert!(delivery.all_sent(), "{delivery:?}");
    let received = smtp.received();
    let count = received.len();
    assert!(count > 2, "{count} messages");
    assert_eq!(delivery.messages.len(), count);
    for (index, message) in received.iter().enumerate() {
        assert!(
            message.data.len() <= 64 * 1024,
            "{} bytes",
            message.data.len()
        );
        let subject = decode_words(&header(&headers(&message.data), "subject"));
        assert!(
            subject.ends_with(&format!("（{}/{count}）", index + 1)),
            "{subject}"
        );
    }
    // Every alert went once, in order.
    let carried: Vec<usize> = delivery
        .messages
        .iter()
        .flat_map(|message| message.alerts.clone())
        .collect();
    let mut sorted = carried.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..400).collect::<Vec<_>>());
}

#[tokio::test]
async fn past_max_items_the_most_severe_are_listed_and_all_attached_as_xlsx() {
    use calamine::Reader as _;

    let smtp = start(false, &[], None);
    let route = plain_route(&smtp, "max_items = 5\n");
    let mut alerts = alerts(12);
    alerts[9].stage.severity = licwatch::plan::Severity::Critical;
    let delivery = notifier().send(&route, &alerts, now()).await;
    assert!(delivery.all_sent(), "{delivery:?}");
    // One message, which carries every alert (all twelve rows are sent).
    assert_eq!(delivery.messages.len(), 1);
    assert_eq!(delivery.messages[0].alerts.len(), 12);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let data = &received[0].data;
    let top = parts(data);
    let text = parts(&top[0].1.clone())
        .into_iter()
        .find(|(content_type, _)| content_type.starts_with("text/plain"))
        .map(|(_, body)| body)
        .unwrap_or_default();
    // The critical one first; five listed; the rest counted.
    assert!(text.contains("1. 【紧急】"), "{text}");
    assert!(text.contains("5. "), "{text}");
    assert!(!text.contains("\n6. "), "{text}");
    assert!(text.contains("另有 7 项未在正文列出"), "{text}");
    // The attachment: every item, one row each under a header row.
    let boundary = header(&headers(data), "content-type")
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let attachment = data
        .split(&format!("--{boundary}"))
        .find(|part| part.contains("licwatch.xlsx"))
        .expect("an attachment");
    let body = attachment.split_once("\r\n\r\n").unwrap().1;
    let bytes = BASE64
        .decode(body.split_whitespace().collect::<String>())
        .unwrap();
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = workbook.worksheet_range("licwatch").unwrap();
    assert_eq!(sheet.height(), 13);
    assert_eq!(
        sheet.get((0, 0)).map(ToString::to_string).as_deref(),
        Some("序号")
    );
}
