//! The sending view of a connection: messages and control frames in,
//! queued as frames. It borrows the connection's [`Core`], so it can live
//! beside an event that borrows the received bytes
//! ([`Connection::receive_and_reply`](super::Connection::receive_and_reply)).

use super::core::{Core, Role, State};
use super::error::SendError;
use super::prepared::PreparedMessage;
use crate::frame::{CloseCode, Opcode, MAX_CONTROL_PAYLOAD};
#[cfg(feature = "net")]
use crate::frame::{FrameHeader, MAX_HEADER_LEN};

/// Queues messages on a connection; from
/// [`Connection::sender`](super::Connection::sender) or beside an event
/// from [`Connection::receive_and_reply`](super::Connection::receive_and_reply).
pub struct Sender<'a> {
    core: &'a mut Core,
}

impl std::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("role", &self.core.role)
            .field("state", &self.core.state)
            .field("buffered", &self.core.out.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Sender<'a> {
    pub(crate) fn new(core: &'a mut Core) -> Self {
        Sender { core }
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.core.state
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.core.out.len()
    }

    // ----- messages --------------------------------------------------------

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(Opcode::Text, text.as_bytes())
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(Opcode::Binary, data)
    }

    pub(crate) fn send_message(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        self.core.check_can_send()?;
        if self.core.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if let Some(encoder) = self.core.encoder.as_mut() {
            let mut scratch = std::mem::take(&mut self.core.encode_scratch);
            scratch.clear();
            let encoded = encoder.encode(payload, &mut scratch);
            let rsv = encoder.rsv_bits();
            if encoded {
                self.core.write_frame(true, rsv, opcode, &scratch);
            }
            self.core.encode_scratch = scratch;
            if encoded {
                return Ok(());
            }
        }
        self.core.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    /// Queues a message framed once for many connections (a topic's
    /// publish): a server without compression copies the prepared frame;
    /// a compressor without context takeover shares one compressed frame
    /// per set of parameters; anything else (a client, which masks, or a
    /// compressor with context) frames the message itself.
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.core.check_can_send()?;
        if self.core.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if self.core.keys.is_some() {
            return self.send_message(message.opcode(), message.payload());
        }
        let Some(encoder) = self.core.encoder.as_mut() else {
            self.queue_frame(message.frame());
            return Ok(());
        };
        let Some(key) = encoder.stateless_key() else {
            return self.send_message(message.opcode(), message.payload());
        };
        let compress = |payload: &[u8]| {
            let mut out = Vec::new();
            encoder
                .encode(payload, &mut out)
                .then(|| (out, encoder.rsv_bits()))
        };
        let out = &mut self.core.out;
        message.with_compressed(key, compress, |frame| {
            out.tail(frame.len()).copy_from_slice(frame);
            out.commit(frame.len());
        });
        Ok(())
    }

    /// Queues bytes that are already whole frames.
    fn queue_frame(&mut self, bytes: &[u8]) {
        let dst = self.core.out.tail(bytes.len());
        dst.copy_from_slice(bytes);
        self.core.out.commit(bytes.len());
    }

    /// Queues one fragment of a message: `Text` or `Binary` starts it,
    /// `Continuation` continues it, `fin` ends it. Fragments are sent as
    /// they are (an extension does not encode them).
    pub fn send_fragment(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.core.check_can_send()?;
        match (opcode, self.core.sending_fragmented) {
            (Opcode::Text | Opcode::Binary, None) | (Opcode::Continuation, Some(_)) => {}
            (Opcode::Text | Opcode::Binary | Opcode::Continuation, _) => {
                return Err(SendError::FragmentOrder)
            }
            (other, _) => return Err(SendError::NotDataOpcode(other)),
        }
        self.core.sending_fragmented = if fin {
            None
        } else {
            Some(self.core.sending_fragmented.unwrap_or(opcode))
        };
        self.core.write_frame(fin, 0, opcode, payload);
        Ok(())
    }

    /// For a server sending a large message with vectored IO: checks the
    /// state like `send_binary`/`send_text` would and returns the encoded
    /// header, so the caller can write header and payload without copying
    /// the payload. Whatever part is not written must be queued with
    /// `queue_unsent`. Only for unmasked frames with no encoder;
    /// returns `None` when the message must go through the normal path.
    #[cfg(feature = "net")]
    pub(crate) fn start_unbuffered(
        &mut self,
        opcode: Opcode,
        len: usize,
    ) -> Result<Option<([u8; MAX_HEADER_LEN], usize)>, SendError> {
        self.core.check_can_send()?;
        if self.core.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if self.core.keys.is_some()
            || self.core.encoder.is_some()
            || self.core.out.len() > 0
            || self.core.coalesced_pong.is_some()
        {
            return Ok(None);
        }
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: len as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        Ok(Some((head, n)))
    }

    /// Queues bytes of an unbuffered frame that the transport did not take.
    #[cfg(feature = "net")]
    pub(crate) fn queue_unsent(&mut self, bytes: &[u8]) {
        self.queue_frame(bytes);
    }

    /// Queues a ping (payload ≤ 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.control(Opcode::Ping, payload)
    }

    /// Queues an unsolicited pong (payload ≤ 125 bytes).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.control(Opcode::Pong, payload)
    }

    fn control(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        self.core.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.core.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    /// Starts the close handshake. The reason is cut at a character boundary
    /// to fit the 125-byte control frame. Calling it again is a no-op.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.core.close_sent || self.core.state == State::Closed {
            return Ok(());
        }
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code));
        }
        self.core.write_close(Some(code), reason);
        Ok(())
    }
}
