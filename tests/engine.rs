//! The mio engine over real loopback sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use simdws::frame::{CloseCode, CloseFrame};
use simdws::handshake::{self, RequestLimits, ServerPolicy};
use simdws::net::*;

/// Echoes every message; reports every close on a channel.
struct Echo {
    closes: mpsc::Sender<(ConnId, CloseReason)>,
}

impl Handler for Echo {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }

    fn on_close(&mut self, id: ConnId, reason: &CloseReason) {
        let _ = self.closes.send((id, reason.clone()));
    }
}

/// The fd-leak test counts this process's file descriptors, which every
/// other test's sockets move: it holds this lock for writing, every other
/// test for reading.
static FDS: RwLock<()> = RwLock::new(());

fn sharing_fds() -> RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(|e| e.into_inner())
}

fn owning_fds() -> RwLockWriteGuard<'static, ()> {
    FDS.write().unwrap_or_else(|e| e.into_inner())
}

struct TestServer {
    server: Option<Server>,
    closes: mpsc::Receiver<(ConnId, CloseReason)>,
    /// Released after the server has stopped (fields drop after `drop`).
    _fds: Option<RwLockReadGuard<'static, ()>>,
}

impl TestServer {
    fn start(config: ServerConfig) -> TestServer {
        let fds = sharing_fds();
        let mut server = TestServer::start_owning_fds(config);
        server._fds = Some(fds);
        server
    }

    /// For the one test that holds the fd lock itself.
    fn start_owning_fds(config: ServerConfig) -> TestServer {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let server = Server::start(config, move |_, _| Echo {
            closes: tx.lock().unwrap().clone(),
        })
        .expect("server starts");
        TestServer {
            server: Some(server),
            closes: rx,
            _fds: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.server.as_ref().unwrap().local_addr())
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().unwrap().local_addr()
    }

    fn handle(&self) -> ServerHandle {
        self.server.as_ref().unwrap().handle()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.handle().shutdown();
            server.join();
        }
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..ServerConfig::default()
    }
}

fn client(url: &str) -> BlockingClient {
    let options = ClientOptions {
        timeout: Some(Duration::from_secs(10)),
        ..ClientOptions::default()
    };
    BlockingClient::connect_with(url, options).expect("connects")
}

/// This process's open file descriptors. Fails rather than answer 0 when
/// /proc cannot say, which would let the leak checks pass without looking.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd lists this process's descriptors")
        .count()
}

#[test]
fn echoes_text_and_binary_of_every_size() {
    let server = TestServer::start(config());
    let mut c = client(&server.url("/"));
    for size in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 5 << 20] {
        let text: String = "é中😀a".chars().cycle().take(size / 3).collect();
        c.send_text(&text).unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text(text));
        let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        c.send_binary(&data).unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Binary(data), "{size} bytes");
    }
    c.close(CloseCode(4000), "done").unwrap();
    assert_eq!(
        c.recv().unwrap(),
        OwnedEvent::Close(CloseFrame::new(CloseCode(4000), "done")),
        "the close is echoed with its reason"
    );
    let (_, reason) = server.closes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        reason,
        CloseReason::Peer(CloseFrame::new(CloseCode(4000), "done")),
        "on_close sees the client's code and reason"
    );
}

#[test]
fn two_thousand_concurrent_connections_each_echo() {
    let server = TestServer::start(config());
    let url = server.url("/echo");
    let mut clients: Vec<BlockingClient> = (0..2000).map(|_| client(&url)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send_text(&format!("hello {i}")).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text(format!("hello {i}")));
    }
}

#[test]
fn broadcast_reaches_every_connection_across_workers() {
    let server = TestServer::start(config());
    let mut clients: Vec<BlockingClient> = (0..64).map(|_| client(&server.url("/"))).collect();
    // Make sure every connection is registered before broadcasting.
    for c in clients.iter_mut() {
        c.send_text("ready").unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text("ready".into()));
    }
    server
        .handle()
        .broadcast(OwnedMessage::Text("to everyone".into()));
    for c in clients.iter_mut() {
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text("to everyone".into()));
    }
}

#[test]
fn a_client_that_stops_reading_is_throttled_then_loses_nothing() {
    let mut cfg = config();
    cfg.high_water = 256 << 10;
    let server = TestServer::start(cfg);
    let mut c = client(&server.url("/"));
    c.stream()
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let message = vec![7u8; 16 << 10];
    // Keep sending without reading: the server echoes until its output
    // passes the high-water mark, then stops reading us, so our writes
    // eventually block. Memory on the server stays bounded by the mark.
    let mut sent = 0;
    let throttled = loop {
        match c.send_binary(&message) {
            Ok(()) => sent += 1,
            Err(ClientError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break true
            }
            Err(e) => panic!("unexpected {e}"),
        }
        if sent > 20_000 {
            break false; // 320 MiB accepted: no backpressure
        }
    };
    assert!(
        throttled,
        "the server kept reading a client that never reads"
    );
    assert!(sent > 10, "throttling started too early ({sent} messages)");
    // Reading again resumes the flow: every message comes back, including
    // the one whose write timed out half-way (its rest is still queued).
    c.stream().set_write_timeout(None).unwrap();
    for i in 0..sent {
        assert_eq!(
            c.recv().unwrap(),
            OwnedEvent::Binary(message.clone()),
            "message {i} of {sent}"
        );
    }
    c.flush().unwrap();
    assert_eq!(
        c.recv().unwrap(),
        OwnedEvent::Binary(message),
        "the interrupted message"
    );
}

#[test]
fn a_slow_consumer_is_disconnected_at_the_hard_cap() {
    let mut cfg = config();
    cfg.high_water = 64 << 10;
    cfg.max_buffered = 1 << 20;
    let server = TestServer::start(cfg);
    let mut c = client(&server.url("/"));
    c.send_text("hi").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("hi".into()));
    // Pushed from the server side (not gated by reading us): 32 MiB while
    // the client reads nothing.
    let handle = server.handle();
    for _ in 0..512 {
        handle.broadcast(OwnedMessage::Binary(vec![1; 64 << 10]));
    }
    let (_, reason) = server
        .closes
        .recv_timeout(Duration::from_secs(10))
        .expect("disconnected");
    assert_eq!(reason, CloseReason::SlowConsumer);
    assert_eq!(reason.code(), CloseCode::POLICY_VIOLATION);
}

#[test]
fn a_silent_client_is_dropped_at_the_handshake_timeout() {
    let mut cfg = config();
    cfg.handshake_timeout = Duration::from_millis(300);
    let server = TestServer::start(cfg);
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut response = String::new();
    raw.read_to_string(&mut response).unwrap();
    let waited = start.elapsed();
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // Meanwhile others are served.
    let mut c = client(&server.url("/"));
    c.send_text("still serving").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("still serving".into()));
}

#[test]
fn graceful_shutdown_sends_1001_to_everyone() {
    let mut server = TestServer::start(config());
    let mut clients: Vec<BlockingClient> = (0..20).map(|_| client(&server.url("/"))).collect();
    for c in clients.iter_mut() {
        c.send_text("x").unwrap();
        c.recv().unwrap();
    }
    let running = server.server.take().unwrap();
    running.handle().shutdown();
    for c in clients.iter_mut() {
        assert_eq!(
            c.recv().unwrap(),
            OwnedEvent::Close(CloseFrame::new(
                CloseCode::GOING_AWAY,
                "server shutting down"
            ))
        );
    }
    let start = Instant::now();
    running.join();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "workers exit once the handshakes finish"
    );
}

#[test]
fn the_engine_adopts_a_connection_an_embedder_accepted() {
    let server = TestServer::start(config());
    let handle = server.handle();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());

    // Not yet upgraded: the embedder read the first bytes and hands over.
    let h = handle.clone();
    let embedder = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = vec![0u8; 16];
        let n = stream.read(&mut first).unwrap();
        first.truncate(n);
        h.adopt(stream, first, false);
        // Already upgraded: the embedder answers the handshake itself.
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        let (accepted, head_len) = loop {
            len += stream.read(&mut buf[len..]).unwrap();
            if let Some((request, head_len)) =
                handshake::parse_request(&buf[..len], &RequestLimits::default()).unwrap()
            {
                break (
                    handshake::accept(&request, &ServerPolicy::default(), None).unwrap(),
                    head_len,
                );
            }
        };
        stream.write_all(&accepted.response()).unwrap();
        h.adopt(stream, buf[head_len..len].to_vec(), true);
    });
    let mut c = client(&url);
    c.send_text("adopted").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("adopted".into()));
    let mut c2 = client(&url);
    c2.send_binary(b"upgraded by the embedder").unwrap();
    assert_eq!(
        c2.recv().unwrap(),
        OwnedEvent::Binary(b"upgraded by the embedder".to_vec())
    );
    embedder.join().unwrap();
}

#[test]
fn refused_and_plain_http_requests_get_a_status() {
    let server = TestServer::start(config());
    let get = |request: &str| {
        let mut raw = TcpStream::connect(server.addr()).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        raw.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = raw.read_to_string(&mut response);
        response
    };
    let plain = get("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 426 "), "{plain}");
    let bad_version = get("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    assert!(
        bad_version.starts_with("HTTP/1.1 426 ")
            && bad_version.contains("Sec-WebSocket-Version: 13"),
        "{bad_version}"
    );
    let huge = get(&format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    ));
    assert!(
        huge.starts_with("HTTP/1.1 431 "),
        "{}",
        &huge[..huge.len().min(200)]
    );
    let post = get("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
}

#[test]
fn a_protocol_error_closes_with_its_code_and_the_server_goes_on() {
    let server = TestServer::start(config());
    let mut c = client(&server.url("/"));
    // An unmasked frame from a client: 1002.
    c.stream().write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    match c.recv() {
        Ok(OwnedEvent::Close(CloseFrame { code, .. })) => {
            assert_eq!(code, CloseCode::PROTOCOL_ERROR)
        }
        other => panic!("{other:?}"),
    }
    let (_, reason) = server.closes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(reason, CloseReason::ProtocolViolation(_)),
        "a protocol violation, typed: {reason:?}"
    );
    assert_eq!(reason.code(), CloseCode::PROTOCOL_ERROR);
    let mut c = client(&server.url("/"));
    c.send_text("next").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("next".into()));
}

#[test]
fn no_file_descriptor_leaks_after_10000_connects() {
    let _fds = owning_fds();
    let server = TestServer::start_owning_fds(config());
    let url = server.url("/");
    // Warm up (threads, epoll fds, the first allocations of everything).
    drop(client(&url));
    std::thread::sleep(Duration::from_millis(200));
    let before = fd_count();
    for i in 0..10_000 {
        if i % 2 == 0 {
            // A full WebSocket session, closed by the client.
            let mut c = client(&url);
            c.close(CloseCode::NORMAL, "").unwrap();
            let _ = c.recv();
        } else {
            // A TCP connection that vanishes before its handshake.
            drop(TcpStream::connect(server.addr()).unwrap());
        }
    }
    // The server lingers up to `linger` on closes; wait for it to reap.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fd_count() > before + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = fd_count();
    assert!(after <= before + 2, "fds before {before}, after {after}");
}

/// Handlers run on their worker's thread, and a handle sends from anywhere.
#[test]
fn a_handle_sends_to_one_connection_from_another_thread() {
    let _fds = sharing_fds();
    let ids = Arc::new(Mutex::new(Vec::new()));
    struct Register(Arc<Mutex<Vec<ConnId>>>);
    impl Handler for Register {
        fn on_open(
            &mut self,
            conn: &mut Conn<'_>,
            _: &Upgrade<'_>,
        ) -> Result<(), handshake::Rejection> {
            self.0.lock().unwrap().push(conn.id());
            Ok(())
        }
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {}
    }
    let registered = ids.clone();
    let server = Server::start(config(), move |_, _| Register(registered.clone())).unwrap();
    let mut c = client(&format!("ws://{}/", server.local_addr()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while ids.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let id = ids.lock().unwrap()[0];
    let handle = server.handle();
    std::thread::spawn(move || handle.send(id, OwnedMessage::Binary(vec![1, 2, 3])))
        .join()
        .unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Binary(vec![1, 2, 3]));
    server.handle().shutdown();
    server.join();
}

/// A worker stuck in a handler takes no mail: past `mailbox_limit` bytes,
/// messages from other threads are refused and counted, what was taken in
/// arrives whole and in order once the worker is back, and the mailbox takes
/// messages again.
#[test]
fn a_stuck_workers_mailbox_refuses_messages_past_its_limit() {
    let _fds = sharing_fds();
    struct Stall {
        ids: mpsc::Sender<ConnId>,
        stalled: mpsc::Sender<()>,
    }
    impl Handler for Stall {
        fn on_open(
            &mut self,
            conn: &mut Conn<'_>,
            _: &Upgrade<'_>,
        ) -> Result<(), handshake::Rejection> {
            let _ = self.ids.send(conn.id());
            Ok(())
        }
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {
            let _ = self.stalled.send(());
            std::thread::sleep(Duration::from_millis(1500));
        }
    }
    let (ids_tx, ids) = mpsc::channel();
    let (stalled_tx, stalled) = mpsc::channel();
    let (ids_tx, stalled_tx) = (Mutex::new(ids_tx), Mutex::new(stalled_tx));
    const MIB: usize = 1 << 20;
    let config = ServerConfig {
        workers: 1,
        mailbox_limit: 4 * MIB,
        ..config()
    };
    let server = Server::start(config, move |_, _| Stall {
        ids: ids_tx.lock().unwrap().clone(),
        stalled: stalled_tx.lock().unwrap().clone(),
    })
    .unwrap();
    let mut c = client(&format!("ws://{}/", server.local_addr()));
    let id = ids.recv_timeout(Duration::from_secs(5)).unwrap();
    c.send_text("stall").unwrap();
    stalled.recv_timeout(Duration::from_secs(5)).unwrap();

    let handle = server.handle();
    for i in 0..10u8 {
        handle.send(id, OwnedMessage::Binary(vec![i; MIB]));
    }
    assert_eq!(handle.stats().mailbox_refused, 6, "4 MiB of 10 fit");

    for i in 0..4u8 {
        match c.recv().unwrap() {
            OwnedEvent::Binary(data) => {
                assert_eq!(data.len(), MIB);
                assert!(data.iter().all(|&b| b == i), "message {i} out of order");
            }
            other => panic!("expected message {i}, got {other:?}"),
        }
    }
    // Drained: the mailbox takes messages again.
    handle.send(id, OwnedMessage::Text("after".into()));
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("after".into()));
    assert_eq!(handle.stats().mailbox_refused, 6);
    drop(c);
    handle.shutdown();
    server.join();
}

/// The engine as a client: connections on the same event loop, echoing
/// against our server; a refused connection is reported with 1006.
#[test]
fn the_event_loop_client_connects_sends_and_reports_failures() {
    let server = TestServer::start(config());
    enum Note {
        Connected(Option<String>),
        Text(String),
        Closed(CloseCode, String),
    }
    struct Probe(mpsc::Sender<Note>);
    impl Handler for Probe {
        fn on_connect(&mut self, conn: &mut Conn<'_>, response: &handshake::ClientResponse) {
            let _ = self.0.send(Note::Connected(response.subprotocol.clone()));
            conn.send_text("from the loop client").unwrap();
        }
        fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
            if let Message::Text(text) = message {
                let _ = self.0.send(Note::Text(text.to_string()));
                conn.close(CloseCode::NORMAL, "thanks").unwrap();
            }
        }
        fn on_close(&mut self, _: ConnId, reason: &CloseReason) {
            let _ = self.0.send(Note::Closed(reason.code(), reason.to_string()));
        }
    }
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = Client::start(ClientConfig::default(), move |_, _| {
        Probe(tx.lock().unwrap().clone())
    })
    .unwrap();
    client
        .connect(&server.url("/echo"), ClientOptions::default())
        .unwrap();
    let next = || rx.recv_timeout(Duration::from_secs(5)).expect("a callback");
    assert!(matches!(next(), Note::Connected(None)));
    assert!(matches!(next(), Note::Text(t) if t == "from the loop client"));
    assert!(matches!(next(), Note::Closed(CloseCode::NORMAL, _)));

    // Nobody listens on this port: the handler hears of it, with the reason.
    let vacant = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    client
        .connect(&format!("ws://{vacant}/"), ClientOptions::default())
        .unwrap();
    match next() {
        Note::Closed(code, reason) => {
            assert_eq!(code, CloseCode::ABNORMAL);
            assert!(reason.to_lowercase().contains("connect"), "{reason}");
        }
        _ => panic!("expected a close"),
    }
    // A server that refuses the handshake (404 for an unknown path).
    struct Picky;
    impl Handler for Picky {
        fn on_open(
            &mut self,
            _: &mut Conn<'_>,
            upgrade: &Upgrade<'_>,
        ) -> Result<(), handshake::Rejection> {
            match upgrade.path() {
                "/" => Ok(()),
                other => Err(handshake::Rejection::new(
                    404,
                    format!("nothing at {other}"),
                )),
            }
        }
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {}
    }
    let picky = Server::start(config(), |_, _| Picky).unwrap();
    client
        .connect(
            &format!("ws://{}/nowhere", picky.local_addr()),
            ClientOptions::default(),
        )
        .unwrap();
    match next() {
        Note::Closed(code, reason) => {
            assert_eq!(code, CloseCode::ABNORMAL);
            assert!(reason.contains("404"), "{reason}");
        }
        _ => panic!("expected a close"),
    }
    // A client engine shutting down says so: the server is told 1001
    // "client shutting down", not that the server is.
    client
        .connect(&server.url("/echo"), ClientOptions::default())
        .unwrap();
    assert!(matches!(next(), Note::Connected(None)));
    assert!(matches!(next(), Note::Text(_)));
    assert!(matches!(next(), Note::Closed(CloseCode::NORMAL, _)));
    let _ = server.closes.recv_timeout(Duration::from_secs(5));
    struct Quiet;
    impl Handler for Quiet {
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {}
    }
    let quiet = Client::start(ClientConfig::default(), |_, _| Quiet).unwrap();
    quiet
        .connect(&server.url("/echo"), ClientOptions::default())
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    while server.closes.try_recv().is_ok() {}
    quiet.shutdown();
    let (_, reason) = server.closes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        reason,
        CloseReason::Peer(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "client shutting down"
        ))
    );
    client.shutdown();
    picky.handle().shutdown();
    picky.join();
}

/// Regression: a peer whose last data and FIN arrive in one edge. A short
/// read does not mean "drained" then; the EOF has no edge of its own, and
/// the connection used to hang (kosoku's /updateReports does exactly this).
#[test]
fn data_and_fin_in_one_edge_are_both_seen() {
    // Server side: a client writes its upgrade, one frame, and half-closes.
    let server = TestServer::start(config());
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut burst = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
    burst.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    raw.write_all(&burst).unwrap();
    raw.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).unwrap();
    assert!(
        answer.ends_with(&[0x81, 0x02, b'h', b'i']),
        "the echo reaches a half-closed client before the close"
    );
    let (_, reason) = server
        .closes
        .recv_timeout(Duration::from_secs(5))
        .expect("on_close at EOF");
    assert_eq!(reason, CloseReason::Vanished, "EOF without a close frame");
    assert_eq!(reason.code(), CloseCode::ABNORMAL);

    // Client side: a server answers 101 plus a frame, and closes at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        let key = loop {
            len += s.read(&mut buf[len..]).unwrap();
            let text = String::from_utf8_lossy(&buf[..len]).to_string();
            if text.contains("\r\n\r\n") {
                let line = text
                    .lines()
                    .find(|l| l.starts_with("Sec-WebSocket-Key:"))
                    .unwrap()
                    .to_string();
                break line["Sec-WebSocket-Key:".len()..].trim().to_string();
            }
        };
        let mut out = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            handshake::accept_key(key.as_bytes())
        )
        .into_bytes();
        out.extend_from_slice(&[0x81, 0x03, b'b', b'y', b'e']);
        s.write_all(&out).unwrap();
        // Dropped here: FIN right behind the frame.
    });
    struct Probe(mpsc::Sender<String>);
    impl Handler for Probe {
        fn on_message(&mut self, _: &mut Conn<'_>, message: Message<'_>) {
            if let Message::Text(t) = message {
                let _ = self.0.send(format!("message {t}"));
            }
        }
        fn on_close(&mut self, _: ConnId, reason: &CloseReason) {
            let _ = self.0.send(format!("close {}", reason.code()));
        }
    }
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = Client::start(ClientConfig::default(), move |_, _| {
        Probe(tx.lock().unwrap().clone())
    })
    .unwrap();
    client
        .connect(&format!("ws://{addr}/"), ClientOptions::default())
        .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        "message bye"
    );
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        "close 1006"
    );
    fake.join().unwrap();
    client.shutdown();
}

/// Waits (up to 5 s) until `done` holds for the server's stats.
fn stats_until(handle: &ServerHandle, done: impl Fn(ServerStats) -> bool) -> ServerStats {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done(handle.stats()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.stats()
}

/// Idle connections rest after a tick; input, a broadcast and a close each
/// wake one, and it carries on as if it had never slept.
#[test]
fn idle_connections_rest_and_wake_for_input_broadcasts_and_closes() {
    let server = TestServer::start(config());
    let url = server.url("/");
    let mut clients: Vec<BlockingClient> = (0..3).map(|_| client(&url)).collect();
    let all_resting = |s: ServerStats| s.open == 3 && s.resting == 3;
    assert!(all_resting(stats_until(&server.handle(), all_resting)));
    clients[0].send_text("awake").unwrap();
    assert_eq!(clients[0].recv().unwrap(), OwnedEvent::Text("awake".into()));
    assert!(all_resting(stats_until(&server.handle(), all_resting)));
    server
        .handle()
        .broadcast(OwnedMessage::Text("to all".into()));
    for c in &mut clients {
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text("to all".into()));
    }
    assert!(all_resting(stats_until(&server.handle(), all_resting)));
    clients[1].close(CloseCode(4001), "bye").unwrap();
    assert!(matches!(
        clients[1].recv().unwrap(),
        OwnedEvent::Close(CloseFrame {
            code: CloseCode(4001),
            ..
        })
    ));
    let (_, reason) = server.closes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(reason.code(), CloseCode(4001));
    let two = |s: ServerStats| s.open == 2 && s.resting == 2;
    assert!(two(stats_until(&server.handle(), two)));
    // A resting connection the server closes gets its close frame.
    server.handle().shutdown();
    for c in clients.iter_mut().step_by(2) {
        assert!(matches!(
            c.recv().unwrap(),
            OwnedEvent::Close(CloseFrame {
                code: CloseCode::GOING_AWAY,
                ..
            })
        ));
    }
}

/// With permessage-deflate and context takeover, the inflater's window
/// survives a rest: the client's second message refers back to the first.
#[cfg(feature = "deflate")]
#[test]
fn a_deflate_context_survives_a_rest() {
    use simdws::deflate::DeflateConfig;
    let server = TestServer::start(ServerConfig {
        deflate: Some(DeflateConfig::default()),
        ..config()
    });
    let options = ClientOptions {
        timeout: Some(Duration::from_secs(10)),
        deflate: Some(DeflateConfig::default()),
        ..ClientOptions::default()
    };
    let mut c = BlockingClient::connect_with(&server.url("/"), options).unwrap();
    let message = "a message long enough to be worth compressing, twice over ".repeat(4);
    for _ in 0..3 {
        let resting = |s: ServerStats| s.resting == 1;
        assert!(resting(stats_until(&server.handle(), resting)));
        c.send_text(&message).unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text(message.clone()));
    }
}

/// `ServerHandle::connect` returns the id the handler will see, so a client
/// application can address the connection before it is open.
#[test]
fn a_dialed_connection_is_known_by_the_id_connect_returned() {
    let server = TestServer::start(config());
    struct Probe(mpsc::Sender<(&'static str, ConnId, String)>);
    impl Handler for Probe {
        fn on_connect(&mut self, conn: &mut Conn<'_>, _: &handshake::ClientResponse) {
            let _ = self.0.send(("open", conn.id(), String::new()));
        }
        fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
            if let Message::Text(text) = message {
                let _ = self.0.send(("echo", conn.id(), text.to_string()));
            }
        }
        fn on_close(&mut self, id: ConnId, reason: &CloseReason) {
            let _ = self.0.send(("closed", id, reason.to_string()));
        }
    }
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = Client::start(ClientConfig::default(), move |_, _| {
        Probe(tx.lock().unwrap().clone())
    })
    .unwrap();
    let next = || rx.recv_timeout(Duration::from_secs(5)).expect("a callback");
    let first = client
        .connect(&server.url("/echo"), ClientOptions::default())
        .unwrap();
    let second = client
        .connect(&server.url("/echo"), ClientOptions::default())
        .unwrap();
    assert_ne!(first, second);
    let mut opened = [next(), next()];
    opened.sort_by_key(|(_, id, _)| *id);
    assert_eq!(
        opened
            .iter()
            .map(|(what, id, _)| (*what, *id))
            .collect::<Vec<_>>(),
        vec![("open", first.min(second)), ("open", first.max(second))]
    );
    // Mail addressed by the returned id reaches that connection.
    client
        .handle()
        .send(second, OwnedMessage::Text("to the second".into()));
    assert_eq!(next(), ("echo", second, "to the second".to_string()));
    // A dial that fails is reported under its id too.
    let vacant = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let failed = client
        .connect(&format!("ws://{vacant}/"), ClientOptions::default())
        .unwrap();
    let (what, id, _) = next();
    assert_eq!((what, id), ("closed", failed));
    client.shutdown();
}

/// Counts a message's pieces and bytes as they come (never holding the
/// message) and answers with the totals when its last piece arrives.
struct PieceCounter {
    delivery: simdws::protocol::Delivery,
    pieces: usize,
    bytes: usize,
    checksum: u64,
}

impl Handler for PieceCounter {
    fn delivery(&self) -> simdws::protocol::Delivery {
        self.delivery
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, _: Message<'_>) {
        let _ = conn.send_text("whole message: the handler asked for pieces");
    }

    fn on_fragment(&mut self, conn: &mut Conn<'_>, fragment: simdws::protocol::Fragment<&[u8]>) {
        assert_eq!(fragment.first, self.pieces == 0);
        self.pieces += 1;
        self.bytes += fragment.data.len();
        self.checksum = fragment.data.iter().fold(self.checksum, |sum, &b| {
            sum.wrapping_mul(31).wrapping_add(b as u64)
        });
        if fragment.last {
            let totals = format!(
                "{} {} {} {}",
                fragment.text, self.pieces, self.bytes, self.checksum
            );
            (self.pieces, self.bytes, self.checksum) = (0, 0, 0);
            let _ = conn.send_text(&totals);
        }
    }
}

#[test]
fn a_handler_that_asks_for_pieces_gets_frames_or_chunks() {
    use simdws::frame::Opcode;
    use simdws::protocol::Delivery;
    let _fds = sharing_fds();
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 253) as u8).collect();
    let checksum = |data: &[u8]| {
        data.iter()
            .fold(0u64, |sum, &b| sum.wrapping_mul(31).wrapping_add(b as u64))
    };
    for delivery in [Delivery::Frames, Delivery::Chunks] {
        let server = Server::start(config(), move |_, _| PieceCounter {
            delivery,
            pieces: 0,
            bytes: 0,
            checksum: 0,
        })
        .expect("server starts");
        let url = format!("ws://{}/", server.local_addr());
        let mut c = client(&url);
        // Three frames of text.
        c.send_fragment(Opcode::Text, "one ".as_bytes(), false)
            .unwrap();
        c.send_fragment(Opcode::Continuation, "twö ".as_bytes(), false)
            .unwrap();
        c.send_fragment(Opcode::Continuation, "three".as_bytes(), true)
            .unwrap();
        let text = "one twö three".as_bytes();
        let expected = format!("true 3 {} {}", text.len(), checksum(text));
        let answer = c.recv().unwrap();
        match delivery {
            Delivery::Frames => assert_eq!(answer, OwnedEvent::Text(expected)),
            _ => {
                let OwnedEvent::Text(answer) = answer else {
                    panic!("{answer:?}")
                };
                let tail = format!(" {} {}", text.len(), checksum(text));
                assert!(
                    answer.starts_with("true ") && answer.ends_with(&tail),
                    "{answer}"
                );
            }
        }
        // One 4 MiB frame: one piece as a frame, many as chunks.
        c.send_binary(&big).unwrap();
        let OwnedEvent::Text(answer) = c.recv().unwrap() else {
            panic!("no totals")
        };
        let fields: Vec<&str> = answer.split(' ').collect();
        assert_eq!(fields[0], "false");
        assert_eq!(fields[2], (4 << 20).to_string());
        assert_eq!(fields[3], checksum(&big).to_string());
        let pieces: usize = fields[1].parse().unwrap();
        match delivery {
            Delivery::Frames => assert_eq!(pieces, 1),
            _ => assert!(pieces > 1, "4 MiB in one chunk: {answer}"),
        }
        drop(c);
        server.handle().shutdown();
        server.join();
    }
}

/// Counts each connection's messages in data kept on the connection, and
/// reports what each left with.
struct Counting(mpsc::Sender<(ConnId, u32)>);

impl Handler for Counting {
    fn on_open(
        &mut self,
        conn: &mut Conn<'_>,
        _: &Upgrade<'_>,
    ) -> Result<(), handshake::Rejection> {
        conn.set_data(0u32);
        Ok(())
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, _: Message<'_>) {
        assert!(conn.data::<String>().is_none(), "data of another type");
        let count = conn.data_mut::<u32>().expect("set in on_open");
        *count += 1;
        let reply = count.to_string();
        let _ = conn.send_text(&reply);
    }

    fn on_close_data(&mut self, id: ConnId, data: Box<dyn std::any::Any>) {
        let count = *data.downcast::<u32>().expect("the u32 set in on_open");
        let _ = self.0.send((id, count));
    }
}

#[test]
fn each_connection_keeps_its_own_data_until_it_closes() {
    let _fds = sharing_fds();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = Server::start(config(), move |_, _| Counting(tx.lock().unwrap().clone()))
        .expect("server starts");
    let url = format!("ws://{}/", server.local_addr());
    let (mut a, mut b) = (client(&url), client(&url));
    for expected in 1..=3 {
        a.send_text("a").unwrap();
        assert_eq!(a.recv().unwrap(), OwnedEvent::Text(expected.to_string()));
    }
    b.send_text("b").unwrap();
    assert_eq!(b.recv().unwrap(), OwnedEvent::Text("1".into()));
    a.close(CloseCode::NORMAL, "").unwrap();
    let (_, left_with) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a's data came back");
    assert_eq!(left_with, 3);
    b.close(CloseCode::NORMAL, "").unwrap();
    let (_, left_with) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("b's data came back");
    assert_eq!(left_with, 1);
    server.handle().shutdown();
    server.join();
}
