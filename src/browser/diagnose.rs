//! `diagnose()`: a plain object a support engineer can paste into a ticket. The engine's part
//! (status, redacted IDs, counters, the gate) plus what only the page can tell: which Segment,
//! and whether its cookie and localStorage copies of the anonymousId agree.

use js_sys::Object;
use wasm_bindgen::JsValue;

use super::driver::Driver;
use super::{js, stored_ids};
use crate::config::Mode;
use crate::engine::{Counters, IdSource};

/// The `diagnose()` object; `null` if the engine is busy (called from inside one of its
/// callbacks).
pub(crate) fn diagnose(driver: &Driver) -> JsValue {
    let (flavour, version) = driver.describe_segment();
    driver
        .peek(|engine| {
            let d = engine.diagnose(super::driver::now());
            let config = engine.config();
            let object = Object::new();
            let set = |key, value: &JsValue| js::set(&object, key, value);
            set("version", &JsValue::from_str(crate::context::SDK_VERSION));
            set("status", &JsValue::from_str(d.status.as_str()));
            let error = d
                .last_error
                .map(|e| js::error_object(e.code(), &e.message()));
            set("lastError", &error.unwrap_or(JsValue::NULL));
            let mode = match d.mode {
                Mode::Api => "api",
                Mode::Bucketing => "bucketing",
            };
            set("mode", &JsValue::from_str(mode));
            set("visitorId", &js::text(d.visitor_id.as_deref()));
            set("anonymousId", &js::text(d.anonymous_id.as_deref()));
            set("consent", &JsValue::from_bool(d.consent));
            let segment = Object::new();
            js::set(&segment, "flavour", &JsValue::from_str(flavour));
            js::set(&segment, "version", &js::text(version.as_deref()));
            let source = match d.id_source {
                IdSource::Segment => "segment",
                IdSource::Storage => "storage",
                IdSource::None => "none",
            };
            js::set(&segment, "idSource", &JsValue::from_str(source));
            let agree =
                stored_ids::anonymous_id_copies_agree().map_or(JsValue::NULL, JsValue::from_bool);
            js::set(&segment, "cookieAndStorageAgree", &agree);
            set("segment", &segment);
            let seen = d.seen_by_segment.map_or(JsValue::NULL, JsValue::from_bool);
            set("seenBySegment", &seen);
            set(
                "sentBeforeSegmentKnew",
                &JsValue::from_f64(d.sent_before_segment_knew as f64),
            );
            set("storageRefused", &JsValue::from_bool(d.storage_refused));
            set(
                "rateLimitedUntil",
                &d.rate_limited_until
                    .map_or(JsValue::NULL, JsValue::from_f64),
            );
            set("hits", &counters(&d.hits));
            set("activations", &counters(&d.activations));
            let endpoints = Object::new();
            js::set(
                &endpoints,
                "decision",
                &JsValue::from_str(&config.endpoints.decision),
            );
            js::set(
                &endpoints,
                "events",
                &JsValue::from_str(&config.endpoints.events),
            );
            js::set(&endpoints, "cdn", &JsValue::from_str(&config.endpoints.cdn));
            set("endpoints", &endpoints);
            set("envId", &JsValue::from_str(&config.env_id));
            set("apiKey", &JsValue::from_str(&d.api_key));
            JsValue::from(object)
        })
        .unwrap_or(JsValue::NULL)
}

fn counters(c: &Counters) -> JsValue {
    let object = Object::new();
    js::set(&object, "queued", &JsValue::from_f64(c.queued as f64));
    js::set(&object, "sent", &JsValue::from_f64(c.sent as f64));
    js::set(&object, "dropped", &JsValue::from_f64(c.dropped as f64));
    object.into()
}
