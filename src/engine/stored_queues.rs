//! The stored form of one tab's queues: `queue:{tabId}` under the module's prefix, holding
//! `{"v":1,"at":…,"hits":…,"activations":…}`. One key per tab, so two tabs never send the same
//! stored hit; a key untouched for [`ORPHAN_AFTER_MS`] belongs to a closed tab and is taken over.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, StoredState};
use super::outbox::Outbox;
use crate::config::LogLevel;
use crate::json::{self, ObjectWriter, Value};
use crate::tracking::queue::{merge_by_age, Entry, Queue};
use crate::tracking::stored;
use crate::tracking::{Item, Kind};
use crate::wire::join;

/// Stored size per tab; beyond it the oldest entries are left out.
pub const MAX_STORED_BYTES: usize = 256 * 1024;
/// A tab's stored queue untouched for this long belongs to a closed tab and is taken over.
pub const ORPHAN_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;
const QUEUE_PREFIX: &str = "queue:";

/// Stores this tab's queues, but for what was handed over (or removes the key when nothing is
/// left to store), dated with the time of day (`to_wall_ms` added); true when entries were left
/// out for the size limit.
pub(super) fn write_queues(
    out: &mut Outbox,
    tab: &str,
    activations: &Queue<Item>,
    hits: &Queue<Item>,
    now: f64,
    to_wall_ms: f64,
) -> bool {
    let name = join(QUEUE_PREFIX, &[tab]);
    if hits.stored().next().is_none() && activations.stored().next().is_none() {
        out.push(Effect::Store { name, value: None });
        return false;
    }
    let (hits_text, skipped_hits) = stored::encode(hits.stored(), MAX_STORED_BYTES / 2, to_wall_ms);
    let (activations_text, skipped_activations) =
        stored::encode(activations.stored(), MAX_STORED_BYTES / 2, to_wall_ms);
    let mut text = String::new();
    ObjectWriter::new(&mut text)
        .number("v", 1.0)
        .number("at", now + to_wall_ms)
        .with("hits", |o| o.push_str(&hits_text))
        .with("activations", |o| o.push_str(&activations_text))
        .finish();
    out.push(Effect::Store {
        name,
        value: Some(text),
    });
    skipped_hits + skipped_activations > 0
}

/// This tab's stored queues, plus those of tabs gone for [`ORPHAN_AFTER_MS`] (taken over and
/// removed, so no other tab sends them too), oldest first, their times brought back to the
/// engine's clock (`to_wall_ms` subtracted). Unreadable ones are discarded with a warning.
pub(super) fn restore_queues(
    out: &mut Outbox,
    stored: &impl StoredState,
    tab: &str,
    now: f64,
    to_wall_ms: f64,
) -> (Vec<Entry<Item>>, Vec<Entry<Item>>) {
    let own = join(QUEUE_PREFIX, &[tab]);
    let mut hits = Vec::new();
    let mut activations = Vec::new();
    for name in stored.names() {
        if !name.starts_with(QUEUE_PREFIX) {
            continue;
        }
        let Some(text) = stored.get(&name) else {
            continue;
        };
        let parsed = json::parse(&text).ok();
        let at = parsed
            .as_ref()
            .and_then(|v| v.get("at"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let is_own = name == own;
        if !is_own && now + to_wall_ms - at < ORPHAN_AFTER_MS {
            continue;
        }
        let parts = parsed.as_ref().and_then(|v| {
            Some((
                decode_part(v, Kind::Activation, "activations", to_wall_ms)?,
                decode_part(v, Kind::Hit, "hits", to_wall_ms)?,
            ))
        });
        match parts {
            Some((a, h)) => {
                // Each tab's queue is oldest first: merging keeps the whole so.
                activations = merge_by_age(activations, a);
                hits = merge_by_age(hits, h);
            }
            None => out.log(LogLevel::Warn, "STORED_DATA_DISCARDED", |line| {
                line.push_str("a stored queue was unreadable and is discarded");
            }),
        }
        if !is_own {
            out.push(Effect::Store {
                name: name.to_owned(),
                value: None,
            });
        }
    }
    (activations, hits)
}

fn decode_part(value: &Value, kind: Kind, key: &str, to_wall_ms: f64) -> Option<Vec<Entry<Item>>> {
    stored::decode_value(kind, value.get(key)?, to_wall_ms).ok()
}
