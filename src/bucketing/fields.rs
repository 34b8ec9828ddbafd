//! Reading fields of an untrusted JSON object, each failure named by a fixed reason.
//!
//! The bucketing file is checked field by field rather than through `serde` derives so that a
//! refusal says which field is wrong (`"allocation is outside 0..=100"`), with a `&'static str`
//! that cannot leak file content into logs. Absent and `null` are treated alike everywhere, since
//! JSON writers use both for "not set".

use crate::error::Error;
use crate::json::Value;

/// No list in the bucketing file (campaigns, variation groups, variations, targeting groups,
/// targetings, a targeting's values) may hold more items than this.
pub const MAX_LIST_ITEMS: usize = 1000;

pub(crate) type Object = crate::json::Object;

pub(crate) fn malformed(reason: &'static str) -> Error {
    Error::BucketingMalformed(reason.into())
}

pub(crate) fn limited<'a>(list: &'a [Value], too_many: &'static str) -> Result<&'a [Value], Error> {
    if list.len() > MAX_LIST_ITEMS {
        return Err(malformed(too_many));
    }
    Ok(list)
}

pub(crate) fn optional_list<'a>(
    object: &'a Object,
    field: &str,
    wrong_type: &'static str,
    too_many: &'static str,
) -> Result<&'a [Value], Error> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => limited(list, too_many),
        Some(_) => Err(malformed(wrong_type)),
    }
}

/// A string member, borrowed: callers copy what they keep once every check has passed, so that
/// a refusal has nothing to drop.
pub(crate) fn required_string<'a>(
    object: &'a Object,
    field: &str,
    reason: &'static str,
) -> Result<&'a str, Error> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(malformed(reason)),
    }
}

/// [`required_string`] for a member that may be absent or `null`.
pub(crate) fn optional_string<'a>(
    object: &'a Object,
    field: &str,
    wrong_type: &'static str,
) -> Result<Option<&'a str>, Error> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(malformed(wrong_type)),
    }
}

pub(crate) fn optional_bool(
    object: &Object,
    field: &str,
    wrong_type: &'static str,
) -> Result<bool, Error> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(malformed(wrong_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::json;

    fn object(value: Value) -> Object {
        value.as_object().cloned().expect("test value is an object")
    }

    #[test]
    fn absent_and_null_mean_not_set() {
        let o = object(json!({"n": null}));
        for field in ["n", "absent"] {
            assert_eq!(optional_string(&o, field, "bad"), Ok(None));
            assert_eq!(optional_bool(&o, field, "bad"), Ok(false));
            assert_eq!(optional_list(&o, field, "bad", "many"), Ok(&[][..]));
            assert_eq!(
                required_string(&o, field, "missing"),
                Err(malformed("missing"))
            );
        }
    }

    #[test]
    fn wrong_types_are_refused_with_the_given_reason() {
        let o = object(json!({"s": 1, "b": "yes", "l": {}, "r": ["x"]}));
        assert_eq!(optional_string(&o, "s", "s bad"), Err(malformed("s bad")));
        assert_eq!(optional_bool(&o, "b", "b bad"), Err(malformed("b bad")));
        assert_eq!(
            optional_list(&o, "l", "l bad", "many"),
            Err(malformed("l bad"))
        );
        assert_eq!(required_string(&o, "r", "r bad"), Err(malformed("r bad")));
    }

    #[test]
    fn well_typed_fields_are_read() {
        let o = object(json!({"s": "x", "b": true, "l": [1, 2]}));
        assert_eq!(optional_string(&o, "s", "bad"), Ok(Some("x")));
        assert_eq!(required_string(&o, "s", "bad"), Ok("x"));
        assert_eq!(optional_bool(&o, "b", "bad"), Ok(true));
        assert_eq!(optional_list(&o, "l", "bad", "many").map(<[_]>::len), Ok(2));
    }

    #[test]
    fn lists_are_limited() {
        let at_limit = vec![Value::Null; MAX_LIST_ITEMS];
        assert!(limited(&at_limit, "many").is_ok());
        let over = vec![Value::Null; MAX_LIST_ITEMS + 1];
        assert_eq!(limited(&over, "many"), Err(malformed("many")));
        let o = object(json!({ "l": over }));
        assert_eq!(
            optional_list(&o, "l", "bad", "many"),
            Err(malformed("many"))
        );
    }
}
