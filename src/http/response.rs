//! Responses: what a handler answers with, and how it is framed on the
//! wire (`Content-Length` when the body is known, chunked when it is not,
//! `Connection` as the request asked).

use std::borrow::Cow;
use std::time::SystemTime;

use crate::handshake::status_text;

/// An HTTP response. The engine adds `Content-Length` (or chunked framing
/// for a [streamed](HttpResponse::streamed) body), `Connection` and `Date`;
/// headers of those names given here are ignored.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// The status code (200, 404...); the reason phrase goes with it.
    pub status: u16,
    /// `Content-Type`; empty for none.
    pub content_type: &'static str,
    /// Further headers. Names must be tokens and values must not hold CR
    /// or LF; a header that breaks either is left out (and logged).
    pub headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// The body (for a streamed response, its first piece).
    pub body: Cow<'static, [u8]>,
    /// The body follows later in pieces (`ServerHandle::send_body`, ended
    /// by `ServerHandle::end_body`), sent with chunked encoding; `body`
    /// here is the first piece.
    pub streamed: bool,
}

impl HttpResponse {
    /// A response with a body of known length.
    pub fn new(
        status: u16,
        content_type: &'static str,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Self {
        HttpResponse {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
            streamed: false,
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        HttpResponse::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// A response whose body is not known yet: it goes out with chunked
    /// encoding, piece by piece (to an HTTP/1.0 client: until the
    /// connection closes).
    pub fn streamed(status: u16, content_type: &'static str) -> Self {
        HttpResponse {
            streamed: true,
            ..HttpResponse::new(status, content_type, &[][..])
        }
    }

    /// Adds a header.
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The whole response as bytes, closing the connection after it (for
    /// a one-shot answer outside a keep-alive connection).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        let framing = ResponseFraming {
            keep_alive: false,
            head_only: false,
            chunked_allowed: true,
        };
        self.write(&mut out, framing, &http_date(SystemTime::now()));
        out
    }

    /// Writes the head and what body there is now into `out`. Returns how
    /// a streamed body's later pieces must be framed.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        framing: ResponseFraming,
        date: &[u8],
    ) -> BodyFraming {
        let body_framing = match (self.streamed, framing.chunked_allowed) {
            (false, _) => BodyFraming::Length,
            (true, true) => BodyFraming::Chunked,
            (true, false) => BodyFraming::UntilClose,
        };
        // 1xx, 204 and 304 have no body and no framing headers.
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        let text = status_text(self.status);
        out.reserve(128 + self.content_type.len() + text.len() + self.body.len());
        let status = self.status.min(999);
        out.extend_from_slice(&[
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            b'1',
            b' ',
            b'0' + (status / 100) as u8,
            b'0' + (status / 10 % 10) as u8,
            b'0' + (status % 10) as u8,
            b' ',
        ]);
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\nDate: ");
        out.extend_from_slice(date);
        if !self.content_type.is_empty() {
            out.extend_from_slice(b"\r\nContent-Type: ");
            out.extend_from_slice(self.content_type.as_bytes());
        }
        for (name, value) in &self.headers {
            if is_framing_header(name) {
                continue;
            }
            if !crate::handshake::is_token(name) || value.bytes().any(|b| b == b'\r' || b == b'\n')
            {
                log::warn!("response header {name:?} left out: not a valid header");
                continue;
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
        }
        if !bodiless {
            match body_framing {
                BodyFraming::Length => {
                    out.extend_from_slice(b"\r\nContent-Length: ");
                    push_decimal(out, self.body.len() as u64);
                }
                BodyFraming::Chunked => out.extend_from_slice(b"\r\nTransfer-Encoding: chunked"),
                BodyFraming::UntilClose => {}
            }
        }
        let keep_alive = framing.keep_alive && body_framing != BodyFraming::UntilClose;
        // HTTP/1.1 stays open unless told; HTTP/1.0 closes unless told.
        out.extend_from_slice(match (keep_alive, framing.chunked_allowed) {
            (true, true) => b"\r\n\r\n".as_slice(),
            (true, false) => b"\r\nConnection: keep-alive\r\n\r\n".as_slice(),
            (false, _) => b"\r\nConnection: close\r\n\r\n".as_slice(),
        });
        if !framing.head_only && !bodiless {
            write_body_piece(out, body_framing, &self.body);
        }
        body_framing
    }
}

/// How the request shapes the response's framing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResponseFraming {
    /// The connection stays open after this response.
    pub keep_alive: bool,
    /// The request was HEAD: headers only.
    pub head_only: bool,
    /// The client speaks HTTP/1.1, so chunked encoding may be used.
    pub chunked_allowed: bool,
}

/// How a response's body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    Length,
    Chunked,
    /// HTTP/1.0 with an unknown length: the body ends when the connection
    /// does.
    UntilClose,
}

/// Appends one piece of a body (a chunk, when chunked; nothing for an
/// empty chunk, which would end the body).
pub(crate) fn write_body_piece(out: &mut Vec<u8>, framing: BodyFraming, piece: &[u8]) {
    if framing != BodyFraming::Chunked {
        out.extend_from_slice(piece);
    } else if !piece.is_empty() {
        push_hex(out, piece.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
}

/// The end of a chunked body: the last chunk and an empty trailer.
#[cfg(feature = "net")]
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The interim answer to `Expect: 100-continue`.
#[cfg(feature = "net")]
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

fn is_framing_header(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "date"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn push_hex(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` header's
/// form; always 29 bytes. Formatted in place: the engine refreshes it every
/// tick, and its loop must not allocate.
pub fn http_date(at: SystemTime) -> [u8; 29] {
    use std::io::Write as _;
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let mut cursor = &mut out[..];
    // 29 bytes for every date httpdate formats (years 1970 to 9999).
    let _ = write!(cursor, "{}", httpdate::HttpDate::from(at));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(response: &HttpResponse, keep_alive: bool, head_only: bool) -> String {
        let mut out = Vec::new();
        let framing = ResponseFraming {
            keep_alive,
            head_only,
            chunked_allowed: true,
        };
        response.write(&mut out, framing, b"Sun, 06 Nov 1994 08:49:37 GMT");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_known_body_has_its_length_and_head_leaves_it_out() {
        let r = HttpResponse::text(200, "hello").with_header("X-A", "1");
        assert_eq!(
            written(&r, true, false),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
        );
        assert!(
            written(&r, false, true).ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n")
        );
    }

    #[test]
    fn headers_that_would_split_the_response_are_left_out() {
        let r = HttpResponse::text(200, "")
            .with_header("X-Bad", "a\r\nSet-Cookie: x")
            .with_header("Bad Name", "v")
            .with_header("Content-Length", "99");
        let text = written(&r, true, false);
        assert!(
            !text.contains("Set-Cookie")
                && !text.contains("Bad Name")
                && !text.contains("Length: 99")
        );
    }

    #[test]
    fn a_streamed_body_is_chunked_and_numbers_are_exact() {
        let r = HttpResponse::streamed(200, "text/plain");
        assert!(written(&r, true, false).contains("Transfer-Encoding: chunked\r\n"));
        let mut out = Vec::new();
        write_body_piece(&mut out, BodyFraming::Chunked, &[b'x'; 300]);
        assert!(out.starts_with(b"12c\r\nxxx"));
        let mut n = Vec::new();
        push_decimal(&mut n, 18_446_744_073_709_551_615);
        assert_eq!(n, b"18446744073709551615");
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH),
            *b"Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
