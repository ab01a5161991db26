//! The Autobahn TestSuite's client cases through `simdws::tokio`, against a
//! fuzzing server (`kosoku -m fuzzingserver 127.0.0.1:9001`):
//!
//! ```text
//! cargo run --release --features tokio --example tokio_autobahn_client -- ws://127.0.0.1:9001
//! ```
//!
//! Asks `/getCaseCount`, echoes every message of every case from
//! `/runCase?case=N&agent=simdws-tokio`, then calls `/updateReports`.

use std::time::Duration;

use simdws::deflate::DeflateConfig;
use simdws::net::ClientOptions;
use simdws::protocol::{Config, Event};
use simdws::tokio::connect;

const AGENT: &str = "simdws-tokio";

fn options() -> ClientOptions {
    ClientOptions {
        // Case 9.* sends messages up to 16 MiB.
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        // Cases 12.* and 13.*: the 13.2, 13.5, 13.6 and 13.7 servers accept
        // only offers with client_no_context_takeover, which we honour.
        deflate: Some(DeflateConfig {
            compress_context_takeover: false,
            ..DeflateConfig::default()
        }),
        ..ClientOptions::default()
    }
}

/// Opens `url`, echoes (or, with `collect`, keeps) its messages until the
/// connection ends; returns the texts kept.
async fn run(url: &str, collect: bool) -> Vec<String> {
    let mut ws = match connect(url, &options()).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("{url}: {e}");
            return Vec::new();
        }
    };
    let mut texts = Vec::new();
    loop {
        let step = ws.next_event_and_reply(|event, tx| {
            let _ = match event {
                Event::Text(text) if collect => {
                    texts.push(text.to_string());
                    Ok(())
                }
                Event::Text(text) => tx.send_text(text),
                Event::Binary(data) => tx.send_binary(data),
                _ => Ok(()),
            };
        });
        match tokio::time::timeout(Duration::from_secs(120), step).await {
            Ok(Ok(Some(()))) => continue,
            Ok(Ok(None)) => return texts,
            Ok(Err(e)) => {
                // Failing cases end this way on purpose (a protocol error
                // closes with its code); the report says whether it was right.
                log_unexpected(url, &e);
                return texts;
            }
            Err(_) => {
                eprintln!("{url}: no close after 120 s");
                return texts;
            }
        }
    }
}

fn log_unexpected(url: &str, error: &simdws::tokio::Error) {
    if !matches!(error, simdws::tokio::Error::Protocol(_)) {
        eprintln!("{url}: {error}");
    }
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let base = base.trim_end_matches('/').to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let texts = run(&format!("{base}/getCaseCount"), true).await;
        let Some(count) = texts.first().and_then(|t| t.trim().parse::<u32>().ok()) else {
            eprintln!("getCaseCount: no count received");
            std::process::exit(1);
        };
        println!("running {count} cases against {base}");
        for case in 1..=count {
            run(&format!("{base}/runCase?case={case}&agent={AGENT}"), false).await;
        }
        run(&format!("{base}/updateReports?agent={AGENT}"), false).await;
        println!("done");
    });
}
