//! Writing JSON request bodies by hand: no intermediate value, no serialiser machinery.

use super::value::{Object, Value};
use alloc::string::String;

/// Appends `s` as a JSON string literal.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        // Escaped characters are ASCII, so both ends are boundaries: `get` never fails, and keeps
        // the slicing panic (and its formatting) out of the wasm.
        out.push_str(s.get(plain_from..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let code = c as usize;
            out.push_str("\\u00");
            out.push(HEX[code >> 4] as char);
            out.push(HEX[code & 15] as char);
        } else {
            out.push_str(escape);
        }
        plain_from = i + c.len_utf8();
    }
    out.push_str(s.get(plain_from..).unwrap_or_default());
    out.push('"');
}

/// Appends a finite number as JavaScript's `JSON.stringify` would for the integers and short
/// decimals that requests carry; a non-finite number becomes `null`, as in JavaScript.
pub fn write_number(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
    } else if crate::num::fract(n) == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        if n < 0.0 {
            out.push('-');
        }
        write_uint(out, n.abs() as u64);
    } else {
        super::float::write_shortest(out, n);
    }
}

/// Appends the decimal digits of `n`.
pub fn write_uint(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev().map(|&d| d as char));
}

/// Appends any value.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, *n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(object) => write_object(out, object),
    }
}

/// Appends an object's members in order.
pub fn write_object(out: &mut String, object: &Object) {
    let mut writer = ObjectWriter::new(out);
    for (key, item) in object.iter() {
        writer = writer.value(key, item);
    }
    writer.finish();
}

/// Writes one object member by member, in the order called.
#[derive(Debug)]
#[must_use = "call finish() to close the object"]
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        write_string(self.out, key);
        self.out.push(':');
    }

    /// A string member.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        write_string(self.out, value);
        self
    }

    /// A string member, or `null`.
    pub fn opt_string(mut self, key: &str, value: Option<&str>) -> Self {
        self.key(key);
        match value {
            Some(s) => write_string(self.out, s),
            None => self.out.push_str("null"),
        }
        self
    }

    /// A number member.
    pub fn number(mut self, key: &str, value: f64) -> Self {
        self.key(key);
        write_number(self.out, value);
        self
    }

    /// A boolean member.
    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A member holding any value.
    pub fn value(mut self, key: &str, value: &Value) -> Self {
        self.key(key);
        write_value(self.out, value);
        self
    }

    /// A member whose value `write` appends itself (a nested object or array).
    pub fn with(mut self, key: &str, write: impl FnOnce(&mut String)) -> Self {
        self.key(key);
        write(self.out);
        self
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use proptest::prelude::*;

    fn written(value: &Value) -> String {
        let mut out = String::new();
        write_value(&mut out, value);
        out
    }

    #[test]
    fn escapes_like_json_stringify() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd\u{1}é😀");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é😀""#);
    }

    #[test]
    fn numbers() {
        for (n, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (42.0, "42"),
            (-7.0, "-7"),
            (3.5, "3.5"),
            (0.1, "0.1"),
            (9007199254740991.0, "9007199254740991"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ] {
            let mut out = String::new();
            write_number(&mut out, n);
            assert_eq!(out, text, "{n}");
        }
    }

    #[test]
    fn object_writer_builds_members_in_order() {
        let mut out = String::new();
        ObjectWriter::new(&mut out)
            .string("vid", "A")
            .opt_string("aid", None)
            .number("qt", 12.0)
            .bool("ok", true)
            .with("list", |o| o.push_str("[]"))
            .finish();
        assert_eq!(out, r#"{"vid":"A","aid":null,"qt":12,"ok":true,"list":[]}"#);
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| Value::Number(f64::from(n))),
            (-1e12f64..1e12).prop_map(Value::Number),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((".{0,6}", inner), 0..5)
                    .prop_map(|members| Value::Object(super::super::Object(members))),
            ]
        })
    }

    proptest! {
        #[test]
        fn write_then_parse_round_trips(v in arb_value()) {
            prop_assert_eq!(parse(&written(&v)).unwrap(), v);
        }

        #[test]
        fn output_is_valid_for_serde_json(v in arb_value()) {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&written(&v)).is_ok());
        }
    }
}
