//! Getting the decision of the current generation: from the Decision API (with the last good
//! answer for exactly this identity as a fallback) or from the bucketing engine, and applying
//! it only if the generation it was asked for is still the current one.

use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, PageEvent, Response, SegmentSource, StoredState};
use super::machine::Engine;
use super::outbox::Purpose;
use crate::config::{LogLevel, Mode};
use crate::context::{full_context, write_context};
use crate::decision::cache::DecisionCache;
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
    /// Good answers to keep, written once the page has had its flags (storage is slow in a
    /// fresh page, and the cache is read only when a later request fails).
    pending: Vec<(Identity, String)>,
    /// When `pending` is written.
    write_at: Option<f64>,
}

impl DecisionState {
    pub(super) fn cache_write_at(&self) -> Option<f64> {
        self.write_at
    }
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
        let generation = self.generation;
        self.out.log(LogLevel::Debug, "DECIDING", |line| {
            line.push_str("deciding for visitor ");
            line.push_str(&crate::identity::redact(identity.visitor_id()));
        });
        match self.config.mode {
            Mode::Api => {
                let request =
                    campaigns_request(&self.config, &identity, &self.context(), self.consent);
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
        match interpret_campaigns_response(&identity, response.status, &response.body) {
            Ok(decision) => {
                if self.config.mode == Mode::Api {
                    self.keep_decision(now, identity, response.body);
                }
                self.apply(decision, false);
            }
            Err(error) => self.decision_failed(now, &identity, error),
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

    /// Applies a decision; `cached`: it is this identity's last good one, the API having failed.
    fn apply(&mut self, decision: Decision, cached: bool) {
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
            if decision.panic {
                line.push_str(" (panic mode)");
            }
        });
        self.status = match (decision.panic, cached) {
            (true, _) => Status::Panic,
            (false, true) => Status::Cached,
            (false, false) => Status::Ready,
        };
        if !cached {
            self.last_error = None;
        }
        self.set_flags(FlagStore::new(decision));
        self.settle_if_done();
        self.out.push(Effect::Emit(PageEvent::Flags));
    }

    /// The decision failed: this identity's last good answer if there is one, else defaults.
    fn decision_failed(&mut self, now: f64, identity: &Identity, error: Error) {
        if self.config.mode == Mode::Api {
            let cached = self
                .decision_cache(now)
                .lookup(identity, now)
                .and_then(|body| interpret_campaigns_response(identity, 200, body).ok());
            if let Some(decision) = cached {
                self.out.log(LogLevel::Warn, error.code(), |line| {
                    line.push_str(&error.message());
                    line.push_str("; serving this visitor's cached decision");
                });
                self.last_error = Some(error);
                return self.apply(decision, true);
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

    /// Keeps `body` as `identity`'s last good answer, written at the next timer.
    fn keep_decision(&mut self, now: f64, identity: Identity, body: String) {
        self.decisions.pending.push((identity, body));
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
        for (identity, body) in &pending {
            cache.store(identity, body, now);
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
