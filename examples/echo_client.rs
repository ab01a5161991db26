//! A simple closed-loop echo client for a quick throughput figure (the full
//! load generator is `simdws load`): N connections on N threads, each
//! sending a message and waiting for its echo, for a fixed time.
//!
//! ```text
//! cargo run --release --example echo_client -- ws://127.0.0.1:9001/ 4 20 5 [deflate|plain] [CA.pem]
//! #                                             url                conns bytes secs
//! ```
//! A `wss://` URL runs over TLS, trusting the certificates in `CA.pem`.
//! With `deflate` each connection offers permessage-deflate (and fails if
//! the server declines). The text is words in a shifting order, so it
//! compresses like chat text rather than like a repeated byte.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simdws::deflate::DeflateConfig;
use simdws::net::{BlockingClient, ClientOptions, OwnedEvent};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let conns: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let size: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let secs: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let deflate = args.get(4).is_some_and(|a| a == "deflate");
    let text = sample_text(size);
    let tls = args.get(5).map(|ca| {
        let pem = std::fs::read(ca).unwrap_or_else(|e| panic!("{ca}: {e}"));
        simdws::net::tls::client_config_trusting_pem(&pem).expect("a PEM certificate")
    });
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (url, text, stop, count) = (url.clone(), text.clone(), stop.clone(), count.clone());
            let tls = tls.clone();
            std::thread::spawn(move || {
                let options = ClientOptions {
                    deflate: deflate.then(DeflateConfig::default),
                    tls: tls.clone(),
                    ..ClientOptions::default()
                };
                let mut client = BlockingClient::connect_with(&url, options).expect("connect");
                assert_eq!(
                    client.extensions().is_some(),
                    deflate,
                    "deflate negotiated as asked"
                );
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
    let mode = if deflate { ", deflate" } else { "" };
    println!("{conns} connections × {size} B text{mode}, closed loop: {n} echoes in {secs} s = {rate:.0} msgs/s, {:.1} MB/s each way", rate * size as f64 / 1e6);
}

/// `size` bytes of text: words with some multi-byte characters, in an order
/// that keeps changing (about 4:1 under deflate).
fn sample_text(size: usize) -> String {
    let words = [
        "héllo ",
        "wörld ",
        "chat ",
        "message ",
        "{\"id\":42} ",
        "数据 ",
        "simdws ",
    ];
    let mut text = String::with_capacity(size + 16);
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    while text.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(words[(x % words.len() as u64) as usize]);
    }
    text.truncate(text.floor_char_boundary(size));
    text
}
