//! The receiving end: the mailin SMTP server of tests/it/daemon.rs behind a
//! port that can be closed (a forwarder on 127.0.0.1 that stops listening
//! while "the mail server is down"), and the Standard Webhooks receiver of
//! tests/it/notify/robots.rs, which verifies every signature.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::Smtp;

/// A TCP port on 127.0.0.1 that forwards to the mail server while up and
/// refuses connections (nothing listens) while down.
pub struct Switch {
    pub addr: SocketAddr,
    listener: Arc<Mutex<Option<TcpListener>>>,
    stop: Arc<AtomicBool>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Switch {
    pub fn new(backend: SocketAddr) -> Switch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = Arc::new(Mutex::new(Some(listener)));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (listener, stop) = (listener.clone(), stop.clone());
            std::thread::spawn(move || {
                // Ends when the soak drops the switch.
                while !stop.load(Ordering::SeqCst) {
                    let accepted = match &*listener.lock().unwrap() {
                        Some(listener) => listener.accept().ok(),
                        None => None,
                    };
                    let Some((client, _)) = accepted else {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    client.set_nonblocking(false).unwrap();
                    let Ok(server) = TcpStream::connect(backend) else {
                        continue;
                    };
                    let (client2, server2) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    std::thread::spawn(move || pipe(client, server));
                    std::thread::spawn(move || pipe(server2, client2));
                }
            });
        }
        Switch {
            addr,
            listener,
            stop,
        }
    }

    /// Closes the port: connecting is refused until `up`.
    pub fn down(&self) {
        self.listener.lock().unwrap().take();
    }

    pub fn up(&self) {
        let mut slot = self.listener.lock().unwrap();
        if slot.is_none() {
            // While the port was closed, another test's outgoing connection
            // may have been given it as its local port; wait for that to end.
            let started = std::time::Instant::now();
            let listener = loop {
                match TcpListener::bind(self.addr) {
                    Ok(listener) => break listener,
                    Err(_) if started.elapsed() < Duration::from_secs(30) => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => panic!("the mail port {} stayed taken: {e}", self.addr),
                }
            };
            listener.set_nonblocking(true).unwrap();
            *slot = Some(listener);
        }
    }

    pub fn is_up(&self) -> bool {
        self.listener.lock().unwrap().is_some()
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The mail server with its switchable port.
pub struct Mail {
    pub smtp: Smtp,
    pub port: Switch,
}

impl Mail {
    pub fn start() -> Mail {
        let smtp = Smtp::start(TcpListener::bind("127.0.0.1:0").unwrap(), true);
        let port = Switch::new(smtp.addr);
        Mail { smtp, port }
    }

    pub fn received_from(&self, from: usize) -> Vec<String> {
        self.smtp.mailbox.received.lock().unwrap()[from..].to_vec()
    }

    pub fn close_gate(&self) {
        self.smtp.mailbox.gate.0.lock().unwrap().0 = false;
    }

    pub fn open_gate(&self) {
        self.smtp.open_gate();
    }

    /// How many messages reached the end of DATA (held at the gate or not).
    pub fn at_gate(&self) -> usize {
        self.smtp.mailbox.gate.0.lock().unwrap().1
    }
}
