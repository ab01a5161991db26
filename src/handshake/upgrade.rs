//! A checked upgrade request turned into a server connection: the one
//! place where the policy, the extension negotiation and the connection's
//! construction meet, shared by the engine and the tokio adapter.

use std::time::Instant;

use super::server::{accept, Accepted, Rejection, Request, ServerPolicy};
use crate::protocol::{Config, Connection, Role};

/// Checks `request` against `policy` (RFC 6455 §4.2.1) and builds the
/// server's connection, with permessage-deflate when the client offered it
/// and `deflate` allows it. Answer the client with
/// [`Accepted::response`]; a [`Rejection`] carries the status to answer
/// with instead.
pub fn accept_connection(
    request: &Request<'_>,
    policy: &ServerPolicy,
    config: Config,
    #[cfg(feature = "deflate")] deflate: Option<&crate::deflate::DeflateConfig>,
    now: Instant,
) -> Result<(Accepted, Connection), Rejection> {
    let conn = Connection::new(Role::Server, config, now);
    #[cfg(feature = "deflate")]
    if let Some(deflate) = deflate {
        let mut negotiator = crate::deflate::DeflateNegotiator::new(deflate);
        let accepted = accept(request, policy, Some(&mut negotiator))?;
        let conn = match negotiator.agreement() {
            Some(agreement) => {
                let (decoder, encoder) = agreement.codec(deflate);
                conn.with_extension(decoder, encoder)
            }
            None => conn,
        };
        return Ok((accepted, conn));
    }
    Ok((accept(request, policy, None)?, conn))
}
