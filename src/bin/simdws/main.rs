//! The `simdws` command line: `serve` (echo and chat server with its web
//! page) and `kernel` (which unmask kernel this CPU gets).

mod args;
mod load;
mod serve;
mod socketio;

use std::process::ExitCode;

const USAGE: &str = "usage:
  simdws serve [--addr 127.0.0.1:9001] [--workers N] [--max-message-size BYTES]
               [--max-frame-size BYTES] [--idle-timeout SECS] [--ping-interval SECS]
               [--handshake-timeout SECS] [--max-request-head BYTES] [--max-body BYTES] [--allow-origin ORIGIN,...]
               [--no-deflate] [--deflate-window-bits 9..15] [--deflate-no-context-takeover]
               [--tls-cert FILE --tls-key FILE | --tls-self-signed [--tls-save DIR]]
               [--redis redis://HOST:PORT]
  simdws load --url ws://HOST:PORT/PATH [--conns N] [--size BYTES] [--text|--binary]
              [--pipeline K | --rate MSGS_PER_S] [--duration SECS | --messages N]
              [--warmup SECS] [--threads T] [--json] [--socketio]
  simdws load --url ws://HOST:PORT/PATH --idle N [--duration SECS] [--socketio]
  simdws load --url ws://HOST:PORT/ --fanout SUBSCRIBERS [--size BYTES] [--burst N]
              [--publish-url ws://OTHER:PORT/] [--socketio]
              [--duration SECS] [--warmup SECS] [--threads T] [--json]
      --socketio: Socket.IO at /socket.io/ (emits of `echo` acked, or a room)
  simdws kernel     print the unmask kernel this CPU uses
  simdws kernels    list every kernel this CPU can run";

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A mistyped SIMDWS_KERNEL must not pass silently.
    if let Err(message) = simdws::mask::Kernel::from_env() {
        eprintln!("simdws: {message}");
        return ExitCode::from(2);
    }
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve::run(&args[1..]),
        Some("load") => load::run(&args[1..]),
        Some("kernel") => {
            println!("{}", simdws::mask::Kernel::detected());
            Ok(())
        }
        Some("kernels") => {
            for kernel in simdws::mask::Kernel::available() {
                if kernel != simdws::mask::Kernel::Scalar {
                    println!("{kernel}");
                }
            }
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("expected a command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("simdws: {message}");
            ExitCode::from(2)
        }
    }
}
