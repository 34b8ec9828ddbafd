//! Numbers in the C-ABI modules (the bucketing engine, the server module, the first stage; see
//! `c_abi.rs`): JavaScript's `String(n)` and `parseFloat` again (see `float.rs`), reached through
//! two raw wasm imports that each module's loader provides (js/bucketing-engine.js,
//! js/server/core.mjs, js/web/first-stage.js), since those modules carry no wasm-bindgen.

use alloc::string::String;

#[link(wasm_import_module = "env")]
extern "C" {
    /// `parseFloat` of the `len` bytes at `ptr` (ASCII: the text passed the JSON grammar).
    fn parse_f64(ptr: *const u8, len: usize) -> f64;

    /// Writes `String(x)` (ASCII) at `out` if it fits in `cap` bytes, and returns its length
    /// whether or not it fitted.
    fn format_f64(x: f64, out: *mut u8, cap: usize) -> usize;
}

/// `String(n)` of any double is at most 24 characters (`-2.2250738585072014e-308`).
const BUFFER_BYTES: usize = 32;

/// Appends the shortest decimal that reads back as `n` (finite), without an exponent.
///
/// The loader is trusted for nothing: the buffer is initialised before it is lent, and only the
/// part the loader says it wrote, if that fits, is read. An answer longer than any `String(n)`
/// or that is not a number's text is a loader that broke its contract: it is written as `null`,
/// which keeps the JSON well-formed.
pub(crate) fn write_shortest(out: &mut String, n: f64) {
    let mut buffer = [0u8; BUFFER_BYTES];
    // SAFETY: `buffer` is writable for `BUFFER_BYTES` bytes; the loader only writes into it.
    let len = unsafe { format_f64(n, buffer.as_mut_ptr(), BUFFER_BYTES) };
    let text = buffer
        .get(..len)
        .filter(|text| {
            text.iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e'))
        })
        .and_then(|text| core::str::from_utf8(text).ok());
    match text {
        Some(text) => super::push_plain(out, text),
        None => out.push_str("null"),
    }
}

/// The value of `text`, already checked against the JSON number grammar; ±inf on overflow.
pub(crate) fn parse(text: &str) -> Option<f64> {
    // SAFETY: `text` is readable for `text.len()` bytes; the loader only reads them.
    Some(unsafe { parse_f64(text.as_ptr(), text.len()) })
}
