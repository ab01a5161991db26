//! The frame header parser, both roles: never panics, never claims more
//! bytes than it was given, and what it parses re-encodes to the same bytes
//! when the length used the shortest form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simdws::frame::{FrameHeader, HeaderRules, Parsed, MAX_HEADER_LEN, RSV1};

fuzz_target!(|data: &[u8]| {
    for expect_masked in [true, false] {
        for allowed_rsv in [0, RSV1] {
            let rules = HeaderRules {
                expect_masked,
                allowed_rsv,
            };
            if let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(data, rules) {
                assert!(len <= data.len() && len <= MAX_HEADER_LEN);
                let mut out = [0u8; MAX_HEADER_LEN];
                let n = header.encode(&mut out);
                if n == len {
                    assert_eq!(&out[..n], &data[..len], "re-encoding differs");
                }
                // Every strict prefix is incomplete (or an error the full
                // header would also have): never a different header.
                for cut in 0..len {
                    assert!(!matches!(
                        FrameHeader::parse(&data[..cut], rules),
                        Ok(Parsed::Complete(..))
                    ));
                }
            }
        }
    }
});
