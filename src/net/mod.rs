//! The IO engine: edge-triggered mio event loops, one per worker thread,
//! each with its own SO_REUSEPORT listener; connections in a slab; one
//! loop-wide receive buffer decoded in place; corked writes; a coarse timer
//! sweep; a cross-thread [`ServerHandle`]; clients; and TLS (feature
//! `tls`) as the transport under any of them.
//!
//! # HTTP/1.1 beside WebSocket
//!
//! Every connection starts as HTTP/1.1 ([`crate::http`]): kept alive
//! between requests, pipelined requests answered in order, bodies by length
//! or chunked (whole up to [`HttpConfig::max_body`], or streamed to
//! [`Handler::on_body`]), `Expect: 100-continue` answered, and any request
//! may upgrade to WebSocket. A handler answers at once, or holds a request
//! and answers it later from any thread:
//!
//! ```no_run
//! use simdws::http::{HttpResponse, Request};
//! use simdws::net::{Conn, Handler, HttpConn, Message, Reply, Server, ServerConfig};
//!
//! struct App;
//!
//! impl Handler for App {
//!     fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
//!         match (request.method, request.path()) {
//!             ("GET", "/healthz") => HttpResponse::text(200, "ok\n").into(),
//!             ("POST", "/echo") => {
//!                 HttpResponse::new(200, "application/octet-stream", request.body.to_vec()).into()
//!             }
//!             ("GET", "/slow") => {
//!                 // Held: answered a second later from another thread.
//!                 let (handle, id) = (conn.handle().clone(), conn.request_id());
//!                 std::thread::spawn(move || {
//!                     std::thread::sleep(std::time::Duration::from_secs(1));
//!                     handle.respond(id, HttpResponse::text(200, "done\n"));
//!                 });
//!                 Reply::Later
//!             }
//!             _ => HttpResponse::text(404, "not found\n").into(),
//!         }
//!     }
//!
//!     fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
//!         let _ = conn.send_message(message); // WebSocket upgrades on any path echo
//!     }
//! }
//!
//! let server = Server::start(ServerConfig::default(), |_, _| App)?;
//! println!("listening on http://{}/", server.local_addr());
//! server.join();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Pages that only serve GETs can keep to [`Handler::on_http`], which
//! [`Handler::on_request`]'s default calls.

mod client;
mod close;
mod config;
pub(crate) mod handle;
mod handler;
mod heap;
mod http;
mod listener;
mod server;
mod session;
mod syscall;
#[cfg(feature = "tls")]
pub mod tls;
mod topics;
mod transport;
mod worker;

#[cfg(test)]
mod socketless;

pub use crate::protocol::OwnedEvent;
pub use client::{BlockingClient, ClientError, ClientOptions, WsUrl};
pub use close::{CloseReason, Deadline};
pub use config::{ClientConfig, HttpConfig, ServerConfig};
#[cfg(feature = "redis")]
pub(crate) use handle::RelayCounts;
pub use handle::{ConnId, OwnedMessage, ServerHandle, ServerStats};
pub use handler::{Conn, Handler, HttpConn, HttpResponse, Message, Reply, RequestId, Upgrade};
#[cfg(feature = "socketio")]
pub(crate) use heap::give_back_free_memory;
pub use topics::{SlowSubscriber, TopicConfig};

pub use server::{Client, Server};
