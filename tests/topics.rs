//! Topics in the engine: subscribers on every worker get each publish once
//! and the publisher never hears its own; unsubscribing and closing end
//! subscriptions; and a slow subscriber is treated as its policy says
//! (queued, dropped, closed). `topic_cleanup.rs` checks that 100,000
//! connections leave nothing behind.

use std::collections::{BTreeSet, HashMap};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use simdws::frame::CloseCode;
use simdws::net::{BlockingClient, OwnedEvent, OwnedMessage, SlowSubscriber, TopicConfig};

#[path = "support/raw_echo.rs"]
mod raw_echo;
#[path = "support/topic_server.rs"]
mod topic_server;
use topic_server::{client, server, text, wait_for};

use simdws::deflate::DeflateConfig;
use simdws::net::ClientOptions;

#[test]
fn a_publish_reaches_every_other_subscriber_on_every_worker_exactly_once() {
    let server = server(2, TopicConfig::default());
    let mut room: Vec<BlockingClient> = (0..12).map(|_| client(&server, "/room?hello")).collect();
    let mut other: Vec<BlockingClient> = (0..4).map(|_| client(&server, "/other?hello")).collect();
    let mut workers = BTreeSet::new();
    for c in room.iter_mut().chain(other.iter_mut()) {
        workers.insert(text(c));
    }
    // 16 connections: all on one of two SO_REUSEPORT listeners has odds
    // of 2^-15.
    assert_eq!(workers.len(), 2, "{workers:?}");

    for round in 0..5 {
        for (i, c) in room.iter_mut().enumerate() {
            c.send_text(&format!("pub room {i}:{round}")).unwrap();
        }
    }
    for (i, c) in room.iter_mut().enumerate() {
        let mut got = HashMap::new();
        for _ in 0..11 * 5 {
            let message = text(c);
            let from: usize = message.split(':').next().unwrap().parse().unwrap();
            assert_ne!(from, i, "{i} heard its own publish {message}");
            *got.entry(message).or_insert(0) += 1;
        }
        assert_eq!(got.len(), 55, "{i}: duplicates in {got:?}");
    }
    // Nothing more is on its way: the next message anyone gets is the
    // handle's, which reaches the publisher too; the other topic heard
    // nothing of the room.
    let handle = server.handle();
    handle.publish("room", OwnedMessage::Text("from the handle".into()));
    handle.publish("other", OwnedMessage::Binary(vec![7; 3]));
    for c in &mut room {
        assert_eq!(text(c), "from the handle");
    }
    for c in &mut other {
        assert_eq!(c.recv().unwrap(), OwnedEvent::Binary(vec![7; 3]));
    }
}

#[test]
fn compressing_and_plain_subscribers_all_read_the_same_publishes() {
    let mut config = topic_server::config(2, TopicConfig::default());
    config.deflate = Some(DeflateConfig::default());
    let server = topic_server::start(config);
    // Asking the server to compress without context (one compression
    // shared by all such subscribers with the same window), with a smaller
    // window (another), with context (each its own), and not at all.
    let offers = [
        Some(DeflateConfig {
            decompress_context_takeover: false,
            ..DeflateConfig::default()
        }),
        Some(DeflateConfig {
            decompress_context_takeover: false,
            decompress_window_bits: 10,
            ..DeflateConfig::default()
        }),
        Some(DeflateConfig::default()),
        None,
    ];
    let mut subscribers: Vec<BlockingClient> = offers
        .iter()
        .flat_map(|offer| std::iter::repeat_n(offer, 3))
        .map(|offer| {
            let options = ClientOptions {
                deflate: offer.clone(),
                timeout: Some(Duration::from_secs(20)),
                ..ClientOptions::default()
            };
            let url = format!("ws://{}/news", server.local_addr());
            BlockingClient::connect_with(&url, options).unwrap()
        })
        .collect();
    assert!(subscribers[0]
        .extensions()
        .is_some_and(|e| e.contains("server_no_context_takeover")));
    wait_for(&server.handle(), |s| s.subscriptions == subscribers.len());
    // Each text repeats a 2,000-byte run of random letters: compressible,
    // but only by referring far back.
    let mut seed = 7u32;
    let texts: Vec<String> = (0..4)
        .map(|n| {
            let run: String = (0..2000)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from(b'a' + (seed >> 16) as u8 % 26)
                })
                .collect();
            format!("edition {n}: {run}{run}")
        })
        .collect();
    for text in &texts {
        server
            .handle()
            .publish("news", OwnedMessage::Text(text.clone()));
    }
    for c in &mut subscribers {
        for text in &texts {
            assert_eq!(c.recv().unwrap(), OwnedEvent::Text(text.clone()));
        }
    }
}

#[test]
fn unsubscribing_and_closing_end_subscriptions() {
    let server = server(1, TopicConfig::default());
    let handle = server.handle();
    let mut a = client(&server, "/x,y,z");
    a.send_text("topics").unwrap();
    assert_eq!(text(&mut a), "topics x,y,z");
    a.send_text("unsub y").unwrap();
    assert_eq!(text(&mut a), "unsub y true");
    a.send_text("unsub y").unwrap();
    assert_eq!(text(&mut a), "unsub y false");
    a.send_text("sub x").unwrap();
    assert_eq!(text(&mut a), "sub x false");
    handle.publish("y", OwnedMessage::Text("not for a".into()));
    handle.publish("z", OwnedMessage::Text("for a".into()));
    assert_eq!(text(&mut a), "for a");
    wait_for(&handle, |s| s.subscriptions == 2 && s.topics == 2);
    a.close(CloseCode::NORMAL, "").unwrap();
    while !matches!(a.recv(), Ok(OwnedEvent::Close(_)) | Err(_)) {}
    wait_for(&handle, |s| s.subscriptions == 0 && s.topics == 0);
}

/// A subscriber that does not read, beside one that does, under `slow`:
/// returns the publishes (by number) each got, and the dropped count.
fn slow_subscriber(slow: SlowSubscriber) -> (Vec<u32>, Vec<u32>, Option<u16>, u64) {
    const MESSAGES: u32 = 640;
    const SIZE: usize = 64 << 10;
    let server = server(
        1,
        TopicConfig {
            max_backlog: 4 << 20,
            slow,
        },
    );
    let handle = server.handle();
    let mut stalled = raw_echo::upgraded_stream_to_path(server.local_addr(), "/feed");
    let mut reader = client(&server, "/feed");
    let (done, fast_got) = mpsc::channel();
    let progress = Arc::new(AtomicU32::new(0));
    let read = progress.clone();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(OwnedEvent::Binary(data)) = reader.recv() {
            let n = u32::from_be_bytes(data[..4].try_into().unwrap());
            got.push(n);
            read.store(got.len() as u32, Ordering::Release);
            if n == MESSAGES - 1 {
                break;
            }
        }
        done.send(got).unwrap();
    });
    // Both subscribed (the stats count them) before the first publish.
    wait_for(&handle, |s| s.subscriptions == 2);
    let mut payload = vec![0u8; SIZE];
    for n in 0..MESSAGES {
        // The reader keeps up: it is never more than 1 MiB behind.
        let deadline = Instant::now() + Duration::from_secs(30);
        while n >= progress.load(Ordering::Acquire) + 16 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        payload[..4].copy_from_slice(&n.to_be_bytes());
        handle.publish("feed", OwnedMessage::Binary(payload.clone()));
    }
    let fast = fast_got.recv_timeout(Duration::from_secs(60)).unwrap();
    // Now the stalled subscriber reads what it was given.
    let (stalled_got, close) = read_all(&mut stalled);
    let dropped = handle.stats().publishes_dropped;
    (fast, stalled_got, close, dropped)
}

/// Reads a client socket until it is quiet for a second or closed:
/// the binary messages' numbers, and the close code if one came.
fn read_all(stream: &mut TcpStream) -> (Vec<u32>, Option<u16>) {
    let mut got = Vec::new();
    let mut close = None;
    for event in raw_echo::read_until_quiet(stream) {
        match event {
            OwnedEvent::Binary(data) => got.push(u32::from_be_bytes(data[..4].try_into().unwrap())),
            OwnedEvent::Close(frame) => close = Some(frame.code.0),
            _ => {}
        }
    }
    (got, close)
}

fn in_order_without_gaps(got: &[u32]) -> bool {
    got.iter().copied().eq(0..got.len() as u32)
}

#[test]
fn a_slow_subscriber_misses_publishes_when_the_policy_drops_them() {
    let (fast, stalled, close, dropped) = slow_subscriber(SlowSubscriber::Drop);
    assert!(
        in_order_without_gaps(&fast),
        "the reader lost some: {}",
        fast.len()
    );
    assert!(dropped > 0, "nothing was dropped");
    assert!(stalled.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(stalled.len() as u64 + dropped, fast.len() as u64);
    assert_eq!(close, None);
}

#[test]
fn a_slow_subscriber_is_closed_with_1008_when_the_policy_closes() {
    let (fast, stalled, close, dropped) = slow_subscriber(SlowSubscriber::Close);
    assert!(
        in_order_without_gaps(&fast),
        "the reader lost some: {}",
        fast.len()
    );
    assert!(in_order_without_gaps(&stalled));
    assert!(stalled.len() < fast.len(), "it was never slow");
    assert_eq!(close, Some(1008));
    assert_eq!(dropped, 0);
}

#[test]
fn a_slow_subscriber_gets_everything_when_the_policy_queues() {
    let (fast, stalled, close, dropped) = slow_subscriber(SlowSubscriber::Queue);
    assert!(
        in_order_without_gaps(&fast),
        "the reader lost some: {}",
        fast.len()
    );
    assert_eq!(stalled, fast);
    assert_eq!(close, None);
    assert_eq!(dropped, 0);
}
