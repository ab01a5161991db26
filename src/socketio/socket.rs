//! The application's handles on Socket.IO: a [`Socket`] (one client on
//! one namespace), the [`Ack`] a client asked for, and an [`EngineSocket`]
//! (a raw Engine.IO session). Each method locks the session table for the
//! length of one change and sends what it produced.

use std::sync::Arc;

use serde_json::Value;

use super::server::{with_entry, Entry, Shared};

/// A client joined to one namespace, for the application.
#[derive(Clone)]
pub struct Socket {
    pub(super) shared: Arc<Shared>,
    /// The Engine.IO session it rides on.
    pub(super) session: String,
    pub(super) nsp: String,
    pub(super) id: String,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.nsp)
            .field("id", &self.id)
            .finish()
    }
}

impl Socket {
    /// The socket's id (not the Engine.IO session id, which is secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Handles `event` from this client.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>) + Send + Sync + 'static,
    ) {
        self.with_entry(|entry| {
            entry
                .handlers
                .entry(self.nsp.clone())
                .or_default()
                .insert(event.to_owned(), Arc::new(handler));
        });
    }

    /// Emits `event` with JSON `args`. False when the client is gone.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> bool {
        self.emit_binary(event, args, Vec::new())
    }

    /// Emits `event` with `args` holding placeholders
    /// ([`super::packet::placeholder`]) for the `binary` attachments.
    pub fn emit_binary(&self, event: &str, args: Vec<Value>, binary: Vec<Vec<u8>>) -> bool {
        self.with_entry(|entry| {
            let client = entry.client.as_mut()?;
            client.emit(&self.nsp, event, args, binary, false)
        })
        .flatten()
        .is_some()
    }

    /// Makes the client leave the namespace.
    pub fn disconnect(&self) {
        self.with_entry(|entry| entry.client.as_mut().map(|c| c.disconnect(&self.nsp)));
    }

    fn with_entry<R>(&self, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        with_entry(&self.shared, &self.session, f)
    }
}

/// A raw Engine.IO session, for the application.
#[derive(Clone)]
pub struct EngineSocket {
    pub(super) shared: Arc<Shared>,
    pub(super) session: String,
}

impl EngineSocket {
    /// Sends a text message.
    pub fn send_text(&self, text: &str) {
        with_entry(&self.shared, &self.session, |entry| {
            entry.engine.send_text(text)
        });
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) {
        with_entry(&self.shared, &self.session, |entry| {
            entry.engine.send_binary(data)
        });
    }

    /// Ends the session.
    pub fn close(&self) {
        with_entry(&self.shared, &self.session, |entry| entry.engine.close());
    }
}

/// The answer a client asked for with its event.
pub struct Ack {
    pub(super) socket: Socket,
    pub(super) id: u64,
}

impl Ack {
    /// Sends the answer: JSON `args`.
    pub fn send(self, args: Vec<Value>) {
        self.send_binary(args, Vec::new());
    }

    /// Sends the answer with binary attachments for its placeholders.
    pub fn send_binary(self, args: Vec<Value>, binary: Vec<Vec<u8>>) {
        let Ack { socket, id } = self;
        socket.with_entry(|entry| {
            entry
                .client
                .as_mut()
                .map(|client| client.ack(&socket.nsp, id, args, binary))
        });
    }
}
