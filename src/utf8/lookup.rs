//! The tables of the "lookup" UTF-8 check (Keiser and Lemire, "Validating
//! UTF-8 in less than one instruction per byte", 2021), for the AVX-512
//! check (`avx512.rs`) and the AVX2 one the fused unmask pass feeds
//! (`avx2.rs`).
//!
//! Every error in UTF-8 shows in one of two places:
//!
//! * **a pair of adjacent bytes**, the previous byte and this one. Each
//!   kind of bad pair is one bit of a byte. Three 16-entry tables, looked up
//!   by the previous byte's high nibble, its low nibble and this byte's high
//!   nibble, each give the kinds that nibble allows; a pair is bad when one
//!   bit is set in all three.
//! * **a continuation byte where the lead two or three bytes back expected
//!   one, or the reverse.** Two continuations in a row are flagged by the
//!   pair tables (bit 7); that bit is flipped where a lead ≥ 0xE0 two back,
//!   or ≥ 0xF0 three back, calls for exactly that, so what is left set is an
//!   error either way.
//!
//! A code point cut short by the end of the text is found by a saturating
//! subtraction on the last three bytes ([`incomplete_max`]).
//!
//! The tests (`tests/utf8_kernels.rs`, `tests/mask_equivalence.rs`) compare
//! both with `std::str::from_utf8` on every pair of bytes and every 4-byte
//! sequence of class edges at the vector boundaries, and on random texts.

/// The kinds of bad pair (previous byte, this byte), one bit each.
pub(crate) struct Classes;

impl Classes {
    /// A lead byte (0xC0..) followed by ASCII or another lead.
    const TOO_SHORT: u8 = 1 << 0;
    /// ASCII followed by a continuation byte.
    const TOO_LONG: u8 = 1 << 1;
    /// 0xE0 then 0x80..=0x9F: a 3-byte form of a code point below U+0800.
    const OVERLONG_3: u8 = 1 << 2;
    /// 0xF4 then 0x90..=0xBF, or 0xF5..=0xFF then 0x90..=0xBF: above U+10FFFF.
    const TOO_LARGE: u8 = 1 << 3;
    /// 0xED then 0xA0..=0xBF: U+D800..=U+DFFF, the surrogates.
    const SURROGATE: u8 = 1 << 4;
    /// 0xC0 or 0xC1 then a continuation: a 2-byte form of ASCII.
    const OVERLONG_2: u8 = 1 << 5;
    /// 0xF0 then 0x80..=0x8F (a 4-byte form below U+10000), or 0xF5..=0xFF
    /// then 0x80..=0x8F (above U+10FFFF). The two share a bit: they share
    /// this byte's nibble, and no previous byte is both.
    const OVERLONG_4_OR_TOO_LARGE_1000: u8 = 1 << 6;
    /// Two continuation bytes (an error unless a lead two or three bytes
    /// back asks for it).
    const TWO_CONTS: u8 = 1 << 7;

    /// Kinds any low nibble of the previous byte allows.
    const ANY_LOW: u8 = Self::TOO_SHORT | Self::TOO_LONG | Self::TWO_CONTS;
    const LARGE: u8 = Self::TOO_LARGE | Self::OVERLONG_4_OR_TOO_LARGE_1000;

    /// By the previous byte's high nibble.
    pub const PREV_HIGH: [u8; 16] = {
        let ascii = Self::TOO_LONG;
        let cont = Self::TWO_CONTS;
        [
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            cont,
            cont,
            cont,
            cont,
            Self::TOO_SHORT | Self::OVERLONG_2, // 0xC_
            Self::TOO_SHORT,                    // 0xD_
            Self::TOO_SHORT | Self::OVERLONG_3 | Self::SURROGATE, // 0xE_
            Self::TOO_SHORT | Self::LARGE,      // 0xF_
        ]
    };

    /// By the previous byte's low nibble.
    pub const PREV_LOW: [u8; 16] = {
        let any = Self::ANY_LOW;
        let large = any | Self::LARGE; // 0xF5..=0xFF
        [
            // 0xC0, 0xE0, 0xF0
            any | Self::OVERLONG_2 | Self::OVERLONG_3 | Self::OVERLONG_4_OR_TOO_LARGE_1000,
            any | Self::OVERLONG_2, // 0xC1
            any,
            any,
            any | Self::TOO_LARGE, // 0xF4
            large,
            large,
            large,
            large,
            large,
            large,
            large,
            large,
            large | Self::SURROGATE, // 0xED (and 0xFD)
            large,
            large,
        ]
    };

    /// By this byte's high nibble.
    pub const THIS_HIGH: [u8; 16] = {
        let ascii = Self::TOO_SHORT;
        let cont = Self::TOO_LONG | Self::OVERLONG_2 | Self::TWO_CONTS;
        [
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            ascii,
            cont | Self::OVERLONG_3 | Self::OVERLONG_4_OR_TOO_LARGE_1000, // 0x80..=0x8F
            cont | Self::OVERLONG_3 | Self::TOO_LARGE,                    // 0x90..=0x9F
            cont | Self::SURROGATE | Self::TOO_LARGE,                     // 0xA0..=0xAF
            cont | Self::SURROGATE | Self::TOO_LARGE,                     // 0xB0..=0xBF
            ascii,
            ascii,
            ascii,
            ascii,
        ]
    };
}

/// Subtracted (saturating) from a lead two back: the high bit stays set
/// from 0xE0 on.
pub(crate) const THIRD: u8 = 0xE0 - 0x80;
/// The same for a lead three back, from 0xF0 on.
pub(crate) const FOURTH: u8 = 0xF0 - 0x80;

/// Subtracted (saturating) from a vector of `N` bytes, the last of a text:
/// non-zero where a lead needs more bytes than are left (any lead last,
/// 0xE0.. second last, 0xF0.. third last). The other bytes subtract 0xFF,
/// which leaves nothing.
pub(crate) const fn incomplete_max<const N: usize>() -> [u8; N] {
    let mut max = [0xFF; N];
    max[N - 3] = 0xF0 - 1;
    max[N - 2] = 0xE0 - 1;
    max[N - 1] = 0xC0 - 1;
    max
}
