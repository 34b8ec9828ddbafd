//! One running instance: the identity read from Segment, the flags decided for it, and the
//! exposures sent for it. Every request is built from `State::identity`, which only Segment sets.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::http::{self, SendError};
use super::segment::{self, SegmentSource};
use super::timer::now_ms;
use super::{js, log, stored_ids};
use crate::config::{Config, Fallback};
use crate::decision::{
    campaigns_request, interpret_campaigns_response, FlagMetadata, FlagStore, ReadOutcome,
    ValueKind,
};
use crate::error::Error;
use crate::identity::{redact, resolve, Identity, SegmentIds};
use crate::status::Status;
use crate::tracking::retry::is_retryable;
use crate::tracking::{activation_request, Activation, ExposureLog};

/// The mutable part of a session. Never borrowed across an `.await`.
#[derive(Debug, Default)]
struct State {
    status: Status,
    last_error: Option<Error>,
    identity: Option<Identity>,
    flags: FlagStore,
    exposures: ExposureLog,
    /// Bumped whenever the identity changes, so an answer for an older identity is recognised.
    generation: u64,
}

/// A started module.
#[derive(Debug)]
pub(crate) struct Session {
    config: Config,
    source: SegmentSource,
    state: RefCell<State>,
}

impl Session {
    /// Reads the identity from Segment and fetches its decision. Never fails: a problem leaves
    /// the session on defaults with a status and `last_error` saying why.
    pub(crate) async fn start(config: Config, source: SegmentSource) -> Rc<Session> {
        let session = Rc::new(Session {
            config,
            source,
            state: RefCell::new(State::default()),
        });
        session.decide().await;
        session
    }

    async fn decide(&self) {
        let identity = match self.identity().await {
            Ok(identity) => identity,
            Err(error) => return self.fail(error),
        };
        if self.status() == Status::Closed {
            return;
        }
        let generation = {
            let mut state = self.state.borrow_mut();
            if state.identity.as_ref() != Some(&identity) {
                state.generation += 1;
                state.identity = Some(identity.clone());
                state.flags = FlagStore::default();
            }
            state.generation
        };
        let request = campaigns_request(&self.config, &identity, &self.config.context);
        log::debug(&format!(
            "deciding for visitor {}",
            redact(identity.visitor_id())
        ));
        let answer = match http::post(&request, self.config.timeout_ms, false).await {
            Ok(response) => {
                interpret_campaigns_response(&identity, response.status, &response.body)
            }
            Err(SendError::Timeout) => Err(Error::DecisionTimeout(self.config.timeout_ms)),
            Err(SendError::Network(message)) => Err(Error::DecisionNetwork(message)),
        };
        if self.state.borrow().generation != generation {
            log::debug("decision for a previous identity discarded");
            return;
        }
        match answer {
            Ok(decision) => {
                if decision.skipped_campaigns > 0 {
                    log::warn(&format!(
                        "{} malformed campaign(s) ignored",
                        decision.skipped_campaigns
                    ));
                }
                let mut state = self.state.borrow_mut();
                state.status = if decision.panic {
                    Status::Panic
                } else {
                    Status::Ready
                };
                state.last_error = None;
                log::info(&format!(
                    "{} campaign(s) for visitor {}{}",
                    decision.campaigns.len(),
                    redact(identity.visitor_id()),
                    if decision.panic { " (panic mode)" } else { "" }
                ));
                state.flags = FlagStore::new(decision);
            }
            Err(error) => self.fail(error),
        }
    }

    /// The identity Segment reports now, or the stored one under `fallback: "storage"`.
    async fn identity(&self) -> Result<Identity, Error> {
        let ids = match segment::read_ids(&self.source, self.config.segment_timeout_ms).await {
            Ok(ids) => ids,
            Err(error) if self.config.fallback == Fallback::Storage => {
                let stored = stored_ids::read();
                if stored == SegmentIds::default() {
                    return Err(error);
                }
                log::info("segment unavailable; using the IDs segment stored");
                stored
            }
            Err(error) => return Err(error),
        };
        resolve(&ids, self.config.id_policy)
    }

    fn fail(&self, error: Error) {
        let log_line = format!("{}: {}", error.code(), error);
        let status = Status::after(&error);
        if status == Status::FetchFailed {
            log::error(&log_line);
        } else {
            log::warn(&log_line);
        }
        let mut state = self.state.borrow_mut();
        state.status = status;
        state.last_error = Some(error);
    }

    pub(crate) fn status(&self) -> Status {
        self.state.borrow().status
    }

    pub(crate) fn last_error(&self) -> Option<Error> {
        self.state.borrow().last_error.clone()
    }

    pub(crate) fn visitor_id(&self) -> Option<String> {
        self.state
            .borrow()
            .identity
            .as_ref()
            .map(|i| i.visitor_id().to_owned())
    }

    pub(crate) fn anonymous_id(&self) -> Option<String> {
        let state = self.state.borrow();
        state.identity.as_ref()?.anonymous_id().map(str::to_owned)
    }

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
                (true, Some(campaign), Some(identity)) => {
                    Some(Activation::new(identity, campaign, now_ms()))
                }
                _ => None,
            };
            (read.value.map(js::to_js), activation)
        };
        if let Some(activation) = activation {
            self.expose(activation);
        }
        value
    }

    /// Sends the exposure of `key` without reading it; false if there is nothing to expose.
    pub(crate) fn expose_flag(self: &Rc<Self>, key: &str) -> bool {
        let activation = {
            let state = self.state.borrow();
            match (state.flags.campaign_of(key), &state.identity) {
                (Some(campaign), Some(identity)) => Activation::new(identity, campaign, now_ms()),
                _ => return false,
            }
        };
        self.expose(activation);
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

    /// Every non-null flag as a plain object, without exposure.
    pub(crate) fn flags_snapshot(&self) -> JsValue {
        let state = self.state.borrow();
        let object = js_sys::Object::new();
        for (key, value) in state.flags.values() {
            js::set(&object, key, &js::to_js(value));
        }
        object.into()
    }

    pub(crate) fn close(&self) {
        let mut state = self.state.borrow_mut();
        state.status = Status::Closed;
        state.flags = FlagStore::default();
        // An answer still in flight must not reopen a closed session.
        state.generation += 1;
    }

    fn expose(self: &Rc<Self>, activation: Activation) {
        {
            let mut state = self.state.borrow_mut();
            if state.status != Status::Ready || !state.exposures.record(&activation) {
                return;
            }
        }
        let session = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let request =
                activation_request(&session.config, std::slice::from_ref(&activation), now_ms());
            let status = match http::post(&request, session.config.timeout_ms, true).await {
                Ok(response) if (200..300).contains(&response.status) => return,
                Ok(response) => Some(response.status),
                Err(_) => None,
            };
            log::warn(&format!(
                "activation not delivered ({})",
                status.map_or("no answer".to_owned(), |s| format!("http {s}"))
            ));
            if is_retryable(status) {
                session.state.borrow_mut().exposures.forget(&activation);
            }
        });
    }
}
