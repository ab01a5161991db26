//! Close status codes (RFC 6455 §7.4) and the close frame payload.

use std::fmt;

/// What a close frame carries: its code and its reason. The reason is
/// `&str` where the frame is borrowed ([`crate::protocol::Event`]) and
/// `String` where it is kept ([`crate::protocol::OwnedEvent`]): one shape
/// either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseFrame<R = String> {
    /// The close code ([`CloseCode::NO_STATUS`] for an empty close frame).
    pub code: CloseCode,
    /// The reason: UTF-8, up to 123 bytes, often empty.
    pub reason: R,
}

impl CloseFrame<String> {
    /// A close frame with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }
}

impl CloseFrame<&str> {
    /// The frame with its reason copied, to keep.
    pub fn to_owned(self) -> CloseFrame<String> {
        CloseFrame::new(self.code, self.reason)
    }
}

/// A close status code. Named constants cover the registered codes; any
/// other `u16` can be carried and is checked with [`CloseCode::is_valid_on_wire`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: an endpoint goes away (a server shutting down, a page left).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a message of a type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// Never on the wire: reported when a close frame carried no code.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// Never on the wire: reported when the connection died without a close.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data not consistent with the message type (text that is not UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message that violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the server is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (the server is overloaded).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// Never on the wire: the TLS handshake failed.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether a peer may send this code in a close frame: the codes defined
    /// for use (1000–1003, 1007–1014) and the ranges for libraries and
    /// applications (3000–4999). 1004–1006 and 1015 are reserved or
    /// local-only, everything else is unassigned.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a close frame payload is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosePayloadError {
    /// One byte: a code needs two.
    Truncated,
    /// A code a peer may not send.
    InvalidCode(u16),
    /// The reason is not valid UTF-8.
    InvalidReason,
}

/// Splits a close frame payload into its code and UTF-8 reason. An empty
/// payload is valid and means "no status" ([`CloseCode::NO_STATUS`]).
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, ClosePayloadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ClosePayloadError::Truncated),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason =
                crate::utf8::to_str(reason).map_err(|_| ClosePayloadError::InvalidReason)?;
            Ok(Some((code, reason)))
        }
    }
}

/// Writes a close payload (code + reason) into `out`, truncating the reason
/// at a character boundary so the payload fits a control frame (125 bytes).
/// Returns the number of bytes written.
pub fn encode_close_payload(code: CloseCode, reason: &str, out: &mut [u8; 125]) -> usize {
    out[..2].copy_from_slice(&code.0.to_be_bytes());
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    out[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    2 + end
}
