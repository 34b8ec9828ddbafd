//! The stored form of a queue, so that nothing is lost or sent twice across a reload:
//! `{"v":1,"items":[{"id","at","n","nb","item":{…wire object…}}]}`. Versioned; anything
//! unreadable is refused whole (the caller discards it with a warning), because a half-trusted
//! queue could resend or misattribute hits. Earlier versions kept what left at an unload, marked
//! `"u"` (when it left), and sent it again later; such an entry is read as delivered and not
//! restored, since the browser completed that request.

use alloc::string::String;
use alloc::vec::Vec;

use super::item::{Item, Kind};
use super::queue::Entry;
use crate::json::{self, ObjectWriter, Value};

/// Format version written and accepted.
pub const VERSION: f64 = 1.0;

/// Writes `entries` (oldest first), dropping the oldest until the text fits in `max_bytes`;
/// returns the text and how many entries were left out. `to_wall_ms` turns the entries' times
/// into the times of day that are stored ([`decode`] takes it back).
pub fn encode<'a>(
    entries: impl IntoIterator<Item = &'a Entry<Item>>,
    max_bytes: usize,
    to_wall_ms: f64,
) -> (String, usize) {
    let mut items: Vec<String> = Vec::new();
    for e in entries {
        let mut out = String::with_capacity(e.item.body.len() + 64);
        ObjectWriter::new(&mut out)
            .number("id", e.id as f64)
            .number("at", e.created_at_ms + to_wall_ms)
            .number("n", f64::from(e.attempts))
            .number("nb", e.not_before_ms + to_wall_ms)
            .with("item", |o| o.push_str(&e.item.body))
            .finish();
        items.push(out);
    }
    let envelope = 32;
    let mut size: usize = envelope + items.iter().map(|i| i.len() + 1).sum::<usize>();
    let mut skipped = 0;
    while size > max_bytes && skipped < items.len() {
        size -= items[skipped].len() + 1;
        skipped += 1;
    }
    let mut out = String::with_capacity(size);
    out.push_str("{\"v\":1,\"items\":[");
    for (i, item) in items[skipped..].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str("]}");
    (out, skipped)
}

/// Reads entries of `kind` written by [`encode`] (or by an earlier version), their times
/// brought back from times of day with `to_wall_ms` as of now. Refuses the whole text on any
/// doubt.
pub fn decode(kind: Kind, text: &str, to_wall_ms: f64) -> Result<Vec<Entry<Item>>, &'static str> {
    let value = json::parse(text).map_err(|_| "stored queue is not JSON")?;
    decode_value(kind, &value, to_wall_ms)
}

/// [`decode`] of an already parsed value (a part of a larger stored object).
pub fn decode_value(
    kind: Kind,
    value: &Value,
    to_wall_ms: f64,
) -> Result<Vec<Entry<Item>>, &'static str> {
    if value.get("v").and_then(Value::as_f64) != Some(VERSION) {
        return Err("stored queue has an unknown version");
    }
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .ok_or("stored queue has no items list")?;
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        match entry(kind, item).ok_or("stored queue has an unreadable item")? {
            Stored::Waiting(mut entry) => {
                entry.created_at_ms -= to_wall_ms;
                entry.not_before_ms -= to_wall_ms;
                entries.push(entry);
            }
            Stored::HandedOver => {}
        }
    }
    Ok(entries)
}

/// One stored item as read back.
enum Stored {
    /// Still to be delivered.
    Waiting(Entry<Item>),
    /// Left in a keepalive request at an unload (an earlier version's `"u"`): delivered.
    HandedOver,
}

fn entry(kind: Kind, value: &Value) -> Option<Stored> {
    let object = value.as_object()?;
    let number = |key| {
        object
            .get(key)?
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let entry = Entry {
        id: number("id")? as u64,
        created_at_ms: number("at")?,
        attempts: number("n")? as u32,
        not_before_ms: number("nb")?,
        item: Item::from_stored(kind, object.get("item")?.as_object()?)?,
    };
    match object.get("u") {
        None => Some(Stored::Waiting(entry)),
        Some(_) => number("u").map(|_| Stored::HandedOver),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::hits::{EventCategory, EventHit, Hit, HitKind};
    use crate::tracking::Activation;
    use proptest::prelude::*;

    fn hit(action: &str) -> Item {
        Item::hit(&Hit {
            visitor_id: "A".into(),
            customer_user_id: Some("U".into()),
            queue_time_ms: 0.0,
            kind: HitKind::Event(EventHit {
                category: EventCategory::ActionTracking,
                action: action.into(),
                label: Some("l".into()),
                value: Some(3.0),
            }),
        })
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
        let (text, skipped) = encode(&entries, 10_000, 0.0);
        assert_eq!(skipped, 0);
        assert_eq!(decode(Kind::Hit, &text, 0.0).unwrap(), entries);
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
        let entries = vec![
            entry(1, Item::activation(&a)),
            entry(7, Item::activation(&b)),
        ];
        let (text, _) = encode(&entries, 10_000, 0.0);
        assert_eq!(decode(Kind::Activation, &text, 0.0).unwrap(), entries);
    }

    #[test]
    fn an_earlier_versions_stored_queue_reads_back() {
        let v1 = r#"{"v":1,"items":[{"id":1,"at":5,"n":0,"nb":5,"item":{"vid":"A","cuid":"U","t":"EVENT","qt":0,"ec":"Action Tracking","ea":"buy","el":"l","ev":3}}]}"#;
        let entries = decode(Kind::Hit, v1, 0.0).unwrap();
        assert_eq!(entries[0].item, hit("buy"));
        assert_eq!(entries[0].created_at_ms, 5.0);
    }

    #[test]
    fn issue_20_what_an_earlier_version_marked_as_left_at_unload_is_not_restored() {
        // That version sent such an entry again 30 s after it left: a second conversion.
        let v1 = r#"{"v":1,"items":[
            {"id":1,"at":5,"n":0,"nb":5,"u":900,"item":{"vid":"A","cuid":"U","t":"EVENT","qt":0,"ec":"Action Tracking","ea":"left","el":"l","ev":3}},
            {"id":2,"at":6,"n":1,"nb":2000,"item":{"vid":"A","cuid":"U","t":"EVENT","qt":0,"ec":"Action Tracking","ea":"buy","el":"l","ev":3}}]}"#;
        let entries = decode(Kind::Hit, v1, 0.0).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].id, &entries[0].item), (2, &hit("buy")));
    }

    #[test]
    fn oldest_are_left_out_to_fit() {
        let entries: Vec<_> = (1..=20).map(|i| entry(i, hit("buy"))).collect();
        let (text, skipped) = encode(&entries, 600, 0.0);
        assert!(text.len() <= 600, "{}", text.len());
        assert!(skipped > 0);
        let kept = decode(Kind::Hit, &text, 0.0).unwrap();
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
            r#"{"v":1,"items":[{"id":1,"at":0,"n":0,"nb":0,"u":"x","item":{"vid":"A"}}]}"#,
            "{\"v\":1,\"items\":[",
        ] {
            assert!(decode(Kind::Hit, text, 0.0).is_err(), "{text:?}");
        }
        assert_eq!(
            decode(Kind::Hit, r#"{"v":1,"items":[]}"#, 0.0).unwrap(),
            vec![]
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in ".{0,200}") {
            let _ = decode(Kind::Hit, &s, 0.0);
            let _ = decode(Kind::Activation, &s, 0.0);
        }
    }
}
