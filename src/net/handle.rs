//! Reaching connections from outside their worker: a cloneable, `Send`
//! [`ServerHandle`] queues commands for a worker and wakes it with its
//! `mio::Waker`. Only this path takes a lock; the per-message path does not.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

use super::handler::{HttpResponse, RequestId};
use super::topics::Publish;
use crate::frame::CloseCode;
use crate::protocol::PreparedMessage;

/// Identifies a connection across the server.
///
/// An accepted connection's id holds its worker, slab slot and a
/// generation, so a reused slot never receives another connection's mail.
/// A dialed one's ([`ServerHandle::connect`]) holds its worker and a ticket
/// the handle drew, so it is known before the worker gives it a slot.
///
/// Never zero (a bit says whether it was accepted or dialed), so an
/// `Option<ConnId>` is as small as a `ConnId`: the Socket.IO session table
/// holds three per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(NonZeroU64);

/// Bit set in the ids of dialed connections.
const DIALED: u64 = 1 << 55;
/// Bit set in the ids of accepted connections.
const ACCEPTED: u64 = 1 << 54;
/// The generation's bits (below `ACCEPTED`).
const GENERATION: u64 = 0x3F_FFFF;

impl ConnId {
    pub(crate) fn new(worker: usize, generation: u32, slot: usize) -> Self {
        ConnId::from_bits(
            (worker as u64) << 56
                | ACCEPTED
                | ((generation as u64) & GENERATION) << 32
                | slot as u64 & 0xFFFF_FFFF,
        )
    }

    fn from_bits(bits: u64) -> Self {
        ConnId(NonZeroU64::new(bits).expect("ACCEPTED or DIALED is set"))
    }

    fn bits(self) -> u64 {
        self.0.get()
    }

    /// The id of a connection dialed on `worker`, by its ticket.
    pub(crate) fn dialed(worker: usize, ticket: u32) -> Self {
        ConnId::from_bits((worker as u64) << 56 | DIALED | u64::from(ticket))
    }

    /// The ticket of a dialed connection.
    pub(crate) fn ticket(self) -> Option<u32> {
        (self.bits() & DIALED != 0).then_some(self.bits() as u32)
    }

    pub(crate) fn worker(self) -> usize {
        (self.bits() >> 56) as usize
    }

    pub(crate) fn generation(self) -> u32 {
        ((self.bits() >> 32) & GENERATION) as u32
    }

    pub(crate) fn slot(self) -> usize {
        (self.bits() & 0xFFFF_FFFF) as usize
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ticket() {
            Some(ticket) => write!(f, "{}:dial{ticket}", self.worker()),
            None => write!(f, "{}:{}:{}", self.worker(), self.slot(), self.generation()),
        }
    }
}

/// An owned message, for sending from another thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// Work for a worker, delivered through its mailbox.
pub(crate) enum Command {
    Send(ConnId, Arc<OwnedMessage>),
    /// One message, framed once, for several connections of the worker.
    SendMany(Vec<ConnId>, Arc<PreparedMessage>),
    Broadcast(Arc<OwnedMessage>),
    Close(ConnId, CloseCode, String),
    /// A topic's publish, for this worker's subscribers.
    Publish(Publish),
    /// The held answer to a plain HTTP request.
    Respond(RequestId, Box<HttpResponse>),
    /// A piece of a streamed response body; `end` finishes it.
    Body {
        id: RequestId,
        piece: Vec<u8>,
        end: bool,
    },
    /// A stream an embedder accepted: `read` holds bytes it already read;
    /// `upgraded` says whether it already answered the handshake.
    Adopt {
        stream: std::net::TcpStream,
        read: Vec<u8>,
        upgraded: bool,
    },
    /// Open a client connection to `addr` (already resolved, off the loop).
    Connect {
        id: ConnId,
        addr: std::net::SocketAddr,
        url: super::client::WsUrl,
        options: Box<super::client::ClientOptions>,
    },
    Shutdown,
}

impl Command {
    /// The bytes this command keeps waiting: its message, and the list of
    /// connections it goes to. 0 for the commands that are never refused.
    fn message_bytes(&self) -> usize {
        let len = |m: &OwnedMessage| match m {
            OwnedMessage::Text(t) => t.len(),
            OwnedMessage::Binary(b) => b.len(),
        };
        match self {
            Command::Send(_, m) | Command::Broadcast(m) => len(m).max(1),
            Command::SendMany(ids, m) => {
                m.payload().len() + ids.len() * std::mem::size_of::<ConnId>()
            }
            Command::Publish(p) => p.message.payload().len().max(1),
            _ => 0,
        }
    }
}

/// A worker's waiting commands, and the message bytes among them.
#[derive(Default)]
pub(crate) struct Queue {
    pub commands: Vec<Command>,
    pub message_bytes: usize,
}

pub(crate) struct Mailbox {
    pub queue: Mutex<Queue>,
    /// Whether `queue` holds commands: set with the first one pushed, and
    /// cleared when the worker takes them, both under `queue`'s lock. Read
    /// without it ([`ServerHandle::mailbox_is_empty`], asked for every reply
    /// a handler writes itself): a plain load instead of a lock.
    pub pending: AtomicBool,
    pub waker: Waker,
    /// The worker's open connections, and how many of them rest, as of its
    /// latest timer sweep.
    pub open: AtomicUsize,
    pub resting: AtomicUsize,
    /// Topics with subscribers here, and their subscriptions.
    pub topics: AtomicUsize,
    pub subscriptions: AtomicUsize,
    /// Publishes this worker's slow subscribers missed.
    pub dropped: AtomicU64,
    /// Messages refused because the mailbox held `limit` bytes.
    pub refused: AtomicU64,
    /// `ServerConfig::mailbox_limit`.
    pub limit: usize,
}

impl Mailbox {
    pub fn new(waker: Waker, limit: usize) -> Self {
        Mailbox {
            queue: Mutex::new(Queue::default()),
            pending: AtomicBool::new(false),
            waker,
            open: AtomicUsize::new(0),
            resting: AtomicUsize::new(0),
            topics: AtomicUsize::new(0),
            subscriptions: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            limit,
        }
    }
}

/// Connection and subscription counts, summed over the workers as of their
/// latest timer sweep (a tick old at most), and dropped publishes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// WebSocket connections open.
    pub open: usize,
    /// Of those, the ones at rest: idle for a whole tick with nothing in
    /// flight, held in a few dozen bytes (see `protocol::RestingConnection`).
    pub resting: usize,
    /// Topics with subscribers, counted once per worker they have
    /// subscribers on.
    pub topics: usize,
    /// Subscriptions: a connection subscribed to three topics counts three.
    pub subscriptions: usize,
    /// Publishes a subscriber missed because it was slow
    /// ([`crate::net::SlowSubscriber::Drop`]), since the server started.
    pub publishes_dropped: u64,
    /// Messages from other threads (`ServerHandle::send`, `send_shared`,
    /// `send_many`, `broadcast`, `publish`) refused since the server
    /// started because their worker's mailbox already held
    /// [`ServerConfig::mailbox_limit`](super::ServerConfig::mailbox_limit)
    /// bytes.
    pub mailbox_refused: u64,
}

/// Where a publish goes besides this process's workers: the Redis bridge
/// ([`crate::cluster`]).
#[cfg(feature = "redis")]
pub(crate) type Relay = Box<dyn Fn(&Arc<str>, &Arc<PreparedMessage>) + Send + Sync>;

/// What the Redis bridge did, counted.
#[cfg(feature = "redis")]
#[derive(Default)]
pub(crate) struct RelayCounts {
    relayed: AtomicU64,
    not_relayed: AtomicU64,
    received: AtomicU64,
}

#[cfg(feature = "redis")]
impl RelayCounts {
    pub fn relayed(&self) {
        self.relayed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn not_relayed(&self) {
        self.not_relayed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Relayed, not relayed, received.
    pub fn get(&self) -> (u64, u64, u64) {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        (
            get(&self.relayed),
            get(&self.not_relayed),
            get(&self.received),
        )
    }
}

struct Shared {
    mailboxes: Vec<Mailbox>,
    #[cfg(feature = "redis")]
    relay: std::sync::OnceLock<Relay>,
    #[cfg(feature = "redis")]
    relay_counts: Arc<RelayCounts>,
    shutting_down: AtomicBool,
    next_adopter: AtomicUsize,
    /// Tickets for dialed connections' ids.
    next_ticket: AtomicU32,
}

/// Send to a connection, broadcast, close, adopt a stream or shut down, from
/// any thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("workers", &self.shared.mailboxes.len())
            .finish()
    }
}

impl ServerHandle {
    pub(crate) fn new(mailboxes: Vec<Mailbox>) -> Self {
        ServerHandle {
            shared: Arc::new(Shared {
                mailboxes,
                shutting_down: AtomicBool::new(false),
                next_adopter: AtomicUsize::new(0),
                next_ticket: AtomicU32::new(0),
                #[cfg(feature = "redis")]
                relay: std::sync::OnceLock::new(),
                #[cfg(feature = "redis")]
                relay_counts: Arc::default(),
            }),
        }
    }

    pub(crate) fn mailbox(&self, worker: usize) -> &Mailbox {
        &self.shared.mailboxes[worker]
    }

    fn post(&self, worker: usize, command: Command) {
        let Some(mailbox) = self.shared.mailboxes.get(worker) else {
            return;
        };
        let bytes = command.message_bytes();
        let was_empty = {
            let mut queue = mailbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            if bytes > 0 && queue.message_bytes + bytes > mailbox.limit {
                drop(queue);
                if mailbox.refused.fetch_add(1, Ordering::Relaxed) == 0 {
                    log::warn!(
                        "worker {worker}: mailbox full ({} bytes waiting), refusing \
                         messages (counted in ServerStats::mailbox_refused)",
                        mailbox.limit
                    );
                }
                return;
            }
            let was_empty = queue.commands.is_empty();
            queue.message_bytes += bytes;
            queue.commands.push(command);
            mailbox.pending.store(true, Ordering::Release);
            was_empty
        };
        if was_empty {
            // A worker drains the whole queue per wake, so one wake per batch.
            if let Err(e) = mailbox.waker.wake() {
                log::error!("waking worker {worker}: {e}");
            }
        }
    }

    /// Whether nothing waits in `worker`'s mailbox: a message its own
    /// thread writes at once cannot overtake one queued before it.
    #[cfg(feature = "socketio")]
    pub(crate) fn mailbox_is_empty(&self, worker: usize) -> bool {
        self.shared
            .mailboxes
            .get(worker)
            .is_some_and(|mailbox| !mailbox.pending.load(Ordering::Acquire))
    }

    /// Queues a message for one connection (dropped if it has closed).
    pub fn send(&self, id: ConnId, message: OwnedMessage) {
        self.post(id.worker(), Command::Send(id, Arc::new(message)));
    }

    /// Queues a shared message for one connection.
    pub fn send_shared(&self, id: ConnId, message: Arc<OwnedMessage>) {
        self.post(id.worker(), Command::Send(id, message));
    }

    /// Queues one message for many connections, with one command per
    /// worker rather than one per connection (those closed are skipped).
    /// Each connection gets it after what was queued for it before, and
    /// none misses it however slow (only `max_buffered` bounds a
    /// connection). It is framed once; sends in a row to the same list
    /// reach each connection in one write where it has nothing else to
    /// send (the fan-out topics use).
    pub fn send_many(&self, ids: &[ConnId], message: Arc<OwnedMessage>) {
        let message = Arc::new(prepared(&message));
        let workers = self.shared.mailboxes.len();
        let mut by_worker: Vec<Vec<ConnId>> = vec![Vec::new(); workers];
        for id in ids {
            if let Some(list) = by_worker.get_mut(id.worker()) {
                list.push(*id);
            }
        }
        for (worker, list) in by_worker.into_iter().enumerate() {
            if !list.is_empty() {
                self.post(worker, Command::SendMany(list, message.clone()));
            }
        }
    }

    /// Sends a message to every open connection on every worker.
    pub fn broadcast(&self, message: OwnedMessage) {
        let message = Arc::new(message);
        for worker in 0..self.shared.mailboxes.len() {
            self.post(worker, Command::Broadcast(message.clone()));
        }
    }

    /// Publishes a message to every subscriber of `topic` on every worker,
    /// framed once ([`Conn::subscribe`](super::Conn::subscribe);
    /// [`crate::net::TopicConfig`] says what slow subscribers get).
    pub fn publish(&self, topic: &str, message: OwnedMessage) {
        let message = Arc::new(prepared(&message));
        let topic = Arc::from(topic);
        self.publish_elsewhere(&topic, &message, None, usize::MAX);
        self.relay(&topic, &message);
    }

    /// Hands a publish made here to the other processes (the Redis
    /// bridge), when there is one.
    #[inline]
    pub(crate) fn relay(&self, topic: &Arc<str>, message: &Arc<PreparedMessage>) {
        #[cfg(feature = "redis")]
        if let Some(relay) = self.shared.relay.get() {
            relay(topic, message);
        }
        #[cfg(not(feature = "redis"))]
        let _ = (topic, message);
    }

    /// Installs the Redis bridge's relay; false if one already is.
    #[cfg(feature = "redis")]
    pub(crate) fn set_relay(&self, relay: Relay) -> bool {
        self.shared.relay.set(relay).is_ok()
    }

    #[cfg(feature = "redis")]
    pub(crate) fn relay_counts(&self) -> &Arc<RelayCounts> {
        &self.shared.relay_counts
    }

    /// Hands a publish to every worker but `here` (the publisher's own,
    /// which delivers it without its mailbox).
    pub(crate) fn publish_elsewhere(
        &self,
        topic: &Arc<str>,
        message: &Arc<PreparedMessage>,
        except: Option<ConnId>,
        here: usize,
    ) {
        for worker in (0..self.shared.mailboxes.len()).filter(|w| *w != here) {
            self.post(
                worker,
                Command::Publish(Publish {
                    topic: topic.clone(),
                    message: message.clone(),
                    except,
                }),
            );
        }
    }

    /// Answers a plain HTTP request held with `Reply::Later`, from any
    /// thread. Dropped if the request is gone (its client left, which
    /// `Handler::on_request_abandoned` reported) or was answered already.
    /// A [streamed](HttpResponse::streamed) response goes on with
    /// [`ServerHandle::send_body`] and ends with [`ServerHandle::end_body`].
    pub fn respond(&self, id: RequestId, response: HttpResponse) {
        self.post(id.conn.worker(), Command::Respond(id, Box::new(response)));
    }

    /// The next piece of a streamed response's body.
    pub fn send_body(&self, id: RequestId, piece: impl Into<Vec<u8>>) {
        let piece = piece.into();
        self.post(
            id.conn.worker(),
            Command::Body {
                id,
                piece,
                end: false,
            },
        );
    }

    /// Ends a streamed response's body.
    pub fn end_body(&self, id: RequestId) {
        self.post(
            id.conn.worker(),
            Command::Body {
                id,
                piece: Vec::new(),
                end: true,
            },
        );
    }

    /// Starts the close handshake on a connection.
    pub fn close(&self, id: ConnId, code: CloseCode, reason: &str) {
        self.post(id.worker(), Command::Close(id, code, reason.to_string()));
    }

    /// Hands the engine a connection accepted elsewhere. `read` holds bytes
    /// already read from it; `upgraded` is true when the embedder already
    /// answered the handshake with 101 (then `read` holds frames).
    pub fn adopt(&self, stream: std::net::TcpStream, read: Vec<u8>, upgraded: bool) {
        let n = self.shared.mailboxes.len();
        let worker = self.shared.next_adopter.fetch_add(1, Ordering::Relaxed) % n;
        self.post(
            worker,
            Command::Adopt {
                stream,
                read,
                upgraded,
            },
        );
    }

    /// Opens a client connection on one of the workers (round robin). The
    /// host is resolved here, on the calling thread, so the loop never
    /// blocks on DNS. The handler hears of it through `on_connect`, or
    /// `on_close` with 1006 and the reason if it fails; both report the id
    /// returned here, which names the connection from now on.
    pub fn connect(
        &self,
        url: &str,
        options: super::client::ClientOptions,
    ) -> Result<ConnId, super::client::ClientError> {
        let url = super::client::WsUrl::parse(url)?;
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(url.host.as_str(), url.port))
            .map_err(super::client::ClientError::Io)?
            .next()
            .ok_or_else(|| {
                super::client::ClientError::Url(format!("{} does not resolve", url.host))
            })?;
        let n = self.shared.mailboxes.len();
        let worker = self.shared.next_adopter.fetch_add(1, Ordering::Relaxed) % n;
        let ticket = self.shared.next_ticket.fetch_add(1, Ordering::Relaxed);
        let id = ConnId::dialed(worker, ticket);
        self.post(
            worker,
            Command::Connect {
                id,
                addr,
                url,
                options: Box::new(options),
            },
        );
        Ok(id)
    }

    /// Graceful shutdown: stop accepting, close every connection with 1001,
    /// wait for the close handshakes up to the configured timeout, exit.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        for worker in 0..self.shared.mailboxes.len() {
            self.post(worker, Command::Shutdown);
        }
    }

    /// Whether `shutdown` has been called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::SeqCst)
    }

    /// How many worker loops there are.
    pub fn workers(&self) -> usize {
        self.shared.mailboxes.len()
    }

    /// Open and resting connections, as of the workers' latest sweep.
    pub fn stats(&self) -> ServerStats {
        let mut stats = ServerStats::default();
        for mailbox in &self.shared.mailboxes {
            stats.open += mailbox.open.load(Ordering::Relaxed);
            stats.resting += mailbox.resting.load(Ordering::Relaxed);
            stats.topics += mailbox.topics.load(Ordering::Relaxed);
            stats.subscriptions += mailbox.subscriptions.load(Ordering::Relaxed);
            stats.publishes_dropped += mailbox.dropped.load(Ordering::Relaxed);
            stats.mailbox_refused += mailbox.refused.load(Ordering::Relaxed);
        }
        stats
    }
}

/// A message framed once, for many connections.
fn prepared(message: &OwnedMessage) -> PreparedMessage {
    match message {
        OwnedMessage::Text(text) => PreparedMessage::text(text),
        OwnedMessage::Binary(data) => PreparedMessage::binary(data),
    }
}
