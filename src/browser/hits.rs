//! Hits and consent on a session: every hit is built from the identity Segment reports at the
//! moment it is sent (`vid`/`cuid` per contract §2), and nothing is sent or stored about a
//! visitor who has not consented.

use wasm_bindgen::JsValue;

use super::session::Session;
use super::{js, log, stored_ids};
use crate::context::SDK_CLIENT;
use crate::error::Error;
use crate::identity::{redact, ChangeHint};
use crate::status::Status;
use crate::tracking::hits::{Hit, HitKind};

impl Session {
    /// Queues a hit for the current Segment identity. `Ok(false)` when it is not sent for a
    /// reason that is not the page's mistake (no consent, no identity, closed).
    pub(crate) fn track_hit(&self, kind: HitKind) -> Result<bool, Error> {
        if self.status() == Status::Closed {
            return Ok(false);
        }
        if self.sync_identity(ChangeHint::None) {
            self.spawn_decide();
        }
        let hit = {
            let state = self.state.borrow();
            let Some(identity) = state.identity.as_ref() else {
                log::warn("hit not sent: no Segment identity");
                return Ok(false);
            };
            if !state.consent {
                log::debug("hit not sent: the visitor has not consented");
                return Ok(false);
            }
            let (visitor_id, customer_user_id) = identity.hit_ids();
            Hit {
                visitor_id: visitor_id.to_owned(),
                customer_user_id: customer_user_id.map(str::to_owned),
                queue_time_ms: 0.0,
                kind,
            }
        };
        hit.validate().map_err(Error::InvalidHit)?;
        self.delivery.track(hit);
        Ok(true)
    }

    /// Records the visitor's consent and sends the consent hit. Withdrawing it purges what is
    /// queued about them; decisions go on, with `visitor_consent: false`.
    pub(crate) fn set_consent(&self, granted: bool) {
        let ids = {
            let mut state = self.state.borrow_mut();
            state.consent = granted;
            state.identity.as_ref().map(|identity| {
                let (vid, cuid) = identity.hit_ids();
                (vid.to_owned(), cuid.map(str::to_owned))
            })
        };
        let Some((vid, cuid)) = ids else {
            return;
        };
        let hit = Hit::consent(&vid, cuid.as_deref(), SDK_CLIENT, granted);
        if granted {
            self.delivery.track(hit);
        } else {
            let mut about = vec![vid.as_str()];
            about.extend(cuid.as_deref());
            let purged = self.delivery.purge(&about);
            if purged > 0 {
                log::info(&format!(
                    "consent withdrawn: {purged} queued item(s) purged"
                ));
            }
            self.delivery.send_now(hit);
        }
    }

    /// `analytics.track(event, properties)` on the live Segment instance, if there is one.
    pub(crate) fn track_in_segment(&self, event: &str, properties: &JsValue) {
        let Some(live) = self.live() else {
            return;
        };
        let track = js::get(&live, "track");
        if let Ok(track) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(track) {
            if track
                .call2(&live, &JsValue::from_str(event), properties)
                .is_err()
            {
                log::warn("analytics.track threw; Experiment Viewed not sent to Segment");
            }
        }
    }

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
        let error = state.last_error.as_ref().map(|e| {
            let o = js_sys::Object::new();
            js::set(&o, "code", &JsValue::from_str(e.code()));
            js::set(&o, "message", &JsValue::from_str(&e.to_string()));
            JsValue::from(o)
        });
        let identity = state.identity.as_ref();
        js::set(
            &object,
            "version",
            &JsValue::from_str(crate::context::SDK_VERSION),
        );
        js::set(&object, "status", &JsValue::from_str(state.status.as_str()));
        js::set(&object, "lastError", &error.unwrap_or(JsValue::NULL));
        let mode = match self.config.mode {
            crate::config::Mode::Api => "api",
            crate::config::Mode::Bucketing => "bucketing",
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
                .is_seen(crate::tracking::gate::IdentityKey::new(
                    i.visitor_id(),
                    i.anonymous_id(),
                ))
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

    /// Sends every queued hit and activation now.
    pub(crate) async fn flush(&self) {
        self.delivery.flush().await;
    }
}
