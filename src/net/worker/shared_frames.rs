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

    /// Writes the run's frames (made by `make` the first time) straight to
    /// `session`, if it can take them so: an open plain-socket WebSocket
    /// connection of a server, without compression, with nothing unsent.
    ///
    /// Returns `None`, having done nothing, when it cannot (the caller
    /// queues the messages the general way), else whether all was written.
    /// What the socket does not take is queued behind nothing, so the
    /// caller flushes it with the connection's other output; a failed
    /// write queues it all, and that flush meets the error again and ends
    /// the connection.
    #[inline]
    pub fn write_to(
        &mut self,
        session: &mut Session,
        make: impl FnOnce(&mut Vec<u8>),
    ) -> Option<bool> {
        if session.raw_unwritten() > 0 || session.stream.is_tls() {
            return None;
        }
        let Phase::Open(conn) = &mut session.phase else {
            return None;
        };
        let mut tx = conn.sender();
        if !tx.takes_frames_unbuffered() {
            return None;
        }
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
            tx.queue_unsent(&self.bytes[written..]);
            return Some(false);
        }
        Some(true)
    }

    /// Gives back storage past [`KEPT`], after a batch.
    pub fn trim(&mut self) {
        if self.bytes.capacity() > KEPT {
            self.bytes = Vec::new();
        }
    }
}
