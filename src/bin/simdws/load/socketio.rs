//! `simdws load --socketio`: each connection speaks Socket.IO over a
//! WebSocket (Engine.IO v4): it reads the open packet, joins `/` with
//! `40`, then emits `echo` with the payload and an ack id, and counts the
//! ack (`43<id>["<payload>"]`) as the echo. Pings (`2`) are answered (`3`);
//! any other event the server sends is ignored.

/// Where a connection's Socket.IO handshake stands (kept with the
/// connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the Engine.IO open packet.
    Opening,
    /// `40` sent, waiting for the namespace's answer.
    Joining,
    /// Joined: emitting.
    Ready,
}

/// What an Engine.IO text message from the server means to the load.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The open packet.
    Open,
    /// `/` joined.
    Joined,
    /// A ping to answer.
    Ping,
    /// An ack carrying back this payload.
    Ack(&'a str),
    /// Anything else (events such as `news`).
    Other,
}

/// Reads one server message.
pub fn classify(text: &str) -> Incoming<'_> {
    if text.starts_with('0') {
        return Incoming::Open;
    }
    if text == "2" {
        return Incoming::Ping;
    }
    if text.starts_with("40") {
        return Incoming::Joined;
    }
    if let Some(rest) = text.strip_prefix("43") {
        let body = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if let Some(payload) = body
            .strip_prefix("[\"")
            .and_then(|inner| inner.strip_suffix("\"]"))
        {
            return Incoming::Ack(payload);
        }
    }
    Incoming::Other
}

/// Writes the emit of `payload` asking for ack `id` into `out`. Without
/// `write!`: the formatting machinery cost the load generator about a
/// tenth of its instructions per emit.
pub fn emit(out: &mut String, id: u32, payload: &str) {
    out.clear();
    out.push_str("42");
    out.push_str(itoa::Buffer::new().format(id));
    out.push_str("[\"echo\",\"");
    out.push_str(payload);
    out.push_str("\"]");
}

/// The URL of the Socket.IO WebSocket endpoint under a server's URL.
pub fn endpoint(url: &str) -> String {
    if url.contains("/socket.io/") {
        return url.to_owned();
    }
    format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_read_and_emits_written() {
        assert_eq!(classify(r#"0{"sid":"x"}"#), Incoming::Open);
        assert_eq!(classify(r#"40{"sid":"y"}"#), Incoming::Joined);
        assert_eq!(classify("2"), Incoming::Ping);
        assert_eq!(classify(r#"4312["abc é"]"#), Incoming::Ack("abc é"));
        assert_eq!(classify(r#"42["news",{}]"#), Incoming::Other);
        assert_eq!(classify(r#"43["no id"]"#), Incoming::Ack("no id"));
        let mut out = String::new();
        emit(&mut out, 7, "p");
        assert_eq!(out, r#"427["echo","p"]"#);
        for id in [0, 10, 4_294_967_295] {
            emit(&mut out, id, "é");
            assert_eq!(out, format!(r#"42{id}["echo","é"]"#));
        }
        assert_eq!(
            endpoint("ws://127.0.0.1:9001/"),
            "ws://127.0.0.1:9001/socket.io/?EIO=4&transport=websocket"
        );
    }
}
