//! Embedding: your own HTTP server accepts connections and serves its own
//! routes; when a request is a WebSocket upgrade it hands the connection
//! (and the bytes it already read) to simdws, which runs it from then on.
//!
//! ```text
//! cargo run --release --example embed      # then open ws://127.0.0.1:9002/
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;

use simdws::handshake::{self, RequestLimits};
use simdws::net::{Conn, Handler, Message, Server, ServerConfig};

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

    let listener = TcpListener::bind("127.0.0.1:9002")?;
    println!("embedder on http://127.0.0.1:9002/ (WebSocket upgrades go to simdws)");
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut buf = vec![0u8; 8192];
        let mut len = 0;
        // The embedder's own (blocking, simplistic) request reading.
        let request_is_upgrade = loop {
            let n = stream.read(&mut buf[len..])?;
            if n == 0 {
                break None;
            }
            len += n;
            match handshake::parse_request(&buf[..len], &RequestLimits::default()) {
                Ok(Some((request, _))) => break Some(request.is_upgrade()),
                Ok(None) => continue,
                Err(rejection) => {
                    stream.write_all(&rejection.response())?;
                    break None;
                }
            }
        };
        match request_is_upgrade {
            // Hand over the stream and everything read so far; simdws
            // answers the handshake and runs the connection.
            Some(true) => handle.adopt(stream, buf[..len].to_vec(), false),
            Some(false) => {
                let body = "hello from the embedder's own HTTP route\n";
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )?;
            }
            None => {}
        }
    }
    Ok(())
}
