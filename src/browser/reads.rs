//! Flag reads and exposure: the hot path. A read is a hash lookup and a type check; only the
//! first read of a variation goes further, re-reading Segment before an activation leaves.

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
    /// Reads `key`; `None` means "return the caller's default". Sends the exposure when asked to
    /// and the read calls for one.
    pub(crate) fn read_flag(
        self: &Rc<Self>,
        key: &str,
        kind: ValueKind,
        expose: bool,
    ) -> Option<JsValue> {
        let (value, activation) = {
            let state = self.state.borrow();
            let read = state.flags.read(key, kind);
            if read.outcome == ReadOutcome::TypeMismatch {
                log::warn(&format!(
                    "flag `{key}` has another type than its default; default returned"
                ));
            }
            let activation = match (expose, read.expose, &state.identity) {
                (true, Some(campaign), Some(identity)) => Some((
                    Activation::new(identity, campaign, now_ms()),
                    self.config
                        .segment_experiment_viewed
                        .then(|| experiment_viewed(campaign)),
                )),
                _ => None,
            };
            (read.value.map(js::to_js), activation)
        };
        if let Some((activation, viewed)) = activation {
            self.expose(activation, viewed);
        }
        value
    }

    /// Sends the exposure of `key` without reading it; false if there is nothing to expose.
    pub(crate) fn expose_flag(self: &Rc<Self>, key: &str) -> bool {
        let activation = {
            let state = self.state.borrow();
            match (state.flags.campaign_of(key), &state.identity) {
                (Some(campaign), Some(identity)) => (
                    Activation::new(identity, campaign, now_ms()),
                    self.config
                        .segment_experiment_viewed
                        .then(|| experiment_viewed(campaign)),
                ),
                _ => return false,
            }
        };
        self.expose(activation.0, activation.1);
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
    fn expose(self: &Rc<Self>, activation: Activation, viewed: Option<JsValue>) {
        {
            let state = self.state.borrow();
            if !matches!(state.status, Status::Ready | Status::Cached) || !state.consent {
                return;
            }
        }
        if self.delivery.already_exposed(&activation) {
            return;
        }
        // The flags were decided for the identity Segment had then; if it has changed since,
        // this exposure would carry a stale ID. Re-decide instead.
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
            return;
        }
        if self.delivery.expose(activation) {
            if let Some(properties) = viewed {
                self.track_in_segment("Experiment Viewed", &properties);
            }
        }
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
