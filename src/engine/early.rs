//! What a page did before its full module took over, when it went away first: the web build's
//! first stage records the exposures and hit calls made while only it was up, with the identity
//! it decided for, under `early:{tabId}:{pageId}`; the full module removes the record when it
//! takes over on that page, and otherwise the next page's full module takes it in here, as it
//! takes in a stored queue (its own tab's at once, a closed tab's after [`ORPHAN_AFTER_MS`]). Every rule is
//! the engine's: the exposure log deduplicates, hits are read and validated as the page's own
//! calls are, the seen-by-Segment gate holds them, and nothing is kept without consent.
//!
//! The record: `{"v":1,"at":<time of day>,"visitorId","anonymousId","consent":bool,
//! "exposed":[{"caid","vaid"}],"hits":[[method, …args]]}`, a `page()` call with its URL.

use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, StoredState};
use super::machine::Engine;
use super::stored_queues::ORPHAN_AFTER_MS;
use crate::config::{IdPolicy, LogLevel};
use crate::identity::{resolve, Identity, SegmentIds};
use crate::json::{self, Value};
use crate::tracking::hits::{hit_of_call, Hit, HitMethod};
use crate::tracking::{Activation, Item};

/// The stored keys of early records start with this, then the tab's ID, `:` and the page's.
pub const EARLY_PREFIX: &str = "early:";

/// What a record holds, read.
#[derive(Debug)]
struct Early {
    at: f64,
    identity: Identity,
    exposed: Vec<(String, String)>,
    hits: Vec<Hit>,
}

impl Engine {
    /// Takes in the early records of this tab, and of tabs closed for [`ORPHAN_AFTER_MS`];
    /// each is removed, so nothing is taken in twice.
    pub(super) fn restore_early(&mut self, now: f64, stored: &impl StoredState) {
        let own = crate::wire::join(EARLY_PREFIX, &[&stored.tab_id(), ":"]);
        let wall = self.wall(now);
        for name in stored.names() {
            if !name.starts_with(EARLY_PREFIX) {
                continue;
            }
            let Some(text) = stored.get(&name) else {
                continue;
            };
            let record = read_record(&text);
            let is_own = name.starts_with(own.as_str());
            if !is_own
                && record
                    .as_ref()
                    .is_some_and(|r| wall - r.at < ORPHAN_AFTER_MS)
            {
                continue;
            }
            match record {
                Some(record) => self.take_in(now, record),
                None => self.out.log(LogLevel::Warn, "STORED_DATA_DISCARDED", |line| {
                    line.push_str("a record of what a page did before the module loaded was unreadable and is discarded");
                }),
            }
            self.out.push(Effect::Store { name, value: None });
        }
    }

    /// Queues a record's exposures (once per dedupe window, as any) and hits, dated when they
    /// were made.
    fn take_in(&mut self, now: f64, record: Early) {
        let made_at = record.at - self.wall_offset();
        let (visitor, anonymous) = (record.identity.visitor_id(), record.identity.anonymous_id());
        for (caid, vaid) in record.exposed {
            let activation = Activation {
                visitor_id: String::from(visitor),
                anonymous_id: anonymous.map(String::from),
                variation_group_id: caid,
                variation_id: vaid,
                created_at_ms: made_at,
            };
            self.delivery.expose_at(&mut self.out, now, activation);
        }
        for hit in record.hits {
            self.delivery
                .track_at(&mut self.out, now, made_at, Item::hit(&hit));
        }
    }
}

/// Reads a record; `None` when any part of it cannot be trusted, or consent was withdrawn
/// (then nothing about the visitor is kept: an empty record).
fn read_record(text: &str) -> Option<Early> {
    let value = json::parse(text).ok()?;
    if value.get("v").and_then(Value::as_f64) != Some(1.0) {
        return None;
    }
    let at = value
        .get("at")
        .and_then(Value::as_f64)
        .filter(|at| at.is_finite())?;
    let visitor = value.get("visitorId").and_then(Value::as_str)?;
    let anonymous = value.get("anonymousId").and_then(Value::as_str);
    // The identity the first stage decided for, validated again: as Segment's IDs it came from.
    let ids = match anonymous {
        Some(anonymous) => SegmentIds {
            user_id: Some(String::from(visitor)),
            anonymous_id: Some(String::from(anonymous)),
        },
        None => SegmentIds {
            user_id: None,
            anonymous_id: Some(String::from(visitor)),
        },
    };
    let identity = resolve(&ids, IdPolicy::UserThenAnonymous).ok()?;
    let mut early = Early {
        at,
        identity,
        exposed: Vec::new(),
        hits: Vec::new(),
    };
    if value.get("consent").and_then(Value::as_bool) != Some(true) {
        return Some(early);
    }
    for exposure in value.get("exposed").and_then(Value::as_array)? {
        let id = |key| exposure.get(key).and_then(Value::as_str).map(String::from);
        early.exposed.push((id("caid")?, id("vaid")?));
    }
    let (vid, cuid) = early.identity.hit_ids();
    for call in value.get("hits").and_then(Value::as_array)? {
        let (method, args) = call.as_array()?.split_first()?;
        let method = HitMethod::parse(method.as_str()?)?;
        // Read as the page's own calls are (the first stage refused the same ones then); the
        // URL of a `page()` is in the record.
        let Ok(kind) = hit_of_call(method, args, "") else {
            continue;
        };
        let hit = Hit {
            visitor_id: String::from(vid),
            customer_user_id: cuid.map(String::from),
            queue_time_ms: 0.0,
            kind,
        };
        if hit.validate().is_ok() {
            early.hits.push(hit);
        }
    }
    Some(early)
}
