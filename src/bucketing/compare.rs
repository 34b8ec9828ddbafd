//! Comparing one visitor value with a targeting's value, operator by operator.
//!
//! Where the TypeScript SDK and the server's engine (`flagship-common`, Go) disagree we follow the
//! server, because a local decision must equal the Decision API's answer:
//!
//! - String comparisons ignore case, for every string operator (ordering included: both sides are
//!   lower-cased and compared byte-wise, as the server does). The file's side is lower-cased once,
//!   at parse time; the visitor's side only when it holds an upper-case or non-ASCII character.
//! - Numbers are compared as numbers, strings as strings, and booleans only by `EQUALS` /
//!   `NOT_EQUALS`. Values of different kinds (`"18"` against `18`) never match, whatever the
//!   operator, negative ones included: the server treats that as an error and matches nothing,
//!   where the TS SDK would let JavaScript coerce them.
//! - A list value: `NOT_EQUALS` and `NOT_CONTAINS` need every element to pass (so an empty list
//!   passes), every other operator any element (so an empty list fails). The server only gives a
//!   list meaning for `EQUALS`/`CONTAINS` and their negations; the contract extends "any element"
//!   to the ordering and prefix/suffix operators, like the TS SDK.
//! - An operator this engine does not know is false. The server reports an error and matches
//!   nothing for the whole variation group; failing one targeting is the smallest departure that
//!   still cannot over-match.

use std::borrow::Cow;

use serde_json::Value;

use crate::context::ContextValue;

/// A targeting operator, parsed from its name in the bucketing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    Exists,
    NotExists,
    GreaterThan,
    LowerThan,
    GreaterThanOrEquals,
    LowerThanOrEquals,
    StartsWith,
    EndsWith,
    /// A name this engine does not know: the targeting is false.
    Unknown,
}

impl Operator {
    /// Names are matched exactly, as the server's protobuf enum does.
    pub(crate) fn from_name(name: &str) -> Operator {
        match name {
            "EQUALS" => Operator::Equals,
            "NOT_EQUALS" => Operator::NotEquals,
            "CONTAINS" => Operator::Contains,
            "NOT_CONTAINS" => Operator::NotContains,
            "EXISTS" => Operator::Exists,
            "NOT_EXISTS" => Operator::NotExists,
            "GREATER_THAN" => Operator::GreaterThan,
            "LOWER_THAN" => Operator::LowerThan,
            "GREATER_THAN_OR_EQUALS" => Operator::GreaterThanOrEquals,
            "LOWER_THAN_OR_EQUALS" => Operator::LowerThanOrEquals,
            "STARTS_WITH" => Operator::StartsWith,
            "ENDS_WITH" => Operator::EndsWith,
            _ => Operator::Unknown,
        }
    }

    fn needs_every_list_element(self) -> bool {
        matches!(self, Operator::NotEquals | Operator::NotContains)
    }
}

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
            Value::String(text) => Some(Scalar::Text(text.to_lowercase())),
            // Every JSON number fits an f64 (integers beyond 2^53 are rounded, like on the server).
            Value::Number(number) => number.as_f64().map(Scalar::Number),
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
            Value::Array(list) => list
                .iter()
                .map(Scalar::from_json)
                .collect::<Option<_>>()
                .map(Operand::List),
            scalar => Scalar::from_json(scalar).map(Operand::One),
        }
    }
}

/// The visitor's side of a comparison: a context value or the visitor ID.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Text(&'a str),
    Number(f64),
    Bool(bool),
}

impl<'a> From<&'a ContextValue> for Subject<'a> {
    fn from(value: &'a ContextValue) -> Subject<'a> {
        match value {
            ContextValue::String(text) => Subject::Text(text),
            ContextValue::Number(number) => Subject::Number(*number),
            ContextValue::Bool(flag) => Subject::Bool(*flag),
        }
    }
}

/// The subject lower-cased once, for all the list elements compared with it.
enum Prepared<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
}

impl<'a> Subject<'a> {
    fn prepare(self) -> Prepared<'a> {
        match self {
            // Most context values are already lower-case ASCII: no allocation for them.
            Subject::Text(text) if !text.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) => {
                Prepared::Text(Cow::Borrowed(text))
            }
            Subject::Text(text) => Prepared::Text(Cow::Owned(text.to_lowercase())),
            Subject::Number(number) => Prepared::Number(number),
            Subject::Bool(flag) => Prepared::Bool(flag),
        }
    }
}

/// Does `subject operator operand` hold? `EXISTS`/`NOT_EXISTS` are about presence, which only the
/// caller knows: they are false here.
pub(crate) fn compare(operator: Operator, subject: Subject<'_>, operand: &Operand) -> bool {
    let subject = subject.prepare();
    match operand {
        Operand::One(scalar) => compare_scalar(operator, &subject, scalar),
        Operand::List(list) if operator.needs_every_list_element() => list
            .iter()
            .all(|scalar| compare_scalar(operator, &subject, scalar)),
        Operand::List(list) => list
            .iter()
            .any(|scalar| compare_scalar(operator, &subject, scalar)),
    }
}

fn compare_scalar(operator: Operator, subject: &Prepared<'_>, scalar: &Scalar) -> bool {
    use Operator as Op;
    match (subject, scalar) {
        (Prepared::Text(subject), Scalar::Text(expected)) => {
            let (subject, expected) = (subject.as_ref(), expected.as_str());
            match operator {
                Op::Equals => subject == expected,
                Op::NotEquals => subject != expected,
                Op::Contains => subject.contains(expected),
                Op::NotContains => !subject.contains(expected),
                Op::StartsWith => subject.starts_with(expected),
                Op::EndsWith => subject.ends_with(expected),
                Op::GreaterThan => subject > expected,
                Op::LowerThan => subject < expected,
                Op::GreaterThanOrEquals => subject >= expected,
                Op::LowerThanOrEquals => subject <= expected,
                Op::Exists | Op::NotExists | Op::Unknown => false,
            }
        }
        (Prepared::Number(subject), Scalar::Number(expected)) => match operator {
            Op::Equals => subject == expected,
            Op::NotEquals => subject != expected,
            Op::GreaterThan => subject > expected,
            Op::LowerThan => subject < expected,
            Op::GreaterThanOrEquals => subject >= expected,
            Op::LowerThanOrEquals => subject <= expected,
            _ => false,
        },
        (Prepared::Bool(subject), Scalar::Bool(expected)) => match operator {
            Op::Equals => subject == expected,
            Op::NotEquals => subject != expected,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn check(operator: &str, value: Value, subject: &ContextValue) -> bool {
        let operand = Operand::from_json(&value).expect("test operand is valid");
        compare(Operator::from_name(operator), subject.into(), &operand)
    }

    fn text(value: &str) -> ContextValue {
        ContextValue::String(value.to_owned())
    }

    #[test]
    fn string_operators_ignore_case() {
        let cases = [
            ("EQUALS", "Paris", "pARIS", true),
            ("EQUALS", "Paris", "Pari", false),
            ("NOT_EQUALS", "Paris", "PARIS", false),
            ("NOT_EQUALS", "Paris", "Lyon", true),
            ("CONTAINS", "AbTasty", "I love abtasty!", true),
            ("CONTAINS", "xyz", "I love abtasty!", false),
            ("NOT_CONTAINS", "TASTY", "abtasty", false),
            ("NOT_CONTAINS", "xyz", "abtasty", true),
            ("STARTS_WITH", "FR-", "fr-paris", true),
            ("STARTS_WITH", "paris", "fr-paris", false),
            ("ENDS_WITH", "@ABTASTY.com", "me@abtasty.COM", true),
            ("ENDS_WITH", "fr", "fr-paris", false),
            ("GREATER_THAN", "B", "c", true),
            ("GREATER_THAN", "b", "B", false),
            ("LOWER_THAN", "B", "a", true),
            ("LOWER_THAN", "a", "A", false),
            ("GREATER_THAN_OR_EQUALS", "b", "B", true),
            ("GREATER_THAN_OR_EQUALS", "b", "a", false),
            ("LOWER_THAN_OR_EQUALS", "B", "b", true),
            ("LOWER_THAN_OR_EQUALS", "b", "c", false),
            ("EQUALS", "ÉTÉ", "été", true),
            ("CONTAINS", "été", "ÉTÉ 2024", true),
        ];
        for (operator, value, subject, expected) in cases {
            assert_eq!(
                check(operator, json!(value), &text(subject)),
                expected,
                "{subject:?} {operator} {value:?}"
            );
        }
    }

    #[test]
    fn strings_order_lexically_not_numerically() {
        assert!(check("GREATER_THAN", json!("10"), &text("9")));
        assert!(!check("LOWER_THAN", json!("10"), &text("9")));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let cases = [
            ("EQUALS", 18.0, 18.0, true),
            ("EQUALS", 18.0, 18.5, false),
            ("NOT_EQUALS", 18.0, 18.5, true),
            ("NOT_EQUALS", 18.0, 18.0, false),
            ("GREATER_THAN", 9.0, 10.0, true),
            ("GREATER_THAN", 10.0, 10.0, false),
            ("LOWER_THAN", 10.0, 9.0, true),
            ("LOWER_THAN", 10.0, 10.0, false),
            ("GREATER_THAN_OR_EQUALS", 10.0, 10.0, true),
            ("GREATER_THAN_OR_EQUALS", 10.0, 9.99, false),
            ("LOWER_THAN_OR_EQUALS", 10.0, 10.0, true),
            ("LOWER_THAN_OR_EQUALS", -1.0, 0.0, false),
        ];
        for (operator, value, subject, expected) in cases {
            let subject = ContextValue::Number(subject);
            assert_eq!(
                check(operator, json!(value), &subject),
                expected,
                "{subject:?} {operator} {value}"
            );
        }
        assert!(check("EQUALS", json!(3), &ContextValue::Number(3.0)));
        assert!(check("GREATER_THAN", json!(9), &ContextValue::Number(10.0)));
        for operator in ["CONTAINS", "NOT_CONTAINS", "STARTS_WITH", "ENDS_WITH"] {
            assert!(!check(operator, json!(12), &ContextValue::Number(123.0)));
        }
    }

    #[test]
    fn booleans_support_only_equality() {
        let on = ContextValue::Bool(true);
        assert!(check("EQUALS", json!(true), &on));
        assert!(!check("EQUALS", json!(false), &on));
        assert!(check("NOT_EQUALS", json!(false), &on));
        assert!(!check("NOT_EQUALS", json!(true), &on));
        assert!(!check("GREATER_THAN", json!(false), &on));
        assert!(!check("CONTAINS", json!(true), &on));
    }

    #[test]
    fn different_kinds_never_match_even_negated() {
        let operators = [
            "EQUALS",
            "NOT_EQUALS",
            "CONTAINS",
            "NOT_CONTAINS",
            "GREATER_THAN",
            "LOWER_THAN",
            "GREATER_THAN_OR_EQUALS",
            "LOWER_THAN_OR_EQUALS",
            "STARTS_WITH",
            "ENDS_WITH",
        ];
        for operator in operators {
            assert!(!check(operator, json!("18"), &ContextValue::Number(18.0)));
            assert!(!check(operator, json!(18), &text("18")));
            assert!(!check(operator, json!(true), &text("true")));
            assert!(!check(operator, json!(null), &text("x")));
        }
    }

    #[test]
    fn lists_need_any_element_or_every_element_for_negations() {
        let paris = text("Paris");
        assert!(check("EQUALS", json!(["lyon", "PARIS"]), &paris));
        assert!(!check("EQUALS", json!(["lyon", "nice"]), &paris));
        assert!(check("CONTAINS", json!(["zz", "ari"]), &paris));
        assert!(check("STARTS_WITH", json!(["ly", "pa"]), &paris));
        assert!(check("ENDS_WITH", json!(["on", "IS"]), &paris));
        assert!(check("GREATER_THAN", json!(["z", "a"]), &paris));
        assert!(!check("LOWER_THAN", json!(["a", "b"]), &paris));
        assert!(check("NOT_EQUALS", json!(["lyon", "nice"]), &paris));
        assert!(!check("NOT_EQUALS", json!(["lyon", "paris"]), &paris));
        assert!(check("NOT_CONTAINS", json!(["x", "y"]), &paris));
        assert!(!check("NOT_CONTAINS", json!(["x", "AR"]), &paris));
        let two = ContextValue::Number(2.0);
        assert!(check("EQUALS", json!([1, 2, 3]), &two));
        assert!(check("LOWER_THAN_OR_EQUALS", json!([1, 2]), &two));
        assert!(!check("GREATER_THAN", json!([2, 3]), &two));
        // A mixed list: the elements of another kind simply do not match.
        assert!(check("EQUALS", json!([2, "paris"]), &paris));
        assert!(!check("NOT_EQUALS", json!([2, "lyon"]), &paris));
        // Empty lists: nothing to match, nothing to contradict.
        assert!(!check("EQUALS", json!([]), &paris));
        assert!(check("NOT_EQUALS", json!([]), &paris));
    }

    #[test]
    fn unknown_and_presence_operators_compare_false() {
        assert_eq!(Operator::from_name("REGEX"), Operator::Unknown);
        assert_eq!(Operator::from_name("equals"), Operator::Unknown);
        for operator in ["REGEX", "", "EXISTS", "NOT_EXISTS"] {
            assert!(!check(operator, json!("x"), &text("x")), "{operator:?}");
            assert!(!check(operator, json!(["x"]), &text("x")), "{operator:?}");
        }
    }

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

    fn any_subject() -> impl Strategy<Value = ContextValue> {
        prop_oneof![
            ".{0,6}".prop_map(ContextValue::String),
            (-5i32..5).prop_map(|n| ContextValue::Number(f64::from(n))),
            any::<bool>().prop_map(ContextValue::Bool),
        ]
    }

    fn any_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".{0,3}".prop_map(Value::from),
            (-5i32..5).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    proptest! {
        #[test]
        fn negating_one_string_is_the_complement(subject in ".{0,6}", value in ".{0,3}") {
            let subject = text(&subject);
            prop_assert_eq!(check("NOT_EQUALS", json!(value), &subject),
                            !check("EQUALS", json!(value), &subject));
            prop_assert_eq!(check("NOT_CONTAINS", json!(value), &subject),
                            !check("CONTAINS", json!(value), &subject));
        }

        #[test]
        fn a_list_is_any_or_every_of_its_elements(
            subject in any_subject(),
            operator in prop::sample::select(vec![
                "EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS", "GREATER_THAN",
                "LOWER_THAN_OR_EQUALS", "STARTS_WITH", "ENDS_WITH"]),
            list in prop::collection::vec(any_scalar(), 0..4)) {
            let each = list.iter().map(|value| check(operator, value.clone(), &subject));
            let expected = if operator.starts_with("NOT_") {
                each.clone().all(|m| m)
            } else {
                each.clone().any(|m| m)
            };
            prop_assert_eq!(check(operator, Value::from(list), &subject), expected);
        }

        #[test]
        fn comparing_is_total(subject in any_subject(), operator in ".{0,12}",
                              list in prop::collection::vec(any_scalar(), 0..4)) {
            let _ = check(&operator, Value::from(list), &subject);
        }
    }
}
