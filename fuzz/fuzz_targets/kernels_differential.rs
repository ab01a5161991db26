//! Differential: every unmask kernel and entry point against the scalar
//! reference, and the streaming UTF-8 validator (any split) against std.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use simdws::mask::{self, scalar, Kernel};
use simdws::utf8::StreamingUtf8;

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 4],
    offset: u8,
    skip: u8,
    data: Vec<u8>,
    cuts: Vec<u16>,
}

fuzz_target!(|input: Input| {
    let offset = (input.offset & 3) as usize;
    let skip = (input.skip & 63) as usize;
    let mut storage = vec![0u8; skip];
    storage.extend_from_slice(&input.data);
    let mut expected = input.data.clone();
    let next = scalar::apply_mask_bytes(&mut expected, input.key, offset);
    for kernel in Kernel::available() {
        let mut buf = storage.clone();
        assert_eq!(kernel.apply_mask(&mut buf[skip..], input.key, offset), next);
        assert_eq!(&buf[skip..], &expected[..], "{kernel:?}");
    }
    let mut buf = storage.clone();
    let (n, ascii) = mask::apply_mask_ascii(&mut buf[skip..], input.key, offset);
    assert_eq!((n, ascii), (next, expected.is_ascii()));
    assert_eq!(&buf[skip..], &expected[..]);

    let mut points: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| c as usize % (input.data.len() + 1))
        .collect();
    points.extend([0, input.data.len()]);
    points.sort_unstable();
    points.dedup();
    let mut v = StreamingUtf8::new();
    let mut valid = true;
    for w in points.windows(2) {
        if v.feed(&input.data[w[0]..w[1]]).is_err() {
            valid = false;
            break;
        }
    }
    if valid {
        valid = v.finish().is_ok();
    }
    assert_eq!(valid, std::str::from_utf8(&input.data).is_ok());
});
