//! The `Sec-WebSocket-Extensions` / `Sec-WebSocket-Protocol` grammars and
//! permessage-deflate negotiation: never panic, and whatever a server
//! answers to an offer, a client that made that offer accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simdws::deflate::{
    client_agreement, DeflateConfig, DeflateNegotiator, DeflateParams, EXTENSION_NAME,
};
use simdws::handshake::{parse_extensions, token_list, ExtensionNegotiator};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = token_list(text).count();
    let Ok(offers) = parse_extensions(text) else {
        return;
    };
    for offer in &offers {
        if let Ok(params) = DeflateParams::parse(offer) {
            // What we write reads back the same.
            let written = params.to_header();
            let reread = parse_extensions(&written).expect("our own header parses");
            assert_eq!(DeflateParams::parse(&reread[0]), Ok(params));
        }
    }
    for config in [
        DeflateConfig::default(),
        DeflateConfig {
            compress_window_bits: 9,
            decompress_window_bits: 10,
            compress_context_takeover: false,
            decompress_context_takeover: false,
            ..DeflateConfig::default()
        },
    ] {
        let mut negotiator = DeflateNegotiator::new(&config);
        if let Ok(Some(answer)) = negotiator.negotiate(&offers) {
            let agreement = negotiator.agreement().expect("an answer comes with an agreement");
            // The client whose offer was taken accepts the answer.
            let taken = offers
                .iter()
                .filter(|o| o.name.eq_ignore_ascii_case(EXTENSION_NAME))
                .filter_map(|o| DeflateParams::parse(o).ok())
                .find(|p| simdws::deflate::server_answer(p, &config).is_some())
                .expect("the accepted offer is among the offers");
            let client = DeflateConfig {
                compress_window_bits: 15,
                decompress_window_bits: taken.server_max_window_bits.unwrap_or(15).max(9),
                compress_context_takeover: !taken.client_no_context_takeover,
                decompress_context_takeover: !taken.server_no_context_takeover,
                ..DeflateConfig::default()
            };
            if taken.server_max_window_bits != Some(8) {
                let seen = client_agreement(&client, Some(&answer))
                    .unwrap_or_else(|e| panic!("answer {answer:?} to {taken:?} refused: {e}"))
                    .expect("deflate accepted");
                assert_eq!(seen.decompress_window_bits, agreement.compress_window_bits);
            }
        }
    }
});
