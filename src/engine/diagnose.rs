//! What the engine knows for `diagnose()`: a support engineer's view with no full ID or key.
//! The shell adds what only the page can tell (which Segment, cookie and storage copies).

use alloc::string::String;

use super::delivery::Counters;
use super::machine::{Engine, IdSource};
use crate::config::Mode;
use crate::error::Error;
use crate::identity::redact;
use crate::status::Status;

/// The engine's part of `diagnose()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis<'a> {
    /// Current status.
    pub status: Status,
    /// The last failure.
    pub last_error: Option<&'a Error>,
    /// API or bucketing.
    pub mode: Mode,
    /// The visitor ID, redacted.
    pub visitor_id: Option<String>,
    /// The anonymousId beside it, redacted.
    pub anonymous_id: Option<String>,
    /// The visitor's consent.
    pub consent: bool,
    /// Where the IDs came from.
    pub id_source: IdSource,
    /// Whether Segment dispatched a call for the current visitor (`None` without one).
    pub seen_by_segment: Option<bool>,
    /// Identities whose events left before Segment knew them, after the gate's timeout.
    pub sent_before_segment_knew: u64,
    /// The activation queue.
    pub activations: Counters,
    /// The hit queue.
    pub hits: Counters,
    /// The API key, redacted.
    pub api_key: String,
    /// Storage refused a write: queues are in memory only.
    pub storage_refused: bool,
    /// No Decision API request before this time of day (ms since the epoch), after a 429;
    /// `None` once it has passed.
    pub rate_limited_until: Option<f64>,
}

impl Engine {
    /// The engine's part of `diagnose()` at `now`.
    pub fn diagnose(&self, now: f64) -> Diagnosis<'_> {
        let identity = self.identity.as_ref();
        let (activations, hits) = self.delivery.counters();
        Diagnosis {
            status: self.status,
            last_error: self.last_error.as_ref(),
            mode: self.config.mode,
            visitor_id: identity.map(|i| redact(i.visitor_id())),
            anonymous_id: identity.and_then(|i| i.anonymous_id()).map(redact),
            consent: self.consent,
            id_source: self.id_source,
            seen_by_segment: self.identity_key().map(|key| self.delivery.is_seen(key)),
            sent_before_segment_knew: self.delivery.sent_unseen(),
            activations,
            hits,
            api_key: redact(&self.config.api_key),
            storage_refused: self.storage_refused,
            rate_limited_until: self
                .decisions
                .rate_limited_until(now)
                .map(|until| self.wall(until)),
        }
    }
}
