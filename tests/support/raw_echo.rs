//! An in-process echo server (one worker) and a raw, already upgraded
//! client socket to it: for measuring the engine alone, with the client's
//! frames built beforehand (the zero-allocation test, the loopback bench).
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use simdws::net::{Conn, Handler, Message, Server, ServerConfig};
use simdws::protocol::{Config, Connection, OwnedEvent, Role};

pub struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }
}

/// An echo server with one worker on a free loopback port.
pub fn echo_server() -> Server {
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        ..ServerConfig::default()
    };
    Server::start(config, |_, _| Echo).unwrap()
}

/// A client socket past the handshake (its fixed 129-byte 101 read).
pub fn upgraded_stream(server: &Server) -> TcpStream {
    upgraded_stream_to(server.local_addr())
}

/// A client socket to `addr` past the handshake, whatever serves it.
pub fn upgraded_stream_to(addr: std::net::SocketAddr) -> TcpStream {
    upgraded_stream_to_path(addr, "/")
}

/// A client socket to `path` on `addr`, past the handshake (no subprotocol
/// or extension, so the 101 is 129 bytes).
pub fn upgraded_stream_to_path(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 129];
    stream.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream
}

/// Reads an upgraded client socket until it is quiet for a second or
/// closed: every event the server's frames make (a stalled reader's
/// backlog, read at last).
pub fn read_until_quiet(stream: &mut TcpStream) -> Vec<OwnedEvent> {
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut conn = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut events = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("{e}"),
        };
        let mut at = 0;
        while at < n {
            let received = conn.receive(&mut buf[at..n]).unwrap();
            at += received.consumed;
            events.extend(received.event.map(OwnedEvent::from));
        }
    }
    events
}
