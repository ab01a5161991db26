//! Socket.IO v5 over Engine.IO v4 (feature `socketio`), natively on the
//! engine's loops: the official `socket.io-client` (WebSocket, long-polling,
//! and polling upgraded to WebSocket) and python-socketio connect to it.
//!
//! The tutorial's example, in Rust: on connection the server emits `news`,
//! and it answers the client's `anotherNews` through the client's ack.
//!
//! ```no_run
//! use serde_json::json;
//! use simdws::net::{Server, ServerConfig};
//! use simdws::socketio::{SocketIo, SocketIoConfig};
//!
//! let io = SocketIo::new(SocketIoConfig::default());
//! io.ns("/", |socket, _auth| {
//!     socket.emit("news", vec![json!({"hello": "world"})]);
//!     socket.on("anotherNews", |_socket, args, _binary, ack| {
//!         println!("the client says {args:?}");
//!         if let Some(ack) = ack {
//!             ack.send(vec![json!({"ok": true})]);
//!         }
//!     });
//! });
//! let server = Server::start(ServerConfig::default(), move |_, handle| io.handler(handle))?;
//! server.join();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! * [`SocketIo`]: namespaces ([`SocketIo::ns`]), event handlers shared by
//!   every socket of a namespace ([`SocketIo::on`]), broadcasts
//!   ([`SocketIo::of`]), a raw Engine.IO endpoint ([`SocketIo::engine_io`]);
//!   [`SocketIoConfig`] holds the heartbeat, payload limit, timeouts, path
//!   and CORS.
//! * [`Socket`]: one client on one namespace: `on`, `emit`,
//!   `emit_with_ack`, rooms (`join`, `leave`, `to`, `broadcast`),
//!   `disconnect`, `on_disconnect`, the handshake's `query` and `auth`.
//!
//! `socket.on` in a connection handler, as in Node, keeps the handlers
//! with each socket. A server with many clients registers what it can
//! once per namespace instead, with `io.on("/", "anotherNews", ...)`: an
//! idle client then costs no handler table (`simdws serve` does this).
//! * [`SocketIoHandler`]: the engine worker's side; [`SocketIoHandler::beside`]
//!   mounts it next to another [`Handler`](crate::net::Handler).
//! * Sans-IO underneath, usable on their own: [`packet`] (the packet
//!   codec), [`Client`] (one session's namespaces, acks and attachments),
//!   and [`crate::engineio`] (the Engine.IO session).
//!
//! All sessions live in one table shared by the workers (a polling
//! client's requests may reach any of them); the application's handlers
//! run outside its lock.

#[cfg(all(feature = "net", feature = "redis"))]
mod adapter;
pub mod client;
#[cfg(feature = "net")]
mod direct;
#[cfg(feature = "net")]
mod event_table;
#[cfg(feature = "net")]
mod handler;
mod json;
pub mod packet;
#[cfg(feature = "net")]
mod recovery;
#[cfg(feature = "net")]
mod server;
#[cfg(feature = "net")]
mod sessions;
#[cfg(feature = "net")]
mod socket;
#[cfg(feature = "net")]
mod websockets;

#[cfg(all(feature = "net", feature = "redis"))]
pub use adapter::ServerAck;
pub use client::{Client, ClientClose, ClientEvent, Outgoing};
#[cfg(feature = "net")]
pub use handler::{Mounted, SocketIoHandler};
pub use packet::{Packet, PacketKind, ParseError, Received, ReceivedData, MAX_ATTACHMENTS};
#[cfg(feature = "net")]
pub use recovery::RecoveryConfig;
#[cfg(all(feature = "net", feature = "redis"))]
pub use server::ServerEventHandler;
#[cfg(feature = "net")]
pub use server::{
    ConnectionHandler, DisconnectHandler, EventHandler, RawHandler, SocketIo, SocketIoConfig,
};
#[cfg(feature = "net")]
pub use socket::{Ack, AckError, Broadcast, EngineSocket, Socket};

/// Whether two namespaces are the same. Namespaces are short (`/`, most
/// of them), and a client's packet looks its namespace up a few times:
/// compared byte by byte, inline, rather than through a call to `memcmp`
/// for each lookup.
#[inline]
pub(crate) fn same_nsp(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}
