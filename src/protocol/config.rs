//! Limits and timers of one connection.

use std::time::Duration;

/// Everything a peer controls is bounded here; each bound is tested at the
/// limit and one past it.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest payload of one frame; a header announcing more is answered
    /// with close 1009 before any of it is read.
    pub max_frame_size: usize,
    /// Largest message (all fragments, after decompression); over it → 1009.
    pub max_message_size: usize,
    /// Most frames in one fragmented message; over it → 1008.
    pub max_fragments: usize,
    /// Answer pings automatically.
    pub auto_pong: bool,
    /// Above this many bytes of unsent output, pongs are coalesced: only the
    /// answer to the latest ping is kept (RFC 6455 §5.5.3 allows it), so a
    /// ping flood from a peer that never reads cannot grow memory.
    pub pong_coalesce_above: usize,
    /// After our close frame, how long to wait for the peer's.
    pub close_timeout: Duration,
    /// Send a ping after this long without receiving anything.
    pub ping_interval: Option<Duration>,
    /// Start the close handshake (1001) after this long without receiving.
    pub idle_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 65_536,
            auto_pong: true,
            pong_coalesce_above: 64 << 10,
            close_timeout: Duration::from_secs(5),
            ping_interval: None,
            idle_timeout: None,
        }
    }
}
