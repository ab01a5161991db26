//! A simple closed-loop echo client for a quick throughput figure (the full
//! load generator is `simdws load`): N connections on N threads, each
//! sending a message and waiting for its echo, for a fixed time.
//!
//! ```text
//! cargo run --release --example echo_client -- ws://127.0.0.1:9001/ 4 20 5
//! #                                             url                conns bytes secs
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simdws::net::{BlockingClient, OwnedEvent};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let conns: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let size: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let secs: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let text: String = "é".repeat(size / 2) + &"a".repeat(size % 2);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (url, text, stop, count) = (url.clone(), text.clone(), stop.clone(), count.clone());
            std::thread::spawn(move || {
                let mut client = BlockingClient::connect(&url).expect("connect");
                while !stop.load(Ordering::Relaxed) {
                    client.send_text(&text).expect("send");
                    match client.recv().expect("recv") {
                        OwnedEvent::Text(echo) if echo == text => {}
                        other => panic!("bad echo: {other:?}"),
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }
    let n = count.load(Ordering::Relaxed);
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("{conns} connections × {size} B text, closed loop: {n} echoes in {secs} s = {rate:.0} msgs/s, {:.1} MB/s each way", rate * size as f64 / 1e6);
}
