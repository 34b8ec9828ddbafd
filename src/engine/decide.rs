//! Getting the decision of the current generation: from the Decision API (with the last good
//! answer for exactly this identity as a fallback, reused outright when young enough under
//! `decisionMaxAgeMs`, and no request while the environment is rate limited) or from the
//! bucketing engine, and applying it only if the generation it was asked for is still the
//! current one.

use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, PageEvent, Response, SegmentSource, StoredState};
use super::machine::Engine;
use super::outbox::Purpose;
use crate::config::{LogLevel, Mode};
use crate::context::{full_context, write_context, Context};
use crate::decision::cache::DecisionCache;
use crate::decision::initial::parse_initial_decision;
use crate::decision::rate_limit::{self, NOT_BEFORE_KEY};
use crate::decision::{campaigns_request, interpret_campaigns_response, Decision, FlagStore};
use crate::error::Error;
use crate::identity::{ChangeHint, Identity};
use crate::status::Status;

/// Where the last good decisions are kept (`{prefix}decisions`).
pub const CACHE_KEY: &str = "decisions";

/// The per-identity decision cache as the engine holds it.
#[derive(Debug, Default)]
pub(super) struct DecisionState {
    /// The stored cache text, read at restore; parsed only when a decision fails or a good
    /// answer is kept.
    stored: Option<String>,
    /// Good answers to keep (identity, context text, body), written once the page has had its
    /// flags (storage is slow in a fresh page).
    pending: Vec<(Identity, String, String)>,
    /// When `pending` is written.
    write_at: Option<f64>,
    /// No Decision API request before this time: a 429, on this page or another of the
    /// environment.
    not_before: Option<f64>,
    /// When to ask again, the rate limit having kept a decision from being asked for.
    ask_at: Option<f64>,
    /// `initialDecision`, until the first decision: used then if made for that identity.
    pub(super) initial: Option<String>,
    /// The flags of this generation came from this stored answer: an answer with the same
    /// text replaces nothing (no `flags` event), it only makes them current. Compared as text:
    /// comparing parsed decisions links a sort and JSON equality (+3.5 KB raw measured).
    served_from_storage: Option<(u64, String)>,
}

impl DecisionState {
    pub(super) fn cache_write_at(&self) -> Option<f64> {
        self.write_at
    }

    /// When [`Engine::handle_timeout`] has decision work to do.
    pub(super) fn next_timer(&self) -> Option<f64> {
        match (self.write_at, self.ask_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The time before which no request goes, if it is still ahead.
    pub(super) fn rate_limited_until(&self, now: f64) -> Option<f64> {
        self.not_before.filter(|until| *until > now)
    }

    /// The flags of `generation` are a stored decision being asked for again.
    pub(super) fn serves_stored(&self, generation: u64) -> bool {
        matches!(self.served_from_storage, Some((g, _)) if g == generation)
    }
}

/// Where applied flags come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// An answer to this generation's request (or the bucketing engine's).
    Answer,
    /// This identity's last good answer, the request having failed or not been allowed.
    Fallback,
    /// A stored answer for this identity and context younger than `decisionMaxAgeMs`.
    Reused,
    /// An older stored answer, applied while the request is out (stale while revalidate).
    Revalidating,
}

impl Engine {
    /// Asks for the decision of the current generation, unless there is no identity.
    pub(super) fn decide(&mut self, now: f64) {
        if self.is_closed() {
            return;
        }
        let Some(identity) = self.identity.clone() else {
            return;
        };
        if let Some(initial) = self.decisions.initial.take() {
            if self.hydrate(now, &identity, &initial) {
                return;
            }
        }
        let generation = self.generation;
        self.out.log(LogLevel::Debug, "DECIDING", |line| {
            line.push_str("deciding for visitor ");
            line.push_str(&crate::identity::redact(identity.visitor_id()));
        });
        match self.config.mode {
            Mode::Api => {
                if let Some(until) = self.decisions.rate_limited_until(now) {
                    return self.wait_for_rate_limit(now, &identity, until);
                }
                let context = self.context();
                if self.config.decision_max_age_ms > 0
                    && self.reuse_stored_decision(now, &identity, &context)
                {
                    return;
                }
                let request = campaigns_request(&self.config, &identity, &context, self.consent);
                self.out.send(
                    request,
                    Purpose::Decision(generation),
                    now,
                    Some(self.config.timeout_ms),
                );
            }
            Mode::Bucketing => {
                if !self.bucketing.is_ready() {
                    // Decided once the engine has the file; or, without any, it fails then.
                    self.bucketing.decision_waiting = true;
                    return self.fail_without_file();
                }
                let token = self.out.local(Purpose::Decision(generation));
                let visitor_id = String::from(identity.visitor_id());
                let mut context = String::new();
                write_context(&mut context, &full_context(&self.context(), &visitor_id));
                self.out.push(Effect::DecideLocally {
                    token,
                    visitor_id,
                    context,
                });
            }
        }
    }

    /// The bucketing engine's answer to [`Effect::DecideLocally`]: a Decision API body.
    pub fn handle_local_decision(
        &mut self,
        now: f64,
        token: super::io::Token,
        body: String,
        segment: &mut impl SegmentSource,
    ) {
        if let Some(Purpose::Decision(generation)) = self.out.take(token) {
            let response = Response {
                status: 200,
                body,
                last_modified: None,
                retry_after: None,
            };
            self.on_decision_answer(now, generation, response, segment);
        }
    }

    /// An answer (of any status) to the decision request of `generation`.
    pub(super) fn on_decision_answer(
        &mut self,
        now: f64,
        generation: u64,
        response: Response,
        segment: &mut impl SegmentSource,
    ) {
        if !self.still_current(now, generation, segment) {
            return;
        }
        let Some(identity) = self.identity.clone() else {
            return;
        };
        if response.status == 429 {
            self.rate_limited(now, response.retry_after.as_deref());
        }
        match interpret_campaigns_response(&identity, response.status, &response.body) {
            Ok(decision) => {
                self.apply(decision, Source::Answer, &response.body);
                if self.config.mode == Mode::Api {
                    self.keep_decision(now, identity, response.body);
                }
            }
            Err(error) => self.decision_failed(now, &identity, error),
        }
    }

    /// The first decision: `initialDecision` is applied, with no request, if it was made for
    /// exactly `identity`; otherwise the page is told why, and the module decides as usual.
    fn hydrate(&mut self, now: f64, identity: &Identity, text: &str) -> bool {
        let initial = match parse_initial_decision(text) {
            Ok(initial) if initial.is_for(identity) => initial,
            Ok(_) => {
                let error = Error::StaleIdentity;
                self.warn_page(error.code(), error.message());
                return false;
            }
            Err(error) => {
                self.warn_page(error.code(), error.message());
                return false;
            }
        };
        match interpret_campaigns_response(identity, 200, &initial.body) {
            Ok(decision) => {
                self.apply(decision, Source::Answer, &initial.body);
                if self.config.mode == Mode::Api {
                    self.keep_decision(now, identity.clone(), initial.body);
                }
                true
            }
            Err(error) => {
                self.warn_page(error.code(), error.message());
                false
            }
        }
    }

    /// Under `decisionMaxAgeMs`: applies the stored answer for exactly this identity and
    /// context, if there is one. True when it is young enough that nothing is asked; an older
    /// one is applied (status `REFRESHING`, reads expose) while the request goes out.
    fn reuse_stored_decision(&mut self, now: f64, identity: &Identity, context: &Context) -> bool {
        let mut context_text = String::new();
        write_context(&mut context_text, context);
        let cache = self.decision_cache(now);
        let Some(kept) = cache.lookup_same(identity, &context_text, now) else {
            return false;
        };
        let Ok(decision) = interpret_campaigns_response(identity, 200, kept.body) else {
            return false;
        };
        let fresh = kept.age_ms <= f64::from(self.config.decision_max_age_ms);
        let source = if fresh {
            Source::Reused
        } else {
            Source::Revalidating
        };
        self.apply(decision, source, kept.body);
        fresh
    }

    /// A 429: no request from any page of the environment before the time it asks for.
    fn rate_limited(&mut self, now: f64, retry_after: Option<&str>) {
        let until = rate_limit::not_before(now, retry_after);
        self.decisions.not_before = Some(until);
        self.decisions.ask_at = Some(until);
        self.out.push(Effect::Store {
            name: String::from(NOT_BEFORE_KEY),
            value: Some(rate_limit::encode(until)),
        });
    }

    /// The environment is rate limited until `until`: no request; this identity's stored
    /// decision or defaults meanwhile, and the decision is asked for once the time has come.
    fn wait_for_rate_limit(&mut self, now: f64, identity: &Identity, until: f64) {
        self.decisions.ask_at = Some(until);
        let seconds = crate::num::ceil((until - now) / 1000.0) as u32;
        self.decision_failed(now, identity, Error::DecisionRateLimited(seconds));
    }

    /// The rate limit has passed: the decision it kept from being asked for is asked now.
    pub(super) fn ask_after_rate_limit(&mut self, now: f64) {
        if self.decisions.ask_at.is_some_and(|at| at <= now) {
            self.decisions.ask_at = None;
            if !matches!(self.status, Status::Ready | Status::Panic) {
                self.decide(now);
            }
        }
    }

    /// Storage as `start()` finds it, read before the first request: the environment's rate
    /// limit, and the stored decisions if they may be used at once (reuse, or a limit).
    pub(super) fn read_decision_state(&mut self, now: f64, stored: &impl StoredState) {
        if self.config.mode != Mode::Api {
            return;
        }
        self.handle_stored_rate_limit(now, stored.get(NOT_BEFORE_KEY).as_deref());
        let may_use =
            self.config.decision_max_age_ms > 0 || self.decisions.rate_limited_until(now).is_some();
        if may_use && self.decisions.stored.is_none() {
            self.decisions.stored = stored.get(CACHE_KEY);
        }
    }

    /// The environment's rate limit as storage holds it now (read at start, and again when
    /// another page or tab writes storage): a limit given to any of them holds here too.
    pub fn handle_stored_rate_limit(&mut self, now: f64, value: Option<&str>) {
        if let Some(until) = value
            .and_then(rate_limit::decode)
            .filter(|until| *until > now)
        {
            let later = self.decisions.not_before.map_or(until, |t| t.max(until));
            self.decisions.not_before = Some(later);
        }
    }

    /// No answer to the decision request of `generation`.
    pub(super) fn on_decision_failure(
        &mut self,
        now: f64,
        generation: u64,
        error: Error,
        segment: &mut impl SegmentSource,
    ) {
        if !self.still_current(now, generation, segment) {
            return;
        }
        if let Some(identity) = self.identity.clone() {
            self.decision_failed(now, &identity, error);
        }
    }

    /// True when an answer for `generation` may be applied: it is the current one, and
    /// Segment has not changed with no event (`setAnonymousId`) while it was out, in which case
    /// the new identity's decision is asked for instead.
    fn still_current(
        &mut self,
        now: f64,
        generation: u64,
        segment: &mut impl SegmentSource,
    ) -> bool {
        if generation != self.generation {
            self.out.log(LogLevel::Debug, "STALE_ANSWER", |line| {
                line.push_str("decision for a previous identity or context discarded");
            });
            return false;
        }
        if self.sync_identity(now, ChangeHint::None, segment) {
            self.out.log(LogLevel::Debug, "STALE_ANSWER", |line| {
                line.push_str("segment identity changed during the request; deciding again");
            });
            self.decide(now);
            return false;
        }
        true
    }

    /// Applies a decision. One equal to the stored decision the flags came from replaces
    /// nothing: the flags become current, and no `flags` event is emitted.
    fn apply(&mut self, decision: Decision, source: Source, body: &str) {
        let generation = self.generation;
        let unchanged = matches!(
            self.decisions.served_from_storage.take(),
            Some((g, served)) if g == generation && served == body
        );
        if matches!(source, Source::Fallback | Source::Revalidating) {
            self.decisions.served_from_storage = Some((generation, String::from(body)));
        }
        if decision.skipped_campaigns > 0 {
            self.out.log(LogLevel::Warn, "DECISION_MALFORMED", |line| {
                crate::json::write_number(line, decision.skipped_campaigns as f64);
                line.push_str(" malformed campaign(s) ignored");
            });
        }
        let visitor = self.redacted_visitor();
        self.out.log(LogLevel::Info, "DECIDED", |line| {
            crate::json::write_number(line, decision.campaigns.len() as f64);
            line.push_str(" campaign(s) for visitor ");
            line.push_str(&visitor);
            line.push_str(match source {
                Source::Answer if unchanged => " (as stored)",
                Source::Answer => "",
                Source::Fallback => " (stored, as a fallback)",
                Source::Reused => " (stored, reused)",
                Source::Revalidating => " (stored, asking again)",
            });
            if decision.panic {
                line.push_str(" (panic mode)");
            }
        });
        self.status = match (decision.panic, source) {
            (true, _) => Status::Panic,
            (false, Source::Answer | Source::Reused) => Status::Ready,
            (false, Source::Fallback) => Status::Cached,
            (false, Source::Revalidating) => Status::Refreshing,
        };
        if matches!(source, Source::Answer | Source::Reused) {
            self.last_error = None;
        }
        if !unchanged {
            self.set_flags(FlagStore::new(decision));
        }
        self.settle_if_done();
        if !unchanged {
            self.out.push(Effect::Emit(PageEvent::Flags));
        }
    }

    /// The decision failed: this identity's last good answer if there is one, else defaults.
    fn decision_failed(&mut self, now: f64, identity: &Identity, error: Error) {
        if self.config.mode == Mode::Api {
            let cache = self.decision_cache(now);
            let kept = cache.lookup(identity, now).and_then(|body| {
                let decision = interpret_campaigns_response(identity, 200, body).ok()?;
                Some((decision, body))
            });
            if let Some((decision, body)) = kept {
                self.out.log(LogLevel::Warn, error.code(), |line| {
                    line.push_str(&error.message());
                    line.push_str("; serving this visitor's cached decision");
                });
                self.last_error = Some(error);
                return self.apply(decision, Source::Fallback, body);
            }
        }
        self.set_flags(FlagStore::default());
        self.fail(error);
    }

    /// In bucketing mode without a file (none yet, or none could be had): the failure, if the
    /// file is known to be missing; otherwise the decision waits for it.
    pub(super) fn fail_without_file(&mut self) {
        if let Some(error) = self.bucketing.failure() {
            self.bucketing.decision_waiting = false;
            self.set_flags(FlagStore::default());
            self.fail(error);
        }
    }

    /// Keeps `body` as `identity`'s last good answer (with the context it was asked with),
    /// written at the next timer.
    fn keep_decision(&mut self, now: f64, identity: Identity, body: String) {
        let mut context = String::new();
        write_context(&mut context, &self.context());
        self.decisions.pending.push((identity, context, body));
        self.decisions.write_at.get_or_insert(now);
    }

    /// Writes the answers kept by [`Engine::keep_decision`].
    pub(super) fn write_decision_cache(&mut self, now: f64) {
        self.decisions.write_at = None;
        let pending = core::mem::take(&mut self.decisions.pending);
        if pending.is_empty() {
            return;
        }
        let mut cache = self.decision_cache(now);
        for (identity, context, body) in &pending {
            cache.store(identity, context, body, now);
        }
        let text = cache.encode();
        self.decisions.stored = Some(text.clone());
        self.out.push(Effect::Store {
            name: String::from(CACHE_KEY),
            value: Some(text),
        });
    }

    /// The stored decisions; a corrupt store is dropped, not thrown.
    fn decision_cache(&mut self, _now: f64) -> DecisionCache {
        let Some(text) = &self.decisions.stored else {
            return DecisionCache::default();
        };
        match DecisionCache::decode(text) {
            Ok(cache) => cache,
            Err(reason) => {
                self.out
                    .log(LogLevel::Warn, "STORED_DATA_DISCARDED", |line| {
                        line.push_str("stored decisions discarded: ");
                        line.push_str(reason);
                    });
                self.decisions.stored = None;
                self.out.push(Effect::Store {
                    name: String::from(CACHE_KEY),
                    value: None,
                });
                DecisionCache::default()
            }
        }
    }

    /// The stored state, asked for by [`Effect::Restore`]: queues, exposures, seen markers and
    /// the decision cache.
    pub fn handle_restore(&mut self, now: f64, stored: &impl StoredState) {
        if self.decisions.stored.is_none() {
            self.decisions.stored = stored.get(CACHE_KEY);
        }
        self.delivery
            .restore(&mut self.out, &self.config, now, stored);
    }
}
