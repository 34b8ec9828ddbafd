//! wasm numbers: JavaScript's `String(n)` and `parseFloat` (see `float.rs`), so that core's
//! float formatting and parsing machinery stays out of the module.

use alloc::string::String;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    /// The global `String` function: `Number.prototype.toString` for a number.
    #[wasm_bindgen(js_name = String)]
    fn js_string(n: f64) -> String;

    /// The global `parseFloat`.
    #[wasm_bindgen(js_name = parseFloat)]
    fn parse_float(text: &str) -> f64;
}

/// Appends the shortest decimal that reads back as `n` (finite), without an exponent.
pub(crate) fn write_shortest(out: &mut String, n: f64) {
    super::push_plain(out, &js_string(n));
}

/// The value of `text`, already checked against the JSON number grammar; ±inf on overflow.
pub(crate) fn parse(text: &str) -> Option<f64> {
    Some(parse_float(text))
}
