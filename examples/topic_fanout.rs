//! The fan-out benchmark's server: a connection to `/sub` subscribes to the
//! topic `bench`, and every message any connection sends is published to
//! `bench` (framed once, written to each subscriber). Nothing is dropped
//! (`SlowSubscriber::Queue`), as in the uWebSockets peer it is measured
//! against. `simdws load --fanout N` drives it.
//!
//! ```text
//! cargo run --release --example topic_fanout -- --addr 127.0.0.1:9004 [--workers 1]
//!     [--redis redis://127.0.0.1:6379/]   (feature redis: topics shared across processes)
//! ```

use simdws::handshake::Rejection;
use simdws::net::{
    Conn, Handler, Message, Server, ServerConfig, SlowSubscriber, TopicConfig, Upgrade,
};

const TOPIC: &str = "bench";

struct Fanout;

impl Handler for Fanout {
    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        if upgrade.path() == "/sub" {
            conn.subscribe(TOPIC);
        }
        Ok(())
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        conn.publish(TOPIC, message);
    }
}

fn main() -> std::io::Result<()> {
    let mut config = ServerConfig {
        addr: "127.0.0.1:9004".parse().unwrap(),
        workers: 1,
        topics: TopicConfig {
            slow: SlowSubscriber::Queue,
            ..TopicConfig::default()
        },
        ..ServerConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--addr" if value.parse::<std::net::SocketAddr>().is_ok() => {
                config.addr = value.parse().unwrap()
            }
            "--workers" if value.parse::<usize>().is_ok_and(|n| n > 0) => {
                config.workers = value.parse().unwrap()
            }
            #[cfg(feature = "redis")]
            "--redis" => config.redis = Some(value),
            _ => {
                eprintln!(
                    "usage: topic_fanout [--addr HOST:PORT] [--workers N] [--redis redis://HOST:PORT/]"
                );
                std::process::exit(2);
            }
        }
    }
    let server = Server::start(config, |_, _| Fanout)?;
    println!("topic_fanout listening on ws://{}/", server.local_addr());
    server.join();
    Ok(())
}
