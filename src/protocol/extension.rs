//! The hook where a payload-transforming extension (permessage-deflate, RFC
//! 7692) plugs into the protocol state machine. Decoding and encoding are
//! separate objects because they live on separate halves of a connection
//! (and, for deflate, hold separate compression state).

use std::fmt;

/// Why an extension could not decode a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// Decoding would exceed the message size limit (close 1009).
    TooBig,
    /// The payload is not valid for the extension (close 1007).
    Corrupt(String),
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtensionError::TooBig => f.write_str("decoded message exceeds the size limit"),
            ExtensionError::Corrupt(why) => write!(f, "extension data corrupt: {why}"),
        }
    }
}

impl std::error::Error for ExtensionError {}

/// Decodes messages whose first frame carries the extension's RSV bits.
///
/// A message is decoded chunk by chunk as its payload arrives (never
/// assembled encoded), so a decoder enforces the size limit while it works
/// and text is checked for UTF-8 as soon as it is decoded.
pub trait MessageDecoder: Send {
    /// The RSV bits the extension owns (e.g. `frame::RSV1`).
    fn rsv_bits(&self) -> u8;

    /// Decodes the next chunk of an encoded message, appending to `out`.
    /// `end` is true on the last call of the message (the chunk may be
    /// empty then). Must not let `out` grow by more than `limit` bytes in
    /// this call: return [`ExtensionError::TooBig`] instead.
    fn decode(
        &mut self,
        chunk: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ExtensionError>;
}

/// Encodes outgoing messages.
pub trait MessageEncoder: Send {
    /// The RSV bits set on the first frame of an encoded message.
    fn rsv_bits(&self) -> u8;

    /// Encodes a whole outgoing message into `out` and returns true, or
    /// returns false to send it as it is (e.g. too small to gain).
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> bool;

    /// When the encoding of a message depends only on the message and the
    /// encoder's parameters (no state kept between messages), a key for
    /// those parameters: a message sent to many connections is then
    /// encoded once per key and shared. `None` (the default) encodes it
    /// for each connection.
    fn stateless_key(&self) -> Option<u64> {
        None
    }
}
