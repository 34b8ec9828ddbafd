//! Numbers in the bucketing engine (the second, `no_std` .wasm): JavaScript's `String(n)` and
//! `parseFloat` again (see `float.rs`), reached through two raw wasm imports that the engine's
//! loader (`js/bucketing-engine.js`) provides, since that module carries no wasm-bindgen.

use alloc::{string::String, vec::Vec};

#[link(wasm_import_module = "env")]
extern "C" {
    /// `parseFloat` of the `len` bytes at `ptr` (ASCII: the text passed the JSON grammar).
    fn parse_f64(ptr: *const u8, len: usize) -> f64;

    /// Writes `String(x)` (ASCII) at `out` if it fits in `cap` bytes, and returns its length
    /// whether or not it fitted.
    fn format_f64(x: f64, out: *mut u8, cap: usize) -> usize;
}

/// `String(n)` of any double is at most 24 characters (`-2.2250738585072014e-308`).
const STACK_BYTES: usize = 32;

/// Appends the shortest decimal that reads back as `n` (finite), without an exponent.
pub(crate) fn write_shortest(out: &mut String, n: f64) {
    let mut stack = [0u8; STACK_BYTES];
    // SAFETY: `stack` is writable for `STACK_BYTES` bytes.
    let len = unsafe { format_f64(n, stack.as_mut_ptr(), STACK_BYTES) };
    let mut heap = Vec::new();
    let written: &[u8] = match stack.get(..len) {
        Some(written) => written,
        None => {
            // Not reached with a conforming loader; kept so that a longer text is not cut.
            heap.reserve_exact(len);
            // SAFETY: `heap` is writable for its capacity, and the loader writes at most `len`
            // bytes, all initialised, when `len` fits.
            unsafe {
                let again = format_f64(n, heap.as_mut_ptr(), heap.capacity());
                heap.set_len(again.min(len).min(heap.capacity()));
            }
            &heap
        }
    };
    match core::str::from_utf8(written) {
        Ok(text) => super::push_plain(out, text),
        // A loader that broke its contract: `null` keeps the JSON well-formed.
        Err(_) => out.push_str("null"),
    }
}

/// The value of `text`, already checked against the JSON number grammar; ±inf on overflow.
pub(crate) fn parse(text: &str) -> Option<f64> {
    // SAFETY: `text` is readable for `text.len()` bytes; the loader only reads them.
    Some(unsafe { parse_f64(text.as_ptr(), text.len()) })
}
