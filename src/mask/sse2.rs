//! SSE2 kernels (every x86_64 CPU has SSE2): 16-byte lanes, four per turn.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::scalar;

/// XORs `buf` with the key stream at `offset`; with `ASCII` also returns the
/// OR of every unmasked byte (only its high bit is meaningful).
///
/// # Safety
/// The CPU must support SSE2.
#[target_feature(enable = "sse2")]
pub unsafe fn apply<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    let ptr = buf.as_mut_ptr();
    let kv = _mm_set1_epi64x(scalar::key_u64(key, offset) as i64);
    let mut acc = _mm_setzero_si128();
    let mut i = 0;
    while i + 64 <= len {
        // SAFETY: i + 64 <= len, so all four 16-byte lanes are inside `buf`;
        // loadu/storeu accept any alignment.
        unsafe {
            let p = ptr.add(i) as *mut __m128i;
            let a = _mm_xor_si128(_mm_loadu_si128(p), kv);
            let b = _mm_xor_si128(_mm_loadu_si128(p.add(1)), kv);
            let c = _mm_xor_si128(_mm_loadu_si128(p.add(2)), kv);
            let d = _mm_xor_si128(_mm_loadu_si128(p.add(3)), kv);
            _mm_storeu_si128(p, a);
            _mm_storeu_si128(p.add(1), b);
            _mm_storeu_si128(p.add(2), c);
            _mm_storeu_si128(p.add(3), d);
            if ASCII {
                acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)));
            }
        }
        i += 64;
    }
    while i + 16 <= len {
        // SAFETY: i + 16 <= len keeps the lane inside `buf`.
        unsafe {
            let p = ptr.add(i) as *mut __m128i;
            let a = _mm_xor_si128(_mm_loadu_si128(p), kv);
            _mm_storeu_si128(p, a);
            if ASCII {
                acc = _mm_or_si128(acc, a);
            }
        }
        i += 16;
    }
    // i is a multiple of 16, so the key phase at i equals the phase at 0.
    let tail = scalar::apply_mask_words(&mut buf[i..], key, offset);
    if ASCII && _mm_movemask_epi8(acc) != 0 {
        0x80
    } else {
        tail
    }
}

/// `dst = src ^ key stream`.
///
/// # Safety
/// The CPU must support SSE2; `dst.len() == src.len()`.
#[target_feature(enable = "sse2")]
pub unsafe fn copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let len = src.len();
    let kv = _mm_set1_epi64x(scalar::key_u64(key, offset) as i64);
    let mut i = 0;
    while i + 16 <= len {
        // SAFETY: both slices hold `len` bytes (caller contract) and
        // i + 16 <= len; unaligned access is allowed.
        unsafe {
            let v = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
            _mm_storeu_si128(
                dst.as_mut_ptr().add(i) as *mut __m128i,
                _mm_xor_si128(v, kv),
            );
        }
        i += 16;
    }
    scalar::copy_masked_words(&mut dst[i..], &src[i..], key, offset);
}
