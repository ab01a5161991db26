//! Socket.IO v5 (feature `socketio`): events, acknowledgements, namespaces
//! and binary attachments over [`crate::engineio`]. So far its packet
//! codec; the namespaces, rooms and the application API are built on it
//! next.

pub mod packet;

pub use packet::{Packet, PacketKind, ParseError, MAX_ATTACHMENTS};
