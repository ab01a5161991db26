//! Portable kernels: the byte-loop reference every other kernel is tested
//! against, and the u64 word route that serves tiny payloads and the ends of
//! the wide kernels.
//!
//! Public as the reference: the property tests and the kernel benchmark
//! compare every kernel with [`apply_mask_bytes`]. Applications call
//! [`crate::mask::apply_mask`], which picks the fastest kernel.

/// The reference: one byte at a time, exactly as RFC 6455 §5.3 states it.
pub fn apply_mask_bytes(buf: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) & 3];
    }
    (offset + buf.len()) & 3
}

/// Reference for the fused pass: unmask, and say whether every unmasked byte
/// is ASCII.
pub fn apply_mask_ascii_bytes(buf: &mut [u8], key: [u8; 4], offset: usize) -> (usize, bool) {
    let mut high = 0u8;
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) & 3];
        high |= *byte;
    }
    ((offset + buf.len()) & 3, high < 0x80)
}

/// Reference for the sending side: `dst[i] = src[i] ^ key[..]`.
pub fn copy_masked_bytes(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) -> usize {
    assert_eq!(dst.len(), src.len(), "copy_masked: length mismatch");
    for (i, (d, s)) in dst.iter_mut().zip(src).enumerate() {
        *d = *s ^ key[(offset + i) & 3];
    }
    (offset + src.len()) & 3
}

/// The key as a little-endian u64 pattern whose byte 0 applies to a buffer's
/// byte 0 when the key stream is at `offset`.
#[inline(always)]
pub fn key_u64(key: [u8; 4], offset: usize) -> u64 {
    let k = u32::from_le_bytes(key).rotate_right(8 * (offset as u32 & 3));
    (k as u64) | ((k as u64) << 32)
}

/// The pattern for a word that starts `pos` bytes into the buffer.
#[inline(always)]
fn shifted(pattern: u64, pos: usize) -> u64 {
    pattern.rotate_right(8 * (pos as u32 & 3))
}

#[inline(always)]
fn load(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().unwrap())
}

#[inline(always)]
fn store(buf: &mut [u8], at: usize, word: u64) {
    buf[at..at + 8].copy_from_slice(&word.to_le_bytes());
}

/// XORs with u64 words. For 8 bytes or more the last, possibly overlapping
/// word is loaded *before* any store, so the overlap is written from the
/// original bytes and never XORed twice: no byte loop at the tail.
/// Returns the OR of every unmasked byte, for the ASCII check.
#[inline(always)]
pub fn apply_mask_words(buf: &mut [u8], key: [u8; 4], offset: usize) -> u8 {
    let len = buf.len();
    let pattern = key_u64(key, offset);
    if len < 8 {
        let mut high = 0u8;
        if len >= 4 {
            // Two overlapping u32 words, both loaded before either store.
            let k = pattern as u32;
            let a = u32::from_le_bytes(buf[..4].try_into().unwrap()) ^ k;
            let tail_at = len - 4;
            let b = u32::from_le_bytes(buf[tail_at..].try_into().unwrap())
                ^ (shifted(pattern, tail_at) as u32);
            buf[..4].copy_from_slice(&a.to_le_bytes());
            buf[tail_at..].copy_from_slice(&b.to_le_bytes());
            let both = a | b;
            high = both.to_le_bytes().iter().fold(0, |acc, &x| acc | x);
        } else {
            for (i, byte) in buf.iter_mut().enumerate() {
                *byte ^= (pattern >> (8 * i)) as u8;
                high |= *byte;
            }
        }
        return high;
    }
    let tail_at = len - 8;
    let tail = load(buf, tail_at) ^ shifted(pattern, tail_at);
    let mut acc = tail;
    let mut at = 0;
    // Words start at multiples of 8, so the pattern never needs rotating;
    // the last one starts before `tail_at`, so with the tail word every byte
    // is covered.
    while at < tail_at {
        let word = load(buf, at) ^ pattern;
        acc |= word;
        store(buf, at, word);
        at += 8;
    }
    store(buf, tail_at, tail);
    fold_high(acc)
}

/// The copy-and-mask counterpart of [`apply_mask_words`].
#[inline(always)]
pub fn copy_masked_words(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    let len = src.len();
    let pattern = key_u64(key, offset);
    if len < 8 {
        for i in 0..len {
            dst[i] = src[i] ^ (pattern >> (8 * i)) as u8;
        }
        return;
    }
    let mut at = 0;
    while at + 8 <= len {
        store(dst, at, load(src, at) ^ pattern);
        at += 8;
    }
    if at < len {
        let tail_at = len - 8;
        store(dst, tail_at, load(src, tail_at) ^ shifted(pattern, tail_at));
    }
}

#[inline(always)]
fn fold_high(acc: u64) -> u8 {
    acc.to_le_bytes().iter().fold(0, |a, &b| a | b)
}
