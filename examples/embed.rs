//! Embedding: your own HTTP server accepts connections and serves its own
//! routes; when a request is a WebSocket upgrade it hands the connection
//! (and the bytes it already read) to simdws, which runs it from then on.
//!
//! A client that resets its connection, or connects and sends nothing,
//! costs only its own thread: the others are served meanwhile.
//!
//! ```text
//! cargo run --release --example embed [-- 127.0.0.1:9005]   # then open ws://127.0.0.1:9005/
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use simdws::handshake::{self, RequestLimits};
use simdws::net::{Conn, Handler, Message, Server, ServerConfig, ServerHandle};

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }
}

fn main() -> std::io::Result<()> {
    // The engine runs with its own workers; its own listener is on an
    // unused port, since connections come from the embedder.
    let engine = Server::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().expect("address"),
            workers: 1,
            ..ServerConfig::default()
        },
        |_, _| Echo,
    )?;
    let handle = engine.handle();

    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9005".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("embedder on http://{addr}/ (WebSocket upgrades go to simdws)");
    for stream in listener.incoming() {
        // One client's failure (a reset, an accept error) is that client's
        // alone: log it and serve the next.
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        // Each client on its own thread, so one that sends nothing delays
        // no one else; and it has 10 s to send its request.
        let handle = handle.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve_one(stream, &handle) {
                eprintln!("a client: {e}");
            }
        });
    }
    Ok(())
}

/// The embedder's own (blocking, simplistic) HTTP: reads one request head,
/// answers its own route, or hands an upgrade to the engine.
fn serve_one(mut stream: TcpStream, engine: &ServerHandle) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let is_upgrade = loop {
        if len == buf.len() {
            let rejection = RequestLimits::default().head_too_large();
            return stream.write_all(&rejection.response());
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(()); // gone before finishing its request
        }
        len += n;
        match handshake::parse_request(&buf[..len], &RequestLimits::default()) {
            Ok(Some((request, _))) => break request.is_upgrade(),
            Ok(None) => continue,
            Err(rejection) => return stream.write_all(&rejection.response()),
        }
    };
    if is_upgrade {
        // Hand over the stream and everything read so far; simdws answers
        // the handshake and runs the connection from here on.
        stream.set_read_timeout(None)?;
        engine.adopt(stream, buf[..len].to_vec(), false);
        return Ok(());
    }
    let body = "hello from the embedder's own HTTP route\n";
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
