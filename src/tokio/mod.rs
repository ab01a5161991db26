//! simdws under tokio (feature `tokio`): the sans-IO core driven over any
//! `AsyncRead + AsyncWrite` stream, with its SIMD unmask, its in-place
//! receive and its permessage-deflate.
//!
//! * [`accept`] / [`accept_with`]: the server handshake over an accepted
//!   stream, with the engine's policy (subprotocols, Origin,
//!   permessage-deflate, request limits); a refused request is answered with
//!   its status before the error is returned.
//! * [`connect`] / [`client`]: the client handshake, dialing a `ws://` URL
//!   (or `wss://` with the `tokio-tls` feature, through tokio-rustls) or
//!   over a stream the caller opened.
//! * [`WebSocketStream`]: receive with [`WebSocketStream::next_event_with`]
//!   (zero-copy) or as a `futures` `Stream`, send with its methods or as a
//!   `Sink`; keepalive and close deadlines on tokio's timer;
//!   [`WebSocketStream::split`] into a [`ReadHalf`] and a [`WriteHalf`] for
//!   two tasks.
//!
//! ```no_run
//! # async fn run() -> Result<(), simdws::tokio::Error> {
//! use simdws::protocol::Event;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut ws = simdws::tokio::accept(tcp).await?;
//! // Echo: each message is answered while it still borrows the read buffer.
//! let mut echo = Vec::new();
//! while let Some(text) = ws
//!     .next_event_with(|event| match event {
//!         Event::Text(text) => {
//!             echo.clear();
//!             echo.extend_from_slice(text.as_bytes());
//!             true
//!         }
//!         _ => false,
//!     })
//!     .await?
//! {
//!     if text {
//!         ws.send_text(std::str::from_utf8(&echo).unwrap()).await?;
//!     }
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "axum")]
pub mod axum;
mod handshake;
#[cfg(feature = "hyper")]
pub mod hyper;
mod split;
mod stream;
mod transport;

use std::fmt;
use std::io;

pub use handshake::{accept, accept_with, client, connect, AcceptOptions};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::WebSocketStream;
pub use transport::MaybeTlsStream;

use crate::handshake::{ClientHandshakeError, Rejection};
use crate::protocol::{ProtocolError, SendError};

/// Why an operation on a [`WebSocketStream`] or a handshake failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed, or ended without a close handshake
    /// (`UnexpectedEof`), or the close handshake timed out (`TimedOut`).
    Io(io::Error),
    /// The peer broke the protocol; the close frame with its code was sent.
    Protocol(ProtocolError),
    /// The message could not be sent (after a close, out of order, ...).
    Send(SendError),
    /// Server side: the upgrade request was refused, and answered with this
    /// status and reason.
    Refused(Rejection),
    /// Client side: the server's answer was not a valid upgrade.
    Handshake(ClientHandshakeError),
    /// Client side: the URL is not a usable `ws://` or `wss://` URL.
    Url(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport: {e}"),
            Error::Protocol(e) => write!(f, "protocol: {e}"),
            Error::Send(e) => write!(f, "send: {e}"),
            Error::Refused(r) => write!(f, "refused with {} ({})", r.status(), r.reason()),
            Error::Handshake(e) => write!(f, "handshake: {e}"),
            Error::Url(e) => write!(f, "url: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}
