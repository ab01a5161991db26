//! The sans-IO HTTP/1.1 request reader: every strict rule at its limit and
//! one past it, the smuggling cases, malformed heads, partial input that
//! must be waited for, and the same requests whatever the split.

use proptest::prelude::*;
use simdws::http::{ReaderLimits, RequestLimits, RequestReader, Step};

/// A request as the reader handed it out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Continue,
    Request {
        method: String,
        target: String,
        version: u8,
        body: Vec<u8>,
    },
    Head(String),
    Body(Vec<u8>),
    End,
    Refused(u16),
}

/// Feeds `wire` in the pieces cut at `cuts`, streaming bodies when
/// `stream`; returns what came out (chunks merged, so splits compare).
fn read_all(wire: &[u8], cuts: &[usize], limits: ReaderLimits, stream: bool) -> Vec<Seen> {
    let mut reader = RequestReader::new(limits);
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.extend([0, wire.len()]);
    points.sort_unstable();
    points.dedup();
    let mut seen = Vec::new();
    for w in points.windows(2) {
        let mut piece = &wire[w[0]..w[1]];
        loop {
            let (used, step) = match reader.read(piece, &mut |_| stream) {
                Ok(read) => read,
                Err(rejection) => {
                    seen.push(Seen::Refused(rejection.status()));
                    return seen;
                }
            };
            piece = &piece[used..];
            match step {
                Step::NeedMore => {
                    assert!(piece.is_empty(), "NeedMore takes the whole input");
                    break;
                }
                Step::Continue => seen.push(Seen::Continue),
                Step::Request(r) => seen.push(Seen::Request {
                    method: r.method.into(),
                    target: r.target.into(),
                    version: r.version,
                    body: r.body.to_vec(),
                }),
                Step::Head(r) => seen.push(Seen::Head(r.target.into())),
                Step::BodyChunk(c) => match seen.last_mut() {
                    Some(Seen::Body(b)) => b.extend_from_slice(c),
                    _ => seen.push(Seen::Body(c.to_vec())),
                },
                Step::BodyEnd => seen.push(Seen::End),
            }
        }
    }
    seen
}

fn whole(wire: &[u8]) -> Vec<Seen> {
    read_all(wire, &[], ReaderLimits::default(), false)
}

fn status(wire: &str) -> Option<u16> {
    whole(wire.as_bytes()).into_iter().find_map(|s| match s {
        Seen::Refused(status) => Some(status),
        _ => None,
    })
}

fn request(method: &str, target: &str, body: &[u8]) -> Seen {
    Seen::Request {
        method: method.into(),
        target: target.into(),
        version: 1,
        body: body.to_vec(),
    }
}

#[test]
fn a_request_split_anywhere_is_waited_for_and_never_answered() {
    let full = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for cut in 1..full.len() {
        assert_eq!(whole(&full[..cut]), vec![], "answered after {cut} bytes");
    }
    assert_eq!(whole(full), vec![request("GET", "/hello", b"")]);
}

#[test]
fn host_is_required_once_for_http_1_1_and_optional_for_1_0() {
    assert_eq!(
        status("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        whole(b"GET / HTTP/1.0\r\n\r\n"),
        vec![Seen::Request {
            method: "GET".into(),
            target: "/".into(),
            version: 0,
            body: vec![]
        }]
    );
    assert_eq!(
        status("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
        Some(400)
    );
}

#[test]
fn content_length_must_be_one_non_negative_decimal() {
    let with = |value: &str| {
        status(&format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n"
        ))
    };
    for bad in [
        "-1234",
        "-123456789123456789123456789",
        "abc",
        "1e3",
        "+5",
        "0x10",
        "",
        "5 5",
        "18446744073709551616",
    ] {
        assert_eq!(with(bad), Some(400), "Content-Length: {bad:?}");
    }
    // The largest that parses is refused as too large, not as malformed.
    assert_eq!(with("18446744073709551615"), Some(413));
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        Some(400)
    );
    assert_eq!(
        whole(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
        vec![request("POST", "/", b"abc")]
    );
    assert_eq!(
        whole(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"),
        vec![request("POST", "/", b"abc")]
    );
}

#[test]
fn smuggling_shapes_are_refused() {
    for head in [
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip",
        "Transfer-Encoding: identity",
        "Transfer-Encoding: xchunked",
    ] {
        assert_eq!(
            status(&format!(
                "POST / HTTP/1.1\r\nHost: x\r\n{head}\r\n\r\n0\r\n\r\n"
            )),
            Some(400),
            "{head:?}"
        );
    }
    // HTTP/1.0 has no transfer codings.
    assert_eq!(
        status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Some(400)
    );
    // chunked last, after a repeat list, is the one accepted shape.
    assert_eq!(
        whole(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        vec![request("POST", "/", b"abc")]
    );
}

#[test]
fn malformed_heads_get_400_and_unknown_versions_505() {
    for bad in [
        "GET / \r\n\r\n",
        "GET /\r\nHost: x\r\n\r\n",
        "Extra lineGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Invalid[]: test\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: te\x07st\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: te\x7fst\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX Space: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\rSome-Header: Test\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost: x\nOther: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x  \nOther: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nEmpty:\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n",
        "GET / HTTX/1.1\r\nHost: x\r\n\r\n",
        "G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(status(bad), Some(400), "{bad:?}");
    }
    assert_eq!(status("GET / HTTP/9.9\r\nHost: x\r\n\r\n"), Some(505));
    assert_eq!(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), Some(505));
    // Edge cases that are valid.
    for valid in [
        &b"GET / HTTP/1.1\r\nhoSt:\texample.com\r\nempty:\r\nX-E: \r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x \t \r\nY:  a  b  \r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(whole(valid), vec![request("GET", "/", b"")], "{valid:?}");
    }
}

#[test]
fn head_and_header_count_limits_at_the_limit_and_one_past() {
    let limits = RequestLimits {
        max_bytes: 200,
        max_headers: 4,
    };
    let reader_limits = || ReaderLimits {
        head: limits.clone(),
        max_body: 16,
    };
    let head_of = |len: usize| {
        let start = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
        let pad = len - start.len() - 4;
        format!("{start}{}\r\n\r\n", "a".repeat(pad))
    };
    let at = head_of(200);
    assert_eq!(at.len(), 200);
    assert_eq!(
        read_all(at.as_bytes(), &[], reader_limits(), false).len(),
        1
    );
    let past = head_of(201);
    assert_eq!(
        read_all(past.as_bytes(), &[], reader_limits(), false),
        vec![Seen::Refused(431)]
    );
    // A partial head past the limit is refused without waiting for its end.
    assert_eq!(
        read_all(&past.as_bytes()[..201], &[], reader_limits(), false),
        vec![Seen::Refused(431)]
    );
    // A malformed head past the limit: 431 however it is split (the fuzz
    // target http_request found it answered 400 whole and 431 split).
    let mut malformed = head_of(201).into_bytes();
    malformed[2] = b'\x01';
    for cut in [0, 100, 201] {
        assert_eq!(
            read_all(&malformed, &[cut], reader_limits(), false),
            vec![Seen::Refused(431)],
            "cut at {cut}"
        );
    }
    let headers = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            "A: b\r\n".repeat(n - 1)
        )
    };
    assert_eq!(
        read_all(headers(4).as_bytes(), &[], reader_limits(), false).len(),
        1
    );
    assert_eq!(
        read_all(headers(5).as_bytes(), &[], reader_limits(), false),
        vec![Seen::Refused(431)]
    );
}

#[test]
fn body_limit_at_the_limit_and_one_past_both_framings() {
    let limits = || ReaderLimits {
        head: RequestLimits::default(),
        max_body: 16,
    };
    let sized = |n: usize| {
        let mut wire =
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        wire.extend(std::iter::repeat_n(b'b', n));
        wire
    };
    assert_eq!(
        read_all(&sized(16), &[], limits(), false),
        vec![request("POST", "/", &[b'b'; 16])]
    );
    assert_eq!(
        read_all(&sized(17), &[], limits(), false),
        vec![Seen::Refused(413)]
    );
    let chunked = |n: usize| {
        let mut wire = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..n {
            wire.extend_from_slice(b"1\r\nc\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        wire
    };
    assert_eq!(
        read_all(&chunked(16), &[], limits(), false),
        vec![request("POST", "/", &[b'c'; 16])]
    );
    assert_eq!(
        read_all(&chunked(17), &[], limits(), false),
        vec![Seen::Refused(413)]
    );
    // A streamed body is the handler's to bound.
    assert_eq!(
        read_all(&sized(17), &[], limits(), true),
        vec![
            Seen::Head("/".into()),
            Seen::Body(vec![b'b'; 17]),
            Seen::End
        ]
    );
}

#[test]
fn expect_100_continue_is_asked_once_and_only_when_a_body_is_to_come() {
    let wire = b"PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(whole(wire), vec![Seen::Continue]);
    let mut full = wire.to_vec();
    full.extend_from_slice(b"hello");
    // Body already here: nothing to wait for, no 100.
    assert_eq!(whole(&full), vec![request("PUT", "/up", b"hello")]);
    // Split after the head: one 100, then the request.
    assert_eq!(
        read_all(
            &full,
            &[wire.len(), wire.len() + 2],
            ReaderLimits::default(),
            false
        ),
        vec![Seen::Continue, request("PUT", "/up", b"hello")]
    );
    // A streamed body: the head first, then 100 when the body is waited for.
    assert_eq!(
        read_all(&full, &[wire.len()], ReaderLimits::default(), true),
        vec![
            Seen::Head("/up".into()),
            Seen::Continue,
            Seen::Body(b"hello".to_vec()),
            Seen::End
        ]
    );
    // No body, no 100.
    assert_eq!(
        whole(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"),
        vec![request("GET", "/", b"")]
    );
}

/// Empty lines before a request are skipped, whichever read they come in
/// (the fuzz target http_request found them refused when they came alone).
#[test]
fn empty_lines_before_a_request_are_ignored_however_split() {
    let wire = b"\r\n\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    let expected = vec![request("POST", "/a", b"hi"), request("GET", "/b", b"")];
    for cut in cuts(wire.len()) {
        assert_eq!(
            read_all(wire, &[cut], ReaderLimits::default(), false),
            expected,
            "cut at {cut}"
        );
    }
    // A bare LF is still no line end: refused at once, however long what
    // follows and however split (the fuzz target found 431 whole and 400
    // split for a long head behind "\n\r\n").
    let long = format!(
        "\n\r\nGET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(9000)
    );
    for cut in [0, 1, 2, 3, 4, 100, long.len()] {
        assert_eq!(
            read_all(long.as_bytes(), &[cut], ReaderLimits::default(), false),
            vec![Seen::Refused(400)],
            "cut at {cut}"
        );
    }
}

/// Where to split a wire of `len` bytes in two: everywhere, or under Miri
/// (which runs the reader some thousand times slower) every fifth byte and
/// the last few.
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    (0..len).filter(move |cut| !cfg!(miri) || cut % 5 == 0 || cut + 4 > len)
}

#[test]
fn pipelined_requests_come_out_in_order() {
    let wire = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabPOST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=1\r\nz\r\n0\r\nT: 1\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n\r\n";
    let expected = vec![
        request("GET", "/1", b""),
        request("POST", "/2", b"ab"),
        request("POST", "/3", b"z"),
        request("GET", "/4", b""),
    ];
    assert_eq!(whole(wire), expected);
    for cut in cuts(wire.len()) {
        assert_eq!(
            read_all(wire, &[cut], ReaderLimits::default(), false),
            expected,
            "cut at {cut}"
        );
    }
}

/// A mix of requests: bodies by length and chunked, extensions, trailers.
fn arb_wire() -> impl Strategy<Value = Vec<u8>> {
    let one = (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        "[a-z/]{1,12}",
        proptest::collection::vec(any::<u8>(), 0..if cfg!(miri) { 60 } else { 300 }),
        any::<bool>(),
        1usize..40,
    )
        .prop_map(|(method, path, body, chunked, chunk)| {
            let mut wire = format!("{method} /{path} HTTP/1.1\r\nHost: h\r\n").into_bytes();
            if chunked {
                wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for piece in body.chunks(chunk) {
                    wire.extend_from_slice(format!("{:x};e=v\r\n", piece.len()).as_bytes());
                    wire.extend_from_slice(piece);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\nTrailer: t\r\n\r\n");
            } else {
                wire.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                wire.extend_from_slice(&body);
            }
            wire
        });
    proptest::collection::vec(one, 1..6).prop_map(|requests| requests.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    #[test]
    fn the_same_requests_come_out_whatever_the_split(
        wire in arb_wire(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        stream in any::<bool>(),
    ) {
        let whole = read_all(&wire, &[], ReaderLimits::default(), stream);
        prop_assert!(!whole.iter().any(|s| matches!(s, Seen::Refused(_))), "{whole:?}");
        let split = read_all(&wire, &cuts, ReaderLimits::default(), stream);
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn no_input_panics_the_reader(
        wire in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let _ = read_all(&wire, &cuts, ReaderLimits::default(), false);
        let _ = read_all(&wire, &cuts, ReaderLimits::default(), true);
    }
}
