//! JSON values written straight into a packet's text.
//!
//! Packets are mostly strings. serde_json's serializer looks up every byte
//! of a string in its escape table, one at a time, and writes bytes, which
//! then take a second pass (a UTF-8 check) to become the packet's
//! `String`. At 1 KiB of text those two passes were two thirds of an
//! emit+ack's instructions. This writer copies each run of a string that
//! needs no escape whole, finding it 32 and then 8 bytes at a time, into
//! the `String` itself.
//!
//! The output is serde_json's compact form, byte for byte: the same
//! escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` with
//! lowercase hex for the other control characters; nothing else), numbers
//! as serde_json prints them, and objects in their map's order. A property
//! test holds it there.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Appends `value` to `out` as compact JSON.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// About how many bytes `value` takes as JSON: exact for strings that need
/// no escape, a guess for numbers. A packet reserves this much at once, so
/// a long one is not copied as it grows.
pub fn estimated_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => {
            2 + items
                .iter()
                .map(|item| estimated_len(item) + 1)
                .sum::<usize>()
        }
        Value::Object(map) => {
            let members = map
                .iter()
                .map(|(key, item)| key.len() + 4 + estimated_len(item));
            2 + members.sum::<usize>()
        }
    }
}

fn write_number(out: &mut String, number: &Number) {
    let mut digits = itoa::Buffer::new();
    if let Some(n) = number.as_u64() {
        out.push_str(digits.format(n));
    } else if let Some(n) = number.as_i64() {
        out.push_str(digits.format(n));
    } else {
        // A float: serde_json's own shortest form (its `Display`).
        let _ = write!(out, "{number}");
    }
}

/// Every byte of a word set to `0x01`, and to `0x80`.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks (0x80) the zero bytes of `word`. The lowest mark is exact; a
/// byte above a zero one may be marked wrongly (a borrow runs into it).
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// Marks (0x80) the bytes of `word` below 0x20, `"` or `\`. A byte of
/// 0x80 or more, part of a multi-byte character, is never marked. The
/// lowest mark is exact (each of the three is), higher ones may not be.
fn marks(word: u64) -> u64 {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = zero_bytes(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_bytes(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash
}

/// `bytes`, eight of them, as a little-endian word.
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("eight bytes"))
}

/// The escape for `byte` inside a JSON string, if it needs one.
fn escape(byte: u8) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match byte {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        0..=0x1f => Some(CONTROL[usize::from(byte)]),
        _ => None,
    }
}

/// Appends `text` as a JSON string.
fn write_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    // `text[written..at]` needs no escape and is not written yet. Every
    // byte that needs one is ASCII, so both ends are character boundaries.
    let mut written = 0;
    let mut at = 0;
    while at < bytes.len() {
        // 32 bytes at a time while none needs an escape...
        if let Some(block) = bytes.get(at..at + 32) {
            if block.chunks_exact(8).fold(0, |all, w| all | marks(word(w))) == 0 {
                at += 32;
                continue;
            }
        }
        // ...then 8 at a time (the last few padded with spaces, which
        // need none), up to the one that does.
        let rest = &bytes[at..];
        let w = match rest.get(..8) {
            Some(w) => word(w),
            None => {
                let mut padded = [b' '; 8];
                padded[..rest.len()].copy_from_slice(rest);
                word(&padded)
            }
        };
        let clean = ((marks(w).trailing_zeros() / 8) as usize).min(rest.len());
        at += clean;
        if clean == 8 || at == bytes.len() {
            continue;
        }
        // The lowest mark is exact: this byte needs an escape.
        if let Some(escaped) = escape(bytes[at]) {
            out.push_str(&text[written..at]);
            out.push_str(escaped);
            written = at + 1;
        }
        at += 1;
    }
    out.push_str(&text[written..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn written(value: &Value) -> String {
        let mut out = String::new();
        write_value(&mut out, value);
        out
    }

    #[test]
    fn every_character_that_needs_an_escape_gets_serde_jsons() {
        // Each control character, quote and backslash, alone and inside
        // runs long enough for the 8- and 32-byte paths.
        for byte in (0u8..0x20).chain([b'"', b'\\', b'/', 0x7f]) {
            let c = char::from(byte);
            let long = "x".repeat(37);
            for text in [
                c.to_string(),
                format!("abcdefgh{c}ijklmnopq"),
                format!("{c}é€😀{c}"),
                format!("{long}{c}{long}{c}{c}é{long}"),
            ] {
                let value = Value::String(text);
                assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
            }
        }
    }

    #[test]
    fn numbers_nesting_and_key_order_match() {
        let value = json!({
            "z": [0, 1, -1, u64::MAX, i64::MIN, 0.5, -1.25e-7, 1e300, 3.0],
            "a": {"nested": [null, true, false, "x"], "": {}},
            "m": [[], [[]], {"k": "v"}],
        });
        assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn the_estimate_covers_values_with_plain_strings() {
        let values = [
            json!(["echo", "x".repeat(1000)]),
            json!({"nsp": "/chat", "echo": {"text": "hi", "list": [true, null, "é€"]}}),
            json!([]),
            json!("just a string"),
        ];
        for value in values {
            let written = written(&value).len();
            let estimate = estimated_len(&value);
            assert!(
                (written..written + 16).contains(&estimate),
                "{value}: {estimate} for {written}"
            );
        }
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            // Any characters, ASCII-heavy so that clean runs of 8 and 32 happen.
            proptest::collection::vec(
                prop_oneof![
                    4 => proptest::char::range(' ', '~'),
                    1 => proptest::char::range('\0', '\u{1f}'),
                    1 => any::<char>(),
                ],
                0..80
            )
            .prop_map(|chars| Value::String(chars.into_iter().collect())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((".{0,12}", inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_is_written_as_serde_json_writes_it(value in any_value()) {
            prop_assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
        }
    }
}
