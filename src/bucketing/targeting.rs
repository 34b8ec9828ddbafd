//! Targeting: does a visitor (ID + context) match a variation group?
//!
//! Targeting groups are OR-ed, the targetings inside a group AND-ed, and a group with no targeting
//! matches nobody (as on the server and in the TS SDK). How one value is compared with another is
//! `compare`'s business; this module decides which value is compared, following the server's
//! engine (`flagship-common`, Go) where the TS SDK differs:
//!
//! - A context key the visitor does not have makes its targeting false, negated operators
//!   included, except `EXISTS` and `NOT_EXISTS`, which are about exactly that. The TS SDK throws
//!   on `CONTAINS` of a missing key and loses the whole decision; nothing here can fail or panic.
//! - `EXISTS` / `NOT_EXISTS` ignore their value, except a literal `false`, which inverts them as on
//!   the server. (The server also reads any non-boolean value as `false`; we do not, since that
//!   would silently invert a targeting written with a placeholder value.)
//! - `fs_users` is compared against the visitor ID, never against the context, so a page cannot
//!   claim to be someone else.
//! - A targeting on the key `fs_all_users` makes the whole variation group match everyone, whatever
//!   else it holds, as the server does (the TS SDK only counts it as one true targeting of its
//!   group; the two agree whenever it stands alone in its group).

use crate::json::Value;
use alloc::{borrow::ToOwned, string::String, vec::Vec};

use super::compare::{compare, Operator, Subject};
use super::fields::{limited, malformed, optional_list, Object};
use super::operand::{Operand, Scalar};
use crate::context::Context;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq)]
enum Key {
    AllUsers,
    VisitorId,
    Context(String),
}

/// One `{operator, key, value}` targeting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    key: Key,
    operator: Operator,
    operand: Operand,
    /// For `EXISTS`/`NOT_EXISTS`: false only when the value is a literal `false`.
    presence_expected: bool,
}

impl Rule {
    pub(crate) fn new(key: &str, operator: Operator, operand: Operand) -> Rule {
        let key = match key {
            "fs_all_users" => Key::AllUsers,
            "fs_users" => Key::VisitorId,
            other => Key::Context(other.to_owned()),
        };
        let presence_expected = !matches!(operand, Operand::One(Scalar::Bool(false)));
        Rule {
            key,
            operator,
            operand,
            presence_expected,
        }
    }

    /// Reads `{operator, key, value}`; an absent value is `null`.
    fn from_json(raw: &Value) -> Result<Rule, Error> {
        let rule = raw
            .as_object()
            .ok_or(malformed("a targeting is not an object"))?;
        let operator = match rule.get("operator") {
            Some(Value::String(name)) => Operator::from_name(name),
            _ => return Err(malformed("targeting operator is missing or not a string")),
        };
        let key = match rule.get("key") {
            Some(Value::String(key)) => key,
            _ => return Err(malformed("targeting key is missing or not a string")),
        };
        let value = rule.get("value").unwrap_or(&Value::Null);
        if let Value::Array(list) = value {
            limited(list, "more than 1000 values in a targeting")?;
        }
        let operand = Operand::from_json(value).ok_or(malformed(
            "targeting value is an object or a list of non-scalars",
        ))?;
        Ok(Rule::new(key, operator, operand))
    }

    fn matches(&self, visitor_id: &str, context: &Context) -> bool {
        let subject = match &self.key {
            Key::AllUsers => return true,
            Key::VisitorId => Some(Subject::Text(visitor_id)),
            Key::Context(key) => context.get(key).map(Subject::from),
        };
        match (self.operator, subject) {
            (Operator::Exists, subject) => subject.is_some() == self.presence_expected,
            (Operator::NotExists, subject) => subject.is_none() == self.presence_expected,
            (operator, Some(subject)) => compare(operator, subject, &self.operand),
            (_, None) => false,
        }
    }
}

/// A variation group's targeting.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Targeting {
    groups: Vec<Vec<Rule>>,
    matches_everyone: bool,
}

impl Targeting {
    /// `groups` are OR-ed, the rules inside each AND-ed.
    pub(crate) fn new(groups: Vec<Vec<Rule>>) -> Targeting {
        let matches_everyone = groups
            .iter()
            .flatten()
            .any(|r| matches!(r.key, Key::AllUsers));
        Targeting {
            groups,
            matches_everyone,
        }
    }

    /// Reads `{targetingGroups: [{targetings: [...]}]}`; absent lists are empty.
    pub(crate) fn from_json(targeting: &Object) -> Result<Targeting, Error> {
        let raw_groups = optional_list(
            targeting,
            "targetingGroups",
            "targetingGroups is not an array",
            "more than 1000 targeting groups in a variation group",
        )?;
        let mut groups = Vec::with_capacity(raw_groups.len());
        for raw_group in raw_groups {
            let group = raw_group
                .as_object()
                .ok_or(malformed("a targeting group is not an object"))?;
            let raw_rules = optional_list(
                group,
                "targetings",
                "targetings is not an array",
                "more than 1000 targetings in a targeting group",
            )?;
            let mut rules = Vec::with_capacity(raw_rules.len());
            for raw_rule in raw_rules {
                rules.push(Rule::from_json(raw_rule)?);
            }
            groups.push(rules);
        }
        Ok(Targeting::new(groups))
    }

    pub(crate) fn matches(&self, visitor_id: &str, context: &Context) -> bool {
        self.matches_everyone
            || self.groups.iter().any(|group| {
                !group.is_empty() && group.iter().all(|rule| rule.matches(visitor_id, context))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextValue;
    use crate::json::json;
    use proptest::prelude::*;

    fn rule(key: &str, operator: &str, value: Value) -> Rule {
        let operand = Operand::from_json(&value).expect("test operand is valid");
        Rule::new(key, Operator::from_name(operator), operand)
    }

    fn context(pairs: &[(&str, ContextValue)]) -> Context {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    }

    fn text(value: &str) -> ContextValue {
        ContextValue::String(value.to_owned())
    }

    #[test]
    fn a_present_key_is_compared() {
        let ctx = context(&[("plan", text("Pro")), ("age", ContextValue::Number(30.0))]);
        assert!(rule("plan", "EQUALS", json!("pro")).matches("V1", &ctx));
        assert!(rule("age", "GREATER_THAN", json!(18)).matches("V1", &ctx));
        assert!(!rule("plan", "EQUALS", json!("free")).matches("V1", &ctx));
    }

    #[test]
    fn missing_keys_fail_every_operator_but_the_existence_ones() {
        let ctx = context(&[("other", text("x"))]);
        let operators = [
            "EQUALS",
            "CONTAINS",
            "GREATER_THAN",
            "LOWER_THAN",
            "GREATER_THAN_OR_EQUALS",
            "LOWER_THAN_OR_EQUALS",
            "STARTS_WITH",
            "ENDS_WITH",
            // Negated operators too: no value is not "a value other than x".
            "NOT_EQUALS",
            "NOT_CONTAINS",
        ];
        for operator in operators {
            assert!(
                !rule("k", operator, json!("x")).matches("V1", &ctx),
                "{operator}"
            );
            assert!(
                !rule("k", operator, json!([])).matches("V1", &ctx),
                "{operator}"
            );
        }
        assert!(!rule("k", "EXISTS", json!(true)).matches("V1", &ctx));
        assert!(rule("k", "NOT_EXISTS", json!(true)).matches("V1", &ctx));
    }

    #[test]
    fn existence_ignores_the_value_unless_false() {
        let has_k = context(&[("k", ContextValue::Bool(false))]);
        let empty = Context::new();
        for value in [json!(true), json!(""), json!(null), json!("x"), json!([])] {
            assert!(rule("k", "EXISTS", value.clone()).matches("V1", &has_k));
            assert!(!rule("k", "EXISTS", value.clone()).matches("V1", &empty));
            assert!(!rule("k", "NOT_EXISTS", value.clone()).matches("V1", &has_k));
            assert!(rule("k", "NOT_EXISTS", value).matches("V1", &empty));
        }
        assert!(rule("k", "EXISTS", json!(false)).matches("V1", &empty));
        assert!(!rule("k", "EXISTS", json!(false)).matches("V1", &has_k));
        assert!(rule("k", "NOT_EXISTS", json!(false)).matches("V1", &has_k));
        assert!(!rule("k", "NOT_EXISTS", json!(false)).matches("V1", &empty));
    }

    #[test]
    fn fs_users_is_the_visitor_id_not_the_context() {
        let spoofed = context(&[("fs_users", text("someone-else"))]);
        let empty = Context::new();
        assert!(rule("fs_users", "EQUALS", json!("visitor-1")).matches("Visitor-1", &spoofed));
        assert!(rule("fs_users", "EQUALS", json!(["a", "VISITOR-1"])).matches("visitor-1", &empty));
        assert!(!rule("fs_users", "EQUALS", json!("someone-else")).matches("visitor-1", &spoofed));
        assert!(rule("fs_users", "STARTS_WITH", json!("vis")).matches("visitor-1", &empty));
        assert!(rule("fs_users", "EXISTS", json!(true)).matches("visitor-1", &empty));
        assert!(!rule("fs_users", "NOT_EXISTS", json!(true)).matches("visitor-1", &empty));
    }

    #[test]
    fn unknown_operators_fail_their_targeting() {
        let ctx = context(&[("k", text("x"))]);
        assert!(!rule("k", "REGEX", json!("x")).matches("V1", &ctx));
        assert!(!rule("k", "", json!(["x"])).matches("V1", &ctx));
        let targeting = Targeting::new(vec![
            vec![rule("k", "REGEX", json!("x"))],
            vec![rule("k", "EQUALS", json!("x"))],
        ]);
        assert!(targeting.matches("V1", &ctx), "other groups still count");
    }

    #[test]
    fn groups_are_ored_and_targetings_anded() {
        let fr_pro = vec![
            rule("country", "EQUALS", json!("fr")),
            rule("plan", "EQUALS", json!("pro")),
        ];
        let adults = vec![rule("age", "GREATER_THAN_OR_EQUALS", json!(18))];
        let targeting = Targeting::new(vec![fr_pro, adults]);
        let fr = |plan: &str, age: f64| {
            context(&[
                ("country", text("FR")),
                ("plan", text(plan)),
                ("age", ContextValue::Number(age)),
            ])
        };
        assert!(targeting.matches("V1", &fr("pro", 12.0)), "first group");
        assert!(targeting.matches("V1", &fr("free", 30.0)), "second group");
        assert!(!targeting.matches("V1", &fr("free", 12.0)), "neither");
        assert!(!targeting.matches("V1", &Context::new()), "missing keys");
    }

    #[test]
    fn empty_targeting_matches_nobody() {
        assert!(!Targeting::new(vec![]).matches("V1", &Context::new()));
        assert!(!Targeting::new(vec![vec![]]).matches("V1", &Context::new()));
        assert!(!Targeting::default().matches("V1", &Context::new()));
    }

    #[test]
    fn fs_all_users_matches_everyone_like_the_server() {
        let alone = Targeting::new(vec![vec![rule("fs_all_users", "EQUALS", json!(""))]]);
        assert!(alone.matches("V1", &Context::new()));
        let mixed = Targeting::new(vec![
            vec![rule("plan", "EQUALS", json!("pro"))],
            vec![
                rule("country", "EQUALS", json!("fr")),
                rule("fs_all_users", "REGEX", json!(null)),
            ],
        ]);
        assert!(mixed.matches("V1", &Context::new()));
    }

    proptest! {
        #[test]
        fn matching_is_total(key in prop::sample::select(vec!["k", "fs_users", "fs_all_users", ""]),
                             operator in ".{0,12}", value in ".{0,4}", subject in ".{0,6}",
                             visitor in ".{0,8}") {
            let ctx = context(&[("k", text(&subject))]);
            let _ = rule(key, &operator, json!(value)).matches(&visitor, &ctx);
            let _ = rule(key, &operator, json!([value, 1, true])).matches(&visitor, &ctx);
        }
    }
}
