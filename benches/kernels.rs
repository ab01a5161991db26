//! Unmask and UTF-8 kernels side by side with the peers' approaches, in one
//! criterion run (`cargo bench --bench kernels`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use simdws::mask::{self, scalar, Kernel};
use simdws::utf8::{validate_with, StreamingUtf8};

const SIZES: [usize; 6] = [16, 125, 1 << 10, 16 << 10, 256 << 10, 4 << 20];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A payload where it sits in a receive buffer: after its masked frame
/// header (6, 8 or 14 bytes) at the 64-byte aligned start of the buffer.
fn after_header(len: usize) -> (Vec<u8>, usize) {
    let header = match len {
        0..=125 => 6,
        126..=65535 => 8,
        _ => 14,
    };
    let storage = vec![0x5Au8; len + 128];
    let start = storage.as_ptr().align_offset(64) + header;
    (storage, start)
}

/// tungstenite's u32 word trick, re-implemented from its description: rotate
/// the key to the first aligned word, XOR u32 words, bytes at both ends.
fn u32_trick(buf: &mut [u8], key: [u8; 4]) {
    let key_u32 = u32::from_ne_bytes(key);
    // SAFETY: every bit pattern is a valid u32; align_to_mut splits safely.
    let (prefix, words, suffix) = unsafe { buf.align_to_mut::<u32>() };
    scalar::apply_mask_bytes(prefix, key, 0);
    let rotated = key_u32.rotate_right(8 * (prefix.len() as u32 & 3));
    for word in words.iter_mut() {
        *word ^= rotated;
    }
    scalar::apply_mask_bytes(suffix, rotated.to_ne_bytes(), 0);
}

fn unmask(c: &mut Criterion) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("unmask/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        let (mut storage, start) = after_header(size);
        let buf = &mut storage[start..start + size];
        group.bench_function("simdws", |b| {
            b.iter(|| mask::apply_mask(black_box(&mut *buf), KEY, 0))
        });
        for kernel in Kernel::available() {
            if kernel == Kernel::Scalar {
                continue;
            }
            let name = format!("simdws-{kernel:?}").to_lowercase();
            group.bench_function(name, |b| {
                b.iter(|| kernel.apply_mask(black_box(&mut *buf), KEY, 0))
            });
        }
        group.bench_function("fastwebsockets", |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut *buf), KEY))
        });
        group.bench_function("u32-trick", |b| {
            b.iter(|| u32_trick(black_box(&mut *buf), KEY))
        });
        group.bench_function("byte-loop", |b| {
            b.iter(|| scalar::apply_mask_bytes(black_box(&mut *buf), KEY, 0))
        });
        let src = vec![1u8; size];
        group.bench_function("memcpy", |b| {
            b.iter(|| buf.copy_from_slice(black_box(&src)))
        });
        group.finish();
    }
}

/// Unmask + validate ASCII text: the fused pass vs unmask then simdutf8.
fn unmask_text(c: &mut Criterion) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("unmask-text/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        let (mut storage, start) = after_header(size);
        let buf = &mut storage[start..start + size];
        let text: Vec<u8> = (0..size).map(|i| b' ' + (i % 90) as u8).collect();
        buf.copy_from_slice(&text);
        // Each iteration unmasks twice (mask then unmask), so the bytes are
        // the ASCII text on every other pass; both passes are counted.
        group.throughput(Throughput::Bytes(2 * size as u64));
        group.bench_function("fused", |b| {
            b.iter(|| {
                let (_, a) = mask::apply_mask_ascii(black_box(&mut *buf), KEY, 0);
                let (_, b2) = mask::apply_mask_ascii(black_box(&mut *buf), KEY, 0);
                assert!(b2 || a);
            })
        });
        group.bench_function("two-pass", |b| {
            b.iter(|| {
                mask::apply_mask(black_box(&mut *buf), KEY, 0);
                let first = simdutf8::basic::from_utf8(buf).is_ok();
                mask::apply_mask(black_box(&mut *buf), KEY, 0);
                let second = simdutf8::basic::from_utf8(buf).is_ok();
                assert!(first || second);
            })
        });
        group.finish();
    }
}

/// A whole text checked as UTF-8 by the AVX-512 kernel
/// (`utf8::validate_with`) against simdutf8 and std, short to long, ASCII,
/// mostly ASCII and multi-byte.
fn utf8_whole(c: &mut Criterion) {
    let samples = [
        ("ascii", "The quick brown fox jumps over the lazy dog. "),
        (
            "mostly-ascii",
            "{\"name\":\"Zoë\",\"city\":\"København\",\"note\":\"plain words here\"} ",
        ),
        ("multibyte", "Größe über 我们的网络 😀🎉 déjà vu — "),
    ];
    for size in [64usize, 256, 1 << 10, 16 << 10] {
        for (name, sample) in samples {
            let text = sample.repeat(size / sample.len() + 1);
            let bytes = &text.as_bytes()[..text.floor_char_boundary(size)];
            let mut group = c.benchmark_group(format!("utf8-whole/{name}/{size}"));
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            if Kernel::Avx512.is_supported() {
                group.bench_function("simdws-avx512", |b| {
                    b.iter(|| assert!(validate_with(Kernel::Avx512, black_box(bytes))))
                });
            }
            group.bench_function("simdutf8", |b| {
                b.iter(|| assert!(simdutf8::basic::from_utf8(black_box(bytes)).is_ok()))
            });
            group.bench_function("std", |b| {
                b.iter(|| assert!(std::str::from_utf8(black_box(bytes)).is_ok()))
            });
            group.finish();
        }
    }
}

/// A whole masked text unmasked and checked as UTF-8 with the AVX2 kernel:
/// the fused pass (`Kernel::apply_mask_utf8`) against its ASCII-fused
/// unmask followed by simdutf8, ASCII and multi-byte.
fn unmask_utf8(c: &mut Criterion) {
    if !Kernel::Avx2.is_supported() {
        return;
    }
    let samples = [
        ("ascii", "The quick brown fox jumps over the lazy dog. "),
        ("multibyte", "Größe über 我们的网络 😀🎉 déjà vu — "),
    ];
    for size in [64usize, 1 << 10, 16 << 10] {
        for (name, sample) in samples {
            let text = sample.repeat(size / sample.len() + 1);
            let plain = &text.as_bytes()[..text.floor_char_boundary(size)];
            let mut masked = plain.to_vec();
            scalar::apply_mask_bytes(&mut masked, KEY, 0);
            let mut group = c.benchmark_group(format!("unmask-utf8-avx2/{name}/{size}"));
            group.throughput(Throughput::Bytes(plain.len() as u64));
            let mut buf = masked.clone();
            group.bench_function("fused", |b| {
                b.iter(|| {
                    buf.copy_from_slice(&masked);
                    assert!(Kernel::Avx2.apply_mask_utf8(black_box(&mut buf), KEY, 0));
                })
            });
            group.bench_function("two-pass", |b| {
                b.iter(|| {
                    buf.copy_from_slice(&masked);
                    let (_, ascii) = Kernel::Avx2.apply_mask_ascii(black_box(&mut buf), KEY, 0);
                    assert!(ascii || simdutf8::basic::from_utf8(&buf).is_ok());
                })
            });
            group.finish();
        }
    }
}

fn utf8(c: &mut Criterion) {
    let scripts = [
        ("ascii", "The quick brown fox jumps over the lazy dog. "),
        ("latin", "Größenwahn über Ängste, façade naïve — déjà vu. "),
        ("cjk", "我们的网络服务器在这里处理所有的消息和连接。"),
        ("emoji", "😀🎉👍🏽🚀✨🔥💯🙏 "),
    ];
    for (name, sample) in scripts {
        let text = sample.repeat((64 << 10) / sample.len() + 1);
        let bytes = &text.as_bytes()[..text.floor_char_boundary(64 << 10)];
        let mut group = c.benchmark_group(format!("utf8/{name}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("simdutf8-oneshot", |b| {
            b.iter(|| simdutf8::basic::from_utf8(black_box(bytes)).is_ok())
        });
        for chunk in [4096usize, 1000] {
            group.bench_with_input(BenchmarkId::new("streaming", chunk), &chunk, |b, &chunk| {
                b.iter(|| {
                    let mut v = StreamingUtf8::new();
                    for piece in black_box(bytes).chunks(chunk) {
                        v.feed(piece).unwrap();
                    }
                    v.finish().unwrap();
                })
            });
        }
        group.bench_function("std", |b| {
            b.iter(|| std::str::from_utf8(black_box(bytes)).is_ok())
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = unmask, unmask_text, unmask_utf8, utf8_whole, utf8 }
criterion_main!(benches);
