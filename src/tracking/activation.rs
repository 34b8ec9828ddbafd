//! Exposure: telling Flagship that the visitor saw a variation (`POST {decision}/v2/activate`).
//!
//! A flag read in a render loop must send one activation, so exposures are deduplicated per
//! (visitor, variation group, variation). IDs always come from the decision's [`Identity`].

use std::collections::HashSet;

use crate::config::Config;
use crate::decision::request::{api_headers, HttpRequest};
use crate::decision::Campaign;
use crate::identity::Identity;
use crate::json::ObjectWriter;

/// One pending exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// `vid`: the visitor ID of the decision.
    pub visitor_id: String,
    /// `aid`: the anonymousId beside an identified visitor.
    pub anonymous_id: Option<String>,
    /// `caid`: the variation group ID (not the campaign ID).
    pub variation_group_id: String,
    /// `vaid`: the variation ID.
    pub variation_id: String,
    /// When the read happened, in ms since the epoch; `qt` is derived from it at send time.
    pub created_at_ms: f64,
}

impl Activation {
    /// The exposure of `identity` to `campaign`'s variation, read at `now_ms`.
    pub fn new(identity: &Identity, campaign: &Campaign, now_ms: f64) -> Self {
        Activation {
            visitor_id: identity.visitor_id().to_owned(),
            anonymous_id: identity.anonymous_id().map(str::to_owned),
            variation_group_id: campaign.variation_group_id.clone(),
            variation_id: campaign.variation.id.clone(),
            created_at_ms: now_ms,
        }
    }

    fn dedupe_key(&self) -> (String, String, String) {
        (
            self.visitor_id.clone(),
            self.variation_group_id.clone(),
            self.variation_id.clone(),
        )
    }
}

/// The `/v2/activate` request for `batch`, with `qt` = time spent waiting since each read.
pub fn activation_request(config: &Config, batch: &[Activation], now_ms: f64) -> HttpRequest {
    let mut body = String::with_capacity(64 + 128 * batch.len());
    ObjectWriter::new(&mut body)
        .string("cid", &config.env_id)
        .with("batch", |out| {
            out.push('[');
            for (i, a) in batch.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ObjectWriter::new(out)
                    .string("vid", &a.visitor_id)
                    .opt_string("aid", a.anonymous_id.as_deref())
                    .string("caid", &a.variation_group_id)
                    .string("vaid", &a.variation_id)
                    .number("qt", (now_ms - a.created_at_ms).max(0.0).round())
                    .finish();
            }
            out.push(']');
        })
        .finish();
    HttpRequest {
        url: format!("{}/v2/activate", config.endpoints.decision),
        headers: api_headers(&config.api_key),
        body,
    }
}

/// Remembers which exposures were already sent or are in flight.
#[derive(Debug, Clone, Default)]
pub struct ExposureLog {
    sent: HashSet<(String, String, String)>,
}

impl ExposureLog {
    /// Records `activation`; false when the same exposure was already recorded.
    pub fn record(&mut self, activation: &Activation) -> bool {
        self.sent.insert(activation.dedupe_key())
    }

    /// True when `activation` was already recorded.
    pub fn contains(&self, activation: &Activation) -> bool {
        self.sent.contains(&activation.dedupe_key())
    }

    /// Forgets `activation` after its send failed, so that the next read tries again.
    pub fn forget(&mut self, activation: &Activation) {
        self.sent.remove(&activation.dedupe_key());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::parse_decision;
    use crate::identity::{resolve, IdPolicy, SegmentIds};
    use serde_json::{json, Value};

    fn campaign() -> Campaign {
        let body = json!({"visitorId": "A", "campaigns": [{"id": "c1", "variationGroupId": "vg1",
            "variation": {"id": "v1", "modifications": {"type": "FLAG", "value": {"k": 1}}}}]});
        let campaign = parse_decision(&body.to_string())
            .unwrap()
            .campaigns
            .remove(0);
        Campaign::clone(&campaign)
    }

    fn identity(user: Option<&str>) -> Identity {
        let ids = SegmentIds {
            user_id: user.map(Into::into),
            anonymous_id: Some("A".into()),
        };
        resolve(&ids, IdPolicy::default()).unwrap()
    }

    #[test]
    fn body_matches_the_contract() {
        let mut config = Config {
            env_id: "env1".into(),
            api_key: "k".into(),
            ..Config::default()
        };
        config.endpoints.decision = "http://127.0.0.1:1".into();
        let a = Activation::new(&identity(Some("U")), &campaign(), 1000.0);
        let b = Activation::new(&identity(None), &campaign(), 1500.0);
        let req = activation_request(&config, &[a, b], 1750.0);
        assert_eq!(req.url, "http://127.0.0.1:1/v2/activate");
        assert!(req.headers.contains(&("x-api-key", "k".to_owned())));
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"cid": "env1", "batch": [
                {"vid": "U", "aid": "A", "caid": "vg1", "vaid": "v1", "qt": 750},
                {"vid": "A", "aid": null, "caid": "vg1", "vaid": "v1", "qt": 250}
            ]})
        );
    }

    #[test]
    fn one_exposure_per_visitor_and_variation() {
        let mut log = ExposureLog::default();
        let a = Activation::new(&identity(None), &campaign(), 0.0);
        assert!(log.record(&a));
        assert!(!log.record(&Activation {
            created_at_ms: 5.0,
            ..a.clone()
        }));
        let other_visitor = Activation::new(&identity(Some("U")), &campaign(), 0.0);
        assert!(log.record(&other_visitor));
        log.forget(&a);
        assert!(log.record(&a));
    }

    #[test]
    fn clock_going_backwards_gives_zero_queue_time() {
        let config = Config::default();
        let a = Activation::new(&identity(None), &campaign(), 2000.0);
        let body: Value =
            serde_json::from_str(&activation_request(&config, &[a], 1000.0).body).unwrap();
        assert_eq!(body["batch"][0]["qt"], 0);
    }
}
