//! JSON written straight into a packet's text.
//!
//! The output is serde_json's compact form, byte for byte: the same
//! escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` with
//! lowercase hex for the other control characters; nothing else), numbers
//! as serde_json prints them, and objects in their map's order. serde_json
//! checks each byte of a string against its table and then takes a UTF-8
//! pass over its output; this writer copies each plain run whole into the
//! `String` itself. A property test holds the output to serde_json's.

use std::fmt::Write as _;

use serde_json::{Number, Value};

use super::plain_len;

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

/// The escape of `byte`, one of those that end a plain run.
fn escape(byte: u8) -> &'static str {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        _ => CONTROL[usize::from(byte)],
    }
}

/// Appends `text` as a JSON string.
fn write_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        let run = plain_len(&bytes[at..]);
        out.push_str(&text[at..at + run]);
        at += run;
        let Some(&byte) = bytes.get(at) else { break };
        out.push_str(escape(byte));
        at += 1;
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::any_value;
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
        // runs long enough for whole 16-byte blocks and the last one.
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

        #[test]
        fn any_value_is_written_as_serde_json_writes_it(value in any_value()) {
            prop_assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
        }
    }
}
