//! wss:// over real loopback sockets: our clients (blocking and event
//! loop) against the engine with a generated certificate, large messages,
//! close; ALPN; and the bad cases: plain HTTP on the TLS port, a stalled
//! TLS handshake, an untrusted certificate, a certificate for another name.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use simdws::frame::{CloseCode, CloseFrame};
use simdws::handshake::ClientResponse;
use simdws::net::tls::{self, TlsStream};
use simdws::net::*;

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }
}

/// A TLS echo server and the PEM of its self-signed certificate.
fn tls_server(handshake_timeout: Duration) -> (Server, String) {
    tls_server_for(&["localhost", "127.0.0.1"], handshake_timeout)
}

fn tls_server_for(names: &[&str], handshake_timeout: Duration) -> (Server, String) {
    let generated = tls::self_signed(names).unwrap();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        handshake_timeout,
        tls: Some(generated.config),
        ..ServerConfig::default()
    };
    (
        Server::start(config, |_, _| Echo).unwrap(),
        generated.cert_pem,
    )
}

fn trusting(cert_pem: &str) -> ClientOptions {
    ClientOptions {
        tls: Some(tls::client_config_trusting_pem(cert_pem.as_bytes()).unwrap()),
        timeout: Some(Duration::from_secs(10)),
        config: simdws::protocol::Config {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
            ..Default::default()
        },
        ..ClientOptions::default()
    }
}

/// Tests here run one at a time, so the fd count one of them checks is not
/// moved by another's sockets.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's open file descriptors; fails rather than answer 0.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd lists this process's descriptors")
        .count()
}

#[test]
fn blocking_client_echoes_over_wss_up_to_16_mib_and_closes() {
    let _serial = serial();
    let (server, cert) = tls_server(Duration::from_secs(10));
    let port = server.local_addr().port();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("wss://{host}:{port}/echo");
        let mut c = BlockingClient::connect_with(&url, trusting(&cert)).unwrap();
        for size in [0usize, 1, 125, 65_536, 1 << 20, 16 << 20] {
            let text: String = "wss 😀 ".chars().cycle().take(size / 4).collect();
            c.send_text(&text).unwrap();
            assert_eq!(c.recv().unwrap(), OwnedEvent::Text(text), "{host}, {size}");
            let data: Vec<u8> = (0..size).map(|i| (i * 13) as u8).collect();
            c.send_binary(&data).unwrap();
            assert_eq!(c.recv().unwrap(), OwnedEvent::Binary(data));
        }
        c.close(CloseCode::NORMAL, "done").unwrap();
        assert!(matches!(
            c.recv().unwrap(),
            OwnedEvent::Close(CloseFrame {
                code: CloseCode::NORMAL,
                ..
            })
        ));
    }
    server.handle().shutdown();
    server.join();
}

#[test]
fn the_event_loop_client_speaks_wss_too() {
    let _serial = serial();
    let (server, cert) = tls_server(Duration::from_secs(10));
    enum Note {
        Connected,
        Text(String),
        Closed(CloseCode),
    }
    struct Probe(mpsc::Sender<Note>);
    impl Handler for Probe {
        fn on_connect(&mut self, conn: &mut Conn<'_>, _: &ClientResponse) {
            let _ = self.0.send(Note::Connected);
            conn.send_text(&"big ".repeat(100_000)).unwrap();
        }
        fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
            if let Message::Text(text) = message {
                let _ = self.0.send(Note::Text(text.to_string()));
                conn.close(CloseCode::NORMAL, "thanks").unwrap();
            }
        }
        fn on_close(&mut self, _: ConnId, reason: &CloseReason) {
            let _ = self.0.send(Note::Closed(reason.code()));
        }
    }
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = Client::start(ClientConfig::default(), move |_, _| {
        Probe(tx.lock().unwrap().clone())
    })
    .unwrap();
    let url = format!("wss://localhost:{}/echo", server.local_addr().port());
    client.connect(&url, trusting(&cert)).unwrap();
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a callback")
    };
    assert!(matches!(next(), Note::Connected));
    assert!(matches!(next(), Note::Text(t) if t.len() == 400_000));
    assert!(matches!(next(), Note::Closed(CloseCode::NORMAL)));

    // An untrusted certificate ends in on_close with the reason.
    client.connect(&url, ClientOptions::default()).unwrap();
    match next() {
        Note::Closed(CloseCode::ABNORMAL) => {}
        _ => panic!("expected an abnormal close"),
    }
    client.shutdown();
    server.handle().shutdown();
    server.join();
}

#[test]
fn alpn_is_http_1_1_and_http_is_answered_over_tls() {
    let _serial = serial();
    let (server, cert) = tls_server(Duration::from_secs(10));
    let socket = TcpStream::connect(server.local_addr()).unwrap();
    let config = tls::client_config_trusting_pem(cert.as_bytes()).unwrap();
    let mut stream = TlsStream::client(socket, config, "localhost", false).unwrap();
    stream
        .write_all(b"GET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    // This handler serves no pages: the default answer, through TLS.
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert_eq!(stream.alpn_protocol(), Some(&b"http/1.1"[..]));
    server.handle().shutdown();
    server.join();
}

#[test]
fn plain_http_on_the_tls_port_gets_400_with_a_reason() {
    let _serial = serial();
    let (server, _) = tls_server(Duration::from_secs(10));
    let mut raw = TcpStream::connect(server.local_addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    let _ = raw.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );
    assert!(
        response.ends_with("use https:// or wss:// to reach it\n"),
        "{response}"
    );
    // And a ws:// client is told the same through its handshake error.
    let url = format!("ws://{}/echo", server.local_addr());
    match BlockingClient::connect(&url) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("400"), "{e}"),
        other => panic!("expected a 400, got {:?}", other.map(|_| ())),
    }
    server.handle().shutdown();
    server.join();
}

#[test]
fn a_stalled_tls_handshake_is_dropped_at_the_handshake_timeout() {
    let _serial = serial();
    let (server, cert) = tls_server(Duration::from_millis(500));
    let before = fd_count();
    // One sends nothing, one half a record header: both stall.
    let mut silent = TcpStream::connect(server.local_addr()).unwrap();
    let mut partial = TcpStream::connect(server.local_addr()).unwrap();
    partial.write_all(&[0x16, 0x03]).unwrap();
    let started = Instant::now();
    for stream in [&mut silent, &mut partial] {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap_or(0);
        // Closed, at most with a TLS close_notify alert (record type 21):
        // no TLS session exists to carry a 408.
        assert!(n == 0 || buf[0] == 21, "{:?}", &buf[..n]);
    }
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(3), "dropped after {waited:?}");
    // A good client meanwhile is served.
    let url = format!("wss://localhost:{}/echo", server.local_addr().port());
    let mut c = BlockingClient::connect_with(&url, trusting(&cert)).unwrap();
    c.send_text("still serving").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("still serving".into()));
    drop((silent, partial, c));
    let deadline = Instant::now() + Duration::from_secs(5);
    while fd_count() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(fd_count() <= before, "fds: {before} → {}", fd_count());
    server.handle().shutdown();
    server.join();
}

#[test]
fn the_client_refuses_an_untrusted_or_misnamed_certificate() {
    let _serial = serial();
    let (server, cert) = tls_server(Duration::from_secs(10));
    let port = server.local_addr().port();
    // Mozilla's roots do not include a certificate made a moment ago.
    let options = ClientOptions {
        timeout: Some(Duration::from_secs(5)),
        ..ClientOptions::default()
    };
    match BlockingClient::connect_with(&format!("wss://localhost:{port}/"), options) {
        Err(e) => assert!(e.to_string().contains("UnknownIssuer"), "{e}"),
        Ok(_) => panic!("an untrusted certificate was accepted"),
    }
    // Trusted, but issued for another name.
    let (elsewhere, other_cert) = tls_server_for(&["other.example"], Duration::from_secs(10));
    let url = format!("wss://127.0.0.1:{}/", elsewhere.local_addr().port());
    match BlockingClient::connect_with(&url, trusting(&other_cert)) {
        Err(e) => assert!(e.to_string().contains("not valid for name"), "{e}"),
        Ok(_) => panic!("a certificate for another name was accepted"),
    }
    elsewhere.handle().shutdown();
    elsewhere.join();
    // The server is unharmed.
    let mut c =
        BlockingClient::connect_with(&format!("wss://localhost:{port}/"), trusting(&cert)).unwrap();
    c.send_text("ok").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("ok".into()));
    server.handle().shutdown();
    server.join();
}

#[test]
fn pem_files_load_and_bad_ones_say_why() {
    let _serial = serial();
    let generated = tls::self_signed(&["localhost"]).unwrap();
    let dir = std::env::temp_dir().join(format!("simdws-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &generated.cert_pem).unwrap();
    std::fs::write(&key, &generated.key_pem).unwrap();
    assert!(tls::server_config_from_pem(&cert, &key).is_ok());
    let err = tls::server_config_from_pem(&key, &key).unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
    let err = tls::server_config_from_pem(&cert, &dir.join("missing.pem")).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let other = tls::self_signed(&["localhost"]).unwrap();
    std::fs::write(&key, &other.key_pem).unwrap();
    let err = tls::server_config_from_pem(&cert, &key).unwrap_err();
    assert!(err.to_string().contains("certificate and key"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
