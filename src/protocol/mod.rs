//! The sans-IO protocol state machine (RFC 6455 §5–§7), in the style of
//! quinn-proto and python-websockets: bytes in ([`Connection::receive`]) →
//! events out; messages in (`send_*`) → bytes out
//! ([`Connection::poll_transmit`]); time in ([`Connection::handle_timeout`]).
//! No sockets, no threads, no clock.

mod config;
mod connection;
mod error;
mod extension;
mod send_buffer;
mod timers;

pub use config::Config;
pub use connection::{Connection, Event, Received, Role, State};
pub use error::{ProtocolError, SendError};
pub use extension::{Extension, ExtensionError};
