//! Engine.IO v4 packets: one per WebSocket message, or several in one
//! HTTP long-polling body.
//!
//! * A text packet is its type digit and its data: `4hello` is a message,
//!   `2` a ping, `3probe` a pong to the upgrade probe.
//! * A binary message is a raw binary WebSocket frame (no type byte in
//!   v4), or `b` + base64 in a polling body.
//! * A polling body joins packets with the record separator `\x1e`.

use std::borrow::Cow;
use std::fmt;

/// What a message packet's text starts with: over a WebSocket, an
/// Engine.IO message is this, then the application's text.
pub const MESSAGE: &str = "4";

use base64::Engine as _;

/// The separator between the packets of a polling body.
pub const SEPARATOR: char = '\x1e';

/// One Engine.IO packet, borrowing what it can from its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0` + the handshake JSON (server to client).
    Open(Cow<'a, str>),
    /// `1`: the session ends.
    Close,
    /// `2` + optional data (`probe` during an upgrade).
    Ping(Cow<'a, str>),
    /// `3` + the ping's data.
    Pong(Cow<'a, str>),
    /// `4` + a text message.
    Message(Cow<'a, str>),
    /// A binary message.
    Binary(Cow<'a, [u8]>),
    /// `5`: the client switches to the transport it probed.
    Upgrade,
    /// `6`: nothing (answers a held poll during an upgrade).
    Noop,
}

/// Why bytes are not an Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// An empty packet (a polling body with an empty record, or `""`).
    Empty,
    /// The first character is not a packet type `0`–`6` (nor `b` in a
    /// polling body).
    UnknownType(char),
    /// `b` + something that is not base64.
    BadBase64,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(c) => write!(f, "unknown packet type {c:?}"),
            PacketError::BadBase64 => f.write_str("binary packet with invalid base64"),
        }
    }
}

impl std::error::Error for PacketError {}

impl<'a> Packet<'a> {
    /// A packet from a WebSocket text frame.
    pub fn from_text(text: &'a str) -> Result<Self, PacketError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(PacketError::Empty)?;
        let data = Cow::Borrowed(chars.as_str());
        Ok(match kind {
            '0' => Packet::Open(data),
            '1' => Packet::Close,
            '2' => Packet::Ping(data),
            '3' => Packet::Pong(data),
            '4' => Packet::Message(data),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            other => return Err(PacketError::UnknownType(other)),
        })
    }

    /// A packet from a WebSocket binary frame: always a binary message.
    pub fn from_binary(data: &'a [u8]) -> Self {
        Packet::Binary(Cow::Borrowed(data))
    }

    /// A packet from one record of a polling body: `b` + base64 is binary.
    pub fn from_polling(record: &'a str) -> Result<Self, PacketError> {
        match record.strip_prefix('b') {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map(|data| Packet::Binary(Cow::Owned(data)))
                .map_err(|_| PacketError::BadBase64),
            None => Packet::from_text(record),
        }
    }

    /// The type digit of a text packet (`None` for binary).
    fn type_digit(&self) -> Option<char> {
        Some(match self {
            Packet::Open(_) => '0',
            Packet::Close => '1',
            Packet::Ping(_) => '2',
            Packet::Pong(_) => '3',
            Packet::Message(_) => '4',
            Packet::Upgrade => '5',
            Packet::Noop => '6',
            Packet::Binary(_) => return None,
        })
    }

    fn text_data(&self) -> &str {
        match self {
            Packet::Open(data)
            | Packet::Ping(data)
            | Packet::Pong(data)
            | Packet::Message(data) => data,
            _ => "",
        }
    }

    /// Appends the packet as a polling record (`b` + base64 for binary).
    pub fn encode_polling(&self, out: &mut String) {
        match (self.type_digit(), self) {
            (Some(digit), _) => {
                out.push(digit);
                out.push_str(self.text_data());
            }
            (None, Packet::Binary(data)) => {
                out.push('b');
                base64::engine::general_purpose::STANDARD.encode_string(data, out);
            }
            (None, _) => unreachable!("only binary packets have no type digit"),
        }
    }

    /// The packet as a WebSocket message: text (type digit + data), or the
    /// raw bytes of a binary one.
    pub fn to_frame(&self) -> Frame<'_> {
        match self {
            Packet::Binary(data) => Frame::Binary(data),
            _ => {
                let mut text = String::with_capacity(1 + self.text_data().len());
                self.encode_polling(&mut text);
                Frame::Text(text)
            }
        }
    }

    /// An owned copy, free of the input it borrowed.
    pub fn into_owned(self) -> Packet<'static> {
        let own = |data: Cow<'a, str>| Cow::Owned(data.into_owned());
        match self {
            Packet::Open(data) => Packet::Open(own(data)),
            Packet::Close => Packet::Close,
            Packet::Ping(data) => Packet::Ping(own(data)),
            Packet::Pong(data) => Packet::Pong(own(data)),
            Packet::Message(data) => Packet::Message(own(data)),
            Packet::Binary(data) => Packet::Binary(Cow::Owned(data.into_owned())),
            Packet::Upgrade => Packet::Upgrade,
            Packet::Noop => Packet::Noop,
        }
    }
}

/// A packet as one WebSocket message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Send as a text message.
    Text(String),
    /// Send as a binary message.
    Binary(&'a [u8]),
}

/// The packets of a polling body, in order. A malformed record ends the
/// iteration with its error (Node then closes the session).
pub fn decode_payload(body: &str) -> impl Iterator<Item = Result<Packet<'_>, PacketError>> {
    body.split(SEPARATOR).map(Packet::from_polling)
}

/// A polling body holding `packets`, joined with the separator.
pub fn encode_payload<'p, 'a: 'p>(packets: impl IntoIterator<Item = &'p Packet<'a>>) -> String {
    let mut body = String::new();
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            body.push(SEPARATOR);
        }
        packet.encode_polling(&mut body);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }

    #[test]
    fn text_packets_are_a_type_digit_and_their_data() {
        assert_eq!(
            Packet::from_text("4hello"),
            Ok(Packet::Message(text("hello")))
        );
        assert_eq!(Packet::from_text("2probe"), Ok(Packet::Ping(text("probe"))));
        assert_eq!(Packet::from_text("3"), Ok(Packet::Pong(text(""))));
        assert_eq!(Packet::from_text("5"), Ok(Packet::Upgrade));
        assert_eq!(Packet::from_text("6"), Ok(Packet::Noop));
        assert_eq!(Packet::from_text("1"), Ok(Packet::Close));
        assert_eq!(Packet::from_text("4"), Ok(Packet::Message(text(""))));
        assert_eq!(Packet::from_text("abc"), Err(PacketError::UnknownType('a')));
        assert_eq!(Packet::from_text("7x"), Err(PacketError::UnknownType('7')));
        assert_eq!(Packet::from_text(""), Err(PacketError::Empty));
        // A multi-byte first character is reported whole, not as a byte.
        assert_eq!(Packet::from_text("é"), Err(PacketError::UnknownType('é')));
    }

    #[test]
    fn a_polling_body_splits_on_the_separator_and_decodes_base64() {
        let body = "4hello\x1ebAQIDBA==\x1e2\x1e4ä€";
        let packets: Vec<_> = decode_payload(body).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            packets,
            [
                Packet::Message(text("hello")),
                Packet::Binary(Cow::Owned(vec![1, 2, 3, 4])),
                Packet::Ping(text("")),
                Packet::Message(text("ä€")),
            ]
        );
        assert_eq!(encode_payload(&packets), body);
    }

    #[test]
    fn malformed_polling_records_are_errors() {
        let first_error = |body| decode_payload(body).find_map(Result::err);
        assert_eq!(first_error("4a\x1e\x1e4b"), Some(PacketError::Empty));
        assert_eq!(first_error("b!!!"), Some(PacketError::BadBase64));
        assert_eq!(first_error("abc"), Some(PacketError::UnknownType('a')));
        assert_eq!(first_error("4test1\x1e4test2"), None);
    }

    #[test]
    fn over_websocket_binary_is_raw_and_text_carries_its_digit() {
        let data = [0u8, 1, 2, 255];
        let binary = Packet::from_binary(&data);
        assert_eq!(binary.to_frame(), Frame::Binary(&data));
        assert_eq!(
            Packet::Pong(text("probe")).to_frame(),
            Frame::Text("3probe".into())
        );
        assert_eq!(Packet::Noop.to_frame(), Frame::Text("6".into()));
    }

    #[test]
    fn every_packet_survives_a_round_trip_through_polling() {
        let packets = [
            Packet::Open(text(r#"{"sid":"x"}"#)),
            Packet::Close,
            Packet::Ping(text("probe")),
            Packet::Pong(text("")),
            Packet::Message(text("a\u{1e}b is not split inside one record")),
            Packet::Binary(Cow::Owned((0..=255).collect())),
            Packet::Upgrade,
            Packet::Noop,
        ];
        for packet in packets {
            let mut record = String::new();
            packet.encode_polling(&mut record);
            if record.contains(SEPARATOR) {
                // A message holding the separator cannot travel in a polling
                // body; Node has the same limit. It still survives alone.
                assert_eq!(Packet::from_text(&record).unwrap(), packet);
                continue;
            }
            assert_eq!(Packet::from_polling(&record).unwrap().into_owned(), packet);
        }
    }
}
