//! What the checks compare with: JavaScript's `JSON.parse`, as far as native code can tell.
//!
//! serde_json's syntax check (deserialising into `IgnoredAny`) walks nesting with a heap stack
//! rather than recursion, accepts numbers of any size and `\u` escapes of lone surrogates, and
//! refuses control characters in strings: it accepts exactly the texts `JSON.parse` accepts.
//! serde_json's *values* differ from `JSON.parse`'s in three places, so [`Normal`] is compared
//! only where serde_json reads a value at all:
//! - a number out of range (`1e400`): `JSON.parse` gives ±Infinity, serde_json refuses the text,
//!   our parser reads `null` (what `JSON.stringify` writes back for it);
//! - a lone surrogate (`"\ud800"`): `JSON.parse` keeps it, serde_json refuses the text, our
//!   parser writes U+FFFD (a Rust string cannot hold it);
//! - nesting deeper than 128: serde_json's value reader refuses it; ours refuses past 64.

use std::collections::BTreeMap;

use flagship_segment::json::Value;

/// True when `JSON.parse(text)` does not throw.
pub fn json_parse_accepts(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// The deepest nesting of arrays and objects in `text`, a JSON text (strings are skipped).
pub fn depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A JSON value as `JSON.parse` builds it, for comparisons: numbers by value (`-0` is `0`),
/// objects as maps in which a repeated key keeps its last value.
#[derive(Debug, PartialEq)]
pub enum Normal {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number's bits, `-0` written as `0`.
    Number(u64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Normal>),
    /// An object, last value per key.
    Object(BTreeMap<String, Normal>),
}

fn number(n: f64) -> Normal {
    Normal::Number(if n == 0.0 { 0 } else { n.to_bits() })
}

impl From<&Value> for Normal {
    fn from(value: &Value) -> Normal {
        match value {
            Value::Null => Normal::Null,
            Value::Bool(b) => Normal::Bool(*b),
            Value::Number(n) => number(*n),
            Value::String(s) => Normal::String(s.clone()),
            Value::Array(items) => Normal::Array(items.iter().map(Normal::from).collect()),
            Value::Object(object) => Normal::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.to_owned(), Normal::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&serde_json::Value> for Normal {
    fn from(value: &serde_json::Value) -> Normal {
        match value {
            serde_json::Value::Null => Normal::Null,
            serde_json::Value::Bool(b) => Normal::Bool(*b),
            serde_json::Value::Number(n) => number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Normal::String(s.clone()),
            serde_json::Value::Array(items) => {
                Normal::Array(items.iter().map(Normal::from).collect())
            }
            serde_json::Value::Object(map) => Normal::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Normal::from(v)))
                    .collect(),
            ),
        }
    }
}

/// `JSON.stringify` of a string.
pub fn json_stringify(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// `encodeURIComponent`: every byte but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` as `%XX`.
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_accepts_what_json_parse_accepts() {
        for text in ["1e400", "-1e400", r#""\ud800""#, r#"{"a":1,"a":2}"#, " [] "] {
            assert!(json_parse_accepts(text), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(json_parse_accepts(&deep));
        for text in [
            "",
            "01",
            "[1,]",
            "\"a\u{1}b\"",
            "\u{feff}1",
            "NaN",
            "'a'",
            "1 2",
        ] {
            assert!(!json_parse_accepts(text), "{text:?}");
        }
    }

    #[test]
    fn depth_skips_strings() {
        assert_eq!(depth(r#"[{"a":"[[[\"]"}]"#), 2);
        assert_eq!(depth("1"), 0);
    }

    #[test]
    fn uri_component_encoding() {
        assert_eq!(encode_uri_component("\"a b@é\""), "%22a%20b%40%C3%A9%22");
    }
}
