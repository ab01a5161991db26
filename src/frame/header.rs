//! The frame header (RFC 6455 §5.2): 2 to 14 bytes, parsed from a borrowed
//! slice without allocating and encoded into a stack buffer.

use std::fmt;

use super::Opcode;

/// The longest header: 2 fixed bytes, an 8-byte length, a 4-byte key.
pub const MAX_HEADER_LEN: usize = 14;

/// Largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// RSV1 as it sits in the first header byte (permessage-deflate uses it).
pub const RSV1: u8 = 0x40;
/// The second reserved bit; no extension here uses it.
pub const RSV2: u8 = 0x20;
/// The third reserved bit; no extension here uses it.
pub const RSV3: u8 = 0x10;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    /// The three reserved bits, in place (`RSV1 | RSV2 | RSV3` mask).
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The masking key; clients must mask, servers must not.
    pub mask: Option<[u8; 4]>,
    /// Payload bytes that follow the header.
    pub payload_len: u64,
}

/// What the receiving side accepts; everything else is a protocol error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRules {
    /// A server receives masked frames only, a client unmasked only.
    pub expect_masked: bool,
    /// RSV bits an extension negotiated (e.g. `RSV1` for permessage-deflate).
    pub allowed_rsv: u8,
}

/// The outcome of [`FrameHeader::parse`] on bytes that are valid so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The header and how many bytes it took.
    Complete(FrameHeader, usize),
    /// At least this many more bytes are needed to decide.
    Incomplete(usize),
}

/// A header that breaks RFC 6455; each is answered with close code 1002.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// RSV bits set that no extension negotiated.
    ReservedBits(u8),
    /// A reserved opcode (3–7, 0xB–0xF).
    UnknownOpcode(u8),
    /// A control frame without FIN.
    FragmentedControl,
    /// A control frame whose 7-bit length field says 126 or 127, i.e. an
    /// extended length: over 125 bytes, or (when the extended length is
    /// small) not minimally encoded; a violation either way. It is refused
    /// from that field alone, so the value is the least length a minimal
    /// encoding in that form would mean: 126 or 65536.
    ControlTooLong(u64),
    /// The mask bit is wrong for the receiving role.
    /// A client frame arrived unmasked at a server, or a masked frame at a client.
    MaskMismatch {
        /// Whether this end expects masked frames (a server does).
        expected_masked: bool,
    },
    /// A 64-bit length with its most significant bit set.
    LengthTopBit,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:#04x} set without an extension")
            }
            HeaderError::UnknownOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            HeaderError::FragmentedControl => f.write_str("fragmented control frame"),
            HeaderError::ControlTooLong(at_least) => {
                write!(
                    f,
                    "control frame with an extended length (at least {at_least} bytes if minimally encoded; max 125)"
                )
            }
            HeaderError::MaskMismatch {
                expected_masked: true,
            } => f.write_str("unmasked frame from a client"),
            HeaderError::MaskMismatch {
                expected_masked: false,
            } => f.write_str("masked frame from a server"),
            HeaderError::LengthTopBit => f.write_str("64-bit payload length with the top bit set"),
        }
    }
}

impl std::error::Error for HeaderError {}

impl FrameHeader {
    /// Parses a header at the start of `buf`, checking it against `rules`.
    ///
    /// Errors are reported as soon as the bytes that prove them are present,
    /// even if the rest of the header has not arrived.
    #[inline]
    pub fn parse(buf: &[u8], rules: HeaderRules) -> Result<Parsed, HeaderError> {
        let Some(&[b0, b1]) = buf.first_chunk::<2>() else {
            if let Some(&b0) = buf.first() {
                check_first_byte(b0, rules)?;
            }
            return Ok(Parsed::Incomplete(2 - buf.len()));
        };
        let (fin, rsv, opcode) = check_first_byte(b0, rules)?;
        let masked = b1 & 0x80 != 0;
        if masked != rules.expect_masked {
            return Err(HeaderError::MaskMismatch {
                expected_masked: rules.expect_masked,
            });
        }
        let short_len = b1 & 0x7F;
        if opcode.is_control() && short_len > 125 {
            // 126/127 announce an extended length: over 125 either way.
            return Err(HeaderError::ControlTooLong(if short_len == 126 {
                126
            } else {
                65536
            }));
        }
        let len_bytes = match short_len {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            if len_bytes == 8 && buf.len() >= 3 && buf[2] & 0x80 != 0 {
                return Err(HeaderError::LengthTopBit);
            }
            return Ok(Parsed::Incomplete(header_len - buf.len()));
        }
        let payload_len = match len_bytes {
            0 => short_len as u64,
            2 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
            _ => {
                let len = u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes"));
                if len >> 63 != 0 {
                    return Err(HeaderError::LengthTopBit);
                }
                len
            }
        };
        // One bounds check for the key, not four (`header_len` was checked
        // against `buf` above).
        let mask = if masked {
            let at = 2 + len_bytes;
            buf.get(at..at + 4).and_then(|key| key.try_into().ok())
        } else {
            None
        };
        Ok(Parsed::Complete(
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        ))
    }

    /// Length of this header once encoded.
    pub fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + len_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes into `out` with the shortest length form; returns the length.
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (self.fin as u8) << 7 | (self.rsv & (RSV1 | RSV2 | RSV3)) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[inline]
fn check_first_byte(b0: u8, rules: HeaderRules) -> Result<(bool, u8, Opcode), HeaderError> {
    let fin = b0 & 0x80 != 0;
    let rsv = b0 & (RSV1 | RSV2 | RSV3);
    if rsv & !rules.allowed_rsv != 0 {
        return Err(HeaderError::ReservedBits(rsv & !rules.allowed_rsv));
    }
    let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(HeaderError::UnknownOpcode(b0 & 0x0F))?;
    if opcode.is_control() && !fin {
        return Err(HeaderError::FragmentedControl);
    }
    Ok((fin, rsv, opcode))
}
