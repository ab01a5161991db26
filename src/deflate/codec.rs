//! The per-message codec: [`Deflater`] compresses outgoing messages and
//! [`Inflater`] decompresses incoming ones, each plugged into one half of a
//! [`crate::protocol::Connection`].

use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};

use super::config::{DeflateConfig, Permit};
use super::pool;
use crate::frame::RSV1;
use crate::protocol::{ExtensionError, MessageDecoder, MessageEncoder};

/// What a sync flush ends with; stripped from each message on the wire and
/// put back before inflating (RFC 7692 §7.2.1).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// An empty message, compressed: a stored block of length 0, whose
/// `00 00 ff ff` is the trailer. Valid at any block boundary, with or
/// without context.
const EMPTY_BLOCK: u8 = 0x00;

/// Output is grown in steps of at most this much, so a message that inflates
/// past the limit costs at most the limit in memory.
const OUTPUT_STEP: usize = 64 << 10;

/// zlib cannot compress with a 2^8 window, so it inflates with at least 2^9
/// (a larger window decodes a stream made with a smaller one).
const MIN_ZLIB_BITS: u8 = 9;

/// Compresses outgoing messages.
pub struct Deflater {
    stream: Option<(Compress, Option<Permit>)>,
    /// 8 means the peer asked for a window zlib cannot produce: every
    /// message then goes uncompressed, which RFC 7692 always allows.
    window_bits: u8,
    context_takeover: bool,
    config: DeflateConfig,
}

impl Deflater {
    /// A compressor with a window of 2^`window_bits` bytes that keeps its context between messages when `context_takeover`.
    pub fn new(window_bits: u8, context_takeover: bool, config: &DeflateConfig) -> Self {
        Deflater {
            stream: None,
            window_bits,
            context_takeover,
            config: config.clone(),
        }
    }

    /// Whether a compressor is held between messages (context takeover).
    pub fn holds_state(&self) -> bool {
        self.stream.is_some()
    }

    fn acquire(&mut self) -> Option<&mut Compress> {
        if self.stream.is_none() {
            let permit = match &self.config.compressor_budget {
                Some(budget) => Some(budget.try_acquire()?),
                None => None,
            };
            let stream = pool::take_compressor(self.config.level, self.window_bits);
            self.stream = Some((stream, permit));
        }
        self.stream.as_mut().map(|(stream, _)| stream)
    }

    /// Gives the stream back when no context is kept (or after a failure,
    /// where starting afresh is always safe: the peer's window is only ever
    /// referenced by our own later output).
    fn release(&mut self) {
        if let Some((stream, _permit)) = self.stream.take() {
            pool::give_compressor(self.config.level, self.window_bits, stream);
        }
    }
}

impl MessageEncoder for Deflater {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }

    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> bool {
        if self.window_bits < MIN_ZLIB_BITS || message.len() < self.config.min_size {
            return false;
        }
        if message.is_empty() {
            // An empty stored block, trailer stripped. zlib would write
            // nothing for an empty sync flush right after another one.
            out.clear();
            out.push(EMPTY_BLOCK);
            return true;
        }
        let Some(stream) = self.acquire() else {
            return false;
        };
        out.clear();
        let ok = compress_sync(stream, message, out);
        if !ok || !out.ends_with(&TRAILER) {
            self.release();
            return false;
        }
        out.truncate(out.len() - TRAILER.len());
        // Sent compressed even when it grew (incompressible data without
        // shared context), so every message from `min_size` up is
        // compressed and the rule stays predictable. Peers may rarely see
        // uncompressed messages on a deflate connection: kosoku 0.1.0, the
        // conformance runner, mishandles uncompressed text there.
        if !self.context_takeover {
            self.release();
        }
        true
    }

    fn stateless_key(&self) -> Option<u64> {
        // Without context takeover every message starts from a fresh
        // stream: its output depends on the window, the level and the
        // size threshold only.
        (!self.context_takeover).then(|| {
            u64::from(self.window_bits)
                | u64::from(self.config.level.min(0xFF)) << 8
                | (self.config.min_size.min(1 << 40) as u64) << 16
        })
    }
}

/// Compresses `input` into `out` with a sync flush, growing `out` as needed.
fn compress_sync(stream: &mut Compress, mut input: &[u8], out: &mut Vec<u8>) -> bool {
    out.reserve(input.len() / 4 + 64);
    loop {
        // A flush wants room for its marker, or it repeats it.
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(4096));
        }
        let before = stream.total_in();
        if stream
            .compress_vec(input, out, FlushCompress::Sync)
            .is_err()
        {
            return false;
        }
        input = &input[(stream.total_in() - before) as usize..];
        // zlib's rule: the flush is complete when output room is left over.
        if input.is_empty() && out.len() < out.capacity() {
            return true;
        }
    }
}

/// Decompresses incoming messages, chunk by chunk, within a size limit.
pub struct Inflater {
    stream: Option<Decompress>,
    /// The peer's stream ended (a final block) with nothing after it: the
    /// trailer we would append has no stream to belong to.
    at_stream_end: bool,
    window_bits: u8,
    context_takeover: bool,
}

impl Inflater {
    /// A decompressor for a peer compressing with a window of 2^`window_bits` bytes, keeping its window between messages when `context_takeover`.
    pub fn new(window_bits: u8, context_takeover: bool) -> Self {
        Inflater {
            stream: None,
            at_stream_end: false,
            window_bits: window_bits.max(MIN_ZLIB_BITS),
            context_takeover,
        }
    }

    /// Whether a decompressor is held between messages (context takeover).
    pub fn holds_state(&self) -> bool {
        self.stream.is_some()
    }

    /// Inflates `input` onto `out`, failing as soon as more than `limit`
    /// bytes would be added past `base`. Memory follows the bytes actually
    /// produced, in steps, never the limit.
    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        base: usize,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let window_bits = self.window_bits;
        let stream = self
            .stream
            .get_or_insert_with(|| pool::take_decompressor(window_bits));
        loop {
            let room = limit - (out.len() - base);
            let (used, made, status, full) = if room == 0 {
                // At the limit: any further output byte is one too many.
                let mut probe = [0u8; 1];
                let (used, made, status) = step(stream, input, &mut probe)?;
                if made > 0 {
                    return Err(ExtensionError::TooBig);
                }
                (used, made, status, false)
            } else {
                if out.len() == out.capacity() {
                    out.reserve_exact(room.min(out.capacity().clamp(4096, OUTPUT_STEP)));
                }
                let room = room.min(out.capacity() - out.len());
                let (used, made, status) = decompress_bounded(stream, input, out, room)?;
                (used, made, status, made == room)
            };
            input = &input[used..];
            if used > 0 {
                self.at_stream_end = false;
            }
            if status == Status::StreamEnd {
                // The peer ended its deflate stream (a final block); what
                // follows in the message, if anything, starts a new one.
                stream.reset(false);
                if input.is_empty() {
                    self.at_stream_end = true;
                    return Ok(());
                }
                continue;
            }
            if !full && input.is_empty() {
                return Ok(());
            }
            if !full && used == 0 && made == 0 {
                return Err(ExtensionError::Corrupt("inflate made no progress".into()));
            }
        }
    }

    fn end_message(&mut self) {
        self.at_stream_end = false;
        if !self.context_takeover {
            if let Some(stream) = self.stream.take() {
                pool::give_decompressor(self.window_bits, stream);
            }
        }
    }
}

/// One inflate call into a stack buffer; returns (input used, output made,
/// status).
fn step(
    stream: &mut Decompress,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize, Status), ExtensionError> {
    let before_in = stream.total_in();
    let before_out = stream.total_out();
    let status = stream
        .decompress(input, output, FlushDecompress::None)
        .map_err(corrupt)?;
    Ok((
        (stream.total_in() - before_in) as usize,
        (stream.total_out() - before_out) as usize,
        status,
    ))
}

/// Inflates into `out`'s spare capacity, but at most `room` bytes; returns
/// (input used, output made, status).
fn decompress_bounded(
    stream: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    room: usize,
) -> Result<(usize, usize, Status), ExtensionError> {
    let len = out.len();
    // Capacity is already reserved, so this only zero-fills the step.
    out.resize(len + room, 0);
    let result = step(stream, input, &mut out[len..]);
    let made = result.as_ref().map_or(0, |r| r.1);
    out.truncate(len + made);
    result
}

fn corrupt(e: flate2::DecompressError) -> ExtensionError {
    ExtensionError::Corrupt(format!("invalid deflate data: {e}"))
}

impl MessageDecoder for Inflater {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }

    fn decode(
        &mut self,
        chunk: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        let base = out.len();
        let result = self.inflate(chunk, out, base, limit).and_then(|()| {
            if end && !self.at_stream_end {
                let limit = limit - (out.len() - base);
                self.inflate(&TRAILER, out, out.len(), limit)
            } else {
                Ok(())
            }
        });
        if end || result.is_err() {
            self.end_message();
        }
        result
    }
}
