//! The `simdws` command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            eprintln!(
                "simdws serve: the echo/chat server arrives with the event-loop engine (issue 3); \
                 this build contains the sans-IO core only."
            );
            ExitCode::from(2)
        }
        Some("kernel") => {
            println!("{:?}", simdws::mask::Kernel::detected());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: simdws serve | simdws kernel");
            ExitCode::from(2)
        }
    }
}
