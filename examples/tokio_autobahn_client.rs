//! The Autobahn TestSuite's client cases through `simdws::tokio`, against a
//! fuzzing server (`kosoku -m fuzzingserver 127.0.0.1:9001`):
//!
//! ```text
//! cargo run --release --features tokio --example tokio_autobahn_client -- ws://127.0.0.1:9001 [--parallel N]
//! ```
//!
//! Asks `/getCaseCount`, echoes every message of every case from
//! `/runCase?case=N&agent=simdws-tokio`, then calls `/updateReports`.
//! With `--parallel N`, N tasks take the cases in turn, so N run at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use simdws::protocol::Event;
use simdws::tokio::connect;

#[path = "support/autobahn.rs"]
mod autobahn;
use autobahn::options;

const AGENT: &str = "simdws-tokio";

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
    let (base, parallel) = autobahn::command_line();
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
        println!("running {count} cases against {base}, {parallel} at a time");
        let next_case = Arc::new(AtomicU32::new(1));
        let takers: Vec<_> = (0..parallel)
            .map(|_| {
                let (next_case, base) = (next_case.clone(), base.clone());
                tokio::spawn(async move {
                    loop {
                        let case = next_case.fetch_add(1, Ordering::Relaxed);
                        if case > count {
                            break;
                        }
                        run(&format!("{base}/runCase?case={case}&agent={AGENT}"), false).await;
                    }
                })
            })
            .collect();
        for taker in takers {
            taker.await.expect("a case task panicked");
        }
        run(&format!("{base}/updateReports?agent={AGENT}"), false).await;
        println!("done");
    });
}
