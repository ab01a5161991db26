//! The lookup UTF-8 check ([`super::lookup`]) on 64-byte AVX-512 (F + BW)
//! vectors, about 20 instructions per 64 bytes. The bytes before each
//! 128-bit lane come from the previous lane (`valignq`, then `vpalignr`),
//! and the last partial vector is a byte-masked, zero-padded load.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::lookup::{incomplete_max, Classes, FOURTH, THIRD};

static INCOMPLETE: [u8; 64] = incomplete_max();

/// A 16-entry table repeated in all four 128-bit lanes (`vpshufb` looks up
/// within each lane).
#[inline(always)]
unsafe fn table(t: [u8; 16]) -> __m512i {
    let all: [[u8; 16]; 4] = [t, t, t, t];
    // SAFETY: 64 plain bytes; loadu takes any alignment.
    unsafe { _mm512_loadu_si512(all.as_ptr() as *const __m512i) }
}

/// The check's state between vectors: the errors found so far and the
/// previous vector (its last three bytes are the context of the next one).
struct Utf8Check {
    error: __m512i,
    prev: __m512i,
    prev_high: __m512i,
    prev_low: __m512i,
    this_high: __m512i,
}

impl Utf8Check {
    /// A check at the start of a text.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512BW.
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller guarantees AVX-512.
        unsafe {
            Utf8Check {
                error: _mm512_setzero_si512(),
                prev: _mm512_setzero_si512(),
                prev_high: table(Classes::PREV_HIGH),
                prev_low: table(Classes::PREV_LOW),
                this_high: table(Classes::THIS_HIGH),
            }
        }
    }

    /// Checks the next 64 bytes of the text.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512BW.
    #[inline(always)]
    unsafe fn block(&mut self, input: __m512i) {
        // SAFETY: the caller guarantees AVX-512; register operations only.
        unsafe {
            // [prev's last lane, input's lanes 0..3]: per 128-bit lane, the
            // 16 bytes before each lane of `input`.
            let before = _mm512_alignr_epi64(input, self.prev, 6);
            let prev1 = _mm512_alignr_epi8(input, before, 15);
            let prev2 = _mm512_alignr_epi8(input, before, 14);
            let prev3 = _mm512_alignr_epi8(input, before, 13);
            let nibble = _mm512_set1_epi8(0x0F);
            let high1 = _mm512_and_si512(_mm512_srli_epi16(prev1, 4), nibble);
            let low1 = _mm512_and_si512(prev1, nibble);
            let high = _mm512_and_si512(_mm512_srli_epi16(input, 4), nibble);
            let pairs = _mm512_and_si512(
                _mm512_and_si512(
                    _mm512_shuffle_epi8(self.prev_high, high1),
                    _mm512_shuffle_epi8(self.prev_low, low1),
                ),
                _mm512_shuffle_epi8(self.this_high, high),
            );
            let third = _mm512_subs_epu8(prev2, _mm512_set1_epi8(THIRD as i8));
            let fourth = _mm512_subs_epu8(prev3, _mm512_set1_epi8(FOURTH as i8));
            let wanted = _mm512_and_si512(
                _mm512_or_si512(third, fourth),
                _mm512_set1_epi8(0x80u8 as i8),
            );
            self.error = _mm512_or_si512(self.error, _mm512_xor_si512(wanted, pairs));
            self.prev = input;
        }
    }

    /// Takes 64 bytes known to be ASCII: valid, unless the bytes before
    /// them ended inside a code point.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512BW.
    #[inline(always)]
    unsafe fn ascii_block(&mut self, input: __m512i) {
        // SAFETY: the caller guarantees AVX-512.
        unsafe {
            self.error = _mm512_or_si512(self.error, cut_short(self.prev));
            self.prev = input;
        }
    }

    /// True when the text checked so far is valid UTF-8 and does not end
    /// inside a code point.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512BW.
    #[inline(always)]
    unsafe fn finish(&self) -> bool {
        // SAFETY: the caller guarantees AVX-512.
        unsafe {
            let error = _mm512_or_si512(self.error, cut_short(self.prev));
            _mm512_test_epi8_mask(error, error) == 0
        }
    }
}

/// Non-zero where `v`'s last bytes start a code point it does not finish.
#[inline(always)]
unsafe fn cut_short(v: __m512i) -> __m512i {
    // SAFETY: the caller guarantees AVX-512; INCOMPLETE holds 64 bytes.
    unsafe { _mm512_subs_epu8(v, _mm512_loadu_si512(INCOMPLETE.as_ptr() as *const __m512i)) }
}

/// Whether `bytes` is valid UTF-8 as a whole. Two vectors a turn, a
/// 128-byte run that is all ASCII skipping the check; the last partial
/// vector is loaded zero-padded and checked like the others (zeros are
/// ASCII: a code point the end cuts short is caught as one).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn validate(bytes: &[u8]) -> bool {
    let len = bytes.len();
    let ptr = bytes.as_ptr();
    // SAFETY: AVX-512 is the caller's guarantee; every full load keeps
    // i + 64 <= len, and the masked load reads only lanes 0..len-i, inside
    // `bytes`.
    unsafe {
        let mut check = Utf8Check::new();
        let mut i = 0;
        while i + 128 <= len {
            let a = _mm512_loadu_si512(ptr.add(i) as *const __m512i);
            let b = _mm512_loadu_si512(ptr.add(i + 64) as *const __m512i);
            if _mm512_movepi8_mask(_mm512_or_si512(a, b)) == 0 {
                check.ascii_block(b);
            } else {
                check.block(a);
                check.block(b);
            }
            i += 128;
        }
        if i + 64 <= len {
            check.block(_mm512_loadu_si512(ptr.add(i) as *const __m512i));
            i += 64;
        }
        if i < len {
            let m = (1u64 << (len - i)) - 1;
            check.block(_mm512_maskz_loadu_epi8(m, ptr.add(i) as *const i8));
        }
        check.finish()
    }
}
