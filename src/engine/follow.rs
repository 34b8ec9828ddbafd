//! Following Segment: finding analytics.js, reading who the visitor is, and what happens when
//! that changes. Every change starts a new generation, so nothing decided for the previous
//! identity is applied or exposed afterwards; Segment is re-read before each exposure and hit
//! and after each answer, because `setAnonymousId` fires no event.

use alloc::string::String;

use super::io::{Effect, PageEvent, Probe, SegmentSource};
use super::machine::{Engine, IdSource, Link, PROBE_EVERY_MS};
use crate::config::{EnsureSegmentKnows, Fallback, LogLevel};
use crate::context::Context;
use crate::decision::FlagStore;
use crate::error::Error;
use crate::identity::{classify, redact, resolve, ChangeHint, ChangeReason, SegmentIds};
use crate::status::Status;
use crate::tracking::gate::IdentityKey;

/// What analytics.js just reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEvent {
    /// Its `identify` event: a new userId, and a call dispatched.
    Identify,
    /// Its `reset` event: the visitor logged out.
    Reset,
    /// Its `page` or `track` event: a call dispatched for the current visitor.
    Dispatched,
    /// The module's analytics-next plugin saw an `identify` before Segment delivered it.
    IdentifyHook,
}

impl Engine {
    /// Starts the module: looks for analytics.js (for up to `segmentTimeoutMs`), and decides
    /// as soon as it has an identity. In bucketing mode the file and the engine are fetched
    /// meanwhile, unless `preloaded` holds the file; a preloaded decision for the identity read
    /// from Segment is used instead of the first request. `stored` is read for what the first
    /// decision needs (the rate limit, reusable decisions); the rest of storage is restored
    /// later, off the path to the first flag.
    pub fn start(
        &mut self,
        now: f64,
        preloaded: super::io::Preloaded,
        segment: &mut impl SegmentSource,
        stored: &impl super::io::StoredState,
    ) {
        if self.link != Link::Idle {
            return;
        }
        self.read_decision_state(now, stored);
        self.decisions.initial = preloaded.decision;
        self.decisions.takeover = preloaded.takeover;
        self.link = Link::Connecting {
            next_probe: now,
            deadline: now + f64::from(self.config.segment_timeout_ms),
            saw_something: false,
        };
        if self.config.mode == crate::config::Mode::Bucketing {
            self.start_bucketing(now, preloaded.bucketing);
        }
        self.probe(now, segment);
        // After the decision request, if one went out: storage is slow to open in a fresh page.
        self.delivery.ask_restore(&mut self.out);
    }

    /// Looks for analytics.js once more; gives up at the deadline.
    pub(super) fn probe(&mut self, now: f64, segment: &mut impl SegmentSource) {
        let Link::Connecting {
            deadline,
            saw_something,
            ..
        } = self.link
        else {
            return;
        };
        let found = segment.probe();
        if found == Probe::Loaded {
            self.link = Link::Connected;
            self.id_source = IdSource::Segment;
            self.out.push(Effect::Subscribe);
            if self.config.ensure_segment_knows != EnsureSegmentKnows::Off {
                self.out.push(Effect::WatchSegmentCalls);
                self.watch_until = Some(now + f64::from(self.config.segment_knows_timeout_ms));
            }
            let deciding = self.sync_identity(ChangeHint::None, segment);
            self.announce_takeover_change();
            if deciding {
                self.decide(now);
            }
            self.seen_during_takeover(now);
            return;
        }
        let saw_something = saw_something || found == Probe::Loading;
        if now >= deadline {
            self.link = Link::Without;
            let error = match saw_something {
                true => Error::SegmentTimeout(self.config.segment_timeout_ms),
                false => Error::SegmentUnavailable,
            };
            self.without_segment(now, error, segment);
        } else {
            self.link = Link::Connecting {
                next_probe: (now + PROBE_EVERY_MS).min(deadline),
                deadline,
                saw_something,
            };
        }
    }

    /// analytics.js has become readable (an `AnalyticsBrowser` resolved): look now rather than
    /// at the next probe.
    pub fn handle_segment_ready(&mut self, now: f64, segment: &mut impl SegmentSource) {
        self.probe(now, segment);
    }

    /// No Segment to follow: under `fallback: "storage"` the IDs it stored, read once;
    /// otherwise `error`, and no request.
    fn without_segment(&mut self, now: f64, error: Error, segment: &mut impl SegmentSource) {
        let stored = match self.config.fallback {
            Fallback::Storage => segment.stored_ids(),
            Fallback::None => SegmentIds::default(),
        };
        if stored == SegmentIds::default() {
            return self.fail(error);
        }
        self.out.log(LogLevel::Info, "SEGMENT_FALLBACK", |line| {
            line.push_str("segment unavailable; using the IDs segment stored");
        });
        self.id_source = IdSource::Storage;
        if self.switch_to(stored, Context::new(), ChangeHint::None) {
            self.decide(now);
        }
        // Its decision was used or not above; without Segment, no call was dispatched.
        self.decisions.takeover = None;
    }

    /// What analytics.js reported: an identity change, or a call dispatched for the visitor.
    pub fn handle_segment_event(
        &mut self,
        now: f64,
        event: SegmentEvent,
        segment: &mut impl SegmentSource,
    ) {
        let hint = match event {
            SegmentEvent::Identify | SegmentEvent::IdentifyHook => ChangeHint::Identify,
            SegmentEvent::Reset => ChangeHint::Reset,
            SegmentEvent::Dispatched => ChangeHint::None,
        };
        if self.sync_identity(hint, segment) {
            self.decide(now);
        }
        // `identify`, `page` and `track` events fire once Segment has delivered the call: the
        // visitor it carried is known to Segment now.
        if matches!(event, SegmentEvent::Identify | SegmentEvent::Dispatched) {
            self.mark_current_seen(now);
        }
    }

    /// A request to Segment's own API completed in the page (possibly before the module
    /// listened): it is taken to carry the identity Segment reports now.
    pub fn handle_segment_call_seen(&mut self, now: f64) {
        if self.watch_until.take().is_some() {
            self.out.push(Effect::StopWatching);
        }
        self.out.log(LogLevel::Debug, "SEGMENT_CALL_SEEN", |line| {
            line.push_str("segment's API received a call from this page");
        });
        self.mark_current_seen(now);
    }

    /// Taking over from the first stage, whose flags the page reads: if Segment's identity is
    /// no longer the one they were decided for, the page hears of it as of any identity change
    /// (`change`, then `flags` once decided), the reason named from the stage's IDs
    /// (`Takeover::segment_ids`) and whether Segment fired `reset` meanwhile.
    fn announce_takeover_change(&mut self) {
        let Some(takeover) = self.decisions.takeover.as_ref() else {
            return;
        };
        if self.identity.is_none() || takeover.is_for(self.identity.as_ref()) {
            return;
        }
        let (Some(before), Some(now)) = (takeover.segment_ids(), self.ids.as_ref()) else {
            return;
        };
        let hint = match takeover.reset {
            true => ChangeHint::Reset,
            false => ChangeHint::None,
        };
        let reason = classify(&before, now, hint).unwrap_or(ChangeReason::Identify);
        self.out.log(LogLevel::Info, "IDENTITY_CHANGED", |line| {
            line.push_str("segment identity changed while the module loaded (");
            line.push_str(reason.as_str());
            line.push(')');
        });
        self.emit_change(reason);
    }

    /// Segment dispatched a call while only the first stage was up (see `Takeover`): it knows
    /// the visitor, if that was this identity. The takeover is done with then: its decision was
    /// used, or not, by the first decision just made.
    fn seen_during_takeover(&mut self, now: f64) {
        let Some(takeover) = self.decisions.takeover.take() else {
            return;
        };
        if takeover.dispatched && takeover.is_for(self.identity.as_ref()) {
            self.mark_current_seen(now);
        }
    }

    fn mark_current_seen(&mut self, now: f64) {
        if let Some(key) = self.identity_key() {
            self.delivery.mark_seen(&mut self.out, now, key);
        }
    }

    /// The gate's key of the current identity.
    pub(super) fn identity_key(&self) -> Option<IdentityKey> {
        let identity = self.identity.as_ref()?;
        Some(IdentityKey::new(
            identity.visitor_id(),
            identity.anonymous_id(),
        ))
    }

    /// Re-reads Segment; true when that changed the identity or context, in which case a
    /// decision must be fetched.
    pub(super) fn sync_identity(
        &mut self,
        hint: ChangeHint,
        segment: &mut impl SegmentSource,
    ) -> bool {
        if self.is_closed() || self.link != Link::Connected {
            return false;
        }
        match segment.read() {
            Some(reading) => self.switch_to(reading.ids, reading.traits, hint),
            None => false,
        }
    }

    /// Adopts a reading of Segment. Returns true when a decision must be fetched.
    fn switch_to(&mut self, ids: SegmentIds, traits: Context, hint: ChangeHint) -> bool {
        let before = self.ids.replace(ids.clone());
        let context_changed = self.traits != traits;
        self.traits = traits;
        let first = before.is_none();
        let reason = before.as_ref().and_then(|b| classify(b, &ids, hint));
        let identity = match resolve(&ids, self.config.id_policy) {
            Ok(identity) => identity,
            Err(rejection) => {
                let was = self.identity.take();
                self.next_generation();
                self.set_flags(FlagStore::default());
                if first || was.is_some() {
                    self.fail(Error::InvalidVisitorId(rejection));
                }
                return false;
            }
        };
        let identity_changed = self.identity.as_ref() != Some(&identity);
        if !first && !identity_changed && !context_changed {
            return false;
        }
        self.identity = Some(identity);
        self.next_generation();
        if first {
            return true;
        }
        let reason = if identity_changed {
            self.out.log(LogLevel::Info, "IDENTITY_CHANGED", |line| {
                line.push_str("segment identity changed (");
                line.push_str(reason.map_or("id", ChangeReason::as_str));
                line.push(')');
            });
            if !self.config.keep_flags_during_refresh {
                self.set_flags(FlagStore::default());
            }
            reason.unwrap_or(ChangeReason::Identify)
        } else {
            ChangeReason::Refresh
        };
        self.status = Status::Refreshing;
        self.emit_change(reason);
        true
    }

    fn emit_change(&mut self, reason: ChangeReason) {
        let identity = self.identity.as_ref();
        let visitor_id = identity.map(|i| String::from(i.visitor_id()));
        let anonymous_id = identity.and_then(|i| i.anonymous_id()).map(String::from);
        self.out.push(Effect::Emit(PageEvent::Change {
            reason,
            visitor_id,
            anonymous_id,
        }));
    }

    /// Merges `context` into the page context; true when that changed what is sent, in which
    /// case the new decision is on its way (promises wait for [`Effect::Settled`]).
    pub fn update_context(&mut self, now: f64, context: Context) -> bool {
        let before = self.context();
        self.page_context.extend(context);
        if self.context() == before || self.identity.is_none() || self.is_closed() {
            return false;
        }
        self.next_generation();
        self.status = Status::Refreshing;
        self.emit_change(ChangeReason::Refresh);
        self.decide(now);
        true
    }

    /// The context sent: traits first, so that a value the page set explicitly wins.
    pub(super) fn context(&self) -> Context {
        let mut context = self.traits.clone();
        context.extend(
            self.page_context
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        context
    }

    /// Stops following Segment and deciding; later reads return defaults. What is queued is
    /// then sent: `Flushed` with the returned ID follows, after which nothing more is sent or
    /// scheduled (what could not leave stays stored for the next page).
    pub fn close(&mut self, now: f64) -> u32 {
        if !self.is_closed() {
            self.status = Status::Closed;
            if self.watch_until.take().is_some() {
                self.out.push(Effect::StopWatching);
            }
            self.link = Link::Without;
            self.set_flags(FlagStore::default());
            self.next_generation();
            self.out.push(Effect::Unsubscribe);
            self.out.push(Effect::Settled);
            self.bucketing.next_poll_at = None;
        }
        self.delivery.flush(&mut self.out, &self.config, now, true)
    }

    /// The visitor ID, redacted for logs.
    pub(super) fn redacted_visitor(&self) -> String {
        self.identity
            .as_ref()
            .map_or_else(String::new, |i| redact(i.visitor_id()))
    }
}
