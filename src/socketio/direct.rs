//! Replies written at once to the WebSocket being served.
//!
//! Everything a session sends goes out through the engine's mailbox
//! ([`ServerHandle::send`]): any thread may emit, and the mailbox keeps
//! each connection's messages in order. For the commonest case, an ack or
//! an emit in answer to the client's own message, that costs a shared
//! allocation, the mailbox's lock, a wake of the worker and a second pass
//! over the connection. While its worker runs the handler for a WebSocket's
//! message, messages for that same WebSocket are kept here instead, and the
//! handler writes them when the session's lock is let go.
//!
//! Order: a message is kept only while the worker's mailbox is empty, so
//! it can overtake nothing queued before it. Once something is queued
//! (a close, a broadcast, another thread's emit), the messages after it
//! go through the mailbox too.
//!
//! An ack answered while its event is being served may be written without
//! the session's lock ([`Ticket`]): see [`ticket`] for why that is safe.

use std::cell::RefCell;
use std::ops::Range;

use crate::net::{ConnId, Message, OwnedMessage, ServerHandle};

/// The WebSocket being served on this thread, and what was kept for it.
struct Serving {
    conn: Option<ConnId>,
    /// Counts outermost servings on this thread: a [`Ticket`] is good for
    /// the one it was taken in.
    scope: u64,
    kept: Vec<Kept>,
    /// The text of kept messages that were encoded here, one after
    /// another: an ack costs no allocation of its own.
    texts: String,
}

/// A message kept for the WebSocket being served.
enum Kept {
    /// Its text is this part of [`Serving::texts`].
    Text(Range<usize>),
    Owned(OwnedMessage),
}

/// Past this capacity, the buffer of kept texts is given back when a
/// message has been served, not kept for the next one.
const KEEP_TEXTS_UP_TO: usize = 64 * 1024;

thread_local! {
    // Built in place (`const`): every message reads it several times, and
    // a lazily made one checks its state on each read.
    static SERVING: RefCell<Serving> = const {
        RefCell::new(Serving {
            conn: None,
            scope: 0,
            kept: Vec::new(),
            texts: String::new(),
        })
    };
}

/// Runs `f` while `conn`'s message is being served, then hands `write`
/// the messages kept for `conn` meanwhile, in order. (Called again from
/// within `f`, it just runs `f`: the outer call writes what is kept.)
pub(super) fn serving<R>(
    conn: ConnId,
    f: impl FnOnce() -> R,
    mut write: impl FnMut(Message<'_>),
) -> R {
    let outermost = SERVING.with_borrow_mut(|serving| {
        let outermost = serving.conn.is_none();
        if outermost {
            serving.conn = Some(conn);
            serving.scope = serving.scope.wrapping_add(1);
        }
        outermost
    });
    if !outermost {
        return f();
    }
    let (result, mut kept, mut texts) = {
        // Serving ends even if `f` unwinds, or later messages for `conn`
        // would be kept and never written (or written to another).
        let _end = EndServing;
        let result = f();
        let (kept, texts) = SERVING.with_borrow_mut(|serving| {
            (
                std::mem::take(&mut serving.kept),
                std::mem::take(&mut serving.texts),
            )
        });
        (result, kept, texts)
    };
    for message in kept.drain(..) {
        match message {
            Kept::Text(range) => write(Message::Text(&texts[range])),
            Kept::Owned(OwnedMessage::Text(text)) => write(Message::Text(&text)),
            Kept::Owned(OwnedMessage::Binary(data)) => write(Message::Binary(&data)),
        }
    }
    texts.clear();
    if texts.capacity() > KEEP_TEXTS_UP_TO {
        texts = String::new();
    }
    // The storage serves the next message.
    SERVING.with_borrow_mut(|serving| {
        serving.kept = kept;
        serving.texts = texts;
    });
    result
}

/// Ends serving when dropped, forgetting what an unwinding `f` kept.
struct EndServing;

impl Drop for EndServing {
    fn drop(&mut self) {
        SERVING.with_borrow_mut(|serving| {
            serving.conn = None;
            serving.kept.clear();
            serving.texts.clear();
        });
    }
}

/// Whether a message for `conn` may be kept: `conn` is the WebSocket being
/// served and nothing waits in its worker's mailbox.
fn may_keep(serving: &Serving, handle: &ServerHandle, conn: ConnId) -> bool {
    serving.conn == Some(conn) && handle.mailbox_is_empty(conn.worker())
}

/// Sends `message` to `conn`: kept for the handler to write, when it may
/// be; through the mailbox otherwise.
pub(super) fn send(handle: &ServerHandle, conn: ConnId, message: OwnedMessage) {
    let message = SERVING.with_borrow_mut(|serving| {
        if may_keep(serving, handle, conn) {
            serving.kept.push(Kept::Owned(message));
            None
        } else {
            Some(message)
        }
    });
    if let Some(message) = message {
        handle.send(conn, message);
    }
}

/// Leave to write to the WebSocket being served, within this serving,
/// without taking its session's lock ([`ticket`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    conn: ConnId,
    scope: u64,
}

/// A ticket for `conn`, when it is the WebSocket being served. The caller
/// takes it under the session's lock, having found that the session sends
/// directly on `conn` (nothing of the session's is queued, it is open and
/// not upgrading).
///
/// Why a message may then be written later in this serving without the
/// lock: whatever could have to go before it on `conn` is either this
/// thread's, written in this serving and so kept ahead of it, or another
/// thread's. Another thread's packets for a session that sends directly,
/// its close and its namespace leaves all go through the worker's mailbox
/// ([`send`] mails from any thread but the serving one; a close is a
/// mailbox command), and a message is kept only while that mailbox is
/// empty ([`send_text_with_ticket`]).
pub(super) fn ticket(conn: ConnId) -> Option<Ticket> {
    SERVING.with_borrow(|serving| {
        (serving.conn == Some(conn)).then_some(Ticket {
            conn,
            scope: serving.scope,
        })
    })
}

/// Keeps the text `encode` appends for `ticket`'s WebSocket, if the ticket
/// is still good: its serving goes on and nothing waits in the worker's
/// mailbox. Otherwise `encode` is handed back, not run; the caller then
/// sends under the session's lock.
pub(super) fn send_text_with_ticket<F: FnOnce(&mut String)>(
    handle: &ServerHandle,
    ticket: Ticket,
    encode: F,
) -> Option<F> {
    SERVING.with_borrow_mut(|serving| {
        if serving.scope != ticket.scope || !may_keep(serving, handle, ticket.conn) {
            return Some(encode);
        }
        keep_text(serving, encode);
        None
    })
}

/// Keeps the text `encode` appends, in the buffer of kept texts.
fn keep_text(serving: &mut Serving, encode: impl FnOnce(&mut String)) {
    let start = serving.texts.len();
    encode(&mut serving.texts);
    let end = serving.texts.len();
    serving.kept.push(Kept::Text(start..end));
}

/// Sends to `conn` the text message `encode` appends to the `String` it is
/// given: kept, when it may be, in the buffer of kept texts; otherwise
/// written into a `String` of its own and mailed.
///
/// `encode` runs while this thread's buffer is borrowed: it must only
/// write text, never send (a nested send would panic on the `RefCell`).
pub(super) fn send_text_with(
    handle: &ServerHandle,
    conn: ConnId,
    encode: impl FnOnce(&mut String),
) {
    let encode = SERVING.with_borrow_mut(|serving| {
        if !may_keep(serving, handle, conn) {
            return Some(encode);
        }
        keep_text(serving, encode);
        None
    });
    if let Some(encode) = encode {
        let mut text = String::new();
        encode(&mut text);
        handle.send(conn, OwnedMessage::Text(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::handle::{Command, Mailbox};

    fn text(text: &str) -> OwnedMessage {
        OwnedMessage::Text(text.to_owned())
    }

    /// A handle on one worker that never runs: its mailbox can be read.
    fn handle() -> (ServerHandle, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(0)).unwrap();
        let handle = ServerHandle::new(vec![Mailbox::new(waker, usize::MAX)]);
        (handle, poll)
    }

    fn mailed(handle: &ServerHandle) -> Vec<(ConnId, OwnedMessage)> {
        let queue = handle.mailbox(0).queue.lock().unwrap();
        let sends = queue.commands.iter().filter_map(|command| match command {
            Command::Send(id, message) => Some((*id, (**message).clone())),
            _ => None,
        });
        sends.collect()
    }

    #[test]
    fn replies_to_the_websocket_served_are_kept_until_something_is_mailed() {
        let (handle, _poll) = handle();
        let (served, other) = (ConnId::new(0, 1, 1), ConnId::new(0, 1, 2));
        let mut written = Vec::new();
        serving(
            served,
            || {
                send(&handle, served, text("a"));
                send(&handle, served, text("b"));
                send(&handle, other, text("to another"));
                // Kept, it would overtake "to another" if that were a
                // broadcast reaching `served` too: mailed after it.
                send(&handle, served, text("c"));
            },
            |message| written.push(OwnedMessage::from(message)),
        );
        assert_eq!(written, [text("a"), text("b")]);
        assert_eq!(
            mailed(&handle),
            [(other, text("to another")), (served, text("c"))]
        );
        send(&handle, served, text("after"));
        assert_eq!(mailed(&handle).len(), 3, "not served any more: mailed");
    }

    #[test]
    fn encoded_texts_keep_their_place_among_owned_messages() {
        let (handle, _poll) = handle();
        let (served, other) = (ConnId::new(0, 1, 1), ConnId::new(0, 1, 2));
        let encode = |text: &'static str| move |out: &mut String| out.push_str(text);
        for round in 0..2 {
            let mut written = Vec::new();
            serving(
                served,
                || {
                    send_text_with(&handle, served, encode("first"));
                    send(&handle, served, text("second"));
                    send_text_with(&handle, served, encode(""));
                    send_text_with(&handle, served, encode("fourth"));
                    send(&handle, served, OwnedMessage::Binary(vec![5]));
                },
                |message| written.push(OwnedMessage::from(message)),
            );
            let expected = [
                text("first"),
                text("second"),
                text(""),
                text("fourth"),
                OwnedMessage::Binary(vec![5]),
            ];
            assert_eq!(written, expected, "round {round}: the buffer is reused");
        }
        // Not the one served, or not serving at all: each in a String of
        // its own, through the mailbox.
        serving(
            served,
            || send_text_with(&handle, other, encode("mailed")),
            |_| unreachable!("nothing kept"),
        );
        send_text_with(&handle, served, encode("outside"));
        assert_eq!(
            mailed(&handle),
            [(other, text("mailed")), (served, text("outside"))]
        );
    }

    #[test]
    fn a_ticket_is_good_within_its_serving_while_the_mailbox_is_empty() {
        let (handle, _poll) = handle();
        let (served, other) = (ConnId::new(0, 1, 1), ConnId::new(0, 1, 2));
        let encode = |text: &'static str| move |out: &mut String| out.push_str(text);
        let mut written = Vec::new();
        let mut taken = None;
        serving(
            served,
            || {
                assert_eq!(ticket(other), None, "not the WebSocket served");
                let ticket = ticket(served).expect("served");
                taken = Some(ticket);
                send(&handle, served, text("first"));
                assert!(send_text_with_ticket(&handle, ticket, encode("second")).is_none());
            },
            |message| written.push(OwnedMessage::from(message)),
        );
        assert_eq!(written, [text("first"), text("second")], "kept in order");

        // Out of its serving, or in a later one, a ticket is refused.
        let old = taken.expect("taken");
        assert!(send_text_with_ticket(&handle, old, encode("x")).is_some());
        serving(
            served,
            || assert!(send_text_with_ticket(&handle, old, encode("x")).is_some()),
            |_| unreachable!("nothing kept"),
        );

        // Once anything waits in the mailbox, the ticket is refused too.
        let mut written = Vec::new();
        serving(
            served,
            || {
                let ticket = ticket(served).expect("served");
                send(&handle, other, text("mailed"));
                assert!(send_text_with_ticket(&handle, ticket, encode("refused")).is_some());
            },
            |message| written.push(OwnedMessage::from(message)),
        );
        assert!(written.is_empty());
        assert_eq!(mailed(&handle), [(other, text("mailed"))]);
    }

    #[test]
    fn a_nested_call_leaves_the_writing_to_the_outer_one() {
        let (handle, _poll) = handle();
        let served = ConnId::new(0, 1, 1);
        let mut inner_written = Vec::new();
        let mut written = Vec::new();
        serving(
            served,
            || {
                serving(
                    ConnId::new(0, 1, 9),
                    || send(&handle, served, text("x")),
                    |message| inner_written.push(OwnedMessage::from(message)),
                );
            },
            |message| written.push(OwnedMessage::from(message)),
        );
        assert!(inner_written.is_empty());
        assert_eq!(written, [text("x")]);
    }

    #[test]
    fn a_handler_that_panics_ends_the_serving() {
        let (handle, _poll) = handle();
        let served = ConnId::new(0, 1, 1);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serving(
                served,
                || {
                    send(&handle, served, text("lost"));
                    panic!("a handler's bug");
                },
                |_| unreachable!("nothing is written for a handler that panicked"),
            )
        }));
        assert!(unwound.is_err());
        let mut written = Vec::new();
        serving(
            served,
            || send(&handle, served, text("next")),
            |m| written.push(OwnedMessage::from(m)),
        );
        assert_eq!(written, [text("next")], "nothing left over from before");
        send(&handle, served, text("outside"));
        assert_eq!(mailed(&handle), [(served, text("outside"))]);
    }
}
