//! Why a connection ended, as [`Handler::on_close`](super::Handler::on_close)
//! is told: the peer's close frame, or one of the ways a connection ends
//! without one. Modelled on rustls's errors: what the peer did is kept apart
//! from what failed here.

use std::fmt;

use crate::frame::{CloseCode, CloseFrame};
use crate::protocol::{ExtensionError, ProtocolError};

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The close handshake: the peer's close frame, whether it began the
    /// close or answered ours (its reason was echoed when it began).
    Peer(CloseFrame),
    /// The peer broke the protocol (a bad frame, invalid UTF-8, a bad close
    /// code); it was sent the error's close code (1002 or 1007).
    ProtocolViolation(ProtocolError),
    /// The peer went past a limit (a frame or message too big, too many
    /// fragments, a message that inflates too far); it was sent 1009 or 1008.
    LimitExceeded(ProtocolError),
    /// The peer did not read what it was sent, past `max_buffered` bytes
    /// (dropped without a close handshake; 1008 in the code).
    SlowConsumer,
    /// A deadline passed before the connection could end cleanly.
    Timeout(Deadline),
    /// The transport ended without a close handshake: the peer closed the
    /// socket, or it was reset (1006).
    Vanished,
    /// Reading, writing or connecting failed here (1006).
    Io {
        /// What was being done: `"read"`, `"write"` or `"connect"`.
        during: &'static str,
        /// The error, as the OS said it.
        error: String,
    },
    /// A client connection's upgrade was refused or answered wrongly.
    Handshake(String),
}

/// The deadline in a [`CloseReason::Timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deadline {
    /// Our close frame got no answer within `close_timeout`.
    CloseHandshake,
    /// A client connection was not connected and upgraded in time.
    Connect,
}

impl CloseReason {
    /// The close code that stands for it: the peer's, the one the peer
    /// was sent, or 1006 (abnormal) when no close frame was exchanged.
    pub fn code(&self) -> CloseCode {
        match self {
            CloseReason::Peer(frame) => frame.code,
            CloseReason::ProtocolViolation(e) | CloseReason::LimitExceeded(e) => e.close_code(),
            CloseReason::SlowConsumer => CloseCode::POLICY_VIOLATION,
            _ => CloseCode::ABNORMAL,
        }
    }

    /// The reason for a protocol error: a limit, or a violation.
    pub(crate) fn of_error(error: &ProtocolError) -> CloseReason {
        match error {
            ProtocolError::FrameTooBig { .. }
            | ProtocolError::MessageTooBig { .. }
            | ProtocolError::TooManyFragments { .. }
            | ProtocolError::Extension(ExtensionError::TooBig) => {
                CloseReason::LimitExceeded(error.clone())
            }
            _ => CloseReason::ProtocolViolation(error.clone()),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Peer(frame) if frame.reason.is_empty() => write!(f, "{}", frame.code),
            CloseReason::Peer(frame) => write!(f, "{} {}", frame.code, frame.reason),
            CloseReason::ProtocolViolation(e) => {
                write!(f, "{} protocol violation: {e}", e.close_code())
            }
            CloseReason::LimitExceeded(e) => write!(f, "{} limit exceeded: {e}", e.close_code()),
            CloseReason::SlowConsumer => f.write_str("slow consumer: output past max_buffered"),
            CloseReason::Timeout(Deadline::CloseHandshake) => {
                f.write_str("timeout: the close handshake was not answered")
            }
            CloseReason::Timeout(Deadline::Connect) => {
                f.write_str("timeout: not connected and upgraded in time")
            }
            CloseReason::Vanished => {
                f.write_str("1006 the peer went away without a close handshake")
            }
            CloseReason::Io { during, error } => write!(f, "1006 {during} failed: {error}"),
            CloseReason::Handshake(why) => write!(f, "handshake failed: {why}"),
        }
    }
}
