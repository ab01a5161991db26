//! Unmasking (RFC 6455 §5.3): XOR a payload with a 4-byte key.
//!
//! Every function takes the key *offset* (how many payload bytes were already
//! unmasked, modulo 4) and returns the next one, so a payload that arrives in
//! pieces is unmasked piece by piece in place.
//!
//! Paths, by length (measured with the `kernels` bench):
//! * a whole payload of at most [`SHORT`] bytes from the key's start:
//!   [`apply_mask_short`], inline in the caller, no loop;
//! * below [`TINY`] bytes: u64 words with an overlapping last word;
//! * below [`WIDE`] bytes: 16-byte lanes of the architecture's baseline ISA
//!   (SSE2 / NEON), inline in the caller, with an overlapping last lane;
//! * from [`WIDE`] bytes: the widest kernel this CPU has, detected once and
//!   cached in a static ([`Kernel::detected`]).
//!
//! An all-zero key is a no-op.
//!
//! The fused [`apply_mask_ascii`] also reports whether the unmasked bytes are
//! all ASCII, so the text path proves most messages valid UTF-8 without a
//! second pass over the payload.

mod baseline;
pub mod scalar;
mod short;

pub use short::{apply_mask_short, SHORT};

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx2;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod sse2;

use std::sync::atomic::{AtomicU8, Ordering};

/// Below this length the u64 word route is fastest.
pub const TINY: usize = 16;

/// From this length on the dispatched wide kernel (AVX2, AVX-512) pays for
/// its call and setup; below it the inline baseline lanes win.
pub const WIDE: usize = 512;

/// From this length on, the AVX2 kernel unmasks a text payload and checks
/// it as UTF-8 in one pass: 160–210 fewer instructions per KiB than
/// unmasking, then simdutf8 (callgrind), and a little faster on multi-byte
/// text; below it, its ASCII runs would go unskipped. The AVX-512 kernel keeps two passes, its
/// unmask and its UTF-8 check each twice as wide (the `kernels` bench).
pub const FUSED_UTF8: usize = 128;

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One implementation of the kernels. Every variant computes exactly what
/// [`Kernel::Scalar`] computes; the tests check that for each one this CPU
/// can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kernel {
    /// The byte-loop reference.
    Scalar,
    /// u64 words with an overlapping last word.
    Words,
    /// 16-byte SSE2 lanes (every x86_64 CPU).
    Sse2,
    /// 32-byte AVX2 lanes.
    Avx2,
    /// 64-byte AVX-512 (F and BW) lanes, with masked head and tail.
    Avx512,
    /// 16-byte NEON lanes (every aarch64 CPU).
    Neon,
}

const ALL: [Kernel; 6] = [
    Kernel::Scalar,
    Kernel::Words,
    Kernel::Sse2,
    Kernel::Avx2,
    Kernel::Avx512,
    Kernel::Neon,
];

/// 0 = not detected yet, otherwise index into `ALL` + 1.
static DETECTED: AtomicU8 = AtomicU8::new(0);

impl Kernel {
    /// The widest kernel this CPU supports, detected on first use and cached.
    #[inline]
    pub fn detected() -> Kernel {
        match DETECTED.load(Ordering::Relaxed) {
            0 => Self::detect_and_cache(),
            n => ALL[n as usize - 1],
        }
    }

    /// Picks the widest supported kernel, unless the `SIMDWS_KERNEL`
    /// environment variable names another supported one (`words`, `sse2`,
    /// `avx2`, `avx512`, `neon`, `scalar`): tests and benchmarks use it to
    /// run everything on one forced path. A name that is unknown, or a
    /// kernel this CPU cannot run, is logged as an error (programs check it
    /// up front with [`Kernel::from_env`]) and the widest kernel is used.
    #[cold]
    fn detect_and_cache() -> Kernel {
        let forced = Kernel::from_env().unwrap_or_else(|e| {
            log::error!("{e}");
            None
        });
        let best = forced
            .or_else(|| Self::available().into_iter().last())
            .unwrap_or(Kernel::Words);
        let index = ALL.iter().position(|k| *k == best).unwrap_or(1);
        DETECTED.store(index as u8 + 1, Ordering::Relaxed);
        best
    }

    /// The kernel's name, as `SIMDWS_KERNEL` and `simdws kernels` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Words => "words",
            Kernel::Sse2 => "sse2",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }

    /// The kernel named `name` (as [`Kernel::name`] spells it, any case),
    /// if this CPU can run it; else an error that lists the names it can.
    pub fn from_name(name: &str) -> Result<Kernel, String> {
        let names = || {
            Kernel::available()
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name.trim()))
        {
            Some(kernel) if kernel.is_supported() => Ok(kernel),
            Some(kernel) => Err(format!(
                "kernel {} cannot run on this CPU; it can run: {}",
                kernel.name(),
                names()
            )),
            None => Err(format!(
                "unknown kernel {name:?}; this CPU can run: {}",
                names()
            )),
        }
    }

    /// The kernel `SIMDWS_KERNEL` forces, if it is set; an error when it
    /// names no kernel this CPU can run.
    pub fn from_env() -> Result<Option<Kernel>, String> {
        match std::env::var("SIMDWS_KERNEL") {
            Ok(name) => Kernel::from_name(&name)
                .map(Some)
                .map_err(|e| format!("SIMDWS_KERNEL={name}: {e}")),
            Err(_) => Ok(None),
        }
    }

    /// Every kernel this CPU can run, narrowest first.
    pub fn available() -> Vec<Kernel> {
        ALL.into_iter().filter(|k| k.is_supported()).collect()
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Scalar | Kernel::Words => true,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Sse2 => std::is_x86_feature_detected!("sse2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Unmasks `buf` in place with this kernel, whatever its length.
    ///
    /// # Panics
    /// If this CPU cannot run the kernel.
    pub fn apply_mask(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> usize {
        self.run::<false>(buf, key, offset);
        (offset + buf.len()) & 3
    }

    /// Unmasks `buf` in place and says whether all unmasked bytes are ASCII.
    ///
    /// # Panics
    /// If this CPU cannot run the kernel.
    pub fn apply_mask_ascii(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> (usize, bool) {
        let high = self.run::<true>(buf, key, offset);
        ((offset + buf.len()) & 3, high < 0x80)
    }

    /// Unmasks a whole text payload in place and says whether it is valid
    /// UTF-8 (a code point cut off at its end is invalid): in one pass
    /// with the AVX2 kernel from [`FUSED_UTF8`] bytes, otherwise as
    /// [`Kernel::apply_mask_ascii`] and then, unless that proved it ASCII,
    /// [`crate::utf8::validate_with`] this kernel.
    ///
    /// # Panics
    /// If this CPU cannot run the kernel.
    pub fn apply_mask_utf8(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
        assert!(self.is_supported(), "{self:?} is not supported by this CPU");
        // SAFETY: support was asserted just above.
        unsafe { self.utf8_unchecked(buf, key, offset) }
    }

    /// # Safety
    /// This CPU must support the kernel ([`Kernel::is_supported`]).
    #[inline]
    unsafe fn utf8_unchecked(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if self == Kernel::Avx2 && buf.len() >= FUSED_UTF8 {
            // SAFETY: the caller guarantees AVX2; the buffer holds at
            // least FUSED_UTF8 = 128 bytes.
            return unsafe { avx2::apply_utf8(buf, key, offset) };
        }
        // SAFETY: the caller guarantees support.
        let high = unsafe { self.run_unchecked::<true>(buf, key, offset) };
        // SAFETY: the caller guarantees support.
        high < 0x80 || unsafe { crate::utf8::validate_unchecked(self, buf) }
    }

    /// Writes `src` masked into `dst` (same length) with this kernel.
    ///
    /// # Panics
    /// If the lengths differ or this CPU cannot run the kernel.
    pub fn copy_masked(self, dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) -> usize {
        assert_eq!(dst.len(), src.len(), "copy_masked: length mismatch");
        assert!(self.is_supported(), "{self:?} is not supported by this CPU");
        match self {
            Kernel::Scalar => {
                scalar::copy_masked_bytes(dst, src, key, offset);
            }
            Kernel::Words => scalar::copy_masked_words(dst, src, key, offset),
            // SAFETY: support was asserted above; the lengths are equal.
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Sse2 => unsafe { sse2::copy(dst, src, key, offset) },
            // SAFETY: as above.
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Avx2 => unsafe { avx2::copy(dst, src, key, offset) },
            // SAFETY: as above.
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Kernel::Avx512 => unsafe { avx512::copy(dst, src, key, offset) },
            // SAFETY: as above.
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => unsafe { neon::copy(dst, src, key, offset) },
            #[allow(unreachable_patterns)]
            _ => unreachable!("unsupported kernels were rejected above"),
        }
        (offset + src.len()) & 3
    }

    /// Returns the OR of the unmasked bytes when `ASCII`.
    fn run<const ASCII: bool>(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
        assert!(self.is_supported(), "{self:?} is not supported by this CPU");
        // SAFETY: support was asserted just above.
        unsafe { self.run_unchecked::<ASCII>(buf, key, offset) }
    }

    /// # Safety
    /// This CPU must support the kernel ([`Kernel::is_supported`]).
    #[inline]
    unsafe fn run_unchecked<const ASCII: bool>(
        self,
        buf: &mut [u8],
        key: [u8; 4],
        offset: usize,
    ) -> u8 {
        // SAFETY (all arms below): the caller guarantees support, the only
        // precondition of the vector kernels.
        match self {
            Kernel::Scalar => {
                if ASCII {
                    let (_, ascii) = scalar::apply_mask_ascii_bytes(buf, key, offset);
                    if ascii {
                        0
                    } else {
                        0x80
                    }
                } else {
                    scalar::apply_mask_bytes(buf, key, offset);
                    0
                }
            }
            Kernel::Words => scalar::apply_mask_words(buf, key, offset),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: the caller guarantees this CPU runs the kernel.
            Kernel::Sse2 => unsafe { sse2::apply::<ASCII>(buf, key, offset) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: the caller guarantees this CPU runs the kernel.
            Kernel::Avx2 => unsafe { avx2::apply::<ASCII>(buf, key, offset) },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            // SAFETY: the caller guarantees this CPU runs the kernel.
            Kernel::Avx512 => unsafe { avx512::apply::<ASCII>(buf, key, offset) },
            #[cfg(target_arch = "aarch64")]
            // SAFETY: the caller guarantees this CPU runs the kernel.
            Kernel::Neon => unsafe { neon::apply::<ASCII>(buf, key, offset) },
            #[allow(unreachable_patterns)]
            _ => unreachable!("unsupported kernels were rejected above"),
        }
    }
}

/// Unmasks `buf` in place, continuing the key stream at `offset`; returns the
/// offset for the next piece.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    let next = (offset + buf.len()) & 3;
    if key == [0; 4] {
        return next;
    }
    if buf.len() < TINY {
        scalar::apply_mask_words(buf, key, offset);
    } else if baseline::AVAILABLE && buf.len() < WIDE {
        baseline::apply::<false>(buf, key, offset);
    } else {
        // SAFETY: `detected` returns only a kernel this CPU supports.
        unsafe { Kernel::detected().run_unchecked::<false>(buf, key, offset) };
    }
    next
}

/// Unmasks `buf` in place and reports whether every unmasked byte is ASCII
/// (then the bytes are valid UTF-8 with no further check).
#[inline]
pub fn apply_mask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> (usize, bool) {
    let next = (offset + buf.len()) & 3;
    let high = if buf.len() < TINY {
        scalar::apply_mask_words(buf, key, offset)
    } else if baseline::AVAILABLE && buf.len() < WIDE {
        baseline::apply::<true>(buf, key, offset)
    } else {
        // SAFETY: `detected` returns only a kernel this CPU supports.
        unsafe { Kernel::detected().run_unchecked::<true>(buf, key, offset) }
    };
    (next, high < 0x80)
}

/// Unmasks `buf` in place and says whether it is valid UTF-8 as a whole:
/// the check of a whole text message. With the AVX2 kernel, from
/// [`FUSED_UTF8`] bytes, the bytes are checked in the pass that unmasks
/// them; otherwise the fused ASCII pass proves most texts valid and the
/// rest go to [`crate::utf8::to_str`]'s check (on AVX-512 CPUs ours, a
/// second pass that beats a fused AVX2 one there).
#[inline]
pub fn apply_mask_utf8(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    if buf.len() < FUSED_UTF8 {
        return apply_mask_ascii(buf, key, offset).1 || crate::utf8::to_str(buf).is_ok();
    }
    // SAFETY: `detected` returns only a kernel this CPU supports.
    unsafe { Kernel::detected().utf8_unchecked(buf, key, offset) }
}

/// Writes `src` into `dst` masked with the key stream at `offset` (the client
/// sending side masks while it copies, in one pass).
///
/// # Panics
/// If `dst` and `src` differ in length.
#[inline]
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) -> usize {
    assert_eq!(dst.len(), src.len(), "copy_masked: length mismatch");
    if src.len() < TINY {
        scalar::copy_masked_words(dst, src, key, offset);
        (offset + src.len()) & 3
    } else {
        Kernel::detected().copy_masked(dst, src, key, offset)
    }
}
