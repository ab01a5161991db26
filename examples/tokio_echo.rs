//! An echo server on tokio through `simdws::tokio`: every text and binary
//! message is sent back, permessage-deflate on. One current-thread runtime,
//! so it compares with the engine's `serve --workers 1`.
//!
//! ```text
//! cargo run --release --features tokio --example tokio_echo -- --addr 127.0.0.1:9003
//! ```

use simdws::deflate::DeflateConfig;
use simdws::protocol::{Config, Event};
use simdws::tokio::{accept_with, AcceptOptions};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9003".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            _ => {
                eprintln!("usage: tokio_echo [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let options = AcceptOptions {
        // The Autobahn cases send messages up to 16 MiB.
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        deflate: Some(DeflateConfig::default()),
        ..AcceptOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("tokio_echo listening on ws://{}/", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let options = options.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = accept_with(tcp, &options).await else {
                    return; // refused: answered with its status already
                };
                // Each message is echoed from the read buffer it arrived in.
                let _ = ws
                    .for_each_event(|event, tx| {
                        let _ = match event {
                            Event::Text(text) => tx.send_text(text),
                            Event::Binary(data) => tx.send_binary(data),
                            _ => Ok(()),
                        };
                    })
                    .await;
            });
        }
    })
}
