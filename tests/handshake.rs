//! The HTTP/1.1 Upgrade: accept-key vectors, every rejection with its status,
//! incremental parsing, and the client's verification.

use simdws::handshake::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request(lines: &[&str]) -> String {
    let mut r = String::from("GET /chat?room=1 HTTP/1.1\r\n");
    for l in lines {
        r.push_str(l);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r
}

fn good(extra: &[&str]) -> String {
    let mut lines = vec![
        "Host: example.com",
        "Upgrade: websocket",
        "Connection: keep-alive, Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ];
    lines.extend_from_slice(extra);
    request(&lines)
}

fn run(req: &str, policy: &ServerPolicy) -> Result<Accepted, Rejection> {
    let (parsed, len) =
        parse_request(req.as_bytes(), &RequestLimits::default())?.expect("complete");
    assert_eq!(len, req.len());
    accept(&parsed, policy, None)
}

#[test]
fn accept_key_vectors() {
    assert_eq!(accept_key(KEY.as_bytes()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(
        accept_key(b"sN9cRrP/n9NdMgdcy2VJFQ=="),
        "fFBooB7FAkLlXgRSz0BT3v4hq5s="
    );
}

#[test]
fn a_valid_request_gets_101_with_the_accept_value() {
    let accepted = run(&good(&[]), &ServerPolicy::default()).unwrap();
    let response = String::from_utf8(accepted.response()).unwrap();
    assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(response.ends_with("\r\n\r\n"));
}

#[test]
fn path_query_and_headers_are_exposed() {
    let req = good(&["X-Custom: yes"]);
    let (parsed, _) = parse_request(req.as_bytes(), &RequestLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(parsed.path(), "/chat");
    assert_eq!(parsed.query(), Some("room=1"));
    assert_eq!(parsed.header("x-custom"), Some("yes"));
    assert!(parsed.is_upgrade());
}

#[test]
fn every_rejection_has_its_status_and_a_reason() {
    let p = ServerPolicy::default();
    let status = |req: &str| run(req, &p).unwrap_err().status();
    let post = good(&[]).replacen("GET", "POST", 1);
    assert_eq!(status(&post), 405);
    let no_host = request(&[
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]);
    assert_eq!(status(&no_host), 400);
    let no_upgrade = request(&[
        "Host: a",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]);
    assert_eq!(status(&no_upgrade), 426);
    let no_connection = request(&[
        "Host: a",
        "Upgrade: websocket",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]);
    assert_eq!(status(&no_connection), 400);
    let old_version = good(&[]).replace("Version: 13", "Version: 8");
    let rejection = run(&old_version, &p).unwrap_err();
    assert_eq!(rejection.status(), 426);
    assert!(String::from_utf8(rejection.response())
        .unwrap()
        .contains("Sec-WebSocket-Version: 13\r\n"));
    let short_key = good(&[]).replace(KEY, "c2hvcnQ=");
    assert_eq!(status(&short_key), 400);
    let not_base64 = good(&[]).replace(KEY, "!!!!!!!!!!!!!!!!!!!!!!==");
    assert_eq!(status(&not_base64), 400);
    let no_key = request(&[
        "Host: a",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
    ]);
    assert_eq!(status(&no_key), 400);
    let http10 = good(&[]).replace("HTTP/1.1", "HTTP/1.0");
    assert_eq!(status(&http10), 400);
    // Every rejection renders a complete response with a one-line reason.
    let rejection = run(&post, &p).unwrap_err();
    let text = String::from_utf8(rejection.response()).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{text}"
    );
    assert!(text.ends_with(&format!("{}\n", rejection.reason())));
    assert!(!rejection.reason().is_empty() && !rejection.reason().contains('\n'));
}

#[test]
fn rejections_say_what_went_wrong_by_variant_with_their_headers() {
    let p = ServerPolicy::default();
    let post = good(&[]).replacen("GET", "POST", 1);
    let no_upgrade = good(&[]).replace("Upgrade: websocket\r\n", "");
    let old_version = good(&[]).replace("Version: 13", "Version: 8");
    let cases = [
        (post, Rejection::MethodNotAllowed, "Allow: GET\r\n"),
        (
            no_upgrade,
            Rejection::UpgradeRequired,
            "Upgrade: websocket\r\n",
        ),
        (
            old_version,
            Rejection::UnsupportedVersion,
            "Sec-WebSocket-Version: 13\r\n",
        ),
    ];
    for (request, expected, header) in cases {
        let rejection = run(&request, &p).unwrap_err();
        assert_eq!(rejection, expected);
        let text = String::from_utf8(rejection.response()).unwrap();
        assert!(text.contains(header), "{text}");
    }
    let no_key = good(&[]).replace(&format!("Sec-WebSocket-Key: {KEY}\r\n"), "");
    assert!(matches!(
        run(&no_key, &p).unwrap_err(),
        Rejection::BadRequest(reason) if reason.contains("Sec-WebSocket-Key")
    ));
    // What an application builds from a status lands on its variant.
    assert!(matches!(
        Rejection::new(404, "no such room"),
        Rejection::NotFound(_)
    ));
    assert!(matches!(Rejection::new(403, "no"), Rejection::Forbidden(_)));
    let teapot = Rejection::new(418, "short and stout");
    assert_eq!((teapot.status(), teapot.reason()), (418, "short and stout"));
    assert_eq!(teapot.header(), None);
}

#[test]
fn request_head_limits_give_431() {
    let limits = RequestLimits {
        max_bytes: 8192,
        max_headers: 64,
    };
    let big = good(&[&format!("X-Big: {}", "a".repeat(9000))]);
    assert_eq!(
        parse_request(big.as_bytes(), &limits).unwrap_err().status(),
        431
    );
    // Still incomplete but already over the limit: rejected without waiting.
    assert_eq!(
        parse_request(&big.as_bytes()[..8500], &limits)
            .unwrap_err()
            .status(),
        431
    );
    let many: Vec<String> = (0..65).map(|i| format!("X-{i}: v")).collect();
    let many_refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        parse_request(good(&many_refs).as_bytes(), &limits)
            .unwrap_err()
            .status(),
        431
    );
    // Exactly at the header limit is fine.
    let at_limit: Vec<&str> = many_refs[..59].to_vec();
    assert!(parse_request(good(&at_limit).as_bytes(), &limits)
        .unwrap()
        .is_some());
}

#[test]
fn incremental_parse_and_trailing_bytes_are_kept() {
    let req = good(&[]);
    let mut stream = req.clone().into_bytes();
    stream.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]); // an early frame
    for cut in 0..req.len() {
        assert!(
            parse_request(&stream[..cut], &RequestLimits::default())
                .unwrap()
                .is_none(),
            "cut {cut}"
        );
    }
    let (_, len) = parse_request(&stream, &RequestLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(&stream[len..], &[0x81, 0x80, 1, 2, 3, 4]);
}

#[test]
fn subprotocol_selection() {
    let policy = ServerPolicy {
        subprotocols: vec!["chat".into(), "echo-protocol".into()],
        ..Default::default()
    };
    let a = run(
        &good(&["Sec-WebSocket-Protocol: echo-protocol, chat"]),
        &policy,
    )
    .unwrap();
    assert_eq!(
        a.subprotocol.as_deref(),
        Some("chat"),
        "server preference wins"
    );
    let a = run(
        &good(&[
            "Sec-WebSocket-Protocol: x",
            "Sec-WebSocket-Protocol: echo-protocol",
        ]),
        &policy,
    )
    .unwrap();
    assert_eq!(
        a.subprotocol.as_deref(),
        Some("echo-protocol"),
        "repeated headers combine"
    );
    assert!(String::from_utf8(a.response())
        .unwrap()
        .contains("Sec-WebSocket-Protocol: echo-protocol\r\n"));
    let refused = run(&good(&["Sec-WebSocket-Protocol: mqtt"]), &policy).unwrap_err();
    assert_eq!(refused.status(), 400);
    assert_eq!(run(&good(&[]), &policy).unwrap().subprotocol, None);
}

#[test]
fn origin_policy() {
    let policy = ServerPolicy {
        allowed_origins: Some(vec!["https://good.example".into()]),
        ..Default::default()
    };
    assert!(run(&good(&["Origin: https://good.example"]), &policy).is_ok());
    assert_eq!(
        run(&good(&["Origin: https://evil.example"]), &policy)
            .unwrap_err()
            .status(),
        403
    );
    assert!(
        run(&good(&[]), &policy).is_ok(),
        "non-browser clients send no Origin"
    );
}

struct AcceptFoo;
impl ExtensionNegotiator for AcceptFoo {
    fn negotiate(&mut self, offers: &[ExtensionOffer]) -> Result<Option<String>, Rejection> {
        Ok(offers
            .iter()
            .find(|o| o.name == "foo")
            .map(|o| o.to_string()))
    }
}

#[test]
fn extension_negotiation_hook() {
    let req = good(&["Sec-WebSocket-Extensions: bar, foo; x=1; y=\"2\""]);
    let (parsed, _) = parse_request(req.as_bytes(), &RequestLimits::default())
        .unwrap()
        .unwrap();
    let a = accept(&parsed, &ServerPolicy::default(), Some(&mut AcceptFoo)).unwrap();
    assert_eq!(a.extensions.as_deref(), Some("foo; x=1; y=2"));
    let bad = good(&["Sec-WebSocket-Extensions: foo; x=\"unterminated"]);
    let (parsed, _) = parse_request(bad.as_bytes(), &RequestLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        accept(&parsed, &ServerPolicy::default(), Some(&mut AcceptFoo))
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn extension_header_grammar() {
    let offers = parse_extensions(
        "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10",
    )
    .unwrap();
    assert_eq!(offers.len(), 2);
    assert_eq!(
        offers[0].params,
        vec![("client_max_window_bits".to_string(), None)]
    );
    assert_eq!(
        offers[1].params,
        vec![("server_max_window_bits".to_string(), Some("10".to_string()))]
    );
    assert!(parse_extensions("a b").is_err());
    assert!(parse_extensions("x; =1").is_err());
    assert!(parse_extensions("x; a=\"b c\"").is_err());
}

#[test]
fn client_request_and_verification() {
    let req = ClientRequest::new(
        "localhost:9001",
        "/echo",
        &["chat"],
        None,
        &[("Origin", "http://localhost")],
    );
    let text = std::str::from_utf8(req.bytes()).unwrap();
    assert!(text.starts_with("GET /echo HTTP/1.1\r\nHost: localhost:9001\r\n"));
    assert!(is_valid_key(req.key().as_bytes()));
    assert_ne!(
        req.key(),
        ClientRequest::new("h", "/", &[], None, &[]).key(),
        "fresh key each time"
    );
    let accept = accept_key(req.key().as_bytes());
    let ok = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
    let mut with_frame = ok.clone().into_bytes();
    with_frame.extend_from_slice(b"\x81\x02hi");
    let (response, len) = req.verify(&with_frame, 8192).unwrap().unwrap();
    assert_eq!(response.subprotocol.as_deref(), Some("chat"));
    assert_eq!(
        &with_frame[len..],
        b"\x81\x02hi",
        "frames after the head are kept"
    );
    assert!(req.verify(&ok.as_bytes()[..20], 8192).unwrap().is_none());

    let wrong_accept = ok.replace(&accept, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        req.verify(wrong_accept.as_bytes(), 8192).unwrap_err(),
        ClientHandshakeError::BadAccept
    );
    let other_proto = ok.replace("Protocol: chat", "Protocol: mqtt");
    assert!(matches!(
        req.verify(other_proto.as_bytes(), 8192),
        Err(ClientHandshakeError::UnrequestedSubprotocol(_))
    ));
    let no_proto = ok.replace("Sec-WebSocket-Protocol: chat\r\n", "");
    assert_eq!(
        req.verify(no_proto.as_bytes(), 8192).unwrap_err(),
        ClientHandshakeError::NoSubprotocol
    );
    let forbidden = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        req.verify(forbidden.as_bytes(), 8192).unwrap_err(),
        ClientHandshakeError::Status(403)
    );
    let ext = ok.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    assert!(matches!(
        req.verify(ext.as_bytes(), 8192),
        Err(ClientHandshakeError::UnrequestedExtension(_))
    ));
}

#[test]
fn the_end_of_a_head_is_found_however_it_is_split() {
    for head in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\nframes"[..],
        b"GET / HTTP/1.1\nHost: x\n\nframes",
        b"GET / HTTP/1.1\r\nHost: x\n\r\nframes",
    ] {
        let end = head.len() - "frames".len();
        assert_eq!(find_head_end(head, 0), Some(end));
        // Fed in two pieces cut anywhere, scanning only what is new.
        for cut in 0..=head.len() {
            let found = find_head_end(&head[..cut], 0).or_else(|| find_head_end(head, cut));
            assert_eq!(found, Some(end), "cut at {cut} of {head:?}");
        }
    }
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
}
