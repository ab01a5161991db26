//! Server settings: address, workers, limits, timeouts, backpressure.

use std::net::SocketAddr;
use std::time::Duration;

use super::topics::TopicConfig;
use crate::handshake::{RequestLimits, ServerPolicy};
use crate::protocol::Config;

/// How a server runs; `Default` gives `127.0.0.1:9001` with one worker per
/// core and the protocol's default limits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen; port 0 lets the system pick one.
    pub addr: SocketAddr,
    /// Event-loop threads, each with its own SO_REUSEPORT listener.
    pub workers: usize,
    /// Frame/message limits, keepalive, close timeout.
    pub protocol: Config,
    /// Limits on request heads: bytes and header lines (431 past them).
    pub request_limits: RequestLimits,
    /// Subprotocols and allowed origins.
    pub policy: ServerPolicy,
    /// A client must finish each request head within this (slowloris),
    /// an upgrade request's included; else 408.
    pub handshake_timeout: Duration,
    /// Plain HTTP requests: bodies, keep-alive, their timeouts.
    pub http: HttpConfig,
    /// Above this much unsent output a connection is not read until it
    /// drains below half of it.
    pub high_water: usize,
    /// Above this much unsent output a slow consumer is disconnected.
    pub max_buffered: usize,
    /// What publishes do to subscribers that do not keep up.
    pub topics: TopicConfig,
    /// How many bytes of messages from other threads (`ServerHandle::send`,
    /// `send_many`, `broadcast`, `publish`) may wait in one worker's
    /// mailbox. A worker takes its whole mailbox each time it wakes, so a
    /// mailbox this full means the worker is stuck (a handler blocking its
    /// thread) or far behind; messages past it are refused and counted in
    /// `ServerStats::mailbox_refused` rather than let memory grow without
    /// bound. Closes, HTTP answers, adoptions, dials and shutdown carry no
    /// message and are never refused.
    pub mailbox_limit: usize,
    /// The loop-wide receive buffer (uWebSockets uses 512 KiB).
    pub recv_buffer: usize,
    /// Graceful shutdown waits this long for close handshakes.
    pub shutdown_timeout: Duration,
    /// After our last frame, how long to read and discard before closing, so
    /// unread input does not turn the close into a reset that loses it.
    pub linger: Duration,
    /// The listen backlog: connections the kernel queues before they are accepted.
    pub backlog: i32,
    /// Granularity of the coarse timer sweep.
    pub tick: Duration,
    /// Serve TLS (wss:// and https://) on the port with this configuration;
    /// see [`crate::net::tls`] for building one.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Share topics with every process attached to the Redis at this URL
    /// (`redis://HOST:PORT`); see [`crate::cluster`].
    #[cfg(feature = "redis")]
    pub redis: Option<String>,
    /// Accept permessage-deflate offers with this policy (`None`: decline).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 9001)),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            protocol: Config::default(),
            request_limits: RequestLimits::default(),
            policy: ServerPolicy::default(),
            handshake_timeout: Duration::from_secs(10),
            http: HttpConfig::default(),
            high_water: 1 << 20,
            max_buffered: 64 << 20,
            topics: TopicConfig::default(),
            mailbox_limit: 64 << 20,
            recv_buffer: 512 << 10,
            shutdown_timeout: Duration::from_secs(5),
            linger: Duration::from_secs(2),
            backlog: 4096,
            tick: Duration::from_millis(100),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "redis")]
            redis: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

/// How plain HTTP/1.1 requests are read (see [`crate::http`]).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The largest body handed to `on_request` whole; a longer one gets
    /// 413. Bodies a handler streams (`Handler::streams_body`) are not
    /// bound by it.
    pub max_body: usize,
    /// A request body must arrive in full within this after its head;
    /// else 408 (a slow body holds nothing for long).
    pub body_timeout: Duration,
    /// A keep-alive connection idle this long between requests is closed.
    pub keep_alive_timeout: Duration,
    /// Input kept while a response is held (requests pipelined behind it);
    /// past it the connection is not read until the response is given.
    pub max_pipelined: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body: 1 << 20,
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            max_pipelined: 64 << 10,
        }
    }
}

/// How a client engine ([`crate::net::Client`]) runs: its loops and their
/// buffers. Each connection's own settings (subprotocols, limits, TLS,
/// deflate) are its [`crate::net::ClientOptions`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Event-loop threads; connections are spread over them in turn.
    pub workers: usize,
    /// A connection must be connected and upgraded within this.
    pub handshake_timeout: Duration,
    /// Above this much unsent output a connection is not read until it
    /// drains below half of it.
    pub high_water: usize,
    /// Above this much unsent output the connection is dropped.
    pub max_buffered: usize,
    /// The loop-wide receive buffer.
    pub recv_buffer: usize,
    /// Graceful shutdown waits this long for close handshakes.
    pub shutdown_timeout: Duration,
    /// After our last frame, how long to read and discard before closing.
    pub linger: Duration,
    /// Granularity of the coarse timer sweep.
    pub tick: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let server = ServerConfig::default();
        ClientConfig {
            workers: 1,
            handshake_timeout: server.handshake_timeout,
            high_water: server.high_water,
            max_buffered: server.max_buffered,
            recv_buffer: server.recv_buffer,
            shutdown_timeout: server.shutdown_timeout,
            linger: server.linger,
            tick: server.tick,
        }
    }
}

impl ClientConfig {
    /// The loops' settings, as the workers (shared with servers) take them.
    pub(crate) fn loops(self) -> ServerConfig {
        ServerConfig {
            workers: self.workers,
            handshake_timeout: self.handshake_timeout,
            high_water: self.high_water,
            max_buffered: self.max_buffered,
            recv_buffer: self.recv_buffer,
            shutdown_timeout: self.shutdown_timeout,
            linger: self.linger,
            tick: self.tick,
            ..ServerConfig::default()
        }
    }
}
