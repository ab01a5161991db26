//! What an Engine.IO server promises its clients: the heartbeat, the
//! largest payload, how long an upgrade may take. The defaults are Node's
//! (engine.io 6.6).

use std::time::Duration;

/// An Engine.IO server's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The server pings this long after the open packet, and this long
    /// after each pong.
    pub ping_interval: Duration,
    /// A ping not answered within this closes the session.
    pub ping_timeout: Duration,
    /// A WebSocket that probed but has not sent the upgrade packet within
    /// this is dropped (the session goes on polling).
    pub upgrade_timeout: Duration,
    /// The largest polling body or WebSocket message a client may send, in
    /// bytes; the open packet announces it as `maxPayload`. A polling body
    /// over it is answered 413.
    pub max_payload: usize,
    /// Clients may upgrade from long-polling to WebSocket.
    pub allow_upgrades: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            allow_upgrades: true,
        }
    }
}
