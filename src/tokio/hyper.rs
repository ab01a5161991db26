//! hyper 1 (feature `hyper`): a request upgraded to a simdws
//! [`WebSocketStream`]. The service checks the request with [`upgrade`],
//! answers with the 101 it returns, and awaits the [`PendingUpgrade`] for
//! the WebSocket once hyper hands the connection over.
//!
//! ```no_run
//! use simdws::tokio::hyper::{is_upgrade_request, upgrade};
//! use simdws::tokio::AcceptOptions;
//!
//! async fn service(
//!     mut request: http::Request<hyper::body::Incoming>,
//! ) -> Result<http::Response<String>, std::convert::Infallible> {
//!     if !is_upgrade_request(&request) {
//!         return Ok(http::Response::new("not a WebSocket request\n".into()));
//!     }
//!     match upgrade(&mut request, &AcceptOptions::default()) {
//!         Ok((response, pending)) => {
//!             tokio::spawn(async move {
//!                 if let Ok(mut ws) = pending.await {
//!                     while let Ok(Some(_)) = ws.recv().await {}
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         Err(rejection) => Ok(simdws::tokio::hyper::refusal(&rejection)),
//!     }
//! }
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use ::http::{header, HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use ::hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use super::{AcceptOptions, Error, WebSocketStream};
use crate::handshake::{self, accept_connection, Accepted, Rejection};
use crate::protocol::Connection;

/// The WebSocket over an upgraded hyper connection.
pub type HyperWebSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Whether `request` asks for a WebSocket upgrade at all (a page request
/// does not): its `Upgrade` header names `websocket`.
pub fn is_upgrade_request<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| handshake::has_token(v, "websocket"))
}

/// Checks an upgrade request against `options` (RFC 6455 §4.2.1, the
/// policy, permessage-deflate) and takes hyper's upgrade from it. Answer
/// the request with the 101 response; the [`PendingUpgrade`] resolves to
/// the WebSocket once it is sent. A refused request gets a [`Rejection`]:
/// answer it with [`refusal`].
pub fn upgrade<B, R: Default>(
    request: &mut Request<B>,
    options: &AcceptOptions,
) -> Result<(Response<R>, PendingUpgrade), Rejection> {
    let (accepted, conn) = check(
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        options,
    )?;
    let on_upgrade = request
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or_else(|| Rejection::BadRequest("this connection cannot be upgraded".into()))?;
    Ok((
        switching_protocols(&accepted),
        PendingUpgrade {
            on_upgrade,
            conn: Some(conn),
        },
    ))
}

/// An upgrade answered with 101, waiting for hyper to hand the connection
/// over.
#[derive(Debug)]
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    conn: Option<Connection>,
}

impl PendingUpgrade {
    pub(crate) fn new(on_upgrade: OnUpgrade, conn: Connection) -> Self {
        PendingUpgrade {
            on_upgrade,
            conn: Some(conn),
        }
    }
}

impl Future for PendingUpgrade {
    type Output = Result<HyperWebSocket, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = ready!(Pin::new(&mut self.on_upgrade).poll(cx))
            .map_err(|e| Error::Io(io::Error::other(e)))?;
        let conn = self.conn.take().expect("polled after it completed");
        Poll::Ready(Ok(WebSocketStream::from_parts(
            TokioIo::new(upgraded),
            conn,
            &[],
        )))
    }
}

/// The request seen as the handshake sees it, checked, and the server's
/// connection built.
pub(crate) fn check(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    options: &AcceptOptions,
) -> Result<(Accepted, Connection), Rejection> {
    let version = match version {
        Version::HTTP_11 => 1,
        Version::HTTP_10 => 0,
        // RFC 8441's extended CONNECT is another handshake.
        _ => {
            return Err(Rejection::BadRequest(
                "WebSocket needs HTTP/1.1 (HTTP/2 and HTTP/3 are not supported)".into(),
            ))
        }
    };
    let request = handshake::Request {
        method: method.as_str(),
        target: uri.path_and_query().map_or("/", |pq| pq.as_str()),
        version,
        headers: headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect(),
        body: &[],
    };
    accept_connection(
        &request,
        &options.policy,
        options.config,
        #[cfg(feature = "deflate")]
        options.deflate.as_ref(),
        Instant::now(),
    )
}

/// The 101 answer to an accepted upgrade.
pub(crate) fn switching_protocols<R: Default>(accepted: &Accepted) -> Response<R> {
    let mut response = Response::new(R::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("upgrade"),
    );
    // The accept key is base64, the protocol a token, the extensions our
    // own answer: all valid header values.
    let value = |s: &str| header::HeaderValue::from_str(s).expect("a valid header value");
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, value(&accepted.accept));
    if let Some(protocol) = &accepted.subprotocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value(protocol));
    }
    if let Some(extensions) = &accepted.extensions {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, value(extensions));
    }
    response
}

/// The answer to a refused upgrade: its status, the header its status calls
/// for (`Sec-WebSocket-Version: 13` with 426...), and its reason as the body.
pub fn refusal<R: From<String>>(rejection: &Rejection) -> Response<R> {
    let mut response = Response::new(R::from(format!("{}\n", rejection.reason())));
    *response.status_mut() =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let Some((name, value)) = rejection.header() {
        if let Ok(name) = header::HeaderName::from_bytes(name.as_bytes()) {
            response
                .headers_mut()
                .insert(name, header::HeaderValue::from_static(value));
        }
    }
    response
}
