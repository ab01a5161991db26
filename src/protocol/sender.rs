//! The sending half of a connection: frames out, the close handshake's
//! state, and the timers. Owns everything the application may touch while
//! it reads an event that borrows the receiving half.

use std::time::Instant;

use super::config::Config;
use super::error::{ProtocolError, SendError};
use super::extension::MessageEncoder;
use super::send_buffer::{MaskKeys, SendBuffer};
use super::timers::Timers;
use crate::frame::{
    encode_close_payload, CloseCode, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::mask;

/// Which end of the connection this is: servers receive masked frames and
/// send unmasked ones, clients the opposite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The server end: receives masked frames, sends unmasked ones.
    Server,
    /// The client end: masks every frame it sends.
    Client,
}

/// Where the close handshake stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// Both close frames were exchanged, or the connection failed or timed
    /// out: flush the output, then close the transport.
    Closed,
}

/// The sending half; see the module docs.
pub struct Sender {
    role: Role,
    config: Config,
    state: State,
    close_sent: bool,
    out: SendBuffer,
    /// The opcode of the message we are sending in fragments.
    sending_fragmented: Option<Opcode>,
    /// Boxed: 256 bytes of keys that a server never needs.
    keys: Option<Box<MaskKeys>>,
    /// The answer to the latest ping, while pongs are being coalesced.
    coalesced_pong: Option<([u8; MAX_CONTROL_PAYLOAD], u8)>,
    encoder: Option<Box<dyn MessageEncoder>>,
    encode_scratch: Vec<u8>,
    timers: Timers,
    failure: Option<ProtocolError>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(role: Role, config: Config, timers: Timers) -> Self {
        Sender {
            role,
            timers,
            config,
            state: State::Open,
            close_sent: false,
            out: SendBuffer::default(),
            sending_fragmented: None,
            keys: (role == Role::Client).then(|| Box::new(MaskKeys::new())),
            coalesced_pong: None,
            encoder: None,
            encode_scratch: Vec::new(),
            failure: None,
        }
    }

    pub(crate) fn set_encoder(&mut self, encoder: Box<dyn MessageEncoder>) {
        self.encoder = Some(encoder);
    }

    pub(crate) fn take_encoder(&mut self) -> Option<Box<dyn MessageEncoder>> {
        self.encoder.take()
    }

    /// Open, nothing queued or half sent, no close begun: what is left to
    /// keep is the role and the keepalive timers.
    pub(crate) fn is_at_rest(&self) -> bool {
        self.state == State::Open
            && !self.close_sent
            && self.out.len() == 0
            && self.coalesced_pong.is_none()
            && self.sending_fragmented.is_none()
            && self.failure.is_none()
    }

    pub(crate) fn timers_mut(&mut self) -> &mut Timers {
        &mut self.timers
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol error that failed the connection, if one did.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// Whether the close handshake timed out.
    pub fn timed_out(&self) -> bool {
        self.timers.close_timed_out
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
        self.check_can_send()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if let Some(encoder) = self.encoder.as_mut() {
            let mut scratch = std::mem::take(&mut self.encode_scratch);
            scratch.clear();
            let encoded = encoder.encode(payload, &mut scratch);
            let rsv = encoder.rsv_bits();
            if encoded {
                self.write_frame(true, rsv, opcode, &scratch);
            }
            self.encode_scratch = scratch;
            if encoded {
                return Ok(());
            }
        }
        self.write_frame(true, 0, opcode, payload);
        Ok(())
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
        self.check_can_send()?;
        match (opcode, self.sending_fragmented) {
            (Opcode::Text | Opcode::Binary, None) | (Opcode::Continuation, Some(_)) => {}
            (Opcode::Text | Opcode::Binary | Opcode::Continuation, _) => {
                return Err(SendError::FragmentOrder)
            }
            (other, _) => return Err(SendError::NotDataOpcode(other)),
        }
        self.sending_fragmented = if fin {
            None
        } else {
            Some(self.sending_fragmented.unwrap_or(opcode))
        };
        self.write_frame(fin, 0, opcode, payload);
        Ok(())
    }

    /// For a server sending a large message with vectored IO: checks the
    /// state like `send_binary`/`send_text` would and returns the encoded
    /// header, so the caller can write header and payload without copying
    /// the payload. Whatever part is not written must be queued with
    /// [`Sender::queue_unsent`]. Only for unmasked frames with no encoder;
    /// returns `None` when the message must go through the normal path.
    #[cfg(feature = "net")]
    pub(crate) fn start_unbuffered(
        &mut self,
        opcode: Opcode,
        len: usize,
    ) -> Result<Option<([u8; MAX_HEADER_LEN], usize)>, SendError> {
        self.check_can_send()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if self.keys.is_some()
            || self.encoder.is_some()
            || self.out.len() > 0
            || self.coalesced_pong.is_some()
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
        let dst = self.out.tail(bytes.len());
        dst.copy_from_slice(bytes);
        self.out.commit(bytes.len());
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
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    /// Starts the close handshake. The reason is cut at a character boundary
    /// to fit the 125-byte control frame. Calling it again is a no-op.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.close_sent || self.state == State::Closed {
            return Ok(());
        }
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code));
        }
        self.write_close(Some(code), reason);
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.close_sent || self.state == State::Closed {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    // ----- called by the receiving half ------------------------------------

    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    pub(crate) fn saw_input(&mut self) {
        self.timers.saw_input();
    }

    /// Answers a ping, coalescing pongs while output is backed up.
    pub(crate) fn auto_pong(&mut self, payload: &[u8]) {
        if !self.config.auto_pong || self.state != State::Open {
            return;
        }
        if self.out.len() > self.config.pong_coalesce_above {
            let mut kept = [0u8; MAX_CONTROL_PAYLOAD];
            kept[..payload.len()].copy_from_slice(payload);
            self.coalesced_pong = Some((kept, payload.len() as u8));
        } else {
            self.write_frame(true, 0, Opcode::Pong, payload);
        }
    }

    /// The peer's close frame arrived: echo its code and reason unless we
    /// closed first (an empty close is answered empty), as npm `ws` and
    /// Python `websockets` do, so a browser's `CloseEvent.reason` shows what
    /// it sent. The handshake is over.
    pub(crate) fn peer_closed(&mut self, code: Option<CloseCode>, reason: &str) {
        if !self.close_sent {
            self.write_close(code, reason);
        }
        self.state = State::Closed;
    }

    /// Fails the connection: queue a close with the error's code (unless a
    /// close was already sent) and stop.
    pub(crate) fn fail(&mut self, error: &ProtocolError) {
        if !self.close_sent {
            let reason = error.to_string();
            self.write_close(Some(error.close_code()), &reason);
        }
        self.state = State::Closed;
        self.failure = Some(error.clone());
    }

    fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => encode_close_payload(code, reason, &mut payload),
            None => 0,
        };
        self.write_frame(true, 0, Opcode::Close, &payload[..len]);
        self.close_sent = true;
        if self.state == State::Open {
            self.state = State::Closing;
            self.timers.close_sent();
        }
    }

    /// Encodes one frame straight into the send buffer: header first, then
    /// the payload, masked while it is copied on the client side.
    fn write_frame(&mut self, fin: bool, rsv: u8, opcode: Opcode, payload: &[u8]) {
        let key = self.keys.as_deref_mut().map(MaskKeys::next_key);
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask: key,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let total = head_len + payload.len();
        let dst = self.out.tail(total);
        dst[..head_len].copy_from_slice(&head[..head_len]);
        match key {
            Some(key) => {
                mask::copy_masked(&mut dst[head_len..], payload, key, 0);
            }
            None => dst[head_len..].copy_from_slice(payload),
        }
        self.out.commit(total);
    }

    // ----- output ----------------------------------------------------------

    /// Bytes to write to the transport; after writing, report how many with
    /// [`Sender::advance_transmit`].
    pub fn poll_transmit(&mut self) -> &[u8] {
        if let Some((payload, len)) = self.coalesced_pong.take() {
            if !self.close_sent {
                self.write_frame(true, 0, Opcode::Pong, &payload[..len as usize]);
            }
        }
        self.out.pending()
    }

    /// Marks `written` bytes of [`Sender::poll_transmit`]'s output as sent.
    pub fn advance_transmit(&mut self, written: usize) {
        self.out.advance(written);
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.out.len()
    }

    /// True when the transport can be closed: the handshake is over and all
    /// output is written.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed && self.out.len() == 0 && self.coalesced_pong.is_none()
    }

    pub(crate) fn release_buffers(&mut self) {
        self.out.release_if_empty();
        if self.encode_scratch.capacity() > 0 {
            self.encode_scratch = Vec::new();
        }
    }

    pub(crate) fn buffer_capacity(&self) -> usize {
        self.out.capacity() + self.encode_scratch.capacity()
    }

    // ----- time ------------------------------------------------------------

    /// The next instant at which [`Sender::handle_timeout`] must run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        self.timers.next_deadline()
    }

    /// Runs the timers due at `now`: the close-handshake deadline, keepalive
    /// pings and the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        let due = self.timers.advance(now);
        if due.close_timed_out {
            self.state = State::Closed;
        } else if due.idle && self.state == State::Open {
            self.write_close(Some(CloseCode::GOING_AWAY), "idle timeout");
        } else if due.ping && self.state == State::Open {
            self.write_frame(true, 0, Opcode::Ping, b"keepalive");
        }
    }
}
