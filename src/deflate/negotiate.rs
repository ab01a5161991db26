//! Negotiation (RFC 7692 §7.1): the server picks the first acceptable offer
//! and answers it; the client offers and checks the answer. Both end in an
//! [`Agreement`], which builds the codec for one connection.

use super::codec::{Deflater, Inflater};
use super::config::DeflateConfig;
use super::params::{DeflateParams, ParamError, EXTENSION_NAME};
use crate::handshake::{parse_extensions, ExtensionNegotiator, ExtensionOffer, Rejection};
use crate::protocol::{MessageDecoder, MessageEncoder};

/// What both sides agreed, seen from our side of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// The window we compress with; 8 means we send uncompressed, because
    /// zlib cannot produce a 2^8-byte window.
    pub compress_window_bits: u8,
    /// Our compressor keeps its context between messages.
    pub compress_context_takeover: bool,
    /// The largest window the peer compresses with.
    pub decompress_window_bits: u8,
    /// The peer's compressor keeps its context, so our decompressor must too.
    pub decompress_context_takeover: bool,
}

impl Agreement {
    /// The decoder and encoder to install with
    /// [`crate::protocol::Connection::with_extension`].
    pub fn codec(
        &self,
        config: &DeflateConfig,
    ) -> (Box<dyn MessageDecoder>, Box<dyn MessageEncoder>) {
        (
            Box::new(Inflater::new(
                self.decompress_window_bits,
                self.decompress_context_takeover,
            )),
            Box::new(Deflater::new(
                self.compress_window_bits,
                self.compress_context_takeover,
                config,
            )),
        )
    }
}

/// Answers one offer on a server, or `None` when the offer asks for
/// something the policy does not allow (the offer is then declined).
pub fn server_answer(
    offer: &DeflateParams,
    config: &DeflateConfig,
) -> Option<(DeflateParams, Agreement)> {
    let mut answer = DeflateParams::default();
    // Our direction (server to client).
    let compress_window_bits = match offer.server_max_window_bits {
        Some(asked) => asked.min(config.compress_window_bits),
        None => config.compress_window_bits,
    };
    if compress_window_bits < 15 {
        answer.server_max_window_bits = Some(compress_window_bits);
    }
    let compress_context_takeover =
        !offer.server_no_context_takeover && config.compress_context_takeover;
    answer.server_no_context_takeover = !compress_context_takeover;

    // The peer's direction (client to server).
    let decompress_window_bits = match offer.client_max_window_bits {
        Some(hint) => {
            let bits = hint.unwrap_or(15).min(config.decompress_window_bits);
            if bits < 15 {
                answer.client_max_window_bits = Some(Some(bits));
            }
            bits
        }
        // The client cannot be limited: decline if the policy needs a limit.
        None if config.decompress_window_bits < 15 => return None,
        None => 15,
    };
    let decompress_context_takeover =
        !offer.client_no_context_takeover && config.decompress_context_takeover;
    answer.client_no_context_takeover = !decompress_context_takeover;
    Some((
        answer,
        Agreement {
            compress_window_bits,
            compress_context_takeover,
            decompress_window_bits,
            decompress_context_takeover,
        },
    ))
}

/// The server side of the handshake: plug into
/// [`crate::handshake::accept`], then read [`DeflateNegotiator::agreement`].
#[derive(Debug)]
pub struct DeflateNegotiator<'a> {
    config: &'a DeflateConfig,
    agreement: Option<Agreement>,
}

impl<'a> DeflateNegotiator<'a> {
    /// A negotiator answering offers with the policy `config`.
    pub fn new(config: &'a DeflateConfig) -> Self {
        DeflateNegotiator {
            config,
            agreement: None,
        }
    }

    /// What was agreed, if an offer was accepted.
    pub fn agreement(&self) -> Option<Agreement> {
        self.agreement
    }
}

impl ExtensionNegotiator for DeflateNegotiator<'_> {
    /// Takes the first acceptable `permessage-deflate` offer. Offers the
    /// policy cannot meet are declined (the connection goes uncompressed);
    /// when every offer is malformed the handshake is refused with 400, so
    /// a broken client learns why instead of silently losing compression.
    fn negotiate(&mut self, offers: &[ExtensionOffer]) -> Result<Option<String>, Rejection> {
        let mut malformed: Option<ParamError> = None;
        let mut well_formed = false;
        for offer in offers
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(EXTENSION_NAME))
        {
            match DeflateParams::parse(offer) {
                Ok(params) => {
                    well_formed = true;
                    if let Some((answer, agreement)) = server_answer(&params, self.config) {
                        self.agreement = Some(agreement);
                        return Ok(Some(answer.to_header()));
                    }
                }
                Err(e) => {
                    malformed.get_or_insert(e);
                }
            }
        }
        match malformed {
            Some(e) if !well_formed => Err(Rejection::BadRequest(e.to_string().into())),
            _ => Ok(None),
        }
    }
}

/// The `Sec-WebSocket-Extensions` offer a client sends for `config`.
pub fn client_offer(config: &DeflateConfig) -> String {
    DeflateParams {
        server_no_context_takeover: !config.decompress_context_takeover,
        client_no_context_takeover: !config.compress_context_takeover,
        server_max_window_bits: (config.decompress_window_bits < 15)
            .then_some(config.decompress_window_bits),
        // Always offered (as browsers do) so the server may limit us.
        client_max_window_bits: Some(
            (config.compress_window_bits < 15).then_some(config.compress_window_bits),
        ),
    }
    .to_header()
}

/// Checks the server's `Sec-WebSocket-Extensions` answer to
/// [`client_offer`]: `Ok(None)` when it declined deflate, an error when it
/// answered with something the offer did not allow.
pub fn client_agreement(
    config: &DeflateConfig,
    response: Option<&str>,
) -> Result<Option<Agreement>, ParamError> {
    let Some(response) = response else {
        return Ok(None);
    };
    let elements = parse_extensions(response).map_err(|e| ParamError(e.to_string()))?;
    let mut ours = elements
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME));
    let Some(element) = ours.next() else {
        return Ok(None);
    };
    if ours.next().is_some() {
        return Err(ParamError("accepted more than once".into()));
    }
    let answer = DeflateParams::parse(element)?;
    let decompress_window_bits = match answer.server_max_window_bits {
        Some(bits) if bits > config.decompress_window_bits => {
            return Err(ParamError(format!(
                "server_max_window_bits={bits} is above the {} offered",
                config.decompress_window_bits
            )))
        }
        Some(bits) => bits,
        None if config.decompress_window_bits < 15 => {
            return Err(ParamError(
                "server_max_window_bits missing from the answer".into(),
            ))
        }
        None => 15,
    };
    if !config.decompress_context_takeover && !answer.server_no_context_takeover {
        return Err(ParamError(
            "server_no_context_takeover missing from the answer".into(),
        ));
    }
    let compress_window_bits = match answer.client_max_window_bits {
        Some(Some(bits)) => bits.min(config.compress_window_bits),
        Some(None) => return Err(ParamError("client_max_window_bits needs a value".into())),
        None => config.compress_window_bits,
    };
    Ok(Some(Agreement {
        compress_window_bits,
        compress_context_takeover: config.compress_context_takeover
            && !answer.client_no_context_takeover,
        decompress_window_bits,
        decompress_context_takeover: !answer.server_no_context_takeover,
    }))
}
