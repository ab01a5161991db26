//! The application's side of the engine: a [`Handler`] per worker thread
//! (no `Sync` needed), called with a [`Conn`] to answer on.

use std::io::{ErrorKind, IoSlice, Write};
use std::net::SocketAddr;

use std::any::Any;
use std::sync::Arc;

use super::close::CloseReason;
use super::handle::{ConnId, ServerHandle};
use super::session::AppData;
use super::topics::{Publish, Topics};
use crate::frame::{CloseCode, Opcode};
use crate::handshake::{ClientResponse, Rejection, Request};
pub use crate::http::HttpResponse;
use crate::protocol::{Delivery, Fragment, PreparedMessage, SendError, Sender};

/// A message from the peer, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, already checked to be UTF-8.
    Text(&'a str),
    /// A binary message.
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
    /// The upgrade request: method, target, headers.
    pub request: &'a Request<'a>,
    /// The subprotocol the server's policy chose, if the client offered any.
    pub subprotocol: Option<&'a str>,
    /// The negotiated `Sec-WebSocket-Extensions` value, if any.
    pub extensions: Option<&'a str>,
    /// The client's address.
    pub peer: SocketAddr,
}

impl Upgrade<'_> {
    /// The request's path, without the query.
    pub fn path(&self) -> &str {
        self.request.path()
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.request.query()
    }

    /// The first header named `name` (any case), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.header(name)
    }
}

/// Identifies one HTTP request on one connection, so that a response held
/// for later ([`Reply::Later`]) can be given from anywhere with
/// [`ServerHandle::respond`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId {
    pub(crate) conn: ConnId,
    /// Which request of the connection (1 for the first).
    pub(crate) seq: u32,
}

impl RequestId {
    /// The connection the request came on.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Which request of its connection this is: 1 for the first, and one
    /// more for each request a keep-alive connection carries after it.
    pub fn number(&self) -> u32 {
        self.seq
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.conn, self.seq)
    }
}

/// How a handler answers a plain HTTP request.
#[derive(Debug)]
pub enum Reply {
    /// This response, now.
    Now(HttpResponse),
    /// Later, through [`ServerHandle::respond`] with the request's
    /// [`HttpConn::request_id`], from any thread. Requests pipelined behind
    /// it wait (responses go out in order); if the client goes away first,
    /// [`Handler::on_request_abandoned`] says so.
    Later,
}

impl From<HttpResponse> for Reply {
    fn from(response: HttpResponse) -> Self {
        Reply::Now(response)
    }
}

/// A plain HTTP request's connection, as the handler sees it.
pub struct HttpConn<'a> {
    pub(crate) id: RequestId,
    pub(crate) handle: &'a ServerHandle,
}

impl HttpConn<'_> {
    /// The request being handled, for answering it later.
    pub fn request_id(&self) -> RequestId {
        self.id
    }

    /// The connection the request came on.
    pub fn conn_id(&self) -> ConnId {
        self.id.conn
    }

    /// A handle for answering later, sending, and the rest.
    pub fn handle(&self) -> &ServerHandle {
        self.handle
    }
}

/// What a server or client application implements. Every method but
/// `on_message` has a default.
pub trait Handler {
    /// A plain HTTP request (not a WebSocket upgrade), body included, on a
    /// keep-alive connection. Answer now, or hold it and answer later
    /// ([`Reply::Later`]). The default answers GET and HEAD with
    /// [`Handler::on_http`] and anything else with 405.
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        let _ = conn;
        if request.method == "GET" || request.method == "HEAD" {
            Reply::Now(self.on_http(request))
        } else {
            Reply::Now(
                HttpResponse::text(405, "method not allowed\n").with_header("Allow", "GET, HEAD"),
            )
        }
    }

    /// Whether this request's body should reach the handler in pieces
    /// ([`Handler::on_body`]) rather than whole. Asked once per request
    /// with a body; a streamed body is not bound by the body limit. Then
    /// [`Handler::on_request`] sees the head with an empty body.
    fn streams_body(&mut self, request: &Request<'_>) -> bool {
        let _ = request;
        false
    }

    /// A piece of a streamed body; `end` on the last call (with an empty
    /// piece). The response may be given before, during or after.
    fn on_body(&mut self, conn: &mut HttpConn<'_>, piece: &[u8], end: bool) {
        let _ = (conn, piece, end);
    }

    /// The client went away (or the server shut down) before a held or
    /// streamed response was complete: the request is gone, and answering
    /// it now does nothing.
    fn on_request_abandoned(&mut self, id: RequestId) {
        let _ = id;
    }

    /// The simple form of [`Handler::on_request`]: a GET or HEAD answered
    /// at once. The default answers 426.
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

    /// A whole message arrived, borrowed from the receive buffer: answer on `conn`, copy what you keep.
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>);

    /// Whether this upgrade may agree to permessage-deflate, when the
    /// server's policy ([`ServerConfig::deflate`](crate::net::ServerConfig))
    /// allows it at all and the client offers it. Asked before
    /// [`Handler::on_open`]. The default is yes; a handler that serves
    /// many idle clients on some paths can say no there, since a
    /// compressor kept with its context costs about 300 KiB per connection.
    fn allows_deflate(&self, request: &Request<'_>) -> bool {
        let _ = request;
        true
    }

    /// How this handler takes data messages: whole, through `on_message`
    /// (the default), or in pieces through `on_fragment` — each frame
    /// ([`Delivery::Frames`]) or each read's share as it arrives
    /// ([`Delivery::Chunks`]), so a message of any size streams through the
    /// worker's read buffer. Asked once, when a worker starts.
    fn delivery(&self) -> Delivery {
        Delivery::Messages
    }

    /// A piece of a message, under [`Delivery::Frames`] or
    /// [`Delivery::Chunks`]; `fragment.last` says the message is complete
    /// (and, for text, that it was UTF-8 as a whole).
    fn on_fragment(&mut self, conn: &mut Conn<'_>, fragment: Fragment<&[u8]>) {
        let _ = (conn, fragment);
    }

    /// The connection is gone, and `reason` says why: the peer's close
    /// frame, a protocol violation or limit (and the code the peer was
    /// sent), a timeout, a peer that vanished, a local I/O error, or (for a
    /// client) a connect or handshake that failed. `reason.code()` gives the
    /// close code that stands for it.
    fn on_close(&mut self, id: ConnId, reason: &CloseReason) {
        let _ = (id, reason);
    }

    /// After `on_close`, the data the connection kept ([`Conn::set_data`]),
    /// to act on (leave a room, save a session); dropped otherwise.
    fn on_close_data(&mut self, id: ConnId, data: Box<dyn Any>) {
        let _ = (id, data);
    }

    /// A ping arrived (already answered with a pong).
    fn on_ping(&mut self, conn: &mut Conn<'_>, payload: &[u8]) {
        let _ = (conn, payload);
    }

    /// A pong arrived (the answer to a ping, or a heartbeat).
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
    pub(crate) tx: Sender<'a>,
    /// The connection's transport, for writing a large payload uncopied.
    pub(crate) stream: &'a mut dyn Write,
    pub(crate) handle: &'a ServerHandle,
    pub(crate) subprotocol: Option<&'a str>,
    pub(crate) data: &'a mut Option<Box<AppData>>,
    /// The worker's subscriptions.
    pub(crate) topics: &'a mut Topics,
}

impl Conn<'_> {
    /// Keeps `data` with this connection, replacing what was kept: the
    /// application's own state for it (a user name, a room, a counter), so
    /// it needs no map from `ConnId`. [`Handler::on_close_data`] gets it
    /// back when the connection ends.
    ///
    /// ```
    /// use simdws::handshake::Rejection;
    /// use simdws::net::{Conn, ConnId, Handler, Message, Upgrade};
    ///
    /// struct Named(String);
    /// struct Rooms;
    /// impl Handler for Rooms {
    ///     fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
    ///         match upgrade.query() {
    ///             Some(name) => Ok(conn.set_data(Named(name.to_string()))),
    ///             None => Err(Rejection::Forbidden("say who you are: /?name".into())), // 403
    ///         }
    ///     }
    ///     fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
    ///         let name = conn.data::<Named>().map_or("?", |n| n.0.as_str()).to_string();
    ///         let _ = conn.send_text(&format!("{name}: {}", String::from_utf8_lossy(message.as_bytes())));
    ///     }
    ///     fn on_close_data(&mut self, id: ConnId, data: Box<dyn std::any::Any>) {
    ///         if let Ok(named) = data.downcast::<Named>() { println!("{} ({id}) left", named.0) }
    ///     }
    /// }
    /// ```
    pub fn set_data<T: Any>(&mut self, data: T) {
        *self.data = Some(Box::new(Box::new(data)));
    }

    /// The data kept with [`Conn::set_data`], if it is a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.data.as_deref()?.downcast_ref()
    }

    /// The data kept with [`Conn::set_data`], if it is a `T`, to change.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.data.as_deref_mut()?.downcast_mut()
    }

    /// The connection's id, for reaching it from elsewhere through the handle.
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

    /// Queues a text message (written at the end of the loop turn).
    #[inline(always)]
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send(Opcode::Text, text.as_bytes())
    }

    /// Queues a binary message (written at the end of the loop turn).
    #[inline(always)]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send(Opcode::Binary, data)
    }

    /// Sends a message; see [`Message`].
    #[inline(always)]
    pub fn send_message(&mut self, message: Message<'_>) -> Result<(), SendError> {
        match message {
            Message::Text(t) => self.send_text(t),
            Message::Binary(b) => self.send_binary(b),
        }
    }

    /// Inlined into the handler's call, with the large payload's path
    /// called: a small echo then costs no call of its own here.
    #[inline(always)]
    fn send(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() >= WRITEV_THRESHOLD {
            return self.send_large(opcode, payload);
        }
        // Text payloads come from `send_text`'s &str: already UTF-8.
        self.tx.send_message(opcode, payload)
    }

    /// [`Conn::send`] for a payload of `WRITEV_THRESHOLD` or more: written
    /// beside its header with `writev` when nothing else is queued.
    #[inline(never)]
    fn send_large(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        let Some((head, head_len)) = self.tx.start_unbuffered(opcode, payload.len())? else {
            return self.tx.send_message(opcode, payload);
        };
        let header = &head[..head_len];
        let written = match self
            .stream
            .write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
        {
            Ok(written) => written,
            // The socket is full: everything is queued below.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => 0,
            // The connection is broken; the loop closes it when it next
            // reads or writes. Nothing is queued.
            Err(e) => return Err(SendError::Transport(e.kind())),
        };
        if written < head_len {
            self.tx.queue_unsent(&header[written..]);
            self.tx.queue_unsent(payload);
        } else {
            self.tx.queue_unsent(&payload[written - head_len..]);
        }
        Ok(())
    }

    /// Queues a ping (payload up to 125 bytes).
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

    /// Subscribes this connection to `topic`, so that it gets what is
    /// published there; false if it already was. Its subscriptions end
    /// when it closes.
    ///
    /// A chat room on every worker, in a few lines:
    ///
    /// ```
    /// use simdws::handshake::Rejection;
    /// use simdws::net::{Conn, Handler, Message, OwnedMessage, ServerHandle, Upgrade};
    ///
    /// struct Chat;
    /// impl Handler for Chat {
    ///     fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
    ///         conn.subscribe(upgrade.path()); // one room per path
    ///         Ok(())
    ///     }
    ///     fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
    ///         let room = conn.topics().next().unwrap_or("/").to_string();
    ///         conn.publish(&room, message); // everyone in the room but the sender
    ///     }
    /// }
    ///
    /// // From any thread, to everyone in a room:
    /// fn announce(handle: &ServerHandle) {
    ///     handle.publish("/lobby", OwnedMessage::Text("the server restarts at noon".into()));
    /// }
    /// ```
    pub fn subscribe(&mut self, topic: &str) -> bool {
        self.topics.subscribe(self.id, topic)
    }

    /// Ends this connection's subscription to `topic`; false if it had none.
    pub fn unsubscribe(&mut self, topic: &str) -> bool {
        self.topics.unsubscribe(self.id, topic)
    }

    /// Whether this connection is subscribed to `topic`.
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.topics.is_subscribed(self.id, topic)
    }

    /// The topics this connection is subscribed to.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.of(self.id).iter().map(|topic| &**topic)
    }

    /// Publishes `message` to every subscriber of `topic` on every worker
    /// but this connection (subscribed or not), framed once. This worker's
    /// subscribers get it at the end of the loop turn, after what this
    /// callback sends; [`ServerHandle::publish`] reaches everyone.
    pub fn publish(&mut self, topic: &str, message: Message<'_>) {
        let message = Arc::new(match message {
            Message::Text(text) => PreparedMessage::text(text),
            Message::Binary(data) => PreparedMessage::binary(data),
        });
        let topic: Arc<str> = Arc::from(topic);
        self.handle
            .publish_elsewhere(&topic, &message, Some(self.id), self.id.worker());
        self.handle.relay(&topic, &message);
        self.topics.pending.push(Publish {
            topic,
            message,
            except: Some(self.id),
        });
    }
}
