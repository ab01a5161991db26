//! Every unmask kernel this CPU can run computes exactly what the byte-loop
//! reference computes: every length 0..=4200, every key offset, every
//! alignment, random keys (DESIGN.md invariant 1). On aarch64 this runs under
//! qemu from the test command.

use proptest::prelude::*;
use simdws::mask::{self, scalar, Kernel};

#[path = "support/utf8_edges.rs"]
mod utf8_edges;
use utf8_edges::{class_edge_sequences, edges, planted};

/// A buffer whose payload starts `align` bytes past a 64-byte boundary.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(data: &[u8], align: usize) -> Self {
        let mut storage = vec![0u8; data.len() + 128];
        let base = storage.as_ptr().align_offset(64);
        let start = base + align % 64;
        storage[start..start + data.len()].copy_from_slice(data);
        Aligned {
            storage,
            start,
            len: data.len(),
        }
    }
    fn bytes(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Compares without printing kilobytes: names the first differing byte.
fn assert_same(actual: &[u8], expected: &[u8], what: std::fmt::Arguments) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    if let Some(i) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        panic!(
            "{what}: first difference at byte {i} of {}: {:#04x} != {:#04x}",
            actual.len(),
            actual[i],
            expected[i]
        );
    }
}

fn check_all(input: &[u8], key: [u8; 4], offset: usize, align: usize) {
    let mut expected = input.to_vec();
    let next = scalar::apply_mask_bytes(&mut expected, key, offset);
    let ascii = expected.iter().all(u8::is_ascii);
    let utf8 = std::str::from_utf8(&expected).is_ok();
    for kernel in Kernel::available() {
        let mut buf = Aligned::new(input, align);
        assert_eq!(
            kernel.apply_mask(buf.bytes(), key, offset),
            next,
            "{kernel:?} offset"
        );
        assert_same(
            buf.bytes(),
            &expected,
            format_args!(
                "{kernel:?} len={} offset={offset} align={align}",
                input.len()
            ),
        );

        let mut buf = Aligned::new(input, align);
        assert_eq!(
            kernel.apply_mask_ascii(buf.bytes(), key, offset),
            (next, ascii),
            "{kernel:?} ascii flag"
        );
        assert_same(
            buf.bytes(),
            &expected,
            format_args!(
                "{kernel:?} fused len={} offset={offset} align={align}",
                input.len()
            ),
        );

        let mut buf = Aligned::new(input, align);
        assert_eq!(
            kernel.apply_mask_utf8(buf.bytes(), key, offset),
            utf8,
            "{kernel:?} UTF-8 verdict, len={} offset={offset}",
            input.len()
        );
        assert_same(
            buf.bytes(),
            &expected,
            format_args!(
                "{kernel:?} unmask + UTF-8 len={} offset={offset} align={align}",
                input.len()
            ),
        );

        let mut dst = Aligned::new(&vec![0xEE; input.len()], (align + 7) % 64);
        assert_eq!(kernel.copy_masked(dst.bytes(), input, key, offset), next);
        assert_same(
            dst.bytes(),
            &expected,
            format_args!(
                "{kernel:?} copy len={} offset={offset} align={align}",
                input.len()
            ),
        );
    }
    // A whole short payload from the key's start.
    if offset == 0 && input.len() <= mask::SHORT {
        let mut buf = Aligned::new(input, align);
        assert_eq!(mask::apply_mask_short(buf.bytes(), key), ascii);
        assert_same(
            buf.bytes(),
            &expected,
            format_args!("apply_mask_short len={}", input.len()),
        );
    }
    // The public entry points (tiny route + detected kernel).
    let mut buf = Aligned::new(input, align);
    assert_eq!(mask::apply_mask(buf.bytes(), key, offset), next);
    assert_same(
        buf.bytes(),
        &expected,
        format_args!("apply_mask len={}", input.len()),
    );
    let mut buf = Aligned::new(input, align);
    assert_eq!(
        mask::apply_mask_ascii(buf.bytes(), key, offset),
        (next, ascii)
    );
    assert_same(
        buf.bytes(),
        &expected,
        format_args!("apply_mask_ascii len={}", input.len()),
    );
    let mut buf = Aligned::new(input, align);
    assert_eq!(mask::apply_mask_utf8(buf.bytes(), key, offset), utf8);
    assert_same(
        buf.bytes(),
        &expected,
        format_args!("apply_mask_utf8 len={}", input.len()),
    );
    let mut dst = vec![0u8; input.len()];
    assert_eq!(mask::copy_masked(&mut dst, input, key, offset), next);
    assert_same(
        &dst,
        &expected,
        format_args!("copy_masked len={}", input.len()),
    );
}

#[test]
fn every_kernel_matches_scalar_for_every_length_up_to_4200() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let lengths: Vec<usize> = if cfg!(miri) {
        vec![0, 3, 7, 8, 15, 16, 31, 33, 64, 65, 130, 257, 2100]
    } else {
        (0..=4200).collect()
    };
    for len in lengths {
        let input = data(len, len as u8);
        let offset = len % 4;
        let align = (len * 13) % 64;
        check_all(&input, key, offset, align);
    }
}

#[test]
fn every_offset_and_alignment_small_lengths() {
    let key = [0x81, 0x02, 0xc3, 0x7f];
    let max = if cfg!(miri) { 12 } else { 300 };
    let aligns: Vec<usize> = if cfg!(miri) {
        vec![0, 63]
    } else {
        (0..64).collect()
    };
    for len in 0..=max {
        let input = data(len, 3);
        for offset in 0..4 {
            for &align in &aligns {
                check_all(&input, key, offset, align);
            }
        }
    }
}

#[test]
fn zero_key_is_a_noop_and_reports_the_next_offset() {
    let mut buf = data(1000, 9);
    let before = buf.clone();
    assert_eq!(mask::apply_mask(&mut buf, [0; 4], 3), (3 + 1000) % 4);
    assert_eq!(buf, before);
}

#[test]
fn unmasking_in_pieces_equals_unmasking_whole() {
    let input = data(5000, 1);
    let key = [1, 2, 3, 4];
    let mut whole = input.clone();
    mask::apply_mask(&mut whole, key, 0);
    let mut pieces = input.clone();
    let mut offset = 0;
    let mut at = 0;
    for size in [1, 3, 64, 65, 127, 2000, 7].iter().cycle() {
        if at >= pieces.len() {
            break;
        }
        let end = (at + size).min(pieces.len());
        offset = mask::apply_mask(&mut pieces[at..end], key, offset);
        at = end;
    }
    assert_eq!(pieces, whole);
}

#[test]
fn detection_is_cached_and_stable() {
    let first = Kernel::detected();
    assert!(first.is_supported());
    assert_eq!(Kernel::detected(), first);
    if std::env::var_os("SIMDWS_KERNEL").is_none() {
        assert_eq!(
            Kernel::available().last().copied(),
            Some(first),
            "the widest kernel wins"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]
    #[test]
    fn kernels_match_scalar(
        input in proptest::collection::vec(any::<u8>(), 0..=if cfg!(miri) { 300 } else { 4200 }),
        key in any::<[u8; 4]>(),
        offset in 0usize..4,
        align in 0usize..64,
    ) {
        check_all(&input, key, offset, align);
    }
}

/// Masks `plain` so that unmasking yields it: the fused ASCII flag is then
/// exercised on real text, with one high byte planted anywhere.
fn masked_input(plain: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    let mut input = plain.to_vec();
    scalar::apply_mask_bytes(&mut input, key, offset);
    input
}

#[test]
fn ascii_flag_sees_a_single_high_byte_at_every_position() {
    let key = [0x11, 0x22, 0x33, 0x44];
    let lengths: &[usize] = if cfg!(miri) {
        &[1, 9, 65, 129]
    } else {
        &[1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000]
    };
    for &len in lengths {
        for pos in 0..len {
            if cfg!(miri) && pos % 31 != 0 && pos != len - 1 {
                continue;
            }
            let mut plain = vec![b'a'; len];
            plain[pos] = 0xC3;
            check_all(&masked_input(&plain, key, pos % 4), key, pos % 4, pos % 64);
        }
        check_all(&masked_input(&vec![b'z'; len], key, 1), key, 1, 3);
    }
}

/// The short route's overlapping words: every length it takes, a high byte
/// at every position (or none), each key byte distinct.
#[test]
fn short_payloads_with_a_high_byte_anywhere() {
    let key = [0x5a, 0xa5, 0x3c, 0xc3];
    for len in 0..=mask::SHORT {
        // Under Miri: each route's ends, and the ends of each word.
        if cfg!(miri) && ![0, 3, 4, 7, 8, 15, 16, 21, 32].contains(&len) {
            continue;
        }
        for high_at in (0..len).map(Some).chain([None]) {
            if cfg!(miri) && high_at.is_some_and(|at| at % 8 != 0 && at % 8 != 7) {
                continue;
            }
            let mut plain: Vec<u8> = (0..len as u8).map(|i| b'A' + i).collect();
            if let Some(at) = high_at {
                plain[at] = 0xE9;
            }
            check_all(&masked_input(&plain, key, 0), key, 0, len % 64);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]
    #[test]
    fn fused_ascii_flag_matches_scalar(
        text in if cfg!(miri) { "[ -~]{0,200}" } else { "[ -~]{0,3000}" },
        high in proptest::option::of((any::<proptest::sample::Index>(), 0x80u8..=0xFF)),
        key in any::<[u8; 4]>(),
        offset in 0usize..4,
        align in 0usize..64,
    ) {
        let mut plain = text.into_bytes();
        if let (Some((at, byte)), false) = (high, plain.is_empty()) {
            let i = at.index(plain.len());
            plain[i] = byte;
        }
        check_all(&masked_input(&plain, key, offset), key, offset, align);
    }
}

/// Plants `bytes` at `at` in `filler` (repeated to `len`), masks it, and
/// checks that the AVX2 kernel, which checks UTF-8 in the unmasking pass,
/// unmasks it and agrees with std on it.
fn check_planted(filler: &[u8], len: usize, at: usize, bytes: &[u8]) {
    let plain = planted(filler, len, at, bytes);
    let valid = std::str::from_utf8(&plain).is_ok();
    let key = [0x9c, 0x01, 0xf3, 0x6e];
    let offset = at % 4;
    let masked = masked_input(&plain, key, offset);
    let mut buf = masked.clone();
    assert_eq!(
        Kernel::Avx2.apply_mask_utf8(&mut buf, key, offset),
        valid,
        "AVX2: {bytes:02x?} at {at} of {len}"
    );
    assert!(buf == plain, "AVX2: unmasked bytes differ");
}

/// Every pair of bytes, and every 4-byte sequence of the bytes where UTF-8's
/// classes change, where the fused pass treats bytes apart: 32-byte lane
/// edges, 128-byte ASCII-skip edges, the tail checked again from
/// `len - 32`, and the end (cut short or not); in ASCII and in multi-byte
/// text.
#[test]
fn unmask_and_utf8_check_agree_with_std_at_every_edge() {
    // The other kernels unmask, then check in a second pass: `check_all`
    // and `tests/utf8_kernels.rs` cover those.
    if !Kernel::Avx2.is_supported() {
        return;
    }
    let fillers = utf8_edges::fillers();
    let lengths: &[usize] = if cfg!(miri) {
        &[161]
    } else {
        // From FUSED_UTF8 (128) on: one 128-byte run; a run and a tail;
        // a run, lanes and a tail; two runs (the second all ASCII when
        // the first ends cut short) and a tail.
        &[128, 161, 255, 300]
    };
    for &len in lengths {
        let edges = edges(len, 4);
        for &filler in fillers {
            for &at in &edges {
                // Under Miri, which looks for bad reads: one place each.
                if cfg!(miri) && ![31, 127, len - 31, len - 2].contains(&at) {
                    continue;
                }
                for sequence in class_edge_sequences((len - at).min(4), 1009) {
                    check_planted(filler, len, at, &sequence);
                }
                if at + 2 <= len && filler.is_ascii() {
                    for pair in 0..=u16::MAX {
                        if cfg!(miri) && pair % 4093 != 0 {
                            continue;
                        }
                        check_planted(filler, len, at, &pair.to_be_bytes());
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]
    /// Text of every script, as is or with a few bytes changed: each
    /// kernel's UTF-8 verdict is std's, its bytes the scalar unmask's.
    #[test]
    fn unmask_and_utf8_check_on_any_text(
        text in if cfg!(miri) { "\\PC{0,60}" } else { "\\PC{0,500}" },
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..3),
        key in any::<[u8; 4]>(),
        offset in 0usize..4,
        align in 0usize..64,
    ) {
        let mut plain = text.into_bytes();
        for (at, byte) in edits {
            if !plain.is_empty() {
                let i = at.index(plain.len());
                plain[i] = byte;
            }
        }
        check_all(&masked_input(&plain, key, offset), key, offset, align);
    }
}

#[test]
fn the_vector_kernel_of_this_architecture_is_tested() {
    let available = Kernel::available();
    #[cfg(target_arch = "aarch64")]
    assert!(available.contains(&Kernel::Neon), "{available:?}");
    #[cfg(target_arch = "x86_64")]
    assert!(available.contains(&Kernel::Sse2), "{available:?}");
    assert!(available.contains(&Kernel::Scalar) && available.contains(&Kernel::Words));
    // The test command states which kernel it expects dispatch to pick (or
    // to be forced to), so a silent fallback to a narrower path fails here.
    if let Ok(expected) = std::env::var("SIMDWS_EXPECT_KERNEL") {
        assert_eq!(Kernel::detected().name(), expected.to_lowercase());
    }
}
