//! permessage-deflate under a size limit: arbitrary compressed input, split
//! at arbitrary points, never panics, never grows past the limit, and never
//! allocates much past it; and whatever our deflater writes, our inflater
//! reads back exactly.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use simdws::deflate::{DeflateConfig, Deflater, Inflater};
use simdws::protocol::{ExtensionError, MessageDecoder, MessageEncoder};

#[derive(Arbitrary, Debug)]
struct Input {
    limit: u16,
    takeover: bool,
    small_window: bool,
    cuts: Vec<u16>,
    wire: Vec<u8>,
    plain: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let limit = input.limit as usize;
    let bits = if input.small_window { 9 } else { 15 };
    // Arbitrary input: bounded, no panic.
    let mut inflater = Inflater::new(bits, input.takeover);
    let mut points: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| c as usize % (input.wire.len() + 1))
        .collect();
    points.extend([0, input.wire.len()]);
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    for (i, w) in points.windows(2).enumerate() {
        let last = i + 2 == points.len();
        let room = limit - out.len();
        match inflater.decode(&input.wire[w[0]..w[1]], last, &mut out, room) {
            Ok(()) => assert!(out.len() <= limit),
            Err(ExtensionError::TooBig) => {
                assert_eq!(out.len(), limit, "stopped exactly at the limit");
                break;
            }
            Err(_) => break,
        }
    }
    assert!(out.capacity() <= limit.max(4096) + 64 * 1024, "capacity {}", out.capacity());

    // Round trip through our own codec, context kept or not.
    let config = DeflateConfig::default();
    let mut deflater = Deflater::new(bits, input.takeover, &config);
    let mut inflater = Inflater::new(bits, input.takeover);
    for message in input.plain.iter().take(8) {
        let mut wire = Vec::new();
        assert!(deflater.encode(message, &mut wire));
        let mut back = Vec::new();
        inflater
            .decode(&wire, true, &mut back, message.len())
            .expect("our own output inflates within its own size");
        assert_eq!(&back, message);
    }
});
