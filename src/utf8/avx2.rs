//! The lookup UTF-8 check ([`super::lookup`]) on 32-byte AVX2 vectors, fed
//! one vector at a time by the fused unmask kernel (`mask::avx2`), which
//! checks a text in the pass that unmasks it. About 20 instructions per 32
//! bytes: on its own it is no faster than simdutf8's AVX2 path, so only
//! the fused pass uses it.

#[cfg(target_arch = "x86")]
use std::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::lookup::{incomplete_max, Classes, FOURTH, THIRD};

static THIRDS: [u8; 32] = [THIRD; 32];
static FOURTHS: [u8; 32] = [FOURTH; 32];
static HIGH_BIT: [u8; 32] = [0x80; 32];
static NIBBLE: [u8; 32] = [0x0F; 32];
static INCOMPLETE: [u8; 32] = incomplete_max();

/// A 32-byte constant, read whole from memory: the instruction that uses it
/// can take it as an operand, where a broadcast of one byte would need a
/// register of its own (and the fused loop has none to spare).
#[inline(always)]
unsafe fn splat(bytes: &'static [u8; 32]) -> __m256i {
    // SAFETY: 32 readable bytes; loadu takes any alignment.
    unsafe { _mm256_loadu_si256(bytes.as_ptr() as *const __m256i) }
}

/// A 16-entry table repeated in both 128-bit halves (`vpshufb` looks up
/// within each half).
#[inline(always)]
unsafe fn table(t: [u8; 16]) -> __m256i {
    let both: [[u8; 16]; 2] = [t, t];
    // SAFETY: 32 plain bytes; loadu takes any alignment.
    unsafe { _mm256_loadu_si256(both.as_ptr() as *const __m256i) }
}

/// The check's state between vectors: the errors found so far and the
/// previous vector (its last three bytes are the context of the next one).
pub(crate) struct Utf8Check {
    error: __m256i,
    prev: __m256i,
    prev_high: __m256i,
    prev_low: __m256i,
    this_high: __m256i,
}

impl Utf8Check {
    /// A check at the start of a text.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    pub unsafe fn new() -> Self {
        // SAFETY: the caller guarantees AVX2.
        unsafe {
            Utf8Check {
                error: _mm256_setzero_si256(),
                prev: _mm256_setzero_si256(),
                prev_high: table(Classes::PREV_HIGH),
                prev_low: table(Classes::PREV_LOW),
                this_high: table(Classes::THIS_HIGH),
            }
        }
    }

    /// Checks the next 32 bytes of the text.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    pub unsafe fn block(&mut self, input: __m256i) {
        // SAFETY: the caller guarantees AVX2; the rest are register
        // operations and reads of 32-byte statics.
        unsafe {
            // [prev's high half, input's low half]: per 128-bit half, the
            // 16 bytes before each half of `input`.
            let before = _mm256_permute2x128_si256(self.prev, input, 0x21);
            let prev1 = _mm256_alignr_epi8(input, before, 15);
            let prev2 = _mm256_alignr_epi8(input, before, 14);
            let prev3 = _mm256_alignr_epi8(input, before, 13);
            let nibble = splat(&NIBBLE);
            let high1 = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nibble);
            let low1 = _mm256_and_si256(prev1, nibble);
            let high = _mm256_and_si256(_mm256_srli_epi16(input, 4), nibble);
            let pairs = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_shuffle_epi8(self.prev_high, high1),
                    _mm256_shuffle_epi8(self.prev_low, low1),
                ),
                _mm256_shuffle_epi8(self.this_high, high),
            );
            let third = _mm256_subs_epu8(prev2, splat(&THIRDS));
            let fourth = _mm256_subs_epu8(prev3, splat(&FOURTHS));
            let wanted = _mm256_and_si256(_mm256_or_si256(third, fourth), splat(&HIGH_BIT));
            self.error = _mm256_or_si256(self.error, _mm256_xor_si256(wanted, pairs));
            self.prev = input;
        }
    }

    /// Takes 32 bytes known to be ASCII: valid, unless the bytes before
    /// them ended inside a code point.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    pub unsafe fn ascii_block(&mut self, input: __m256i) {
        // SAFETY: the caller guarantees AVX2.
        unsafe {
            let cut_short = _mm256_subs_epu8(self.prev, splat(&INCOMPLETE));
            self.error = _mm256_or_si256(self.error, cut_short);
            self.prev = input;
        }
    }

    /// Sets the context for the next block to the 32 bytes `before` it,
    /// whatever came before (a tail checked again from an earlier start).
    #[inline(always)]
    pub fn restart_after(&mut self, before: __m256i) {
        self.prev = before;
    }

    /// True when the text checked so far is valid UTF-8 and does not end
    /// inside a code point.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    pub unsafe fn finish(&self) -> bool {
        // SAFETY: the caller guarantees AVX2.
        unsafe {
            let cut_short = _mm256_subs_epu8(self.prev, splat(&INCOMPLETE));
            let error = _mm256_or_si256(self.error, cut_short);
            _mm256_testz_si256(error, error) == 1
        }
    }
}
