//! An axum route that upgrades and hands the connection to a simdws engine:
//! axum routes and authenticates, the engine's event loops serve the
//! WebSocket (its `Handler`, its buffers, its broadcast).
//!
//! ```text
//! cargo run --release --features axum --example axum_handoff -- --addr 127.0.0.1:9004
//! ```
//!
//! The router is served through hyper's HTTP/1 connection, so the upgraded
//! socket can be taken back as a TCP stream; `axum::serve` wraps it in a
//! type of its own.

use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use simdws::net::{Conn, Handler, Message, Server, ServerConfig};
use simdws::tokio::axum::WebSocketUpgrade;

/// The engine's side: an echo that says who answered.
struct EngineEcho;

impl Handler for EngineEcho {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        if let Message::Text(text) = message {
            let _ = conn.send_text(&format!("from the engine: {text}"));
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9004".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("usage: axum_handoff [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    // The engine listens too (on a port of its own); here it only takes
    // connections handed over.
    let engine = Server::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        |_, _| EngineEcho,
    )?;
    let handle = engine.handle();
    let app = Router::new().route(
        "/ws",
        get(move |ws: WebSocketUpgrade| async move { ws.hand_over(&handle) }),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!(
            "axum_handoff listening on ws://{}/ws",
            listener.local_addr()?
        );
        loop {
            let (tcp, _) = listener.accept().await?;
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades(),
            );
        }
    })
}
