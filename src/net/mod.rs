//! The IO engine: edge-triggered mio event loops, one per worker thread,
//! each with its own SO_REUSEPORT listener; connections in a slab; one
//! loop-wide receive buffer decoded in place; corked writes; a coarse timer
//! sweep; a cross-thread [`ServerHandle`]; clients; and TLS (feature
//! `tls`) as a [`Transport`] under any of them.

mod client;
mod config;
mod handle;
mod handler;
mod http;
mod listener;
mod server;
mod session;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;
mod worker;

pub use crate::protocol::OwnedEvent;
pub use client::{BlockingClient, ClientError, ClientOptions, WsUrl};
pub use config::{HttpConfig, ServerConfig};
pub use handle::{ConnId, OwnedMessage, ServerHandle, ServerStats};
pub use handler::{Conn, Handler, HttpConn, HttpResponse, Message, Reply, RequestId, Upgrade};
pub use listener::bind_reuseport;
pub use server::{Client, Server};
pub use transport::Transport;
