//! The application's handles on Socket.IO: a [`Socket`] (one client on
//! one namespace), the [`Ack`] a client asked for, a [`Broadcast`] to the
//! sockets of a namespace or its rooms, and an [`EngineSocket`] (a raw
//! Engine.IO session). Each method locks the session table for the length
//! of one change and sends what it produced; the application's handlers
//! run after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_str::CompactString;
use serde_json::Value;

use super::packet::{append_ack, Packet};
use super::recovery::{Audience, Rooms};
use super::server::{
    lock, pump, run, stamp, with_entry, with_entry_then, Entry, EventHandler, OnDisconnect,
    PendingAck, Shared, SocketIo,
};
use crate::engineio;
use crate::net::OwnedMessage;

/// Why an emit's ack never came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckError {
    /// Not within the time given.
    Timeout,
    /// The client left first.
    Disconnected,
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "no ack in time",
            AckError::Disconnected => "the client left before it acked",
        })
    }
}

impl std::error::Error for AckError {}

/// A client joined to one namespace, for the application.
#[derive(Clone)]
pub struct Socket {
    pub(super) shared: Arc<Shared>,
    /// The Engine.IO session it rides on.
    pub(super) session: CompactString,
    pub(super) nsp: CompactString,
    pub(super) id: CompactString,
    /// It came back through connection-state recovery.
    pub(super) recovered: bool,
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
    /// The server the socket is on (Node's `socket.nsp.server`): for
    /// broadcasts to other namespaces and, with Redis, server-side events.
    pub fn io(&self) -> SocketIo {
        SocketIo {
            shared: self.shared.clone(),
        }
    }

    /// The socket's id (not the Engine.IO session id, which is secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// The socket came back through connection-state recovery: its id and
    /// rooms are the old ones, and the events it missed were sent again.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// A parameter of the query string the client opened its session with
    /// (`io(url, { query: { q: "x" } })`), percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Every parameter of the query string the session was opened with,
    /// percent-decoded, in order; Engine.IO's own (`EIO`, `transport`,
    /// `sid`, `t`) are not kept.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.with_entry(|entry| {
            let pairs = entry.query.split('&').filter(|pair| !pair.is_empty());
            pairs
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Handles `event` from this client.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&Socket, Vec<Value>, Vec<Vec<u8>>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let handler: EventHandler = Arc::new(handler);
        self.with_entry(|entry| {
            let Some(member) = entry.member_mut(&self.nsp) else {
                return;
            };
            match member.handlers.iter_mut().find(|(name, _)| name == event) {
                Some((_, old)) => *old = handler,
                None => member.handlers.push((event.to_owned(), handler)),
            }
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
            let to = Audience::Socket(self.id.as_str().into());
            let args = stamp(&self.shared, &self.nsp, to, event, args, &binary);
            client.emit(&self.nsp, event, args, binary, false)
        })
        .flatten()
        .is_some()
    }

    /// Emits `event` and asks the client to answer: `on_ack` runs with the
    /// answer's arguments, or with [`AckError`] when none comes within
    /// `timeout` or the client leaves. False when the client is gone.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        on_ack: impl FnOnce(Result<Vec<Value>, AckError>) + Send + 'static,
    ) -> bool {
        self.emit_binary_with_ack(event, args, Vec::new(), timeout, on_ack)
    }

    /// [`Socket::emit_with_ack`] with binary attachments for the
    /// placeholders.
    pub fn emit_binary_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        binary: Vec<Vec<u8>>,
        timeout: Duration,
        on_ack: impl FnOnce(Result<Vec<Value>, AckError>) + Send + 'static,
    ) -> bool {
        self.with_entry(|entry| {
            let client = entry.client.as_mut()?;
            let id = client.emit(&self.nsp, event, args, binary, true)??;
            let pending = PendingAck {
                deadline: Instant::now() + timeout,
                callback: Box::new(on_ack),
            };
            entry.pending_acks.insert(&self.nsp, id, pending);
            Some(())
        })
        .flatten()
        .is_some()
    }

    /// Runs `handler` when the socket leaves its namespace, with the reason.
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let call = OnDisconnect::new(Arc::new(handler), self);
        self.with_entry(|entry| {
            if let Some(member) = entry.member_mut(&self.nsp) {
                member.on_disconnect = Some(Box::new(call));
            }
        });
    }

    /// Makes the client leave the namespace (it is told, and will not
    /// rejoin by itself); with `close`, the whole connection ends too.
    pub fn disconnect(&self, close: bool) {
        let mut deferred = Vec::new();
        self.with_entry(|entry| {
            if let Some(client) = entry.client.as_mut() {
                client.disconnect(&self.nsp);
            }
            entry.left(&self.nsp, "server namespace disconnect", &mut deferred);
            if close {
                // The `41` goes out before the connection closes.
                entry.flush_client(None);
                entry.engine.close();
            }
        });
        run(deferred);
    }

    /// Drops the client's connection (its Engine.IO session) without a
    /// word: a client that reconnects by itself will.
    pub fn drop_connection(&self) {
        self.with_entry(|entry| entry.engine.close());
    }

    /// Puts the socket in `room` of its namespace.
    pub fn join(&self, room: &str) {
        self.with_entry(|entry| {
            if let Some(member) = entry.member_mut(&self.nsp) {
                member.rooms.insert(room);
            }
        });
    }

    /// Takes the socket out of `room`.
    pub fn leave(&self, room: &str) {
        self.with_entry(|entry| {
            if let Some(member) = entry.member_mut(&self.nsp) {
                member.rooms.remove(room);
            }
        });
    }

    /// The rooms the socket is in (its own id's room aside).
    pub fn rooms(&self) -> Vec<String> {
        self.with_entry(|entry| {
            let member = entry.member(&self.nsp);
            member
                .map(|member| member.rooms.iter().cloned().collect())
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    /// The `auth` payload the client joined the namespace with
    /// (`io(url, { auth: {...} })`), as Node's `socket.handshake.auth`.
    pub fn auth(&self) -> Option<Value> {
        self.with_entry(|entry| entry.member(&self.nsp)?.auth.as_deref().cloned())
            .flatten()
    }

    /// A broadcast to the sockets in `room`, this one left out.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every other socket of the namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            except_session: Some(self.session.to_string()),
            except_socket: Some(self.id.to_string()),
            ..Broadcast::new(self.shared.clone(), &self.nsp)
        }
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
    /// While its event is being served on the session's WebSocket, which
    /// sent directly when the event came: the answer may be written there
    /// without the session's lock (see [`super::direct::ticket`]).
    pub(super) direct: Option<super::direct::Ticket>,
}

impl Ack {
    /// Sends the answer: JSON `args`.
    pub fn send(self, args: Vec<Value>) {
        self.send_binary(args, Vec::new());
    }

    /// Sends the answer with binary attachments for its placeholders.
    pub fn send_binary(self, args: Vec<Value>, binary: Vec<Vec<u8>>) {
        let Ack { socket, id, direct } = self;
        let args = match (direct, socket.shared.handle.get()) {
            (Some(ticket), Some(handle)) if binary.is_empty() => {
                let encode = |out: &mut String| {
                    append_ack(out, crate::engineio::MESSAGE, &socket.nsp, id, &args)
                };
                if super::direct::send_text_with_ticket(handle, ticket, encode).is_none() {
                    super::json::recycle(args);
                    return;
                }
                args
            }
            _ => args,
        };
        with_entry_then(&socket.shared, &socket.session, |entry, handle| {
            ((), entry.answer(handle, &socket.nsp, id, args, binary))
        });
    }
}

/// An emit to many sockets of one namespace: all of them, or those in the
/// rooms named with [`Broadcast::to`], less those in the rooms named with
/// [`Broadcast::except`] (and less the sender, when it came from a socket).
#[derive(Clone)]
pub struct Broadcast {
    shared: Arc<Shared>,
    nsp: String,
    pub(super) rooms: Vec<String>,
    pub(super) except: Vec<String>,
    except_session: Option<String>,
    /// The sender's socket id, when it is left out.
    except_socket: Option<String>,
    /// To this server's sockets only, not through Redis.
    local: bool,
}

impl Broadcast {
    pub(super) fn new(shared: Arc<Shared>, nsp: &str) -> Self {
        Broadcast {
            shared,
            nsp: nsp.to_owned(),
            rooms: Vec::new(),
            except: Vec::new(),
            except_session: None,
            except_socket: None,
            local: false,
        }
    }

    /// Only sockets in `room` (or in any room named so far).
    pub fn to(mut self, room: &str) -> Self {
        self.rooms.push(room.to_owned());
        self
    }

    /// Not the sockets in `room`.
    pub fn except(mut self, room: &str) -> Self {
        self.except.push(room.to_owned());
        self
    }

    /// To this server's sockets only: with Socket.IO linked to Redis
    /// ([`SocketIoConfig::redis`](super::SocketIoConfig)), the other
    /// servers do not get it (Node's `io.local`).
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Emits `event` with `args` to each socket it reaches; returns how
    /// many on this server. Linked to Redis, and not
    /// [`local`](Broadcast::local), it also goes to the other servers' sockets.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> usize {
        self.emit_binary(event, args, Vec::new())
    }

    /// [`Broadcast::emit`] with binary attachments for the placeholders.
    pub fn emit_binary(&self, event: &str, args: Vec<Value>, binary: Vec<Vec<u8>>) -> usize {
        let Some(handle) = self.shared.handle.get() else {
            return 0;
        };
        let mut deferred = Vec::new();
        let mut reached = 0;
        let mut sessions = lock(&self.shared.sessions);
        let to = Audience::Rooms(Box::new(Rooms {
            rooms: self.rooms.clone(),
            except: self.except.clone(),
            except_socket: self.except_socket.clone(),
        }));
        #[cfg(feature = "redis")]
        if let Some(adapter) = self.shared.adapter.get().filter(|_| !self.local) {
            // Node leaves the sender out through the room of its own id.
            let mut except = self.except.clone();
            except.extend(self.except_socket.clone());
            adapter.publish(&self.nsp, &self.rooms, except, event, &args, &binary);
        }
        let args = stamp(&self.shared, &self.nsp, to, event, args, &binary);
        // Framed once, for every recipient the frames can go to directly,
        // and handed to each worker in one command.
        let mut direct = Vec::new();
        for (sid, entry) in sessions.iter_mut() {
            if self.except_session.as_deref() == Some(&*sid) || !self.reaches(entry) {
                continue;
            }
            if let Some(conn) = entry.direct_ws(&self.nsp) {
                direct.push(conn);
                reached += 1;
                continue;
            }
            let Some(client) = entry.client.as_mut() else {
                continue;
            };
            let sent = client.emit(&self.nsp, event, args.clone(), binary.clone(), false);
            if sent.is_some() {
                reached += 1;
                deferred.extend(pump(&self.shared, &sid, entry, handle));
            }
        }
        // Sent under the lock, so nothing emitted after this broadcast
        // overtakes it.
        if !direct.is_empty() {
            for frame in broadcast_frames(&self.nsp, event, args, binary) {
                handle.send_many(&direct, frame);
            }
        }
        drop(sessions);
        run(deferred);
        reached
    }

    /// The sockets on this server it reaches.
    pub fn sockets(&self) -> Vec<Socket> {
        let sessions = lock(&self.shared.sessions);
        let reached = sessions.iter().filter(|(sid, entry)| {
            self.except_session.as_deref() != Some(*sid) && self.reaches(entry)
        });
        reached
            .filter_map(|(sid, entry)| {
                let id = entry.client.as_ref()?.sid(&self.nsp)?;
                Some(Socket {
                    shared: self.shared.clone(),
                    session: (*sid).into(),
                    nsp: self.nsp.as_str().into(),
                    id: id.into(),
                    recovered: false,
                })
            })
            .collect()
    }

    /// Whether the session's socket on the namespace is a recipient.
    fn reaches(&self, entry: &Entry) -> bool {
        // Each socket is also in the room named by its own id, as in Node.
        let own = entry
            .client
            .as_ref()
            .and_then(|client| client.sid(&self.nsp));
        // Looked up once for both lists (the rooms, then `except`).
        let rooms = entry.member(&self.nsp).map(|member| &member.rooms);
        let in_room = |room: &String| {
            own == Some(room.as_str()) || rooms.is_some_and(|rooms| rooms.contains(room))
        };
        (self.rooms.is_empty() || self.rooms.iter().any(in_room))
            && !self.except.iter().any(in_room)
    }
}

/// A broadcast's Engine.IO messages as they go on a WebSocket: the event
/// packet, then its attachments.
fn broadcast_frames(
    nsp: &str,
    event: &str,
    args: Vec<Value>,
    binary: Vec<Vec<u8>>,
) -> Vec<Arc<OwnedMessage>> {
    let packet = Packet::event(nsp, event, args, binary.len());
    let text = packet.encode_after(engineio::MESSAGE);
    let mut frames = vec![Arc::new(OwnedMessage::Text(text))];
    frames.extend(
        binary
            .into_iter()
            .map(|data| Arc::new(OwnedMessage::Binary(data))),
    );
    frames
}

/// `%XX` and `+` of a query string decoded; malformed escapes stay as they
/// are, and bytes that are not UTF-8 become U+FFFD.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (other, _, _) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
