//! The receiving half of a connection: bytes in → events out. Frames are
//! decoded in place in the caller's buffer; only what cannot be delivered
//! yet (a partial header or frame, a fragmented message) is kept here.

use super::config::Config;
use super::error::ProtocolError;
use super::extension::MessageDecoder;
use super::sender::Sender;
use crate::frame::{
    parse_close_payload, CloseCode, CloseFrame, FrameHeader, HeaderRules, Opcode, Parsed,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::mask;
use crate::utf8::StreamingUtf8;

/// Something the peer sent. Payloads borrow the input when a message came in
/// one frame, or the receiver's assembly buffer when it was fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A text message, checked to be UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// Already answered with a pong when `auto_pong` is on.
    Ping(&'a [u8]),
    /// A pong (an answer to our ping, or a heartbeat).
    Pong(&'a [u8]),
    /// The peer's close frame; the echo is already queued when we did not
    /// initiate. Its code is [`CloseCode::NO_STATUS`] for an empty frame.
    Close(CloseFrame<&'a str>),
}

/// An owned copy of an [`Event`], for APIs that keep events across calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedEvent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// The peer's close frame: its code and reason.
    Close(CloseFrame),
}

impl From<Event<'_>> for OwnedEvent {
    fn from(event: Event<'_>) -> Self {
        match event {
            Event::Text(t) => OwnedEvent::Text(t.to_string()),
            Event::Binary(b) => OwnedEvent::Binary(b.to_vec()),
            Event::Ping(p) => OwnedEvent::Ping(p.to_vec()),
            Event::Pong(p) => OwnedEvent::Pong(p.to_vec()),
            Event::Close(frame) => OwnedEvent::Close(frame.to_owned()),
        }
    }
}

/// The result of one `receive` call.
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

/// The receiving half; see the module docs.
pub struct Receiver {
    config: Config,
    rules: HeaderRules,
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
    decoder: Option<Box<dyn MessageDecoder>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("frame", &self.frame)
            .field("message", &self.message)
            .field("assembled", &self.assembly.len())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub(crate) fn new(expect_masked: bool, config: Config) -> Self {
        Receiver {
            config,
            rules: HeaderRules {
                expect_masked,
                allowed_rsv: 0,
            },
            partial_header: PartialHeader::default(),
            frame: None,
            message: None,
            assembly: Vec::new(),
            assembly_validated: 0,
            assembly_delivered: false,
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
            utf8: StreamingUtf8::new(),
            decoder: None,
        }
    }

    pub(crate) fn set_decoder(&mut self, decoder: Box<dyn MessageDecoder>) {
        self.rules.allowed_rsv = decoder.rsv_bits();
        self.decoder = Some(decoder);
    }

    pub(crate) fn take_decoder(&mut self) -> Option<Box<dyn MessageDecoder>> {
        self.decoder.take()
    }

    /// Between messages: no header, frame or message half received.
    pub(crate) fn is_at_rest(&self) -> bool {
        self.partial_header.len == 0 && self.frame.is_none() && self.message.is_none()
    }

    /// Feeds bytes from the peer. Masked payloads are unmasked in place in
    /// `input`. Returns how much was consumed and at most one event; call
    /// again with `&mut input[consumed..]` until everything is consumed.
    ///
    /// Everything short of an event (a partial header, a partial frame, the
    /// fragments of a message) is consumed and kept by the connection, so
    /// the caller never holds on to a tail.
    ///
    /// Pongs and the close echo are queued on `tx`, the other half.
    pub fn receive<'a>(
        &'a mut self,
        input: &'a mut [u8],
        tx: &mut Sender,
    ) -> Result<Received<'a>, ProtocolError> {
        if self.assembly_delivered {
            self.assembly_delivered = false;
            self.assembly.clear();
            self.assembly_validated = 0;
        }
        if tx.is_closed() {
            return Ok(Received {
                consumed: input.len(),
                event: None,
            });
        }
        if !input.is_empty() {
            tx.saw_input();
        }
        match self.decode(input) {
            Ok((consumed, None)) => Ok(Received {
                consumed,
                event: None,
            }),
            Ok((consumed, Some(deliver))) => Ok(Received {
                consumed,
                event: Some(self.deliver(input, deliver, tx)),
            }),
            Err(error) => {
                self.frame = None;
                self.message = None;
                tx.fail(&error);
                Err(error)
            }
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
                    let kind = if message.text {
                        Opcode::Text
                    } else {
                        Opcode::Binary
                    };
                    return Ok((pos, Some(Deliver::Input(kind, start..pos))));
                }
                self.append_raw(chunk)?;
            }
            if !done {
                return Ok((input.len(), None));
            }
            self.finish_frame(header.fin)?;
            if header.fin {
                let kind = if message.text {
                    Opcode::Text
                } else {
                    Opcode::Binary
                };
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
            if message.wire_size > wire_limit(self.config.max_message_size, message.encoded) {
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
        // Unreachable without a decoder: RSV bits are only allowed by one.
        let Some(decoder) = self.decoder.as_mut() else {
            return Err(ProtocolError::ReservedBitsOnFrame(Opcode::Text));
        };
        decoder
            .decode(chunk, end, &mut self.assembly, limit)
            .map_err(ProtocolError::Extension)?;
        if self.assembly.len() > self.config.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                limit: self.config.max_message_size,
            });
        }
        if self.message.is_some_and(|m| m.text) {
            let fresh = &self.assembly[self.assembly_validated..];
            self.utf8
                .feed(fresh)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
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
    fn deliver<'a>(&'a mut self, input: &'a [u8], deliver: Deliver, tx: &mut Sender) -> Event<'a> {
        match deliver {
            Deliver::Input(kind, range) => data_event(kind, &input[range]),
            Deliver::Assembly(kind) => {
                self.assembly_delivered = true;
                data_event(kind, &self.assembly)
            }
            Deliver::Control(Opcode::Ping) => {
                let payload = &self.control[..self.control_len as usize];
                tx.auto_pong(payload);
                Event::Ping(payload)
            }
            Deliver::Control(Opcode::Pong) => {
                Event::Pong(&self.control[..self.control_len as usize])
            }
            Deliver::Control(_) => self.on_close_frame(tx),
        }
    }

    /// Completes the close handshake for a close frame already validated
    /// by the decoder.
    fn on_close_frame(&mut self, tx: &mut Sender) -> Event<'_> {
        let parsed = parse_close_payload(&self.control[..self.control_len as usize])
            .ok()
            .flatten();
        let (code, reason) = parsed.map_or((None, ""), |(code, reason)| (Some(code), reason));
        tx.peer_closed(code, reason);
        let (code, reason) = parsed.unwrap_or((CloseCode::NO_STATUS, ""));
        Event::Close(CloseFrame { code, reason })
    }

    /// Frees storage that holds no data (an idle connection should own no
    /// payload buffer).
    pub(crate) fn release_buffers(&mut self) {
        if self.frame.is_none() && self.message.is_none() {
            self.assembly = Vec::new();
            self.assembly_delivered = false;
            self.assembly_validated = 0;
        }
    }

    pub(crate) fn buffer_capacity(&self) -> usize {
        self.assembly.capacity()
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

/// The most payload bytes a message may take on the wire. An encoded
/// message is checked again, decoded, against the message limit; on the
/// wire it may be slightly larger than decoded (deflate adds a few bytes per
/// block to data it cannot shrink), so a message exactly at the limit fits.
fn wire_limit(max_message_size: usize, encoded: bool) -> u64 {
    let limit = max_message_size as u64;
    if encoded {
        limit + limit / 256 + 64
    } else {
        limit
    }
}
