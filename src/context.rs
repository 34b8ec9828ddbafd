//! The visitor context: the key/value attributes Flagship targets on.
//!
//! Values are limited to what the Decision API accepts (string, number, bool). The module adds
//! `fs_users` (the visitor ID), `fs_client` and `fs_version` itself; a page cannot override them.

use alloc::string::String;
use alloc::vec::Vec;

use crate::json::{write_number, write_string, ObjectWriter};

/// One context value.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    /// A string attribute.
    String(String),
    /// A numeric attribute; always finite.
    Number(f64),
    /// A boolean attribute.
    Bool(bool),
}

impl ContextValue {
    /// A JSON value as a context value: a string, a finite number or a boolean; `None` for
    /// anything else (traits of other types are skipped, never stringified).
    pub fn of(value: &crate::json::Value) -> Option<ContextValue> {
        use crate::json::Value;
        match value {
            Value::String(text) => Some(ContextValue::String(text.clone())),
            Value::Number(n) if n.is_finite() => Some(ContextValue::Number(*n)),
            Value::Bool(b) => Some(ContextValue::Bool(*b)),
            _ => None,
        }
    }
}

/// Context keys the module owns. A page value for one of these is ignored with a warning.
pub const RESERVED_KEYS: [&str; 3] = ["fs_users", "fs_client", "fs_version"];

/// Most keys a page's context may hold: keeps a page from inflating every request.
pub const MAX_CONTEXT_KEYS: usize = 100;

/// Value of `x-sdk-client` and `fs_client`.
pub const SDK_CLIENT: &str = "flagship-segment";
/// Value of `x-sdk-version` and `fs_version`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Attributes in key order, so request bodies are deterministic.
///
/// A sorted `Vec` with binary search rather than a `BTreeMap`: a context holds a few dozen keys
/// at most (100 is the bound), and the B-tree's node code cost the wasm ~6 KB.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context(Vec<(String, ContextValue)>);

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context(Vec::new())
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: String, value: ContextValue) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        let at = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        Some(&self.0[at].1)
    }

    /// The attributes in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ContextValue)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True without attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<(String, ContextValue)> for Context {
    /// Sets every pair, later ones winning, as repeated inserts.
    fn extend<I: IntoIterator<Item = (String, ContextValue)>>(&mut self, pairs: I) {
        for (key, value) in pairs {
            self.insert(key, value);
        }
    }
}

impl FromIterator<(String, ContextValue)> for Context {
    fn from_iter<I: IntoIterator<Item = (String, ContextValue)>>(pairs: I) -> Context {
        let mut context = Context::new();
        context.extend(pairs);
        context
    }
}

impl<const N: usize> From<[(String, ContextValue); N]> for Context {
    fn from(pairs: [(String, ContextValue); N]) -> Context {
        let mut context = Context::new();
        context.extend(pairs);
        context
    }
}

impl IntoIterator for Context {
    type Item = (String, ContextValue);
    type IntoIter = alloc::vec::IntoIter<(String, ContextValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Context {
    type Item = (&'a String, &'a ContextValue);
    type IntoIter = core::iter::Map<
        core::slice::Iter<'a, (String, ContextValue)>,
        fn(&'a (String, ContextValue)) -> (&'a String, &'a ContextValue),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// `context["key"]` for the unit tests; panics when absent, as `BTreeMap`'s index does. Not in
/// the product, where a read from outside never panics (see the crate documentation).
#[cfg(test)]
impl core::ops::Index<&str> for Context {
    type Output = ContextValue;
    fn index(&self, key: &str) -> &ContextValue {
        self.get(key).expect("no such context key")
    }
}

/// The context sent for `visitor_id`: the page's attributes plus the reserved keys.
pub fn full_context(page: &Context, visitor_id: &str) -> Context {
    let mut context = Context::new();
    for (key, value) in page {
        if !RESERVED_KEYS.contains(&key.as_str()) {
            context.insert(key.clone(), value.clone());
        }
    }
    context.insert("fs_client".into(), ContextValue::String(SDK_CLIENT.into()));
    context.insert(
        "fs_version".into(),
        ContextValue::String(SDK_VERSION.into()),
    );
    context.insert("fs_users".into(), ContextValue::String(visitor_id.into()));
    context
}

/// Appends `context` as a JSON object.
pub fn write_context(out: &mut String, context: &Context) {
    let mut writer = ObjectWriter::new(out);
    for (key, value) in context {
        writer = writer.with(key, |out| match value {
            ContextValue::String(s) => write_string(out, s),
            ContextValue::Number(n) => write_number(out, *n),
            ContextValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        });
    }
    writer.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_keys_come_from_the_module() {
        let mut page = Context::new();
        page.insert("plan".into(), ContextValue::String("pro".into()));
        page.insert("fs_users".into(), ContextValue::String("spoofed".into()));
        let full = full_context(&page, "A");
        assert_eq!(full["fs_users"], ContextValue::String("A".into()));
        assert_eq!(full["plan"], ContextValue::String("pro".into()));
        assert_eq!(
            full["fs_client"],
            ContextValue::String("flagship-segment".into())
        );
        assert_eq!(full.len(), 4);
    }

    #[test]
    fn serialises_as_plain_json_values() {
        let mut page = Context::new();
        page.insert("n".into(), ContextValue::Number(3.5));
        page.insert("b".into(), ContextValue::Bool(true));
        page.insert("s".into(), ContextValue::String("x\"y".into()));
        let mut out = String::new();
        write_context(&mut out, &page);
        assert_eq!(out, r#"{"b":true,"n":3.5,"s":"x\"y"}"#);
    }
}
