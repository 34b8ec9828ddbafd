//! Native numbers: Rust's own formatting and parsing (see `float.rs`).

use alloc::string::String;

/// Appends the shortest decimal that reads back as `n` (finite), without an exponent.
pub(crate) fn write_shortest(out: &mut String, n: f64) {
    use core::fmt::Write;
    let _ = write!(out, "{n}");
}

/// The value of `text`, already checked against the JSON number grammar; ±inf on overflow.
pub(crate) fn parse(text: &str) -> Option<f64> {
    text.parse().ok()
}
