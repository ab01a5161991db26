//! Not a Socket.IO server: the least a Socket.IO echo over WebSocket can
//! do, to measure the floor under every Socket.IO server here (and whether
//! `simdws load --socketio` can drive a server faster than it drives them).
//! `socketio_floor_echo PORT`, one thread, on simdws's engine.
//!
//! It sends a fixed Engine.IO open packet, answers `40` with a fixed
//! CONNECT, and answers each `42<id>["echo",REST` with `43<id>[REST`: no
//! JSON is read, no handler is looked up, nothing is allocated. Pings are
//! neither sent nor expected, and anything else is ignored.
use simdws::http::Rejection;
use simdws::net::{Conn, Handler, Message, Server, ServerConfig, Upgrade};

const OPEN: &str = r#"0{"sid":"floorfloorfloorfloor","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const JOINED: &str = r#"40{"sid":"floorfloorfloorfloo2"}"#;

/// The ack an `echo` emit asks for: its id, and its arguments after the
/// event's name, written into `out`.
fn ack_of(emit: &str, out: &mut String) -> bool {
    let Some(rest) = emit.strip_prefix("42") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(args) = rest[digits..].strip_prefix(r#"["echo","#) else {
        return false;
    };
    out.clear();
    out.push_str("43");
    out.push_str(&rest[..digits]);
    out.push('[');
    out.push_str(args);
    true
}

struct Floor {
    ack: String,
}

impl Handler for Floor {
    fn on_open(&mut self, conn: &mut Conn<'_>, _: &Upgrade<'_>) -> Result<(), Rejection> {
        let _ = conn.send_text(OPEN);
        Ok(())
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let Message::Text(text) = message else {
            return;
        };
        if text == "40" {
            let _ = conn.send_text(JOINED);
        } else if ack_of(text, &mut self.ack) {
            let _ = conn.send_text(&self.ack);
        }
    }
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let config = ServerConfig {
        addr: ([127, 0, 0, 1], port).into(),
        workers: 1,
        ..ServerConfig::default()
    };
    let server = Server::start(config, |_, _| Floor { ack: String::new() }).expect("listen");
    server.join();
}

#[cfg(test)]
mod tests {
    use super::ack_of;

    #[test]
    fn an_echo_emit_is_answered_with_its_arguments() {
        let mut out = String::new();
        assert!(ack_of(r#"4217["echo","abc"]"#, &mut out));
        assert_eq!(out, r#"4317["abc"]"#);
        assert!(!ack_of(r#"42["news",1]"#, &mut out));
        assert!(!ack_of("2", &mut out));
    }
}
