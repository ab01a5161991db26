//! # simdws
//!
//! A WebSocket (RFC 6455) engine: an edge-triggered event loop per core
//! (`net`, feature `net`, on by default) over a sans-IO protocol core.
//! A server in ten lines:
//!
//! ```no_run
//! # #[cfg(feature = "net")] {
//! use simdws::net::{Conn, Handler, Message, Server, ServerConfig};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
//!         let _ = conn.send_message(message); // borrowed from the receive buffer: no copy
//!     }
//! }
//!
//! let mut config = ServerConfig::default(); // 127.0.0.1:9001, one worker per core
//! // Browsers may offer subprotocols (`new WebSocket(url, "echo-protocol")`):
//! // the server picks one it lists here, or refuses the upgrade with 400.
//! config.policy.subprotocols = vec!["echo-protocol".into()];
//! let server = Server::start(config, |_worker, _handle| Echo)?; // fails if the port is taken
//! println!("listening on ws://{}/", server.local_addr());
//! server.join();
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `net` goes on from there: HTTP requests beside the WebSockets, held
//! answers, clients, TLS, embedding. The sans-IO core:
//!
//! * [`mask`] — unmask kernels (scalar, u64 words, SSE2, AVX2, AVX-512, NEON),
//!   one chosen per CPU at first use;
//! * [`utf8`] — streaming UTF-8 validation that fails at the first impossible
//!   byte, across reads and fragments;
//! * [`frame`] — opcodes, frame headers, close codes;
//! * [`protocol`] — the connection state machine: bytes in → events out,
//!   messages in → bytes out, time in → keepalive and close deadlines;
//! * [`handshake`] — the HTTP/1.1 Upgrade, server and client;
//! * `deflate` — permessage-deflate (RFC 7692), feature `deflate`;
//! * [`http`] — HTTP/1.1 requests and responses, for what is not an upgrade.
//!
//! ```
//! use std::time::Instant;
//! use simdws::protocol::{Config, Connection, Event, Role};
//!
//! let now = Instant::now();
//! let mut client = Connection::new(Role::Client, Config::default(), now);
//! let mut server = Connection::new(Role::Server, Config::default(), now);
//! client.send_text("héllo").unwrap();
//! let mut wire = client.poll_transmit().to_vec();
//! let received = server.receive(&mut wire).unwrap();
//! assert_eq!(received.event, Some(Event::Text("héllo")));
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "redis")]
pub mod cluster;
#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(feature = "socketio")]
pub mod engineio;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod protocol;
#[cfg(feature = "socketio")]
pub mod socketio;
pub mod utf8;

#[cfg(feature = "net")]
pub mod net;

#[cfg(feature = "tokio")]
pub mod tokio;
