//! The receive hot path: header parse + unmask + validate of small masked
//! text frames, raw and through the protocol `Connection`; and messages per
//! second through a client → server pipe in memory, whole and fragmented
//! (`cargo bench --bench codec`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use simdws::frame::{FrameHeader, HeaderRules, Opcode, Parsed};
use simdws::mask;
use simdws::protocol::{Config, Connection, Event, Pair, Role, Side};
use simdws::utf8::StreamingUtf8;

fn masked_text(payload: &str) -> Vec<u8> {
    let now = Instant::now();
    let mut client = Connection::new(Role::Client, Config::default(), now);
    client.send_text(payload).unwrap();
    client.poll_transmit().to_vec()
}

fn receive_path(c: &mut Criterion) {
    let rules = HeaderRules {
        expect_masked: true,
        allowed_rsv: 0,
    };
    for (name, payload) in [
        ("20B", "twenty bytes of text"),
        ("125B", &"x".repeat(125)[..]),
        ("1KiB-cjk", &"中文".repeat(171)[..]),
    ] {
        let frame = masked_text(payload);
        let mut group = c.benchmark_group(format!("receive/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("parse+unmask+validate", |b| {
            b.iter_batched_ref(
                || frame.clone(),
                |buf| {
                    let Ok(Parsed::Complete(h, n)) = FrameHeader::parse(black_box(buf), rules)
                    else {
                        unreachable!()
                    };
                    let body = &mut buf[n..n + h.payload_len as usize];
                    let (_, ascii) = mask::apply_mask_ascii(body, h.mask.unwrap(), 0);
                    let mut v = StreamingUtf8::new();
                    if ascii {
                        v.feed_ascii(body)
                    } else {
                        v.feed(body)
                    }
                    .unwrap();
                    v.finish().unwrap();
                },
                BatchSize::SmallInput,
            )
        });
        let mut conn = Connection::new(Role::Server, Config::default(), Instant::now());
        group.bench_function("connection.receive", |b| {
            b.iter_batched_ref(
                || frame.clone(),
                |buf| {
                    let r = conn.receive(black_box(buf)).unwrap();
                    assert!(matches!(r.event, Some(Event::Text(_))));
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// Queues one message on `client`, whole or in four fragments.
fn send(client: &mut Connection, payload: &[u8], fragmented: bool) {
    if !fragmented {
        client.send_binary(payload).unwrap();
        return;
    }
    let quarter = payload.len().div_ceil(4);
    let mut pieces = payload.chunks(quarter.max(1)).peekable();
    let mut opcode = Opcode::Binary;
    while let Some(piece) = pieces.next() {
        client
            .send_fragment(opcode, piece, pieces.peek().is_none())
            .unwrap();
        opcode = Opcode::Continuation;
    }
}

/// Messages per second through a client → server pipe in memory, whole
/// and in four fragments each (which the receiver assembles).
fn in_memory_pipe(c: &mut Criterion) {
    for size in [20usize, 1024, 64 << 10] {
        let payload = vec![b'a'; size];
        let mut group = c.benchmark_group(format!("pipe/{size}"));
        group.throughput(Throughput::Elements(100));
        for fragmented in [false, true] {
            let mut pair = Pair::new(Config::default());
            let name = if fragmented {
                "100 binary messages, 4 fragments each"
            } else {
                "100 binary messages"
            };
            group.bench_function(name, |b| {
                b.iter(|| {
                    for _ in 0..100 {
                        send(&mut pair.client, &payload, fragmented);
                    }
                    assert_eq!(pair.deliver(Side::Server, |_| {}).unwrap(), 100);
                })
            });
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = receive_path, in_memory_pipe }
criterion_main!(benches);
