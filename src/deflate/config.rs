//! What we are willing to agree to, and the memory it may cost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Local policy for permessage-deflate, in terms of the two directions
/// (what we compress and what we decompress) so the same value serves a
/// server and a client.
///
/// Memory, per connection, with zlib-rs (measured, see the README):
/// a compressor holds about 300 KiB at 15 window bits and about 200 KiB at
/// 9 (its hash table does not shrink with the window); a decompressor holds
/// 2^bits bytes of window plus about 7 KiB. Without context takeover in a
/// direction, its state exists only while a message is being processed and
/// is then returned to a small per-thread pool, so idle connections hold
/// none.
#[derive(Clone, Debug)]
pub struct DeflateConfig {
    /// Largest LZ77 window we compress with, 9..=15. A peer can ask for
    /// less; a request for 8 (which zlib cannot produce) is accepted and
    /// honoured by sending messages uncompressed.
    pub compress_window_bits: u8,
    /// Largest window we let the peer compress with (the window we keep to
    /// inflate), 9..=15.
    pub decompress_window_bits: u8,
    /// Keep our compression context from one message to the next: better
    /// ratio, one compressor held per connection.
    pub compress_context_takeover: bool,
    /// Let the peer keep its context: one decompressor held per connection.
    pub decompress_context_takeover: bool,
    /// zlib level, 0..=9. The default, 2, is the cheapest level that still
    /// finds matches in earlier messages (zlib-rs's level 1 barely does: a
    /// repeated 300-byte message shrank to 86 bytes at 1 and 18 at 2), at
    /// about 260 MB/s on text here.
    pub level: u32,
    /// Messages shorter than this are sent uncompressed.
    pub min_size: usize,
    /// Caps how many compressors exist at once across the connections that
    /// share it; a connection that finds none free sends uncompressed
    /// (always allowed) until one is.
    pub compressor_budget: Option<CompressorBudget>,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            compress_window_bits: 15,
            decompress_window_bits: 15,
            compress_context_takeover: true,
            decompress_context_takeover: true,
            level: 2,
            min_size: 0,
            compressor_budget: None,
        }
    }
}

/// A shared count of compressors that may exist at once.
#[derive(Clone, Debug)]
pub struct CompressorBudget(Arc<AtomicUsize>);

impl CompressorBudget {
    /// A budget of `max_compressors` compressors alive at once.
    pub fn new(max_compressors: usize) -> Self {
        CompressorBudget(Arc::new(AtomicUsize::new(max_compressors)))
    }

    /// Compressors that can still be created.
    pub fn available(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn try_acquire(&self) -> Option<Permit> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .ok()
            .map(|_| Permit(self.0.clone()))
    }
}

/// One compressor's place in a budget, given back on drop.
#[derive(Debug)]
pub(crate) struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}
