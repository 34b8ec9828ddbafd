//! The last good decision per identity, kept so that a page whose Decision API call fails still
//! shows the flags this visitor had (status `CACHED`) rather than defaults, and, under
//! `decisionMaxAgeMs`, so that a repeat page view uses it instead of asking again.
//!
//! Keyed by the full identity (visitor ID and anonymousId): an entry for anyone else is never
//! used, since serving one person's variations to another is the mismatch this product prevents.
//! Reuse also needs the same context (the targeting it was decided with). Bounded in entries,
//! body size and age; versioned; an unreadable store is dropped whole.

use crate::identity::Identity;
use crate::json::{self, write_number, ObjectWriter, Value};
use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// Identities remembered.
pub const MAX_ENTRIES: usize = 5;
/// Largest answer body kept.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Oldest entry used: a week.
pub const MAX_AGE_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

#[derive(Debug, Clone, PartialEq)]
struct CacheEntry {
    visitor_id: String,
    anonymous_id: Option<String>,
    /// The context it was decided with, as sent (`None` in entries of version 1).
    context: Option<String>,
    saved_at_ms: f64,
    body: String,
}

/// A kept answer found for reuse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kept<'a> {
    /// The `/campaigns` answer.
    pub body: &'a str,
    /// How long ago it was answered.
    pub age_ms: f64,
}

/// Decision API answers by identity, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionCache {
    entries: Vec<CacheEntry>,
}

impl CacheEntry {
    fn is_for(&self, identity: &Identity) -> bool {
        self.visitor_id == identity.visitor_id()
            && self.anonymous_id.as_deref() == identity.anonymous_id()
    }
}

impl DecisionCache {
    /// Keeps `body` (a 200 answer of `/campaigns`) for `identity` asked with `context` (its
    /// canonical text).
    pub fn store(&mut self, identity: &Identity, context: &str, body: &str, now_ms: f64) {
        self.entries.retain(|e| !e.is_for(identity));
        if body.len() > MAX_BODY_BYTES {
            return;
        }
        self.entries.insert(
            0,
            CacheEntry {
                visitor_id: identity.visitor_id().to_owned(),
                anonymous_id: identity.anonymous_id().map(str::to_owned),
                context: Some(context.to_owned()),
                saved_at_ms: now_ms,
                body: body.to_owned(),
            },
        );
        self.entries.truncate(MAX_ENTRIES);
    }

    /// The body kept for exactly `identity`, whatever its context, if recent enough: what a
    /// failed request falls back to.
    pub fn lookup(&self, identity: &Identity, now_ms: f64) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.is_for(identity) && now_ms - e.saved_at_ms <= MAX_AGE_MS)
            .map(|e| e.body.as_str())
    }

    /// The answer kept for exactly `identity` and `context`, if recent enough: what a repeat
    /// page view may use instead of asking. An entry from a clock that has gone back is not.
    pub fn lookup_same(&self, identity: &Identity, context: &str, now_ms: f64) -> Option<Kept<'_>> {
        let entry = self.entries.iter().find(|e| e.is_for(identity))?;
        let age_ms = now_ms - entry.saved_at_ms;
        (entry.context.as_deref() == Some(context) && (0.0..=MAX_AGE_MS).contains(&age_ms)).then(
            || Kept {
                body: &entry.body,
                age_ms,
            },
        )
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let mut out = String::from("{\"v\":2,\"entries\":[");
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            ObjectWriter::new(&mut out)
                .string("vid", &e.visitor_id)
                .opt_string("aid", e.anonymous_id.as_deref())
                .opt_string("ctx", e.context.as_deref())
                .with("at", |o| write_number(o, e.saved_at_ms))
                .string("body", &e.body)
                .finish();
        }
        out.push_str("]}");
        out
    }

    /// Reads [`DecisionCache::encode`]'s form, and version 1 (no context: never reused, still
    /// a fallback); refuses an unreadable text whole.
    pub fn decode(text: &str) -> Result<DecisionCache, &'static str> {
        let value = json::parse(text).map_err(|_| "stored decisions are not JSON")?;
        if !matches!(value.get("v").and_then(Value::as_f64), Some(v) if v == 1.0 || v == 2.0) {
            return Err("stored decisions have an unknown version");
        }
        let list = value
            .get("entries")
            .and_then(Value::as_array)
            .ok_or("stored decisions have no list")?;
        let mut entries = Vec::new();
        for item in list.iter().take(MAX_ENTRIES) {
            entries.push(decode_entry(item).ok_or("stored decision is unreadable")?);
        }
        Ok(DecisionCache { entries })
    }
}

fn decode_entry(item: &Value) -> Option<CacheEntry> {
    let o = item.as_object()?;
    let optional = |name| match o.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(v) => v.as_str().map(|s| Some(s.to_owned())),
    };
    Some(CacheEntry {
        visitor_id: o.str("vid")?.to_owned(),
        anonymous_id: optional("aid")?,
        context: optional("ctx")?,
        saved_at_ms: o.get("at")?.as_f64()?,
        body: o.str("body")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::test_identity as id;

    #[test]
    fn only_the_same_identity_gets_its_answer() {
        let mut cache = DecisionCache::default();
        cache.store(&id(Some("U"), "A"), "", "body-U", 0.0);
        assert_eq!(cache.lookup(&id(Some("U"), "A"), 1.0), Some("body-U"));
        assert_eq!(
            cache.lookup(&id(None, "A"), 1.0),
            None,
            "the anonymous visitor is someone else"
        );
        assert_eq!(
            cache.lookup(&id(Some("U"), "B"), 1.0),
            None,
            "another device of U is another identity"
        );
        assert_eq!(cache.lookup(&id(Some("V"), "A"), 1.0), None);
    }

    #[test]
    fn newest_replaces_and_bounds_hold() {
        let mut cache = DecisionCache::default();
        for i in 0..8 {
            cache.store(&id(None, &i.to_string()), "", "b", f64::from(i));
        }
        assert_eq!(cache.entries.len(), MAX_ENTRIES);
        assert_eq!(cache.lookup(&id(None, "0"), 9.0), None, "oldest dropped");
        cache.store(&id(None, "7"), "", "newer", 10.0);
        assert_eq!(cache.lookup(&id(None, "7"), 11.0), Some("newer"));
        assert_eq!(
            cache.lookup(&id(None, "7"), 10.0 + MAX_AGE_MS + 1.0),
            None,
            "too old"
        );
        cache.store(&id(None, "big"), "", &"x".repeat(MAX_BODY_BYTES + 1), 12.0);
        assert_eq!(cache.lookup(&id(None, "big"), 12.0), None);
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut cache = DecisionCache::default();
        cache.store(
            &id(Some("U"), "A"),
            r#"{"plan":"pro"}"#,
            r#"{"visitorId":"U","campaigns":[]}"#,
            5.0,
        );
        cache.store(&id(None, "B"), "", "{}", 6.0);
        assert_eq!(DecisionCache::decode(&cache.encode()).unwrap(), cache);
        for bad in [
            "",
            "[]",
            r#"{"v":3,"entries":[]}"#,
            r#"{"v":1,"entries":[{"vid":1}]}"#,
            r#"{"v":2,"entries":[{"vid":"U","ctx":3,"at":1,"body":"{}"}]}"#,
        ] {
            assert!(DecisionCache::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reuse_needs_the_same_identity_and_context_and_a_sane_age() {
        let mut cache = DecisionCache::default();
        cache.store(&id(Some("U"), "A"), r#"{"plan":"pro"}"#, "body-U", 1000.0);
        let kept = cache.lookup_same(&id(Some("U"), "A"), r#"{"plan":"pro"}"#, 4000.0);
        assert_eq!(
            kept,
            Some(Kept {
                body: "body-U",
                age_ms: 3000.0
            })
        );
        assert_eq!(
            cache.lookup_same(&id(Some("U"), "A"), r#"{"plan":"free"}"#, 4000.0),
            None
        );
        assert_eq!(
            cache.lookup_same(&id(None, "A"), r#"{"plan":"pro"}"#, 4000.0),
            None
        );
        assert_eq!(
            cache.lookup_same(&id(Some("U"), "A"), r#"{"plan":"pro"}"#, 500.0),
            None,
            "clock went back"
        );
        assert_eq!(
            cache.lookup(&id(Some("U"), "A"), 4000.0),
            Some("body-U"),
            "a failed request still falls back to it, whatever the context"
        );
    }

    #[test]
    fn version_1_entries_are_a_fallback_never_reused() {
        let v1 = r#"{"v":1,"entries":[{"vid":"U","aid":"A","at":1000,"body":"b"}]}"#;
        let cache = DecisionCache::decode(v1).unwrap();
        assert_eq!(cache.lookup(&id(Some("U"), "A"), 2000.0), Some("b"));
        assert_eq!(cache.lookup_same(&id(Some("U"), "A"), "", 2000.0), None);
    }
}
