//! What the two Autobahn client examples share: the connection options the
//! cases need and the command line.

use simdws::deflate::DeflateConfig;
use simdws::net::ClientOptions;
use simdws::protocol::Config;

/// The options every case connects with.
pub fn options() -> ClientOptions {
    ClientOptions {
        // Case 9.* sends messages up to 16 MiB.
        config: Config {
            max_frame_size: 64 << 20,
            max_message_size: 64 << 20,
            ..Config::default()
        },
        // Cases 12.* and 13.* negotiate permessage-deflate. The 13.2, 13.5,
        // 13.6 and 13.7 servers accept only offers carrying the
        // client_no_context_takeover hint, which we then honour.
        deflate: Some(DeflateConfig {
            compress_context_takeover: false,
            ..DeflateConfig::default()
        }),
        ..ClientOptions::default()
    }
}

/// `[URL] [--parallel N]`: the fuzzing server's address (default
/// `ws://127.0.0.1:9001`, without a trailing slash) and how many cases run
/// at once (default 1). Exits with a message on a bad count.
pub fn command_line() -> (String, u32) {
    let mut args = std::env::args().skip(1);
    let mut base = "ws://127.0.0.1:9001".to_string();
    let mut parallel = 1;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--parallel" => {
                parallel = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| {
                        eprintln!("--parallel takes a count of 1 or more");
                        std::process::exit(2);
                    })
            }
            url => base = url.trim_end_matches('/').to_string(),
        }
    }
    (base, parallel)
}
