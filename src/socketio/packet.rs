//! Socket.IO v5 packets, the text inside an Engine.IO message:
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//! 2["chat",{"text":"hi"}]        an event on "/"
//! 0/admin,{"token":"123"}        a CONNECT to "/admin" with an auth payload
//! 2/admin,12["ask",1]            an event on "/admin" asking for ack 12
//! 3/admin,12["answer"]           the ack for it
//! 51-["file",{"_placeholder":true,"num":0}]   an event with one binary attachment
//! ```
//!
//! The namespace may end without its comma when nothing follows
//! (`0/random`). Anything that breaks the grammar or the payload rules
//! (an event's data is an array starting with a name that is not reserved;
//! an ack's is an array; a CONNECT's is an object) is a parse error, and
//! the reference server closes the session on one.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;
use serde_json::Value;

/// At most this many binary attachments per packet (socket.io-parser's
/// default since 4.2.6): each is held until the packet is complete.
pub const MAX_ATTACHMENTS: usize = 10;

/// Event names a client may not emit: the server's own lifecycle events.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The packet types of Socket.IO v5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// `0`: join a namespace (client), or the answer with the socket id.
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event with JSON arguments.
    Event,
    /// `3`: the answer to an event that asked for one.
    Ack,
    /// `4`: a CONNECT refused, with why.
    ConnectError,
    /// `5`: an event whose arguments hold binary attachments.
    BinaryEvent,
    /// `6`: an ack whose arguments hold binary attachments.
    BinaryAck,
}

impl PacketKind {
    fn from_digit(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            PacketKind::Connect => '0',
            PacketKind::Disconnect => '1',
            PacketKind::Event => '2',
            PacketKind::Ack => '3',
            PacketKind::ConnectError => '4',
            PacketKind::BinaryEvent => '5',
            PacketKind::BinaryAck => '6',
        }
    }

    /// Binary attachments follow this packet.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// What the packet is.
    pub kind: PacketKind,
    /// The namespace, `/` unless named. (The main namespace is borrowed:
    /// nearly every packet is on it, and it then costs no allocation.)
    pub nsp: Cow<'static, str>,
    /// The ack id: asked for on an event, answered on an ack.
    pub id: Option<u64>,
    /// The JSON payload; binary arguments stand in it as placeholders.
    pub data: Option<Value>,
    /// How many binary attachments follow (binary kinds only).
    pub attachments: usize,
}

/// Why a text is not a valid Socket.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Empty, or the first character is not a packet type.
    UnknownType,
    /// A binary packet without a well-formed `<count>-`.
    BadAttachmentCount,
    /// More attachments than [`MAX_ATTACHMENTS`].
    TooManyAttachments(usize),
    /// An ack id too large to be one.
    BadAckId,
    /// The data is not JSON.
    BadJson,
    /// The data breaks the rules of the packet's type.
    InvalidPayload(PacketKind),
    /// A placeholder names an attachment the packet does not have.
    BadPlaceholder,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownType => f.write_str("unknown packet type"),
            ParseError::BadAttachmentCount => f.write_str("illegal attachment count"),
            ParseError::TooManyAttachments(n) => {
                write!(f, "{n} attachments, more than {MAX_ATTACHMENTS}")
            }
            ParseError::BadAckId => f.write_str("ack id out of range"),
            ParseError::BadJson => f.write_str("data is not JSON"),
            ParseError::InvalidPayload(kind) => write!(f, "invalid payload for {kind:?}"),
            ParseError::BadPlaceholder => f.write_str("placeholder for a missing attachment"),
        }
    }
}

impl std::error::Error for ParseError {}

impl Packet {
    /// A packet on namespace `nsp` with `data`.
    pub fn new(kind: PacketKind, nsp: &str, data: Option<Value>) -> Self {
        Packet {
            kind,
            nsp: namespace(nsp),
            id: None,
            data,
            attachments: 0,
        }
    }

    /// The event `event` with `args` on `nsp`: `EVENT`, or `BINARY_EVENT`
    /// when it carries `attachments`.
    pub fn event(nsp: &str, event: &str, args: Vec<Value>, attachments: usize) -> Self {
        let mut data = Vec::with_capacity(1 + args.len());
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        let kind = if attachments == 0 {
            PacketKind::Event
        } else {
            PacketKind::BinaryEvent
        };
        Packet {
            attachments,
            ..Packet::new(kind, nsp, Some(Value::Array(data)))
        }
    }

    /// The answer to ack `id` on `nsp`: `ACK`, or `BINARY_ACK` when it
    /// carries `attachments`.
    pub fn ack(nsp: &str, id: u64, args: Vec<Value>, attachments: usize) -> Self {
        let kind = if attachments == 0 {
            PacketKind::Ack
        } else {
            PacketKind::BinaryAck
        };
        Packet {
            id: Some(id),
            attachments,
            ..Packet::new(kind, nsp, Some(Value::Array(args)))
        }
    }

    /// Parses the text of an Engine.IO message.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let header = Header::parse(text)?;
        let data = header.json(text)?;
        check_payload(header.kind, data.as_ref(), header.attachments)?;
        Ok(header.into_packet(data))
    }

    /// The packet as the text of an Engine.IO message.
    pub fn encode(&self) -> String {
        self.encode_after("")
    }

    /// The packet as the text of an Engine.IO message, after `prefix`
    /// (`"4"`: the whole Engine.IO message, ready for a WebSocket).
    pub fn encode_after(&self, prefix: &str) -> String {
        let mut out = String::new();
        self.append_after(&mut out, prefix);
        out
    }

    /// Appends the packet's text, after `prefix`, to `out`.
    pub fn append_after(&self, out: &mut String, prefix: &str) {
        let data = self.data.as_ref().map_or(0, super::json::estimated_len);
        let head = (self.kind, self.attachments, &*self.nsp, self.id);
        append_head(out, prefix, head, data);
        if let Some(data) = &self.data {
            super::json::write_value(out, data);
        }
    }
}

/// Appends, after `prefix`, the text of the ack `id` on `nsp` with `args`
/// and no attachments: what `Packet::ack(nsp, id, args, 0)` appends, with
/// no packet built (an ack answered at once is the commonest packet a
/// server sends).
#[cfg(feature = "net")]
pub(super) fn append_ack(out: &mut String, prefix: &str, nsp: &str, id: u64, args: &[Value]) {
    let data = 2 + args
        .iter()
        .map(|arg| super::json::estimated_len(arg) + 1)
        .sum::<usize>();
    append_head(out, prefix, (PacketKind::Ack, 0, nsp, Some(id)), data);
    out.push('[');
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        super::json::write_value(out, arg);
    }
    out.push(']');
}

/// Appends `prefix` and a packet's text before its JSON (its type,
/// attachment count, namespace and ack id), with room reserved for `data`
/// bytes of JSON after it.
fn append_head(
    out: &mut String,
    prefix: &str,
    (kind, attachments, nsp, id): (PacketKind, usize, &str, Option<u64>),
    data: usize,
) {
    // The prefix, the type, an attachment count and an ack id fit in 48.
    out.reserve(48 + nsp.len() + data);
    out.push_str(prefix);
    out.push(kind.digit());
    let mut number = itoa::Buffer::new();
    if kind.is_binary() {
        out.push_str(number.format(attachments));
        out.push('-');
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        out.push_str(number.format(id));
    }
}

/// The part of a packet before its JSON: type, attachment count,
/// namespace and ack id.
struct Header<'t> {
    kind: PacketKind,
    attachments: usize,
    nsp: &'t str,
    id: Option<u64>,
    /// Where the JSON starts.
    data_at: usize,
}

impl<'t> Header<'t> {
    fn parse(text: &'t str) -> Result<Self, ParseError> {
        let bytes = text.as_bytes();
        let kind = bytes
            .first()
            .and_then(|&c| PacketKind::from_digit(c))
            .ok_or(ParseError::UnknownType)?;
        let mut at = 1;

        let mut attachments = 0;
        if kind.is_binary() {
            let digits = count_digits(&bytes[at..]);
            if digits == 0 || bytes.get(at + digits) != Some(&b'-') {
                return Err(ParseError::BadAttachmentCount);
            }
            // More than 19 digits would overflow: it is too many either way.
            attachments = text[at..at + digits].parse().unwrap_or(usize::MAX);
            if attachments > MAX_ATTACHMENTS {
                return Err(ParseError::TooManyAttachments(attachments));
            }
            at += digits + 1;
        }

        let mut nsp = "/";
        if bytes.get(at) == Some(&b'/') {
            let end = memchr::memchr(b',', &bytes[at..]).map_or(bytes.len(), |i| at + i);
            nsp = &text[at..end];
            at = (end + 1).min(bytes.len());
        }

        let mut id = None;
        let digits = count_digits(&bytes[at..]);
        if digits > 0 {
            id = Some(decimal(&bytes[at..at + digits]).ok_or(ParseError::BadAckId)?);
            at += digits;
        }
        Ok(Header {
            kind,
            attachments,
            nsp,
            id,
            data_at: at,
        })
    }

    /// The packet's JSON, if it has any.
    fn json(&self, text: &str) -> Result<Option<Value>, ParseError> {
        match &text[self.data_at..] {
            "" => Ok(None),
            json => super::json::parse(json)
                .map(Some)
                .map_err(|_| ParseError::BadJson),
        }
    }

    fn into_packet(self, data: Option<Value>) -> Packet {
        Packet {
            kind: self.kind,
            nsp: namespace(self.nsp),
            id: self.id,
            data,
            attachments: self.attachments,
        }
    }
}

/// The payload rules of each type (socket.io-parser's, with the data
/// required where the type means nothing without it).
fn check_payload(
    kind: PacketKind,
    data: Option<&Value>,
    attachments: usize,
) -> Result<(), ParseError> {
    let valid = match (kind, data) {
        (PacketKind::Connect, None) => true,
        (PacketKind::Connect, Some(data)) => data.is_object(),
        (PacketKind::Disconnect, data) => data.is_none(),
        (PacketKind::ConnectError, Some(data)) => data.is_object() || data.is_string(),
        (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(args))) => {
            match args.first() {
                Some(Value::String(name)) => !is_reserved(name),
                Some(Value::Number(_)) => true,
                _ => false,
            }
        }
        (PacketKind::Ack | PacketKind::BinaryAck, Some(data)) => data.is_array(),
        _ => false,
    };
    if !valid {
        return Err(ParseError::InvalidPayload(kind));
    }
    match data {
        Some(data) if kind.is_binary() => check_placeholders(data, attachments),
        _ => Ok(()),
    }
}

fn is_reserved(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// A packet from a client, as the server takes it in: a [`Packet`] whose
/// event, if it is one, has its name read apart from its arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// What the packet is.
    pub kind: PacketKind,
    /// The namespace, `/` unless named.
    pub nsp: Cow<'static, str>,
    /// The ack id: asked for on an event, answered on an ack.
    pub id: Option<u64>,
    /// How many binary attachments follow (binary kinds only).
    pub attachments: usize,
    /// What the packet carries.
    pub data: ReceivedData,
}

/// What a [`Received`] packet carries.
#[derive(Clone, Debug, PartialEq)]
pub enum ReceivedData {
    /// An event's name and its arguments. An event named by a number (the
    /// protocol allows one) is named by the number's text, the key
    /// JavaScript would give it.
    Event {
        /// The event's name.
        name: CompactString,
        /// Its arguments; binary ones are placeholders.
        args: Vec<Value>,
    },
    /// Any other packet's JSON, if it has any.
    Data(Option<Value>),
}

impl Received {
    /// Parses the text of an Engine.IO message from a client. It refuses
    /// what [`Packet::parse`] refuses.
    #[inline(always)] // into `Client::read_text`, which says why
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let header = Header::parse(text)?;
        let (kind, attachments) = (header.kind, header.attachments);
        let data = match kind {
            PacketKind::Event | PacketKind::BinaryEvent => event_data(&header, text)?,
            _ => {
                let data = header.json(text)?;
                check_payload(kind, data.as_ref(), attachments)?;
                ReceivedData::Data(data)
            }
        };
        Ok(Received {
            kind,
            nsp: namespace(header.nsp),
            id: header.id,
            attachments,
            data,
        })
    }
}

/// An event's name and arguments, checked as [`check_payload`] checks them.
#[inline(always)] // into `Received::parse`
fn event_data(header: &Header<'_>, text: &str) -> Result<ReceivedData, ParseError> {
    let (kind, attachments) = (header.kind, header.attachments);
    let json = &text[header.data_at..];
    if json.is_empty() {
        return Err(ParseError::InvalidPayload(kind));
    }
    let named = super::json::parse_event(json).map_err(|_| ParseError::BadJson)?;
    let (name, args) = match named {
        Some((name, _)) if is_reserved(&name) => {
            return Err(ParseError::InvalidPayload(kind));
        }
        Some((name, args)) => (CompactString::from(name), args),
        None => {
            // Rare: read whole, as any other packet's data.
            let data = header.json(text)?.expect("not empty");
            check_payload(kind, Some(&data), attachments)?;
            let Value::Array(mut items) = data else {
                unreachable!("an event's data was checked to be an array");
            };
            // Checked to be a number: its JSON text is its name.
            let name = items.remove(0).to_string().into();
            return Ok(ReceivedData::Event { name, args: items });
        }
    };
    if kind.is_binary() {
        args.iter()
            .try_for_each(|arg| check_placeholders(arg, attachments))?;
    }
    Ok(ReceivedData::Event { name, args })
}

/// A packet's namespace: the main one borrowed, any other owned.
fn namespace(nsp: &str) -> Cow<'static, str> {
    if nsp == "/" {
        Cow::Borrowed("/")
    } else {
        Cow::Owned(nsp.to_owned())
    }
}

/// The number `digits` (ASCII digits) write; `None` past `u64::MAX`.
fn decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, digit| {
        n.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The placeholder standing for attachment `num` in a packet's data.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// The attachment a value stands for, if it is a placeholder.
pub fn placeholder_num(value: &Value) -> Option<u64> {
    let object = value.as_object()?;
    if object.get("_placeholder")? != &Value::Bool(true) {
        return None;
    }
    object.get("num")?.as_u64()
}

/// Every placeholder in `data`, however deep, names one of `attachments`.
fn check_placeholders(data: &Value, attachments: usize) -> Result<(), ParseError> {
    if let Some(num) = placeholder_num(data) {
        return if num < attachments as u64 {
            Ok(())
        } else {
            Err(ParseError::BadPlaceholder)
        };
    }
    match data {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_placeholders(item, attachments)),
        Value::Object(fields) => fields
            .values()
            .try_for_each(|field| check_placeholders(field, attachments)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Packet {
        Packet::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn connects_with_and_without_a_namespace_and_a_payload() {
        let main = parse("0");
        assert_eq!(
            (main.kind, &*main.nsp, &main.data),
            (PacketKind::Connect, "/", &None)
        );
        assert_eq!(
            parse(r#"0{"token":"123"}"#).data,
            Some(json!({"token": "123"}))
        );
        assert_eq!(parse("0/custom,").nsp, "/custom");
        let custom = parse(r#"0/custom,{"token":"123"}"#);
        assert_eq!(custom.nsp, "/custom");
        assert_eq!(custom.data, Some(json!({"token": "123"})));
        // No trailing comma when nothing follows.
        assert_eq!(parse("0/random").nsp, "/random");
        assert_eq!(parse("1/custom").nsp, "/custom");
        // A CONNECT's payload must be an object.
        assert_eq!(
            Packet::parse(r#"0"token""#),
            Err(ParseError::InvalidPayload(PacketKind::Connect))
        );
    }

    #[test]
    fn events_and_acks_carry_their_ids() {
        let event = parse(r#"2["message",1,"2",{"3":[true]}]"#);
        assert_eq!(event.kind, PacketKind::Event);
        assert_eq!(event.id, None);
        assert_eq!(event.data, Some(json!(["message", 1, "2", {"3": [true]}])));
        let asking = parse(r#"2456["message-with-ack",1]"#);
        assert_eq!(asking.id, Some(456));
        let ack = parse(r#"3/admin,456[1,"2",{"3":[false]}]"#);
        assert_eq!(
            (ack.kind, &*ack.nsp, ack.id),
            (PacketKind::Ack, "/admin", Some(456))
        );
        // An event named by a number is allowed, as the reference allows it.
        assert_eq!(parse("2[7]").data, Some(json!([7])));
        // Ids run to u64::MAX, with leading zeros allowed; one more is refused.
        assert_eq!(parse(r#"318446744073709551615["a"]"#).id, Some(u64::MAX));
        assert_eq!(parse(r#"30042["a"]"#).id, Some(42));
        assert_eq!(
            Packet::parse(r#"318446744073709551616["a"]"#),
            Err(ParseError::BadAckId)
        );
    }

    #[test]
    fn binary_packets_count_their_attachments() {
        let text = r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        let packet = parse(text);
        assert_eq!(
            (packet.kind, packet.attachments),
            (PacketKind::BinaryEvent, 2)
        );
        assert_eq!(packet.encode(), text);
        let ack = parse(r#"61-/admin,789[{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            (ack.kind, ack.attachments, ack.id),
            (PacketKind::BinaryAck, 1, Some(789))
        );
        assert_eq!(ack.nsp, "/admin");
    }

    #[test]
    fn what_the_reference_refuses_is_refused() {
        let cases = [
            ("", ParseError::UnknownType),
            ("abc", ParseError::UnknownType),
            ("7[]", ParseError::UnknownType),
            ("2{}", ParseError::InvalidPayload(PacketKind::Event)),
            (r#"2abc["message"]"#, ParseError::BadJson),
            ("2[]", ParseError::InvalidPayload(PacketKind::Event)),
            (
                r#"2["disconnect"]"#,
                ParseError::InvalidPayload(PacketKind::Event),
            ),
            ("2", ParseError::InvalidPayload(PacketKind::Event)),
            ("3{}", ParseError::InvalidPayload(PacketKind::Ack)),
            ("1{}", ParseError::InvalidPayload(PacketKind::Disconnect)),
            ("4[1]", ParseError::InvalidPayload(PacketKind::ConnectError)),
            (r#"5["a"]"#, ParseError::BadAttachmentCount),
            (r#"5x-["a"]"#, ParseError::BadAttachmentCount),
            (r#"511-["a"]"#, ParseError::TooManyAttachments(11)),
            (
                r#"599999999999999999999999-["a"]"#,
                ParseError::TooManyAttachments(usize::MAX),
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":1}]"#,
                ParseError::BadPlaceholder,
            ),
            (r#"299999999999999999999999["a"]"#, ParseError::BadAckId),
        ];
        for (text, expected) in cases {
            assert_eq!(Packet::parse(text), Err(expected.clone()), "{text:?}");
            assert_eq!(Received::parse(text), Err(expected), "{text:?}");
        }
    }

    /// What [`Received::parse`] should make of `text`: what
    /// [`Packet::parse`] makes of it, an event's name taken out of its array.
    fn packet_with_name_apart(text: &str) -> Result<Received, ParseError> {
        let packet = Packet::parse(text)?;
        let data = match (packet.kind, packet.data) {
            (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(mut items))) => {
                let name = match items.remove(0) {
                    Value::String(name) => name.into(),
                    number => number.to_string().into(),
                };
                ReceivedData::Event { name, args: items }
            }
            (_, data) => ReceivedData::Data(data),
        };
        Ok(Received {
            kind: packet.kind,
            nsp: packet.nsp,
            id: packet.id,
            attachments: packet.attachments,
            data,
        })
    }

    #[test]
    fn a_received_packet_is_the_packet_with_its_events_name_apart() {
        let texts = [
            "0",
            r#"0/custom,{"token":"123"}"#,
            "1/custom",
            r#"2["message",1,"2",{"3":[true]}]"#,
            r#"2456["message-with-ack"]"#,
            r#"2/admin,12[ "ask" , null ]"#,
            r#"2["a \"quoted\" name that is longer than twenty-four bytes","x"]"#,
            r#"2["\u00e9t\u00e9",[]]"#,
            "2[7]",
            "2[7.5,true]",
            r#"3/admin,456[1,"2",{"3":[false]}]"#,
            r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            r#"61-/admin,789[{"_placeholder":true,"num":0}]"#,
            r#"4/x,{"message":"Invalid namespace"}"#,
        ];
        for text in texts {
            assert_eq!(
                Received::parse(text),
                packet_with_name_apart(text),
                "{text:?}"
            );
        }
        let Ok(Received {
            data: ReceivedData::Event { name, args },
            ..
        }) = Received::parse("2[7.5,true]")
        else {
            panic!("an event named by a number");
        };
        assert_eq!((name.as_str(), args), ("7.5", vec![json!(true)]));
        let Ok(Received {
            data: ReceivedData::Event { name, .. },
            ..
        }) = Received::parse(r#"2["\u00e9t\u00e9",[]]"#)
        else {
            panic!("an event");
        };
        assert_eq!(name, "été", "escapes in a name are read");
    }

    #[test]
    #[cfg(feature = "net")]
    fn an_ack_appended_without_a_packet_is_the_packets_text() {
        let cases = [
            ("/", 0, vec![]),
            ("/", 7, vec![json!("echo \"this\"\n")]),
            (
                "/chat",
                u64::MAX,
                vec![json!(1), json!(null), json!({"a": [1.5, "b"]})],
            ),
        ];
        for (nsp, id, args) in cases {
            let mut out = String::from("x");
            append_ack(&mut out, "4", nsp, id, &args);
            let expected = Packet::ack(nsp, id, args, 0).encode_after("4");
            assert_eq!(out, format!("x{expected}"));
        }
    }

    #[test]
    fn encoding_then_parsing_gives_the_packet_back() {
        let packets = [
            Packet::new(PacketKind::Connect, "/", Some(json!({"sid": "abc"}))),
            Packet::new(PacketKind::Connect, "/admin", None),
            Packet::new(PacketKind::Disconnect, "/admin", None),
            Packet::new(
                PacketKind::ConnectError,
                "/x",
                Some(json!({"message": "Invalid namespace"})),
            ),
            Packet {
                id: Some(12),
                ..Packet::new(PacketKind::Event, "/", Some(json!(["ask", 1, null])))
            },
            Packet {
                id: Some(0),
                ..Packet::new(PacketKind::Ack, "/chat", Some(json!([])))
            },
            Packet {
                attachments: 1,
                ..Packet::new(
                    PacketKind::BinaryEvent,
                    "/",
                    Some(json!(["f", placeholder(0)])),
                )
            },
        ];
        for packet in packets {
            assert_eq!(Packet::parse(&packet.encode()), Ok(packet.clone()));
        }
        assert_eq!(
            Packet::new(
                PacketKind::ConnectError,
                "/x",
                Some(json!({"message": "Invalid namespace"}))
            )
            .encode(),
            r#"4/x,{"message":"Invalid namespace"}"#
        );
    }
}
