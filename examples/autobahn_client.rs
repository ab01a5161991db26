//! Runs the Autobahn TestSuite's client cases against a fuzzing server
//! (`kosoku -m fuzzingserver 127.0.0.1:9001`):
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001
//! ```
//!
//! Asks `/getCaseCount`, echoes every message of every case from
//! `/runCase?case=N&agent=simdws`, then calls `/updateReports?agent=simdws`.

use std::time::Duration;

use simdws::net::{BlockingClient, ClientError, ClientOptions, OwnedEvent};
use simdws::protocol::Config;

const AGENT: &str = "simdws";

fn options() -> ClientOptions {
    ClientOptions {
        // Case 9.* sends messages up to 16 MiB.
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        timeout: Some(Duration::from_secs(60)),
        ..ClientOptions::default()
    }
}

fn case_count(base: &str) -> Result<u32, ClientError> {
    let mut client = BlockingClient::connect_with(&format!("{base}/getCaseCount"), options())?;
    loop {
        match client.recv()? {
            OwnedEvent::Text(count) => {
                return count
                    .trim()
                    .parse()
                    .map_err(|_| ClientError::Url(format!("bad case count {count:?}")))
            }
            OwnedEvent::Close(..) => return Err(ClientError::Closed),
            _ => {}
        }
    }
}

/// Echoes until the server closes; protocol errors end the case (the close
/// frame with the right code was already sent).
fn run_case(base: &str, case: u32) {
    let url = format!("{base}/runCase?case={case}&agent={AGENT}");
    let mut client = match BlockingClient::connect_with(&url, options()) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("case {case}: {e}");
            return;
        }
    };
    loop {
        let echoed = match client.recv() {
            Ok(OwnedEvent::Text(text)) => client.send_text(&text),
            Ok(OwnedEvent::Binary(data)) => client.send_binary(&data),
            Ok(_) => Ok(()),
            Err(_) => return,
        };
        if echoed.is_err() {
            return;
        }
    }
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let base = base.trim_end_matches('/');
    let count = match case_count(base) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("getCaseCount: {e}");
            std::process::exit(1);
        }
    };
    println!("running {count} cases against {base}");
    for case in 1..=count {
        run_case(base, case);
    }
    match BlockingClient::connect_with(&format!("{base}/updateReports?agent={AGENT}"), options()) {
        Ok(mut client) => while client.recv().is_ok() {},
        Err(e) => eprintln!("updateReports: {e}"),
    }
    println!("done");
}
