//! The table of Engine.IO sessions, by sid.
//!
//! An idle Socket.IO server is mostly this table, so it is laid out for
//! memory: the entries sit side by side in one slab (not a small heap
//! block each, scattered between the short-lived blocks of connections
//! coming and going), and the index holds each sid inline. Our sids are
//! 20 characters ([`super::server::new_id`]); any other string is no sid
//! of ours.

use std::collections::HashMap;

use slab::Slab;

use super::server::Entry;

/// A sid, as the index holds it.
pub(super) type Key = [u8; 20];

pub(super) fn key(sid: &str) -> Option<Key> {
    sid.as_bytes().try_into().ok()
}

/// The sid a key was made from (always UTF-8: it came from a `&str`).
pub(super) fn sid(key: &Key) -> &str {
    std::str::from_utf8(key).unwrap_or_default()
}

/// The sessions: each [`Entry`] under its sid.
#[derive(Default)]
pub(super) struct Sessions {
    index: HashMap<Key, usize>,
    entries: Slab<(Key, Entry)>,
}

impl Sessions {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds a session; a sid that is not 20 characters is refused (never
    /// ours) and given back.
    pub(super) fn insert(&mut self, sid: String, entry: Entry) -> Result<(), String> {
        let Some(key) = key(&sid) else {
            return Err(sid);
        };
        if let Some(old) = self.index.remove(&key) {
            self.entries.remove(old);
        }
        let slot = self.entries.insert((key, entry));
        self.index.insert(key, slot);
        Ok(())
    }

    pub(super) fn get_mut(&mut self, sid: &str) -> Option<&mut Entry> {
        let slot = *self.index.get(&key(sid)?)?;
        Some(&mut self.entries[slot].1)
    }

    pub(super) fn remove(&mut self, sid: &str) -> Option<Entry> {
        let slot = self.index.remove(&key(sid)?)?;
        Some(self.entries.remove(slot).1)
    }

    /// Each session with its sid.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(_, (key, entry))| (sid(key), entry))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Entry)> {
        self.entries
            .iter_mut()
            .map(|(_, (key, entry))| (sid(key), entry))
    }

    /// Keeps the sessions `keep` says to keep.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let index = &mut self.index;
        self.entries.retain(|_, (key, entry)| {
            let kept = keep(entry);
            if !kept {
                index.remove(key);
            }
            kept
        });
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

    fn entry(sid: &str) -> Entry {
        let now = Instant::now();
        let engine = Session::new(sid.into(), Transport::Polling, EngineConfig::default(), now);
        Entry::new(engine, false, Duration::from_secs(45), now)
    }

    #[test]
    fn sessions_are_found_by_sid_and_forgotten() {
        let mut sessions = Sessions::default();
        let (a, b) = ("aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb");
        assert!(sessions.insert(a.into(), entry(a)).is_ok());
        assert!(sessions.insert(b.into(), entry(b)).is_ok());
        assert_eq!(
            sessions.insert("short".into(), entry("short")),
            Err("short".to_owned()),
            "not a sid of ours"
        );
        assert_eq!(sessions.len(), 2);
        assert!(sessions.get_mut(a).is_some());
        assert!(sessions.get_mut("short").is_none());
        assert!(sessions.get_mut("cccccccccccccccccccc").is_none());
        sessions.get_mut(b).unwrap().closed_at = Some(Instant::now());
        sessions.retain(|entry| entry.closed_at.is_none());
        let sids: Vec<&str> = sessions.iter().map(|(sid, _)| sid).collect();
        assert_eq!(sids, [a]);
        assert!(sessions.get_mut(b).is_none(), "its index went with it");
        assert!(sessions.remove(a).is_some());
        assert!(sessions.remove(a).is_none());
        assert_eq!(sessions.len(), 0);
    }

    /// An idle Socket.IO server is mostly this table: a slot per client.
    /// An `Entry` was 880 bytes, then 504 (with no namespace inline),
    /// before its queues and rare lists were made one pointer wide.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_table_slot_stays_within_480_bytes() {
        let size = std::mem::size_of::<(Key, Entry)>();
        assert!(size <= 480, "{size}");
    }
}
