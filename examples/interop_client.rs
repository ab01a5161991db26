//! Our client against someone else's echo server (the interop tests run it
//! against Python `websockets` and npm `ws`): text and binary from 0 B to
//! 16 MiB, fragmented sends, ping/pong, subprotocol, close.
//!
//! ```text
//! cargo run --release --example interop_client -- ws://127.0.0.1:8765/ NAME
//! ```

use std::time::Duration;

use simdws::frame::{CloseCode, Opcode};
use simdws::net::{BlockingClient, ClientOptions, OwnedEvent};
use simdws::protocol::Config;

fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: interop_client URL NAME");
    let name = std::env::args().nth(2).unwrap_or_else(|| "peer".into());
    let mut checks = 0;
    let mut ok = |condition: bool, what: &str| {
        if !condition {
            eprintln!("simdws client vs {name}: FAILED: {what}");
            std::process::exit(1);
        }
        checks += 1;
    };
    let options = ClientOptions {
        subprotocols: vec!["echo-protocol".into()],
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        timeout: Some(Duration::from_secs(30)),
        ..ClientOptions::default()
    };
    let mut c = BlockingClient::connect_with(&url, options).unwrap_or_else(|e| {
        eprintln!("simdws client vs {name}: FAILED: connect: {e}");
        std::process::exit(1);
    });
    ok(
        c.subprotocol() == Some("echo-protocol"),
        "subprotocol chosen",
    );
    ok(
        c.extensions().is_none(),
        "no extension negotiated (none offered)",
    );
    for size in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
        let text: String = "é中😀a".chars().cycle().take(size / 3).collect();
        c.send_text(&text).unwrap();
        ok(
            c.recv().ok() == Some(OwnedEvent::Text(text.clone())),
            &format!("text echo of {} bytes", text.len()),
        );
        let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        c.send_binary(&data).unwrap();
        ok(
            c.recv().ok() == Some(OwnedEvent::Binary(data)),
            &format!("binary echo of {size} bytes"),
        );
    }
    c.send_fragment(Opcode::Text, "frag".as_bytes(), false)
        .unwrap();
    c.send_fragment(Opcode::Continuation, "mented 中".as_bytes(), false)
        .unwrap();
    c.send_fragment(Opcode::Continuation, "文".as_bytes(), true)
        .unwrap();
    ok(
        c.recv().ok() == Some(OwnedEvent::Text("fragmented 中文".into())),
        "fragmented text",
    );
    c.ping(b"are you there").unwrap();
    ok(
        c.recv().ok() == Some(OwnedEvent::Pong(b"are you there".to_vec())),
        "ping answered",
    );
    c.close(CloseCode(4000), "bye").unwrap();
    match c.recv() {
        Ok(OwnedEvent::Close(code, _)) => ok(code == CloseCode(4000), "close 4000 echoed"),
        other => ok(false, &format!("close echo, got {other:?}")),
    }
    println!("simdws client vs {name}: {checks} checks passed");
}
