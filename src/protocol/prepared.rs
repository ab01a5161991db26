//! A message framed once for many connections (a topic's publish): the
//! server frame is built when the message is prepared, and each connection
//! it goes to only copies those bytes into its output.
//!
//! Connections that compress (permessage-deflate) cannot share the plain
//! frame. Those without context takeover compress every message from a
//! fresh state, so their output depends only on the message and the
//! compressor's parameters: it is compressed once per set of parameters
//! and shared too. Those with context takeover compress it themselves.

use std::sync::Mutex;

use crate::frame::{FrameHeader, Opcode, MAX_HEADER_LEN};

/// A text or binary message, framed once, to send on many connections
/// with [`Sender::send_prepared`](super::Sender::send_prepared).
pub struct PreparedMessage {
    opcode: Opcode,
    /// Header and payload of the unmasked, uncompressed frame.
    frame: Box<[u8]>,
    header_len: usize,
    /// Compressed frames, by the compressor parameters that made them
    /// (`MessageEncoder::stateless_key`); `None` when that compressor sends
    /// the message as it is.
    compressed: Mutex<Vec<Compressed>>,
}

/// A compressed frame and the compressor parameters that made it (`None`:
/// that compressor sends the message as it is).
type Compressed = (u64, Option<Box<[u8]>>);

impl std::fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("opcode", &self.opcode)
            .field("len", &self.payload().len())
            .finish_non_exhaustive()
    }
}

impl PreparedMessage {
    /// A text message, framed.
    pub fn text(text: &str) -> Self {
        Self::new(Opcode::Text, text.as_bytes())
    }

    /// A binary message, framed.
    pub fn binary(data: &[u8]) -> Self {
        Self::new(Opcode::Binary, data)
    }

    fn new(opcode: Opcode, payload: &[u8]) -> Self {
        let mut frame = Vec::with_capacity(MAX_HEADER_LEN + payload.len());
        let header_len = push_server_frame(&mut frame, 0, opcode, payload);
        PreparedMessage {
            opcode,
            frame: frame.into_boxed_slice(),
            header_len,
            compressed: Mutex::new(Vec::new()),
        }
    }

    /// Text or binary.
    pub fn opcode(&self) -> Opcode {
        self.opcode
    }

    /// The message itself.
    pub fn payload(&self) -> &[u8] {
        &self.frame[self.header_len..]
    }

    /// The whole uncompressed server frame.
    pub(crate) fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The frame a stateless compressor with parameters `key` sends:
    /// compressed by `compress` the first time that key is asked for (it
    /// returns the compressed payload and RSV bits, or `None` to send the
    /// plain frame), then shared. `with` sees the frame's bytes.
    pub(crate) fn with_compressed<R>(
        &self,
        key: u64,
        compress: impl FnOnce(&[u8]) -> Option<(Vec<u8>, u8)>,
        with: impl FnOnce(&[u8]) -> R,
    ) -> R {
        let mut cache = self.compressed.lock().unwrap_or_else(|e| e.into_inner());
        let at = match cache.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let frame = compress(self.payload()).map(|(payload, rsv)| {
                    let mut frame = Vec::with_capacity(MAX_HEADER_LEN + payload.len());
                    push_server_frame(&mut frame, rsv, self.opcode, &payload);
                    frame.into_boxed_slice()
                });
                cache.push((key, frame));
                cache.len() - 1
            }
        };
        match &cache[at].1 {
            Some(frame) => with(frame),
            None => with(&self.frame),
        }
    }
}

/// Appends a server's (unmasked) frame holding a whole message to `out`;
/// returns its header's length.
fn push_server_frame(out: &mut Vec<u8>, rsv: u8, opcode: Opcode, payload: &[u8]) -> usize {
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    out.reserve(n + payload.len());
    out.extend_from_slice(&head[..n]);
    out.extend_from_slice(payload);
    n
}
