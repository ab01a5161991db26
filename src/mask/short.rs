//! Whole short payloads (at most [`SHORT`] bytes), unmasked from the start
//! of the key: the common small message. No loop and no call: up to four
//! u64 words, all read before any is written, the last two overlapping the
//! first two. An overlapped byte is written twice with the same value, each
//! computed from the masked input.

/// The longest payload [`apply_mask_short`] takes.
pub const SHORT: usize = 32;

/// Unmasks `buf` (at most [`SHORT`] bytes, key stream at offset 0) in place
/// and says whether every unmasked byte is ASCII.
///
/// # Panics
/// If `buf` is longer than [`SHORT`].
#[inline(always)]
pub fn apply_mask_short(buf: &mut [u8], key: [u8; 4]) -> bool {
    let len = buf.len();
    // The pattern for a word at position p is the key rotated by p & 3;
    // words start at 0 and 8 (rotation 0) or at len - 16 and len - 8
    // (rotation len & 3).
    let k32 = u32::from_le_bytes(key);
    let tail32 = k32.rotate_right(8 * (len as u32 & 3));
    let (k, tail) = (spread(k32), spread(tail32));
    let high = match len {
        16..=SHORT => {
            let (a, b) = (word(buf, 0) ^ k, word(buf, 8) ^ k);
            let (c, d) = (word(buf, len - 16) ^ tail, word(buf, len - 8) ^ tail);
            put(buf, 0, a);
            put(buf, 8, b);
            put(buf, len - 16, c);
            put(buf, len - 8, d);
            a | b | c | d
        }
        8..=15 => {
            let (a, d) = (word(buf, 0) ^ k, word(buf, len - 8) ^ tail);
            put(buf, 0, a);
            put(buf, len - 8, d);
            a | d
        }
        4..=7 => {
            let a = half(buf, 0) ^ k32;
            let d = half(buf, len - 4) ^ tail32;
            buf[..4].copy_from_slice(&a.to_le_bytes());
            buf[len - 4..].copy_from_slice(&d.to_le_bytes());
            (a | d) as u64
        }
        0..=3 => {
            let mut high = 0;
            for (byte, k) in buf.iter_mut().zip(key) {
                *byte ^= k;
                high |= *byte;
            }
            high as u64
        }
        _ => panic!("apply_mask_short: {len} bytes, over {SHORT}"),
    };
    high & 0x8080_8080_8080_8080 == 0
}

#[inline(always)]
fn spread(k: u32) -> u64 {
    k as u64 | (k as u64) << 32
}

#[inline(always)]
fn word(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

#[inline(always)]
fn half(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

#[inline(always)]
fn put(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
}
