//! Streaming UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message can be split at any byte: across TCP reads, across
//! fragments. [`StreamingUtf8`] validates each piece as it arrives, carrying
//! at most one incomplete code point (≤ 3 bytes) to the next piece, and fails
//! as soon as the bytes seen so far cannot be the start of valid UTF-8 — not
//! at the end of the frame or message (Autobahn 6.4.3/6.4.4 test exactly that).
//!
//! The body of each piece goes to one whole-text check ([`validate_with`]:
//! our lookup kernel on AVX-512, simdutf8 elsewhere); only the
//! ≤ 3-byte incomplete tail is checked byte by byte, against the exact
//! second-byte ranges of RFC 3629 (no overlongs, surrogates or > U+10FFFF).

use std::fmt;

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub(crate) mod avx2;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx512;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod lookup;

/// The bytes seen so far are not, and cannot become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8 in text payload")
    }
}

impl std::error::Error for Utf8Error {}

/// Incremental validator; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct StreamingUtf8 {
    /// The incomplete code point carried from the previous piece.
    carry: [u8; 4],
    carry_len: u8,
    /// Total length of the carried code point, from its lead byte.
    width: u8,
}

impl StreamingUtf8 {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        StreamingUtf8 {
            carry: [0; 4],
            carry_len: 0,
            width: 0,
        }
    }

    /// True when no code point is left incomplete.
    pub fn is_boundary(&self) -> bool {
        self.carry_len == 0
    }

    /// Validates the next piece of the message.
    pub fn feed(&mut self, piece: &[u8]) -> Result<(), Utf8Error> {
        let mut rest = piece;
        if self.carry_len > 0 {
            let missing = (self.width - self.carry_len) as usize;
            let take = missing.min(rest.len());
            for &byte in &rest[..take] {
                self.push(byte)?;
            }
            rest = &rest[take..];
            if self.carry_len < self.width {
                return Ok(());
            }
            self.carry_len = 0;
        }
        let split = incomplete_tail_start(rest);
        let (body, tail) = rest.split_at(split);
        validate_complete(body)?;
        for &byte in tail {
            self.push(byte)?;
        }
        Ok(())
    }

    /// Validates a piece already known to be all ASCII (the fused unmask pass
    /// proved it): free unless a code point is being carried.
    #[inline]
    pub fn feed_ascii(&mut self, piece: &[u8]) -> Result<(), Utf8Error> {
        if self.carry_len == 0 {
            Ok(())
        } else {
            self.feed(piece)
        }
    }

    /// The message ended: an incomplete code point is an error. Resets the
    /// validator for the next message either way.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let complete = self.carry_len == 0;
        *self = StreamingUtf8::new();
        if complete {
            Ok(())
        } else {
            Err(Utf8Error)
        }
    }

    /// Appends one byte of an incomplete code point, failing at once if no
    /// valid code point can start with the bytes carried so far.
    fn push(&mut self, byte: u8) -> Result<(), Utf8Error> {
        let ok = match self.carry_len {
            0 => {
                self.width = match byte {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => 0,
                };
                self.width != 0
            }
            1 => match self.carry[0] {
                0xE0 => (0xA0..=0xBF).contains(&byte),
                0xED => (0x80..=0x9F).contains(&byte),
                0xF0 => (0x90..=0xBF).contains(&byte),
                0xF4 => (0x80..=0x8F).contains(&byte),
                _ => (0x80..=0xBF).contains(&byte),
            },
            _ => (0x80..=0xBF).contains(&byte),
        };
        if !ok {
            *self = StreamingUtf8::new();
            return Err(Utf8Error);
        }
        self.carry[self.carry_len as usize] = byte;
        self.carry_len += 1;
        Ok(())
    }
}

/// Index where a trailing code point that the piece cuts short begins, or
/// `bytes.len()` if the piece ends on a boundary (or on an error that the
/// body check will report).
fn incomplete_tail_start(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(3) {
        let byte = bytes[n - back];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead
        }
        let width = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return n,
        };
        return if width > back { n - back } else { n };
    }
    n
}

/// Validates bytes that must hold only complete code points.
#[inline]
fn validate_complete(bytes: &[u8]) -> Result<(), Utf8Error> {
    // SAFETY: `detected` returns only a kernel this CPU runs.
    if unsafe { validate_unchecked(crate::mask::Kernel::detected(), bytes) } {
        Ok(())
    } else {
        Err(Utf8Error)
    }
}

/// From this length on, the AVX-512 lookup kernel checks a text; below it
/// simdutf8 does, whose setup is cheaper (the `kernels` bench, `utf8-whole`:
/// at 64 bytes simdutf8 is faster on any text, at 256 ours on all but pure
/// ASCII).
pub const LOOKUP_FROM: usize = 128;

/// Whether `bytes` is valid UTF-8 as a whole, checked by the UTF-8 kernel
/// that goes with `kernel`: the lookup check (`utf8/lookup.rs`) on AVX-512
/// vectors from [`LOOKUP_FROM`] bytes, or simdutf8 (its own best path, AVX2
/// where the CPU has it) below that and for every other kernel.
/// [`to_str`] uses the detected kernel; tests and benchmarks pick one.
///
/// The AVX-512 check is ours because simdutf8 has none: ours is 1.4–1.6×
/// faster than simdutf8's AVX2 path on text that is not all ASCII, from
/// 1 KiB. The same check written for AVX2 ran at simdutf8's speed in as
/// many instructions (the same shuffles bound both), so AVX2 stays
/// simdutf8's. The `kernels` bench and `tests/utf8_kernels.rs` compare the
/// two, and both with std.
///
/// # Panics
/// If this CPU cannot run `kernel`.
pub fn validate_with(kernel: crate::mask::Kernel, bytes: &[u8]) -> bool {
    assert!(
        kernel.is_supported(),
        "{kernel:?} is not supported by this CPU"
    );
    // SAFETY: support was asserted just above.
    unsafe { validate_unchecked(kernel, bytes) }
}

/// [`validate_with`] without asking whether this CPU runs the kernel.
///
/// # Safety
/// This CPU must run `kernel` ([`crate::mask::Kernel::is_supported`]).
#[inline]
pub(crate) unsafe fn validate_unchecked(kernel: crate::mask::Kernel, bytes: &[u8]) -> bool {
    match kernel {
        // SAFETY: the caller guarantees this CPU runs the kernel.
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        crate::mask::Kernel::Avx512 if bytes.len() >= LOOKUP_FROM => unsafe {
            avx512::validate(bytes)
        },
        // Miri flags simdutf8's AVX2 path (a prefetch pointer computed
        // past the end of the input), so under Miri std stands in.
        _ if cfg!(miri) => std::str::from_utf8(bytes).is_ok(),
        _ => simdutf8::basic::from_utf8(bytes).is_ok(),
    }
}

/// One-shot validation to `&str`, through the same fast path.
pub fn to_str(bytes: &[u8]) -> Result<&str, Utf8Error> {
    validate_complete(bytes)?;
    // SAFETY: `validate_complete` just proved the bytes valid UTF-8.
    Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_a_code_point_split_at_every_byte() {
        let text = "aé€😀z".as_bytes();
        for cut in 0..=text.len() {
            let mut v = StreamingUtf8::new();
            v.feed(&text[..cut]).unwrap();
            v.feed(&text[cut..]).unwrap();
            v.finish().unwrap();
        }
    }

    #[test]
    fn fails_on_the_first_impossible_byte() {
        // U+D800 (a surrogate) starts ED A0: impossible from the second byte.
        let mut v = StreamingUtf8::new();
        assert_eq!(v.feed(&[b'a', 0xED]), Ok(()));
        assert_eq!(v.feed(&[0xA0]), Err(Utf8Error));
        // > U+10FFFF starts F4 90.
        let mut v = StreamingUtf8::new();
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(Utf8Error));
        // Overlong: C0 and C1 never start a code point.
        assert_eq!(StreamingUtf8::new().feed(&[0xC0]), Err(Utf8Error));
    }

    #[test]
    fn an_incomplete_end_fails_only_at_finish() {
        let mut v = StreamingUtf8::new();
        assert_eq!(v.feed(&[0xF0, 0x9F, 0x98]), Ok(()));
        assert!(!v.is_boundary());
        assert_eq!(v.finish(), Err(Utf8Error));
        assert!(v.is_boundary(), "finish resets the validator");
    }
}
