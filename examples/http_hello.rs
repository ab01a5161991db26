//! The smallest HTTP/1.1 server on the engine: every request gets 200
//! `Hello, World!`, with keep-alive and pipelining. The HTTP benchmark
//! (`benches/http/run.py`) measures it against hyper doing the same.
//!
//!     cargo run --release --example http_hello -- [--addr 127.0.0.1:9004] [--workers N]

use simdws::http::{HttpResponse, Request};
use simdws::net::{Conn, Handler, HttpConn, Message, Reply, Server, ServerConfig};

struct Hello;

impl Handler for Hello {
    fn on_request(&mut self, _conn: &mut HttpConn<'_>, _request: &Request<'_>) -> Reply {
        // As hyper's hello example answers: Date and Content-Length, no
        // Content-Type.
        HttpResponse::new(200, "", &b"Hello, World!"[..]).into()
    }

    fn on_message(&mut self, _conn: &mut Conn<'_>, _message: Message<'_>) {}
}

fn main() -> std::io::Result<()> {
    let mut config = ServerConfig {
        addr: "127.0.0.1:9004".parse().expect("an address"),
        ..ServerConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--addr" => config.addr = value.parse().expect("--addr HOST:PORT"),
            "--workers" => config.workers = value.parse().expect("--workers N"),
            other => panic!("unknown flag {other}: use --addr HOST:PORT, --workers N"),
        }
    }
    let server = Server::start(config, |_, _| Hello)?;
    println!("http_hello listening on http://{}/", server.local_addr());
    server.join();
    Ok(())
}
