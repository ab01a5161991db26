//! An axum app whose route `/` upgrades through simdws's axum extractor and
//! echoes every text and binary message, permessage-deflate on. Against
//! axum's own WebSocket, only the imports differ.
//!
//! ```text
//! cargo run --release --features axum --example axum_echo -- --addr 127.0.0.1:9003
//! ```

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use simdws::deflate::DeflateConfig;
use simdws::protocol::Event;
use simdws::tokio::axum::{WebSocket, WebSocketUpgrade};

/// Upgrades, then echoes each message from the read buffer it arrived in.
async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 << 20) // the Autobahn cases send up to 16 MiB
        .max_frame_size(64 << 20)
        .deflate(DeflateConfig::default())
        .on_upgrade(|mut socket: WebSocket| async move {
            let _ = socket
                .for_each_event(|event, tx| {
                    let _ = match event {
                        Event::Text(text) => tx.send_text(text),
                        Event::Binary(data) => tx.send_binary(data),
                        _ => Ok(()),
                    };
                })
                .await;
        })
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9003".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("usage: axum_echo [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    // One thread, as `serve --workers 1` and the peers it is measured with.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("axum_echo listening on ws://{}/", listener.local_addr()?);
        let app = Router::new().route("/", get(echo));
        axum::serve(listener, app).await
    })
}
