//! Subscriptions end with their connections: 100,000 connections that
//! subscribe and go leave no topic, no subscription and no memory behind.
//! Alone in its test binary, so the process's RSS is its own.

use std::time::Duration;

use simdws::net::TopicConfig;

#[path = "support/raw_echo.rs"]
mod raw_echo;
#[path = "support/serve_process.rs"]
mod serve_process;
#[path = "support/topic_server.rs"]
mod topic_server;
use topic_server::{server, wait_for};

#[test]
fn a_hundred_thousand_subscribe_and_close_cycles_leave_nothing_behind() {
    let server = server(2, TopicConfig::default());
    let handle = server.handle();
    let addr = server.local_addr();
    let cycles = |thread: usize, n: usize| {
        std::thread::spawn(move || {
            for i in 0..n {
                // Each connection subscribes to a topic of its own and two
                // shared ones, then vanishes (no close handshake) or closes.
                let mut stream = raw_echo::upgraded_stream_to_path(
                    addr,
                    &format!("/own{thread}-{i},shared,shared{}", i % 7),
                );
                if i % 2 == 0 {
                    // A masked close frame, code 1000.
                    use std::io::Write;
                    let _ = stream.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
                }
            }
        })
    };
    let rss_after = |n: usize| {
        let threads: Vec<_> = (0..4).map(|t| cycles(t, n / 4)).collect();
        for t in threads {
            t.join().unwrap();
        }
        wait_for(&handle, |s| {
            s.open == 0 && s.subscriptions == 0 && s.topics == 0
        });
        // Closed connections linger 20 ms; the workers trim the heap on
        // their sweep once they have freed many.
        std::thread::sleep(Duration::from_millis(500));
        serve_process::proc_status_kib(std::process::id(), "VmRSS")
    };
    let warm = rss_after(20_000);
    let after = rss_after(100_000);
    // Leaking a topic name and three entries per cycle would be over 10 MB
    // for 100,000 cycles.
    eprintln!("RSS {warm} KiB after 20,000 cycles, {after} KiB after 100,000 more");
    assert!(
        after < warm + 4 * 1024,
        "RSS grew from {warm} KiB to {after} KiB over 100,000 cycles"
    );
}
