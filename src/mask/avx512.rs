//! AVX-512 (F + BW) kernels. On the CPUs measured here an unaligned 64-byte
//! store costs ~40% of throughput on long buffers, so from [`ALIGN_FROM`]
//! bytes on the first bytes up to a 64-byte boundary go through one
//! byte-masked load and store, and every full lane after is aligned. Shorter
//! buffers skip that head (it costs more than it saves there). The last
//! partial lane is always byte-masked: no scalar loop at either end.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::scalar;

/// From this length on, the head is aligned first (see the module docs;
/// measured with the `kernels` bench).
const ALIGN_FROM: usize = 512;

/// Byte-lane mask selecting the first `n` (< 64) lanes.
#[inline(always)]
fn first_lanes(n: usize) -> u64 {
    debug_assert!(n < 64);
    (1u64 << n) - 1
}

/// XORs `buf` with the key stream at `offset`; with `ASCII` also returns the
/// OR of every unmasked byte (only its high bit is meaningful).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn apply<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    let ptr = buf.as_mut_ptr();
    let head = if len >= ALIGN_FROM {
        ptr.align_offset(64).min(63)
    } else {
        0
    };
    let mut acc = _mm512_setzero_si512();
    if head > 0 {
        let m = first_lanes(head);
        let kv = _mm512_set1_epi64(scalar::key_u64(key, offset) as i64);
        // SAFETY: the mask enables only lanes 0..head, all inside `buf`;
        // masked-off lanes are neither read nor written.
        unsafe {
            let v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, ptr as *const i8), kv);
            _mm512_mask_storeu_epi8(ptr as *mut i8, m, v);
            if ASCII {
                acc = _mm512_maskz_mov_epi8(m, v);
            }
        }
    }
    let kv = _mm512_set1_epi64(scalar::key_u64(key, offset + head) as i64);
    let mut i = head;
    while i + 256 <= len {
        // SAFETY: i + 256 <= len keeps the four lanes inside `buf`; loadu
        // and storeu accept any alignment (and are full speed on the
        // aligned addresses the head produced for long buffers).
        unsafe {
            let p = ptr.add(i) as *mut __m512i;
            let a = _mm512_xor_si512(_mm512_loadu_si512(p), kv);
            let b = _mm512_xor_si512(_mm512_loadu_si512(p.add(1)), kv);
            let c = _mm512_xor_si512(_mm512_loadu_si512(p.add(2)), kv);
            let d = _mm512_xor_si512(_mm512_loadu_si512(p.add(3)), kv);
            _mm512_storeu_si512(p, a);
            _mm512_storeu_si512(p.add(1), b);
            _mm512_storeu_si512(p.add(2), c);
            _mm512_storeu_si512(p.add(3), d);
            if ASCII {
                let ab = _mm512_or_si512(a, b);
                let cd = _mm512_or_si512(c, d);
                acc = _mm512_or_si512(acc, _mm512_or_si512(ab, cd));
            }
        }
        i += 256;
    }
    while i + 64 <= len {
        // SAFETY: i + 64 <= len keeps the lane in `buf`; any alignment.
        unsafe {
            let p = ptr.add(i) as *mut __m512i;
            let a = _mm512_xor_si512(_mm512_loadu_si512(p), kv);
            _mm512_storeu_si512(p, a);
            if ASCII {
                acc = _mm512_or_si512(acc, a);
            }
        }
        i += 64;
    }
    if i < len {
        let m = first_lanes(len - i);
        // SAFETY: only lanes 0..len-i are enabled, all inside `buf`.
        unsafe {
            let p = ptr.add(i);
            let v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p as *const i8), kv);
            _mm512_mask_storeu_epi8(p as *mut i8, m, v);
            if ASCII {
                acc = _mm512_or_si512(acc, _mm512_maskz_mov_epi8(m, v));
            }
        }
    }
    if ASCII && _mm512_movepi8_mask(acc) != 0 {
        0x80
    } else {
        0
    }
}

/// `dst = src ^ key stream`, with stores aligned on `dst`.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW; `dst.len() == src.len()`.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let len = src.len();
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    let head = if len >= ALIGN_FROM {
        d.align_offset(64).min(63)
    } else {
        0
    };
    if head > 0 {
        let m = first_lanes(head);
        let kv = _mm512_set1_epi64(scalar::key_u64(key, offset) as i64);
        // SAFETY: only lanes 0..head are enabled; both slices hold len bytes.
        unsafe {
            let v = _mm512_maskz_loadu_epi8(m, s as *const i8);
            _mm512_mask_storeu_epi8(d as *mut i8, m, _mm512_xor_si512(v, kv));
        }
    }
    let kv = _mm512_set1_epi64(scalar::key_u64(key, offset + head) as i64);
    let mut i = head;
    while i + 64 <= len {
        // SAFETY: i + 64 <= len keeps the lane inside both slices; any
        // alignment is accepted.
        unsafe {
            let v = _mm512_loadu_si512(s.add(i) as *const __m512i);
            _mm512_storeu_si512(d.add(i) as *mut __m512i, _mm512_xor_si512(v, kv));
        }
        i += 64;
    }
    if i < len {
        let m = first_lanes(len - i);
        // SAFETY: only lanes 0..len-i are enabled, inside both slices.
        unsafe {
            let v = _mm512_maskz_loadu_epi8(m, s.add(i) as *const i8);
            _mm512_mask_storeu_epi8(d.add(i) as *mut i8, m, _mm512_xor_si512(v, kv));
        }
    }
}
