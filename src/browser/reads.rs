//! Flag reads and exposure. A repeated read is answered in JS (read_cache.rs); one that reaches
//! the wasm is a hash lookup and a type check, and only the first read of a variation goes
//! further, re-reading Segment before an activation leaves.

use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::session::Session;
use super::timer::now_ms;
use super::{js, log};
use crate::decision::{Campaign, FlagMetadata, ReadOutcome, ValueKind};
use crate::identity::ChangeHint;
use crate::status::Status;
use crate::tracking::Activation;

impl Session {
    /// Reads `key` (`page_key`: the same key as the page's JS string); `None` means "return the
    /// caller's default". Sends the exposure when asked to and the read calls for one.
    pub(crate) fn read_flag(
        self: &Rc<Self>,
        key: &str,
        page_key: &JsValue,
        kind: ValueKind,
        expose: bool,
    ) -> Option<JsValue> {
        let (value, first_exposure) = {
            let state = self.state.borrow();
            let read = state.flags.read(key, kind);
            if read.outcome == ReadOutcome::TypeMismatch {
                log::warn(&format!(
                    "flag `{key}` has another type than its default; default returned"
                ));
            }
            let exposed = read
                .expose
                .is_some_and(|campaign| state.exposed.contains(&address(campaign)));
            let first_exposure = expose && read.expose.is_some() && !exposed;
            let value = read.value.map(|v| (v, js::to_js(v)));
            // A read that sends nothing cannot have changed the flags: later ones may repeat it
            // from JS. One that exposes goes through Segment and may; the next read settles it.
            if let (Some((flag, js_value)), false) = (&value, first_exposure) {
                state.read_cache.remember(page_key, flag, js_value, exposed);
            }
            (value.map(|(_, js_value)| js_value), first_exposure)
        };
        if first_exposure {
            self.expose_flag(key);
        }
        value
    }

    /// Sends the exposure of `key` without reading it; false if there is nothing to expose.
    pub(crate) fn expose_flag(self: &Rc<Self>, key: &str) -> bool {
        let (activation, viewed, campaign) = {
            let state = self.state.borrow();
            match (state.flags.campaign_of(key), &state.identity) {
                (Some(campaign), Some(identity)) => (
                    Activation::new(identity, campaign, now_ms()),
                    self.config
                        .segment_experiment_viewed
                        .then(|| experiment_viewed(campaign)),
                    address(campaign),
                ),
                _ => return false,
            }
        };
        if self.expose(activation, viewed) {
            self.state.borrow_mut().exposed.insert(campaign);
        }
        true
    }

    /// Metadata of the campaign behind `key`, as a plain object, or `null`.
    pub(crate) fn flag_metadata(&self, key: &str) -> JsValue {
        let state = self.state.borrow();
        match state.flags.campaign_of(key) {
            Some(campaign) => js::metadata(&FlagMetadata::of(campaign)),
            None => JsValue::NULL,
        }
    }

    /// Queues the exposure of `campaign`'s variation, once per dedupe window, after checking
    /// that Segment still reports the identity the flags were decided for.
    /// True once the exposure is with delivery (queued now or earlier); false when it was not
    /// sent and a later read should try again (refreshing, no consent, identity changed).
    fn expose(self: &Rc<Self>, activation: Activation, viewed: Option<JsValue>) -> bool {
        {
            let state = self.state.borrow();
            if !matches!(state.status, Status::Ready | Status::Cached) || !state.consent {
                return false;
            }
        }
        if self.delivery.already_exposed(&activation) {
            return true;
        }
        // The flags were decided for the identity Segment had then; if it has changed since,
        // this exposure would carry a stale ID. Re-decide instead.
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
            return false;
        }
        let queued = self.delivery.expose(activation);
        if let (true, Some(properties)) = (queued, viewed) {
            self.track_in_segment("Experiment Viewed", &properties);
        }
        true
    }
}

/// The Segment A/B testing spec's `Experiment Viewed` properties of `campaign`.
fn experiment_viewed(campaign: &Campaign) -> JsValue {
    js::properties(&[
        ("experiment_id", Some(&campaign.id)),
        ("experiment_name", campaign.name.as_deref()),
        ("variation_id", Some(&campaign.variation.id)),
        ("variation_name", campaign.variation.name.as_deref()),
    ])
}

/// A campaign's identity within the current flags: its address, stable while they are held.
fn address(campaign: &Campaign) -> usize {
    campaign as *const Campaign as usize
}
