//! A message framed once for many connections (`PreparedMessage`, what a
//! topic's publish is): the same bytes a plain send would make; compressed
//! once for every peer without context takeover; compressed per peer with
//! it; masked per message for a client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use simdws::deflate::{DeflateConfig, Deflater, Inflater};
use simdws::protocol::{Config, Connection, MessageEncoder, OwnedEvent, PreparedMessage, Role};

#[path = "support/frames.rs"]
mod frames;

/// Counts the messages an encoder really encodes.
struct Counting {
    inner: Deflater,
    calls: Arc<AtomicUsize>,
}

impl MessageEncoder for Counting {
    fn rsv_bits(&self) -> u8 {
        self.inner.rsv_bits()
    }

    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.encode(message, out)
    }

    fn stateless_key(&self) -> Option<u64> {
        self.inner.stateless_key()
    }
}

/// A server connection compressing with `takeover`, and the client that
/// reads it.
fn deflate_pair(takeover: bool, calls: &Arc<AtomicUsize>) -> (Connection, Connection) {
    let config = DeflateConfig::default();
    let now = Instant::now();
    let server = Connection::new(Role::Server, Config::default(), now).with_extension(
        Box::new(Inflater::new(15, true)),
        Box::new(Counting {
            inner: Deflater::new(15, takeover, &config),
            calls: calls.clone(),
        }),
    );
    let client = Connection::new(Role::Client, Config::default(), now).with_extension(
        Box::new(Inflater::new(15, takeover)),
        Box::new(Deflater::new(15, true, &config)),
    );
    (server, client)
}

/// What `from` has queued, as `to` reads it.
fn deliver(from: &mut Connection, to: &mut Connection) -> Vec<OwnedEvent> {
    let bytes = from.poll_transmit().to_vec();
    from.advance_transmit(bytes.len());
    let (events, error) = frames::feed_all(to, &bytes);
    assert_eq!(error, None);
    events
}

#[test]
fn an_uncompressed_server_frame_is_what_a_plain_send_makes() {
    let now = Instant::now();
    for len in [0, 1, 125, 126, 65535, 65536, 100_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut plain = Connection::new(Role::Server, Config::default(), now);
        plain.send_binary(&payload).unwrap();
        let mut prepared = Connection::new(Role::Server, Config::default(), now);
        prepared
            .sender()
            .send_prepared(&PreparedMessage::binary(&payload))
            .unwrap();
        assert_eq!(
            prepared.poll_transmit(),
            plain.poll_transmit(),
            "{len} bytes"
        );
    }
}

#[test]
fn peers_without_context_takeover_share_one_compression() {
    let calls = Arc::new(AtomicUsize::new(0));
    let text = "the same words for everyone, ".repeat(40);
    let message = PreparedMessage::text(&text);
    for _ in 0..5 {
        let (mut server, mut client) = deflate_pair(false, &calls);
        server.sender().send_prepared(&message).unwrap();
        let bytes = server.poll_transmit().to_vec();
        assert!(
            bytes.len() < text.len() / 4,
            "not compressed: {}",
            bytes.len()
        );
        assert_eq!(bytes[0] & 0x40, 0x40, "RSV1 marks it compressed");
        assert_eq!(
            deliver(&mut server, &mut client),
            vec![OwnedEvent::Text(text.clone())]
        );
    }
    assert_eq!(calls.load(Ordering::Relaxed), 1, "compressed once for five");
}

#[test]
fn peers_with_context_takeover_compress_for_themselves() {
    let calls = Arc::new(AtomicUsize::new(0));
    let first = PreparedMessage::text(&"hello topic ".repeat(30));
    let second = PreparedMessage::binary(&[9u8; 500]);
    let mut pairs: Vec<_> = (0..3).map(|_| deflate_pair(true, &calls)).collect();
    for (server, client) in &mut pairs {
        for message in [&first, &second] {
            server.sender().send_prepared(message).unwrap();
        }
        assert_eq!(
            deliver(server, client),
            vec![
                OwnedEvent::Text("hello topic ".repeat(30)),
                OwnedEvent::Binary(vec![9; 500])
            ]
        );
    }
    assert_eq!(calls.load(Ordering::Relaxed), 6);
}

#[test]
fn a_client_masks_a_prepared_message() {
    let now = Instant::now();
    let mut client = Connection::new(Role::Client, Config::default(), now);
    let mut server = Connection::new(Role::Server, Config::default(), now);
    client
        .sender()
        .send_prepared(&PreparedMessage::text("from a client"))
        .unwrap();
    assert_eq!(client.poll_transmit()[1] & 0x80, 0x80, "masked");
    assert_eq!(
        deliver(&mut client, &mut server),
        vec![OwnedEvent::Text("from a client".into())]
    );
}
