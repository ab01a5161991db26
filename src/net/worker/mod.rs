//! One event loop per thread: edge-triggered mio, a slab of sessions, one
//! loop-wide receive buffer decoded in place, one write per connection per
//! turn, and a coarse timer sweep.
//!
//! Each step on a connection (reading and writing it, a timer, a command
//! from another thread) returns an [`Outcome`]; the loop ends connections in
//! one place, [`Worker::settle`].
//!
//! * `io.rs`: reading and writing a connection until it would block;
//! * `dispatch.rs`: WebSocket bytes to the handler's callbacks;
//! * `accept.rs`: new connections, accepted or adopted;
//! * `dial.rs`: client connections;
//! * `mailbox.rs`: commands from other threads;
//! * `publish.rs`: topics' publishes to this worker's subscribers;
//! * `timers.rs`: the sweep.

mod accept;
mod dial;
mod dispatch;
mod io;
mod mailbox;
mod publish;
mod shared_frames;
mod timers;
mod touched;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Events, Poll, Token};
use slab::Slab;

use super::close::CloseReason;
use super::config::ServerConfig;
use super::handle::{ConnId, ServerHandle};
use super::handler::Handler;
use super::http::HttpContext;
use super::session::{Phase, Session};
use super::topics::Topics;
use crate::http::http_date;
use shared_frames::SharedFrames;
use touched::Touched;

pub(crate) use dispatch::frame_bytes;

pub(crate) const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX);

/// What a step leaves a connection as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Outcome {
    /// It goes on.
    Keep,
    /// It is over: the loop ends it ([`Worker::settle`]).
    End,
}

pub(crate) struct Worker<H: Handler> {
    index: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    sessions: Slab<Session>,
    generation: u32,
    recv_buf: Vec<u8>,
    handler: H,
    handle: ServerHandle,
    config: Arc<ServerConfig>,
    shutdown_deadline: Option<Instant>,
    /// The HTTP `Date` header's value, refreshed every tick.
    date: [u8; 29],
    /// Slots of dialed connections, by the ticket in their id.
    dialed: HashMap<u32, usize>,
    /// Accepting stopped on a resource limit (EMFILE) with connections
    /// left in the backlog: retried when one ends, and every tick.
    accept_stalled: bool,
    /// A connection ended while accepting was stalled.
    accept_retry: bool,
    /// The last accept stopped at its batch size with more waiting.
    accept_more: bool,
    /// Connections that ended or gave their buffers back since the heap
    /// was last trimmed ([`super::heap`]).
    freed_since_trim: usize,
    /// This worker's subscriptions, and publishes to deliver.
    topics: Topics,
    /// Sessions the mailbox's sends wrote to, flushed once after the batch.
    sent_to: Touched,
    /// Subscribers a fan-out gave publishes to, flushed once after it.
    published_to: Touched,
    /// A run of messages' frames, written from one buffer to each of
    /// their connections with nothing queued.
    shared_frames: SharedFrames,
}

impl<H: Handler> Worker<H> {
    pub fn new(
        index: usize,
        poll: Poll,
        listener: Option<TcpListener>,
        handler: H,
        handle: ServerHandle,
        config: Arc<ServerConfig>,
    ) -> Self {
        // The handler says how it takes messages; every connection of this
        // worker (woken ones included) is made from this config.
        let config = if handler.delivery() == config.protocol.delivery {
            config
        } else {
            let mut own = ServerConfig::clone(&config);
            own.protocol.delivery = handler.delivery();
            Arc::new(own)
        };
        Worker {
            index,
            poll,
            listener,
            sessions: Slab::with_capacity(1024),
            generation: 0,
            recv_buf: vec![0; config.recv_buffer],
            sent_to: Touched::default(),
            published_to: Touched::default(),
            shared_frames: SharedFrames::default(),
            handler,
            handle,
            config,
            shutdown_deadline: None,
            date: http_date(std::time::SystemTime::now()),
            dialed: HashMap::new(),
            accept_stalled: false,
            accept_retry: false,
            accept_more: false,
            freed_since_trim: 0,
            topics: Topics::default(),
        }
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut now = Instant::now();
        let mut next_tick = now + self.config.tick;
        loop {
            // Accepting stopped at a batch: poll without waiting, let what
            // came of the batch be handled, then take the next. The time is
            // the one read after the last turn's events: the clock is read
            // once a turn, and a sweep is late by at most the rest of a turn.
            let accept_more = std::mem::take(&mut self.accept_more);
            let timeout = if accept_more {
                std::time::Duration::ZERO
            } else {
                next_tick.saturating_duration_since(now)
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("worker {}: poll failed: {e}", self.index);
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.drain_mailbox(),
                    Token(key) => {
                        // With the peer's FIN in the same edge as its last
                        // data, a short read does not mean "drained": the
                        // EOF would get no edge of its own.
                        let peer_done = event.is_read_closed() || event.is_error();
                        let outcome = if event.is_readable() || peer_done {
                            self.drive(key, Some(peer_done))
                        } else if event.is_writable() {
                            self.drive(key, None)
                        } else {
                            Outcome::Keep
                        };
                        self.settle(key, outcome);
                    }
                }
            }
            if std::mem::take(&mut self.accept_retry) || accept_more {
                self.accept_all();
            }
            now = Instant::now();
            if now >= next_tick {
                self.sweep(now);
                next_tick = now + self.config.tick;
            }
            // Publishes from this turn's callbacks, the sweep's included.
            self.deliver_publishes();
            if let Some(deadline) = self.shutdown_deadline {
                if self.sessions.is_empty() || now >= deadline {
                    let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
                    for key in keys {
                        self.settle(key, Outcome::End);
                    }
                    log::debug!("worker {} stopped", self.index);
                    return;
                }
            }
        }
    }

    /// Acts on a step's outcome: the one place a connection ends. The
    /// handler hears of it (`on_close`, or `on_request_abandoned` for an
    /// HTTP request it still owes an answer), and its socket is closed.
    #[inline(always)]
    fn settle(&mut self, key: usize, outcome: Outcome) {
        if outcome != Outcome::Keep {
            self.end(key);
        }
    }

    /// The connection in slot `key` is over: the handler hears of it, and
    /// its slot, subscriptions and registration are freed.
    #[inline(never)]
    fn end(&mut self, key: usize) {
        self.notify_closed(key);
        self.freed_since_trim += 1;
        if let Some(mut session) = self.sessions.try_remove(key) {
            self.topics.leave_all(session.id);
            let _ = self.poll.registry().deregister(session.stream.socket_mut());
            self.accept_retry |= self.accept_stalled;
            if let Some(ticket) = session.id.ticket() {
                self.dialed.remove(&ticket);
            }
        }
    }

    /// Tells the handler a connection it knows of is over, once: an open
    /// WebSocket (`on_close`), a client connection it asked for, or an
    /// HTTP request it owes an answer to (`on_request_abandoned`).
    fn notify_closed(&mut self, key: usize) {
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        if let Phase::Http(http) = &session.phase {
            if let Some(owed) = http.owed(session.id) {
                log::debug!("{owed}: the client left before the answer");
                session.phase = Phase::LastResponse;
                self.handler.on_request_abandoned(owed);
            }
            return;
        }
        if session.is_known_to_handler() {
            let reason = session
                .close_info
                .take()
                .map_or(CloseReason::Vanished, |reason| *reason);
            log::debug!("{} closed: {reason}", session.id);
            let id = session.id;
            // Mark it handled: the phase leaves Open right after.
            session.phase = Phase::LastResponse;
            self.topics.leave_all(id);
            self.handler.on_close(id, &reason);
            if let Some(data) = session.data.take() {
                self.handler.on_close_data(id, *data);
            }
        }
    }

    /// Writes what a step queued, reading on if that made room, and ends
    /// the connection if it is over.
    fn flush_out(&mut self, key: usize) {
        let outcome = self.drive(key, None);
        self.settle(key, outcome);
    }

    /// Reads what waited (a held answer was given, or input was paused),
    /// answers and writes, and ends the connection if it is over.
    fn resume(&mut self, key: usize) {
        let outcome = self.drive(key, Some(true));
        self.settle(key, outcome);
    }

    /// The worker split into what handling input needs at once: the
    /// sessions, the receive buffer, and the handler with what it is given.
    fn parts(&mut self) -> (&mut Slab<Session>, &mut [u8], HttpContext<'_, H>) {
        let Worker {
            sessions,
            recv_buf,
            handler,
            handle,
            config,
            date,
            topics,
            ..
        } = self;
        let cx = HttpContext {
            handler,
            handle,
            topics,
            config,
            date,
        };
        (sessions, recv_buf, cx)
    }

    /// The slot of a live connection, if `id` still names one.
    fn find(&self, id: ConnId) -> Option<usize> {
        find_slot(&self.sessions, &self.dialed, id)
    }
}

/// The slot of a live connection among `sessions`, if `id` still names one
/// (`dialed`: slots of dialed connections, by ticket).
fn find_slot(sessions: &Slab<Session>, dialed: &HashMap<u32, usize>, id: ConnId) -> Option<usize> {
    let slot = match id.ticket() {
        Some(ticket) => *dialed.get(&ticket)?,
        None => id.slot(),
    };
    let session = sessions.get(slot)?;
    (session.id == id).then_some(slot)
}
