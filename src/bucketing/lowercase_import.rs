//! Lower-casing in the C-ABI modules that bucket (the bucketing engine and the server module):
//! ASCII in Rust, anything else through JavaScript's `String.prototype.toLowerCase` as in
//! `lowercase_js.rs`, reached through a raw wasm import that their loaders
//! (`js/bucketing-engine.js`, `js/server/core.mjs`) provide, since those modules carry no
//! wasm-bindgen.

use alloc::{borrow::ToOwned, string::String, vec};

#[link(wasm_import_module = "env")]
extern "C" {
    /// Writes the UTF-8 of `text.toLowerCase()`, `text` being the `len` bytes at `ptr`, at `out`
    /// if it fits in `cap` bytes, and returns its length whether or not it fitted.
    fn to_lower_case(ptr: *const u8, len: usize, out: *mut u8, cap: usize) -> usize;
}

/// `text` lower-cased by Unicode's default case conversion (final sigma included).
///
/// The loader is trusted for nothing: buffers are initialised before they are lent, it is asked
/// at most twice, and an answer that still does not fit, or is not UTF-8, leaves the text as
/// written (compared as written rather than with invalid text).
pub(crate) fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    // Lower-casing rarely changes the UTF-8 length; when it grows (`İ` → `i̇`, 2 bytes to 3)
    // the loader reports the length it needs and the second call has that room. No conversion
    // grows a text more than threefold: a longer need is a broken loader, not a bigger buffer.
    let mut out = vec![0u8; text.len()];
    for _ in 0..2 {
        // SAFETY: `text` is readable for its length and `out` writable (and initialised) for
        // its length; the loader only reads the one and writes into the other.
        let len = unsafe { to_lower_case(text.as_ptr(), text.len(), out.as_mut_ptr(), out.len()) };
        if len <= out.len() {
            out.truncate(len);
            return String::from_utf8(out).unwrap_or_else(|_| text.to_owned());
        }
        if len > text.len().saturating_mul(3) {
            break;
        }
        out.resize(len, 0);
    }
    text.to_owned()
}
