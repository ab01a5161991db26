//! The HTTP/1.1 Upgrade handshake (RFC 6455 §4): server request parsing and
//! acceptance, client request and verification, the accept key, and the
//! subprotocol / Origin / extension negotiation hooks. Knows HTTP bytes;
//! knows nothing of the event loop.

mod accept;
mod client;
mod server;
mod tokens;
mod upgrade;

pub use accept::{accept_key, generate_key, is_valid_key, GUID};
pub use client::{ClientHandshakeError, ClientRequest, ClientResponse};
pub use server::{
    accept, find_head_end, parse_request, status_text, Accepted, ExtensionNegotiator, Rejection,
    Request, RequestLimits, ServerPolicy,
};
pub use tokens::{
    has_token, is_token, parse_extensions, token_list, ExtensionOffer, ExtensionSyntaxError,
};
pub use upgrade::accept_connection;
