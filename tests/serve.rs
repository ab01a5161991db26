//! The `simdws serve` binary as users run it: the page, echo, the chat room
//! across connections, subprotocols, 404 for unknown paths, Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use simdws::frame::CloseCode;
use simdws::net::{BlockingClient, ClientError, ClientOptions, OwnedEvent};

struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start() -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simdws"))
            .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("simdws runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "simdws serving on http://127.0.0.1:PORT/ (...)"
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_string();
        Serve { child, addr }
    }

    fn connect(&self, path: &str, protocols: &[&str]) -> Result<BlockingClient, ClientError> {
        let options = ClientOptions {
            subprotocols: protocols.iter().map(|p| p.to_string()).collect(),
            timeout: Some(Duration::from_secs(10)),
            ..ClientOptions::default()
        };
        BlockingClient::connect_with(&format!("ws://{}{path}", self.addr), options)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_the_page_echo_and_chat() {
    let serve = Serve::start();

    let mut raw = TcpStream::connect(&serve.addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut page = String::new();
    raw.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &page[..80]);
    assert!(
        page.contains("new WebSocket("),
        "the page uses the browser API"
    );

    for path in ["/", "/echo"] {
        let mut c = serve.connect(path, &["echo-protocol"]).unwrap();
        assert_eq!(c.subprotocol(), Some("echo-protocol"));
        c.send_text("你好 😀").unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text("你好 😀".into()));
    }

    // Two members of the room see each other's messages.
    let mut alice = serve.connect("/chat", &["chat"]).unwrap();
    let mut bob = serve.connect("/chat", &["chat"]).unwrap();
    assert_eq!(alice.subprotocol(), Some("chat"));
    // Both are in the room before anyone speaks (the handshake completed),
    // so each message reaches both, the sender included.
    alice.send_text("alice joined").unwrap();
    assert_eq!(
        alice.recv().unwrap(),
        OwnedEvent::Text("alice joined".into())
    );
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Text("alice joined".into()));
    bob.send_text("bob joined").unwrap();
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Text("bob joined".into()));
    assert_eq!(alice.recv().unwrap(), OwnedEvent::Text("bob joined".into()));
    alice.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Binary(vec![1, 2, 3]));
    assert_eq!(alice.recv().unwrap(), OwnedEvent::Binary(vec![1, 2, 3]));
    bob.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(matches!(
        bob.recv().unwrap(),
        OwnedEvent::Close(CloseCode::NORMAL, _)
    ));
}

#[test]
fn unknown_paths_and_unknown_subprotocols_are_refused() {
    let serve = Serve::start();
    match serve.connect("/nowhere", &[]) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("404"), "{e}"),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
    match serve.connect("/echo", &["mqtt"]) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("400"), "{e}"),
        other => panic!("expected 400, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn sigint_closes_connections_with_1001_and_exits() {
    let mut serve = Serve::start();
    let mut c = serve.connect("/", &[]).unwrap();
    c.send_text("x").unwrap();
    c.recv().unwrap();
    let pid = serve.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert_eq!(
        c.recv().unwrap(),
        OwnedEvent::Close(CloseCode::GOING_AWAY, "server shutting down".into())
    );
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
