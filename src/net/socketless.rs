//! The engine's connection logic driven without sockets: a session over an
//! in-memory socket, fed bytes straight into the HTTP driver and the frame
//! dispatcher, with what it writes read back. Keep-alive, pipelining in
//! order, a held answer, an abandoned one, the upgrade after keep-alive
//! requests, early frames and per-connection data are checked here without
//! an event loop; `tests/http_server.rs` and `tests/engine.rs` check the
//! same over real sockets.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Poll, Token, Waker};

use super::config::ServerConfig;
use super::handle::{ConnId, Mailbox, ServerHandle};
use super::handler::{Conn, Handler, HttpConn, Message, Reply, RequestId, Upgrade};
use super::http::{self, HttpContext, HttpSession};
use super::session::{Phase, Session};
use super::topics::Topics;
use super::transport::{Socket, Transport};
use super::worker::frame_bytes;
use crate::handshake::{Rejection, Request};
use crate::http::{http_date, HttpResponse};
use crate::protocol::{Config, Connection, Event, Role};

/// A socket that takes whatever is written and never has input: input is
/// handed to the driver directly.
#[derive(Default)]
struct MemorySocket {
    written: Vec<u8>,
    shut: Cell<bool>,
}

impl Read for MemorySocket {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for MemorySocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Socket for MemorySocket {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([127, 0, 0, 1], 40000)))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shut.set(true);
        Ok(())
    }
}

/// Answers `/hold` later and everything else now; echoes WebSocket
/// messages with a count kept on the connection.
#[derive(Default)]
struct App {
    requests: Vec<String>,
    held: Vec<RequestId>,
    abandoned: Vec<RequestId>,
}

impl Handler for App {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        self.requests
            .push(format!("{} {}", request.method, request.target));
        if request.path() == "/hold" {
            self.held.push(conn.request_id());
            return Reply::Later;
        }
        HttpResponse::text(200, format!("you asked for {}\n", request.path())).into()
    }

    fn on_request_abandoned(&mut self, id: RequestId) {
        self.abandoned.push(id);
    }

    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        if upgrade.path() != "/ws" {
            return Err(Rejection::NotFound("no WebSocket here".into()));
        }
        conn.set_data(0u32);
        Ok(())
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let count = conn.data_mut::<u32>().expect("set in on_open");
        *count += 1;
        let reply = format!("{} #{count}", String::from_utf8_lossy(message.as_bytes()));
        let _ = conn.send_text(&reply);
    }
}

struct Rig {
    session: Session<MemorySocket>,
    app: App,
    handle: ServerHandle,
    config: ServerConfig,
    date: [u8; 29],
    topics: Topics,
    /// Owns the waker's registration (an epoll instance, not a socket).
    _poll: Poll,
}

impl Rig {
    fn new() -> Rig {
        let poll = Poll::new().expect("an epoll instance");
        let waker = Waker::new(poll.registry(), Token(0)).expect("a waker");
        let config = ServerConfig::default();
        let now = Instant::now();
        let session = Session::new(
            Transport::Plain(MemorySocket::default()),
            ConnId::new(0, 1, 0),
            Phase::Http(Box::new(HttpSession::new(&config, now))),
            now + Duration::from_secs(10),
        );
        Rig {
            session,
            app: App::default(),
            handle: ServerHandle::new(vec![Mailbox::new(waker, usize::MAX)]),
            config,
            date: http_date(std::time::SystemTime::now()),
            topics: Topics::default(),
            _poll: poll,
        }
    }

    /// Hands `bytes` to whichever driver the connection's phase calls for.
    fn feed(&mut self, bytes: &[u8]) {
        let mut input = bytes.to_vec();
        if matches!(self.session.phase, Phase::Open(_)) {
            frame_bytes(
                &mut self.session,
                &mut input,
                &mut self.app,
                &self.handle,
                &mut self.topics,
            );
            return;
        }
        let mut cx = HttpContext {
            handler: &mut self.app,
            handle: &self.handle,
            topics: &mut self.topics,
            config: &self.config,
            date: &self.date,
        };
        http::http_bytes(&mut self.session, &mut input, &mut cx);
    }

    /// Answers a held request, as the mailbox does.
    fn respond(&mut self, id: RequestId, response: HttpResponse) -> bool {
        let mut cx = HttpContext {
            handler: &mut self.app,
            handle: &self.handle,
            topics: &mut self.topics,
            config: &self.config,
            date: &self.date,
        };
        http::respond_later(&mut self.session, id, &response, &mut cx)
    }

    /// What the connection has written since the last call.
    fn written(&mut self) -> Vec<u8> {
        assert!(self.session.flush().expect("memory never fails"));
        std::mem::take(&mut self.session.stream.socket_mut().written)
    }

    fn written_text(&mut self) -> String {
        String::from_utf8(self.written()).expect("HTTP output is text")
    }
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// The text messages `client` receives from the server's `bytes`.
fn texts_received(client: &mut Connection, bytes: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    client
        .receive_all(&mut bytes.to_vec(), |e| {
            if let Event::Text(t) = e {
                texts.push(t.to_string());
            }
        })
        .expect("the server sent valid frames");
    texts
}

/// Statuses of the responses in `text`, in order.
fn statuses(text: &str) -> Vec<&str> {
    text.match_indices("HTTP/1.1 ")
        .map(|(at, _)| &text[at + 9..at + 12])
        .collect()
}

#[test]
fn pipelined_requests_are_answered_in_order_and_the_connection_stays() {
    let mut rig = Rig::new();
    rig.feed(format!("{}{}", get("/a", ""), get("/b", "")).as_bytes());
    let out = rig.written_text();
    assert_eq!(statuses(&out), ["200", "200"]);
    assert!(out.find("for /a").unwrap() < out.find("for /b").unwrap());
    assert!(matches!(rig.session.phase, Phase::Http(_)), "kept alive");
    // `Connection: close` is the last one.
    rig.feed(get("/c", "Connection: close\r\n").as_bytes());
    let out = rig.written_text();
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert!(
        !matches!(rig.session.phase, Phase::Http(_)),
        "closing after it"
    );
}

#[test]
fn a_held_answer_keeps_the_requests_behind_it_waiting() {
    let mut rig = Rig::new();
    rig.feed(format!("{}{}", get("/hold", ""), get("/after", "")).as_bytes());
    assert_eq!(rig.written(), b"", "nothing before the held answer");
    assert_eq!(rig.app.requests, ["GET /hold"], "the next one waits");
    let held = rig.app.held[0];
    assert!(rig.respond(held, HttpResponse::text(200, "later\n")));
    let out = rig.written_text();
    assert_eq!(statuses(&out), ["200", "200"]);
    assert!(out.find("later").unwrap() < out.find("for /after").unwrap());
    assert_eq!(rig.app.requests, ["GET /hold", "GET /after"]);
    // Answered once: a second answer is refused.
    assert!(!rig.respond(held, HttpResponse::text(200, "again\n")));
}

#[test]
fn a_request_split_anywhere_is_waited_for_not_answered() {
    let mut rig = Rig::new();
    let request = get("/split", "");
    for piece in request.as_bytes().chunks(3) {
        assert_eq!(rig.written(), b"", "answered before the request was whole");
        rig.feed(piece);
    }
    assert_eq!(statuses(&rig.written_text()), ["200"]);
}

#[test]
fn the_upgrade_after_keep_alive_requests_takes_early_frames() {
    let mut rig = Rig::new();
    // A request, then the upgrade, then a frame: all in one read.
    let mut input = get("/page", "").into_bytes();
    input.extend(get("/ws", UPGRADE).into_bytes());
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    client.send_text("early").unwrap();
    input.extend_from_slice(client.poll_transmit());
    client.advance_transmit(client.buffered_amount());
    rig.feed(&input);
    assert!(matches!(rig.session.phase, Phase::Open(_)), "upgraded");
    let out = rig.written();
    let text = String::from_utf8_lossy(&out);
    assert_eq!(statuses(&text), ["200", "101"]);
    let upgraded = text.find("HTTP/1.1 101").unwrap();
    let head_end = upgraded + text[upgraded..].find("\r\n\r\n").unwrap() + 4;
    assert_eq!(texts_received(&mut client, &out[head_end..]), ["early #1"]);
    // The count lives on the connection.
    client.send_text("second").unwrap();
    let wire = client.poll_transmit().to_vec();
    client.advance_transmit(wire.len());
    rig.feed(&wire);
    let echo = rig.written();
    assert_eq!(texts_received(&mut client, &echo), ["second #2"]);
}

#[test]
fn a_refused_upgrade_gets_its_status_and_the_connection_ends() {
    let mut rig = Rig::new();
    rig.feed(get("/elsewhere", UPGRADE).as_bytes());
    let out = rig.written_text();
    assert!(out.starts_with("HTTP/1.1 404 "), "{out}");
    assert!(out.ends_with("no WebSocket here\n"), "{out}");
    assert!(!matches!(
        rig.session.phase,
        Phase::Http(_) | Phase::Open(_)
    ));
}

#[test]
fn a_malformed_request_gets_400_with_its_reason() {
    let mut rig = Rig::new();
    rig.feed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    let out = rig.written_text();
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    assert!(out.contains("more than one Host header"), "{out}");
    assert!(rig.app.requests.is_empty());
}

#[test]
fn a_held_request_is_owed_until_answered() {
    let mut rig = Rig::new();
    rig.feed(get("/hold", "").as_bytes());
    let Phase::Http(http) = &rig.session.phase else {
        panic!("still HTTP")
    };
    // What the worker reports abandoned if the client leaves now.
    assert_eq!(http.owed(rig.session.id), Some(rig.app.held[0]));
    assert!(rig.respond(rig.app.held[0], HttpResponse::text(204, "")));
    let Phase::Http(http) = &rig.session.phase else {
        panic!("still HTTP")
    };
    assert_eq!(http.owed(rig.session.id), None);
    assert!(rig.app.abandoned.is_empty());
}
