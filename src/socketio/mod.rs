//! Socket.IO v5 (feature `socketio`): events, acknowledgements, namespaces
//! and binary attachments over [`crate::engineio`]. So far sans-IO: the
//! packet codec, and the [`Client`] state of one session (namespaces
//! joined, attachments put back together, ack ids, the connect timeout).
//! The server API (namespaces with handlers, rooms) and the engine's
//! driver are built on them next.

pub mod client;
#[cfg(feature = "net")]
mod handler;
pub mod packet;
#[cfg(feature = "net")]
pub mod server;
#[cfg(feature = "net")]
mod socket;

pub use client::{Client, ClientClose, ClientEvent, Outgoing};
#[cfg(feature = "net")]
pub use handler::{Mounted, SocketIoHandler};
pub use packet::{Packet, PacketKind, ParseError, MAX_ATTACHMENTS};
#[cfg(feature = "net")]
pub use server::{SocketIo, SocketIoConfig};
#[cfg(feature = "net")]
pub use socket::{Ack, AckError, Broadcast, EngineSocket, Socket};
