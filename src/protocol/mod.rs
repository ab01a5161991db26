//! The sans-IO protocol state machine (RFC 6455 §5–§7), in the style of
//! quinn-proto and python-websockets: bytes in ([`Connection::receive`]) →
//! events out; messages in (`send_*`) → bytes out
//! ([`Connection::poll_transmit`]); time in ([`Connection::handle_timeout`]).
//! No sockets, no threads, no clock.
//!
//! A connection is a [`Receiver`] and a [`Sender`]; [`Connection::split`]
//! hands out both, so an application can answer (send) while it still holds
//! an event borrowed from the receiver.

mod config;
mod connection;
mod error;
mod extension;
mod pair;
mod receiver;
mod resting;
mod send_buffer;
mod sender;
mod timers;

pub use config::Config;
pub use connection::Connection;
pub use error::{ProtocolError, SendError};
pub use extension::{ExtensionError, MessageDecoder, MessageEncoder};
pub use pair::{Driven, Pair, Side};
pub use receiver::{Event, OwnedEvent, Received, Receiver};
pub use resting::RestingConnection;
pub use sender::{Role, Sender, State};
