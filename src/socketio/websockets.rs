//! Which session each of a worker's WebSockets belongs to.
//!
//! Kept by the worker's [`super::SocketIoHandler`] rather than as the
//! connection's data ([`crate::net::Conn::set_data`]): that slot is a
//! small heap block (or three, with a sid in it) per connection, and an
//! idle server held little else per client. Here a WebSocket costs one
//! 32-byte cell in a vector indexed by its engine slot, which the engine
//! keeps dense, and a lookup is an index and a compare.

use super::sessions::{key, Key, Sid};
use crate::net::ConnId;

/// The sid of each Socket.IO WebSocket of one worker, by engine slot.
#[derive(Default)]
pub(super) struct WebSockets {
    /// The connection in each slot (a slot's next connection has another
    /// id, so a stale cell never matches) and its session's sid.
    by_slot: Vec<Option<(ConnId, Key)>>,
}

impl WebSockets {
    /// `id` belongs to session `sid`. A dialed connection (not in a slot)
    /// or a sid not of ours is not kept, and returns `false`.
    pub(super) fn insert(&mut self, id: ConnId, sid: &str) -> bool {
        let Some(key) = key(sid) else {
            return false;
        };
        if id.ticket().is_some() {
            return false;
        }
        let slot = id.slot();
        if slot >= self.by_slot.len() {
            self.by_slot.resize(slot + 1, None);
        }
        self.by_slot[slot] = Some((id, key));
        true
    }

    /// Whether `id` is a Socket.IO WebSocket.
    #[inline]
    pub(super) fn contains(&self, id: ConnId) -> bool {
        self.key(id).is_some()
    }

    /// Forgets `id`; the sid it belonged to.
    pub(super) fn remove(&mut self, id: ConnId) -> Option<Sid> {
        let cell = self.by_slot.get_mut(id.slot())?;
        let (_, key) = cell.take_if(|(held, _)| *held == id)?;
        Some(Sid(key))
    }

    /// The sid of the session `id` belongs to, borrowed.
    #[inline]
    pub(super) fn key(&self, id: ConnId) -> Option<&Key> {
        match self.by_slot.get(id.slot())? {
            Some((held, key)) if *held == id => Some(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_is_found_by_its_exact_id_and_forgotten() {
        let mut sockets = WebSockets::default();
        let (a, b) = ("aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb");
        let first = ConnId::new(0, 1, 7);
        let reused = ConnId::new(0, 2, 7);
        assert!(sockets.insert(first, a));
        assert!(sockets.insert(ConnId::new(0, 1, 2), b));
        assert_eq!(sockets.key(first).map(|key| key.as_str()), Some(a));
        assert!(!sockets.contains(reused), "the slot's next connection");
        assert!(!sockets.contains(ConnId::new(0, 1, 100)), "past the end");
        assert!(
            !sockets.insert(ConnId::new(0, 1, 3), "short"),
            "not our sid"
        );
        assert!(!sockets.insert(ConnId::dialed(0, 5), a), "not in a slot");
        assert_eq!(sockets.remove(first).as_deref(), Some(a));
        assert!(sockets.remove(first).is_none());
        assert!(!sockets.contains(first));
        assert!(sockets.contains(ConnId::new(0, 1, 2)));
        assert!(
            sockets.remove(ConnId::new(0, 1, 100)).is_none(),
            "past the end"
        );
    }

    #[test]
    fn a_cell_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Option<(ConnId, Key)>>(), 32);
    }
}
