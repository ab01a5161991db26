//! A server for the topic tests: connections subscribe to the topics their
//! path lists and obey text commands.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use simdws::frame::CloseCode;
use simdws::handshake::Rejection;
use simdws::net::{
    BlockingClient, Conn, Handler, Message, OwnedEvent, Server, ServerConfig, ServerHandle,
    ServerStats, TopicConfig, Upgrade,
};

/// Subscribes each connection to the topics its path lists (`/a,b`), says
/// which worker it is on, and obeys commands: `pub TOPIC BODY`,
/// `sub TOPIC`, `unsub TOPIC`, `topics`.
pub struct Topics;

impl Handler for Topics {
    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        for topic in upgrade.path()[1..].split(',').filter(|t| !t.is_empty()) {
            conn.subscribe(topic);
        }
        if upgrade.query() == Some("hello") {
            let _ = conn.send_text(&format!(
                "worker {}",
                conn.id().to_string().split(':').next().unwrap()
            ));
        }
        Ok(())
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let Message::Text(text) = message else {
            return;
        };
        let mut words = text.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("pub"), Some(topic), Some(body)) => conn.publish(topic, Message::Text(body)),
            (Some("sub"), Some(topic), None) => {
                let fresh = conn.subscribe(topic);
                let _ = conn.send_text(&format!("sub {topic} {fresh}"));
            }
            (Some("unsub"), Some(topic), None) => {
                let was = conn.unsubscribe(topic);
                let _ = conn.send_text(&format!("unsub {topic} {was}"));
            }
            (Some("topics"), None, None) => {
                let mut topics: Vec<&str> = conn.topics().collect();
                topics.sort();
                let list = topics.join(",");
                let _ = conn.send_text(&format!("topics {list}"));
            }
            _ => {
                let _ = conn.close(CloseCode::POLICY_VIOLATION, "unknown command");
            }
        }
    }
}

pub fn server(workers: usize, topics: TopicConfig) -> Server {
    start(config(workers, topics))
}

/// The tests' server settings: a loopback port, short ticks and lingering.
pub fn config(workers: usize, topics: TopicConfig) -> ServerConfig {
    ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers,
        topics,
        tick: Duration::from_millis(20),
        // A closed connection's slot is free soon after (the memory test).
        linger: Duration::from_millis(20),
        ..ServerConfig::default()
    }
}

pub fn start(config: ServerConfig) -> Server {
    Server::start(config, |_, _| Topics).unwrap()
}

/// Waits (up to 10 s) for the workers' counts to satisfy `ok`.
pub fn wait_for(handle: &ServerHandle, ok: impl Fn(&ServerStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = handle.stats();
        if ok(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "stats stay {stats:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client of `server` on `path`, reading with a 20 s timeout.
pub fn client(server: &Server, path: &str) -> BlockingClient {
    let url = format!("ws://{}{path}", server.local_addr());
    let mut client = BlockingClient::connect(&url).unwrap();
    client
        .stream()
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client
}

/// The next message, which must be text.
pub fn text(client: &mut BlockingClient) -> String {
    match client.recv().unwrap() {
        OwnedEvent::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}
