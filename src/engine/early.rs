//! What the page did while only the web build's first stage was up: the exposing reads, hit calls
//! and consent calls it made, in order, each with the identity Segment reported at that moment
//! (js/web/handle.js keeps them). They reach the engine one of two ways:
//! - the full module takes over on that page: the calls are handed to it once it has started
//!   ([`Engine::handle_stage_calls`]), and the page's consent becomes theirs;
//! - the page went away first: it left them in a record, `early:{tabId}:{pageId}`, which the next
//!   page's full module takes in as it takes in a stored queue (its own tab's at once, a closed
//!   tab's after [`ORPHAN_AFTER_MS`]) and removes ([`Engine::restore_early`]).
//!
//! Either way every rule is the engine's: the calls are replayed in order against the consent of
//! the moment (a withdrawal purges what was queued about that visitor and sends its hit at once,
//! unstored), the exposure log deduplicates, hits are read and validated as the page's own calls
//! are, and the seen-by-Segment gate holds them.
//!
//! The calls: `{"consent": <consent before the first call>, "calls": [call, …]}`, each call
//! `[kind, <time of day made>, visitorId, anonymousId | null, …]`:
//! `["expose", …, caid, vaid]`, `["hit", …, method, …args]` (a `page()` with its URL) and
//! `["consent", …, granted]` (its identity may be null: no consent hit then). A record is the
//! same object with `"v": 2` and `"at"`, the time it was written.

use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, StoredState};
use super::machine::Engine;
use super::stored_queues::ORPHAN_AFTER_MS;
use crate::config::{IdPolicy, LogLevel};
use crate::context::SDK_CLIENT;
use crate::identity::{resolve, Identity, SegmentIds};
use crate::json::{self, Value};
use crate::tracking::hits::{hit_of_call, Hit, HitKind, HitMethod};
use crate::tracking::{Activation, Item};

/// The stored keys of early records start with this, then the tab's ID, `:` and the page's.
pub const EARLY_PREFIX: &str = "early:";

/// The version of the record's form.
const RECORD_VERSION: f64 = 2.0;

/// One call the page made while only the first stage was up.
#[derive(Debug)]
struct Call {
    /// When it was made (time of day, ms).
    at: f64,
    /// The identity Segment reported then; `None` only for a consent call made without one.
    identity: Option<Identity>,
    what: What,
}

#[derive(Debug)]
enum What {
    Expose { caid: String, vaid: String },
    Hit(HitKind),
    Consent(bool),
}

/// The page's calls, read.
#[derive(Debug)]
struct Calls {
    consent: bool,
    calls: Vec<Call>,
}

impl Engine {
    /// The first stage's calls on this page, handed over once this module has started: replayed
    /// in order, and the page's consent is theirs afterwards.
    pub fn handle_stage_calls(&mut self, now: f64, text: &str) {
        let Some(calls) = json::parse(text).ok().as_ref().and_then(read_calls) else {
            return self.discarded("the calls made before the module loaded were unreadable");
        };
        let had_consent_call = calls
            .calls
            .iter()
            .any(|c| matches!(c.what, What::Consent(_)));
        let consent = self.replay(now, calls);
        if had_consent_call {
            self.consent = consent;
        }
    }

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
                    .is_some_and(|(at, _)| wall - at < ORPHAN_AFTER_MS)
            {
                continue;
            }
            match record {
                Some((_, calls)) => {
                    self.replay(now, calls);
                }
                None => self.discarded(
                    "a record of what a page did before the module loaded was unreadable",
                ),
            }
            self.out.push(Effect::Store { name, value: None });
        }
    }

    fn discarded(&mut self, what: &str) {
        self.out
            .log(LogLevel::Warn, "STORED_DATA_DISCARDED", |line| {
                line.push_str(what);
                line.push_str(" and are discarded");
            });
    }

    /// Replays `calls` in order from their first consent; returns the consent after them.
    fn replay(&mut self, now: f64, calls: Calls) -> bool {
        let mut consent = calls.consent;
        let offset = self.wall_offset();
        for call in calls.calls {
            let made_at = call.at - offset;
            match (call.what, call.identity) {
                (What::Consent(granted), identity) => {
                    consent = granted;
                    let Some(identity) = identity else {
                        continue;
                    };
                    let (vid, cuid) = identity.hit_ids();
                    let hit = Hit::consent(vid, cuid, SDK_CLIENT, granted);
                    if granted {
                        self.delivery
                            .track_at(&mut self.out, now, made_at, Item::hit(&hit));
                    } else {
                        let mut about = alloc::vec![vid];
                        about.extend(cuid);
                        self.delivery.purge(&mut self.out, now, &about);
                        self.delivery
                            .send_now(&mut self.out, &self.config, now, Item::hit(&hit));
                    }
                }
                (_, None) => {}
                (_, Some(_)) if !consent => {}
                (What::Expose { caid, vaid }, Some(identity)) => {
                    let activation = Activation {
                        visitor_id: String::from(identity.visitor_id()),
                        anonymous_id: identity.anonymous_id().map(String::from),
                        variation_group_id: caid,
                        variation_id: vaid,
                        created_at_ms: made_at,
                    };
                    self.delivery.expose_at(&mut self.out, now, activation);
                }
                (What::Hit(kind), Some(identity)) => {
                    let (vid, cuid) = identity.hit_ids();
                    let hit = Hit {
                        visitor_id: String::from(vid),
                        customer_user_id: cuid.map(String::from),
                        queue_time_ms: 0.0,
                        kind,
                    };
                    self.delivery
                        .track_at(&mut self.out, now, made_at, Item::hit(&hit));
                }
            }
        }
        consent
    }
}

/// Reads a record: when it was written and its calls; `None` when it cannot be trusted.
fn read_record(text: &str) -> Option<(f64, Calls)> {
    let value = json::parse(text).ok()?;
    if value.get("v").and_then(Value::as_f64) != Some(RECORD_VERSION) {
        return None;
    }
    let at = value
        .get("at")
        .and_then(Value::as_f64)
        .filter(|at| at.is_finite())?;
    Some((at, read_calls(&value)?))
}

/// Reads `{consent, calls}`. A call that cannot be trusted (an identity that is not a valid
/// Segment identity, a hit the page's own call would have been refused for) is left out, as the
/// first stage refused it then; a list that is not one is refused whole.
fn read_calls(value: &Value) -> Option<Calls> {
    let consent = value.get("consent").and_then(Value::as_bool)?;
    let calls = value
        .get("calls")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(read_call)
        .collect();
    Some(Calls { consent, calls })
}

fn read_call(call: &Value) -> Option<Call> {
    let parts = call.as_array()?;
    let [kind, at, visitor, anonymous, rest @ ..] = parts else {
        return None;
    };
    let at = at.as_f64().filter(|at| at.is_finite())?;
    let identity = identity_of(visitor, anonymous);
    let what = match kind.as_str()? {
        "consent" => What::Consent(rest.first()?.as_bool()?),
        "expose" => {
            let id = |i: usize| rest.get(i)?.as_str().map(String::from);
            What::Expose {
                caid: id(0)?,
                vaid: id(1)?,
            }
        }
        "hit" => {
            let (method, args) = rest.split_first()?;
            let method = HitMethod::parse(method.as_str()?)?;
            // The URL of a `page()` is in the call.
            let kind = hit_of_call(method, args, "").ok()?;
            let (vid, cuid) = identity.as_ref()?.hit_ids();
            let hit = Hit {
                visitor_id: String::from(vid),
                customer_user_id: cuid.map(String::from),
                queue_time_ms: 0.0,
                kind,
            };
            hit.validate().ok()?;
            What::Hit(hit.kind)
        }
        _ => return None,
    };
    Some(Call { at, identity, what })
}

/// The identity a call names, validated again as the Segment IDs it came from: `visitor` is the
/// userId when `anonymous` is beside it, else the anonymousId.
fn identity_of(visitor: &Value, anonymous: &Value) -> Option<Identity> {
    let visitor = String::from(visitor.as_str()?);
    let ids = match anonymous.as_str() {
        Some(anonymous) => SegmentIds {
            user_id: Some(visitor),
            anonymous_id: Some(String::from(anonymous)),
        },
        None => SegmentIds {
            user_id: None,
            anonymous_id: Some(visitor),
        },
    };
    resolve(&ids, IdPolicy::UserThenAnonymous).ok()
}
