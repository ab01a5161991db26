//! The frame codec: RFC 6455 §5.7 examples, every header rule, the close code
//! table, and encode → parse identity.

use proptest::prelude::*;
use simdws::frame::*;
use simdws::mask::apply_mask;

const SERVER: HeaderRules = HeaderRules {
    expect_masked: true,
    allowed_rsv: 0,
};
const CLIENT: HeaderRules = HeaderRules {
    expect_masked: false,
    allowed_rsv: 0,
};

fn complete(bytes: &[u8], rules: HeaderRules) -> (FrameHeader, usize) {
    match FrameHeader::parse(bytes, rules) {
        Ok(Parsed::Complete(h, n)) => (h, n),
        other => panic!("expected a complete header, got {other:?}"),
    }
}

#[test]
fn rfc6455_section_5_7_examples() {
    // A single-frame unmasked text message "Hello".
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (h, n) = complete(&unmasked, CLIENT);
    assert_eq!(
        (h.fin, h.opcode, h.mask, h.payload_len, n),
        (true, Opcode::Text, None, 5, 2)
    );
    assert_eq!(&unmasked[n..], b"Hello");

    // A single-frame masked text message "Hello".
    let mut masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (h, n) = complete(&masked, SERVER);
    assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    apply_mask(&mut masked[n..], h.mask.unwrap(), 0);
    assert_eq!(&masked[n..], b"Hello");

    // A fragmented unmasked text message: "Hel" then "lo".
    let (h, _) = complete(&[0x01, 0x03, 0x48, 0x65, 0x6c], CLIENT);
    assert_eq!((h.fin, h.opcode), (false, Opcode::Text));
    let (h, _) = complete(&[0x80, 0x02, 0x6c, 0x6f], CLIENT);
    assert_eq!((h.fin, h.opcode), (true, Opcode::Continuation));

    // Unmasked ping with "Hello" and masked pong with "Hello".
    let (h, _) = complete(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], CLIENT);
    assert_eq!((h.opcode, h.payload_len), (Opcode::Ping, 5));
    let mut pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (h, n) = complete(&pong, SERVER);
    assert_eq!(h.opcode, Opcode::Pong);
    apply_mask(&mut pong[n..], h.mask.unwrap(), 0);
    assert_eq!(&pong[n..], b"Hello");

    // 256 bytes binary in a single unmasked frame: 16-bit length.
    let (h, n) = complete(&[0x82, 0x7E, 0x01, 0x00], CLIENT);
    assert_eq!((h.opcode, h.payload_len, n), (Opcode::Binary, 256, 4));
    // 64 KiB binary in a single unmasked frame: 64-bit length.
    let (h, n) = complete(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], CLIENT);
    assert_eq!((h.payload_len, n), (65536, 10));
}

#[test]
fn incomplete_headers_say_how_much_more_is_needed() {
    assert_eq!(FrameHeader::parse(&[], CLIENT), Ok(Parsed::Incomplete(2)));
    assert_eq!(
        FrameHeader::parse(&[0x82], CLIENT),
        Ok(Parsed::Incomplete(1))
    );
    assert_eq!(
        FrameHeader::parse(&[0x82, 0x7E], CLIENT),
        Ok(Parsed::Incomplete(2))
    );
    assert_eq!(
        FrameHeader::parse(&[0x82, 0x7F, 0], CLIENT),
        Ok(Parsed::Incomplete(7))
    );
    assert_eq!(
        FrameHeader::parse(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 1, 0], SERVER),
        Ok(Parsed::Incomplete(4))
    );
}

#[test]
fn every_header_rule_is_enforced() {
    use HeaderError::*;
    let err = |bytes: &[u8], rules| FrameHeader::parse(bytes, rules).unwrap_err();
    assert_eq!(err(&[0x81 | 0x40, 0x80], SERVER), ReservedBits(0x40));
    assert_eq!(err(&[0x81 | 0x30, 0x80], SERVER), ReservedBits(0x30));
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_eq!(err(&[0x80 | op, 0x80], SERVER), UnknownOpcode(op));
    }
    // Detected from the first byte alone.
    assert_eq!(err(&[0x83], SERVER), UnknownOpcode(3));
    assert_eq!(err(&[0x09, 0x80], SERVER), FragmentedControl);
    assert_eq!(err(&[0x89, 0x80 | 126], SERVER), ControlTooLong(126));
    assert_eq!(err(&[0x88, 0x80 | 127], SERVER), ControlTooLong(65536));
    assert_eq!(
        err(&[0x81, 0x05], SERVER),
        MaskMismatch {
            expected_masked: true
        }
    );
    assert_eq!(
        err(&[0x81, 0x85], CLIENT),
        MaskMismatch {
            expected_masked: false
        }
    );
    assert_eq!(
        err(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], CLIENT),
        LengthTopBit
    );
    // Reported as soon as the top byte of the length is there.
    assert_eq!(err(&[0x82, 0x7F, 0x80], CLIENT), LengthTopBit);
    // A negotiated RSV1 is accepted.
    let rules = HeaderRules {
        expect_masked: false,
        allowed_rsv: RSV1,
    };
    let (h, _) = complete(&[0xC1, 0x00], rules);
    assert_eq!(h.rsv, RSV1);
    // The largest legal length (2^63 - 1) parses.
    let (h, _) = complete(
        &[0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        CLIENT,
    );
    assert_eq!(h.payload_len, (1 << 63) - 1);
}

#[test]
fn close_code_table() {
    let valid: Vec<u16> = (0..=5000)
        .filter(|&c| CloseCode(c).is_valid_on_wire())
        .collect();
    let expected: Vec<u16> = (1000..=1003)
        .chain(1007..=1014)
        .chain(3000..=4999)
        .collect();
    assert_eq!(valid, expected);
    for reserved in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert!(!CloseCode(reserved).is_valid_on_wire(), "{reserved}");
    }
}

#[test]
fn close_payloads() {
    assert_eq!(parse_close_payload(&[]), Ok(None));
    assert_eq!(
        parse_close_payload(&[0x03]),
        Err(ClosePayloadError::Truncated)
    );
    assert_eq!(
        parse_close_payload(&[0x03, 0xE8]),
        Ok(Some((CloseCode::NORMAL, "")))
    );
    assert_eq!(
        parse_close_payload(&[0x03, 0xED]),
        Err(ClosePayloadError::InvalidCode(1005))
    );
    assert_eq!(
        parse_close_payload(&[0x0F, 0xA0, b'o', b'k']),
        Ok(Some((CloseCode(4000), "ok")))
    );
    assert_eq!(
        parse_close_payload(&[0x03, 0xE8, 0xCE, 0xBA, 0xE1]),
        Err(ClosePayloadError::InvalidReason)
    );
    // Encoding cuts a long reason at a character boundary within 125 bytes.
    let mut out = [0u8; 125];
    let reason = "é".repeat(100);
    let n = encode_close_payload(CloseCode::GOING_AWAY, &reason, &mut out);
    assert!(n <= 125);
    let (code, text) = parse_close_payload(&out[..n]).unwrap().unwrap();
    assert_eq!(code, CloseCode::GOING_AWAY);
    assert_eq!(text, "é".repeat(61));
}

fn opcode() -> impl Strategy<Value = Opcode> {
    prop::sample::select(vec![
        Opcode::Continuation,
        Opcode::Text,
        Opcode::Binary,
        Opcode::Close,
        Opcode::Ping,
        Opcode::Pong,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 16 } else { 1024 }))]
    #[test]
    fn encode_then_parse_is_identity(
        fin in any::<bool>(),
        rsv in prop::sample::select(vec![0u8, RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3]),
        opcode in opcode(),
        mask in proptest::option::of(any::<[u8; 4]>()),
        len in prop_oneof![0u64..=125, 126u64..=65535, 65536u64..(1 << 63)],
    ) {
        let len = if opcode.is_control() { len % 126 } else { len };
        let fin = fin || opcode.is_control();
        let header = FrameHeader { fin, rsv, opcode, mask, payload_len: len };
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        prop_assert_eq!(n, header.encoded_len());
        let rules = HeaderRules { expect_masked: mask.is_some(), allowed_rsv: RSV1 | RSV2 | RSV3 };
        prop_assert_eq!(FrameHeader::parse(&out[..n], rules), Ok(Parsed::Complete(header, n)));
        // Every strict prefix is incomplete, never an error or a wrong header.
        for cut in 0..n {
            let parsed = FrameHeader::parse(&out[..cut], rules);
            prop_assert!(matches!(parsed, Ok(Parsed::Incomplete(k)) if k > 0), "prefix {} gave {:?}", cut, parsed);
        }
    }

    #[test]
    fn parse_never_panics_and_never_overreads(bytes in prop::collection::vec(any::<u8>(), 0..20), masked in any::<bool>()) {
        let rules = HeaderRules { expect_masked: masked, allowed_rsv: 0 };
        if let Ok(Parsed::Complete(_, n)) = FrameHeader::parse(&bytes, rules) {
            prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
        }
    }
}

/// Found by the `frame_oracle` fuzz target (tungstenite as the oracle): a
/// pong announcing 2^64−1 bytes was reported as "control frame of 65536
/// bytes", and a ping whose 16-bit length says 0 (not minimally encoded)
/// as one of 126 bytes. The error now says what it knows.
#[test]
fn control_too_long_names_a_lower_bound_not_a_made_up_length() {
    let frame = [
        0xea, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5b, 0xef, 0x31,
    ];
    let rules = HeaderRules {
        expect_masked: true,
        allowed_rsv: RSV1 | RSV2,
    };
    let error = FrameHeader::parse(&frame, rules).unwrap_err();
    assert_eq!(error, HeaderError::ControlTooLong(65536));
    assert_eq!(
        error.to_string(),
        "control frame with an extended length (at least 65536 bytes if minimally encoded; max 125)"
    );
    // A ping of 0 bytes in the 16-bit form is refused too (RFC 6455 §5.2:
    // the minimal number of bytes must be used), and tungstenite's header
    // parser lets it through.
    let frame = [0xd9, 0x7e, 0x00, 0x00];
    let rules = HeaderRules {
        expect_masked: false,
        allowed_rsv: RSV1 | RSV3,
    };
    assert_eq!(
        FrameHeader::parse(&frame, rules),
        Err(HeaderError::ControlTooLong(126))
    );
}
