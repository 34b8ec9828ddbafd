//! The stored form of one tab's queues: `flagship-segment:{envId}:queue:{tabId}`, holding
//! `{"v":1,"at":…,"hits":…,"activations":…}`. One key per tab, so two tabs never send the same
//! stored hit; a key untouched for `ORPHAN_AFTER_MS` belongs to a closed tab and is taken over.

use super::log;
use super::storage::Store;
use crate::json::{self, ObjectWriter, Value};
use crate::tracking::hits::Hit;
use crate::tracking::queue::{self, Entry};
use crate::tracking::stored::{self, Storable};
use crate::tracking::Activation;

/// Stored size per tab; beyond it the oldest entries are left out.
const MAX_STORED_BYTES: usize = 256 * 1024;
/// A tab's stored queue untouched for this long belongs to a closed tab and is taken over.
const ORPHAN_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;
const QUEUE_PREFIX: &str = "queue:";

/// Writes this tab's queues (or removes the key when both are empty). A full or disabled
/// storage only costs reload-survival: the queues stay in memory.
pub(crate) fn write_queues(
    store: &Store,
    tab: &str,
    hits: &[Entry<Hit>],
    activations: &[Entry<Activation>],
    now: f64,
) {
    let (hits_text, skipped_hits) = stored::encode(hits, MAX_STORED_BYTES / 2);
    let (activations_text, skipped_activations) = stored::encode(activations, MAX_STORED_BYTES / 2);
    let name = format!("{QUEUE_PREFIX}{}", tab);
    if hits.is_empty() && activations.is_empty() {
        store.remove(&name);
    } else {
        let mut text = String::new();
        ObjectWriter::new(&mut text)
            .number("v", 1.0)
            .number("at", now)
            .with("hits", |o| o.push_str(&hits_text))
            .with("activations", |o| o.push_str(&activations_text))
            .finish();
        if store.set(&name, &text).is_err() {
            log::warn(
                "localStorage refused the queue (full or disabled); it is kept in memory only",
            );
        }
    }
    if skipped_hits + skipped_activations > 0 {
        log::warn(
            "the stored queue is at its size limit; the oldest entries will not survive a reload",
        );
    }
}

/// This tab's stored queues, plus those of tabs gone for `ORPHAN_AFTER_MS` (taken over and
/// removed, so no other tab sends them too). Unreadable ones are discarded with a warning.
pub(crate) fn restore_queues(
    store: &Store,
    tab: &str,
    now: f64,
) -> (Vec<Entry<Hit>>, Vec<Entry<Activation>>) {
    let mut hits = Vec::new();
    let mut activations = Vec::new();
    for name in store.names_starting_with(QUEUE_PREFIX) {
        let own = name == format!("{QUEUE_PREFIX}{tab}");
        let Some(text) = store.get(&name) else {
            continue;
        };
        let parsed = json::parse(&text).ok();
        let at = parsed
            .as_ref()
            .and_then(|v| v.get("at"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        if !own && now - at < ORPHAN_AFTER_MS {
            continue;
        }
        match parsed.as_ref().and_then(|v| {
            Some((
                decode_part::<Hit>(v, "hits")?,
                decode_part::<Activation>(v, "activations")?,
            ))
        }) {
            Some((h, a)) => {
                hits.extend(h);
                activations.extend(a);
            }
            None => log::warn("a stored queue was unreadable and is discarded"),
        }
        if !own {
            store.remove(&name);
        }
    }
    // Entries from several tabs may share IDs: renumber in age order.
    queue::sort_by_age(&mut hits);
    queue::sort_by_age(&mut activations);
    for (i, e) in hits.iter_mut().enumerate() {
        e.id = i as u64 + 1;
    }
    for (i, e) in activations.iter_mut().enumerate() {
        e.id = i as u64 + 1;
    }
    (hits, activations)
}

fn decode_part<T: Storable>(value: &Value, key: &str) -> Option<Vec<Entry<T>>> {
    stored::decode_value(value.get(key)?).ok()
}
