//! Topics across processes (feature `redis`): every process attached to
//! the same Redis shares its topics. A publish is delivered to local
//! subscribers at once, as without Redis, and relayed through Redis
//! pub/sub to the other processes, which deliver it to theirs.
//!
//! The workers never wait on Redis: a relay thread publishes (from a
//! bounded queue) and a listener thread subscribes, and both reach the
//! workers only through their mailboxes.
//!
//! # While Redis is away
//!
//! Both threads reconnect with backoff (50 ms doubling to 2 s), and local
//! delivery carries on. Publishes made meanwhile reach this process's
//! subscribers only: Redis pub/sub keeps nothing for a listener that is
//! not connected, so delivery across processes is at most once. The relay
//! queue holds 10,000 publishes; past that, and for every publish Redis
//! refused, [`RelayStats`] counts what was not relayed.

mod link;
mod redis;
mod wire;

#[cfg(feature = "socketio")]
pub(crate) use self::link::{start as link, Listener, Outbox};

pub use self::redis::{attach, RelayStats};
