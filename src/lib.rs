//! # simdws
//!
//! A WebSocket (RFC 6455) engine. This crate's sans-IO core:
//!
//! * [`mask`] — unmask kernels (scalar, u64 words, SSE2, AVX2, AVX-512, NEON),
//!   one chosen per CPU at first use;
//! * [`utf8`] — streaming UTF-8 validation that fails at the first impossible
//!   byte, across reads and fragments;
//! * [`frame`] — opcodes, frame headers, close codes;
//! * [`protocol`] — the connection state machine: bytes in → events out,
//!   messages in → bytes out, time in → keepalive and close deadlines;
//! * [`handshake`] — the HTTP/1.1 Upgrade, server and client;
//! * [`deflate`] — permessage-deflate (RFC 7692), feature `deflate`.
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

#[cfg(feature = "deflate")]
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod protocol;
pub mod utf8;

#[cfg(feature = "net")]
pub mod net;
