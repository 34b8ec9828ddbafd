//! The local Decision API emulator: a stand-in for AB Tasty Flagship's Decision API, hit
//! collector and CDN, a Segment-shaped endpoint, and AB Tasty's SegmentIO connector between them
//! — the fourth layer of the architecture. It decides with the crate's bucketing engine and
//! validates hits with the crate's hit model, so the demo and the end-to-end tests exercise the
//! module's own rules from both sides. Native only: built with `--features emulator`, and run by
//! the `flagship-emulator` binary.
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
//! One file per concern. The binary (`src/bin/flagship-emulator.rs`) parses the command line with
//! [`parse`] and runs [`serve`]; the integration test (`tests/emulator.rs`) builds [`Options`]
//! itself and runs the same server in-process on an ephemeral port.

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

pub use args::{parse, Command, Options, USAGE};
pub use server::{bind, serve};
pub use state::Emulator;
