//! Texts for the UTF-8 kernels' tests: byte sequences planted where a
//! kernel treats bytes apart, made of the bytes where UTF-8's classes
//! change.
#![allow(dead_code)]

/// Each lookup nibble's edges and every kind of lead: the bytes where the
/// classes of the lookup check change.
pub const CLASS_EDGES: [u8; 19] = [
    0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
    0xF4, 0xF5, 0xFF,
];

/// Every sequence of `n` bytes of [`CLASS_EDGES`], or under Miri every
/// `miri_step`-th of them.
pub fn class_edge_sequences(n: usize, miri_step: usize) -> impl Iterator<Item = Vec<u8>> {
    let step = if cfg!(miri) { miri_step } else { 1 };
    (0..CLASS_EDGES.len().pow(n as u32))
        .step_by(step)
        .map(move |index| {
            let mut rest = index;
            (0..n)
                .map(|_| {
                    let byte = CLASS_EDGES[rest % CLASS_EDGES.len()];
                    rest /= CLASS_EDGES.len();
                    byte
                })
                .collect()
        })
}

/// `filler` repeated to `len` bytes, with `bytes` planted at `at`.
pub fn planted(filler: &[u8], len: usize, at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut text: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
    text[at..at + bytes.len()].copy_from_slice(bytes);
    text
}

/// Where a planted sequence of up to `n` bytes straddles a 32- or 64-byte
/// vector edge, a 64- or 128-byte run edge, the tail's start (checked again
/// from `len - 32` by some kernels), or the end, in a text of `len` bytes.
/// The last `n` places leave less than `n` bytes: a sequence planted there
/// is cut short by the end.
pub fn edges(len: usize, n: usize) -> Vec<usize> {
    let mut at: Vec<usize> = [0, 30, 31, 62, 63, 126, 127, 190]
        .into_iter()
        .chain([
            len.saturating_sub(40),
            len.saturating_sub(33),
            len.saturating_sub(31),
        ])
        .chain((1..=n).map(|k| len.saturating_sub(k)))
        .filter(|&a| a < len)
        .collect();
    at.sort_unstable();
    at.dedup();
    at
}

/// The texts edge bytes are planted in: ASCII, and multi-byte UTF-8 (only
/// ASCII under Miri, which looks for bad reads, not wrong answers).
pub fn fillers() -> &'static [&'static [u8]] {
    const ASCII: &[u8] = b"abcdefgh";
    const MULTI_BYTE: &[u8] = "é€😀z".as_bytes();
    if cfg!(miri) {
        &[ASCII]
    } else {
        &[ASCII, MULTI_BYTE]
    }
}
