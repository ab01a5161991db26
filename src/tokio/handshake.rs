//! The opening handshakes over tokio streams: the server's (a request read,
//! checked and answered) and the client's (a request written, the answer
//! verified), both ending in a [`WebSocketStream`].

use std::time::Instant;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::net::TcpStream;

use super::{Error, MaybeTlsStream, WebSocketStream};
use crate::handshake::{
    accept_connection, find_head_end, parse_request, Rejection, RequestLimits, ServerPolicy,
};
use crate::net::{ClientOptions, WsUrl};
use crate::protocol::Config;

/// What a server accepts: the engine's policy, for connections accepted
/// outside the engine.
#[derive(Clone, Debug, Default)]
pub struct AcceptOptions {
    /// Limits and timers of each connection.
    pub config: Config,
    /// Subprotocols and allowed origins.
    pub policy: ServerPolicy,
    /// Bounds on the upgrade request's head.
    pub limits: RequestLimits,
    /// Accept permessage-deflate offers with this policy (`None`: decline).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

/// The server handshake with the default options: reads the upgrade
/// request from `io`, answers 101, and returns the WebSocket.
pub async fn accept<S>(io: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(io, &AcceptOptions::default()).await
}

/// The server handshake: reads the upgrade request from `io`, checks it
/// against `options`, answers 101 and returns the WebSocket. A request that
/// is refused is answered with its status (400, 403, 426, 431...) and
/// returned as [`Error::Refused`].
pub async fn accept_with<S>(mut io: S, options: &AcceptOptions) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    // Each byte is scanned for the blank line once, however the head comes.
    let mut scanned = 0;
    let end = loop {
        if let Some(end) = find_head_end(&head, scanned) {
            break end;
        }
        if head.len() > options.limits.max_bytes {
            return refuse(io, options.limits.head_too_large()).await;
        }
        scanned = head.len();
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        head.extend_from_slice(&chunk[..n]);
    };
    let accepted = match parse_request(&head[..end], &options.limits) {
        Ok(Some((request, _))) => accept_connection(
            &request,
            &options.policy,
            options.config,
            #[cfg(feature = "deflate")]
            options.deflate.as_ref(),
            Instant::now(),
        ),
        Ok(None) => Err(Rejection::BadRequest("incomplete request head".into())),
        Err(rejection) => Err(rejection),
    };
    match accepted {
        Ok((accepted, conn)) => {
            io.write_all(&accepted.response()).await?;
            io.flush().await?;
            Ok(WebSocketStream::from_parts(io, conn, &head[end..]))
        }
        Err(rejection) => refuse(io, rejection).await,
    }
}

/// Answers a refused request with its status, closes, and says why.
async fn refuse<S, T>(mut io: S, rejection: Rejection) -> Result<T, Error>
where
    S: AsyncWrite + Unpin,
{
    // Best effort: the client may be gone already.
    let _ = io.write_all(&rejection.response()).await;
    let _ = io.shutdown().await;
    Err(Error::Refused(rejection))
}

/// Dials a `ws://` or `wss://` URL and runs the client handshake with
/// `options`. `wss://` needs the `tokio-tls` feature; it trusts
/// `options.tls` (Mozilla's roots when `None`), as the engine's client does.
pub async fn connect(
    url: &str,
    options: &ClientOptions,
) -> Result<WebSocketStream<MaybeTlsStream>, Error> {
    let parsed = WsUrl::parse(url).map_err(|e| Error::Url(e.to_string()))?;
    let tcp = TcpStream::connect((parsed.host.as_str(), parsed.port)).await?;
    tcp.set_nodelay(true)?;
    let io = if parsed.secure {
        #[cfg(feature = "tokio-tls")]
        {
            super::transport::tls(tcp, &parsed, options).await?
        }
        #[cfg(not(feature = "tokio-tls"))]
        return Err(Error::Url(format!(
            "{url}: wss:// needs simdws's `tokio-tls` feature"
        )));
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client(io, url, options).await
}

/// The client handshake over a stream already connected to `url`'s host
/// (plain TCP, or TLS the caller set up): writes the upgrade request,
/// verifies the answer, and returns the WebSocket.
pub async fn client<S>(
    mut io: S,
    url: &str,
    options: &ClientOptions,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    const MAX_RESPONSE: usize = 16 << 10;
    let url = WsUrl::parse(url).map_err(|e| Error::Url(e.to_string()))?;
    let request = options.request(&url);
    io.write_all(request.bytes()).await?;
    io.flush().await?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some((response, len)) = request
            .verify(&head, MAX_RESPONSE)
            .map_err(Error::Handshake)?
        {
            let conn = options
                .connection(&response, Instant::now())
                .map_err(Error::Handshake)?;
            return Ok(WebSocketStream::from_parts(io, conn, &head[len..]));
        }
    }
}
