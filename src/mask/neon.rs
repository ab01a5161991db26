//! NEON kernels (every aarch64 CPU has NEON): 16-byte lanes, four per turn.

use std::arch::aarch64::*;

use super::scalar;

/// XORs `buf` with the key stream at `offset`; with `ASCII` also returns the
/// OR of every unmasked byte (only its high bit is meaningful).
///
/// # Safety
/// The CPU must support NEON (always true on aarch64 Linux).
#[target_feature(enable = "neon")]
pub unsafe fn apply<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    let ptr = buf.as_mut_ptr();
    let kv = vreinterpretq_u8_u64(vdupq_n_u64(scalar::key_u64(key, offset)));
    let mut acc = vdupq_n_u8(0);
    let mut i = 0;
    while i + 64 <= len {
        // SAFETY: i + 64 <= len, so the four 16-byte lanes are inside `buf`;
        // vld1q/vst1q have no alignment requirement.
        unsafe {
            let p = ptr.add(i);
            let a = veorq_u8(vld1q_u8(p), kv);
            let b = veorq_u8(vld1q_u8(p.add(16)), kv);
            let c = veorq_u8(vld1q_u8(p.add(32)), kv);
            let d = veorq_u8(vld1q_u8(p.add(48)), kv);
            vst1q_u8(p, a);
            vst1q_u8(p.add(16), b);
            vst1q_u8(p.add(32), c);
            vst1q_u8(p.add(48), d);
            if ASCII {
                acc = vorrq_u8(acc, vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d)));
            }
        }
        i += 64;
    }
    while i + 16 <= len {
        // SAFETY: i + 16 <= len keeps the lane inside `buf`.
        unsafe {
            let p = ptr.add(i);
            let a = veorq_u8(vld1q_u8(p), kv);
            vst1q_u8(p, a);
            if ASCII {
                acc = vorrq_u8(acc, a);
            }
        }
        i += 16;
    }
    let tail = scalar::apply_mask_words(&mut buf[i..], key, offset);
    if ASCII {
        vmaxvq_u8(acc) | tail
    } else {
        tail
    }
}

/// `dst = src ^ key stream`.
///
/// # Safety
/// The CPU must support NEON; `dst.len() == src.len()`.
#[target_feature(enable = "neon")]
pub unsafe fn copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let len = src.len();
    let kv = vreinterpretq_u8_u64(vdupq_n_u64(scalar::key_u64(key, offset)));
    let mut i = 0;
    while i + 16 <= len {
        // SAFETY: both slices hold `len` bytes (caller contract), i + 16 <= len.
        unsafe {
            let v = vld1q_u8(src.as_ptr().add(i));
            vst1q_u8(dst.as_mut_ptr().add(i), veorq_u8(v, kv));
        }
        i += 16;
    }
    scalar::copy_masked_words(&mut dst[i..], &src[i..], key, offset);
}
