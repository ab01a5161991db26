//! What can go wrong on a connection: the peer broke the protocol (each
//! mapped to the close code the peer is told), or the application asked for
//! something the state does not allow.

use std::fmt;

use super::extension::ExtensionError;
use crate::frame::{CloseCode, ClosePayloadError, HeaderError, Opcode};

/// The peer misbehaved. The connection has queued a close frame with
/// [`ProtocolError::close_code`] and is closed for further input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A malformed or forbidden frame header.
    Header(HeaderError),
    /// A continuation frame with no message in progress.
    UnexpectedContinuation,
    /// A new data frame while a fragmented message was in progress.
    ExpectedContinuation(Opcode),
    /// An extension's reserved bit on a frame where it is not allowed.
    ReservedBitsOnFrame(Opcode),
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// A close frame with a bad code or reason.
    InvalidClose(ClosePayloadError),
    /// A frame announced more than `max_frame_size` bytes.
    FrameTooBig {
        /// The length the header announced.
        announced: u64,
        /// `max_frame_size`.
        limit: usize,
    },
    /// The message would exceed `max_message_size` bytes.
    MessageTooBig {
        /// `max_message_size`.
        limit: usize,
    },
    /// More than `max_fragments` frames in one message.
    TooManyFragments {
        /// `max_fragments`.
        limit: usize,
    },
    /// The extension rejected the payload.
    Extension(ExtensionError),
}

impl ProtocolError {
    /// The close code this error sends the peer (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::InvalidClose(ClosePayloadError::InvalidReason) => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            ProtocolError::TooManyFragments { .. } => CloseCode::POLICY_VIOLATION,
            ProtocolError::Extension(ExtensionError::TooBig) => CloseCode::MESSAGE_TOO_BIG,
            ProtocolError::Extension(ExtensionError::Corrupt(_)) => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Header(e) => e.fmt(f),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message")
            }
            ProtocolError::ExpectedContinuation(op) => {
                write!(f, "{op:?} frame inside a fragmented message")
            }
            ProtocolError::ReservedBitsOnFrame(op) => {
                write!(f, "extension bit set on a {op:?} frame")
            }
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text message"),
            ProtocolError::InvalidClose(ClosePayloadError::Truncated) => {
                f.write_str("close payload of one byte")
            }
            ProtocolError::InvalidClose(ClosePayloadError::InvalidCode(c)) => {
                write!(f, "invalid close code {c}")
            }
            ProtocolError::InvalidClose(ClosePayloadError::InvalidReason) => {
                f.write_str("close reason is not UTF-8")
            }
            ProtocolError::FrameTooBig { announced, limit } => {
                write!(f, "frame of {announced} bytes exceeds {limit}")
            }
            ProtocolError::MessageTooBig { limit } => write!(f, "message exceeds {limit} bytes"),
            ProtocolError::TooManyFragments { limit } => {
                write!(f, "message of more than {limit} fragments")
            }
            ProtocolError::Extension(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<HeaderError> for ProtocolError {
    fn from(e: HeaderError) -> Self {
        ProtocolError::Header(e)
    }
}

/// The application asked for something the connection's state forbids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent: nothing may follow it.
    Closed,
    /// A fragment out of order: a new message while one is being sent in
    /// fragments, or a continuation with none in progress.
    FragmentOrder,
    /// A control payload over 125 bytes.
    ControlTooLong,
    /// A close code the application may not send (1005, 1006, 1015, …).
    InvalidCloseCode(CloseCode),
    /// A fragment's opcode must be Text, Binary or Continuation.
    NotDataOpcode(Opcode),
    /// Writing to the transport failed (the engine writes large messages
    /// straight away): the connection is broken and is being closed.
    Transport(std::io::ErrorKind),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("connection is closing: no frame may follow a close"),
            SendError::FragmentOrder => f.write_str("fragment out of order"),
            SendError::ControlTooLong => f.write_str("control payload over 125 bytes"),
            SendError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            SendError::NotDataOpcode(op) => write!(f, "{op:?} is not a data opcode"),
            SendError::Transport(kind) => write!(f, "writing to the transport failed: {kind}"),
        }
    }
}

impl std::error::Error for SendError {}
