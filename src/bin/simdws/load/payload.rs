//! Load messages that check themselves. Each payload starts with its
//! sequence number, intended send time and a check digit (20 ASCII hex
//! digits), so an echo
//! can be checked byte for byte and its latency measured from when it was
//! meant to go out, with no state kept per message. The rest is filled from
//! the sequence number: multi-byte UTF-8 for text (so the server's
//! validator works), pseudo-random bytes for binary.

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

/// A reusable payload buffer of one kind.
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

impl Payload {
    pub fn new(text: bool) -> Self {
        if text {
            Payload::Text(String::new())
        } else {
            Payload::Binary(Vec::new())
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Text(s) => s.as_bytes(),
            Payload::Binary(b) => b,
        }
    }

    /// Fills the buffer with the payload for (`seq`, `micros`).
    pub fn build(&mut self, size: usize, seq: u32, micros: u64) {
        let mut x = u64::from(seq).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let head = header(seq, micros);
        match self {
            Payload::Text(out) => {
                out.clear();
                out.push_str(&head);
                while out.len() < size {
                    let piece = TEXT_PIECES[(next() % 4) as usize];
                    out.push_str(if piece.len() <= size - out.len() {
                        piece
                    } else {
                        "a"
                    });
                }
            }
            Payload::Binary(out) => {
                out.clear();
                out.extend_from_slice(head.as_bytes());
                while out.len() < size {
                    let bytes = next().to_le_bytes();
                    let take = bytes.len().min(size - out.len());
                    out.extend_from_slice(&bytes[..take]);
                }
            }
        }
    }

    /// When `echo` is exactly a payload of this kind and size, the send
    /// time it carries.
    pub fn verify(&mut self, echo: &[u8], size: usize) -> Option<u64> {
        let (seq, micros) = parse(echo)?;
        self.build(size, seq, micros);
        (self.bytes() == echo).then_some(micros)
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
                let mut payload = Payload::new(text);
                payload.build(size, 77, 123_456);
                let mut sent = payload.bytes().to_vec();
                assert_eq!(sent.len(), size);
                if text {
                    assert!(size < 64 || !sent.is_ascii(), "multi-byte text");
                }
                let mut checker = Payload::new(text);
                assert_eq!(checker.verify(&sent, size), Some(123_456));
                let last = sent.len() - 1;
                sent[last] ^= 1;
                assert_eq!(checker.verify(&sent, size), None, "a flipped bit");
            }
        }
    }
}
