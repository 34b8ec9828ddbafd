//! Getting the decision of the current generation, from the Decision API or the bucketing
//! engine (unless the engine already has it: `kept_decisions.rs`), and applying it only if the
//! generation it was asked for is still the current one.

use alloc::string::String;

use super::io::{Effect, PageEvent, Response, SegmentSource};
use super::machine::Engine;
use super::outbox::Purpose;
use crate::config::{LogLevel, Mode};
use crate::context::{full_context, write_context};
use crate::decision::{campaigns_request, interpret_campaigns_response, Decision, FlagStore};
use crate::error::Error;
use crate::identity::{ChangeHint, Identity};
use crate::status::Status;

/// Where applied flags come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// An answer to this generation's request (or the bucketing engine's).
    Answer,
    /// This identity's last good answer, the request having failed or not been allowed.
    Fallback,
    /// A stored answer for this identity and context younger than `decisionMaxAgeMs`.
    Reused,
    /// An older stored answer, applied while the request is out (stale while revalidate).
    Revalidating,
    /// The web build's first stage's answer, taken over (`Takeover`): the page reads these
    /// flags already, so no `flags` event.
    Staged,
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
        answer: Result<String, Error>,
        segment: &mut impl SegmentSource,
    ) {
        let Some(Purpose::Decision(generation)) = self.out.take(token) else {
            return;
        };
        match answer {
            Ok(body) => {
                let response = Response {
                    status: 200,
                    body,
                    last_modified: None,
                    retry_after: None,
                };
                self.on_decision_answer(now, generation, response, segment);
            }
            // The engine's own reason (no file, a refused context, a trap), not a malformed
            // answer.
            Err(error) => self.on_decision_failure(now, generation, error, segment),
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
        if self.sync_identity(ChangeHint::None, segment) {
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
    pub(super) fn apply(&mut self, decision: Decision, source: Source, body: &str) {
        let generation = self.generation;
        let unchanged = self.decisions.is_the_stored_answer(generation, body);
        if matches!(source, Source::Fallback | Source::Revalidating) {
            self.decisions.serve_stored(generation, body);
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
                Source::Staged => " (the first stage's)",
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
            (false, Source::Answer | Source::Reused | Source::Staged) => Status::Ready,
            (false, Source::Fallback) => Status::Cached,
            (false, Source::Revalidating) => Status::Refreshing,
        };
        if matches!(source, Source::Answer | Source::Reused | Source::Staged) {
            self.last_error = None;
        }
        if !unchanged {
            self.set_flags(FlagStore::new(decision));
        }
        self.settle_if_done();
        if !unchanged && source != Source::Staged {
            self.out.push(Effect::Emit(PageEvent::Flags));
        }
    }

    /// The decision failed: this identity's last good answer if there is one, else defaults.
    pub(super) fn decision_failed(&mut self, now: f64, identity: &Identity, error: Error) {
        if self.config.mode == Mode::Api {
            let cache = self.decision_cache();
            let kept = cache.lookup(identity, self.wall(now)).and_then(|body| {
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
}
