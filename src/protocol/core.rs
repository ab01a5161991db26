//! What a connection is, apart from its half-read input: its role and
//! configuration, where the close handshake stands, why it failed, its
//! timers, and its output. [`Connection`](super::Connection) owns one; the
//! [`Sender`](super::Sender) view borrows it to queue frames. Receiving
//! never touches it: the connection acts on what was received.

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

/// The connection's state and output; see the module docs.
pub(crate) struct Core {
    pub role: Role,
    pub config: Config,
    pub state: State,
    pub close_sent: bool,
    pub out: SendBuffer,
    /// The opcode of the message we are sending in fragments.
    pub sending_fragmented: Option<Opcode>,
    /// Boxed: 256 bytes of keys that a server never needs.
    pub keys: Option<Box<MaskKeys>>,
    /// The answer to the latest ping, while pongs are being coalesced.
    pub coalesced_pong: Option<([u8; MAX_CONTROL_PAYLOAD], u8)>,
    pub encoder: Option<Box<dyn MessageEncoder>>,
    pub encode_scratch: Vec<u8>,
    pub timers: Timers,
    pub failure: Option<ProtocolError>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered", &self.out.len())
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Core {
    pub fn new(role: Role, config: Config, timers: Timers) -> Self {
        Core {
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

    /// Open, nothing queued or half sent, no close begun: what is left to
    /// keep is the role and the keepalive timers.
    pub fn is_at_rest(&self) -> bool {
        self.state == State::Open
            && !self.close_sent
            && self.out.len() == 0
            && self.coalesced_pong.is_none()
            && self.sending_fragmented.is_none()
            && self.failure.is_none()
    }

    pub fn check_can_send(&self) -> Result<(), SendError> {
        if self.close_sent || self.state == State::Closed {
            Err(SendError::Closed)
        } else {
            Ok(())
        }
    }

    // ----- acting on what was received --------------------------------------

    /// Answers a ping, coalescing pongs while output is backed up.
    pub fn auto_pong(&mut self, payload: &[u8]) {
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
    pub fn peer_closed(&mut self, code: CloseCode, reason: &str) {
        if !self.close_sent {
            // 1005 is what an empty close frame reads as; it is never sent.
            let code = (code != CloseCode::NO_STATUS).then_some(code);
            self.write_close(code, reason);
        }
        self.state = State::Closed;
    }

    /// Fails the connection: queue a close with the error's code (unless a
    /// close was already sent) and stop.
    pub fn fail(&mut self, error: &ProtocolError) {
        if !self.close_sent {
            let reason = error.to_string();
            self.write_close(Some(error.close_code()), &reason);
        }
        self.state = State::Closed;
        self.failure = Some(error.clone());
    }

    pub fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
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

    /// Queues the pong held back while pings were coalesced (unless a close
    /// went out since).
    #[cold]
    pub fn write_coalesced_pong(&mut self) {
        if let Some((payload, len)) = self.coalesced_pong.take() {
            if !self.close_sent {
                self.write_frame(true, 0, Opcode::Pong, &payload[..len as usize]);
            }
        }
    }

    /// Encodes one frame straight into the send buffer: header first, then
    /// the payload, masked while it is copied on the client side. Its small
    /// frame's path is inlined wherever it is called: called, the function
    /// spent as many instructions saving and restoring registers as
    /// writing the frame.
    #[inline(always)]
    pub fn write_frame(&mut self, fin: bool, rsv: u8, opcode: Opcode, payload: &[u8]) {
        if self.keys.is_none() && payload.len() <= 125 {
            // A server's small frame (most of them): two header bytes.
            let total = 2 + payload.len();
            let dst = self.out.tail(total);
            dst[0] = (fin as u8) << 7 | rsv | opcode as u8;
            dst[1] = payload.len() as u8;
            copy_small(&mut dst[2..], payload);
            self.out.commit(total);
            return;
        }
        self.write_any_frame(fin, rsv, opcode, payload);
    }

    /// [`Core::write_frame`] for every frame: any length, masked on the
    /// client side. Out of line, so the small frame's path stays short.
    #[inline(never)]
    fn write_any_frame(&mut self, fin: bool, rsv: u8, opcode: Opcode, payload: &[u8]) {
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

    /// Queues only the header of a server's whole unmasked message of `len`
    /// bytes (at least 126), whose payload the caller writes itself right
    /// after it (a payload lent by the [`Sender`](super::Sender)).
    #[inline]
    pub fn write_header(&mut self, opcode: Opcode, len: usize) {
        debug_assert!(len > 125);
        let first = 0x80 | opcode as u8;
        if let Ok(len) = u16::try_from(len) {
            let [high, low] = len.to_be_bytes();
            self.out.tail(4).copy_from_slice(&[first, 126, high, low]);
            self.out.commit(4);
        } else {
            let dst = self.out.tail(10);
            dst[0] = first;
            dst[1] = 127;
            dst[2..].copy_from_slice(&(len as u64).to_be_bytes());
            self.out.commit(10);
        }
    }

    pub fn release_buffers(&mut self) {
        self.out.release_if_empty();
        if self.encode_scratch.capacity() > 0 {
            self.encode_scratch = Vec::new();
        }
    }

    pub fn buffer_capacity(&self) -> usize {
        self.out.capacity() + self.encode_scratch.capacity()
    }
}

/// `dst.copy_from_slice(src)` for the payload of a small frame: up to 32
/// bytes as two overlapping fixed-size copies, which compile to a few moves
/// where a variable-length copy calls `memcpy`.
#[inline(always)]
fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        16..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        8..=15 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        _ => dst.copy_from_slice(src),
    }
}
