//! Frames made once and written to many connections from one buffer: a
//! topic's run of publishes, or a run of sends to one list of connections
//! (a Socket.IO room's burst of emits).
//!
//! Every connection with nothing queued gets one write straight from the
//! same bytes, still in cache. Copying them into each connection's own
//! buffer first, then writing those buffers after the batch, read 10,000
//! buffers (10 MB at a 16-publish burst) back out of memory: the kernel's
//! copy missed the cache, and the fan-out ran at 0.88× uWebSockets'
//! deliveries per second, where this runs at ~1.1×.

use std::io;

use crate::net::session::{Phase, Session};

/// The most storage kept between batches: a burst of large messages does
/// not pin its size for the worker's life.
const KEPT: usize = 64 << 10;

/// The frames of one run, made at the first connection that takes them.
#[derive(Default)]
pub(super) struct SharedFrames {
    bytes: Vec<u8>,
}

impl SharedFrames {
    /// Starts a run: the frames are made again on the next write.
    pub fn start(&mut self) {
        self.bytes.clear();
    }

    /// Whether `session` can take the run's frames straight from the
    /// buffer: an open plain-socket WebSocket connection of a server,
    /// without compression, with nothing unsent. Nothing but the writes
    /// themselves changes that until the run is written, so a caller may
    /// ask for several connections first, then write to each: their
    /// connections are read from memory side by side, where one after
    /// another each waited for the last system call (the connection's
    /// state missed the cache once per recipient).
    #[inline]
    pub fn can_take(session: &mut Session) -> bool {
        if session.raw_unwritten() > 0 || session.stream.is_tls() {
            return false;
        }
        match &mut session.phase {
            Phase::Open(conn) => conn.sender().takes_frames_unbuffered(),
            _ => false,
        }
    }

    /// Writes the run's frames (made by `make` the first time) straight to
    /// `session`, which [`SharedFrames::can_take`] them. Returns whether
    /// all was written. What the socket does not take is queued behind
    /// nothing, so the caller flushes it with the connection's other
    /// output; a failed write queues it all, and that flush meets the error
    /// again and ends the connection.
    #[inline]
    pub fn write(&mut self, session: &mut Session, make: impl FnOnce(&mut Vec<u8>)) -> bool {
        if self.bytes.is_empty() {
            make(&mut self.bytes);
        }
        let written = loop {
            match session.stream.transmit(&self.bytes) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break 0,
            }
        };
        if written < self.bytes.len() {
            if let Phase::Open(conn) = &mut session.phase {
                conn.sender().queue_unsent(&self.bytes[written..]);
            }
            return false;
        }
        true
    }

    /// Gives back storage past [`KEPT`], after a batch.
    pub fn trim(&mut self) {
        if self.bytes.capacity() > KEPT {
            self.bytes = Vec::new();
        }
    }
}
