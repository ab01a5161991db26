//! The bridge to Redis: a relay thread that publishes what this process's
//! topics publish, and a listener thread that hands the other processes'
//! publishes to the workers.

use std::sync::Arc;

use redis::{Client, PubSub, RedisResult};

use super::link::{self, Listener};
use super::wire;
use crate::frame::Opcode;
use crate::net::ServerHandle;
use crate::protocol::PreparedMessage;

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
    let listener = TopicListener {
        origin,
        handle: handle.clone(),
    };
    let outbox =
        link::start("simdws-redis", client, handle, listener).map_err(|e| e.to_string())?;
    let installed = handle.set_relay(Box::new(move |topic, message| {
        let payload = wire::encode(origin, message.opcode(), message.payload());
        outbox.publish(wire::channel(topic), payload);
    }));
    if !installed {
        return Err("this server is already attached to Redis".into());
    }
    Ok(())
}

/// Delivers the other processes' publishes to this one's subscribers.
struct TopicListener {
    origin: [u8; 8],
    handle: ServerHandle,
}

impl Listener for TopicListener {
    fn subscribe(&mut self, pubsub: &mut PubSub<'_>, fresh: bool) -> RedisResult<()> {
        if fresh {
            pubsub.psubscribe(format!("{}*", wire::PREFIX))?;
        }
        Ok(())
    }

    fn on_message(&mut self, channel: &str, payload: &[u8]) {
        match wire::decode(channel, payload) {
            Ok(incoming) if incoming.origin == self.origin => {}
            Ok(incoming) => {
                self.handle.relay_counts().received();
                let prepared = match incoming.opcode {
                    // Checked UTF-8 by `decode`.
                    Opcode::Text => PreparedMessage::text(
                        std::str::from_utf8(incoming.payload).unwrap_or_default(),
                    ),
                    _ => PreparedMessage::binary(incoming.payload),
                };
                self.handle.publish_elsewhere(
                    &Arc::from(incoming.topic),
                    &Arc::new(prepared),
                    None,
                    usize::MAX,
                );
            }
            Err(why) => log::debug!("redis: {channel}: {why}"),
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
