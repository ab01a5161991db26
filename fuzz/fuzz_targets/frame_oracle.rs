//! Differential: our frame header parser against tungstenite's on the same
//! bytes. Both must agree on every header both accept; where one refuses
//! and the other does not, the refusal must be one of the checks the other
//! leaves to a later layer (tungstenite checks control-frame rules and the
//! 64-bit length's top bit after parsing the header; we check them here).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use simdws::frame::{FrameHeader, HeaderError, HeaderRules, Parsed, RSV1, RSV2, RSV3};
use tungstenite::protocol::frame::FrameHeader as Theirs;

fuzz_target!(|data: &[u8]| {
    // Accept any mask bit and any RSV bit, as tungstenite's parser does.
    let rules = HeaderRules {
        expect_masked: data.get(1).is_some_and(|b| b & 0x80 != 0),
        allowed_rsv: RSV1 | RSV2 | RSV3,
    };
    let ours = FrameHeader::parse(data, rules);
    let mut cursor = Cursor::new(data);
    let theirs = Theirs::parse(&mut cursor);
    match (theirs, ours) {
        (Ok(None), Ok(Parsed::Incomplete(_))) => {}
        // We refuse some headers from their first bytes; tungstenite waits
        // for the whole header before refusing (or leaves it for later).
        (Ok(None), Err(e)) => assert!(
            matches!(
                e,
                HeaderError::UnknownOpcode(_)
                    | HeaderError::FragmentedControl
                    | HeaderError::ControlTooLong(_)
                    | HeaderError::LengthTopBit
            ),
            "{e:?} on an incomplete header"
        ),
        (Err(_), Err(HeaderError::UnknownOpcode(_))) => {}
        (Ok(Some((t, len))), Ok(Parsed::Complete(h, used))) => {
            assert_eq!(used as u64, cursor.position(), "header length");
            assert_eq!(h.fin, t.is_final);
            assert_eq!(h.rsv & RSV1 != 0, t.rsv1);
            assert_eq!(h.rsv & RSV2 != 0, t.rsv2);
            assert_eq!(h.rsv & RSV3 != 0, t.rsv3);
            assert_eq!(h.opcode as u8, u8::from(t.opcode));
            assert_eq!(h.mask, t.mask);
            assert_eq!(h.payload_len, len);
        }
        (Ok(Some((t, len))), Err(e)) => {
            let control = u8::from(t.opcode) & 0x8 != 0;
            let justified = match e {
                HeaderError::FragmentedControl => control && !t.is_final,
                // Over 125, or a small length in an extended (non-minimal) form.
                HeaderError::ControlTooLong(_) => control && data[1] & 0x7f >= 126,
                HeaderError::LengthTopBit => len >> 63 == 1,
                _ => false,
            };
            assert!(justified, "we refused {e:?}, tungstenite parsed {t:?} len {len}");
        }
        (theirs, ours) => panic!("tungstenite {theirs:?} vs ours {ours:?}"),
    }
});
