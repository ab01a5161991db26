//! The four permessage-deflate parameters (RFC 7692 §7.1), read from an
//! offer or a response and written back. Parsing is strict: an unknown
//! parameter, a duplicate or a bad value is an error, never ignored.

use std::fmt;

use crate::handshake::ExtensionOffer;

/// The extension's registered name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The window sizes RFC 7692 allows (2^8 to 2^15 bytes).
pub const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// One permessage-deflate offer or response, as written on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's compression window, 2^N bytes (8–15), when limited.
    pub server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value, which in an offer means "the
    /// client can honour any value the server picks".
    pub client_max_window_bits: Option<Option<u8>>,
}

/// Why a permessage-deflate offer or response is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{EXTENSION_NAME}: {}", self.0)
    }
}

impl std::error::Error for ParamError {}

impl DeflateParams {
    /// Reads the parameters of one `permessage-deflate` element.
    pub fn parse(element: &ExtensionOffer) -> Result<Self, ParamError> {
        let mut params = DeflateParams::default();
        let mut seen: Vec<&str> = Vec::with_capacity(4);
        for (name, value) in &element.params {
            let name = name.as_str();
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(ParamError(format!("duplicate parameter {name}")));
            }
            seen.push(name);
            let value = value.as_deref();
            match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => {
                    no_value(name, value)?;
                    params.server_no_context_takeover = true;
                }
                "client_no_context_takeover" => {
                    no_value(name, value)?;
                    params.client_no_context_takeover = true;
                }
                "server_max_window_bits" => {
                    let bits = value
                        .ok_or_else(|| ParamError(format!("{name} needs a value")))
                        .and_then(|v| window_bits(name, v))?;
                    params.server_max_window_bits = Some(bits);
                }
                "client_max_window_bits" => {
                    let bits = value.map(|v| window_bits(name, v)).transpose()?;
                    params.client_max_window_bits = Some(bits);
                }
                _ => return Err(ParamError(format!("unknown parameter {name}"))),
            }
        }
        Ok(params)
    }

    /// The `Sec-WebSocket-Extensions` element for these parameters.
    pub fn to_header(&self) -> String {
        let mut out = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; server_max_window_bits={bits}"));
        }
        match self.client_max_window_bits {
            Some(Some(bits)) => out.push_str(&format!("; client_max_window_bits={bits}")),
            Some(None) => out.push_str("; client_max_window_bits"),
            None => {}
        }
        out
    }
}

fn no_value(name: &str, value: Option<&str>) -> Result<(), ParamError> {
    match value {
        None => Ok(()),
        Some(v) => Err(ParamError(format!("{name} takes no value (got {v:?})"))),
    }
}

/// A decimal 8..=15 without leading zeros (RFC 7692 §7.1.2.1).
fn window_bits(name: &str, value: &str) -> Result<u8, ParamError> {
    let bad = || ParamError(format!("{name}={value:?} is not an integer from 8 to 15"));
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse::<u8>() {
        Ok(bits) if WINDOW_BITS.contains(&bits) => Ok(bits),
        _ => Err(bad()),
    }
}
