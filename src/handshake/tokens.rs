//! Header value grammars of the handshake: comma-separated token lists
//! (`Connection`, `Upgrade`, `Sec-WebSocket-Protocol`) and extension offers
//! (`Sec-WebSocket-Extensions`, RFC 6455 §9.1).

use std::fmt;

/// Splits a comma-separated list, trimming spaces and dropping empty items.
pub fn token_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// Whether a token list contains `token`, ignoring ASCII case.
pub fn has_token(value: &str, token: &str) -> bool {
    token_list(value).any(|t| t.eq_ignore_ascii_case(token))
}

/// RFC 7230 `token`: visible ASCII except separators.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// One extension offered (or accepted) with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension's token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order; a parameter without `=value` has `None`.
    pub params: Vec<(String, Option<String>)>,
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// A `Sec-WebSocket-Extensions` value that breaks the grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionSyntaxError(pub String);

impl fmt::Display for ExtensionSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed Sec-WebSocket-Extensions: {}", self.0)
    }
}

impl std::error::Error for ExtensionSyntaxError {}

/// Parses `ext1; a=1; b, ext2; c="quoted"` into offers. Values may be tokens
/// or quoted strings whose content is a token (RFC 6455 §9.1).
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, ExtensionSyntaxError> {
    let mut offers = Vec::new();
    for item in split_outside_quotes(value, ',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let mut parts = split_outside_quotes(item, ';')?.into_iter();
        let name = parts.next().unwrap_or_default().trim();
        if !is_token(name) {
            return Err(ExtensionSyntaxError(format!("bad extension name {name:?}")));
        }
        let mut params = Vec::new();
        for param in parts {
            let param = param.trim();
            let (key, raw) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (param, None),
            };
            if !is_token(key) {
                return Err(ExtensionSyntaxError(format!("bad parameter name {key:?}")));
            }
            let value = match raw {
                None => None,
                Some(v) => {
                    let unquoted = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(v);
                    if !is_token(unquoted) {
                        return Err(ExtensionSyntaxError(format!("bad value for {key}: {v:?}")));
                    }
                    Some(unquoted.to_string())
                }
            };
            params.push((key.to_string(), value));
        }
        offers.push(ExtensionOffer {
            name: name.to_string(),
            params,
        });
    }
    Ok(offers)
}

fn split_outside_quotes(value: &str, separator: char) -> Result<Vec<&str>, ExtensionSyntaxError> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(ExtensionSyntaxError("unterminated quoted string".into()));
    }
    parts.push(&value[start..]);
    Ok(parts)
}
