//! A small JSON value, parser and writer for everything that crosses the network.
//!
//! Why not serde_json: in the wasm bundle, serde's derive machinery and serde_json's generic
//! (de)serialisers cost more than the rest of the module together (measured: 195 KB raw / 86 KB
//! gzip for the first build). This module is a few hundred lines, is fuzzed natively, and gives the
//! core one value type for Decision API answers, bucketing files, flag values and request bodies.
//! Objects keep their key order; a duplicate key resolves to its last value, as `JSON.parse` does.
//! A number out of range (`1e400`, which `JSON.parse` reads as ±Infinity) reads as `null`, what
//! `JSON.stringify` writes for it: every [`Value::Number`] the parser gives is finite.

mod float;
mod parse;
mod value;
mod write;

pub use parse::{parse, ParseError, MAX_DEPTH};
pub use value::{Object, Value};
pub use write::{write_number, write_object, write_string, write_uint, write_value, ObjectWriter};

/// `json!` for tests: serde_json's macro, converted to a core [`Value`].
#[cfg(test)]
macro_rules! json {
    ($($tokens:tt)+) => {
        $crate::json::Value::from(serde_json::json!($($tokens)+))
    };
}
#[cfg(test)]
pub(crate) use json;
