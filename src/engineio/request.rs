//! Which Engine.IO request an HTTP request is, from its method and query
//! (`?EIO=4&transport=polling&sid=...`), and the errors Node answers the
//! wrong ones with: a 400 (or 403) whose JSON body carries a code 0–5.

use crate::http::HttpResponse;

/// The transport a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling: GETs receive, POSTs send.
    Polling,
    /// A WebSocket upgrade.
    WebSocket,
}

/// What a valid Engine.IO request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A new session (no `sid`): on polling a GET, or a WebSocket upgrade.
    Open(Transport),
    /// A long-polling GET of session `sid`: receive.
    Poll(String),
    /// A long-polling POST of session `sid`: send.
    Post(String),
    /// A WebSocket for session `sid`: the upgrade from polling.
    Upgrade(String),
}

/// Why an Engine.IO request is refused, with Node's codes and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// 0: `transport` is missing or unknown.
    UnknownTransport,
    /// 1: no session with that `sid` (or it is closed).
    UnknownSid,
    /// 2: a new session asked for with a method other than GET.
    BadHandshakeMethod,
    /// 3: anything else wrong with the request.
    BadRequest,
    /// 4: refused by the application (403).
    Forbidden,
    /// 5: `EIO` is missing or not 4.
    UnsupportedProtocolVersion,
    /// A polling body over `maxPayload` (413, no code in Node either).
    PayloadTooLarge,
}

impl EngineError {
    /// Node's code for the error (`None` for 413).
    pub fn code(self) -> Option<u8> {
        Some(match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::Forbidden => 4,
            EngineError::UnsupportedProtocolVersion => 5,
            EngineError::PayloadTooLarge => return None,
        })
    }

    /// Node's message for the error.
    pub fn message(self) -> &'static str {
        match self {
            EngineError::UnknownTransport => "Transport unknown",
            EngineError::UnknownSid => "Session ID unknown",
            EngineError::BadHandshakeMethod => "Bad handshake method",
            EngineError::BadRequest => "Bad request",
            EngineError::Forbidden => "Forbidden",
            EngineError::UnsupportedProtocolVersion => "Unsupported protocol version",
            EngineError::PayloadTooLarge => "Payload too large",
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> u16 {
        match self {
            EngineError::Forbidden => 403,
            EngineError::PayloadTooLarge => 413,
            _ => 400,
        }
    }

    /// The response: `{"code":N,"message":"..."}` as JSON (plain text for
    /// 413, as Node).
    pub fn response(self) -> HttpResponse {
        match self.code() {
            Some(code) => HttpResponse::new(
                self.status(),
                "application/json",
                format!(r#"{{"code":{code},"message":"{}"}}"#, self.message()).into_bytes(),
            ),
            None => HttpResponse::text(self.status(), self.message()),
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EngineError {}

/// The Engine.IO parameters of a query string.
#[derive(Debug, Default)]
struct Query<'a> {
    eio: Option<&'a str>,
    transport: Option<&'a str>,
    sid: Option<&'a str>,
}

fn parse_query(query: &str) -> Query<'_> {
    let mut parsed = Query::default();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "EIO" => parsed.eio = Some(value),
            "transport" => parsed.transport = Some(value),
            "sid" => parsed.sid = Some(value),
            _ => {}
        }
    }
    parsed
}

/// Routes a request to the Engine.IO path: `method` as sent, `query` the
/// part after `?` (empty when there is none), `upgrade` whether it asks
/// for a WebSocket. Checked in Node's order: the version, the transport,
/// then the method.
pub fn route(method: &str, query: &str, upgrade: bool) -> Result<Route, EngineError> {
    let query = parse_query(query);
    if query.eio != Some("4") {
        return Err(EngineError::UnsupportedProtocolVersion);
    }
    let transport = match query.transport {
        Some("polling") => Transport::Polling,
        Some("websocket") => Transport::WebSocket,
        _ => return Err(EngineError::UnknownTransport),
    };
    // A WebSocket transport needs an upgrade request, and a polling one
    // must not be one.
    if (transport == Transport::WebSocket) != upgrade {
        return Err(EngineError::BadRequest);
    }
    match (query.sid, transport) {
        (None, _) if method != "GET" => Err(EngineError::BadHandshakeMethod),
        (None, transport) => Ok(Route::Open(transport)),
        (Some(sid), Transport::WebSocket) => Ok(Route::Upgrade(sid.to_owned())),
        (Some(sid), Transport::Polling) => match method {
            "GET" => Ok(Route::Poll(sid.to_owned())),
            "POST" => Ok(Route::Post(sid.to_owned())),
            _ => Err(EngineError::BadRequest),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_requests_find_their_route() {
        assert_eq!(
            route("GET", "EIO=4&transport=polling", false),
            Ok(Route::Open(Transport::Polling))
        );
        assert_eq!(
            route("GET", "transport=websocket&EIO=4", true),
            Ok(Route::Open(Transport::WebSocket))
        );
        assert_eq!(
            route("GET", "EIO=4&transport=polling&sid=abc&t=123", false),
            Ok(Route::Poll("abc".into()))
        );
        assert_eq!(
            route("POST", "EIO=4&transport=polling&sid=abc", false),
            Ok(Route::Post("abc".into()))
        );
        assert_eq!(
            route("GET", "EIO=4&transport=websocket&sid=abc", true),
            Ok(Route::Upgrade("abc".into()))
        );
    }

    #[test]
    fn wrong_requests_get_nodes_codes() {
        let cases = [
            (
                "GET",
                "transport=polling",
                false,
                EngineError::UnsupportedProtocolVersion,
            ),
            (
                "GET",
                "EIO=abc&transport=polling",
                false,
                EngineError::UnsupportedProtocolVersion,
            ),
            (
                "GET",
                "EIO=3&transport=polling",
                false,
                EngineError::UnsupportedProtocolVersion,
            ),
            ("GET", "EIO=4", false, EngineError::UnknownTransport),
            (
                "GET",
                "EIO=4&transport=abc",
                false,
                EngineError::UnknownTransport,
            ),
            (
                "POST",
                "EIO=4&transport=polling",
                false,
                EngineError::BadHandshakeMethod,
            ),
            (
                "PUT",
                "EIO=4&transport=polling",
                false,
                EngineError::BadHandshakeMethod,
            ),
            (
                "PUT",
                "EIO=4&transport=polling&sid=a",
                false,
                EngineError::BadRequest,
            ),
            (
                "GET",
                "EIO=4&transport=websocket",
                false,
                EngineError::BadRequest,
            ),
            (
                "GET",
                "EIO=4&transport=polling",
                true,
                EngineError::BadRequest,
            ),
        ];
        for (method, query, upgrade, expected) in cases {
            assert_eq!(
                route(method, query, upgrade),
                Err(expected),
                "{method} ?{query}"
            );
        }
    }

    #[test]
    fn errors_answer_with_status_and_json() {
        let response = EngineError::UnknownSid.response();
        let bytes = String::from_utf8(response.to_bytes()).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 400"), "{bytes}");
        assert!(
            bytes.ends_with(r#"{"code":1,"message":"Session ID unknown"}"#),
            "{bytes}"
        );
        assert_eq!(EngineError::Forbidden.status(), 403);
        assert_eq!(EngineError::PayloadTooLarge.status(), 413);
    }
}
