//! HTTP/1.1 in the engine, over real sockets: keep-alive, HTTP/1.0,
//! pipelining, upgrades after requests, held and streamed responses, bodies
//! streamed to the handler, limits, `Expect: 100-continue`, timeouts, and
//! 10,000 held requests in a `simdws serve` process.

use std::io::Write;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use simdws::http::{HttpResponse, Request};
use simdws::net::*;

#[path = "support/frames.rs"]
mod common;
#[path = "support/http_client.rs"]
mod http_client;
#[path = "support/serve_process.rs"]
mod serve_process;
use http_client::RawHttp;

#[derive(Debug, PartialEq, Eq)]
enum Note {
    Held(RequestId),
    Streaming(RequestId),
    Abandoned(RequestId),
}

/// Echoes bodies (with the request's number on its connection), holds
/// `/hold`, streams the answer to `/stream`, takes `/upload` in pieces.
struct App {
    notes: mpsc::Sender<Note>,
    uploaded: usize,
    pieces: usize,
}

impl Handler for App {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        let id = conn.request_id();
        match request.path() {
            "/hold" => {
                let _ = self.notes.send(Note::Held(id));
                Reply::Later
            }
            "/stream" => {
                let _ = self.notes.send(Note::Streaming(id));
                Reply::Now(HttpResponse::streamed(200, "text/plain"))
            }
            "/upload" => Reply::Later,
            _ => Reply::Now(
                HttpResponse::new(200, "application/octet-stream", request.body.to_vec())
                    .with_header("X-Request-Number", id.number().to_string())
                    .with_header("X-Method", request.method.to_string()),
            ),
        }
    }

    fn streams_body(&mut self, request: &Request<'_>) -> bool {
        request.path() == "/upload"
    }

    fn on_body(&mut self, conn: &mut HttpConn<'_>, piece: &[u8], end: bool) {
        self.uploaded += piece.len();
        self.pieces += 1;
        if end {
            let summary = format!("{} bytes", self.uploaded);
            conn.handle()
                .respond(conn.request_id(), HttpResponse::text(200, summary));
            self.uploaded = 0;
            self.pieces = 0;
        }
    }

    fn on_request_abandoned(&mut self, id: RequestId) {
        let _ = self.notes.send(Note::Abandoned(id));
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }
}

struct TestServer {
    server: Option<Server>,
    notes: mpsc::Receiver<Note>,
}

impl TestServer {
    fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let mut config = ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let server = Server::start(config, move |_, _| App {
            notes: tx.lock().unwrap().clone(),
            uploaded: 0,
            pieces: 0,
        })
        .expect("server starts");
        TestServer {
            server: Some(server),
            notes: rx,
        }
    }

    fn client(&self) -> RawHttp {
        RawHttp::connect(self.server.as_ref().unwrap().local_addr())
    }

    fn handle(&self) -> ServerHandle {
        self.server.as_ref().unwrap().handle()
    }

    fn note(&self) -> Note {
        self.notes
            .recv_timeout(Duration::from_secs(10))
            .expect("the handler reports")
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

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn keep_alive_carries_many_requests_and_connection_close_ends_it() {
    let server = TestServer::start();
    let mut c = server.client();
    for n in 1..=100 {
        c.send(&post("/echo", &format!("body {n}")));
        let r = c.response();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, format!("body {n}").as_bytes());
        assert_eq!(r.header("X-Request-Number"), Some(n.to_string().as_str()));
        assert_eq!(
            r.header("Connection"),
            None,
            "HTTP/1.1 is kept alive by default"
        );
        assert!(r.header("Date").is_some_and(|d| d.ends_with(" GMT")));
    }
    c.send(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = c.response();
    assert_eq!(r.header("X-Request-Number"), Some("101"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed(), "Connection: close ends the connection");
}

#[test]
fn http_1_0_closes_unless_it_asks_for_keep_alive() {
    let server = TestServer::start();
    let mut c = server.client();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().header("Connection"), Some("close"));
    assert!(c.closed());

    let mut c = server.client();
    for n in 1..=3 {
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response();
        assert_eq!(r.header("Connection"), Some("keep-alive"));
        assert_eq!(r.header("X-Request-Number"), Some(n.to_string().as_str()));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut wire = Vec::new();
    for n in 0..60 {
        match n % 3 {
            0 => wire.extend(post("/p", &format!("request {n}"))),
            1 => wire.extend(
                format!(
                    "PUT /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nrequest \r\n{:x}\r\n{n}\r\n0\r\n\r\n",
                    n.to_string().len()
                )
                .into_bytes(),
            ),
            _ => wire.extend(format!("HEAD /p HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\nrequest {n}", format!("request {n}").len()).into_bytes()),
        }
    }
    c.send(&wire);
    for n in 0..60 {
        let head_only = n % 3 == 2;
        let r = c.response_to(head_only).unwrap();
        assert_eq!(
            r.header("X-Request-Number"),
            Some((n + 1).to_string().as_str())
        );
        let expected = format!("request {n}");
        if head_only {
            assert_eq!(r.header("X-Method"), Some("HEAD"));
            assert_eq!(
                r.header("Content-Length"),
                Some(expected.len().to_string().as_str())
            );
        } else {
            assert_eq!(r.body, expected.as_bytes(), "response {n}");
        }
    }
}

#[test]
fn a_connection_upgrades_after_keep_alive_requests() {
    let server = TestServer::start();
    let mut c = server.client();
    for _ in 0..3 {
        c.send(&get("/page"));
        assert_eq!(c.response().status, 200);
    }
    // The upgrade request with a first frame behind it, in one write.
    let mut wire = b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".to_vec();
    wire.extend(common::frame(
        true,
        0,
        1,
        b"after three requests",
        [1, 2, 3, 4],
    ));
    c.send(&wire);
    let r = c.response();
    assert_eq!(r.status, 101);
    assert_eq!(
        r.header("Sec-WebSocket-Accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    let mut frame = [0u8; 22];
    std::io::Read::read_exact(&mut c.reader, &mut frame).unwrap();
    assert_eq!(frame[0], 0x81);
    assert_eq!(&frame[2..], b"after three requests");
}

#[test]
fn a_held_get_is_answered_from_another_thread_and_requests_behind_it_wait() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut wire = get("/hold");
    wire.extend(post("/behind", "second"));
    c.send(&wire);
    let Note::Held(id) = server.note() else {
        panic!("held")
    };
    assert_eq!(id.number(), 1);
    let handle = server.handle();
    let answered = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        handle.respond(id, HttpResponse::text(200, "answered later"));
    });
    let first = c.response();
    assert!(answered.elapsed() >= Duration::from_millis(250));
    assert_eq!(first.body, b"answered later");
    let second = c.response();
    assert_eq!(second.body, b"second");
    assert_eq!(second.header("X-Request-Number"), Some("2"));
    // A second answer to the same request goes nowhere.
    server
        .handle()
        .respond(id, HttpResponse::text(200, "again"));
    c.send(&post("/third", "third"));
    assert_eq!(c.response().body, b"third");
}

#[test]
fn a_held_get_whose_client_vanishes_is_reported_and_freed() {
    let server = TestServer::start();
    for _ in 0..3 {
        let mut c = server.client();
        c.send(&get("/hold"));
        let Note::Held(id) = server.note() else {
            panic!("held")
        };
        drop(c);
        assert_eq!(server.note(), Note::Abandoned(id));
        // Answering it now is harmless.
        server
            .handle()
            .respond(id, HttpResponse::text(200, "too late"));
    }
    // A request fully answered is not reported when its client leaves.
    let mut c = server.client();
    c.send(&get("/plain"));
    assert_eq!(c.response().status, 200);
    drop(c);
    assert!(server
        .notes
        .recv_timeout(Duration::from_millis(300))
        .is_err());
}

#[test]
fn a_streamed_response_goes_out_chunked_or_until_close_for_http_1_0() {
    let server = TestServer::start();
    let mut c = server.client();
    c.send(&get("/stream"));
    let Note::Streaming(id) = server.note() else {
        panic!("streaming")
    };
    let handle = server.handle();
    for piece in ["one ", "two ", "", "three"] {
        handle.send_body(id, piece.as_bytes());
    }
    handle.end_body(id);
    let r = c.response();
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.body, b"one two three");
    c.send(&post("/after", "still alive"));
    assert_eq!(c.response().body, b"still alive");

    let mut old = server.client();
    old.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let Note::Streaming(id) = server.note() else {
        panic!("streaming")
    };
    handle.send_body(id, &b"no length known"[..]);
    handle.end_body(id);
    let r = old.response();
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.body, b"no length known");
}

#[test]
fn a_streamed_request_body_reaches_the_handler_in_pieces_past_the_limit() {
    let server = TestServer::with(|c| c.http.max_body = 1024);
    let mut c = server.client();
    let size = 3 << 20;
    let mut wire =
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in vec![7u8; size].chunks(100_000) {
        wire.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let writer = {
        let mut stream = c.stream().try_clone().unwrap();
        std::thread::spawn(move || stream.write_all(&wire).unwrap())
    };
    let r = c.response();
    writer.join().unwrap();
    assert_eq!(r.body, format!("{size} bytes").as_bytes());
    // A body the handler takes whole is held to the limit.
    c.send(&post("/echo", &"x".repeat(1024)));
    assert_eq!(c.response().status, 200);
    c.send(&post("/echo", &"x".repeat(1025)));
    let r = c.response();
    assert_eq!(r.status, 413);
    assert!(c.closed(), "an error ends the connection");
}

#[test]
fn a_head_over_the_limit_gets_431_and_bad_requests_close() {
    let server = TestServer::with(|c| c.request_limits.max_bytes = 512);
    let mut c = server.client();
    let head = |len: usize| {
        let start = "GET / HTTP/1.1\r\nHost: t\r\nX: ";
        format!("{start}{}\r\n\r\n", "a".repeat(len - start.len() - 4))
    };
    c.send(head(512).as_bytes());
    assert_eq!(c.response().status, 200);
    c.send(head(513).as_bytes());
    assert_eq!(c.response().status, 431);
    assert!(c.closed());
    for bad in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\nHost: t\n\n",
    ] {
        let mut c = server.client();
        c.send(bad);
        let r = c.response();
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(bad));
        assert!(!r.body.is_empty(), "the reason is in the body");
        assert!(c.closed());
    }
    let mut c = server.client();
    c.send(b"GET / HTTP/1.2\r\nHost: t\r\n\r\n");
    assert_eq!(c.response().status, 505);
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let server = TestServer::start();
    let mut c = server.client();
    c.send(b"PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(c.response().status, 100);
    c.send(b"hello");
    let r = c.response();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    // A body the handler streams is asked for too.
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n",
    );
    assert_eq!(c.response().status, 100);
    c.send(b"abcdefg");
    assert_eq!(c.response().body, b"7 bytes");
    // Over the limit: 413 at once, no 100.
    c.send(
        b"PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n",
    );
    assert_eq!(c.response().status, 413);
}

#[test]
fn a_slow_body_is_dropped_at_its_timeout() {
    let server = TestServer::with(|c| c.http.body_timeout = Duration::from_millis(400));
    let mut c = server.client();
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    let started = Instant::now();
    // One byte every 50 ms would take 5 s; the timeout is 0.4 s.
    let trickle = {
        let mut stream = c.stream().try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..100 {
                if stream.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let r = c.response();
    assert_eq!(r.status, 408);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(c.closed());
    trickle.join().unwrap();
}

/// The head timeout is per request: a busy client whose every read ends in
/// the middle of its next request is never timed out while each completes.
#[test]
fn the_head_timeout_starts_afresh_for_each_request() {
    let server = TestServer::with(|c| c.handshake_timeout = Duration::from_millis(300));
    let mut c = server.client();
    let one = post("/busy", "x");
    let (first, second) = one.split_at(one.len() / 2);
    c.send(first);
    let started = Instant::now();
    let mut answered = 0;
    while started.elapsed() < Duration::from_millis(1200) {
        // The rest of one request and the start of the next, each write.
        let mut write = second.to_vec();
        write.extend_from_slice(first);
        c.send(&write);
        let r = c.response();
        assert_eq!(
            r.status,
            200,
            "request {answered} after {:?}",
            started.elapsed()
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answered >= 10);
}

#[test]
fn a_slow_head_gets_408_and_an_idle_keep_alive_connection_is_closed() {
    let server = TestServer::with(|c| {
        c.handshake_timeout = Duration::from_millis(400);
        c.http.keep_alive_timeout = Duration::from_millis(600);
    });
    let mut c = server.client();
    c.send(b"GET / HTTP/1.1\r\nHo");
    let started = Instant::now();
    assert_eq!(c.response().status, 408);
    assert!(started.elapsed() < Duration::from_secs(2));

    let mut c = server.client();
    c.send(&get("/"));
    assert_eq!(c.response().status, 200);
    let idle = Instant::now();
    assert!(c.closed(), "closed when idle");
    let waited = idle.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

/// 10,000 GETs held at once in a `simdws serve` process (`/chat/poll`),
/// then all answered by one message posted to the room.
#[test]
fn ten_thousand_held_gets_cost_under_a_kib_each_and_all_get_answered() {
    let serve = serve_process::Serve::start();
    let health = || {
        let mut c = RawHttp::connect(&serve.addr);
        c.send(&get("/healthz"));
        String::from_utf8(c.response().body).unwrap()
    };
    let waiting = |text: &str| -> usize {
        text.split("\"waiting_polls\":")
            .nth(1)
            .and_then(|t| t.trim_end_matches(['}', '\n']).parse().ok())
            .expect("a count")
    };
    // Warm up the allocator and the workers with a few answered polls.
    let mut warm: Vec<RawHttp> = (0..100).map(|_| RawHttp::connect(&serve.addr)).collect();
    for c in &mut warm {
        c.send(&get("/chat/poll"));
    }
    while waiting(&health()) < 100 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut say = RawHttp::connect(&serve.addr);
    say.send(&post("/chat/say", "warm"));
    assert_eq!(say.response().body, b"sent to 100\n");
    for c in &mut warm {
        assert_eq!(c.response().body, b"warm");
    }
    drop(warm);
    std::thread::sleep(Duration::from_millis(300));
    let before = serve_process::proc_status_kib(serve.pid(), "VmRSS");

    const HELD: usize = 10_000;
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut c = RawHttp::connect(&serve.addr);
        c.send(&get("/chat/poll"));
        held.push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while waiting(&health()) < HELD {
        assert!(Instant::now() < deadline, "not all held: {}", health());
        std::thread::sleep(Duration::from_millis(50));
    }
    // Two sweeps, so idle connections have given back their buffers.
    std::thread::sleep(Duration::from_millis(300));
    let after = serve_process::proc_status_kib(serve.pid(), "VmRSS");
    let per_request = (after.saturating_sub(before) * 1024) as f64 / HELD as f64;
    eprintln!("held requests: RSS {before} KiB -> {after} KiB, {per_request:.0} B each");
    assert!(per_request <= 1024.0, "{per_request:.0} B per held request");

    say.send(&post("/chat/say", "wake up"));
    assert_eq!(say.response().body, format!("sent to {HELD}\n").as_bytes());
    for c in &mut held {
        assert_eq!(c.response().body, b"wake up");
    }
    // Polls whose clients vanish are dropped from the room.
    let mut gone = Vec::new();
    for _ in 0..1000 {
        let mut c = RawHttp::connect(&serve.addr);
        c.send(&get("/chat/poll"));
        gone.push(c);
    }
    while waiting(&health()) < 1000 {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(gone);
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting(&health()) > 0 {
        assert!(
            Instant::now() < deadline,
            "abandoned polls stay: {}",
            health()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
