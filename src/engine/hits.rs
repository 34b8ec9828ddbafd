//! Hits, consent and the page's delivery commands. Every hit is built from the identity Segment
//! reports at the moment it is made (`vid`/`cuid` per contract §2), and nothing is sent or
//! stored about a visitor who has not consented.

use alloc::vec;

use super::io::{Departure, SegmentSource};
use super::machine::Engine;
use crate::config::LogLevel;
use crate::context::SDK_CLIENT;
use crate::error::Error;
use crate::identity::ChangeHint;
use crate::tracking::hits::{Hit, HitKind};
use crate::tracking::Item;

impl Engine {
    /// Queues a hit for the current Segment identity. `Ok(false)` when it is not sent for a
    /// reason that is not the page's mistake (no consent, no identity, closed);
    /// `Err(InvalidHit)` when a value breaks a rule of the collector.
    pub fn track(
        &mut self,
        now: f64,
        kind: HitKind,
        segment: &mut impl SegmentSource,
    ) -> Result<bool, Error> {
        if self.is_closed() {
            return Ok(false);
        }
        if self.sync_identity(ChangeHint::None, segment) {
            self.decide(now);
        }
        let Some(identity) = &self.identity else {
            self.out.log(LogLevel::Warn, "HIT_NOT_SENT", |line| {
                line.push_str("hit not sent: no Segment identity");
            });
            return Ok(false);
        };
        if !self.consent {
            self.out.log(LogLevel::Debug, "HIT_NOT_SENT", |line| {
                line.push_str("hit not sent: the visitor has not consented");
            });
            return Ok(false);
        }
        let (visitor_id, customer_user_id) = identity.hit_ids();
        let hit = Hit {
            visitor_id: visitor_id.into(),
            customer_user_id: customer_user_id.map(Into::into),
            queue_time_ms: 0.0,
            kind,
        };
        hit.validate().map_err(Error::InvalidHit)?;
        self.delivery.track(&mut self.out, now, Item::hit(&hit));
        Ok(true)
    }

    /// Records the visitor's consent and sends the consent hit. Withdrawing it purges what is
    /// queued about them and sends the hit at once, unstored; decisions go on, with
    /// `visitor_consent: false`.
    pub fn set_consent(&mut self, now: f64, granted: bool) {
        self.consent = granted;
        let Some(identity) = &self.identity else {
            return;
        };
        let (vid, cuid) = identity.hit_ids();
        let hit = Hit::consent(vid, cuid, SDK_CLIENT, granted);
        let item = Item::hit(&hit);
        if granted {
            return self.delivery.track(&mut self.out, now, item);
        }
        let mut about = vec![hit.visitor_id.as_str()];
        about.extend(hit.customer_user_id.as_deref());
        let purged = self.delivery.purge(&mut self.out, now, &about);
        if purged > 0 {
            self.out.log(LogLevel::Info, "CONSENT_WITHDRAWN", |line| {
                crate::json::write_number(line, purged as f64);
                line.push_str(" queued item(s) purged");
            });
        }
        self.delivery
            .send_now(&mut self.out, &self.config, now, item);
    }

    /// Sends every queued hit and activation that may leave now; `Flushed` with the returned
    /// ID follows once nothing more can.
    pub fn flush(&mut self, now: f64) -> u32 {
        self.delivery.flush(&mut self.out, &self.config, now, false)
    }

    /// The page is going away: hand what may leave to keepalive requests and store the rest at
    /// once.
    pub fn handle_unload(&mut self, now: f64, departure: Departure) {
        let page_hide = departure == Departure::PageHide;
        self.delivery
            .unload(&mut self.out, &self.config, now, page_hide);
    }

    /// The browser is back online: retry what is waiting for a backoff now.
    pub fn handle_online(&mut self, now: f64) {
        self.delivery.online(&mut self.out, now);
    }
}
