//! The value side of a targeting, read from the file and prepared once for comparison.
//!
//! A targeting's `value` is a string, number, boolean, `null`, or a list of those; anything nested
//! deeper is refused with the file. Strings are lower-cased here, at parse time, so that the
//! case-insensitive comparisons of every visitor only lower-case the visitor's side.

use super::lowercase::lowercase;
use crate::json::Value;
use alloc::{string::String, vec::Vec};

/// One value of a targeting, prepared for comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// Already lower-cased.
    Text(String),
    Number(f64),
    Bool(bool),
    /// `null`: no comparison matches it.
    Null,
}

impl Scalar {
    fn from_json(value: &Value) -> Option<Scalar> {
        match value {
            Value::String(text) => Some(Scalar::Text(lowercase(text))),
            // Every JSON number fits an f64 (integers beyond 2^53 are rounded, like on the server).
            Value::Number(number) => Some(Scalar::Number(*number)),
            Value::Bool(flag) => Some(Scalar::Bool(*flag)),
            Value::Null => Some(Scalar::Null),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// The value side of a targeting: one value or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    One(Scalar),
    List(Vec<Scalar>),
}

impl Operand {
    /// `None` for an object, or a list holding anything but strings, numbers, booleans and nulls.
    pub(crate) fn from_json(value: &Value) -> Option<Operand> {
        match value {
            Value::Array(list) => {
                let mut scalars = Vec::with_capacity(list.len());
                for item in list {
                    scalars.push(Scalar::from_json(item)?);
                }
                Some(Operand::List(scalars))
            }
            scalar => Scalar::from_json(scalar).map(Operand::One),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::json;

    #[test]
    fn operands_refuse_nested_values() {
        assert_eq!(Operand::from_json(&json!({"a": 1})), None);
        assert_eq!(Operand::from_json(&json!([["a"]])), None);
        assert_eq!(Operand::from_json(&json!([{}])), None);
        assert_eq!(
            Operand::from_json(&json!(["A", 1, true, null])),
            Some(Operand::List(vec![
                Scalar::Text("a".into()),
                Scalar::Number(1.0),
                Scalar::Bool(true),
                Scalar::Null
            ]))
        );
    }

    #[test]
    fn strings_are_lower_cased_once_here() {
        assert_eq!(
            Operand::from_json(&json!("ÉTÉ Paris")),
            Some(Operand::One(Scalar::Text("été paris".into())))
        );
        assert_eq!(
            Operand::from_json(&json!(2.5)),
            Some(Operand::One(Scalar::Number(2.5)))
        );
        assert_eq!(
            Operand::from_json(&json!(null)),
            Some(Operand::One(Scalar::Null))
        );
        assert_eq!(Operand::from_json(&json!([])), Some(Operand::List(vec![])));
    }
}
