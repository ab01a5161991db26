//! Every UTF-8 kernel this CPU can run agrees with `std::str::from_utf8` on
//! whole texts: our lookup check on AVX-512, simdutf8 for the rest
//! (`simdws::utf8::validate_with`). The planted sequences sit where the
//! kernels treat bytes apart: vector edges, ASCII-skip run edges, the tail.

use proptest::prelude::*;
use simdws::mask::Kernel;
use simdws::utf8::{to_str, validate_with};

/// Checks `text` with every kernel (and through `to_str`) against std.
fn agrees(text: &[u8], what: std::fmt::Arguments) {
    let valid = std::str::from_utf8(text).is_ok();
    for kernel in Kernel::available() {
        assert_eq!(validate_with(kernel, text), valid, "{kernel:?}: {what}");
    }
    assert_eq!(to_str(text).is_ok(), valid, "to_str: {what}");
}

/// `filler` repeated to `len` bytes, with `bytes` planted at `at`.
fn planted(filler: &[u8], len: usize, at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut text: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
    text[at..at + bytes.len()].copy_from_slice(bytes);
    text
}

/// Where a planted sequence of `n` bytes straddles a 64-byte vector edge
/// (and simdutf8's 32-byte one), a 128-byte run edge, the tail's start, or
/// the end (cut short or not), in a text of `len` bytes.
fn edges(len: usize, n: usize) -> Vec<usize> {
    let mut at: Vec<usize> = [0, 30, 31, 62, 63, 126, 127, 190]
        .into_iter()
        .chain([
            len.saturating_sub(40),
            len.saturating_sub(33),
            len.saturating_sub(31),
        ])
        .chain((1..=n).map(|k| len.saturating_sub(k)))
        .filter(|&a| a + n <= len)
        .collect();
    at.sort_unstable();
    at.dedup();
    at
}

/// Every pair of bytes at every edge, in ASCII and in multi-byte text, at
/// lengths with and without a tail, and below one and two vectors.
#[test]
fn every_pair_of_bytes_at_every_edge() {
    // Under Miri (which looks for bad reads, not wrong answers) a sample.
    let fillers: &[&[u8]] = if cfg!(miri) {
        &[b"abcdefgh"]
    } else {
        &[b"abcdefgh", "é€😀z".as_bytes()]
    };
    let lengths: &[usize] = if cfg!(miri) {
        &[161]
    } else {
        &[2, 31, 45, 160, 161, 255]
    };
    for &len in lengths {
        for filler in fillers {
            for at in edges(len, 2) {
                for pair in 0..=u16::MAX {
                    if cfg!(miri) && pair % 2039 != 0 {
                        continue;
                    }
                    let text = planted(filler, len, at, &pair.to_be_bytes());
                    agrees(&text, format_args!("{pair:04x} at {at} of {len}"));
                }
            }
        }
    }
}

/// Every sequence of up to 4 bytes where the classes change (each lookup
/// nibble's edges, every kind of lead), at the edges: the checks of the
/// third and fourth bytes of a code point, across vectors and runs.
#[test]
fn every_sequence_of_class_edges() {
    const EDGES: [u8; 19] = [
        0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
        0xF0, 0xF4, 0xF5, 0xFF,
    ];
    let len = 255;
    let positions: Vec<usize> = if cfg!(miri) {
        vec![30, len - 2]
    } else {
        edges(len, 4)
    };
    for at in positions {
        let n = (len - at).min(4);
        for index in 0..EDGES.len().pow(n as u32) {
            if cfg!(miri) && index % 997 != 0 {
                continue;
            }
            let mut rest = index;
            let sequence: Vec<u8> = (0..n)
                .map(|_| {
                    let byte = EDGES[rest % EDGES.len()];
                    rest /= EDGES.len();
                    byte
                })
                .collect();
            let text = planted(b"abcdefgh", len, at, &sequence);
            agrees(&text, format_args!("{sequence:02x?} at {at}"));
        }
    }
}

/// A code point cut short just before an all-ASCII run is an error the
/// ASCII skip must not hide, at every place the run can start.
#[test]
fn a_cut_short_code_point_before_an_ascii_run() {
    for lead in ["é", "€", "😀"] {
        for keep in 1..lead.len() {
            for at in 0..200 {
                if cfg!(miri) && at % 61 != 0 && at % 64 != 63 {
                    continue;
                }
                let mut text = vec![b'a'; 400];
                text[at..at + keep].copy_from_slice(&lead.as_bytes()[..keep]);
                agrees(&text, format_args!("{keep} bytes of {lead} at {at}"));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]
    /// Text of every script, as is or with a few bytes changed.
    #[test]
    fn any_text_with_a_few_bytes_changed(
        text in if cfg!(miri) { "\\PC{0,80}" } else { "\\PC{0,700}" },
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let mut bytes = text.into_bytes();
        for (at, byte) in edits {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        agrees(&bytes, format_args!("{bytes:02x?}"));
    }

    /// Mostly ASCII with a little multi-byte text: the ASCII skip's case.
    #[test]
    fn mostly_ascii_with_a_few_code_points(
        ascii in if cfg!(miri) { "[ -~]{0,100}" } else { "[ -~]{0,1000}" },
        inserts in proptest::collection::vec((any::<proptest::sample::Index>(), any::<char>(), 0usize..4), 0..4),
    ) {
        let mut bytes = ascii.into_bytes();
        for (at, c, cut) in inserts {
            let mut buf = [0u8; 4];
            let encoded = c.encode_utf8(&mut buf).as_bytes();
            // Sometimes only part of the code point: invalid.
            let keep = encoded.len() - cut.min(encoded.len() - 1);
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            bytes.splice(i..i, encoded[..keep].iter().copied());
        }
        agrees(&bytes, format_args!("{bytes:02x?}"));
    }
}
