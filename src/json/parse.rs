//! A strict RFC 8259 parser for untrusted input: bounded depth, no recursion past it, never panics.

use super::value::{Object, Value};
use alloc::{string::String, vec::Vec};

/// Deepest nesting accepted: at most this many arrays and objects inside one another (`[[1]]`
/// nests 2 levels). Real payloads nest fewer than 10 levels; the bound keeps a hostile body from
/// exhausting the stack, since each level is one recursive call.
pub const MAX_DEPTH: usize = 64;

/// Why a text is not JSON. Each reason is a fixed string so error paths stay free of formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

/// Parses one JSON document, surrounded by optional whitespace.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(ParseError("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8], value: Value) -> Result<Value, ParseError> {
        if self.bytes[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(ParseError("invalid literal"))
        }
    }

    /// A value inside `depth` arrays and objects.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'[' | b'{') if depth >= MAX_DEPTH => {
                Err(ParseError("nested deeper than 64 levels"))
            }
            None => Err(ParseError("unexpected end of input")),
            Some(b'n') => self.expect_literal(b"null", Value::Null),
            Some(b't') => self.expect_literal(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_literal(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(ParseError("unexpected character")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(ParseError("expected ',' or ']' in array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Object(members)));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(ParseError("expected a string key in object"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(ParseError("expected ':' after object key"));
            }
            self.pos += 1;
            members.push((key, self.value(depth + 1)?));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(Object(members)));
                }
                _ => return Err(ParseError("expected ',' or '}' in object")),
            }
        }
    }

    /// A number. One out of range (`1e400`) is JSON all the same: `JSON.parse` reads it as
    /// ±Infinity, which no JSON text can carry back out (`JSON.stringify` writes `null`). It
    /// reads as `null` here, so one odd number costs its own value rather than the document
    /// around it (every other flag of an answer stays usable), and every number read is finite.
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(ParseError("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(ParseError("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(ParseError("invalid number"));
            }
        }
        // The grammar above admits only ASCII digits, signs, '.', 'e': always valid UTF-8 and a
        // valid float literal for Rust and for JavaScript's `parseFloat`. Overflow parses to
        // ±inf.
        let text = core::str::from_utf8(&self.bytes[start..self.pos])
            .map_err(|_| ParseError("invalid number"))?;
        match super::float::parse(text) {
            Some(n) if n.is_finite() => Ok(Value::Number(n)),
            Some(_) => Ok(Value::Null),
            None => Err(ParseError("invalid number")),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(ParseError("invalid \\u escape")),
            };
            code = code * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(code)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go; the input is valid UTF-8 already.
            let run_start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends on an ASCII byte or at the end, so both ends are char boundaries.
            out.push_str(
                core::str::from_utf8(&self.bytes[run_start..self.pos])
                    .map_err(|_| ParseError("invalid UTF-8"))?,
            );
            match self.peek() {
                None => return Err(ParseError("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = self.peek().ok_or(ParseError("unterminated string"))?;
                    self.pos += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(ParseError("invalid escape in string")),
                    }
                }
                Some(_) => return Err(ParseError("control character in string")),
            }
        }
    }

    /// A `\uXXXX` escape, joining a surrogate pair; a lone surrogate becomes U+FFFD as in
    /// browsers' `TextDecoder`, rather than failing a whole decision over one character.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return Ok(char::from_u32(first).unwrap_or('\u{FFFD}'));
        }
        if self.bytes[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok('\u{FFFD}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(members: &[(&str, Value)]) -> Value {
        Value::Object(Object(
            members
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ))
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(r#" {"a": [1, -2.5e3, 0.25], "b": {"c": null}, "d": true, "e": false, "f": "x\"y\u00e9\ud83d\ude00"} "#).unwrap();
        assert_eq!(
            v,
            obj(&[
                (
                    "a",
                    Value::Array(vec![1.0.into(), (-2500.0).into(), 0.25.into()])
                ),
                ("b", obj(&[("c", Value::Null)])),
                ("d", true.into()),
                ("e", false.into()),
                ("f", "x\"yé😀".into()),
            ])
        );
    }

    #[test]
    fn duplicate_keys_resolve_to_the_last() {
        let v = parse(r#"{"k": 1, "k": 2}"#).unwrap();
        assert_eq!(v.get("k"), Some(&Value::Number(2.0)));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(parse(r#""\ud800x""#).unwrap(), Value::from("\u{FFFD}x"));
        assert_eq!(parse(r#""\udc00""#).unwrap(), Value::from("\u{FFFD}"));
    }

    #[test]
    fn rejects_what_json_parse_rejects() {
        for bad in [
            "",
            " ",
            "nul",
            "tru",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "\"\\x\"",
            "\"a\nb\"",
            "\"unterminated",
            "[",
            "{\"a\"}",
            "1 2",
            "NaN",
            "Infinity",
            "'a'",
            "\"\\u12\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn issue_22_a_number_out_of_range_reads_as_null_not_as_a_refusal() {
        // JSON.parse accepts these (as ±Infinity); JSON.stringify writes them back as null.
        for text in ["1e400", "-1e400", "1e999999999999", "-0.5e309"] {
            assert_eq!(parse(text), Ok(Value::Null), "{text}");
        }
        let v = parse(r#"{"big": 1e400, "list": [1, -1e400, 2], "ok": "yes"}"#).unwrap();
        assert_eq!(
            v,
            obj(&[
                ("big", Value::Null),
                (
                    "list",
                    Value::Array(vec![1.0.into(), Value::Null, 2.0.into()])
                ),
                ("ok", "yes".into()),
            ])
        );
        // Underflow is an ordinary (zero) number, as in JavaScript.
        assert_eq!(parse("1e-400"), Ok(Value::Number(0.0)));
        assert_eq!(parse("1.7976931348623157e308"), Ok(Value::Number(f64::MAX)));
    }

    #[test]
    fn issue_22_the_nesting_limit_is_max_depth_levels_exactly() {
        let arrays = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        let objects =
            |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
        for nested in [arrays, objects] {
            assert!(parse(&nested(MAX_DEPTH)).is_ok());
            assert_eq!(
                parse(&nested(MAX_DEPTH + 1)),
                Err(ParseError("nested deeper than 64 levels"))
            );
        }
        let empty = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(parse(&empty(MAX_DEPTH)).is_ok());
        assert!(parse(&empty(MAX_DEPTH + 1)).is_err());
    }

    #[test]
    fn depth_is_bounded_without_overflowing_the_stack() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(&deep),
            Err(ParseError("nested deeper than 64 levels"))
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_text(s in ".{0,64}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_json_like_bytes(s in r#"[\[\]{}",:0-9eE.+\-a-z\\ ]{0,48}"#) {
            let _ = parse(&s);
        }

        /// serde_json's syntax check (`IgnoredAny`) accepts what `JSON.parse` accepts, numbers out
        /// of range included, which its value reader refuses (`fuzz/` checks this at length).
        #[test]
        fn agrees_with_json_parse_on_what_is_valid(s in r#"[\[\]{}",:0-9eE.+\-tnulfr\\ ]{0,24}"#) {
            let ours = parse(&s).is_ok();
            let reference = serde_json::from_str::<serde::de::IgnoredAny>(&s).is_ok();
            prop_assert_eq!(ours, reference, "{:?}", s);
        }
    }
}
