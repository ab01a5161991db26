//! A Socket.IO server on the engine, shaped like the one the reference
//! protocol suites expect: on `/` and `/custom` it emits `auth` with the
//! client's auth payload; on `/` it answers `message` with `message-back`
//! (same arguments, binary included) and acks `message-with-ack` with its
//! arguments. Any other namespace is refused.
//!
//! ```text
//! cargo run --release --features socketio --example socketio_echo -- [--addr 127.0.0.1:3000] [--suite]
//! ```
//! `--suite` uses the suites' timings: ping every 300 ms, 200 ms to answer,
//! 1 s to join a namespace.

use std::time::Duration;

use serde_json::{json, Value};
use simdws::engineio::EngineConfig;
use simdws::net::{Server, ServerConfig};
use simdws::socketio::{Socket, SocketIo, SocketIoConfig};

fn emit_auth(socket: &Socket, auth: Option<&Value>) {
    socket.emit("auth", vec![auth.cloned().unwrap_or_else(|| json!({}))]);
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:3000".to_string();
    let mut config = SocketIoConfig::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "--suite" => {
                config.engine = EngineConfig {
                    ping_interval: Duration::from_millis(300),
                    ping_timeout: Duration::from_millis(200),
                    ..EngineConfig::default()
                };
                config.connect_timeout = Duration::from_millis(1000);
            }
            _ => {
                eprintln!("usage: socketio_echo [--addr HOST:PORT] [--suite]");
                std::process::exit(2);
            }
        }
    }
    let io = SocketIo::new(config);
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
        "socketio_echo listening on http://{}/socket.io/",
        server.local_addr()
    );
    server.join();
    Ok(())
}
