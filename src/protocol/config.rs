//! Limits and timers of one connection.

use std::time::Duration;

/// Everything a peer controls is bounded here; each bound is tested at the
/// limit and one past it.
#[derive(Clone, Copy, Debug)]
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
    /// Whether data arrives as whole messages, frames, or chunks.
    pub delivery: Delivery,
}

/// How a connection hands data messages to the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Whole messages ([`Event::Text`](super::Event::Text),
    /// [`Event::Binary`](super::Event::Binary)), fragments joined: the
    /// connection holds up to `max_message_size` bytes of one message.
    #[default]
    Messages,
    /// Each data frame as an [`Event::Fragment`](super::Event::Fragment),
    /// held until the frame is complete: up to `max_frame_size` bytes.
    Frames,
    /// Payload bytes as they arrive, each `receive` call's share as an
    /// [`Event::Fragment`](super::Event::Fragment), unmasked and UTF-8
    /// checked in place: a message of any size streams through the
    /// caller's read buffer and the connection holds none of it.
    Chunks,
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
            delivery: Delivery::Messages,
        }
    }
}
