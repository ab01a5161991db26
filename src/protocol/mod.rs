//! The sans-IO protocol state machine (RFC 6455 §5–§7), in the style of
//! quinn-proto and python-websockets: bytes in ([`Connection::receive`]) →
//! events out; messages in (`send_*`) → bytes out
//! ([`Connection::poll_transmit`]); time in ([`Connection::handle_timeout`]).
//! No sockets, no threads, no clock.
//!
//! A [`Connection`] owns its state in one place (the core: role, close
//! handshake, failure, timers, output); a frame decoder and a message
//! assembler beside it parse and hold received bytes. The [`Sender`] view
//! borrows the core, so an application can answer while it still holds an
//! event borrowed from the received bytes
//! ([`Connection::receive_and_reply`]).

mod assembler;
mod config;
mod connection;
mod core;
mod decoder;
mod error;
mod event;
mod extension;
mod pair;
mod prepared;
mod resting;
mod send_buffer;
mod sender;
mod timers;

pub use config::{Config, Delivery};
#[cfg(feature = "net")]
pub(crate) use connection::receive_split;
pub use connection::Connection;
pub use core::{Role, State};
pub use error::{ProtocolError, SendError};
pub use event::{Event, Fragment, OwnedEvent, Received};
pub use extension::{ExtensionError, MessageDecoder, MessageEncoder};
pub use pair::{Driven, Pair, Side};
pub use prepared::PreparedMessage;
pub use resting::RestingConnection;
pub use sender::Sender;
