//! The table of Engine.IO sessions, by sid.
//!
//! An idle Socket.IO server is mostly this table, so it is laid out for
//! memory: the entries sit side by side in one slab (not a small heap
//! block each, scattered between the short-lived blocks of connections
//! coming and going), and there is no index: a sid names its slot. Of its
//! 20 URL-safe base64 characters, the first 5 are the slot (30 bits, six
//! to a character) and the other 15 are 90 random bits. A lookup reads
//! the slot back and compares the whole sid with the one the session
//! holds, so a guessed or stale sid finds nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use compact_str::CompactString;
use slab::Slab;

use super::server::Entry;

/// A sid, as a worker keeps it for its WebSockets: inline (a sid is 20
/// characters), and read back as a `&str` with no UTF-8 check, which a
/// byte array would need on every message.
pub(super) type Key = CompactString;

/// The key of `sid`, if it has a sid's length.
pub(super) fn key(sid: &str) -> Option<Key> {
    (sid.len() == 20).then(|| CompactString::new(sid))
}

/// A sid copied out of a table, inline.
#[derive(Clone)]
pub(super) struct Sid(pub(super) Key);

impl std::ops::Deref for Sid {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The URL-safe base64 alphabet: a sid is made of these.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Characters of a sid that name its slot.
const SLOT_CHARS: usize = 5;

/// A fresh sid for the session in `slot`. (Past 2^30 slots, some 400 GB
/// of sessions, the slot would not fit and the sid would find nothing.)
fn new_sid(slot: usize) -> String {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).expect("the OS random source");
    let mut sid = String::with_capacity(20);
    for shift in (0..SLOT_CHARS).rev() {
        sid.push(ALPHABET[(slot >> (6 * shift)) & 63] as char);
    }
    // 12 random bytes are 16 characters; the first 15 are kept.
    sid.push_str(&URL_SAFE_NO_PAD.encode(random)[..15]);
    sid
}

/// The slot a sid of ours names.
fn slot_of(sid: &str) -> Option<usize> {
    if sid.len() != 20 {
        return None;
    }
    sid.as_bytes()[..SLOT_CHARS]
        .iter()
        .try_fold(0, |slot, &char| Some(slot << 6 | digit(char)?))
}

/// The value of a character of [`ALPHABET`].
fn digit(char: u8) -> Option<usize> {
    let value = match char {
        b'A'..=b'Z' => char - b'A',
        b'a'..=b'z' => char - b'a' + 26,
        b'0'..=b'9' => char - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(value.into())
}

/// The sessions, each in the slot its sid names.
#[derive(Default)]
pub(super) struct Sessions {
    entries: Slab<Entry>,
}

impl Sessions {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds the session `make` builds with the sid it is given; that sid.
    pub(super) fn insert_with(&mut self, make: impl FnOnce(String) -> Entry) -> String {
        let vacant = self.entries.vacant_entry();
        let sid = new_sid(vacant.key());
        vacant.insert(make(sid.clone()));
        sid
    }

    fn slot(&self, sid: &str) -> Option<usize> {
        let slot = slot_of(sid)?;
        let entry = self.entries.get(slot)?;
        (entry.engine.sid() == sid).then_some(slot)
    }

    pub(super) fn get_mut(&mut self, sid: &str) -> Option<&mut Entry> {
        let slot = self.slot(sid)?;
        self.entries.get_mut(slot)
    }

    pub(super) fn remove(&mut self, sid: &str) -> Option<Entry> {
        let slot = self.slot(sid)?;
        Some(self.entries.remove(slot))
    }

    /// Each session with its sid.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(_, entry)| (entry.engine.sid(), entry))
    }

    /// Each session with (a copy of) its sid.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (Sid, &mut Entry)> {
        self.entries.iter_mut().map(|(_, entry)| {
            let sid = key(entry.engine.sid()).unwrap_or_default();
            (Sid(sid), entry)
        })
    }

    /// Keeps the sessions `keep` says to keep.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(|_, entry| keep(entry));
        if self.entries.is_empty() && self.entries.capacity() > 0 {
            // A server whose clients all left gives the room back.
            *self = Sessions::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::engineio::{EngineConfig, Session, Transport};

    fn entry(sid: String) -> Entry {
        let now = Instant::now();
        let engine = Session::new(sid, Transport::Polling, EngineConfig::default(), now);
        Entry::new(engine, false, Duration::from_secs(45), now)
    }

    #[test]
    fn sessions_are_found_by_sid_and_forgotten() {
        let mut sessions = Sessions::default();
        let a = sessions.insert_with(entry);
        let b = sessions.insert_with(entry);
        assert_eq!((a.len(), b.len()), (20, 20));
        assert_ne!(a, b);
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.get_mut(&a).unwrap().engine.sid(), a);
        assert!(sessions.get_mut("short").is_none());
        assert!(sessions.get_mut("cccccccccccccccccccc").is_none());
        sessions.get_mut(&b).unwrap().closed_at = Some(Instant::now());
        sessions.retain(|entry| entry.closed_at.is_none());
        let sids: Vec<&str> = sessions.iter().map(|(sid, _)| sid).collect();
        assert_eq!(sids, [a.as_str()]);
        assert!(sessions.get_mut(&b).is_none(), "gone with its slot");
        let copied: Vec<String> = sessions
            .iter_mut()
            .map(|(sid, _)| sid.to_string())
            .collect();
        assert_eq!(copied, std::slice::from_ref(&a));
        assert!(sessions.remove(&a).is_some());
        assert!(sessions.remove(&a).is_none());
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn a_sid_names_its_slot_and_only_its_own_session() {
        let mut sessions = Sessions::default();
        let first = sessions.insert_with(entry);
        assert!(sessions.remove(&first).is_some());
        let second = sessions.insert_with(entry);
        assert_eq!(slot_of(&first), slot_of(&second), "the slot is reused");
        assert!(
            sessions.get_mut(&first).is_none(),
            "a stale sid finds nothing"
        );
        // Same slot, another random part: a guess at the rest finds nothing.
        let mut guess = second.clone().into_bytes();
        guess[19] = if guess[19] == b'A' { b'B' } else { b'A' };
        let guess = String::from_utf8(guess).unwrap();
        assert_eq!(slot_of(&guess), slot_of(&second));
        assert!(sessions.get_mut(&guess).is_none());
        assert!(sessions.get_mut(&second).is_some());
        assert_eq!(slot_of("!!!!!!!!!!!!!!!!!!!!"), None, "not base64");
    }

    #[test]
    fn every_character_reads_back_as_the_digit_it_was_written_as() {
        for (value, &char) in ALPHABET.iter().enumerate() {
            assert_eq!(digit(char), Some(value));
        }
        for slot in [0, 1, 63, 64, 4095, 123_456, (1 << 30) - 1] {
            assert_eq!(slot_of(&new_sid(slot)), Some(slot));
        }
    }

    /// An idle Socket.IO server is mostly this table: a slot per client.
    /// An `Entry` was 880 bytes, then 504 (with no namespace inline),
    /// before its queues and rare lists were made one pointer wide.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_entry_stays_within_432_bytes() {
        let size = std::mem::size_of::<Entry>();
        assert!(size <= 432, "{size}");
    }
}
