//! Steady-state echo performs no heap allocation per message, for messages
//! up to 16 KiB: a counting global allocator tells. Checked for the
//! sans-IO pair (client encodes and masks, server decodes and answers) and
//! for the engine (a server's event loop echoing to a raw socket client
//! whose buffers are set up beforehand).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use simdws::protocol::{Config, Connection, Event, Pair, Role, Side};

#[path = "support/raw_echo.rs"]
mod raw_echo;
use raw_echo::{echo_server, upgraded_stream};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; it only
// counts allocations on the way.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// One echo through a [`Pair`]: the client sends, the server receives and
/// answers with the same bytes (what an echo handler does), the client
/// receives; each arrival is checked.
fn echo_in_memory(pair: &mut Pair, payload: &[u8]) {
    pair.client.send_binary(payload).unwrap();
    let mut arrived = 0;
    pair.drive_with(|side, event| {
        assert_eq!(side, Side::Server);
        if let Event::Binary(data) = event {
            assert_eq!(data, payload, "the server received what was sent");
            arrived += 1;
        }
    })
    .unwrap();
    assert_eq!(arrived, 1, "one message reached the server");
    pair.server.send_binary(payload).unwrap();
    let mut echoed = 0;
    pair.drive_with(|side, event| {
        assert_eq!(side, Side::Client);
        if let Event::Binary(data) = event {
            assert_eq!(data, payload, "the echo is what was sent");
            echoed += 1;
        }
    })
    .unwrap();
    assert_eq!(echoed, 1, "one echo reached the client");
}

/// The count is process-wide, so nothing else may allocate while it runs.
/// libtest's own thread does (starting up, reporting tests), and a freshly
/// linked binary starts slowly enough for that to overlap the first count:
/// this test has no harness (`harness = false`), only this `main`.
fn main() {
    the_protocol_echoes_without_allocating();
    the_engine_echoes_without_allocating();
    #[cfg(feature = "tokio")]
    the_tokio_adapter_echoes_without_allocating();
    println!("zero_alloc: steady-state echo allocates nothing, sans-IO, through the engine and through the tokio adapter");
}

fn the_protocol_echoes_without_allocating() {
    for size in [20usize, 1024, 16 << 10] {
        let mut pair = Pair::new(Config::default());
        let payload = vec![0x5a; size];
        for _ in 0..100 {
            echo_in_memory(&mut pair, &payload);
        }
        let before = allocations();
        for _ in 0..10_000 {
            echo_in_memory(&mut pair, &payload);
        }
        let per_message = (allocations() - before) as f64 / 10_000.0;
        assert_eq!(
            per_message, 0.0,
            "{size} B: {per_message} allocations per echo"
        );
    }
}

fn the_engine_echoes_without_allocating() {
    let server = echo_server();
    let stream = upgraded_stream(&server);
    echo_through(stream, "the engine");
    server.handle().shutdown();
    server.join();
}

/// An echo server on a current-thread tokio runtime through
/// `simdws::tokio`, answering from the read buffer; the same raw client.
#[cfg(feature = "tokio")]
fn the_tokio_adapter_echoes_without_allocating() {
    use simdws::tokio::accept;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let mut ws = accept(tcp).await.unwrap();
            // The loop `examples/tokio_echo.rs` runs (and is measured by).
            let _ = ws
                .for_each_event(|event, tx| {
                    if let Event::Binary(data) = event {
                        tx.send_binary(data).unwrap();
                    }
                })
                .await;
        });
    });
    let stream = raw_echo::upgraded_stream_to(addr);
    echo_through(stream, "the tokio adapter");
    drop(server); // it ends with the connection, at the process's exit
}

/// Echoes 20 B, 1 KiB and 16 KiB binary messages through `stream` (past a
/// warm-up), asserting that the process allocated nothing meanwhile.
fn echo_through(mut stream: std::net::TcpStream, what: &str) {
    for size in [20usize, 1024, 16 << 10] {
        // A masked binary frame, built once (the key stays the same: only
        // the server's work is measured here).
        let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
        client.send_binary(&vec![0x5a; size]).unwrap();
        let frame = client.poll_transmit().to_vec();
        let echo_len = size + if size < 126 { 2 } else { 4 };
        let mut echo = vec![0u8; echo_len];
        let header_len = echo_len - size;
        let mut round_trip = || {
            echo.fill(0);
            stream.write_all(&frame).unwrap();
            stream.read_exact(&mut echo).unwrap();
            // A whole unmasked binary frame, with every byte echoed.
            assert_eq!(echo[0], 0x82, "{size} B: an unfragmented binary frame");
            assert!(
                echo[header_len..].iter().all(|&b| b == 0x5a),
                "{size} B: the echo arrived whole"
            );
        };
        // Warm up past a few timer sweeps (100 ms apart), so whatever they
        // set up on first use is set up.
        let warm = Instant::now();
        while warm.elapsed() < std::time::Duration::from_millis(350) {
            round_trip();
        }
        let before = allocations();
        for _ in 0..5_000 {
            round_trip();
        }
        let total = allocations() - before;
        eprintln!("{what}, {size} B: {total} allocations in 5,000 echoes");
        let per_message = total as f64 / 5_000.0;
        assert_eq!(
            per_message, 0.0,
            "{size} B: {per_message} allocations per echo through {what}"
        );
    }
}
