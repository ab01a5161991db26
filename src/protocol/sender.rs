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
    /// Received bytes a message's payload may be sent from without being
    /// copied (see [`Sender::lending`]); empty unless the caller lends.
    lendable: &'a [u8],
    /// Messages this long or longer take the slower path, which may lend:
    /// `LEND_FROM` while lending is possible, 0 once a payload is lent (so
    /// the next message settles it first), `usize::MAX` otherwise. One
    /// comparison keeps short messages on the short path.
    lend_from: usize,
    /// A payload sent from `lendable`: its frame's header is the whole of
    /// the queued output, the payload itself still where it was read. The
    /// caller takes it ([`Sender::take_lent`]) and writes both at once.
    lent: Option<&'a [u8]>,
}

/// Payloads shorter than this are copied even when they could be lent: a
/// vectored write's second buffer costs more than copying a few hundred
/// bytes. (Above 125, so a lent payload's header has an extended length.)
const LEND_FROM: usize = 512;
const _: () = assert!(LEND_FROM > 125);

impl std::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("role", &self.core.role)
            .field("state", &self.core.state)
            .field("buffered", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl<'a> Sender<'a> {
    pub(crate) fn new(core: &'a mut Core) -> Self {
        Sender {
            core,
            lendable: &[],
            lend_from: usize::MAX,
            lent: None,
        }
    }

    /// A sender that, when `lend`, may leave a message's payload where it
    /// lies in `lendable` (the bytes just received) instead of copying it
    /// into the output: an echo of a large message then goes out in one
    /// vectored write of header and payload. Whoever makes it must call
    /// [`Sender::take_lent`] before `lendable` changes, and write the lent
    /// payload right after the queued output, or queue it (`queue_unsent`)
    /// before anything else: the queued header is incomplete without it.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn lending(core: &'a mut Core, lendable: &'a [u8], lend: bool) -> Self {
        Sender {
            core,
            lendable,
            lend_from: if lend { LEND_FROM } else { usize::MAX },
            lent: None,
        }
    }

    /// Where the payload left in the lendable bytes lies in them, if one
    /// was: the queued output is exactly its frame's header.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn take_lent(&mut self) -> Option<std::ops::Range<usize>> {
        let lent = self.lent.take()?;
        let at = lent.as_ptr() as usize - self.lendable.as_ptr() as usize;
        Some(at..at + lent.len())
    }

    /// Copies a lent payload into the output after its header, before
    /// anything else is queued behind it.
    #[inline]
    fn settle(&mut self) {
        if self.lent.is_some() {
            self.settle_lent();
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_lent(&mut self) {
        if let Some(payload) = self.lent.take() {
            self.queue_frame(payload);
        }
    }

    /// `payload` as a part of the lendable bytes, when it is one and may be
    /// sent from there: a server's frame (unmasked), large enough, and the
    /// first thing in an empty output.
    #[inline]
    fn lendable_part(&self, payload: &[u8]) -> Option<&'a [u8]> {
        if payload.len() < self.lend_from
            || self.core.out.len() != 0
            || self.core.keys.is_some()
            || self.core.coalesced_pong.is_some()
        {
            return None;
        }
        let at = (payload.as_ptr() as usize).checked_sub(self.lendable.as_ptr() as usize)?;
        self.lendable.get(at..)?.get(..payload.len())
    }

    /// The connection's core, lent back for receiving
    /// ([`receive_split`](super::connection::receive_split)) while this
    /// sender lives.
    #[cfg(feature = "net")]
    #[inline(always)]
    pub(crate) fn core(&mut self) -> &mut Core {
        self.core
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
        self.core.out.len() + self.lent.map_or(0, <[u8]>::len)
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

    #[inline(always)]
    pub(crate) fn send_message(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        self.core.check_can_send()?;
        if self.core.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if payload.len() < self.lend_from && self.core.encoder.is_none() {
            self.core.write_frame(true, 0, opcode, payload);
            return Ok(());
        }
        self.send_message_lent_or_encoded(opcode, payload);
        Ok(())
    }

    /// `send_message` for a message that may be lent or encoded, or that
    /// follows a lent one.
    #[inline(never)]
    fn send_message_lent_or_encoded(&mut self, opcode: Opcode, payload: &[u8]) {
        self.settle();
        if self.core.encoder.is_some() {
            self.send_encoded(opcode, payload);
        } else if let Some(lent) = self.lendable_part(payload) {
            self.core.write_header(opcode, lent.len());
            self.lent = Some(lent);
            self.lend_from = 0;
        } else {
            self.core.write_frame(true, 0, opcode, payload);
        }
    }

    /// `send_message` through the connection's extension (permessage-
    /// deflate), which may leave the message as it is.
    fn send_encoded(&mut self, opcode: Opcode, payload: &[u8]) {
        let Some(encoder) = self.core.encoder.as_mut() else {
            return;
        };
        let mut scratch = std::mem::take(&mut self.core.encode_scratch);
        scratch.clear();
        let encoded = encoder.encode(payload, &mut scratch);
        let rsv = encoder.rsv_bits();
        if encoded {
            self.core.write_frame(true, rsv, opcode, &scratch);
        } else {
            self.core.write_frame(true, 0, opcode, payload);
        }
        self.core.encode_scratch = scratch;
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
        self.settle();
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
        self.settle();
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
        if !self.sends_frames_as_they_are() {
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

    /// Whether frames written straight to the transport would reach the
    /// peer as they are, in order: a server connection (no masking) with
    /// no compressor and nothing queued before them.
    #[cfg(feature = "net")]
    #[inline]
    fn sends_frames_as_they_are(&self) -> bool {
        self.core.keys.is_none()
            && self.core.encoder.is_none()
            && self.core.out.len() == 0
            && self.core.coalesced_pong.is_none()
    }

    /// Whether whole frames framed elsewhere (a topic's publishes) may be
    /// written straight to the transport now, from where they lie, with
    /// `queue_unsent` for what it does not take: the connection is open for
    /// sending, between messages, and `start_unbuffered` would agree.
    #[cfg(feature = "net")]
    #[inline]
    pub(crate) fn takes_frames_unbuffered(&self) -> bool {
        self.core.check_can_send().is_ok()
            && self.core.sending_fragmented.is_none()
            && self.lent.is_none()
            && self.sends_frames_as_they_are()
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
        self.settle();
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
        self.settle();
        self.core.write_close(Some(code), reason);
        Ok(())
    }
}
