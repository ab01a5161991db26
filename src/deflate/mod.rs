//! permessage-deflate (RFC 7692): negotiation of its four parameters and a
//! per-message codec that plugs into the protocol's extension hook.
//!
//! * [`DeflateParams`] reads and writes the parameters, strictly;
//! * negotiation turns an offer (server) or an answer (client) into an
//!   [`Agreement`];
//! * the codec is the [`Deflater`] and the bomb-proof [`Inflater`];
//! * [`DeflateConfig`] is the local policy and the compressor budget.
//!
//! ```
//! use std::time::Instant;
//! use simdws::deflate::{client_agreement, client_offer, DeflateConfig};
//! use simdws::deflate::{server_answer, DeflateParams};
//! use simdws::protocol::{Config, Connection, Event, Role};
//!
//! let config = DeflateConfig::default();
//! let offer = client_offer(&config);
//! let parsed = simdws::handshake::parse_extensions(&offer).unwrap();
//! let (answer, server_side) = server_answer(&DeflateParams::parse(&parsed[0]).unwrap(), &config).unwrap();
//! let client_side = client_agreement(&config, Some(&answer.to_header())).unwrap().unwrap();
//!
//! let now = Instant::now();
//! let (dec, enc) = client_side.codec(&config);
//! let mut client = Connection::new(Role::Client, Config::default(), now).with_extension(dec, enc);
//! let (dec, enc) = server_side.codec(&config);
//! let mut server = Connection::new(Role::Server, Config::default(), now).with_extension(dec, enc);
//!
//! client.send_text(&"squeeze me ".repeat(100)).unwrap();
//! let mut wire = client.poll_transmit().to_vec();
//! assert!(wire.len() < 100);
//! let received = server.receive(&mut wire).unwrap();
//! assert_eq!(received.event, Some(Event::Text(&*"squeeze me ".repeat(100))));
//! ```

// Each item has one path: `simdws::deflate::Item`.
mod codec;
mod config;
mod negotiate;
mod params;
mod pool;

pub use codec::{Deflater, Inflater};
pub use config::{CompressorBudget, DeflateConfig};
pub use negotiate::{client_agreement, client_offer, server_answer, Agreement, DeflateNegotiator};
pub use params::{DeflateParams, ParamError, EXTENSION_NAME};
