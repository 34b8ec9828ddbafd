//! `flagship-emulator`: a local stand-in for AB Tasty Flagship's Decision API, hit collector and
//! CDN, a Segment-shaped endpoint, and AB Tasty's SegmentIO connector between them — the fourth
//! layer of the architecture. It decides with the crate's bucketing engine and validates hits
//! with the crate's hit model, so the demo and the end-to-end tests exercise the module's own
//! rules from both sides. Native only: built with `--features emulator`.
//!
//! Endpoints (one port, 127.0.0.1 by default, CORS open to any origin):
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v2/{envId}/campaigns`, `/v2/{envId}/flags` | decisions (`?exposeAllKeys=true`) |
//! | POST | `/v2/activate` | exposures → 204 |
//! | POST | `/`, `/events` | collector hits → 200 |
//! | GET | `/{envId}/bucketing.json` | the bucketing file, `Last-Modified` / 304 |
//! | POST | `/v1/{i,t,p,s,g,a,b}` | Segment calls; their IDs become "seen" |
//! | GET | `/v1/projects/{writeKey}/settings` | CDN settings pointing analytics-next here |
//! | GET | `/_emulator/log`, POST `/_emulator/reset` | the journal, and clearing it |
//! | GET | `/`, `/pkg/…`, `/vendor/analytics-next/…` | `www/`, `pkg/`, analytics-next's UMD build |
//!
//! One file per concern; the modules are `pub` so the integration test (`tests/emulator.rs`) can
//! include this tree and run the server in-process.

pub mod activate;
pub mod admin;
pub mod args;
pub mod catalog;
pub mod cdn;
pub mod collector;
pub mod connector;
pub mod decision;
pub mod http;
pub mod journal;
pub mod segment;
pub mod server;
pub mod state;
pub mod static_files;

use std::net::SocketAddr;
use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    let options = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Serve(options)) => options,
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("flagship-emulator: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let emulator = match state::Emulator::new(options) {
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
        let listener = match server::bind(addr).await {
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
        match server::serve(listener, emulator, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("flagship-emulator: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
