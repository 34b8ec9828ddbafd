//! Following Segment: which analytics instance is read, and what happens when the identity or
//! context it reports changes. Every change starts a new generation (see `session`), so nothing
//! decided for the previous identity is applied or exposed afterwards.

use wasm_bindgen::JsValue;

use super::earlier_calls::SegmentCallWatch;
use super::events::Event;
use super::segment::{self, SegmentSource, Subscription};
use super::session::{change_payload, Session};
use super::{log, stored_ids};
use crate::config::Fallback;
use crate::context::Context;
use crate::decision::FlagStore;
use crate::error::Error;
use crate::identity::{classify, resolve, ChangeHint, ChangeReason, SegmentIds};
use crate::status::Status;
use crate::tracking::gate::{EnsureSegmentKnows, IdentityKey};

impl Session {
    /// Under `fallback: "storage"`, adopts the IDs Segment stored; otherwise records `error`.
    pub(super) fn use_stored_ids(&self, error: Error) {
        let stored = stored_ids::read();
        if self.config.fallback != Fallback::Storage || stored == SegmentIds::default() {
            return self.fail(error);
        }
        log::info("segment unavailable; using the IDs segment stored");
        self.state.borrow_mut().id_source = "storage";
        self.switch_to(stored, Context::new(), ChangeHint::None);
    }

    /// Keeps `live` as the instance to read, and listens to its identity events.
    pub(super) fn attach(&self, live: JsValue) {
        let subscribe = |event: &'static str, hint: Option<ChangeHint>| {
            let me = self.me.clone();
            Subscription::new(&live, event, move || {
                if let Some(session) = me.upgrade() {
                    if let Some(hint) = hint {
                        session.on_segment_event(hint);
                    }
                    if event != "reset" {
                        session.on_dispatched();
                    }
                }
            })
        };
        // identify and reset change who the visitor is; page and track (and identify) tell that
        // Segment has dispatched a call for the current visitor, which opens the gate.
        let subscriptions: Vec<_> = [
            ("identify", Some(ChangeHint::Identify)),
            ("reset", Some(ChangeHint::Reset)),
            ("page", None),
            ("track", None),
        ]
        .into_iter()
        .filter_map(|(event, hint)| subscribe(event, hint))
        .collect();
        *self.subscriptions.borrow_mut() = subscriptions;
        self.look_for_earlier_calls(&live);
        self.state.borrow_mut().live = Some(live);
    }

    /// A call Segment sent before we listened (or that finishes after) opens the gate too
    /// (earlier_calls.rs). Watched for as long as the gate would wait, from the first await on:
    /// after `start()` has sent its decision request (the watch sees earlier requests anyway).
    fn look_for_earlier_calls(&self, live: &JsValue) {
        if self.config.ensure_segment_knows == EnsureSegmentKnows::Off {
            return;
        }
        let (me, live) = (self.me.clone(), live.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let Some(session) = me.upgrade() else { return };
            if session.status() != Status::Closed {
                let watch = session.watch_segment_calls(&live);
                session.state.borrow_mut().segment_call_watch = watch;
            }
        });
    }

    fn watch_segment_calls(&self, live: &JsValue) -> Option<SegmentCallWatch> {
        let (me, me_too) = (self.me.clone(), self.me.clone());
        SegmentCallWatch::new(
            live,
            self.config.segment_knows_timeout_ms,
            move || {
                let Some(session) = me.upgrade() else { return };
                if let Some(key) = session.identity_key() {
                    log::debug("segment's API received a call from this page");
                    session.delivery.mark_seen(key);
                }
            },
            move || {
                if let Some(session) = me_too.upgrade() {
                    session.state.borrow_mut().segment_call_watch = None;
                }
            },
        )
    }

    /// The loaded instance to read now. A global that was replaced by another loaded instance
    /// (analytics.js loaded twice, or a stub replaced late) is adopted and re-subscribed.
    pub(super) fn live_instance(&self) -> Option<JsValue> {
        let held = self.state.borrow().live.clone()?;
        if let SegmentSource::Global(_) = self.source {
            let current = self.source.current();
            if !js_sys::Object::is(&current, &held) && segment::is_loaded(&current) {
                log::info("segment instance replaced; following the new one");
                self.attach(current.clone());
                return Some(current);
            }
        }
        Some(held)
    }

    /// The loaded analytics instance, if Segment was reached.
    pub(crate) fn live(&self) -> Option<JsValue> {
        self.state.borrow().live.clone()
    }

    /// Segment emitted a dispatched call: the visitor it carried is now known to Segment.
    pub(crate) fn on_dispatched(&self) {
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
        }
        if let Some(key) = self.identity_key() {
            self.delivery.mark_seen(key);
        }
    }

    /// The gate's key of the current identity.
    pub(crate) fn identity_key(&self) -> Option<IdentityKey> {
        let state = self.state.borrow();
        let identity = state.identity.as_ref()?;
        Some(IdentityKey::new(
            identity.visitor_id(),
            identity.anonymous_id(),
        ))
    }

    /// Called by Segment's `identify`/`reset` events and by the plugin's `identify` hook.
    pub(crate) fn on_segment_event(&self, hint: ChangeHint) {
        if self.sync_identity(hint) {
            self.spawn_decide();
        }
    }

    /// Re-reads Segment's IDs and allowlisted traits; true when that changed the identity or
    /// context, in which case a decision must be fetched.
    pub(crate) fn sync_identity(&self, hint: ChangeHint) -> bool {
        if self.status() == Status::Closed {
            return false;
        }
        let Some(live) = self.live_instance() else {
            return false;
        };
        let mut skipped = Vec::new();
        let Some((ids, traits)) = segment::read_user(&live, &self.config.traits, &mut skipped)
        else {
            return false;
        };
        for key in skipped {
            log::debug(&format!(
                "trait `{key}` is not a string, number or boolean; not sent"
            ));
        }
        self.switch_to(ids, traits, hint)
    }

    /// Adopts a reading of Segment. Returns true when a decision must be fetched.
    pub(super) fn switch_to(&self, ids: SegmentIds, traits: Context, hint: ChangeHint) -> bool {
        let listened = self.listens(Event::Change);
        let event = {
            let mut state = self.state.borrow_mut();
            let before = state.ids.replace(ids.clone());
            let context_changed = state.traits != traits;
            state.traits = traits;
            let first = before.is_none();
            let reason = before.as_ref().and_then(|b| classify(b, &ids, hint));
            match resolve(&ids, self.config.id_policy) {
                Err(error) => {
                    let was = state.identity.take();
                    state.next_generation();
                    state.set_flags(FlagStore::default());
                    drop(state);
                    if first || was.is_some() {
                        self.fail(error);
                    }
                    return false;
                }
                Ok(identity) => {
                    let identity_changed = state.identity.as_ref() != Some(&identity);
                    if !first && !identity_changed && !context_changed {
                        return false;
                    }
                    state.identity = Some(identity);
                    state.next_generation();
                    if first {
                        return true;
                    }
                    if identity_changed {
                        log::info_with(|| {
                            format!(
                                "segment identity changed ({})",
                                reason.map_or("id", ChangeReason::as_str)
                            )
                        });
                        if !self.config.keep_flags_during_refresh {
                            state.set_flags(FlagStore::default());
                        }
                    }
                    state.status = Status::Refreshing;
                    let reason = if identity_changed {
                        reason.unwrap_or(ChangeReason::Identify)
                    } else {
                        ChangeReason::Refresh
                    };
                    listened.then(|| change_payload(&state, reason))
                }
            }
        };
        if let Some(event) = event {
            self.emit(Event::Change, &event);
        }
        true
    }

    /// Merges `context` into the page context; true when that changed what is sent.
    pub(crate) fn update_context(&self, context: Context) -> bool {
        let payload = {
            let mut state = self.state.borrow_mut();
            let before = state.context();
            state.page_context.extend(context);
            if state.context() == before
                || state.identity.is_none()
                || state.status == Status::Closed
            {
                return false;
            }
            state.next_generation();
            state.status = Status::Refreshing;
            change_payload(&state, ChangeReason::Refresh)
        };
        self.emit(Event::Change, &payload);
        true
    }
}
