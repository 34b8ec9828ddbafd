//! The stored form of queues and of the exposure log, so that nothing is lost or sent twice
//! across a reload. Versioned (`"v":1`); anything unreadable is discarded whole by the caller
//! with a warning, because a half-trusted queue could resend or misattribute hits.

use super::activation::Activation;
use super::hits::{parse_hit, write_hit, Hit};
use super::queue::Entry;
use crate::json::{self, Object, ObjectWriter, Value};
use alloc::{borrow::ToOwned, string::String, vec::Vec};

/// Format version written and accepted.
pub const VERSION: f64 = 1.0;

/// An item that can be stored as a JSON object.
pub trait Storable: Sized {
    /// Appends the item as a JSON object.
    fn write(&self, out: &mut String);
    /// Reads an item written by [`Storable::write`]; `None` if it is not one.
    fn read(object: &Object) -> Option<Self>;
}

impl Storable for Hit {
    fn write(&self, out: &mut String) {
        write_hit(out, self);
    }

    fn read(object: &Object) -> Option<Self> {
        parse_hit(object).ok()
    }
}

impl Storable for Activation {
    fn write(&self, out: &mut String) {
        ObjectWriter::new(out)
            .string("vid", &self.visitor_id)
            .opt_string("aid", self.anonymous_id.as_deref())
            .string("caid", &self.variation_group_id)
            .string("vaid", &self.variation_id)
            .number("at", self.created_at_ms)
            .finish();
    }

    fn read(object: &Object) -> Option<Self> {
        let anonymous_id = match object.get("aid")? {
            Value::Null => None,
            value => Some(value.as_str()?.to_owned()),
        };
        Some(Activation {
            visitor_id: object.str("vid")?.to_owned(),
            anonymous_id,
            variation_group_id: object.str("caid")?.to_owned(),
            variation_id: object.str("vaid")?.to_owned(),
            created_at_ms: object.get("at")?.as_f64()?,
        })
    }
}

/// Writes `entries`, dropping the oldest until the text fits in `max_bytes`; returns the text
/// and how many entries were left out.
pub fn encode<T: Storable>(entries: &[Entry<T>], max_bytes: usize) -> (String, usize) {
    let mut items: Vec<String> = entries
        .iter()
        .map(|e| {
            let mut out = String::new();
            ObjectWriter::new(&mut out)
                .number("id", e.id as f64)
                .number("at", e.created_at_ms)
                .number("n", f64::from(e.attempts))
                .number("nb", e.not_before_ms)
                .with("item", |o| e.item.write(o))
                .finish();
            out
        })
        .collect();
    let envelope = 32;
    let mut size: usize = envelope + items.iter().map(|i| i.len() + 1).sum::<usize>();
    let mut skipped = 0;
    while size > max_bytes && !items.is_empty() {
        size -= items.remove(0).len() + 1;
        skipped += 1;
    }
    let mut out = String::with_capacity(size);
    out.push_str("{\"v\":1,\"items\":[");
    out.push_str(&items.join(","));
    out.push_str("]}");
    (out, skipped)
}

/// Reads entries written by [`encode`]. Refuses the whole text on any doubt.
pub fn decode<T: Storable>(text: &str) -> Result<Vec<Entry<T>>, &'static str> {
    let value = json::parse(text).map_err(|_| "stored queue is not JSON")?;
    decode_value(&value)
}

/// [`decode`] of an already parsed value (a part of a larger stored object).
pub fn decode_value<T: Storable>(value: &Value) -> Result<Vec<Entry<T>>, &'static str> {
    let items = items_of(value)?;
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let (meta, object) = entry_meta(item).ok_or(UNREADABLE_ITEM)?;
        let item = T::read(object).ok_or(UNREADABLE_ITEM)?;
        entries.push(meta.with(item));
    }
    Ok(entries)
}

const UNREADABLE_ITEM: &str = "stored queue has an unreadable item";

/// The envelope's checks, shared by both item types rather than compiled once per type.
#[inline(never)]
fn items_of(value: &Value) -> Result<&[Value], &'static str> {
    if value.get("v").and_then(Value::as_f64) != Some(VERSION) {
        return Err("stored queue has an unknown version");
    }
    value
        .get("items")
        .and_then(Value::as_array)
        .ok_or("stored queue has no items list")
}

/// An entry's bookkeeping without its item.
struct Meta {
    id: u64,
    created_at_ms: f64,
    attempts: u32,
    not_before_ms: f64,
}

impl Meta {
    fn with<T>(self, item: T) -> Entry<T> {
        Entry {
            id: self.id,
            created_at_ms: self.created_at_ms,
            attempts: self.attempts,
            not_before_ms: self.not_before_ms,
            item,
        }
    }
}

/// An entry's bookkeeping and its item object, read once for both item types.
#[inline(never)]
fn entry_meta(item: &Value) -> Option<(Meta, &Object)> {
    let object = item.as_object()?;
    let number = |key| {
        object
            .get(key)?
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let meta = Meta {
        id: number("id")? as u64,
        created_at_ms: number("at")?,
        attempts: number("n")? as u32,
        not_before_ms: number("nb")?,
    };
    Some((meta, object.get("item")?.as_object()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::hits::{EventCategory, EventHit, HitKind};
    use proptest::prelude::*;

    fn hit(action: &str) -> Hit {
        Hit {
            visitor_id: "A".into(),
            customer_user_id: Some("U".into()),
            queue_time_ms: 0.0,
            kind: HitKind::Event(EventHit {
                category: EventCategory::ActionTracking,
                action: action.into(),
                label: Some("l".into()),
                value: Some(3.0),
            }),
        }
    }

    fn entry<T>(id: u64, item: T) -> Entry<T> {
        Entry {
            id,
            created_at_ms: 1000.0 + id as f64,
            attempts: 2,
            not_before_ms: 5000.0,
            item,
        }
    }

    #[test]
    fn hits_round_trip() {
        let entries = vec![entry(1, hit("buy")), entry(2, hit("view"))];
        let (text, skipped) = encode(&entries, 10_000);
        assert_eq!(skipped, 0);
        assert_eq!(decode::<Hit>(&text).unwrap(), entries);
    }

    #[test]
    fn activations_round_trip() {
        let a = Activation {
            visitor_id: "U".into(),
            anonymous_id: Some("A".into()),
            variation_group_id: "vg".into(),
            variation_id: "v".into(),
            created_at_ms: 12.0,
        };
        let b = Activation {
            anonymous_id: None,
            ..a.clone()
        };
        let entries = vec![entry(1, a), entry(7, b)];
        let (text, _) = encode(&entries, 10_000);
        assert_eq!(decode::<Activation>(&text).unwrap(), entries);
    }

    #[test]
    fn oldest_are_left_out_to_fit() {
        let entries: Vec<_> = (1..=20).map(|i| entry(i, hit("buy"))).collect();
        let (text, skipped) = encode(&entries, 600);
        assert!(text.len() <= 600, "{}", text.len());
        assert!(skipped > 0);
        let kept = decode::<Hit>(&text).unwrap();
        assert_eq!(kept.last().unwrap().id, 20, "the newest are kept");
        assert_eq!(kept.len() + skipped, 20);
    }

    #[test]
    fn corrupt_or_foreign_text_is_refused() {
        for text in [
            "",
            "null",
            "{}",
            r#"{"v":2,"items":[]}"#,
            r#"{"v":1,"items":[{"id":1}]}"#,
            r#"{"v":1,"items":[{"id":-1,"at":0,"n":0,"nb":0,"item":{}}]}"#,
            "{\"v\":1,\"items\":[",
        ] {
            assert!(decode::<Hit>(text).is_err(), "{text:?}");
        }
        assert_eq!(decode::<Hit>(r#"{"v":1,"items":[]}"#).unwrap(), vec![]);
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in ".{0,200}") {
            let _ = decode::<Hit>(&s);
            let _ = decode::<Activation>(&s);
        }
    }
}
