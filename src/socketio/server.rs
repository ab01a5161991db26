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
use super::handler::{polling_response, SocketIoHandler};
use super::socket::{Ack, EngineSocket, Socket};
use crate::engineio::{EngineConfig, Frame, Session, SessionEvent, Transport};
use crate::frame::CloseCode;
use crate::net::{ConnId, OwnedMessage, RequestId, ServerHandle};

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
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) config: SocketIoConfig,
    namespaces: RwLock<HashMap<String, ConnectionHandler>>,
    /// A raw Engine.IO endpoint beside Socket.IO: its path and handler.
    pub(super) raw: RwLock<Option<(String, RawHandler)>>,
    pub(super) sessions: Mutex<HashMap<String, Entry>>,
    /// Set by the first worker's handler; starts the timer thread.
    pub(super) handle: OnceLock<ServerHandle>,
}

/// One session and where its transports are.
pub(super) struct Entry {
    pub(super) engine: Session,
    /// The Socket.IO side; `None` for a raw Engine.IO session.
    pub(super) client: Option<Client>,
    /// The WebSocket the session runs on (from the start, or upgraded).
    pub(super) ws: Option<ConnId>,
    /// The WebSocket probing an upgrade.
    pub(super) probe: Option<ConnId>,
    /// The GET held for the next packets.
    pub(super) held: Option<RequestId>,
    /// Each namespace's event handlers.
    pub(super) handlers: HashMap<String, HashMap<String, EventHandler>>,
}

impl Entry {
    /// A session opened at `now`: Socket.IO on it unless `raw`.
    pub(super) fn new(engine: Session, raw: bool, connect_timeout: Duration, now: Instant) -> Self {
        Entry {
            engine,
            client: (!raw).then(|| Client::new(connect_timeout, now)),
            ws: None,
            probe: None,
            held: None,
            handlers: HashMap::new(),
        }
    }
}

/// Application work found under the lock, run after it.
pub(super) enum Deferred {
    Connection(ConnectionHandler, Socket, Option<Value>),
    Raw(RawHandler, EngineSocket, OwnedMessage),
    Event(EventHandler, Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>),
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fresh 20-character id (120 random bits, URL-safe base64), as Node's.
pub(super) fn new_id() -> String {
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
        SocketIoHandler::new(self.shared.clone())
    }

    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }
}

/// Runs `f` on session `sid`, moves what it produced, and runs the
/// application's work once the lock is released.
/// A session that ended is forgotten once its held GET is answered.
pub(super) fn with_entry<R>(
    shared: &Arc<Shared>,
    sid: &str,
    f: impl FnOnce(&mut Entry) -> R,
) -> Option<R> {
    let handle = shared.handle.get()?;
    let mut sessions = lock(&shared.sessions);
    let entry = sessions.get_mut(sid)?;
    let result = f(entry);
    let deferred = pump(shared, sid, entry, handle);
    if entry.engine.closed().is_some() && entry.held.is_none() {
        sessions.remove(sid);
    }
    drop(sessions);
    run(deferred);
    Some(result)
}

pub(super) fn run(deferred: Vec<Deferred>) {
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
pub(super) fn pump(
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

pub(super) fn run_timers(shared: &Arc<Shared>) {
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
