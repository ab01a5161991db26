//! One link to Redis, whatever travels on it: a relay thread that
//! publishes from a bounded queue, and a listener thread that subscribes
//! and hands each message to a [`Listener`]. Both reconnect with backoff
//! and stop when the server does. The topics bridge and Socket.IO's
//! adapter each run one.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{Client, PubSub, RedisResult};

use crate::net::{RelayCounts, ServerHandle};

/// Publishes waiting to be relayed, at most.
const QUEUE: usize = 10_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often the listener looks up from Redis (to see if the server stops,
/// or to subscribe to something new).
const POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The listener thread's side of a link.
pub(crate) trait Listener: Send + 'static {
    /// Subscribes to what it listens to: with `fresh`, right after a
    /// (re)connection, so everything; then every poll, so only what is new.
    fn subscribe(&mut self, pubsub: &mut PubSub<'_>, fresh: bool) -> RedisResult<()>;

    /// A message came on `channel`.
    fn on_message(&mut self, channel: &str, payload: &[u8]);
}

/// The relay's queue: cheap to clone, never blocks.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: SyncSender<(String, Vec<u8>)>,
    counts: Arc<RelayCounts>,
}

impl Outbox {
    /// Queues a PUBLISH of `payload` on `channel`; when the queue is full
    /// it is dropped and counted as not relayed.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        match self.queue.try_send((channel, payload)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.counts.not_relayed(),
        }
    }
}

/// Starts a link to `client` for the server behind `handle`: `name`s its
/// threads, and gives `listener` every message that comes.
pub(crate) fn start(
    name: &str,
    client: Client,
    handle: &ServerHandle,
    listener: impl Listener,
) -> std::io::Result<Outbox> {
    let (queue, queued) = sync_channel::<(String, Vec<u8>)>(QUEUE);
    let (h, c) = (handle.clone(), client.clone());
    std::thread::Builder::new()
        .name(format!("{name}-relay"))
        .spawn(move || relay(&c, &queued, &h))?;
    let h = handle.clone();
    std::thread::Builder::new()
        .name(format!("{name}-listen"))
        .spawn(move || listen(&client, listener, &h))?;
    Ok(Outbox {
        queue,
        counts: handle.relay_counts().clone(),
    })
}

/// Publishes what the queue brings, until the server stops. While Redis is
/// away, publishes are dropped (counted) until the next attempt is due.
fn relay(client: &Client, queue: &Receiver<(String, Vec<u8>)>, handle: &ServerHandle) {
    let counts = handle.relay_counts();
    let mut conn = None;
    let mut backoff = FIRST_BACKOFF;
    let mut retry_at = Instant::now();
    loop {
        let (channel, payload) = match queue.recv_timeout(POLL) {
            Ok(publish) => publish,
            Err(RecvTimeoutError::Timeout) if handle.is_shutting_down() => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if conn.is_none() && Instant::now() >= retry_at {
            match client.get_connection_with_timeout(CONNECT_TIMEOUT) {
                Ok(c) => {
                    log::info!("redis relay connected");
                    conn = Some(c);
                    backoff = FIRST_BACKOFF;
                }
                Err(e) => {
                    log::warn!("redis relay: {e}; retrying in {backoff:?}");
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        let Some(c) = conn.as_mut() else {
            counts.not_relayed();
            continue;
        };
        match redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&payload)
            .query::<i64>(c)
        {
            Ok(_) => counts.relayed(),
            Err(e) => {
                log::warn!("redis relay: {e}; reconnecting");
                counts.not_relayed();
                conn = None;
            }
        }
    }
}

/// Subscribes and hands over what comes, until the server stops;
/// reconnects with backoff.
fn listen(client: &Client, mut listener: impl Listener, handle: &ServerHandle) {
    let mut backoff = FIRST_BACKOFF;
    while !handle.is_shutting_down() {
        let connected = client.get_connection_with_timeout(CONNECT_TIMEOUT);
        match connected.and_then(|mut conn| {
            conn.set_read_timeout(Some(POLL))?;
            // The subscriptions last as long as this `PubSub`: dropping it
            // unsubscribes.
            let mut pubsub = conn.as_pubsub();
            listener.subscribe(&mut pubsub, true)?;
            log::info!("redis listener subscribed");
            backoff = FIRST_BACKOFF;
            Ok(hand_over_until_lost(&mut pubsub, &mut listener, handle))
        }) {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => log::warn!("redis listener: {e}; retrying in {backoff:?}"),
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Hands messages over until the connection is lost (false) or the server
/// stops (true).
fn hand_over_until_lost(
    pubsub: &mut PubSub<'_>,
    listener: &mut impl Listener,
    handle: &ServerHandle,
) -> bool {
    loop {
        match pubsub.get_message() {
            Ok(message) => {
                listener.on_message(message.get_channel_name(), message.get_payload_bytes())
            }
            Err(e) if e.is_timeout() => {
                if handle.is_shutting_down() {
                    return true;
                }
                if let Err(e) = listener.subscribe(pubsub, false) {
                    log::warn!("redis listener: {e}; reconnecting");
                    return false;
                }
            }
            Err(e) => {
                log::warn!("redis listener: {e}; reconnecting");
                return false;
            }
        }
    }
}
