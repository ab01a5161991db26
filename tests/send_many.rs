//! `ServerHandle::send_many`: sends in a row to one list of connections
//! are framed once and written to each connection at once, straight from
//! one buffer, where the connection can take them so (plain socket, no
//! compression, nothing queued). Every recipient must still get every
//! message, in order, whether it takes that path, compresses, has other
//! output queued before the run, or stops reading so that the socket
//! takes only part of a run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use simdws::deflate::DeflateConfig;
use simdws::handshake::Rejection;
use simdws::net::{
    BlockingClient, ClientOptions, Conn, ConnId, Handler, Message, OwnedEvent, OwnedMessage,
    Server, ServerConfig, Upgrade,
};

#[path = "support/raw_echo.rs"]
mod raw_echo;

/// The connections' ids, by the path each opened.
type Opened = Arc<Mutex<HashMap<String, ConnId>>>;

struct Register(Opened);

impl Handler for Register {
    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        self.0
            .lock()
            .unwrap()
            .insert(upgrade.path().to_string(), conn.id());
        Ok(())
    }

    fn on_message(&mut self, _conn: &mut Conn<'_>, _message: Message<'_>) {}
}

const MESSAGES: u32 = 400;
const SIZE: usize = 16 << 10;

/// Message `n`: text when even, binary when odd, `SIZE` bytes starting
/// with its number.
fn message(n: u32) -> OwnedMessage {
    let head = format!("{n:08}");
    let mut body = head.clone().into_bytes();
    body.resize(SIZE, b'a' + (n % 26) as u8);
    if n.is_multiple_of(2) {
        OwnedMessage::Text(String::from_utf8(body).unwrap())
    } else {
        OwnedMessage::Binary(body)
    }
}

/// What a recipient is expected to read: `message(n)` for each number, and
/// for the connection that is also sent to alone, `own {n}` before the
/// run that carries `n` where one was sent.
fn owned(event: OwnedEvent) -> OwnedMessage {
    match event {
        OwnedEvent::Text(t) => OwnedMessage::Text(t),
        OwnedEvent::Binary(b) => OwnedMessage::Binary(b),
        other => panic!("expected a message, got {other:?}"),
    }
}

fn reader(mut client: BlockingClient, expected: usize) -> thread::JoinHandle<Vec<OwnedMessage>> {
    thread::spawn(move || {
        (0..expected)
            .map(|_| owned(client.recv().expect("a message")))
            .collect()
    })
}

/// A client of `server` on `path`, reading with a 30 s timeout, with a
/// compression offer or none.
fn client(server: &Server, path: &str, deflate: Option<DeflateConfig>) -> BlockingClient {
    let options = ClientOptions {
        deflate,
        timeout: Some(Duration::from_secs(30)),
        ..ClientOptions::default()
    };
    BlockingClient::connect_with(&format!("ws://{}{path}", server.local_addr()), options).unwrap()
}

#[test]
fn every_recipient_of_a_run_gets_every_message_in_order() {
    let opened: Opened = Arc::default();
    let registry = opened.clone();
    let server = Server::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
            deflate: Some(DeflateConfig::default()),
            ..ServerConfig::default()
        },
        move |_, _| Register(registry.clone()),
    )
    .unwrap();
    let plain = client(&server, "/plain", None);
    let also_alone = client(&server, "/alone", None);
    let compressing = client(&server, "/deflate", Some(DeflateConfig::default()));
    assert!(compressing.extensions().is_some());
    // Opened without a client that reads: it reads only at the end, so its
    // socket fills and takes part of a run.
    let mut stalled = raw_echo::upgraded_stream_to_path(server.local_addr(), "/stalled");
    let deadline = Instant::now() + Duration::from_secs(10);
    while opened.lock().unwrap().len() < 4 {
        assert!(Instant::now() < deadline, "connections not opened");
        thread::sleep(Duration::from_millis(5));
    }
    let ids = opened.lock().unwrap().clone();
    let all = [
        ids["/plain"],
        ids["/alone"],
        ids["/deflate"],
        ids["/stalled"],
    ];

    let mut expected = Vec::new();
    let mut expected_alone = Vec::new();
    let readers = [
        reader(plain, MESSAGES as usize),
        reader(also_alone, MESSAGES as usize + (MESSAGES / 7 + 1) as usize),
        reader(compressing, MESSAGES as usize),
    ];
    let handle = server.handle();
    for n in 0..MESSAGES {
        // Output queued on one recipient before the run it is in.
        if n.is_multiple_of(7) {
            let own = OwnedMessage::Text(format!("own {n}"));
            handle.send(ids["/alone"], own.clone());
            expected_alone.push(own);
        }
        let m = message(n);
        handle.send_many(&all, Arc::new(m.clone()));
        expected.push(m.clone());
        expected_alone.push(m);
    }
    let [plain, alone, compressing] = readers.map(|r| r.join().unwrap());
    assert!(plain == expected, "the plain connection's messages differ");
    assert!(
        alone == expected_alone,
        "the connection also sent to alone read them in another order"
    );
    assert!(
        compressing == expected,
        "the compressing connection's messages differ"
    );
    // 6.5 MB were sent to a socket nobody read: it took part of them.
    let stalled: Vec<OwnedMessage> = raw_echo::read_until_quiet(&mut stalled)
        .into_iter()
        .filter_map(|event| match event {
            OwnedEvent::Text(t) => Some(OwnedMessage::Text(t)),
            OwnedEvent::Binary(b) => Some(OwnedMessage::Binary(b)),
            _ => None,
        })
        .collect();
    assert_eq!(
        stalled.len(),
        expected.len(),
        "the stalled connection lost some"
    );
    assert!(
        stalled == expected,
        "the stalled connection's messages differ"
    );
}
