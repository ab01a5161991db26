//! permessage-deflate (RFC 7692): strict parameters, negotiation in both
//! roles (window bits 8 included), round trips with and without context
//! takeover, fragmented compressed input, the size limit at exactly the
//! limit and one past it, a decompression bomb, and the compressor budget.

use std::time::Instant;

use flate2::{Compress, Compression, FlushCompress};
use simdws::deflate::*;
use simdws::frame::RSV1;
use simdws::handshake::{parse_extensions, ExtensionNegotiator};
use simdws::protocol::{
    Config, Connection, ExtensionError, MessageDecoder, MessageEncoder, OwnedEvent, Pair,
    ProtocolError, Role, Side,
};

#[path = "support/frames.rs"]
mod common;
use common::{feed_all, frame};

fn offer(header: &str) -> Result<DeflateParams, ParamError> {
    DeflateParams::parse(&parse_extensions(header).unwrap()[0])
}

fn answer(header: &str, config: &DeflateConfig) -> Option<(String, Agreement)> {
    server_answer(&offer(header).unwrap(), config).map(|(a, g)| (a.to_header(), g))
}

// ----- parameters -------------------------------------------------------------

#[test]
fn parameters_parse_strictly() {
    let p = offer("permessage-deflate; server_no_context_takeover; client_max_window_bits; server_max_window_bits=\"10\"").unwrap();
    assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
    assert_eq!(p.server_max_window_bits, Some(10));
    assert_eq!(p.client_max_window_bits, Some(None));
    assert_eq!(
        offer("permessage-deflate; client_max_window_bits=8")
            .unwrap()
            .client_max_window_bits,
        Some(Some(8))
    );
    for (bad, why) in [
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "duplicate",
        ),
        (
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
            "duplicate",
        ),
        ("permessage-deflate; x_custom", "unknown parameter x_custom"),
        (
            "permessage-deflate; server_no_context_takeover=1",
            "takes no value",
        ),
        (
            "permessage-deflate; server_max_window_bits",
            "needs a value",
        ),
        ("permessage-deflate; server_max_window_bits=7", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=16", "8 to 15"),
        ("permessage-deflate; server_max_window_bits=09", "8 to 15"),
        ("permessage-deflate; client_max_window_bits=abc", "8 to 15"),
    ] {
        let err = offer(bad).expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
}

#[test]
fn parameters_write_back_what_they_read() {
    for header in [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=12",
        "permessage-deflate; client_max_window_bits",
    ] {
        assert_eq!(offer(header).unwrap().to_header(), header);
    }
}

// ----- negotiation --------------------------------------------------------------

#[test]
fn server_answers_offers_within_its_policy() {
    let default = DeflateConfig::default();
    let full = both_ways(15, true);
    assert_eq!(
        answer("permessage-deflate", &default),
        Some(("permessage-deflate".into(), full))
    );
    assert_eq!(
        answer("permessage-deflate; client_max_window_bits", &default),
        Some(("permessage-deflate".into(), full))
    );
    // The client limits our window; we limit its window where it lets us.
    assert_eq!(
        answer(
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
            &default
        ),
        Some((
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12".into(),
            Agreement {
                compress_window_bits: 10,
                decompress_window_bits: 12,
                ..full
            }
        ))
    );
    // Context takeover switched off by the client, in each direction.
    assert_eq!(
        answer(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            &default
        ),
        Some((
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover".into(),
            Agreement {
                compress_context_takeover: false,
                decompress_context_takeover: false,
                ..full
            }
        ))
    );
    // A policy with smaller windows and no context: we say so in the answer.
    let small = DeflateConfig {
        compress_window_bits: 9,
        decompress_window_bits: 10,
        compress_context_takeover: false,
        decompress_context_takeover: false,
        ..DeflateConfig::default()
    };
    assert_eq!(
        answer("permessage-deflate; client_max_window_bits", &small).map(|a| a.0),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10".into())
    );
    // The client cannot be limited without client_max_window_bits: declined.
    assert_eq!(answer("permessage-deflate", &small), None);
}

#[test]
fn window_bits_8_is_accepted_and_honoured_by_sending_uncompressed() {
    // zlib cannot compress with a 256-byte window; RFC 7692 lets any
    // message go uncompressed, so we accept and never set RSV1.
    let config = DeflateConfig::default();
    let (header, agreement) =
        answer("permessage-deflate; server_max_window_bits=8", &config).unwrap();
    assert_eq!(header, "permessage-deflate; server_max_window_bits=8");
    assert_eq!(agreement.compress_window_bits, 8);
    let (dec, enc) = agreement.codec(&config);
    let mut server =
        Connection::new(Role::Server, Config::default(), Instant::now()).with_extension(dec, enc);
    server.send_text(&"a".repeat(1000)).unwrap();
    let wire = server.poll_transmit();
    assert_eq!(wire[0] & RSV1, 0, "sent uncompressed");
    assert_eq!(wire.len(), 4 + 1000);

    // The client may compress with 8: we inflate with a 2^9 window, which
    // decodes any stream a 2^8 window produced.
    let (header, agreement) =
        answer("permessage-deflate; client_max_window_bits=8", &config).unwrap();
    assert_eq!(header, "permessage-deflate; client_max_window_bits=8");
    assert_eq!(agreement.decompress_window_bits, 8);
    let mut inflater = Inflater::new(8, true);
    let mut out = Vec::new();
    inflater
        .decode(&raw_deflate(b"abcabcabc", 9), true, &mut out, 100)
        .unwrap();
    assert_eq!(out, b"abcabcabc");
}

#[test]
fn negotiator_takes_the_first_acceptable_offer_and_rejects_garbage() {
    let config = DeflateConfig {
        decompress_window_bits: 12,
        ..DeflateConfig::default()
    };
    let offers = parse_extensions(
        "x-webkit-deflate-frame, permessage-deflate, permessage-deflate; client_max_window_bits",
    )
    .unwrap();
    let mut n = DeflateNegotiator::new(&config);
    assert_eq!(
        n.negotiate(&offers).unwrap().as_deref(),
        Some("permessage-deflate; client_max_window_bits=12")
    );
    assert_eq!(n.agreement().unwrap().decompress_window_bits, 12);

    // A malformed offer is skipped when a good one follows.
    let offers = parse_extensions("permessage-deflate; bogus, permessage-deflate").unwrap();
    let default = DeflateConfig::default();
    let mut n = DeflateNegotiator::new(&default);
    assert_eq!(
        n.negotiate(&offers).unwrap().as_deref(),
        Some("permessage-deflate")
    );
    // Only malformed offers: 400 with the reason.
    let offers = parse_extensions("permessage-deflate; server_max_window_bits=99").unwrap();
    let rejection = DeflateNegotiator::new(&DeflateConfig::default())
        .negotiate(&offers)
        .unwrap_err();
    assert_eq!(rejection.status(), 400);
    assert!(
        rejection.reason().contains("server_max_window_bits"),
        "{}",
        rejection.reason()
    );
    // Well-formed but outside the policy, or another extension: declined.
    let offers = parse_extensions("permessage-deflate, x-other").unwrap();
    let mut n = DeflateNegotiator::new(&config);
    assert_eq!(n.negotiate(&offers).unwrap(), None);
    assert_eq!(n.agreement(), None);
}

#[test]
fn client_offer_and_answer_checks() {
    let config = DeflateConfig::default();
    assert_eq!(
        client_offer(&config),
        "permessage-deflate; client_max_window_bits"
    );
    let strict = DeflateConfig {
        decompress_window_bits: 10,
        decompress_context_takeover: false,
        compress_context_takeover: false,
        compress_window_bits: 11,
        ..DeflateConfig::default()
    };
    assert_eq!(
        client_offer(&strict),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11"
    );
    assert_eq!(client_agreement(&config, None), Ok(None));
    assert_eq!(client_agreement(&config, Some("x-other")), Ok(None));
    assert_eq!(
        client_agreement(
            &config,
            Some("permessage-deflate; client_max_window_bits=9; server_no_context_takeover")
        ),
        Ok(Some(Agreement {
            compress_window_bits: 9,
            compress_context_takeover: true,
            decompress_window_bits: 15,
            decompress_context_takeover: false,
        }))
    );
    for (bad, why) in [
        (
            "permessage-deflate; client_max_window_bits",
            "needs a value",
        ),
        ("permessage-deflate; mystery", "unknown parameter"),
        ("permessage-deflate, permessage-deflate", "more than once"),
        (
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
            "duplicate",
        ),
    ] {
        let err = client_agreement(&config, Some(bad)).expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    for (bad, why) in [
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
            "above",
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            "server_no_context_takeover missing",
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            "server_max_window_bits missing",
        ),
    ] {
        let err = client_agreement(&strict, Some(bad)).expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
}

// ----- the codec ---------------------------------------------------------------

/// A raw deflate stream of `data` with a sync flush, trailer stripped, as a
/// peer following RFC 7692 sends it.
fn raw_deflate(data: &[u8], bits: u8) -> Vec<u8> {
    let mut c = Compress::new_with_window_bits(Compression::default(), false, bits);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// The same window and context rule in both directions.
fn both_ways(window_bits: u8, context_takeover: bool) -> Agreement {
    Agreement {
        compress_window_bits: window_bits,
        compress_context_takeover: context_takeover,
        decompress_window_bits: window_bits,
        decompress_context_takeover: context_takeover,
    }
}

fn pair(agreement: Agreement, config: &DeflateConfig, limits: Config) -> Pair {
    let now = Instant::now();
    let (dec, enc) = agreement.codec(config);
    let client = Connection::new(Role::Client, limits, now).with_extension(dec, enc);
    let (dec, enc) = agreement.codec(config);
    let server = Connection::new(Role::Server, limits, now).with_extension(dec, enc);
    Pair::from_connections(client, server, now)
}

/// Sends `messages` to one end from the other; returns what arrived and
/// the bytes it took on the wire.
fn transfer(pair: &mut Pair, to: Side, messages: &[String]) -> (Vec<OwnedEvent>, usize) {
    let mut events = Vec::new();
    let mut wire_bytes = 0;
    for m in messages {
        let from = match to {
            Side::Server => &mut pair.client,
            Side::Client => &mut pair.server,
        };
        from.send_text(m).unwrap();
        wire_bytes += from.buffered_amount();
        pair.deliver(to, |e| events.push(OwnedEvent::from(e)))
            .expect("no protocol error");
    }
    (events, wire_bytes)
}

/// Text with repetition and multi-byte characters, `len` bytes or so.
fn sample_text(len: usize, seed: u64) -> String {
    let words = [
        "héllo ", "wörld ", "数据 ", "🦀 ", "simdws ", "frame ", "deflate ",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut x = seed | 1;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(words[(x % words.len() as u64) as usize]);
    }
    while s.len() > len {
        s.pop();
    }
    s
}

#[test]
fn round_trips_with_and_without_context_takeover() {
    let sizes = [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
    for takeover in [true, false] {
        for bits in [9u8, 15] {
            let agreement = both_ways(bits, takeover);
            let config = DeflateConfig::default();
            let mut ends = pair(agreement, &config, Config::default());
            let messages: Vec<String> = sizes.iter().map(|&n| sample_text(n, n as u64)).collect();
            let expect: Vec<OwnedEvent> = messages
                .iter()
                .map(|m| OwnedEvent::Text(m.clone()))
                .collect();
            let (got, up) = transfer(&mut ends, Side::Server, &messages);
            assert!(
                got == expect,
                "client→server takeover={takeover} bits={bits}"
            );
            let (got, down) = transfer(&mut ends, Side::Client, &messages);
            assert!(
                got == expect,
                "server→client takeover={takeover} bits={bits}"
            );
            let raw: usize = sizes.iter().sum();
            assert!(
                up < raw / 2 && down < raw / 2,
                "compressed: {up} {down} of {raw}"
            );
        }
    }
}

#[test]
fn context_takeover_shrinks_repeated_messages() {
    let message = vec![sample_text(300, 7); 2];
    let sizes = |takeover| {
        let agreement = both_ways(15, takeover);
        let mut ends = pair(agreement, &DeflateConfig::default(), Config::default());
        let (_, first) = transfer(&mut ends, Side::Server, &message[..1]);
        let (_, second) = transfer(&mut ends, Side::Server, &message[1..]);
        (first, second)
    };
    let (first, second) = sizes(true);
    assert!(second < first / 4, "takeover: {first} then {second}");
    let (first, second) = sizes(false);
    assert_eq!(first, second, "no takeover: each message stands alone");
}

#[test]
fn streams_are_held_only_with_context_takeover() {
    let config = DeflateConfig::default();
    for takeover in [true, false] {
        let mut deflater = Deflater::new(15, takeover, &config);
        let mut out = Vec::new();
        assert!(deflater.encode(b"some text some text", &mut out));
        assert_eq!(deflater.holds_state(), takeover);
        let mut inflater = Inflater::new(15, takeover);
        let mut plain = Vec::new();
        inflater.decode(&out, true, &mut plain, 1000).unwrap();
        assert_eq!(plain, b"some text some text");
        assert_eq!(inflater.holds_state(), takeover);
    }
}

#[test]
fn fragmented_compressed_message_with_rsv1_on_the_first_frame_only() {
    let text = sample_text(5000, 3);
    let compressed = raw_deflate(text.as_bytes(), 15);
    let third = compressed.len() / 3;
    let k = [9, 8, 7, 6];
    let mut wire = frame(false, RSV1, 1, &compressed[..third], k);
    wire.extend(frame(true, 0, 9, b"ping", k)); // a control frame in between
    wire.extend(frame(false, 0, 0, &compressed[third..2 * third], k));
    wire.extend(frame(true, 0, 0, &compressed[2 * third..], k));
    let mut server = pair(
        both_ways(15, true),
        &DeflateConfig::default(),
        Config::default(),
    )
    .server;
    let (events, error) = feed_all(&mut server, &wire);
    assert_eq!(error, None);
    assert_eq!(
        events,
        vec![OwnedEvent::Ping(b"ping".to_vec()), OwnedEvent::Text(text)]
    );
    // A message sent uncompressed on the same connection is fine too.
    let (events, error) = feed_all(&mut server, &frame(true, 0, 2, b"raw", k));
    assert_eq!(
        (events, error),
        (vec![OwnedEvent::Binary(b"raw".to_vec())], None)
    );
    // RSV1 on a control frame is a protocol error even with deflate.
    let (_, error) = feed_all(&mut server, &frame(true, RSV1, 9, b"", k));
    assert_eq!(error, Some(1002));
}

#[test]
fn a_final_block_from_the_peer_resets_its_stream() {
    // Some compressors end each message with a final block (BFINAL) and
    // still append the trailer; the next message starts a fresh stream.
    let mut inflater = Inflater::new(15, true);
    for text in ["first message", "second message"] {
        let mut c = Compress::new_with_window_bits(Compression::default(), false, 15);
        let mut wire = Vec::with_capacity(100);
        c.compress_vec(text.as_bytes(), &mut wire, FlushCompress::Finish)
            .unwrap();
        let mut out = Vec::new();
        inflater.decode(&wire, true, &mut out, 100).unwrap();
        assert_eq!(out, text.as_bytes());
    }
}

#[test]
fn corrupt_data_closes_with_1007() {
    let mut server = pair(
        both_ways(15, true),
        &DeflateConfig::default(),
        Config::default(),
    )
    .server;
    // 0xff: BFINAL=1, BTYPE=11 (reserved).
    let (_, error) = feed_all(
        &mut server,
        &frame(true, RSV1, 2, &[0xff, 0xff], [1, 1, 1, 1]),
    );
    assert_eq!(error, Some(1007));
    // Text that inflates to invalid UTF-8 is 1007 as well.
    let mut server = pair(
        both_ways(15, false),
        &DeflateConfig::default(),
        Config::default(),
    )
    .server;
    let bad = raw_deflate(b"ok \xff\xfe", 15);
    let (_, error) = feed_all(&mut server, &frame(true, RSV1, 1, &bad, [1, 1, 1, 1]));
    assert_eq!(error, Some(1007));
}

// ----- the size limit and the bomb -----------------------------------------------

fn limited_server(limit: usize) -> Connection {
    let agreement = both_ways(15, true);
    let limits = Config {
        max_message_size: limit,
        ..Config::default()
    };
    pair(agreement, &DeflateConfig::default(), limits).server
}

#[test]
fn inflated_size_exactly_at_the_limit_passes_and_one_over_closes_1009() {
    for limit in [1usize, 1000, 65536, 100_000] {
        let at = vec![b'x'; limit];
        let wire = frame(true, RSV1, 2, &raw_deflate(&at, 15), [3, 1, 4, 1]);
        let (events, error) = feed_all(&mut limited_server(limit), &wire);
        assert_eq!(error, None, "limit {limit}");
        assert_eq!(events, vec![OwnedEvent::Binary(at)]);

        let over = vec![b'x'; limit + 1];
        let wire = frame(true, RSV1, 2, &raw_deflate(&over, 15), [3, 1, 4, 1]);
        let mut server = limited_server(limit);
        let (events, error) = feed_all(&mut server, &wire);
        assert_eq!((events.len(), error), (0, Some(1009)), "limit {limit} + 1");
        assert!(matches!(
            server.failure(),
            Some(ProtocolError::Extension(ExtensionError::TooBig))
        ));
    }
}

#[test]
fn a_bomb_is_stopped_at_the_limit_without_allocating_past_it() {
    // 10 MiB of zeros compresses to about 10 KiB.
    let limit = 1 << 20;
    let bomb = raw_deflate(&vec![0u8; 10 << 20], 15);
    assert!(bomb.len() < 20 << 10, "{}", bomb.len());
    let mut inflater = Inflater::new(15, true);
    let mut out = Vec::new();
    // Fed in small pieces, as it would arrive from a socket.
    let mut result = Ok(());
    for (i, piece) in bomb.chunks(1000).enumerate() {
        let last = (i + 1) * 1000 >= bomb.len();
        let room = limit - out.len();
        result = inflater.decode(piece, last, &mut out, room);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(ExtensionError::TooBig));
    assert_eq!(out.len(), limit, "filled to the limit, no further");
    assert!(
        out.capacity() <= limit,
        "allocated {} for a {limit} limit",
        out.capacity()
    );
    // Over the socket-free connection too: 1009.
    let wire = frame(true, RSV1, 2, &bomb, [5, 6, 7, 8]);
    assert_eq!(feed_all(&mut limited_server(limit), &wire).1, Some(1009));
}

#[test]
fn the_fragment_count_is_bounded_for_compressed_messages_too() {
    let limits = Config {
        max_fragments: 3,
        ..Config::default()
    };
    let agreement = both_ways(15, true);
    let mut server = pair(agreement, &DeflateConfig::default(), limits).server;
    let k = [1, 2, 3, 4];
    let mut wire = frame(false, RSV1, 1, &[], k);
    for _ in 0..3 {
        wire.extend(frame(false, 0, 0, &[], k));
    }
    assert_eq!(feed_all(&mut server, &wire).1, Some(1008));
}

// ----- memory policy --------------------------------------------------------------

#[test]
fn the_compressor_budget_caps_live_compressors() {
    let config = DeflateConfig {
        compressor_budget: Some(CompressorBudget::new(1)),
        ..DeflateConfig::default()
    };
    let budget = config.compressor_budget.clone().unwrap();
    let text = "budgeted ".repeat(50);
    let mut first = Deflater::new(15, true, &config);
    let mut second = Deflater::new(15, true, &config);
    let mut out = Vec::new();
    assert!(first.encode(text.as_bytes(), &mut out));
    assert_eq!(budget.available(), 0);
    assert!(
        !second.encode(text.as_bytes(), &mut out),
        "no compressor left: sent as is"
    );
    drop(first);
    assert_eq!(budget.available(), 1);
    assert!(second.encode(text.as_bytes(), &mut out));
    // Without context takeover the permit is held only during a message.
    let mut transient = Deflater::new(15, false, &config);
    drop(second);
    assert!(transient.encode(text.as_bytes(), &mut out));
    assert_eq!(budget.available(), 1);
}

#[test]
fn small_messages_below_min_size_go_uncompressed() {
    let config = DeflateConfig {
        min_size: 64,
        ..DeflateConfig::default()
    };
    let mut deflater = Deflater::new(15, true, &config);
    let mut out = Vec::new();
    assert!(!deflater.encode(&[b'a'; 63], &mut out));
    assert!(deflater.encode(&[b'a'; 64], &mut out));
}

/// Found by the `deflate_inflate` fuzz target: with context takeover, a
/// second empty message in a row came out of zlib as nothing at all (an
/// empty sync flush right after another writes no block), so it went
/// uncompressed and the compressor was reset, losing its context.
#[test]
fn empty_messages_in_a_row_stay_compressed_and_keep_the_context() {
    let config = DeflateConfig::default();
    let mut deflater = Deflater::new(9, true, &config);
    let mut inflater = Inflater::new(9, true);
    for message in [&b"context"[..], b"", b"", b"context"] {
        let mut wire = Vec::new();
        assert!(
            deflater.encode(message, &mut wire),
            "{message:?} compressed"
        );
        let mut back = Vec::new();
        inflater.decode(&wire, true, &mut back, 100).unwrap();
        assert_eq!(back, message);
    }
    assert!(deflater.holds_state(), "the context survived");
}
