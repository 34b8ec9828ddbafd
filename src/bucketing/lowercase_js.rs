//! wasm lower-casing for case-insensitive targeting: ASCII in Rust, anything else through
//! JavaScript's `String.prototype.toLowerCase`, so that core's Unicode case tables (~7 KB) stay
//! out of the module. Both sides apply Unicode's default case conversion, final sigma included;
//! they can differ only where the browser's Unicode version differs from Rust's.

use alloc::string::String;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    /// `String.prototype.toLowerCase.call(text)`.
    #[wasm_bindgen(js_namespace = ["String", "prototype", "toLowerCase"], js_name = call)]
    fn js_to_lower_case(text: &str) -> String;
}

/// `text` lower-cased by Unicode's default case conversion (final sigma included).
pub(crate) fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        js_to_lower_case(text)
    }
}
