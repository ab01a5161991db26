//! Engine.IO v4, sans-IO (feature `socketio`): the transport under
//! Socket.IO. So far its packet codec, for WebSocket messages and HTTP
//! long-polling bodies; the session (open packet, heartbeat, upgrade) is
//! built on it next.

pub mod packet;

pub use packet::{decode_payload, encode_payload, Frame, Packet, PacketError};
