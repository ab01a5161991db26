//! AVX2 kernels: 32-byte lanes, four per turn (128 bytes), and the fused
//! unmask + UTF-8 check of a whole text payload.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::scalar;
use crate::utf8::avx2::Utf8Check;

/// Unmasks the four 32-byte lanes at `p` in place and returns them.
///
/// # Safety
/// AVX2, and 128 writable bytes at `p` (any alignment).
#[inline(always)]
unsafe fn unmask_four(p: *mut __m256i, kv: __m256i) -> [__m256i; 4] {
    // SAFETY: the caller guarantees AVX2 and the 128 bytes.
    unsafe {
        let a = _mm256_xor_si256(_mm256_loadu_si256(p), kv);
        let b = _mm256_xor_si256(_mm256_loadu_si256(p.add(1)), kv);
        let c = _mm256_xor_si256(_mm256_loadu_si256(p.add(2)), kv);
        let d = _mm256_xor_si256(_mm256_loadu_si256(p.add(3)), kv);
        _mm256_storeu_si256(p, a);
        _mm256_storeu_si256(p.add(1), b);
        _mm256_storeu_si256(p.add(2), c);
        _mm256_storeu_si256(p.add(3), d);
        [a, b, c, d]
    }
}

/// Unmasks the 32-byte lane at `p` in place and returns it.
///
/// # Safety
/// AVX2, and 32 writable bytes at `p` (any alignment).
#[inline(always)]
unsafe fn unmask_one(p: *mut __m256i, kv: __m256i) -> __m256i {
    // SAFETY: the caller guarantees AVX2 and the 32 bytes.
    unsafe {
        let v = _mm256_xor_si256(_mm256_loadu_si256(p), kv);
        _mm256_storeu_si256(p, v);
        v
    }
}

/// XORs `buf` with the key stream at `offset`; with `ASCII` also returns the
/// OR of every unmasked byte (only its high bit is meaningful).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn apply<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    let ptr = buf.as_mut_ptr();
    let kv = _mm256_set1_epi64x(scalar::key_u64(key, offset) as i64);
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 128 <= len {
        // SAFETY: i + 128 <= len, so all four 32-byte lanes are inside `buf`;
        // loadu/storeu accept any alignment.
        unsafe {
            let [a, b, c, d] = unmask_four(ptr.add(i) as *mut __m256i, kv);
            if ASCII {
                let ab = _mm256_or_si256(a, b);
                let cd = _mm256_or_si256(c, d);
                acc = _mm256_or_si256(acc, _mm256_or_si256(ab, cd));
            }
        }
        i += 128;
    }
    while i + 32 <= len {
        // SAFETY: i + 32 <= len keeps the lane inside `buf`.
        unsafe {
            let a = unmask_one(ptr.add(i) as *mut __m256i, kv);
            if ASCII {
                acc = _mm256_or_si256(acc, a);
            }
        }
        i += 32;
    }
    // i is a multiple of 32, so the key phase at i equals the phase at 0.
    let tail = scalar::apply_mask_words(&mut buf[i..], key, offset);
    if ASCII && _mm256_movemask_epi8(acc) != 0 {
        0x80
    } else {
        tail
    }
}

/// Unmasks a whole text payload and says whether it is valid UTF-8, in one
/// pass: each 32-byte vector is XORed, stored, and fed to the UTF-8 check
/// while still in a register; a 128-byte run that is all ASCII skips the
/// check. The tail below 32 bytes is unmasked by words, then checked as the
/// last 32 bytes of the buffer (some checked twice, which changes nothing)
/// after the 32 before them.
///
/// # Safety
/// The CPU must support AVX2, and `buf` must hold at least 64 bytes (the
/// dispatch passes 128 and more: `FUSED_UTF8`).
#[target_feature(enable = "avx2")]
pub unsafe fn apply_utf8(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    let len = buf.len();
    debug_assert!(len >= 64);
    let ptr = buf.as_mut_ptr();
    let kv = _mm256_set1_epi64x(scalar::key_u64(key, offset) as i64);
    // SAFETY: AVX2 is the caller's guarantee.
    let mut check = unsafe { Utf8Check::new() };
    // Four lanes a turn, as in the plain kernel: an ASCII run of 128 bytes
    // then costs little more than unmasking it.
    let high_bits = _mm256_set1_epi8(i8::MIN);
    // Counted down to the last whole turn: the loop's own bookkeeping is
    // then one add and one compare.
    let turns_end = len & !127;
    let mut i = 0;
    while i < turns_end {
        // SAFETY: i + 128 <= turns_end <= len, so all four lanes are inside
        // `buf`; loadu/storeu accept any alignment.
        unsafe {
            let [a, b, c, d] = unmask_four(ptr.add(i) as *mut __m256i, kv);
            let any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
            if _mm256_testz_si256(any, high_bits) == 1 {
                check.ascii_block(d);
            } else {
                check.block(a);
                check.block(b);
                check.block(c);
                check.block(d);
            }
        }
        i += 128;
    }
    while i + 32 <= len {
        // SAFETY: i + 32 <= len keeps the lane inside `buf`.
        unsafe {
            let a = unmask_one(ptr.add(i) as *mut __m256i, kv);
            check.block(a);
        }
        i += 32;
    }
    if i < len {
        // i is a multiple of 32, so the key phase at i equals the phase at 0.
        scalar::apply_mask_words(&mut buf[i..], key, offset);
        // Taken again: the words' borrow of `buf` ended the first pointer's.
        let last = buf[len - 64..].as_ptr() as *const __m256i;
        // SAFETY: len >= 64 (the caller's guarantee): both lanes of the
        // last 64 bytes, now all unmasked, are inside `buf`.
        unsafe {
            check.restart_after(_mm256_loadu_si256(last));
            check.block(_mm256_loadu_si256(last.add(1)));
        }
    }
    // SAFETY: AVX2 is the caller's guarantee.
    unsafe { check.finish() }
}

/// `dst = src ^ key stream`.
///
/// # Safety
/// The CPU must support AVX2; `dst.len() == src.len()`.
#[target_feature(enable = "avx2")]
pub unsafe fn copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let len = src.len();
    let kv = _mm256_set1_epi64x(scalar::key_u64(key, offset) as i64);
    let mut i = 0;
    while i + 32 <= len {
        // SAFETY: both slices hold `len` bytes (caller contract) and
        // i + 32 <= len; unaligned access is allowed.
        unsafe {
            let v = _mm256_loadu_si256(src.as_ptr().add(i) as *const __m256i);
            let out = dst.as_mut_ptr().add(i) as *mut __m256i;
            _mm256_storeu_si256(out, _mm256_xor_si256(v, kv));
        }
        i += 32;
    }
    scalar::copy_masked_words(&mut dst[i..], &src[i..], key, offset);
}
