//! Load messages that check themselves. Each payload starts with its
//! sequence number, intended send time and a check digit (20 ASCII hex
//! digits), so an echo can be checked byte for byte and its latency
//! measured from when it was meant to go out, with no state kept per
//! message. The rest is a fixed filler: multi-byte UTF-8 for text (so the
//! server's validator works), pseudo-random bytes for binary.

/// Bytes taken by the sequence number (8 hex digits), the time in
/// microseconds (11, about 200 days) and a check digit (1).
pub const HEADER: usize = 20;

/// The header's digits: a damaged digit changes the check digit's sum.
fn header(seq: u32, micros: u64) -> String {
    let digits = format!("{seq:08x}{:011x}", micros & 0xfff_ffff_ffff);
    let sum: u32 = digits.chars().filter_map(|c| c.to_digit(16)).sum();
    format!("{digits}{:x}", sum % 16)
}

/// Characters of 2, 3 and 4 bytes, and ASCII, for text payloads.
const TEXT_PIECES: [&str; 4] = ["é", "中", "😀", "a"];

/// A reusable payload buffer of one kind and size. The part after the
/// header is the same for every message (made once), so building a
/// payload is a copy and checking an echo is a comparison: the load
/// generator must not be what limits the run.
pub struct Payload {
    text: bool,
    size: usize,
    filler: Vec<u8>,
    buf: Vec<u8>,
}

impl Payload {
    pub fn new(text: bool, size: usize) -> Self {
        let mut filler = Vec::with_capacity(size.saturating_sub(HEADER));
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        while filler.len() + HEADER < size {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let room = size - HEADER - filler.len();
            if text {
                let piece = TEXT_PIECES[(x % 4) as usize].as_bytes();
                filler.extend_from_slice(if piece.len() <= room { piece } else { b"a" });
            } else {
                let bytes = x.to_le_bytes();
                filler.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
        Payload {
            text,
            size,
            filler,
            buf: Vec::with_capacity(size),
        }
    }

    pub fn is_text(&self) -> bool {
        self.text
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The payload as text (built from whole characters; the check is
    /// simdutf8's, a few µs for 64 KiB).
    pub fn as_str(&self) -> &str {
        simdws::utf8::to_str(&self.buf).expect("text payloads are built from whole characters")
    }

    /// Fills the buffer with the payload for (`seq`, `micros`).
    pub fn build(&mut self, seq: u32, micros: u64) {
        self.buf.clear();
        self.buf.extend_from_slice(header(seq, micros).as_bytes());
        self.buf.extend_from_slice(&self.filler);
    }

    /// When `echo` is exactly a payload of this kind and size, the send
    /// time it carries.
    pub fn verify(&self, echo: &[u8]) -> Option<u64> {
        if echo.len() != self.size || echo[HEADER.min(echo.len())..] != self.filler[..] {
            return None;
        }
        parse(echo).map(|(_, micros)| micros)
    }
}

/// Reads (`seq`, `micros`) back from a payload.
fn parse(payload: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(payload.get(..HEADER)?).ok()?;
    let seq = u32::from_str_radix(text.get(..8)?, 16).ok()?;
    let micros = u64::from_str_radix(text.get(8..19)?, 16).ok()?;
    (header(seq, micros) == text).then_some((seq, micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_check_themselves_and_text_is_multibyte_utf8() {
        for size in [20, 21, 64, 1024, 65536] {
            for text in [true, false] {
                let mut payload = Payload::new(text, size);
                payload.build(77, 123_456);
                let mut sent = payload.bytes().to_vec();
                assert_eq!(sent.len(), size);
                if text {
                    assert!(std::str::from_utf8(&sent).is_ok());
                    assert!(size < 64 || !sent.is_ascii(), "multi-byte text");
                }
                let checker = Payload::new(text, size);
                assert_eq!(checker.verify(&sent), Some(123_456));
                for at in [0, HEADER - 1, size - 1] {
                    sent[at] ^= 1;
                    assert_eq!(checker.verify(&sent), None, "a flipped bit at {at}");
                    sent[at] ^= 1;
                }
            }
        }
    }
}
