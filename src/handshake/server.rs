//! The server side: parse the HTTP/1.1 request incrementally, check it is a
//! valid WebSocket upgrade, and answer 101 or a typed rejection.

use std::borrow::Cow;
use std::fmt;

use super::accept::{accept_key, is_valid_key};
use super::tokens::{has_token, parse_extensions, token_list, ExtensionOffer};

/// Bounds on the request a peer may send before the upgrade.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    /// Bytes of request line and headers; past it → 431.
    pub max_bytes: usize,
    /// Header lines; past it → 431.
    pub max_headers: usize,
}

impl RequestLimits {
    /// The answer to a head past `max_bytes`.
    pub fn head_too_large(&self) -> Rejection {
        Rejection::HeadTooLarge(format!("request head exceeds {} bytes", self.max_bytes).into())
    }
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bytes: 8 << 10,
            max_headers: 64,
        }
    }
}

/// A refused request (a WebSocket handshake, or any HTTP request the
/// engine or the application turns away), by what went wrong. Each carries
/// its HTTP status ([`Rejection::status`]), a one-line reason for the body
/// ([`Rejection::reason`]), and the header its status calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// 400: the request is malformed, or lacks what the protocol needs.
    BadRequest(Cow<'static, str>),
    /// 403: refused by policy (an `Origin` not allowed) or the application.
    Forbidden(Cow<'static, str>),
    /// 404: nothing at that path.
    NotFound(Cow<'static, str>),
    /// 405, with `Allow: GET`: a WebSocket handshake must use GET.
    MethodNotAllowed,
    /// 408: the head or the body did not arrive in time.
    Timeout(Cow<'static, str>),
    /// 413: a body over the limit.
    PayloadTooLarge(Cow<'static, str>),
    /// 426, with `Upgrade: websocket`: not an upgrade request.
    UpgradeRequired,
    /// 426, with `Sec-WebSocket-Version: 13`: another protocol version.
    UnsupportedVersion,
    /// 431: a request head over the limit.
    HeadTooLarge(Cow<'static, str>),
    /// 505: an HTTP version this server does not speak.
    VersionNotSupported(Cow<'static, str>),
    /// Any other status, from the application.
    Other {
        /// The HTTP status.
        status: u16,
        /// One line saying why.
        reason: Cow<'static, str>,
    },
}

impl Rejection {
    /// A rejection with `status` and a one-line `reason`: the variant for
    /// that status when there is one (405 and 426 become [`Rejection::Other`],
    /// whose answers carry no `Allow` or `Upgrade` header).
    pub fn new(status: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        let reason = reason.into();
        match status {
            400 => Rejection::BadRequest(reason),
            403 => Rejection::Forbidden(reason),
            404 => Rejection::NotFound(reason),
            408 => Rejection::Timeout(reason),
            413 => Rejection::PayloadTooLarge(reason),
            431 => Rejection::HeadTooLarge(reason),
            505 => Rejection::VersionNotSupported(reason),
            status => Rejection::Other { status, reason },
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::BadRequest(_) => 400,
            Rejection::Forbidden(_) => 403,
            Rejection::NotFound(_) => 404,
            Rejection::MethodNotAllowed => 405,
            Rejection::Timeout(_) => 408,
            Rejection::PayloadTooLarge(_) => 413,
            Rejection::UpgradeRequired | Rejection::UnsupportedVersion => 426,
            Rejection::HeadTooLarge(_) => 431,
            Rejection::VersionNotSupported(_) => 505,
            Rejection::Other { status, .. } => *status,
        }
    }

    /// One line saying why: the response's body.
    pub fn reason(&self) -> &str {
        match self {
            Rejection::BadRequest(reason)
            | Rejection::Forbidden(reason)
            | Rejection::NotFound(reason)
            | Rejection::Timeout(reason)
            | Rejection::PayloadTooLarge(reason)
            | Rejection::HeadTooLarge(reason)
            | Rejection::VersionNotSupported(reason)
            | Rejection::Other { reason, .. } => reason,
            Rejection::MethodNotAllowed => "a WebSocket handshake must use GET",
            Rejection::UpgradeRequired => "expected Upgrade: websocket",
            Rejection::UnsupportedVersion => "unsupported Sec-WebSocket-Version (13 is required)",
        }
    }

    /// The header the status calls for, if any.
    pub fn header(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Rejection::MethodNotAllowed => Some(("Allow", "GET")),
            Rejection::UpgradeRequired => Some(("Upgrade", "websocket")),
            Rejection::UnsupportedVersion => Some(("Sec-WebSocket-Version", "13")),
            _ => None,
        }
    }

    /// The complete HTTP response, closing the connection.
    pub fn response(&self) -> Vec<u8> {
        let body = format!("{}\n", self.reason());
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status(),
            status_text(self.status()),
            body.len()
        );
        if let Some((name, value)) = self.header() {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&body);
        out.into_bytes()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        write!(f, "{status} {}: {}", status_text(status), self.reason())
    }
}

impl std::error::Error for Rejection {}

/// Reason phrases for the statuses this crate sends.
pub fn status_text(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// An HTTP request: its head, borrowing the bytes it was parsed from, and
/// its body (empty for an upgrade, and for a body the handler streams).
#[derive(Clone, Debug)]
pub struct Request<'b> {
    /// The method (`GET`, `POST`...).
    pub method: &'b str,
    /// The request target, query included.
    pub target: &'b str,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// The header fields in the order sent: names as sent, raw values.
    pub headers: Vec<(&'b str, &'b [u8])>,
    /// The whole body, de-chunked.
    pub body: &'b [u8],
}

impl<'b> Request<'b> {
    /// The first header named `name` (ASCII case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&'b str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// Every header named `name`, joined as one comma-separated list (how
    /// HTTP says repeated list headers combine).
    pub fn header_list(&self, name: &str) -> String {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect();
        values.join(",")
    }

    /// The path without the query.
    pub fn path(&self) -> &'b str {
        self.target.split_once('?').map_or(self.target, |(p, _)| p)
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&'b str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Whether the request asks for a WebSocket upgrade at all (a plain GET
    /// for a page does not).
    pub fn is_upgrade(&self) -> bool {
        self.header("Upgrade")
            .is_some_and(|u| has_token(u, "websocket"))
    }
}

/// Where the head ends in `buf` (just past its blank line: CRLF CRLF, or
/// the bare LF LF httparse also accepts), looking only at `buf[from..]`
/// and the three bytes before it. A server that keeps a partial head calls
/// this with `from` = what it had already looked at, so each byte is
/// scanned once however the head arrives (no quadratic re-parsing), and
/// parses only once the head is complete.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3).min(buf.len());
    memchr::memchr_iter(b'\n', &buf[start..])
        .map(|i| start + i)
        .find_map(|lf| match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => Some(lf + 3),
            _ => None,
        })
}

/// Parses the request head at the start of `buf` (strictly: see
/// [`crate::http::parse_head`]). `Ok(None)` means more bytes are needed;
/// `Ok(Some((request, len)))` also gives the head's length, so bytes after
/// it (early frames) stay for the frame decoder.
pub fn parse_request<'b>(
    buf: &'b [u8],
    limits: &RequestLimits,
) -> Result<Option<(Request<'b>, usize)>, Rejection> {
    crate::http::parse_head(buf, limits)
}

/// Decides which of the client's extension offers to accept.
pub trait ExtensionNegotiator {
    /// Returns the `Sec-WebSocket-Extensions` response value (or `None` to
    /// accept none), or a rejection for offers that are malformed.
    fn negotiate(&mut self, offers: &[ExtensionOffer]) -> Result<Option<String>, Rejection>;
}

/// What the server accepts.
#[derive(Clone, Debug, Default)]
pub struct ServerPolicy {
    /// Subprotocols the server speaks, preferred first. When the client
    /// offers any, one of these must match or the handshake is refused
    /// (browsers drop a connection that accepts without choosing).
    pub subprotocols: Vec<String>,
    /// Allowed `Origin` values; `None` allows any. Requests without an
    /// Origin (non-browser clients) are allowed.
    pub allowed_origins: Option<Vec<String>>,
}

/// A valid upgrade request, ready to be answered with 101.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The `Sec-WebSocket-Accept` value for the client's key.
    pub accept: String,
    /// The subprotocol chosen from the client's offers, if it offered any.
    pub subprotocol: Option<String>,
    /// The extensions accepted (`Sec-WebSocket-Extensions`), if any.
    pub extensions: Option<String>,
}

impl Accepted {
    /// The 101 response.
    pub fn response(&self) -> Vec<u8> {
        let mut out = String::with_capacity(160);
        out.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
        out.push_str(&self.accept);
        out.push_str("\r\n");
        if let Some(protocol) = &self.subprotocol {
            out.push_str("Sec-WebSocket-Protocol: ");
            out.push_str(protocol);
            out.push_str("\r\n");
        }
        if let Some(extensions) = &self.extensions {
            out.push_str("Sec-WebSocket-Extensions: ");
            out.push_str(extensions);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// Checks a parsed request against RFC 6455 §4.2.1 and the policy.
pub fn accept(
    request: &Request<'_>,
    policy: &ServerPolicy,
    extensions: Option<&mut dyn ExtensionNegotiator>,
) -> Result<Accepted, Rejection> {
    if request.version < 1 {
        return Err(Rejection::BadRequest(
            "HTTP/1.1 or later is required".into(),
        ));
    }
    if !request.body.is_empty() {
        return Err(Rejection::BadRequest(
            "an upgrade request has no body".into(),
        ));
    }
    if request.method != "GET" {
        return Err(Rejection::MethodNotAllowed);
    }
    if request.header("Host").is_none_or(str::is_empty) {
        return Err(Rejection::BadRequest("missing Host header".into()));
    }
    if !request.is_upgrade() {
        return Err(Rejection::UpgradeRequired);
    }
    if !has_token(&request.header_list("Connection"), "upgrade") {
        return Err(Rejection::BadRequest(
            "Connection header must contain Upgrade".into(),
        ));
    }
    if request.header("Sec-WebSocket-Version") != Some("13") {
        return Err(Rejection::UnsupportedVersion);
    }
    let key = match request.header("Sec-WebSocket-Key") {
        Some(key) if is_valid_key(key.as_bytes()) => key,
        Some(_) => {
            return Err(Rejection::BadRequest(
                "Sec-WebSocket-Key must be base64 of 16 bytes".into(),
            ))
        }
        None => return Err(Rejection::BadRequest("missing Sec-WebSocket-Key".into())),
    };
    if let (Some(allowed), Some(origin)) = (&policy.allowed_origins, request.header("Origin")) {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
            return Err(Rejection::Forbidden(
                format!("origin {origin} is not allowed").into(),
            ));
        }
    }
    let offered = request.header_list("Sec-WebSocket-Protocol");
    let subprotocol = if token_list(&offered).next().is_none() {
        None
    } else {
        let chosen = policy
            .subprotocols
            .iter()
            .find(|ours| token_list(&offered).any(|theirs| theirs == ours.as_str()));
        match chosen {
            Some(protocol) => Some(protocol.clone()),
            None => {
                return Err(Rejection::BadRequest(
                    format!("no supported subprotocol among: {offered}").into(),
                ))
            }
        }
    };
    let offers_header = request.header_list("Sec-WebSocket-Extensions");
    let extensions = match extensions {
        Some(negotiator) if !offers_header.trim().is_empty() => {
            let offers = parse_extensions(&offers_header)
                .map_err(|e| Rejection::BadRequest(e.to_string().into()))?;
            negotiator.negotiate(&offers)?
        }
        _ => None,
    };
    Ok(Accepted {
        accept: accept_key(key.as_bytes()),
        subprotocol,
        extensions,
    })
}
