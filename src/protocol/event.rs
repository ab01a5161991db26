//! What `receive` hands out: events borrowed from the input or the
//! connection, their owned copies, and the pieces of a message for
//! applications that take messages frame by frame or chunk by chunk.

use crate::frame::CloseFrame;

/// Something the peer sent. Payloads borrow the input when a message came in
/// one frame, or the receiver's assembly buffer when it was fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A text message, checked to be UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// Already answered with a pong when `auto_pong` is on.
    Ping(&'a [u8]),
    /// A pong (an answer to our ping, or a heartbeat).
    Pong(&'a [u8]),
    /// The peer's close frame; the echo is already queued when we did not
    /// initiate. Its code is [`NO_STATUS`](crate::frame::CloseCode::NO_STATUS) for an empty frame.
    Close(CloseFrame<&'a str>),
    /// A piece of a data message, under [`Delivery::Frames`](super::Delivery::Frames) or
    /// [`Delivery::Chunks`](super::Delivery::Chunks) (never under the default, whole messages).
    Fragment(Fragment<&'a [u8]>),
}

/// An owned copy of an [`Event`], for APIs that keep events across calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedEvent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// The peer's close frame: its code and reason.
    Close(CloseFrame),
    /// A piece of a data message (see [`Event::Fragment`]).
    Fragment(Fragment<Vec<u8>>),
}

impl From<Event<'_>> for OwnedEvent {
    fn from(event: Event<'_>) -> Self {
        match event {
            Event::Text(t) => OwnedEvent::Text(t.to_string()),
            Event::Binary(b) => OwnedEvent::Binary(b.to_vec()),
            Event::Ping(p) => OwnedEvent::Ping(p.to_vec()),
            Event::Pong(p) => OwnedEvent::Pong(p.to_vec()),
            Event::Close(frame) => OwnedEvent::Close(frame.to_owned()),
            Event::Fragment(piece) => OwnedEvent::Fragment(Fragment {
                text: piece.text,
                data: piece.data.to_vec(),
                first: piece.first,
                last: piece.last,
            }),
        }
    }
}

/// The result of one `receive` call.
#[derive(Debug)]
pub struct Received<'a> {
    /// Input bytes used; call again with the rest.
    pub consumed: usize,
    /// At most one event per call.
    pub event: Option<Event<'a>>,
}

/// A piece of a data message: a whole frame ([`Delivery::Frames`](super::Delivery::Frames)) or the
/// payload bytes one `receive` call had ([`Delivery::Chunks`](super::Delivery::Chunks)).
///
/// A text message's pieces are UTF-8 together, not one by one: a character
/// may straddle two pieces. Every byte has been checked when it arrives,
/// and the message as a whole when its last piece comes; invalid text fails
/// the connection (1007) at the first byte that cannot be completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<D> {
    /// The message is text (its opcode was `Text`).
    pub text: bool,
    /// The payload bytes (decompressed, when an extension compressed them).
    pub data: D,
    /// The message's first piece.
    pub first: bool,
    /// The message's last piece: it is complete.
    pub last: bool,
}
