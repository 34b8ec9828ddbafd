//! flagship-segment: AB Tasty Flagship decisions, exposures and hits keyed by the visitor ID that
//! Segment analytics.js already knows.
//!
//! The crate is split like the architecture in the README: a functional core that knows nothing
//! of the browser ([`identity`], [`decision`], [`bucketing`], [`tracking`], [`config`], [`context`],
//! [`error`]) and, on `wasm32` only, a browser shell (`browser`) and the exported JS facade
//! (`facade`). The visitor ID is never an input: the shell reads it from Segment and the core builds
//! every request from that one identity. With the `emulator` feature, on native targets only, the
//! `emulator` module is the local Decision API twin run by the `flagship-emulator` binary.
//!
//! With the `bucketing-engine` feature, the same crate builds the second .wasm, the bucketing
//! engine fetched only in `mode: "bucketing"`: no wasm-bindgen, the core's bucketing behind the
//! C ABI of [`bucketing_engine`]. With the `server` feature, the third: the core of
//! `flagship-segment/server` ([`server`]), Segment's cookies to a Decision API call and back.

#![deny(missing_docs, missing_debug_implementations)]
// The shipped wasm modules (the npm module and the bucketing engine) link no std: their panic
// handler traps, so no formatting machinery is linked for panic messages (see SIZE.md). Unit
// tests and the browser suites (feature `std`) link std.
#![cfg_attr(all(target_arch = "wasm32", not(any(test, feature = "std"))), no_std)]

#[cfg(all(target_arch = "wasm32", feature = "shell", feature = "c-abi"))]
compile_error!(
    "`bucketing-engine` and `server` build their own .wasm: build them with --no-default-features (without `shell`)"
);
#[cfg(all(
    target_arch = "wasm32",
    any(
        all(feature = "bucketing-engine", feature = "server"),
        all(feature = "bucketing-engine", feature = "first-flag"),
        all(feature = "server", feature = "first-flag")
    )
))]
compile_error!(
    "`bucketing-engine`, `server` and `first-flag` are separate .wasm modules: build them one at a time"
);

extern crate alloc;

pub mod bucketing;
pub mod config;
pub mod context;
pub mod decision;
#[cfg(all(feature = "emulator", not(target_arch = "wasm32")))]
pub mod emulator;
pub mod engine;
pub mod error;
pub mod identity;
pub mod json;
pub mod num;
pub mod options;
pub mod status;
pub mod tracking;
pub mod wire;

#[cfg(feature = "bucketing-engine")]
pub mod bucketing_engine;
#[cfg(feature = "c-abi")]
mod c_abi;
#[cfg(feature = "first-flag")]
pub mod first_flag;
#[cfg(feature = "server")]
pub mod server;

#[cfg(all(target_arch = "wasm32", feature = "shell"))]
mod browser;
#[cfg(all(target_arch = "wasm32", feature = "shell"))]
mod facade;

pub use error::Error;

// Talc rather than std's dlmalloc in the wasm: ~7 KB smaller, a real allocator (freed memory is
// reused and merged), and the module is single-threaded (no `atomics`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(all(target_arch = "wasm32", feature = "shell", feature = "std"))]
pub use facade::start;
#[cfg(all(target_arch = "wasm32", feature = "shell"))]
pub use facade::{flagship_segment_plugin, start_for_page, FlagshipSegment};

/// A panic traps: the caller sees a `WebAssembly.RuntimeError`. No message is formatted, so
/// none of core's formatting is linked for it.
#[cfg(all(target_arch = "wasm32", not(any(test, feature = "std"))))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
