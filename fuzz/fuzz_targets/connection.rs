//! The whole sans-IO connection fed an arbitrary byte stream split at
//! arbitrary points, with sends and time jumps interleaved: no panic, no
//! endless loop, memory within the limits, and the same events and close
//! code as when the stream is fed whole (chunking invariance).
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use simdws::protocol::{Config, Connection, OwnedEvent, Role};

#[derive(Arbitrary, Debug)]
enum Step {
    Feed(u16),
    SendText(String),
    Ping(Vec<u8>),
    Close(u16),
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    server: bool,
    stream: Vec<u8>,
    steps: Vec<Step>,
}

fn config() -> Config {
    Config {
        max_frame_size: 64 << 10,
        max_message_size: 256 << 10,
        max_fragments: 1000,
        ..Config::default()
    }
}

/// Feeds `input` completely; returns the events and the failure's code.
fn feed(conn: &mut Connection, input: &[u8], events: &mut Vec<OwnedEvent>) -> Option<u16> {
    let mut buf = input.to_vec();
    conn.receive_all(&mut buf, |e| events.push(OwnedEvent::from(e)))
        .err()
        .map(|e| e.close_code().0)
}

fuzz_target!(|input: Input| {
    let role = if input.server {
        Role::Server
    } else {
        Role::Client
    };
    let start = Instant::now();
    let mut whole = Connection::new(role, config(), start);
    let mut whole_events = Vec::new();
    let whole_error = feed(&mut whole, &input.stream, &mut whole_events);

    let mut split = Connection::new(role, config(), start);
    let mut split_events = Vec::new();
    let mut split_error = None;
    let mut now = start;
    let mut at = 0;
    for step in &input.steps {
        match step {
            Step::Feed(n) => {
                let end = (at + *n as usize).min(input.stream.len());
                if split_error.is_none() {
                    split_error = feed(&mut split, &input.stream[at..end], &mut split_events);
                }
                at = end;
            }
            // Sends and time do not change what is received from the peer.
            Step::SendText(t) => {
                let _ = split.send_text(t);
            }
            Step::Ping(p) => {
                let _ = split.ping(p);
            }
            Step::Close(code) => {
                let _ = split.close((*code).into(), "fuzz");
            }
            Step::Advance(ms) => {
                now += Duration::from_millis(*ms as u64);
                split.handle_timeout(now);
            }
        }
        let out = split.poll_transmit().len();
        split.advance_transmit(out);
        assert!(
            split.buffer_capacity() <= 4 * (256 << 10) + (64 << 10),
            "memory past the limits"
        );
    }
    if split_error.is_none() && at < input.stream.len() {
        split_error = feed(&mut split, &input.stream[at..], &mut split_events);
    }
    // Local closes and timeouts can end the split run early (input is then
    // discarded), so compare only while both saw the same input.
    if !split.timed_out() && split.state() != simdws::protocol::State::Closing {
        let n = split_events.len().min(whole_events.len());
        assert_eq!(&split_events[..n], &whole_events[..n]);
        if split_events.len() == whole_events.len() {
            assert_eq!(split_error, whole_error);
        }
    }
});
