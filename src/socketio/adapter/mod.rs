//! Socket.IO across processes (features `socketio` and `redis`): rooms and
//! broadcasts shared through Redis with every other simdws server *and*
//! every Node `socket.io` server running `@socket.io/redis-adapter` 8.3 on
//! the same Redis, in that adapter's wire format ([`wire`]).
//!
//! * A broadcast that is not [`local`](crate::socketio::Broadcast::local)
//!   is delivered here at once and published for the other servers, which
//!   deliver it to their sockets; each server drops its own.
//! * Requests from other servers are answered: the sockets and rooms held
//!   here (`allSockets`, `allRooms`, `fetchSockets`), joins, leaves and
//!   disconnects of sockets held here, and broadcasts that want acks (the
//!   count of clients reached, then each ack).
//! * Server-side events go both ways: [`SocketIo::server_side_emit`]
//!   publishes one as Node's `serverSideEmit` does, and
//!   [`SocketIo::server_side_emit_with_ack`] collects the other servers'
//!   answers (from the response channel, which each server also
//!   subscribes to). One from any server runs the handler of
//!   [`SocketIo::on_server_event`], whose ack answers Node's
//!   `serverSideEmitWithAck`.
//! * This server is counted in Node's `serverCount()` (subscribers of the
//!   request channel), and [`SocketIo::server_count`] counts the same way.
//!
//! The link runs on its own threads ([`crate::cluster`]'s), with the same
//! backoff and the same at-most-once delivery while Redis is away as plain
//! topics; what it relays and receives is counted in
//! [`ServerHandle::relay_stats`].

mod wire;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use redis::{Client, PubSub, RedisResult};
use serde_json::{json, Value};

use super::server::{lock, new_id, ServerEventHandler, Shared, SocketIo};
use super::socket::{Broadcast, Socket};
use crate::cluster::{link, Listener, Outbox};
use crate::net::ServerHandle;

/// Node's `requestsTimeout`, used when a broadcast wanting acks names no
/// timeout.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const COUNT_TIMEOUT: Duration = Duration::from_secs(1);

/// Node's request types (`RequestType` in the adapter).
mod request {
    pub const SOCKETS: u64 = 0;
    pub const ALL_ROOMS: u64 = 1;
    pub const REMOTE_JOIN: u64 = 2;
    pub const REMOTE_LEAVE: u64 = 3;
    pub const REMOTE_DISCONNECT: u64 = 4;
    pub const REMOTE_FETCH: u64 = 5;
    pub const SERVER_SIDE_EMIT: u64 = 6;
    pub const BROADCAST: u64 = 7;
    pub const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub const BROADCAST_ACK: u64 = 9;
}

/// This server's end of the link.
pub(super) struct Adapter {
    /// This server's id on the wire; its own publishes come back with it.
    uid: String,
    outbox: Outbox,
    client: Client,
    /// This server's server-side events waiting for the others' answers,
    /// by request id.
    asked: Mutex<HashMap<String, Asked>>,
    /// Server-side events with acks waiting for the other servers to be
    /// counted, on the asker thread (started on the first).
    asker: OnceLock<SyncSender<Ask>>,
}

/// How many server-side events with acks may wait to be counted and sent.
const ASK_QUEUE: usize = 1024;

/// A server-side event with acks, before the servers are counted.
struct Ask {
    nsp: String,
    event: String,
    args: Vec<Value>,
    deadline: Instant,
    callback: AnswersCallback,
}

/// What runs with the answers to a server-side event: all of them, or
/// (`Err`) those that came before the timeout.
type AnswersCallback = Box<dyn FnOnce(Result<Vec<Value>, Vec<Value>>) + Send>;

/// A server-side event of ours waiting for answers.
struct Asked {
    expected: usize,
    answers: Vec<Value>,
    deadline: Instant,
    callback: AnswersCallback,
}

impl Adapter {
    /// Publishes a broadcast made here for the other servers.
    pub(super) fn publish(
        &self,
        nsp: &str,
        rooms: &[String],
        except: Vec<String>,
        event: &str,
        args: &[Value],
        binary: &[Vec<u8>],
    ) {
        let broadcast = wire::Broadcast {
            uid: self.uid.clone(),
            nsp: nsp.to_owned(),
            event: event.to_owned(),
            args: args.to_vec(),
            binary: binary.to_vec(),
            rooms: rooms.to_vec(),
            except,
        };
        let channel = wire::broadcast_channel(nsp, rooms);
        self.outbox.publish(channel, broadcast.encode());
    }

    fn respond(&self, nsp: &str, payload: Vec<u8>) {
        self.outbox.publish(wire::response_channel(nsp), payload);
    }

    /// Publishes a server-side event for the other servers; with
    /// `request_id`, they answer it.
    fn server_side_emit(&self, nsp: &str, event: &str, args: &[Value], request_id: Option<&str>) {
        let mut data = vec![Value::String(event.to_owned())];
        data.extend_from_slice(args);
        let mut request = json!({"uid": self.uid, "type": request::SERVER_SIDE_EMIT, "data": data});
        if let Some(id) = request_id {
            request["requestId"] = json!(id);
        }
        let channel = wire::request_channel(nsp);
        self.outbox
            .publish(channel, request.to_string().into_bytes());
    }

    /// Hands `ask` to the asker thread, which counts the other servers (a
    /// round trip to Redis that may take up to `COUNT_TIMEOUT`) and sends
    /// it: the caller, often a worker's handler, does not wait. With
    /// `ASK_QUEUE` asks already waiting, `ask` gets no answers at once.
    fn ask(&self, shared: &Arc<Shared>, ask: Ask) {
        let asker = self
            .asker
            .get_or_init(|| start_asker(Arc::downgrade(shared)));
        if let Err(TrySendError::Full(ask) | TrySendError::Disconnected(ask)) = asker.try_send(ask)
        {
            log::warn!(
                "socket.io redis: {ASK_QUEUE} server-side events wait to be sent; \
                 '{}' gets no answers",
                ask.event
            );
            (ask.callback)(Err(Vec::new()));
        }
    }

    /// Another server's answer to one of our server-side events.
    fn on_answer(&self, answer: &Value) {
        let Some(id) = answer["requestId"].as_str() else {
            return;
        };
        let mut asked = lock(&self.asked);
        let Some(waiting) = asked.get_mut(id) else {
            return; // an answer to another server, or too late
        };
        waiting.answers.push(answer["data"].clone());
        if waiting.answers.len() < waiting.expected {
            return;
        }
        if let Some(done) = asked.remove(id) {
            drop(asked);
            (done.callback)(Ok(done.answers));
        }
    }

    /// Gives up on what was not answered by `now`.
    pub(super) fn expire(&self, now: Instant) {
        let expired: Vec<Asked> = {
            let mut asked = lock(&self.asked);
            let ids: Vec<String> = (asked.iter())
                .filter(|(_, waiting)| waiting.deadline <= now)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| asked.remove(id)).collect()
        };
        for waiting in expired {
            (waiting.callback)(Err(waiting.answers));
        }
    }
}

/// The answer to another server's server-side event that asked for one
/// (Node's `serverSideEmitWithAck`): one value, sent once.
pub struct ServerAck {
    shared: Arc<Shared>,
    nsp: String,
    request_id: Value,
}

impl ServerAck {
    /// Answers with `value`.
    pub fn send(self, value: Value) {
        let Some(adapter) = self.shared.adapter.get() else {
            return;
        };
        let answer = json!({
            "type": request::SERVER_SIDE_EMIT,
            "requestId": self.request_id,
            "data": value,
        });
        adapter.respond(&self.nsp, answer.to_string().into_bytes());
    }
}

/// Links the Socket.IO server to the Redis at `url`.
pub(super) fn attach(shared: &Arc<Shared>, handle: &ServerHandle, url: &str) -> Result<(), String> {
    let client = Client::open(url).map_err(|e| format!("{url}: {e}"))?;
    let uid = new_id();
    let listener = AdapterListener {
        shared: shared.clone(),
        uid: uid.clone(),
        handle: handle.clone(),
        subscribed: HashSet::new(),
    };
    let outbox =
        link("socketio-redis", client.clone(), handle, listener).map_err(|e| e.to_string())?;
    let adapter = Adapter {
        uid,
        outbox,
        client,
        asked: Mutex::new(HashMap::new()),
        asker: OnceLock::new(),
    };
    shared
        .adapter
        .set(adapter)
        .map_err(|_| "this Socket.IO server is already linked to Redis".to_owned())
}

impl SocketIo {
    /// Handles the server-side event `event` of namespace `nsp` that
    /// another server emits (Node's `io.serverSideEmit(event, ...args)`, or
    /// [`SocketIo::server_side_emit`] on another simdws server). When the
    /// sender asked for answers (`serverSideEmitWithAck`), the handler
    /// gets a [`ServerAck`] for this server's one answer.
    pub fn on_server_event(
        &self,
        nsp: &str,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<ServerAck>) + Send + Sync + 'static,
    ) {
        let handler: ServerEventHandler = Arc::new(handler);
        self.shared.edit_namespace(nsp, |namespace| {
            namespace.server_events.insert(event.to_owned(), handler);
        });
    }

    /// Emits `event` with `args` to every other server on the Redis
    /// (Node's `serverSideEmit`, without an ack); false when not linked.
    /// It does not reach this server's own handler, as in Node.
    pub fn server_side_emit(&self, nsp: &str, event: &str, args: Vec<Value>) -> bool {
        let Some(adapter) = self.shared.adapter.get() else {
            return false;
        };
        adapter.server_side_emit(nsp, event, &args, None);
        true
    }

    /// Emits `event` with `args` to every other server on the Redis and
    /// collects their answers (Node's `serverSideEmitWithAck`): `on_answers`
    /// runs with one answer per other server, or, when `timeout` passes
    /// first, with `Err` holding those that came. The other servers are
    /// counted first, as Node does, on the adapter's own thread: the call
    /// returns at once. Not linked, there is no other server: `on_answers`
    /// runs at once with none, and it returns false.
    pub fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        on_answers: impl FnOnce(Result<Vec<Value>, Vec<Value>>) + Send + 'static,
    ) -> bool {
        let Some(adapter) = self.shared.adapter.get() else {
            on_answers(Ok(Vec::new()));
            return false;
        };
        let ask = Ask {
            nsp: nsp.to_owned(),
            event: event.to_owned(),
            args,
            deadline: Instant::now() + timeout,
            callback: Box::new(on_answers),
        };
        adapter.ask(&self.shared, ask);
        true
    }

    /// How many servers serve namespace `nsp` through Redis, this one
    /// included, Node's among them (as Node's `serverCount()`, a `PUBSUB
    /// NUMSUB` on the request channel); 1 when not linked to Redis.
    /// Blocks for one round trip to Redis (at most a second).
    pub fn server_count(&self, nsp: &str) -> Result<usize, String> {
        let Some(adapter) = self.shared.adapter.get() else {
            return Ok(1);
        };
        let mut conn = adapter
            .client
            .get_connection_with_timeout(COUNT_TIMEOUT)
            .map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(COUNT_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let (_, count): (String, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(wire::request_channel(nsp))
            .query(&mut conn)
            .map_err(|e| e.to_string())?;
        Ok(count)
    }
}

/// The asker thread: counts the other servers for each server-side event
/// with acks, then sends it. Ends with the adapter, whose end of the
/// channel goes with it; holds the server only while it works on an ask.
fn start_asker(shared: Weak<Shared>) -> SyncSender<Ask> {
    let (asks, queue) = sync_channel::<Ask>(ASK_QUEUE);
    let spawned = std::thread::Builder::new()
        .name("socketio-asker".into())
        .spawn(move || {
            for ask in queue {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                send_ask(SocketIo { shared }, ask);
            }
        });
    if let Err(e) = spawned {
        log::error!("socket.io redis: no asker thread ({e}); server-side acks get no answers");
    }
    asks
}

fn send_ask(io: SocketIo, ask: Ask) {
    let others = match io.server_count(&ask.nsp) {
        Ok(count) => count.saturating_sub(1),
        Err(why) => {
            log::warn!("socket.io redis: servers not counted ({why}); waiting for none");
            0
        }
    };
    let Some(adapter) = io.shared.adapter.get().filter(|_| others > 0) else {
        (ask.callback)(Ok(Vec::new()));
        return;
    };
    let id = new_id();
    let asked = Asked {
        expected: others,
        answers: Vec::new(),
        deadline: ask.deadline,
        callback: ask.callback,
    };
    lock(&adapter.asked).insert(id.clone(), asked);
    adapter.server_side_emit(&ask.nsp, &ask.event, &ask.args, Some(&id));
}

/// Hands the other servers' broadcasts and requests to this one.
struct AdapterListener {
    shared: Arc<Shared>,
    uid: String,
    handle: ServerHandle,
    /// The namespaces whose request channel this connection subscribed to.
    subscribed: HashSet<String>,
}

impl Listener for AdapterListener {
    fn subscribe(&mut self, pubsub: &mut PubSub<'_>, fresh: bool) -> RedisResult<()> {
        if fresh {
            pubsub.psubscribe(wire::broadcast_pattern())?;
            self.subscribed.clear();
        }
        // Namespaces added since: each gets its request channel, which is
        // also how servers are counted.
        let namespaces: Vec<String> = {
            let served = self.shared.namespaces.read();
            let served = served.unwrap_or_else(PoisonError::into_inner);
            let new = served.keys().filter(|nsp| !self.subscribed.contains(*nsp));
            new.cloned().collect()
        };
        for nsp in namespaces {
            pubsub.subscribe(wire::request_channel(&nsp))?;
            // Where the answers to our own server-side events come.
            pubsub.subscribe(wire::response_channel(&nsp))?;
            self.subscribed.insert(nsp);
        }
        Ok(())
    }

    fn on_message(&mut self, channel: &str, payload: &[u8]) {
        match wire::parse_channel(channel) {
            Some(wire::Channel::Broadcast { nsp, .. }) => self.on_broadcast(nsp, payload),
            Some(wire::Channel::Request { nsp }) => self.on_request(nsp, payload),
            Some(wire::Channel::Response { .. }) => self.on_response(payload),
            None => log::debug!("socket.io redis: a stranger's channel {channel}"),
        }
    }
}

impl AdapterListener {
    fn serves(&self, nsp: &str) -> bool {
        let served = self.shared.namespaces.read();
        served
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(nsp)
    }

    /// Another server's broadcast, delivered to the sockets here it names.
    fn on_broadcast(&self, nsp: &str, payload: &[u8]) {
        let broadcast = match wire::Broadcast::decode(payload) {
            Ok(broadcast) => broadcast,
            Err(why) => return log::debug!("socket.io redis: a broadcast refused: {why}"),
        };
        if broadcast.uid == self.uid || broadcast.nsp != nsp || !self.serves(nsp) {
            return;
        }
        self.handle.relay_counts().received();
        let wire::Broadcast {
            event,
            args,
            binary,
            rooms,
            except,
            ..
        } = broadcast;
        audience(&self.shared, nsp, rooms, except)
            .local()
            .emit_binary(&event, args, binary);
    }

    /// Another server's request; those about sockets held here are
    /// answered on the response channel.
    fn on_request(&self, nsp: &str, payload: &[u8]) {
        let (request, binary) = match wire::decode_request(payload) {
            Ok(request) => request,
            Err(why) => return log::debug!("socket.io redis: a request refused: {why}"),
        };
        if request["uid"].as_str() == Some(&self.uid) || !self.serves(nsp) {
            return;
        }
        let Some(adapter) = self.shared.adapter.get() else {
            return;
        };
        let id = request["requestId"].clone();
        let respond = |answer: Value| adapter.respond(nsp, answer.to_string().into_bytes());
        let options = |key: &str| strings(&request["opts"][key]);
        let chosen = || audience(&self.shared, nsp, options("rooms"), options("except"));
        // One socket, by id (every socket is in the room of its own id).
        let by_id = || match request["sid"].as_str() {
            Some(sid) => audience(&self.shared, nsp, vec![sid.to_owned()], Vec::new()).sockets(),
            None => Vec::new(),
        };
        let rooms = strings(&request["rooms"]);
        let kind = request["type"].as_u64();
        match kind {
            Some(request::SOCKETS) => {
                let sockets = audience(&self.shared, nsp, rooms, Vec::new()).sockets();
                let ids: Vec<&str> = sockets.iter().map(Socket::id).collect();
                respond(json!({"requestId": id, "sockets": ids}));
            }
            Some(request::ALL_ROOMS) => {
                let rooms = all_rooms(&self.shared, nsp);
                respond(json!({"requestId": id, "rooms": rooms}));
            }
            Some(request::REMOTE_JOIN | request::REMOTE_LEAVE | request::REMOTE_DISCONNECT) => {
                // Sockets chosen by rooms (no answer), or one socket by id.
                if request["opts"].is_object() {
                    for socket in chosen().sockets() {
                        apply(&socket, kind, &rooms, &request);
                    }
                    return;
                }
                let room = request["room"].as_str().map(str::to_owned);
                let sockets = by_id();
                for socket in &sockets {
                    apply(socket, kind, room.as_slice(), &request);
                }
                if !sockets.is_empty() {
                    respond(json!({"requestId": id}));
                }
            }
            Some(request::REMOTE_FETCH) => {
                let sockets: Vec<Value> = chosen().sockets().iter().map(describe).collect();
                respond(json!({"requestId": id, "sockets": sockets}));
            }
            Some(request::BROADCAST) => self.broadcast_with_acks(nsp, &request, binary),
            Some(request::SERVER_SIDE_EMIT) => self.server_event(nsp, &request),
            _ => log::debug!("socket.io redis: request type {kind:?} not served"),
        }
    }

    /// An answer to some server's request: ours are server-side events
    /// (JSON; answers to broadcasts with acks may be msgpack, and are for
    /// whoever asked).
    fn on_response(&self, payload: &[u8]) {
        let Ok(answer) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        if answer["type"].as_u64() != Some(request::SERVER_SIDE_EMIT) {
            return;
        }
        if let Some(adapter) = self.shared.adapter.get() {
            adapter.on_answer(&answer);
        }
    }

    /// Another server's server-side event: its handler here runs, with an
    /// ack when the sender asked for answers.
    fn server_event(&self, nsp: &str, request: &Value) {
        let Some([Value::String(event), args @ ..]) = request["data"].as_array().map(Vec::as_slice)
        else {
            return log::debug!("socket.io redis: a server-side event without a name");
        };
        let handler = {
            let namespaces = self.shared.namespaces.read();
            let namespaces = namespaces.unwrap_or_else(PoisonError::into_inner);
            namespaces
                .get(nsp)
                .and_then(|n| n.server_events.get(event).cloned())
        };
        let Some(handler) = handler else {
            return log::debug!("socket.io redis: no handler for server-side event {event:?}");
        };
        let ack = (!request["requestId"].is_null()).then(|| ServerAck {
            shared: self.shared.clone(),
            nsp: nsp.to_owned(),
            request_id: request["requestId"].clone(),
        });
        handler(args.to_vec(), ack);
    }

    /// A broadcast that wants each client's ack: the count of clients it
    /// reached goes back at once, then each ack as it comes.
    fn broadcast_with_acks(&self, nsp: &str, request: &Value, binary: Vec<Vec<u8>>) {
        let Some(adapter) = self.shared.adapter.get() else {
            return;
        };
        let Some(Value::Array(data)) = request["packet"].get("data") else {
            return;
        };
        let Some((Value::String(event), args)) = data.split_first() else {
            return;
        };
        let id = request["requestId"].clone();
        let timeout = request["opts"]["flags"]["timeout"]
            .as_u64()
            .map_or(ACK_TIMEOUT, Duration::from_millis);
        let strings_of = |key: &str| strings(&request["opts"][key]);
        let chosen = audience(&self.shared, nsp, strings_of("rooms"), strings_of("except"));
        let mut reached = 0;
        for socket in chosen.sockets() {
            let (adapter_nsp, id) = (nsp.to_owned(), id.clone());
            let shared = self.shared.clone();
            let sent = socket.emit_binary_with_ack(
                event,
                args.to_vec(),
                binary.clone(),
                timeout,
                move |answer| {
                    let (Ok(args), Some(adapter)) = (answer, shared.adapter.get()) else {
                        return;
                    };
                    let first = args.into_iter().next().unwrap_or(Value::Null);
                    let ack =
                        json!({"type": request::BROADCAST_ACK, "requestId": id, "packet": first});
                    adapter.respond(&adapter_nsp, wire::encode_response(&ack, &[]));
                },
            );
            reached += usize::from(sent);
        }
        let count = json!({"type": request::BROADCAST_CLIENT_COUNT, "requestId": id, "clientCount": reached});
        adapter.respond(nsp, count.to_string().into_bytes());
    }
}

/// Joins, leaves or disconnects `socket`, as request `kind` says.
fn apply(socket: &Socket, kind: Option<u64>, rooms: &[String], request: &Value) {
    match kind {
        Some(request::REMOTE_JOIN) => rooms.iter().for_each(|room| socket.join(room)),
        Some(request::REMOTE_LEAVE) => rooms.iter().for_each(|room| socket.leave(room)),
        _ => socket.disconnect(request["close"].as_bool().unwrap_or(false)),
    }
}

/// The sockets of `nsp` here in any of `rooms` (all, when none) and in
/// none of `except`.
fn audience(shared: &Arc<Shared>, nsp: &str, rooms: Vec<String>, except: Vec<String>) -> Broadcast {
    let mut broadcast = Broadcast::new(shared.clone(), nsp);
    broadcast.rooms = rooms;
    broadcast.except = except;
    broadcast
}

/// Every room of `nsp` held here, each socket's own among them (as Node's
/// `adapter.rooms`).
fn all_rooms(shared: &Shared, nsp: &str) -> BTreeSet<String> {
    let sessions = lock(&shared.sessions);
    let mut rooms = BTreeSet::new();
    for (_, entry) in sessions.iter() {
        if let Some(id) = entry.client.as_ref().and_then(|c| c.sid(nsp)) {
            rooms.insert(id.to_owned());
            let member = entry.member(nsp);
            rooms.extend(
                member
                    .into_iter()
                    .flat_map(|member| member.rooms.iter().cloned()),
            );
        }
    }
    rooms
}

/// A socket as Node's `fetchSockets` describes it: id, handshake, rooms
/// (its own id's first) and data.
fn describe(socket: &Socket) -> Value {
    let mut rooms = vec![socket.id().to_owned()];
    rooms.extend(socket.rooms());
    json!({
        "id": socket.id(),
        "handshake": {"query": socket.query_pairs(), "auth": {}},
        "rooms": rooms,
        "data": {},
    })
}

fn strings(value: &Value) -> Vec<String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}
