//! Runs the Autobahn TestSuite's client cases against a fuzzing server
//! (`kosoku -m fuzzingserver 127.0.0.1:9001`), on the engine's event loop:
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001
//! ```
//!
//! Asks `/getCaseCount`, echoes every message of every case from
//! `/runCase?case=N&agent=simdws`, then calls `/updateReports?agent=simdws`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use simdws::deflate::DeflateConfig;
use simdws::frame::CloseCode;
use simdws::net::{
    Client, ClientConfig, ClientOptions, CloseReason, Conn, ConnId, Handler, Message,
};
use simdws::protocol::Config;

const AGENT: &str = "simdws";

enum Note {
    Text(String),
    Closed(CloseCode, String),
}

/// Echoes every message, or, while `forward` is set, reports text instead.
struct Echo {
    notes: mpsc::Sender<Note>,
    forward: Arc<AtomicBool>,
}

impl Handler for Echo {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        match message {
            Message::Text(text) if self.forward.load(Ordering::Relaxed) => {
                let _ = self.notes.send(Note::Text(text.to_string()));
            }
            _ => {
                let _ = conn.send_message(message);
            }
        }
    }

    fn on_close(&mut self, _: ConnId, reason: &CloseReason) {
        let _ = self
            .notes
            .send(Note::Closed(reason.code(), reason.to_string()));
    }
}

fn options() -> ClientOptions {
    ClientOptions {
        // Case 9.* sends messages up to 16 MiB.
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        // Cases 12.* and 13.* negotiate permessage-deflate. The 13.2, 13.5,
        // 13.6 and 13.7 servers accept only offers carrying the
        // client_no_context_takeover hint, which we then honour.
        deflate: Some(DeflateConfig {
            compress_context_takeover: false,
            ..DeflateConfig::default()
        }),
        ..ClientOptions::default()
    }
}

/// Opens `url` and waits for its connection to end; returns the texts seen.
fn run(client: &Client, notes: &mpsc::Receiver<Note>, url: &str) -> Vec<String> {
    if let Err(e) = client.connect(url, options()) {
        eprintln!("{url}: {e}");
        return Vec::new();
    }
    let mut texts = Vec::new();
    loop {
        match notes.recv_timeout(Duration::from_secs(120)) {
            Ok(Note::Text(text)) => texts.push(text),
            Ok(Note::Closed(code, reason)) => {
                if code == CloseCode::ABNORMAL && !reason.is_empty() {
                    eprintln!("{url}: {reason}");
                }
                return texts;
            }
            Err(_) => {
                eprintln!("{url}: no close after 120 s");
                return texts;
            }
        }
    }
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let base = base.trim_end_matches('/');
    let (tx, notes) = mpsc::channel();
    let forward = Arc::new(AtomicBool::new(true));
    let flag = forward.clone();
    let client = Client::start(ClientConfig::default(), move |_, _| Echo {
        notes: tx.clone(),
        forward: flag.clone(),
    })
    .expect("start the client loop");

    let texts = run(&client, &notes, &format!("{base}/getCaseCount"));
    let Some(count) = texts.first().and_then(|t| t.trim().parse::<u32>().ok()) else {
        eprintln!("getCaseCount: no count received");
        std::process::exit(1);
    };
    forward.store(false, Ordering::Relaxed);
    println!("running {count} cases against {base}");
    for case in 1..=count {
        run(
            &client,
            &notes,
            &format!("{base}/runCase?case={case}&agent={AGENT}"),
        );
    }
    run(
        &client,
        &notes,
        &format!("{base}/updateReports?agent={AGENT}"),
    );
    client.shutdown();
    println!("done");
}
