//! The client side: build the upgrade request with a fresh key, then verify
//! the server's answer (status, accept value, subprotocol, extensions).

use std::fmt;

use super::accept::{accept_key, generate_key};
use super::tokens::{has_token, parse_extensions};

/// Why the server's answer is not a valid acceptance.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientHandshakeError {
    /// The response head is not valid HTTP.
    Malformed(String),
    /// The response head grew past the limit without ending.
    TooLarge(usize),
    /// The server answered with another status (the body is not read).
    Status(u16),
    /// The 101 lacks `Upgrade: websocket` or `Connection: upgrade`.
    MissingUpgrade,
    /// `Sec-WebSocket-Accept` does not match the key we sent.
    BadAccept,
    /// The server chose a subprotocol we did not offer.
    UnrequestedSubprotocol(String),
    /// We offered subprotocols and the server picked none.
    NoSubprotocol,
    /// The server accepted an extension we did not offer (or malformed).
    UnrequestedExtension(String),
    /// The server's answer to an extension offer breaks that extension's
    /// rules (e.g. a permessage-deflate parameter we did not allow).
    BadExtension(String),
}

impl fmt::Display for ClientHandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed handshake response: {e}"),
            Self::TooLarge(max) => write!(f, "handshake response exceeds {max} bytes"),
            Self::Status(status) => write!(f, "server answered {status} instead of 101"),
            Self::MissingUpgrade => {
                f.write_str("response lacks Upgrade: websocket / Connection: Upgrade")
            }
            Self::BadAccept => f.write_str("Sec-WebSocket-Accept does not match the key"),
            Self::UnrequestedSubprotocol(p) => {
                write!(f, "server chose subprotocol {p:?}, which was not offered")
            }
            Self::NoSubprotocol => f.write_str("server chose none of the offered subprotocols"),
            Self::UnrequestedExtension(e) => {
                write!(f, "server accepted extension {e:?}, which was not offered")
            }
            Self::BadExtension(e) => write!(f, "bad extension answer: {e}"),
        }
    }
}

impl std::error::Error for ClientHandshakeError {}

/// A request to send, remembering what it offered for verification.
#[derive(Clone, Debug)]
pub struct ClientRequest {
    key: String,
    subprotocols: Vec<String>,
    extensions: Option<String>,
    bytes: Vec<u8>,
}

/// The accepted handshake, as the server answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientResponse {
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted (`Sec-WebSocket-Extensions`), if any.
    pub extensions: Option<String>,
}

impl ClientRequest {
    /// `host` is the Host header value (`host:port`), `target` the path and
    /// query. `extensions` is a `Sec-WebSocket-Extensions` offer.
    pub fn new(
        host: &str,
        target: &str,
        subprotocols: &[&str],
        extensions: Option<&str>,
        extra_headers: &[(&str, &str)],
    ) -> Self {
        let key = generate_key();
        let mut head = format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        );
        if !subprotocols.is_empty() {
            head.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                subprotocols.join(", ")
            ));
        }
        if let Some(ext) = extensions {
            head.push_str(&format!("Sec-WebSocket-Extensions: {ext}\r\n"));
        }
        for (name, value) in extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        ClientRequest {
            key,
            subprotocols: subprotocols.iter().map(|s| s.to_string()).collect(),
            extensions: extensions.map(str::to_string),
            bytes: head.into_bytes(),
        }
    }

    /// The request head to write.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `Sec-WebSocket-Key` sent, whose accept value the response must carry.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Verifies the response head at the start of `buf`. `Ok(None)` means
    /// more bytes are needed; on success also returns the head's length so
    /// frames that followed it in the same read are kept.
    pub fn verify(
        &self,
        buf: &[u8],
        max_bytes: usize,
    ) -> Result<Option<(ClientResponse, usize)>, ClientHandshakeError> {
        let mut storage = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut storage);
        let len = match res.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > max_bytes => {
                return Err(ClientHandshakeError::TooLarge(max_bytes))
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(ClientHandshakeError::Malformed(e.to_string())),
        };
        let status = res.code.unwrap_or(0);
        if status != 101 {
            return Err(ClientHandshakeError::Status(status));
        }
        let header = |name: &str| -> Option<String> {
            let values: Vec<&str> = res
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
                .map(str::trim)
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        };
        let upgrade_ok = header("Upgrade").is_some_and(|u| has_token(&u, "websocket"));
        let connection_ok = header("Connection").is_some_and(|c| has_token(&c, "upgrade"));
        if !upgrade_ok || !connection_ok {
            return Err(ClientHandshakeError::MissingUpgrade);
        }
        if header("Sec-WebSocket-Accept").as_deref()
            != Some(accept_key(self.key.as_bytes()).as_str())
        {
            return Err(ClientHandshakeError::BadAccept);
        }
        let subprotocol = header("Sec-WebSocket-Protocol");
        match &subprotocol {
            Some(p) if !self.subprotocols.iter().any(|s| s == p) => {
                return Err(ClientHandshakeError::UnrequestedSubprotocol(p.clone()))
            }
            None if !self.subprotocols.is_empty() => {
                return Err(ClientHandshakeError::NoSubprotocol)
            }
            _ => {}
        }
        let extensions = header("Sec-WebSocket-Extensions");
        if let Some(accepted) = &extensions {
            let offered: Vec<String> = self
                .extensions
                .as_deref()
                .and_then(|o| parse_extensions(o).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.name)
                .collect();
            let parsed = parse_extensions(accepted)
                .map_err(|_| ClientHandshakeError::UnrequestedExtension(accepted.clone()))?;
            if let Some(bad) = parsed.iter().find(|e| !offered.contains(&e.name)) {
                return Err(ClientHandshakeError::UnrequestedExtension(bad.name.clone()));
            }
        }
        Ok(Some((
            ClientResponse {
                subprotocol,
                extensions,
            },
            len,
        )))
    }
}
