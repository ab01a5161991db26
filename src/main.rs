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
        Some("kernels") => {
            // Every vector kernel this CPU runs, for the test script.
            for kernel in simdws::mask::Kernel::available() {
                if !matches!(kernel, simdws::mask::Kernel::Scalar) {
                    println!("{}", format!("{kernel:?}").to_lowercase());
                }
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: simdws serve | simdws kernel | simdws kernels");
            ExitCode::from(2)
        }
    }
}
