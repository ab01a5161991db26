//! axum (feature `axum`): an extractor shaped like axum's own
//! `WebSocketUpgrade`, so an application switches by changing its imports:
//!
//! ```no_run
//! use axum::{response::Response, routing::get, Router};
//! use simdws::tokio::axum::{WebSocket, WebSocketUpgrade};
//!
//! async fn handler(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["chat"]).on_upgrade(|mut socket: WebSocket| async move {
//!         while let Ok(Some(event)) = socket.recv().await {
//!             println!("{event:?}");
//!         }
//!     })
//! }
//!
//! let app: Router = Router::new().route("/ws", get(handler));
//! ```

use std::future::Future;

use ::axum::body::Body;
use ::axum::extract::FromRequestParts;
use ::axum::response::{IntoResponse, Response};
use ::http::request::Parts;
use ::http::{HeaderMap, Method, Uri, Version};
use ::hyper::upgrade::OnUpgrade;

use super::hyper::{check, refusal, switching_protocols, PendingUpgrade};
use super::AcceptOptions;
use crate::handshake::Rejection;
use crate::protocol::Config;

/// The WebSocket an upgraded axum request becomes.
pub type WebSocket = super::hyper::HyperWebSocket;

/// Extracts a WebSocket upgrade; [`on_upgrade`](Self::on_upgrade) answers
/// it and runs a callback with the [`WebSocket`]. The handshake follows the
/// engine's policy ([`AcceptOptions`]): subprotocols, Origin, limits and
/// permessage-deflate, and a refused request is answered with its status.
#[derive(Debug)]
pub struct WebSocketUpgrade {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    on_upgrade: OnUpgrade,
    options: AcceptOptions,
}

/// Why the extractor refused the request: answered with its status.
#[derive(Debug)]
pub struct UpgradeRejection(pub Rejection);

impl IntoResponse for UpgradeRejection {
    fn into_response(self) -> Response {
        refusal::<Body>(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = UpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let asks_for_websocket = parts
            .headers
            .get_all(::http::header::UPGRADE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| crate::handshake::has_token(v, "websocket"));
        if !asks_for_websocket {
            return Err(UpgradeRejection(Rejection::UpgradeRequired));
        }
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            UpgradeRejection(Rejection::BadRequest(
                "this connection cannot be upgraded".into(),
            ))
        })?;
        Ok(WebSocketUpgrade {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts.headers.clone(),
            on_upgrade,
            options: AcceptOptions::default(),
        })
    }
}

impl WebSocketUpgrade {
    /// Subprotocols the server speaks, preferred first; a client offering
    /// only others is refused with 400.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.options.policy.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The largest message accepted (1009 past it).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.options.config.max_message_size = bytes;
        self
    }

    /// The largest frame accepted (1009 past it).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.options.config.max_frame_size = bytes;
        self
    }

    /// The connection's limits and timers, all at once.
    pub fn config(mut self, config: Config) -> Self {
        self.options.config = config;
        self
    }

    /// Accept permessage-deflate offers with this policy.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: crate::deflate::DeflateConfig) -> Self {
        self.options.deflate = Some(deflate);
        self
    }

    /// Every option at once.
    pub fn options(mut self, options: AcceptOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the request, answers 101 and, once the connection is handed
    /// over, runs `callback` with the WebSocket on its own task. A refused
    /// request is answered with its status and the callback never runs.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let checked = check(
            &self.method,
            &self.uri,
            self.version,
            &self.headers,
            &self.options,
        );
        match checked {
            Ok((accepted, conn)) => {
                let pending = PendingUpgrade::new(self.on_upgrade, conn);
                ::tokio::spawn(async move {
                    match pending.await {
                        Ok(socket) => callback(socket).await,
                        Err(e) => log::debug!("the upgrade did not complete: {e}"),
                    }
                });
                switching_protocols(&accepted)
            }
            Err(rejection) => refusal(&rejection),
        }
    }

    /// Checks the request, answers 101 and hands the connection to a simdws
    /// engine ([`crate::net::Server`]) through `handle`: from then on the
    /// engine's loops and its `Handler` serve it, as if it had accepted the
    /// connection itself (`on_open` is not called: the upgrade happened
    /// here). The engine makes the connection with its own `Config`, so
    /// permessage-deflate is not offered on this path.
    ///
    /// The socket must reach hyper as `TokioIo<tokio::net::TcpStream>`: serve
    /// the router with `hyper::server::conn::http1::Builder` (see
    /// `examples/axum_handoff.rs`). `axum::serve` wraps the socket in a type
    /// of its own, and TLS is not a socket the engine could take: such a
    /// connection is closed, with a log line.
    pub fn hand_over(mut self, handle: &crate::net::ServerHandle) -> Response {
        #[cfg(feature = "deflate")]
        {
            self.options.deflate = None;
        }
        let checked = check(
            &self.method,
            &self.uri,
            self.version,
            &self.headers,
            &self.options,
        );
        let accepted = match checked {
            Ok((accepted, _)) => accepted,
            Err(rejection) => return refusal(&rejection),
        };
        let handle = handle.clone();
        let on_upgrade = self.on_upgrade;
        ::tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => return log::debug!("the upgrade did not complete: {e}"),
            };
            type Tcp = hyper_util::rt::TokioIo<::tokio::net::TcpStream>;
            match upgraded.downcast::<Tcp>() {
                Ok(parts) => match parts.io.into_inner().into_std() {
                    Ok(stream) => handle.adopt(stream, parts.read_buf.to_vec(), true),
                    Err(e) => log::warn!("handing a connection over: {e}"),
                },
                Err(_) => log::warn!(
                    "handing over needs hyper's http1 connection over a plain TcpStream \
                     (axum::serve wraps it): the connection is closed"
                ),
            }
        });
        switching_protocols(&accepted)
    }
}
