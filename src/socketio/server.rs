//! Socket.IO on the engine (features `socketio` and `net`): a [`SocketIo`]
//! server whose per-worker [`SocketIoHandler`] serves Engine.IO's
//! long-polling requests and WebSockets on its path, and an application
//! API shaped like Node's: `io.ns("/", |socket, auth| socket.on(...))`.
//!
//! Every session lives in one table shared by the workers, because a
//! polling client's requests may come on any connection, so on any worker.
//! A callback locks the table, feeds the session
//! ([`crate::engineio::Session`] and [`Client`]), and sends what comes out
//! through the [`ServerHandle`]. The application's handlers run after the
//! lock is released, so they may emit freely. A timer thread runs the
//! heartbeats and the connect and upgrade timeouts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use compact_str::CompactString;
use serde_json::{json, Value};
use smallvec::SmallVec;
use thin_vec::ThinVec;

use super::client::{Client, ClientClose, ClientEvent, Outgoing};
use super::event_table;
use super::handler::{polling_response, SocketIoHandler};
use super::packet::append_ack;
use super::recovery::{Audience, Logged, Recovery, RecoveryConfig, Saved};
use super::sessions::Sessions;
use super::socket::{Ack, AckError, EngineSocket, Socket};
use crate::engineio::CloseReason;
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
    /// Pages on any origin may poll (`Access-Control-Allow-Origin: *`,
    /// preflights answered). Off by default, as in Node.
    pub cors: bool,
    /// Connection-state recovery (off by default, as in Node).
    pub recovery: Option<RecoveryConfig>,
    /// Agree to permessage-deflate on Socket.IO's WebSockets when the
    /// engine's policy has it and the client offers it (the official
    /// client does). Off by default, as in Node: a compressor kept with its
    /// context costs about 300 KiB per client, idle or not.
    pub per_message_deflate: bool,
    /// Rooms and broadcasts shared through the Redis at this URL
    /// (`redis://HOST:PORT`) with every simdws and Node `socket.io`
    /// server (`@socket.io/redis-adapter` 8.3) on it; see
    /// [`SocketIo::server_count`] and [`Broadcast::local`](super::Broadcast::local).
    /// Linked when the engine starts; a URL that is not a Redis URL is
    /// logged as an error, and the server then runs alone.
    #[cfg(feature = "redis")]
    pub redis: Option<String>,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        SocketIoConfig {
            engine: EngineConfig::default(),
            connect_timeout: Duration::from_secs(45),
            path: "/socket.io/".into(),
            cors: false,
            recovery: None,
            per_message_deflate: false,
            #[cfg(feature = "redis")]
            redis: None,
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

/// What runs when a socket leaves its namespace, with Node's reason
/// (`client namespace disconnect`, `server namespace disconnect`,
/// `transport close`, `ping timeout`, `parse error`...).
pub type DisconnectHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;

/// What runs with the answer to an emit that asked for one.
pub(super) type AckCallback = Box<dyn FnOnce(Result<Vec<Value>, AckError>) + Send>;

/// An emit waiting for its ack.
pub(super) struct PendingAck {
    pub(super) deadline: Instant,
    pub(super) callback: AckCallback,
}

/// A session's emits waiting for their acks, by namespace and ack id: a
/// list, as a session has few in flight and most have none.
#[derive(Default)]
pub(super) struct PendingAcks(ThinVec<(String, u64, PendingAck)>);

impl PendingAcks {
    pub(super) fn insert(&mut self, nsp: &str, id: u64, ack: PendingAck) {
        self.0.push((nsp.to_owned(), id, ack));
    }

    pub(super) fn remove(&mut self, nsp: &str, id: u64) -> Option<PendingAck> {
        let at = self.0.iter().position(|(n, i, _)| *i == id && n == nsp)?;
        Some(self.0.swap_remove(at).2)
    }

    fn earliest_deadline(&self) -> Option<Instant> {
        self.0.iter().map(|(.., ack)| ack.deadline).min()
    }

    /// Takes out the acks `pick` picks.
    fn take_if(&mut self, mut pick: impl FnMut(&PendingAck) -> bool) -> Vec<PendingAck> {
        let mut taken = Vec::new();
        let mut at = 0;
        while at < self.0.len() {
            if pick(&self.0[at].2) {
                taken.push(self.0.swap_remove(at).2);
            } else {
                at += 1;
            }
        }
        if self.0.is_empty() {
            self.0 = ThinVec::new();
        }
        taken
    }
}

/// A handler for the messages of a raw Engine.IO session.
pub type RawHandler = Arc<dyn Fn(&EngineSocket, OwnedMessage) + Send + Sync>;

/// A Socket.IO server; see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct SocketIo {
    pub(super) shared: Arc<Shared>,
}

/// A table by name (of namespaces, of events), looked up once or twice
/// for every packet a client sends. Its keys are the application's, so a
/// fast hash serves (SipHash took ~300 instructions of an emit+ack).
pub(super) type Names<T> = HashMap<String, T, foldhash::fast::RandomState>;

/// A namespace served: what runs when a client joins it, and the event
/// handlers every socket on it shares.
#[derive(Default)]
pub(super) struct Namespace {
    pub(super) on_connection: Option<ConnectionHandler>,
    pub(super) events: Names<EventHandler>,
    /// Handlers of events other servers emit (through Redis).
    #[cfg(feature = "redis")]
    pub(super) server_events: HashMap<String, ServerEventHandler>,
}

/// What runs on a server-side event from another server: its arguments,
/// and the ack when the sender wants answers.
#[cfg(feature = "redis")]
pub type ServerEventHandler = Arc<dyn Fn(Vec<Value>, Option<super::ServerAck>) + Send + Sync>;

pub(super) struct Shared {
    /// Tells this server apart in threads' copies of its event handlers.
    pub(super) id: u64,
    pub(super) config: SocketIoConfig,
    /// `config.engine`, shared by every session.
    pub(super) engine: Arc<EngineConfig>,
    pub(super) namespaces: RwLock<Names<Namespace>>,
    /// Bumped (under `namespaces`' write lock) by every change to it:
    /// threads' copies of the event handlers are of a version.
    pub(super) events_version: AtomicU64,
    /// A raw Engine.IO endpoint beside Socket.IO: its path and handler.
    pub(super) raw: RwLock<Option<(String, RawHandler)>>,
    /// Every session, by sid.
    pub(super) sessions: Mutex<Sessions>,
    /// Set by the first worker's handler; starts the timer thread.
    pub(super) handle: OnceLock<ServerHandle>,
    /// The event log and saved sockets, when recovery is on. Locked only
    /// while `sessions` is.
    pub(super) recovery: Option<Mutex<Recovery>>,
    /// The link to Redis, when configured and up.
    #[cfg(feature = "redis")]
    pub(super) adapter: OnceLock<super::adapter::Adapter>,
}

impl Shared {
    /// Changes namespace `nsp`, which is served from then on.
    pub(super) fn edit_namespace(&self, nsp: &str, edit: impl FnOnce(&mut Namespace)) {
        let namespaces = self.namespaces.write();
        let mut namespaces = namespaces.unwrap_or_else(PoisonError::into_inner);
        edit(namespaces.entry(nsp.to_owned()).or_default());
        self.events_version.fetch_add(1, Ordering::Release);
    }
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
    /// The client's socket on each namespace it joined (most join one,
    /// kept inline).
    pub(super) members: SmallVec<[Member; 1]>,
    /// Emits waiting for their acks, by namespace and ack id.
    pub(super) pending_acks: PendingAcks,
    /// The application's part of the query string the session was opened
    /// with (see [`app_query`]).
    pub(super) query: CompactString,
    /// When the session ended (it may wait for its last GET).
    pub(super) closed_at: Option<Instant>,
}

/// What the server keeps for a client's socket on one namespace. Kept
/// small: an idle server holds one per client.
pub(super) struct Member {
    pub(super) nsp: CompactString,
    /// Handlers added by [`Socket::on`], tried before the namespace's.
    pub(super) handlers: ThinVec<(String, EventHandler)>,
    /// The disconnect handler, with the socket it is for (boxed: most
    /// sockets have none).
    pub(super) on_disconnect: Option<Box<OnDisconnect>>,
    /// The rooms the socket is in (its own id's room aside).
    pub(super) rooms: RoomSet,
    /// The private id it is saved under for recovery.
    pub(super) pid: Option<CompactString>,
    /// The `auth` payload of its CONNECT.
    pub(super) auth: Option<Box<Value>>,
}

/// The rooms a socket is in: a set, boxed only once it holds one (most
/// sockets are in no room but their own id's). Hashed with foldhash: a
/// broadcast asks every socket whether it is in the room, and SipHash made
/// that ~170 instructions per recipient.
// The box is the point: no room is one pointer, not a `HashSet`.
#[allow(clippy::box_collection)]
#[derive(Default)]
pub(super) struct RoomSet(Option<Box<HashSet<String, foldhash::fast::RandomState>>>);

impl RoomSet {
    pub(super) fn insert(&mut self, room: &str) {
        self.0.get_or_insert_default().insert(room.to_owned());
    }

    pub(super) fn remove(&mut self, room: &str) {
        if let Some(rooms) = &mut self.0 {
            rooms.remove(room);
            if rooms.is_empty() {
                self.0 = None;
            }
        }
    }

    pub(super) fn contains(&self, room: &str) -> bool {
        self.0.as_ref().is_some_and(|rooms| rooms.contains(room))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter().flat_map(|rooms| rooms.iter())
    }

    /// The rooms as a set of their own.
    pub(super) fn to_set(&self) -> HashSet<String> {
        self.iter().cloned().collect()
    }
}

impl From<HashSet<String>> for RoomSet {
    fn from(rooms: HashSet<String>) -> Self {
        RoomSet((!rooms.is_empty()).then(|| Box::new(rooms.into_iter().collect())))
    }
}

/// A disconnect handler and the socket it will be given. The socket is
/// kept without its strong hold on the server (`Socket::shared`): the
/// server owns this record through its session table, and a strong hold
/// here would keep a dropped server alive.
pub(super) struct OnDisconnect {
    handler: DisconnectHandler,
    shared: Weak<Shared>,
    /// The socket's own fields but `shared`.
    session: CompactString,
    nsp: CompactString,
    id: CompactString,
    recovered: bool,
}

impl OnDisconnect {
    /// `handler` for `socket`.
    pub(super) fn new(handler: DisconnectHandler, socket: &Socket) -> Self {
        OnDisconnect {
            handler,
            shared: Arc::downgrade(&socket.shared),
            session: socket.session.clone(),
            nsp: socket.nsp.clone(),
            id: socket.id.clone(),
            recovered: socket.recovered,
        }
    }

    /// The handler's deferred call, while the server is there.
    fn deferred(self, reason: &'static str) -> Option<Deferred> {
        let socket = Socket {
            shared: self.shared.upgrade()?,
            session: self.session,
            nsp: self.nsp,
            id: self.id,
            recovered: self.recovered,
        };
        Some(Deferred::Disconnect(self.handler, socket, reason))
    }
}

impl Member {
    fn new(nsp: &str, pid: Option<String>, rooms: HashSet<String>, auth: Option<Value>) -> Self {
        Member {
            nsp: nsp.into(),
            handlers: ThinVec::new(),
            on_disconnect: None,
            rooms: rooms.into(),
            pid: pid.map(CompactString::from),
            auth: auth.map(Box::new),
        }
    }
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
            members: SmallVec::new(),
            pending_acks: PendingAcks::default(),
            query: CompactString::default(),
            closed_at: None,
        }
    }

    /// The client's socket on `nsp`, while joined.
    pub(super) fn member(&self, nsp: &str) -> Option<&Member> {
        self.members.iter().find(|member| member.nsp == nsp)
    }

    pub(super) fn member_mut(&mut self, nsp: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|member| member.nsp == nsp)
    }

    /// The socket left `nsp`: its handlers, rooms and disconnect handler
    /// go, and the handler runs with `reason`.
    pub(super) fn left(&mut self, nsp: &str, reason: &'static str, deferred: &mut Vec<Deferred>) {
        let Some(at) = self.members.iter().position(|member| member.nsp == nsp) else {
            return;
        };
        let member = self.members.swap_remove(at);
        if let Some(call) = member
            .on_disconnect
            .and_then(|boxed| boxed.deferred(reason))
        {
            deferred.push(call);
        }
    }

    /// Moves the Socket.IO client's packets on; returns whether there were
    /// any. They go into the Engine.IO session's queue, except that with
    /// `direct`, while the session sends directly, they go straight to its
    /// WebSocket: framed once here, with no copy through that queue.
    pub(super) fn flush_client(&mut self, direct: Option<&ServerHandle>) -> bool {
        let mut moved = false;
        while let Some(out) = self.client.as_mut().and_then(Client::poll_transmit) {
            moved = true;
            let ws = self.ws.filter(|_| self.engine.sends_directly());
            match (out, ws.zip(direct)) {
                (Outgoing::Text(mut text), Some((conn, handle))) => {
                    text.insert_str(0, crate::engineio::MESSAGE);
                    super::direct::send(handle, conn, OwnedMessage::Text(text));
                }
                (Outgoing::Binary(data), Some((conn, handle))) => {
                    super::direct::send(handle, conn, OwnedMessage::Binary(data));
                }
                (Outgoing::Text(text), None) => self.engine.send_text(&text),
                (Outgoing::Binary(data), None) => self.engine.send_binary(&data),
            }
        }
        moved
    }

    /// Answers ack `id` of the socket on `nsp`. An answer with no
    /// attachments, while the session sends directly, is framed here and
    /// written to the WebSocket: nothing is left to move.
    pub(super) fn answer(
        &mut self,
        handle: &ServerHandle,
        nsp: &str,
        id: u64,
        args: Vec<Value>,
        binary: Vec<Vec<u8>>,
    ) -> Then {
        if binary.is_empty() {
            if let Some(conn) = self.direct_ws(nsp) {
                super::direct::send_text_with(handle, conn, |out| {
                    append_ack(out, crate::engineio::MESSAGE, nsp, id, &args)
                });
                super::json::recycle(args);
                return Then::Done;
            }
        }
        if let Some(client) = self.client.as_mut() {
            client.ack(nsp, id, args, binary);
        }
        Then::Pump
    }

    /// The WebSocket a packet for the socket on `nsp` can be written to
    /// directly, framed by the caller: the socket is joined, and nothing
    /// of the session's is queued ahead of it.
    pub(super) fn direct_ws(&mut self, nsp: &str) -> Option<ConnId> {
        self.client.as_ref()?.sid(nsp)?;
        self.flush_client(None);
        self.engine.sends_directly().then_some(self.ws?)
    }

    /// Gives back the storage of queues that hold nothing; whether there
    /// was any.
    fn release_idle_buffers(&mut self) -> bool {
        let engine = self.engine.release_idle_buffers();
        let client = self
            .client
            .as_mut()
            .is_some_and(Client::release_idle_buffers);
        engine || client
    }

    /// The earliest deadline of the session, its client and its acks.
    fn next_deadline(&self) -> Option<Instant> {
        let client = self.client.as_ref().and_then(Client::poll_timeout);
        let acks = self.pending_acks.earliest_deadline();
        [self.engine.poll_timeout(), client, acks]
            .into_iter()
            .flatten()
            .min()
    }

    /// Acks not answered by `now` are given up on.
    fn expire_acks(&mut self, now: Instant, deferred: &mut Vec<Deferred>) {
        for ack in self.pending_acks.take_if(|ack| ack.deadline <= now) {
            deferred.push(Deferred::AckReply(ack.callback, Err(AckError::Timeout)));
        }
    }
}

/// An event's handler: the socket's own, or the namespace's, from this
/// thread's copy.
pub(super) enum HandlerRef {
    Own(EventHandler),
    Shared(event_table::Found),
}

impl HandlerRef {
    fn get(&self) -> &EventHandler {
        match self {
            HandlerRef::Own(handler) => handler,
            HandlerRef::Shared(found) => found.handler(),
        }
    }
}

/// Application work found under the lock, run after it.
pub(super) enum Deferred {
    Connection(ConnectionHandler, Socket, Option<Value>),
    Raw(RawHandler, EngineSocket, OwnedMessage),
    /// An event, with the id of the ack it asks for (and leave to write
    /// that at once, see [`super::direct::ticket`]).
    Event(
        HandlerRef,
        Socket,
        Vec<Value>,
        Vec<Vec<u8>>,
        Option<(u64, Option<super::direct::Ticket>)>,
    ),
    Disconnect(DisconnectHandler, Socket, &'static str),
    AckReply(AckCallback, Result<Vec<Value>, AckError>),
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The parameters of `query` that are the application's: Engine.IO's own
/// (`EIO`, `transport`, `sid`, and the `t` cache-buster of polling clients)
/// are known or meaningless once the session is open, and without them
/// most clients' query is empty, or short enough to be kept inline.
pub(super) fn app_query(query: &str) -> CompactString {
    let engine_io = |pair: &&str| {
        let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
        pair.is_empty() || matches!(key, "EIO" | "transport" | "sid" | "t")
    };
    let mut kept = CompactString::default();
    for pair in query.split('&').filter(|pair| !engine_io(pair)) {
        if !kept.is_empty() {
            kept.push('&');
        }
        kept.push_str(pair);
    }
    kept
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
                id: super::event_table::server_id(),
                namespaces: RwLock::new(Names::default()),
                events_version: AtomicU64::new(0),
                raw: RwLock::new(None),
                sessions: Mutex::new(Sessions::default()),
                handle: OnceLock::new(),
                recovery: config.recovery.map(|c| Mutex::new(Recovery::new(c))),
                #[cfg(feature = "redis")]
                adapter: OnceLock::new(),
                engine: Arc::new(config.engine.clone()),
                config,
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
        let on_connection: ConnectionHandler = Arc::new(on_connection);
        self.shared.edit_namespace(nsp, |namespace| {
            namespace.on_connection = Some(on_connection)
        });
    }

    /// Handles `event` from every socket of namespace `nsp` (served from
    /// then on, as by [`SocketIo::ns`]). Unlike [`Socket::on`] in a
    /// connection handler, it costs nothing per socket: use it for every
    /// handler that needs nothing but the socket it is called with
    /// ([`Socket::auth`], [`Socket::query`] and the rest are there). A
    /// socket's own handler for the same event goes first.
    pub fn on(
        &self,
        nsp: &str,
        event: &str,
        handler: impl Fn(&Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let handler: EventHandler = Arc::new(handler);
        self.shared.edit_namespace(nsp, |namespace| {
            namespace.events.insert(event.to_owned(), handler);
        });
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
            #[cfg(feature = "redis")]
            if let Some(url) = &self.shared.config.redis {
                if let Err(e) = super::adapter::attach(&self.shared, handle, url) {
                    log::error!("socket.io: not linked to Redis: {e}");
                }
            }
        }
        SocketIoHandler::new(self.shared.clone())
    }

    /// A broadcast to the sockets of namespace `nsp`.
    pub fn of(&self, nsp: &str) -> super::socket::Broadcast {
        super::socket::Broadcast::new(self.shared.clone(), nsp)
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
    with_entry_then(shared, sid, |entry, _| (f(entry), Then::Pump))
}

/// What is left to do after a change to a session.
pub(super) enum Then {
    /// Move what the change produced ([`pump`]).
    Pump,
    /// Nothing: the change was written to the WebSocket directly, and left
    /// the session as it was.
    Done,
}

/// [`with_entry`], for a change that may have nothing left to move.
pub(super) fn with_entry_then<R>(
    shared: &Arc<Shared>,
    sid: &str,
    f: impl FnOnce(&mut Entry, &ServerHandle) -> (R, Then),
) -> Option<R> {
    let handle = shared.handle.get()?;
    let mut sessions = lock(&shared.sessions);
    let entry = sessions.get_mut(sid)?;
    let (result, then) = f(entry, handle);
    if let Then::Done = then {
        return Some(result);
    }
    let deferred = pump(shared, sid, entry, handle);
    if entry.engine.is_done() && entry.held.is_none() {
        sessions.remove(sid);
    }
    drop(sessions);
    run(deferred);
    Some(result)
}

/// [`with_entry`], for a change that may hand its client's events to the
/// application itself ([`on_client_event`], into the vector it is given):
/// an event then makes no trip through the client's queue. What else the
/// change produced is moved after.
pub(super) fn with_entry_deferring(
    shared: &Arc<Shared>,
    sid: &str,
    f: impl FnOnce(&mut Entry, &mut Vec<Deferred>),
) {
    let Some(handle) = shared.handle.get() else {
        return;
    };
    let mut sessions = lock(&shared.sessions);
    let Some(entry) = sessions.get_mut(sid) else {
        return;
    };
    let mut deferred = spare::take();
    f(entry, &mut deferred);
    if has_output(entry) {
        let more = pump(shared, sid, entry, handle);
        deferred.extend(more);
    }
    if entry.engine.is_done() && entry.held.is_none() {
        sessions.remove(sid);
    }
    drop(sessions);
    run(deferred);
}

pub(super) fn run(mut deferred: Vec<Deferred>) {
    for work in deferred.drain(..) {
        match work {
            Deferred::Connection(handler, socket, auth) => handler(&socket, auth.as_ref()),
            Deferred::Raw(handler, socket, message) => handler(&socket, message),
            Deferred::Disconnect(handler, socket, reason) => handler(&socket, reason),
            Deferred::AckReply(callback, answer) => callback(answer),
            Deferred::Event(handler, socket, args, binary, ack) => {
                // The ack's socket is cloned only now: the deferred work
                // stays small to move.
                let ack = ack.map(|(id, direct)| Ack {
                    socket: socket.clone(),
                    id,
                    direct,
                });
                handler.get()(&socket, args, binary, ack)
            }
        }
    }
    spare::give_back(deferred);
}

/// Empty vectors for deferred work, kept per thread. A message's pump
/// defers its event's handler: a vector of its own would be allocated
/// (four `Deferred`s, about 1 KB) and freed for every message.
mod spare {
    use std::cell::RefCell;

    use super::Deferred;

    /// Enough for pumps inside handlers inside pumps.
    const KEPT: usize = 4;
    /// A vector that grew past this gives its storage back.
    const MAX_CAPACITY: usize = 16;

    thread_local! {
        static SPARE: RefCell<Vec<Vec<Deferred>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty vector, with storage when one was given back.
    pub(super) fn take() -> Vec<Deferred> {
        SPARE.with_borrow_mut(Vec::pop).unwrap_or_default()
    }

    /// Keeps `deferred`'s storage (it is emptied) for [`take`].
    pub(super) fn give_back(mut deferred: Vec<Deferred>) {
        deferred.clear();
        if deferred.capacity() == 0 || deferred.capacity() > MAX_CAPACITY {
            return;
        }
        SPARE.with_borrow_mut(|spare| {
            if spare.len() < KEPT {
                spare.push(deferred);
            }
        });
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn storage_is_reused_within_bounds() {
            // Whatever an earlier test on this thread left is taken first.
            while take().capacity() > 0 {}
            let mut kept = Vec::new();
            for _ in 0..KEPT + 2 {
                kept.push(Vec::<Deferred>::with_capacity(4));
            }
            let storage: Vec<_> = kept.iter().map(|v| v.as_ptr()).collect();
            kept.into_iter().for_each(give_back);
            // The last given back comes first, and only KEPT of them.
            for expected in storage[..KEPT].iter().rev() {
                let reused = take();
                assert!(reused.is_empty() && reused.capacity() == 4);
                assert_eq!(reused.as_ptr(), *expected);
            }
            assert_eq!(take().capacity(), 0, "none is left");
            give_back(Vec::with_capacity(MAX_CAPACITY + 1));
            assert_eq!(take().capacity(), 0, "a grown one is not kept");
        }
    }
}

/// Moves everything a session has to move: the engine's messages into the
/// Socket.IO client, its events to the application (deferred), its packets
/// into the engine, and the engine's output to the transports. Loops until
/// nothing is left to move (a pass that moved something may have left
/// work for an earlier step, as a client's close leaves the engine's).
pub(super) fn pump(
    shared: &Arc<Shared>,
    sid: &str,
    entry: &mut Entry,
    handle: &ServerHandle,
) -> Vec<Deferred> {
    let mut deferred = spare::take();
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
                    entry.closed_at = Some(Instant::now());
                    save_for_recovery(shared, entry, reason);
                    let joined: Vec<String> = entry
                        .members
                        .iter()
                        .map(|member| member.nsp.to_string())
                        .collect();
                    for nsp in joined {
                        entry.left(&nsp, reason.as_str(), &mut deferred);
                    }
                    for ack in entry.pending_acks.take_if(|_| true) {
                        deferred.push(Deferred::AckReply(
                            ack.callback,
                            Err(AckError::Disconnected),
                        ));
                    }
                }
            }
        }
        while let Some(event) = entry.client.as_mut().and_then(Client::poll_event) {
            moved = true;
            on_client_event(shared, sid, entry, event, &mut deferred);
        }
        moved |= entry.flush_client(Some(handle));
        if let Some(body) = entry.engine.take_poll_answer() {
            moved = true;
            if let Some(held) = entry.held.take() {
                handle.respond(held, polling_response(body, shared.config.cors));
            }
        }
        while let Some(packet) = entry.engine.poll_ws() {
            moved = true;
            let conn = match entry.engine.transport() {
                Transport::WebSocket => entry.ws,
                Transport::Polling => entry.probe,
            };
            if let Some(conn) = conn {
                let message = match packet.to_frame() {
                    Frame::Text(text) => OwnedMessage::Text(text),
                    Frame::Binary(data) => OwnedMessage::Binary(data.to_vec()),
                };
                super::direct::send(handle, conn, message);
            }
        }
        // A closed session's WebSockets close once what was queued before
        // the close (a kick's `41`) is sent; a probe the client is about to
        // finish stays for that.
        if let Some(reason) = entry.engine.closed() {
            let probe = if entry.engine.upgrading() {
                None
            } else {
                entry.probe.take()
            };
            for conn in [entry.ws.take(), probe].into_iter().flatten() {
                handle.close(conn, CloseCode::NORMAL, reason.as_str());
            }
        }
        if !moved || !has_output(entry) {
            return deferred;
        }
    }
}

/// Whether the session has anything for [`pump`] to move.
fn has_output(entry: &Entry) -> bool {
    entry.engine.has_output() || entry.client.as_ref().is_some_and(Client::has_output)
}

/// The socket a reconnecting client asks back (its `pid` and last
/// `offset` in the CONNECT's auth), with the events it missed.
fn recover(
    shared: &Shared,
    auth: Option<&Value>,
    nsp: &str,
) -> Option<(String, Saved, Vec<Logged>)> {
    let recovery = shared.recovery.as_ref()?;
    let pid = auth?.get("pid")?.as_str()?;
    let offset = auth?.get("offset")?.as_str()?;
    let (saved, missed) = lock(recovery).restore(pid, offset, nsp, Instant::now())?;
    Some((pid.to_owned(), saved, missed))
}

/// Saves the session's sockets for recovery when it ended for a reason a
/// client comes back from (not a kick: that left its namespace first).
fn save_for_recovery(shared: &Shared, entry: &Entry, reason: CloseReason) {
    let Some(recovery) = shared.recovery.as_ref() else {
        return;
    };
    if reason == CloseReason::ParseError {
        return;
    }
    let Some(client) = entry.client.as_ref() else {
        return;
    };
    let now = Instant::now();
    let mut recovery = lock(recovery);
    for (nsp, id) in client.namespaces() {
        let Some(member) = entry.member(&nsp) else {
            continue;
        };
        if let Some(pid) = &member.pid {
            let rooms = member.rooms.to_set();
            recovery.save(pid.to_string(), Saved::new(id, nsp, rooms, now));
        }
    }
}

/// With recovery on, gives an event its offset (the last argument) and
/// keeps it for sockets that may come back; the arguments to send.
pub(super) fn stamp(
    shared: &Shared,
    nsp: &str,
    to: Audience,
    event: &str,
    mut args: Vec<Value>,
    binary: &[Vec<u8>],
) -> Vec<Value> {
    let Some(recovery) = shared.recovery.as_ref() else {
        return args;
    };
    let mut recovery = lock(recovery);
    let offset = recovery.next_offset();
    args.push(Value::String(offset.to_string()));
    let at = Instant::now();
    recovery.record(Logged::new(at, offset, nsp, to, event, &args, binary));
    args
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

pub(super) fn on_client_event(
    shared: &Arc<Shared>,
    sid: &str,
    entry: &mut Entry,
    event: ClientEvent,
    deferred: &mut Vec<Deferred>,
) {
    let socket = |nsp: &str, id: &str, recovered: bool| Socket {
        shared: shared.clone(),
        session: sid.into(),
        nsp: nsp.into(),
        id: id.into(),
        recovered,
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
            let Some(namespace) = namespaces.get(&*nsp) else {
                client.refuse(&nsp, json!({"message": "Invalid namespace"}));
                return;
            };
            let recovered = recover(shared, auth.as_ref(), &nsp);
            let (id, member, recovered) = match recovered {
                Some((pid, saved, missed)) => {
                    client.accept_with_pid(&nsp, saved.id.clone(), Some(pid.clone()));
                    for logged in missed {
                        if let Some((event, args)) = logged.event() {
                            client.emit(&nsp, &event, args, logged.binary.into(), false);
                        }
                    }
                    let member = Member::new(&nsp, Some(pid), saved.rooms, auth.clone());
                    (saved.id, member, true)
                }
                None => {
                    let id = new_id();
                    let pid = shared.recovery.is_some().then(new_id);
                    client.accept_with_pid(&nsp, id.clone(), pid.clone());
                    let member = Member::new(&nsp, pid, HashSet::new(), auth.clone());
                    (id, member, false)
                }
            };
            entry.members.push(member);
            if let Some(handler) = &namespace.on_connection {
                deferred.push(Deferred::Connection(
                    handler.clone(),
                    socket(&nsp, &id, recovered),
                    auth,
                ));
            }
        }
        ClientEvent::Event {
            nsp,
            name,
            args,
            binary,
            ack,
        } => {
            let name = name.as_str();
            let mut members = entry.members.iter();
            let own = members.find(|member| super::same_nsp(&member.nsp, &nsp));
            let own = own.and_then(|member| {
                let found = member.handlers.iter().find(|(event, _)| event == name);
                found.map(|(_, handler)| HandlerRef::Own(handler.clone()))
            });
            let handler =
                own.or_else(|| event_table::find(shared, &nsp, name).map(HandlerRef::Shared));
            let (Some(handler), Some(id)) = (handler, client.sid(&nsp)) else {
                return;
            };
            let socket = socket(&nsp, id, false);
            // Taken here, under the lock: the session sends directly on
            // the WebSocket being served, if that is where the event came.
            let direct = entry.ws.filter(|_| entry.engine.sends_directly());
            let ack = ack.map(|id| (id, direct.and_then(super::direct::ticket)));
            deferred.push(Deferred::Event(handler, socket, args, binary, ack));
        }
        ClientEvent::Ack { nsp, id, data, .. } => {
            if let Some(ack) = entry.pending_acks.remove(&nsp, id) {
                deferred.push(Deferred::AckReply(ack.callback, Ok(data)));
            }
        }
        ClientEvent::Disconnect { nsp } => {
            entry.left(&nsp, "client namespace disconnect", deferred)
        }
        ClientEvent::Close(why) => {
            if let ClientClose::ParseError(why) = &why {
                log::debug!("socket.io session closed: {why}");
            }
            entry.engine.close();
        }
    }
}

/// How often the timer thread runs the sessions' deadlines.
const TIMER_TICK: Duration = Duration::from_millis(10);

/// Every this many ticks (100 ms), sessions give back the storage of
/// queues that hold nothing: most clients are idle most of the time, and
/// a burst of new clients should reuse what the ones before it freed.
const RELEASE_EVERY: u32 = 10;

/// After this many sessions gave their queues back, the heap is trimmed.
const TRIM_AFTER: usize = 1024;

pub(super) fn run_timers(shared: &Arc<Shared>) {
    let handle = shared.handle.get().expect("set before the thread starts");
    let mut ticks = 0u32;
    let mut released = 0;
    while !handle.is_shutting_down() {
        std::thread::sleep(TIMER_TICK);
        ticks = ticks.wrapping_add(1);
        let release = ticks.is_multiple_of(RELEASE_EVERY);
        let now = Instant::now();
        let mut deferred = Vec::new();
        let mut sessions = lock(&shared.sessions);
        for (sid, entry) in sessions.iter_mut() {
            let sid = &*sid;
            if release && entry.release_idle_buffers() {
                released += 1;
            }
            if entry.next_deadline().is_some_and(|at| at <= now) {
                entry.engine.handle_timeout(now);
                if let Some(client) = entry.client.as_mut() {
                    client.handle_timeout(now);
                }
                entry.expire_acks(now, &mut deferred);
                deferred.extend(pump(shared, sid, entry, handle));
            }
        }
        #[cfg(feature = "redis")]
        if let Some(adapter) = shared.adapter.get() {
            adapter.expire(now);
        }
        // A closed session waits at most one heartbeat for its last GET.
        let grace = shared.config.engine.ping_interval + shared.config.engine.ping_timeout;
        sessions.retain(|entry| match entry.closed_at {
            None => true,
            Some(at) => !entry.engine.is_done() && now.duration_since(at) < grace,
        });
        drop(sessions);
        run(deferred);
        if released >= TRIM_AFTER {
            // A burst of clients has gone quiet: the room their queues
            // and the engine's buffers took goes back to the system.
            released = 0;
            crate::net::give_back_free_memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_handler_does_not_keep_its_server_alive() {
        let io = SocketIo::new(SocketIoConfig::default());
        let socket = Socket {
            shared: io.shared.clone(),
            session: "s".repeat(20).into(),
            nsp: "/chat".into(),
            id: "i".repeat(20).into(),
            recovered: false,
        };
        let strong = Arc::strong_count(&io.shared);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let handler: DisconnectHandler = Arc::new(move |socket: &Socket, reason: &str| {
            record
                .lock()
                .unwrap()
                .push(format!("{} {}", socket.nsp, reason));
        });
        let call = OnDisconnect::new(handler.clone(), &socket);
        assert_eq!(
            Arc::strong_count(&io.shared),
            strong,
            "the record holds the server"
        );
        // While the server is there, the handler gets the socket back whole.
        run(vec![call.deferred("client namespace disconnect").unwrap()]);
        assert_eq!(*seen.lock().unwrap(), ["/chat client namespace disconnect"]);
        // Once it is gone, the handler is not called.
        let call = OnDisconnect::new(handler, &socket);
        drop((io, socket));
        assert!(call.deferred("server shutting down").is_none());
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn pending_acks_are_found_by_namespace_and_id_and_expire() {
        let now = Instant::now();
        let ack = |secs| PendingAck {
            deadline: now + Duration::from_secs(secs),
            callback: Box::new(|_| {}),
        };
        let mut acks = PendingAcks::default();
        acks.insert("/", 0, ack(1));
        acks.insert("/chat", 0, ack(5));
        acks.insert("/", 1, ack(3));
        assert!(acks.remove("/", 2).is_none());
        let chat = acks.remove("/chat", 0).expect("its own namespace's 0");
        assert_eq!(chat.deadline, now + Duration::from_secs(5));
        let expired = acks.take_if(|ack| ack.deadline <= now + Duration::from_secs(2));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].deadline, now + Duration::from_secs(1));
        assert!(acks.remove("/", 0).is_none(), "taken");
        assert!(acks.remove("/", 1).is_some());
        assert!(acks.take_if(|_| true).is_empty());
    }
}
