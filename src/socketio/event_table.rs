//! Each thread's copy of a server's event handlers ([`SocketIo::on`]).
//!
//! Every event a client sends is looked up by namespace and name. In the
//! shared table that takes the namespaces' read lock and a clone of the
//! handler's `Arc`, dropped after the call: four atomic operations, about
//! 3% of the server's time at 1.8M emits a second (`perf`). A thread keeps
//! a copy of the table instead, checked against the table's version (a
//! plain load), and runs the handler from its copy: an `Rc` count, no lock.
//!
//! A copy holds the handlers (and what they captured) until the server's
//! table changes or the thread ends. Events run on the engine's workers,
//! which end with the server.
//!
//! [`SocketIo::on`]: super::SocketIo::on

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::PoisonError;

use super::server::{EventHandler, Names, Shared};

/// Tells servers apart in a thread's copies (an address could be reused).
static NEXT_SERVER: AtomicU64 = AtomicU64::new(0);

/// A new server's id.
pub(super) fn server_id() -> u64 {
    NEXT_SERVER.fetch_add(1, Ordering::Relaxed)
}

/// One server's event handlers: namespace, then event name, to an index
/// into `handlers`.
struct Table {
    by_name: Names<Names<usize>>,
    handlers: Vec<EventHandler>,
}

/// A handler found in this thread's copy.
pub(super) struct Found {
    table: Rc<Table>,
    index: usize,
}

impl Found {
    pub(super) fn handler(&self) -> &EventHandler {
        &self.table.handlers[self.index]
    }
}

/// A thread's copy of one server's table, as of `version`.
struct Copy {
    server: u64,
    version: u64,
    table: Rc<Table>,
}

/// A thread keeps copies for this many servers (one, nearly always).
const KEPT: usize = 4;

thread_local! {
    static COPIES: RefCell<Vec<Copy>> = const { RefCell::new(Vec::new()) };
}

/// The handler of `event` on namespace `nsp`, from this thread's copy of
/// the server's table (made again when the table changed).
pub(super) fn find(shared: &Shared, nsp: &str, event: &str) -> Option<Found> {
    let version = shared.events_version.load(Ordering::Acquire);
    let table = COPIES.with_borrow_mut(|copies| {
        let at = copies.iter().position(|copy| copy.server == shared.id);
        match at {
            Some(at) if copies[at].version == version => copies[at].table.clone(),
            _ => {
                if let Some(at) = at {
                    copies.remove(at);
                } else if copies.len() == KEPT {
                    copies.remove(0);
                }
                let copy = copy_of(shared);
                let table = copy.table.clone();
                copies.push(copy);
                table
            }
        }
    });
    let index = *table.by_name.get(nsp)?.get(event)?;
    Some(Found { table, index })
}

/// A copy of `shared`'s table, with the version it is of.
fn copy_of(shared: &Shared) -> Copy {
    let namespaces = shared.namespaces.read();
    let namespaces = namespaces.unwrap_or_else(PoisonError::into_inner);
    // Edits bump the version under the write lock: it is the copy's.
    let version = shared.events_version.load(Ordering::Acquire);
    let mut handlers = Vec::new();
    let by_name = namespaces
        .iter()
        .map(|(nsp, namespace)| {
            let events = namespace.events.iter().map(|(event, handler)| {
                handlers.push(handler.clone());
                (event.clone(), handlers.len() - 1)
            });
            (nsp.clone(), events.collect())
        })
        .collect();
    Copy {
        server: shared.id,
        version,
        table: Rc::new(Table { by_name, handlers }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::socketio::{SocketIo, SocketIoConfig};

    /// The handler the shared table has for `event` on `/`.
    fn shared_handler(io: &SocketIo, event: &str) -> EventHandler {
        let namespaces = io.shared.namespaces.read().unwrap();
        namespaces["/"].events[event].clone()
    }

    fn found_is(io: &SocketIo, event: &str) -> bool {
        let found = find(&io.shared, "/", event).expect("found");
        Arc::ptr_eq(found.handler(), &shared_handler(io, event))
    }

    #[test]
    fn a_threads_copy_follows_every_change_and_servers_stay_apart() {
        let io = SocketIo::new(SocketIoConfig::default());
        io.on("/", "a", |_, _, _, _| {});
        assert!(found_is(&io, "a"));
        assert!(find(&io.shared, "/", "b").is_none());
        assert!(find(&io.shared, "/other", "a").is_none());

        // Added and replaced after the copy was made: seen.
        io.on("/", "b", |_, _, _, _| {});
        assert!(found_is(&io, "b"));
        io.on("/", "a", |_, _, _, _| {});
        assert!(
            found_is(&io, "a"),
            "the new handler, not the copy's old one"
        );

        // Another server on the same thread has a copy of its own.
        let other = SocketIo::new(SocketIoConfig::default());
        other.on("/", "c", |_, _, _, _| {});
        assert!(find(&other.shared, "/", "a").is_none());
        assert!(found_is(&other, "c"));
        assert!(find(&io.shared, "/", "c").is_none());
        assert!(found_is(&io, "a"));
    }
}
