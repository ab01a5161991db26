//! HTTP/1.1 for the engine's plain requests (RFC 9112): a strict head
//! parser over httparse, body framing (`Content-Length`, chunked),
//! a request reader that works however the bytes are split, and the
//! response writer. Sans-IO like the rest of the core: bytes in, requests
//! out, responses in, bytes out. The engine (`net`) drives it with
//! keep-alive, pipelining and responses held for later.
//!
//! ```
//! use simdws::http::{ReaderLimits, RequestReader, Step};
//!
//! let mut reader = RequestReader::new(ReaderLimits::default());
//! let wire = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
//! let (_, step) = reader.read(wire, &mut |_| false).unwrap();
//! let Step::Request(request) = step else { panic!("whole") };
//! assert_eq!((request.method, request.path(), request.body), ("POST", "/echo", &b"hello"[..]));
//! ```

mod chunked;
mod head;
mod reader;
mod response;

pub use crate::handshake::{Rejection, Request, RequestLimits};
pub use chunked::{ChunkedDecoder, Decoded};
pub use head::{expects_continue, framing, keeps_alive, parse_head, Framing};
pub use reader::{ReaderLimits, RequestReader, Step};
pub use response::{http_date, HttpResponse};
#[cfg(feature = "net")]
pub(crate) use response::{write_body_piece, BodyFraming, ResponseFraming, CONTINUE, LAST_CHUNK};
