//! Frames into what the application receives: whole messages (fragments
//! joined, decompressed, UTF-8 checked), or the pieces of one under
//! [`Delivery::Frames`] and [`Delivery::Chunks`], and control frames. Only
//! what cannot be handed out yet is kept here; nothing here decides the
//! connection's state.

use std::ops::Range;

use super::config::{Config, Delivery};
use super::decoder::{Payload, WholeFrame};
use super::error::ProtocolError;
use super::event::{Event, Fragment};
use super::extension::MessageDecoder;
use crate::frame::{
    parse_close_payload, CloseCode, CloseFrame, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD,
};
use crate::mask;
use crate::utf8::StreamingUtf8;

/// The data message being received.
#[derive(Clone, Copy, Debug)]
struct MessageInProgress {
    text: bool,
    /// Its payload goes through the extension's decoder.
    encoded: bool,
    fragments: usize,
    /// Payload bytes announced so far (before decoding).
    wire_size: u64,
    /// Bytes the extension's decoder produced so far.
    decoded: usize,
    /// A piece of it was handed out (frames and chunks).
    started: bool,
}

/// Where the payload of the event to deliver lies.
#[derive(Debug)]
pub(crate) enum Deliver {
    /// A single-frame message, whole in the caller's input: zero-copy.
    Input(Opcode, Range<usize>),
    /// A message assembled (or decoded) in `assembly`.
    Assembly(Opcode),
    /// A control frame, copied to `control`.
    Control(Opcode),
    /// A piece of a message: in the input at `range`, or (with an empty
    /// range) in `assembly` when `assembled`.
    Piece {
        text: bool,
        first: bool,
        last: bool,
        assembled: bool,
        range: Range<usize>,
    },
}

/// The message assembler; see the module docs.
pub(crate) struct MessageAssembler {
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
    extension: Option<Box<dyn MessageDecoder>>,
}

impl std::fmt::Debug for MessageAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageAssembler")
            .field("message", &self.message)
            .field("assembled", &self.assembly.len())
            .finish_non_exhaustive()
    }
}

impl MessageAssembler {
    pub fn new() -> Self {
        MessageAssembler {
            message: None,
            assembly: Vec::new(),
            assembly_validated: 0,
            assembly_delivered: false,
            control: [0; MAX_CONTROL_PAYLOAD],
            control_len: 0,
            utf8: StreamingUtf8::new(),
            extension: None,
        }
    }

    pub fn set_extension(&mut self, decoder: Box<dyn MessageDecoder>) {
        self.extension = Some(decoder);
    }

    pub fn take_extension(&mut self) -> Option<Box<dyn MessageDecoder>> {
        self.extension.take()
    }

    /// Between messages.
    pub fn is_at_rest(&self) -> bool {
        self.message.is_none()
    }

    /// Called before each `receive`: the last event may have borrowed the
    /// assembly buffer, and it is over now.
    #[inline]
    pub fn begin(&mut self) {
        if self.assembly_delivered {
            self.assembly_delivered = false;
            self.assembly.clear();
            self.assembly_validated = 0;
        }
    }

    /// Forgets the message in progress (the connection failed).
    pub fn reset(&mut self) {
        self.message = None;
    }

    /// Checks a new frame against the message it belongs to and the
    /// message limits, before any of its payload is read.
    #[inline]
    pub fn start_frame(
        &mut self,
        header: FrameHeader,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        if header.opcode.is_control() {
            self.control_len = 0;
            return Ok(());
        }
        let message = match (header.opcode, self.message.as_mut()) {
            (Opcode::Continuation, Some(message)) => {
                if header.rsv != 0 {
                    return Err(ProtocolError::ReservedBitsOnFrame(header.opcode));
                }
                message.fragments += 1;
                if message.fragments > config.max_fragments {
                    return Err(ProtocolError::TooManyFragments {
                        limit: config.max_fragments,
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
                decoded: 0,
                started: false,
            }),
        };
        message.wire_size += header.payload_len;
        if message.wire_size > wire_limit(config.max_message_size, message.encoded) {
            return Err(ProtocolError::MessageTooBig {
                limit: config.max_message_size,
            });
        }
        Ok(())
    }

    /// A message in one frame, whole in the input: unmasked, checked and
    /// delivered in place, keeping no state. `None`, with the input
    /// untouched, when the general path must take it (a message in
    /// progress, a limit to report, pieces wanted).
    #[inline(always)]
    pub fn whole_frame_message(
        &self,
        frame: WholeFrame,
        input: &mut [u8],
        config: &Config,
    ) -> Result<Option<Deliver>, ProtocolError> {
        if self.message.is_some()
            || config.delivery != Delivery::Messages
            || frame.payload.len() > config.max_frame_size.min(config.max_message_size)
        {
            return Ok(None);
        }
        let run = &mut input[frame.payload.clone()];
        if run.len() <= mask::SHORT {
            // The small message: unmasked (and its ASCII found) inline. An
            // unmasked one (a client's) is looked at a word at a time for
            // ASCII first: most are, and std's check goes byte by byte here.
            let ascii = match frame.key {
                Some(key) => mask::apply_mask_short(run, key),
                None => frame.text && run.is_ascii(),
            };
            if frame.text && !ascii && crate::utf8::to_str(run).is_err() {
                return Err(ProtocolError::InvalidUtf8);
            }
            return Ok(Some(Deliver::Input(data_opcode(frame.text), frame.payload)));
        }
        if !frame.text {
            if let Some(key) = frame.key {
                mask::apply_mask(run, key, 0);
            }
            return Ok(Some(Deliver::Input(Opcode::Binary, frame.payload)));
        }
        let valid = match frame.key {
            Some(key) => mask::apply_mask_utf8(run, key, 0),
            None => crate::utf8::to_str(run).is_ok(),
        };
        if !valid {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(Some(Deliver::Input(Opcode::Text, frame.payload)))
    }

    /// Takes a run of payload (`run` is `input[at]`, still masked) and says
    /// whether an event is ready.
    #[inline(always)]
    pub fn accept(
        &mut self,
        run: &mut [u8],
        at: Range<usize>,
        payload: Payload,
        config: &Config,
    ) -> Result<Option<Deliver>, ProtocolError> {
        let opcode = payload.opcode;
        if opcode.is_control() {
            payload.unmask(run);
            let from = self.control_len as usize;
            self.control[from..from + run.len()].copy_from_slice(run);
            self.control_len += run.len() as u8;
            if !payload.done {
                return Ok(None);
            }
            if opcode == Opcode::Close {
                parse_close_payload(&self.control[..self.control_len as usize])
                    .map_err(ProtocolError::InvalidClose)?;
            }
            return Ok(Some(Deliver::Control(opcode)));
        }
        let message = self.message.expect("a data frame belongs to a message");
        let last = payload.done && payload.fin;
        if message.encoded {
            payload.unmask(run);
            self.decode_extension(run, last, config)?;
            let ready = match config.delivery {
                Delivery::Messages => last,
                Delivery::Frames => payload.done,
                Delivery::Chunks => last || !self.assembly.is_empty(),
            };
            return match (ready, config.delivery) {
                (false, _) => Ok(None),
                (true, Delivery::Messages) => {
                    self.end_message()?;
                    Ok(Some(Deliver::Assembly(data_opcode(message.text))))
                }
                (true, _) => self.piece(last, None).map(Some),
            };
        }
        self.unmask_data(run, payload, message.text)?;
        match config.delivery {
            Delivery::Messages => {
                if last && payload.whole && message.fragments == 1 {
                    self.end_message()?;
                    return Ok(Some(Deliver::Input(data_opcode(message.text), at)));
                }
                // The announced sizes were checked against the limits, so
                // this grows only with bytes that actually arrived.
                self.assembly.extend_from_slice(run);
                if !last {
                    return Ok(None);
                }
                self.end_message()?;
                Ok(Some(Deliver::Assembly(data_opcode(message.text))))
            }
            Delivery::Frames if payload.whole => self.piece(last, Some(at)).map(Some),
            Delivery::Frames => {
                self.assembly.extend_from_slice(run);
                if !payload.done {
                    return Ok(None);
                }
                self.piece(last, None).map(Some)
            }
            // A frame's empty middle (no bytes in this input) is no piece.
            Delivery::Chunks if run.is_empty() && !payload.done => Ok(None),
            Delivery::Chunks => self.piece(last, Some(at)).map(Some),
        }
    }

    /// A piece of the message, ending it when `last`.
    fn piece(&mut self, last: bool, input: Option<Range<usize>>) -> Result<Deliver, ProtocolError> {
        let assembled = input.is_none();
        let range = input.unwrap_or_default();
        let message = self.message.as_mut().expect("a message is in progress");
        let first = !message.started;
        message.started = true;
        let text = message.text;
        if last {
            self.end_message()?;
        }
        Ok(Deliver::Piece {
            text,
            first,
            last,
            assembled,
            range,
        })
    }

    /// Unmasks a data run and, for text, validates it in the same pass
    /// when it is all ASCII, or streams it through the validator otherwise.
    #[inline]
    fn unmask_data(
        &mut self,
        run: &mut [u8],
        payload: Payload,
        text: bool,
    ) -> Result<(), ProtocolError> {
        if !text {
            payload.unmask(run);
            return Ok(());
        }
        let checked = if payload.unmask_ascii(run) {
            self.utf8.feed_ascii(run)
        } else {
            self.utf8.feed(run)
        };
        checked.map_err(|_| ProtocolError::InvalidUtf8)
    }

    fn decode_extension(
        &mut self,
        run: &[u8],
        end: bool,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        let message = self.message.as_mut().expect("a message is in progress");
        let limit = config.max_message_size - message.decoded;
        // Unreachable without a decoder: RSV bits are only allowed by one.
        let Some(decoder) = self.extension.as_mut() else {
            return Err(ProtocolError::ReservedBitsOnFrame(Opcode::Text));
        };
        let before = self.assembly.len();
        decoder
            .decode(run, end, &mut self.assembly, limit)
            .map_err(ProtocolError::Extension)?;
        message.decoded += self.assembly.len() - before;
        if message.decoded > config.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                limit: config.max_message_size,
            });
        }
        if message.text {
            let fresh = &self.assembly[self.assembly_validated..];
            self.utf8
                .feed(fresh)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
            self.assembly_validated = self.assembly.len();
        }
        Ok(())
    }

    /// The message is complete: its text must end on a whole character.
    fn end_message(&mut self) -> Result<(), ProtocolError> {
        let message = self.message.take().expect("a message is in progress");
        if message.text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// The payload of the control frame just received.
    pub fn control_payload(&self) -> &[u8] {
        &self.control[..self.control_len as usize]
    }

    /// The close frame just received (validated when it ended); an empty
    /// one reads as [`CloseCode::NO_STATUS`].
    pub fn close_frame(&self) -> CloseFrame<&str> {
        let parsed = parse_close_payload(self.control_payload()).ok().flatten();
        let (code, reason) = parsed.unwrap_or((CloseCode::NO_STATUS, ""));
        CloseFrame { code, reason }
    }

    /// The event for what [`MessageAssembler::accept`] found ready.
    #[inline]
    pub fn event<'a>(&'a mut self, input: &'a [u8], deliver: Deliver) -> Event<'a> {
        match deliver {
            Deliver::Input(kind, range) => data_event(kind, &input[range]),
            Deliver::Assembly(kind) => {
                self.assembly_delivered = true;
                data_event(kind, &self.assembly)
            }
            Deliver::Control(Opcode::Ping) => Event::Ping(self.control_payload()),
            Deliver::Control(Opcode::Pong) => Event::Pong(self.control_payload()),
            Deliver::Control(_) => Event::Close(self.close_frame()),
            Deliver::Piece {
                text,
                first,
                last,
                assembled,
                range,
            } => {
                let data = if assembled {
                    self.assembly_delivered = true;
                    &self.assembly[..]
                } else {
                    &input[range]
                };
                Event::Fragment(Fragment {
                    text,
                    data,
                    first,
                    last,
                })
            }
        }
    }

    /// Frees storage that holds no data (an idle connection should own no
    /// payload buffer).
    pub fn release_buffers(&mut self) {
        if self.message.is_none() {
            self.assembly = Vec::new();
            self.assembly_delivered = false;
            self.assembly_validated = 0;
        }
    }

    pub fn buffer_capacity(&self) -> usize {
        self.assembly.capacity()
    }
}

fn data_opcode(text: bool) -> Opcode {
    if text {
        Opcode::Text
    } else {
        Opcode::Binary
    }
}

#[inline(always)]
pub(crate) fn data_event(kind: Opcode, bytes: &[u8]) -> Event<'_> {
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
