//! Our client against someone else's echo server (the interop tests run it
//! against Python `websockets` and npm `ws`): text and binary from 0 B to
//! 16 MiB, fragmented sends, ping/pong, subprotocol, close. With a deflate
//! variant it offers permessage-deflate, checks the answer, and echoes
//! messages up to 4 MiB compressed.
//!
//! ```text
//! cargo run --release --example interop_client -- ws://127.0.0.1:8765/ NAME [VARIANT]
//! ```
//! VARIANT: `plain` (default), `deflate`, `deflate-no-takeover`, `deflate-9`,
//! `deflate-9-no-takeover`. For a `wss://` URL, a fourth argument names a
//! PEM file of certificates to trust (default: Mozilla's roots). A peer that
//! answers every close with a code of its own is named in
//! `PEER_CLOSE_ANSWER` (npm `websocket`: 1000); others must echo ours.

use std::time::Duration;

use simdws::deflate::DeflateConfig;
use simdws::frame::{CloseCode, CloseFrame, Opcode};
use simdws::net::{BlockingClient, ClientOptions, OwnedEvent};
use simdws::protocol::Config;

fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: interop_client URL NAME");
    let variant = std::env::args().nth(3).unwrap_or_else(|| "plain".into());
    let name = format!(
        "{} ({variant})",
        std::env::args().nth(2).unwrap_or_else(|| "peer".into())
    );
    let deflate = deflate_variant(&variant);
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
        deflate: deflate.clone(),
        tls: std::env::args().nth(4).map(|ca| {
            let pem = std::fs::read(&ca).unwrap_or_else(|e| panic!("{ca}: {e}"));
            simdws::net::tls::client_config_trusting_pem(&pem).expect("a PEM certificate")
        }),
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
    let largest = match &deflate {
        None => {
            ok(
                c.extensions().is_none(),
                "no extension negotiated (none offered)",
            );
            16 << 20
        }
        Some(config) => {
            let answer = c.extensions().unwrap_or_default();
            ok(
                answer.starts_with("permessage-deflate"),
                &format!("permessage-deflate accepted (answer {answer:?})"),
            );
            let window = format!("server_max_window_bits={}", config.decompress_window_bits);
            ok(
                config.decompress_window_bits == 15 || answer.contains(&window),
                &format!("{window} in the answer {answer:?}"),
            );
            ok(
                config.decompress_context_takeover || answer.contains("server_no_context_takeover"),
                &format!("server_no_context_takeover in the answer {answer:?}"),
            );
            4 << 20
        }
    };
    let sizes = [
        0usize,
        1,
        125,
        126,
        65535,
        65536,
        1 << 20,
        4 << 20,
        16 << 20,
    ];
    for size in sizes.into_iter().filter(|&s| s <= largest) {
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
    // Most peers echo the code; some answer every close with their own
    // (PEER_CLOSE_ANSWER names it: npm `websocket` answers 1000).
    let answer = std::env::var("PEER_CLOSE_ANSWER")
        .ok()
        .and_then(|code| code.parse().ok())
        .map_or(CloseCode(4000), CloseCode);
    match c.recv() {
        Ok(OwnedEvent::Close(CloseFrame { code, .. })) => {
            ok(code == answer, &format!("close 4000 answered with {code}"))
        }
        other => ok(false, &format!("close echo, got {other:?}")),
    }
    println!("simdws client vs {name}: {checks} checks passed");
}

/// The permessage-deflate offer a variant makes (`None`: no offer).
fn deflate_variant(variant: &str) -> Option<DeflateConfig> {
    let (bits, takeover) = match variant {
        "plain" => return None,
        "deflate" => (15, true),
        "deflate-no-takeover" => (15, false),
        "deflate-9" => (9, true),
        "deflate-9-no-takeover" => (9, false),
        other => {
            eprintln!("unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    Some(DeflateConfig {
        compress_window_bits: bits,
        decompress_window_bits: bits,
        compress_context_takeover: takeover,
        decompress_context_takeover: takeover,
        ..DeflateConfig::default()
    })
}
