//! The JSON value type and its accessors.

use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// A parsed JSON value. Numbers are `f64`, as in JavaScript.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

/// An object's members in document order.
#[derive(Debug, Clone, Default)]
pub struct Object(pub Vec<(String, Value)>);

/// Equality as JSON means it: the same members, in any order.
impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        // Sorted by key, stably: repeated keys keep their relative order, which decides their value.
        self.len() == other.len() && sorted_members(self) == sorted_members(other)
    }
}

fn sorted_members(object: &Object) -> Vec<&(String, Value)> {
    let mut members: Vec<_> = object.0.iter().collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members
}

impl Object {
    /// The value of `key`; with duplicate keys, the last one (as `JSON.parse`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes and returns the value of `key` (the last one, if repeated); the other members
    /// keep their order.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        let index = self.0.iter().rposition(|(k, _)| k == key)?;
        Some(self.0.remove(index).1)
    }

    /// Members in document order; a repeated key appears once per occurrence.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Member count.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keys in document order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The string value of `key` when it is a non-empty string, else `Err(reason)`: the check
    /// every wire-format reader makes for a required ID.
    pub fn required_str(&self, key: &str, reason: &'static str) -> Result<&str, &'static str> {
        self.str(key).filter(|s| !s.is_empty()).ok_or(reason)
    }

    /// The string value of `key`, if it is a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(object) => Some(object),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// `value[key]` for objects, `None` otherwise.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Number(f64::from(n))
    }
}

impl From<i64> for Value {
    /// Beyond ±2^53 the value is rounded, as in JavaScript.
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}

impl FromIterator<(String, Value)> for Object {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(members: I) -> Self {
        Object(members.into_iter().collect())
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl core::fmt::Display for Value {
    /// The compact JSON text of the value.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut out = String::new();
        super::write_value(&mut out, self);
        f.write_str(&out)
    }
}

static NULL: Value = Value::Null;

impl core::ops::Index<&str> for Value {
    type Output = Value;
    /// `value[key]`, `null` when absent or not an object (as serde_json's indexing).
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl core::ops::Index<&str> for Object {
    type Output = Value;
    /// `object[key]`, `null` when absent.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// Test inputs are written with `serde_json::json!`; this turns them into core values.
#[cfg(test)]
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::Object(Object(
                map.into_iter().map(|(k, v)| (k, Value::from(v))).collect(),
            )),
        }
    }
}

/// Lets test code interpolate core values inside `serde_json::json!`.
#[cfg(test)]
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_string();
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_22_take_keeps_the_other_members_in_order() {
        let mut object: Object = ["a", "b", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, k)| (String::from(*k), Value::from(i as i32)))
            .collect();
        assert_eq!(object.take("b"), Some(Value::from(1)));
        assert_eq!(object.keys().collect::<Vec<_>>(), ["a", "c", "d"]);
        assert_eq!(object.take("x"), None);
    }

    #[test]
    fn take_removes_the_last_of_a_repeated_key() {
        let mut object: Object = [("k", 1), ("j", 2), ("k", 3)]
            .iter()
            .map(|(k, v)| (String::from(*k), Value::from(*v)))
            .collect();
        assert_eq!(object.take("k"), Some(Value::from(3)));
        assert_eq!(object.keys().collect::<Vec<_>>(), ["k", "j"]);
    }
}
