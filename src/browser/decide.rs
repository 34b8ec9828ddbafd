//! Getting a decision for the current generation: from the Decision API (with the per-identity
//! cache as a fallback) or from the bucketing file, and applying it only if the generation it was
//! asked for is still the current one.

use std::rc::Rc;

use web_sys::AbortController;

use super::bucketing_file::{self, Fetched};
use super::events::Event;
use super::http::{self, SendError};
use super::log;
use super::session::{Session, CACHE_KEY};
use super::storage::Store;
use super::timer::{now_ms, sleep};
use crate::bucketing::{self, parse_bucketing};
use crate::config::Mode;
use crate::context::{full_context, Context};
use crate::decision::cache::DecisionCache;
use crate::decision::{campaigns_request, interpret_campaigns_response, Decision, FlagStore};
use crate::error::Error;
use crate::identity::{redact, ChangeHint, Identity};
use crate::status::Status;

impl Session {
    /// Takes the page's file if it gave one (no request before the first decision), else
    /// fetches it; then keeps it fresh if polling is on.
    pub(super) async fn load_bucketing(&self, initial: Option<String>) {
        let from_page = initial.map(|text| parse_bucketing(&text));
        match from_page {
            Some(Ok(file)) => self.state.borrow_mut().bucketing = Some(Rc::new(file)),
            Some(Err(error)) => {
                log::warn(&format!(
                    "initialBucketing refused ({}); fetching the file",
                    error
                ));
                self.refresh_bucketing().await;
            }
            None => {
                self.refresh_bucketing().await;
            }
        }
        self.start_polling();
    }

    /// Fetches the bucketing file once; true when a new file was adopted.
    async fn refresh_bucketing(&self) -> bool {
        let last_modified = self.state.borrow().last_modified.clone();
        match bucketing_file::fetch(&self.config, last_modified.as_deref()).await {
            Fetched::Updated(file, last_modified) => {
                let mut state = self.state.borrow_mut();
                state.bucketing = Some(Rc::new(file));
                state.last_modified = last_modified;
                true
            }
            Fetched::NotModified => false,
            Fetched::Failed(error) => {
                // The last good file stays in use; without one, decide() reports the error.
                log::warn(&format!(
                    "{}: {}; keeping the last good bucketing file",
                    error.code(),
                    error
                ));
                self.state.borrow_mut().last_error = Some(error);
                false
            }
        }
    }

    fn start_polling(&self) {
        let interval = self.config.polling_interval_ms;
        if interval == 0 {
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                sleep(interval).await;
                let Some(session) = me.upgrade() else { return };
                if session.status() == Status::Closed {
                    return;
                }
                if session.refresh_bucketing().await {
                    session.state.borrow_mut().next_generation();
                    session.decide().await;
                }
            }
        });
    }

    pub(crate) fn spawn_decide(&self) {
        if let Some(session) = self.me.upgrade() {
            wasm_bindgen_futures::spawn_local(async move { session.decide().await });
        }
    }

    /// Fetches the decision of the current generation and applies it if it is still current.
    pub(crate) async fn decide(&self) {
        let (identity, context, generation, controller) = {
            let mut state = self.state.borrow_mut();
            let Some(identity) = state.identity.clone() else {
                return;
            };
            if state.status == Status::Closed {
                return;
            }
            // Only a request can be aborted; a local decision has none.
            let controller = match self.config.mode {
                Mode::Api => AbortController::new().ok(),
                Mode::Bucketing => None,
            };
            state.in_flight = controller.clone();
            (identity, state.context(), state.generation, controller)
        };
        log::debug_with(|| format!("deciding for visitor {}", redact(identity.visitor_id())));
        let answer = match self.config.mode {
            Mode::Api => self.fetch_decision(&identity, &context, controller).await,
            Mode::Bucketing => self.local_decision(&identity, &context),
        };
        if self.state.borrow().generation != generation {
            // Whoever moved to a new generation started that generation's decision.
            log::debug("decision for a previous identity or context discarded");
            return;
        }
        // Segment may have changed with no event (setAnonymousId) while the request was out.
        if self.sync_identity(ChangeHint::None) {
            log::debug("segment identity changed during the request; deciding again");
            return self.spawn_decide();
        }
        self.state.borrow_mut().in_flight = None;
        match answer {
            Ok((decision, cached)) => {
                if decision.skipped_campaigns > 0 {
                    log::warn(&format!(
                        "{} malformed campaign(s) ignored",
                        decision.skipped_campaigns
                    ));
                }
                log::info_with(|| {
                    format!(
                        "{} campaign(s) for visitor {}{}",
                        decision.campaigns.len(),
                        redact(identity.visitor_id()),
                        if decision.panic { " (panic mode)" } else { "" }
                    )
                });
                {
                    let mut state = self.state.borrow_mut();
                    state.status = match (decision.panic, cached) {
                        (true, _) => Status::Panic,
                        (false, true) => Status::Cached,
                        (false, false) => Status::Ready,
                    };
                    if !cached {
                        state.last_error = None;
                    }
                    state.set_flags(FlagStore::new(decision));
                }
                self.notify_settled();
                self.emit_with(Event::Flags, || self.flags_snapshot());
            }
            Err(error) => {
                self.state.borrow_mut().set_flags(FlagStore::default());
                self.fail(error);
            }
        }
    }

    /// Asks the Decision API. A good answer is kept for this identity; when the API fails, the
    /// answer kept for exactly this identity is used instead (`true`: from the cache).
    async fn fetch_decision(
        &self,
        identity: &Identity,
        context: &Context,
        controller: Option<AbortController>,
    ) -> Result<(Decision, bool), Error> {
        let consent = self.state.borrow().consent;
        let request = campaigns_request(&self.config, identity, context, consent);
        let failure = match http::post(&request, self.config.timeout_ms, false, controller).await {
            Ok(response) => {
                match interpret_campaigns_response(identity, response.status, &response.body) {
                    Ok(decision) => {
                        cache_decision_later(&self.store, identity, response.body);
                        return Ok((decision, false));
                    }
                    Err(error) => error,
                }
            }
            Err(SendError::Timeout) => Error::DecisionTimeout(self.config.timeout_ms),
            Err(SendError::Network(message)) => Error::DecisionNetwork(message),
        };
        let cached = load_cache(&self.store)
            .lookup(identity, now_ms())
            .and_then(|body| interpret_campaigns_response(identity, 200, body).ok());
        match cached {
            Some(decision) => {
                log::warn(&format!(
                    "{}: {}; serving this visitor's cached decision",
                    failure.code(),
                    failure
                ));
                self.state.borrow_mut().last_error = Some(failure);
                Ok((decision, true))
            }
            None => Err(failure),
        }
    }

    /// Decides from the bucketing file: the same answer the Decision API would give, no request.
    fn local_decision(
        &self,
        identity: &Identity,
        context: &Context,
    ) -> Result<(Decision, bool), Error> {
        let file = self.state.borrow().bucketing.clone();
        let Some(file) = file else {
            let error = self.state.borrow().last_error.clone();
            return Err(error.unwrap_or_else(|| Error::BucketingFetch("no bucketing file".into())));
        };
        let visitor = identity.visitor_id();
        let decision = bucketing::decide(&file, visitor, &full_context(context, visitor));
        Ok((decision, false))
    }

    pub(super) fn fail(&self, error: Error) {
        let status = Status::after(&error);
        self.warn_page(error.code(), &error.to_string());
        {
            let mut state = self.state.borrow_mut();
            state.status = status;
            state.last_error = Some(error);
        }
        self.notify_settled();
    }
}

/// The stored decisions of this environment; a corrupt entry is dropped, not thrown.
fn load_cache(store: &Store) -> DecisionCache {
    match store
        .get(CACHE_KEY)
        .map(|text: String| DecisionCache::decode(&text))
    {
        Some(Ok(cache)) => cache,
        Some(Err(reason)) => {
            log::warn(&format!("stored decisions discarded: {reason}"));
            store.remove(CACHE_KEY);
            DecisionCache::default()
        }
        None => DecisionCache::default(),
    }
}

/// Keeps `body` as `identity`'s last good answer, once the page has had its flags: storage is
/// slow in a fresh page, and the cache is only read when a later request fails. A timer task
/// runs before any later request's answer is handled, so that answer can fall back on it.
fn cache_decision_later(store: &Store, identity: &Identity, body: String) {
    let (store, identity) = (store.clone(), identity.clone());
    wasm_bindgen_futures::spawn_local(async move {
        sleep(0).await;
        let mut cache = load_cache(&store);
        cache.store(&identity, &body, now_ms());
        if store.set(CACHE_KEY, &cache.encode()).is_err() {
            log::debug("decision cache not stored (storage full or disabled)");
        }
    });
}
