//! An in-process loopback echo: the engine (`Server`, one worker) on one
//! thread, a blocking client on this one, over 127.0.0.1. Messages per
//! second for one message in flight (the closed loop: mostly system calls)
//! and for 16 in flight (4 for 64 KiB), where answering a whole read with
//! one write pays.
//! `cargo bench --bench loopback`; for numbers that mean something, pin it:
//! `taskset -c 0,1 cargo bench --bench loopback`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simdws::protocol::{Config, Connection, Role};

#[path = "../tests/support/raw_echo.rs"]
mod raw_echo;
use raw_echo::{echo_server, upgraded_stream};

/// `count` masked binary frames of `size` bytes, back to back (masked once:
/// the client's own cost is not what is measured).
fn frames(size: usize, count: usize) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    for _ in 0..count {
        client.send_binary(&vec![0x5a; size]).unwrap();
    }
    client.poll_transmit().to_vec()
}

fn loopback_echo(c: &mut Criterion) {
    let server = echo_server();
    let mut stream = upgraded_stream(&server);
    for size in [20usize, 1024, 64 << 10] {
        let mut group = c.benchmark_group(format!("loopback/{size}"));
        // 16 × 64 KiB written before reading could fill every socket buffer
        // between the two and stall: 4 in flight there.
        let deep = if size < (64 << 10) { 16 } else { 4 };
        for in_flight in [1usize, deep] {
            let burst = frames(size, in_flight);
            let echo_len = in_flight
                * (size
                    + if size < 126 {
                        2
                    } else if size < 65536 {
                        4
                    } else {
                        10
                    });
            let mut echo = vec![0u8; echo_len];
            group.throughput(Throughput::Elements(in_flight as u64));
            group.bench_function(format!("{in_flight} in flight"), |b| {
                b.iter(|| {
                    stream.write_all(&burst).unwrap();
                    stream.read_exact(&mut echo).unwrap();
                })
            });
            assert_eq!(echo[echo_len - 1], 0x5a);
        }
        group.finish();
    }
    server.handle().shutdown();
    server.join();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = loopback_echo }
criterion_main!(benches);
