//! JSON for Socket.IO packets: read from a packet's text and written into
//! it, without serde_json's per-byte passes.
//!
//! A packet is mostly strings. serde_json's reader and writer both look at
//! a string one byte at a time; here, a run of a string that needs no
//! escape is found 16 bytes at a time ([`plain_len`]: SSE2 on x86_64, two
//! 64-bit words elsewhere) and copied whole. Both sides match serde_json
//! exactly: the writer its compact output byte for byte, the reader its
//! values and the texts it refuses. Property tests hold them there.

mod read;
mod write;

#[cfg(feature = "net")]
pub use read::recycle;
pub use read::{parse, parse_event};
pub use write::{estimated_len, write_value};

/// How many bytes `bytes` starts with that are neither below 0x20, nor `"`
/// nor `\`: inside a string, the run that is copied as it is. The byte
/// after the run, if any, is ASCII, so both ends of the run are character
/// boundaries of any `str` that `bytes` is the tail of.
fn plain_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    if len < BLOCK {
        // Padded with spaces, which end nothing.
        let mut padded = [b' '; BLOCK];
        padded[..len].copy_from_slice(bytes);
        return first_end(&padded).min(len);
    }
    let mut at = 0;
    // Long runs (a kilobyte's payload) go a chunk of four blocks at a
    // time, with one test for all four; the block that ends the run is
    // then found below. (AVX-512, a chunk in one step, wrote a kilobyte's
    // string in 58 ns against these 68 ns, the old block-at-a-time 81 ns;
    // not worth a path that neither callgrind nor Miri runs.)
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(at..at + CHUNK) {
        if any_end(chunk.try_into().expect("a chunk")) {
            break;
        }
        at += CHUNK;
    }
    while let Some(block) = bytes.get(at..at + BLOCK) {
        let end = first_end(block.try_into().expect("a block"));
        if end < BLOCK {
            return at + end;
        }
        at += BLOCK;
    }
    if at == len {
        return len;
    }
    // The last block, overlapping bytes already found plain: an end in it
    // is past them.
    let last = &bytes[len - BLOCK..];
    len - BLOCK + first_end(last.try_into().expect("a block"))
}

/// The bytes [`first_end`] looks at in one step.
const BLOCK: usize = 16;

/// The bytes [`any_end`] looks at in one step: four blocks.
#[cfg(target_arch = "x86_64")]
const CHUNK: usize = 4 * BLOCK;

/// The index of the first byte of `block` that ends a plain run (below
/// 0x20, `"` or `\`), or [`BLOCK`] if none does. With SSE2, which every
/// x86_64 CPU has: three comparisons and a mask, about 9 instructions.
#[cfg(target_arch = "x86_64")]
fn first_end(block: &[u8; BLOCK]) -> usize {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned load
    // reads the 16 bytes of `block`, no more.
    let ends = unsafe { _mm_movemask_epi8(sse2::ends(_mm_loadu_si128(block.as_ptr().cast()))) };
    // Bit 16 stands for "none".
    (ends as u32 | 1 << BLOCK).trailing_zeros() as usize
}

/// Whether any byte of `chunk` ends a plain run: [`first_end`] over four
/// blocks with one mask and one branch, about 8 instructions a block.
#[cfg(target_arch = "x86_64")]
fn any_end(chunk: &[u8; CHUNK]) -> bool {
    use std::arch::x86_64::*;
    let at = chunk.as_ptr();
    // SAFETY: SSE2 is part of the x86_64 baseline, and the four unaligned
    // loads read the 64 bytes of `chunk` (offsets 0, 16, 32 and 48), no
    // more.
    let ends = unsafe {
        let first = _mm_or_si128(
            sse2::ends(_mm_loadu_si128(at.cast())),
            sse2::ends(_mm_loadu_si128(at.add(BLOCK).cast())),
        );
        let second = _mm_or_si128(
            sse2::ends(_mm_loadu_si128(at.add(2 * BLOCK).cast())),
            sse2::ends(_mm_loadu_si128(at.add(3 * BLOCK).cast())),
        );
        _mm_movemask_epi8(_mm_or_si128(first, second))
    };
    ends != 0
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// `0xff` in each byte of `bytes` that ends a plain run, `0` in the
    /// others.
    #[inline(always)]
    pub(super) fn ends(bytes: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline; these work on
        // registers only.
        unsafe {
            // Unsigned `byte <= 0x1f` is `max(byte, 0x1f) == 0x1f`.
            let below_space = _mm_cmpeq_epi8(
                _mm_max_epu8(bytes, _mm_set1_epi8(0x1f)),
                _mm_set1_epi8(0x1f),
            );
            let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
            _mm_or_si128(below_space, _mm_or_si128(quote, backslash))
        }
    }
}

/// [`first_end`] without SIMD: two words of eight bytes.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn first_end_words(block: &[u8; BLOCK]) -> usize {
    let (low, high) = block.split_at(8);
    for (i, half) in [low, high].into_iter().enumerate() {
        let word = u64::from_le_bytes(half.try_into().expect("eight bytes"));
        let marks = words::marks(word);
        if marks != 0 {
            return i * 8 + (marks.trailing_zeros() / 8) as usize;
        }
    }
    BLOCK
}

#[cfg(not(target_arch = "x86_64"))]
use first_end_words as first_end;

/// Bytes found eight at a time, in one `u64` (SIMD within a register).
#[cfg(any(test, not(target_arch = "x86_64")))]
mod words {
    /// Every byte of a word set to `0x01`, and to `0x80`.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// Marks (0x80) the zero bytes of `word`. The lowest mark is exact; a
    /// byte above a zero one may be marked wrongly (a borrow runs into it).
    fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(ONES) & !word & HIGHS
    }

    /// Marks (0x80) the bytes of `word` below 0x20, `"` or `\`. A byte of
    /// 0x80 or more is never marked. The lowest mark is exact (each of the
    /// three is), higher ones may not be.
    pub(super) fn marks(word: u64) -> u64 {
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let quote = zero_bytes(word ^ (ONES * u64::from(b'"')));
        let backslash = zero_bytes(word ^ (ONES * u64::from(b'\\')));
        below_space | quote | backslash
    }
}

/// Any JSON value, for the reader's and the writer's property tests:
/// strings mostly ASCII, so that long plain runs happen, with control
/// characters and any other character mixed in.
#[cfg(test)]
fn any_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        // Any characters, ASCII-heavy so that long clean runs happen.
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range(' ', '~'),
                1 => proptest::char::range('\0', '\u{1f}'),
                1 => any::<char>(),
            ],
            0..80
        )
        .prop_map(|chars| Value::String(chars.into_iter().collect())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((".{0,12}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ends_a_run(byte: u8) -> bool {
        byte < 0x20 || byte == b'"' || byte == b'\\'
    }

    #[test]
    fn every_byte_in_every_place_of_a_block() {
        for place in 0..BLOCK {
            for byte in 0..=u8::MAX {
                let mut block = [b'a'; BLOCK];
                block[place] = byte;
                let expected = if ends_a_run(byte) { place } else { BLOCK };
                assert_eq!(first_end(&block), expected, "{byte:#x} at {place}");
                assert_eq!(first_end_words(&block), expected, "{byte:#x} at {place}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_chunk_has_an_end_wherever_one_byte_ends_it() {
        assert!(!any_end(&[b'a'; CHUNK]));
        for place in 0..CHUNK {
            for byte in 0..=u8::MAX {
                let mut chunk = [0xe9; CHUNK];
                chunk[place] = byte;
                assert_eq!(any_end(&chunk), ends_a_run(byte), "{byte:#x} at {place}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

        /// Both kernels find the same first end in any block, with any
        /// number of bytes that end a run.
        #[test]
        fn both_kernels_find_the_same_end(
            block in proptest::array::uniform16(prop_oneof![4 => 0x20u8..=0xff, 1 => any::<u8>()]),
        ) {
            let expected = block.iter().position(|&b| ends_a_run(b)).unwrap_or(BLOCK);
            prop_assert_eq!(first_end(&block), expected);
            prop_assert_eq!(first_end_words(&block), expected);
        }

        /// The plain run is exactly the bytes before the first one that
        /// ends it, whatever the length (past 32 and 8, and the padded tail).
        #[test]
        fn the_plain_run_ends_at_the_first_byte_that_ends_it(
            bytes in proptest::collection::vec(
                prop_oneof![8 => 0x20u8..=0xff, 1 => 0u8..0x20, 1 => Just(b'"'), 1 => Just(b'\\')],
                0..100,
            ),
            clean_prefix in 0usize..200,
        ) {
            // Clean prefixes of any length, so that ends fall in whole
            // chunks and blocks, in the overlapping last block and in
            // padded short input.
            let mut input = vec![b'a'; clean_prefix];
            input.extend_from_slice(&bytes);
            let expected = input.iter().position(|&b| ends_a_run(b)).unwrap_or(input.len());
            prop_assert_eq!(plain_len(&input), expected);
        }
    }
}
