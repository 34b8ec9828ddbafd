//! `diagnose()`: a plain object a support engineer can paste into a ticket. It names which
//! Segment the page has and where the IDs came from, but holds no full ID or key.

use wasm_bindgen::JsValue;

use super::session::Session;
use super::{js, stored_ids};
use crate::config::Mode;
use crate::identity::redact;
use crate::tracking::gate::IdentityKey;

impl Session {
    /// The `diagnose()` object.
    pub(crate) fn diagnose(&self) -> JsValue {
        let object = js_sys::Object::new();
        let text = |s: Option<String>| s.map_or(JsValue::NULL, |s| JsValue::from_str(&s));
        let counters = self.delivery.counters();
        let pair = |queued: usize, sent: u64, dropped: u64| {
            let o = js_sys::Object::new();
            js::set(&o, "queued", &JsValue::from_f64(queued as f64));
            js::set(&o, "sent", &JsValue::from_f64(sent as f64));
            js::set(&o, "dropped", &JsValue::from_f64(dropped as f64));
            JsValue::from(o)
        };
        let state = self.state.borrow();
        let error = state
            .last_error
            .as_ref()
            .map(|e| js::error_object(e.code(), &e.to_string()));
        let identity = state.identity.as_ref();
        js::set(
            &object,
            "version",
            &JsValue::from_str(crate::context::SDK_VERSION),
        );
        js::set(&object, "status", &JsValue::from_str(state.status.as_str()));
        js::set(&object, "lastError", &error.unwrap_or(JsValue::NULL));
        let mode = match self.config.mode {
            Mode::Api => "api",
            Mode::Bucketing => "bucketing",
        };
        js::set(&object, "mode", &JsValue::from_str(mode));
        js::set(
            &object,
            "visitorId",
            &text(identity.map(|i| redact(i.visitor_id()))),
        );
        js::set(
            &object,
            "anonymousId",
            &text(identity.and_then(|i| i.anonymous_id()).map(redact)),
        );
        js::set(&object, "consent", &JsValue::from_bool(state.consent));
        let segment = js_sys::Object::new();
        js::set(
            &segment,
            "flavour",
            &JsValue::from_str(if state.segment.flavour.is_empty() {
                "unknown"
            } else {
                state.segment.flavour
            }),
        );
        js::set(&segment, "version", &text(state.segment.version.clone()));
        js::set(
            &segment,
            "idSource",
            &JsValue::from_str(if state.id_source.is_empty() {
                "none"
            } else {
                state.id_source
            }),
        );
        let agree = match stored_ids::anonymous_id_copies() {
            (Some(cookie), Some(local)) => JsValue::from_bool(cookie == local),
            _ => JsValue::NULL,
        };
        js::set(&segment, "cookieAndStorageAgree", &agree);
        js::set(&object, "segment", &segment);
        let seen = identity.map(|i| {
            self.delivery
                .is_seen(IdentityKey::new(i.visitor_id(), i.anonymous_id()))
        });
        js::set(
            &object,
            "seenBySegment",
            &seen.map_or(JsValue::NULL, JsValue::from_bool),
        );
        js::set(
            &object,
            "sentBeforeSegmentKnew",
            &JsValue::from_f64(self.delivery.sent_unseen() as f64),
        );
        js::set(
            &object,
            "hits",
            &pair(
                counters.hits_queued,
                counters.hits_sent,
                counters.hits_dropped,
            ),
        );
        js::set(
            &object,
            "activations",
            &pair(
                counters.activations_queued,
                counters.activations_sent,
                counters.activations_dropped,
            ),
        );
        let endpoints = js_sys::Object::new();
        js::set(
            &endpoints,
            "decision",
            &JsValue::from_str(&self.config.endpoints.decision),
        );
        js::set(
            &endpoints,
            "events",
            &JsValue::from_str(&self.config.endpoints.events),
        );
        js::set(
            &endpoints,
            "cdn",
            &JsValue::from_str(&self.config.endpoints.cdn),
        );
        js::set(&object, "endpoints", &endpoints);
        js::set(&object, "envId", &JsValue::from_str(&self.config.env_id));
        js::set(
            &object,
            "apiKey",
            &JsValue::from_str(&redact(&self.config.api_key)),
        );
        object.into()
    }
}
