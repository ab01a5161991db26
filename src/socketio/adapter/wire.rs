//! What Node's `@socket.io/redis-adapter` 8.3 puts on Redis, so simdws and
//! Node servers serve one room together.
//!
//! * A broadcast is PUBLISHed on `socket.io#<nsp>#`, or on
//!   `socket.io#<nsp>#<room>#` when it targets exactly one room. Its
//!   payload is msgpack of `[uid, {type: 2, data: [event, ...args], nsp},
//!   {rooms, except, flags}]`; binary arguments travel as msgpack `bin`.
//! * Requests between servers go on `socket.io-request#<nsp>#` as JSON
//!   `{uid, requestId, type, ...}` (msgpack for a broadcast that wants
//!   acks), and answers on `socket.io-response#<nsp>#`.
//!
//! In here, JSON values carry binary as Socket.IO placeholders beside a
//! list of attachments, as everywhere else in [`crate::socketio`].

use rmpv::Value as Pack;
use serde_json::{Map, Number, Value};

use crate::socketio::packet::{placeholder, placeholder_num};

/// The adapter's key, Node's default.
const KEY: &str = "socket.io";
/// Deeper msgpack than this is refused, so a hostile payload cannot
/// exhaust the stack.
const MAX_DEPTH: usize = 256;
/// Socket.IO's EVENT and BINARY_EVENT packet types.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// What a channel is for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Channel<'a> {
    /// Broadcasts to namespace `nsp` (to one `room`, when named).
    Broadcast { nsp: &'a str, room: Option<&'a str> },
    /// Requests to the servers of `nsp`.
    Request { nsp: &'a str },
    /// Answers to requests about `nsp`, for whichever server asked.
    Response { nsp: &'a str },
}

/// The pattern that covers every namespace's broadcast channels.
pub(super) fn broadcast_pattern() -> String {
    format!("{KEY}#*")
}

/// The channel a broadcast to `rooms` of `nsp` goes on.
pub(super) fn broadcast_channel(nsp: &str, rooms: &[String]) -> String {
    match rooms {
        [room] => format!("{KEY}#{nsp}#{room}#"),
        _ => format!("{KEY}#{nsp}#"),
    }
}

/// Where requests to the servers of `nsp` go; a server is counted by
/// `PUBSUB NUMSUB` on it.
pub(super) fn request_channel(nsp: &str) -> String {
    format!("{KEY}-request#{nsp}#")
}

/// Where answers to requests of `nsp` go.
pub(super) fn response_channel(nsp: &str) -> String {
    format!("{KEY}-response#{nsp}#")
}

/// Reads a channel name; `None` for channels that are not the adapter's.
pub(super) fn parse_channel(channel: &str) -> Option<Channel<'_>> {
    if let Some(rest) = channel.strip_prefix(&format!("{KEY}#")) {
        let (nsp, rest) = rest.split_once('#')?;
        let room = match rest {
            "" => None,
            room => Some(room.strip_suffix('#')?),
        };
        return Some(Channel::Broadcast { nsp, room });
    }
    if let Some(rest) = channel.strip_prefix(&format!("{KEY}-response#")) {
        let nsp = rest.strip_suffix('#')?;
        return Some(Channel::Response { nsp });
    }
    let rest = channel.strip_prefix(&format!("{KEY}-request#"))?;
    let nsp = rest.strip_suffix('#')?;
    Some(Channel::Request { nsp })
}

/// A broadcast as it travels between servers.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Broadcast {
    /// The publishing server's id.
    pub(super) uid: String,
    pub(super) nsp: String,
    pub(super) event: String,
    /// The arguments after the event's name, binary ones as placeholders.
    pub(super) args: Vec<Value>,
    pub(super) binary: Vec<Vec<u8>>,
    pub(super) rooms: Vec<String>,
    pub(super) except: Vec<String>,
}

impl Broadcast {
    /// The payload Node's adapter publishes for this broadcast.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut data = vec![Pack::from(self.event.as_str())];
        data.extend(self.args.iter().map(|arg| to_pack(arg, &self.binary)));
        let packet = map([
            ("type", Pack::from(EVENT)),
            ("data", Pack::Array(data)),
            ("nsp", Pack::from(self.nsp.as_str())),
        ]);
        let strings = |names: &[String]| {
            Pack::Array(names.iter().map(|name| Pack::from(name.as_str())).collect())
        };
        let options = map([
            ("rooms", strings(&self.rooms)),
            ("except", strings(&self.except)),
            ("flags", Pack::Map(Vec::new())),
        ]);
        let message = Pack::Array(vec![Pack::from(self.uid.as_str()), packet, options]);
        pack(&message)
    }

    /// Reads a broadcast's payload.
    pub(super) fn decode(payload: &[u8]) -> Result<Broadcast, &'static str> {
        let Pack::Array(parts) = unpack(payload)? else {
            return Err("not an array");
        };
        let [uid, packet, options] = <[Pack; 3]>::try_from(parts).map_err(|_| "not 3 parts")?;
        let uid = uid.as_str().ok_or("a uid that is not a string")?.to_owned();
        let kind = field(&packet, "type").and_then(Pack::as_u64);
        if kind != Some(EVENT) && kind != Some(BINARY_EVENT) {
            return Err("not an event");
        }
        // Node fills in "/" when a packet names no namespace.
        let nsp = field(&packet, "nsp").and_then(Pack::as_str).unwrap_or("/");
        let Some(Pack::Array(data)) = field(&packet, "data") else {
            return Err("an event without data");
        };
        let mut data = data.iter();
        let event = data
            .next()
            .and_then(Pack::as_str)
            .ok_or("an event without a name")?;
        let mut binary = Vec::new();
        let args = data.map(|arg| from_pack(arg, &mut binary)).collect();
        let strings = |name: &str| -> Vec<String> {
            match field(&options, name) {
                Some(Pack::Array(items)) => items.iter().map(room_name).collect(),
                _ => Vec::new(),
            }
        };
        Ok(Broadcast {
            uid,
            nsp: nsp.to_owned(),
            event: event.to_owned(),
            args,
            binary,
            rooms: strings("rooms"),
            except: strings("except"),
        })
    }
}

/// A request from another server, as JSON whichever way it came (JSON,
/// or msgpack for a broadcast that wants acks).
pub(super) fn decode_request(payload: &[u8]) -> Result<(Value, Vec<Vec<u8>>), &'static str> {
    if payload.first() == Some(&b'{') {
        let request = serde_json::from_slice(payload).map_err(|_| "a request that is not JSON")?;
        return Ok((request, Vec::new()));
    }
    let mut binary = Vec::new();
    let request = from_pack(&unpack(payload)?, &mut binary);
    Ok((request, binary))
}

/// An answer in msgpack (Node sends acks that way: they may hold binary).
pub(super) fn encode_response(response: &Value, binary: &[Vec<u8>]) -> Vec<u8> {
    pack(&to_pack(response, binary))
}

/// Rooms are strings; Node also allows numbers.
fn room_name(value: &Pack) -> String {
    match value {
        Pack::String(name) => String::from_utf8_lossy(name.as_bytes()).into_owned(),
        other => other.to_string(),
    }
}

fn map<const N: usize>(fields: [(&str, Pack); N]) -> Pack {
    Pack::Map(
        fields
            .into_iter()
            .map(|(key, value)| (Pack::from(key), value))
            .collect(),
    )
}

fn field<'a>(value: &'a Pack, name: &str) -> Option<&'a Pack> {
    value
        .as_map()?
        .iter()
        .find_map(|(key, value)| (key.as_str() == Some(name)).then_some(value))
}

fn pack(value: &Pack) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("writing to a Vec cannot fail");
    out
}

fn unpack(mut payload: &[u8]) -> Result<Pack, &'static str> {
    rmpv::decode::read_value_with_max_depth(&mut payload, MAX_DEPTH).map_err(|_| "not msgpack")
}

/// JSON to msgpack, each placeholder replaced by its attachment.
fn to_pack(value: &Value, binary: &[Vec<u8>]) -> Pack {
    if let Some(data) = placeholder_num(value).and_then(|num| binary.get(num as usize)) {
        return Pack::Binary(data.clone());
    }
    match value {
        Value::Null => Pack::Nil,
        Value::Bool(b) => Pack::Boolean(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Pack::from(u),
            (None, Some(i)) => Pack::from(i),
            _ => Pack::F64(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Pack::from(s.as_str()),
        Value::Array(items) => Pack::Array(items.iter().map(|v| to_pack(v, binary)).collect()),
        Value::Object(fields) => Pack::Map(
            fields
                .iter()
                .map(|(key, value)| (Pack::from(key.as_str()), to_pack(value, binary)))
                .collect(),
        ),
    }
}

/// msgpack to JSON, each `bin` moved to `binary` behind a placeholder.
/// Extension types (notepack's `undefined`, dates) become null.
fn from_pack(value: &Pack, binary: &mut Vec<Vec<u8>>) -> Value {
    match value {
        Pack::Nil | Pack::Ext(..) => Value::Null,
        Pack::Boolean(b) => Value::Bool(*b),
        Pack::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            _ => Value::Null,
        },
        Pack::F32(f) => float(f64::from(*f)),
        Pack::F64(f) => float(*f),
        Pack::String(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Pack::Binary(data) => {
            binary.push(data.clone());
            placeholder(binary.len() - 1)
        }
        Pack::Array(items) => Value::Array(items.iter().map(|v| from_pack(v, binary)).collect()),
        Pack::Map(fields) => {
            let mut object = Map::new();
            for (key, value) in fields {
                object.insert(room_name(key), from_pack(value, binary));
            }
            Value::Object(object)
        }
    }
}

/// JSON has no NaN or infinity; those become null, as in `JSON.stringify`.
fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn channels_read_back_as_named() {
        let rooms = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(broadcast_channel("/", &[]), "socket.io#/#");
        assert_eq!(
            broadcast_channel("/chat", &rooms(&["a#b"])),
            "socket.io#/chat#a#b#"
        );
        assert_eq!(broadcast_channel("/", &rooms(&["a", "b"])), "socket.io#/#");
        assert_eq!(
            parse_channel("socket.io#/#"),
            Some(Channel::Broadcast {
                nsp: "/",
                room: None
            })
        );
        assert_eq!(
            parse_channel("socket.io#/chat#a#b#"),
            Some(Channel::Broadcast {
                nsp: "/chat",
                room: Some("a#b")
            })
        );
        assert_eq!(
            parse_channel(&request_channel("/x")),
            Some(Channel::Request { nsp: "/x" })
        );
        assert_eq!(
            parse_channel(&response_channel("/x")),
            Some(Channel::Response { nsp: "/x" })
        );
        assert_eq!(parse_channel("socket.io-response#/"), None);
        assert_eq!(parse_channel("simdws#chat"), None);
        assert_eq!(parse_channel("socket.io#/#room"), None);
    }

    /// The bytes notepack.io writes for
    /// `["uid1", {type: 2, data: ["ev", 1, Buffer.from([7])], nsp: "/"},
    /// {rooms: ["r"], except: ["s"], flags: {}}]`, spelled out from the
    /// msgpack spec.
    const NODE_BROADCAST: &[u8] = &[
        0x93, // array of 3
        0xa4, b'u', b'i', b'd', b'1', // "uid1"
        0x83, // map of 3
        0xa4, b't', b'y', b'p', b'e', 0x02, // type: 2
        0xa4, b'd', b'a', b't', b'a', 0x93, // data: [
        0xa2, b'e', b'v', 0x01, 0xc4, 0x01, 0x07, // "ev", 1, bin [7] ]
        0xa3, b'n', b's', b'p', 0xa1, b'/', // nsp: "/"
        0x83, // map of 3
        0xa5, b'r', b'o', b'o', b'm', b's', 0x91, 0xa1, b'r', // rooms: ["r"]
        0xa6, b'e', b'x', b'c', b'e', b'p', b't', 0x91, 0xa1, b's', // except: ["s"]
        0xa5, b'f', b'l', b'a', b'g', b's', 0x80, // flags: {}
    ];

    fn node_broadcast() -> Broadcast {
        Broadcast {
            uid: "uid1".into(),
            nsp: "/".into(),
            event: "ev".into(),
            args: vec![json!(1), placeholder(0)],
            binary: vec![vec![7]],
            rooms: vec!["r".into()],
            except: vec!["s".into()],
        }
    }

    #[test]
    fn a_node_broadcast_reads_with_its_binary_as_an_attachment() {
        assert_eq!(Broadcast::decode(NODE_BROADCAST), Ok(node_broadcast()));
    }

    #[test]
    fn a_broadcast_is_written_as_node_writes_it() {
        assert_eq!(node_broadcast().encode(), NODE_BROADCAST);
    }

    #[test]
    fn values_survive_the_round_trip() {
        let args = vec![
            json!({"a": [null, true, -3, 4.5, "é"], "b": placeholder(1)}),
            placeholder(0),
            json!(u64::MAX),
        ];
        let sent = Broadcast {
            args,
            binary: vec![vec![1, 2], vec![]],
            ..node_broadcast()
        };
        let got = Broadcast::decode(&sent.encode()).unwrap();
        // Attachments are numbered in the order they are met.
        assert_eq!(got.binary, vec![vec![], vec![1, 2]]);
        assert_eq!(got.args[0]["b"], placeholder(0));
        assert_eq!(got.args[1], placeholder(1));
        assert_eq!(got.args[0]["a"], sent.args[0]["a"]);
        assert_eq!(got.args[2], json!(u64::MAX));
    }

    #[test]
    fn strangers_and_hostile_payloads_are_refused() {
        assert!(Broadcast::decode(b"").is_err());
        assert!(Broadcast::decode(&[0x92, 0xa1, b'u', 0xc0]).is_err());
        // An ack (type 3) is not a broadcast.
        let mut ack = NODE_BROADCAST.to_vec();
        ack[12] = 0x03;
        assert!(Broadcast::decode(&ack).is_err());
        // Arrays nested past the depth limit.
        let deep = vec![0x91; 100_000];
        assert!(Broadcast::decode(&deep).is_err());
        // A length far past the payload.
        assert!(Broadcast::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn requests_come_as_json_or_msgpack() {
        let (json_request, _) = decode_request(br#"{"uid":"u","requestId":"r","type":1}"#).unwrap();
        assert_eq!(json_request["type"], 1);
        let packed = encode_response(&json!({"type": 7, "packet": placeholder(0)}), &[vec![9]]);
        let (request, binary) = decode_request(&packed).unwrap();
        assert_eq!(request["type"], 7);
        assert_eq!(binary, vec![vec![9]]);
        assert!(decode_request(b"{nope").is_err());
    }
}
