//! How a plain topic's publish travels through Redis: on the channel
//! `simdws#<topic>`, as one byte of version, the publishing process's
//! 8-byte id (so it can drop its own), one byte of kind (1 text, 2 binary)
//! and the message.

use crate::frame::Opcode;

/// Channels of plain topics start with this.
pub const PREFIX: &str = "simdws#";
const VERSION: u8 = 1;
const HEAD: usize = 1 + 8 + 1;

/// A publish as it arrived from Redis.
#[derive(Debug, PartialEq, Eq)]
pub struct Incoming<'a> {
    pub topic: &'a str,
    pub origin: [u8; 8],
    pub opcode: Opcode,
    pub payload: &'a [u8],
}

/// The channel a topic's publishes go on.
pub fn channel(topic: &str) -> String {
    format!("{PREFIX}{topic}")
}

/// The payload for a publish from `origin`.
pub fn encode(origin: [u8; 8], opcode: Opcode, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + message.len());
    out.push(VERSION);
    out.extend_from_slice(&origin);
    out.push(if opcode == Opcode::Text { 1 } else { 2 });
    out.extend_from_slice(message);
    out
}

/// Reads a publish, or says why it is not one of ours (another version,
/// a stranger's channel, text that is not UTF-8).
pub fn decode<'a>(channel: &'a str, payload: &'a [u8]) -> Result<Incoming<'a>, &'static str> {
    let topic = channel.strip_prefix(PREFIX).ok_or("not a topic channel")?;
    if payload.len() < HEAD || payload[0] != VERSION {
        return Err("not a version 1 publish");
    }
    let origin = payload[1..9].try_into().expect("8 bytes");
    let message = &payload[HEAD..];
    let opcode = match payload[9] {
        1 if std::str::from_utf8(message).is_ok() => Opcode::Text,
        1 => return Err("text that is not UTF-8"),
        2 => Opcode::Binary,
        _ => return Err("unknown kind"),
    };
    Ok(Incoming {
        topic,
        origin,
        opcode,
        payload: message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_reads_back_as_written() {
        let origin = *b"12345678";
        for (opcode, message) in [
            (Opcode::Text, &b"h\xc3\xa9"[..]),
            (Opcode::Binary, &[0, 255][..]),
        ] {
            let payload = encode(origin, opcode, message);
            let channel = channel("room/1");
            let got = decode(&channel, &payload).unwrap();
            assert_eq!(
                got,
                Incoming {
                    topic: "room/1",
                    origin,
                    opcode,
                    payload: message
                }
            );
        }
    }

    #[test]
    fn strangers_are_refused() {
        let good = encode(*b"abcdefgh", Opcode::Text, b"hi");
        assert!(decode("socket.io#/#", &good).is_err());
        assert!(decode("simdws#t", &good[..5]).is_err());
        let mut bad_version = good.clone();
        bad_version[0] = 9;
        assert!(decode("simdws#t", &bad_version).is_err());
        let bad_text = encode(*b"abcdefgh", Opcode::Text, b"\xff");
        assert!(decode("simdws#t", &bad_text).is_err());
        let mut bad_kind = good;
        bad_kind[9] = 7;
        assert!(decode("simdws#t", &bad_kind).is_err());
    }
}
