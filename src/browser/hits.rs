//! Hits and consent on a session: every hit is built from the identity Segment reports at the
//! moment it is sent (`vid`/`cuid` per contract §2), and nothing is sent or stored about a
//! visitor who has not consented.

use wasm_bindgen::JsValue;

use super::session::Session;
use super::{js, log};
use crate::context::SDK_CLIENT;
use crate::error::Error;
use crate::identity::ChangeHint;
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

    /// Sends every queued hit and activation now.
    pub(crate) async fn flush(&self) {
        self.delivery.flush().await;
    }
}
