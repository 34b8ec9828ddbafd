//! Flag reads and exposure: the hot path. A read is a hash lookup and a type check; only the
//! first read of a variation goes further, re-reading Segment before an activation leaves.

use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::http;
use super::session::Session;
use super::timer::now_ms;
use super::{js, log};
use crate::decision::{FlagMetadata, ReadOutcome, ValueKind};
use crate::identity::ChangeHint;
use crate::status::Status;
use crate::tracking::retry::is_retryable;
use crate::tracking::{activation_request, Activation};

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

    fn expose(self: &Rc<Self>, activation: Activation) {
        {
            let state = self.state.borrow();
            if state.status != Status::Ready || state.exposures.contains(&activation) {
                return;
            }
        }
        // The flags were decided for the identity Segment had then; if it has changed since,
        // this exposure would carry a stale ID. Re-decide instead.
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
            return;
        }
        if !self.state.borrow_mut().exposures.record(&activation) {
            return;
        }
        let session = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let request =
                activation_request(&session.config, std::slice::from_ref(&activation), now_ms());
            let status = match http::post(&request, session.config.timeout_ms, true, None).await {
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
