//! The sans-IO connection: bytes in → events out, messages in → bytes out.

use std::time::Instant;

use super::config::Config;
use super::error::{ProtocolError, SendError};
use super::extension::Extension;
use super::send_buffer::{MaskKeys, SendBuffer};
use super::timers::Timers;
use crate::frame::{
    encode_close_payload, parse_close_payload, CloseCode, FrameHeader, HeaderRules, Opcode, Parsed,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::mask;
use crate::utf8::StreamingUtf8;

/// Which end of the connection this is: servers receive masked frames and
/// send unmasked ones, clients the opposite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
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
    /// out: flush [`Connection::poll_transmit`], then close the transport.
    Closed,
}

/// Something the peer sent. Payloads borrow the input when a message came in
/// one frame, or the connection's assembly buffer when it was fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    /// Already answered with a pong when `auto_pong` is on.
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// The peer's close frame; the echo is already queued when we did not
    /// initiate. `code` is [`CloseCode::NO_STATUS`] for an empty close frame.
    Close { code: CloseCode, reason: &'a str },
}

/// The result of one [`Connection::receive`] call.
#[derive(Debug)]
pub struct Received<'a> {
    /// Input bytes used; call again with the rest.
    pub consumed: usize,
    /// At most one event per call.
    pub event: Option<Event<'a>>,
}

/// The frame whose payload is being read.
#[derive(Clone, Copy, Debug)]
struct FrameInProgress {
    header: FrameHeader,
    remaining: u64,
    mask_offset: usize,
}

/// The data message being received.
#[derive(Clone, Copy, Debug)]
struct MessageInProgress {
    text: bool,
    /// Its payload goes through the extension's decoder.
    encoded: bool,
    fragments: usize,
    /// Payload bytes announced so far (before decoding).
    wire_size: u64,
}

/// Where the payload of the event to deliver lies.
enum Deliver {
    /// A single-frame message, whole in the caller's input: zero-copy.
    Input(Opcode, std::ops::Range<usize>),
    /// A message assembled (or decoded) in `assembly`.
    Assembly(Opcode),
    /// A control frame, copied to `control`.
    Control(Opcode),
}

/// Up to 13 header bytes that arrived without the rest of the header.
#[derive(Clone, Copy, Debug, Default)]
struct PartialHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

/// A sans-IO WebSocket connection for either role (see the crate docs).
pub struct Connection {
    role: Role,
    config: Config,
    rules: HeaderRules,
    state: State,
    close_sent: bool,
    // Receiving.
    partial_header: PartialHeader,
    frame: Option<FrameInProgress>,
    message: Option<MessageInProgress>,
    /// Fragmented or decoded message payload, or a frame split across reads.
    assembly: Vec<u8>,
    /// Bytes of `assembly` already checked as UTF-8 (decoded text only).
    assembly_validated: usize,
    /// The last event borrowed `assembly`: clear it on the next call.
    assembly_delivered: bool,
    control: [u8; MAX_CONTROL_PAYLOAD],
    control_len: u8,
    utf8: StreamingUtf8,
    // Sending.
    out: SendBuffer,
    /// The opcode of the message we are sending in fragments.
    sending_fragmented: Option<Opcode>,
    keys: Option<MaskKeys>,
    /// The answer to the latest ping, while pongs are being coalesced.
    coalesced_pong: Option<([u8; MAX_CONTROL_PAYLOAD], u8)>,
    extension: Option<Box<dyn Extension>>,
    encode_scratch: Vec<u8>,
    timers: Timers,
    failure: Option<ProtocolError>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection whose handshake is complete. `now` starts its timers.
    pub fn new(role: Role, config: Config, now: Instant) -> Self {
        let timers = Timers::new(&config, now);
        Connection {
            role,
            rules: HeaderRules {
                expect_masked: role == Role::Server,
                allowed_rsv: 0,
            },
            config,
            state: State::Open,
            close_sent: false,
            partial_header: PartialHeader::default(),
            frame: None,
            message: None,
            assembly: Vec::new(),
            assembly_validated: 0,
            assembly_delivered: false,
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
            utf8: StreamingUtf8::new(),
            out: SendBuffer::default(),
            sending_fragmented: None,
            keys: (role == Role::Client).then(MaskKeys::new),
            coalesced_pong: None,
            extension: None,
            encode_scratch: Vec::new(),
            timers,
            failure: None,
        }
    }

    /// Installs a negotiated extension (e.g. permessage-deflate).
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.rules.allowed_rsv = extension.rsv_bits();
        self.extension = Some(extension);
        self
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The protocol error that failed the connection, if one did.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// Whether the close handshake timed out.
    pub fn timed_out(&self) -> bool {
        self.timers.close_timed_out
    }

    // ----- receiving -------------------------------------------------------

    /// Feeds bytes from the peer. Masked payloads are unmasked in place in
    /// `input`. Returns how much was consumed and at most one event; call
    /// again with `&mut input[consumed..]` until everything is consumed.
    ///
    /// Everything short of an event (a partial header, a partial frame, the
    /// fragments of a message) is consumed and kept by the connection, so
    /// the caller never holds on to a tail.
    pub fn receive<'a>(&'a mut self, input: &'a mut [u8]) -> Result<Received<'a>, ProtocolError> {
        if self.assembly_delivered {
            self.assembly_delivered = false;
            self.assembly.clear();
            self.assembly_validated = 0;
        }
        if self.state == State::Closed {
            return Ok(Received {
                consumed: input.len(),
                event: None,
            });
        }
        if !input.is_empty() {
            self.timers.saw_input();
        }
        match self.decode(input) {
            Ok((consumed, None)) => Ok(Received { consumed, event: None }),
            Ok((consumed, Some(deliver))) => Ok(Received {
                consumed,
                event: Some(self.deliver(input, deliver)),
            }),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Runs the decoder over `input` until an event is complete or the input
    /// is used up.
    fn decode(&mut self, input: &mut [u8]) -> Result<(usize, Option<Deliver>), ProtocolError> {
        let mut pos = 0;
        loop {
            if self.frame.is_none() {
                match self.read_header(&input[pos..])? {
                    Some(used) => pos += used,
                    None => return Ok((input.len(), None)),
                }
            }
            let frame = self.frame.as_mut().expect("a frame is in progress");
            let start = pos;
            let avail = frame.remaining.min((input.len() - pos) as u64) as usize;
            let whole_frame_here = avail as u64 == frame.header.payload_len;
            let chunk = &mut input[start..start + avail];
            pos += avail;
            frame.remaining -= avail as u64;
            let done = frame.remaining == 0;
            let header = frame.header;
            let opcode = header.opcode;

            if opcode.is_control() {
                self.unmask_plain(chunk);
                let at = self.control_len as usize;
                self.control[at..at + avail].copy_from_slice(chunk);
                self.control_len += avail as u8;
                if !done {
                    return Ok((input.len(), None));
                }
                self.frame = None;
                if opcode == Opcode::Close {
                    parse_close_payload(&self.control[..self.control_len as usize])
                        .map_err(ProtocolError::InvalidClose)?;
                }
                return Ok((pos, Some(Deliver::Control(opcode))));
            }

            let message = self.message.expect("a data frame belongs to a message");
            let last = done && header.fin;
            if message.encoded {
                self.unmask_plain(chunk);
                self.decode_extension(chunk, last)?;
            } else {
                self.unmask_data(chunk, message.text)?;
                if last && whole_frame_here && message.fragments == 1 {
                    self.finish_frame(true)?;
                    let kind = if message.text { Opcode::Text } else { Opcode::Binary };
                    return Ok((pos, Some(Deliver::Input(kind, start..pos))));
                }
                self.append_raw(chunk)?;
            }
            if !done {
                return Ok((input.len(), None));
            }
            self.finish_frame(header.fin)?;
            if header.fin {
                let kind = if message.text { Opcode::Text } else { Opcode::Binary };
                return Ok((pos, Some(Deliver::Assembly(kind))));
            }
        }
    }

    /// Parses the next header, completing a stashed partial one if needed.
    /// Returns the input bytes it used, or `None` after stashing them all.
    fn read_header(&mut self, input: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let stashed = self.partial_header.len as usize;
        let parsed = if stashed == 0 {
            FrameHeader::parse(input, self.rules)?
        } else {
            let mut joined = self.partial_header.bytes;
            let take = input.len().min(MAX_HEADER_LEN - stashed);
            joined[stashed..stashed + take].copy_from_slice(&input[..take]);
            FrameHeader::parse(&joined[..stashed + take], self.rules)?
        };
        match parsed {
            Parsed::Incomplete(_) => {
                // Fewer bytes than the header needs, so fewer than 14 in all.
                let at = stashed;
                self.partial_header.bytes[at..at + input.len()].copy_from_slice(input);
                self.partial_header.len += input.len() as u8;
                Ok(None)
            }
            Parsed::Complete(header, len) => {
                self.partial_header.len = 0;
                self.start_frame(header)?;
                Ok(Some(len - stashed))
            }
        }
    }

    /// Checks a new frame against the message state and the limits, before
    /// any of its payload is read (so no memory follows a claimed length).
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        if header.opcode.is_control() {
            if header.rsv != 0 {
                return Err(ProtocolError::ReservedBitsOnFrame(header.opcode));
            }
            self.control_len = 0;
        } else {
            if header.payload_len > self.config.max_frame_size as u64 {
                return Err(ProtocolError::FrameTooBig {
                    announced: header.payload_len,
                    limit: self.config.max_frame_size,
                });
            }
            let message = match (header.opcode, self.message.as_mut()) {
                (Opcode::Continuation, Some(message)) => {
                    if header.rsv != 0 {
                        return Err(ProtocolError::ReservedBitsOnFrame(header.opcode));
                    }
                    message.fragments += 1;
                    if message.fragments > self.config.max_fragments {
                        return Err(ProtocolError::TooManyFragments {
                            limit: self.config.max_fragments,
                        });
                    }
                    message
                }
                (Opcode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
                (opcode, Some(_)) => return Err(ProtocolError::ExpectedContinuation(opcode)),
                (opcode, None) => self.message.insert(MessageInProgress {
                    text: opcode == Opcode::Text,
                    encoded: header.rsv != 0,
                    fragments: 1,
                    wire_size: 0,
                }),
            };
            message.wire_size += header.payload_len;
            if message.wire_size > self.config.max_message_size as u64 {
                return Err(ProtocolError::MessageTooBig {
                    limit: self.config.max_message_size,
                });
            }
        }
        self.frame = Some(FrameInProgress {
            header,
            remaining: header.payload_len,
            mask_offset: 0,
        });
        Ok(())
    }

    /// Unmasks a payload chunk whose bytes are not validated here.
    fn unmask_plain(&mut self, chunk: &mut [u8]) {
        let frame = self.frame.as_mut().expect("a frame is in progress");
        if let Some(key) = frame.header.mask {
            frame.mask_offset = mask::apply_mask(chunk, key, frame.mask_offset);
        }
    }

    /// Unmasks a data chunk and, for text, validates it in the same pass
    /// when it is all ASCII, or streams it through the validator otherwise.
    #[inline]
    fn unmask_data(&mut self, chunk: &mut [u8], text: bool) -> Result<(), ProtocolError> {
        let frame = self.frame.as_mut().expect("a frame is in progress");
        let ascii = match frame.header.mask {
            Some(key) if text => {
                let (offset, ascii) = mask::apply_mask_ascii(chunk, key, frame.mask_offset);
                frame.mask_offset = offset;
                ascii
            }
            Some(key) => {
                frame.mask_offset = mask::apply_mask(chunk, key, frame.mask_offset);
                return Ok(());
            }
            None => false,
        };
        if text {
            let checked = if ascii {
                self.utf8.feed_ascii(chunk)
            } else {
                self.utf8.feed(chunk)
            };
            checked.map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    fn append_raw(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        // The announced sizes were checked against the limits, so this grows
        // only with bytes that actually arrived.
        self.assembly.extend_from_slice(chunk);
        Ok(())
    }

    fn decode_extension(&mut self, chunk: &[u8], end: bool) -> Result<(), ProtocolError> {
        let limit = self.config.max_message_size - self.assembly.len();
        let extension = self
            .extension
            .as_mut()
            .expect("encoded messages need a negotiated extension");
        extension
            .decode(chunk, end, &mut self.assembly, limit)
            .map_err(ProtocolError::Extension)?;
        if self.assembly.len() > self.config.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                limit: self.config.max_message_size,
            });
        }
        if self.message.is_some_and(|m| m.text) {
            let fresh = &self.assembly[self.assembly_validated..];
            self.utf8.feed(fresh).map_err(|_| ProtocolError::InvalidUtf8)?;
            self.assembly_validated = self.assembly.len();
        }
        Ok(())
    }

    /// Ends the current frame, and the message with it when `fin`.
    fn finish_frame(&mut self, fin: bool) -> Result<(), ProtocolError> {
        self.frame = None;
        if fin {
            let message = self.message.take().expect("a message is in progress");
            if message.text {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        Ok(())
    }

    /// Turns a decoded frame into the event, acting on control frames.
    fn deliver<'a>(&'a mut self, input: &'a [u8], deliver: Deliver) -> Event<'a> {
        match deliver {
            Deliver::Input(kind, range) => data_event(kind, &input[range]),
            Deliver::Assembly(kind) => {
                self.assembly_delivered = true;
                data_event(kind, &self.assembly)
            }
            Deliver::Control(Opcode::Ping) => {
                if self.config.auto_pong && self.state == State::Open {
                    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                    let len = self.control_len as usize;
                    payload[..len].copy_from_slice(&self.control[..len]);
                    self.queue_pong(&payload[..len]);
                }
                Event::Ping(&self.control[..self.control_len as usize])
            }
            Deliver::Control(Opcode::Pong) => Event::Pong(&self.control[..self.control_len as usize]),
            Deliver::Control(_) => self.on_close_frame(),
        }
    }

    /// Completes the close handshake for a close frame already validated
    /// by the decoder.
    fn on_close_frame(&mut self) -> Event<'_> {
        let len = self.control_len as usize;
        let parsed = parse_close_payload(&self.control[..len]).unwrap_or(None);
        let code = parsed.map_or(CloseCode::NO_STATUS, |(code, _)| code);
        if !self.close_sent {
            // Echo the peer's code (an empty close is answered empty).
            let echo = parsed.map(|(code, _)| code);
            self.write_close(echo, "");
        }
        self.state = State::Closed;
        let reason = parse_close_payload(&self.control[..len])
            .ok()
            .flatten()
            .map_or("", |(_, reason)| reason);
        Event::Close { code, reason }
    }

    /// Fails the connection: queue a close with the error's code (unless a
    /// close was already sent) and stop reading.
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        if !self.close_sent {
            let reason = error.to_string();
            self.write_close(Some(error.close_code()), &reason);
        }
        self.state = State::Closed;
        self.frame = None;
        self.message = None;
        self.failure = Some(error.clone());
        error
    }

    // ----- sending ---------------------------------------------------------

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_message(Opcode::Text, text.as_bytes())
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_message(Opcode::Binary, data)
    }

    fn send_message(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOrder);
        }
        if let Some(extension) = self.extension.as_mut() {
            let mut scratch = std::mem::take(&mut self.encode_scratch);
            scratch.clear();
            if extension.encode(payload, &mut scratch) {
                let rsv = extension.rsv_bits();
                self.write_frame(true, rsv, opcode, &scratch);
                self.encode_scratch = scratch;
                return Ok(());
            }
            self.encode_scratch = scratch;
        }
        self.write_frame(true, 0, opcode, payload);
        Ok(())
    }

    /// Queues one fragment of a message: `Text` or `Binary` starts it,
    /// `Continuation` continues it, `fin` ends it. Fragments are sent as
    /// they are (an extension does not encode them).
    pub fn send_fragment(&mut self, opcode: Opcode, payload: &[u8], fin: bool) -> Result<(), SendError> {
        self.check_can_send()?;
        match (opcode, self.sending_fragmented) {
            (Opcode::Text | Opcode::Binary, None) => {}
            (Opcode::Continuation, Some(_)) => {}
            (Opcode::Text | Opcode::Binary | Opcode::Continuation, _) => return Err(SendError::FragmentOrder),
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

    /// Queues a ping (payload ≤ 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.write_frame(true, 0, Opcode::Ping, payload);
        Ok(())
    }

    /// Queues an unsolicited pong (payload ≤ 125 bytes).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong);
        }
        self.write_frame(true, 0, Opcode::Pong, payload);
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

    fn queue_pong(&mut self, payload: &[u8]) {
        if self.out.len() > self.config.pong_coalesce_above {
            let mut kept = [0u8; MAX_CONTROL_PAYLOAD];
            kept[..payload.len()].copy_from_slice(payload);
            self.coalesced_pong = Some((kept, payload.len() as u8));
        } else {
            self.write_frame(true, 0, Opcode::Pong, payload);
        }
    }

    /// Encodes one frame straight into the send buffer: header first, then
    /// the payload, masked while it is copied on the client side.
    fn write_frame(&mut self, fin: bool, rsv: u8, opcode: Opcode, payload: &[u8]) {
        let key = self.keys.as_mut().map(MaskKeys::next_key);
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

    /// Bytes to write to the transport; after writing, report how many with
    /// [`Connection::advance_transmit`].
    pub fn poll_transmit(&mut self) -> &[u8] {
        if let Some((payload, len)) = self.coalesced_pong.take() {
            if !self.close_sent {
                self.write_frame(true, 0, Opcode::Pong, &payload[..len as usize]);
            }
        }
        self.out.pending()
    }

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

    /// Frees receive and send storage that holds no data (for idle
    /// connections: an idle connection should own no payload buffer).
    pub fn release_buffers(&mut self) {
        self.out.release_if_empty();
        if self.frame.is_none() && self.message.is_none() {
            self.assembly = Vec::new();
            self.assembly_delivered = false;
            self.assembly_validated = 0;
        }
    }

    /// Heap bytes held by this connection's buffers.
    pub fn buffer_capacity(&self) -> usize {
        self.assembly.capacity() + self.out.capacity()
    }

    // ----- time ------------------------------------------------------------

    /// The next instant at which [`Connection::handle_timeout`] must run.
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
            return;
        }
        if due.idle && self.state == State::Open {
            self.write_close(Some(CloseCode::GOING_AWAY), "idle timeout");
            return;
        }
        if due.ping && self.state == State::Open {
            self.write_frame(true, 0, Opcode::Ping, b"keepalive");
        }
    }
}

fn data_event(kind: Opcode, bytes: &[u8]) -> Event<'_> {
    if kind == Opcode::Text {
        // SAFETY: every byte of a text message went through StreamingUtf8
        // (or the fused ASCII pass) and `finish` succeeded before delivery;
        // the property tests check StreamingUtf8 agrees with std.
        Event::Text(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        Event::Binary(bytes)
    }
}
