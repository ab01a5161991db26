//! The 4-bit frame opcode (RFC 6455 §5.2).

/// A frame opcode this implementation understands; reserved values
/// (3–7, 0xB–0xF) are rejected when a header is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// A later frame of a fragmented message.
    Continuation = 0x0,
    /// The first frame of a text (UTF-8) message.
    Text = 0x1,
    /// The first frame of a binary message.
    Binary = 0x2,
    /// The close handshake (control frame).
    Close = 0x8,
    /// A ping, to be answered with a pong (control frame).
    Ping = 0x9,
    /// A pong: the answer to a ping, or a unidirectional heartbeat (control frame).
    Pong = 0xA,
}

impl Opcode {
    /// Decodes the low nibble; `None` for reserved opcodes.
    pub const fn from_u8(value: u8) -> Option<Opcode> {
        Some(match value {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented, and may
    /// arrive between the fragments of a data message.
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}
