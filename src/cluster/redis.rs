//! The bridge to Redis: a relay thread that publishes what this process's
//! topics publish, and a listener thread that hands the other processes'
//! publishes to the workers.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Client;

use super::wire;
use crate::frame::Opcode;
use crate::net::ServerHandle;
use crate::protocol::PreparedMessage;

/// Publishes waiting to be relayed, at most.
const QUEUE: usize = 10_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often the threads look up from Redis to see if the server stops.
const POLL: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What the Redis bridge did since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayStats {
    /// Publishes made here and published on Redis.
    pub relayed: u64,
    /// Publishes made here that only local subscribers got: the queue was
    /// full, or Redis was away.
    pub not_relayed: u64,
    /// Publishes from other processes, handed to this one's workers.
    pub received: u64,
}

/// Attaches the server behind `handle` to the Redis at `url`
/// (`redis://HOST:PORT`): from now on its topics are shared with every
/// process attached to the same Redis. Redis need not be up yet; the
/// bridge connects, and reconnects, by itself. Fails on a URL that is not
/// a Redis URL, or a server that already has a bridge.
pub fn attach(handle: &ServerHandle, url: &str) -> Result<(), String> {
    let client = Client::open(url).map_err(|e| format!("{url}: {e}"))?;
    let mut origin = [0u8; 8];
    getrandom::fill(&mut origin).map_err(|e| format!("no random process id: {e}"))?;
    let (queue, relayed) = sync_channel::<(String, Vec<u8>)>(QUEUE);
    // The counts, not the handle: the handle owns this closure.
    let counts = handle.relay_counts().clone();
    let installed = handle.set_relay(Box::new(move |topic, message| {
        let payload = wire::encode(origin, message.opcode(), message.payload());
        match queue.try_send((wire::channel(topic), payload)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => counts.not_relayed(),
        }
    }));
    if !installed {
        return Err("this server is already attached to Redis".into());
    }
    let (h, c) = (handle.clone(), client.clone());
    std::thread::Builder::new()
        .name("simdws-redis-relay".into())
        .spawn(move || relay(&c, &relayed, &h))
        .map_err(|e| e.to_string())?;
    let h = handle.clone();
    std::thread::Builder::new()
        .name("simdws-redis-listen".into())
        .spawn(move || listen(&client, origin, &h))
        .map_err(|e| e.to_string())?;
    Ok(())
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

/// Subscribes to every topic channel and delivers what other processes
/// publish, until the server stops; reconnects with backoff.
fn listen(client: &Client, origin: [u8; 8], handle: &ServerHandle) {
    let mut backoff = FIRST_BACKOFF;
    while !handle.is_shutting_down() {
        let connected = client.get_connection_with_timeout(CONNECT_TIMEOUT);
        match connected.and_then(|mut conn| {
            conn.set_read_timeout(Some(POLL))?;
            // The subscription lasts as long as this `PubSub`: dropping it
            // unsubscribes.
            let mut pubsub = conn.as_pubsub();
            pubsub.psubscribe(format!("{}*", wire::PREFIX))?;
            log::info!("redis listener subscribed");
            backoff = FIRST_BACKOFF;
            Ok(deliver_until_lost(&mut pubsub, origin, handle))
        }) {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => log::warn!("redis listener: {e}; retrying in {backoff:?}"),
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Delivers publishes until the connection is lost (false) or the server
/// stops (true).
fn deliver_until_lost(
    pubsub: &mut redis::PubSub<'_>,
    origin: [u8; 8],
    handle: &ServerHandle,
) -> bool {
    loop {
        match pubsub.get_message() {
            Ok(message) => {
                let channel = message.get_channel_name();
                match wire::decode(channel, message.get_payload_bytes()) {
                    Ok(incoming) if incoming.origin == origin => {}
                    Ok(incoming) => {
                        handle.relay_counts().received();
                        let prepared = match incoming.opcode {
                            // Checked UTF-8 by `decode`.
                            Opcode::Text => PreparedMessage::text(
                                std::str::from_utf8(incoming.payload).unwrap_or_default(),
                            ),
                            _ => PreparedMessage::binary(incoming.payload),
                        };
                        handle.publish_elsewhere(
                            &Arc::from(incoming.topic),
                            &Arc::new(prepared),
                            None,
                            usize::MAX,
                        );
                    }
                    Err(why) => log::debug!("redis: {channel}: {why}"),
                }
            }
            Err(e) if e.is_timeout() => {
                if handle.is_shutting_down() {
                    return true;
                }
            }
            Err(e) => {
                log::warn!("redis listener: {e}; reconnecting");
                return false;
            }
        }
    }
}

impl ServerHandle {
    /// What the Redis bridge relayed and received.
    pub fn relay_stats(&self) -> RelayStats {
        let (relayed, not_relayed, received) = self.relay_counts().get();
        RelayStats {
            relayed,
            not_relayed,
            received,
        }
    }
}
