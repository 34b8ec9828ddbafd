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
//!
//! # Panics: none from outside input
//!
//! Nothing from outside can make the module panic: not a Decision API, CDN or collector answer
//! (body or header), a bucketing file, an `initialDecision`, anything read from localStorage or
//! a cookie, a value analytics.js returns, the page's options and arguments, nor the answers of
//! the engines' JS loaders. In the shipped `.wasm` a panic traps (see the panic handler below):
//! the instance is dead, every later call throws, and a page that catches it is left serving
//! defaults without knowing why, so this is the only line of defence, not a second one.
//!
//! What that means in the code:
//! - readers of outside data return an error ([`Error`] with its stable code, or a fixed
//!   reason) or skip what they cannot use; they never `unwrap`, `expect` or index on that data;
//! - indexing and slicing that remain are on bounds established in the same function (a
//!   position just found, a length just checked); lengths and counts from outside are bounded
//!   before anything is allocated for them, and nesting before it is recursed into;
//! - `expect` in code that ships states, in its message, why the value cannot be absent; a
//!   helper that may panic (such as `Context`'s `Index`) is compiled for tests only;
//! - memory lent to a JS loader is initialised first, and only what the loader says it wrote,
//!   within what it was lent, is read back.
//!
//! The fuzz targets in `fuzz/` (`./run fuzz`) hold every reader of outside input to this, with
//! overflow checks on.

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
