//! Runs the Autobahn TestSuite's client cases against a fuzzing server
//! (`kosoku -m fuzzingserver 127.0.0.1:9001`), on the engine's event loop:
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [--parallel N]
//! ```
//!
//! Asks `/getCaseCount`, echoes every message of every case from
//! `/runCase?case=N&agent=simdws`, then calls `/updateReports?agent=simdws`.
//! With `--parallel N`, N client loops take the cases in turn, so N cases
//! run at once (as `kosoku -p N` does against a server).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use simdws::frame::CloseCode;
use simdws::net::{Client, ClientConfig, CloseReason, Conn, ConnId, Handler, Message};

#[path = "support/autobahn.rs"]
mod autobahn;
use autobahn::options;

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

/// One client loop with its own notes channel, so the connections of the
/// cases it runs never mix with another loop's.
struct Runner {
    client: Client,
    notes: mpsc::Receiver<Note>,
    forward: Arc<AtomicBool>,
}

impl Runner {
    fn start() -> Runner {
        let (tx, notes) = mpsc::channel();
        let forward = Arc::new(AtomicBool::new(false));
        let flag = forward.clone();
        let client = Client::start(ClientConfig::default(), move |_, _| Echo {
            notes: tx.clone(),
            forward: flag.clone(),
        })
        .expect("start the client loop");
        Runner {
            client,
            notes,
            forward,
        }
    }

    fn run(&self, url: &str) -> Vec<String> {
        run(&self.client, &self.notes, url)
    }
}

fn main() {
    let (base, parallel) = autobahn::command_line();

    let first = Runner::start();
    first.forward.store(true, Ordering::Relaxed);
    let texts = first.run(&format!("{base}/getCaseCount"));
    first.forward.store(false, Ordering::Relaxed);
    let Some(count) = texts.first().and_then(|t| t.trim().parse::<u32>().ok()) else {
        eprintln!("getCaseCount: no count received");
        std::process::exit(1);
    };
    println!("running {count} cases against {base}, {parallel} at a time");
    let next_case = AtomicU32::new(1);
    let take_cases = |runner: &Runner| loop {
        let case = next_case.fetch_add(1, Ordering::Relaxed);
        if case > count {
            break;
        }
        runner.run(&format!("{base}/runCase?case={case}&agent={AGENT}"));
    };
    std::thread::scope(|scope| {
        for _ in 1..parallel {
            scope.spawn(|| {
                let runner = Runner::start();
                take_cases(&runner);
                runner.client.shutdown();
            });
        }
        take_cases(&first);
    });
    first.run(&format!("{base}/updateReports?agent={AGENT}"));
    first.client.shutdown();
    println!("done");
}
