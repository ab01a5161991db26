//! Output bytes waiting for the socket, and the client's masking keys.

/// Pending output. The backing vector is kept fully initialised (its length
/// is its capacity in use), so frames are written straight into it — the
/// client masks while copying, in one pass — without `unsafe`.
#[derive(Debug, Default)]
pub(crate) struct SendBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl SendBuffer {
    /// Bytes not yet handed to the socket.
    #[inline]
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Marks `n` pending bytes as written.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        assert!(n <= self.len(), "advanced past the pending output");
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// A writable region of exactly `n` bytes after the pending output; call
    /// [`SendBuffer::commit`] with what was written.
    #[inline(always)]
    pub fn tail(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() - self.end < n {
            self.make_room(n);
        }
        &mut self.buf[self.end..self.end + n]
    }

    /// Room for `n` more bytes: the pending output moved to the front, or
    /// the storage grown (at least doubled).
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, n: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < n {
            let grown = (self.end + n).max(self.buf.len() * 2).max(256);
            self.buf.resize(grown, 0);
        }
    }

    #[inline(always)]
    pub fn commit(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.buf.len());
        self.end += n;
    }

    /// Frees the storage when nothing is pending (an idle connection).
    pub fn release_if_empty(&mut self) {
        if self.len() == 0 {
            self.buf = Vec::new();
        }
    }

    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Masking keys for client frames, drawn from the OS RNG 64 at a time so a
/// small message costs no system call.
#[derive(Debug)]
pub(crate) struct MaskKeys {
    pool: [u8; 256],
    used: usize,
}

impl MaskKeys {
    pub fn new() -> Self {
        MaskKeys {
            pool: [0; 256],
            used: 256,
        }
    }

    pub fn next_key(&mut self) -> [u8; 4] {
        if self.used == self.pool.len() {
            refill(&mut self.pool);
            self.used = 0;
        }
        let key = self.pool[self.used..self.used + 4]
            .try_into()
            .expect("4 bytes");
        self.used += 4;
        key
    }
}

fn refill(pool: &mut [u8; 256]) {
    if getrandom::fill(pool).is_ok() {
        return;
    }
    // The OS RNG failed (practically never on Linux). Keys must stay
    // unpredictable to intermediaries, so fall back to std's per-process
    // random SipHash keys rather than panic.
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for (i, word) in pool.chunks_exact_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        word.copy_from_slice(&h.finish().to_le_bytes());
    }
}
