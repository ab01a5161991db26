//! Scenarios for the instruction-count benchmark (`benches/callgrind.sh`
//! runs this under `valgrind --tool=callgrind`): a count of executed
//! instructions does not move with the machine's load, so a regression
//! shows even on a noisy shared VM.
//!
//! ```text
//! cargo run --release --example instruction_counts -- SCENARIO ITERATIONS
//! ```
//! SCENARIO: `pipe-20`, `pipe-1k`, `pipe-64k` (client encodes and masks a
//! binary message, server decodes it), `pipe-fragmented-1k` (the same 1 KiB
//! in 4 fragments), `text-1k` (a 1 KiB multi-byte text message).

use std::hint::black_box;

use simdws::frame::Opcode;
use simdws::protocol::{Config, Pair, Side};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args.first().map(String::as_str).unwrap_or("pipe-20");
    let iterations: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let mut pair = Pair::new(Config::default());
    let (size, fragments, text) = match scenario {
        "pipe-20" => (20, 1, false),
        "pipe-1k" => (1024, 1, false),
        "pipe-64k" => (64 << 10, 1, false),
        "pipe-fragmented-1k" => (1024, 4, false),
        "text-1k" => (1024, 1, true),
        other => {
            eprintln!("unknown scenario {other:?}");
            std::process::exit(2);
        }
    };
    let mut text_payload = String::with_capacity(size);
    for c in "é中😀a".chars().cycle() {
        if text_payload.len() + c.len_utf8() > size {
            break;
        }
        text_payload.push(c);
    }
    while text_payload.len() < size {
        text_payload.push('a');
    }
    let payload = vec![0x5a; size];
    let mut events = 0usize;
    for _ in 0..iterations {
        let client = &mut pair.client;
        if fragments == 1 {
            if text {
                client.send_text(&text_payload).unwrap();
            } else {
                client.send_binary(&payload).unwrap();
            }
        } else {
            let piece = size / fragments;
            for i in 0..fragments {
                let opcode = if i == 0 {
                    Opcode::Binary
                } else {
                    Opcode::Continuation
                };
                let chunk = &payload[i * piece..(i + 1) * piece];
                client
                    .send_fragment(opcode, chunk, i + 1 == fragments)
                    .unwrap();
            }
        }
        events += pair.deliver(Side::Server, |_| {}).unwrap();
    }
    assert_eq!(black_box(events), iterations);
}
