//! Comparing one visitor value with a targeting's value, operator by operator.
//!
//! Where the TypeScript SDK and the server's engine (`flagship-common`, Go) disagree we follow the
//! server, because a local decision must equal the Decision API's answer:
//!
//! - String comparisons ignore case, for every string operator (ordering included: both sides are
//!   lower-cased and compared byte-wise, as the server does). The file's side is lower-cased once,
//!   at parse time; the visitor's side per comparison, on the stack unless it is long or not ASCII.
//!   (The server's `EQUALS` uses Unicode case folding rather than lower-casing; the two differ
//!   only on a few exotic characters such as the long s, `ſ`.)
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

use alloc::borrow::Cow;

use super::lowercase::lowercase;
use super::operand::{Operand, Scalar};
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

/// ASCII subjects up to this length are lower-cased into a stack buffer rather than a `String`.
const STACK_LOWERCASE_BYTES: usize = 128;

/// The subject lower-cased once, for all the list elements compared with it.
enum Prepared<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
}

impl<'a> Subject<'a> {
    fn prepare(self, buffer: &'a mut [u8; STACK_LOWERCASE_BYTES]) -> Prepared<'a> {
        let text = match self {
            Subject::Text(text) => text,
            Subject::Number(number) => return Prepared::Number(number),
            Subject::Bool(flag) => return Prepared::Bool(flag),
        };
        if !text
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            return Prepared::Text(Cow::Borrowed(text));
        }
        // Mixed-case ASCII ("FR", "Chrome") is common in contexts: no allocation for it.
        if text.is_ascii() && text.len() <= STACK_LOWERCASE_BYTES {
            let lowered = &mut buffer[..text.len()];
            lowered.copy_from_slice(text.as_bytes());
            lowered.make_ascii_lowercase();
            if let Ok(lowered) = core::str::from_utf8(lowered) {
                return Prepared::Text(Cow::Borrowed(lowered));
            }
        }
        Prepared::Text(Cow::Owned(lowercase(text)))
    }
}

/// Does `subject operator operand` hold? `EXISTS`/`NOT_EXISTS` are about presence, which only the
/// caller knows: they are false here.
pub(crate) fn compare(operator: Operator, subject: Subject<'_>, operand: &Operand) -> bool {
    let mut buffer = [0u8; STACK_LOWERCASE_BYTES];
    let subject = subject.prepare(&mut buffer);
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
                Op::Contains => contains(subject, expected),
                Op::NotContains => !contains(subject, expected),
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

/// `haystack.contains(needle)`, byte-wise: core's two-way `StrSearcher` and the panic paths it
/// brings cost more of the wasm module than short targeting values need. The answer is the same
/// for any two strings: a match of a whole UTF-8 needle starts and ends on character boundaries.
fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{json, Value};
    use proptest::prelude::*;

    fn check(operator: &str, value: Value, subject: &ContextValue) -> bool {
        let operand = Operand::from_json(&value).expect("test operand is valid");
        compare(Operator::from_name(operator), subject.into(), &operand)
    }

    fn text(value: &str) -> ContextValue {
        ContextValue::String(value.to_owned())
    }

    #[test]
    fn string_operators_ignore_case() {
        // (operator, value, a subject that matches, one that does not)
        let cases = [
            ("EQUALS", "Paris", "pARIS", "Pari"),
            ("NOT_EQUALS", "Paris", "Lyon", "PARIS"),
            ("CONTAINS", "AbTasty", "I love abtasty!", "I love AB Tasty"),
            ("NOT_CONTAINS", "xyz", "abtasty", "XYZ"),
            ("STARTS_WITH", "FR-", "fr-paris", "paris-fr"),
            (
                "ENDS_WITH",
                "@ABTASTY.com",
                "me@abtasty.COM",
                "abtasty.com.evil",
            ),
            ("GREATER_THAN", "B", "c", "B"),
            ("LOWER_THAN", "B", "a", "b"),
            ("GREATER_THAN_OR_EQUALS", "b", "B", "a"),
            ("LOWER_THAN_OR_EQUALS", "B", "b", "c"),
            ("EQUALS", "ÉTÉ", "été", "ete"),
            ("CONTAINS", "été", "ÉTÉ 2024", "ETE 2024"),
            ("EQUALS", "chrome", "Chrome", "Chromium"),
        ];
        for (operator, value, matching, other) in cases {
            let case = format!("{operator} {value:?}");
            assert!(
                check(operator, json!(value), &text(matching)),
                "{case} {matching:?}"
            );
            assert!(
                !check(operator, json!(value), &text(other)),
                "{case} {other:?}"
            );
        }
    }

    #[test]
    fn long_mixed_case_subjects_compare_like_short_ones() {
        let long = format!("{}END", "Ab".repeat(STACK_LOWERCASE_BYTES));
        assert!(check("ENDS_WITH", json!("abEND"), &text(&long)));
        assert!(check("EQUALS", json!(long.to_uppercase()), &text(&long)));
        let at_limit = "X".repeat(STACK_LOWERCASE_BYTES);
        assert!(check(
            "EQUALS",
            json!(at_limit.to_lowercase()),
            &text(&at_limit)
        ));
    }

    #[test]
    fn strings_order_lexically_not_numerically() {
        assert!(check("GREATER_THAN", json!("10"), &text("9")));
        assert!(!check("LOWER_THAN", json!("10"), &text("9")));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        // (operator, value, a subject that matches, one that does not)
        let cases = [
            ("EQUALS", 18.0, 18.0, 18.5),
            ("NOT_EQUALS", 18.0, 18.5, 18.0),
            ("GREATER_THAN", 9.0, 10.0, 9.0),
            ("LOWER_THAN", 10.0, 9.0, 10.0),
            ("GREATER_THAN_OR_EQUALS", 10.0, 10.0, 9.99),
            ("LOWER_THAN_OR_EQUALS", 10.0, 10.0, 10.01),
            ("LOWER_THAN", 0.0, -1.0, 0.0),
        ];
        for (operator, value, matching, other) in cases {
            let (matching, other) = (ContextValue::Number(matching), ContextValue::Number(other));
            assert!(
                check(operator, json!(value), &matching),
                "{operator} {value}"
            );
            assert!(!check(operator, json!(value), &other), "{operator} {value}");
        }
        assert!(check("EQUALS", json!(3), &ContextValue::Number(3.0)));
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
        fn contains_agrees_with_str_contains(haystack in ".{0,8}", needle in ".{0,3}") {
            prop_assert_eq!(contains(&haystack, &needle), haystack.contains(needle.as_str()));
            let inner: String = haystack.chars().skip(1).take(2).collect();
            prop_assert!(contains(&haystack, &inner));
        }

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
