//! The streaming validator agrees with `std::str::from_utf8` for any input
//! split at any points, and fails on the earliest byte that makes the prefix
//! impossible.

use proptest::prelude::*;
use simdws::utf8::StreamingUtf8;

/// Index of the first byte after which no continuation can make the prefix
/// valid UTF-8, per std (the oracle).
fn first_impossible_byte(bytes: &[u8]) -> Option<usize> {
    (1..=bytes.len())
        .find(|&k| matches!(std::str::from_utf8(&bytes[..k]), Err(e) if e.error_len().is_some()))
        .map(|k| k - 1)
}

/// Feeds `bytes` cut at `cuts`; returns the index of the piece that failed,
/// or whether `finish` succeeded.
fn feed_split(bytes: &[u8], cuts: &[usize]) -> Result<bool, usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    let mut v = StreamingUtf8::new();
    for w in points.windows(2) {
        if v.feed(&bytes[w[0]..w[1]]).is_err() {
            return Err(w[1]);
        }
    }
    Ok(v.finish().is_ok())
}

/// Byte soup weighted towards UTF-8 structure: lead bytes, continuation
/// bytes, and the edge values where validity changes.
fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => 0x20u8..0x7F,
        3 => 0x80u8..=0xBF,
        1 => 0xC0u8..=0xDF,
        1 => 0xE0u8..=0xEF,
        1 => 0xF0u8..=0xF7,
        1 => prop::sample::select(vec![0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90]),
    ];
    prop::collection::vec(byte, 0..if cfg!(miri) { 40 } else { 200 })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 2000 }))]

    #[test]
    fn agrees_with_std_for_any_split(bytes in utf8ish(), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let valid = std::str::from_utf8(&bytes).is_ok();
        match feed_split(&bytes, &cuts) {
            Ok(finished) => prop_assert_eq!(finished, valid),
            Err(_) => prop_assert!(!valid),
        }
    }

    #[test]
    fn fails_at_the_earliest_possible_byte(bytes in utf8ish()) {
        // One byte at a time: the failing feed is exactly the oracle's byte.
        let mut v = StreamingUtf8::new();
        let failed_at = bytes.iter().position(|b| v.feed(std::slice::from_ref(b)).is_err());
        prop_assert_eq!(failed_at, first_impossible_byte(&bytes));
    }

    #[test]
    fn fails_in_the_piece_holding_the_earliest_impossible_byte(bytes in utf8ish(), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        if let Some(bad) = first_impossible_byte(&bytes) {
            let end_of_failing_piece = feed_split(&bytes, &cuts).expect_err("invalid input must fail");
            // The piece that failed ends after the bad byte, and the piece
            // before it ended at or before the bad byte (no late failure).
            prop_assert!(end_of_failing_piece > bad);
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.push(0);
            points.sort_unstable();
            let piece_start = points.into_iter().filter(|&p| p < end_of_failing_piece).max().unwrap_or(0);
            prop_assert!(piece_start <= bad, "failed late: piece {}..{} but bad byte {}", piece_start, end_of_failing_piece, bad);
        }
    }

    #[test]
    fn valid_text_in_any_split(text in if cfg!(miri) { "\\PC{0,20}" } else { "\\PC{0,300}" }, cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        prop_assert_eq!(feed_split(text.as_bytes(), &cuts), Ok(true));
    }
}

#[test]
fn long_texts_of_every_script_split_at_every_byte() {
    for text in [
        "plain ascii text",
        "Ünïcödé Látin-1 ßü",
        "中文字符和日本語のテキスト",
        "emoji 😀🎉👍🏽 mixed",
    ] {
        if cfg!(miri) && !text.starts_with('中') {
            continue; // one script is enough under Miri: it is quadratic
        }
        let long = text.repeat(if cfg!(miri) { 1 } else { 50 });
        let bytes = long.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(feed_split(bytes, &[cut]), Ok(true), "cut at {cut}");
        }
    }
}
