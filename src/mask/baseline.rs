//! The medium-size route: 16-byte lanes of the ISA every CPU of the target
//! architecture has (SSE2 on x86_64, NEON on aarch64), compiled inline into
//! the caller — no runtime dispatch, no call. The last, possibly overlapping
//! lane is loaded before any store, so no byte is XORed twice and there is
//! no scalar tail. Needs at least 16 bytes.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::scalar::key_u64;

/// True where this route exists (x86_64 and aarch64).
pub const AVAILABLE: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// XORs `buf` (len ≥ 16) with the key stream at `offset`; with `ASCII`
/// returns the OR of the unmasked bytes' high bits (0x80 if any is set).
#[inline(always)]
pub fn apply<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    assert!(len >= 16, "the baseline route needs 16 bytes");
    let tail_at = len - 16;
    let pattern = key_u64(key, offset);
    // The tail lane starts at tail_at, so its key is rotated by tail_at.
    let tail_pattern = pattern.rotate_right(8 * (tail_at as u32 & 3));
    imp::apply::<ASCII>(buf, pattern, tail_pattern, tail_at)
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::*;

    #[inline(always)]
    pub fn apply<const ASCII: bool>(
        buf: &mut [u8],
        pattern: u64,
        tail_pattern: u64,
        tail_at: usize,
    ) -> u8 {
        let ptr = buf.as_mut_ptr();
        // SAFETY: SSE2 is part of the x86_64 baseline, so its intrinsics are
        // always available (as in every unsafe block here).
        let kv = unsafe { _mm_set1_epi64x(pattern as i64) };
        // SAFETY: tail_at + 16 == len: the tail lane is inside `buf`, and it
        // is loaded before any store below.
        let tail = unsafe {
            _mm_xor_si128(
                _mm_loadu_si128(ptr.add(tail_at) as *const __m128i),
                _mm_set1_epi64x(tail_pattern as i64),
            )
        };
        let mut acc = tail;
        let mut i = 0;
        while i < tail_at {
            // SAFETY: i < tail_at = len - 16, so i + 16 <= len.
            unsafe {
                let p = ptr.add(i) as *mut __m128i;
                let v = _mm_xor_si128(_mm_loadu_si128(p), kv);
                _mm_storeu_si128(p, v);
                if ASCII {
                    acc = _mm_or_si128(acc, v);
                }
            }
            i += 16;
        }
        // SAFETY: as for the load above.
        unsafe { _mm_storeu_si128(ptr.add(tail_at) as *mut __m128i, tail) };
        // SAFETY: SSE2 is baseline (see above).
        if ASCII && unsafe { _mm_movemask_epi8(acc) } != 0 {
            0x80
        } else {
            0
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    use super::*;

    #[inline(always)]
    pub fn apply<const ASCII: bool>(
        buf: &mut [u8],
        pattern: u64,
        tail_pattern: u64,
        tail_at: usize,
    ) -> u8 {
        let ptr = buf.as_mut_ptr();
        // SAFETY: NEON is part of the aarch64 baseline. tail_at + 16 == len:
        // the tail lane is inside `buf` and loaded before any store below.
        unsafe {
            let kv = vreinterpretq_u8_u64(vdupq_n_u64(pattern));
            let tail = veorq_u8(
                vld1q_u8(ptr.add(tail_at)),
                vreinterpretq_u8_u64(vdupq_n_u64(tail_pattern)),
            );
            let mut acc = tail;
            let mut i = 0;
            while i < tail_at {
                // i < tail_at = len - 16, so i + 16 <= len.
                let v = veorq_u8(vld1q_u8(ptr.add(i)), kv);
                vst1q_u8(ptr.add(i), v);
                if ASCII {
                    acc = vorrq_u8(acc, v);
                }
                i += 16;
            }
            vst1q_u8(ptr.add(tail_at), tail);
            if ASCII {
                vmaxvq_u8(acc)
            } else {
                0
            }
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod imp {
    #[inline(always)]
    pub fn apply<const ASCII: bool>(buf: &mut [u8], pattern: u64, _: u64, _: usize) -> u8 {
        let key = (pattern as u32).to_le_bytes();
        super::super::scalar::apply_mask_words(buf, key, 0)
    }
}
