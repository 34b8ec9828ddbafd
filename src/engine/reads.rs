//! Flag reads and exposure. A read is a lookup and a type check; only the first read of a
//! variation goes further, re-reading Segment before its activation is queued, so an exposure
//! never carries an identity Segment no longer reports.

use alloc::string::String;
use alloc::vec;

use super::io::{Effect, SegmentCall, SegmentSource};
use super::machine::Engine;
use crate::config::LogLevel;
use crate::decision::{Campaign, FlagMetadata, FlagStore, ReadOutcome, ValueKind};
use crate::identity::ChangeHint;
use crate::json::Value;
use crate::tracking::Activation;

/// What a read gives the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read<'a> {
    /// The flag's value, of the expected kind; `None` means "return the caller's default".
    pub value: Option<&'a Value>,
    /// The answer cannot change until the flags are replaced: repeated reads may be answered
    /// without the engine. `Some(exposed)` tells whether the exposure is with delivery already
    /// (else only reads asking for no exposure may be repeated). Only for primitive values.
    pub repeatable: Option<bool>,
    /// Call [`Engine::expose_flag`] for this key now: the read asked for an exposure and this
    /// variation's has not been queued yet.
    pub expose: bool,
}

impl Engine {
    /// Reads `key` expecting `kind`. When [`Read::expose`] is set the caller calls
    /// [`Engine::expose_flag`] once it is done with the value.
    pub fn read(&mut self, key: &str, kind: ValueKind, expose: bool) -> Read<'_> {
        let read = self.flags.read(key, kind);
        if read.outcome == ReadOutcome::TypeMismatch {
            self.out.log(LogLevel::Warn, "FLAG_TYPE_MISMATCH", |line| {
                line.push_str("flag `");
                line.push_str(key);
                line.push_str("` has another type than its default; default returned");
            });
        }
        let exposed = read.expose.is_some_and(|i| self.exposed[i]);
        let first_exposure = expose && read.expose.is_some() && !exposed;
        let primitive = matches!(
            read.value,
            Some(Value::Bool(_) | Value::Number(_) | Value::String(_))
        );
        Read {
            value: read.value,
            // A read that sends nothing cannot change the flags: later ones may repeat it. One
            // that exposes goes through Segment and may; the next read settles it.
            repeatable: (primitive && !first_exposure).then_some(exposed),
            expose: first_exposure,
        }
    }

    /// Queues the exposure of `key`'s variation without reading it; false when no campaign
    /// sets `key` (or there is no identity).
    pub fn expose_flag(&mut self, now: f64, key: &str, segment: &mut impl SegmentSource) -> bool {
        let (index, activation, viewed) = {
            let (Some((index, campaign)), Some(identity)) =
                (self.flags.campaign_of(key), &self.identity)
            else {
                return false;
            };
            let viewed = self
                .config
                .segment_experiment_viewed
                .then(|| experiment_viewed(campaign));
            (index, Activation::new(identity, campaign, now), viewed)
        };
        if self.expose(now, activation, viewed, segment) {
            self.exposed[index] = true;
        }
        true
    }

    /// Queues an exposure, once per dedupe window, after checking that Segment still reports
    /// the identity the flags were decided for. True once it is with delivery (now or
    /// earlier); false when a later read should try again (refreshing, no consent, identity
    /// changed).
    fn expose(
        &mut self,
        now: f64,
        activation: Activation,
        viewed: Option<SegmentCall>,
        segment: &mut impl SegmentSource,
    ) -> bool {
        if !self.flags_are_current() || !self.consent {
            return false;
        }
        if self.delivery.already_exposed(&activation, now) {
            return true;
        }
        // The flags were decided for the identity Segment had then; if it has changed since,
        // this exposure would carry a stale ID. Decide again instead.
        if self.sync_identity(ChangeHint::None, segment) {
            self.decide(now);
            return false;
        }
        let queued = self.delivery.expose(&mut self.out, now, activation);
        // "Experiment Viewed" goes to Segment only when it is there (not under `fallback`).
        let connected = self.link == super::machine::Link::Connected;
        if let (true, Some(call), true) = (queued, viewed, connected) {
            self.out.push(Effect::TrackInSegment(call));
        }
        true
    }

    /// Metadata of the campaign behind `key`.
    pub fn flag_metadata(&self, key: &str) -> Option<FlagMetadata<'_>> {
        self.flags
            .campaign_of(key)
            .map(|(_, campaign)| FlagMetadata::of(campaign))
    }

    /// The current flags, for snapshots (`getFlags`, the `flags` event).
    pub fn flags(&self) -> &FlagStore {
        &self.flags
    }
}

/// The Segment A/B testing spec's `Experiment Viewed` call for `campaign`.
fn experiment_viewed(campaign: &Campaign) -> SegmentCall {
    let text = |s: &Option<String>| s.clone();
    SegmentCall {
        event: "Experiment Viewed",
        properties: vec![
            ("experiment_id", Some(campaign.id.clone())),
            ("experiment_name", text(&campaign.name)),
            ("variation_id", Some(campaign.variation.id.clone())),
            ("variation_name", text(&campaign.variation.name)),
        ],
    }
}
