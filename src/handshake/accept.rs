//! `Sec-WebSocket-Accept` = base64(SHA-1(key ‖ GUID)) (RFC 6455 §4.2.2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every WebSocket endpoint appends to the key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The accept value for a client's `Sec-WebSocket-Key` (as sent, base64).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// Whether a key is base64 of exactly 16 bytes, as RFC 6455 §4.1 requires.
pub fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|raw| raw.len() == 16)
}

/// A fresh client key: 16 random bytes, base64.
pub fn generate_key() -> String {
    let mut raw = [0u8; 16];
    if getrandom::fill(&mut raw).is_err() {
        // The key only proves the server speaks WebSocket; uniqueness is
        // enough, so std's randomly keyed hasher is a sound fallback.
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        for (i, half) in raw.chunks_exact_mut(8).enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    STANDARD.encode(raw)
}
