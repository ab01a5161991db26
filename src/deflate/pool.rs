//! Per-thread pools of reset zlib streams. Without context takeover a
//! stream is needed only while one message is processed; taking it from a
//! pool avoids setting up (and zeroing) a few hundred KiB per message, and
//! giving it back means an idle connection holds none.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress};

/// Streams kept per thread and kind: enough for a burst on one event loop.
const POOL_CAP: usize = 4;

thread_local! {
    static COMPRESSORS: RefCell<Vec<(u32, u8, Compress)>> = const { RefCell::new(Vec::new()) };
    static DECOMPRESSORS: RefCell<Vec<(u8, Decompress)>> = const { RefCell::new(Vec::new()) };
}

/// A raw-deflate compressor (no zlib header), fresh or reset.
pub(crate) fn take_compressor(level: u32, window_bits: u8) -> Compress {
    let pooled = COMPRESSORS.with_borrow_mut(|pool| {
        let at = pool
            .iter()
            .position(|(l, b, _)| *l == level && *b == window_bits)?;
        Some(pool.swap_remove(at).2)
    });
    pooled.unwrap_or_else(|| {
        Compress::new_with_window_bits(Compression::new(level), false, window_bits)
    })
}

pub(crate) fn give_compressor(level: u32, window_bits: u8, mut stream: Compress) {
    stream.reset();
    COMPRESSORS.with_borrow_mut(|pool| {
        if pool.len() < POOL_CAP {
            pool.push((level, window_bits, stream));
        }
    });
}

/// A raw-inflate decompressor, fresh or reset.
pub(crate) fn take_decompressor(window_bits: u8) -> Decompress {
    let pooled = DECOMPRESSORS.with_borrow_mut(|pool| {
        let at = pool.iter().position(|(b, _)| *b == window_bits)?;
        Some(pool.swap_remove(at).1)
    });
    pooled.unwrap_or_else(|| Decompress::new_with_window_bits(false, window_bits))
}

pub(crate) fn give_decompressor(window_bits: u8, mut stream: Decompress) {
    stream.reset(false);
    DECOMPRESSORS.with_borrow_mut(|pool| {
        if pool.len() < POOL_CAP {
            pool.push((window_bits, stream));
        }
    });
}
