//! `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1), decoded as they
//! arrive: data is handed out as ranges of the caller's input (no copy),
//! chunk extensions and trailer fields are parsed and dropped.

use std::ops::Range;

use crate::handshake::Rejection;

/// Longest chunk-size line extension, and all trailer fields together: what
/// the peer may make us skip without delivering a byte.
const MAX_EXTENSION: usize = 4096;
const MAX_TRAILERS: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Hex digits of the size; `digits` read so far.
    Size {
        size: u64,
        digits: u8,
    },
    /// Whitespace or an extension after the size, up to CR.
    Extension {
        size: u64,
        len: usize,
    },
    /// CR of the size line seen; LF next.
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    /// The CRLF after a chunk's data.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line, up to CR.
    Trailer,
    TrailerLf,
    /// CR of the final empty line seen; LF ends the body.
    EndLf,
    Done,
}

/// One step of decoding: how much input was used, the data it held (a range
/// of that input, possibly empty), and whether the body has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used; call again with the rest.
    pub consumed: usize,
    /// Body data found, as a range of the input given (empty for none).
    pub data: Range<usize>,
    /// The last chunk and the trailers were read: the body has ended.
    pub done: bool,
}

/// The chunked decoder's state between reads.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            trailer_bytes: 0,
        }
    }
}

fn malformed(why: &str) -> Rejection {
    Rejection::BadRequest(format!("malformed chunked body: {why}").into())
}

impl ChunkedDecoder {
    /// Whether the whole body, trailers included, has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` until one run of data is found, the body ends
    /// or the input is used up. Call again with the rest.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Rejection> {
        let mut at = 0;
        while at < input.len() {
            let byte = input[at];
            match self.state {
                State::Size { size, digits } => match byte {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        if digits == 16 {
                            return Err(malformed("chunk size overflows"));
                        }
                        let value = (byte as char).to_digit(16).unwrap_or(0);
                        self.state = State::Size {
                            size: size << 4 | u64::from(value),
                            digits: digits + 1,
                        };
                    }
                    _ if digits == 0 => return Err(malformed("chunk size expected")),
                    b'\r' => self.state = State::SizeLf { size },
                    b';' | b' ' | b'\t' => self.state = State::Extension { size, len: 1 },
                    _ => return Err(malformed("invalid character in chunk size")),
                },
                State::Extension { size, len } => match byte {
                    b'\r' => self.state = State::SizeLf { size },
                    b'\n' => return Err(malformed("bare LF after chunk size")),
                    0..=8 | 10..=31 | 127 => {
                        return Err(malformed("control character in chunk extension"))
                    }
                    _ if len >= MAX_EXTENSION => return Err(malformed("chunk extension too long")),
                    _ => self.state = State::Extension { size, len: len + 1 },
                },
                State::SizeLf { size } => {
                    if byte != b'\n' {
                        return Err(malformed("CR without LF after chunk size"));
                    }
                    self.state = if size == 0 {
                        State::TrailerStart
                    } else {
                        State::Data { remaining: size }
                    };
                }
                State::Data { remaining } => {
                    let take = remaining.min((input.len() - at) as u64) as usize;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    return Ok(Decoded {
                        consumed: at + take,
                        data: at..at + take,
                        done: false,
                    });
                }
                State::DataCr => {
                    if byte != b'\r' {
                        return Err(malformed("chunk data longer than its size"));
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if byte != b'\n' {
                        return Err(malformed("CR without LF after chunk data"));
                    }
                    self.state = State::Size { size: 0, digits: 0 };
                }
                State::TrailerStart => {
                    self.state = match byte {
                        b'\r' => State::EndLf,
                        b'\n' => return Err(malformed("bare LF in trailer")),
                        _ => State::Trailer,
                    };
                    self.count_trailer()?;
                }
                State::Trailer => {
                    match byte {
                        b'\r' => self.state = State::TrailerLf,
                        b'\n' => return Err(malformed("bare LF in trailer")),
                        0..=8 | 11..=31 | 127 => {
                            return Err(malformed("control character in trailer"))
                        }
                        _ => {}
                    }
                    self.count_trailer()?;
                }
                State::TrailerLf => {
                    if byte != b'\n' {
                        return Err(malformed("CR without LF in trailer"));
                    }
                    self.state = State::TrailerStart;
                }
                State::EndLf => {
                    if byte != b'\n' {
                        return Err(malformed("CR without LF at the end"));
                    }
                    self.state = State::Done;
                    return Ok(Decoded {
                        consumed: at + 1,
                        data: 0..0,
                        done: true,
                    });
                }
                State::Done => break,
            }
            at += 1;
        }
        Ok(Decoded {
            consumed: at,
            data: 0..0,
            done: self.state == State::Done,
        })
    }

    fn count_trailer(&mut self) -> Result<(), Rejection> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_TRAILERS {
            return Err(Rejection::HeadTooLarge(
                format!("trailer fields exceed {MAX_TRAILERS} bytes").into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed in pieces of `step` bytes; returns the body.
    fn decode_in_steps(wire: &[u8], step: usize) -> Result<(Vec<u8>, usize), Rejection> {
        let mut decoder = ChunkedDecoder::default();
        let mut body = Vec::new();
        let mut used = 0;
        for piece in wire.chunks(step) {
            let mut at = 0;
            while at < piece.len() && !decoder.is_done() {
                let d = decoder.decode(&piece[at..])?;
                body.extend_from_slice(&piece[at..][d.data]);
                at += d.consumed;
            }
            used += at;
            if decoder.is_done() {
                return Ok((body, used));
            }
        }
        Err(malformed("unfinished"))
    }

    #[test]
    fn chunks_extensions_and_trailers_at_every_split() {
        let wire =
            b"5;name=value\r\nhello\r\n1 ; x\r\n \r\n0\r\nTrailer: yes\r\nOther: 1\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (body, used) = decode_in_steps(wire, step).unwrap();
            assert_eq!(body, b"hello ");
            assert_eq!(&wire[used..], b"NEXT");
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"11111111111111111\r\n",
            b"0\r\nBad\nTrailer\r\n\r\n",
            b"\r\n",
        ] {
            assert!(decode_in_steps(bad, bad.len()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_largest_size_parses_and_one_more_digit_overflows() {
        let mut d = ChunkedDecoder::default();
        assert!(d.decode(b"ffffffffffffffff\r\n").is_ok());
        let mut d = ChunkedDecoder::default();
        assert!(d.decode(b"10000000000000000\r\n").is_err());
    }
}
