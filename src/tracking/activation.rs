//! Exposure: telling Flagship that the visitor saw a variation (`POST {decision}/v2/activate`).
//!
//! A flag read in a render loop must send one activation, so exposures are deduplicated per
//! (visitor, variation group, variation). IDs always come from the decision's [`Identity`].

use crate::decision::Campaign;
use crate::identity::Identity;
use crate::json::{parse, write_number, write_string, Value};
use alloc::{borrow::ToOwned, string::String, vec::Vec};

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

    /// What deduplicates exposures: visitor, variation group, variation.
    fn dedupe_key(&self) -> [&str; 3] {
        [
            &self.visitor_id,
            &self.variation_group_id,
            &self.variation_id,
        ]
    }
}

/// Remembers which exposures were already queued, for `window_ms`, so that a flag read in a
/// render loop, or again after a reload, sends one activation.
///
/// A `Vec` scanned per read rather than a hash map: a page reads a few dozen flags, the scan
/// compares lengths before bytes, and a hash table keyed by three strings costs the wasm ~2 KB.
#[derive(Debug, Clone)]
pub struct ExposureLog {
    /// `[vid, caid, vaid]` and when it was recorded; keys are unique.
    seen: Vec<([String; 3], f64)>,
    window_ms: f64,
}

/// Most exposures remembered (and stored); the oldest are forgotten first.
pub const MAX_REMEMBERED: usize = 1000;

impl Default for ExposureLog {
    fn default() -> Self {
        ExposureLog::new(f64::INFINITY)
    }
}

impl ExposureLog {
    /// A log that forgets an exposure `window_ms` after it was recorded.
    pub fn new(window_ms: f64) -> Self {
        ExposureLog {
            seen: Vec::new(),
            window_ms,
        }
    }

    /// True when `activation` was recorded less than the window ago.
    pub fn contains(&self, activation: &Activation, now_ms: f64) -> bool {
        self.find(activation.dedupe_key())
            .is_some_and(|i| now_ms - self.seen[i].1 < self.window_ms)
    }

    fn find(&self, key: [&str; 3]) -> Option<usize> {
        self.seen.iter().position(|(ids, _)| ids == &key)
    }

    /// Remembers `key` at `at`, replacing an earlier time, as a map insert would.
    fn set(&mut self, key: [&str; 3], at: f64) {
        match self.find(key) {
            Some(i) => self.seen[i].1 = at,
            None => self.seen.push((key.map(str::to_owned), at)),
        }
    }

    /// Records `activation`; false when the same exposure is already remembered.
    pub fn record(&mut self, activation: &Activation, now_ms: f64) -> bool {
        if self.contains(activation, now_ms) {
            return false;
        }
        self.set(activation.dedupe_key(), now_ms);
        if self.seen.len() > MAX_REMEMBERED {
            self.forget_expired(now_ms);
        }
        true
    }

    /// Adds what a previous page remembered; this page's own record of an exposure wins.
    pub fn merge_older(&mut self, older: ExposureLog) {
        for (ids, at) in older.seen {
            if self.find([&ids[0], &ids[1], &ids[2]]).is_none() {
                self.seen.push((ids, at));
            }
        }
    }

    fn forget_expired(&mut self, now_ms: f64) {
        let window = self.window_ms;
        self.seen.retain(|(_, at)| now_ms - *at < window);
        while self.seen.len() > MAX_REMEMBERED {
            let oldest = (0..self.seen.len()).reduce(|a, b| {
                if self.seen[b].1.total_cmp(&self.seen[a].1).is_lt() {
                    b
                } else {
                    a
                }
            });
            match oldest {
                Some(i) => self.seen.remove(i),
                None => break,
            };
        }
    }

    /// The stored form: `{"v":1,"seen":[[vid,caid,vaid,at],…]}`, expired entries left out;
    /// `to_wall_ms` turns this log's times into the times of day that are stored.
    pub fn encode(&self, now_ms: f64, to_wall_ms: f64) -> String {
        let mut out = String::from("{\"v\":1,\"seen\":[");
        let live = self
            .seen
            .iter()
            .filter(|(_, at)| now_ms - *at < self.window_ms);
        for (i, (ids, at)) in live.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for part in ids {
                write_string(&mut out, part);
                out.push(',');
            }
            write_number(&mut out, *at + to_wall_ms);
            out.push(']');
        }
        out.push_str("]}");
        out
    }

    /// Reads [`ExposureLog::encode`]'s form (with the same `to_wall_ms`, as of now); an
    /// unreadable text is refused whole.
    pub fn decode(
        text: &str,
        window_ms: f64,
        now_ms: f64,
        to_wall_ms: f64,
    ) -> Result<ExposureLog, &'static str> {
        let value = parse(text).map_err(|_| "stored exposures are not JSON")?;
        if value.get("v").and_then(Value::as_f64) != Some(1.0) {
            return Err("stored exposures have an unknown version");
        }
        let rows = value
            .get("seen")
            .and_then(Value::as_array)
            .ok_or("stored exposures have no list")?;
        let mut log = ExposureLog::new(window_ms);
        for row in rows {
            let cells = row
                .as_array()
                .filter(|c| c.len() == 4)
                .ok_or("stored exposure is not a row")?;
            let text = |i: usize| {
                cells[i]
                    .as_str()
                    .ok_or("stored exposure has a non-string id")
            };
            let at = cells[3].as_f64().ok_or("stored exposure has no time")?;
            log.set([text(0)?, text(1)?, text(2)?], at - to_wall_ms);
        }
        log.forget_expired(now_ms);
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::decision::parse_decision;
    use crate::identity::test_identity as identity;
    use crate::tracking::{batch_request, Item, Kind};
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

    #[test]
    fn body_matches_the_contract() {
        let mut config = Config {
            env_id: "env1".into(),
            api_key: "k".into(),
            ..Config::default()
        };
        config.endpoints.decision = "http://127.0.0.1:1".into();
        let a = Activation::new(&identity(Some("U"), "A"), &campaign(), 1000.0);
        let b = Activation::new(&identity(None, "A"), &campaign(), 1500.0);
        let items = [Item::activation(&a), Item::activation(&b)];
        let sent = [(a.created_at_ms, &items[0]), (b.created_at_ms, &items[1])];
        let req = batch_request(&config, Kind::Activation, &sent, 1750.0);
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
        let a = Activation::new(&identity(None, "A"), &campaign(), 0.0);
        assert!(log.record(&a, 0.0));
        assert!(!log.record(
            &Activation {
                created_at_ms: 5.0,
                ..a.clone()
            },
            5.0
        ));
        let other_visitor = Activation::new(&identity(Some("U"), "A"), &campaign(), 0.0);
        assert!(log.record(&other_visitor, 0.0));
    }

    #[test]
    fn the_window_ends_deduplication_and_survives_a_round_trip() {
        let mut log = ExposureLog::new(1000.0);
        let a = Activation::new(&identity(Some("U\"x"), "A"), &campaign(), 0.0);
        assert!(log.record(&a, 0.0));
        let restored = ExposureLog::decode(&log.encode(500.0, 0.0), 1000.0, 500.0, 0.0).unwrap();
        assert!(restored.contains(&a, 900.0));
        assert!(!restored.contains(&a, 1000.0));
        let expired = ExposureLog::decode(&log.encode(500.0, 0.0), 1000.0, 2000.0, 0.0).unwrap();
        assert!(!expired.contains(&a, 2000.0));
        // Stored as times of day: a page whose clock runs an hour behind the wall clock writes
        // and reads them back as its own instants.
        let hour = 3_600_000.0;
        let text = log.encode(500.0, hour);
        assert!(
            text.ends_with(&alloc::format!(",{}]]}}", hour as u64)),
            "{text}"
        );
        let shifted = ExposureLog::decode(&text, 1000.0, 500.0, hour).unwrap();
        assert!(shifted.contains(&a, 900.0) && !shifted.contains(&a, 1000.0));
        assert!(
            log.clone().record(&a, 1000.0),
            "recorded again once the window is over"
        );
    }

    #[test]
    fn stored_exposures_are_refused_whole_when_unreadable() {
        for text in [
            "",
            "{}",
            r#"{"v":2,"seen":[]}"#,
            r#"{"v":1,"seen":[["a","b","c"]]}"#,
            r#"{"v":1,"seen":[["a",1,"c",0]]}"#,
        ] {
            assert!(
                ExposureLog::decode(text, 1.0, 0.0, 0.0).is_err(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn memory_is_bounded() {
        let mut log = ExposureLog::default();
        for i in 0..(MAX_REMEMBERED + 10) {
            let mut a = Activation::new(&identity(None, "A"), &campaign(), 0.0);
            a.variation_id = i.to_string();
            log.record(&a, i as f64);
        }
        assert_eq!(log.seen.len(), MAX_REMEMBERED);
    }

    #[test]
    fn clock_going_backwards_gives_zero_queue_time() {
        let config = Config::default();
        let a = Activation::new(&identity(None, "A"), &campaign(), 2000.0);
        let item = Item::activation(&a);
        let req = batch_request(
            &config,
            Kind::Activation,
            &[(a.created_at_ms, &item)],
            1000.0,
        );
        let body: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["batch"][0]["qt"], 0);
    }
}
