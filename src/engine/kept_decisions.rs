//! Decisions the engine has without asking: the per-identity cache in localStorage (the
//! fallback when a request fails, reused outright under `decisionMaxAgeMs`), a preloaded
//! `initialDecision`, and the environment's rate limit, which keeps requests from being sent.

use alloc::string::String;
use alloc::vec::Vec;

use super::decide::Source;
use super::io::{Effect, StoredState};
use super::machine::Engine;
use crate::config::{LogLevel, Mode};
use crate::context::{write_context, Context};
use crate::decision::cache::DecisionCache;
use crate::decision::initial::parse_initial_decision;
use crate::decision::interpret_campaigns_response;
use crate::decision::rate_limit::{self, NOT_BEFORE_KEY};
use crate::error::Error;
use crate::identity::Identity;
use crate::status::Status;

/// Where the last good decisions are kept (`{prefix}decisions`).
pub const CACHE_KEY: &str = "decisions";

/// What the engine keeps of decisions: the stored cache, answers waiting to be written, the rate
/// limit, a preloaded decision, and whether the flags came from storage.
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
    /// Taking over from the first stage (see [`super::io::Takeover`]), until its exposures
    /// are sent or dropped.
    pub(super) takeover: Option<super::io::Takeover>,
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

    /// Records that the flags of `generation` are the stored answer `body`.
    pub(super) fn serve_stored(&mut self, generation: u64, body: &str) {
        self.served_from_storage = Some((generation, String::from(body)));
    }

    /// An answer `body` for `generation` arrives: true when it is the stored answer its flags
    /// already came from (nothing to replace). Either way the flags are no longer stored ones.
    pub(super) fn is_the_stored_answer(&mut self, generation: u64, body: &str) -> bool {
        matches!(
            self.served_from_storage.take(),
            Some((g, served)) if g == generation && served == body
        )
    }

    /// The flags of `generation` are a stored decision being asked for again.
    pub(super) fn serves_stored(&self, generation: u64) -> bool {
        matches!(self.served_from_storage, Some((g, _)) if g == generation)
    }
}

impl Engine {
    /// The first decision: `initialDecision` is applied, with no request, if it was made for
    /// exactly `identity`; otherwise the page is told why, and the module decides as usual.
    pub(super) fn hydrate(&mut self, now: f64, identity: &Identity, text: &str) -> bool {
        let takeover = self.decisions.takeover.as_ref();
        let kept = takeover.is_none_or(|t| t.fresh);
        let taking_over = takeover.is_some();
        let initial = match parse_initial_decision(text) {
            Ok(initial) if initial.is_for(identity) => initial,
            // Segment changed between the first stage's decision and now: decided again, as
            // after any identity change (the page was told: `announce_takeover_change`).
            Ok(_) if taking_over => return false,
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
                let source = match taking_over {
                    true => Source::Staged,
                    false => Source::Answer,
                };
                self.apply(decision, source, &initial.body);
                // A stored decision the first stage reused keeps its age.
                if self.config.mode == Mode::Api && kept {
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
    pub(super) fn reuse_stored_decision(
        &mut self,
        now: f64,
        identity: &Identity,
        context: &Context,
    ) -> bool {
        let mut context_text = String::new();
        write_context(&mut context_text, context);
        let cache = self.decision_cache();
        let Some(kept) = cache.lookup_same(identity, &context_text, self.wall(now)) else {
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
    pub(super) fn rate_limited(&mut self, now: f64, retry_after: Option<&str>) {
        let until = rate_limit::not_before(now, retry_after);
        self.decisions.not_before = Some(until);
        self.decisions.ask_at = Some(until);
        self.out.push(Effect::Store {
            name: String::from(NOT_BEFORE_KEY),
            value: Some(rate_limit::encode(self.wall(until))),
        });
    }

    /// The environment is rate limited until `until`: no request; this identity's stored
    /// decision or defaults meanwhile, and the decision is asked for once the time has come.
    pub(super) fn wait_for_rate_limit(&mut self, now: f64, identity: &Identity, until: f64) {
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

    /// Another page or tab of the site wrote localStorage (`key`, `None` when it cleared it):
    /// if it was this environment's rate limit, it holds here too.
    pub fn handle_storage_changed(&mut self, now: f64, key: Option<&str>, value: Option<&str>) {
        let ours = crate::wire::join(
            &crate::config::storage_prefix(&self.config.env_id),
            &[NOT_BEFORE_KEY],
        );
        if key == Some(ours.as_str()) {
            self.handle_stored_rate_limit(now, value);
        }
    }

    /// The environment's rate limit as storage holds it now (read at start, and again when
    /// another page or tab writes storage): a limit given to any of them holds here too.
    pub fn handle_stored_rate_limit(&mut self, now: f64, value: Option<&str>) {
        // Stored as a time of day, kept as an instant of this page's clock.
        let offset = self.wall_offset();
        if let Some(until) = value
            .and_then(rate_limit::decode)
            .map(|until| until - offset)
            .filter(|until| *until > now)
        {
            let later = self.decisions.not_before.map_or(until, |t| t.max(until));
            self.decisions.not_before = Some(later);
        }
    }

    /// Keeps `body` as `identity`'s last good answer (with the context it was asked with),
    /// written at the next timer.
    pub(super) fn keep_decision(&mut self, now: f64, identity: Identity, body: String) {
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
        let mut cache = self.decision_cache();
        let saved_at = self.wall(now);
        for (identity, context, body) in &pending {
            cache.store(identity, context, body, saved_at);
        }
        let text = cache.encode();
        self.decisions.stored = Some(text.clone());
        self.out.push(Effect::Store {
            name: String::from(CACHE_KEY),
            value: Some(text),
        });
    }

    /// The stored decisions; a corrupt store is dropped, not thrown.
    pub(super) fn decision_cache(&mut self) -> DecisionCache {
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
        if self.consent {
            self.restore_early(now, stored);
        }
    }
}
