//! Lower-casing in the bucketing engine (the second, `no_std` .wasm): ASCII in Rust, anything
//! else through JavaScript's `String.prototype.toLowerCase` as in `lowercase_js.rs`, reached
//! through a raw wasm import that the engine's loader (`js/bucketing-engine.js`) provides, since
//! that module carries no wasm-bindgen.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

#[link(wasm_import_module = "env")]
extern "C" {
    /// Writes the UTF-8 of `text.toLowerCase()`, `text` being the `len` bytes at `ptr`, at `out`
    /// if it fits in `cap` bytes, and returns its length whether or not it fitted.
    fn to_lower_case(ptr: *const u8, len: usize, out: *mut u8, cap: usize) -> usize;
}

/// `text` lower-cased by Unicode's default case conversion (final sigma included).
pub(crate) fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    // Lower-casing rarely changes the UTF-8 length; when it grows (`İ` → `i̇`) the loader
    // reports the length it needs and the second call has that room.
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    loop {
        // SAFETY: `text` is readable for its length and `out` writable for its capacity; the
        // loader writes only when the whole text fits, so `len` bytes are then initialised.
        let len =
            unsafe { to_lower_case(text.as_ptr(), text.len(), out.as_mut_ptr(), out.capacity()) };
        if len <= out.capacity() {
            unsafe { out.set_len(len) };
            break;
        }
        out.reserve_exact(len);
    }
    // A loader that broke its contract: compare as written rather than with invalid text.
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}
