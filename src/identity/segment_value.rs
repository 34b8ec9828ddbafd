//! Segment's IDs as analytics.js hands them over: a string, or a number when the page called
//! `identify(42)`. Segment sends a number as it is and its servers make it the string `"42"`;
//! the Decision API needs a string, so a whole number that a double holds exactly (below 2^53)
//! becomes its decimal text, and anything else is no ID.

use alloc::string::String;

use crate::json::{write_number, Value};

/// The ID a Segment value stands for: a string as it is, a whole number below 2^53 as its
/// decimal text; `None` for anything else (`null`, a fraction, an object).
pub fn segment_id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => numeric_id(*n),
        _ => None,
    }
}

/// A numeric user ID as Segment's servers write it: `42` → `"42"`; `None` unless a whole number
/// below 2^53 in magnitude (beyond it, two users could share a double).
pub fn numeric_id(n: f64) -> Option<String> {
    if !(n.is_finite() && crate::num::fract(n) == 0.0 && n.abs() < 9.007_199_254_740_992e15) {
        return None;
    }
    let mut text = String::new();
    write_number(&mut text, n);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_whole_numbers_are_ids() {
        assert_eq!(
            segment_id(Some(&Value::from("u-1"))).as_deref(),
            Some("u-1")
        );
        assert_eq!(segment_id(Some(&Value::from(42.0))).as_deref(), Some("42"));
        assert_eq!(segment_id(Some(&Value::from(-7.0))).as_deref(), Some("-7"));
        assert_eq!(
            numeric_id(9_007_199_254_740_991.0).as_deref(),
            Some("9007199254740991")
        );
    }

    #[test]
    fn anything_else_is_no_id() {
        for value in [
            Value::Null,
            Value::from(true),
            Value::from(1.5),
            Value::from(9.007_199_254_740_992e15),
        ] {
            assert_eq!(segment_id(Some(&value)), None, "{value:?}");
        }
        assert_eq!(numeric_id(f64::NAN), None);
        assert_eq!(numeric_id(f64::INFINITY), None);
        assert_eq!(segment_id(None), None);
    }
}
