//! The sans-IO connection: chunking invariance, the close handshake, every
//! limit at the limit and one past it, zero-copy delivery, the extension
//! hook and the timers.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use simdws::frame::{CloseCode, CloseFrame, FrameHeader, HeaderRules, Opcode, Parsed, RSV1};
use simdws::protocol::*;

#[path = "support/frames.rs"]
mod common;
use common::{drive, feed_all, frame};

fn text(payload: &str) -> Vec<u8> {
    frame(true, 0, 1, payload.as_bytes(), [1, 2, 3, 4])
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default(), Instant::now())
}

fn server_with(config: Config) -> Connection {
    Connection::new(Role::Server, config, Instant::now())
}

/// Decodes what a server connection sent (unmasked frames) into events.
fn sent_by(conn: &mut Connection) -> Vec<OwnedEvent> {
    let mut wire = conn.poll_transmit().to_vec();
    let n = wire.len();
    conn.advance_transmit(n);
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut events = Vec::new();
    client
        .receive_all(&mut wire, |e| events.push(OwnedEvent::from(e)))
        .expect("server output is valid");
    events
}

// ----- chunking invariance ----------------------------------------------------

/// Frame specs for streams that are mostly valid, with some violations.
fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => ("\\PC{0,40}", any::<[u8; 4]>()).prop_map(|(t, k)| frame(true, 0, 1, t.as_bytes(), k)),
        2 => (prop::collection::vec(any::<u8>(), 0..300), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 0, 2, &b, k)),
        // A fragmented text message with a ping in the middle.
        2 => ("\\PC{1,30}", any::<[u8; 4]>(), any::<prop::sample::Index>()).prop_map(|(t, k, at)| {
            let bytes = t.as_bytes();
            let cut = at.index(bytes.len() + 1);
            let mut out = frame(false, 0, 1, &bytes[..cut], k);
            out.extend(frame(true, 0, 9, b"mid", k));
            out.extend(frame(true, 0, 0, &bytes[cut..], k));
            out
        }),
        1 => (prop::collection::vec(any::<u8>(), 0..125), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 0, 9, &b, k)),
        1 => (prop::collection::vec(any::<u8>(), 0..125), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 0, 10, &b, k)),
        // Invalid UTF-8, bad opcodes, stray continuations, closes.
        1 => (prop::collection::vec(any::<u8>(), 0..40), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 0, 1, &b, k)),
        1 => (0u8..16, any::<[u8; 4]>()).prop_map(|(op, k)| frame(true, 0, op, b"x", k)),
        1 => (any::<u16>(), "\\PC{0,20}", any::<[u8; 4]>()).prop_map(|(code, r, k)| {
            let mut p = code.to_be_bytes().to_vec();
            p.extend_from_slice(r.as_bytes());
            p.truncate(125);
            frame(true, 0, 8, &p, k)
        }),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 1000 }))]

    #[test]
    fn chunking_invariance(stream in stream_strategy(), cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let whole = feed_all(&mut server(), &stream);
        let mut split_conn = server();
        let split = drive(&mut split_conn, &stream, &cuts);
        prop_assert_eq!(&whole, &split);
        let mut byte_conn = server();
        let byte_cuts: Vec<usize> = (0..stream.len().min(if cfg!(miri) { 60 } else { 600 })).collect();
        prop_assert_eq!(&whole, &drive(&mut byte_conn, &stream, &byte_cuts));
    }

    #[test]
    fn client_to_server_round_trip(messages in prop::collection::vec(prop_oneof![
        (if cfg!(miri) { "\\PC{0,40}" } else { "\\PC{0,200}" }).prop_map(OwnedEvent::Text),
        prop::collection::vec(any::<u8>(), 0..if cfg!(miri) { 300 } else { 2000 })
            .prop_map(OwnedEvent::Binary),
    ], 0..if cfg!(miri) { 4 } else { 10 })) {
        let now = Instant::now();
        let mut client = Connection::new(Role::Client, Config::default(), now);
        for m in &messages {
            match m {
                OwnedEvent::Text(t) => client.send_text(t).unwrap(),
                OwnedEvent::Binary(b) => client.send_binary(b).unwrap(),
                _ => unreachable!(),
            }
        }
        let wire = client.poll_transmit().to_vec();
        let (events, error) = feed_all(&mut server(), &wire);
        prop_assert_eq!(error, None);
        prop_assert_eq!(events, messages);
    }
}

// ----- delivery ---------------------------------------------------------------

#[test]
fn single_frame_messages_borrow_the_input() {
    let mut conn = server();
    let mut wire = text("zero copy");
    let range = wire.as_ptr_range();
    let received = conn.receive(&mut wire).unwrap();
    match received.event {
        Some(Event::Text(t)) => {
            assert_eq!(t, "zero copy");
            assert!(
                range.contains(&t.as_ptr()),
                "payload must point into the input buffer"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.buffer_capacity(), 0, "nothing was copied");
}

#[test]
fn fragmented_messages_are_assembled_with_control_frames_between() {
    let k = [9, 8, 7, 6];
    let mut wire = frame(false, 0, 2, b"abc", k);
    wire.extend(frame(true, 0, 9, b"ping!", k));
    wire.extend(frame(false, 0, 0, b"def", k));
    wire.extend(frame(true, 0, 0, b"", k));
    let mut conn = server();
    let (events, error) = feed_all(&mut conn, &wire);
    assert_eq!(error, None);
    assert_eq!(
        events,
        vec![
            OwnedEvent::Ping(b"ping!".to_vec()),
            OwnedEvent::Binary(b"abcdef".to_vec())
        ]
    );
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Pong(b"ping!".to_vec())],
        "automatic pong"
    );
}

#[test]
fn utf8_fails_fast_inside_a_partially_received_frame() {
    // Autobahn 6.4.3: the frame's first part holds invalid UTF-8; the close
    // must come before the rest of the frame arrives.
    let mut payload = "κόσμε".as_bytes().to_vec();
    payload.extend_from_slice(&[0xF4, 0x90, 0x80, 0x80]);
    payload.extend_from_slice(b"edited");
    let wire = frame(true, 0, 1, &payload, [1, 2, 3, 4]);
    let header_len = 6;
    let first_part = header_len + "κόσμε".len() + 2; // up to F4 90
    let mut conn = server();
    let mut part = wire[..first_part].to_vec();
    let err = conn.receive(&mut part).unwrap_err();
    assert_eq!(err, ProtocolError::InvalidUtf8);
    assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Close(CloseFrame::new(
            CloseCode(1007),
            "invalid UTF-8 in text message"
        ))]
    );
}

#[test]
fn invalid_utf8_split_across_three_fragments() {
    let k = [5, 5, 5, 5];
    let mut wire = frame(false, 0, 1, &[b'a', 0xF0], k);
    wire.extend(frame(false, 0, 0, &[0x9F], k));
    wire.extend(frame(true, 0, 0, &[0x28], k)); // not a continuation byte
    let (events, error) = feed_all(&mut server(), &wire);
    assert!(events.is_empty());
    assert_eq!(error, Some(1007));
    // And the valid version of the same split passes.
    let mut wire = frame(false, 0, 1, &[b'a', 0xF0], k);
    wire.extend(frame(false, 0, 0, &[0x9F], k));
    wire.extend(frame(true, 0, 0, &[0x98, 0x80], k));
    assert_eq!(
        feed_all(&mut server(), &wire),
        (vec![OwnedEvent::Text("a😀".into())], None)
    );
}

#[test]
fn text_ending_mid_code_point_is_invalid() {
    let wire = frame(true, 0, 1, &[b'o', b'k', 0xE2, 0x82], [1, 1, 1, 1]);
    assert_eq!(feed_all(&mut server(), &wire).1, Some(1007));
}

// ----- protocol violations get their exact close codes ------------------------

#[test]
fn violations_and_their_close_codes() {
    let k = [3, 1, 4, 1];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked client frame", vec![0x81, 0x02, b'h', b'i'], 1002),
        (
            "RSV1 without extension",
            frame(true, 0x40, 1, b"x", k),
            1002,
        ),
        ("reserved opcode 3", frame(true, 0, 3, b"", k), 1002),
        ("reserved opcode 0xB", frame(true, 0, 0xB, b"", k), 1002),
        ("126-byte ping", frame(true, 0, 9, &[0; 126], k), 1002),
        ("fragmented ping", frame(false, 0, 9, b"", k), 1002),
        ("stray continuation", frame(true, 0, 0, b"x", k), 1002),
        (
            "close code 1005",
            frame(true, 0, 8, &1005u16.to_be_bytes(), k),
            1002,
        ),
        (
            "close code 999",
            frame(true, 0, 8, &999u16.to_be_bytes(), k),
            1002,
        ),
        (
            "close payload of one byte",
            frame(true, 0, 8, &[3], k),
            1002,
        ),
        (
            "close reason not UTF-8",
            frame(true, 0, 8, &[3, 0xE8, 0xFF], k),
            1007,
        ),
        ("invalid UTF-8", frame(true, 0, 1, &[0xC0, 0x80], k), 1007),
    ];
    for (name, wire, code) in cases {
        let mut conn = server();
        let (_, error) = feed_all(&mut conn, &wire);
        assert_eq!(error, Some(code), "{name}");
        let sent = sent_by(&mut conn);
        assert!(
            matches!(sent.as_slice(), [OwnedEvent::Close(CloseFrame { code: c, .. })] if c.0 == code),
            "{name}: sent {sent:?}"
        );
        assert!(conn.is_finished(), "{name}");
    }
    // A new message inside a fragmented one.
    let mut wire = frame(false, 0, 1, b"a", k);
    wire.extend(frame(true, 0, 2, b"b", k));
    assert_eq!(feed_all(&mut server(), &wire).1, Some(1002));
}

// ----- limits: at the limit and one past it ------------------------------------

#[test]
fn frame_size_limit() {
    let config = Config {
        max_frame_size: 1000,
        ..Config::default()
    };
    let at = frame(true, 0, 2, &[7; 1000], [1, 2, 3, 4]);
    assert_eq!(feed_all(&mut server_with(config), &at).1, None);
    let over = frame(true, 0, 2, &[7; 1001], [1, 2, 3, 4]);
    let mut conn = server_with(config);
    // Only the header: the claim alone is refused, nothing is buffered.
    let mut header = over[..8].to_vec();
    let err = conn.receive(&mut header).unwrap_err();
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    // Nothing was buffered for the claimed payload: the only storage is the
    // send buffer's minimum (256 bytes), holding the close frame.
    assert!(
        conn.buffer_capacity() <= 256,
        "{} bytes held",
        conn.buffer_capacity()
    );
}

#[test]
fn a_claimed_huge_length_allocates_nothing() {
    let mut conn = server();
    // 2^63 - 1 bytes claimed.
    let mut wire = vec![
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
    ];
    let err = conn.receive(&mut wire).unwrap_err();
    assert!(matches!(err, ProtocolError::FrameTooBig { .. }));
    assert_eq!(err.close_code().0, 1009);
}

#[test]
fn message_size_limit_across_fragments() {
    let config = Config {
        max_message_size: 10,
        ..Config::default()
    };
    let k = [1, 2, 3, 4];
    let mut at = frame(false, 0, 2, &[1; 6], k);
    at.extend(frame(true, 0, 0, &[1; 4], k));
    assert_eq!(
        feed_all(&mut server_with(config), &at),
        (vec![OwnedEvent::Binary(vec![1; 10])], None)
    );
    let mut over = frame(false, 0, 2, &[1; 6], k);
    over.extend(frame(true, 0, 0, &[1; 5], k));
    assert_eq!(feed_all(&mut server_with(config), &over).1, Some(1009));
}

#[test]
fn fragment_count_limit() {
    let config = Config {
        max_fragments: 100,
        ..Config::default()
    };
    let k = [1, 2, 3, 4];
    let stream = |fragments: usize| {
        let mut s = frame(false, 0, 2, b"", k);
        for _ in 0..fragments - 2 {
            s.extend(frame(false, 0, 0, b"", k));
        }
        s.extend(frame(true, 0, 0, b"", k));
        s
    };
    assert_eq!(
        feed_all(&mut server_with(config), &stream(100)),
        (vec![OwnedEvent::Binary(vec![])], None)
    );
    assert_eq!(
        feed_all(&mut server_with(config), &stream(101)).1,
        Some(1008)
    );
}

#[test]
fn pongs_are_coalesced_when_output_backs_up() {
    let config = Config {
        pong_coalesce_above: 1000,
        ..Config::default()
    };
    let mut conn = server_with(config);
    let mut pings = Vec::new();
    let count: u32 = if cfg!(miri) { 300 } else { 10_000 };
    for i in 0..count {
        pings.extend(frame(true, 0, 9, &i.to_be_bytes(), [1, 2, 3, 4]));
    }
    let (events, error) = feed_all(&mut conn, &pings);
    assert_eq!((events.len(), error), (count as usize, None));
    // Output stays near the threshold instead of holding 10,000 pongs, and
    // the latest ping is still answered.
    assert!(
        conn.buffered_amount() < 1100,
        "{} bytes queued",
        conn.buffered_amount()
    );
    let sent = sent_by(&mut conn);
    assert_eq!(
        sent.last(),
        Some(&OwnedEvent::Pong((count - 1).to_be_bytes().to_vec()))
    );
}

// ----- close handshake --------------------------------------------------------

#[test]
fn peer_initiated_close_is_echoed() {
    let mut conn = server();
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice("bye ✓".as_bytes());
    let (events, _) = feed_all(&mut conn, &frame(true, 0, 8, &payload, [1, 2, 3, 4]));
    assert_eq!(
        events,
        vec![OwnedEvent::Close(CloseFrame::new(CloseCode(4000), "bye ✓"))]
    );
    assert_eq!(conn.state(), State::Closed);
    // The echo carries the code and the reason, as npm `ws` and Python
    // `websockets` answer (a browser shows the reason in its CloseEvent).
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Close(CloseFrame::new(CloseCode(4000), "bye ✓"))]
    );
    assert!(conn.is_finished());
    assert_eq!(conn.send_text("late"), Err(SendError::Closed));
    // Input after the close is ignored.
    assert_eq!(feed_all(&mut conn, &text("ignored")), (vec![], None));
}

#[test]
fn empty_close_is_answered_empty() {
    let mut conn = server();
    let (events, _) = feed_all(&mut conn, &frame(true, 0, 8, b"", [1, 2, 3, 4]));
    assert_eq!(
        events,
        vec![OwnedEvent::Close(CloseFrame::new(CloseCode(1005), ""))]
    );
    let mut wire = conn.poll_transmit().to_vec();
    assert_eq!(wire, vec![0x88, 0x00]);
    wire.clear();
}

#[test]
fn locally_initiated_close_waits_for_the_peer() {
    let start = Instant::now();
    let mut conn = Connection::new(Role::Server, Config::default(), start);
    feed_all(&mut conn, &text("before"));
    conn.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Close(CloseFrame::new(
            CloseCode(1001),
            "shutting down"
        ))]
    );
    assert_eq!(conn.send_binary(b"x"), Err(SendError::Closed));
    // Data may still arrive until the peer's close.
    let (events, _) = feed_all(&mut conn, &text("in flight"));
    assert_eq!(events, vec![OwnedEvent::Text("in flight".into())]);
    let (events, _) = feed_all(
        &mut conn,
        &frame(true, 0, 8, &1001u16.to_be_bytes(), [1, 2, 3, 4]),
    );
    assert_eq!(
        events,
        vec![OwnedEvent::Close(CloseFrame::new(CloseCode(1001), ""))]
    );
    assert!(conn.is_finished());
    assert!(sent_by(&mut conn).is_empty(), "no second close frame");
}

#[test]
fn close_handshake_times_out() {
    let start = Instant::now();
    let config = Config {
        close_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let mut conn = Connection::new(Role::Server, config, start);
    conn.close(CloseCode::NORMAL, "").unwrap();
    // The deadline is armed at the next tick, which poll_timeout asks for now.
    assert_eq!(conn.poll_timeout(), Some(start));
    conn.handle_timeout(start);
    assert_eq!(conn.poll_timeout(), Some(start + Duration::from_secs(2)));
    conn.handle_timeout(start + Duration::from_millis(1999));
    assert_eq!(conn.state(), State::Closing);
    conn.handle_timeout(start + Duration::from_secs(2));
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.timed_out());
}

#[test]
fn close_codes_the_application_may_not_send() {
    let mut conn = server();
    for code in [1005, 1006, 1015, 999, 5000] {
        assert_eq!(
            conn.close(CloseCode(code), ""),
            Err(SendError::InvalidCloseCode(CloseCode(code)))
        );
    }
    assert!(conn.close(CloseCode(4999), "app").is_ok());
}

// ----- keepalive and idle -----------------------------------------------------

#[test]
fn keepalive_pings_and_idle_timeout() {
    let start = Instant::now();
    let config = Config {
        ping_interval: Some(Duration::from_secs(10)),
        idle_timeout: Some(Duration::from_secs(30)),
        ..Config::default()
    };
    let mut conn = Connection::new(Role::Server, config, start);
    assert_eq!(conn.poll_timeout(), Some(start + Duration::from_secs(10)));
    conn.handle_timeout(start + Duration::from_secs(10));
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Ping(b"keepalive".to_vec())]
    );
    // Input resets the idle clock (observed at the next tick).
    feed_all(&mut conn, &text("still here"));
    conn.handle_timeout(start + Duration::from_secs(15));
    conn.handle_timeout(start + Duration::from_secs(44));
    assert_eq!(conn.state(), State::Open);
    sent_by(&mut conn);
    conn.handle_timeout(start + Duration::from_secs(45));
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Close(CloseFrame::new(
            CloseCode(1001),
            "idle timeout"
        ))]
    );
    // Closing, only the close deadline is asked for: the idle deadline that
    // fired lies in the past, and a caller that wakes at `poll_timeout`
    // must not be told to wake at it again and again.
    let closing_at = start + Duration::from_secs(45);
    conn.handle_timeout(closing_at);
    let next = conn.poll_timeout().expect("the close deadline");
    assert_eq!(next, closing_at + Config::default().close_timeout);
    conn.handle_timeout(closing_at + Duration::from_millis(1));
    assert_eq!(conn.poll_timeout(), Some(next));
}

// ----- sending ----------------------------------------------------------------

#[test]
fn client_frames_are_masked_with_fresh_keys() {
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    client.send_text("same").unwrap();
    client.send_text("same").unwrap();
    let wire = client.poll_transmit().to_vec();
    let rules = HeaderRules {
        expect_masked: true,
        allowed_rsv: 0,
    };
    let Ok(Parsed::Complete(a, n)) = FrameHeader::parse(&wire, rules) else {
        panic!()
    };
    let Ok(Parsed::Complete(b, _)) = FrameHeader::parse(&wire[n + 4..], rules) else {
        panic!()
    };
    assert!(a.mask.is_some() && b.mask.is_some());
    assert_ne!(a.mask, b.mask);
    assert_ne!(&wire[n..n + 4], b"same", "payload is masked on the wire");
}

#[test]
fn fragmented_sending_order_is_enforced() {
    let mut conn = server();
    assert_eq!(
        conn.send_fragment(Opcode::Continuation, b"x", true),
        Err(SendError::FragmentOrder)
    );
    conn.send_fragment(Opcode::Text, "hé".as_bytes(), false)
        .unwrap();
    assert_eq!(conn.send_text("interleaved"), Err(SendError::FragmentOrder));
    conn.ping(b"control frames may interleave").unwrap();
    conn.send_fragment(Opcode::Continuation, "llo".as_bytes(), true)
        .unwrap();
    assert_eq!(
        conn.send_fragment(Opcode::Ping, b"", true),
        Err(SendError::NotDataOpcode(Opcode::Ping))
    );
    assert_eq!(conn.ping(&[0; 126]), Err(SendError::ControlTooLong));
    assert_eq!(
        sent_by(&mut conn),
        vec![
            OwnedEvent::Ping(b"control frames may interleave".to_vec()),
            OwnedEvent::Text("héllo".into())
        ]
    );
}

#[test]
fn buffers_are_released_when_idle() {
    let mut conn = server();
    let k = [1, 2, 3, 4];
    let mut wire = frame(false, 0, 2, &[0; 5000], k);
    wire.extend(frame(true, 0, 0, &[0; 5000], k));
    feed_all(&mut conn, &wire);
    conn.send_binary(&[1; 3000]).unwrap();
    assert!(conn.buffer_capacity() >= 10_000);
    let n = conn.poll_transmit().len();
    conn.advance_transmit(n);
    conn.release_buffers();
    assert_eq!(conn.buffer_capacity(), 0);
}

// ----- the extension hook -----------------------------------------------------

/// A toy extension on RSV1: the payload travels reversed. It checks the
/// limit the protocol hands it, like a real inflater must.
struct Reverse {
    pending: Vec<u8>,
}

struct ReverseEncoder;

impl MessageEncoder for ReverseEncoder {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }
    fn encode(&mut self, message: &[u8], out: &mut Vec<u8>) -> bool {
        out.extend(message.iter().rev());
        true
    }
}

impl MessageDecoder for Reverse {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }
    fn decode(
        &mut self,
        chunk: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), ExtensionError> {
        self.pending.extend_from_slice(chunk);
        if end {
            if self.pending.len() > limit {
                return Err(ExtensionError::TooBig);
            }
            out.extend(self.pending.drain(..).rev());
        }
        Ok(())
    }
}

#[test]
fn extension_decodes_rsv1_messages_and_encodes_outgoing() {
    let mut conn = server().with_extension(
        Box::new(Reverse {
            pending: Vec::new(),
        }),
        Box::new(ReverseEncoder),
    );
    let k = [1, 2, 3, 4];
    let mut wire = frame(false, RSV1, 1, "olleh".as_bytes(), k);
    wire.extend(frame(true, 0, 0, " ,".as_bytes(), k));
    wire.extend(frame(true, 0, 1, b"plain", k));
    let (events, error) = feed_all(&mut conn, &wire);
    assert_eq!(error, None);
    assert_eq!(
        events,
        vec![
            OwnedEvent::Text(", hello".into()),
            OwnedEvent::Text("plain".into())
        ]
    );
    // RSV1 on a continuation or control frame is still an error.
    let mut bad = frame(false, RSV1, 1, b"a", k);
    bad.extend(frame(true, RSV1, 0, b"b", k));
    let mut conn = server().with_extension(
        Box::new(Reverse {
            pending: Vec::new(),
        }),
        Box::new(ReverseEncoder),
    );
    assert_eq!(feed_all(&mut conn, &bad).1, Some(1002));
    // Outgoing messages are encoded and flagged.
    let mut conn = server().with_extension(
        Box::new(Reverse {
            pending: Vec::new(),
        }),
        Box::new(ReverseEncoder),
    );
    conn.send_text("abc").unwrap();
    assert_eq!(conn.poll_transmit(), &[0xC1, 0x03, b'c', b'b', b'a']);
}

#[test]
fn extension_output_is_held_to_the_message_limit() {
    let config = Config {
        max_message_size: 4,
        ..Config::default()
    };
    let ext = || {
        Box::new(Reverse {
            pending: Vec::new(),
        })
    };
    let enc = || Box::new(ReverseEncoder);
    let at = frame(true, RSV1, 2, b"1234", [1, 2, 3, 4]);
    assert_eq!(
        feed_all(&mut server_with(config).with_extension(ext(), enc()), &at),
        (vec![OwnedEvent::Binary(b"4321".to_vec())], None)
    );
    let over = frame(true, RSV1, 2, b"12345", [1, 2, 3, 4]);
    assert_eq!(
        feed_all(&mut server_with(config).with_extension(ext(), enc()), &over).1,
        Some(1009)
    );
}

// ----- rest ---------------------------------------------------------------------

#[test]
fn a_connection_rests_only_with_nothing_in_flight() {
    let rests = |conn: Connection| Box::new(conn).rest(Instant::now()).is_ok();
    assert!(rests(server()));
    let whole = text("hello");
    // Half a header, half a frame, the first fragment of a message.
    for partial in [&whole[..1], &whole[..8]] {
        let mut conn = server();
        feed_all(&mut conn, partial);
        assert!(!conn.is_at_rest());
        assert!(!rests(conn));
    }
    let mut conn = server();
    feed_all(&mut conn, &frame(false, 0, 1, b"frag", [9, 9, 9, 9]));
    assert!(!rests(conn));
    // Output not yet written; a close begun.
    let mut conn = server();
    conn.send_text("queued").unwrap();
    assert!(!rests(conn));
    let mut conn = server();
    conn.close(CloseCode::NORMAL, "").unwrap();
    let n = conn.poll_transmit().len();
    conn.advance_transmit(n);
    assert!(!rests(conn));
    // A whole message received and its answer written: at rest.
    let mut conn = server();
    assert_eq!(
        feed_all(&mut conn, &whole).0,
        vec![OwnedEvent::Text("hello".into())]
    );
    conn.send_text("hello").unwrap();
    sent_by(&mut conn);
    assert!(rests(conn));
}

#[test]
fn a_woken_connection_goes_on_where_it_stopped() {
    let start = Instant::now();
    let mut conn = server();
    feed_all(&mut conn, &text("before"));
    let resting = Box::new(conn).rest(start).unwrap();
    assert_eq!(resting.role(), Role::Server);
    let mut conn = resting.wake(Config::default(), start);
    // Masked input is still expected (a server), limits still apply.
    assert_eq!(
        feed_all(&mut conn, &text("after")).0,
        vec![OwnedEvent::Text("after".into())]
    );
    assert_eq!(feed_all(&mut conn, b"\x81\x02hi").1, Some(1002));
    // A client wakes masking again, with fresh keys.
    let client = Connection::new(Role::Client, Config::default(), start);
    let mut client = Box::new(client)
        .rest(start)
        .unwrap()
        .wake(Config::default(), start);
    client.send_text("masked").unwrap();
    assert_eq!(client.poll_transmit()[1] & 0x80, 0x80);
}

#[test]
fn keepalive_and_idle_deadlines_survive_a_rest() {
    let start = Instant::now();
    let s = Duration::from_secs;
    let config = Config {
        ping_interval: Some(s(10)),
        idle_timeout: Some(s(30)),
        ..Config::default()
    };
    let mut conn = Connection::new(Role::Server, config, start);
    // Input at 5 s (seen by the timers at the next tick or at the rest).
    conn.handle_timeout(start + s(4));
    feed_all(&mut conn, &text("hi"));
    let resting = Box::new(conn).rest(start + s(5)).unwrap();
    assert_eq!(resting.poll_timeout(&config), Some(start + s(15)));
    let mut conn = resting.wake(config, start + s(15));
    conn.handle_timeout(start + s(15));
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Ping(b"keepalive".to_vec())]
    );
    // The ping is remembered across the next rest: the next one is due 10 s
    // after it, the idle close 30 s after the input.
    let resting = Box::new(conn).rest(start + s(16)).unwrap();
    assert_eq!(resting.poll_timeout(&config), Some(start + s(25)));
    let mut conn = resting.wake(config, start + s(35));
    conn.handle_timeout(start + s(35));
    assert_eq!(
        sent_by(&mut conn),
        vec![OwnedEvent::Close(CloseFrame::new(
            CloseCode(1001),
            "idle timeout"
        ))]
    );
}

#[test]
fn an_extension_keeps_its_state_across_a_rest() {
    // `Reverse` buffers a message's chunks until its end; its encoder is
    // stateless. Both halves come back installed: RSV1 is still allowed and
    // outgoing messages are still encoded.
    let conn = server().with_extension(
        Box::new(Reverse {
            pending: Vec::new(),
        }),
        Box::new(ReverseEncoder),
    );
    let mut conn = Box::new(conn)
        .rest(Instant::now())
        .unwrap()
        .wake(Config::default(), Instant::now());
    assert_eq!(
        feed_all(&mut conn, &frame(true, RSV1, 1, b"olleh", [1, 2, 3, 4])).0,
        vec![OwnedEvent::Text("hello".into())]
    );
    conn.send_text("abc").unwrap();
    assert_eq!(conn.poll_transmit(), &[0xC1, 0x03, b'c', b'b', b'a']);
}

// ----- frames and chunks: the pieces of a message --------------------------------

fn server_delivering(delivery: Delivery) -> Connection {
    server_with(Config {
        delivery,
        ..Config::default()
    })
}

/// The pieces' flags and bytes, checked to make up the message.
fn joined(events: &[OwnedEvent]) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut text = None;
    for (n, event) in events.iter().enumerate() {
        let OwnedEvent::Fragment(piece) = event else {
            panic!("not a piece: {event:?}");
        };
        assert_eq!(piece.first, n == 0, "first flag on piece {n}");
        assert_eq!(piece.last, n + 1 == events.len(), "last flag on piece {n}");
        assert_eq!(*text.get_or_insert(piece.text), piece.text);
        bytes.extend_from_slice(&piece.data);
    }
    (bytes, text.unwrap_or(false))
}

/// A text message in three frames, its characters cut across the frames.
fn fragmented_text() -> (String, Vec<u8>) {
    let message = "héllo wörld, 中文 and 😀 ".repeat(40);
    let bytes = message.as_bytes();
    // Both cuts inside multi-byte characters.
    let inside = |from: usize| (from..).find(|&i| !message.is_char_boundary(i)).unwrap();
    let (a, b) = (inside(300), inside(600));
    let mut wire = frame(false, 0, 1, &bytes[..a], [9, 8, 7, 6]);
    wire.extend(frame(false, 0, 0, &bytes[a..b], [1, 1, 2, 3]));
    wire.extend(frame(true, 0, 0, &bytes[b..], [5, 0, 5, 0]));
    (message, wire)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 256 }))]

    #[test]
    fn frames_arrive_one_piece_per_frame_however_the_input_is_cut(
        cuts in proptest::collection::vec(any::<usize>(), 0..12)
    ) {
        let (message, wire) = fragmented_text();
        let mut conn = server_delivering(Delivery::Frames);
        let (events, failure) = drive(&mut conn, &wire, &cuts);
        prop_assert_eq!(failure, None);
        prop_assert_eq!(events.len(), 3);
        let (bytes, text) = joined(&events);
        prop_assert!(text);
        prop_assert_eq!(bytes, message.as_bytes());
    }

    #[test]
    fn chunks_make_up_the_message_and_the_connection_keeps_none_of_it(
        cuts in proptest::collection::vec(any::<usize>(), 0..12)
    ) {
        let (message, wire) = fragmented_text();
        let mut conn = server_delivering(Delivery::Chunks);
        let (events, failure) = drive(&mut conn, &wire, &cuts);
        prop_assert_eq!(failure, None);
        let (bytes, text) = joined(&events);
        prop_assert!(text);
        prop_assert_eq!(bytes, message.as_bytes());
        prop_assert_eq!(conn.buffer_capacity(), 0);
    }
}

#[test]
fn whole_messages_are_the_default_and_control_frames_still_come_whole() {
    let (message, mut wire) = fragmented_text();
    // A ping in the middle of the message, between its first two frames.
    let first_len = 2 + 2 + 4 + u16::from_be_bytes([wire[2], wire[3]]) as usize;
    let ping = frame(true, 0, 9, b"are you there", [4, 4, 4, 4]);
    wire.splice(first_len..first_len, ping);
    for delivery in [Delivery::Messages, Delivery::Frames, Delivery::Chunks] {
        let mut conn = server_delivering(delivery);
        let (events, failure) = feed_all(&mut conn, &wire);
        assert_eq!(failure, None, "{delivery:?}");
        assert!(
            events.contains(&OwnedEvent::Ping(b"are you there".to_vec())),
            "{delivery:?}: {events:?}"
        );
        let data: Vec<OwnedEvent> = events
            .into_iter()
            .filter(|e| !matches!(e, OwnedEvent::Ping(_)))
            .collect();
        match delivery {
            Delivery::Messages => assert_eq!(data, [OwnedEvent::Text(message.clone())]),
            _ => assert_eq!(joined(&data).0, message.as_bytes(), "{delivery:?}"),
        }
    }
}

#[test]
fn invalid_text_fails_in_chunks_at_the_bad_byte_before_the_message_ends() {
    let mut conn = server_delivering(Delivery::Chunks);
    // Announces 1000 bytes; the fourth is not UTF-8.
    let mut payload = b"ok \xff".to_vec();
    payload.resize(1000, b'a');
    let wire = frame(true, 0, 1, &payload, [1, 2, 3, 4]);
    let (events, failure) = feed_all(&mut conn, &wire[..2 + 2 + 4 + 10]);
    assert_eq!(failure, Some(1007), "{events:?}");
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_character_cut_across_chunks_passes_and_a_message_ending_inside_one_fails() {
    // "é" is two bytes; the chunks cut it in half.
    let wire = frame(true, 0, 1, "é".as_bytes(), [1, 2, 3, 4]);
    let mut conn = server_delivering(Delivery::Chunks);
    let (events, failure) = drive(&mut conn, &wire, &[wire.len() - 1]);
    assert_eq!(failure, None);
    assert_eq!(joined(&events).0, "é".as_bytes());
    // A message whose last byte starts a character.
    let wire = frame(true, 0, 1, b"ok\xc3", [1, 2, 3, 4]);
    let (_, failure) = feed_all(&mut server_delivering(Delivery::Chunks), &wire);
    assert_eq!(failure, Some(1007));
}

#[test]
fn delivery_changes_only_between_messages() {
    let mut conn = server();
    let (_, wire) = fragmented_text();
    let (events, _) = feed_all(&mut conn, &wire[..40]);
    assert!(events.is_empty());
    assert!(
        !conn.set_delivery(Delivery::Chunks),
        "changed inside a message"
    );
    feed_all(&mut conn, &wire[40..]);
    assert!(conn.set_delivery(Delivery::Chunks));
    assert_eq!(conn.config().delivery, Delivery::Chunks);
}

/// A gigabyte (64 MiB in unoptimised builds, 256 KiB under Miri) streams
/// through a 64 KiB buffer: every byte arrives unmasked and in order, and
/// the connection holds no payload at any point.
#[test]
fn a_gigabyte_message_streams_through_a_fixed_buffer() {
    // Under Miri, 16 KiB through a 4 KiB buffer: still four reads, at a
    // sixteenth of the bytes (256 KiB took 176 s there).
    let size: u64 = if cfg!(miri) {
        16 << 10
    } else if cfg!(debug_assertions) {
        64 << 20
    } else {
        1 << 30
    };
    let mut conn = server_with(Config {
        max_frame_size: usize::MAX,
        max_message_size: usize::MAX,
        delivery: Delivery::Chunks,
        ..Config::default()
    });
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode: Opcode::Binary,
        mask: Some(key),
        payload_len: size,
    };
    let mut buf = vec![0u8; if cfg!(miri) { 4 << 10 } else { 64 << 10 }];
    let mut head_bytes = [0u8; 14];
    let head = header.encode(&mut head_bytes);
    buf[..head].copy_from_slice(&head_bytes[..head]);
    let mut reads = 0u64;
    let (mut sent, mut received, mut pieces) = (0u64, 0u64, 0u64);
    let mut last_seen = false;
    let mut start = head;
    while sent < size {
        // The payload byte at offset i is i % 251, masked.
        let n = (buf.len() - start).min((size - sent) as usize);
        for (j, b) in buf[start..start + n].iter_mut().enumerate() {
            *b = ((sent + j as u64) % 251) as u8;
        }
        simdws::mask::apply_mask(&mut buf[start..start + n], key, (sent % 4) as usize);
        sent += n as u64;
        reads += 1;
        let filled = start + n;
        let mut at = 0;
        while at < filled {
            let r = conn.receive(&mut buf[at..filled]).unwrap();
            at += r.consumed;
            if let Some(Event::Fragment(piece)) = r.event {
                assert!(!last_seen && !piece.text);
                assert_eq!(piece.first, pieces == 0);
                let wrong = piece
                    .data
                    .iter()
                    .enumerate()
                    .find(|&(j, &b)| b != ((received + j as u64) % 251) as u8);
                assert_eq!(wrong, None, "at byte {received}");
                received += piece.data.len() as u64;
                pieces += 1;
                last_seen = piece.last;
            }
            assert_eq!(conn.buffer_capacity(), 0, "the connection kept payload");
        }
        start = 0;
    }
    assert_eq!(received, size);
    assert!(last_seen, "the last piece says so");
    assert_eq!(pieces, reads, "one piece per read");
}
