//! The HTTP/1.1 request reader (heads, Content-Length and chunked bodies,
//! pipelined requests) fed the same bytes whole and split at arbitrary
//! points: the same requests come out (or the same refusal), and nothing
//! panics or loops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simdws::http::{ReaderLimits, RequestLimits, RequestReader, Step};

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Request(String, String, u8, Vec<(String, Vec<u8>)>, Vec<u8>),
    Head(String),
    Body(Vec<u8>),
    End,
    Refused(u16),
}

fn limits(small: bool) -> ReaderLimits {
    if small {
        ReaderLimits {
            head: RequestLimits {
                max_bytes: 128,
                max_headers: 4,
            },
            max_body: 64,
        }
    } else {
        ReaderLimits::default()
    }
}

fn read(data: &[u8], cuts: &[usize], limits: ReaderLimits, stream: bool) -> Vec<Seen> {
    let max_body = limits.max_body;
    let mut reader = RequestReader::new(limits);
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.extend([0, data.len()]);
    points.sort_unstable();
    points.dedup();
    let mut seen = Vec::new();
    for w in points.windows(2) {
        let mut piece = &data[w[0]..w[1]];
        // Each step uses input or hands something out, so this ends.
        for _ in 0..=2 * data.len() + 8 {
            let (used, step) = match reader.read(piece, &mut |_| stream) {
                Ok(read) => read,
                Err(rejection) => {
                    assert!(matches!(rejection.status(), 400..=599));
                    seen.push(Seen::Refused(rejection.status()));
                    return seen;
                }
            };
            assert!(used <= piece.len());
            piece = &piece[used..];
            match step {
                Step::NeedMore => {
                    assert!(piece.is_empty());
                    break;
                }
                // Whether 100 Continue is asked depends on where the body
                // was cut off, so it is not part of what must agree.
                Step::Continue => {}
                Step::Request(r) => {
                    // A body handed out whole is within the limit.
                    assert!(r.body.len() <= max_body);
                    seen.push(Seen::Request(
                        r.method.into(),
                        r.target.into(),
                        r.version,
                        r.headers.iter().map(|(n, v)| (n.to_string(), v.to_vec())).collect(),
                        r.body.to_vec(),
                    ))
                }
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

// Input: a flags byte (bit 0: stream bodies, bit 1: small limits), two
// bytes seeding where the split falls, then the bytes a client sent (so
// the seeds stay readable requests).
fuzz_target!(|input: &[u8]| {
    let [flags, a, b, data @ ..] = input else {
        return;
    };
    let (stream, small) = (flags & 1 != 0, flags & 2 != 0);
    let mut state = u32::from(*a) << 8 | u32::from(*b) | 1;
    let cuts: Vec<usize> = (0..(*a % 16))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize
        })
        .collect();
    let whole = read(data, &[], limits(small), stream);
    let split = read(data, &cuts, limits(small), stream);
    assert_eq!(split, whole);
});
