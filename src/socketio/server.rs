//! Socket.IO on the engine (features `socketio` and `net`): a [`SocketIo`]
//! server whose per-worker [`Handler`] serves Engine.IO's long-polling
//! requests and WebSockets on its path, and an application API shaped like
//! Node's: `io.ns("/", |socket, auth| socket.on("event", ...))`.
//!
//! Every session lives in one table shared by the workers, because a
//! polling client's requests may come on any connection, so on any worker.
//! A callback locks the table, feeds the session
//! ([`crate::engineio::Session`] and [`Client`]), and sends what comes out
//! through the [`ServerHandle`]. The application's handlers run after the
//! lock is released, so they may emit freely. A timer thread runs the
//! heartbeats and the connect and upgrade timeouts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::client::{Client, ClientClose, ClientEvent, Outgoing};
use crate::engineio::{
    route, EngineConfig, EngineError, Frame, Route, Session, SessionEvent, Transport,
};
use crate::frame::CloseCode;
use crate::handshake::{Rejection, Request};
use crate::net::{
    Conn, ConnId, Handler, HttpConn, HttpResponse, Message, OwnedMessage, Reply, RequestId,
    ServerHandle, Upgrade,
};

/// A Socket.IO server's settings.
#[derive(Clone, Debug)]
pub struct SocketIoConfig {
    /// Engine.IO's heartbeat, payload limit and upgrade timeout.
    pub engine: EngineConfig,
    /// A client that joins no namespace within this is closed (Node: 45 s).
    pub connect_timeout: Duration,
    /// Where Engine.IO is served; requests elsewhere get 404.
    pub path: String,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            path: "/socket.io/".into(),
        }
    }
}

/// A handler for an event: the socket, the arguments after the event's
/// name (binary ones as placeholders), the binary attachments, and the
/// ack to answer with when the client asked for one.
pub type EventHandler = Arc<dyn Fn(&Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>) + Send + Sync>;

/// What runs when a client joins a namespace: the socket and the client's
/// `auth` payload.
pub type ConnectionHandler = Arc<dyn Fn(&Socket, Option<&Value>) + Send + Sync>;

/// A handler for the messages of a raw Engine.IO session.
pub type RawHandler = Arc<dyn Fn(&EngineSocket, OwnedMessage) + Send + Sync>;

/// A Socket.IO server; see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct SocketIo {
    shared: Arc<Shared>,
}

struct Shared {
    config: SocketIoConfig,
    namespaces: RwLock<HashMap<String, ConnectionHandler>>,
    /// A raw Engine.IO endpoint beside Socket.IO: its path and handler.
    raw: RwLock<Option<(String, RawHandler)>>,
    sessions: Mutex<HashMap<String, Entry>>,
    /// Set by the first worker's handler; starts the timer thread.
    handle: OnceLock<ServerHandle>,
}

/// One session and where its transports are.
struct Entry {
    engine: Session,
    /// The Socket.IO side; `None` for a raw Engine.IO session.
    client: Option<Client>,
    /// The WebSocket the session runs on (from the start, or upgraded).
    ws: Option<ConnId>,
    /// The WebSocket probing an upgrade.
    probe: Option<ConnId>,
    /// The GET held for the next packets.
    held: Option<RequestId>,
    handlers: HashMap<String, HashMap<String, EventHandler>>,
}

/// Application work found under the lock, run after it.
enum Deferred {
    Connection(ConnectionHandler, Socket, Option<Value>),
    Raw(RawHandler, EngineSocket, OwnedMessage),
    Event(EventHandler, Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh 20-character id (120 random bits, URL-safe base64), as Node's.
fn new_id() -> String {
    let mut bytes = [0u8; 15];
    getrandom::fill(&mut bytes).expect("the OS random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SocketIo {
    /// A server with `config`; add namespaces with [`SocketIo::ns`], then
    /// start the engine with [`SocketIo::handler`] as its factory.
    pub fn new(config: SocketIoConfig) -> Self {
        SocketIo {
            shared: Arc::new(Shared {
                config,
                namespaces: RwLock::new(HashMap::new()),
                raw: RwLock::new(None),
                sessions: Mutex::new(HashMap::new()),
                handle: OnceLock::new(),
            }),
        }
    }

    /// Serves namespace `nsp`: `on_connection` runs for each client that
    /// joins it. A client asking for a namespace not served is refused
    /// with `{"message":"Invalid namespace"}`.
    pub fn ns(
        &self,
        nsp: &str,
        on_connection: impl Fn(&Socket, Option<&Value>) + Send + Sync + 'static,
    ) {
        self.shared
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(nsp.to_owned(), Arc::new(on_connection));
    }

    /// Also serves raw Engine.IO at `path` (e.g. `/engine.io/`): each
    /// message of a session there goes to `on_message`, without Socket.IO.
    pub fn engine_io(
        &self,
        path: &str,
        on_message: impl Fn(&EngineSocket, OwnedMessage) + Send + Sync + 'static,
    ) {
        *self
            .shared
            .raw
            .write()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((path.to_owned(), Arc::new(on_message)));
    }

    /// The handler for one engine worker (use as
    /// `Server::start(config, move |_, handle| io.handler(handle))`).
    pub fn handler(&self, handle: &ServerHandle) -> SocketIoHandler {
        if self.shared.handle.set(handle.clone()).is_ok() {
            let shared = self.shared.clone();
            std::thread::Builder::new()
                .name("socketio-timers".into())
                .spawn(move || run_timers(&shared))
                .expect("spawning the Socket.IO timer thread");
        }
        SocketIoHandler {
            shared: self.shared.clone(),
        }
    }

    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }
}

/// A client joined to one namespace, for the application.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<Shared>,
    session: String,
    nsp: String,
    id: String,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.nsp)
            .field("id", &self.id)
            .finish()
    }
}

impl Socket {
    /// The socket's id (not the Engine.IO session id, which is secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Handles `event` from this client.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>) + Send + Sync + 'static,
    ) {
        self.with_entry(|entry| {
            entry
                .handlers
                .entry(self.nsp.clone())
                .or_default()
                .insert(event.to_owned(), Arc::new(handler));
        });
    }

    /// Emits `event` with JSON `args`. False when the client is gone.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> bool {
        self.emit_binary(event, args, Vec::new())
    }

    /// Emits `event` with `args` holding placeholders
    /// ([`super::packet::placeholder`]) for the `binary` attachments.
    pub fn emit_binary(&self, event: &str, args: Vec<Value>, binary: Vec<Vec<u8>>) -> bool {
        self.with_entry(|entry| {
            let client = entry.client.as_mut()?;
            client.emit(&self.nsp, event, args, binary, false)
        })
        .flatten()
        .is_some()
    }

    /// Makes the client leave the namespace.
    pub fn disconnect(&self) {
        self.with_entry(|entry| entry.client.as_mut().map(|c| c.disconnect(&self.nsp)));
    }

    fn with_entry<R>(&self, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        with_entry(&self.shared, &self.session, f)
    }
}

/// Runs `f` on session `sid`, moves what it produced, and runs the
/// application's work once the lock is released.
fn with_entry<R>(shared: &Arc<Shared>, sid: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
    let handle = shared.handle.get()?;
    let mut sessions = lock(&shared.sessions);
    let entry = sessions.get_mut(sid)?;
    let result = f(entry);
    let deferred = pump(shared, sid, entry, handle);
    drop(sessions);
    run(deferred);
    Some(result)
}

/// A raw Engine.IO session, for the application.
#[derive(Clone)]
pub struct EngineSocket {
    shared: Arc<Shared>,
    session: String,
}

impl EngineSocket {
    /// Sends a text message.
    pub fn send_text(&self, text: &str) {
        with_entry(&self.shared, &self.session, |entry| {
            entry.engine.send_text(text)
        });
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) {
        with_entry(&self.shared, &self.session, |entry| {
            entry.engine.send_binary(data)
        });
    }

    /// Ends the session.
    pub fn close(&self) {
        with_entry(&self.shared, &self.session, |entry| entry.engine.close());
    }
}

/// The answer a client asked for with its event.
pub struct Ack {
    socket: Socket,
    id: u64,
}

impl Ack {
    /// Sends the answer: JSON `args`.
    pub fn send(self, args: Vec<Value>) {
        self.send_binary(args, Vec::new());
    }

    /// Sends the answer with binary attachments for its placeholders.
    pub fn send_binary(self, args: Vec<Value>, binary: Vec<Vec<u8>>) {
        let Ack { socket, id } = self;
        socket.with_entry(|entry| {
            entry
                .client
                .as_mut()
                .map(|client| client.ack(&socket.nsp, id, args, binary))
        });
    }
}

fn run(deferred: Vec<Deferred>) {
    for work in deferred {
        match work {
            Deferred::Connection(handler, socket, auth) => handler(&socket, auth.as_ref()),
            Deferred::Raw(handler, socket, message) => handler(&socket, message),
            Deferred::Event(handler, socket, args, binary, ack) => {
                handler(&socket, args, binary, ack)
            }
        }
    }
}

/// Moves everything a session has to move: the engine's messages into the
/// Socket.IO client, its events to the application (deferred), its packets
/// into the engine, and the engine's output to the transports. Loops until
/// nothing moves.
fn pump(
    shared: &Arc<Shared>,
    sid: &str,
    entry: &mut Entry,
    handle: &ServerHandle,
) -> Vec<Deferred> {
    let mut deferred = Vec::new();
    loop {
        let mut moved = false;
        while let Some(event) = entry.engine.poll_event() {
            moved = true;
            match event {
                SessionEvent::Message(text) => match entry.client.as_mut() {
                    Some(client) => client.on_text(&text),
                    None => raw_message(shared, sid, OwnedMessage::Text(text), &mut deferred),
                },
                SessionEvent::Binary(data) => match entry.client.as_mut() {
                    Some(client) => client.on_binary(&data),
                    None => raw_message(shared, sid, OwnedMessage::Binary(data), &mut deferred),
                },
                SessionEvent::Upgraded => entry.ws = entry.probe.take(),
                SessionEvent::UpgradeAborted => {
                    if let Some(probe) = entry.probe.take() {
                        handle.close(probe, CloseCode::NORMAL, "upgrade aborted");
                    }
                }
                SessionEvent::Closed(reason) => {
                    for conn in [entry.ws.take(), entry.probe.take()].into_iter().flatten() {
                        handle.close(conn, CloseCode::NORMAL, reason.as_str());
                    }
                }
            }
        }
        while let Some(event) = entry.client.as_mut().and_then(Client::poll_event) {
            moved = true;
            on_client_event(shared, sid, entry, event, &mut deferred);
        }
        while let Some(out) = entry.client.as_mut().and_then(Client::poll_transmit) {
            moved = true;
            match out {
                Outgoing::Text(text) => entry.engine.send_text(&text),
                Outgoing::Binary(data) => entry.engine.send_binary(&data),
            }
        }
        if let Some(body) = entry.engine.take_poll_answer() {
            moved = true;
            if let Some(held) = entry.held.take() {
                handle.respond(held, polling_response(body));
            }
        }
        while let Some(packet) = entry.engine.poll_ws() {
            moved = true;
            let conn = match entry.engine.transport() {
                Transport::WebSocket => entry.ws,
                Transport::Polling => entry.probe,
            };
            if let Some(conn) = conn {
                handle.send(
                    conn,
                    match packet.to_frame() {
                        Frame::Text(text) => OwnedMessage::Text(text),
                        Frame::Binary(data) => OwnedMessage::Binary(data.to_vec()),
                    },
                );
            }
        }
        if !moved {
            return deferred;
        }
    }
}

/// A message of a raw Engine.IO session, for the raw handler.
fn raw_message(
    shared: &Arc<Shared>,
    sid: &str,
    message: OwnedMessage,
    deferred: &mut Vec<Deferred>,
) {
    let raw = shared.raw.read().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, handler)) = raw.as_ref() {
        let socket = EngineSocket {
            shared: shared.clone(),
            session: sid.to_owned(),
        };
        deferred.push(Deferred::Raw(handler.clone(), socket, message));
    }
}

fn on_client_event(
    shared: &Arc<Shared>,
    sid: &str,
    entry: &mut Entry,
    event: ClientEvent,
    deferred: &mut Vec<Deferred>,
) {
    let socket = |nsp: &str, id: &str| Socket {
        shared: shared.clone(),
        session: sid.to_owned(),
        nsp: nsp.to_owned(),
        id: id.to_owned(),
    };
    let Some(client) = entry.client.as_mut() else {
        return;
    };
    match event {
        ClientEvent::Connect { nsp, auth } => {
            let namespaces = shared
                .namespaces
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match namespaces.get(&nsp) {
                Some(handler) => {
                    let id = new_id();
                    client.accept(&nsp, id.clone());
                    deferred.push(Deferred::Connection(
                        handler.clone(),
                        socket(&nsp, &id),
                        auth,
                    ));
                }
                None => client.refuse(&nsp, json!({"message": "Invalid namespace"})),
            }
        }
        ClientEvent::Event {
            nsp,
            mut data,
            binary,
            ack,
        } => {
            let Some(Value::String(name)) = data.first().cloned() else {
                return; // an event named by a number: no handler takes it
            };
            let handler = entry
                .handlers
                .get(&nsp)
                .and_then(|events| events.get(&name));
            let (Some(handler), Some(id)) = (handler.cloned(), client.sid(&nsp)) else {
                return;
            };
            let socket = socket(&nsp, id);
            data.remove(0);
            let ack = ack.map(|id| Ack {
                socket: socket.clone(),
                id,
            });
            deferred.push(Deferred::Event(handler, socket, data, binary, ack));
        }
        ClientEvent::Ack { .. } => {} // no emit asks for an ack yet
        ClientEvent::Disconnect { nsp } => {
            entry.handlers.remove(&nsp);
        }
        ClientEvent::Close(why) => {
            if let ClientClose::ParseError(why) = &why {
                log::debug!("socket.io session closed: {why}");
            }
            entry.engine.close();
        }
    }
}

/// A polling body: Node answers `text/plain; charset=UTF-8`.
fn polling_response(body: String) -> HttpResponse {
    HttpResponse::new(200, "text/plain; charset=UTF-8", body.into_bytes())
}

fn run_timers(shared: &Arc<Shared>) {
    let handle = shared.handle.get().expect("set before the thread starts");
    while !handle.is_shutting_down() {
        std::thread::sleep(Duration::from_millis(10));
        let now = Instant::now();
        let mut deferred = Vec::new();
        let mut sessions = lock(&shared.sessions);
        for (sid, entry) in sessions.iter_mut() {
            let client_due = entry.client.as_ref().and_then(Client::poll_timeout);
            let due = [entry.engine.poll_timeout(), client_due]
                .into_iter()
                .flatten()
                .min()
                .is_some_and(|at| at <= now);
            if due {
                entry.engine.handle_timeout(now);
                if let Some(client) = entry.client.as_mut() {
                    client.handle_timeout(now);
                }
                deferred.extend(pump(shared, sid, entry, handle));
            }
        }
        sessions.retain(|_, entry| entry.engine.closed().is_none());
        drop(sessions);
        run(deferred);
    }
}

/// The engine worker's side of a [`SocketIo`] server.
pub struct SocketIoHandler {
    shared: Arc<Shared>,
}

/// The two endpoints a server may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    SocketIo,
    Raw,
}

/// Which session a WebSocket belongs to.
struct SessionOf(String);

impl SocketIoHandler {
    /// Feeds one session with `f`, pumps it, forgets it once closed, and
    /// runs the application's work.
    fn feed<R>(
        &self,
        sid: &str,
        handle: &ServerHandle,
        f: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        let mut sessions = lock(&self.shared.sessions);
        let entry = sessions.get_mut(sid)?;
        let result = f(entry);
        let deferred = pump(&self.shared, sid, entry, handle);
        if entry.engine.closed().is_some() && entry.held.is_none() {
            sessions.remove(sid);
        }
        drop(sessions);
        run(deferred);
        Some(result)
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
    ) -> (String, String) {
        let sid = new_id();
        let now = Instant::now();
        let engine = Session::new(
            sid.clone(),
            transport,
            self.shared.config.engine.clone(),
            now,
        );
        let mut open = String::new();
        engine.open_packet().encode_polling(&mut open);
        let entry = Entry {
            engine,
            client: (endpoint == Endpoint::SocketIo)
                .then(|| Client::new(self.shared.config.connect_timeout, now)),
            ws,
            probe: None,
            held: None,
            handlers: HashMap::new(),
        };
        lock(&self.shared.sessions).insert(sid.clone(), entry);
        (sid, open)
    }

    fn on_polling(
        &self,
        conn: &mut HttpConn<'_>,
        request: &Request<'_>,
        endpoint: Endpoint,
        route: Route,
    ) -> Result<Reply, EngineError> {
        let handle = conn.handle().clone();
        match route {
            Route::Open(_) => {
                let (_, open) = self.open(endpoint, Transport::Polling, None);
                Ok(Reply::Now(polling_response(open)))
            }
            Route::Poll(sid) => {
                let id = conn.request_id();
                let now = Instant::now();
                let answer = self
                    .feed(&sid, &handle, |entry| {
                        let answer = entry.engine.get(now)?;
                        if answer.is_none() {
                            entry.held = Some(id);
                        }
                        Ok(answer)
                    })
                    .ok_or(EngineError::UnknownSid)??;
                Ok(match answer {
                    Some(body) => Reply::Now(polling_response(body)),
                    None => Reply::Later,
                })
            }
            Route::Post(sid) => {
                let body =
                    std::str::from_utf8(request.body).map_err(|_| EngineError::BadRequest)?;
                let now = Instant::now();
                self.feed(&sid, &handle, |entry| entry.engine.post(body, now))
                    .ok_or(EngineError::UnknownSid)??;
                Ok(Reply::Now(HttpResponse::new(200, "text/html", &b"ok"[..])))
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
        let routed = route(request.method, request.query().unwrap_or(""), false);
        match routed.and_then(|route| self.on_polling(conn, request, endpoint, route)) {
            Ok(reply) => reply,
            Err(error) => Reply::Now(error.response()),
        }
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
                let (sid, open) = self.open(endpoint, Transport::WebSocket, Some(conn.id()));
                conn.set_data(SessionOf(sid));
                let _ = conn.send_text(&open);
                Ok(())
            }
            Route::Upgrade(sid) => {
                let id = conn.id();
                let handle = conn.handle().clone();
                let now = Instant::now();
                self.feed(&sid, &handle, |entry| {
                    entry.engine.begin_upgrade(now)?;
                    entry.probe = Some(id);
                    Ok(())
                })
                .ok_or(refuse(EngineError::UnknownSid))?
                .map_err(refuse)?;
                conn.set_data(SessionOf(sid));
                Ok(())
            }
            _ => Err(refuse(EngineError::BadRequest)),
        }
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let Some(SessionOf(sid)) = conn.data::<SessionOf>() else {
            return;
        };
        let sid = sid.clone();
        let handle = conn.handle().clone();
        let now = Instant::now();
        self.feed(&sid, &handle, |entry| match message {
            Message::Text(text) => entry.engine.ws_text(text, now),
            Message::Binary(data) => entry.engine.ws_binary(data, now),
        });
    }

    fn on_close_data(&mut self, id: ConnId, data: Box<dyn std::any::Any>) {
        let Ok(session) = data.downcast::<SessionOf>() else {
            return;
        };
        let Some(handle) = self.shared.handle.get() else {
            return;
        };
        self.feed(&session.0, handle, |entry| {
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
        let Some(handle) = self.shared.handle.get() else {
            return;
        };
        let sid = lock(&self.shared.sessions)
            .iter()
            .find(|(_, entry)| entry.held == Some(id))
            .map(|(sid, _)| sid.clone());
        if let Some(sid) = sid {
            self.feed(&sid, handle, |entry| {
                entry.held = None;
                entry.engine.poll_abandoned();
            });
        }
    }
}
