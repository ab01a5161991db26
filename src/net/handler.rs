//! The application's side of the engine: a [`Handler`] per worker thread
//! (no `Sync` needed), called with a [`Conn`] to answer on.

use std::io::{IoSlice, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;

use super::handle::{ConnId, ServerHandle};
use super::transport::Transport;
use crate::frame::{CloseCode, Opcode};
use crate::handshake::{ClientResponse, Rejection, Request};
use crate::protocol::{SendError, Sender};

/// A message from the peer, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

impl<'a> Message<'a> {
    /// The payload, text or not.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

impl From<Message<'_>> for super::OwnedMessage {
    fn from(message: Message<'_>) -> Self {
        match message {
            Message::Text(text) => super::OwnedMessage::Text(text.to_string()),
            Message::Binary(bytes) => super::OwnedMessage::Binary(bytes.to_vec()),
        }
    }
}

/// The upgrade request, for [`Handler::on_open`] to accept or refuse.
#[derive(Debug)]
pub struct Upgrade<'a> {
    pub request: &'a Request<'a>,
    /// The subprotocol the server's policy chose, if the client offered any.
    pub subprotocol: Option<&'a str>,
    /// The negotiated `Sec-WebSocket-Extensions` value, if any.
    pub extensions: Option<&'a str>,
    pub peer: SocketAddr,
}

impl Upgrade<'_> {
    pub fn path(&self) -> &str {
        self.request.path()
    }

    pub fn query(&self) -> Option<&str> {
        self.request.query()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.header(name)
    }
}

/// A plain HTTP response (for requests that are not upgrades, such as the
/// page `serve` delivers). The connection closes after it.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: std::borrow::Cow<'static, [u8]>,
}

impl HttpResponse {
    pub fn new(
        status: u16,
        content_type: &'static str,
        body: impl Into<std::borrow::Cow<'static, [u8]>>,
    ) -> Self {
        HttpResponse {
            status,
            content_type,
            body: body.into(),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            crate::handshake::status_text(self.status),
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// What a server or client application implements. Every method but
/// `on_message` has a default.
pub trait Handler {
    /// A request that is not a WebSocket upgrade. The default answers 426.
    fn on_http(&mut self, request: &Request<'_>) -> HttpResponse {
        let _ = request;
        HttpResponse::new(
            426,
            "text/plain; charset=utf-8",
            &b"this endpoint speaks WebSocket only\n"[..],
        )
    }

    /// A valid upgrade arrived: accept (the 101 goes out, then anything sent
    /// on `conn` here) or refuse with an HTTP status and reason.
    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        let _ = (conn, upgrade);
        Ok(())
    }

    /// A client connection's handshake succeeded (the engine as a client).
    fn on_connect(&mut self, conn: &mut Conn<'_>, response: &ClientResponse) {
        let _ = (conn, response);
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>);

    /// The connection is gone: `code` is the peer's close code, ours if we
    /// failed it, or 1006 if the transport died without a close handshake
    /// (for a client: also when connecting or its handshake failed, with the
    /// reason).
    fn on_close(&mut self, id: ConnId, code: CloseCode, reason: &str) {
        let _ = (id, code, reason);
    }

    /// A ping arrived (already answered with a pong).
    fn on_ping(&mut self, conn: &mut Conn<'_>, payload: &[u8]) {
        let _ = (conn, payload);
    }

    fn on_pong(&mut self, conn: &mut Conn<'_>, payload: &[u8]) {
        let _ = (conn, payload);
    }

    /// Output that had backed up has been written out.
    fn on_drain(&mut self, conn: &mut Conn<'_>) {
        let _ = conn;
    }
}

/// Payloads at least this large go out with `writev` beside their header,
/// uncopied, when nothing else is queued.
const WRITEV_THRESHOLD: usize = 64 << 10;

/// One connection, as the handler sees it during a callback.
pub struct Conn<'a> {
    pub(crate) id: ConnId,
    pub(crate) tx: &'a mut Sender,
    pub(crate) stream: &'a mut Transport<TcpStream>,
    pub(crate) handle: &'a ServerHandle,
    pub(crate) subprotocol: Option<&'a str>,
}

impl Conn<'_> {
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The subprotocol chosen in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol
    }

    /// A handle for sending from anywhere (other connections, threads).
    pub fn handle(&self) -> &ServerHandle {
        self.handle
    }

    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send(Opcode::Text, text.as_bytes())
    }

    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send(Opcode::Binary, data)
    }

    /// Sends a message; see [`Message`].
    pub fn send_message(&mut self, message: Message<'_>) -> Result<(), SendError> {
        match message {
            Message::Text(t) => self.send_text(t),
            Message::Binary(b) => self.send_binary(b),
        }
    }

    fn send(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() >= WRITEV_THRESHOLD {
            if let Some((head, head_len)) = self.tx.start_unbuffered(opcode, payload.len())? {
                let header = &head[..head_len];
                let written = self
                    .stream
                    .write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
                    .unwrap_or(0);
                if written < head_len {
                    self.tx.queue_unsent(&header[written..]);
                    self.tx.queue_unsent(payload);
                } else {
                    self.tx.queue_unsent(&payload[written - head_len..]);
                }
                return Ok(());
            }
        }
        // Text payloads come from `send_text`'s &str: already UTF-8.
        self.tx.send_message(opcode, payload)
    }

    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.tx.ping(payload)
    }

    /// Starts the close handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.tx.close(code, reason)
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.tx.buffered_amount()
    }
}
