//! JSON read from a packet's text into a [`Value`].
//!
//! It reads what serde_json reads, into the same values, and refuses what
//! serde_json refuses: strings with control characters, bad escapes or
//! lone surrogates; leading zeros; anything after the value but
//! whitespace; more than 127 arrays and objects inside one another. A
//! property test compares the two on valid and broken texts alike.
//!
//! What makes it faster than serde_json's `from_str` for a packet: each
//! plain run of a string is found 16 bytes at a time and copied whole, and
//! a value is built as it is read, with no visitor between.
//! Numbers other than integers in `i64` or `u64` (floats, `-0`, integers
//! too big) are rare in packets and are read by serde_json itself, so
//! their values are serde_json's to the last bit.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::plain_len;

/// Why a text is not JSON. (Which byte, the callers have no use for:
/// a packet that is not JSON closes the session.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

type Result<T> = std::result::Result<T, NotJson>;

/// serde_json gives up past this many arrays and objects inside one
/// another; so does this reader, which recurses once for each.
const MAX_DEPTH: usize = 127;

/// The JSON value that is all of `text` (whitespace around it allowed).
pub fn parse(text: &str) -> Result<Value> {
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at != text.len() {
        return Err(NotJson);
    }
    Ok(value)
}

/// An event's name (borrowed from the text unless it has escapes) and
/// its arguments.
pub type NamedEvent<'t> = (Cow<'t, str>, Vec<Value>);

/// The JSON value that is all of `text`, read as an event's data when it
/// is an array starting with a string: the name is read apart and the
/// arguments into a vector of their own, so the name costs no allocation
/// and needs no taking out of the array. `Ok(None)` for any other value
/// (an event may be named by a number): the caller reads it whole with
/// [`parse`]. Refuses what [`parse`] refuses.
#[inline(always)] // into the packet's parse (see `Client::read_text`)
pub fn parse_event(text: &str) -> Result<Option<NamedEvent<'_>>> {
    let mut reader = Reader { text, at: 0 };
    let named = reader.next_token() == Some(b'[') && reader.next_token() == Some(b'"');
    if !named {
        return parse(text).map(|_| None);
    }
    let name = reader.borrowed_string()?;
    let args = match reader.next_token() {
        Some(b']') => Vec::new(),
        Some(b',') => reader.items(1)?,
        _ => return Err(NotJson),
    };
    reader.skip_whitespace();
    if reader.at != text.len() {
        return Err(NotJson);
    }
    Ok(Some((name, args)))
}

/// Vectors of values given back once their values were sent
/// ([`recycle`]), taken for the next arrays read: the arguments of an
/// event answered at once cost no allocation of their vector.
mod spare {
    use std::cell::RefCell;

    use serde_json::Value;

    /// An event's name and an argument or two fit without growing.
    const CAPACITY: usize = 4;
    /// A vector that grew past this gives its storage back.
    #[cfg(feature = "net")]
    const MAX_CAPACITY: usize = 16;
    /// Vectors kept per thread.
    #[cfg(feature = "net")]
    const KEPT: usize = 8;

    thread_local! {
        static SPARE: RefCell<Vec<Vec<Value>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty vector, with storage given back if there is some.
    pub(super) fn take() -> Vec<Value> {
        SPARE
            .with_borrow_mut(Vec::pop)
            .unwrap_or_else(|| Vec::with_capacity(CAPACITY))
    }

    /// Drops `values`' values and keeps its storage for [`take`]. (Only
    /// the server sends, and so gives vectors back.)
    #[cfg(feature = "net")]
    pub fn recycle(mut values: Vec<Value>) {
        values.clear();
        if !(CAPACITY..=MAX_CAPACITY).contains(&values.capacity()) {
            return;
        }
        SPARE.with_borrow_mut(|spare| {
            if spare.len() < KEPT {
                spare.push(values);
            }
        });
    }
}

#[cfg(feature = "net")]
pub use spare::recycle;

#[cfg(all(test, feature = "net"))]
mod spare_tests {
    use super::*;

    #[test]
    fn a_recycled_vector_holds_the_next_arguments_read() {
        // Kept vectors are taken last in, first out.
        let Ok(Some((_, args))) = parse_event(r#"["e","one",2]"#) else {
            panic!("an event");
        };
        let storage = args.as_ptr();
        recycle(args);
        let Ok(Some((_, again))) = parse_event(r#"["e",{"a":[1]}]"#) else {
            panic!("an event");
        };
        assert_eq!(again.as_ptr(), storage, "the same storage");
        assert_eq!(
            again,
            vec![serde_json::json!({"a": [1]})],
            "and only the new values"
        );

        // A vector grown large gives its storage back rather than keep it.
        let mut big = Vec::with_capacity(64);
        big.push(Value::Null);
        recycle(big);
        let Ok(Some((_, next))) = parse_event(r#"["e",1]"#) else {
            panic!("an event");
        };
        assert_eq!(next.capacity(), 4, "not the grown vector");
    }
}

struct Reader<'a> {
    text: &'a str,
    /// The next byte to read.
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips whitespace, then takes the byte after it.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_whitespace();
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    /// Skips `word` (the rest of `true`, `false` or `null`).
    fn expect(&mut self, word: &str) -> Result<()> {
        let end = self.at + word.len();
        if self.bytes().get(self.at..end) != Some(word.as_bytes()) {
            return Err(NotJson);
        }
        self.at = end;
        Ok(())
    }

    /// The value at the next token; `depth` arrays and objects hold it.
    fn value(&mut self, depth: usize) -> Result<Value> {
        let value = match self.next_token().ok_or(NotJson)? {
            b'"' => Value::String(self.string()?),
            b'[' => Value::Array(self.array(depth + 1)?),
            b'{' => Value::Object(self.object(depth + 1)?),
            b't' => self.expect("rue").map(|()| Value::Bool(true))?,
            b'f' => self.expect("alse").map(|()| Value::Bool(false))?,
            b'n' => self.expect("ull").map(|()| Value::Null)?,
            b'-' | b'0'..=b'9' => {
                self.at -= 1;
                self.number()?
            }
            _ => return Err(NotJson),
        };
        Ok(value)
    }

    /// The items of an array whose `[` was just read.
    fn array(&mut self, depth: usize) -> Result<Vec<Value>> {
        if depth > MAX_DEPTH {
            return Err(NotJson);
        }
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Vec::new());
        }
        self.items(depth)
    }

    /// The items of a non-empty array, from the first one to the `]`.
    fn items(&mut self, depth: usize) -> Result<Vec<Value>> {
        let mut items = spare::take();
        loop {
            items.push(self.value(depth)?);
            match self.next_token() {
                Some(b',') => {}
                Some(b']') => return Ok(items),
                _ => return Err(NotJson),
            }
        }
    }

    /// The members of an object whose `{` was just read. A key that comes
    /// again takes the later value, as in serde_json.
    fn object(&mut self, depth: usize) -> Result<Map<String, Value>> {
        if depth > MAX_DEPTH {
            return Err(NotJson);
        }
        let mut members = Map::new();
        match self.next_token() {
            Some(b'}') => return Ok(members),
            Some(b'"') => {}
            _ => return Err(NotJson),
        }
        loop {
            let key = self.string()?;
            if self.next_token() != Some(b':') {
                return Err(NotJson);
            }
            let value = self.value(depth)?;
            members.insert(key, value);
            match self.next_token() {
                Some(b',') if self.next_token() == Some(b'"') => {}
                Some(b'}') => return Ok(members),
                _ => return Err(NotJson),
            }
        }
    }

    /// The string whose opening `"` was just read. A string with no escape
    /// is one plain run, copied once.
    fn string(&mut self) -> Result<String> {
        let start = self.at;
        let run = plain_len(&self.bytes()[start..]);
        self.at += run;
        if self.peek() == Some(b'"') {
            self.at += 1;
            return Ok(self.text[start..start + run].to_owned());
        }
        let mut out = String::with_capacity(run + 16);
        out.push_str(&self.text[start..start + run]);
        loop {
            match self.peek().ok_or(NotJson)? {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                _ => return Err(NotJson), // a control character
            }
            let run = plain_len(&self.bytes()[self.at..]);
            out.push_str(&self.text[self.at..self.at + run]);
            self.at += run;
        }
    }

    /// [`Reader::string`], borrowed from the text when it has no escape.
    fn borrowed_string(&mut self) -> Result<Cow<'a, str>> {
        let start = self.at;
        let run = plain_len(&self.bytes()[start..]);
        if self.bytes().get(start + run) == Some(&b'"') {
            self.at = start + run + 1;
            return Ok(Cow::Borrowed(&self.text[start..start + run]));
        }
        self.string().map(Cow::Owned)
    }

    /// The escape after a `\`, appended to `out`.
    fn escape(&mut self, out: &mut String) -> Result<()> {
        let escaped = match self.next_byte()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(NotJson),
        };
        out.push(escaped);
        Ok(())
    }

    fn next_byte(&mut self) -> Result<u8> {
        let byte = self.peek().ok_or(NotJson)?;
        self.at += 1;
        Ok(byte)
    }

    /// The character of a `\u` escape whose `u` was just read: a UTF-16
    /// code unit, or a pair of them (`\uD83D\uDE00`). A surrogate without
    /// its other half is refused, as serde_json refuses it.
    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.next_byte()? != b'\\' || self.next_byte()? != b'u' {
                    return Err(NotJson);
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(NotJson);
                }
                0x1_0000 + ((first - 0xD800) << 10 | (second - 0xDC00))
            }
            0xDC00..=0xDFFF => return Err(NotJson),
            _ => first,
        };
        char::from_u32(code).ok_or(NotJson)
    }

    /// Four hexadecimal digits, either case.
    fn hex4(&mut self) -> Result<u32> {
        let digits = self.bytes().get(self.at..self.at + 4).ok_or(NotJson)?;
        let mut code = 0;
        for &digit in digits {
            let nibble = char::from(digit).to_digit(16).ok_or(NotJson)?;
            code = code << 4 | nibble;
        }
        self.at += 4;
        Ok(code)
    }

    /// The number starting here. An integer that fits (`0`, or no
    /// leading zero, and within `u64`, or `i64` below zero) is read here;
    /// anything else number-like goes to serde_json, whose value (or
    /// refusal) it is then.
    fn number(&mut self) -> Result<Value> {
        let bytes = self.bytes();
        let start = self.at;
        let negative = bytes[start] == b'-';
        let digits_start = start + usize::from(negative);
        let digits = bytes[digits_start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = digits_start + digits;
        let plain_integer = digits > 0
            && !matches!(bytes.get(end), Some(b'.' | b'e' | b'E'))
            && (digits == 1 || bytes[digits_start] != b'0');
        if plain_integer {
            if let Some(value) = integer(&bytes[digits_start..end], negative) {
                self.at = end;
                return Ok(value);
            }
        }
        // The longest run that could be part of a number; whatever it is,
        // serde_json reads it or refuses it as a whole.
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
        let value: Value = serde_json::from_str(&self.text[start..end]).map_err(|_| NotJson)?;
        if !value.is_number() {
            return Err(NotJson);
        }
        self.at = end;
        Ok(value)
    }
}

/// The integer of `digits` (ASCII, no leading zero unless alone), if it
/// fits: in `u64`, or below zero in `i64`. Zero below zero (`-0`) is
/// left to serde_json, which reads it as a float.
fn integer(digits: &[u8], negative: bool) -> Option<Value> {
    let mut magnitude: u64 = 0;
    for &digit in digits {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    if !negative {
        return Some(Value::from(magnitude));
    }
    match magnitude {
        0 => None,
        m if m <= i64::MIN.unsigned_abs() => Some(Value::from(0i64.wrapping_sub_unsigned(m))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::any_value;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Both readers, side by side: the same value, or both refuse. And
    /// [`parse_event`] reads the same value, with a leading name apart.
    fn agree(text: &str) -> std::result::Result<(), String> {
        let ours = parse(text).ok();
        let theirs = serde_json::from_str::<Value>(text).ok();
        if ours != theirs {
            return Err(format!("{text:?}: ours {ours:?}, serde_json {theirs:?}"));
        }
        let as_event = parse_event(text).ok().and_then(|event| match event {
            Some((name, mut args)) => {
                args.insert(0, Value::String(name.into_owned()));
                Some((true, Value::Array(args)))
            }
            None => ours.clone().map(|value| (false, value)),
        });
        let named = |value: &Value| matches!(value.get(0), Some(Value::String(_)));
        match (&as_event, &ours) {
            (None, None) => Ok(()),
            (Some((was_named, value)), Some(ours))
                if value == ours && *was_named == named(ours) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "{text:?}: as an event {as_event:?}, whole {ours:?}"
            )),
        }
    }

    #[test]
    fn reads_what_serde_json_reads_and_refuses_what_it_refuses() {
        let cases = [
            // Values, spaced and not.
            r#"["echo","hello"]"#,
            r#" [ "echo" , { "a" : [ 1 , -2 , 3.5 ] } , null , true , false ] "#,
            "\t\r\n{}\n",
            "[]",
            "[[],[[]],{}]",
            r#"{"k":1,"k":2}"#,
            r#""""#,
            // Numbers, every edge serde_json draws.
            "0",
            "-0",
            "01",
            "-01",
            "1.",
            ".5",
            "1.5",
            "-1.25e-7",
            "1e400",
            "1E+2",
            "1e",
            "--1",
            "+1",
            "-",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "[1-2]",
            "[1,]",
            "[,1]",
            "[1 2]",
            // Strings: escapes, surrogates, control characters.
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u0041\u00e9\u20AC\uD83D\uDE00""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud800\n""#,
            r#""\ud800x""#,
            r#""\uDBFF\uDFFF""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\x""#,
            "\"tab\there\"",
            "\"nul\u{0}\"",
            "\"del\u{7f}é€😀\"",
            r#""unterminated"#,
            r#""\"#,
            // Literals, and what may follow a value.
            "tru",
            "nul",
            "falsey",
            "true false",
            "",
            "   ",
            "[\"a\"] x",
            // Objects that are not.
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{a:1}"#,
            r#"{"a":1,}"#,
            r#"{,"a":1}"#,
            r#"{"a":1 "b":2}"#,
        ];
        for text in cases {
            agree(text).unwrap();
        }
        let long = format!(r#"["{}\n{}"]"#, "x".repeat(40), "é".repeat(40));
        agree(&long).unwrap();
        assert_eq!(
            parse(&long).unwrap()[0].as_str().unwrap().len(),
            40 + 1 + 80
        );
    }

    #[test]
    fn nesting_stops_where_serde_jsons_does() {
        for depth in [126, 127, 128, 129, 10_000] {
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            agree(&arrays).unwrap();
            let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
            agree(&objects).unwrap();
        }
        assert!(parse(&format!("{}{}", "[".repeat(127), "]".repeat(127))).is_ok());
        assert!(parse(&format!("{}{}", "[".repeat(128), "]".repeat(128))).is_err());
    }

    #[test]
    fn integers_keep_their_kind() {
        let value = parse("[0,7,-7,18446744073709551615,-9223372036854775808]").unwrap();
        assert_eq!(
            value,
            json!([0, 7, -7, u64::MAX, i64::MIN]),
            "and each is the same kind of number as serde_json's"
        );
        assert!(value[1].is_u64() && value[2].is_i64());
    }

    /// Bytes that matter to a JSON reader, to break texts with.
    /// `text` with `edits` made, each at an index into it: kind 0 puts a
    /// character in, 1 takes one out, 2 replaces one (or adds it at the
    /// end), 3 puts a space in.
    fn edited(text: &str, edits: Vec<(prop::sample::Index, u8, char)>) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                2 if i < chars.len() => chars[i] = c,
                2 => chars.push(c),
                3 => chars.insert(i, ' '),
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    fn any_json_char() -> impl Strategy<Value = char> {
        prop_oneof![
            proptest::sample::select(
                "[]{}\",:\\/-+.eE0123456789 \ntrufalsn"
                    .chars()
                    .collect::<Vec<_>>()
            ),
            any::<char>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

        #[test]
        fn any_value_serde_json_writes_is_read_as_serde_json_reads_it(value in any_value(), pretty: bool) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            // (Not always `value` itself: serde_json reads some floats
            // back a bit off, and so, through it, does this reader.)
            prop_assert!(parse(&text).is_ok(), "{}", text);
            agree(&text).map_err(TestCaseError::fail)?;
        }

        /// A valid text with a few characters put in, taken out or
        /// replaced: the two readers still agree, value or refusal.
        #[test]
        fn broken_texts_are_refused_as_serde_json_refuses_them(
            value in any_value(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any_json_char()), 1..4),
        ) {
            let text = edited(&serde_json::to_string(&value).unwrap(), edits);
            agree(&text).map_err(TestCaseError::fail)?;
        }

        /// An event's data (a name and its arguments), whole or broken:
        /// read with its name apart, it is the value read whole.
        #[test]
        fn event_data_is_read_as_the_whole_value(
            name in ".{0,30}",
            args in proptest::collection::vec(any_value(), 0..4),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any_json_char()), 0..3),
        ) {
            let mut items = vec![Value::String(name)];
            items.extend(args);
            let text = edited(&serde_json::to_string(&items).unwrap(), edits);
            agree(&text).map_err(TestCaseError::fail)?;
        }

        /// Short texts of JSON's own characters, mostly not JSON at all.
        #[test]
        fn short_texts_of_json_characters_agree(chars in proptest::collection::vec(any_json_char(), 0..24)) {
            let text: String = chars.into_iter().collect();
            agree(&text).map_err(TestCaseError::fail)?;
        }
    }
}
