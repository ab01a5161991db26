//! The server request parser and acceptance, the client response verifier,
//! and the extension / subprotocol header grammars: never panic; every
//! rejection renders a response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simdws::handshake::*;

fuzz_target!(|data: &[u8]| {
    let limits = RequestLimits::default();
    match parse_request(data, &limits) {
        Ok(Some((request, len))) => {
            assert!(len <= data.len());
            let policy = ServerPolicy {
                subprotocols: vec!["chat".into()],
                allowed_origins: Some(vec!["http://a".into()]),
            };
            match accept(&request, &policy, None) {
                Ok(accepted) => assert!(accepted.response().starts_with(b"HTTP/1.1 101")),
                Err(rejection) => assert!(!rejection.response().is_empty()),
            }
        }
        Ok(None) => {}
        Err(rejection) => assert!(matches!(rejection.status(), 400..=599)),
    }
    let request = ClientRequest::new("h:1", "/", &["chat"], Some("permessage-deflate"), &[]);
    let _ = request.verify(data, 8192);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_extensions(text);
        let _ = token_list(text).count();
    }
});
