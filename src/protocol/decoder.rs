//! Frames out of a byte stream: headers parsed (a partial one kept across
//! calls), the frame's payload handed out as it arrives, with where its
//! masking stands. What the frames mean is the assembler's business.

use std::ops::Range;

use super::error::ProtocolError;
use crate::frame::{FrameHeader, HeaderRules, Opcode, Parsed, MAX_HEADER_LEN};
use crate::mask;

/// Up to 13 header bytes that arrived without the rest of the header.
#[derive(Clone, Copy, Debug, Default)]
struct PartialHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

/// The frame whose payload is being read.
#[derive(Clone, Copy, Debug)]
struct FrameInProgress {
    header: FrameHeader,
    remaining: u64,
    mask_offset: u8,
}

/// A run of one frame's payload, as much as the input had.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Payload {
    pub opcode: Opcode,
    /// The frame is its message's last.
    pub fin: bool,
    /// This run is the frame's whole payload.
    pub whole: bool,
    /// The frame ends with this run.
    pub done: bool,
    /// The frame's masking key, if it has one.
    pub key: Option<[u8; 4]>,
    /// Where in the key this run starts.
    pub offset: u8,
}

impl Payload {
    /// Unmasks the run in place.
    #[inline]
    pub fn unmask(&self, run: &mut [u8]) {
        if let Some(key) = self.key {
            mask::apply_mask(run, key, self.offset as usize);
        }
    }

    /// Unmasks the run in place and says whether it is all ASCII (which
    /// the same pass finds out); `false` for an unmasked run, unchecked.
    #[inline]
    pub fn unmask_ascii(&self, run: &mut [u8]) -> bool {
        match self.key {
            Some(key) => mask::apply_mask_ascii(run, key, self.offset as usize).1,
            None => false,
        }
    }
}

/// A whole text or binary frame found by [`FrameDecoder::whole_frame`].
#[derive(Clone, Debug)]
pub(crate) struct WholeFrame {
    pub text: bool,
    pub key: Option<[u8; 4]>,
    /// Where its payload lies in the input.
    pub payload: Range<usize>,
}

/// The frame decoder: header parsing and payload bookkeeping.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    rules: HeaderRules,
    partial_header: PartialHeader,
    frame: Option<FrameInProgress>,
}

impl FrameDecoder {
    pub fn new(expect_masked: bool) -> Self {
        FrameDecoder {
            rules: HeaderRules {
                expect_masked,
                allowed_rsv: 0,
            },
            partial_header: PartialHeader::default(),
            frame: None,
        }
    }

    /// RSV bits a negotiated extension gives meaning to.
    pub fn allow_rsv(&mut self, bits: u8) {
        self.rules.allowed_rsv = bits;
    }

    /// Between frames, with no header half read.
    pub fn is_at_rest(&self) -> bool {
        self.partial_header.len == 0 && self.frame.is_none()
    }

    /// A frame's payload is being read.
    pub fn in_frame(&self) -> bool {
        self.frame.is_some()
    }

    /// The hot path's header: a text or binary frame with FIN set and no
    /// RSV bits, whole (header and payload) at the start of `input`, while
    /// nothing is half read. It is read here in a few instructions, without
    /// [`FrameHeader::parse`]'s generality or its bookkeeping. `None` for
    /// anything else, which then takes the general path and gets its errors
    /// there (a 64-bit length with the top bit set, a wrong mask bit...).
    #[inline(always)]
    pub fn whole_frame(&self, input: &[u8]) -> Option<WholeFrame> {
        let &[b0, b1, ..] = input else {
            return None;
        };
        if (b0 != 0x81 && b0 != 0x82) || !self.is_at_rest() {
            return None;
        }
        let masked = self.rules.expect_masked;
        if (b1 & 0x80 != 0) != masked {
            return None;
        }
        let (len, mut at) = match b1 & 0x7F {
            127 => {
                let length: [u8; 8] = input.get(2..10)?.try_into().ok()?;
                (usize::try_from(u64::from_be_bytes(length)).ok()?, 10)
            }
            126 => {
                let &[_, _, high, low, ..] = input else {
                    return None;
                };
                (u16::from_be_bytes([high, low]) as usize, 4)
            }
            short => (short as usize, 2),
        };
        let key = if masked {
            let key: [u8; 4] = input.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(key)
        } else {
            None
        };
        if input.len() - at < len {
            return None;
        }
        Some(WholeFrame {
            text: b0 == 0x81,
            key,
            payload: at..at + len,
        })
    }

    /// Parses the next header, completing a stashed partial one if needed,
    /// and checks what a frame alone can break: reserved bits on a control
    /// frame, a data frame over `max_frame_size` (before any payload is
    /// read, so no memory follows a claimed length). Returns the header and
    /// the input bytes it used, or `None` after stashing them all. The
    /// caller then takes the payload whole ([`FrameDecoder::whole_payload`])
    /// or begins the frame ([`FrameDecoder::begin_frame`]).
    #[inline]
    pub fn read_header(
        &mut self,
        input: &[u8],
        max_frame_size: usize,
    ) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let stashed = self.partial_header.len as usize;
        let parsed = if stashed == 0 {
            FrameHeader::parse(input, self.rules)?
        } else {
            let mut joined = self.partial_header.bytes;
            let take = input.len().min(MAX_HEADER_LEN - stashed);
            joined[stashed..stashed + take].copy_from_slice(&input[..take]);
            FrameHeader::parse(&joined[..stashed + take], self.rules)?
        };
        let (header, len) = match parsed {
            Parsed::Incomplete(_) => {
                // Fewer bytes than the header needs, so fewer than 14 in all.
                self.partial_header.bytes[stashed..stashed + input.len()].copy_from_slice(input);
                self.partial_header.len += input.len() as u8;
                return Ok(None);
            }
            Parsed::Complete(header, len) => (header, len),
        };
        self.partial_header.len = 0;
        if header.opcode.is_control() {
            if header.rsv != 0 {
                return Err(ProtocolError::ReservedBitsOnFrame(header.opcode));
            }
        } else if header.payload_len > max_frame_size as u64 {
            return Err(ProtocolError::FrameTooBig {
                announced: header.payload_len,
                limit: max_frame_size,
            });
        }
        Ok(Some((header, len - stashed)))
    }

    /// The payload of a frame whose header was just read is all in the
    /// input: it is one run, and nothing need be kept.
    #[inline]
    pub fn whole_payload(header: &FrameHeader) -> Payload {
        Payload {
            opcode: header.opcode,
            fin: header.fin,
            whole: true,
            done: true,
            key: header.mask,
            offset: 0,
        }
    }

    /// The payload of the frame whose header was just read goes on past
    /// the input: keep the frame, for [`FrameDecoder::take`].
    #[inline]
    pub fn begin_frame(&mut self, header: FrameHeader) {
        self.frame = Some(FrameInProgress {
            header,
            remaining: header.payload_len,
            mask_offset: 0,
        });
    }

    /// Takes the next `available` bytes of input, or fewer if the frame
    /// ends sooner; returns how many, and what they are. The frame is over
    /// when the run is `done`.
    #[inline]
    pub fn take(&mut self, available: usize) -> (usize, Payload) {
        let frame = self.frame.as_mut().expect("a frame is in progress");
        let len = frame.remaining.min(available as u64) as usize;
        let done = frame.remaining == len as u64;
        let payload = Payload {
            opcode: frame.header.opcode,
            fin: frame.header.fin,
            whole: len as u64 == frame.header.payload_len,
            done,
            key: frame.header.mask,
            offset: frame.mask_offset,
        };
        frame.remaining -= len as u64;
        frame.mask_offset = ((frame.mask_offset as usize + len) & 3) as u8;
        if done {
            self.frame = None;
        }
        (len, payload)
    }

    /// Forgets the frame in progress (the connection failed).
    pub fn reset(&mut self) {
        self.frame = None;
        self.partial_header.len = 0;
    }

    /// The opcode of the frame in progress, for tests.
    #[cfg(test)]
    pub fn opcode(&self) -> Option<Opcode> {
        self.frame.map(|f| f.header.opcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header split at every byte gives the same frame, and the payload
    /// runs add up to it with the right masking offsets.
    #[test]
    fn headers_split_anywhere_and_payload_runs_track_the_mask() {
        let key = [1, 2, 3, 4];
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: Opcode::Binary,
            mask: Some(key),
            payload_len: 300,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        for split in 0..n {
            let mut decoder = FrameDecoder::new(true);
            assert!(decoder.read_header(&head[..split], 1000).unwrap().is_none());
            let (parsed, used) = decoder.read_header(&head[split..n], 1000).unwrap().unwrap();
            assert_eq!(used, n - split);
            assert_eq!(parsed.payload_len, 300);
            decoder.begin_frame(parsed);
            assert_eq!(decoder.opcode(), Some(Opcode::Binary));
            let (a, first) = decoder.take(7);
            let (b, second) = decoder.take(1000);
            assert_eq!((a, b), (7, 293));
            assert_eq!((first.key, first.offset), (Some(key), 0));
            assert_eq!((second.key, second.offset), (Some(key), 3));
            assert!(!first.done && second.done && !second.whole);
            assert!(!decoder.in_frame() && decoder.is_at_rest());
        }
    }

    #[test]
    fn a_data_frame_over_the_limit_fails_before_its_payload() {
        let mut decoder = FrameDecoder::new(false);
        let err = decoder
            .read_header(&[0x82, 126, 0x01, 0x00], 255)
            .unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::FrameTooBig {
                announced: 256,
                limit: 255
            }
        ));
    }
}
