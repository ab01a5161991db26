//! [`SocketIoHandler`]: the engine worker's side of a [`super::SocketIo`]
//! server. Long-polling requests and WebSocket messages of any session may
//! reach any worker; each is routed by its path and query and fed to its
//! session in the shared table.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use super::direct;
use super::server::{
    app_query, lock, on_client_event, with_entry, with_entry_deferring, Entry, Shared,
};
use super::websockets::WebSockets;
use crate::engineio::{route, EngineError, Route, Session, Transport};
use crate::frame::CloseCode;
use crate::handshake::{Rejection, Request};
use crate::net::{
    Conn, ConnId, Handler, HttpConn, HttpResponse, Message, Reply, RequestId, Upgrade,
};
use crate::protocol::{Delivery, Fragment};

/// A polling body: Node answers `text/plain; charset=UTF-8`.
pub(super) fn polling_response(body: String, cors: bool) -> HttpResponse {
    with_cors(
        HttpResponse::new(200, "text/plain; charset=UTF-8", body.into_bytes()),
        cors,
    )
}

/// With `cors`, a page on any origin may read the response.
fn with_cors(response: HttpResponse, cors: bool) -> HttpResponse {
    if cors {
        response.with_header("Access-Control-Allow-Origin", "*")
    } else {
        response
    }
}

/// The answer to a CORS preflight: any origin may GET and POST here.
fn preflight(request: &Request<'_>) -> HttpResponse {
    let headers = request
        .header("Access-Control-Request-Headers")
        .unwrap_or("content-type")
        .to_owned();
    with_cors(HttpResponse::new(204, "", &b""[..]), true)
        .with_header("Access-Control-Allow-Methods", "GET, POST")
        .with_header("Access-Control-Allow-Headers", headers)
        .with_header("Access-Control-Max-Age", "86400")
}

/// The engine worker's side of a [`super::SocketIo`] server.
pub struct SocketIoHandler {
    shared: Arc<Shared>,
    /// This worker's Socket.IO WebSockets, with their sessions.
    websockets: WebSockets,
}

impl SocketIoHandler {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        SocketIoHandler {
            shared,
            websockets: WebSockets::default(),
        }
    }
}

/// The two endpoints a server may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    SocketIo,
    Raw,
}

impl SocketIoHandler {
    fn feed<R>(&self, sid: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        with_entry(&self.shared, sid, f)
    }

    /// A message on a session's WebSocket. A Socket.IO packet, the common
    /// case, goes straight to the client, without a copy through the
    /// engine's events, and its event straight to the application, without
    /// a trip through the client's queue.
    fn feed_ws(&self, sid: &str, message: Message<'_>) {
        let shared = &self.shared;
        with_entry_deferring(shared, sid, |entry, deferred| match message {
            Message::Text(text) => match (entry.engine.ws_message(text), entry.client.as_mut()) {
                (Some(packet), Some(client)) => {
                    if let Some(event) = client.on_text_event(packet) {
                        on_client_event(shared, sid, entry, event, deferred);
                    }
                }
                // The engine's own packets (and only they) need the clock.
                _ => entry.engine.ws_text(text, Instant::now()),
            },
            Message::Binary(data) => entry.engine.ws_binary(data, Instant::now()),
        });
    }

    /// Which endpoint `path` is: `Some(Endpoint::SocketIo)`, the raw
    /// Engine.IO one, or `None` (404).
    fn endpoint(&self, path: &str) -> Option<Endpoint> {
        if path == self.shared.config.path {
            return Some(Endpoint::SocketIo);
        }
        let raw = self
            .shared
            .raw
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        raw.as_ref()
            .filter(|(raw_path, _)| raw_path == path)
            .map(|_| Endpoint::Raw)
    }

    fn open(
        &self,
        endpoint: Endpoint,
        transport: Transport,
        ws: Option<ConnId>,
        query: &str,
    ) -> (String, String) {
        let now = Instant::now();
        let mut open = String::new();
        let sid = lock(&self.shared.sessions).insert_with(|sid| {
            let engine = Session::new(sid, transport, self.shared.engine.clone(), now);
            engine.open_packet().encode_polling(&mut open);
            let raw = endpoint == Endpoint::Raw;
            let mut entry = Entry::new(engine, raw, self.shared.config.connect_timeout, now);
            entry.ws = ws;
            entry.query = app_query(query);
            entry
        });
        (sid, open)
    }

    fn on_polling(
        &self,
        conn: &mut HttpConn<'_>,
        request: &Request<'_>,
        endpoint: Endpoint,
        route: Route,
    ) -> Result<Reply, EngineError> {
        match route {
            Route::Open(_) => {
                let query = request.query().unwrap_or("");
                let (_, open) = self.open(endpoint, Transport::Polling, None, query);
                Ok(Reply::Now(polling_response(open, self.shared.config.cors)))
            }
            Route::Poll(sid) => {
                let id = conn.request_id();
                let now = Instant::now();
                let answer = self
                    .feed(&sid, |entry| {
                        let answer = entry.engine.get(now)?;
                        if answer.is_none() {
                            entry.held = Some(id);
                        }
                        Ok(answer)
                    })
                    .ok_or(EngineError::UnknownSid)??;
                Ok(match answer {
                    Some(body) => Reply::Now(polling_response(body, self.shared.config.cors)),
                    None => Reply::Later,
                })
            }
            Route::Post(sid) => {
                let body =
                    std::str::from_utf8(request.body).map_err(|_| EngineError::BadRequest)?;
                let now = Instant::now();
                self.feed(&sid, |entry| entry.engine.post(body, now))
                    .ok_or(EngineError::UnknownSid)??;
                let ok = HttpResponse::new(200, "text/html", &b"ok"[..]);
                Ok(Reply::Now(with_cors(ok, self.shared.config.cors)))
            }
            Route::Upgrade(_) => Err(EngineError::BadRequest),
        }
    }
}

impl Handler for SocketIoHandler {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        let Some(endpoint) = self.endpoint(request.path()) else {
            return Reply::Now(HttpResponse::text(404, "not found\n"));
        };
        if request.method == "OPTIONS" && self.shared.config.cors {
            return Reply::Now(preflight(request));
        }
        let routed = route(request.method, request.query().unwrap_or(""), false);
        match routed.and_then(|route| self.on_polling(conn, request, endpoint, route)) {
            Ok(reply) => reply,
            Err(error) => Reply::Now(with_cors(error.response(), self.shared.config.cors)),
        }
    }

    fn allows_deflate(&self, _request: &Request<'_>) -> bool {
        self.shared.config.per_message_deflate
    }

    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        let Some(endpoint) = self.endpoint(upgrade.path()) else {
            return Err(Rejection::NotFound("not found".into()));
        };
        let refuse = |error: EngineError| Rejection::Other {
            status: error.status(),
            reason: error.message().into(),
        };
        match route("GET", upgrade.query().unwrap_or(""), true).map_err(refuse)? {
            Route::Open(_) => {
                let query = upgrade.query().unwrap_or("");
                let (sid, open) = self.open(endpoint, Transport::WebSocket, Some(conn.id()), query);
                self.websockets.insert(conn.id(), &sid);
                let _ = conn.send_text(&open);
                Ok(())
            }
            Route::Upgrade(sid) => {
                let id = conn.id();
                let now = Instant::now();
                self.feed(&sid, |entry| {
                    entry.engine.begin_upgrade(now)?;
                    entry.probe = Some(id);
                    Ok(())
                })
                .ok_or(refuse(EngineError::UnknownSid))?
                .map_err(refuse)?;
                self.websockets.insert(id, &sid);
                Ok(())
            }
            _ => Err(refuse(EngineError::BadRequest)),
        }
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let id = conn.id();
        let Some(sid) = self.websockets.key(id) else {
            return;
        };
        let feed = || self.feed_ws(sid, message);
        // Replies to this WebSocket are written here, not mailed.
        direct::serving(id, feed, |reply| {
            let _ = match reply {
                Message::Text(text) => conn.send_text(text),
                Message::Binary(data) => conn.send_binary(data),
            };
        });
    }

    fn on_close(&mut self, id: ConnId, _reason: &crate::net::CloseReason) {
        let Some(sid) = self.websockets.remove(id) else {
            return;
        };
        self.feed(&sid, |entry| {
            if entry.ws == Some(id) || entry.probe == Some(id) {
                if entry.probe == Some(id) {
                    entry.probe = None;
                } else {
                    entry.ws = None;
                }
                entry.engine.ws_closed();
            }
        });
    }

    fn on_request_abandoned(&mut self, id: RequestId) {
        let sid = lock(&self.shared.sessions)
            .iter()
            .find(|(_, entry)| entry.held == Some(id))
            .map(|(sid, _)| sid.to_owned());
        if let Some(sid) = sid {
            self.feed(&sid, |entry| {
                entry.held = None;
                entry.engine.poll_abandoned();
            });
        }
    }
}

impl SocketIoHandler {
    /// Mounts the Socket.IO server beside `app`: requests and upgrades on
    /// its paths (and its sessions' WebSockets) come here, everything else
    /// goes to `app`. The worker delivers as `app` asks
    /// ([`Handler::delivery`]); under frames or chunks, the sessions'
    /// messages are put back together here (up to `max_payload`).
    pub fn beside<H: Handler>(self, app: H) -> Mounted<H> {
        Mounted {
            sio: self,
            app,
            partial: HashMap::new(),
        }
    }
}

/// A [`SocketIoHandler`] beside another handler; see
/// [`SocketIoHandler::beside`].
pub struct Mounted<H> {
    sio: SocketIoHandler,
    app: H,
    /// Under an `app` that takes frames or chunks: the Socket.IO messages
    /// that have begun and not ended, by connection.
    partial: HashMap<ConnId, Vec<u8>>,
}

impl<H> Mounted<H> {
    /// A piece of a Socket.IO session's message: kept until its last piece,
    /// then handed on whole. Past the session's `max_payload` the
    /// connection closes with 1009, as a whole message that long would be
    /// refused.
    fn piece_for_sio(&mut self, conn: &mut Conn<'_>, fragment: Fragment<&[u8]>) {
        let assembled;
        let whole = if fragment.first && fragment.last {
            fragment.data
        } else {
            let buf = self.partial.entry(conn.id()).or_default();
            if fragment.first {
                buf.clear();
            }
            buf.extend_from_slice(fragment.data);
            if buf.len() > self.sio.shared.engine.max_payload {
                self.partial.remove(&conn.id());
                let _ = conn.close(CloseCode::MESSAGE_TOO_BIG, "message over maxPayload");
                return;
            }
            if !fragment.last {
                return;
            }
            assembled = self.partial.remove(&conn.id()).unwrap_or_default();
            &assembled[..]
        };
        let message = if fragment.text {
            // The engine checked the text as it came: whole, it is UTF-8.
            match std::str::from_utf8(whole) {
                Ok(text) => Message::Text(text),
                Err(_) => {
                    let _ = conn.close(CloseCode::INVALID_PAYLOAD, "invalid UTF-8");
                    return;
                }
            }
        } else {
            Message::Binary(whole)
        };
        self.sio.on_message(conn, message);
    }
}

impl<H: Handler> Handler for Mounted<H> {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        match self.sio.endpoint(request.path()) {
            Some(_) => self.sio.on_request(conn, request),
            None => self.app.on_request(conn, request),
        }
    }

    fn streams_body(&mut self, request: &Request<'_>) -> bool {
        self.sio.endpoint(request.path()).is_none() && self.app.streams_body(request)
    }

    fn on_body(&mut self, conn: &mut HttpConn<'_>, piece: &[u8], end: bool) {
        self.app.on_body(conn, piece, end);
    }

    fn on_request_abandoned(&mut self, id: RequestId) {
        self.sio.on_request_abandoned(id);
        self.app.on_request_abandoned(id);
    }

    fn on_http(&mut self, request: &Request<'_>) -> HttpResponse {
        self.app.on_http(request)
    }

    fn allows_deflate(&self, request: &Request<'_>) -> bool {
        match self.sio.endpoint(request.path()) {
            Some(_) => self.sio.allows_deflate(request),
            None => self.app.allows_deflate(request),
        }
    }

    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        match self.sio.endpoint(upgrade.path()) {
            Some(_) => self.sio.on_open(conn, upgrade),
            None => self.app.on_open(conn, upgrade),
        }
    }

    /// Inlined into the engine's loop: the application's message then
    /// costs one lookup more than unmounted.
    #[inline(always)]
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        if self.sio.websockets.contains(conn.id()) {
            self.sio.on_message(conn, message);
        } else {
            self.app.on_message(conn, message);
        }
    }

    fn on_close(&mut self, id: ConnId, reason: &crate::net::CloseReason) {
        if !self.partial.is_empty() {
            self.partial.remove(&id);
        }
        if self.sio.websockets.contains(id) {
            self.sio.on_close(id, reason);
        } else {
            self.app.on_close(id, reason);
        }
    }

    fn delivery(&self) -> Delivery {
        self.app.delivery()
    }

    fn on_fragment(&mut self, conn: &mut Conn<'_>, fragment: Fragment<&[u8]>) {
        if self.sio.websockets.contains(conn.id()) {
            self.piece_for_sio(conn, fragment);
        } else {
            self.app.on_fragment(conn, fragment);
        }
    }

    fn on_close_data(&mut self, id: ConnId, data: Box<dyn std::any::Any>) {
        self.app.on_close_data(id, data);
    }

    fn on_ping(&mut self, conn: &mut Conn<'_>, payload: &[u8]) {
        self.app.on_ping(conn, payload);
    }

    fn on_pong(&mut self, conn: &mut Conn<'_>, payload: &[u8]) {
        self.app.on_pong(conn, payload);
    }

    fn on_drain(&mut self, conn: &mut Conn<'_>) {
        self.app.on_drain(conn);
    }
}
