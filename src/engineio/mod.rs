//! Engine.IO v4, sans-IO (feature `socketio`): the transport under
//! Socket.IO, as a [`Session`] that takes requests, bodies and WebSocket
//! messages with the time, and gives back packets, answers for held polls
//! and events. [`route`] sorts the HTTP requests on its path; the engine
//! drives both.

pub mod config;
pub mod packet;
pub(crate) mod queue;
pub mod request;
pub mod session;

pub use config::EngineConfig;
pub use packet::{decode_payload, encode_payload, Frame, Packet, PacketError, MESSAGE};
pub use request::{route, EngineError, Route, Transport};
pub use session::{CloseReason, Session, SessionEvent};
