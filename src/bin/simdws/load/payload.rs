//! Load messages that check themselves. Each payload starts with its
//! sequence number, intended send time and a check digit (20 ASCII hex
//! digits), so an echo can be checked byte for byte and its latency
//! measured from when it was meant to go out, with no state kept per
//! message. The rest is a fixed filler: multi-byte UTF-8 for text (so the
//! server's validator works), pseudo-random bytes for binary.

use simdws::net::Message;

/// Bytes taken by the sequence number (8 hex digits), the time in
/// microseconds (11, about 200 days) and a check digit (1).
pub const HEADER: usize = 20;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The header's digits: a damaged digit changes the check digit's sum.
/// Written by hand, not with `format!`: this runs for every message.
fn header(seq: u32, micros: u64) -> [u8; HEADER] {
    let mut out = [0u8; HEADER];
    let (seq_digits, rest) = out.split_at_mut(SEQ_DIGITS);
    let (micros_digits, check) = rest.split_at_mut(MICROS_DIGITS);
    let sum = hex_digits(u64::from(seq), seq_digits) + hex_digits(micros, micros_digits);
    check[0] = HEX[sum % 16];
    out
}

/// Writes the low `out.len()` hex digits of `value` into `out`, most
/// significant first; returns their sum.
fn hex_digits(mut value: u64, out: &mut [u8]) -> usize {
    let mut sum = 0;
    for digit in out.iter_mut().rev() {
        let nibble = (value & 0xf) as usize;
        sum += nibble;
        *digit = HEX[nibble];
        value >>= 4;
    }
    sum
}

/// Hex digits of the sequence number and of the time in microseconds.
const SEQ_DIGITS: usize = 8;
const MICROS_DIGITS: usize = HEADER - 1 - SEQ_DIGITS;

/// Characters of 2, 3 and 4 bytes, and ASCII, for text payloads.
const TEXT_PIECES: [&str; 4] = ["é", "中", "😀", "a"];

/// A reusable payload buffer of one kind and size. The part after the
/// header is the same for every message (made once), so building a
/// payload is a copy and checking an echo is a comparison: the load
/// generator must not be what limits the run.
pub struct Payload {
    size: usize,
    filler: Filler,
    /// The payload being sent, kept as a `String` for text so it needs no
    /// validation per message (an ASCII header and whole characters).
    buf: Filler,
}

enum Filler {
    Text(String),
    Binary(Vec<u8>),
}

impl Filler {
    fn bytes(&self) -> &[u8] {
        match self {
            Filler::Text(text) => text.as_bytes(),
            Filler::Binary(bytes) => bytes,
        }
    }
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
        let (filler, buf) = if text {
            let filler = String::from_utf8(filler).expect("whole characters");
            (
                Filler::Text(filler),
                Filler::Text(String::with_capacity(size)),
            )
        } else {
            (
                Filler::Binary(filler),
                Filler::Binary(Vec::with_capacity(size)),
            )
        };
        Payload { size, filler, buf }
    }

    /// The payload last built: text or binary.
    pub fn message(&self) -> Message<'_> {
        match &self.buf {
            Filler::Text(text) => Message::Text(text),
            Filler::Binary(bytes) => Message::Binary(bytes),
        }
    }

    /// Fills the buffer with the payload for (`seq`, `micros`).
    pub fn build(&mut self, seq: u32, micros: u64) {
        let header = header(seq, micros);
        match (&mut self.buf, &self.filler) {
            (Filler::Text(buf), Filler::Text(filler)) => {
                buf.clear();
                buf.push_str(std::str::from_utf8(&header).expect("hex digits"));
                buf.push_str(filler);
            }
            (Filler::Binary(buf), Filler::Binary(filler)) => {
                buf.clear();
                buf.extend_from_slice(&header);
                buf.extend_from_slice(filler);
            }
            _ => unreachable!("made of the same kind"),
        }
    }

    /// When `echo` is exactly a payload of this kind and size, the send
    /// time it carries.
    pub fn verify(&self, echo: &[u8]) -> Option<u64> {
        if echo.len() != self.size || echo[HEADER.min(echo.len())..] != *self.filler.bytes() {
            return None;
        }
        parse(echo).map(|(_, micros)| micros)
    }
}

/// Reads (`seq`, `micros`) back from a payload: lower-case hex digits
/// whose sum the check digit matches.
fn parse(payload: &[u8]) -> Option<(u32, u64)> {
    let digits = payload.get(..HEADER)?;
    let (seq, seq_sum) = read_hex(&digits[..SEQ_DIGITS])?;
    let (micros, micros_sum) = read_hex(&digits[SEQ_DIGITS..HEADER - 1])?;
    let checked = digits[HEADER - 1] == HEX[(seq_sum + micros_sum) % 16];
    checked.then_some((seq as u32, micros))
}

/// The value of hex digits (at most 16) and their sum.
fn read_hex(digits: &[u8]) -> Option<(u64, usize)> {
    let (mut value, mut sum) = (0u64, 0usize);
    for &digit in digits {
        let nibble = nibble(digit)?;
        sum += usize::from(nibble);
        value = value << 4 | u64::from(nibble);
    }
    Some((value, sum))
}

/// The value of a lower-case hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
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
                let mut sent = payload.message().as_bytes().to_vec();
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
