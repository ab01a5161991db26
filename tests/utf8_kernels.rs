//! Every UTF-8 kernel this CPU can run agrees with `std::str::from_utf8` on
//! whole texts: our lookup check on AVX-512, simdutf8 for the rest
//! (`simdws::utf8::validate_with`). The planted sequences sit where the
//! kernels treat bytes apart: vector edges, ASCII-skip run edges, the tail.

use proptest::prelude::*;
use simdws::mask::Kernel;
use simdws::utf8::{to_str, validate_with};

#[path = "support/utf8_edges.rs"]
mod utf8_edges;
use utf8_edges::{class_edge_sequences, edges, planted};

/// Checks `text` with every kernel (and through `to_str`) against std.
fn agrees(text: &[u8], what: std::fmt::Arguments) {
    let valid = std::str::from_utf8(text).is_ok();
    for kernel in Kernel::available() {
        assert_eq!(validate_with(kernel, text), valid, "{kernel:?}: {what}");
    }
    assert_eq!(to_str(text).is_ok(), valid, "to_str: {what}");
}

/// Every pair of bytes at every edge, in ASCII and in multi-byte text, at
/// lengths with and without a tail, and below one and two vectors.
#[test]
fn every_pair_of_bytes_at_every_edge() {
    // Under Miri (which looks for bad reads, not wrong answers) a sample.
    let fillers = utf8_edges::fillers();
    let lengths: &[usize] = if cfg!(miri) {
        &[161]
    } else {
        &[2, 31, 45, 160, 161, 255]
    };
    for &len in lengths {
        for filler in fillers {
            for at in edges(len, 2).into_iter().filter(|&at| at + 2 <= len) {
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
/// third and fourth bytes of a code point, across vectors and runs, and
/// cut short by the end.
#[test]
fn every_sequence_of_class_edges() {
    let len = 255;
    let positions: Vec<usize> = if cfg!(miri) {
        vec![30, len - 2]
    } else {
        edges(len, 4)
    };
    for at in positions {
        for sequence in class_edge_sequences((len - at).min(4), 997) {
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
