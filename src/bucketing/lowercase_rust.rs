//! Native lower-casing for case-insensitive targeting: Rust's Unicode `to_lowercase`.

use alloc::string::String;

/// `text` lower-cased by Unicode's default case conversion (final sigma included).
pub(crate) fn lowercase(text: &str) -> String {
    text.to_lowercase()
}
