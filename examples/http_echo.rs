//! An HTTP/1.1 echo server on the engine: every request, whatever its
//! method, gets 200 with the request's body as its body (the convention HTTP
//! compliance suites test servers with). Keep-alive, pipelining, chunked
//! bodies and `Expect: 100-continue` are the engine's.
//!
//! Two headers let a client see what happened on the wire:
//! `X-Request-Number` (1 for a connection's first request, so reuse shows)
//! and `X-Body-Framing` (`length`, `chunked` or `none`).
//!
//!     cargo run --release --example http_echo -- [--addr 127.0.0.1:9002] [--workers N]

use simdws::http::{framing, Framing, HttpResponse, Request};
use simdws::net::{Handler, HttpConn, Message, Reply, Server, ServerConfig};

struct Echo;

impl Handler for Echo {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        let body_framing = match framing(request) {
            Ok(Framing::Length(_)) => "length",
            Ok(Framing::Chunked) => "chunked",
            _ => "none",
        };
        HttpResponse::new(200, "application/octet-stream", request.body.to_vec())
            .with_header("X-Request-Number", conn.request_id().number().to_string())
            .with_header("X-Body-Framing", body_framing)
            .into()
    }

    fn on_message(&mut self, _conn: &mut simdws::net::Conn<'_>, _message: Message<'_>) {}
}

fn main() -> std::io::Result<()> {
    let mut config = ServerConfig {
        addr: "127.0.0.1:9002".parse().expect("an address"),
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
    let server = Server::start(config, |_, _| Echo)?;
    println!("http_echo listening on http://{}/", server.local_addr());
    server.join();
    Ok(())
}
