//! Requests out of a byte stream, one at a time, however the bytes are
//! split: the sans-IO half of an HTTP/1.1 server connection.
//!
//! A request that arrived whole in the caller's input is handed out
//! borrowing that input (no copy). Only what must wait for more bytes (a
//! partial head, a body still arriving, requests pipelined behind one the
//! caller has not answered yet) is kept.

use super::chunked::ChunkedDecoder;
use super::head::{expects_continue, framing, parse_head, Framing};
use crate::handshake::{find_head_end, Rejection, Request, RequestLimits};

/// Bounds on what a client may send.
#[derive(Clone, Debug)]
pub struct ReaderLimits {
    /// Limits on the request head: bytes and header lines.
    pub head: RequestLimits,
    /// The largest body handed out whole; a longer one gets 413. Bodies a
    /// handler streams are not bounded here.
    pub max_body: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            head: RequestLimits::default(),
            max_body: 1 << 20,
        }
    }
}

/// What one call to [`RequestReader::read`] found.
#[derive(Debug)]
pub enum Step<'a> {
    /// Nothing complete yet: the input was used or kept. Call again with
    /// more input.
    NeedMore,
    /// A head with a body to come asked for `Expect: 100-continue`: write
    /// `HTTP/1.1 100 Continue`, then call again.
    Continue,
    /// A whole request, body included.
    Request(Request<'a>),
    /// The head of a request whose body the caller streams: the body
    /// follows as `BodyChunk`s and one `BodyEnd`.
    Head(Request<'a>),
    /// A piece of a streamed body, as it arrived (de-chunked).
    BodyChunk(&'a [u8]),
    /// The streamed body has ended.
    BodyEnd,
}

/// Where the body of a streamed request stands.
#[derive(Clone, Debug)]
enum BodyDecoder {
    Length(u64),
    Chunked(ChunkedDecoder),
}

#[derive(Clone, Debug)]
enum State {
    /// Between requests, or with a partial head.
    Head,
    /// A head of `head_len` bytes waits at the front of the kept input for
    /// its body to arrive whole, up to `total` bytes.
    WholeLength { head_len: usize, total: usize },
    /// A head of `head_len` bytes, then a chunked body decoded into
    /// `assembled` up to offset `raw_at` of the kept input.
    WholeChunked {
        head_len: usize,
        raw_at: usize,
        decoder: ChunkedDecoder,
    },
    /// The body of a streamed request.
    Stream(BodyDecoder),
}

/// The reading side of one HTTP/1.1 server connection.
#[derive(Debug)]
pub struct RequestReader {
    limits: ReaderLimits,
    /// Input kept between calls.
    pending: Vec<u8>,
    /// Bytes at the front of `pending` the last step used; dropped at the
    /// next call (the step may have borrowed them).
    used: usize,
    /// How much of a partial head was already searched for its end.
    scanned: usize,
    state: State,
    /// A chunked body being assembled for whole delivery.
    assembled: Vec<u8>,
    /// `100 Continue` was already asked for the current request.
    continued: bool,
}

impl RequestReader {
    /// A reader for one connection, with `limits`.
    pub fn new(limits: ReaderLimits) -> Self {
        RequestReader {
            limits,
            pending: Vec::new(),
            used: 0,
            scanned: 0,
            state: State::Head,
            assembled: Vec::new(),
            continued: false,
        }
    }

    /// Between requests with nothing kept: an idle keep-alive connection.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.pending.len() == self.used
    }

    /// Between requests (possibly with the next one partly received).
    pub fn between_requests(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// Bytes kept for later, and not yet handed out.
    pub fn kept(&self) -> usize {
        self.pending.len() - self.used
    }

    /// Takes what is kept and unread (the bytes after an upgrade request,
    /// which belong to the WebSocket).
    pub fn take_rest(&mut self) -> Vec<u8> {
        let mut rest = std::mem::take(&mut self.pending);
        rest.drain(..self.used);
        self.used = 0;
        rest
    }

    /// Keeps `input` unread, for later: bytes that arrive while the
    /// caller is not ready for the next request (its answer to this one is
    /// held), to be read once it is.
    pub fn keep(&mut self, input: &[u8]) {
        self.pending.extend_from_slice(input);
    }

    /// Frees storage that holds nothing (an idle connection keeps none).
    pub fn release_buffers(&mut self) {
        if self.is_idle() {
            self.pending = Vec::new();
            self.used = 0;
            self.assembled = Vec::new();
        }
    }

    /// Feeds `input` and returns how much of it was taken (used, or kept
    /// for later) with the next step. Call again with the rest, and with an
    /// empty input after each step but `NeedMore`, until it says `NeedMore`.
    /// `streams` is asked, for each request with a body, whether the caller
    /// wants that body in pieces rather than whole.
    pub fn read<'a>(
        &'a mut self,
        input: &'a [u8],
        streams: &mut dyn FnMut(&Request<'_>) -> bool,
    ) -> Result<(usize, Step<'a>), Rejection> {
        let RequestReader {
            limits,
            pending,
            used,
            scanned,
            state,
            assembled,
            continued,
        } = self;
        if *used > 0 {
            pending.drain(..*used);
            *used = 0;
        }
        if pending.is_empty() {
            let cursor = Cursor {
                limits,
                scanned,
                state,
                assembled,
                continued,
            };
            let (n, step) = cursor.advance(input, streams)?;
            if let Step::NeedMore = step {
                pending.extend_from_slice(&input[n..]);
                return Ok((input.len(), Step::NeedMore));
            }
            return Ok((n, step));
        }
        pending.extend_from_slice(input);
        let cursor = Cursor {
            limits,
            scanned,
            state,
            assembled,
            continued,
        };
        let (n, step) = cursor.advance(pending, streams)?;
        *used = n;
        Ok((input.len(), step))
    }
}

/// The reader's state, borrowed apart from the bytes it reads.
struct Cursor<'s> {
    limits: &'s ReaderLimits,
    scanned: &'s mut usize,
    state: &'s mut State,
    assembled: &'s mut Vec<u8>,
    continued: &'s mut bool,
}

impl<'s> Cursor<'s> {
    /// One step over `data` (the kept input, or the caller's when nothing
    /// is kept). Returns the bytes of `data` used; on `NeedMore`, the rest
    /// is kept.
    fn advance<'a>(
        self,
        data: &'a [u8],
        streams: &mut dyn FnMut(&Request<'_>) -> bool,
    ) -> Result<(usize, Step<'a>), Rejection>
    where
        's: 'a,
    {
        match self.state.clone() {
            State::Head => self.head(data, streams),
            State::WholeLength { head_len, total } => {
                if data.len() < total {
                    return Ok((0, Step::NeedMore));
                }
                let request = reparse(data, head_len, self.limits)?;
                *self.state = State::Head;
                Ok((
                    total,
                    Step::Request(Request {
                        body: &data[head_len..total],
                        ..request
                    }),
                ))
            }
            State::WholeChunked {
                head_len,
                raw_at,
                decoder,
            } => self.whole_chunked(data, head_len, raw_at, decoder),
            State::Stream(body) => self.stream(data, body),
        }
    }

    /// Empty lines before a request line are ignored (RFC 9112 §2.2), as
    /// httparse does within one buffer: consumed here, so that the answer
    /// does not depend on whether they came in a read of their own.
    fn head<'a>(
        self,
        data: &'a [u8],
        streams: &mut dyn FnMut(&Request<'_>) -> bool,
    ) -> Result<(usize, Step<'a>), Rejection>
    where
        's: 'a,
    {
        let blank = data
            .chunks_exact(2)
            .take_while(|pair| *pair == b"\r\n")
            .count()
            * 2;
        // A bare LF where a request line should start is refused at once:
        // waiting for more would let the scan for the head's end mistake
        // it for one.
        if data.get(blank) == Some(&b'\n') {
            return Err(Rejection::BadRequest(
                "an empty line ending in a bare LF before the request: CRLF is required".into(),
            ));
        }
        let (used, step) = self.request_head(&data[blank..], streams)?;
        Ok((blank + used, step))
    }

    fn request_head<'a>(
        self,
        data: &'a [u8],
        streams: &mut dyn FnMut(&Request<'_>) -> bool,
    ) -> Result<(usize, Step<'a>), Rejection>
    where
        's: 'a,
    {
        // The usual head arrives whole in one read: parse it at once.
        if *self.scanned == 0 {
            match parse_head(data, &self.limits.head) {
                Ok(Some((request, head_len))) => {
                    return self.framed(data, request, head_len, streams)
                }
                Ok(None) => {}
                // Judged only once the head is complete (or too long), as
                // it would be had it come in pieces.
                Err(rejection) => match find_head_end(data, 0) {
                    Some(end) if end > self.limits.head.max_bytes => {
                        return Err(self.limits.head.head_too_large())
                    }
                    Some(_) => return Err(rejection),
                    None => {}
                },
            }
        }
        // Parse only a complete head, scanning each byte once for its end
        // however slowly it comes.
        let Some(end) = find_head_end(data, *self.scanned) else {
            *self.scanned = data.len();
            if data.len() > self.limits.head.max_bytes {
                return Err(self.limits.head.head_too_large());
            }
            // A partial head is all kept: nothing is used yet.
            return Ok((0, Step::NeedMore));
        };
        // Too long is judged before malformed: a split head is refused for
        // its length before it is complete, so a whole one must be too.
        if end > self.limits.head.max_bytes {
            return Err(self.limits.head.head_too_large());
        }
        let Some((request, head_len)) = parse_head(&data[..end], &self.limits.head)? else {
            return Err(Rejection::BadRequest("malformed HTTP request head".into()));
        };
        self.framed(data, request, head_len, streams)
    }

    /// A complete head: its body framed, and the request handed out whole,
    /// or its head first with the body to stream, or kept for its body.
    fn framed<'a>(
        mut self,
        data: &'a [u8],
        request: Request<'a>,
        head_len: usize,
        streams: &mut dyn FnMut(&Request<'_>) -> bool,
    ) -> Result<(usize, Step<'a>), Rejection>
    where
        's: 'a,
    {
        *self.scanned = 0;
        *self.continued = false;
        match framing(&request)? {
            Framing::Empty => Ok((head_len, Step::Request(request))),
            Framing::Length(len) if streams(&request) => {
                *self.state = State::Stream(BodyDecoder::Length(len));
                // Asked for (once) when the body is first waited for.
                *self.continued = !expects_continue(&request);
                Ok((head_len, Step::Head(request)))
            }
            Framing::Chunked if streams(&request) => {
                *self.state = State::Stream(BodyDecoder::Chunked(ChunkedDecoder::default()));
                *self.continued = !expects_continue(&request);
                Ok((head_len, Step::Head(request)))
            }
            Framing::Length(len) => {
                if len > self.limits.max_body as u64 {
                    return Err(self.body_too_large());
                }
                let total = head_len + len as usize;
                if data.len() >= total {
                    return Ok((
                        total,
                        Step::Request(Request {
                            body: &data[head_len..total],
                            ..request
                        }),
                    ));
                }
                let ask = self.ask_continue(&request);
                *self.state = State::WholeLength { head_len, total };
                Ok((0, ask))
            }
            Framing::Chunked => {
                let ask = self.ask_continue(&request);
                self.assembled.clear();
                *self.state = State::WholeChunked {
                    head_len,
                    raw_at: head_len,
                    decoder: ChunkedDecoder::default(),
                };
                if let Step::Continue = ask {
                    return Ok((0, ask));
                }
                self.advance(data, &mut |_| false)
            }
        }
    }

    /// `Continue` once per request that asked for it, else `NeedMore`.
    fn ask_continue<'a>(&mut self, request: &Request<'_>) -> Step<'a> {
        if expects_continue(request) && !*self.continued {
            *self.continued = true;
            Step::Continue
        } else {
            Step::NeedMore
        }
    }

    fn body_too_large(&self) -> Rejection {
        Rejection::PayloadTooLarge(
            format!("request body exceeds {} bytes", self.limits.max_body).into(),
        )
    }

    fn whole_chunked<'a>(
        self,
        data: &'a [u8],
        head_len: usize,
        mut raw_at: usize,
        mut decoder: ChunkedDecoder,
    ) -> Result<(usize, Step<'a>), Rejection>
    where
        's: 'a,
    {
        while raw_at < data.len() && !decoder.is_done() {
            let decoded = decoder.decode(&data[raw_at..])?;
            let piece = &data[raw_at..][decoded.data];
            if self.assembled.len() + piece.len() > self.limits.max_body {
                return Err(self.body_too_large());
            }
            self.assembled.extend_from_slice(piece);
            raw_at += decoded.consumed;
        }
        if !decoder.is_done() {
            *self.state = State::WholeChunked {
                head_len,
                raw_at,
                decoder,
            };
            return Ok((0, Step::NeedMore));
        }
        let request = reparse(data, head_len, self.limits)?;
        *self.state = State::Head;
        let assembled: &'a Vec<u8> = self.assembled;
        Ok((
            raw_at,
            Step::Request(Request {
                body: assembled.as_slice(),
                ..request
            }),
        ))
    }

    fn stream<'a>(self, data: &'a [u8], body: BodyDecoder) -> Result<(usize, Step<'a>), Rejection> {
        // A client waiting for `100 Continue` sends no body until told.
        if data.is_empty() && !*self.continued {
            *self.continued = true;
            if !matches!(body, BodyDecoder::Length(0)) {
                return Ok((0, Step::Continue));
            }
        }
        match body {
            BodyDecoder::Length(0) => {
                *self.state = State::Head;
                Ok((0, Step::BodyEnd))
            }
            BodyDecoder::Length(remaining) => {
                if data.is_empty() {
                    return Ok((0, Step::NeedMore));
                }
                let take = remaining.min(data.len() as u64) as usize;
                *self.state = State::Stream(BodyDecoder::Length(remaining - take as u64));
                Ok((take, Step::BodyChunk(&data[..take])))
            }
            BodyDecoder::Chunked(mut decoder) => {
                let mut at = 0;
                while at < data.len() {
                    let decoded = decoder.decode(&data[at..])?;
                    let piece = decoded.data.start + at..decoded.data.end + at;
                    at += decoded.consumed;
                    if decoded.done {
                        *self.state = State::Head;
                        return Ok((at, Step::BodyEnd));
                    }
                    if !piece.is_empty() {
                        *self.state = State::Stream(BodyDecoder::Chunked(decoder));
                        return Ok((at, Step::BodyChunk(&data[piece])));
                    }
                }
                *self.state = State::Stream(BodyDecoder::Chunked(decoder));
                Ok((at, Step::NeedMore))
            }
        }
    }
}

/// The head again, from the kept bytes, once its body has arrived (it was
/// valid when first parsed, so this cannot fail in practice).
fn reparse<'a>(
    data: &'a [u8],
    head_len: usize,
    limits: &ReaderLimits,
) -> Result<Request<'a>, Rejection> {
    parse_head(&data[..head_len], &limits.head)?
        .map(|(request, _)| request)
        .ok_or_else(|| Rejection::BadRequest("malformed HTTP request head".into()))
}
