//! `flagship-emulator`: the command line of [`flagship_segment::emulator`], the local stand-in for
//! AB Tasty Flagship's Decision API, collector and CDN, a Segment-shaped endpoint and the SegmentIO
//! connector between them (see that module for the endpoints). Parses the arguments, starts a
//! runtime and serves until Ctrl-C. Native only: built with `--features emulator`.

use std::net::SocketAddr;
use std::process::ExitCode;

use flagship_segment::emulator::{bind, parse, serve, Command, Emulator, USAGE};

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Command::Serve(options)) => options,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("flagship-emulator: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::new(options) {
        Ok(emulator) => emulator,
        Err(message) => {
            eprintln!("flagship-emulator: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("flagship-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(emulator.options.host, emulator.options.port);
        let listener = match bind(addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("flagship-emulator: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let local = listener.local_addr().unwrap_or(addr);
        eprintln!("flagship-emulator listening on http://{local}/");
        let shutdown = async {
            // Without a signal handler the server still stops with the process.
            let _ = tokio::signal::ctrl_c().await;
        };
        match serve(listener, emulator, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("flagship-emulator: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
