//! permessage-deflate throughput: compressing and decompressing text
//! messages of 1 KiB, 16 KiB and 1 MiB through the codec the connection
//! uses (zlib-rs via flate2, level 2, window 15). `compress` and
//! `decompress` treat each message alone (no context takeover: every
//! message starts from a reset stream); `compress, takeover` keeps the
//! context across a rotation of 64 different messages of the same kind.
//!
//! ```text
//! taskset -c 1 cargo bench --bench deflate
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use simdws::deflate::{DeflateConfig, Deflater, Inflater};
use simdws::protocol::{MessageDecoder, MessageEncoder};

/// Chat-like text: words, JSON fragments and multi-byte characters in a
/// pseudo-random order (compresses to about a fifth).
fn sample_text(len: usize) -> Vec<u8> {
    let words = [
        "héllo ",
        "wörld ",
        "数据 ",
        "🦀 ",
        "simdws ",
        "frame ",
        "deflate ",
        "the ",
        "a ",
        "message ",
        "{\"id\":",
        "42,",
        "\"name\":\"x\"} ",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(words[(x % words.len() as u64) as usize]);
    }
    s.truncate(s.floor_char_boundary(len));
    s.into_bytes()
}

fn deflate(c: &mut Criterion) {
    let config = DeflateConfig::default();
    for (name, size) in [("1KiB", 1 << 10), ("16KiB", 16 << 10), ("1MiB", 1 << 20)] {
        let text = sample_text(size);
        let mut group = c.benchmark_group(format!("deflate/{name}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut deflater = Deflater::new(15, false, &config);
        let mut compressed = Vec::new();
        group.bench_function("compress", |b| {
            b.iter(|| assert!(deflater.encode(&text, &mut compressed)))
        });
        assert!(deflater.encode(&text, &mut compressed));
        if size <= 16 << 10 {
            let corpus = sample_text(size * 65);
            let messages: Vec<&[u8]> = (0..64).map(|i| &corpus[i * size..(i + 1) * size]).collect();
            let mut deflater = Deflater::new(15, true, &config);
            let mut scratch = Vec::new();
            let mut i = 0;
            group.bench_function("compress, takeover", |b| {
                b.iter(|| {
                    i = (i + 1) % messages.len();
                    assert!(deflater.encode(messages[i], &mut scratch));
                })
            });
        }
        let mut inflater = Inflater::new(15, false);
        let mut out = Vec::with_capacity(text.len());
        inflater
            .decode(&compressed, true, &mut out, usize::MAX / 2)
            .unwrap();
        assert_eq!(out, text, "the codec round-trips");
        group.bench_function("decompress", |b| {
            b.iter(|| {
                out.clear();
                inflater
                    .decode(&compressed, true, &mut out, usize::MAX / 2)
                    .unwrap();
            })
        });
        eprintln!(
            "{name}: {} → {} bytes ({:.1}%)",
            text.len(),
            compressed.len(),
            100.0 * compressed.len() as f64 / text.len() as f64
        );
        group.finish();
    }
}

criterion_group!(benches, deflate);
criterion_main!(benches);
