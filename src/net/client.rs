//! Clients: URL parsing, options, and a simple blocking client for scripts
//! and tests, on the same sans-IO core as the server.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::transport::Transport;
use crate::frame::CloseCode;
use crate::handshake::{ClientHandshakeError, ClientRequest, ClientResponse};
use crate::protocol::{Config, Connection, OwnedEvent, ProtocolError, Role, SendError};

/// A parsed `ws://` or `wss://host[:port][/path][?query]` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: TLS.
    pub secure: bool,
    /// The host to connect to and to name in `Host` (and in SNI, for wss).
    pub host: String,
    /// The port; 80 for ws:// and 443 for wss:// when the URL has none.
    pub port: u16,
    /// Path and query, at least `/`.
    pub target: String,
}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL.
    pub fn parse(url: &str) -> Result<WsUrl, ClientError> {
        let (secure, rest) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => {
                return Err(ClientError::Url(format!(
                    "{url}: only ws:// and wss:// URLs are supported"
                )))
            }
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                let port = port
                    .parse()
                    .map_err(|_| ClientError::Url(format!("{url}: bad port {port:?}")))?;
                (host, port)
            }
            _ => (authority, if secure { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(ClientError::Url(format!("{url}: no host")));
        }
        Ok(WsUrl {
            secure,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            target,
        })
    }

    /// The Host header value.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL's host, as TLS names it (SNI and the certificate check).
    pub fn tls_name(&self) -> &str {
        &self.host
    }
}

/// What to offer in the handshake, and the protocol limits.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Subprotocols to offer, preferred first.
    pub subprotocols: Vec<String>,
    /// Extension offers other than permessage-deflate, sent as they are.
    pub extensions: Option<String>,
    /// The TLS configuration for `wss://` (trust store, ALPN); `None` uses
    /// [`crate::net::tls::default_client_config`] (Mozilla's roots).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Offer permessage-deflate with this policy.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// Extra headers for the upgrade request (an `Origin`, a cookie...).
    pub headers: Vec<(String, String)>,
    /// Limits and timers of the connection.
    pub config: Config,
    /// Connect, handshake, and each blocking receive (None: wait forever).
    pub timeout: Option<Duration>,
    /// The local address to connect from (event-loop clients). A load
    /// generator spreads connections over 127.0.0.0/8 this way when one
    /// source address runs out of ephemeral ports.
    pub bind: Option<std::net::IpAddr>,
}

impl ClientOptions {
    /// The upgrade request these options ask for at `url`.
    pub fn request(&self, url: &WsUrl) -> ClientRequest {
        let protocols: Vec<&str> = self.subprotocols.iter().map(String::as_str).collect();
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let offers = self.extension_offers();
        ClientRequest::new(
            &url.authority(),
            &url.target,
            &protocols,
            offers.as_deref(),
            &headers,
        )
    }

    /// The transport for a socket connected to `url`: TLS for `wss://`.
    /// `nonblocking` says whether the socket is (an event loop's) or blocks.
    pub fn transport<S: Read + Write>(
        &self,
        socket: S,
        url: &WsUrl,
        nonblocking: bool,
    ) -> io::Result<Transport<S>> {
        if !url.secure {
            return Ok(Transport::Plain(socket));
        }
        #[cfg(feature = "tls")]
        {
            let config = self
                .tls
                .clone()
                .unwrap_or_else(super::tls::default_client_config);
            let stream =
                super::tls::TlsStream::client(socket, config, url.tls_name(), nonblocking)?;
            Ok(Transport::Tls(Box::new(stream)))
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = nonblocking;
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "wss:// needs simdws's `tls` feature",
            ))
        }
    }

    fn extension_offers(&self) -> Option<String> {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &self.deflate {
            let offer = crate::deflate::client_offer(deflate);
            return Some(match &self.extensions {
                Some(others) => format!("{offer}, {others}"),
                None => offer,
            });
        }
        self.extensions.clone()
    }

    /// The open connection for the server's verified answer, with
    /// permessage-deflate installed when the server accepted it.
    pub fn connection(
        &self,
        response: &ClientResponse,
        now: Instant,
    ) -> Result<Connection, ClientHandshakeError> {
        let conn = Connection::new(Role::Client, self.config, now);
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &self.deflate {
            let agreement =
                crate::deflate::client_agreement(deflate, response.extensions.as_deref())
                    .map_err(|e| ClientHandshakeError::BadExtension(e.to_string()))?;
            if let Some(agreement) = agreement {
                let (decoder, encoder) = agreement.codec(deflate);
                return Ok(conn.with_extension(decoder, encoder));
            }
        }
        #[cfg(not(feature = "deflate"))]
        let _ = response;
        Ok(conn)
    }
}

/// Why a client operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not a usable `ws://` or `wss://` URL.
    Url(String),
    /// Local or network I/O failed.
    Io(io::Error),
    /// The server refused the upgrade, or answered it wrongly.
    Handshake(ClientHandshakeError),
    /// The server broke the protocol (we sent it the matching close code).
    Protocol(ProtocolError),
    /// The connection's state forbids the send (it is closing).
    Send(SendError),
    /// The connection is closed; no more events.
    Closed,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Url(e) => write!(f, "bad URL: {e}"),
            ClientError::Io(e) => write!(f, "I/O: {e}"),
            ClientError::Handshake(e) => write!(f, "handshake: {e}"),
            ClientError::Protocol(e) => write!(f, "protocol: {e}"),
            ClientError::Send(e) => write!(f, "send: {e}"),
            ClientError::Closed => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<SendError> for ClientError {
    fn from(e: SendError) -> Self {
        ClientError::Send(e)
    }
}

/// A blocking client: each call writes or reads until done.
pub struct BlockingClient {
    stream: Transport<TcpStream>,
    conn: Connection,
    buf: Vec<u8>,
    /// Unprocessed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    subprotocol: Option<String>,
    extensions: Option<String>,
}

impl BlockingClient {
    /// Connects to `url` with the default options.
    pub fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, ClientOptions::default())
    }

    /// Connects to `url` with `options`, handshake included.
    pub fn connect_with(url: &str, options: ClientOptions) -> Result<Self, ClientError> {
        let url = WsUrl::parse(url)?;
        let addr = (url.host.as_str(), url.port);
        let stream = match options.timeout {
            Some(timeout) => {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&addr)?
                    .next()
                    .ok_or_else(|| ClientError::Url(format!("{} does not resolve", url.host)))?;
                TcpStream::connect_timeout(&addr, timeout)?
            }
            None => TcpStream::connect(addr)?,
        };
        Self::handshake(stream, &url, options)
    }

    /// Runs the client handshake (TLS first for `wss://`) over an already
    /// connected stream.
    pub fn handshake(
        socket: TcpStream,
        url: &WsUrl,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        socket.set_nodelay(true)?;
        socket.set_read_timeout(options.timeout)?;
        let mut stream = options.transport(socket, url, false)?;
        let request = options.request(url);
        stream.write_all(request.bytes())?;
        let mut buf = vec![0u8; 64 << 10];
        let mut end = 0;
        loop {
            if end == buf.len() {
                return Err(ClientError::Handshake(ClientHandshakeError::TooLarge(
                    buf.len(),
                )));
            }
            let n = stream.read(&mut buf[end..])?;
            if n == 0 {
                return Err(ClientError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            end += n;
            if let Some((response, len)) = request
                .verify(&buf[..end], 16 << 10)
                .map_err(ClientError::Handshake)?
            {
                let conn = options
                    .connection(&response, Instant::now())
                    .map_err(ClientError::Handshake)?;
                return Ok(BlockingClient {
                    stream,
                    conn,
                    buf,
                    start: len,
                    end,
                    subprotocol: response.subprotocol,
                    extensions: response.extensions,
                });
            }
        }
    }

    /// The subprotocol the server chose, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, if any.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// Sends a text message and writes it out.
    pub fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message and writes it out.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), ClientError> {
        self.conn.send_binary(data)?;
        self.flush()
    }

    /// Sends one fragment; see [`crate::protocol::Sender::send_fragment`].
    pub fn send_fragment(
        &mut self,
        opcode: crate::frame::Opcode,
        data: &[u8],
        fin: bool,
    ) -> Result<(), ClientError> {
        self.conn.send_fragment(opcode, data, fin)?;
        self.flush()
    }

    /// Sends a ping; its pong arrives through `recv`.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), ClientError> {
        self.conn.ping(payload)?;
        self.flush()
    }

    /// Starts the close handshake; keep calling [`BlockingClient::recv`] to
    /// see the server's close.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ClientError> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Writes everything queued.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        loop {
            let out = self.conn.poll_transmit();
            if out.is_empty() {
                return Ok(());
            }
            let n = self.stream.write(out)?;
            if n == 0 {
                return Err(ClientError::Io(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(n);
        }
    }

    /// Writes what the socket takes now without blocking, keeping the rest
    /// queued in order. `recv` uses it for pongs and the close echo: a
    /// blocking write there could deadlock against a server that waits for
    /// us to read before it reads again.
    fn flush_without_blocking(&mut self) -> Result<(), ClientError> {
        if self.conn.poll_transmit().is_empty() {
            return Ok(());
        }
        self.stream.socket().set_nonblocking(true)?;
        let result = loop {
            let out = self.conn.poll_transmit();
            if out.is_empty() {
                break Ok(());
            }
            match self.stream.write(out) {
                Ok(0) => break Err(ClientError::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.conn.advance_transmit(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e.into()),
            }
        };
        let records = self.stream.flush_pending();
        self.stream.socket().set_nonblocking(false)?;
        records?;
        result
    }

    /// The raw socket, under TLS if any (for tests that misbehave on
    /// purpose).
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream.socket_mut()
    }

    /// Blocks until the next event. Pongs and the close echo go out as far
    /// as the socket takes them without blocking (the rest with the next
    /// send or [`BlockingClient::flush`]). After the close, returns `Closed`.
    pub fn recv(&mut self) -> Result<OwnedEvent, ClientError> {
        loop {
            while self.start < self.end {
                let received = self.conn.receive(&mut self.buf[self.start..self.end]);
                let (consumed, event) = match received {
                    Ok(r) => (r.consumed, r.event.map(OwnedEvent::from)),
                    Err(e) => {
                        let _ = self.flush_without_blocking();
                        return Err(ClientError::Protocol(e));
                    }
                };
                self.start += consumed;
                if let Some(event) = event {
                    if matches!(event, OwnedEvent::Close(..)) {
                        // The peer now only waits to read our echo.
                        self.flush()?;
                    } else {
                        self.flush_without_blocking()?;
                    }
                    return Ok(event);
                }
            }
            if self.conn.is_finished() {
                return Err(ClientError::Closed);
            }
            self.start = 0;
            self.end = 0;
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.end = n;
        }
    }
}
