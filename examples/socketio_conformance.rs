//! The server the reference Socket.IO and Engine.IO protocol suites
//! expect, on the engine, with their settings: pings every 300 ms, 200 ms
//! to answer, payloads up to 1,000,000 bytes, 1 s to join a namespace.
//!
//! * `/engine.io/`: raw Engine.IO, every message sent back (text and
//!   binary).
//! * `/socket.io/`: on `/` and `/custom`, `auth` is emitted with the
//!   client's auth payload on connection; on `/`, `message` is answered
//!   with `message-back` (same arguments, binary included) and
//!   `message-with-ack` is acked with its arguments. Any other namespace is
//!   refused.
//!
//! ```text
//! cargo run --release --features socketio --example socketio_conformance -- [--addr 127.0.0.1:3000]
//! ```

use std::time::Duration;

use serde_json::{json, Value};
use simdws::engineio::EngineConfig;
use simdws::net::{OwnedMessage, Server, ServerConfig};
use simdws::socketio::{Socket, SocketIo, SocketIoConfig};

fn emit_auth(socket: &Socket, auth: Option<&Value>) {
    socket.emit("auth", vec![auth.cloned().unwrap_or_else(|| json!({}))]);
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:3000".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("usage: socketio_conformance [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let io = SocketIo::new(SocketIoConfig {
        engine: EngineConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(200),
            max_payload: 1_000_000,
            ..EngineConfig::default()
        },
        connect_timeout: Duration::from_millis(1000),
        ..SocketIoConfig::default()
    });
    io.engine_io("/engine.io/", |socket, message| match message {
        OwnedMessage::Text(text) => socket.send_text(&text),
        OwnedMessage::Binary(data) => socket.send_binary(&data),
    });
    io.ns("/", |socket, auth| {
        emit_auth(socket, auth);
        socket.on("message", |socket, args, binary, _| {
            socket.emit_binary("message-back", args, binary);
        });
        socket.on("message-with-ack", |_, args, binary, ack| {
            if let Some(ack) = ack {
                ack.send_binary(args, binary);
            }
        });
    });
    io.ns("/custom", emit_auth);
    let server = Server::start(
        ServerConfig {
            addr: addr.parse().expect("--addr HOST:PORT"),
            workers: 2,
            ..ServerConfig::default()
        },
        move |_, handle| io.handler(handle),
    )?;
    println!(
        "socketio_conformance listening on http://{}/socket.io/ and /engine.io/",
        server.local_addr()
    );
    server.join();
    Ok(())
}
